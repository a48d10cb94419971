
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the state boundary's local implementation.
 *
 * The directory store (ngx_http_linkcert_store.c) and the shared zone
 * (ngx_http_linkcert_table.c), one machine:
 *
 *     <store>/domains/<domain>/fullchain.pem, privkey.pem   the pair
 *     <store>/domains/<domain>/order.json                   the order
 *     <store>/account/<name>                                account keys
 *     <store>/removed/<domain>.<UTC time>/                  removed pairs
 *
 * Every operation answers at once.  The lease is the zone's claim given
 * by ngx_http_linkcert_table_due(): its job_id is the fence, and a save
 * is refused once the zone no longer holds the domain under it.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert.h"
#include "ngx_http_linkcert_state.h"


#define NGX_HTTP_LINKCERT_CHAIN_MAX    (1024 * 1024)
#define NGX_HTTP_LINKCERT_SAVED_MAX    (64 * 1024)


static lc_cert_t *ngx_http_linkcert_local_read_cert(
    ngx_http_linkcert_state_t *st, u_char *name, size_t len, lc_error_t *err,
    ngx_log_t *log);
static ngx_int_t ngx_http_linkcert_local_read_chain(
    ngx_http_linkcert_state_t *st, const char *name,
    ngx_http_linkcert_file_t *file);
static ngx_int_t ngx_http_linkcert_local_save(ngx_http_linkcert_state_t *st,
    ngx_http_linkcert_state_lease_t *lease, const char *name, const char *key,
    size_t key_len, const char *chain, size_t chain_len, uint64_t *version,
    ngx_http_linkcert_state_handler_pt h, void *data, ngx_log_t *log);
static void ngx_http_linkcert_local_remove(ngx_http_linkcert_state_t *st,
    u_char *name, size_t len, ngx_log_t *log);
static ngx_int_t ngx_http_linkcert_local_lease_take(
    ngx_http_linkcert_state_t *st, const char *name, uint32_t job_id,
    ngx_http_linkcert_state_lease_t *lease,
    ngx_http_linkcert_state_handler_pt h, void *data, ngx_log_t *log);
static void ngx_http_linkcert_local_lease_release(
    ngx_http_linkcert_state_t *st, const char *name,
    ngx_http_linkcert_state_lease_t *lease);
static void ngx_http_linkcert_local_lease_end(ngx_http_linkcert_state_t *st,
    const char *name, ngx_http_linkcert_state_lease_t *lease);
static ngx_int_t ngx_http_linkcert_local_challenge_set(
    ngx_http_linkcert_state_t *st, const char *domain, const char *token,
    const char *key_authorization, ngx_http_linkcert_state_handler_pt h,
    void *data, ngx_log_t *log);
static void ngx_http_linkcert_local_challenge_del(
    ngx_http_linkcert_state_t *st, const char *token);
static ngx_int_t ngx_http_linkcert_local_challenge_get(
    ngx_http_linkcert_state_t *st, ngx_str_t *domain, ngx_str_t *token,
    u_char *buf, size_t *len);
static ngx_int_t ngx_http_linkcert_local_order_read(
    ngx_http_linkcert_state_t *st, const char *name,
    ngx_http_linkcert_file_t *file);
static ngx_int_t ngx_http_linkcert_local_order_write(
    ngx_http_linkcert_state_t *st, ngx_http_linkcert_state_lease_t *lease,
    const char *name, const char *data, size_t len,
    lc_acme_account_t *account, ngx_http_linkcert_state_handler_pt h,
    void *hdata, ngx_log_t *log);
static void ngx_http_linkcert_local_order_drop(ngx_http_linkcert_state_t *st,
    ngx_http_linkcert_state_lease_t *lease, const char *name, ngx_log_t *log);
static ngx_int_t ngx_http_linkcert_local_account_read(
    ngx_http_linkcert_state_t *st, const char *name,
    ngx_http_linkcert_file_t *file, lc_error_t *err);
static ngx_int_t ngx_http_linkcert_local_account_create(
    ngx_http_linkcert_state_t *st, const char *name, const char *pem,
    size_t len, ngx_log_t *log);
static ngx_int_t ngx_http_linkcert_local_domain_file(
    ngx_http_linkcert_state_t *st, const char *name, const char *what,
    size_t max, ngx_http_linkcert_file_t *file);
static ngx_int_t ngx_http_linkcert_local_read(u_char *path,
    ngx_http_linkcert_file_t *file, const char *what, size_t max,
    lc_error_t *err);


ngx_http_linkcert_state_t *
ngx_http_linkcert_state_local(ngx_conf_t *cf,
    ngx_http_linkcert_main_conf_t *lmcf)
{
    ngx_http_linkcert_state_t  *st;

    st = ngx_pcalloc(cf->pool, sizeof(ngx_http_linkcert_state_t));
    if (st == NULL) {
        return NULL;
    }

    st->name = "local";
    st->data = lmcf;

    st->read_cert = ngx_http_linkcert_local_read_cert;
    st->read_chain = ngx_http_linkcert_local_read_chain;
    st->save = ngx_http_linkcert_local_save;
    st->remove = ngx_http_linkcert_local_remove;
    st->lease_take = ngx_http_linkcert_local_lease_take;
    st->lease_release = ngx_http_linkcert_local_lease_release;
    st->lease_end = ngx_http_linkcert_local_lease_end;
    st->challenge_set = ngx_http_linkcert_local_challenge_set;
    st->challenge_del = ngx_http_linkcert_local_challenge_del;
    st->challenge_get = ngx_http_linkcert_local_challenge_get;
    st->order_read = ngx_http_linkcert_local_order_read;
    st->order_write = ngx_http_linkcert_local_order_write;
    st->order_drop = ngx_http_linkcert_local_order_drop;
    st->account_read = ngx_http_linkcert_local_account_read;
    st->account_create = ngx_http_linkcert_local_account_create;

    return st;
}


static lc_cert_t *
ngx_http_linkcert_local_read_cert(ngx_http_linkcert_state_t *st,
    u_char *name, size_t len, lc_error_t *err, ngx_log_t *log)
{
    ngx_http_linkcert_main_conf_t  *lmcf = st->data;

    return ngx_http_linkcert_store_read_cert(&lmcf->store, name, len, log,
                                             err);
}


static ngx_int_t
ngx_http_linkcert_local_read_chain(ngx_http_linkcert_state_t *st,
    const char *name, ngx_http_linkcert_file_t *file)
{
    return ngx_http_linkcert_local_domain_file(st, name, "fullchain.pem",
                                               NGX_HTTP_LINKCERT_CHAIN_MAX,
                                               file);
}


/*
 * The fence is checked under the zone's lock, then the pair is published
 * by renames (ngx_http_linkcert_store_publish()); worker 0 alone saves,
 * so no other save comes between.
 */

static ngx_int_t
ngx_http_linkcert_local_save(ngx_http_linkcert_state_t *st,
    ngx_http_linkcert_state_lease_t *lease, const char *name, const char *key,
    size_t key_len, const char *chain, size_t chain_len, uint64_t *version,
    ngx_http_linkcert_state_handler_pt h, void *data, ngx_log_t *log)
{
    ngx_http_linkcert_main_conf_t  *lmcf = st->data;

    if (ngx_http_linkcert_table_held(lmcf->shm_zone, (u_char *) name,
                                     ngx_strlen(name), lease->job_id)
        != NGX_OK)
    {
        return NGX_DECLINED;
    }

    if (ngx_http_linkcert_store_publish(&lmcf->store, name, key, key_len,
                                        chain, chain_len, 1, log)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    *version = ngx_http_linkcert_store_domain_stamp(&lmcf->store, name);

    return NGX_OK;
}


static void
ngx_http_linkcert_local_remove(ngx_http_linkcert_state_t *st, u_char *name,
    size_t len, ngx_log_t *log)
{
    ngx_http_linkcert_main_conf_t  *lmcf = st->data;

    (void) ngx_http_linkcert_store_remove(&lmcf->store, name, len, log);
}


/* the zone handed the domain to this process: that claim is the lease */

static ngx_int_t
ngx_http_linkcert_local_lease_take(ngx_http_linkcert_state_t *st,
    const char *name, uint32_t job_id, ngx_http_linkcert_state_lease_t *lease,
    ngx_http_linkcert_state_handler_pt h, void *data, ngx_log_t *log)
{
    lease->job_id = job_id;
    lease->fence = job_id;

    return NGX_OK;
}


static void
ngx_http_linkcert_local_lease_release(ngx_http_linkcert_state_t *st,
    const char *name, ngx_http_linkcert_state_lease_t *lease)
{
    ngx_http_linkcert_main_conf_t  *lmcf = st->data;

    ngx_http_linkcert_table_release(lmcf->shm_zone, (u_char *) name,
                                    ngx_strlen(name), lease->job_id);
}


/* the table was told how the job ended: nothing more to let go */

static void
ngx_http_linkcert_local_lease_end(ngx_http_linkcert_state_t *st,
    const char *name, ngx_http_linkcert_state_lease_t *lease)
{
}


static ngx_int_t
ngx_http_linkcert_local_challenge_set(ngx_http_linkcert_state_t *st,
    const char *domain, const char *token, const char *key_authorization,
    ngx_http_linkcert_state_handler_pt h, void *data, ngx_log_t *log)
{
    ngx_http_linkcert_main_conf_t  *lmcf = st->data;

    if (ngx_http_linkcert_challenge_set(lmcf->shm_zone, domain, token,
                                        key_authorization)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "linkcert: no room in the zone for the challenge of "
                      "\"%s\"", domain);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_linkcert_local_challenge_del(ngx_http_linkcert_state_t *st,
    const char *token)
{
    ngx_http_linkcert_main_conf_t  *lmcf = st->data;

    ngx_http_linkcert_challenge_del(lmcf->shm_zone, token);
}


static ngx_int_t
ngx_http_linkcert_local_challenge_get(ngx_http_linkcert_state_t *st,
    ngx_str_t *domain, ngx_str_t *token, u_char *buf, size_t *len)
{
    ngx_http_linkcert_main_conf_t  *lmcf = st->data;

    return ngx_http_linkcert_challenge_get(lmcf->shm_zone, domain, token,
                                           buf, len);
}


static ngx_int_t
ngx_http_linkcert_local_order_read(ngx_http_linkcert_state_t *st,
    const char *name, ngx_http_linkcert_file_t *file)
{
    return ngx_http_linkcert_local_domain_file(st, name, "order.json",
                                               NGX_HTTP_LINKCERT_SAVED_MAX,
                                               file);
}


static ngx_int_t
ngx_http_linkcert_local_order_write(ngx_http_linkcert_state_t *st,
    ngx_http_linkcert_state_lease_t *lease, const char *name,
    const char *data, size_t len, lc_acme_account_t *account,
    ngx_http_linkcert_state_handler_pt h, void *hdata, ngx_log_t *log)
{
    ngx_http_linkcert_main_conf_t  *lmcf = st->data;
    u_char                          dir[sizeof("domains/") + LC_DOMAIN_MAX];

    ngx_sprintf(dir, "domains/%s%Z", name);

    return ngx_http_linkcert_store_write(&lmcf->store, (char *) dir,
                                         "order.json", data, len, 0600, log);
}


static void
ngx_http_linkcert_local_order_drop(ngx_http_linkcert_state_t *st,
    ngx_http_linkcert_state_lease_t *lease, const char *name, ngx_log_t *log)
{
    ngx_http_linkcert_main_conf_t  *lmcf = st->data;
    u_char                          path[NGX_MAX_PATH];

    ngx_sprintf(path, "%V/domains/%s/order.json%Z", &lmcf->store, name);

    if (unlink((char *) path) == -1 && ngx_errno != NGX_ENOENT) {
        ngx_log_error(NGX_LOG_WARN, log, ngx_errno,
                      "linkcert: unlink(\"%s\") failed", path);
    }
}


static ngx_int_t
ngx_http_linkcert_local_account_read(ngx_http_linkcert_state_t *st,
    const char *name, ngx_http_linkcert_file_t *file, lc_error_t *err)
{
    ngx_http_linkcert_main_conf_t  *lmcf = st->data;
    u_char                          path[NGX_MAX_PATH];

    ngx_sprintf(path, "%V/account/%s%Z", &lmcf->store, name);

    return ngx_http_linkcert_local_read(path, file, name,
                                        NGX_HTTP_LINKCERT_SAVED_MAX, err);
}


static ngx_int_t
ngx_http_linkcert_local_account_create(ngx_http_linkcert_state_t *st,
    const char *name, const char *pem, size_t len, ngx_log_t *log)
{
    ngx_http_linkcert_main_conf_t  *lmcf = st->data;

    return ngx_http_linkcert_store_create(&lmcf->store, "account", name, pem,
                                          len, 0600, log);
}


/* one of the files of <store>/domains/<name>/ */

static ngx_int_t
ngx_http_linkcert_local_domain_file(ngx_http_linkcert_state_t *st,
    const char *name, const char *what, size_t max,
    ngx_http_linkcert_file_t *file)
{
    lc_error_t                      err;
    ngx_http_linkcert_main_conf_t  *lmcf = st->data;
    u_char                          path[NGX_MAX_PATH];

    ngx_sprintf(path, "%V/domains/%s/%s%Z", &lmcf->store, name, what);

    return ngx_http_linkcert_local_read(path, file, what, max, &err);
}


/* NGX_DECLINED: no such file; NGX_ERROR: it exists but cannot be read */

static ngx_int_t
ngx_http_linkcert_local_read(u_char *path, ngx_http_linkcert_file_t *file,
    const char *what, size_t max, lc_error_t *err)
{
    if (ngx_http_linkcert_store_read_file(path, file, err, what, max)
        == NGX_OK)
    {
        return NGX_OK;
    }

    return (ngx_errno == NGX_ENOENT) ? NGX_DECLINED : NGX_ERROR;
}
