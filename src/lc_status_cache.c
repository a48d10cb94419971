
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the public status answers a process has rendered, served
 * again while what they show is the same (see lc_status_cache.h).
 *
 * One slot a domain, chosen by a hash of its name: a domain whose slot
 * another one took is rendered again, as every answer was before.
 */


#ifndef _GNU_SOURCE
#define _GNU_SOURCE                     /* strnlen() */
#endif

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lc_status_cache.h"


typedef struct {
    lc_status_public_t   key;           /* what the answer shows */
    int                  stale;
    char                *body;          /* NULL: empty slot */
    size_t               len;
} lc_status_slot_t;


struct lc_status_cache_s {
    size_t               mask;
    unsigned long        hits;
    unsigned long        misses;
    lc_status_slot_t     slots[1];
};


static size_t lc_status_cache_slot(const lc_status_cache_t *cache,
    const char *name, size_t len);


lc_status_cache_t *
lc_status_cache_create(size_t slots)
{
    size_t              n;
    lc_status_cache_t  *cache;

    for (n = 1; n <= slots / 2; n *= 2) {
        /* void */
    }

    cache = calloc(1, offsetof(lc_status_cache_t, slots)
                      + n * sizeof(lc_status_slot_t));
    if (cache == NULL) {
        return NULL;
    }

    cache->mask = n - 1;

    return cache;
}


void
lc_status_cache_destroy(lc_status_cache_t *cache)
{
    size_t  i;

    if (cache == NULL) {
        return;
    }

    for (i = 0; i <= cache->mask; i++) {
        free(cache->slots[i].body);
    }

    free(cache);
}


const char *
lc_status_cache_public(lc_status_cache_t *cache, const lc_record_t *rec,
    int stale, size_t *len)
{
    char                *body, *p;
    size_t               i, n;
    lc_status_slot_t    *slot;
    lc_status_public_t   key;

    lc_status_public_fields(rec, &key);
    stale = stale ? 1 : 0;

    i = lc_status_cache_slot(cache, key.domain,
                             strnlen(key.domain, sizeof(key.domain)));
    slot = &cache->slots[i];

    if (slot->body != NULL
        && slot->stale == stale
        && memcmp(&slot->key, &key, sizeof(lc_status_public_t)) == 0)
    {
        cache->hits++;
        *len = slot->len;
        return slot->body;
    }

    cache->misses++;

    body = lc_json_dump(lc_status_stale(lc_status_public_object(&key), stale),
                        &n);
    if (body == NULL) {
        return NULL;
    }

    /* lc_json_dump() leaves room for a larger answer: give it back */

    p = realloc(body, n + 1);
    if (p != NULL) {
        body = p;
    }

    free(slot->body);

    slot->key = key;
    slot->stale = stale;
    slot->body = body;
    slot->len = n;

    *len = n;

    return body;
}


void
lc_status_cache_counts(const lc_status_cache_t *cache, unsigned long *hits,
    unsigned long *misses)
{
    *hits = cache->hits;
    *misses = cache->misses;
}


/* FNV-1a of the name */

static size_t
lc_status_cache_slot(const lc_status_cache_t *cache, const char *name,
    size_t len)
{
    size_t    i;
    uint32_t  h;

    h = 2166136261u;

    for (i = 0; i < len; i++) {
        h ^= (unsigned char) name[i];
        h *= 16777619u;
    }

    return h & cache->mask;
}
