
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: tests of sealing (AES-256-GCM).  The known answer is the
 * GCM specification's test case 16 (McGrew and Viega), laid out as a
 * sealed blob: version, nonce, ciphertext, tag.
 */


#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lc_seal.h"


#define KEY_HEX  "feffe9928665731c6d6a8f9467308308" \
                 "feffe9928665731c6d6a8f9467308308"


static size_t
unhex(const char *hex, unsigned char *out)
{
    size_t  i, n;

    n = strlen(hex) / 2;

    for (i = 0; i < n; i++) {
        sscanf(hex + 2 * i, "%2hhx", &out[i]);
    }

    return n;
}


static void
key(unsigned char k[LC_SEAL_KEY_LEN])
{
    assert_int_equal(lc_seal_key_parse(KEY_HEX, strlen(KEY_HEX), k), 0);
}


static void
test_key_parse(void **state)
{
    unsigned char  k[LC_SEAL_KEY_LEN], want[LC_SEAL_KEY_LEN];
    char           upper[] = KEY_HEX;
    char          *p;

    (void) state;

    key(k);
    unhex(KEY_HEX, want);
    assert_memory_equal(k, want, LC_SEAL_KEY_LEN);

    for (p = upper; *p; p++) {
        if (*p >= 'a' && *p <= 'f') {
            *p -= 'a' - 'A';
        }
    }

    assert_int_equal(lc_seal_key_parse(upper, 64, k), 0);
    assert_memory_equal(k, want, LC_SEAL_KEY_LEN);

    assert_int_equal(lc_seal_key_parse(KEY_HEX, 63, k), -1);
    assert_int_equal(lc_seal_key_parse(KEY_HEX "00", 66, k), -1);
    assert_int_equal(lc_seal_key_parse("", 0, k), -1);

    upper[10] = 'g';
    assert_int_equal(lc_seal_key_parse(upper, 64, k), -1);
    upper[10] = ' ';
    assert_int_equal(lc_seal_key_parse(upper, 64, k), -1);
}


static void
test_known_answer(void **state)
{
    size_t         len, label_len, plain_len, out_len;
    unsigned char  k[LC_SEAL_KEY_LEN], blob[256], label[64], plain[128],
                   out[128];

    (void) state;

    key(k);

    blob[0] = LC_SEAL_V1;
    len = 1 + unhex("cafebabefacedbaddecaf888", blob + 1);
    len += unhex("522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd"
                 "2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0a"
                 "bcc9f662" "76fc6ece0f4e1768cddf8853bb2d551b", blob + len);
    label_len = unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2", label);
    plain_len = unhex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c"
                      "303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5"
                      "aa0de657ba637b39", plain);

    assert_int_equal(len, plain_len + LC_SEAL_OVERHEAD);
    assert_int_equal(lc_unseal(k, (char *) label, label_len, blob, len, out,
                               &out_len), 0);
    assert_int_equal(out_len, plain_len);
    assert_memory_equal(out, plain, plain_len);

    /* a flipped bit in the tag */
    blob[len - 1] ^= 1;
    assert_int_equal(lc_unseal(k, (char *) label, label_len, blob, len, out,
                               &out_len), -1);
}


static void
test_round_trip(void **state)
{
    size_t         n, out_len;
    unsigned char  k[LC_SEAL_KEY_LEN], a[512], b[512], out[512];
    const char    *pem = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49"
                         "\n-----END PRIVATE KEY-----\n";

    (void) state;

    key(k);
    n = strlen(pem);

    assert_int_equal(lc_seal(k, "a.example", 9, (unsigned char *) pem, n, a),
                     0);
    assert_int_equal(lc_seal(k, "a.example", 9, (unsigned char *) pem, n, b),
                     0);

    assert_int_equal(a[0], LC_SEAL_V1);
    assert_memory_not_equal(a + 1, b + 1, LC_SEAL_NONCE_LEN);
    assert_memory_not_equal(a + 1 + LC_SEAL_NONCE_LEN,
                            b + 1 + LC_SEAL_NONCE_LEN, n);
    assert_null(memmem(a, n + LC_SEAL_OVERHEAD, "PRIVATE KEY", 11));

    assert_int_equal(lc_unseal(k, "a.example", 9, a, n + LC_SEAL_OVERHEAD,
                               out, &out_len), 0);
    assert_int_equal(out_len, n);
    assert_memory_equal(out, pem, n);

    /* the label is part of it: a key moved to another domain's slot */
    assert_int_equal(lc_unseal(k, "b.example", 9, a, n + LC_SEAL_OVERHEAD,
                               out, &out_len), -1);

    /* another fleet's key */
    k[0] ^= 0x80;
    assert_int_equal(lc_unseal(k, "a.example", 9, a, n + LC_SEAL_OVERHEAD,
                               out, &out_len), -1);
    k[0] ^= 0x80;

    /* any byte of the ciphertext, a cut blob, an unknown version */
    a[20] ^= 4;
    assert_int_equal(lc_unseal(k, "a.example", 9, a, n + LC_SEAL_OVERHEAD,
                               out, &out_len), -1);
    a[20] ^= 4;
    assert_int_equal(lc_unseal(k, "a.example", 9, a,
                               n + LC_SEAL_OVERHEAD - 1, out, &out_len), -1);
    assert_int_equal(lc_unseal(k, "a.example", 9, a, LC_SEAL_OVERHEAD - 1,
                               out, &out_len), -1);
    a[0] = 2;
    assert_int_equal(lc_unseal(k, "a.example", 9, a, n + LC_SEAL_OVERHEAD,
                               out, &out_len), -1);
}


static void
test_empty(void **state)
{
    size_t         out_len;
    unsigned char  k[LC_SEAL_KEY_LEN], a[LC_SEAL_OVERHEAD], out[1];

    (void) state;

    key(k);

    assert_int_equal(lc_seal(k, "", 0, (unsigned char *) "", 0, a), 0);
    assert_int_equal(lc_unseal(k, "", 0, a, sizeof(a), out, &out_len), 0);
    assert_int_equal(out_len, 0);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_parse),
        cmocka_unit_test(test_known_answer),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_empty),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
