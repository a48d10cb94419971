/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: tests of lc_limits.c, the limiters' decisions.
 */


#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lc_limits.h"


#define NOW     ((time_t) 1800000000)
#define NOW_MS  ((uint64_t) NOW * 1000)
#define DAY     86400


static void
test_rate(void **state)
{
    int       i;
    uint64_t  tat;

    (void) state;

    /* a burst of 3 at once, then one per 1000 ms */

    tat = 0;

    for (i = 0; i < 3; i++) {
        assert_int_equal(lc_limits_rate(&tat, NOW_MS, 1000, 3), 0);
    }

    assert_int_equal(lc_limits_rate(&tat, NOW_MS, 1000, 3), 1000);
    assert_int_equal(tat, NOW_MS + 3000);
    assert_int_equal(lc_limits_rate(&tat, NOW_MS + 400, 1000, 3), 600);
    assert_int_equal(lc_limits_rate(&tat, NOW_MS + 1000, 1000, 3), 0);
    assert_int_equal(lc_limits_rate(&tat, NOW_MS + 1000, 1000, 3), 1000);

    /* taken without waiting: later ones wait longer */

    lc_limits_rate_take(&tat, NOW_MS + 1000, 1000);
    assert_int_equal(lc_limits_rate(&tat, NOW_MS + 1000, 1000, 3), 2000);

    /* an old tat counts as now */

    tat = 5;
    lc_limits_rate_take(&tat, NOW_MS, 1000);
    assert_int_equal(tat, NOW_MS + 1000);
}


static void
test_admit(void **state)
{
    int       i, n;
    uint64_t  tat;

    (void) state;

    tat = 0;
    n = 0;

    for (i = 0; i < 100; i++) {
        n += lc_limits_admit(&tat, NOW_MS, 0);
    }

    assert_int_equal(n, LC_LIMITS_ADMIT_BURST);

    /* 10 a second after the burst */

    n = 0;

    for (i = 0; i < 100; i++) {
        n += lc_limits_admit(&tat, NOW_MS + 1000, 0);
    }

    assert_int_equal(n, 10);

    /* never more than 64 in the DNS gate, whatever the rate */

    tat = 0;
    assert_int_equal(lc_limits_admit(&tat, NOW_MS, 63), 1);
    assert_int_equal(lc_limits_admit(&tat, NOW_MS, 64), 0);
    assert_int_equal(tat, NOW_MS + LC_LIMITS_ADMIT_INTERVAL);
}


static void
test_order_budget(void **state)
{
    uint64_t    tat;
    lc_error_t  err;

    (void) state;

    /* 2 an hour: two at once, the third in 30 minutes */

    tat = 0;
    assert_int_equal(lc_limits_order_budget(&tat, NOW_MS, 2, &err), 0);
    assert_int_equal(lc_limits_order_budget(&tat, NOW_MS, 2, &err), 0);

    memset(&err, 0, sizeof(err));
    assert_int_equal(lc_limits_order_budget(&tat, NOW_MS, 2, &err), 1800);
    assert_string_equal(err.type, lc_error_types[LC_ERR_ORDER_BUDGET].name);
    assert_non_null(strstr(err.detail, "budget of 2 new orders per hour"));

    /* a part of a second waits a whole one */

    assert_int_equal(lc_limits_order_budget(&tat, NOW_MS + 1800000 - 1, 2,
                                            &err), 1);
    assert_int_equal(lc_limits_order_budget(&tat, NOW_MS + 1800000, 2,
                                            &err), 0);

    /* the CRM's orders take their share, and on-demand ones wait for it */

    tat = 0;
    lc_limits_order_take(&tat, NOW_MS, 2);
    lc_limits_order_take(&tat, NOW_MS, 2);
    lc_limits_order_take(&tat, NOW_MS, 2);
    assert_int_equal(lc_limits_order_budget(&tat, NOW_MS, 2, &err), 3600);

    assert_int_equal(lc_limits_order_interval(100), 36000);
    assert_int_equal(lc_limits_order_interval(0), 3600000);
}


static void
test_registered(void **state)
{
    time_t             since;
    lc_error_t         err;
    lc_limits_tally_t  t;

    (void) state;

    since = NOW - LC_LIMITS_DOMAIN_WINDOW;
    memset(&t, 0, sizeof(t));

    lc_limits_tally(&t, since, 1, NOW - 2 * DAY, 0);
    lc_limits_tally(&t, since, 1, NOW - 8 * DAY, 0);    /* too old */
    lc_limits_tally(&t, since, 1, NOW - 8 * DAY, 1);    /* but renewing */
    lc_limits_tally(&t, since, 0, 0, 0);                /* pending */
    lc_limits_tally(&t, since, 1, NOW - 3 * DAY, 0);

    assert_int_equal(t.n, 3);
    assert_int_equal(t.first, NOW - 3 * DAY);

    assert_int_equal(lc_limits_registered(&t, 4, NOW, "example.com", 11,
                                          &err), 0);
    assert_int_equal(lc_limits_registered(&t, 0, NOW, "example.com", 11,
                                          &err), 0);

    memset(&err, 0, sizeof(err));
    assert_int_equal(lc_limits_registered(&t, 3, NOW, "example.com", 11,
                                          &err),
                     NOW + 4 * DAY);
    assert_string_equal(err.type,
                        lc_error_types[LC_ERR_REGISTERED_DOMAIN_LIMIT].name);
    assert_string_equal(err.detail, "example.com has had its 3 certificates "
                        "of the last 7 days "
                        "(linkcert_registered_domain_limit)");

    /* only orders running: tried again in an hour */

    memset(&t, 0, sizeof(t));
    lc_limits_tally(&t, since, 0, 0, 1);
    assert_int_equal(lc_limits_registered(&t, 1, NOW, "x.org", 5, &err),
                     NOW + 3600);
}


static void
test_validations(void **state)
{
    time_t         window;
    lc_error_t     err;
    unsigned char  failures;

    (void) state;

    window = 0;
    failures = 0;

    lc_limits_validation_failed(&failures, &window, NOW);
    assert_int_equal(failures, 1);
    assert_int_equal(window, NOW);
    assert_int_equal(lc_limits_validations(failures, window, NOW + 10, &err),
                     0);

    lc_limits_validation_failed(&failures, &window, NOW + 600);
    assert_int_equal(failures, 2);
    assert_int_equal(window, NOW);

    memset(&err, 0, sizeof(err));
    assert_int_equal(lc_limits_validations(failures, window, NOW + 700, &err),
                     NOW + 3600);
    assert_string_equal(err.type, lc_error_types[LC_ERR_VALIDATION_LIMIT].name);
    assert_string_equal(err.detail, "2 failed validations within the hour: "
                        "the next order waits until the hour is over");

    assert_int_equal(lc_limits_validations(failures, window, NOW + 3600,
                                           &err), 0);

    /* a failure after the hour starts a new one */

    lc_limits_validation_failed(&failures, &window, NOW + 3600);
    assert_int_equal(failures, 1);
    assert_int_equal(window, NOW + 3600);
}


static void
test_duplicates(void **state)
{
    int         i;
    time_t      window, retry;
    unsigned    count;
    lc_error_t  err;

    (void) state;

    window = 0;
    count = 0;

    for (i = 0; i < 3; i++) {
        lc_limits_duplicate_add(&window, &count, NOW + i * DAY);
    }

    assert_int_equal(window, NOW);
    assert_int_equal(lc_limits_duplicates(window, count, NOW + 3 * DAY), 3);
    assert_int_equal(lc_limits_reissue(window, count, NOW + 3 * DAY, &err),
                     0);

    lc_limits_duplicate_add(&window, &count, NOW + 3 * DAY);

    memset(&err, 0, sizeof(err));
    retry = lc_limits_reissue(window, count, NOW + 3 * DAY, &err);
    assert_int_equal(retry, 4 * DAY);
    assert_string_equal(err.type, lc_error_types[LC_ERR_DUPLICATE_LIMIT].name);
    assert_non_null(strstr(err.detail, "4 certificates for this name within "
                                       "7 days: no reissue before "));

    /* a week from the first, the window starts again */

    assert_int_equal(lc_limits_duplicates(window, count, NOW + 7 * DAY), 0);
    assert_int_equal(lc_limits_reissue(window, count, NOW + 7 * DAY, &err),
                     0);

    lc_limits_duplicate_add(&window, &count, NOW + 8 * DAY);
    assert_int_equal(window, NOW + 8 * DAY);
    assert_int_equal(count, 1);

    /* the count stays within its byte */

    count = 255;
    lc_limits_duplicate_add(&window, &count, NOW + 8 * DAY);
    assert_int_equal(count, 255);
}


static void
test_budgets(void **state)
{
    lc_lifecycle_t       rec;
    lc_lifecycle_conf_t  conf;

    (void) state;

    memset(&rec, 0, sizeof(rec));
    memset(&conf, 0, sizeof(conf));

    rec.stage = LC_STAGE_ORDERING;
    assert_int_equal(lc_limits_budgets(&rec, &conf), 0);

    conf.on_demand = 1;
    assert_int_equal(lc_limits_budgets(&rec, &conf), LC_LIFE_BUDGET);

    rec.forced_at = NOW;
    assert_int_equal(lc_limits_budgets(&rec, &conf), LC_LIFE_BUDGET_TAKE);

    rec.stage = LC_STAGE_RENEWING;
    assert_int_equal(lc_limits_budgets(&rec, &conf), 0);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rate),
        cmocka_unit_test(test_admit),
        cmocka_unit_test(test_order_budget),
        cmocka_unit_test(test_registered),
        cmocka_unit_test(test_validations),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_budgets),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
