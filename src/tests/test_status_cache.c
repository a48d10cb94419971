
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: tests of the cache of public status answers: every answer it
 * gives is the one rendered from the record at hand.
 */


#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "lc_status_cache.h"


#define LC_T1  1790000000               /* 2026-09-21T14:13:20Z */


static void
lc_record_issued(lc_record_t *rec, const char *domain)
{
    memset(rec, 0, sizeof(lc_record_t));
    (void) snprintf(rec->domain, sizeof(rec->domain), "%s", domain);

    rec->status = LC_STATUS_ISSUED;
    rec->stage = LC_STAGE_ISSUED;
    rec->has_cert = 1;
    rec->cert.not_before = 1700000000;
    rec->cert.not_after = LC_T1;
    rec->updated_at = LC_T1;
}


/*
 * The cache's answer to rec is the one rendered without it, and came
 * from the cache (hit) or not.
 */

static void
lc_assert_answer(lc_status_cache_t *cache, const lc_record_t *rec, int stale,
    int hit)
{
    char           *expect;
    size_t          len, n;
    const char     *s;
    unsigned long   hits, misses, hits2, misses2;

    expect = lc_json_dump(lc_status_stale(lc_status_public_json(rec), stale),
                          &n);
    assert_non_null(expect);

    lc_status_cache_counts(cache, &hits, &misses);

    s = lc_status_cache_public(cache, rec, stale, &len);
    assert_non_null(s);
    assert_int_equal(len, n);
    assert_memory_equal(s, expect, n);

    lc_status_cache_counts(cache, &hits2, &misses2);
    assert_int_equal(hits2 - hits, hit ? 1 : 0);
    assert_int_equal(misses2 - misses, hit ? 0 : 1);

    free(expect);
}


/* each test has a cache of 64 slots of its own */

static int
lc_cache_setup(void **state)
{
    *state = lc_status_cache_create(64);

    return (*state == NULL) ? -1 : 0;
}


static int
lc_cache_teardown(void **state)
{
    lc_status_cache_destroy(*state);

    return 0;
}


static void
test_same_answer_kept(void **state)
{
    lc_record_t         rec;
    lc_status_cache_t  *cache;

    cache = *state;

    lc_record_issued(&rec, "links.acme.test");

    lc_assert_answer(cache, &rec, 0, 0);
    lc_assert_answer(cache, &rec, 0, 1);
    lc_assert_answer(cache, &rec, 0, 1);

    /* what the public answer does not show changes nothing */

    rec.stage = LC_STAGE_RENEWING;
    rec.updated_at = LC_T1 + 60;
    rec.renew_at = LC_T1 - 60;
    rec.has_error = 1;
    lc_error_set(&rec.error, LC_ERR_DNS_MISMATCH, "CNAME points elsewhere");
    rec.cert.serial_len = 1;
    lc_assert_answer(cache, &rec, 0, 1);
}


static void
test_every_shown_field_renders_again(void **state)
{
    lc_record_t         rec;
    lc_status_cache_t  *cache;

    cache = *state;

    lc_record_issued(&rec, "links.acme.test");
    lc_assert_answer(cache, &rec, 0, 0);

    rec.cert.not_after = LC_T1 + 86400;         /* renewed */
    lc_assert_answer(cache, &rec, 0, 0);
    lc_assert_answer(cache, &rec, 0, 1);

    rec.cert.not_before = 1700000001;
    lc_assert_answer(cache, &rec, 0, 0);

    rec.status = LC_STATUS_UNKNOWN;             /* its DNS moved away */
    lc_assert_answer(cache, &rec, 0, 0);

    rec.has_cert = 0;                           /* removed */
    lc_assert_answer(cache, &rec, 0, 0);

    /* without a certificate its dates are not shown, nor compared */
    rec.cert.not_after = 1;
    lc_assert_answer(cache, &rec, 0, 1);

    rec.status = LC_STATUS_PENDING;             /* "Verify domain" */
    lc_assert_answer(cache, &rec, 0, 0);

    lc_assert_answer(cache, &rec, 1, 0);        /* Redis lost */
    lc_assert_answer(cache, &rec, 1, 1);
    lc_assert_answer(cache, &rec, 0, 0);        /* and back */
}


static void
test_shared_slot(void **state)
{
    lc_record_t         a, b;
    lc_status_cache_t  *cache;

    (void) state;

    /* one slot: two domains take it from each other */

    cache = lc_status_cache_create(1);
    assert_non_null(cache);

    lc_record_issued(&a, "a.acme.test");
    lc_record_issued(&b, "b.acme.test");

    lc_assert_answer(cache, &a, 0, 0);
    lc_assert_answer(cache, &a, 0, 1);
    lc_assert_answer(cache, &b, 0, 0);
    lc_assert_answer(cache, &a, 0, 0);

    /* a name that is the start of another is another name */

    lc_record_issued(&b, "a.acme.tes");
    lc_assert_answer(cache, &b, 0, 0);

    lc_status_cache_destroy(cache);

    cache = lc_status_cache_create(0);          /* rounded up to one */
    assert_non_null(cache);
    lc_assert_answer(cache, &a, 0, 0);
    lc_assert_answer(cache, &a, 0, 1);
    lc_status_cache_destroy(cache);

    lc_status_cache_destroy(NULL);
}


static void
test_unterminated_domain(void **state)
{
    lc_record_t         rec;
    lc_status_cache_t  *cache;

    cache = *state;

    /* a name that fills its field without a NUL is read to the end only */

    lc_record_issued(&rec, "");
    memset(rec.domain, 'a', sizeof(rec.domain));

    lc_assert_answer(cache, &rec, 0, 0);
    lc_assert_answer(cache, &rec, 0, 1);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test_setup_teardown(test_same_answer_kept,
                                        lc_cache_setup, lc_cache_teardown),
        cmocka_unit_test_setup_teardown(test_every_shown_field_renders_again,
                                        lc_cache_setup, lc_cache_teardown),
        cmocka_unit_test(test_shared_slot),
        cmocka_unit_test_setup_teardown(test_unterminated_domain,
                                        lc_cache_setup, lc_cache_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
