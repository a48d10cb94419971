
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
 *
 * A start with the index trusts it without looking at the store
 * (ngx_http_linkcert_loader_index.c), a reload that takes the zone over
 * keeps the table as it is; worker 0 then checks the store, off its
 * event loop (ngx_http_linkcert_store_check.c).  "nginx -t" and a start
 * without the index read the store here.
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


static void ngx_http_linkcert_loader_kept(ngx_shm_zone_t *shm_zone,
    ngx_str_t *store);
static ngx_int_t ngx_http_linkcert_loader_load(ngx_shm_zone_t *shm_zone,
    ngx_str_t *store, ngx_log_t *log);
static ngx_int_t ngx_http_linkcert_loader_domain(
    ngx_http_linkcert_loader_t *ld, u_char *name, size_t len);
static void ngx_http_linkcert_loader_read(ngx_http_linkcert_loader_t *ld,
    u_char *name, size_t len, ngx_http_linkcert_loaded_t *loaded);
static ngx_int_t ngx_http_linkcert_loader_index(ngx_shm_zone_t *shm_zone,
    ngx_str_t *store, ngx_log_t *log);


/* the zone's init: the table set up, then the store loaded into it */

ngx_int_t
ngx_http_linkcert_loader_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_int_t                       rc;
    ngx_http_linkcert_zone_t       *ctx, *octx;
    ngx_http_linkcert_main_conf_t  *lmcf, *olmcf;

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

    /*
     * A reload that takes the zone over, the store the same: the table is
     * the store's already (worker 0 checks the store after the reload).
     */

    octx = data;
    olmcf = octx ? octx->conf : NULL;

    if (olmcf && olmcf->enabled
        && olmcf->store.len == lmcf->store.len
        && ngx_strncmp(olmcf->store.data, lmcf->store.data,
                       lmcf->store.len) == 0)
    {
        ngx_http_linkcert_loader_kept(shm_zone, &lmcf->store);
        return NGX_OK;
    }

    return ngx_http_linkcert_loader_load(shm_zone, &lmcf->store,
                                         shm_zone->shm.log);
}


/* a reload's renewal pass over the table kept */

static void
ngx_http_linkcert_loader_kept(ngx_shm_zone_t *shm_zone, ngx_str_t *store)
{
    ngx_uint_t  n;
    ngx_msec_t  start;

    ngx_time_update();
    start = ngx_current_msec;

    n = ngx_http_linkcert_table_renew_pass(shm_zone);

    ngx_time_update();

    ngx_log_error(NGX_LOG_NOTICE, shm_zone->shm.log, 0,
                  "linkcert_store \"%V\": the table kept, %ui domains with "
                  "files passed for renewal in %M ms; worker 0 checks the "
                  "store after the reload", store, n,
                  ngx_current_msec - start);
}


static ngx_int_t
ngx_http_linkcert_loader_load(ngx_shm_zone_t *shm_zone, ngx_str_t *store,
    ngx_log_t *log)
{
    size_t                           len;
    ngx_int_t                        rc;
    ngx_msec_t                       start;
    ngx_uint_t                       seen, gone;
    ngx_pool_t                      *pool;
    ngx_http_linkcert_loader_t       ld;
    ngx_http_linkcert_store_list_t   list;
    char                             name[LC_DOMAIN_MAX + 1];

    /* a start with the index trusts it ("nginx -t" checks the store) */

    rc = NGX_DECLINED;

    if (!ngx_test_config) {
        rc = ngx_http_linkcert_loader_trust(shm_zone, store, log);
    }

    if (rc != NGX_DECLINED) {
        return rc;
    }

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

    /* the index now knows what the journal named */

    if (!ngx_test_config
        && ngx_http_linkcert_loader_index(shm_zone, store, log) == NGX_OK)
    {
        ngx_http_linkcert_index_drop(store, 1);
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


/*
 * One domain read as without the index, domains: <store>/domains opened
 * (a name of the index's journal, at a start that trusts the index).
 */

ngx_int_t
ngx_http_linkcert_loader_one(ngx_shm_zone_t *shm_zone, ngx_str_t *store,
    int domains, u_char *name, size_t len, ngx_log_t *log)
{
    ngx_http_linkcert_loader_t  ld;

    ngx_memzero(&ld, sizeof(ngx_http_linkcert_loader_t));
    ld.shm_zone = shm_zone;
    ld.store = store;
    ld.log = log;
    ld.domains = domains;

    return ngx_http_linkcert_loader_domain(&ld, name, len);
}


/*
 * A domain's pair as the loader reads one without the index: the cheap
 * way, else parsed; loaded->stamp is set by the caller.  files: the two
 * files read already (by the check of the store after a start, in a
 * thread: the parsers' caches are the event loop's), or NULL.  NGX_OK:
 * read the cheap way; NGX_DECLINED: parsed.
 */

ngx_int_t
ngx_http_linkcert_loader_pair(ngx_str_t *store, u_char *name, size_t len,
    ngx_http_linkcert_file_t *files, ngx_http_linkcert_loaded_t *loaded,
    ngx_log_t *log)
{
    lc_cert_t                 *cert;
    ngx_uint_t                 owned;
    ngx_http_linkcert_file_t   own[2];

    owned = (files == NULL
             && ngx_http_linkcert_loader_files(store, name, len, own)
                == NGX_OK);

    if (owned) {
        files = own;
    }

    if (files
        && lc_cert_peek((char *) files[0].data, files[0].len,
                        (char *) files[1].data, files[1].len, (char *) name,
                        ngx_time(), &loaded->info))
    {
        loaded->ok = 1;
    }

    if (owned) {
        ngx_http_linkcert_loader_files_free(own);
    }

    if (loaded->ok) {
        return NGX_OK;
    }

    cert = ngx_http_linkcert_store_read_cert(store, name, len, log,
                                             &loaded->error);

    if (cert && lc_cert_info(cert, &loaded->info) == 0) {
        loaded->ok = 1;

    } else if (cert) {
        lc_error_set(&loaded->error, LC_ERR_STORE_CORRUPT,
                     "fullchain.pem has a malformed certificate");
    }

    lc_cert_free(cert);

    return NGX_DECLINED;
}


/* what the index says of a domain, as of now */

void
ngx_http_linkcert_loader_indexed(ngx_http_linkcert_loaded_t *loaded)
{
    /* the certificate may have expired since the index was written */

    if (loaded->ok && loaded->info.not_after <= ngx_time()) {
        loaded->ok = 0;
        lc_error_set(&loaded->error, LC_ERR_STORE_EXPIRED,
                     "the certificate has expired");
    }
}


/* what the index says, else the pair read the cheap way, else parsed */

static void
ngx_http_linkcert_loader_read(ngx_http_linkcert_loader_t *ld, u_char *name,
    size_t len, ngx_http_linkcert_loaded_t *loaded)
{
    if (ngx_http_linkcert_index_lookup(ld->idx, name, len, loaded) == NGX_OK) {
        ld->indexed++;
        ngx_http_linkcert_loader_indexed(loaded);
        return;
    }

    if (ngx_http_linkcert_loader_pair(ld->store, name, len, NULL, loaded,
                                      ld->log)
        == NGX_OK)
    {
        ld->peeked++;

    } else {
        ld->parsed++;
    }
}


/*
 * Without the index, the pair is read the cheap way (lc_cert_peek(): no
 * key is built); what it cannot confirm is parsed in full, which says
 * what is wrong.  The full parse and the check of the pair happen again
 * at a handshake's cache miss, before the certificate is served.
 *
 * The two files, read (NGX_OK), for the cheap way; safe in a thread.
 */

ngx_int_t
ngx_http_linkcert_loader_files(ngx_str_t *store, u_char *name, size_t len,
    ngx_http_linkcert_file_t *files)
{
    ngx_uint_t   i;
    lc_error_t   err;
    u_char       path[NGX_MAX_PATH];
    static char *names[] = { "fullchain.pem", "privkey.pem" };

    for (i = 0; i < 2; i++) {
        (void) ngx_http_linkcert_store_path(path, store, name, len,
                                            names[i]);

        if (ngx_http_linkcert_store_read_file(path, &files[i], &err,
                                              names[i],
                                              NGX_HTTP_LINKCERT_FILE_MAX)
            != NGX_OK)
        {
            if (i == 1) {
                ngx_free(files[0].data);
            }

            return NGX_DECLINED;
        }
    }

    return NGX_OK;
}


void
ngx_http_linkcert_loader_files_free(ngx_http_linkcert_file_t *files)
{
    ngx_free(files[0].data);
    ngx_explicit_memzero(files[1].data, files[1].len);
    ngx_free(files[1].data);
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

    out = ngx_http_linkcert_index_begin(0, log);
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
