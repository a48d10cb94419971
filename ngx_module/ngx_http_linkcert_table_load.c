
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the loader's side of the table: a scan of the store marks every
 * domain it sees, then drops what the store no longer has.
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


static ngx_int_t ngx_http_linkcert_visit_gone(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, void *data);


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

    lc_lifecycle_event_t   ev;
    lc_lifecycle_result_t  res;

    if (ln->scan == gone->scan || ln->store_stamp == 0) {
        return NGX_OK;
    }

    ln->store_stamp = 0;

    ngx_http_linkcert_life_event(&ev, LC_EV_GONE);
    ev.now = gone->now;
    ngx_http_linkcert_life_step(ctx, ln, &ev, &res);
    gone->n++;

    return NGX_OK;
}
