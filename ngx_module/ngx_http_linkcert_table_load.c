
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
    ngx_http_linkcert_zone_t  *ctx;
    ngx_http_linkcert_node_t  *ln;

    ctx = shm_zone->data;
    rc = NGX_DECLINED;

    ngx_http_linkcert_lock(ctx);

    ln = ngx_http_linkcert_lookup(ctx->sh, name, len);

    /* a certificate that was not yet valid may be by now */

    if (ln && ln->store_stamp == stamp && stamp != 0
        && ngx_strcmp(ln->error.type, "store_not_yet_valid") != 0)
    {
        ln->scan = scan;
        rc = NGX_OK;

        /*
         * A reload is a renewal pass.  A domain a job holds now is checked
         * again when the job ends: the job may still decide with the old
         * configuration.
         */

        if (ln->status == LC_STATUS_ISSUED || ln->moved) {
            if ((ln->stage == LC_STAGE_ISSUED || ln->stage == LC_STAGE_FAILED)
                && !ln->busy)
            {
                ngx_http_linkcert_schedule_pass(ctx, ln);

            } else {
                ln->repass = 1;
            }
        }
    }

    ngx_http_linkcert_unlock(ctx);

    return rc;
}


ngx_int_t
ngx_http_linkcert_table_loaded(ngx_shm_zone_t *shm_zone, u_char *name,
    size_t len, ngx_http_linkcert_loaded_t *loaded, uint32_t scan)
{
    size_t                     reg;
    time_t                     now;
    ngx_uint_t                 created;
    ngx_http_linkcert_zone_t  *ctx;
    ngx_http_linkcert_node_t  *ln;

    ctx = shm_zone->data;
    now = ngx_time();
    reg = ngx_http_linkcert_registrable(ctx, name, len);

    ngx_http_linkcert_lock(ctx);

    ln = ngx_http_linkcert_lookup(ctx->sh, name, len);
    created = (ln == NULL);

    if (ln == NULL) {
        ln = ngx_http_linkcert_create(ctx, name, len, reg);

        if (ln == NULL) {
            ngx_http_linkcert_unlock(ctx);
            return NGX_DECLINED;
        }
    }

    ln->store_stamp = loaded->stamp;
    ln->scan = scan;
    ln->updated_at = now;
    ln->moved = 0;              /* new files: their DNS is checked again */

    if (loaded->ok) {
        if (ln->status != LC_STATUS_ISSUED
            || ngx_memcmp(ln->sha256, loaded->info.sha256, 32) != 0)
        {
            ln->generation = ++ctx->sh->generation;
            ln->renew_ari = 0;
            ln->ari_at = 0;     /* another certificate: ask at once */

            if (now - loaded->info.not_before < 7 * 86400) {
                ngx_http_linkcert_duplicate_add(ln, loaded->info.not_before);
            }
        }

        /* the zone keeps 32-bit times: an imported oddity is clamped */

        ln->not_before = (uint32_t) ngx_max(loaded->info.not_before, 0);
        ln->not_after = (uint32_t) ngx_min(loaded->info.not_after,
                                           (time_t) NGX_MAX_UINT32_VALUE);
        ngx_memcpy(ln->sha256, loaded->info.sha256, 32);
        ngx_memcpy(ln->serial, loaded->info.serial, loaded->info.serial_len);
        ln->serial_len = (u_char) loaded->info.serial_len;
        ln->issuer = ngx_http_linkcert_issuer(ctx, loaded->info.issuer);

        ngx_http_linkcert_set_status(ctx->sh, ln, LC_STATUS_ISSUED,
                                     LC_STAGE_ISSUED);
        lc_error_clear(&ln->error);
        ln->error_at = 0;
        ln->next_attempt_at = 0;

        ngx_http_linkcert_schedule_pass(ctx, ln);

    } else {
        ngx_http_linkcert_set_status(ctx->sh, ln, LC_STATUS_UNKNOWN,
                                     LC_STAGE_FAILED);
        ln->serial_len = 0;
        ln->not_before = 0;
        ln->not_after = 0;
        ln->error = loaded->error;
        ln->error_at = now;
    }

    /* what the store says at start is no change */
    ngx_http_linkcert_notify(ctx, ln, created);

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

    ln->store_stamp = 0;
    ln->moved = 0;
    ln->updated_at = gone->now;
    ln->error_at = gone->now;
    ngx_http_linkcert_set_status(ctx->sh, ln, LC_STATUS_UNKNOWN,
                                 LC_STAGE_FAILED);
    lc_error_set(&ln->error, "store_unreadable",
                 "the certificate files are gone from the store");
    ngx_http_linkcert_notify(ctx, ln, 0);
    gone->n++;

    return NGX_OK;
}
