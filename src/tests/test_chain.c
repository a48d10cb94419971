
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: tests of a chain split into its leaf and its intermediates,
 * as the fleet keeps it in Redis: the two parts are the chain byte for
 * byte, and a chain of a leaf only has no intermediates.
 */


#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "lc_chain.h"


#define LEAF   "-----BEGIN CERTIFICATE-----\nleaf\n-----END CERTIFICATE-----\n"
#define INTER  "-----BEGIN CERTIFICATE-----\nint1\n-----END CERTIFICATE-----\n"\
               "-----BEGIN CERTIFICATE-----\nint2\n-----END CERTIFICATE-----\n"


static void
test_leaf_and_intermediates(void **state)
{
    (void) state;

    assert_int_equal(lc_chain_leaf_len(LEAF INTER, strlen(LEAF INTER)),
                     strlen(LEAF));
}


static void
test_blank_between_is_the_leafs(void **state)
{
    const char  *chain = LEAF "\n\n" INTER;

    (void) state;

    assert_int_equal(lc_chain_leaf_len(chain, strlen(chain)),
                     strlen(LEAF) + 2);
}


static void
test_leaf_only(void **state)
{
    (void) state;

    assert_int_equal(lc_chain_leaf_len(LEAF, strlen(LEAF)), strlen(LEAF));
    assert_int_equal(lc_chain_leaf_len(LEAF "\n", strlen(LEAF) + 1),
                     strlen(LEAF) + 1);
}


static void
test_not_a_chain(void **state)
{
    (void) state;

    assert_int_equal(lc_chain_leaf_len("", 0), 0);
    assert_int_equal(lc_chain_leaf_len("garbage", 7), 7);
    assert_int_equal(lc_chain_leaf_len("-----END CERTIFICATE---", 23), 23);
}


static void
test_id(void **state)
{
    char  id[LC_CHAIN_ID_LEN + 1];

    (void) state;

    id[LC_CHAIN_ID_LEN] = '\0';

    assert_int_equal(lc_chain_id("abc", 3, id), 0);
    assert_string_equal(id, "ba7816bf8f01cfea414140de5dae2223"
                            "b00361a396177a9cb410ff61f20015ad");
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_leaf_and_intermediates),
        cmocka_unit_test(test_blank_between_is_the_leafs),
        cmocka_unit_test(test_leaf_only),
        cmocka_unit_test(test_not_a_chain),
        cmocka_unit_test(test_id),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
