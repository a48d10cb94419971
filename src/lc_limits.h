/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the limiters' decisions, as pure functions: counts and times
 * in, a decision and the time it may go on out.  The glue keeps the
 * counters (in the zone under its lock, or in Redis for the fleet) and
 * asks these; no clock, no I/O here.
 *
 * - the admission of new names on demand: 10 a second, bursts of 20,
 *   64 in the DNS gate at a time;
 * - the order budget (linkcert_order_rate, per hour, all at once);
 * - the registered-domain limit (linkcert_registered_domain_limit,
 *   certificates within 7 days);
 * - the failed-validation limit (2 per name within the hour);
 * - the duplicate-certificate window of a reissue (4 a week).
 *
 * Rates are a theoretical arrival time (GCRA) in milliseconds.
 */

#ifndef LC_LIMITS_H
#define LC_LIMITS_H

#include <stdint.h>
#include <stddef.h>
#include <time.h>

#include "lc_error.h"
#include "lc_lifecycle.h"


#define LC_LIMITS_ADMIT_INTERVAL   100      /* ms between new names */
#define LC_LIMITS_ADMIT_BURST      20
#define LC_LIMITS_CANDIDATES_MAX   64       /* names in the DNS gate */
#define LC_LIMITS_DOMAIN_WINDOW    (7 * 86400)
#define LC_LIMITS_DUPLICATE_WINDOW (7 * 86400)
#define LC_LIMITS_DUPLICATES       4        /* a week: the CA allows 5, one
                                               is left for a renewal */
#define LC_LIMITS_VALIDATIONS      2        /* failed within the hour (the
                                               CA allows 5) */
#define LC_LIMITS_VALIDATION_WINDOW  3600


/* a rate with a burst: 0 takes one, otherwise the ms to wait for it */
uint64_t lc_limits_rate(uint64_t *tat, uint64_t now, uint64_t interval,
    unsigned long burst);

/* one taken without waiting: the next ones wait longer */
void lc_limits_rate_take(uint64_t *tat, uint64_t now, uint64_t interval);

/* a new name on demand enters the DNS gate (1, taken) or not (0) */
int lc_limits_admit(uint64_t *tat, uint64_t now_ms, unsigned long candidates);

/* the budget's interval: rate new orders an hour */
uint64_t lc_limits_order_interval(unsigned long rate);

/*
 * A new order within linkcert_order_rate: 0 taken, otherwise the
 * seconds until it can be (at least 1), err says why.
 */
time_t lc_limits_order_budget(uint64_t *tat, uint64_t now_ms,
    unsigned long rate, lc_error_t *err);

/* an order the CRM asked for takes its share at once */
void lc_limits_order_take(uint64_t *tat, uint64_t now_ms,
    unsigned long rate);

/* the certificates of one registered domain within the window */
typedef struct {
    unsigned long  n;
    time_t         first;       /* the earliest beginning; 0: none */
} lc_limits_tally_t;

/*
 * A name of the registered domain counts if its certificate (issued)
 * began since then, or its order runs now (running).
 */
void lc_limits_tally(lc_limits_tally_t *t, time_t since, int issued,
    time_t began, int running);

/*
 * Another certificate of the registered domain (name, len): 0 allowed
 * (limit 0: no limit), otherwise when it may be, err says why.
 */
time_t lc_limits_registered(const lc_limits_tally_t *t, unsigned long limit,
    time_t now, const char *name, size_t len, lc_error_t *err);

/*
 * Failed validations of a name: 0 an order may start now, otherwise when
 * it may (the hour from the first failure is over), err says why.
 */
time_t lc_limits_validations(unsigned failures, time_t window, time_t now,
    lc_error_t *err);

/* one more failed validation: a window of an hour from the first */
void lc_limits_validation_failed(unsigned char *failures, time_t *window,
    time_t now);

/* certificates a name was issued within the week from window */
unsigned lc_limits_duplicates(time_t window, unsigned count, time_t now);

/* one more certificate, whose validity began at since */
void lc_limits_duplicate_add(time_t *window, unsigned *count, time_t since);

/*
 * A reissue within the duplicate limit: 0 allowed, otherwise the seconds
 * until it is, err says why.
 */
time_t lc_limits_reissue(time_t window, unsigned count, time_t now,
    lc_error_t *err);

/*
 * Which budgets a domain's next order meets: LC_LIFE_BUDGET (on demand,
 * within them), LC_LIFE_BUDGET_TAKE (the CRM asked for it: its share at
 * once) or 0 (a renewal, or not on demand).
 */
unsigned lc_limits_budgets(const lc_lifecycle_t *rec,
    const lc_lifecycle_conf_t *conf);

/* milliseconds to wait, as whole seconds (a part of one is one) */
time_t lc_limits_seconds(uint64_t ms);

/*
 * Why an order waits, for limits counted elsewhere (the fleet's, in
 * Redis, by the same rules): the same errors as above.
 */
void lc_limits_order_budget_error(lc_error_t *err, unsigned long rate);
void lc_limits_registered_error(lc_error_t *err, unsigned long limit,
    const char *name, size_t len);
void lc_limits_validations_error(lc_error_t *err);

#endif /* LC_LIMITS_H */
