
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the fleet's changes this edge could not write to Redis (Redis
 * away when a certificate was stored or a domain DELETEd), written when
 * Redis is back.
 *
 * A change whose script got no answer (no connection within the timeout,
 * the connection lost or hanging) leaves a mark in the store, a file
 * <store>/redis-pending/<domain> (written atomically, by any worker),
 * which survives a restart of nginx or of the machine.  It holds the
 * fencing token of the lease the change was made under (empty for a
 * DELETE's, which no lease fences); what is written later is re-derived
 * from the store at that moment, so it is always the edge's latest word
 * on the domain: its pair if the store has one (a change with the
 * certificate, fenced by that token: refused if another edge leased the
 * domain since), none if not (a removal; but a mark with a token and no
 * pair, a certificate that was not stored, is dropped).  Worker 0
 * writes them when its connection is made (again) and every few seconds
 * while it is connected, a batch at a time: each mark is removed before
 * its change is sent, and made again if that fails too.  A change sent
 * twice (its answer lost, not its script) is only a later number in the
 * sequence: the other edges skip a certificate they serve already.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert_redis.h"
#include "lc_domain.h"


#define NGX_HTTP_LINKCERT_PENDING_DIR     "redis-pending"
#define NGX_HTTP_LINKCERT_PENDING_BATCH   128
#define NGX_HTTP_LINKCERT_PENDING_EVERY   5000       /* ms */
#define NGX_HTTP_LINKCERT_PENDING_NEXT    100        /* ms, a full batch */
#define NGX_HTTP_LINKCERT_PENDING_MAX     (1024 * 1024)


typedef struct {
    ngx_http_linkcert_main_conf_t  *lmcf;
    ngx_log_t                      *log;
    ngx_event_t                     timer;
} ngx_http_linkcert_pending_t;


static void ngx_http_linkcert_pending_tick(ngx_event_t *ev);
static ngx_uint_t ngx_http_linkcert_pending_batch(
    ngx_http_linkcert_pending_t *pd);
static ngx_int_t ngx_http_linkcert_pending_send(
    ngx_http_linkcert_pending_t *pd, u_char *name, size_t len,
    uint64_t fence);
static uint64_t ngx_http_linkcert_pending_fence(u_char *path);


static ngx_http_linkcert_pending_t  *ngx_http_linkcert_pending;


/* worker 0 writes the marks */

ngx_int_t
ngx_http_linkcert_redis_pending_init_process(ngx_cycle_t *cycle)
{
    ngx_http_linkcert_pending_t    *pd;
    ngx_http_linkcert_main_conf_t  *lmcf;

    lmcf = ngx_http_linkcert_worker0(cycle);

    if (lmcf == NULL || lmcf->redis == NULL) {
        return NGX_OK;
    }

    pd = ngx_pcalloc(cycle->pool, sizeof(ngx_http_linkcert_pending_t));
    if (pd == NULL) {
        return NGX_ERROR;
    }

    pd->lmcf = lmcf;
    pd->log = cycle->log;

    pd->timer.data = pd;
    pd->timer.handler = ngx_http_linkcert_pending_tick;
    pd->timer.log = cycle->log;
    pd->timer.cancelable = 1;

    ngx_add_timer(&pd->timer, NGX_HTTP_LINKCERT_PENDING_EVERY);

    ngx_http_linkcert_pending = pd;

    return NGX_OK;
}


void
ngx_http_linkcert_redis_pending_exit_process(ngx_cycle_t *cycle)
{
    if (ngx_http_linkcert_pending
        && ngx_http_linkcert_pending->timer.timer_set)
    {
        ngx_del_timer(&ngx_http_linkcert_pending->timer);
    }

    ngx_http_linkcert_pending = NULL;
}


/*
 * Any worker: a change of the domain is to be written when Redis is back
 * (away), or at the next flush with Redis there (a certificate written to
 * the fleet again).
 */

void
ngx_http_linkcert_redis_pending_add(const char *name, uint64_t fence,
    ngx_uint_t away, ngx_log_t *log)
{
    size_t                          len;
    ngx_err_t                       err;
    ngx_http_linkcert_main_conf_t  *lmcf;
    u_char                          dir[NGX_MAX_PATH];
    u_char                          token[NGX_INT64_LEN];

    lmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_linkcert_module);

    ngx_sprintf(dir, "%V/" NGX_HTTP_LINKCERT_PENDING_DIR "%Z", &lmcf->store);

    if (ngx_create_dir(dir, 0700) == NGX_FILE_ERROR) {
        err = ngx_errno;

        if (err != NGX_EEXIST) {
            ngx_log_error(NGX_LOG_ERR, log, err,
                          "linkcert: \"%s\" will not be written to redis "
                          "later: " ngx_create_dir_n " \"%s\" failed",
                          name, dir);
            return;
        }
    }

    len = fence ? (size_t) (ngx_sprintf(token, "%uL", fence) - token) : 0;

    if (ngx_http_linkcert_store_write(&lmcf->store,
                                      NGX_HTTP_LINKCERT_PENDING_DIR, name,
                                      (char *) token, len, 0600, log)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "linkcert: \"%s\" will not be written to redis later",
                      name);
        return;
    }

    if (away) {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "linkcert: \"%s\" will be written to redis when it "
                      "is back", name);
    }
}


/* a change of the domain is waiting for Redis: its mark is in the store */

ngx_uint_t
ngx_http_linkcert_redis_pending_has(const char *name)
{
    ngx_file_info_t                 fi;
    ngx_http_linkcert_main_conf_t  *lmcf;
    u_char                          path[NGX_MAX_PATH];

    lmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_linkcert_module);

    ngx_snprintf(path, sizeof(path),
                 "%V/" NGX_HTTP_LINKCERT_PENDING_DIR "/%s%Z",
                 &lmcf->store, name);

    return ngx_file_info(path, &fi) != NGX_FILE_ERROR;
}


/* worker 0's connection is made (again) */

void
ngx_http_linkcert_redis_pending_flush(void)
{
    ngx_http_linkcert_pending_t  *pd;

    pd = ngx_http_linkcert_pending;

    if (pd == NULL) {
        return;
    }

    if (pd->timer.timer_set) {
        ngx_del_timer(&pd->timer);
    }

    ngx_http_linkcert_pending_tick(&pd->timer);
}


static void
ngx_http_linkcert_pending_tick(ngx_event_t *ev)
{
    ngx_msec_t                    next;
    ngx_http_linkcert_pending_t  *pd;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    pd = ev->data;
    next = NGX_HTTP_LINKCERT_PENDING_EVERY;

    if (ngx_http_linkcert_redis_connected()
        && ngx_http_linkcert_pending_batch(pd)
           == NGX_HTTP_LINKCERT_PENDING_BATCH)
    {
        next = NGX_HTTP_LINKCERT_PENDING_NEXT;
    }

    ngx_add_timer(ev, next);
}


/* sends a batch of marked domains' changes; how many */

static ngx_uint_t
ngx_http_linkcert_pending_batch(ngx_http_linkcert_pending_t *pd)
{
    size_t       len;
    ngx_dir_t    dir;
    ngx_str_t    dname;
    uint64_t     fence;
    ngx_uint_t   n;
    const char  *reason;
    u_char       path[NGX_MAX_PATH], *name;
    char         norm[LC_DOMAIN_MAX + 1];

    dname.data = path;
    dname.len = ngx_sprintf(path, "%V/" NGX_HTTP_LINKCERT_PENDING_DIR "%Z",
                            &pd->lmcf->store)
                - path - 1;

    if (ngx_open_dir(&dname, &dir) == NGX_ERROR) {
        return 0;               /* none yet */
    }

    n = 0;

    while (n < NGX_HTTP_LINKCERT_PENDING_BATCH) {
        ngx_set_errno(0);

        if (ngx_read_dir(&dir) == NGX_ERROR) {
            break;
        }

        name = ngx_de_name(&dir);
        len = ngx_de_namelen(&dir);

        /* ".", "..", a temporary file, or not a domain's */

        if (name[0] == '.'
            || lc_domain_normalize((char *) name, len, norm, &len, &reason)
               != 0
            || len != ngx_de_namelen(&dir)
            || ngx_strncmp(norm, name, len) != 0)
        {
            continue;
        }

        ngx_sprintf(path, "%V/" NGX_HTTP_LINKCERT_PENDING_DIR "/%s%Z",
                    &pd->lmcf->store, norm);

        fence = ngx_http_linkcert_pending_fence(path);

        /* a mark made again meanwhile stays for the next batch */

        if (ngx_delete_file(path) == NGX_FILE_ERROR) {
            continue;
        }

        n++;

        if (ngx_http_linkcert_pending_send(pd, (u_char *) norm, len, fence)
            != NGX_OK)
        {
            ngx_http_linkcert_redis_pending_add(norm, fence, 1, pd->log);
        }
    }

    (void) ngx_close_dir(&dir);

    return n;
}


/* the fencing token a mark holds; 0: none */

static uint64_t
ngx_http_linkcert_pending_fence(u_char *path)
{
    off_t                     n;
    lc_error_t                err;
    ngx_http_linkcert_file_t  file;

    if (ngx_http_linkcert_store_read_file(path, &file, &err, "mark",
                                          NGX_INT64_LEN)
        != NGX_OK)
    {
        return 0;
    }

    n = file.len ? ngx_atoof(file.data, file.len) : 0;

    ngx_free(file.data);

    return (n > 0) ? (uint64_t) n : 0;
}


/* the domain's change as the store has it now: its pair, or a removal */

static ngx_int_t
ngx_http_linkcert_pending_send(ngx_http_linkcert_pending_t *pd,
    u_char *name, size_t len, uint64_t fence)
{
    ngx_int_t                 rc;
    ngx_http_linkcert_file_t  chain, key;

    rc = ngx_http_linkcert_redis_store_file(&pd->lmcf->store, name, len,
                                            "fullchain.pem", &chain);

    if (rc == NGX_DECLINED && fence) {
        ngx_log_error(NGX_LOG_NOTICE, pd->log, 0,
                      "linkcert: \"%s\": its certificate was not stored, "
                      "nothing to write to redis", name);
        return NGX_OK;
    }

    if (rc == NGX_DECLINED) {
        ngx_log_error(NGX_LOG_NOTICE, pd->log, 0,
                      "linkcert: \"%s\" written to redis now: removed",
                      name);
        (void) ngx_http_linkcert_redis_cert_remove(name, len, NULL, NULL,
                                                  pd->log);
        return NGX_OK;
    }

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    rc = ngx_http_linkcert_redis_store_file(&pd->lmcf->store, name, len,
                                            "privkey.pem", &key);

    if (rc == NGX_OK) {
        ngx_log_error(NGX_LOG_NOTICE, pd->log, 0,
                      "linkcert: \"%s\" written to redis now: its "
                      "certificate", name);

        (void) ngx_http_linkcert_redis_cert_put(pd->lmcf, (char *) name,
                                                (char *) key.data, key.len,
                                                (char *) chain.data,
                                                chain.len, fence, NULL,
                                                NULL, pd->log);

        ngx_explicit_memzero(key.data, key.len);
        ngx_free(key.data);
    }

    ngx_free(chain.data);

    return (rc == NGX_OK) ? NGX_OK : NGX_ERROR;
}


/* a file of the domain's pair (for Redis); NGX_DECLINED: no such file */

ngx_int_t
ngx_http_linkcert_redis_store_file(ngx_str_t *store, u_char *name, size_t len,
    const char *what, ngx_http_linkcert_file_t *file)
{
    lc_error_t  err;
    u_char      path[NGX_MAX_PATH];

    (void) ngx_http_linkcert_store_path(path, store, name, len, what);

    ngx_set_errno(0);

    if (ngx_http_linkcert_store_read_file(path, file, &err, what,
                                          NGX_HTTP_LINKCERT_PENDING_MAX)
        == NGX_OK)
    {
        return NGX_OK;
    }

    if (ngx_errno == NGX_ENOENT) {
        return NGX_DECLINED;
    }

    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                  "linkcert: \"%s\" not written to redis: %s (%s)", name,
                  err.detail, err.type);

    return NGX_ERROR;
}
