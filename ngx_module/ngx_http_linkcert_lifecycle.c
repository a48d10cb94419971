
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the domain table's side of the lifecycle core
 * (src/lc_lifecycle.c).  With the zone locked, an entry is copied into an
 * lc_lifecycle_t, the core applies an event to it, and the result is
 * written back: the status counts, the due tree, the lease, the counters
 * and the webhook.  Nothing here decides what happens to a domain.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert.h"
#include "ngx_http_linkcert_table.h"


static void ngx_http_linkcert_life_count(ngx_http_linkcert_sh_t *sh,
    lc_lifecycle_result_t *res, time_t now);


void
ngx_http_linkcert_life_conf(ngx_http_linkcert_zone_t *ctx,
    lc_lifecycle_conf_t *conf)
{
    ngx_http_linkcert_main_conf_t  *lmcf;

    lmcf = ctx->conf;

    conf->renew_at = (unsigned) lmcf->renew_at;
    conf->reverify_interval = lmcf->reverify_interval;
    conf->verify = (lmcf->verify != NULL);
    conf->ask = (lmcf->ask.len != 0);
    conf->negative_ttl = lmcf->negative_ttl;
    conf->on_demand = (lmcf->on_demand != 0);
}


/* an event of now, with fresh random numbers */

void
ngx_http_linkcert_life_event(lc_lifecycle_event_t *ev,
    lc_lifecycle_event_e type)
{
    ngx_memzero(ev, sizeof(lc_lifecycle_event_t));

    ev->type = type;
    ev->now = ngx_time();
    ev->now_ms = ngx_http_linkcert_now_ms();
    ev->random[0] = (unsigned long) ngx_random();
    ev->random[1] = (unsigned long) ngx_random();
}


void
ngx_http_linkcert_life_read(ngx_http_linkcert_node_t *ln,
    lc_lifecycle_t *rec)
{
    rec->status = (lc_status_e) ln->status;
    rec->stage = (lc_stage_e) ln->stage;
    rec->not_before = ln->not_before;
    rec->not_after = ln->not_after;
    rec->updated_at = ln->updated_at;
    rec->next_attempt_at = ln->next_attempt_at;
    rec->error_at = ln->error_at;
    rec->forced_at = ln->forced_at;
    rec->renew_ari = ln->renew_ari;
    rec->ari_at = ln->ari_at;
    rec->val_window = ln->val_window;
    rec->due = ln->due.key;
    rec->attempts = ln->attempts;
    rec->val_failures = ln->val_failures;
    rec->origin = ln->origin;
    rec->busy = ln->busy;
    rec->candidate = ln->candidate;
    rec->moved = ln->moved;
    rec->reissue = ln->reissue;
    rec->repass = ln->repass;
    rec->error = ln->error;
}


/*
 * The record the core changed, back into the entry; a lease the core
 * took (LC_EV_DUE) the caller took first.
 */

void
ngx_http_linkcert_life_apply(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, lc_lifecycle_t *rec,
    lc_lifecycle_result_t *res, time_t now)
{
    ngx_http_linkcert_sh_t  *sh;

    sh = ctx->sh;

    if (rec->status != ln->status) {
        sh->count[ln->status]--;
        sh->count[rec->status]++;
    }

    if (res->flags & LC_LIFE_CHANGED) {
        sh->changes++;
    }

    if (ln->candidate != rec->candidate) {
        sh->candidates += rec->candidate ? 1 : -1;
    }

    ngx_http_linkcert_fleet_apply(ctx, ln, rec);

    if (ln->busy && !rec->busy) {
        ngx_http_linkcert_unlease(sh, ln);
    }

    if (ln->due.key != rec->due) {
        ngx_http_linkcert_unschedule(sh, ln);

        if (rec->due) {
            ln->due.key = rec->due;
            ngx_rbtree_insert(&sh->due, &ln->due);
        }
    }

    ln->status = rec->status;
    ln->stage = rec->stage;
    ln->not_before = rec->not_before;
    ln->not_after = rec->not_after;
    ln->updated_at = rec->updated_at;
    ln->next_attempt_at = rec->next_attempt_at;
    ln->error_at = rec->error_at;
    ln->forced_at = rec->forced_at;
    ln->renew_ari = rec->renew_ari;
    ln->ari_at = rec->ari_at;
    ln->val_window = rec->val_window;
    ln->attempts = rec->attempts;
    ln->val_failures = rec->val_failures;
    ln->origin = rec->origin;
    ln->candidate = rec->candidate;
    ln->moved = rec->moved;
    ln->reissue = rec->reissue;
    ln->repass = rec->repass;
    ln->error = rec->error;

    if (res->flags & LC_LIFE_NEW_CERT) {
        ln->generation = ++sh->generation;
    }

    ngx_http_linkcert_life_count(sh, res, now);

    if (res->flags & LC_LIFE_NOTIFY) {
        ngx_http_linkcert_notify(ctx, ln, (res->flags & LC_LIFE_QUIET) != 0);
    }
}


/* ev applied to the entry, with the zone locked */

void
ngx_http_linkcert_life_step(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, lc_lifecycle_event_t *ev,
    lc_lifecycle_result_t *res)
{
    lc_lifecycle_t       rec;
    lc_lifecycle_conf_t  conf;

    ngx_http_linkcert_life_conf(ctx, &conf);
    ngx_http_linkcert_life_read(ln, &rec);

    lc_lifecycle_step(&rec, &conf, ev, res);

    ngx_http_linkcert_life_apply(ctx, ln, &rec, res, ev->now);
}


/*
 * An event of the job that holds the domain (job_id); NGX_DECLINED if it
 * no longer does: the domain was deleted meanwhile, or taken back after
 * its lease ended.
 */

ngx_int_t
ngx_http_linkcert_table_job_event(ngx_shm_zone_t *shm_zone, u_char *name,
    size_t len, uint32_t job_id, lc_lifecycle_event_t *ev,
    lc_lifecycle_result_t *res)
{
    ngx_http_linkcert_zone_t  *ctx;
    ngx_http_linkcert_node_t  *ln;

    ctx = shm_zone->data;

    ngx_http_linkcert_lock(ctx);

    ln = ngx_http_linkcert_held(ctx, name, len, job_id);

    if (ln == NULL) {
        ngx_http_linkcert_unlock(ctx);
        return NGX_DECLINED;
    }

    ngx_http_linkcert_life_step(ctx, ln, ev, res);

    ngx_http_linkcert_unlock(ctx);

    return NGX_OK;
}


/* the counters the core asked for: atomics, as the metrics read them */

static void
ngx_http_linkcert_life_count(ngx_http_linkcert_sh_t *sh,
    lc_lifecycle_result_t *res, time_t now)
{
    ngx_uint_t        i;
    ngx_atomic_t     *demand;

    /* the core's counters by the metrics' enums */

    static unsigned   dns[NGX_HTTP_LINKCERT_DNS_N] = {
        [NGX_HTTP_LINKCERT_DNS_VERIFIED] = LC_COUNT_DNS_VERIFIED,
        [NGX_HTTP_LINKCERT_DNS_FAILED] = LC_COUNT_DNS_FAILED,
        [NGX_HTTP_LINKCERT_DNS_TRANSIENT] = LC_COUNT_DNS_TRANSIENT
    };
    static unsigned   orders[NGX_HTTP_LINKCERT_ORDER_N] = {
        [NGX_HTTP_LINKCERT_ORDER_ISSUED] = LC_COUNT_ORDER_ISSUED,
        [NGX_HTTP_LINKCERT_ORDER_FAILED] = LC_COUNT_ORDER_FAILED,
        [NGX_HTTP_LINKCERT_ORDER_TRANSIENT] = LC_COUNT_ORDER_TRANSIENT
    };

    for (i = 0; i < NGX_HTTP_LINKCERT_DNS_N; i++) {
        if (res->counters & dns[i]) {
            (void) ngx_atomic_fetch_add(&sh->stats.dns[i], 1);
        }
    }

    for (i = 0; i < NGX_HTTP_LINKCERT_ORDER_N; i++) {
        if (res->counters & orders[i]) {
            (void) ngx_atomic_fetch_add(&sh->stats.orders[i], 1);
            (void) ngx_atomic_fetch_add(&sh->stats.origins[res->origin][i],
                                        1);
        }
    }

    demand = sh->stats.demand;

    if (res->counters & LC_COUNT_ADMITTED) {
        (void) ngx_atomic_fetch_add(
                            &demand[NGX_HTTP_LINKCERT_DEMAND_ADMITTED], 1);
    }

    if (res->counters & LC_COUNT_REFUSED_DNS) {
        (void) ngx_atomic_fetch_add(&demand[NGX_HTTP_LINKCERT_DEMAND_DNS], 1);
    }

    if (res->counters & LC_COUNT_REFUSED_ASK) {
        (void) ngx_atomic_fetch_add(&demand[NGX_HTTP_LINKCERT_DEMAND_ASK], 1);
    }

    if (res->counters & LC_COUNT_RENEWAL) {
        (void) ngx_atomic_fetch_add(&sh->stats.renewals, 1);
        sh->stats.last_renewal = (ngx_atomic_uint_t) now;
    }
}
