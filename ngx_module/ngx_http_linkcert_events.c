
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: what happens to a domain: a POST, a DNS check's result, an
 * order's result, the renewal plan.  Each is an event of the lifecycle
 * core (src/lc_lifecycle.c), which decides; here the table keeps what the
 * core does not see (the "dns" object, the certificate's identity) and
 * logs the change.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert.h"
#include "ngx_http_linkcert_table.h"


#define NGX_HTTP_LINKCERT_POSTED_AHEAD  60000    /* ms */


static void ngx_http_linkcert_set_dns(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, u_char *dns, size_t dns_len);


/*
 * "Verify domain": a verification now unless one is already running or
 * queued, or one was forced less than 10 seconds ago; a reissue meets the
 * limits first.
 */

ngx_http_linkcert_post_e
ngx_http_linkcert_table_post(ngx_shm_zone_t *shm_zone, u_char *name,
    size_t len, ngx_uint_t ask, lc_record_t *rec, time_t *retry_after,
    lc_error_t *refused)
{
    size_t                     reg;
    lc_lifecycle_t             life;
    lc_lifecycle_conf_t        conf;
    lc_lifecycle_event_t       ev;
    lc_lifecycle_result_t      res;
    ngx_http_linkcert_sh_t    *sh;
    ngx_http_linkcert_zone_t  *ctx;
    ngx_http_linkcert_node_t  *ln;

    ctx = shm_zone->data;
    sh = ctx->sh;
    reg = ngx_http_linkcert_registrable(ctx, name, len);

    ngx_http_linkcert_life_conf(ctx, &conf);
    ngx_http_linkcert_life_event(&ev, LC_EV_POST);
    ev.reissue = (ask & NGX_HTTP_LINKCERT_ASK_REISSUE) != 0;
    ev.claimed = (ask & NGX_HTTP_LINKCERT_ASK_CLAIMED) != 0;

    ngx_http_linkcert_lock(ctx);

    ln = ngx_http_linkcert_lookup(sh, name, len);

    if (ln == NULL) {
        ln = ngx_http_linkcert_create(ctx, name, len, reg);

        if (ln == NULL) {
            ngx_http_linkcert_unlock(ctx);
            return NGX_HTTP_LINKCERT_POST_FULL;
        }
    }

    ngx_http_linkcert_life_read(ln, &life);
    lc_lifecycle_step(&life, &conf, &ev, &res);

    if (res.action == LC_DO_LIMITS) {
        ev.limits = (ngx_http_linkcert_reissue_allowed(ctx, ln, ev.now,
                                                       ev.now_ms, refused,
                                                       retry_after)
                     == NGX_OK)
                    ? LC_LIFECYCLE_ALLOWED : LC_LIFECYCLE_DENIED;

        lc_lifecycle_step(&life, &conf, &ev, &res);
    }

    if (res.post == LC_POST_TOO_SOON) {
        *retry_after = res.retry_after;
    }

    /* a refusal on demand is over: the CRM asked for the name */

    if (res.flags & LC_LIFE_UNREFUSE) {
        ngx_http_linkcert_refusal_clear(sh, ngx_http_linkcert_hash(name, len));
    }

    ngx_http_linkcert_life_apply(ctx, ln, &life, &res, ev.now);

    if (res.post == LC_POST_RECHECK || res.post == LC_POST_REISSUE) {
        ngx_http_linkcert_fleet_forced(ln);
    }

    if (!ev.claimed && res.post != LC_POST_TOO_SOON
        && res.post != LC_POST_REFUSED)
    {
        ln->posted_ms = (uint32_t) ev.now_ms;
    }

    ngx_http_linkcert_to_record(ctx, ln, rec);

    ngx_http_linkcert_unlock(ctx);

    return (ngx_http_linkcert_post_e) res.post;
}


/*
 * Whether the CRM's "Verify domain" of the domain was answered since at
 * (ms since the epoch) and its record.  The low 32 bits of the times are
 * compared (about 49 days around): a POST answered after at, and not
 * after now; a removal written more than 24 days ago is older than any.
 * "Now" is this worker's time, cached when its event loop last woke: a
 * POST another worker answered meanwhile may be some ms after it (more
 * on a loaded machine), so a POST up to a minute after it counts.
 */

ngx_uint_t
ngx_http_linkcert_table_posted_since(ngx_shm_zone_t *shm_zone,
    u_char *name, size_t len, uint64_t at, lc_record_t *rec)
{
    uint64_t                   now;
    ngx_uint_t                 since;
    ngx_http_linkcert_zone_t  *ctx;
    ngx_http_linkcert_node_t  *ln;

    ctx = shm_zone->data;
    now = ngx_http_linkcert_now_ms();

    if (now - at > 0x7fffffff && at - now > 0x7fffffff) {
        return 0;
    }

    since = 0;

    ngx_http_linkcert_lock(ctx);

    ln = ngx_http_linkcert_lookup(ctx->sh, name, len);

    if (ln) {
        since = (int32_t) (ln->posted_ms - (uint32_t) at) > 0
                && (int32_t) ((uint32_t) now
                              + NGX_HTTP_LINKCERT_POSTED_AHEAD
                              - ln->posted_ms)
                   >= 0;
        ngx_http_linkcert_to_record(ctx, ln, rec);
    }

    ngx_http_linkcert_unlock(ctx);

    return since;
}


/* the outcome of a DNS verification */

void
ngx_http_linkcert_table_verified(ngx_shm_zone_t *shm_zone, lc_verify_t *v,
    uint32_t job_id, u_char *dns, size_t dns_len, ngx_uint_t order,
    ngx_log_t *log)
{
    size_t                     len;
    lc_stage_e                 old_stage;
    lc_status_e                old_status;
    lc_lifecycle_t             life;
    lc_lifecycle_conf_t        conf;
    lc_lifecycle_event_t       ev;
    lc_lifecycle_result_t      res;
    ngx_http_linkcert_zone_t  *ctx;
    ngx_http_linkcert_node_t  *ln;

    ctx = shm_zone->data;
    len = ngx_strlen(v->domain);

    ngx_http_linkcert_life_conf(ctx, &conf);
    ngx_http_linkcert_life_event(&ev, LC_EV_DNS);
    ev.dns = v->state;
    ev.acme = (unsigned) order;
    ev.error = &v->error;

    ngx_http_linkcert_lock(ctx);

    ln = ngx_http_linkcert_held(ctx, (u_char *) v->domain, len, job_id);
    if (ln == NULL) {
        ngx_http_linkcert_unlock(ctx);
        return;
    }

    old_status = ln->status;
    old_stage = ln->stage;

    ngx_http_linkcert_life_read(ln, &life);
    lc_lifecycle_step(&life, &conf, &ev, &res);

    /* an on-demand name that does not point here leaves the table */

    if (res.action == LC_DO_REMOVE) {
        ngx_http_linkcert_life_apply(ctx, ln, &life, &res, ev.now);
        ngx_http_linkcert_refuse(ctx, ln, res.ttl, &v->error, log);
        ngx_http_linkcert_unlock(ctx);
        return;
    }

    ngx_http_linkcert_set_dns(ctx, ln, dns, dns_len);
    ngx_http_linkcert_life_apply(ctx, ln, &life, &res, ev.now);

    ngx_log_error(NGX_LOG_NOTICE, log, 0,
                  "linkcert: \"%s\" %s/%s -> %s/%s: DNS %s%s%s",
                  v->domain,
                  lc_status_name(old_status), lc_stage_name(old_stage),
                  lc_status_name(ln->status), lc_stage_name(ln->stage),
                  lc_verify_state_name(v->state),
                  v->error.type[0] ? ", " : "", v->error.detail);

    ngx_http_linkcert_unlock(ctx);
}


/* the previous "dns" object is replaced, or dropped if memory is short */

static void
ngx_http_linkcert_set_dns(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, u_char *dns, size_t dns_len)
{
    u_char  *p;

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
}


void
ngx_http_linkcert_table_issued(ngx_shm_zone_t *shm_zone, u_char *name,
    size_t len, uint32_t job_id, lc_cert_info_t *info, uint64_t stamp,
    ngx_log_t *log)
{
    lc_stage_e                 old_stage;
    lc_status_e                old_status;
    lc_lifecycle_event_t       ev;
    lc_lifecycle_result_t      res;
    ngx_http_linkcert_zone_t  *ctx;
    ngx_http_linkcert_node_t  *ln;
    char                       until[32];

    ctx = shm_zone->data;

    ngx_http_linkcert_life_event(&ev, LC_EV_ISSUED);
    ev.not_before = info->not_before;
    ev.not_after = info->not_after;

    ngx_http_linkcert_lock(ctx);

    ln = ngx_http_linkcert_held(ctx, name, len, job_id);
    if (ln == NULL) {
        ngx_http_linkcert_unlock(ctx);
        return;
    }

    old_status = ln->status;
    old_stage = ln->stage;

    ln->store_stamp = stamp;
    ngx_memcpy(ln->sha256, info->sha256, 32);
    ngx_memcpy(ln->serial, info->serial, info->serial_len);
    ln->serial_len = (u_char) info->serial_len;
    ln->issuer = ngx_http_linkcert_issuer(ctx, info->issuer);
    ngx_http_linkcert_duplicate_add(ln, ev.now);

    ngx_http_linkcert_life_step(ctx, ln, &ev, &res);

    lc_time_rfc3339(info->not_after, until);

    ngx_log_error(NGX_LOG_NOTICE, log, 0,
                  "linkcert: \"%*s\" %s/%s -> issued/issued: certificate "
                  "valid until %s, generation %uD", len, name,
                  lc_status_name(old_status), lc_stage_name(old_stage),
                  until, ln->generation);

    ngx_http_linkcert_unlock(ctx);
}


void
ngx_http_linkcert_table_order_failed(ngx_shm_zone_t *shm_zone, u_char *name,
    size_t len, uint32_t job_id, const lc_error_t *err, ngx_uint_t transient,
    time_t retry_after, ngx_log_t *log)
{
    ngx_uint_t                 level;
    lc_stage_e                 old_stage;
    lc_status_e                old_status;
    lc_lifecycle_event_t       ev;
    lc_lifecycle_result_t      res;
    ngx_http_linkcert_zone_t  *ctx;
    ngx_http_linkcert_node_t  *ln;

    ctx = shm_zone->data;

    ngx_http_linkcert_life_event(&ev, LC_EV_ORDER_FAILED);
    ev.error = err;
    ev.transient = (int) transient;
    ev.retry_after = retry_after;

    ngx_http_linkcert_lock(ctx);

    ln = ngx_http_linkcert_held(ctx, name, len, job_id);
    if (ln == NULL) {
        ngx_http_linkcert_unlock(ctx);
        return;
    }

    old_status = ln->status;
    old_stage = ln->stage;

    ngx_http_linkcert_life_step(ctx, ln, &ev, &res);

    /* the same wait again (another edge's lease) is no news */

    level = (res.flags & LC_LIFE_NOTIFY) ? NGX_LOG_NOTICE : NGX_LOG_INFO;

    ngx_log_error(level, log, 0,
                  "linkcert: \"%*s\" %s/%s -> %s/%s: order failed: %s (%s)",
                  len, name,
                  lc_status_name(old_status), lc_stage_name(old_stage),
                  lc_status_name(ln->status), lc_stage_name(ln->stage),
                  err->detail, err->type);

    ngx_http_linkcert_unlock(ctx);
}


/*
 * What the job that holds a domain orders with: which CA its orders go
 * to.  Written back: which CA.
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

    ln = ngx_http_linkcert_held(ctx, name, len, job_id);

    if (ln) {
        if (write) {
            ln->failover = plan->failover;

        } else {
            plan->failover = ln->failover;
        }

        rc = NGX_OK;
    }

    ngx_http_linkcert_unlock(ctx);

    return rc;
}
