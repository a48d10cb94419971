/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the limiters' decisions (see lc_limits.h).
 */

#include "lc_limits.h"
#include "lc_status.h"


uint64_t
lc_limits_rate(uint64_t *tat, uint64_t now, uint64_t interval,
    unsigned long burst)
{
    uint64_t  t, allowance;

    t = (*tat > now) ? *tat : now;
    allowance = (burst - 1) * interval;

    if (t - now > allowance) {
        return t - now - allowance;
    }

    *tat = t + interval;

    return 0;
}


void
lc_limits_rate_take(uint64_t *tat, uint64_t now, uint64_t interval)
{
    *tat = ((*tat > now) ? *tat : now) + interval;
}


int
lc_limits_admit(uint64_t *tat, uint64_t now_ms, unsigned long candidates)
{
    if (candidates >= LC_LIMITS_CANDIDATES_MAX) {
        return 0;
    }

    return lc_limits_rate(tat, now_ms, LC_LIMITS_ADMIT_INTERVAL,
                          LC_LIMITS_ADMIT_BURST)
           == 0;
}


uint64_t
lc_limits_order_interval(unsigned long rate)
{
    return 3600000 / (rate ? rate : 1);
}


time_t
lc_limits_order_budget(uint64_t *tat, uint64_t now_ms, unsigned long rate,
    lc_error_t *err)
{
    uint64_t  wait;

    wait = lc_limits_rate(tat, now_ms, lc_limits_order_interval(rate), rate);

    if (wait == 0) {
        return 0;
    }

    lc_limits_order_budget_error(err, rate);

    return lc_limits_seconds(wait);
}


time_t
lc_limits_seconds(uint64_t ms)
{
    return (time_t) ((ms + 999) / 1000);
}


void
lc_limits_order_budget_error(lc_error_t *err, unsigned long rate)
{
    lc_error_set(err, LC_ERR_ORDER_BUDGET,
                 "the budget of %lu new orders per hour is spent "
                 "(linkcert_order_rate)", rate);
}


void
lc_limits_order_take(uint64_t *tat, uint64_t now_ms, unsigned long rate)
{
    lc_limits_rate_take(tat, now_ms, lc_limits_order_interval(rate));
}


void
lc_limits_tally(lc_limits_tally_t *t, time_t since, int issued,
    time_t began, int running)
{
    if (issued && began >= since) {
        t->n++;

        if (t->first == 0 || began < t->first) {
            t->first = began;
        }

    } else if (running) {
        t->n++;
    }
}


time_t
lc_limits_registered(const lc_limits_tally_t *t, unsigned long limit,
    time_t now, const char *name, size_t len, lc_error_t *err)
{
    if (limit == 0 || t->n < limit) {
        return 0;
    }

    lc_limits_registered_error(err, limit, name, len);

    return t->first ? t->first + LC_LIMITS_DOMAIN_WINDOW : now + 3600;
}


void
lc_limits_registered_error(lc_error_t *err, unsigned long limit,
    const char *name, size_t len)
{
    lc_error_set(err, LC_ERR_REGISTERED_DOMAIN_LIMIT,
                 "%.*s has had its %lu certificates of the last 7 days "
                 "(linkcert_registered_domain_limit)",
                 (int) len, name, limit);
}


time_t
lc_limits_validations(unsigned failures, time_t window, time_t now,
    lc_error_t *err)
{
    if (failures < LC_LIMITS_VALIDATIONS
        || now - window >= LC_LIMITS_VALIDATION_WINDOW)
    {
        return 0;
    }

    lc_limits_validations_error(err);

    return window + LC_LIMITS_VALIDATION_WINDOW;
}


void
lc_limits_validations_error(lc_error_t *err)
{
    lc_error_set(err, LC_ERR_VALIDATION_LIMIT,
                 "%d failed validations within the hour: the next order "
                 "waits until the hour is over", LC_LIMITS_VALIDATIONS);
}


void
lc_limits_validation_failed(unsigned char *failures, time_t *window,
    time_t now)
{
    if (now - *window >= LC_LIMITS_VALIDATION_WINDOW) {
        *window = now;
        *failures = 0;
    }

    if (*failures < 255) {
        (*failures)++;
    }
}


unsigned
lc_limits_duplicates(time_t window, unsigned count, time_t now)
{
    if (now - window >= LC_LIMITS_DUPLICATE_WINDOW) {
        return 0;
    }

    return count;
}


void
lc_limits_duplicate_add(time_t *window, unsigned *count, time_t since)
{
    if (lc_limits_duplicates(*window, *count, since) == 0) {
        *window = since;
        *count = 0;
    }

    if (*count < 255) {
        (*count)++;
    }
}


time_t
lc_limits_reissue(time_t window, unsigned count, time_t now,
    lc_error_t *err)
{
    char  at[32];

    if (lc_limits_duplicates(window, count, now) < LC_LIMITS_DUPLICATES) {
        return 0;
    }

    lc_time_rfc3339(window + LC_LIMITS_DUPLICATE_WINDOW, at);
    lc_error_set(err, LC_ERR_DUPLICATE_LIMIT,
                 "%u certificates for this name within 7 days: no reissue "
                 "before %s (the CA's duplicate limit)", count, at);

    return window + LC_LIMITS_DUPLICATE_WINDOW - now;
}


unsigned
lc_limits_budgets(const lc_lifecycle_t *rec, const lc_lifecycle_conf_t *conf)
{
    if (rec->stage != LC_STAGE_ORDERING || !conf->on_demand) {
        return 0;
    }

    return rec->forced_at ? LC_LIFE_BUDGET_TAKE : LC_LIFE_BUDGET;
}
