
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the loader: what the store holds, read into the zone when
 * nginx sets the zone up (start, reload, "nginx -t"), in the master.
 *
 * For each domain directory of the store, the identity of its files (the
 * stamp): unchanged since the last load, the table keeps what it knows;
 * otherwise the index says what a parse found before, or the pair is
 * parsed.  Domains the store no longer has leave the table, and the index
 * is written again from the table.
 *
 * The calls go one way: the zone's init (here) sets the table up, then
 * reads the store and the index and tells the table.  The store and the
 * index know nothing of the table.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert.h"


#define NGX_HTTP_LINKCERT_LOADER_PAGE  1000


static ngx_int_t ngx_http_linkcert_loader_load(ngx_shm_zone_t *shm_zone,
    ngx_str_t *store, ngx_log_t *log);
static ngx_int_t ngx_http_linkcert_loader_domain(ngx_shm_zone_t *shm_zone,
    ngx_str_t *store, ngx_http_linkcert_index_t *idx, u_char *name,
    size_t len, uint32_t scan, ngx_log_t *log);
static ngx_int_t ngx_http_linkcert_loader_index(ngx_shm_zone_t *shm_zone,
    ngx_str_t *store, ngx_log_t *log);


/* the zone's init: the table set up, then the store loaded into it */

ngx_int_t
ngx_http_linkcert_loader_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_int_t                       rc;
    ngx_http_linkcert_zone_t       *ctx;
    ngx_http_linkcert_main_conf_t  *lmcf;

    if (ngx_http_linkcert_table_init_zone(shm_zone, data) != NGX_OK) {
        return NGX_ERROR;
    }

    ctx = shm_zone->data;
    lmcf = ctx->conf;

    if (!lmcf->enabled) {
        return NGX_OK;
    }

    rc = ngx_http_linkcert_store_prepare(ctx->cycle, &lmcf->store,
                                         shm_zone->shm.log);

    if (rc == NGX_DECLINED) {
        ngx_log_error(NGX_LOG_NOTICE, shm_zone->shm.log, 0,
                      "linkcert_store \"%V\" does not exist yet: it is "
                      "created at start", &lmcf->store);
        return NGX_OK;
    }

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                      "\"linkcert_store\" \"%V\" cannot be used, in %s:%ui",
                      &lmcf->store, lmcf->store_file, lmcf->store_line);
        return NGX_ERROR;
    }

    return ngx_http_linkcert_loader_load(shm_zone, &lmcf->store,
                                         shm_zone->shm.log);
}


static ngx_int_t
ngx_http_linkcert_loader_load(ngx_shm_zone_t *shm_zone, ngx_str_t *store,
    ngx_log_t *log)
{
    size_t                           len;
    uint32_t                         scan;
    ngx_msec_t                       start;
    ngx_uint_t                       seen, gone;
    ngx_pool_t                      *pool;
    ngx_http_linkcert_index_t       *idx;
    ngx_http_linkcert_store_list_t   list;
    char                             name[LC_DOMAIN_MAX + 1];

    ngx_time_update();
    start = ngx_current_msec;

    if (ngx_http_linkcert_store_list_open(&list, store, log) != NGX_OK) {
        return NGX_ERROR;
    }

    pool = ngx_create_pool(16384, log);
    if (pool == NULL) {
        ngx_http_linkcert_store_list_close(&list);
        return NGX_ERROR;
    }

    idx = ngx_http_linkcert_index_read(store, pool, log);

    scan = ngx_http_linkcert_table_begin_scan(shm_zone);
    seen = 0;

    while (ngx_http_linkcert_store_list_next(&list, name, &len, log)
           == NGX_OK)
    {
        if (ngx_http_linkcert_loader_domain(shm_zone, store, idx,
                                            (u_char *) name, len, scan, log)
            == NGX_OK)
        {
            seen++;
        }
    }

    ngx_http_linkcert_store_list_close(&list);

    ngx_http_linkcert_index_free(idx);
    ngx_destroy_pool(pool);

    gone = ngx_http_linkcert_table_end_scan(shm_zone, scan);

    if (!ngx_test_config) {
        (void) ngx_http_linkcert_loader_index(shm_zone, store, log);
    }

    ngx_time_update();

    ngx_log_error(NGX_LOG_NOTICE, log, 0,
                  "linkcert_store \"%V\": %ui domains in the table, "
                  "%ui gone from the store, loaded in %M ms",
                  store, seen, gone, ngx_current_msec - start);

    return NGX_OK;
}


static ngx_int_t
ngx_http_linkcert_loader_domain(ngx_shm_zone_t *shm_zone, ngx_str_t *store,
    ngx_http_linkcert_index_t *idx, u_char *name, size_t len, uint32_t scan,
    ngx_log_t *log)
{
    lc_cert_t                   *cert;
    ngx_http_linkcert_loaded_t   loaded;
    u_char                       dir[NGX_MAX_PATH];

    ngx_memzero(&loaded, sizeof(ngx_http_linkcert_loaded_t));

    (void) ngx_http_linkcert_store_path(dir, store, name, len, "");

    loaded.stamp = ngx_http_linkcert_store_stamp(dir, &loaded.error);

    if (loaded.stamp != 0
        && ngx_http_linkcert_table_seen(shm_zone, name, len, loaded.stamp,
                                        scan)
           == NGX_OK)
    {
        return NGX_OK;
    }

    /*
     * A directory where nothing was published yet (a first issuance that
     * could not write its files) is not a domain of the store: the table
     * keeps what it knows of the name, a retry included.
     */

    if (loaded.stamp == 0 && ngx_http_linkcert_store_unpublished(dir)) {
        ngx_log_error(NGX_LOG_INFO, log, 0,
                      "linkcert_store: \"%s\" holds no certificate yet",
                      dir);
        return NGX_OK;
    }

    if (loaded.stamp != 0
        && ngx_http_linkcert_index_lookup(idx, name, len, &loaded) == NGX_OK)
    {
        /* the certificate may have expired since the index was written */

        if (loaded.ok && loaded.info.not_after <= ngx_time()) {
            loaded.ok = 0;
            lc_error_set(&loaded.error, LC_ERR_STORE_EXPIRED,
                         "the certificate has expired");
        }

    } else if (loaded.stamp != 0) {
        cert = ngx_http_linkcert_store_read_cert(store, name, len, log,
                                                 &loaded.error);

        if (cert && lc_cert_info(cert, &loaded.info) == 0) {
            loaded.ok = 1;

        } else if (cert) {
            lc_error_set(&loaded.error, LC_ERR_STORE_CORRUPT,
                         "fullchain.pem has a malformed certificate");
        }

        lc_cert_free(cert);
    }

    if (!loaded.ok) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "linkcert_store: \"%s\": %s (%s), the domain is unknown",
                      dir, loaded.error.detail, loaded.error.type);
    }

    if (ngx_http_linkcert_table_loaded(shm_zone, name, len, &loaded, scan)
        != NGX_OK)
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * The index written again from the table, a page at a time so that
 * workers are never kept from the zone for long.
 */

static ngx_int_t
ngx_http_linkcert_loader_index(ngx_shm_zone_t *shm_zone, ngx_str_t *store,
    ngx_log_t *log)
{
    ngx_str_t                       after;
    ngx_uint_t                      i, n, more;
    lc_record_t                    *recs;
    ngx_core_conf_t                *ccf;
    ngx_http_linkcert_zone_t       *ctx;
    ngx_http_linkcert_index_out_t  *out;
    char                            cursor[LC_DOMAIN_MAX + 1];

    ctx = shm_zone->data;
    ccf = (ngx_core_conf_t *) ngx_get_conf(ctx->cycle->conf_ctx,
                                           ngx_core_module);

    recs = ngx_alloc(NGX_HTTP_LINKCERT_LOADER_PAGE * sizeof(lc_record_t), log);
    if (recs == NULL) {
        return NGX_ERROR;
    }

    out = ngx_http_linkcert_index_begin(log);
    ngx_str_null(&after);

    do {
        (void) ngx_http_linkcert_table_page(shm_zone, &after, -1,
                                            NGX_HTTP_LINKCERT_LOADER_PAGE,
                                            recs, &n, &more);

        for (i = 0; i < n; i++) {
            ngx_http_linkcert_index_add(out, &recs[i]);
        }

        if (n) {
            ngx_cpystrn((u_char *) cursor, (u_char *) recs[n - 1].domain,
                        sizeof(cursor));
            after.data = (u_char *) cursor;
            after.len = ngx_strlen(cursor);
        }

    } while (more);

    ngx_free(recs);

    return ngx_http_linkcert_index_commit(out, store, ccf, log);
}
