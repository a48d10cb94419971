
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: a start with the index, in the master: the table filled from
 * <store>/linkcert.index as it is, without looking at the store.
 *
 * The index holds what the last check of the store found, and its
 * journal the domains this edge changed since (a pair published, a
 * domain removed: ngx_http_linkcert_index_changed()).  A line is trusted
 * (its stamp too) unless the journal names its domain: those domains are
 * read as without the index.  What was changed by hand meanwhile (a pair
 * imported, replaced or removed) is found by worker 0's check of the
 * store, seconds after the start (ngx_http_linkcert_store_check.c), which
 * also writes the index again.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert.h"


/* the zone's bytes a domain takes: its entry, its group, the slab's own */
#define NGX_HTTP_LINKCERT_TRUST_BYTES  768


typedef struct {
    ngx_uint_t                     indexed;
    ngx_uint_t                     journal;
    ngx_uint_t                     damaged;
    ngx_uint_t                     full;
} ngx_http_linkcert_trust_t;


static void ngx_http_linkcert_trust_populate(ngx_shm_zone_t *shm_zone,
    ngx_http_linkcert_index_t *idx);
static void ngx_http_linkcert_trust_lines(ngx_shm_zone_t *shm_zone,
    ngx_http_linkcert_index_t *idx, ngx_rbtree_t *journal,
    ngx_http_linkcert_trust_t *tr);
static ngx_uint_t ngx_http_linkcert_trust_journal(ngx_shm_zone_t *shm_zone,
    ngx_str_t *store, ngx_rbtree_t *journal, ngx_log_t *log);


/*
 * The zone's pages the domains will take, made present at once: each
 * first touch of a page of shared memory otherwise costs a page fault,
 * and on a virtual machine those were 40% of the start's CPU.  The slab
 * allocator takes the pages in order from the start of the zone.
 */

static void
ngx_http_linkcert_trust_populate(ngx_shm_zone_t *shm_zone,
    ngx_http_linkcert_index_t *idx)
{
#if (NGX_LINUX && defined MADV_POPULATE_WRITE)
    size_t  size;

    size = ngx_http_linkcert_index_lines(idx)
           * NGX_HTTP_LINKCERT_TRUST_BYTES;

    size = ngx_align(ngx_min(size, shm_zone->shm.size), ngx_pagesize);

    (void) madvise(shm_zone->shm.addr, size, MADV_POPULATE_WRITE);
#endif
}


/* NGX_DECLINED: no index, the store is read instead */

ngx_int_t
ngx_http_linkcert_loader_trust(ngx_shm_zone_t *shm_zone, ngx_str_t *store,
    ngx_log_t *log)
{
    ngx_msec_t                  start;
    ngx_pool_t                 *pool;
    ngx_rbtree_t               *journal;
    ngx_http_linkcert_trust_t   tr;
    ngx_http_linkcert_index_t  *idx;

    ngx_time_update();
    start = ngx_current_msec;

    idx = ngx_http_linkcert_index_open(store, log);
    if (idx == NULL) {
        return NGX_DECLINED;
    }

    pool = ngx_create_pool(16384, log);
    if (pool == NULL) {
        ngx_http_linkcert_index_close(idx);
        return NGX_ERROR;
    }

    ngx_memzero(&tr, sizeof(ngx_http_linkcert_trust_t));

    ngx_http_linkcert_trust_populate(shm_zone, idx);

    journal = ngx_http_linkcert_index_journal(store, pool, log);

    ngx_http_linkcert_trust_lines(shm_zone, idx, journal, &tr);
    ngx_http_linkcert_index_close(idx);

    if (journal) {
        tr.journal = ngx_http_linkcert_trust_journal(shm_zone, store,
                                                     journal, log);
    }

    ngx_destroy_pool(pool);

    ngx_time_update();

    ngx_log_error(NGX_LOG_NOTICE, log, 0,
                  "linkcert_store \"%V\": %ui domains in the table from the "
                  "index, %ui read again as this edge changed them (the "
                  "index's journal), %ui damaged lines, %ui without room "
                  "in the zone, in %M ms; worker 0 checks the store after "
                  "the start",
                  store, tr.indexed, tr.journal, tr.damaged, tr.full,
                  ngx_current_msec - start);

    return NGX_OK;
}


static void
ngx_http_linkcert_trust_lines(ngx_shm_zone_t *shm_zone,
    ngx_http_linkcert_index_t *idx, ngx_rbtree_t *journal,
    ngx_http_linkcert_trust_t *tr)
{
    size_t                      len;
    u_char                     *name;
    ngx_int_t                   rc;
    ngx_str_t                   key;
    ngx_http_linkcert_loaded_t  loaded;

    for ( ;; ) {
        rc = ngx_http_linkcert_index_next(idx, &name, &len, &loaded);

        if (rc == NGX_DONE) {
            return;
        }

        /* a damaged line's domain is found by the check after the start */

        if (rc != NGX_OK || len == 0 || len > LC_DOMAIN_MAX) {
            tr->damaged++;
            continue;
        }

        if (journal) {
            key.data = name;
            key.len = len;

            if (ngx_str_rbtree_lookup(journal, &key,
                                      ngx_crc32_short(name, len))
                != NULL)
            {
                continue;
            }
        }

        ngx_http_linkcert_loader_indexed(&loaded);

        if (ngx_http_linkcert_table_loaded(shm_zone, name, len, &loaded, 0)
            != NGX_OK)
        {
            tr->full++;
            continue;
        }

        tr->indexed++;
    }
}


/* the journal's domains, read as without the index */

static ngx_uint_t
ngx_http_linkcert_trust_journal(ngx_shm_zone_t *shm_zone, ngx_str_t *store,
    ngx_rbtree_t *journal, ngx_log_t *log)
{
    int                 domains;
    ngx_uint_t          n;
    ngx_str_node_t     *sn;
    ngx_rbtree_node_t  *node;
    u_char              path[NGX_MAX_PATH];

    if (journal->root == journal->sentinel) {
        return 0;
    }

    ngx_sprintf(path, "%V/domains%Z", store);

    domains = open((char *) path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (domains == -1) {
        ngx_log_error(NGX_LOG_ERR, log, ngx_errno,
                      "linkcert_store: open(\"%s\") failed", path);
        return 0;
    }

    n = 0;

    for (node = ngx_rbtree_min(journal->root, journal->sentinel);
         node;
         node = ngx_rbtree_next(journal, node))
    {
        sn = (ngx_str_node_t *) node;

        if (sn->str.len <= LC_DOMAIN_MAX) {
            (void) ngx_http_linkcert_loader_one(shm_zone, store, domains,
                                                sn->str.data, sn->str.len,
                                                log);
            n++;
        }
    }

    (void) close(domains);

    return n;
}
