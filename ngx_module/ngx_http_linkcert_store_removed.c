
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: removed domains in the store.  DELETE moves a domain's
 * directory to <store>/removed/<domain>.<UTC time>/, and worker 0
 * deletes what is older than linkcert_removed_keep.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert.h"


static void ngx_http_linkcert_store_sweep(ngx_event_t *ev);
static time_t ngx_http_linkcert_store_removed_at(u_char *name, size_t len);
static ngx_int_t ngx_http_linkcert_store_delete_file(ngx_tree_ctx_t *ctx,
    ngx_str_t *path);
static ngx_int_t ngx_http_linkcert_store_delete_dir(ngx_tree_ctx_t *ctx,
    ngx_str_t *path);
static ngx_int_t ngx_http_linkcert_store_noop(ngx_tree_ctx_t *ctx,
    ngx_str_t *path);


static ngx_event_t                     ngx_http_linkcert_sweep_ev;
static ngx_connection_t                ngx_http_linkcert_sweep_dumb;
static ngx_http_linkcert_main_conf_t  *ngx_http_linkcert_sweep_conf;


/*
 * DELETE: the domain's files go to <store>/removed/<domain>.<UTC time>/;
 * they are deleted linkcert_removed_keep later (see the sweep below).
 */

ngx_int_t
ngx_http_linkcert_store_remove(ngx_str_t *store, u_char *name, size_t len,
    ngx_log_t *log)
{
    u_char     *p;
    ngx_err_t   err;
    ngx_uint_t  n;
    struct tm   tm;
    u_char      from[NGX_MAX_PATH], to[NGX_MAX_PATH];

    p = ngx_sprintf(to, "%V/removed%Z", store);

    if (mkdir((char *) to, 0700) == -1 && ngx_errno != NGX_EEXIST) {
        ngx_log_error(NGX_LOG_ERR, log, ngx_errno,
                      "linkcert: mkdir(\"%s\") failed", to);
        return NGX_ERROR;
    }

    ngx_libc_gmtime(ngx_time(), &tm);

    p = ngx_sprintf(p - 1, "/%*s.%4d%02d%02dT%02d%02d%02dZ", len, name,
                    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                    tm.tm_hour, tm.tm_min, tm.tm_sec);
    *p = '\0';

    (void) ngx_http_linkcert_store_path(from, store, name, len, "");

    /* the index's journal first: a start then looks at the domain again */
    ngx_http_linkcert_index_changed(store, (char *) name, len);

    /* removed twice within a second: the second copy gets a number */

    for (n = 1; rename((char *) from, (char *) to) == -1; n++) {
        err = ngx_errno;

        if (err == NGX_ENOENT) {
            return NGX_OK;
        }

        if ((err != NGX_EEXIST && err != ENOTEMPTY) || n == 100) {
            ngx_log_error(NGX_LOG_ERR, log, err,
                          "linkcert: rename(\"%s\", \"%s\") failed",
                          from, to);
            return NGX_ERROR;
        }

        ngx_sprintf(p, ".%ui%Z", n);
    }

    ngx_log_error(NGX_LOG_NOTICE, log, 0,
                  "linkcert: \"%*s\" removed, its files moved to \"%s\"",
                  len, name, to);

    return NGX_OK;
}


/*
 * Worker 0 deletes removed/ entries older than linkcert_removed_keep: at
 * start, then every hour (or every linkcert_removed_keep, if shorter).
 */

ngx_int_t
ngx_http_linkcert_store_init_process(ngx_cycle_t *cycle)
{
    ngx_http_linkcert_main_conf_t  *lmcf;

    lmcf = ngx_http_linkcert_worker0(cycle);

    if (lmcf == NULL) {
        return NGX_OK;
    }

    ngx_http_linkcert_sweep_conf = lmcf;

    ngx_http_linkcert_timer_init(&ngx_http_linkcert_sweep_ev,
                                 &ngx_http_linkcert_sweep_dumb, NULL,
                                 ngx_http_linkcert_store_sweep, cycle->log);

    ngx_add_timer(&ngx_http_linkcert_sweep_ev, 1000);

    return NGX_OK;
}


static void
ngx_http_linkcert_store_sweep(ngx_event_t *ev)
{
    DIR                            *dir;
    time_t                          at, now;
    ngx_str_t                       path;
    ngx_uint_t                      n;
    struct dirent                  *de;
    ngx_tree_ctx_t                  tree;
    ngx_http_linkcert_main_conf_t  *lmcf;
    u_char                          buf[NGX_MAX_PATH];

    lmcf = ngx_http_linkcert_sweep_conf;

    if (ngx_exiting || ngx_terminate || ngx_quit || lmcf == NULL) {
        return;
    }

    ngx_sprintf(buf, "%V/removed%Z", &lmcf->store);

    dir = opendir((char *) buf);
    now = ngx_time();
    n = 0;

    ngx_memzero(&tree, sizeof(ngx_tree_ctx_t));
    tree.file_handler = ngx_http_linkcert_store_delete_file;
    tree.pre_tree_handler = ngx_http_linkcert_store_noop;
    tree.post_tree_handler = ngx_http_linkcert_store_delete_dir;
    tree.spec_handler = ngx_http_linkcert_store_delete_file;
    tree.log = ev->log;

    while (dir && (de = readdir(dir)) != NULL) {
        at = ngx_http_linkcert_store_removed_at((u_char *) de->d_name,
                                                ngx_strlen(de->d_name));

        if (at == (time_t) -1 || now - at < lmcf->removed_keep) {
            continue;
        }

        path.data = buf;
        path.len = ngx_sprintf(buf, "%V/removed/%s", &lmcf->store,
                               de->d_name) - buf;
        buf[path.len] = '\0';

        if (ngx_walk_tree(&tree, &path) == NGX_OK
            && ngx_delete_dir(buf) != NGX_FILE_ERROR)
        {
            n++;

        } else {
            ngx_log_error(NGX_LOG_ERR, ev->log, ngx_errno,
                          "linkcert: deleting \"%s\" failed", buf);
        }
    }

    if (dir) {
        closedir(dir);
    }

    if (n) {
        ngx_log_error(NGX_LOG_NOTICE, ev->log, 0,
                      "linkcert: %ui removed domains older than "
                      "linkcert_removed_keep deleted", n);
    }

    ngx_add_timer(ev, (ngx_msec_t) ngx_min(lmcf->removed_keep, 3600) * 1000);
}


/*
 * The time of a removed/ entry from its name, <domain>.<YYYYmmddTHHMMSSZ>
 * with maybe ".<n>" after it; -1 for any other name.
 */

static time_t
ngx_http_linkcert_store_removed_at(u_char *name, size_t len)
{
    u_char     *p, *end;
    ngx_uint_t  i;
    struct tm   tm;

    end = name + len;

    /* ".<n>": the second removal within a second */

    for (p = end; p > name && p[-1] >= '0' && p[-1] <= '9'; p--) {
        /* void */
    }

    if (p < end && p > name && p[-1] == '.') {
        end = p - 1;
    }

    if (end - name < 18 || end[-1] != 'Z' || end[-17] != '.'
        || end[-8] != 'T')
    {
        return (time_t) -1;
    }

    p = end - 16;

    for (i = 0; i < 15; i++) {
        if (i != 8 && (p[i] < '0' || p[i] > '9')) {
            return (time_t) -1;
        }
    }

    ngx_memzero(&tm, sizeof(struct tm));

    tm.tm_year = ngx_atoi(p, 4) - 1900;
    tm.tm_mon = ngx_atoi(p + 4, 2) - 1;
    tm.tm_mday = ngx_atoi(p + 6, 2);
    tm.tm_hour = ngx_atoi(p + 9, 2);
    tm.tm_min = ngx_atoi(p + 11, 2);
    tm.tm_sec = ngx_atoi(p + 13, 2);

    return timegm(&tm);
}


static ngx_int_t
ngx_http_linkcert_store_delete_file(ngx_tree_ctx_t *ctx, ngx_str_t *path)
{
    if (ngx_delete_file(path->data) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ERR, ctx->log, ngx_errno,
                      ngx_delete_file_n " \"%s\" failed", path->data);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_linkcert_store_delete_dir(ngx_tree_ctx_t *ctx, ngx_str_t *path)
{
    if (ngx_delete_dir(path->data) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ERR, ctx->log, ngx_errno,
                      ngx_delete_dir_n " \"%s\" failed", path->data);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_linkcert_store_noop(ngx_tree_ctx_t *ctx, ngx_str_t *path)
{
    return NGX_OK;
}
