/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the lifecycle's clock: when a domain's next work is due,
 * renewal and re-check times, and the backoff.
 */

#include <string.h>

#include "lc_lifecycle.h"
#include "lc_lifecycle_int.h"
#include "lc_acme.h"
#include "lc_limits.h"


time_t
lc_lifecycle_renew_time(time_t not_before, time_t not_after,
    unsigned renew_at)
{
    return not_before + (not_after - not_before) * (time_t) renew_at / 100;
}


time_t
lc_lifecycle_renewal(const lc_lifecycle_t *rec,
    const lc_lifecycle_conf_t *conf)
{
    if (rec->status != LC_STATUS_ISSUED || rec->not_after == 0) {
        return 0;
    }

    return lc_life_renewal(rec, conf);
}


time_t
lc_lifecycle_backoff_base(unsigned attempts)
{
    return (attempts <= 1) ? 60 : (attempts == 2) ? 600 : 6000;
}


/*
 * Every order waits for the account (and every new worker 0 sets it up
 * again), so a passing fault of the CA (no answer, a 5xx, a bad nonce) is
 * retried soon; a refused EAB or a malformed request waits 1 min, 10 min,
 * then 100 min.
 */

time_t
lc_lifecycle_account_retry(unsigned failures, int transient,
    time_t retry_after)
{
    time_t  delay;

    if (failures == 0) {
        failures = 1;
    }

    if (transient) {
        delay = (failures > 9) ? 300 : (time_t) 1 << (failures - 1);

    } else {
        delay = lc_lifecycle_backoff_base(failures);
    }

    return (retry_after > delay) ? retry_after : delay;
}


/* within +/-10%, so that retries spread out */

time_t
lc_lifecycle_backoff(unsigned attempts, unsigned long random)
{
    time_t  base;

    base = lc_lifecycle_backoff_base(attempts);

    return base - base / 10 + (time_t) (random % (unsigned long)
                                         (base / 5 + 1));
}


void
lc_life_schedule(lc_life_ctx_t *c, uint64_t at)
{
    lc_lifecycle_t  *rec;

    rec = c->rec;

    /* a start or reload pass came while a job held it: due at once */

    if (rec->repass && !rec->busy) {
        rec->repass = 0;

        if (at > c->ev->now_ms) {
            at = c->ev->now_ms;
        }
    }

    /* whatever else is planned, an expiry is noticed when it happens */

    if (lc_lifecycle_serving(rec) && at > (uint64_t) rec->not_after * 1000) {
        at = (uint64_t) rec->not_after * 1000;
    }

    /* 0 means "not scheduled" */
    rec->due = at ? at : 1;
}


void
lc_life_schedule_in(lc_life_ctx_t *c, time_t delay)
{
    c->rec->next_attempt_at = c->ev->now + delay;
    lc_life_schedule(c, c->ev->now_ms + (uint64_t) delay * 1000);
}


/*
 * Orders after two failed validations within the hour wait for the hour
 * to end (Let's Encrypt allows five): a broken domain must not burn the
 * account's failure limit.
 */

void
lc_life_schedule_order(lc_life_ctx_t *c)
{
    time_t           now, at;
    lc_error_t       err;
    lc_lifecycle_t  *rec;

    rec = c->rec;
    now = c->ev->now;

    at = lc_limits_validations(rec->val_failures, rec->val_window, now, &err);

    if (at) {
        rec->error = err;
        rec->error_at = now;

    } else {
        at = now;
    }

    rec->next_attempt_at = at;
    lc_life_schedule(c, (uint64_t) at * 1000);
}


/*
 * An issued domain's next work: its renewal (renew_at of its lifetime, or
 * the time picked in the CA's window), or sooner the periodic DNS check
 * (every reverify_interval, +/-10%) or the next question to the CA's
 * renewal information (a check too); not before floor, not after expiry.
 */

void
lc_life_schedule_issued(lc_life_ctx_t *c, time_t floor)
{
    time_t           now, at, check, interval;
    lc_lifecycle_t  *rec;

    rec = c->rec;
    now = c->ev->now;

    if (!c->conf->verify) {
        /* nothing to verify with: only expiry is watched */
        lc_life_schedule(c, (uint64_t) rec->not_after * 1000);
        return;
    }

    interval = c->conf->reverify_interval;

    at = lc_life_renewal(rec, c->conf);
    check = now + interval - interval / 10
            + (time_t) (c->ev->random[0] % (unsigned long) (interval / 5 + 1));

    /* asking the CA's renewal information again comes with a check */

    if (rec->ari_at > now && rec->ari_at < check) {
        check = rec->ari_at;
    }

    /* a renewal time that passed without a renewal: the next check */

    if (check < at || at <= now) {
        at = check;
    }

    if (at < floor) {
        at = floor;
    }

    if (at > rec->not_after) {
        at = rec->not_after;
    }

    lc_life_schedule(c, (uint64_t) at * 1000);
}


/*
 * Start-up and reloads are renewal passes: every issued domain is checked
 * within seconds, from a second on (the workers of the new cycle are up
 * by then), spread at 500 domains a second so that a large table does
 * not flood the DNS or the CA, but within half of reverify_interval.  A
 * domain whose renewal is due does not wait behind the pass (200 s at
 * 100,000 domains): it is checked from the first second.
 */

void
lc_life_schedule_pass(lc_life_ctx_t *c, unsigned long issued)
{
    uint64_t  spread, half;

    if (!c->conf->verify) {
        lc_life_schedule_issued(c, 0);
        return;
    }

    if (lc_life_renewal(c->rec, c->conf) <= c->ev->now) {
        lc_life_schedule(c, c->ev->now_ms + 1000);
        return;
    }

    spread = (issued * 2 > 4000) ? (uint64_t) issued * 2 : 4000;
    half = (uint64_t) c->conf->reverify_interval * 500;

    if (spread > half) {
        spread = half;
    }

    lc_life_schedule(c, c->ev->now_ms + 1000 + c->ev->random[0] % spread);
}


time_t
lc_life_renew_time(lc_life_ctx_t *c)
{
    return lc_lifecycle_renew_time(c->rec->not_before, c->rec->not_after,
                                   c->conf->renew_at);
}


time_t
lc_life_renewal(const lc_lifecycle_t *rec, const lc_lifecycle_conf_t *conf)
{
    time_t  at;

    at = lc_lifecycle_renew_time(rec->not_before, rec->not_after,
                                 conf->renew_at);

    if (rec->renew_ari && rec->renew_ari < at) {
        at = rec->renew_ari;
    }

    return at;
}
