
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the domain table in shared memory.
 *
 * Every access holds the zone's slab mutex: nginx's master releases it if
 * a worker dies holding it, which a lock of our own would not get.
 * Critical sections copy data in or out and do nothing else.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <libpsl.h>

#include "ngx_http_linkcert.h"


/*
 * Walks over the whole table let other processes take the lock after
 * every NGX_HTTP_LINKCERT_WALK_STEP entries (a few hundred microseconds).
 */

#define NGX_HTTP_LINKCERT_WALK_STEP  1024

/* NGX_OK: go on; NGX_DONE: stop */
typedef ngx_int_t (*ngx_http_linkcert_visit_pt)(
    ngx_http_linkcert_zone_t *ctx, ngx_http_linkcert_node_t *ln, void *data);


typedef struct {
    ngx_int_t                      status;       /* -1: any */
    ngx_uint_t                     limit;
    lc_record_t                   *recs;
    ngx_uint_t                     n;
    ngx_uint_t                     more;
} ngx_http_linkcert_page_t;


typedef struct {
    uint32_t                       scan;
    time_t                         now;
    ngx_uint_t                     n;
} ngx_http_linkcert_gone_t;


typedef struct {
    time_t                         now;
    ngx_http_linkcert_expiring_t   expiring;
    time_t                         earliest;
} ngx_http_linkcert_count_t;


static ngx_rbtree_key_t ngx_http_linkcert_key(u_char *name, size_t len);
static ngx_int_t ngx_http_linkcert_cmp(ngx_http_linkcert_node_t *ln,
    ngx_rbtree_key_t key, u_char *name, size_t len);
static void ngx_http_linkcert_rbtree_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_http_linkcert_node_t *ngx_http_linkcert_lookup(
    ngx_http_linkcert_sh_t *sh, u_char *name, size_t len);
static ngx_http_linkcert_node_t *ngx_http_linkcert_create(
    ngx_http_linkcert_zone_t *ctx, u_char *name, size_t len);
static void ngx_http_linkcert_set_status(ngx_http_linkcert_sh_t *sh,
    ngx_http_linkcert_node_t *ln, lc_status_e status, lc_stage_e stage);
static void ngx_http_linkcert_notify(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, ngx_uint_t quiet);
static void ngx_http_linkcert_keep_serving(ngx_http_linkcert_sh_t *sh,
    ngx_http_linkcert_node_t *ln);
static void ngx_http_linkcert_to_record(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, lc_record_t *rec);
static void ngx_http_linkcert_schedule(ngx_http_linkcert_sh_t *sh,
    ngx_http_linkcert_node_t *ln, ngx_msec_t at);
static void ngx_http_linkcert_unschedule(ngx_http_linkcert_sh_t *sh,
    ngx_http_linkcert_node_t *ln);
static void ngx_http_linkcert_schedule_order(ngx_http_linkcert_sh_t *sh,
    ngx_http_linkcert_node_t *ln, time_t now);
static void ngx_http_linkcert_schedule_issued(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, time_t now, time_t floor);
static time_t ngx_http_linkcert_renew_time(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln);
static time_t ngx_http_linkcert_reverify_time(ngx_http_linkcert_zone_t *ctx,
    time_t now);
static void ngx_http_linkcert_schedule_pass(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln);
static void ngx_http_linkcert_expired(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, time_t now);
static ngx_int_t ngx_http_linkcert_lease(ngx_http_linkcert_sh_t *sh,
    ngx_http_linkcert_node_t *ln);
static void ngx_http_linkcert_unlease(ngx_http_linkcert_sh_t *sh,
    ngx_http_linkcert_node_t *ln);
static void ngx_http_linkcert_delete(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln);
static ngx_rbtree_node_t *ngx_http_linkcert_first_after(
    ngx_http_linkcert_sh_t *sh, u_char *name, size_t len);
static void ngx_http_linkcert_walk(ngx_http_linkcert_zone_t *ctx,
    u_char *after, size_t len, ngx_http_linkcert_visit_pt visit, void *data);
static ngx_int_t ngx_http_linkcert_visit_page(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, void *data);
static ngx_int_t ngx_http_linkcert_visit_gone(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, void *data);
static ngx_int_t ngx_http_linkcert_visit_count(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, void *data);
static ngx_http_linkcert_node_t *ngx_http_linkcert_job_end(
    ngx_http_linkcert_zone_t *ctx, u_char *name, size_t len,
    uint32_t job_id, lc_status_e *old_status, lc_stage_e *old_stage);
static void ngx_http_linkcert_count_order(ngx_http_linkcert_sh_t *sh,
    ngx_http_linkcert_node_t *ln, lc_status_e old_status,
    lc_stage_e old_stage, ngx_uint_t result);
static void ngx_http_linkcert_lock(ngx_http_linkcert_zone_t *ctx);
#define ngx_http_linkcert_unlock(ctx)                                        \
    ngx_http_linkcert_unlock_in(ctx, __func__)
static void ngx_http_linkcert_unlock_in(ngx_http_linkcert_zone_t *ctx,
    const char *where);
static uint64_t ngx_http_linkcert_clock_ns(void);
static ngx_msec_t ngx_http_linkcert_now_ms(void);
static time_t ngx_http_linkcert_backoff(ngx_uint_t attempts);
static ngx_http_linkcert_name_e ngx_http_linkcert_name_state(
    ngx_http_linkcert_node_t *ln, time_t now);
static void ngx_http_linkcert_refuse(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, ngx_http_linkcert_demand_e why, time_t ttl,
    const lc_error_t *err, ngx_log_t *log);
static ngx_int_t ngx_http_linkcert_budget(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, time_t now);
static ngx_uint_t ngx_http_linkcert_registered(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, const char *domain, time_t since,
    time_t *first);


/*
 * On demand: at most 10 new names a second (20 at once) start the DNS
 * gate, and at most 64 are in it at a time, so that a flood of random
 * names costs a bounded number of DNS queries.
 */

#define NGX_HTTP_LINKCERT_ADMIT_INTERVAL  100      /* ms */
#define NGX_HTTP_LINKCERT_ADMIT_BURST     20
#define NGX_HTTP_LINKCERT_CANDIDATES_MAX  64
#define NGX_HTTP_LINKCERT_DOMAIN_WINDOW   (7 * 86400)



ngx_int_t
ngx_http_linkcert_table_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_linkcert_zone_t  *octx = data;

    size_t                          len;
    ngx_int_t                       rc;
    ngx_http_linkcert_zone_t       *ctx;
    ngx_http_linkcert_main_conf_t  *lmcf;

    ctx = shm_zone->data;
    lmcf = ctx->conf;

    if (octx) {
        ctx->sh = octx->sh;
        ctx->shpool = octx->shpool;

    } else {
        ctx->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

        if (shm_zone->shm.exists) {
            ctx->sh = ctx->shpool->data;

        } else {
            ctx->sh = ngx_slab_alloc(ctx->shpool,
                                     sizeof(ngx_http_linkcert_sh_t));
            if (ctx->sh == NULL) {
                return NGX_ERROR;
            }

            ngx_memzero(ctx->sh, sizeof(ngx_http_linkcert_sh_t));

            ctx->shpool->data = ctx->sh;

            ngx_rbtree_init(&ctx->sh->rbtree, &ctx->sh->sentinel,
                            ngx_http_linkcert_rbtree_insert_value);
            ngx_rbtree_init(&ctx->sh->due, &ctx->sh->due_sentinel,
                            ngx_rbtree_insert_timer_value);
            ngx_rbtree_init(&ctx->sh->challenges,
                            &ctx->sh->challenges_sentinel,
                            ngx_str_rbtree_insert_value);

            len = sizeof(" in linkcert_zone \"\"") + shm_zone->shm.name.len;

            ctx->shpool->log_ctx = ngx_slab_alloc(ctx->shpool, len);
            if (ctx->shpool->log_ctx == NULL) {
                return NGX_ERROR;
            }

            ngx_sprintf(ctx->shpool->log_ctx, " in linkcert_zone \"%V\"%Z",
                        &shm_zone->shm.name);

            /* a full zone is reported by the table itself, once a minute */
            ctx->shpool->log_nomem = 0;
        }
    }

    /* the module may be mapped elsewhere after a reload */
    ctx->sh->rbtree.insert = ngx_http_linkcert_rbtree_insert_value;
    ctx->sh->due.insert = ngx_rbtree_insert_timer_value;
    ctx->sh->challenges.insert = ngx_str_rbtree_insert_value;

    if (!lmcf->enabled) {
        return NGX_OK;
    }

    if (lmcf->on_demand && ctx->sh->negative == NULL) {
        ctx->sh->negative = ngx_slab_calloc(ctx->shpool,
                                  NGX_HTTP_LINKCERT_NEGATIVE_SIZE
                                  * sizeof(ngx_http_linkcert_negative_t));
        if (ctx->sh->negative == NULL) {
            ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                          "linkcert_zone \"%V\" is too small for the "
                          "on-demand negative cache", &shm_zone->shm.name);
            return NGX_ERROR;
        }
    }

    /* the reasons of refusals are only shown: without room, they are not */

    if (lmcf->on_demand && ctx->sh->refusals == NULL) {
        ctx->sh->refusals = ngx_slab_calloc(ctx->shpool,
                                  NGX_HTTP_LINKCERT_REFUSALS
                                  * sizeof(ngx_http_linkcert_refusal_t));
        if (ctx->sh->refusals == NULL) {
            ngx_log_error(NGX_LOG_WARN, shm_zone->shm.log, 0,
                          "linkcert_zone \"%V\" has no room to keep why "
                          "names were refused on demand",
                          &shm_zone->shm.name);
        }
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

    return ngx_http_linkcert_store_load(shm_zone, &lmcf->store,
                                        shm_zone->shm.log);
}


ngx_int_t
ngx_http_linkcert_table_get(ngx_shm_zone_t *shm_zone, u_char *name,
    size_t len, lc_record_t *rec)
{
    ngx_int_t                     refused;
    ngx_http_linkcert_zone_t     *ctx;
    ngx_http_linkcert_node_t     *ln;
    ngx_http_linkcert_refusal_t   r;

    ctx = shm_zone->data;
    refused = NGX_DECLINED;

    ngx_http_linkcert_lock(ctx);

    ln = ngx_http_linkcert_lookup(ctx->sh, name, len);

    if (ln) {
        ngx_http_linkcert_to_record(ctx, ln, rec);

    } else {
        refused = ngx_http_linkcert_refusal_get(ctx->sh,
                                       ngx_http_linkcert_hash(name, len),
                                       ngx_time(), &r);
    }

    ngx_http_linkcert_unlock(ctx);

    if (ln) {
        return NGX_OK;
    }

    ngx_memzero(rec, sizeof(lc_record_t));
    ngx_memcpy(rec->domain, name, len);
    rec->status = LC_STATUS_UNKNOWN;
    rec->stage = LC_STAGE_NONE;

    /* not in the table, but refused on demand lately: why, and until when */

    if (refused == NGX_OK) {
        rec->has_error = 1;
        rec->error = r.error;
        rec->error_at = r.at;
        rec->next_attempt_at = r.until;
    }

    return NGX_DECLINED;
}


/*
 * The handshake's question: is there a certificate to serve for this name
 * now, and of which generation.
 */

ngx_int_t
ngx_http_linkcert_table_serving(ngx_shm_zone_t *shm_zone, u_char *name,
    size_t len, time_t now, uint32_t *generation)
{
    ngx_int_t                  rc;
    ngx_http_linkcert_zone_t  *ctx;
    ngx_http_linkcert_node_t  *ln;

    ctx = shm_zone->data;
    rc = NGX_DECLINED;

    ngx_http_linkcert_lock(ctx);

    ln = ngx_http_linkcert_lookup(ctx->sh, name, len);

    if (ln
        && (ln->status == LC_STATUS_ISSUED || ln->moved)
        && now >= ln->not_before
        && now < ln->not_after)
    {
        *generation = ln->generation;
        rc = NGX_OK;
    }

    ngx_http_linkcert_unlock(ctx);

    return rc;
}


ngx_int_t
ngx_http_linkcert_table_page(ngx_shm_zone_t *shm_zone, ngx_str_t *after,
    ngx_int_t status, ngx_uint_t limit, lc_record_t *recs, ngx_uint_t *n,
    ngx_uint_t *more)
{
    ngx_http_linkcert_page_t  page;

    page.status = status;
    page.limit = limit;
    page.recs = recs;
    page.n = 0;
    page.more = 0;

    ngx_http_linkcert_walk(shm_zone->data, after->data, after->len,
                           ngx_http_linkcert_visit_page, &page);

    *n = page.n;
    *more = page.more;

    return NGX_OK;
}


static ngx_int_t
ngx_http_linkcert_visit_page(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, void *data)
{
    ngx_http_linkcert_page_t  *page = data;

    if (page->status != -1 && ln->status != page->status) {
        return NGX_OK;
    }

    if (page->n == page->limit) {
        page->more = 1;
        return NGX_DONE;
    }

    ngx_http_linkcert_to_record(ctx, ln, &page->recs[page->n++]);

    return NGX_OK;
}


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
    time_t                     now;
    ngx_uint_t                 created;
    ngx_http_linkcert_zone_t  *ctx;
    ngx_http_linkcert_node_t  *ln;

    ctx = shm_zone->data;
    now = ngx_time();

    ngx_http_linkcert_lock(ctx);

    ln = ngx_http_linkcert_lookup(ctx->sh, name, len);
    created = (ln == NULL);

    if (ln == NULL) {
        ln = ngx_http_linkcert_create(ctx, name, len);

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

        ln->not_before = loaded->info.not_before;
        ln->not_after = loaded->info.not_after;
        ngx_memcpy(ln->sha256, loaded->info.sha256, 32);
        ngx_memcpy(ln->serial, loaded->info.serial, loaded->info.serial_len);
        ln->serial_len = (u_char) loaded->info.serial_len;
        ngx_memcpy(ln->issuer, loaded->info.issuer, LC_ISSUER_LEN);

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


/*
 * "Verify domain": schedules a verification now unless one is already
 * running or queued, or one was forced less than 10 seconds ago.
 */

ngx_http_linkcert_post_e
ngx_http_linkcert_table_post(ngx_shm_zone_t *shm_zone, u_char *name,
    size_t len, ngx_uint_t reissue, lc_record_t *rec, time_t *retry_after,
    lc_error_t *refused)
{
    time_t                     now;
    ngx_msec_t                 now_ms;
    ngx_http_linkcert_sh_t    *sh;
    ngx_http_linkcert_zone_t  *ctx;
    ngx_http_linkcert_node_t  *ln;
    ngx_http_linkcert_post_e   rc;

    ctx = shm_zone->data;
    sh = ctx->sh;
    now = ngx_time();
    now_ms = ngx_http_linkcert_now_ms();

    ngx_http_linkcert_lock(ctx);

    ln = ngx_http_linkcert_lookup(sh, name, len);

    if (ln == NULL) {
        ln = ngx_http_linkcert_create(ctx, name, len);

        if (ln == NULL) {
            ngx_http_linkcert_unlock(ctx);
            return NGX_HTTP_LINKCERT_POST_FULL;
        }
    }

    if (ln->busy
        || (ln->stage == LC_STAGE_VERIFYING
            && ln->due.key != 0
            && (ngx_msec_int_t) (ln->due.key - now_ms) <= 0))
    {
        rc = NGX_HTTP_LINKCERT_POST_BUSY;

    } else if (ln->forced_at
               && now - ln->forced_at < NGX_HTTP_LINKCERT_FORCE_INTERVAL)
    {
        *retry_after = NGX_HTTP_LINKCERT_FORCE_INTERVAL
                       - (now - ln->forced_at);
        rc = NGX_HTTP_LINKCERT_POST_TOO_SOON;

    } else if (reissue
               && (ln->status == LC_STATUS_ISSUED || ln->moved)
               && ngx_http_linkcert_reissue_allowed(ctx, ln, now, now_ms,
                                                    refused, retry_after)
                  != NGX_OK)
    {
        rc = NGX_HTTP_LINKCERT_POST_REFUSED;

    } else {
        rc = (ln->status == LC_STATUS_ISSUED || ln->moved)
             ? (reissue ? NGX_HTTP_LINKCERT_POST_REISSUE
                        : NGX_HTTP_LINKCERT_POST_RECHECK)
             : NGX_HTTP_LINKCERT_POST_STARTED;

        ln->reissue = (rc == NGX_HTTP_LINKCERT_POST_REISSUE);
        ln->origin = NGX_HTTP_LINKCERT_ORIGIN_POST;

        /* a refusal on demand is over: the CRM asked for the name */

        ngx_http_linkcert_refusal_clear(sh, ngx_http_linkcert_hash(name, len));

        /* asked for by the CRM: kept whatever the DNS says, as any other */

        if (ln->candidate) {
            ln->candidate = 0;
            sh->candidates--;
        }

        if (ln->status != LC_STATUS_ISSUED) {
            ngx_http_linkcert_set_status(sh, ln, LC_STATUS_PENDING,
                                         LC_STAGE_VERIFYING);
        } else {
            ln->stage = LC_STAGE_VERIFYING;
        }

        /* the answer is about the new check: no error of an older one */

        lc_error_clear(&ln->error);
        ln->error_at = 0;

        ln->forced_at = now;
        ln->attempts = 0;
        ln->updated_at = now;
        ln->next_attempt_at = now;

        ngx_http_linkcert_schedule(sh, ln, now_ms);
        ngx_http_linkcert_notify(ctx, ln, 0);
    }

    ngx_http_linkcert_to_record(ctx, ln, rec);

    ngx_http_linkcert_unlock(ctx);

    return rc;
}


/*
 * Takes up to max entries whose time has come.  Each is leased: if the
 * worker running it dies, the entry is due again when the lease ends.
 */

ngx_uint_t
ngx_http_linkcert_table_due(ngx_shm_zone_t *shm_zone, ngx_msec_t lease,
    ngx_http_linkcert_due_t *due, ngx_uint_t max, ngx_uint_t orders,
    ngx_uint_t *waiting)
{
    time_t                     now;
    ngx_uint_t                 n;
    ngx_msec_t                 now_ms;
    ngx_rbtree_node_t         *node, *next;
    ngx_http_linkcert_sh_t    *sh;
    ngx_http_linkcert_zone_t  *ctx;
    ngx_http_linkcert_node_t  *ln;

    ctx = shm_zone->data;
    sh = ctx->sh;
    now_ms = ngx_http_linkcert_now_ms();
    now = ngx_time();
    n = 0;
    *waiting = 0;

    ngx_http_linkcert_lock(ctx);

    node = (sh->due.root == sh->due.sentinel)
           ? NULL : ngx_rbtree_min(sh->due.root, sh->due.sentinel);

    while (n < max && node) {

        if ((ngx_msec_int_t) (node->key - now_ms) > 0) {
            break;
        }

        next = ngx_rbtree_next(&sh->due, node);

        ln = (ngx_http_linkcert_node_t *)
                 ((u_char *) node - offsetof(ngx_http_linkcert_node_t, due));

        node = next;

        if ((ln->status == LC_STATUS_ISSUED || ln->moved)
            && now >= ln->not_after)
        {
            ngx_http_linkcert_expired(ctx, ln, now);
            continue;
        }

        /* orders wait for a free slot and a ready ACME account */

        if (ln->stage == LC_STAGE_ORDERING || ln->stage == LC_STAGE_RENEWING) {
            if (orders == 0) {
                (*waiting)++;
                continue;
            }

            /* new orders keep within the budgets (renewals are exempt) */

            if (ln->stage == LC_STAGE_ORDERING
                && ngx_http_linkcert_budget(ctx, ln, now) != NGX_OK)
            {
                continue;
            }

            orders--;
        }

        if (ngx_http_linkcert_lease(sh, ln) != NGX_OK) {
            break;
        }

        if (ln->stage != LC_STAGE_ORDERING
            && ln->stage != LC_STAGE_RENEWING
            && ln->stage != LC_STAGE_VERIFYING)
        {
            /* an issued domain whose DNS is checked again */
            ln->stage = LC_STAGE_VERIFYING;
        }

        ngx_http_linkcert_schedule(sh, ln, now_ms + lease);

        ngx_memcpy(due[n].name, ln->name, ln->name_len);
        due[n].name[ln->name_len] = '\0';
        due[n].stage = ln->stage;
        due[n].candidate = ln->candidate;
        due[n].reissue = ln->reissue;
        due[n].job_id = ln->job_id;
        n++;
    }

    ngx_http_linkcert_unlock(ctx);

    return n;
}


/* a job that could not finish (the worker is exiting): due again now */

void
ngx_http_linkcert_table_release(ngx_shm_zone_t *shm_zone, u_char *name,
    size_t len, uint32_t job_id)
{
    ngx_http_linkcert_zone_t  *ctx;
    ngx_http_linkcert_node_t  *ln;

    ctx = shm_zone->data;

    ngx_http_linkcert_lock(ctx);

    ln = ngx_http_linkcert_lookup(ctx->sh, name, len);

    if (ln && ln->busy && ln->job_id == job_id) {
        ngx_http_linkcert_unlease(ctx->sh, ln);
        ngx_http_linkcert_schedule(ctx->sh, ln, ngx_http_linkcert_now_ms());
    }

    ngx_http_linkcert_unlock(ctx);
}


/*
 * The outcome of a DNS verification.  An issued domain keeps its status
 * whatever the DNS says: its certificate stays valid and is still served.
 */

void
ngx_http_linkcert_table_verified(ngx_shm_zone_t *shm_zone, lc_verify_t *v,
    uint32_t job_id, u_char *dns, size_t dns_len, ngx_uint_t order,
    ngx_log_t *log)
{
    time_t                     now, delay;
    u_char                    *p;
    size_t                     len;
    ngx_uint_t                 issued;
    lc_stage_e                 old_stage;
    lc_status_e                old_status;
    ngx_http_linkcert_sh_t    *sh;
    ngx_http_linkcert_zone_t  *ctx;
    ngx_http_linkcert_node_t  *ln;

    ctx = shm_zone->data;
    sh = ctx->sh;
    now = ngx_time();
    len = ngx_strlen(v->domain);

    ln = ngx_http_linkcert_job_end(ctx, (u_char *) v->domain, len, job_id,
                                   &old_status, &old_stage);
    if (ln == NULL) {
        return;
    }

    /* a certificate to keep serving: issued, or kept while DNS moved */

    issued = (ln->status == LC_STATUS_ISSUED || ln->moved);

    /* an on-demand name that does not point here leaves the table */

    if (ln->candidate) {

        if (v->state != LC_VERIFY_VERIFIED) {
            (void) ngx_atomic_fetch_add(&sh->stats.dns[
                (v->state == LC_VERIFY_TRANSIENT) ? 2 : 1], 1);

            /*
             * A DNS that said no is asked again at the next click after
             * 30 s (the customer may be fixing it), one that did not
             * answer after a minute at most.
             */

            delay = ((ngx_http_linkcert_main_conf_t *) ctx->conf)
                        ->negative_ttl;
            delay = ngx_min(delay, ((v->state == LC_VERIFY_TRANSIENT)
                                    ? 60 : NGX_HTTP_LINKCERT_DNS_RETRY));

            ngx_http_linkcert_refuse(ctx, ln, NGX_HTTP_LINKCERT_DEMAND_DNS,
                                     delay, &v->error, log);
            ngx_http_linkcert_unlock(ctx);
            return;
        }

        ln->candidate = 0;
        sh->candidates--;
    }

    /* the previous "dns" object is replaced, or dropped if memory is short */

    if (ln->dns) {
        ngx_slab_free_locked(ctx->shpool, ln->dns);
        ln->dns = NULL;
        ln->dns_len = 0;
    }

    p = dns_len ? ngx_slab_alloc_locked(ctx->shpool, dns_len) : NULL;

    if (p) {
        ngx_memcpy(p, dns, dns_len);
        ln->dns = p;
        ln->dns_len = (uint16_t) dns_len;
    }

    switch (v->state) {

    case LC_VERIFY_VERIFIED:
        (void) ngx_atomic_fetch_add(&sh->stats.dns[0], 1);
        ln->attempts = 0;
        ln->next_attempt_at = 0;
        lc_error_clear(&ln->error);
        ln->error_at = 0;

        if (issued) {

            /* back from elsewhere: issued again, with the same certificate */

            if (ln->moved) {
                ln->moved = 0;
                ngx_http_linkcert_set_status(sh, ln, LC_STATUS_ISSUED,
                                             LC_STAGE_ISSUED);
            }

            /*
             * The DNS still points here: the ACME driver renews when
             * renew_at or the time picked in the CA's window has come,
             * and asks the CA's renewal information when it has some and
             * it is time to ask again.
             */

            /* a reissue orders a new key whatever the renewal time */

            if (!(order & NGX_HTTP_LINKCERT_ORDER)) {
                ln->reissue = 0;
            }

            if ((order & NGX_HTTP_LINKCERT_ORDER)
                && (ln->reissue
                    || (order & NGX_HTTP_LINKCERT_ACCOUNT)
                    || ((order & NGX_HTTP_LINKCERT_ARI) && now >= ln->ari_at)
                    || (ln->renew_ari && now >= ln->renew_ari)
                    || now >= ngx_http_linkcert_renew_time(ctx, ln)))
            {
                ln->stage = LC_STAGE_RENEWING;
                ngx_http_linkcert_schedule_order(sh, ln, now);

            } else {
                ln->stage = LC_STAGE_ISSUED;
                ngx_http_linkcert_schedule_issued(ctx, ln, now, 0);
            }

            break;
        }

        ngx_http_linkcert_set_status(sh, ln, LC_STATUS_PENDING,
                                     LC_STAGE_ORDERING);

        if (order) {
            ngx_http_linkcert_schedule_order(sh, ln, now);

        } else {
            lc_error_set(&ln->error, "no_acme_directory",
                         "no CA is configured (linkcert_acme_directory): "
                         "the certificate is not ordered");
            ln->error_at = now;
        }

        break;

    case LC_VERIFY_TRANSIENT:
        (void) ngx_atomic_fetch_add(&sh->stats.dns[2], 1);
        ln->attempts++;
        ln->error_at = now;
        delay = ngx_http_linkcert_backoff(ln->attempts);

        if (ln->attempts >= 3) {
            lc_error_set(&ln->error, "dns_unreachable",
                         "no answer from DNS %d times; last: %s",
                         (int) ln->attempts, v->error.detail);

            if (issued) {
                ngx_http_linkcert_keep_serving(sh, ln);

            } else {
                ngx_http_linkcert_set_status(sh, ln, LC_STATUS_UNKNOWN,
                                             LC_STAGE_FAILED);
            }

        } else {
            ln->error = v->error;

            if (issued) {
                ngx_http_linkcert_keep_serving(sh, ln);

            } else {
                ngx_http_linkcert_set_status(sh, ln, LC_STATUS_PENDING,
                                             LC_STAGE_VERIFYING);
            }
        }

        ln->next_attempt_at = now + delay;
        ngx_http_linkcert_schedule(sh, ln,
                                   ngx_http_linkcert_now_ms() + delay * 1000);
        break;

    default: /* LC_VERIFY_FAILED */
        (void) ngx_atomic_fetch_add(&sh->stats.dns[1], 1);
        ln->attempts = 0;
        ln->next_attempt_at = 0;
        ln->error = v->error;
        ln->error_at = now;

        if (issued) {

            /*
             * The customer moved the domain away: unknown, so that the
             * CRM asks them to act, and not renewed; the valid
             * certificate is still served until it expires, and the DNS
             * is checked again within the hour, so that the domain is
             * issued again by itself once it points back.
             */

            ln->moved = 1;
            ln->reissue = 0;
            ngx_http_linkcert_set_status(sh, ln, LC_STATUS_UNKNOWN,
                                         LC_STAGE_FAILED);
            ln->next_attempt_at = now + 3600;
            ngx_http_linkcert_schedule(sh, ln,
                                       ngx_http_linkcert_now_ms() + 3600000);

        } else {
            ngx_http_linkcert_set_status(sh, ln, LC_STATUS_UNKNOWN,
                                         LC_STAGE_FAILED);
        }

        break;
    }

    ngx_log_error(NGX_LOG_NOTICE, log, 0,
                  "linkcert: \"%s\" %s/%s -> %s/%s: DNS %s%s%s",
                  v->domain,
                  lc_status_name(old_status), lc_stage_name(old_stage),
                  lc_status_name(ln->status), lc_stage_name(ln->stage),
                  lc_verify_state_name(v->state),
                  v->error.type[0] ? ", " : "", v->error.detail);

    ngx_http_linkcert_notify(ctx, ln, 0);

    ngx_http_linkcert_unlock(ctx);
}


void
ngx_http_linkcert_table_issued(ngx_shm_zone_t *shm_zone, u_char *name,
    size_t len, uint32_t job_id, lc_cert_info_t *info, uint64_t stamp,
    ngx_log_t *log)
{
    time_t                     now;
    lc_stage_e                 old_stage;
    lc_status_e                old_status;
    ngx_http_linkcert_sh_t    *sh;
    ngx_http_linkcert_zone_t  *ctx;
    ngx_http_linkcert_node_t  *ln;
    char                       until[32];

    ctx = shm_zone->data;
    sh = ctx->sh;
    now = ngx_time();

    ln = ngx_http_linkcert_job_end(ctx, name, len, job_id, &old_status,
                                   &old_stage);
    if (ln == NULL) {
        return;
    }

    ln->generation = ++ctx->sh->generation;
    ln->renew_ari = 0;
    ln->ari_at = now + 3600;
    ln->store_stamp = stamp;
    ln->not_before = info->not_before;
    ln->not_after = info->not_after;
    ngx_memcpy(ln->sha256, info->sha256, 32);
    ngx_memcpy(ln->serial, info->serial, info->serial_len);
    ln->serial_len = (u_char) info->serial_len;
    ngx_memcpy(ln->issuer, info->issuer, LC_ISSUER_LEN);

    ngx_http_linkcert_set_status(sh, ln, LC_STATUS_ISSUED, LC_STAGE_ISSUED);
    lc_error_clear(&ln->error);
    ln->error_at = 0;
    ln->attempts = 0;
    ln->next_attempt_at = 0;
    ln->updated_at = now;
    ln->moved = 0;
    ngx_http_linkcert_duplicate_add(ln, now);

    /* a new certificate is not renewed again within the hour */
    ngx_http_linkcert_schedule_issued(ctx, ln, now, now + 3600);

    ngx_http_linkcert_count_order(sh, ln, old_status, old_stage, 0);

    /* a reissue is the CRM's order, not a renewal */

    if (old_stage == LC_STAGE_RENEWING && !ln->reissue) {
        (void) ngx_atomic_fetch_add(&sh->stats.renewals, 1);
        sh->stats.last_renewal = (ngx_atomic_uint_t) now;
    }

    ln->reissue = 0;

    lc_time_rfc3339(info->not_after, until);

    ngx_log_error(NGX_LOG_NOTICE, log, 0,
                  "linkcert: \"%*s\" %s/%s -> issued/issued: certificate "
                  "valid until %s, generation %uD", len, name,
                  lc_status_name(old_status), lc_stage_name(old_stage),
                  until, ln->generation);

    ngx_http_linkcert_notify(ctx, ln, 0);

    ngx_http_linkcert_unlock(ctx);
}


/*
 * A transient failure keeps the domain pending and retries with backoff
 * (or the CA's Retry-After); any other failure needs the customer: the
 * domain is unknown until a new "Verify domain".  Failed validations are
 * also counted, at most 2 per hour are allowed to happen.
 */

void
ngx_http_linkcert_table_order_failed(ngx_shm_zone_t *shm_zone, u_char *name,
    size_t len, uint32_t job_id, const lc_error_t *err, ngx_uint_t transient,
    time_t retry_after, ngx_log_t *log)
{
    time_t                     now, delay;
    lc_stage_e                 old_stage;
    lc_status_e                old_status;
    ngx_http_linkcert_sh_t    *sh;
    ngx_http_linkcert_zone_t  *ctx;
    ngx_http_linkcert_node_t  *ln;

    ctx = shm_zone->data;
    sh = ctx->sh;
    now = ngx_time();

    ln = ngx_http_linkcert_job_end(ctx, name, len, job_id, &old_status,
                                   &old_stage);
    if (ln == NULL) {
        return;
    }

    ln->error = *err;
    ln->error_at = now;

    if (transient == NGX_HTTP_LINKCERT_NO_ACCOUNT) {
        /* no order was placed: it waits for the account, not a backoff */
        delay = ngx_max(retry_after, 1);

    } else if (transient) {
        ngx_http_linkcert_count_order(sh, ln, old_status, old_stage, 2);
        ln->attempts++;
        delay = ngx_http_linkcert_backoff(ln->attempts);

        if (retry_after > delay) {
            delay = retry_after;
        }

    } else {
        ngx_http_linkcert_count_order(sh, ln, old_status, old_stage, 1);
    }

    if (transient) {

        ln->next_attempt_at = now + delay;
        ngx_http_linkcert_schedule(sh, ln,
                                   ngx_http_linkcert_now_ms() + delay * 1000);

        if (ln->status != LC_STATUS_ISSUED) {
            ngx_http_linkcert_set_status(sh, ln, LC_STATUS_PENDING,
                                         LC_STAGE_ORDERING);
        }

    } else {
        if (now - ln->val_window >= 3600) {
            ln->val_window = now;
            ln->val_failures = 0;
        }

        ln->val_failures++;
        ln->attempts = 0;
        ln->next_attempt_at = 0;
        ln->reissue = 0;

        if (ln->status != LC_STATUS_ISSUED) {
            ngx_http_linkcert_set_status(sh, ln, LC_STATUS_UNKNOWN,
                                         LC_STAGE_FAILED);

        } else {
            /* a failed renewal: tried again while the certificate lasts */
            ln->stage = LC_STAGE_ISSUED;
            ln->next_attempt_at = now + 6000;
            ngx_http_linkcert_schedule(sh, ln,
                                       ngx_http_linkcert_now_ms() + 6000000);
        }
    }

    ngx_log_error(NGX_LOG_NOTICE, log, 0,
                  "linkcert: \"%*s\" %s/%s -> %s/%s: order failed: %s (%s)",
                  len, name,
                  lc_status_name(old_status), lc_stage_name(old_stage),
                  lc_status_name(ln->status), lc_stage_name(ln->stage),
                  err->detail, err->type);

    ngx_http_linkcert_notify(ctx, ln, 0);

    ngx_http_linkcert_unlock(ctx);
}


/*
 * HTTP-01 key authorizations, keyed by token, answered by any worker for
 * the domain they were issued for.  An entry left by a dead order
 * expires after an hour.
 */

typedef struct {
    ngx_str_node_t                 sn;           /* token */
    time_t                         expires;
    size_t                         domain_len;
    size_t                         keyauth_len;
    u_char                         data[1];      /* token domain keyauth */
} ngx_http_linkcert_challenge_t;


ngx_int_t
ngx_http_linkcert_challenge_set(ngx_shm_zone_t *shm_zone,
    const char *domain, const char *token, const char *key_authorization)
{
    size_t                          tlen, dlen, klen;
    u_char                         *p;
    uint32_t                        hash;
    ngx_str_t                       key;
    ngx_http_linkcert_zone_t       *ctx;
    ngx_http_linkcert_challenge_t  *ch;

    ctx = shm_zone->data;

    tlen = ngx_strlen(token);
    dlen = ngx_strlen(domain);
    klen = ngx_strlen(key_authorization);

    key.data = (u_char *) token;
    key.len = tlen;
    hash = ngx_crc32_short(key.data, key.len);

    ngx_http_linkcert_lock(ctx);

    ch = (ngx_http_linkcert_challenge_t *)
             ngx_str_rbtree_lookup(&ctx->sh->challenges, &key, hash);

    if (ch) {
        ngx_rbtree_delete(&ctx->sh->challenges, &ch->sn.node);
        ngx_slab_free_locked(ctx->shpool, ch);
    }

    ch = ngx_slab_alloc_locked(ctx->shpool,
                               offsetof(ngx_http_linkcert_challenge_t, data)
                               + tlen + dlen + klen);
    if (ch == NULL) {
        ngx_http_linkcert_unlock(ctx);
        return NGX_ERROR;
    }

    p = ngx_cpymem(ch->data, token, tlen);
    p = ngx_cpymem(p, domain, dlen);
    ngx_memcpy(p, key_authorization, klen);

    ch->sn.node.key = hash;
    ch->sn.str.data = ch->data;
    ch->sn.str.len = tlen;
    ch->domain_len = dlen;
    ch->keyauth_len = klen;
    ch->expires = ngx_time() + 3600;

    ngx_rbtree_insert(&ctx->sh->challenges, &ch->sn.node);

    ngx_http_linkcert_unlock(ctx);

    return NGX_OK;
}


void
ngx_http_linkcert_challenge_del(ngx_shm_zone_t *shm_zone, const char *token)
{
    ngx_str_t                       key;
    ngx_http_linkcert_zone_t       *ctx;
    ngx_http_linkcert_challenge_t  *ch;

    ctx = shm_zone->data;

    key.data = (u_char *) token;
    key.len = ngx_strlen(token);

    ngx_http_linkcert_lock(ctx);

    ch = (ngx_http_linkcert_challenge_t *)
             ngx_str_rbtree_lookup(&ctx->sh->challenges, &key,
                                   ngx_crc32_short(key.data, key.len));

    if (ch) {
        ngx_rbtree_delete(&ctx->sh->challenges, &ch->sn.node);
        ngx_slab_free_locked(ctx->shpool, ch);
    }

    ngx_http_linkcert_unlock(ctx);
}


/* copies the key authorization (at most *len bytes) if token and domain
 * match a live challenge */

ngx_int_t
ngx_http_linkcert_challenge_get(ngx_shm_zone_t *shm_zone, ngx_str_t *domain,
    ngx_str_t *token, u_char *buf, size_t *len)
{
    ngx_int_t                       rc;
    ngx_http_linkcert_zone_t       *ctx;
    ngx_http_linkcert_challenge_t  *ch;

    ctx = shm_zone->data;
    rc = NGX_DECLINED;

    ngx_http_linkcert_lock(ctx);

    ch = (ngx_http_linkcert_challenge_t *)
             ngx_str_rbtree_lookup(&ctx->sh->challenges, token,
                                   ngx_crc32_short(token->data, token->len));

    if (ch
        && ch->expires > ngx_time()
        && ch->domain_len == domain->len
        && ngx_memcmp(ch->data + ch->sn.str.len, domain->data, domain->len)
           == 0
        && ch->keyauth_len <= *len)
    {
        ngx_memcpy(buf, ch->data + ch->sn.str.len + ch->domain_len,
                   ch->keyauth_len);
        *len = ch->keyauth_len;
        rc = NGX_OK;
    }

    ngx_http_linkcert_unlock(ctx);

    return rc;
}


static ngx_rbtree_key_t
ngx_http_linkcert_key(u_char *name, size_t len)
{
    size_t            i;
    ngx_rbtree_key_t  key;

    key = 0;

    for (i = 0; i < sizeof(ngx_rbtree_key_t); i++) {
        key = (key << 8) | (i < len ? name[i] : 0);
    }

    return key;
}


static ngx_int_t
ngx_http_linkcert_cmp(ngx_http_linkcert_node_t *ln, ngx_rbtree_key_t key,
    u_char *name, size_t len)
{
    if (ln->node.key != key) {
        return ln->node.key < key ? -1 : 1;
    }

    return ngx_memn2cmp(ln->name, name, ln->name_len, len);
}


static void
ngx_http_linkcert_rbtree_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t         **p;
    ngx_http_linkcert_node_t   *ln;

    ln = (ngx_http_linkcert_node_t *) node;

    for ( ;; ) {

        p = (ngx_http_linkcert_cmp((ngx_http_linkcert_node_t *) temp,
                                   node->key, ln->name, ln->name_len) > 0)
            ? &temp->left : &temp->right;

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


static ngx_http_linkcert_node_t *
ngx_http_linkcert_lookup(ngx_http_linkcert_sh_t *sh, u_char *name,
    size_t len)
{
    ngx_int_t                  rc;
    ngx_rbtree_key_t           key;
    ngx_rbtree_node_t         *node, *sentinel;
    ngx_http_linkcert_node_t  *ln;

    key = ngx_http_linkcert_key(name, len);

    node = sh->rbtree.root;
    sentinel = sh->rbtree.sentinel;

    while (node != sentinel) {
        ln = (ngx_http_linkcert_node_t *) node;

        rc = ngx_http_linkcert_cmp(ln, key, name, len);

        if (rc == 0) {
            return ln;
        }

        node = (rc > 0) ? node->left : node->right;
    }

    return NULL;
}


static ngx_http_linkcert_node_t *
ngx_http_linkcert_create(ngx_http_linkcert_zone_t *ctx, u_char *name,
    size_t len)
{
    time_t                     now;
    size_t                     size;
    ngx_http_linkcert_node_t  *ln;

    size = offsetof(ngx_http_linkcert_node_t, name) + len + 1;

    ln = ngx_slab_alloc_locked(ctx->shpool, size);

    if (ln == NULL) {
        now = ngx_time();

        (void) ngx_atomic_fetch_add(&ctx->sh->stats.zone_full, 1);

        if (now - ctx->sh->full_logged >= 60) {
            ctx->sh->full_logged = now;
            ngx_log_error(NGX_LOG_ERR, ctx->cycle->log, 0,
                          "the zone is full%s: \"%*s\" and further new "
                          "domains are not added (logged once a minute)",
                          ctx->shpool->log_ctx, len, name);
        }

        return NULL;
    }

    ngx_memzero(ln, size);

    ln->node.key = ngx_http_linkcert_key(name, len);
    ln->name_len = (u_char) len;
    ngx_memcpy(ln->name, name, len);

    ln->status = LC_STATUS_UNKNOWN;
    ln->stage = LC_STAGE_NONE;
    ctx->sh->count[LC_STATUS_UNKNOWN]++;

    ngx_rbtree_insert(&ctx->sh->rbtree, &ln->node);

    return ln;
}


static void
ngx_http_linkcert_set_status(ngx_http_linkcert_sh_t *sh,
    ngx_http_linkcert_node_t *ln, lc_status_e status, lc_stage_e stage)
{
    sh->count[ln->status]--;
    sh->count[status]++;

    ln->status = status;
    ln->stage = stage;

    sh->changes++;
}


/*
 * The table is locked: a new status or a new error type since the last
 * call is an event for the webhook, with the object as it is now.  An
 * on-demand name is not a domain of the CRM before its DNS points here.
 */

static void
ngx_http_linkcert_notify(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, ngx_uint_t quiet)
{
    uint32_t                        error;
    lc_record_t                     rec;
    ngx_http_linkcert_main_conf_t  *lmcf;

    if (ln->candidate) {
        return;
    }

    lmcf = ctx->conf;
    error = ln->error.type[0]
            ? ngx_crc32_short((u_char *) ln->error.type,
                              ngx_strlen(ln->error.type))
            : 0;

    if (!quiet
        && lmcf->webhook
        && (ln->status != ln->note_status
            || (error != 0 && error != ln->note_error)))
    {
        ngx_http_linkcert_to_record(ctx, ln, &rec);
        ngx_http_linkcert_webhook_event(ctx, &rec,
                                        (lc_status_e) ln->note_status);
    }

    ln->note_status = ln->status;
    ln->note_error = error;
}


/* a check that did not conclude leaves a served certificate as it was */

static void
ngx_http_linkcert_keep_serving(ngx_http_linkcert_sh_t *sh,
    ngx_http_linkcert_node_t *ln)
{
    if (ln->moved) {
        ngx_http_linkcert_set_status(sh, ln, LC_STATUS_UNKNOWN,
                                     LC_STAGE_FAILED);

    } else {
        ln->stage = LC_STAGE_ISSUED;
    }
}


static void
ngx_http_linkcert_to_record(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, lc_record_t *rec)
{
    ngx_http_linkcert_main_conf_t  *lmcf;

    ngx_memcpy(rec->domain, ln->name, ln->name_len);
    rec->domain[ln->name_len] = '\0';

    rec->status = ln->status;
    rec->stage = ln->stage;

    rec->has_cert = (ln->not_after != 0);
    rec->moved = ln->moved;

    if (rec->has_cert) {
        rec->cert.not_before = ln->not_before;
        rec->cert.not_after = ln->not_after;
        ngx_memcpy(rec->cert.sha256, ln->sha256, 32);
        ngx_memcpy(rec->cert.serial, ln->serial, ln->serial_len);
        rec->cert.serial_len = ln->serial_len;
        ngx_memcpy(rec->cert.issuer, ln->issuer, LC_ISSUER_LEN);
    }

    rec->has_error = (ln->error.type[0] != '\0');

    if (rec->has_error) {
        rec->error = ln->error;
        rec->error_at = ln->error_at;
    }

    rec->next_attempt_at = ln->next_attempt_at;
    rec->updated_at = ln->updated_at;

    /* when an issued certificate is to be renewed: its share of the
       lifetime, or sooner if the CA's renewal window says so */

    rec->renew_at = 0;

    if (ln->status == LC_STATUS_ISSUED && ln->not_after) {
        rec->renew_at = ngx_http_linkcert_renew_time(ctx, ln);

        if (ln->renew_ari && ln->renew_ari < rec->renew_at) {
            rec->renew_at = ln->renew_ari;
        }
    }

    rec->ca = NULL;

    if (ln->failover.last) {
        lmcf = ctx->conf;
        rec->ca = (ln->failover.last == 1 && lmcf->acme_directory.len)
                  ? (char *) lmcf->acme_directory.data
                  : (ln->failover.last == 2 && lmcf->acme_backup.len)
                  ? (char *) lmcf->acme_backup.data : NULL;
    }

    rec->store_stamp = ln->store_stamp;
    rec->dns_len = 0;

    if (ln->dns && ln->dns_len < LC_DNS_JSON_MAX) {
        ngx_memcpy(rec->dns, ln->dns, ln->dns_len);
        rec->dns_len = ln->dns_len;
    }
}


static void
ngx_http_linkcert_schedule(ngx_http_linkcert_sh_t *sh,
    ngx_http_linkcert_node_t *ln, ngx_msec_t at)
{
    ngx_msec_t  now;

    ngx_http_linkcert_unschedule(sh, ln);

    /* a start or reload pass came while a job held it: due at once */

    if (ln->repass && !ln->busy) {
        ln->repass = 0;
        now = ngx_http_linkcert_now_ms();

        if (at > now) {
            at = now;
        }
    }

    /* whatever else is planned, an expiry is noticed when it happens */

    if ((ln->status == LC_STATUS_ISSUED || ln->moved)
        && at > (ngx_msec_t) ln->not_after * 1000)
    {
        at = (ngx_msec_t) ln->not_after * 1000;
    }

    /* 0 means "not scheduled" */
    ln->due.key = at ? at : 1;
    ngx_rbtree_insert(&sh->due, &ln->due);
}


static void
ngx_http_linkcert_unschedule(ngx_http_linkcert_sh_t *sh,
    ngx_http_linkcert_node_t *ln)
{
    if (ln->due.key) {
        ngx_rbtree_delete(&sh->due, &ln->due);
        ln->due.key = 0;
    }
}


/*
 * Orders after two failed validations within the hour wait for the hour
 * to end (Let's Encrypt allows five): a broken domain must not burn the
 * account's failure limit.
 */

static void
ngx_http_linkcert_schedule_order(ngx_http_linkcert_sh_t *sh,
    ngx_http_linkcert_node_t *ln, time_t now)
{
    time_t  at;

    at = now;

    if (ln->val_failures >= 2 && now - ln->val_window < 3600) {
        at = ln->val_window + 3600;
        lc_error_set(&ln->error, "validation_limit",
                     "2 failed validations within the hour: the next order "
                     "waits until the hour is over");
        ln->error_at = now;
    }

    ln->next_attempt_at = at;
    ngx_http_linkcert_schedule(sh, ln, (ngx_msec_t) at * 1000);
}


/*
 * An order is over: counted by result (0 issued, 1 failed, 2 transient),
 * and by what started it: an order for an issued domain is a renewal.
 */

static void
ngx_http_linkcert_count_order(ngx_http_linkcert_sh_t *sh,
    ngx_http_linkcert_node_t *ln, lc_status_e old_status,
    lc_stage_e old_stage, ngx_uint_t result)
{
    ngx_uint_t  origin;

    origin = ((old_status == LC_STATUS_ISSUED
               || old_stage == LC_STAGE_RENEWING)
              && !ln->reissue)
             ? NGX_HTTP_LINKCERT_ORIGIN_RENEWAL : ln->origin;

    (void) ngx_atomic_fetch_add(&sh->stats.orders[result], 1);
    (void) ngx_atomic_fetch_add(&sh->stats.origins[origin][result], 1);
}


/*
 * The zone's lock, timed: every worker's handshakes wait on it, so how
 * long it is held is a metric (linkcert_zone_lock_*), and a hold longer
 * than any before it and over 1 ms is logged, with the function that
 * held it, once the lock is released.
 */

static void
ngx_http_linkcert_lock(ngx_http_linkcert_zone_t *ctx)
{
    ngx_shmtx_lock(&ctx->shpool->mutex);
    ctx->locked_at = ngx_http_linkcert_clock_ns();
}


static void
ngx_http_linkcert_unlock_in(ngx_http_linkcert_zone_t *ctx, const char *where)
{
    uint64_t                    held;
    ngx_uint_t                  longest;
    ngx_http_linkcert_stats_t  *st;

    held = ngx_http_linkcert_clock_ns() - ctx->locked_at;
    st = &ctx->sh->stats;
    longest = 0;

    st->lock_holds++;
    st->lock_held_ns += held;

    if (held > st->lock_max_ns) {
        st->lock_max_ns = held;
        longest = (held > 1000000);
    }

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    if (longest) {
        ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                      "linkcert: the zone was locked for %uL.%03uL ms in %s, "
                      "longer than ever before",
                      held / 1000000, held / 1000 % 1000, where);
    }
}


static uint64_t
ngx_http_linkcert_clock_ns(void)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000000000 + (uint64_t) ts.tv_nsec;
}


static ngx_msec_t
ngx_http_linkcert_now_ms(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (ngx_msec_t) tp->sec * 1000 + tp->msec;
}


/* 1 min, 10 min, then 100 min, each within +/-10% so retries spread out */

static time_t
ngx_http_linkcert_backoff(ngx_uint_t attempts)
{
    time_t  base;

    base = (attempts <= 1) ? 60 : (attempts == 2) ? 600 : 6000;

    return base - base / 10 + (time_t) (ngx_random() % (base / 5 + 1));
}


/*
 * An issued domain's next work: its renewal (renew_at of its lifetime, or
 * the time picked in the CA's window), or sooner the periodic DNS check
 * (every reverify_interval, +/-10%) or the next question to the CA's
 * renewal information (a check too); not before floor.  Start-up and
 * reloads schedule without a floor, so a renewal that is due runs within
 * seconds of them.
 */

static void
ngx_http_linkcert_schedule_issued(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, time_t now, time_t floor)
{
    time_t                          at, check;
    ngx_http_linkcert_main_conf_t  *lmcf;

    lmcf = ctx->conf;

    if (lmcf->verify == NULL) {
        /* nothing to verify with: only expiry is watched */
        ngx_http_linkcert_schedule(ctx->sh, ln,
                                   (ngx_msec_t) ln->not_after * 1000);
        return;
    }

    at = ngx_http_linkcert_renew_time(ctx, ln);
    check = ngx_http_linkcert_reverify_time(ctx, now);

    if (ln->renew_ari && ln->renew_ari < at) {
        at = ln->renew_ari;
    }

    /* asking the CA's renewal information again comes with a check */

    if (ln->ari_at > now && ln->ari_at < check) {
        check = ln->ari_at;
    }

    /* a renewal time that passed without a renewal: the next check */

    if (check < at || at <= now) {
        at = check;
    }

    if (at < floor) {
        at = floor;
    }

    if (at > ln->not_after) {
        at = ln->not_after;
    }

    ngx_http_linkcert_schedule(ctx->sh, ln, (ngx_msec_t) at * 1000);
}


/* the next periodic DNS check, reverify_interval +/-10% from now */

static time_t
ngx_http_linkcert_reverify_time(ngx_http_linkcert_zone_t *ctx, time_t now)
{
    time_t                          interval;
    ngx_http_linkcert_main_conf_t  *lmcf;

    lmcf = ctx->conf;
    interval = lmcf->reverify_interval;

    return now + interval - interval / 10
           + (time_t) (ngx_random() % (interval / 5 + 1));
}


/*
 * Start-up and reloads are renewal passes: every issued domain is checked
 * (its DNS, then renew_at, or the CA's renewal information when it is
 * time to ask it: ari_at, kept across reloads) within
 * seconds, from a second on, spread at 500 domains a second so that a large
 * table does not flood the DNS or the CA (but within half of
 * reverify_interval).
 */

static void
ngx_http_linkcert_schedule_pass(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln)
{
    ngx_msec_t                      spread;
    ngx_http_linkcert_main_conf_t  *lmcf;

    lmcf = ctx->conf;

    if (lmcf->verify == NULL) {
        ngx_http_linkcert_schedule_issued(ctx, ln, ngx_time(), 0);
        return;
    }

    spread = ngx_max(4000, ctx->sh->count[LC_STATUS_ISSUED] * 2);

    /* never later than half the periodic check */
    spread = ngx_min(spread, (ngx_msec_t) lmcf->reverify_interval * 500);

    /* from a second on: the workers of the new cycle are up by then */

    ngx_http_linkcert_schedule(ctx->sh, ln, ngx_http_linkcert_now_ms() + 1000
                                            + ngx_random() % spread);
}


static time_t
ngx_http_linkcert_renew_time(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln)
{
    ngx_http_linkcert_main_conf_t  *lmcf;

    lmcf = ctx->conf;

    return ln->not_before
           + (ln->not_after - ln->not_before) * (time_t) lmcf->renew_at / 100;
}


/* expired without a successor: never served again, the customer acts */

static void
ngx_http_linkcert_expired(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, time_t now)
{
    char         at[32];
    lc_stage_e   old_stage;
    lc_status_e  old_status;

    old_stage = ln->stage;
    old_status = ln->status;
    ln->moved = 0;

    ngx_http_linkcert_unschedule(ctx->sh, ln);
    ngx_http_linkcert_set_status(ctx->sh, ln, LC_STATUS_UNKNOWN,
                                 LC_STAGE_FAILED);

    lc_time_rfc3339(ln->not_after, at);
    lc_error_set(&ln->error, "expired",
                 "the certificate expired on %s without a successor", at);
    ln->error_at = now;
    ln->updated_at = now;
    ln->next_attempt_at = 0;

    ngx_log_error(NGX_LOG_NOTICE, ctx->cycle->log, 0,
                  "linkcert: \"%*s\" %s/%s -> unknown/failed: the "
                  "certificate expired on %s", (size_t) ln->name_len,
                  ln->name, lc_status_name(old_status),
                  lc_stage_name(old_stage), at);

    ngx_http_linkcert_notify(ctx, ln, 0);
}


/*
 * A domain worker 0 works on holds a slot naming the process: if that
 * process dies, ngx_http_linkcert_table_recover() hands the domain back.
 */

static ngx_int_t
ngx_http_linkcert_lease(ngx_http_linkcert_sh_t *sh,
    ngx_http_linkcert_node_t *ln)
{
    ngx_uint_t  i;

    for (i = 0; i < NGX_HTTP_LINKCERT_LEASES; i++) {
        if (sh->leased[i] == NULL) {
            sh->leased[i] = ln;
            sh->leased_pid[i] = ngx_pid;
            ln->lease = (u_char) (i + 1);
            ln->busy = 1;

            /* the job's claim: never 0, not repeated for 2^32 jobs */

            if (++sh->jobs == 0) {
                sh->jobs = 1;
            }

            ln->job_id = sh->jobs;

            return NGX_OK;
        }
    }

    return NGX_BUSY;
}


static void
ngx_http_linkcert_unlease(ngx_http_linkcert_sh_t *sh,
    ngx_http_linkcert_node_t *ln)
{
    if (ln->lease) {
        sh->leased[ln->lease - 1] = NULL;
        ln->lease = 0;
    }

    ln->busy = 0;
}


/* worker 0, now and then: domains held by a process that died */

ngx_uint_t
ngx_http_linkcert_table_recover(ngx_shm_zone_t *shm_zone)
{
    ngx_uint_t                 i, n;
    ngx_http_linkcert_sh_t    *sh;
    ngx_http_linkcert_zone_t  *ctx;
    ngx_http_linkcert_node_t  *ln;

    ctx = shm_zone->data;
    sh = ctx->sh;
    n = 0;

    ngx_http_linkcert_lock(ctx);

    for (i = 0; i < NGX_HTTP_LINKCERT_LEASES; i++) {
        ln = sh->leased[i];

        if (ln == NULL
            || sh->leased_pid[i] == ngx_pid
            || kill(sh->leased_pid[i], 0) == 0
            || ngx_errno != NGX_ESRCH)
        {
            continue;
        }

        ngx_http_linkcert_unlease(sh, ln);
        ngx_http_linkcert_schedule(sh, ln, ngx_http_linkcert_now_ms());
        n++;
    }

    ngx_http_linkcert_unlock(ctx);

    return n;
}


/*
 * A renewal check found it is not time yet: the renewal planned in the
 * CA's window (0: none, renew_at alone) and when to ask the CA again (0:
 * as it was).
 */

void
ngx_http_linkcert_table_renew_later(ngx_shm_zone_t *shm_zone, u_char *name,
    size_t len, uint32_t job_id, time_t planned, time_t ari_at)
{
    lc_stage_e                 old_stage;
    lc_status_e                old_status;
    ngx_http_linkcert_zone_t  *ctx;
    ngx_http_linkcert_node_t  *ln;

    ctx = shm_zone->data;

    ln = ngx_http_linkcert_job_end(ctx, name, len, job_id, &old_status,
                                   &old_stage);
    if (ln == NULL) {
        return;
    }

    ln->renew_ari = planned;

    if (ari_at) {
        ln->ari_at = ari_at;
    }

    if (ln->status == LC_STATUS_ISSUED) {
        ln->stage = LC_STAGE_ISSUED;
        ngx_http_linkcert_schedule_issued(ctx, ln, ngx_time(), 0);

    } else {
        ngx_http_linkcert_schedule(ctx->sh, ln, ngx_http_linkcert_now_ms());
    }

    ngx_http_linkcert_unlock(ctx);
}


/*
 * What the job that holds a domain plans with: which CA its orders go to,
 * when to ask the CA's renewal information again and the renewal planned
 * in the CA's window.  Written back: which CA.
 */

ngx_int_t
ngx_http_linkcert_table_plan(ngx_shm_zone_t *shm_zone, u_char *name,
    size_t len, uint32_t job_id, ngx_http_linkcert_plan_t *plan,
    ngx_uint_t write)
{
    ngx_int_t                  rc;
    ngx_http_linkcert_zone_t  *ctx;
    ngx_http_linkcert_node_t  *ln;

    ctx = shm_zone->data;
    rc = NGX_DECLINED;

    ngx_http_linkcert_lock(ctx);

    ln = ngx_http_linkcert_lookup(ctx->sh, name, len);

    if (ln && ln->busy && ln->job_id == job_id) {
        if (write) {
            ln->failover = plan->failover;

        } else {
            plan->failover = ln->failover;
            plan->ari_at = ln->ari_at;
            plan->planned = ln->renew_ari;
        }

        rc = NGX_OK;
    }

    ngx_http_linkcert_unlock(ctx);

    return rc;
}


/* renew_at of the lifetime of an issued domain's certificate */

time_t
ngx_http_linkcert_table_renew_time(ngx_shm_zone_t *shm_zone,
    lc_record_t *rec)
{
    ngx_http_linkcert_zone_t       *ctx;
    ngx_http_linkcert_main_conf_t  *lmcf;

    ctx = shm_zone->data;
    lmcf = ctx->conf;

    return rec->cert.not_before
           + (rec->cert.not_after - rec->cert.not_before)
             * (time_t) lmcf->renew_at / 100;
}


ngx_int_t
ngx_http_linkcert_table_remove(ngx_shm_zone_t *shm_zone, u_char *name,
    size_t len, lc_record_t *rec)
{
    ngx_http_linkcert_zone_t  *ctx;
    ngx_http_linkcert_node_t  *ln;

    ctx = shm_zone->data;

    ngx_http_linkcert_lock(ctx);

    ln = ngx_http_linkcert_lookup(ctx->sh, name, len);

    if (ln == NULL) {
        ngx_http_linkcert_unlock(ctx);
        return NGX_DECLINED;
    }

    ngx_http_linkcert_to_record(ctx, ln, rec);
    ngx_http_linkcert_delete(ctx, ln);

    ngx_http_linkcert_unlock(ctx);

    return NGX_OK;
}


static void
ngx_http_linkcert_delete(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln)
{
    ngx_http_linkcert_unlease(ctx->sh, ln);
    ngx_http_linkcert_unschedule(ctx->sh, ln);
    ngx_rbtree_delete(&ctx->sh->rbtree, &ln->node);

    ctx->sh->count[ln->status]--;
    ctx->sh->changes++;

    if (ln->candidate) {
        ctx->sh->candidates--;
    }

    if (ln->dns) {
        ngx_slab_free_locked(ctx->shpool, ln->dns);
    }

    ngx_slab_free_locked(ctx->shpool, ln);
}


ngx_int_t
ngx_http_linkcert_table_held(ngx_shm_zone_t *shm_zone, u_char *name,
    size_t len, uint32_t job_id)
{
    ngx_int_t                  rc;
    ngx_http_linkcert_zone_t  *ctx;
    ngx_http_linkcert_node_t  *ln;

    ctx = shm_zone->data;

    ngx_http_linkcert_lock(ctx);

    ln = ngx_http_linkcert_lookup(ctx->sh, name, len);
    rc = (ln && ln->busy && ln->job_id == job_id) ? NGX_OK : NGX_DECLINED;

    ngx_http_linkcert_unlock(ctx);

    return rc;
}


ngx_http_linkcert_stats_t *
ngx_http_linkcert_stats(ngx_shm_zone_t *shm_zone)
{
    ngx_http_linkcert_zone_t  *ctx;

    ctx = shm_zone->data;

    return &ctx->sh->stats;
}


/*
 * For the metrics: domains by status, and certificates expiring within 7
 * days.  The walk releases the lock every 4096 entries so that a scrape
 * of a million domains never holds handshakes up for long.
 */

void
ngx_http_linkcert_table_counts(ngx_shm_zone_t *shm_zone, time_t now,
    ngx_uint_t *by_status, ngx_http_linkcert_expiring_t *expiring,
    time_t *earliest)
{
    ngx_uint_t                 i;
    ngx_http_linkcert_zone_t  *ctx;
    ngx_http_linkcert_count_t  count;

    ctx = shm_zone->data;

    ngx_http_linkcert_lock(ctx);

    for (i = 0; i < 3; i++) {
        by_status[i] = ctx->sh->count[i];
    }

    ngx_http_linkcert_unlock(ctx);

    ngx_memzero(&count, sizeof(ngx_http_linkcert_count_t));
    count.now = now;

    ngx_http_linkcert_walk(ctx, NULL, 0, ngx_http_linkcert_visit_count,
                           &count);

    *expiring = count.expiring;
    *earliest = count.earliest;
}


static ngx_int_t
ngx_http_linkcert_visit_count(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, void *data)
{
    ngx_http_linkcert_count_t  *count = data;

    /* the certificates served: issued, or kept while the DNS moved */

    if (ln->status != LC_STATUS_ISSUED && !ln->moved) {
        return NGX_OK;
    }

    if (ln->not_after - count->now < 7 * 86400) {
        count->expiring.all++;

        if (ln->moved) {
            count->expiring.dns_moved++;

        } else {
            count->expiring.renewal++;
        }
    }

    if (count->earliest == 0 || ln->not_after < count->earliest) {
        count->earliest = ln->not_after;
    }

    return NGX_OK;
}


/*
 * Visits the entries in name order, from the first one after (after,
 * len) (len 0: from the first one), until visit says NGX_DONE.  The lock
 * is let go every NGX_HTTP_LINKCERT_WALK_STEP entries, and the walk goes
 * on after the last name visited: entries added or removed meanwhile may
 * be seen or not, none is seen twice.
 */

static void
ngx_http_linkcert_walk(ngx_http_linkcert_zone_t *ctx, u_char *after,
    size_t len, ngx_http_linkcert_visit_pt visit, void *data)
{
    ngx_uint_t                 n;
    ngx_rbtree_node_t         *node;
    ngx_http_linkcert_sh_t    *sh;
    ngx_http_linkcert_node_t  *ln;
    u_char                     cursor[LC_DOMAIN_MAX + 1];

    sh = ctx->sh;

    if (len) {
        ngx_memcpy(cursor, after, len);
    }

    for ( ;; ) {
        ngx_http_linkcert_lock(ctx);

        node = ngx_http_linkcert_first_after(sh, cursor, len);
        ln = NULL;

        for (n = 0; node && n < NGX_HTTP_LINKCERT_WALK_STEP; n++) {
            ln = (ngx_http_linkcert_node_t *) node;

            if (visit(ctx, ln, data) == NGX_DONE) {
                node = NULL;
                break;
            }

            node = ngx_rbtree_next(&sh->rbtree, node);
        }

        if (node == NULL) {
            ngx_http_linkcert_unlock(ctx);
            return;
        }

        len = ln->name_len;
        ngx_memcpy(cursor, ln->name, len);

        ngx_http_linkcert_unlock(ctx);
    }
}


/* the first entry whose name sorts after name (len 0: the first one) */

static ngx_rbtree_node_t *
ngx_http_linkcert_first_after(ngx_http_linkcert_sh_t *sh, u_char *name,
    size_t len)
{
    ngx_rbtree_key_t           key;
    ngx_rbtree_node_t         *node, *sentinel, *start;
    ngx_http_linkcert_node_t  *ln;

    node = sh->rbtree.root;
    sentinel = sh->rbtree.sentinel;

    if (node == sentinel) {
        return NULL;
    }

    if (len == 0) {
        return ngx_rbtree_min(node, sentinel);
    }

    key = ngx_http_linkcert_key(name, len);
    start = NULL;

    while (node != sentinel) {
        ln = (ngx_http_linkcert_node_t *) node;

        if (ngx_http_linkcert_cmp(ln, key, name, len) > 0) {
            start = node;
            node = node->left;

        } else {
            node = node->right;
        }
    }

    return start;
}


/*
 * The common start of a finished job's update: the entry (NULL if it was
 * removed meanwhile), its state before, its lease and schedule dropped.
 * Returns with the zone locked when it returns an entry.
 */

static ngx_http_linkcert_node_t *
ngx_http_linkcert_job_end(ngx_http_linkcert_zone_t *ctx, u_char *name,
    size_t len, uint32_t job_id, lc_status_e *old_status,
    lc_stage_e *old_stage)
{
    ngx_http_linkcert_node_t  *ln;

    ngx_http_linkcert_lock(ctx);

    ln = ngx_http_linkcert_lookup(ctx->sh, name, len);

    /*
     * Only the job that holds the domain ends it: not one whose domain was
     * deleted and added again meanwhile, or taken back after a timeout.
     */

    if (ln == NULL || !ln->busy || ln->job_id != job_id) {
        ngx_http_linkcert_unlock(ctx);
        return NULL;
    }

    *old_status = ln->status;
    *old_stage = ln->stage;

    ngx_http_linkcert_unlease(ctx->sh, ln);
    ngx_http_linkcert_unschedule(ctx->sh, ln);
    ln->updated_at = ngx_time();

    return ln;
}


/*
 * On demand: what a name seen in SNI or in a plain-HTTP Host means.  With
 * admit, a name the table does not know passes the negative cache and the
 * admission rate, and enters the table as a candidate: pending while it
 * is verified, removed again if a gate refuses it.
 */

ngx_http_linkcert_name_e
ngx_http_linkcert_table_demand(ngx_shm_zone_t *shm_zone, u_char *name,
    size_t len, ngx_uint_t admit)
{
    time_t                      now;
    uint64_t                    hash;
    ngx_msec_t                  now_ms;
    ngx_http_linkcert_sh_t     *sh;
    ngx_http_linkcert_zone_t   *ctx;
    ngx_http_linkcert_node_t   *ln;
    ngx_http_linkcert_name_e    rc;
    ngx_http_linkcert_demand_e  why;

    ctx = shm_zone->data;
    sh = ctx->sh;
    now = ngx_time();

    ngx_http_linkcert_lock(ctx);

    ln = ngx_http_linkcert_lookup(sh, name, len);

    if (ln) {
        rc = ngx_http_linkcert_name_state(ln, now);
        ngx_http_linkcert_unlock(ctx);
        return rc;
    }

    if (!admit || sh->negative == NULL) {
        ngx_http_linkcert_unlock(ctx);
        return NGX_HTTP_LINKCERT_NAME_NO;
    }

    hash = ngx_http_linkcert_hash(name, len);
    now_ms = ngx_http_linkcert_now_ms();

    if (ngx_http_linkcert_negative(sh, hash, now, 0) == NGX_OK) {
        why = NGX_HTTP_LINKCERT_DEMAND_NEGATIVE;

    } else if (sh->candidates >= NGX_HTTP_LINKCERT_CANDIDATES_MAX
               || ngx_http_linkcert_rate(&sh->admit_tat, now_ms,
                                         NGX_HTTP_LINKCERT_ADMIT_INTERVAL,
                                         NGX_HTTP_LINKCERT_ADMIT_BURST))
    {
        why = NGX_HTTP_LINKCERT_DEMAND_RATE;

    } else {
        ln = ngx_http_linkcert_create(ctx, name, len);
        why = NGX_HTTP_LINKCERT_DEMAND_FULL;
    }

    if (ln == NULL) {
        ngx_http_linkcert_unlock(ctx);
        (void) ngx_atomic_fetch_add(&sh->stats.demand[why], 1);
        return NGX_HTTP_LINKCERT_NAME_NO;
    }

    ln->candidate = 1;
    ln->origin = NGX_HTTP_LINKCERT_ORIGIN_ON_DEMAND;
    sh->candidates++;

    ngx_http_linkcert_set_status(sh, ln, LC_STATUS_PENDING,
                                 LC_STAGE_VERIFYING);
    ln->updated_at = now;
    ln->next_attempt_at = now;
    ngx_http_linkcert_schedule(sh, ln, now_ms);

    ngx_http_linkcert_unlock(ctx);

    (void) ngx_atomic_fetch_add(
                    &sh->stats.demand[NGX_HTTP_LINKCERT_DEMAND_ADMITTED], 1);

    ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                  "linkcert: \"%*s\" unknown/none -> pending/verifying: "
                  "first seen, verified on demand", len, name);

    return NGX_HTTP_LINKCERT_NAME_NEW;
}


/* polled by held connections: has any status changed */

ngx_atomic_uint_t
ngx_http_linkcert_table_changes(ngx_shm_zone_t *shm_zone)
{
    ngx_http_linkcert_zone_t  *ctx;

    ctx = shm_zone->data;

    return ctx->sh->changes;
}


/* a gate of worker 0 (linkcert_ask) refused a candidate */

void
ngx_http_linkcert_table_refused(ngx_shm_zone_t *shm_zone, u_char *name,
    size_t len, uint32_t job_id, ngx_http_linkcert_demand_e why, time_t ttl,
    const lc_error_t *err, ngx_log_t *log)
{
    lc_stage_e                 old_stage;
    lc_status_e                old_status;
    ngx_http_linkcert_zone_t  *ctx;
    ngx_http_linkcert_node_t  *ln;

    ctx = shm_zone->data;

    ln = ngx_http_linkcert_job_end(ctx, name, len, job_id, &old_status,
                                   &old_stage);
    if (ln == NULL) {
        return;
    }

    if (ln->candidate) {
        ngx_http_linkcert_refuse(ctx, ln, why, ttl, err, log);

    } else {
        /* no longer only on demand: verified as any other domain */
        ngx_http_linkcert_schedule(ctx->sh, ln, ngx_http_linkcert_now_ms());
    }

    ngx_http_linkcert_unlock(ctx);
}


static ngx_http_linkcert_name_e
ngx_http_linkcert_name_state(ngx_http_linkcert_node_t *ln, time_t now)
{
    if (ln->status == LC_STATUS_ISSUED || ln->moved) {
        return (now >= ln->not_before && now < ln->not_after)
               ? NGX_HTTP_LINKCERT_NAME_SERVED : NGX_HTTP_LINKCERT_NAME_NO;
    }

    /* worth waiting for: being verified or ordered now, not later */

    if (ln->status == LC_STATUS_PENDING && ln->next_attempt_at <= now) {
        return NGX_HTTP_LINKCERT_NAME_WAIT;
    }

    return NGX_HTTP_LINKCERT_NAME_NO;
}


/*
 * The table is locked; the candidate is remembered as refused, and why
 * (shown by the status API for linkcert_negative_ttl at least), and goes.
 */

static void
ngx_http_linkcert_refuse(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, ngx_http_linkcert_demand_e why, time_t ttl,
    const lc_error_t *err, ngx_log_t *log)
{
    time_t     now;
    uint64_t   hash;

    now = ngx_time();
    hash = ngx_http_linkcert_hash(ln->name, ln->name_len);

    ngx_log_error(NGX_LOG_INFO, log, 0,
                  "linkcert: \"%s\" refused on demand, not tried again "
                  "for %T s: %s", ln->name, ttl, err->detail);

    (void) ngx_atomic_fetch_add(&ctx->sh->stats.demand[why], 1);

    (void) ngx_http_linkcert_negative(ctx->sh, hash, now, now + ttl);

    ngx_http_linkcert_refusal_set(ctx->sh, hash, now, now + ttl,
                  now + ((ngx_http_linkcert_main_conf_t *) ctx->conf)
                        ->negative_ttl,
                  err);

    ngx_http_linkcert_delete(ctx, ln);
}


/*
 * On demand, a new order first meets the registered-domain limit, then
 * the order budget.  Either one keeps the domain pending with its reason
 * until the time it can go on.  A name the CRM asked for ("Verify
 * domain") meets neither: it takes its share of the budget at once, so
 * that strangers' first clicks wait for it, never the other way round.
 */

static ngx_int_t
ngx_http_linkcert_budget(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, time_t now)
{
    time_t                          at, first;
    ngx_uint_t                      n;
    ngx_msec_t                      wait;
    const char                     *domain;
    ngx_http_linkcert_main_conf_t  *lmcf;

    lmcf = ctx->conf;

    if (!lmcf->on_demand) {
        return NGX_OK;
    }

    if (ln->forced_at) {
        ngx_http_linkcert_rate_take(&ctx->sh->order_tat,
                                    ngx_http_linkcert_now_ms(),
                                    3600000 / lmcf->order_rate);
        return NGX_OK;
    }

    at = 0;

    if (lmcf->domain_limit) {
        domain = psl_registrable_domain(lmcf->psl, (char *) ln->name);

        if (domain == NULL) {
            domain = (char *) ln->name;
        }

        n = ngx_http_linkcert_registered(ctx, ln, domain,
                                         now - NGX_HTTP_LINKCERT_DOMAIN_WINDOW,
                                         &first);

        if (n >= lmcf->domain_limit) {
            at = first ? first + NGX_HTTP_LINKCERT_DOMAIN_WINDOW : now + 3600;
            lc_error_set(&ln->error, "registered_domain_limit",
                         "%s has had its %lu certificates of the last 7 "
                         "days (linkcert_registered_domain_limit)",
                         domain, (unsigned long) lmcf->domain_limit);
        }
    }

    if (at == 0) {
        wait = ngx_http_linkcert_rate(&ctx->sh->order_tat,
                                      ngx_http_linkcert_now_ms(),
                                      3600000 / lmcf->order_rate,
                                      lmcf->order_rate);
        if (wait == 0) {
            return NGX_OK;
        }

        at = now + (time_t) (wait + 999) / 1000;
        lc_error_set(&ln->error, "order_budget",
                     "the budget of %lu new orders per hour is spent "
                     "(linkcert_order_rate)",
                     (unsigned long) lmcf->order_rate);
    }

    ln->error_at = now;
    ln->next_attempt_at = at;
    ngx_http_linkcert_schedule(ctx->sh, ln, (ngx_msec_t) at * 1000);
    ctx->sh->changes++;

    ngx_http_linkcert_notify(ctx, ln, 0);

    return NGX_DECLINED;
}


/*
 * Certificates of a registered domain within the window: issued ones
 * whose validity began since then, and orders running now.  *first is
 * the earliest of those beginnings (0: none).
 */

static ngx_uint_t
ngx_http_linkcert_registered(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, const char *domain, time_t since,
    time_t *first)
{
    size_t                     len;
    ngx_uint_t                 n;
    ngx_rbtree_node_t         *node;
    ngx_http_linkcert_sh_t    *sh;
    ngx_http_linkcert_node_t  *cur;

    sh = ctx->sh;
    len = ngx_strlen(domain);
    n = 0;
    *first = 0;

    if (sh->rbtree.root == sh->rbtree.sentinel) {
        return 0;
    }

    for (node = ngx_rbtree_min(sh->rbtree.root, sh->rbtree.sentinel);
         node;
         node = ngx_rbtree_next(&sh->rbtree, node))
    {
        cur = (ngx_http_linkcert_node_t *) node;

        if (cur == ln
            || cur->name_len < len
            || ngx_strcmp(cur->name + cur->name_len - len, domain) != 0
            || (cur->name_len > len
                && cur->name[cur->name_len - len - 1] != '.'))
        {
            continue;
        }

        if ((cur->status == LC_STATUS_ISSUED || cur->moved)
            && cur->not_before >= since)
        {
            n++;

            if (*first == 0 || cur->not_before < *first) {
                *first = cur->not_before;
            }

        } else if (cur->busy && cur->stage == LC_STAGE_ORDERING) {
            n++;
        }
    }

    return n;
}
