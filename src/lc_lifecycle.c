/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: a domain's lifecycle (see lc_lifecycle.h).
 */

#include <string.h>

#include "lc_lifecycle.h"
#include "lc_lifecycle_int.h"
#include "lc_limits.h"


static void lc_life_post(lc_life_ctx_t *c);
static void lc_life_admit(lc_life_ctx_t *c);
static void lc_life_refuse(lc_life_ctx_t *c);
static void lc_life_due(lc_life_ctx_t *c);
static void lc_life_budget(lc_life_ctx_t *c);
static void lc_life_dns(lc_life_ctx_t *c);
static void lc_life_dns_verified(lc_life_ctx_t *c, int issued);
static void lc_life_dns_transient(lc_life_ctx_t *c, int issued);
static void lc_life_dns_failed(lc_life_ctx_t *c, int issued);
static void lc_life_issued(lc_life_ctx_t *c);
static void lc_life_order_failed(lc_life_ctx_t *c);
static void lc_life_expired(lc_life_ctx_t *c);
static int lc_life_same_wait(lc_life_ctx_t *c);
static void lc_life_loaded(lc_life_ctx_t *c);
static void lc_life_seen(lc_life_ctx_t *c);
static void lc_life_gone(lc_life_ctx_t *c);
static void lc_life_set_status(lc_life_ctx_t *c, lc_status_e status,
    lc_stage_e stage);
static void lc_life_keep_serving(lc_life_ctx_t *c);
static void lc_life_count_order(lc_life_ctx_t *c, unsigned counter);


static const char  *lc_lifecycle_events[] = {
    "post", "delete", "admit", "refuse", "due", "budget", "lease lost",
    "dns", "renew", "ari", "ari failed", "issued", "order failed",
    "expired", "loaded", "seen", "gone"
};

static const char  *lc_lifecycle_actions[] = {
    "none", "verify", "ask", "order", "renew", "ask ari", "wait", "limits",
    "remove"
};


void
lc_lifecycle_step(lc_lifecycle_t *rec, const lc_lifecycle_conf_t *conf,
    const lc_lifecycle_event_t *ev, lc_lifecycle_result_t *res)
{
    lc_life_ctx_t  c;

    memset(res, 0, sizeof(lc_lifecycle_result_t));

    c.rec = rec;
    c.conf = conf;
    c.ev = ev;
    c.res = res;
    c.old_status = rec->status;
    c.old_stage = rec->stage;

    switch (ev->type) {

    case LC_EV_POST:
        lc_life_post(&c);
        break;

    case LC_EV_DELETE:
        res->action = LC_DO_REMOVE;
        break;

    case LC_EV_ADMIT:
        lc_life_admit(&c);
        break;

    case LC_EV_REFUSE:
        lc_life_refuse(&c);
        break;

    case LC_EV_DUE:
        lc_life_due(&c);
        break;

    case LC_EV_BUDGET:
        lc_life_budget(&c);
        break;

    case LC_EV_LEASE_LOST:
        rec->busy = 0;
        lc_life_schedule(&c, ev->now_ms);
        break;

    case LC_EV_DNS:
        lc_life_dns(&c);
        break;

    case LC_EV_RENEW:
        lc_life_renew(&c);
        break;

    case LC_EV_ARI:
        lc_life_ari(&c);
        break;

    case LC_EV_ARI_FAILED:
        lc_life_ari_failed(&c);
        break;

    case LC_EV_ISSUED:
        lc_life_issued(&c);
        break;

    case LC_EV_ORDER_FAILED:
        lc_life_order_failed(&c);
        break;

    case LC_EV_EXPIRED:
        lc_life_expired(&c);
        break;

    case LC_EV_LOADED:
        lc_life_loaded(&c);
        break;

    case LC_EV_SEEN:
        lc_life_seen(&c);
        break;

    case LC_EV_GONE:
        lc_life_gone(&c);
        break;

    default:
        break;
    }
}


int
lc_lifecycle_account_lost(const lc_error_t *err)
{
    return strcmp(err->type, "urn:ietf:params:acme:error:accountDoesNotExist")
           == 0;
}


int
lc_lifecycle_serving(const lc_lifecycle_t *rec)
{
    return rec->status == LC_STATUS_ISSUED || rec->moved;
}


lc_lifecycle_demand_e
lc_lifecycle_demand(const lc_lifecycle_t *rec, time_t now)
{
    if (lc_lifecycle_serving(rec)) {
        return (now >= rec->not_before && now < rec->not_after)
               ? LC_DEMAND_SERVED : LC_DEMAND_NO;
    }

    /* worth waiting for: being verified or ordered now, not later */

    if (rec->status == LC_STATUS_PENDING && rec->next_attempt_at <= now) {
        return LC_DEMAND_WAIT;
    }

    return LC_DEMAND_NO;
}


const char *
lc_lifecycle_event_name(lc_lifecycle_event_e type)
{
    return (type < LC_EV_N) ? lc_lifecycle_events[type] : "?";
}


const char *
lc_lifecycle_action_name(lc_lifecycle_action_e action)
{
    return (action < LC_DO_N) ? lc_lifecycle_actions[action] : "?";
}


/*
 * "Verify domain": a verification now unless one is running or due, or
 * one was forced less than 10 seconds ago.  An issued domain (or one
 * whose DNS moved) is checked again; with reissue, a new key is ordered
 * once the DNS passes, if the glue's limits allow it.
 */

static void
lc_life_post(lc_life_ctx_t *c)
{
    int                     issued;
    lc_lifecycle_t         *rec;
    lc_lifecycle_result_t  *res;

    rec = c->rec;
    res = c->res;
    issued = lc_lifecycle_serving(rec);

    if (rec->busy
        || (rec->stage == LC_STAGE_VERIFYING
            && rec->due != 0
            && (int64_t) (rec->due - c->ev->now_ms) <= 0))
    {
        res->post = LC_POST_BUSY;
        return;
    }

    if (rec->forced_at
        && c->ev->now - rec->forced_at < LC_LIFECYCLE_FORCE_INTERVAL)
    {
        res->retry_after = LC_LIFECYCLE_FORCE_INTERVAL
                           - (c->ev->now - rec->forced_at);
        res->post = LC_POST_TOO_SOON;
        return;
    }

    if (c->ev->reissue && issued) {

        if (c->ev->limits == LC_LIFECYCLE_UNASKED) {
            res->action = LC_DO_LIMITS;
            return;
        }

        if (c->ev->limits != LC_LIFECYCLE_ALLOWED) {
            res->post = LC_POST_REFUSED;
            return;
        }
    }

    res->post = issued ? (c->ev->reissue ? LC_POST_REISSUE : LC_POST_RECHECK)
                       : LC_POST_STARTED;

    rec->reissue = (res->post == LC_POST_REISSUE);
    rec->origin = LC_ORIGIN_POST;

    /* asked for by the CRM: kept whatever the DNS says, as any other */

    res->flags |= LC_LIFE_UNREFUSE;
    rec->candidate = 0;

    if (rec->status != LC_STATUS_ISSUED) {
        lc_life_set_status(c, LC_STATUS_PENDING, LC_STAGE_VERIFYING);

    } else {
        rec->stage = LC_STAGE_VERIFYING;
    }

    /* the answer is about the new check: no error of an older one */

    lc_error_clear(&rec->error);
    rec->error_at = 0;

    /*
     * A claim is asked for as a POST (its order takes the budget a POST's
     * does) but does not hold the CRM's next "Verify domain" back.
     */

    rec->forced_at = c->ev->claimed
                     ? c->ev->now - LC_LIFECYCLE_FORCE_INTERVAL
                     : c->ev->now;
    rec->attempts = 0;
    rec->updated_at = c->ev->now;
    rec->next_attempt_at = c->ev->now;

    lc_life_schedule(c, c->ev->now_ms);
    res->flags |= LC_LIFE_NOTIFY;
}


/* a name seen on demand passed the gates: pending while it is verified */

static void
lc_life_admit(lc_life_ctx_t *c)
{
    c->rec->candidate = 1;
    c->rec->origin = LC_ORIGIN_ON_DEMAND;

    lc_life_set_status(c, LC_STATUS_PENDING, LC_STAGE_VERIFYING);
    c->rec->updated_at = c->ev->now;
    c->rec->next_attempt_at = c->ev->now;
    lc_life_schedule(c, c->ev->now_ms);

    c->res->counters |= LC_COUNT_ADMITTED;
}


/*
 * linkcert_ask refused it: a candidate leaves, not admitted again for
 * linkcert_negative_ttl, or for a minute at most when it did not answer;
 * any other domain goes on.
 */

static void
lc_life_refuse(lc_life_ctx_t *c)
{
    lc_life_job_end(c);

    if (c->rec->candidate) {
        c->res->action = LC_DO_REMOVE;
        c->res->ttl = c->conf->negative_ttl;

        if (!c->ev->ok && c->res->ttl > LC_LIFECYCLE_DNS_NO_ANSWER) {
            c->res->ttl = LC_LIFECYCLE_DNS_NO_ANSWER;
        }

        c->res->counters |= LC_COUNT_REFUSED_ASK;
        return;
    }

    /* no longer only on demand: verified as any other domain */

    lc_life_schedule(c, c->ev->now_ms);
}


/*
 * Its time has come: an expired certificate is noticed; an order waits
 * for a slot and the account, a new one for its budgets (the glue's,
 * LC_DO_BUDGET); otherwise a job takes it, leased for ev->lease ms.
 */

static void
lc_life_due(lc_life_ctx_t *c)
{
    lc_lifecycle_t  *rec;

    rec = c->rec;

    if (lc_lifecycle_serving(rec) && c->ev->now >= rec->not_after) {
        lc_life_expired(c);
        return;
    }

    if (rec->stage == LC_STAGE_ORDERING || rec->stage == LC_STAGE_RENEWING) {

        if (!c->ev->orders) {
            c->res->action = LC_DO_WAIT;
            return;
        }

        /*
         * On demand, new orders keep within the budgets (renewals are
         * exempt).  A name the CRM asked for ("Verify domain") takes its
         * share at once, so that strangers' first clicks wait for it,
         * never the other way round.
         */

        c->res->flags |= lc_limits_budgets(rec, c->conf);

        /* a reissue is a new order, whatever the renewal time */

        c->res->action = (rec->stage == LC_STAGE_ORDERING || rec->reissue)
                         ? LC_DO_ORDER : LC_DO_RENEW;

    } else {
        c->res->action = (rec->candidate && c->conf->ask)
                         ? LC_DO_ASK : LC_DO_VERIFY;

        /* an issued domain whose DNS is checked again */
        rec->stage = LC_STAGE_VERIFYING;
    }

    rec->busy = 1;
    lc_life_schedule(c, c->ev->now_ms + c->ev->lease);
}


/* a budget of the glue keeps a new order waiting until ev->at */

static void
lc_life_budget(lc_life_ctx_t *c)
{
    c->rec->error = *c->ev->error;
    c->rec->error_at = c->ev->now;
    c->rec->next_attempt_at = c->ev->at;
    lc_life_schedule(c, (uint64_t) c->ev->at * 1000);

    c->res->flags |= LC_LIFE_CHANGED | LC_LIFE_NOTIFY;
}


/*
 * The outcome of a DNS verification.  An issued domain keeps its status
 * whatever the DNS says, unless it says no: its certificate stays valid
 * and is still served.
 */

static void
lc_life_dns(lc_life_ctx_t *c)
{
    int              issued;
    time_t           ttl;
    lc_lifecycle_t  *rec;

    rec = c->rec;

    lc_life_job_end(c);

    /* a certificate to keep serving: issued, or kept while DNS moved */

    issued = lc_lifecycle_serving(rec);

    /* an on-demand name that does not point here leaves the table */

    if (rec->candidate) {

        if (c->ev->dns != LC_VERIFY_VERIFIED) {
            c->res->counters |= (c->ev->dns == LC_VERIFY_TRANSIENT)
                                ? LC_COUNT_DNS_TRANSIENT
                                : LC_COUNT_DNS_FAILED;

            /*
             * A DNS that said no is asked again at the next click after
             * 30 s (the customer may be fixing it), one that did not
             * answer after a minute at most.
             */

            ttl = (c->ev->dns == LC_VERIFY_TRANSIENT)
                  ? LC_LIFECYCLE_DNS_NO_ANSWER : LC_LIFECYCLE_DNS_RETRY;

            c->res->ttl = (c->conf->negative_ttl < ttl)
                          ? c->conf->negative_ttl : ttl;
            c->res->action = LC_DO_REMOVE;
            c->res->counters |= LC_COUNT_REFUSED_DNS;
            return;
        }

        rec->candidate = 0;
    }

    switch (c->ev->dns) {

    case LC_VERIFY_VERIFIED:
        lc_life_dns_verified(c, issued);
        break;

    case LC_VERIFY_TRANSIENT:
        lc_life_dns_transient(c, issued);
        break;

    default: /* LC_VERIFY_FAILED */
        lc_life_dns_failed(c, issued);
        break;
    }

    c->res->flags |= LC_LIFE_NOTIFY;
}


static void
lc_life_dns_verified(lc_life_ctx_t *c, int issued)
{
    time_t           now;
    unsigned         acme;
    lc_lifecycle_t  *rec;

    rec = c->rec;
    now = c->ev->now;
    acme = c->ev->acme;

    c->res->counters |= LC_COUNT_DNS_VERIFIED;
    rec->attempts = 0;
    rec->next_attempt_at = 0;
    lc_error_clear(&rec->error);
    rec->error_at = 0;

    if (!issued) {
        lc_life_set_status(c, LC_STATUS_PENDING, LC_STAGE_ORDERING);

        if (acme) {
            lc_life_schedule_order(c);

        } else {
            lc_error_set(&rec->error, LC_ERR_NO_ACME_DIRECTORY,
                         "no CA is configured (linkcert_acme_directory): "
                         "the certificate is not ordered");
            rec->error_at = now;
        }

        return;
    }

    /* back from elsewhere: issued again, with the same certificate */

    if (rec->moved) {
        rec->moved = 0;
        lc_life_set_status(c, LC_STATUS_ISSUED, LC_STAGE_ISSUED);
    }

    /*
     * The DNS still points here: the ACME driver renews when renew_at or
     * the time picked in the CA's window has come, and asks the CA's
     * renewal information when it has some and it is time to ask again.
     * A reissue orders a new key whatever the renewal time.
     */

    if (!(acme & LC_LIFECYCLE_ACME)) {
        rec->reissue = 0;
    }

    if ((acme & LC_LIFECYCLE_ACME)
        && (rec->reissue
            || (acme & LC_LIFECYCLE_ACCOUNT)
            || ((acme & LC_LIFECYCLE_ARI) && now >= rec->ari_at)
            || (rec->renew_ari && now >= rec->renew_ari)
            || now >= lc_life_renew_time(c)))
    {
        rec->stage = LC_STAGE_RENEWING;
        lc_life_schedule_order(c);

    } else {
        rec->stage = LC_STAGE_ISSUED;
        lc_life_schedule_issued(c, 0);
    }
}


/* no answer: retried with backoff; after 3 in a row, an error to show */

static void
lc_life_dns_transient(lc_life_ctx_t *c, int issued)
{
    time_t           delay;
    lc_lifecycle_t  *rec;

    rec = c->rec;

    c->res->counters |= LC_COUNT_DNS_TRANSIENT;
    rec->attempts++;
    rec->error_at = c->ev->now;
    delay = lc_lifecycle_backoff(rec->attempts, c->ev->random[0]);

    if (rec->attempts >= 3) {
        lc_error_set(&rec->error, LC_ERR_DNS_UNREACHABLE,
                     "no answer from DNS %d times; last: %s",
                     (int) rec->attempts, c->ev->error->detail);

        if (issued) {
            lc_life_keep_serving(c);

        } else {
            lc_life_set_status(c, LC_STATUS_UNKNOWN, LC_STAGE_FAILED);
        }

    } else {
        rec->error = *c->ev->error;

        if (issued) {
            lc_life_keep_serving(c);

        } else {
            lc_life_set_status(c, LC_STATUS_PENDING, LC_STAGE_VERIFYING);
        }
    }

    lc_life_schedule_in(c, delay);
}


static void
lc_life_dns_failed(lc_life_ctx_t *c, int issued)
{
    lc_lifecycle_t  *rec;

    rec = c->rec;

    c->res->counters |= LC_COUNT_DNS_FAILED;
    rec->attempts = 0;
    rec->next_attempt_at = 0;
    rec->error = *c->ev->error;
    rec->error_at = c->ev->now;

    if (!issued) {
        lc_life_set_status(c, LC_STATUS_UNKNOWN, LC_STAGE_FAILED);
        return;
    }

    /*
     * The customer moved the domain away: unknown, so that the CRM asks
     * them to act, and not renewed; the valid certificate is still served
     * until it expires, and the DNS is checked again within the hour, so
     * that the domain is issued again by itself once it points back.
     */

    rec->moved = 1;
    rec->reissue = 0;
    lc_life_set_status(c, LC_STATUS_UNKNOWN, LC_STAGE_FAILED);
    lc_life_schedule_in(c, LC_LIFECYCLE_MOVED_CHECK);
}


static void
lc_life_issued(lc_life_ctx_t *c)
{
    time_t           now;
    lc_lifecycle_t  *rec;

    rec = c->rec;
    now = c->ev->now;

    lc_life_job_end(c);

    rec->renew_ari = 0;
    rec->ari_at = now + 3600;
    rec->not_before = c->ev->not_before;
    rec->not_after = c->ev->not_after;

    lc_life_set_status(c, LC_STATUS_ISSUED, LC_STAGE_ISSUED);
    lc_error_clear(&rec->error);
    rec->error_at = 0;
    rec->attempts = 0;
    rec->next_attempt_at = 0;
    rec->moved = 0;

    /* a new certificate is not renewed again within the hour */
    lc_life_schedule_issued(c, now + 3600);

    lc_life_count_order(c, LC_COUNT_ORDER_ISSUED);

    /* a reissue is the CRM's order, not a renewal */

    if (c->old_stage == LC_STAGE_RENEWING && !rec->reissue) {
        c->res->counters |= LC_COUNT_RENEWAL;
    }

    rec->reissue = 0;
    c->res->flags |= LC_LIFE_NEW_CERT | LC_LIFE_NOTIFY;
}


/*
 * A transient failure keeps the domain pending and retries with backoff
 * (or the CA's Retry-After); any other failure needs the customer: the
 * domain is unknown until a new "Verify domain", or, issued, its renewal
 * is tried again in 100 minutes.  Failed validations are counted: after
 * 2 within the hour, the next order waits for the hour to end.
 */

static void
lc_life_order_failed(lc_life_ctx_t *c)
{
    time_t           now, delay;
    lc_lifecycle_t  *rec;

    rec = c->rec;
    now = c->ev->now;

    /* not the domain's failure: due again as soon as the account is */

    if (lc_lifecycle_account_lost(c->ev->error)) {
        rec->busy = 0;
        lc_life_schedule(c, c->ev->now_ms);
        return;
    }

    if (lc_life_same_wait(c)) {
        /* only its next try is new: the status and the error are kept */
        rec->busy = 0;
        lc_life_schedule_in(c, (c->ev->retry_after > 1)
                               ? c->ev->retry_after : 1);
        return;
    }

    lc_life_job_end(c);

    rec->error = *c->ev->error;
    rec->error_at = now;

    if (!c->ev->transient) {
        lc_life_count_order(c, LC_COUNT_ORDER_FAILED);

        lc_limits_validation_failed(&rec->val_failures, &rec->val_window,
                                    now);
        rec->attempts = 0;
        rec->next_attempt_at = 0;
        rec->reissue = 0;

        if (rec->status != LC_STATUS_ISSUED) {
            lc_life_set_status(c, LC_STATUS_UNKNOWN, LC_STAGE_FAILED);

        } else {
            /* a failed renewal: tried again while the certificate lasts */
            rec->stage = LC_STAGE_ISSUED;
            lc_life_schedule_in(c, LC_LIFECYCLE_RENEW_RETRY);
        }

        c->res->flags |= LC_LIFE_NOTIFY;
        return;
    }

    if (c->ev->transient == LC_LIFECYCLE_NO_ACCOUNT) {
        /* no order was placed: it waits for the account, not a backoff */
        delay = (c->ev->retry_after > 1) ? c->ev->retry_after : 1;

    } else {
        lc_life_count_order(c, LC_COUNT_ORDER_TRANSIENT);
        rec->attempts++;
        delay = lc_lifecycle_backoff(rec->attempts, c->ev->random[0]);

        if (c->ev->retry_after > delay) {
            delay = c->ev->retry_after;
        }
    }

    lc_life_schedule_in(c, delay);

    if (rec->status != LC_STATUS_ISSUED) {
        lc_life_set_status(c, LC_STATUS_PENDING, LC_STAGE_ORDERING);
    }

    c->res->flags |= LC_LIFE_NOTIFY;
}


/*
 * A job that placed no order found the same wait as the one before (the
 * same holder of the domain's lease, the same account): the status and
 * its last_error (with its "at", when the wait began) stay as they are,
 * not notified again (no webhook, no write to Redis), and held
 * handshakes are not woken for it.
 */

static int
lc_life_same_wait(lc_life_ctx_t *c)
{
    lc_lifecycle_t  *rec;

    rec = c->rec;

    return c->ev->transient == LC_LIFECYCLE_NO_ACCOUNT
           && (rec->status == LC_STATUS_ISSUED
               || (rec->status == LC_STATUS_PENDING
                   && rec->stage == LC_STAGE_ORDERING))
           && strcmp(rec->error.type, c->ev->error->type) == 0
           && strcmp(rec->error.detail, c->ev->error->detail) == 0;
}


/* expired without a successor: never served again, the customer acts */

static void
lc_life_expired(lc_life_ctx_t *c)
{
    char             at[32];
    lc_lifecycle_t  *rec;

    rec = c->rec;

    rec->moved = 0;
    rec->due = 0;
    lc_life_set_status(c, LC_STATUS_UNKNOWN, LC_STAGE_FAILED);

    lc_time_rfc3339(rec->not_after, at);
    lc_error_set(&rec->error, LC_ERR_EXPIRED,
                 "the certificate expired on %s without a successor", at);
    rec->error_at = c->ev->now;
    rec->updated_at = c->ev->now;
    rec->next_attempt_at = 0;

    c->res->flags |= LC_LIFE_NOTIFY;
}


/*
 * The store's files for the domain, read at start or on a reload: a
 * valid certificate is issued and checked in the renewal pass; files
 * that cannot be used make the domain unknown with why.  Files read for
 * a new entry are no change to notify.  Another certificate from the
 * fleet (every order makes a new key) is the reissue asked for here, if
 * one is: a reissue POSTed while another edge's new certificate was on
 * its way here, or this edge's own reissue order finished by the edge
 * that took its lease over, is not ordered a second time.
 */

static void
lc_life_loaded(lc_life_ctx_t *c)
{
    lc_lifecycle_t  *rec;

    rec = c->rec;

    rec->updated_at = c->ev->now;
    rec->moved = 0;             /* new files: their DNS is checked again */

    if (c->ev->ok) {
        if (rec->status != LC_STATUS_ISSUED || !c->ev->same) {
            c->res->flags |= LC_LIFE_NEW_CERT;
            rec->renew_ari = 0;
            rec->ari_at = 0;    /* another certificate: ask at once */

            if (c->ev->fleet) {
                rec->reissue = 0;
            }
        }

        rec->not_before = c->ev->not_before;
        rec->not_after = c->ev->not_after;

        lc_life_set_status(c, LC_STATUS_ISSUED, LC_STAGE_ISSUED);
        lc_error_clear(&rec->error);
        rec->error_at = 0;
        rec->next_attempt_at = 0;

        lc_life_schedule_pass(c, c->ev->issued
                                 + (c->old_status != LC_STATUS_ISSUED));

    } else {
        lc_life_set_status(c, LC_STATUS_UNKNOWN, LC_STAGE_FAILED);
        rec->not_before = 0;
        rec->not_after = 0;
        rec->error = *c->ev->error;
        rec->error_at = c->ev->now;
    }

    c->res->flags |= LC_LIFE_NOTIFY | (c->ev->created ? LC_LIFE_QUIET : 0);
}


/*
 * A reload is a renewal pass.  A domain a job holds now is checked again
 * when the job ends: the job may still decide with the old configuration.
 */

static void
lc_life_seen(lc_life_ctx_t *c)
{
    lc_lifecycle_t  *rec;

    rec = c->rec;

    if (!lc_lifecycle_serving(rec)) {
        return;
    }

    if ((rec->stage == LC_STAGE_ISSUED || rec->stage == LC_STAGE_FAILED)
        && !rec->busy)
    {
        lc_life_schedule_pass(c, c->ev->issued);

    } else {
        rec->repass = 1;
    }
}


/* the store is the source of truth for certificates */

static void
lc_life_gone(lc_life_ctx_t *c)
{
    c->rec->moved = 0;
    c->rec->updated_at = c->ev->now;
    c->rec->error_at = c->ev->now;
    lc_life_set_status(c, LC_STATUS_UNKNOWN, LC_STAGE_FAILED);
    lc_error_set(&c->rec->error, LC_ERR_STORE_UNREADABLE,
                 "the certificate files are gone from the store");

    c->res->flags |= LC_LIFE_NOTIFY;
}


/* the job that held the domain is over: not due until decided again */

void
lc_life_job_end(lc_life_ctx_t *c)
{
    c->rec->busy = 0;
    c->rec->due = 0;
    c->rec->updated_at = c->ev->now;
}


static void
lc_life_set_status(lc_life_ctx_t *c, lc_status_e status, lc_stage_e stage)
{
    c->rec->status = status;
    c->rec->stage = stage;
    c->res->flags |= LC_LIFE_CHANGED;
}


/* a check that did not conclude leaves a served certificate as it was */

static void
lc_life_keep_serving(lc_life_ctx_t *c)
{
    if (c->rec->moved) {
        lc_life_set_status(c, LC_STATUS_UNKNOWN, LC_STAGE_FAILED);

    } else {
        c->rec->stage = LC_STAGE_ISSUED;
    }
}


/* an order is over: an order for an issued domain is a renewal */

static void
lc_life_count_order(lc_life_ctx_t *c, unsigned counter)
{
    c->res->counters |= counter;
    c->res->origin = ((c->old_status == LC_STATUS_ISSUED
                       || c->old_stage == LC_STAGE_RENEWING)
                      && !c->rec->reissue)
                     ? LC_ORIGIN_RENEWAL : (lc_origin_e) c->rec->origin;
}
