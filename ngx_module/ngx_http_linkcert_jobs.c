
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the job scheduler: the due tree, the leases worker 0 holds on
 * the domains it works on, and their recovery when a process dies.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert.h"
#include "ngx_http_linkcert_table.h"


static time_t ngx_http_linkcert_reverify_time(ngx_http_linkcert_zone_t *ctx,
    time_t now);
static ngx_int_t ngx_http_linkcert_lease(ngx_http_linkcert_sh_t *sh,
    ngx_http_linkcert_node_t *ln);


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


void
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


void
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

void
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
 * An order is over: counted by result, and by what started it: an order
 * for an issued domain is a renewal.
 */

void
ngx_http_linkcert_count_order(ngx_http_linkcert_sh_t *sh,
    ngx_http_linkcert_node_t *ln, lc_status_e old_status,
    lc_stage_e old_stage, ngx_http_linkcert_order_result_e result)
{
    ngx_uint_t  origin;

    origin = ((old_status == LC_STATUS_ISSUED
               || old_stage == LC_STAGE_RENEWING)
              && !ln->reissue)
             ? NGX_HTTP_LINKCERT_ORIGIN_RENEWAL : ln->origin;

    (void) ngx_atomic_fetch_add(&sh->stats.orders[result], 1);
    (void) ngx_atomic_fetch_add(&sh->stats.origins[origin][result], 1);
}


/* 1 min, 10 min, then 100 min, each within +/-10% so retries spread out */

time_t
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

void
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

void
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


time_t
ngx_http_linkcert_renew_time(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln)
{
    ngx_http_linkcert_main_conf_t  *lmcf;

    lmcf = ctx->conf;

    return ln->not_before
           + (ln->not_after - ln->not_before) * (time_t) lmcf->renew_at / 100;
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


void
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
    ngx_pid_t                  dead[NGX_HTTP_LINKCERT_LEASES];
    ngx_uint_t                 i, n;
    ngx_http_linkcert_sh_t    *sh;
    ngx_http_linkcert_zone_t  *ctx;
    ngx_http_linkcert_node_t  *ln;

    ctx = shm_zone->data;
    sh = ctx->sh;
    n = 0;

    /* the holders are copied, then asked after without the lock */

    ngx_http_linkcert_lock(ctx);

    for (i = 0; i < NGX_HTTP_LINKCERT_LEASES; i++) {
        dead[i] = (sh->leased[i] && sh->leased_pid[i] != ngx_pid)
                  ? sh->leased_pid[i] : 0;
    }

    ngx_http_linkcert_unlock(ctx);

    for (i = 0; i < NGX_HTTP_LINKCERT_LEASES; i++) {
        if (dead[i] == 0) {
            continue;
        }

        if (kill(dead[i], 0) == 0 || ngx_errno != NGX_ESRCH) {
            dead[i] = 0;
            continue;
        }

        n++;
    }

    if (n == 0) {
        return 0;
    }

    n = 0;

    ngx_http_linkcert_lock(ctx);

    for (i = 0; i < NGX_HTTP_LINKCERT_LEASES; i++) {
        ln = sh->leased[i];

        if (dead[i] == 0 || ln == NULL || sh->leased_pid[i] != dead[i]) {
            continue;
        }

        ngx_http_linkcert_unlease(sh, ln);
        ngx_http_linkcert_schedule(sh, ln, ngx_http_linkcert_now_ms());
        n++;
    }

    ngx_http_linkcert_unlock(ctx);

    return n;
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


/*
 * The common start of a finished job's update: the entry (NULL if it was
 * removed meanwhile), its state before, its lease and schedule dropped.
 * The caller holds the zone locked.
 */

ngx_http_linkcert_node_t *
ngx_http_linkcert_job_end(ngx_http_linkcert_zone_t *ctx, u_char *name,
    size_t len, uint32_t job_id, lc_status_e *old_status,
    lc_stage_e *old_stage)
{
    ngx_http_linkcert_node_t  *ln;

    ln = ngx_http_linkcert_lookup(ctx->sh, name, len);

    /*
     * Only the job that holds the domain ends it: not one whose domain was
     * deleted and added again meanwhile, or taken back after a timeout.
     */

    if (ln == NULL || !ln->busy || ln->job_id != job_id) {
        return NULL;
    }

    *old_status = ln->status;
    *old_stage = ln->stage;

    ngx_http_linkcert_unlease(ctx->sh, ln);
    ngx_http_linkcert_unschedule(ctx->sh, ln);
    ln->updated_at = ngx_time();

    return ln;
}
