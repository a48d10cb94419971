/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: tests of the error types of the CA's answers.
 */


#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lc_acme_problem.h"


#define LC_URN  "urn:ietf:params:acme:error:"


static size_t
lc_index_of(const char *name)
{
    size_t  i;

    for (i = 0; i < LC_ACME_PROBLEM_N; i++) {
        if (strcmp(lc_acme_problem_name(i), name) == 0) {
            return i;
        }
    }

    fail_msg("%s is not in the list", name);
    return 0;
}


static size_t
lc_of(int status, const char *body)
{
    return lc_acme_problem(status, body, body ? strlen(body) : 0);
}


static void
test_known_types(void **state)
{
    size_t  i;
    char    body[200];

    (void) state;

    assert_int_equal(lc_of(429, "{\"type\":\"" LC_URN "rateLimited\","
                                "\"detail\":\"too many\"}"),
                     lc_index_of(LC_URN "rateLimited"));
    assert_int_equal(lc_of(400, "{\"type\":\"" LC_URN "badNonce\"}"),
                     lc_index_of(LC_URN "badNonce"));

    /* each of the list finds itself, 4xx or 5xx */

    for (i = 0; i < LC_ACME_PROBLEM_SERVER; i++) {
        assert_true(strncmp(lc_acme_problem_name(i), LC_URN,
                            sizeof(LC_URN) - 1) == 0);
        snprintf(body, sizeof(body), "{\"type\":\"%s\"}",
                 lc_acme_problem_name(i));
        assert_int_equal(lc_of(403, body), i);
        assert_int_equal(lc_of(503, body), i);
    }
}


static void
test_no_known_type(void **state)
{
    (void) state;

    assert_int_equal(lc_of(0, NULL), LC_ACME_PROBLEM_TRANSPORT);
    assert_int_equal(lc_of(500, NULL), LC_ACME_PROBLEM_SERVER);
    assert_int_equal(lc_of(502, "<html>bad gateway</html>"),
                     LC_ACME_PROBLEM_SERVER);
    assert_int_equal(lc_of(404, ""), LC_ACME_PROBLEM_OTHER);
    assert_int_equal(lc_of(400, "{\"type\":\"" LC_URN "madeUp\"}"),
                     LC_ACME_PROBLEM_OTHER);
    assert_int_equal(lc_of(500, "{\"type\":\"" LC_URN "madeUp\"}"),
                     LC_ACME_PROBLEM_SERVER);
    assert_int_equal(lc_of(400, "{\"type\":42}"), LC_ACME_PROBLEM_OTHER);
    assert_int_equal(lc_of(400, "[\"" LC_URN "caa\"]"),
                     LC_ACME_PROBLEM_OTHER);
    assert_int_equal(lc_of(400, "{\"type\":\"" LC_URN "caa"),
                     LC_ACME_PROBLEM_OTHER);

    /* no prefix match: the whole type or nothing */
    assert_int_equal(lc_of(400, "{\"type\":\"" LC_URN "dnsx\"}"),
                     LC_ACME_PROBLEM_OTHER);
    assert_int_equal(lc_of(400, "{\"type\":\"rateLimited\"}"),
                     LC_ACME_PROBLEM_OTHER);

    assert_string_equal(lc_acme_problem_name(LC_ACME_PROBLEM_SERVER),
                        "acme_server");
    assert_string_equal(lc_acme_problem_name(LC_ACME_PROBLEM_OTHER),
                        "acme_other");
    assert_string_equal(lc_acme_problem_name(LC_ACME_PROBLEM_TRANSPORT),
                        "acme_transport");
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_known_types),
        cmocka_unit_test(test_no_known_type),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
