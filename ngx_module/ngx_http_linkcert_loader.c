
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


/* one load of the store, and how each domain was read */

typedef struct {
    ngx_shm_zone_t                 *shm_zone;
    ngx_str_t                      *store;
    ngx_http_linkcert_index_t      *idx;
    ngx_log_t                      *log;
    int                             domains;    /* <store>/domains' fd */
    uint32_t                        scan;
    ngx_uint_t                      indexed;
    ngx_uint_t                      peeked;
    ngx_uint_t                      parsed;
} ngx_http_linkcert_loader_t;


static ngx_int_t ngx_http_linkcert_loader_load(ngx_shm_zone_t *shm_zone,
    ngx_str_t *store, ngx_log_t *log);
static ngx_int_t ngx_http_linkcert_loader_domain(
    ngx_http_linkcert_loader_t *ld, u_char *name, size_t len);
static void ngx_http_linkcert_loader_read(ngx_http_linkcert_loader_t *ld,
    u_char *name, size_t len, ngx_http_linkcert_loaded_t *loaded);
static ngx_int_t ngx_http_linkcert_loader_peek(ngx_str_t *store,
    u_char *name, size_t len, lc_cert_info_t *info);
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
    ngx_msec_t                       start;
    ngx_uint_t                       seen, gone;
    ngx_pool_t                      *pool;
    ngx_http_linkcert_loader_t       ld;
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

    ngx_memzero(&ld, sizeof(ngx_http_linkcert_loader_t));
    ld.shm_zone = shm_zone;
    ld.store = store;
    ld.log = log;
    ld.domains = ngx_http_linkcert_store_list_fd(&list);
    ld.idx = ngx_http_linkcert_index_read(store, pool, log);
    ld.scan = ngx_http_linkcert_table_begin_scan(shm_zone);
    seen = 0;

    while (ngx_http_linkcert_store_list_next(&list, name, &len, log)
           == NGX_OK)
    {
        if (ngx_http_linkcert_loader_domain(&ld, (u_char *) name, len)
            == NGX_OK)
        {
            seen++;
        }
    }

    ngx_http_linkcert_store_list_close(&list);

    ngx_http_linkcert_index_free(ld.idx);
    ngx_destroy_pool(pool);

    gone = ngx_http_linkcert_table_end_scan(shm_zone, ld.scan);

    if (!ngx_test_config) {
        (void) ngx_http_linkcert_loader_index(shm_zone, store, log);
    }

    ngx_time_update();

    ngx_log_error(NGX_LOG_NOTICE, log, 0,
                  "linkcert_store \"%V\": %ui domains in the table, "
                  "%ui gone from the store, loaded in %M ms (%ui from "
                  "the index, %ui read without their keys, %ui parsed)",
                  store, seen, gone, ngx_current_msec - start, ld.indexed,
                  ld.peeked, ld.parsed);

    return NGX_OK;
}


static ngx_int_t
ngx_http_linkcert_loader_domain(ngx_http_linkcert_loader_t *ld, u_char *name,
    size_t len)
{
    ngx_http_linkcert_loaded_t   loaded;
    u_char                       dir[NGX_MAX_PATH];
    u_char                       rel[LC_DOMAIN_MAX + 2];

    ngx_memzero(&loaded, sizeof(ngx_http_linkcert_loaded_t));

    (void) ngx_http_linkcert_store_path(dir, ld->store, name, len, "");
    ngx_sprintf(rel, "%*s/%Z", len, name);

    loaded.stamp = ngx_http_linkcert_store_stamp_at(ld->domains, rel,
                                                    &loaded.error);

    if (loaded.stamp != 0
        && ngx_http_linkcert_table_seen(ld->shm_zone, name, len,
                                        loaded.stamp, ld->scan)
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
        ngx_log_error(NGX_LOG_INFO, ld->log, 0,
                      "linkcert_store: \"%s\" holds no certificate yet",
                      dir);
        return NGX_OK;
    }

    if (loaded.stamp != 0) {
        ngx_http_linkcert_loader_read(ld, name, len, &loaded);
    }

    if (!loaded.ok) {
        ngx_log_error(NGX_LOG_ERR, ld->log, 0,
                      "linkcert_store: \"%s\": %s (%s), the domain is unknown",
                      dir, loaded.error.detail, loaded.error.type);
    }

    if (ngx_http_linkcert_table_loaded(ld->shm_zone, name, len, &loaded,
                                       ld->scan)
        != NGX_OK)
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* what the index says, else the pair read the cheap way, else parsed */

static void
ngx_http_linkcert_loader_read(ngx_http_linkcert_loader_t *ld, u_char *name,
    size_t len, ngx_http_linkcert_loaded_t *loaded)
{
    lc_cert_t  *cert;

    if (ngx_http_linkcert_index_lookup(ld->idx, name, len, loaded) == NGX_OK) {
        ld->indexed++;

        /* the certificate may have expired since the index was written */

        if (loaded->ok && loaded->info.not_after <= ngx_time()) {
            loaded->ok = 0;
            lc_error_set(&loaded->error, LC_ERR_STORE_EXPIRED,
                         "the certificate has expired");
        }

        return;
    }

    if (ngx_http_linkcert_loader_peek(ld->store, name, len, &loaded->info)
        == NGX_OK)
    {
        ld->peeked++;
        loaded->ok = 1;
        return;
    }

    ld->parsed++;

    cert = ngx_http_linkcert_store_read_cert(ld->store, name, len, ld->log,
                                             &loaded->error);

    if (cert && lc_cert_info(cert, &loaded->info) == 0) {
        loaded->ok = 1;

    } else if (cert) {
        lc_error_set(&loaded->error, LC_ERR_STORE_CORRUPT,
                     "fullchain.pem has a malformed certificate");
    }

    lc_cert_free(cert);
}


/*
 * Without the index, the pair is read the cheap way (lc_cert_peek(): no
 * key is built); what it cannot confirm is parsed in full, which says
 * what is wrong.  The full parse and the check of the pair happen again
 * at a handshake's cache miss, before the certificate is served.
 */

static ngx_int_t
ngx_http_linkcert_loader_peek(ngx_str_t *store, u_char *name, size_t len,
    lc_cert_info_t *info)
{
    ngx_int_t                  rc;
    lc_error_t                 err;
    ngx_http_linkcert_file_t   chain, key;
    u_char                     path[NGX_MAX_PATH];

    rc = NGX_DECLINED;

    (void) ngx_http_linkcert_store_path(path, store, name, len,
                                        "fullchain.pem");

    if (ngx_http_linkcert_store_read_file(path, &chain, &err, "fullchain.pem",
                                          NGX_HTTP_LINKCERT_FILE_MAX)
        != NGX_OK)
    {
        return NGX_DECLINED;
    }

    (void) ngx_http_linkcert_store_path(path, store, name, len,
                                        "privkey.pem");

    if (ngx_http_linkcert_store_read_file(path, &key, &err, "privkey.pem",
                                          NGX_HTTP_LINKCERT_FILE_MAX)
        == NGX_OK)
    {
        if (lc_cert_peek((char *) chain.data, chain.len, (char *) key.data,
                         key.len, (char *) name, ngx_time(), info))
        {
            rc = NGX_OK;
        }

        ngx_explicit_memzero(key.data, key.len);
        ngx_free(key.data);
    }

    ngx_free(chain.data);

    return rc;
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
