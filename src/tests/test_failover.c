/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: unit tests of lc_failover.c, the CA of a domain's next order.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "lc_failover.h"


/* one CA: nothing ever moves */

static void
test_one_ca(void **state)
{
    int            i;
    lc_failover_t  f;

    (void) state;

    memset(&f, 0, sizeof(f));

    for (i = 0; i < 10; i++) {
        assert_int_equal(lc_failover_result(&f, 0, LC_FAILOVER_UNREACHABLE,
                                            3, 1), 0);
        assert_int_equal(f.next, 0);
        assert_int_equal(f.last, 1);
    }
}


/* max_fails problems in a row move the next order; an issuance resets */

static void
test_failures(void **state)
{
    lc_failover_t  f;

    (void) state;

    memset(&f, 0, sizeof(f));
    assert_int_equal(f.last, 0);

    assert_int_equal(lc_failover_result(&f, 0, LC_FAILOVER_FAILED, 3, 2), 0);
    assert_int_equal(f.next, 0);
    assert_int_equal(f.last, 1);
    assert_int_equal(lc_failover_result(&f, 0, LC_FAILOVER_FAILED, 3, 2), 0);
    assert_int_equal(f.next, 0);

    /* the third: the backup next, after the usual backoff */

    assert_int_equal(lc_failover_result(&f, 0, LC_FAILOVER_FAILED, 3, 2), 0);
    assert_int_equal(f.next, 1);
    assert_int_equal(f.failures, 0);

    /* the backup issues: the renewal goes to the primary first */

    assert_int_equal(lc_failover_result(&f, 1, LC_FAILOVER_ISSUED, 3, 2), 0);
    assert_int_equal(f.next, 0);
    assert_int_equal(f.failures, 0);
    assert_int_equal(f.last, 2);

    /* an issuance between two failures starts the count again */

    (void) lc_failover_result(&f, 0, LC_FAILOVER_FAILED, 2, 2);
    (void) lc_failover_result(&f, 0, LC_FAILOVER_ISSUED, 2, 2);
    (void) lc_failover_result(&f, 0, LC_FAILOVER_FAILED, 2, 2);
    assert_int_equal(f.next, 0);
    (void) lc_failover_result(&f, 0, LC_FAILOVER_FAILED, 2, 2);
    assert_int_equal(f.next, 1);
}


/*
 * A primary that does not answer moves the next order at once, and that
 * order goes now; a backup that does not answer sends the next one back
 * to the primary after the backoff (no loop without a pause).
 */

static void
test_unreachable(void **state)
{
    lc_failover_t  f;

    (void) state;

    memset(&f, 0, sizeof(f));

    assert_int_equal(lc_failover_result(&f, 0, LC_FAILOVER_UNREACHABLE, 3, 2),
                     1);
    assert_int_equal(f.next, 1);
    assert_int_equal(f.last, 1);

    assert_int_equal(lc_failover_result(&f, 1, LC_FAILOVER_UNREACHABLE, 3, 2),
                     0);
    assert_int_equal(f.next, 0);
    assert_int_equal(f.last, 2);

    /* the backup's problems count as the primary's do */

    assert_int_equal(lc_failover_result(&f, 0, LC_FAILOVER_UNREACHABLE, 1, 2),
                     1);
    assert_int_equal(lc_failover_result(&f, 1, LC_FAILOVER_FAILED, 2, 2), 0);
    assert_int_equal(f.next, 1);
    assert_int_equal(lc_failover_result(&f, 1, LC_FAILOVER_FAILED, 2, 2), 0);
    assert_int_equal(f.next, 0);
}


/*
 * An order that went to the backup while the domain's next was the
 * primary (the primary's account could not be set up) counts for the
 * backup; a CA out of range counts as the primary.
 */

static void
test_elsewhere(void **state)
{
    lc_failover_t  f;

    (void) state;

    memset(&f, 0, sizeof(f));

    (void) lc_failover_result(&f, 0, LC_FAILOVER_FAILED, 3, 2);
    (void) lc_failover_result(&f, 0, LC_FAILOVER_FAILED, 3, 2);
    assert_int_equal(f.failures, 2);

    assert_int_equal(lc_failover_result(&f, 1, LC_FAILOVER_FAILED, 3, 2), 0);
    assert_int_equal(f.next, 1);
    assert_int_equal(f.failures, 1);
    assert_int_equal(f.last, 2);

    assert_int_equal(lc_failover_result(&f, 7, LC_FAILOVER_FAILED, 3, 2), 0);
    assert_int_equal(f.next, 0);
    assert_int_equal(f.failures, 1);
    assert_int_equal(f.last, 1);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_one_ca),
        cmocka_unit_test(test_failures),
        cmocka_unit_test(test_unreachable),
        cmocka_unit_test(test_elsewhere),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
