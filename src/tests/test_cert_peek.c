
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: tests of the start's cheap reader (lc_cert_peek()) against
 * the full parse: the same info for RSA and ECDSA pairs in every key
 * form, and no confirmation of a pair the full parse refuses.
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

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "lc_cert.h"


#define LC_T0     1700000000
#define LC_DAY    86400
#define LC_NAME   "links.acme.test"


typedef struct {
    EVP_PKEY  *ca_key;
    X509      *ca;
    EVP_PKEY  *ec;
    EVP_PKEY  *ec2;
    EVP_PKEY  *rsa;
    EVP_PKEY  *rsa2;
} lc_fixture_t;


typedef struct {
    const char  *san;
    time_t       nb;
    time_t       na;
    const char  *serial;
    const char  *cn;                    /* NULL: LC_NAME */
} lc_leaf_spec_t;


static void
lc_name_add(X509_NAME *name, const char *field, const char *value)
{
    assert_int_equal(X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                                (const unsigned char *) value,
                                                -1, -1, 0), 1);
}


/* a certificate for key by the CA (self-signed when ca_key is NULL) */

static X509 *
lc_cert_for(lc_fixture_t *f, EVP_PKEY *key, const lc_leaf_spec_t *spec)
{
    X509            *x;
    BIGNUM          *bn;
    X509V3_CTX       ctx;
    X509_EXTENSION  *ext;

    x = X509_new();
    assert_non_null(x);
    assert_int_equal(X509_set_version(x, 2), 1);

    bn = NULL;
    assert_true(BN_hex2bn(&bn, spec->serial) > 0);
    assert_non_null(BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)));
    BN_free(bn);

    assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), spec->nb));
    assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), spec->na));

    lc_name_add(X509_get_subject_name(x), "CN",
                spec->cn ? spec->cn : LC_NAME);
    assert_int_equal(X509_set_pubkey(x, key), 1);

    if (f->ca == NULL) {
        lc_name_add(X509_get_subject_name(x), "O", "Peek Test");
        assert_int_equal(X509_set_issuer_name(x, X509_get_subject_name(x)),
                         1);

    } else {
        assert_int_equal(X509_set_issuer_name(x,
                                              X509_get_subject_name(f->ca)),
                         1);
    }

    if (spec->san) {
        X509V3_set_ctx(&ctx, f->ca ? f->ca : x, x, NULL, NULL, 0);
        ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name,
                                  spec->san);
        assert_non_null(ext);
        assert_int_equal(X509_add_ext(x, ext, -1), 1);
        X509_EXTENSION_free(ext);
    }

    assert_true(X509_sign(x, f->ca ? f->ca_key : key, EVP_sha256()) > 0);

    return x;
}


static char *
lc_bio_text(BIO *bio, size_t *len)
{
    char  *p, *copy;
    long   n;

    n = BIO_get_mem_data(bio, &p);
    assert_true(n > 0);

    copy = malloc((size_t) n + 1);
    assert_non_null(copy);
    memcpy(copy, p, (size_t) n);
    copy[n] = '\0';
    *len = (size_t) n;

    BIO_free(bio);

    return copy;
}


/* the leaf, then the CA as the intermediate */

static char *
lc_chain_pem(lc_fixture_t *f, X509 *leaf, size_t *len)
{
    BIO  *bio;

    bio = BIO_new(BIO_s_mem());
    assert_non_null(bio);
    assert_int_equal(PEM_write_bio_X509(bio, leaf), 1);
    assert_int_equal(PEM_write_bio_X509(bio, f->ca), 1);

    return lc_bio_text(bio, len);
}


/* form 0: PKCS#8 ("PRIVATE KEY"), 1: traditional ("EC/RSA PRIVATE KEY") */

static char *
lc_key_pem(EVP_PKEY *key, int form, size_t *len)
{
    BIO  *bio;

    bio = BIO_new(BIO_s_mem());
    assert_non_null(bio);

    if (form == 0) {
        assert_int_equal(PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0,
                                                  NULL, NULL), 1);
    } else {
        assert_int_equal(PEM_write_bio_PrivateKey_traditional(bio, key, NULL,
                                                              NULL, 0, NULL,
                                                              NULL), 1);
    }

    return lc_bio_text(bio, len);
}


/*
 * lc_cert_peek() of the pair, and what the full parse says of it: the
 * same info when both accept it; returns peek's answer.
 */

static int
lc_peek_vs_parse(lc_fixture_t *f, EVP_PKEY *leaf_key, EVP_PKEY *key,
    int form, const lc_leaf_spec_t *spec, time_t now)
{
    int              ok, full;
    X509            *leaf;
    char            *chain, *pem;
    size_t           chain_len, pem_len;
    lc_cert_t       *cert;
    lc_error_t       err;
    lc_cert_info_t   peeked, parsed;

    leaf = lc_cert_for(f, leaf_key, spec);
    chain = lc_chain_pem(f, leaf, &chain_len);
    pem = lc_key_pem(key, form, &pem_len);

    memset(&peeked, 0xa5, sizeof(peeked));
    ok = lc_cert_peek(chain, chain_len, pem, pem_len, LC_NAME, now, &peeked);
    assert_int_equal(ERR_peek_error(), 0);

    memset(&parsed, 0, sizeof(parsed));
    cert = lc_cert_parse(chain, chain_len, pem, pem_len, &err);
    full = cert != NULL && lc_cert_check(cert, LC_NAME, now, &err) == 0
           && lc_cert_info(cert, &parsed) == 0;

    /* what the reader confirms, the full parse accepts, with the same info */

    if (ok) {
        assert_true(full);
        assert_memory_equal(&peeked, &parsed, sizeof(lc_cert_info_t));

    } else {
        lc_cert_info_t  zero;

        memset(&zero, 0, sizeof(zero));
        assert_memory_equal(&peeked, &zero, sizeof(lc_cert_info_t));
    }

    lc_cert_free(cert);
    X509_free(leaf);
    free(chain);
    free(pem);

    return ok;
}


static const lc_leaf_spec_t  lc_good = {
    "DNS:www." LC_NAME ",DNS:" LC_NAME, LC_T0 - LC_DAY, LC_T0 + 90 * LC_DAY,
    "03AF0102030405060708090A0B0C0D0E", NULL
};


static void
test_peek_ecdsa(void **state)
{
    lc_fixture_t  *f = *state;

    assert_int_equal(lc_peek_vs_parse(f, f->ec, f->ec, 0, &lc_good, LC_T0),
                     1);
    assert_int_equal(lc_peek_vs_parse(f, f->ec, f->ec, 1, &lc_good, LC_T0),
                     1);
}


static void
test_peek_rsa(void **state)
{
    lc_fixture_t  *f = *state;

    assert_int_equal(lc_peek_vs_parse(f, f->rsa, f->rsa, 0, &lc_good, LC_T0),
                     1);
    assert_int_equal(lc_peek_vs_parse(f, f->rsa, f->rsa, 1, &lc_good, LC_T0),
                     1);
}


/* a serial with its top bit set, a GeneralizedTime, a wildcard */

static void
test_peek_fields(void **state)
{
    lc_fixture_t  *f = *state;

    static const lc_leaf_spec_t  spec = {
        "DNS:*.acme.test", 1700000123, 2600000000, "FF00000000000001", NULL
    };

    assert_int_equal(lc_peek_vs_parse(f, f->ec, f->ec, 0, &spec,
                                      LC_T0 + LC_DAY), 1);
    assert_int_equal(lc_peek_vs_parse(f, f->rsa, f->rsa, 1, &spec,
                                      LC_T0 + LC_DAY), 1);
}


/* leaves of two CAs in turn: each its own issuer */

static void
test_peek_issuers(void **state)
{
    lc_fixture_t  *f = *state;

    X509      *ca;
    EVP_PKEY  *ca_key;

    static const lc_leaf_spec_t  other = {
        NULL, LC_T0 - 365 * LC_DAY, LC_T0 + 3650 * LC_DAY, "07", "Other CA"
    };

    ca = f->ca;
    ca_key = f->ca_key;

    f->ca = NULL;
    f->ca_key = f->ec2;
    f->ca = lc_cert_for(f, f->ec2, &other);

    assert_int_equal(lc_peek_vs_parse(f, f->ec, f->ec, 0, &lc_good, LC_T0),
                     1);
    assert_int_equal(lc_peek_vs_parse(f, f->rsa, f->rsa, 0, &lc_good,
                                      LC_T0), 1);

    X509_free(f->ca);
    f->ca = ca;
    f->ca_key = ca_key;

    assert_int_equal(lc_peek_vs_parse(f, f->ec, f->ec, 0, &lc_good, LC_T0),
                     1);
}


static void
test_peek_key_mismatch(void **state)
{
    lc_fixture_t  *f = *state;

    int  form;

    for (form = 0; form < 2; form++) {
        assert_int_equal(lc_peek_vs_parse(f, f->ec, f->ec2, form, &lc_good,
                                          LC_T0), 0);
        assert_int_equal(lc_peek_vs_parse(f, f->rsa, f->rsa2, form,
                                          &lc_good, LC_T0), 0);
        assert_int_equal(lc_peek_vs_parse(f, f->ec, f->rsa, form, &lc_good,
                                          LC_T0), 0);
        assert_int_equal(lc_peek_vs_parse(f, f->rsa, f->ec, form, &lc_good,
                                          LC_T0), 0);
    }
}


static void
test_peek_refuses_what_the_check_refuses(void **state)
{
    lc_fixture_t  *f = *state;

    static const lc_leaf_spec_t  other = {
        "DNS:other.acme.test", LC_T0 - LC_DAY, LC_T0 + 90 * LC_DAY, "05",
        NULL
    };
    static const lc_leaf_spec_t  no_san = {
        NULL, LC_T0 - LC_DAY, LC_T0 + 90 * LC_DAY, "05", NULL
    };

    assert_int_equal(lc_peek_vs_parse(f, f->ec, f->ec, 0, &other, LC_T0), 0);
    assert_int_equal(lc_peek_vs_parse(f, f->ec, f->ec, 0, &no_san, LC_T0),
                     0);

    /* expired, not yet valid */

    assert_int_equal(lc_peek_vs_parse(f, f->ec, f->ec, 0, &lc_good,
                                      LC_T0 + 91 * LC_DAY), 0);
    assert_int_equal(lc_peek_vs_parse(f, f->rsa, f->rsa, 0, &lc_good,
                                      LC_T0 - 2 * LC_DAY), 0);
}


static void
test_peek_damaged(void **state)
{
    lc_fixture_t  *f = *state;

    X509            *leaf;
    char            *chain, *pem, *p;
    size_t           chain_len, pem_len;
    lc_cert_info_t   info;

    leaf = lc_cert_for(f, f->ec, &lc_good);
    chain = lc_chain_pem(f, leaf, &chain_len);
    pem = lc_key_pem(f->ec, 0, &pem_len);

    assert_int_equal(lc_cert_peek(chain, chain_len, pem, pem_len, LC_NAME,
                                  LC_T0, &info), 1);

    /* no key, no chain, garbage */

    assert_int_equal(lc_cert_peek(chain, chain_len, NULL, 0, LC_NAME, LC_T0,
                                  &info), 0);
    assert_int_equal(lc_cert_peek(NULL, 0, pem, pem_len, LC_NAME, LC_T0,
                                  &info), 0);
    assert_int_equal(lc_cert_peek("junk", 4, pem, pem_len, LC_NAME, LC_T0,
                                  &info), 0);
    assert_int_equal(lc_cert_peek(chain, chain_len, "junk", 4, LC_NAME, LC_T0,
                                  &info), 0);

    /* a damaged intermediate: a letter of its base64 changed */

    p = strstr(chain + 100, "-----BEGIN CERTIFICATE-----");
    assert_non_null(p);
    p[200] = (p[200] == 'A') ? 'B' : 'A';
    p[201] = '*';

    assert_int_equal(lc_cert_peek(chain, chain_len, pem, pem_len, LC_NAME,
                                  LC_T0, &info), 0);

    /* the leaf cut short */

    assert_int_equal(lc_cert_peek(chain, 300, pem, pem_len, LC_NAME, LC_T0,
                                  &info), 0);
    assert_int_equal(ERR_peek_error(), 0);

    X509_free(leaf);
    free(chain);
    free(pem);
}


static int
lc_setup(void **state)
{
    lc_fixture_t  *f;

    static const lc_leaf_spec_t  ca = {
        NULL, LC_T0 - 365 * LC_DAY, LC_T0 + 3650 * LC_DAY, "01", "Peek CA"
    };

    f = calloc(1, sizeof(lc_fixture_t));
    if (f == NULL) {
        return -1;
    }

    f->ca_key = EVP_EC_gen("P-256");
    f->ec = EVP_EC_gen("P-256");
    f->ec2 = EVP_EC_gen("P-256");
    f->rsa = EVP_RSA_gen(2048);
    f->rsa2 = EVP_RSA_gen(2048);

    if (f->ca_key == NULL || f->ec == NULL || f->ec2 == NULL
        || f->rsa == NULL || f->rsa2 == NULL)
    {
        return -1;
    }

    f->ca = lc_cert_for(f, f->ca_key, &ca);

    *state = f;

    return 0;
}


static int
lc_teardown(void **state)
{
    lc_fixture_t  *f = *state;

    X509_free(f->ca);
    EVP_PKEY_free(f->ca_key);
    EVP_PKEY_free(f->ec);
    EVP_PKEY_free(f->ec2);
    EVP_PKEY_free(f->rsa);
    EVP_PKEY_free(f->rsa2);
    free(f);

    lc_cert_cleanup();

    return 0;
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_peek_ecdsa),
        cmocka_unit_test(test_peek_rsa),
        cmocka_unit_test(test_peek_fields),
        cmocka_unit_test(test_peek_issuers),
        cmocka_unit_test(test_peek_key_mismatch),
        cmocka_unit_test(test_peek_refuses_what_the_check_refuses),
        cmocka_unit_test(test_peek_damaged),
    };

    return cmocka_run_group_tests_name("lc_cert_peek", tests, lc_setup,
                                       lc_teardown);
}
