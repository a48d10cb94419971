/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: tests of the table of linkcert's error types (lc_error.c).
 */


#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lc_error.h"
#include "lc_acme_problem.h"


/* the words of last_error.source (README, "The status API") */
static const char  *lc_sources[] = {
    "dns", "acme", "store", "limit", "ask", "config", "certificate", "fleet"
};


static int
lc_is_source(const char *word)
{
    size_t  i;

    for (i = 0; i < sizeof(lc_sources) / sizeof(lc_sources[0]); i++) {
        if (strcmp(word, lc_sources[i]) == 0) {
            return 1;
        }
    }

    return 0;
}


/* every type has a name, once, of lower case words, and a known source */

static void
test_table(void **state)
{
    size_t       i, j;
    const char  *name, *p;

    (void) state;

    for (i = 0; i < LC_ERR_N; i++) {
        name = lc_error_types[i].name;

        assert_non_null(name);
        assert_non_null(lc_error_types[i].source);
        assert_true(name[0] >= 'a' && name[0] <= 'z');
        assert_true(strlen(name) < LC_ERROR_TYPE_LEN);

        for (p = name; *p; p++) {
            assert_true((*p >= 'a' && *p <= 'z') || *p == '_');
        }

        assert_true(lc_is_source(lc_error_types[i].source));
        assert_string_equal(lc_error_name((lc_error_type_e) i), name);

        for (j = 0; j < i; j++) {
            assert_string_not_equal(lc_error_types[j].name, name);
        }
    }

    assert_string_equal(lc_error_name(LC_ERR_N), "");
    assert_string_equal(lc_error_name((lc_error_type_e) -1), "");
}


/*
 * last_error.source of each type is the table's, and a type's first word
 * agrees with its source, so that a type the table does not know (a
 * record stored by another version) gets the same source by its prefix.
 */

static void
test_sources(void **state)
{
    size_t       i;
    const char  *name, *source;

    (void) state;

    for (i = 0; i < LC_ERR_N; i++) {
        name = lc_error_types[i].name;
        source = lc_error_types[i].source;

        assert_string_equal(lc_error_source(name), source);

        if (strncmp(name, "dns_", 4) == 0) {
            assert_string_equal(source, "dns");

        } else if (strncmp(name, "acme_", 5) == 0) {
            assert_string_equal(source, "acme");

        } else if (strncmp(name, "store_", 6) == 0) {
            assert_string_equal(source, "store");

        } else if (strncmp(name, "ask_", 4) == 0) {
            assert_string_equal(source, "ask");
        }
    }

    /* not in the table: by the prefix, else linkcert's */
    assert_string_equal(lc_error_source("dns_future"), "dns");
    assert_string_equal(lc_error_source("acme_future"), "acme");
    assert_string_equal(lc_error_source("store_future"), "store");
    assert_string_equal(lc_error_source("ask_future"), "ask");
    assert_string_equal(
        lc_error_source("urn:ietf:params:acme:error:rateLimited"), "acme");
    assert_string_equal(lc_error_source("limit_future"), "linkcert");
    assert_string_equal(lc_error_source("removed_soon"), "linkcert");
}


static void
test_set_is(void **state)
{
    lc_error_t  err;

    (void) state;

    lc_error_set(&err, LC_ERR_DNS_MISMATCH, "CNAME points to %s", "x.net");
    assert_string_equal(err.type, "dns_mismatch");
    assert_string_equal(err.detail, "CNAME points to x.net");
    assert_true(lc_error_is(&err, LC_ERR_DNS_MISMATCH));
    assert_false(lc_error_is(&err, LC_ERR_DNS_MISSING));
    assert_false(lc_error_is(NULL, LC_ERR_DNS_MISMATCH));

    lc_error_set(&err, LC_ERR_EXPIRED, NULL);
    assert_string_equal(err.type, "expired");
    assert_string_equal(err.detail, "");
    assert_false(lc_error_is(&err, LC_ERR_STORE_EXPIRED));

    /* a CA's type by its name; no type of the table */
    lc_error_set_name(&err, "urn:ietf:params:acme:error:caa", "no");
    assert_string_equal(err.type, "urn:ietf:params:acme:error:caa");
    assert_false(lc_error_is(&err, LC_ERR_CAA_FORBIDS));

    /* a name from elsewhere is the type of the table it names */
    lc_error_set_name(&err, "store_write", "disk full");
    assert_true(lc_error_is(&err, LC_ERR_STORE_WRITE));

    lc_error_set(&err, LC_ERR_N, "x");
    assert_string_equal(err.type, "");
}


/* the CA's answers without a known problem type are types of the table */

static void
test_acme_problems(void **state)
{
    size_t  i;

    (void) state;

    assert_string_equal(lc_acme_problem_name(LC_ACME_PROBLEM_SERVER),
                        lc_error_name(LC_ERR_ACME_SERVER));
    assert_string_equal(lc_acme_problem_name(LC_ACME_PROBLEM_OTHER),
                        lc_error_name(LC_ERR_ACME_OTHER));
    assert_string_equal(lc_acme_problem_name(LC_ACME_PROBLEM_TRANSPORT),
                        lc_error_name(LC_ERR_ACME_TRANSPORT));

    for (i = 0; i < LC_ACME_PROBLEM_N; i++) {
        assert_non_null(lc_acme_problem_name(i));
        assert_string_equal(lc_error_source(lc_acme_problem_name(i)),
                            "acme");
    }

    assert_string_equal(lc_acme_problem_name(LC_ACME_PROBLEM_N), "");
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_sources),
        cmocka_unit_test(test_set_is),
        cmocka_unit_test(test_acme_problems),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
