
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: tests of the certificate parser and checks.  The certificates
 * are made here with OpenSSL: a CA, an intermediate and leaves.
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


#define LC_T0     1700000000            /* 2023-11-14T22:13:20Z */
#define LC_DAY    86400
#define LC_NB     (LC_T0 - LC_DAY)
#define LC_NA     (LC_T0 + 90 * LC_DAY)
#define LC_NOW    LC_T0
#define LC_NAME   "links.acme.test"


typedef struct {
    EVP_PKEY  *ca_key;
    X509      *ca;
    EVP_PKEY  *int_key;
    X509      *inter;
    EVP_PKEY  *leaf_key;
    EVP_PKEY  *other_key;
} lc_fixture_t;


/*
 * "C=US/O=Acme/CN=x"; UTF8String without the length bounds of
 * MBSTRING_UTF8, so that over-long names can be made
 */

static X509_NAME *
lc_make_name(const char *spec)
{
    int         rc;
    char       *copy, *part, *eq, *save;
    X509_NAME  *name;

    name = X509_NAME_new();
    copy = strdup(spec);
    assert_non_null(name);
    assert_non_null(copy);

    for (part = strtok_r(copy, "/", &save);
         part;
         part = strtok_r(NULL, "/", &save))
    {
        eq = strchr(part, '=');
        assert_non_null(eq);
        *eq = '\0';
        rc = X509_NAME_add_entry_by_txt(name, part, V_ASN1_UTF8STRING,
                                        (unsigned char *) eq + 1, -1, -1, 0);
        assert_int_equal(rc, 1);
    }

    free(copy);

    return name;
}


static void
lc_add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX       ctx;
    X509_EXTENSION  *ext;

    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);

    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    assert_non_null(ext);
    assert_int_equal(X509_add_ext(x, ext, -1), 1);
    X509_EXTENSION_free(ext);
}


/*
 * A certificate for key, signed by issuer (self-signed if NULL); san may
 * be NULL ("DNS:a,DNS:b" otherwise), serial is hexadecimal.
 */

static X509 *
lc_make_cert(EVP_PKEY *key, const char *subject, const char *san,
    X509 *issuer, EVP_PKEY *issuer_key, time_t nb, time_t na,
    const char *serial, int ca)
{
    X509       *x;
    BIGNUM     *bn;
    X509_NAME  *name;

    x = X509_new();
    assert_non_null(x);
    assert_int_equal(X509_set_version(x, 2), 1);

    bn = NULL;
    assert_true(BN_hex2bn(&bn, serial) > 0);
    assert_non_null(BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)));
    BN_free(bn);

    assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), nb));
    assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), na));

    name = lc_make_name(subject);
    assert_int_equal(X509_set_subject_name(x, name), 1);
    X509_NAME_free(name);

    if (issuer == NULL) {
        assert_int_equal(X509_set_issuer_name(x, X509_get_subject_name(x)),
                         1);
        issuer = x;
        issuer_key = key;

    } else {
        assert_int_equal(X509_set_issuer_name(x,
                                              X509_get_subject_name(issuer)),
                         1);
    }

    assert_int_equal(X509_set_pubkey(x, key), 1);

    if (ca) {
        lc_add_ext(x, issuer, NID_basic_constraints, "critical,CA:TRUE");
    }

    if (san) {
        lc_add_ext(x, issuer, NID_subject_alt_name, san);
    }

    assert_true(X509_sign(x, issuer_key, EVP_sha256()) > 0);

    return x;
}


/* a leaf for LC_NAME by the intermediate, valid from LC_NB to LC_NA */

static X509 *
lc_make_leaf(lc_fixture_t *f, const char *san)
{
    return lc_make_cert(f->leaf_key, "CN=" LC_NAME, san, f->inter,
                        f->int_key, LC_NB, LC_NA, "03AF", 0);
}


static char *
lc_bio_text(BIO *bio, size_t *len)
{
    char  *p, *copy;
    long   n;

    n = BIO_get_mem_data(bio, &p);
    assert_true(n >= 0);

    copy = malloc((size_t) n + 1);
    assert_non_null(copy);
    memcpy(copy, p, (size_t) n);
    copy[n] = '\0';

    *len = (size_t) n;
    BIO_free(bio);

    return copy;
}


/* PEM of certificates, NULL-terminated list */

static char *
lc_pem_certs(size_t *len, ...)
{
    BIO      *bio;
    X509     *x;
    va_list   args;

    bio = BIO_new(BIO_s_mem());
    assert_non_null(bio);

    va_start(args, len);

    while ((x = va_arg(args, X509 *)) != NULL) {
        assert_int_equal(PEM_write_bio_X509(bio, x), 1);
    }

    va_end(args);

    return lc_bio_text(bio, len);
}


static char *
lc_pem_key(EVP_PKEY *key, size_t *len)
{
    BIO  *bio;

    bio = BIO_new(BIO_s_mem());
    assert_non_null(bio);
    assert_int_equal(PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL,
                                              NULL), 1);

    return lc_bio_text(bio, len);
}


static char *
lc_cat(const char *a, const char *b, size_t *len)
{
    char    *s;
    size_t   la, lb;

    la = strlen(a);
    lb = strlen(b);

    s = malloc(la + lb + 1);
    assert_non_null(s);
    memcpy(s, a, la);
    memcpy(s + la, b, lb + 1);

    *len = la + lb;

    return s;
}


static void
lc_rfc3339(time_t t, char *buf, size_t size)
{
    struct tm  tm;

    assert_non_null(gmtime_r(&t, &tm));
    assert_true(strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) > 0);
}


/* parses leaf (and chain) with key; the caller frees */

static lc_cert_t *
lc_parse(X509 *leaf, X509 *inter, EVP_PKEY *key, lc_error_t *err)
{
    char       *chain, *pem;
    size_t      chain_len, pem_len;
    lc_cert_t  *cert;

    chain = lc_pem_certs(&chain_len, leaf, inter, (X509 *) NULL);
    pem = lc_pem_key(key, &pem_len);

    lc_error_clear(err);
    cert = lc_cert_parse(chain, chain_len, pem, pem_len, err);

    free(chain);
    free(pem);

    return cert;
}


/* lc_parse() of a new leaf with san, without the leaf; the caller frees */

static lc_cert_t *
lc_parse_leaf(lc_fixture_t *f, const char *san, X509 *inter, EVP_PKEY *key)
{
    X509        *leaf;
    lc_cert_t   *cert;
    lc_error_t   err;

    leaf = lc_make_leaf(f, san);
    cert = lc_parse(leaf, inter, key, &err);
    assert_non_null(cert);
    X509_free(leaf);

    return cert;
}


/* lc_cert_info() of a leaf for LC_NAME with this serial, by issuer */

static int
lc_leaf_info(lc_fixture_t *f, X509 *issuer, EVP_PKEY *issuer_key,
    const char *serial, lc_cert_info_t *info)
{
    int          rc;
    X509        *leaf;
    lc_cert_t   *cert;
    lc_error_t   err;

    leaf = lc_make_cert(f->leaf_key, "CN=" LC_NAME, "DNS:" LC_NAME, issuer,
                        issuer_key, LC_NB, LC_NA, serial, 0);
    cert = lc_parse(leaf, NULL, f->leaf_key, &err);
    assert_non_null(cert);

    rc = lc_cert_info(cert, info);

    lc_cert_free(cert);
    X509_free(leaf);

    return rc;
}


/* lc_cert_info() of a leaf by a self-signed CA of this subject */

static void
lc_issuer_info(lc_fixture_t *f, const char *subject, lc_cert_info_t *info)
{
    X509  *ca;

    ca = lc_make_cert(f->ca_key, subject, NULL, NULL, NULL, LC_NB, LC_NA,
                      "09", 1);
    assert_int_equal(lc_leaf_info(f, ca, f->ca_key, "0A", info), 0);
    X509_free(ca);
}


#define lc_assert_error(err, t, d)                                            \
    do {                                                                      \
        assert_string_equal((err)->type, t);                                  \
        assert_string_equal((err)->detail, d);                                \
        assert_int_equal(ERR_peek_error(), 0);                                \
    } while (0)


static int
lc_setup(void **state)
{
    lc_fixture_t  *f;

    f = calloc(1, sizeof(lc_fixture_t));
    if (f == NULL) {
        return -1;
    }

    f->ca_key = EVP_EC_gen("P-256");
    f->int_key = EVP_EC_gen("P-256");
    f->leaf_key = EVP_EC_gen("P-256");
    f->other_key = EVP_EC_gen("P-256");

    if (f->ca_key == NULL || f->int_key == NULL || f->leaf_key == NULL
        || f->other_key == NULL)
    {
        return -1;
    }

    f->ca = lc_make_cert(f->ca_key, "C=US/O=Acme Test/CN=LinkCert Test CA",
                         NULL, NULL, NULL, LC_T0 - 365 * LC_DAY,
                         LC_T0 + 3650 * LC_DAY, "01", 1);
    f->inter = lc_make_cert(f->int_key,
                            "C=US/O=Acme Test/CN=LinkCert Test Intermediate",
                            NULL, f->ca, f->ca_key, LC_T0 - 365 * LC_DAY,
                            LC_T0 + 3650 * LC_DAY, "02", 1);

    *state = f;

    return 0;
}


static int
lc_teardown(void **state)
{
    lc_fixture_t  *f = *state;

    X509_free(f->ca);
    X509_free(f->inter);
    EVP_PKEY_free(f->ca_key);
    EVP_PKEY_free(f->int_key);
    EVP_PKEY_free(f->leaf_key);
    EVP_PKEY_free(f->other_key);
    free(f);

    return 0;
}


static void
test_parse_leaf_only(void **state)
{
    lc_fixture_t  *f = *state;

    X509        *leaf;
    lc_cert_t   *cert;
    lc_error_t   err;

    leaf = lc_make_leaf(f, "DNS:" LC_NAME);

    cert = lc_parse(leaf, NULL, f->leaf_key, &err);
    assert_non_null(cert);
    assert_non_null(cert->leaf);
    assert_non_null(cert->chain);
    assert_non_null(cert->key);
    assert_int_equal(sk_X509_num(cert->chain), 0);
    assert_int_equal(X509_cmp(cert->leaf, leaf), 0);
    assert_int_equal(EVP_PKEY_eq(cert->key, f->leaf_key), 1);
    assert_int_equal(ERR_peek_error(), 0);

    lc_error_clear(&err);
    assert_int_equal(lc_cert_check(cert, LC_NAME, LC_NOW, &err), 0);
    assert_string_equal(err.type, "");
    assert_int_equal(ERR_peek_error(), 0);

    lc_cert_free(cert);
    X509_free(leaf);
}


static void
test_parse_with_intermediate(void **state)
{
    lc_fixture_t  *f = *state;

    X509        *leaf;
    lc_cert_t   *cert;
    lc_error_t   err;

    leaf = lc_make_leaf(f, "DNS:" LC_NAME);

    cert = lc_parse(leaf, f->inter, f->leaf_key, &err);
    assert_non_null(cert);
    assert_int_equal(X509_cmp(cert->leaf, leaf), 0);
    assert_int_equal(sk_X509_num(cert->chain), 1);
    assert_int_equal(X509_cmp(sk_X509_value(cert->chain, 0), f->inter), 0);
    assert_int_equal(lc_cert_check(cert, LC_NAME, LC_NOW, &err), 0);
    assert_int_equal(ERR_peek_error(), 0);

    lc_cert_free(cert);
    X509_free(leaf);
}


/*
 * The domains of one CA share its parsed intermediate; the few kept are
 * the most recently used, and the certificates outlive the cache.
 */

static void
test_parse_shares_intermediates(void **state)
{
    lc_fixture_t  *f = *state;

    int          i;
    X509        *first, *other[LC_CERT_SHARED + 1];
    lc_cert_t   *a, *b, *c;
    lc_error_t   err;
    char         serial[8];

    a = lc_parse_leaf(f, "DNS:" LC_NAME, f->inter, f->leaf_key);
    b = lc_parse_leaf(f, "DNS:www." LC_NAME, f->inter, f->leaf_key);

    assert_int_equal(sk_X509_num(a->chain), 1);
    assert_int_equal(sk_X509_num(b->chain), 1);
    assert_ptr_not_equal(a->leaf, b->leaf);
    first = sk_X509_value(a->chain, 0);
    assert_ptr_equal(sk_X509_value(b->chain, 0), first);
    assert_int_equal(X509_cmp(first, f->inter), 0);

    /* b keeps its reference when a is gone */

    lc_cert_free(a);
    assert_int_equal(X509_cmp(sk_X509_value(b->chain, 0), f->inter), 0);

    /* as many other intermediates as are kept push the first one out */

    for (i = 0; i <= LC_CERT_SHARED; i++) {
        (void) snprintf(serial, sizeof(serial), "%X", 0x100 + i);
        other[i] = lc_make_cert(f->int_key,
                                "C=US/O=Acme Test/CN=Another Intermediate",
                                NULL, f->ca, f->ca_key, LC_NB, LC_NA, serial,
                                1);
        c = lc_parse_leaf(f, "DNS:" LC_NAME, other[i], f->leaf_key);
        assert_int_equal(X509_cmp(sk_X509_value(c->chain, 0), other[i]), 0);
        assert_int_equal(lc_cert_check(c, LC_NAME, LC_NOW, &err), 0);
        lc_cert_free(c);
    }

    a = lc_parse_leaf(f, "DNS:" LC_NAME, f->inter, f->leaf_key);
    assert_ptr_not_equal(sk_X509_value(a->chain, 0), first);
    assert_int_equal(X509_cmp(sk_X509_value(a->chain, 0), f->inter), 0);

    c = lc_parse_leaf(f, "DNS:" LC_NAME, f->inter, f->leaf_key);
    assert_ptr_equal(sk_X509_value(c->chain, 0), sk_X509_value(a->chain, 0));
    lc_cert_free(c);

    /* after a clean-up the certificates parsed before still work */

    lc_cert_cleanup();
    assert_int_equal(lc_cert_check(a, LC_NAME, LC_NOW, &err), 0);
    assert_int_equal(X509_cmp(sk_X509_value(a->chain, 0), f->inter), 0);
    c = lc_parse_leaf(f, "DNS:" LC_NAME, f->inter, f->leaf_key);
    assert_ptr_not_equal(sk_X509_value(c->chain, 0),
                         sk_X509_value(a->chain, 0));
    assert_int_equal(ERR_peek_error(), 0);

    lc_cert_free(a);
    lc_cert_free(b);
    lc_cert_free(c);

    for (i = 0; i <= LC_CERT_SHARED; i++) {
        X509_free(other[i]);
    }
}


static void
test_parse_text_around_blocks(void **state)
{
    lc_fixture_t  *f = *state;

    X509        *leaf;
    char        *a, *b, *c, *chain, *key;
    size_t       len, key_len;
    lc_cert_t   *cert;
    lc_error_t   err;

    /* as "openssl x509 -text" or a concatenation with comments leaves it */

    leaf = lc_make_leaf(f, "DNS:" LC_NAME);
    a = lc_pem_certs(&len, leaf, (X509 *) NULL);
    b = lc_pem_certs(&len, f->inter, (X509 *) NULL);
    c = lc_cat("subject=CN = links.acme.test\n", a, &len);
    free(a);
    a = lc_cat(c, "\n# intermediate\n", &len);
    free(c);
    c = lc_cat(a, b, &len);
    chain = lc_cat(c, "trailing words\n\n", &len);
    key = lc_pem_key(f->leaf_key, &key_len);

    cert = lc_cert_parse(chain, len, key, key_len, &err);
    assert_non_null(cert);
    assert_int_equal(sk_X509_num(cert->chain), 1);
    assert_int_equal(ERR_peek_error(), 0);

    lc_cert_free(cert);
    free(a);
    free(b);
    free(c);
    free(chain);
    free(key);
    X509_free(leaf);
}


static void
test_parse_key_and_cert_in_one_file(void **state)
{
    lc_fixture_t  *f = *state;

    X509        *leaf;
    char        *certs, *key, *both;
    size_t       len, key_len;
    lc_cert_t   *cert;
    lc_error_t   err;

    /* the key block in the chain file and the cert in the key file */

    leaf = lc_make_leaf(f, "DNS:" LC_NAME);
    certs = lc_pem_certs(&len, leaf, (X509 *) NULL);
    key = lc_pem_key(f->leaf_key, &key_len);
    both = lc_cat(key, certs, &len);

    cert = lc_cert_parse(both, len, both, len, &err);
    assert_non_null(cert);
    assert_int_equal(sk_X509_num(cert->chain), 0);
    assert_int_equal(lc_cert_check(cert, LC_NAME, LC_NOW, &err), 0);
    assert_int_equal(ERR_peek_error(), 0);

    lc_cert_free(cert);
    free(certs);
    free(key);
    free(both);
    X509_free(leaf);
}


static void
test_parse_garbage(void **state)
{
    lc_fixture_t  *f = *state;

    char        *key;
    size_t       key_len;
    lc_cert_t   *cert;
    lc_error_t   err;

    static const char  garbage[] = "hello world\n\x01\x02\xff";
    static const char  bad_b64[] = "-----BEGIN CERTIFICATE-----\n"
                                   "!!!! not base64 !!!!\n"
                                   "-----END CERTIFICATE-----\n";
    static const char  bad_der[] = "-----BEGIN CERTIFICATE-----\n"
                                   "MIIBAAAAAAAA\n"
                                   "-----END CERTIFICATE-----\n";

    key = lc_pem_key(f->leaf_key, &key_len);

    cert = lc_cert_parse(garbage, sizeof(garbage) - 1, key, key_len, &err);
    assert_null(cert);
    lc_assert_error(&err, "store_corrupt",
                    "fullchain.pem holds no certificate");

    cert = lc_cert_parse(bad_b64, sizeof(bad_b64) - 1, key, key_len, &err);
    assert_null(cert);
    lc_assert_error(&err, "store_corrupt",
                    "fullchain.pem holds a damaged certificate");

    cert = lc_cert_parse(bad_der, sizeof(bad_der) - 1, key, key_len, &err);
    assert_null(cert);
    lc_assert_error(&err, "store_corrupt",
                    "fullchain.pem holds a damaged certificate");

    free(key);
}


static void
test_parse_truncated_chain(void **state)
{
    lc_fixture_t  *f = *state;

    X509        *leaf;
    char        *chain, *key;
    size_t       len, key_len;
    lc_cert_t   *cert;
    lc_error_t   err;

    /* a half-written file must not pass for a chain without intermediate */

    leaf = lc_make_leaf(f, "DNS:" LC_NAME);
    chain = lc_pem_certs(&len, leaf, f->inter, (X509 *) NULL);
    key = lc_pem_key(f->leaf_key, &key_len);

    cert = lc_cert_parse(chain, len - 100, key, key_len, &err);
    assert_null(cert);
    lc_assert_error(&err, "store_corrupt",
                    "fullchain.pem: certificate 2 is damaged");

    free(chain);
    free(key);
    X509_free(leaf);
}


static void
test_parse_empty(void **state)
{
    lc_fixture_t  *f = *state;

    X509        *leaf;
    char        *chain, *key;
    size_t       len, key_len;
    lc_cert_t   *cert;
    lc_error_t   err;

    leaf = lc_make_leaf(f, "DNS:" LC_NAME);
    chain = lc_pem_certs(&len, leaf, (X509 *) NULL);
    key = lc_pem_key(f->leaf_key, &key_len);

    cert = lc_cert_parse(NULL, 0, key, key_len, &err);
    assert_null(cert);
    lc_assert_error(&err, "store_corrupt", "fullchain.pem is empty");

    cert = lc_cert_parse("", 0, key, key_len, &err);
    assert_null(cert);
    lc_assert_error(&err, "store_corrupt", "fullchain.pem is empty");

    cert = lc_cert_parse("\n\n", 2, key, key_len, &err);
    assert_null(cert);
    lc_assert_error(&err, "store_corrupt",
                    "fullchain.pem holds no certificate");

    cert = lc_cert_parse(chain, len, "", 0, &err);
    assert_null(cert);
    lc_assert_error(&err, "store_corrupt", "privkey.pem is empty");

    cert = lc_cert_parse(chain, len, NULL, 0, &err);
    assert_null(cert);
    lc_assert_error(&err, "store_corrupt", "privkey.pem is empty");

    free(chain);
    free(key);
    X509_free(leaf);
}


static void
test_parse_bad_key(void **state)
{
    lc_fixture_t  *f = *state;

    BIO         *bio;
    X509        *leaf;
    char        *chain, *key;
    size_t       len, key_len;
    lc_cert_t   *cert;
    lc_error_t   err;

    static const char  garbage[] = "not a key\n";
    static const char  bad_der[] = "-----BEGIN PRIVATE KEY-----\n"
                                   "AAAAAAAA\n"
                                   "-----END PRIVATE KEY-----\n";

    leaf = lc_make_leaf(f, "DNS:" LC_NAME);
    chain = lc_pem_certs(&len, leaf, (X509 *) NULL);

    cert = lc_cert_parse(chain, len, garbage, sizeof(garbage) - 1, &err);
    assert_null(cert);
    lc_assert_error(&err, "store_corrupt",
                    "privkey.pem holds no private key");

    cert = lc_cert_parse(chain, len, bad_der, sizeof(bad_der) - 1, &err);
    assert_null(cert);
    lc_assert_error(&err, "store_corrupt",
                    "privkey.pem holds no private key");

    /* a certificate where the key should be */
    cert = lc_cert_parse(chain, len, chain, len, &err);
    assert_null(cert);
    lc_assert_error(&err, "store_corrupt",
                    "privkey.pem holds no private key");

    /* encrypted: must fail without asking for a password */
    bio = BIO_new(BIO_s_mem());
    assert_non_null(bio);
    assert_int_equal(PEM_write_bio_PrivateKey(bio, f->leaf_key,
                                              EVP_aes_256_cbc(),
                                              (unsigned char *) "secret", 6,
                                              NULL, NULL), 1);
    key = lc_bio_text(bio, &key_len);

    cert = lc_cert_parse(chain, len, key, key_len, &err);
    assert_null(cert);
    lc_assert_error(&err, "store_corrupt",
                    "privkey.pem holds an encrypted private key; "
                    "it must be stored without a password");

    free(key);
    free(chain);
    X509_free(leaf);
}


/*
 * The forms of privkey.pem: PKCS#8 and the traditional form, alone (read
 * by the reused decoder) or after EC PARAMETERS (read the slow way); a
 * public key is no private key, and a good key reads after a bad one.
 */

static void
test_parse_key_forms(void **state)
{
    lc_fixture_t  *f = *state;

    BIO         *bio;
    X509        *leaf;
    char        *chain, *pem, *both;
    size_t       len, pem_len, i;
    lc_cert_t   *cert;
    lc_error_t   err;

    static const char  params[] = "-----BEGIN EC PARAMETERS-----\n"
                                  "BggqhkjOPQMBBw==\n"
                                  "-----END EC PARAMETERS-----\n";

    leaf = lc_make_leaf(f, "DNS:" LC_NAME);
    chain = lc_pem_certs(&len, leaf, (X509 *) NULL);

    for (i = 0; i < 4; i++) {
        bio = BIO_new(BIO_s_mem());
        assert_non_null(bio);

        if (i == 2) {
            assert_int_equal(PEM_write_bio_PUBKEY(bio, f->leaf_key), 1);

        } else if (i == 1) {
            assert_int_equal(PEM_write_bio_PrivateKey_traditional(bio,
                                 f->leaf_key, NULL, NULL, 0, NULL, NULL),
                             1);
        } else {
            assert_int_equal(PEM_write_bio_PrivateKey(bio, f->leaf_key, NULL,
                                                      NULL, 0, NULL, NULL),
                             1);
        }

        pem = lc_bio_text(bio, &pem_len);

        if (i == 3) {
            both = malloc(sizeof(params) + pem_len);
            assert_non_null(both);
            memcpy(both, params, sizeof(params) - 1);
            memcpy(both + sizeof(params) - 1, pem, pem_len);
            free(pem);
            pem = both;
            pem_len += sizeof(params) - 1;
        }

        cert = lc_cert_parse(chain, len, pem, pem_len, &err);

        if (i == 2) {
            assert_null(cert);
            lc_assert_error(&err, "store_corrupt",
                            "privkey.pem holds no private key");

        } else {
            assert_non_null(cert);
            assert_int_equal(EVP_PKEY_eq(cert->key, f->leaf_key), 1);
            lc_cert_free(cert);
        }

        free(pem);
    }

    free(chain);
    X509_free(leaf);
}


static void
test_parse_leaves_error_queue_alone(void **state)
{
    lc_fixture_t  *f = *state;

    X509        *leaf;
    lc_cert_t   *cert;
    lc_error_t   err;

    /* a stale error from the caller is not taken for a damaged chain */

    leaf = lc_make_leaf(f, "DNS:" LC_NAME);

    ERR_raise(ERR_LIB_X509, X509_R_CERT_ALREADY_IN_HASH_TABLE);

    cert = lc_parse(leaf, f->inter, f->leaf_key, &err);
    assert_non_null(cert);
    assert_int_equal(ERR_peek_error(), 0);

    lc_cert_free(cert);
    X509_free(leaf);
}


static void
test_check_key_mismatch(void **state)
{
    lc_fixture_t  *f = *state;

    lc_cert_t   *cert;
    lc_error_t   err;

    cert = lc_parse_leaf(f, "DNS:" LC_NAME, f->inter, f->other_key);

    assert_int_equal(lc_cert_check(cert, LC_NAME, LC_NOW, &err), -1);
    lc_assert_error(&err, "store_key_mismatch",
                    "privkey.pem does not match the certificate");

    lc_cert_free(cert);
}


/*
 * The key is decoded for the type of the leaf's key first: a key of
 * another type is still read, and fails the check, and the types keep
 * their own decoders (an RSA leaf, then an EC one again).
 */

static void
test_check_key_of_another_type(void **state)
{
    lc_fixture_t  *f = *state;

    X509        *leaf;
    EVP_PKEY    *rsa;
    lc_cert_t   *cert;
    lc_error_t   err;

    rsa = EVP_RSA_gen(2048);
    assert_non_null(rsa);

    cert = lc_parse_leaf(f, "DNS:" LC_NAME, f->inter, rsa);
    assert_int_equal(EVP_PKEY_eq(cert->key, rsa), 1);
    assert_int_equal(lc_cert_check(cert, LC_NAME, LC_NOW, &err), -1);
    lc_assert_error(&err, "store_key_mismatch",
                    "privkey.pem does not match the certificate");
    lc_cert_free(cert);

    leaf = lc_make_cert(rsa, "CN=" LC_NAME, "DNS:" LC_NAME, f->inter,
                        f->int_key, LC_NB, LC_NA, "05", 0);
    cert = lc_parse(leaf, f->inter, rsa, &err);
    assert_non_null(cert);
    assert_int_equal(lc_cert_check(cert, LC_NAME, LC_NOW, &err), 0);
    assert_int_equal(ERR_peek_error(), 0);
    lc_cert_free(cert);

    cert = lc_parse(leaf, f->inter, f->leaf_key, &err);
    assert_non_null(cert);
    assert_int_equal(EVP_PKEY_eq(cert->key, f->leaf_key), 1);
    assert_int_equal(lc_cert_check(cert, LC_NAME, LC_NOW, &err), -1);
    lc_assert_error(&err, "store_key_mismatch",
                    "privkey.pem does not match the certificate");
    lc_cert_free(cert);

    cert = lc_parse_leaf(f, "DNS:" LC_NAME, f->inter, f->leaf_key);
    assert_int_equal(lc_cert_check(cert, LC_NAME, LC_NOW, &err), 0);
    lc_cert_free(cert);

    X509_free(leaf);
    EVP_PKEY_free(rsa);
}


static void
test_check_wrong_name(void **state)
{
    lc_fixture_t  *f = *state;

    lc_cert_t   *cert;
    lc_error_t   err;

    cert = lc_parse_leaf(f, "DNS:other.example", NULL, f->leaf_key);

    assert_int_equal(lc_cert_check(cert, LC_NAME, LC_NOW, &err), -1);
    lc_assert_error(&err, "store_name_mismatch",
                    "certificate is for other.example, not links.acme.test");

    assert_int_equal(lc_cert_check(cert, "acme.test", LC_NOW, &err), -1);
    lc_assert_error(&err, "store_name_mismatch",
                    "certificate is for other.example, not acme.test");

    lc_cert_free(cert);

    /* other SAN types are not names */
    cert = lc_parse_leaf(f, "IP:192.0.2.1,DNS:a.example,email:x@acme.test,"
                         "DNS:b.example", NULL, f->leaf_key);

    assert_int_equal(lc_cert_check(cert, LC_NAME, LC_NOW, &err), -1);
    lc_assert_error(&err, "store_name_mismatch",
                    "certificate is for a.example, b.example, "
                    "not links.acme.test");

    lc_cert_free(cert);
}


static void
test_check_many_names(void **state)
{
    lc_fixture_t  *f = *state;

    lc_cert_t   *cert;
    lc_error_t   err;

    cert = lc_parse_leaf(f, "DNS:one.example,DNS:two.example,"
                         "DNS:three.example,DNS:four.example,"
                         "DNS:five.example", NULL, f->leaf_key);

    assert_int_equal(lc_cert_check(cert, LC_NAME, LC_NOW, &err), -1);
    lc_assert_error(&err, "store_name_mismatch",
                    "certificate is for one.example, two.example, "
                    "three.example (+2 more), not links.acme.test");

    lc_cert_free(cert);

    /* long names: the detail stays bounded and names the domain */
    cert = lc_parse_leaf(f,
        "DNS:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
        "example,"
        "DNS:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb."
        "example,"
        "DNS:c.example",
        NULL, f->leaf_key);

    assert_int_equal(lc_cert_check(cert, LC_NAME, LC_NOW, &err), -1);
    assert_string_equal(err.type, "store_name_mismatch");
    assert_true(strlen(err.detail) < LC_ERROR_DETAIL_LEN);
    assert_int_equal(strncmp(err.detail, "certificate is for aaaa", 23), 0);
    assert_non_null(strstr(err.detail, "(+2 more), not links.acme.test"));

    lc_cert_free(cert);
}


static void
test_check_subject_cn_ignored(void **state)
{
    lc_fixture_t  *f = *state;

    lc_cert_t   *cert;
    lc_error_t   err;

    cert = lc_parse_leaf(f, NULL, NULL, f->leaf_key);

    assert_int_equal(lc_cert_check(cert, LC_NAME, LC_NOW, &err), -1);
    lc_assert_error(&err, "store_name_mismatch",
                    "certificate has no DNS name, not links.acme.test");

    lc_cert_free(cert);
}


static void
test_check_wildcard(void **state)
{
    lc_fixture_t  *f = *state;

    lc_cert_t   *cert;
    lc_error_t   err;

    cert = lc_parse_leaf(f, "DNS:*.acme.test", NULL, f->leaf_key);

    assert_int_equal(lc_cert_check(cert, "links.acme.test", LC_NOW, &err), 0);
    assert_int_equal(lc_cert_check(cert, "other.acme.test", LC_NOW, &err), 0);

    assert_int_equal(lc_cert_check(cert, "a.b.acme.test", LC_NOW, &err), -1);
    lc_assert_error(&err, "store_name_mismatch",
                    "certificate is for *.acme.test, not a.b.acme.test");

    assert_int_equal(lc_cert_check(cert, "acme.test", LC_NOW, &err), -1);
    assert_string_equal(err.type, "store_name_mismatch");

    lc_cert_free(cert);

    /* partial wildcards are not honoured */
    cert = lc_parse_leaf(f, "DNS:l*.acme.test", NULL, f->leaf_key);

    assert_int_equal(lc_cert_check(cert, "links.acme.test", LC_NOW, &err),
                     -1);
    assert_string_equal(err.type, "store_name_mismatch");

    lc_cert_free(cert);
}


static void
test_check_expired(void **state)
{
    lc_fixture_t  *f = *state;

    char         when[32], detail[LC_ERROR_DETAIL_LEN];
    lc_cert_t   *cert;
    lc_error_t   err;

    cert = lc_parse_leaf(f, "DNS:" LC_NAME, f->inter, f->leaf_key);

    lc_rfc3339(LC_NA, when, sizeof(when));
    (void) snprintf(detail, sizeof(detail), "certificate expired on %s",
                    when);

    assert_int_equal(lc_cert_check(cert, LC_NAME, LC_NA - 1, &err), 0);

    assert_int_equal(lc_cert_check(cert, LC_NAME, LC_NA + LC_DAY, &err), -1);
    lc_assert_error(&err, "store_expired", detail);

    /* not valid after notAfter, as OpenSSL verification has it */
    assert_int_equal(lc_cert_check(cert, LC_NAME, LC_NA, &err), -1);
    lc_assert_error(&err, "store_expired", detail);

    lc_cert_free(cert);
}


static void
test_check_expired_in_the_past(void **state)
{
    lc_fixture_t  *f = *state;

    X509        *leaf;
    time_t       now;
    lc_cert_t   *cert;
    lc_error_t   err;

    /* against the real clock: notAfter yesterday */

    now = time(NULL);
    leaf = lc_make_cert(f->leaf_key, "CN=" LC_NAME, "DNS:" LC_NAME,
                        f->inter, f->int_key, now - 30 * LC_DAY,
                        now - LC_DAY, "05", 0);
    cert = lc_parse(leaf, f->inter, f->leaf_key, &err);
    assert_non_null(cert);

    assert_int_equal(lc_cert_check(cert, LC_NAME, now, &err), -1);
    assert_string_equal(err.type, "store_expired");
    assert_int_equal(strncmp(err.detail, "certificate expired on ", 23), 0);
    assert_int_equal(strlen(err.detail), 23 + 20);

    lc_cert_free(cert);
    X509_free(leaf);
}


static void
test_check_not_yet_valid(void **state)
{
    lc_fixture_t  *f = *state;

    char         when[32], detail[LC_ERROR_DETAIL_LEN];
    lc_cert_t   *cert;
    lc_error_t   err;

    cert = lc_parse_leaf(f, "DNS:" LC_NAME, f->inter, f->leaf_key);

    lc_rfc3339(LC_NB, when, sizeof(when));
    (void) snprintf(detail, sizeof(detail),
                    "certificate is not valid before %s", when);

    assert_int_equal(lc_cert_check(cert, LC_NAME, LC_NB, &err), 0);

    assert_int_equal(lc_cert_check(cert, LC_NAME, LC_NB - 1, &err), -1);
    lc_assert_error(&err, "store_not_yet_valid", detail);

    lc_cert_free(cert);
}


static void
test_check_order(void **state)
{
    lc_fixture_t  *f = *state;

    X509        *leaf;
    lc_cert_t   *cert;
    lc_error_t   err;

    /* wrong key, wrong name and expired: the key is reported first */

    leaf = lc_make_leaf(f, "DNS:other.example");
    cert = lc_parse(leaf, NULL, f->other_key, &err);
    assert_non_null(cert);

    assert_int_equal(lc_cert_check(cert, LC_NAME, LC_NA + 1, &err), -1);
    assert_string_equal(err.type, "store_key_mismatch");

    lc_cert_free(cert);

    cert = lc_parse(leaf, NULL, f->leaf_key, &err);
    assert_non_null(cert);

    assert_int_equal(lc_cert_check(cert, LC_NAME, LC_NA + 1, &err), -1);
    assert_string_equal(err.type, "store_name_mismatch");

    lc_cert_free(cert);
    X509_free(leaf);
}


static void
test_check_null(void **state)
{
    lc_error_t  err;

    (void) state;

    assert_int_equal(lc_cert_check(NULL, LC_NAME, LC_NOW, &err), -1);
    assert_string_equal(err.type, "store_corrupt");
}


static void
test_info(void **state)
{
    lc_fixture_t  *f = *state;

    X509            *leaf;
    time_t           nb, na;
    lc_cert_t       *cert;
    lc_error_t       err;
    unsigned int     n;
    unsigned char    md[EVP_MAX_MD_SIZE];
    lc_cert_info_t   info;

    static const unsigned char  serial[] = {
        0x03, 0xaf, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
        0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e
    };

    /* notAfter after 2049 is a GeneralizedTime, not a UTCTime */

    nb = 1700000123;
    na = 2600000000;

    leaf = lc_make_cert(f->leaf_key, "CN=" LC_NAME, "DNS:" LC_NAME,
                        f->inter, f->int_key, nb, na,
                        "03AF0102030405060708090A0B0C0D0E", 0);
    cert = lc_parse(leaf, f->inter, f->leaf_key, &err);
    assert_non_null(cert);

    memset(&info, 0xa5, sizeof(info));
    assert_int_equal(lc_cert_info(cert, &info), 0);

    assert_int_equal(info.not_before, nb);
    assert_int_equal(info.not_after, na);

    assert_int_equal(info.serial_len, sizeof(serial));
    assert_memory_equal(info.serial, serial, sizeof(serial));

    assert_int_equal(X509_digest(leaf, EVP_sha256(), md, &n), 1);
    assert_int_equal(n, 32);
    assert_memory_equal(info.sha256, md, 32);

    assert_string_equal(info.issuer, "LinkCert Test Intermediate");
    assert_int_equal(ERR_peek_error(), 0);

    lc_cert_free(cert);
    X509_free(leaf);
}


static void
test_info_serials(void **state)
{
    lc_fixture_t  *f = *state;

    int              rc;
    lc_cert_info_t   info;

    static const unsigned char  high[] = {
        0x80, 0xff, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05,
        0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d,
        0x0e, 0x0f, 0x10, 0x11
    };

    /* 20 bytes with the high bit set: DER adds a sign byte, not we */

    rc = lc_leaf_info(f, f->inter, f->int_key,
                      "80FF000102030405060708090A0B0C0D0E0F1011", &info);
    assert_int_equal(rc, 0);
    assert_int_equal(info.serial_len, 20);
    assert_memory_equal(info.serial, high, 20);

    rc = lc_leaf_info(f, f->inter, f->int_key, "1", &info);
    assert_int_equal(rc, 0);
    assert_int_equal(info.serial_len, 1);
    assert_int_equal(info.serial[0], 1);

    rc = lc_leaf_info(f, f->inter, f->int_key, "0", &info);
    assert_int_equal(rc, 0);
    assert_int_equal(info.serial_len, 0);

    /* 21 bytes is more than RFC 5280 allows */
    rc = lc_leaf_info(f, f->inter, f->int_key,
                      "0102030405060708090A0B0C0D0E0F101112131415", &info);
    assert_int_equal(rc, -1);
    assert_int_equal(info.serial_len, 0);
    assert_int_equal(ERR_peek_error(), 0);
}


static void
test_info_issuer_without_cn(void **state)
{
    lc_fixture_t  *f = *state;

    lc_cert_info_t  info;

    lc_issuer_info(f, "C=US/O=Acme Test", &info);
    assert_string_equal(info.issuer, "O=Acme Test,C=US");
}


static void
test_info_issuer_truncated(void **state)
{
    lc_fixture_t  *f = *state;

    char             subject[256], expect[LC_ISSUER_LEN];
    lc_cert_info_t   info;

    /* 100 ASCII characters: cut at 63 */

    memcpy(subject, "CN=", 3);
    memset(subject + 3, 'x', 100);
    subject[103] = '\0';

    lc_issuer_info(f, subject, &info);
    memset(expect, 'x', LC_ISSUER_LEN - 1);
    expect[LC_ISSUER_LEN - 1] = '\0';
    assert_string_equal(info.issuer, expect);

    /* 62 ASCII and a two-byte character: the character is dropped whole */

    memcpy(subject, "CN=", 3);
    memset(subject + 3, 'y', 62);
    memcpy(subject + 65, "\xc3\xa9", 3);

    lc_issuer_info(f, subject, &info);
    memset(expect, 'y', 62);
    expect[62] = '\0';
    assert_string_equal(info.issuer, expect);

    /* a short UTF-8 name is kept as it is */

    lc_issuer_info(f, "CN=Autorit\xc3\xa9 de test", &info);
    assert_string_equal(info.issuer, "Autorit\xc3\xa9 de test");
}


static void
test_info_null(void **state)
{
    lc_cert_info_t  info;

    (void) state;

    assert_int_equal(lc_cert_info(NULL, &info), -1);
}


static void
test_free_null(void **state)
{
    (void) state;

    lc_cert_free(NULL);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_parse_leaf_only),
        cmocka_unit_test(test_parse_with_intermediate),
        cmocka_unit_test(test_parse_shares_intermediates),
        cmocka_unit_test(test_parse_text_around_blocks),
        cmocka_unit_test(test_parse_key_and_cert_in_one_file),
        cmocka_unit_test(test_parse_garbage),
        cmocka_unit_test(test_parse_truncated_chain),
        cmocka_unit_test(test_parse_empty),
        cmocka_unit_test(test_parse_bad_key),
        cmocka_unit_test(test_parse_key_forms),
        cmocka_unit_test(test_parse_leaves_error_queue_alone),
        cmocka_unit_test(test_check_key_mismatch),
        cmocka_unit_test(test_check_key_of_another_type),
        cmocka_unit_test(test_check_wrong_name),
        cmocka_unit_test(test_check_many_names),
        cmocka_unit_test(test_check_subject_cn_ignored),
        cmocka_unit_test(test_check_wildcard),
        cmocka_unit_test(test_check_expired),
        cmocka_unit_test(test_check_expired_in_the_past),
        cmocka_unit_test(test_check_not_yet_valid),
        cmocka_unit_test(test_check_order),
        cmocka_unit_test(test_check_null),
        cmocka_unit_test(test_info),
        cmocka_unit_test(test_info_serials),
        cmocka_unit_test(test_info_issuer_without_cn),
        cmocka_unit_test(test_info_issuer_truncated),
        cmocka_unit_test(test_info_null),
        cmocka_unit_test(test_free_null),
    };

    return cmocka_run_group_tests_name("lc_cert", tests, lc_setup,
                                       lc_teardown);
}
