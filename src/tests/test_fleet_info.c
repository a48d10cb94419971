
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: tests of a certificate's info carried in the fleet's record:
 * it opens for its domain, its chain and its key only, and a text of
 * another version is refused.
 */


#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "lc_fleet_info.h"


#define DOMAIN  "links.customer.test"
#define CHAIN   "-----BEGIN CERTIFICATE-----\nchain\n"
#define KEY     "-----BEGIN PRIVATE KEY-----\nkey\n"


static const unsigned char  fleet[LC_SEAL_KEY_LEN] = { 1, 2, 3, 4 };


static void
info_example(lc_cert_info_t *info, size_t serial_len)
{
    size_t  i;

    memset(info, 0, sizeof(lc_cert_info_t));

    info->not_before = 1764979200;
    info->not_after = 1772755200;

    for (i = 0; i < 32; i++) {
        info->sha256[i] = (unsigned char) (i * 7 + 1);
    }

    for (i = 0; i < serial_len; i++) {
        info->serial[i] = (unsigned char) (0xf0 - i);
    }

    info->serial_len = serial_len;
    strcpy(info->issuer, "Pebble Intermediate CA 5f2a1b");
}


static size_t
info_sealed(const lc_cert_info_t *info, unsigned char *out)
{
    size_t  len;

    assert_int_equal(lc_fleet_info_seal(fleet, DOMAIN, strlen(DOMAIN), info,
                                        CHAIN, strlen(CHAIN), KEY,
                                        strlen(KEY), out, &len),
                     0);
    return len;
}


static int
info_open(const char *domain, const unsigned char *sealed, size_t len,
    const char *chain, const char *key, lc_cert_info_t *info,
    const char **reason)
{
    return lc_fleet_info_open(fleet, domain, strlen(domain), sealed, len,
                              chain, strlen(chain), key, strlen(key), info,
                              reason);
}


static void
test_round_trip(void **state)
{
    size_t          len, serial_len;
    const char     *reason;
    unsigned char   sealed[LC_FLEET_INFO_SEALED];
    lc_cert_info_t  info, back;

    (void) state;

    for (serial_len = 0; serial_len <= LC_SERIAL_MAX; serial_len += 10) {
        info_example(&info, serial_len);
        len = info_sealed(&info, sealed);

        assert_int_equal(info_open(DOMAIN, sealed, len, CHAIN, KEY, &back,
                                   &reason),
                         0);
        assert_memory_equal(&back, &info, sizeof(lc_cert_info_t));
    }
}


static void
test_not_its_own(void **state)
{
    size_t          len;
    const char     *reason;
    unsigned char   sealed[LC_FLEET_INFO_SEALED];
    lc_cert_info_t  info, back;

    (void) state;

    info_example(&info, 16);
    len = info_sealed(&info, sealed);

    assert_int_equal(info_open("other.customer.test", sealed, len, CHAIN,
                               KEY, &back, &reason),
                     -1);
    assert_non_null(strstr(reason, "does not open"));

    assert_int_equal(info_open(DOMAIN, sealed, len, CHAIN "x", KEY, &back,
                               &reason),
                     -1);
    assert_string_equal(reason, "written for another chain");

    assert_int_equal(info_open(DOMAIN, sealed, len, CHAIN, KEY "x", &back,
                               &reason),
                     -1);
    assert_string_equal(reason, "written for another key");

    sealed[len / 2] ^= 1;
    assert_int_equal(info_open(DOMAIN, sealed, len, CHAIN, KEY, &back,
                               &reason),
                     -1);
    assert_non_null(strstr(reason, "does not open"));

    assert_int_equal(info_open(DOMAIN, (unsigned char *) "x", 1, CHAIN, KEY,
                               &back, &reason),
                     -1);
}


/* sealed right, but not a text of version 1 */

static void
test_other_version(void **state)
{
    size_t          i, len;
    const char     *reason;
    unsigned char   sealed[LC_FLEET_INFO_SEALED];
    lc_cert_info_t  back;
    static const char *texts[] = {
        "2 1 2 " "x",
        "1 1 2",
        "1 -1 2 00 - 00 00 issuer",
        "1 2 1 "
        "0000000000000000000000000000000000000000000000000000000000000000 - "
        "0000000000000000000000000000000000000000000000000000000000000000 "
        "0000000000000000000000000000000000000000000000000000000000000000 "
        "not_after before not_before",
    };

    (void) state;

    for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        assert_int_equal(lc_seal(fleet, "info:" DOMAIN,
                                 strlen("info:" DOMAIN),
                                 (const unsigned char *) texts[i],
                                 strlen(texts[i]), sealed),
                         0);
        len = strlen(texts[i]) + LC_SEAL_OVERHEAD;

        assert_int_equal(info_open(DOMAIN, sealed, len, CHAIN, KEY, &back,
                                   &reason),
                         -1);
        assert_string_equal(reason, "not of a known version, or malformed");
    }
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_not_its_own),
        cmocka_unit_test(test_other_version),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
