
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the public status answers a process has rendered, served
 * again while what they show is the same.
 *
 * The key of an answer is the whole of what it shows (lc_status_public_t,
 * and whether it is stale), not a version number: the caller reads the
 * record from the table at every request, as before, and an answer
 * rendered from other fields is never served.  jansson renders each
 * answer once per change, instead of once per request.
 */

#ifndef LC_STATUS_CACHE_H
#define LC_STATUS_CACHE_H

#include <stddef.h>

#include "lc_status.h"


typedef struct lc_status_cache_s  lc_status_cache_t;


/* slots: rounded down to a power of 2, at least 1; NULL: no memory */
lc_status_cache_t *lc_status_cache_create(size_t slots);
void lc_status_cache_destroy(lc_status_cache_t *cache);

/*
 * The public answer to rec, "stale":true added when stale is set, as
 * lc_json_dump(lc_status_stale(lc_status_public_json(rec), stale))
 * renders it: kept from an earlier call that showed the same, or rendered
 * now and kept in place of the answer of another domain that shared its
 * slot.  Returns the cache's bytes, valid until the next call, and *len;
 * NULL if it could not be rendered.
 */
const char *lc_status_cache_public(lc_status_cache_t *cache,
    const lc_record_t *rec, int stale, size_t *len);

/* answers served from the cache and rendered, since it was made */
void lc_status_cache_counts(const lc_status_cache_t *cache,
    unsigned long *hits, unsigned long *misses);

#endif /* LC_STATUS_CACHE_H */
