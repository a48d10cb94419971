/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the lifecycle's renewals: whether an issued domain renews
 * now, and the CA's renewal information (RFC 9773) that may move it.
 */

#include "lc_lifecycle.h"
#include "lc_lifecycle_int.h"
#include "lc_acme.h"


static void lc_life_renew_later(lc_life_ctx_t *c, time_t planned,
    time_t ari_at);


/*
 * An issued domain whose DNS was just checked, in the ACME driver: the
 * CA's renewal information is asked when it is time to (and the
 * certificate's ID is known), the renewal placed when renew_at or the
 * time picked in the CA's window has come, or the domain waits.
 */

void
lc_life_renew(lc_life_ctx_t *c)
{
    time_t           now;
    lc_lifecycle_t  *rec;

    rec = c->rec;
    now = c->ev->now;

    if (rec->status != LC_STATUS_ISSUED) {
        c->res->action = LC_DO_ORDER;
        return;
    }

    if (c->ev->cert_id && now >= rec->ari_at) {
        c->res->action = LC_DO_ASK_ARI;
        return;
    }

    if (now < lc_life_renew_time(c)
        && (rec->renew_ari == 0 || now < rec->renew_ari))
    {
        lc_life_renew_later(c, rec->renew_ari, 0);
        return;
    }

    c->res->action = LC_DO_ORDER;
    c->res->replaces = (rec->renew_ari && c->ev->cert_id);
}


/*
 * The CA's suggested window (RFC 9773): a random time in it, or renew_at
 * if that comes first; the CA is asked again in 12 hours, or after its
 * Retry-After when that is longer (lc_acme_ari_next()).  An answer
 * without a usable window counts as one at renew_at.
 */

void
lc_life_ari(lc_life_ctx_t *c)
{
    time_t  now, renew, start, end, retry, at;

    now = c->ev->now;
    renew = lc_life_renew_time(c);

    if (c->ev->ok) {
        start = c->ev->start;
        end = c->ev->end;
        retry = c->ev->retry_after;

    } else {
        start = renew;
        end = renew + 1;
        retry = 0;
    }

    at = start;

    if (end > start) {
        at += (time_t) (c->ev->random[1] % (unsigned long) (end - start));
    }

    if (renew < at) {
        at = renew;
    }

    if (at <= now) {
        c->res->action = LC_DO_ORDER;
        c->res->replaces = 1;
        return;
    }

    /* the renewal planned; the CA is asked again before it, if sooner */

    lc_life_renew_later(c, at, lc_acme_ari_next(now, retry));
}


/* no renewal information: renew_at alone decides, asked again as long */

void
lc_life_ari_failed(lc_life_ctx_t *c)
{
    time_t  now;

    now = c->ev->now;

    if (now < lc_life_renew_time(c)) {
        lc_life_renew_later(c, 0, lc_acme_ari_next(now, c->ev->retry_after));
        return;
    }

    c->res->action = LC_DO_ORDER;
}


/*
 * Not the time to renew: the renewal planned in the CA's window (0: none,
 * renew_at alone) and when to ask the CA again (0: as it was).
 */

static void
lc_life_renew_later(lc_life_ctx_t *c, time_t planned, time_t ari_at)
{
    lc_lifecycle_t  *rec;

    rec = c->rec;

    lc_life_job_end(c);

    rec->renew_ari = planned;

    if (ari_at) {
        rec->ari_at = ari_at;
    }

    if (rec->status == LC_STATUS_ISSUED) {
        rec->stage = LC_STAGE_ISSUED;
        lc_life_schedule_issued(c, 0);

    } else {
        lc_life_schedule(c, c->ev->now_ms);
    }
}
