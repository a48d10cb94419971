
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the on-demand gates: the negative cache, the admission rate, the
 * order budget and the registered-domain limit.  Their counters are kept
 * here, under the zone's lock; what they decide is lc_limits.c's.  With
 * linkcert_redis, the order budget is the fleet's, taken in Redis before
 * the order is placed (ngx_http_linkcert_budgets.c), not here.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <libpsl.h>

#include "ngx_http_linkcert.h"
#include "ngx_http_linkcert_table.h"


static ngx_http_linkcert_name_e ngx_http_linkcert_name_state(
    ngx_http_linkcert_node_t *ln, time_t now);
static void ngx_http_linkcert_registered(ngx_http_linkcert_node_t *ln,
    time_t since, lc_limits_tally_t *tally);


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
    size_t                      reg;
    time_t                      now;
    uint64_t                    hash;
    lc_lifecycle_event_t        ev;
    lc_lifecycle_result_t       res;
    ngx_http_linkcert_sh_t     *sh;
    ngx_http_linkcert_zone_t   *ctx;
    ngx_http_linkcert_node_t   *ln;
    ngx_http_linkcert_name_e    rc;
    ngx_http_linkcert_demand_e  why;

    ctx = shm_zone->data;
    sh = ctx->sh;
    now = ngx_time();
    reg = admit ? ngx_http_linkcert_registrable(ctx, name, len) : 0;

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
    ngx_http_linkcert_life_event(&ev, LC_EV_ADMIT);

    if (ngx_http_linkcert_negative(sh, hash, now, 0) == NGX_OK) {
        why = NGX_HTTP_LINKCERT_DEMAND_NEGATIVE;

    } else if (!lc_limits_admit(&sh->admit_tat, ev.now_ms, sh->candidates)) {
        why = NGX_HTTP_LINKCERT_DEMAND_RATE;

    } else {
        ln = ngx_http_linkcert_create(ctx, name, len, reg);
        why = NGX_HTTP_LINKCERT_DEMAND_FULL;
    }

    if (ln == NULL) {
        ngx_http_linkcert_unlock(ctx);
        (void) ngx_atomic_fetch_add(&sh->stats.demand[why], 1);
        return NGX_HTTP_LINKCERT_NAME_NO;
    }

    ngx_http_linkcert_life_step(ctx, ln, &ev, &res);

    ngx_http_linkcert_unlock(ctx);

    ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                  "linkcert: \"%*s\" unknown/none -> pending/verifying: "
                  "first seen, verified on demand", len, name);

    return NGX_HTTP_LINKCERT_NAME_NEW;
}


/* a gate of worker 0 (linkcert_ask) refused a candidate */

void
ngx_http_linkcert_table_refused(ngx_shm_zone_t *shm_zone, u_char *name,
    size_t len, uint32_t job_id, ngx_uint_t answered, const lc_error_t *err,
    ngx_log_t *log)
{
    lc_lifecycle_event_t       ev;
    lc_lifecycle_result_t      res;
    ngx_http_linkcert_zone_t  *ctx;
    ngx_http_linkcert_node_t  *ln;

    ctx = shm_zone->data;

    ngx_http_linkcert_life_event(&ev, LC_EV_REFUSE);
    ev.ok = (answered != 0);

    ngx_http_linkcert_lock(ctx);

    ln = ngx_http_linkcert_held(ctx, name, len, job_id);

    if (ln) {
        ngx_http_linkcert_life_step(ctx, ln, &ev, &res);

        if (res.action == LC_DO_REMOVE) {
            ngx_http_linkcert_refuse(ctx, ln, res.ttl, err, log);
        }
    }

    ngx_http_linkcert_unlock(ctx);
}


static ngx_http_linkcert_name_e
ngx_http_linkcert_name_state(ngx_http_linkcert_node_t *ln, time_t now)
{
    lc_lifecycle_t  rec;

    ngx_http_linkcert_life_read(ln, &rec);

    switch (lc_lifecycle_demand(&rec, now)) {

    case LC_DEMAND_SERVED:
        return NGX_HTTP_LINKCERT_NAME_SERVED;

    case LC_DEMAND_WAIT:
        return NGX_HTTP_LINKCERT_NAME_WAIT;

    default:
        return NGX_HTTP_LINKCERT_NAME_NO;
    }
}


/*
 * The table is locked; the candidate is remembered as refused, and why
 * (shown by the status API for linkcert_negative_ttl at least), and goes.
 */

void
ngx_http_linkcert_refuse(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, time_t ttl, const lc_error_t *err,
    ngx_log_t *log)
{
    time_t     now;
    uint64_t   hash;

    now = ngx_time();
    hash = ngx_http_linkcert_hash(ln->name, ln->name_len);

    ngx_log_error(NGX_LOG_INFO, log, 0,
                  "linkcert: \"%s\" refused on demand, not tried again "
                  "for %T s: %s", ln->name, ttl, err->detail);

    (void) ngx_http_linkcert_negative(ctx->sh, hash, now, now + ttl);

    ngx_http_linkcert_refusal_set(ctx->sh, hash, now, now + ttl,
                  now + ((ngx_http_linkcert_main_conf_t *) ctx->conf)
                        ->negative_ttl,
                  err);

    ngx_http_linkcert_delete(ctx, ln);
}


/*
 * On demand, a new order first meets the registered-domain limit, then
 * the order budget (LC_LIFE_BUDGET).  Either one keeps the domain pending
 * with its reason until the time it can go on (LC_EV_BUDGET).
 */

ngx_int_t
ngx_http_linkcert_budget(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, lc_lifecycle_event_t *ev)
{
    time_t                          at;
    lc_error_t                      err;
    lc_limits_tally_t               tally;
    lc_lifecycle_event_t            budget;
    lc_lifecycle_result_t           res;
    ngx_http_linkcert_group_t      *group;
    ngx_http_linkcert_main_conf_t  *lmcf;

    lmcf = ctx->conf;
    at = 0;

    if (lmcf->domain_limit) {
        group = ln->group;

        ngx_http_linkcert_registered(ln, ev->now - LC_LIMITS_DOMAIN_WINDOW,
                                     &tally);

        at = lc_limits_registered(&tally, lmcf->domain_limit, ev->now,
                                  (char *) group->name, group->sn.str.len,
                                  &err);
    }

    if (at == 0) {
        if (lmcf->redis) {
            return NGX_OK;
        }

        at = lc_limits_order_budget(&ctx->sh->order_tat, ev->now_ms,
                                    lmcf->order_rate, &err);
        if (at == 0) {
            return NGX_OK;
        }

        at += ev->now;
    }

    budget = *ev;
    budget.type = LC_EV_BUDGET;
    budget.at = at;
    budget.error = &err;

    ngx_http_linkcert_life_step(ctx, ln, &budget, &res);

    return NGX_DECLINED;
}


/* a name the CRM asked for takes its share of the budget at once */

void
ngx_http_linkcert_budget_take(ngx_http_linkcert_zone_t *ctx,
    lc_lifecycle_event_t *ev)
{
    ngx_http_linkcert_main_conf_t  *lmcf;

    lmcf = ctx->conf;

    if (lmcf->redis == NULL) {
        lc_limits_order_take(&ctx->sh->order_tat, ev->now_ms,
                             lmcf->order_rate);
    }
}


/*
 * For the fleet's budgets: which ones the order of a domain the job holds
 * meets (LC_LIFE_BUDGET...), whether it is a name first seen on demand
 * before its DNS (candidate), and its registered domain (at most
 * LC_DOMAIN_MAX).  NGX_DECLINED if the job no longer holds it.
 */

ngx_int_t
ngx_http_linkcert_table_budgets(ngx_shm_zone_t *shm_zone, u_char *name,
    size_t len, uint32_t job_id, ngx_uint_t *budgets, ngx_uint_t *candidate,
    u_char *reg, size_t *reg_len)
{
    lc_lifecycle_t              rec;
    lc_lifecycle_conf_t         conf;
    ngx_http_linkcert_zone_t   *ctx;
    ngx_http_linkcert_node_t   *ln;
    ngx_http_linkcert_group_t  *group;

    ctx = shm_zone->data;

    ngx_http_linkcert_life_conf(ctx, &conf);

    ngx_http_linkcert_lock(ctx);

    ln = ngx_http_linkcert_held(ctx, name, len, job_id);

    if (ln == NULL) {
        ngx_http_linkcert_unlock(ctx);
        return NGX_DECLINED;
    }

    ngx_http_linkcert_life_read(ln, &rec);
    *budgets = lc_limits_budgets(&rec, &conf);
    *candidate = rec.candidate;

    group = ln->group;
    *reg_len = ngx_min(group->sn.str.len, LC_DOMAIN_MAX);
    ngx_memcpy(reg, group->name, *reg_len);

    ngx_http_linkcert_unlock(ctx);

    return NGX_OK;
}


/*
 * Where the registered domain (eTLD+1, by the Public Suffix List) of a
 * name begins in it: the whole name if it has none.  Called without the
 * zone's lock.
 */

size_t
ngx_http_linkcert_registrable(ngx_http_linkcert_zone_t *ctx, u_char *name,
    size_t len)
{
    u_char                          buf[LC_DOMAIN_MAX + 1];
    const char                     *domain;
    ngx_http_linkcert_main_conf_t  *lmcf;

    lmcf = ctx->conf;

    if (len > LC_DOMAIN_MAX) {
        return 0;
    }

    ngx_memcpy(buf, name, len);
    buf[len] = '\0';

    domain = psl_registrable_domain(lmcf->psl, (char *) buf);

    return domain ? (size_t) ((u_char *) domain - buf) : 0;
}


/*
 * A new entry joins the group of its registered domain, name + reg, made
 * if it is the first.  With the zone locked.
 */

ngx_int_t
ngx_http_linkcert_group_join(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, size_t reg)
{
    uint32_t                    hash;
    ngx_str_t                   name;
    ngx_http_linkcert_group_t  *group;

    name.data = ln->name + reg;
    name.len = ln->name_len - reg;
    hash = ngx_crc32_short(name.data, name.len);

    group = (ngx_http_linkcert_group_t *)
                ngx_str_rbtree_lookup(&ctx->sh->groups, &name, hash);

    if (group == NULL) {
        group = ngx_slab_alloc_locked(ctx->shpool,
                                      offsetof(ngx_http_linkcert_group_t, name)
                                      + name.len);
        if (group == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(group->name, name.data, name.len);
        group->sn.node.key = hash;
        group->sn.str.data = group->name;
        group->sn.str.len = name.len;
        ngx_queue_init(&group->members);

        ngx_rbtree_insert(&ctx->sh->groups, &group->sn.node);
    }

    ngx_queue_insert_tail(&group->members, &ln->kin);
    ln->group = group;

    return NGX_OK;
}


void
ngx_http_linkcert_group_leave(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln)
{
    ngx_http_linkcert_group_t  *group;

    group = ln->group;

    ngx_queue_remove(&ln->kin);

    if (ngx_queue_empty(&group->members)) {
        ngx_rbtree_delete(&ctx->sh->groups, &group->sn.node);
        ngx_slab_free_locked(ctx->shpool, group);
    }
}


/*
 * Certificates of a registered domain within the window: the names of
 * that registered domain, but ln, each counted as lc_limits_tally() says.
 */

static void
ngx_http_linkcert_registered(ngx_http_linkcert_node_t *ln, time_t since,
    lc_limits_tally_t *tally)
{
    ngx_queue_t                *q;
    ngx_http_linkcert_node_t   *cur;
    ngx_http_linkcert_group_t  *group;

    group = ln->group;
    tally->n = 0;
    tally->first = 0;

    for (q = ngx_queue_head(&group->members);
         q != ngx_queue_sentinel(&group->members);
         q = ngx_queue_next(q))
    {
        cur = ngx_queue_data(q, ngx_http_linkcert_node_t, kin);

        if (cur == ln) {
            continue;
        }

        lc_limits_tally(tally, since,
                        cur->status == LC_STATUS_ISSUED || cur->moved,
                        cur->not_before,
                        cur->busy && cur->stage == LC_STAGE_ORDERING);
    }
}


/*
 * In a fleet, a name first seen on demand that the fleet's admission rate
 * refused (ngx_http_linkcert_budgets.c) leaves the table, not
 * remembered, as one the edge's own rate refused: the next click may try
 * again.
 */

void
ngx_http_linkcert_table_unadmit(ngx_shm_zone_t *shm_zone, u_char *name,
    size_t len, uint32_t job_id)
{
    ngx_http_linkcert_zone_t  *ctx;
    ngx_http_linkcert_node_t  *ln;

    ctx = shm_zone->data;

    ngx_http_linkcert_lock(ctx);

    ln = ngx_http_linkcert_held(ctx, name, len, job_id);

    if (ln && ln->candidate) {
        ngx_http_linkcert_delete(ctx, ln);
        (void) ngx_atomic_fetch_add(
                   &ctx->sh->stats.demand[NGX_HTTP_LINKCERT_DEMAND_RATE], 1);
    }

    ngx_http_linkcert_unlock(ctx);
}
