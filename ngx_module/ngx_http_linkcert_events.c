
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: what happens to a domain: a POST, a DNS check's result, an order's
 * result, an expiry, the renewal plan.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert.h"
#include "ngx_http_linkcert_table.h"


/*
 * "Verify domain": schedules a verification now unless one is already
 * running or queued, or one was forced less than 10 seconds ago.
 */

ngx_http_linkcert_post_e
ngx_http_linkcert_table_post(ngx_shm_zone_t *shm_zone, u_char *name,
    size_t len, ngx_uint_t reissue, lc_record_t *rec, time_t *retry_after,
    lc_error_t *refused)
{
    size_t                     reg;
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
    reg = ngx_http_linkcert_registrable(ctx, name, len);

    ngx_http_linkcert_lock(ctx);

    ln = ngx_http_linkcert_lookup(sh, name, len);

    if (ln == NULL) {
        ln = ngx_http_linkcert_create(ctx, name, len, reg);

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

    ngx_http_linkcert_lock(ctx);

    ln = ngx_http_linkcert_job_end(ctx, (u_char *) v->domain, len, job_id,
                                   &old_status, &old_stage);
    if (ln == NULL) {
        ngx_http_linkcert_unlock(ctx);
        return;
    }

    /* a certificate to keep serving: issued, or kept while DNS moved */

    issued = (ln->status == LC_STATUS_ISSUED || ln->moved);

    /* an on-demand name that does not point here leaves the table */

    if (ln->candidate) {

        if (v->state != LC_VERIFY_VERIFIED) {
            (void) ngx_atomic_fetch_add(&sh->stats.dns[
                (v->state == LC_VERIFY_TRANSIENT)
                ? NGX_HTTP_LINKCERT_DNS_TRANSIENT
                : NGX_HTTP_LINKCERT_DNS_FAILED], 1);

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
        (void) ngx_atomic_fetch_add(
                   &sh->stats.dns[NGX_HTTP_LINKCERT_DNS_VERIFIED], 1);
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
        (void) ngx_atomic_fetch_add(
                   &sh->stats.dns[NGX_HTTP_LINKCERT_DNS_TRANSIENT], 1);
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
        (void) ngx_atomic_fetch_add(
                   &sh->stats.dns[NGX_HTTP_LINKCERT_DNS_FAILED], 1);
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

    ngx_http_linkcert_lock(ctx);

    ln = ngx_http_linkcert_job_end(ctx, name, len, job_id, &old_status,
                                   &old_stage);
    if (ln == NULL) {
        ngx_http_linkcert_unlock(ctx);
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
    ln->issuer = ngx_http_linkcert_issuer(ctx, info->issuer);

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

    ngx_http_linkcert_count_order(sh, ln, old_status, old_stage,
                                  NGX_HTTP_LINKCERT_ORDER_ISSUED);

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

    ngx_http_linkcert_lock(ctx);

    ln = ngx_http_linkcert_job_end(ctx, name, len, job_id, &old_status,
                                   &old_stage);
    if (ln == NULL) {
        ngx_http_linkcert_unlock(ctx);
        return;
    }

    ln->error = *err;
    ln->error_at = now;

    if (transient == NGX_HTTP_LINKCERT_NO_ACCOUNT) {
        /* no order was placed: it waits for the account, not a backoff */
        delay = ngx_max(retry_after, 1);

    } else if (transient) {
        ngx_http_linkcert_count_order(sh, ln, old_status, old_stage,
                                      NGX_HTTP_LINKCERT_ORDER_TRANSIENT);
        ln->attempts++;
        delay = ngx_http_linkcert_backoff(ln->attempts);

        if (retry_after > delay) {
            delay = retry_after;
        }

    } else {
        ngx_http_linkcert_count_order(sh, ln, old_status, old_stage,
                                      NGX_HTTP_LINKCERT_ORDER_FAILED);
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


/* expired without a successor: never served again, the customer acts */

void
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

    ngx_http_linkcert_lock(ctx);

    ln = ngx_http_linkcert_job_end(ctx, name, len, job_id, &old_status,
                                   &old_stage);
    if (ln == NULL) {
        ngx_http_linkcert_unlock(ctx);
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
