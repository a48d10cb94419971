
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the loader's side of the table: a scan of the store marks every
 * domain it sees, then drops what the store no longer has; the same for
 * the check of the store after a start or a reload, a batch at a time.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert.h"
#include "ngx_http_linkcert_table.h"


typedef struct {
    uint32_t                       scan;
    time_t                         now;
    ngx_uint_t                     n;
} ngx_http_linkcert_gone_t;


#define NGX_HTTP_LINKCERT_UNSEEN_STEP  32


typedef struct {
    uint32_t                       scan;
    ngx_http_linkcert_mark_t      *marks;
    ngx_uint_t                     max;
    ngx_uint_t                     n;
    ngx_uint_t                     visited;
    ngx_uint_t                     done;
    u_char                        *after;
} ngx_http_linkcert_unseen_t;


static ngx_int_t ngx_http_linkcert_visit_gone(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, void *data);
static ngx_int_t ngx_http_linkcert_visit_renew(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, void *data);
static ngx_int_t ngx_http_linkcert_visit_unseen(
    ngx_http_linkcert_zone_t *ctx, ngx_http_linkcert_node_t *ln, void *data);
static void ngx_http_linkcert_gone_step(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, time_t now);


uint32_t
ngx_http_linkcert_table_begin_scan(ngx_shm_zone_t *shm_zone)
{
    uint32_t                   scan;
    ngx_http_linkcert_zone_t  *ctx;

    ctx = shm_zone->data;

    ngx_http_linkcert_lock(ctx);
    scan = ++ctx->sh->scan;
    ngx_http_linkcert_unlock(ctx);

    return scan;
}


/*
 * A store directory whose files did not change since they were last
 * loaded: mark it seen and skip parsing.  NGX_DECLINED means it must be
 * (re)loaded.
 */

ngx_int_t
ngx_http_linkcert_table_seen(ngx_shm_zone_t *shm_zone, u_char *name,
    size_t len, uint64_t stamp, uint32_t scan)
{
    ngx_int_t                  rc;
    lc_lifecycle_event_t       ev;
    lc_lifecycle_result_t      res;
    ngx_http_linkcert_zone_t  *ctx;
    ngx_http_linkcert_node_t  *ln;

    ctx = shm_zone->data;
    rc = NGX_DECLINED;

    ngx_http_linkcert_life_event(&ev, LC_EV_SEEN);

    ngx_http_linkcert_lock(ctx);

    ln = ngx_http_linkcert_lookup(ctx->sh, name, len);

    /* a certificate that was not yet valid may be by now */

    if (ln && ln->store_stamp == stamp && stamp != 0
        && !lc_error_is(&ln->error, LC_ERR_STORE_NOT_YET_VALID))
    {
        ln->scan = scan;
        rc = NGX_OK;

        /* a reload is a renewal pass */

        ev.issued = ctx->sh->count[LC_STATUS_ISSUED];
        ngx_http_linkcert_life_step(ctx, ln, &ev, &res);
    }

    ngx_http_linkcert_unlock(ctx);

    return rc;
}


ngx_int_t
ngx_http_linkcert_table_loaded(ngx_shm_zone_t *shm_zone, u_char *name,
    size_t len, ngx_http_linkcert_loaded_t *loaded, uint32_t scan)
{
    size_t                     reg;
    lc_lifecycle_event_t       ev;
    lc_lifecycle_result_t      res;
    ngx_http_linkcert_zone_t  *ctx;
    ngx_http_linkcert_node_t  *ln;

    ctx = shm_zone->data;
    reg = ngx_http_linkcert_registrable(ctx, name, len);

    ngx_http_linkcert_life_event(&ev, LC_EV_LOADED);
    ev.ok = (loaded->ok != 0);
    /* the zone keeps 32-bit times: an imported oddity is clamped */
    ev.not_before = ngx_max(loaded->info.not_before, 0);
    ev.not_after = ngx_min(loaded->info.not_after,
                           (time_t) NGX_MAX_UINT32_VALUE);
    ev.error = &loaded->error;
    ev.fleet = (loaded->fleet != 0);

    ngx_http_linkcert_lock(ctx);

    ln = ngx_http_linkcert_lookup(ctx->sh, name, len);

    /* what the store says at start is no change */
    ev.created = (ln == NULL);

    if (ln == NULL) {
        ln = ngx_http_linkcert_create(ctx, name, len, reg);

        if (ln == NULL) {
            ngx_http_linkcert_unlock(ctx);
            return NGX_DECLINED;
        }
    }

    ln->store_stamp = loaded->stamp;
    ln->scan = scan;

    if (loaded->ok) {
        ev.same = (ngx_memcmp(ln->sha256, loaded->info.sha256, 32) == 0);

        ngx_memcpy(ln->sha256, loaded->info.sha256, 32);
        ngx_memcpy(ln->serial, loaded->info.serial, loaded->info.serial_len);
        ln->serial_len = (u_char) loaded->info.serial_len;
        ln->issuer = ngx_http_linkcert_issuer(ctx, loaded->info.issuer);

    } else {
        ln->serial_len = 0;
    }

    ev.issued = ctx->sh->count[LC_STATUS_ISSUED];
    ngx_http_linkcert_life_step(ctx, ln, &ev, &res);

    if ((res.flags & LC_LIFE_NEW_CERT)
        && ev.now - loaded->info.not_before < 7 * 86400)
    {
        ngx_http_linkcert_duplicate_add(ln, loaded->info.not_before);
    }

    ngx_http_linkcert_unlock(ctx);

    return NGX_OK;
}


/*
 * Issued domains whose files were not found by this scan stop being
 * served: the store is the source of truth for certificates.
 */

ngx_uint_t
ngx_http_linkcert_table_end_scan(ngx_shm_zone_t *shm_zone, uint32_t scan)
{
    ngx_http_linkcert_gone_t  gone;

    gone.scan = scan;
    gone.now = ngx_time();
    gone.n = 0;

    ngx_http_linkcert_walk(shm_zone->data, NULL, 0,
                           ngx_http_linkcert_visit_gone, &gone);

    return gone.n;
}


static ngx_int_t
ngx_http_linkcert_visit_gone(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, void *data)
{
    ngx_http_linkcert_gone_t  *gone = data;

    if (ln->scan == gone->scan || ln->store_stamp == 0) {
        return NGX_OK;
    }

    ngx_http_linkcert_gone_step(ctx, ln, gone->now);
    gone->n++;

    return NGX_OK;
}


static void
ngx_http_linkcert_gone_step(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, time_t now)
{
    lc_lifecycle_event_t   ev;
    lc_lifecycle_result_t  res;

    ln->store_stamp = 0;

    ngx_http_linkcert_life_event(&ev, LC_EV_GONE);
    ev.now = now;
    ngx_http_linkcert_life_step(ctx, ln, &ev, &res);
}


/*
 * A reload whose zone is taken over: the table is the store's already
 * (the workers kept it), so the master does not read the store, only
 * makes the renewal pass of a reload over the domains with files.
 */

ngx_uint_t
ngx_http_linkcert_table_renew_pass(ngx_shm_zone_t *shm_zone)
{
    ngx_http_linkcert_gone_t  pass;

    pass.now = ngx_time();
    pass.n = 0;

    ngx_http_linkcert_walk(shm_zone->data, NULL, 0,
                           ngx_http_linkcert_visit_renew, &pass);

    return pass.n;
}


static ngx_int_t
ngx_http_linkcert_visit_renew(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, void *data)
{
    ngx_http_linkcert_gone_t  *pass = data;

    lc_lifecycle_event_t   ev;
    lc_lifecycle_result_t  res;

    if (ln->store_stamp == 0) {
        return NGX_OK;
    }

    ngx_http_linkcert_life_event(&ev, LC_EV_SEEN);
    ev.issued = ctx->sh->count[LC_STATUS_ISSUED];
    ngx_http_linkcert_life_step(ctx, ln, &ev, &res);
    pass->n++;

    return NGX_OK;
}


/*
 * The check of the store after a start or a reload (worker 0,
 * ngx_http_linkcert_store_check.c), a batch of its listing at a time,
 * in one hold: a domain whose files are as the table knows them is
 * marked seen by this scan (changed[i] 0), another is to be read again
 * (changed[i] 1).
 */

void
ngx_http_linkcert_table_mark(ngx_shm_zone_t *shm_zone,
    ngx_http_linkcert_mark_t *marks, ngx_uint_t n, uint32_t scan)
{
    ngx_uint_t                 i;
    ngx_http_linkcert_zone_t  *ctx;
    ngx_http_linkcert_node_t  *ln;

    ctx = shm_zone->data;

    ngx_http_linkcert_lock(ctx);

    for (i = 0; i < n; i++) {
        ln = ngx_http_linkcert_lookup(ctx->sh, marks[i].name, marks[i].len);

        /* a certificate that was not yet valid may be by now */

        if (ln && ln->store_stamp == marks[i].stamp
            && !lc_error_is(&ln->error, LC_ERR_STORE_NOT_YET_VALID))
        {
            ln->scan = scan;
            marks[i].changed = 0;

        } else {
            marks[i].changed = 1;
        }
    }

    ngx_http_linkcert_unlock(ctx);
}


/*
 * The names after *after (NUL-terminated, "" first) with files that this
 * scan did not see, up to max of them, among the next 32 entries of the
 * table (one hold): *after moves on; NGX_DONE at the table's end.
 */

ngx_int_t
ngx_http_linkcert_table_unseen(ngx_shm_zone_t *shm_zone, uint32_t scan,
    u_char *after, ngx_http_linkcert_mark_t *marks, ngx_uint_t max,
    ngx_uint_t *n)
{
    ngx_http_linkcert_unseen_t  us;

    us.scan = scan;
    us.marks = marks;
    us.max = max;
    us.n = 0;
    us.visited = 0;
    us.after = after;
    us.done = 1;

    ngx_http_linkcert_walk(shm_zone->data, after, ngx_strlen(after),
                           ngx_http_linkcert_visit_unseen, &us);

    *n = us.n;

    return us.done ? NGX_DONE : NGX_OK;
}


static ngx_int_t
ngx_http_linkcert_visit_unseen(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, void *data)
{
    ngx_http_linkcert_unseen_t  *us = data;

    ngx_http_linkcert_mark_t  *m;

    /* a short hold: a new worker's first touch of a page is a fault */

    if (us->n == us->max || us->visited == NGX_HTTP_LINKCERT_UNSEEN_STEP) {
        us->done = 0;
        return NGX_DONE;
    }

    us->visited++;
    *ngx_cpymem(us->after, ln->name, ln->name_len) = '\0';

    if (ln->scan != us->scan && ln->store_stamp != 0) {
        m = &us->marks[us->n++];
        m->len = ln->name_len;
        ngx_memcpy(m->name, ln->name, m->len);
        m->name[m->len] = '\0';
        m->stamp = ln->store_stamp;
    }

    return NGX_OK;
}


/*
 * A domain the check did not see whose files are gone (looked at again
 * outside the lock): the table stops serving it, as the loader's scan
 * does, unless its files changed meanwhile (stamp: the one it had).
 */

void
ngx_http_linkcert_table_gone(ngx_shm_zone_t *shm_zone, u_char *name,
    size_t len, uint64_t stamp)
{
    ngx_http_linkcert_zone_t  *ctx;
    ngx_http_linkcert_node_t  *ln;

    ctx = shm_zone->data;

    ngx_http_linkcert_lock(ctx);

    ln = ngx_http_linkcert_lookup(ctx->sh, name, len);

    if (ln && ln->store_stamp == stamp && stamp != 0) {
        ngx_http_linkcert_gone_step(ctx, ln, ngx_time());
    }

    ngx_http_linkcert_unlock(ctx);
}
