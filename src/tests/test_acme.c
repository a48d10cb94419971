
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: tests of the ACME machines.  A fake CA answers here with
 * responses shaped like Pebble's; every request the machines make is
 * checked as a CA would check it: the JWS is decoded and its ES256
 * signature verified with the account key, the CSR is parsed from the
 * finalize payload, and the certificate is issued for its key by a test CA
 * made with OpenSSL.
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

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "lc_acme.h"


#define LC_NOW          1700000000      /* Tue, 14 Nov 2023 22:13:20 GMT */
#define LC_NAME         "links.acme.test"
#define LC_CA           "https://ca.test:14000"
#define LC_DIR          LC_CA "/dir"
#define LC_NEW_NONCE    LC_CA "/nonce-plz"
#define LC_NEW_ACCT     LC_CA "/sign-me-up"
#define LC_NEW_ORDER    LC_CA "/order-plz"
#define LC_ARI          LC_CA "/draft-ietf-acme-ari-03/renewalInfo"
#define LC_ACCT         LC_CA "/my-account/1"
#define LC_ORDER        LC_CA "/my-order/Wq3zJ6bF"
#define LC_AUTHZ        LC_CA "/authZ/Xk2mNbq1"
#define LC_AUTHZ2       LC_CA "/authZ/Yb7cPz9d"
#define LC_CHALL        LC_CA "/chalZ/h8YxQ0aa"
#define LC_FINALIZE     LC_CA "/finalize-order/Wq3zJ6bF"
#define LC_CERT         LC_CA "/certZ/5f3c1e2a"
#define LC_TOKEN        "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"
#define LC_CONTACT      "mailto:ops@crm.test"
#define LC_URN          "urn:ietf:params:acme:error:"
#define LC_PEM_CHAIN    "application/pem-certificate-chain"

/* recorded from Pebble 2.4, host and port changed */
#define LC_DIRECTORY_JSON                                                     \
    "{\n"                                                                     \
    "   \"keyChange\": \"" LC_CA "/rollover-account-key\",\n"                 \
    "   \"meta\": {\n"                                                        \
    "      \"externalAccountRequired\": false,\n"                             \
    "      \"termsOfService\": \"data:text/plain,Do%20what%20thou%20wilt\"\n" \
    "   },\n"                                                                 \
    "   \"newAccount\": \"" LC_NEW_ACCT "\",\n"                               \
    "   \"newNonce\": \"" LC_NEW_NONCE "\",\n"                                \
    "   \"newOrder\": \"" LC_NEW_ORDER "\",\n"                                \
    "   \"renewalInfo\": \"" LC_ARI "\",\n"                                   \
    "   \"revokeCert\": \"" LC_CA "/revoke-cert\"\n"                          \
    "}"

#define LC_DIRECTORY_NO_ARI_JSON                                              \
    "{\"newAccount\":\"" LC_NEW_ACCT "\","                                     \
    "\"newNonce\":\"" LC_NEW_NONCE "\","                                      \
    "\"newOrder\":\"" LC_NEW_ORDER "\"}"

#define LC_DIRECTORY_EAB_JSON                                                 \
    "{\"meta\":{\"externalAccountRequired\":true},"                           \
    "\"newAccount\":\"" LC_NEW_ACCT "\","                                     \
    "\"newNonce\":\"" LC_NEW_NONCE "\","                                      \
    "\"newOrder\":\"" LC_NEW_ORDER "\"}"

#define LC_ACCOUNT_JSON                                                       \
    "{\n   \"status\": \"valid\",\n   \"contact\": [\n"                      \
    "      \"" LC_CONTACT "\"\n   ],\n"                                       \
    "   \"orders\": \"" LC_CA "/list-orderz/1\"\n}"

/* RFC 7515 appendix A.3: a P-256 public key and its JWK, members sorted */
#define LC_RFC_X        "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
#define LC_RFC_Y        "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
#define LC_RFC_JWK                                                            \
    "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"" LC_RFC_X "\","               \
    "\"y\":\"" LC_RFC_Y "\"}"
#define LC_RFC_THUMBPRINT  "oKIywvGUpTVTyxMQ3bwIIeQUudfr_CkLMjCE19ECD-U"


typedef struct {
    lc_acme_account_t   acct;
    EVP_PKEY           *key;            /* the account's */
    lc_acme_t          *m;
    time_t              now;
    unsigned            serial;
    char                nonce[32];      /* the last one fed */
    lc_acme_request_t   req;            /* the last one sent */
    const char         *contacts[2];
    EVP_PKEY           *ca_key;
    X509               *ca;
    EVP_PKEY           *csr_key;        /* of the last finalize */
    char               *chain;          /* the last one issued */
} lc_t_t;


/* base64url, independently of lc_jws.c */

static char *
lc_t_b64url(const unsigned char *data, size_t len)
{
    int     n, i, j;
    char   *out;

    out = malloc(4 * ((len + 2) / 3) + 1);
    assert_non_null(out);

    n = EVP_EncodeBlock((unsigned char *) out, data, (int) len);
    assert_true(n >= 0);

    for (i = 0, j = 0; i < n; i++) {
        if (out[i] == '=') {
            continue;
        }

        out[j++] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    }

    out[j] = '\0';

    return out;
}


static unsigned char *
lc_t_unb64url(const char *s, size_t *len)
{
    int             n;
    char           *pad;
    size_t          i, slen, plen, pads;
    unsigned char  *out;

    slen = strlen(s);

    for (i = 0; i < slen; i++) {
        /* base64url has no padding and no standard-alphabet characters */
        assert_true(s[i] != '=' && s[i] != '+' && s[i] != '/');
    }

    pads = (4 - slen % 4) % 4;
    assert_true(pads < 3);
    plen = slen + pads;

    pad = malloc(plen + 1);
    out = malloc(plen / 4 * 3 + 1);
    assert_non_null(pad);
    assert_non_null(out);

    for (i = 0; i < slen; i++) {
        pad[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
    }

    memset(pad + slen, '=', pads);
    pad[plen] = '\0';

    n = EVP_DecodeBlock(out, (unsigned char *) pad, (int) plen);
    assert_true(n >= 0);
    free(pad);

    *len = (size_t) n - pads;
    out[*len] = '\0';

    return out;
}


static json_t *
lc_t_unb64url_json(const char *s)
{
    size_t          len;
    json_t         *json;
    unsigned char  *text;

    text = lc_t_unb64url(s, &len);
    json = json_loadb((char *) text, len, 0, NULL);
    free(text);
    assert_non_null(json);

    return json;
}


/* The JWK from the encoded point, independently of lc_jws.c. */

static json_t *
lc_t_jwk(EVP_PKEY *key)
{
    char           *x, *y;
    size_t          len;
    json_t         *jwk;
    unsigned char   pub[65];

    assert_int_equal(EVP_PKEY_get_octet_string_param(key,
                         OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub), &len), 1);
    assert_int_equal(len, 65);
    assert_int_equal(pub[0], 0x04);

    x = lc_t_b64url(pub + 1, 32);
    y = lc_t_b64url(pub + 33, 32);

    jwk = json_pack("{s:s, s:s, s:s, s:s}", "crv", "P-256", "kty", "EC",
                    "x", x, "y", y);
    assert_non_null(jwk);

    free(x);
    free(y);

    return jwk;
}


static char *
lc_t_sha256_b64url(const char *text)
{
    unsigned int   len;
    unsigned char  md[EVP_MAX_MD_SIZE];

    assert_int_equal(EVP_Digest(text, strlen(text), md, &len, EVP_sha256(),
                                NULL), 1);

    return lc_t_b64url(md, len);
}


static void
lc_t_verify_es256(EVP_PKEY *key, const char *input,
    const unsigned char *sig, size_t len)
{
    int             n;
    BIGNUM         *r, *s;
    ECDSA_SIG      *es;
    EVP_MD_CTX     *ctx;
    unsigned char  *der;

    assert_int_equal(len, 64);

    es = ECDSA_SIG_new();
    r = BN_bin2bn(sig, 32, NULL);
    s = BN_bin2bn(sig + 32, 32, NULL);
    assert_non_null(es);
    assert_int_equal(ECDSA_SIG_set0(es, r, s), 1);

    der = NULL;
    n = i2d_ECDSA_SIG(es, &der);
    assert_true(n > 0);

    ctx = EVP_MD_CTX_new();
    assert_non_null(ctx);
    assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL,
                                          key), 1);
    assert_int_equal(EVP_DigestVerify(ctx, der, (size_t) n,
                                      (const unsigned char *) input,
                                      strlen(input)), 1);

    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
}


static X509_NAME *
lc_t_name(const char *cn)
{
    X509_NAME  *name;

    name = X509_NAME_new();
    assert_non_null(name);

    if (strlen(cn) <= 64) {
        assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN",
                             MBSTRING_ASC, (const unsigned char *) cn, -1,
                             -1, 0), 1);
    }

    return name;
}


static void
lc_t_make_ca(lc_t_t *t)
{
    X509_NAME       *name;
    X509_EXTENSION  *ext;
    X509V3_CTX       v3;

    t->ca_key = EVP_EC_gen("P-256");
    t->ca = X509_new();
    assert_non_null(t->ca_key);
    assert_non_null(t->ca);

    name = lc_t_name("Pebble Root CA 3e1b2c");

    assert_int_equal(X509_set_version(t->ca, X509_VERSION_3), 1);
    assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(t->ca), 1), 1);
    assert_int_equal(X509_set_subject_name(t->ca, name), 1);
    assert_int_equal(X509_set_issuer_name(t->ca, name), 1);
    assert_non_null(X509_time_adj_ex(X509_getm_notBefore(t->ca), -1, 0,
                                     &t->now));
    assert_non_null(X509_time_adj_ex(X509_getm_notAfter(t->ca), 3650, 0,
                                     &t->now));
    assert_int_equal(X509_set_pubkey(t->ca, t->ca_key), 1);

    X509V3_set_ctx(&v3, t->ca, t->ca, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
                              "critical,CA:TRUE");
    assert_non_null(ext);
    assert_int_equal(X509_add_ext(t->ca, ext, -1), 1);
    X509_EXTENSION_free(ext);

    assert_true(X509_sign(t->ca, t->ca_key, EVP_sha256()) > 0);

    X509_NAME_free(name);
}


static char *
lc_t_pem(X509 *x, char *prefix)
{
    BIO     *bio;
    char    *data, *out;
    long     n;
    size_t   plen;

    bio = BIO_new(BIO_s_mem());
    assert_non_null(bio);
    assert_int_equal(PEM_write_bio_X509(bio, x), 1);

    n = BIO_get_mem_data(bio, &data);
    plen = prefix ? strlen(prefix) : 0;

    out = malloc(plen + (size_t) n + 1);
    assert_non_null(out);

    if (prefix != NULL) {
        memcpy(out, prefix, plen);
    }

    memcpy(out + plen, data, (size_t) n);
    out[plen + n] = '\0';

    BIO_free(bio);
    free(prefix);

    return out;
}


/* The chain a CA would send for the CSR: a leaf for key, then the CA. */

static char *
lc_t_issue(lc_t_t *t, EVP_PKEY *key, const char *domain)
{
    char            *pem, san[300];
    X509            *leaf;
    X509_NAME       *name;
    X509_EXTENSION  *ext;
    X509V3_CTX       v3;

    leaf = X509_new();
    assert_non_null(leaf);

    name = lc_t_name(domain);

    assert_int_equal(X509_set_version(leaf, X509_VERSION_3), 1);
    assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(leaf), 0x5f3c),
                     1);
    assert_int_equal(X509_set_subject_name(leaf, name), 1);
    assert_int_equal(X509_set_issuer_name(leaf,
                                          X509_get_subject_name(t->ca)), 1);
    assert_non_null(X509_time_adj_ex(X509_getm_notBefore(leaf), 0, 0,
                                     &t->now));
    assert_non_null(X509_time_adj_ex(X509_getm_notAfter(leaf), 90, 0,
                                     &t->now));
    assert_int_equal(X509_set_pubkey(leaf, key), 1);

    snprintf(san, sizeof(san), "DNS:%s", domain);
    X509V3_set_ctx(&v3, t->ca, leaf, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
    assert_non_null(ext);
    assert_int_equal(X509_add_ext(leaf, ext, -1), 1);
    X509_EXTENSION_free(ext);

    assert_true(X509_sign(leaf, t->ca_key, EVP_sha256()) > 0);

    pem = lc_t_pem(leaf, NULL);
    pem = lc_t_pem(t->ca, pem);

    X509_NAME_free(name);
    X509_free(leaf);

    return pem;
}


/*
 * A leaf for ARI: the given AKI keyIdentifier (none if NULL) and serial
 * (big-endian magnitude, made negative if asked), signed by the test CA;
 * the chain as a CA sends it, leaf first.
 */

static char *
lc_t_ari_cert(lc_t_t *t, const unsigned char *keyid, size_t keyid_len,
    const unsigned char *serial, size_t serial_len, int negative)
{
    char             *pem;
    X509             *leaf;
    BIGNUM           *bn;
    X509_NAME        *name;
    AUTHORITY_KEYID  *akid;

    leaf = X509_new();
    bn = BN_bin2bn(serial, (int) serial_len, NULL);
    assert_non_null(leaf);
    assert_non_null(bn);

    BN_set_negative(bn, negative);
    assert_non_null(BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(leaf)));
    BN_free(bn);

    name = lc_t_name(LC_NAME);

    assert_int_equal(X509_set_version(leaf, X509_VERSION_3), 1);
    assert_int_equal(X509_set_subject_name(leaf, name), 1);
    assert_int_equal(X509_set_issuer_name(leaf,
                                          X509_get_subject_name(t->ca)), 1);
    assert_non_null(X509_time_adj_ex(X509_getm_notBefore(leaf), 0, 0,
                                     &t->now));
    assert_non_null(X509_time_adj_ex(X509_getm_notAfter(leaf), 90, 0,
                                     &t->now));
    assert_int_equal(X509_set_pubkey(leaf, t->key), 1);

    if (keyid != NULL) {
        akid = AUTHORITY_KEYID_new();
        assert_non_null(akid);
        akid->keyid = ASN1_OCTET_STRING_new();
        assert_non_null(akid->keyid);
        assert_int_equal(ASN1_OCTET_STRING_set(akid->keyid, keyid,
                                               (int) keyid_len), 1);
        assert_int_equal(X509_add1_ext_i2d(leaf,
                                           NID_authority_key_identifier,
                                           akid, 0, X509V3_ADD_DEFAULT), 1);
        AUTHORITY_KEYID_free(akid);
    }

    assert_true(X509_sign(leaf, t->ca_key, EVP_sha256()) > 0);

    pem = lc_t_pem(leaf, NULL);
    pem = lc_t_pem(t->ca, pem);

    X509_NAME_free(name);
    X509_free(leaf);

    return pem;
}


static int
lc_t_setup(void **state)
{
    lc_t_t  *t;

    t = calloc(1, sizeof(lc_t_t));
    assert_non_null(t);

    t->now = LC_NOW;
    t->key = lc_acme_account_key_new();
    assert_non_null(t->key);
    assert_int_equal(lc_acme_account_init(&t->acct, t->key, LC_DIR), 0);

    t->contacts[0] = LC_CONTACT;
    t->contacts[1] = NULL;
    t->acct.contacts = t->contacts;

    lc_t_make_ca(t);

    *state = t;

    return 0;
}


static int
lc_t_teardown(void **state)
{
    lc_t_t  *t;

    t = *state;

    lc_acme_free(t->m);
    free(t->req.body);
    free(t->chain);
    EVP_PKEY_free(t->csr_key);
    EVP_PKEY_free(t->ca_key);
    X509_free(t->ca);
    EVP_PKEY_free(t->key);
    free(t);

    /* the machines must leave no error behind for nginx's SSL code */
    assert_int_equal(ERR_peek_error(), 0);

    return 0;
}


static lc_acme_action_e
lc_t_next(lc_t_t *t, unsigned *delay)
{
    unsigned  d;

    free(t->req.body);
    memset(&t->req, 0, sizeof(t->req));

    d = 0;

    return lc_acme_next(t->m, t->now, &t->req, delay ? delay : &d);
}


static void
lc_t_expect(lc_t_t *t, lc_acme_action_e action)
{
    assert_int_equal(lc_t_next(t, NULL), action);
}


static void
lc_t_expect_wait(lc_t_t *t, unsigned ms)
{
    unsigned  delay;

    delay = 0;
    assert_int_equal(lc_t_next(t, &delay), LC_ACME_WAIT);
    assert_int_equal(delay, ms);
}


static void
lc_t_expect_get(lc_t_t *t, const char *method, const char *url)
{
    assert_int_equal(lc_t_next(t, NULL), LC_ACME_SEND);
    assert_string_equal(t->req.method, method);
    assert_string_equal(t->req.url, url);
    assert_null(t->req.body);
}


/*
 * A POST as the CA checks it: the flattened JWS, its protected header,
 * the ES256 signature with the account key.  Returns the payload, or NULL
 * for a POST-as-GET.
 */

static json_t *
lc_t_expect_post(lc_t_t *t, const char *url, int use_jwk)
{
    char           *input;
    size_t          len;
    json_t         *jws, *prot, *payload, *jwk;
    const char     *p64, *b64, *s64;
    unsigned char  *sig, *text;

    assert_int_equal(lc_t_next(t, NULL), LC_ACME_SEND);
    assert_string_equal(t->req.method, "POST");
    assert_string_equal(t->req.url, url);
    assert_non_null(t->req.content_type);
    assert_string_equal(t->req.content_type, "application/jose+json");
    assert_non_null(t->req.body);
    assert_int_equal(strlen(t->req.body), t->req.body_len);

    jws = json_loadb(t->req.body, t->req.body_len, JSON_REJECT_DUPLICATES,
                     NULL);
    assert_non_null(jws);
    assert_int_equal(json_object_size(jws), 3);

    p64 = json_string_value(json_object_get(jws, "protected"));
    b64 = json_string_value(json_object_get(jws, "payload"));
    s64 = json_string_value(json_object_get(jws, "signature"));
    assert_non_null(p64);
    assert_non_null(b64);
    assert_non_null(s64);

    prot = lc_t_unb64url_json(p64);
    assert_string_equal(json_string_value(json_object_get(prot, "alg")),
                        "ES256");
    assert_string_equal(json_string_value(json_object_get(prot, "nonce")),
                        t->nonce);
    assert_string_equal(json_string_value(json_object_get(prot, "url")),
                        url);

    if (use_jwk) {
        assert_null(json_object_get(prot, "kid"));
        jwk = lc_t_jwk(t->key);
        assert_true(json_equal(json_object_get(prot, "jwk"), jwk));
        json_decref(jwk);

    } else {
        assert_null(json_object_get(prot, "jwk"));
        assert_string_equal(json_string_value(json_object_get(prot, "kid")),
                            LC_ACCT);
    }

    assert_int_equal(json_object_size(prot), 4);
    json_decref(prot);

    sig = lc_t_unb64url(s64, &len);
    assert_true(asprintf(&input, "%s.%s", p64, b64) > 0);
    lc_t_verify_es256(t->key, input, sig, len);
    free(input);
    free(sig);

    payload = NULL;

    if (b64[0] != '\0') {
        text = lc_t_unb64url(b64, &len);
        payload = json_loadb((char *) text, len, JSON_REJECT_DUPLICATES,
                             NULL);
        assert_non_null(payload);
        assert_true(json_is_object(payload));
        free(text);
    }

    json_decref(jws);

    /* a nonce is used once: the machine has given the account's up */
    assert_string_equal(t->acct.nonce, "");

    return payload;
}


static void
lc_t_expect_post_as_get(lc_t_t *t, const char *url)
{
    assert_null(lc_t_expect_post(t, url, 0));

    if (strcmp(url, LC_CERT) == 0) {
        assert_non_null(t->req.accept);
        assert_string_equal(t->req.accept, LC_PEM_CHAIN);
    }
}


static void
lc_t_answer(lc_t_t *t, int status, int nonce, const char *location,
    const char *retry_after, const char *content_type, const char *body)
{
    lc_acme_response_t  res;

    memset(&res, 0, sizeof(res));

    if (nonce) {
        snprintf(t->nonce, sizeof(t->nonce), "oFvnlFP1wIhRlYS2jTaXbA-%u",
                 ++t->serial);
        res.nonce = t->nonce;
    }

    res.status = status;
    res.location = location;
    res.retry_after = retry_after;
    res.content_type = content_type;
    res.body = body;
    res.body_len = body ? strlen(body) : 0;

    lc_acme_feed(t->m, &res);
}


static void
lc_t_feed(lc_t_t *t, int status, const char *location,
    const char *retry_after, const char *body)
{
    lc_t_answer(t, status, 1, location, retry_after,
                status >= 400 ? "application/problem+json"
                              : "application/json", body);
}


/* the body from json_pack(), consumed */

static void
lc_t_feed_json(lc_t_t *t, int status, const char *location,
    const char *retry_after, json_t *body)
{
    char  *text;

    assert_non_null(body);
    text = json_dumps(body, JSON_INDENT(3));
    assert_non_null(text);
    json_decref(body);

    lc_t_feed(t, status, location, retry_after, text);
    free(text);
}


static void
lc_t_feed_problem(lc_t_t *t, int status, const char *retry_after,
    const char *type, const char *detail)
{
    lc_t_feed_json(t, status, NULL, retry_after,
                   json_pack("{s:s, s:s, s:i}", "type", type,
                             "detail", detail, "status", status));
}


static void
lc_t_expect_failed(lc_t_t *t, const char *type, int transient,
    time_t retry_after)
{
    int                tr;
    time_t             ra;
    const lc_error_t  *err;

    lc_t_expect(t, LC_ACME_FAILED);

    err = lc_acme_error(t->m, &tr, &ra);
    assert_non_null(err);
    assert_string_equal(err->type, type);
    assert_int_equal(tr, transient);
    assert_int_equal(ra, retry_after);
    assert_true(strlen(err->detail) > 0);

    /* it stays failed */
    lc_t_expect(t, LC_ACME_FAILED);
}


static const char *
lc_t_detail(lc_t_t *t)
{
    return lc_acme_error(t->m, NULL, NULL)->detail;
}


static void
lc_t_new_machine(lc_t_t *t, lc_acme_kind_e kind, const char *domain,
    lc_acme_key_type_e type, const char *replaces)
{
    lc_acme_free(t->m);
    t->m = lc_acme_new(kind, &t->acct, domain, type, replaces);
    assert_non_null(t->m);
}


/* A new account machine, its GET of the directory answered. */

static void
lc_t_directory(lc_t_t *t, int status, const char *content_type,
    const char *body)
{
    lc_t_new_machine(t, LC_ACME_ACCOUNT, NULL, LC_ACME_KEY_EC256, NULL);
    lc_t_expect_get(t, "GET", LC_DIR);
    lc_t_answer(t, status, 0, NULL, NULL, content_type, body);
}


/* The account machine up to newAccount; returns its payload. */

static json_t *
lc_t_account_until_post(lc_t_t *t, const char *directory)
{
    json_t  *p, *c;

    lc_t_directory(t, 200, "application/json", directory);
    lc_t_expect_get(t, "HEAD", LC_NEW_NONCE);
    lc_t_answer(t, 200, 1, NULL, NULL, NULL, NULL);

    p = lc_t_expect_post(t, LC_NEW_ACCT, 1);
    assert_non_null(p);
    assert_true(json_is_true(json_object_get(p, "termsOfServiceAgreed")));
    c = json_object_get(p, "contact");
    assert_int_equal(json_array_size(c), 1);
    assert_string_equal(json_string_value(json_array_get(c, 0)), LC_CONTACT);

    if (t->acct.eab_kid == NULL) {
        assert_null(json_object_get(p, "externalAccountBinding"));
    }

    return p;
}


static void
lc_t_account(lc_t_t *t)
{
    json_decref(lc_t_account_until_post(t, LC_DIRECTORY_JSON));
    lc_t_feed(t, 201, LC_ACCT, NULL, LC_ACCOUNT_JSON);
    lc_t_expect(t, LC_ACME_DONE);

    assert_string_equal(t->acct.kid, LC_ACCT);
    assert_string_equal(t->acct.new_nonce, LC_NEW_NONCE);
    assert_string_equal(t->acct.new_account, LC_NEW_ACCT);
    assert_string_equal(t->acct.new_order, LC_NEW_ORDER);
    assert_string_equal(t->acct.renewal_info, LC_ARI);

    /* the answer's nonce waits in the account for the orders */
    assert_string_equal(t->acct.nonce, t->nonce);

    lc_acme_free(t->m);
    t->m = NULL;
}


static json_t *
lc_t_order_json(const char *status, const char *domain)
{
    json_t  *order;

    order = json_pack("{s:s, s:s, s:[{s:s, s:s}], s:s, s:[s]}",
                      "status", status, "expires", "2023-11-21T22:13:20Z",
                      "identifiers", "type", "dns", "value", domain,
                      "finalize", LC_FINALIZE,
                      "authorizations", LC_AUTHZ);
    assert_non_null(order);

    if (strcmp(status, "valid") == 0) {
        json_object_set_new(order, "certificate", json_string(LC_CERT));
    }

    return order;
}


static json_t *
lc_t_authz_json(const char *status, const char *domain)
{
    json_t  *authz;

    authz = json_pack("{s:s, s:{s:s, s:s}, s:s, s:[{s:s, s:s, s:s, s:s},"
                      " {s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s}]}",
                      "status", status,
                      "identifier", "type", "dns", "value", domain,
                      "expires", "2023-11-15T22:13:20Z",
                      "challenges",
                      "type", "tls-alpn-01", "url", LC_CA "/chalZ/t1",
                      "token", "Q2Hx0aZ6", "status", "pending",
                      "type", "http-01", "url", LC_CHALL,
                      "token", LC_TOKEN, "status", "pending",
                      "type", "dns-01", "url", LC_CA "/chalZ/d1",
                      "token", "bm90aGluZw", "status", "pending");
    assert_non_null(authz);

    return authz;
}


/* newOrder, its payload checked, answered with a pending order */

static void
lc_t_new_order(lc_t_t *t, const char *domain, lc_acme_key_type_e type,
    const char *replaces)
{
    json_t  *p, *id;

    lc_t_new_machine(t, LC_ACME_ORDER, domain, type, replaces);

    p = lc_t_expect_post(t, LC_NEW_ORDER, 0);
    assert_non_null(p);
    assert_int_equal(json_array_size(json_object_get(p, "identifiers")), 1);
    id = json_array_get(json_object_get(p, "identifiers"), 0);
    assert_int_equal(json_object_size(id), 2);
    assert_string_equal(json_string_value(json_object_get(id, "type")),
                        "dns");
    assert_string_equal(json_string_value(json_object_get(id, "value")),
                        domain);

    if (replaces != NULL) {
        assert_string_equal(
            json_string_value(json_object_get(p, "replaces")), replaces);

    } else {
        assert_null(json_object_get(p, "replaces"));
    }

    json_decref(p);

    lc_t_feed_json(t, 201, LC_ORDER, NULL,
                   lc_t_order_json("pending", domain));
}


/* newOrder for LC_NAME sent, its payload not checked, not answered yet */

static void
lc_t_new_order_sent(lc_t_t *t)
{
    lc_t_new_machine(t, LC_ACME_ORDER, LC_NAME, LC_ACME_KEY_EC256, NULL);
    json_decref(lc_t_expect_post(t, LC_NEW_ORDER, 0));
}


/* The pending authorization, PUBLISH, and the answer to the challenge. */

static void
lc_t_challenge(lc_t_t *t, const char *domain)
{
    char        *expect;
    json_t      *p, *jwk;
    const char  *token, *keyauth;

    lc_t_expect_post_as_get(t, LC_AUTHZ);
    lc_t_feed_json(t, 200, NULL, NULL, lc_t_authz_json("pending", domain));

    lc_t_expect(t, LC_ACME_PUBLISH);

    token = lc_acme_challenge(t->m, &keyauth);
    assert_non_null(token);
    assert_string_equal(token, LC_TOKEN);

    /* RFC 8555 section 8.1, with the thumbprint computed here */

    jwk = lc_t_jwk(t->key);
    expect = json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(jwk);
    assert_non_null(expect);
    token = lc_t_sha256_b64url(expect);
    free(expect);
    assert_true(asprintf(&expect, "%s.%s", LC_TOKEN, token) > 0);
    free((char *) token);
    assert_string_equal(keyauth, expect);
    free(expect);

    p = lc_t_expect_post(t, LC_CHALL, 0);
    assert_non_null(p);
    assert_int_equal(json_object_size(p), 0);
    json_decref(p);

    lc_t_feed_json(t, 200, NULL, NULL,
                   json_pack("{s:s, s:s, s:s, s:s}", "type", "http-01",
                             "url", LC_CHALL, "token", LC_TOKEN,
                             "status", "pending"));
}


/* The authorization polled, still pending for LC_NAME: the wait in ms. */

static void
lc_t_authz_pending(lc_t_t *t, const char *retry_after, unsigned ms)
{
    lc_t_expect_post_as_get(t, LC_AUTHZ);
    lc_t_feed_json(t, 200, NULL, retry_after,
                   lc_t_authz_json("pending", LC_NAME));
    lc_t_expect_wait(t, ms);
}


/* The CSR of the finalize payload, as a CA checks it; returns its key. */

static EVP_PKEY *
lc_t_check_csr(lc_t_t *t, json_t *payload, const char *domain,
    lc_acme_key_type_e type)
{
    int                         n;
    char                        cn[LC_DOMAIN_MAX + 1];
    size_t                      len;
    X509_REQ                   *req;
    EVP_PKEY                   *key;
    const char                 *csr;
    GENERAL_NAME               *gen;
    GENERAL_NAMES              *gens;
    unsigned char              *der;
    const unsigned char        *p;
    STACK_OF(X509_EXTENSION)   *exts;

    assert_int_equal(json_object_size(payload), 1);
    csr = json_string_value(json_object_get(payload, "csr"));
    assert_non_null(csr);

    der = lc_t_unb64url(csr, &len);
    p = der;
    req = d2i_X509_REQ(NULL, &p, (long) len);
    assert_non_null(req);
    assert_ptr_equal(p, der + len);
    free(der);

    key = X509_REQ_get0_pubkey(req);
    assert_non_null(key);
    assert_int_equal(X509_REQ_verify(req, key), 1);

    /* never the account key */
    assert_int_not_equal(EVP_PKEY_eq(key, t->key), 1);

    if (type == LC_ACME_KEY_RSA2048) {
        assert_true(EVP_PKEY_is_a(key, "RSA"));
        assert_int_equal(EVP_PKEY_get_bits(key), 2048);

    } else {
        assert_true(EVP_PKEY_is_a(key, "EC"));
        assert_int_equal(EVP_PKEY_get_bits(key), 256);
    }

    assert_int_equal(X509_REQ_get_signature_nid(req),
                     type == LC_ACME_KEY_RSA2048 ? NID_sha256WithRSAEncryption
                                                 : NID_ecdsa_with_SHA256);

    exts = X509_REQ_get_extensions(req);
    assert_non_null(exts);
    gens = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
    assert_non_null(gens);
    assert_int_equal(sk_GENERAL_NAME_num(gens), 1);
    gen = sk_GENERAL_NAME_value(gens, 0);
    assert_int_equal(gen->type, GEN_DNS);
    assert_int_equal(ASN1_STRING_length(gen->d.dNSName), strlen(domain));
    assert_memory_equal(ASN1_STRING_get0_data(gen->d.dNSName), domain,
                        strlen(domain));
    GENERAL_NAMES_free(gens);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);

    n = X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(req),
                                  NID_commonName, cn, sizeof(cn));

    if (strlen(domain) <= 64) {
        assert_int_equal(n, strlen(domain));
        assert_string_equal(cn, domain);

    } else {
        assert_int_equal(n, -1);
    }

    EVP_PKEY_free(t->csr_key);
    t->csr_key = key;
    assert_int_equal(EVP_PKEY_up_ref(key), 1);

    X509_REQ_free(req);
    ERR_clear_error();

    return key;
}


/* After the authorizations: finalize, processing, valid, certificate. */

static void
lc_t_finalize(lc_t_t *t, const char *domain, lc_acme_key_type_e type)
{
    json_t  *p;

    p = lc_t_expect_post(t, LC_FINALIZE, 0);
    assert_non_null(p);
    lc_t_check_csr(t, p, domain, type);
    json_decref(p);

    free(t->chain);
    t->chain = lc_t_issue(t, t->csr_key, domain);

    lc_t_feed_json(t, 200, LC_ORDER, NULL,
                   lc_t_order_json("processing", domain));

    /* no Retry-After: 50 ms, then 100 ms */
    lc_t_expect_wait(t, 50);
    lc_t_expect_post_as_get(t, LC_ORDER);
    lc_t_feed_json(t, 200, NULL, NULL, lc_t_order_json("processing", domain));
    lc_t_expect_wait(t, 100);
    lc_t_expect_post_as_get(t, LC_ORDER);
    lc_t_feed_json(t, 200, NULL, NULL, lc_t_order_json("valid", domain));

    lc_t_expect_post_as_get(t, LC_CERT);
    lc_t_answer(t, 200, 1, NULL, NULL, LC_PEM_CHAIN, t->chain);
}


static void
lc_t_check_result(lc_t_t *t, lc_acme_key_type_e type)
{
    BIO         *bio;
    X509        *leaf;
    size_t       chain_len, key_len;
    EVP_PKEY    *key;
    const char  *chain, *key_pem;

    lc_t_expect(t, LC_ACME_DONE);
    lc_t_expect(t, LC_ACME_DONE);

    assert_int_equal(lc_acme_result(t->m, &chain, &chain_len, &key_pem,
                                    &key_len), 0);

    /* the chain as received */
    assert_int_equal(chain_len, strlen(t->chain));
    assert_string_equal(chain, t->chain);

    /* the key: PKCS#8, unencrypted, the CSR's, not the account's */
    assert_int_equal(key_len, strlen(key_pem));
    assert_true(strncmp(key_pem, "-----BEGIN PRIVATE KEY-----\n", 28) == 0);

    bio = BIO_new_mem_buf(key_pem, (int) key_len);
    key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    assert_non_null(key);

    bio = BIO_new_mem_buf(chain, (int) chain_len);
    leaf = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    assert_non_null(leaf);

    assert_int_equal(X509_check_private_key(leaf, key), 1);
    assert_int_equal(EVP_PKEY_eq(key, t->csr_key), 1);
    assert_int_not_equal(EVP_PKEY_eq(key, t->key), 1);
    assert_true(EVP_PKEY_is_a(key, type == LC_ACME_KEY_RSA2048 ? "RSA"
                                                               : "EC"));

    X509_free(leaf);
    EVP_PKEY_free(key);

    /* EVP_PKEY_eq() of an RSA and an EC key leaves an error behind */
    ERR_clear_error();
}


/*
 * A new order for LC_NAME with a reused authorization, up to the GET of
 * the certificate; the CSR is not checked and no chain is issued.
 */

static void
lc_t_order_until_cert(lc_t_t *t)
{
    lc_t_new_order(t, LC_NAME, LC_ACME_KEY_EC256, NULL);
    lc_t_expect_post_as_get(t, LC_AUTHZ);
    lc_t_feed_json(t, 200, NULL, NULL, lc_t_authz_json("valid", LC_NAME));
    lc_t_expect_post_as_get(t, LC_ORDER);
    lc_t_feed_json(t, 200, NULL, NULL, lc_t_order_json("ready", LC_NAME));
    json_decref(lc_t_expect_post(t, LC_FINALIZE, 0));
    lc_t_feed_json(t, 200, NULL, NULL, lc_t_order_json("valid", LC_NAME));
    lc_t_expect_post_as_get(t, LC_CERT);
}


/* The whole order after the account, as Pebble runs it. */

static void
lc_t_order(lc_t_t *t, const char *domain, lc_acme_key_type_e type)
{
    lc_t_new_order(t, domain, type, NULL);
    lc_t_challenge(t, domain);

    /* the validation takes a while; the CA says when to come back */

    lc_t_expect_post_as_get(t, LC_AUTHZ);
    lc_t_feed_json(t, 200, NULL, "3", lc_t_authz_json("pending", domain));
    lc_t_expect_wait(t, 3000);
    lc_t_expect_post_as_get(t, LC_AUTHZ);
    lc_t_feed_json(t, 200, NULL, NULL, lc_t_authz_json("valid", domain));

    lc_t_expect_post_as_get(t, LC_ORDER);
    lc_t_feed_json(t, 200, NULL, NULL, lc_t_order_json("ready", domain));

    lc_t_finalize(t, domain, type);
    lc_t_check_result(t, type);
}


static void
test_happy_path(void **state)
{
    lc_t_t  *t;

    t = *state;

    lc_t_account(t);
    lc_t_order(t, LC_NAME, LC_ACME_KEY_EC256);
}


static void
test_rsa_key(void **state)
{
    lc_t_t  *t;

    t = *state;

    lc_t_account(t);
    lc_t_order(t, LC_NAME, LC_ACME_KEY_RSA2048);
}


/*
 * A key made by the caller (an RSA key, in a thread) before the machine
 * finalizes is the one of the CSR and of the result; a second one is
 * refused, and the machine then wants no other.
 */

static void
test_given_key(void **state)
{
    lc_t_t    *t;
    EVP_PKEY  *key;

    t = *state;

    lc_t_account(t);
    lc_t_new_order(t, LC_NAME, LC_ACME_KEY_RSA2048, NULL);

    assert_true(lc_acme_wants_key(t->m));
    key = EVP_RSA_gen(2048);
    assert_non_null(key);
    assert_int_equal(EVP_PKEY_up_ref(key), 1);
    lc_acme_set_key(t->m, key);
    assert_false(lc_acme_wants_key(t->m));
    lc_acme_set_key(t->m, EVP_EC_gen("P-256"));

    lc_t_challenge(t, LC_NAME);
    lc_t_expect_post_as_get(t, LC_AUTHZ);
    lc_t_feed_json(t, 200, NULL, NULL, lc_t_authz_json("valid", LC_NAME));
    lc_t_expect_post_as_get(t, LC_ORDER);
    lc_t_feed_json(t, 200, NULL, NULL, lc_t_order_json("ready", LC_NAME));

    lc_t_finalize(t, LC_NAME, LC_ACME_KEY_RSA2048);
    assert_int_equal(EVP_PKEY_eq(key, t->csr_key), 1);
    lc_t_check_result(t, LC_ACME_KEY_RSA2048);

    EVP_PKEY_free(key);
}


/* A name over 64 characters cannot be a CN: the SAN alone carries it. */

static void
test_long_name(void **state)
{
    lc_t_t      *t;
    const char  *name;

    t = *state;
    name = "a-rather-long-label-for-a-tracking-subdomain-of-the-customer"
           ".links.acme.test";

    assert_true(strlen(name) > 64);

    lc_t_account(t);
    lc_t_order(t, name, LC_ACME_KEY_EC256);
}


static void
test_account_existing(void **state)
{
    lc_t_t  *t;

    t = *state;

    /* the key had an account already: 200, the same Location */

    json_decref(lc_t_account_until_post(t, LC_DIRECTORY_JSON));
    lc_t_feed(t, 200, LC_ACCT, NULL, LC_ACCOUNT_JSON);
    lc_t_expect(t, LC_ACME_DONE);
    assert_string_equal(t->acct.kid, LC_ACCT);
}


static void
test_account_no_location(void **state)
{
    lc_t_t  *t;

    t = *state;

    json_decref(lc_t_account_until_post(t, LC_DIRECTORY_JSON));
    lc_t_feed(t, 201, NULL, NULL, LC_ACCOUNT_JSON);
    lc_t_expect_failed(t, "acme_protocol", 0, 0);
    assert_string_equal(t->acct.kid, "");
}


static void
test_account_deactivated(void **state)
{
    lc_t_t  *t;

    t = *state;

    json_decref(lc_t_account_until_post(t, LC_DIRECTORY_JSON));
    lc_t_feed(t, 200, LC_ACCT, NULL, "{\"status\":\"deactivated\"}");
    lc_t_expect_failed(t, "acme_rejected", 0, 0);
    assert_string_equal(lc_t_detail(t), "the ACME account is deactivated");
}


static void
test_thumbprint(void **state)
{
    char               *x, *y, *jwk, *expect;
    size_t              len;
    EVP_PKEY           *pub;
    EVP_PKEY_CTX       *ctx;
    OSSL_PARAM          params[3];
    unsigned char      *xb, *yb, point[65];
    lc_acme_account_t   acct;
    lc_t_t             *t;

    t = *state;

    /* the account's: the JWK string built here by hand, then hashed */

    assert_int_equal(EVP_PKEY_get_octet_string_param(t->key,
                         OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point),
                         &len), 1);
    x = lc_t_b64url(point + 1, 32);
    y = lc_t_b64url(point + 33, 32);
    assert_true(asprintf(&jwk, "{\"crv\":\"P-256\",\"kty\":\"EC\","
                               "\"x\":\"%s\",\"y\":\"%s\"}", x, y) > 0);
    expect = lc_t_sha256_b64url(jwk);
    assert_int_equal(strlen(expect), 43);
    assert_string_equal(t->acct.thumbprint, expect);
    free(x);
    free(y);
    free(jwk);
    free(expect);

    /* RFC 7515 appendix A.3's key, public part only */

    xb = lc_t_unb64url(LC_RFC_X, &len);
    assert_int_equal(len, 32);
    yb = lc_t_unb64url(LC_RFC_Y, &len);
    assert_int_equal(len, 32);
    point[0] = 0x04;
    memcpy(point + 1, xb, 32);
    memcpy(point + 33, yb, 32);
    free(xb);
    free(yb);

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                                 (char *) "P-256", 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
                                                  point, sizeof(point));
    params[2] = OSSL_PARAM_construct_end();

    pub = NULL;
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    assert_non_null(ctx);
    assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
    assert_int_equal(EVP_PKEY_fromdata(ctx, &pub, EVP_PKEY_PUBLIC_KEY,
                                       params), 1);
    EVP_PKEY_CTX_free(ctx);

    memset(&acct, 0, sizeof(acct));
    assert_int_equal(lc_acme_account_init(&acct, pub, LC_DIR), 0);

    expect = lc_t_sha256_b64url(LC_RFC_JWK);
    assert_string_equal(expect, LC_RFC_THUMBPRINT);
    assert_string_equal(acct.thumbprint, expect);
    free(expect);

    EVP_PKEY_free(pub);
}


static void
test_account_key(void **state)
{
    BIO       *bio;
    char      *pem, *pem2;
    size_t     len, len2;
    EVP_PKEY  *key, *rsa;
    lc_t_t    *t;

    t = *state;

    pem = lc_acme_account_key_pem(t->key, &len);
    assert_non_null(pem);
    assert_int_equal(strlen(pem), len);
    assert_true(strncmp(pem, "-----BEGIN PRIVATE KEY-----\n", 28) == 0);

    key = lc_acme_account_key_load(pem, len);
    assert_non_null(key);
    assert_int_equal(EVP_PKEY_eq(key, t->key), 1);

    pem2 = lc_acme_account_key_pem(key, &len2);
    assert_non_null(pem2);
    assert_string_equal(pem, pem2);

    EVP_PKEY_free(key);
    free(pem);
    free(pem2);

    assert_null(lc_acme_account_key_load("garbage", 7));
    assert_null(lc_acme_account_key_load(NULL, 0));

    /* ES256 only: an RSA key is not an account key here */

    rsa = EVP_RSA_gen(2048);
    assert_non_null(rsa);
    bio = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PrivateKey(bio, rsa, NULL, NULL, 0, NULL,
                                              NULL), 1);
    len = (size_t) BIO_get_mem_data(bio, &pem);
    assert_null(lc_acme_account_key_load(pem, len));
    BIO_free(bio);

    memset(&t->acct, 0, sizeof(t->acct));
    assert_int_equal(lc_acme_account_init(&t->acct, rsa, LC_DIR), -1);
    assert_int_equal(lc_acme_account_init(&t->acct, t->key, "ftp://x/"), -1);
    EVP_PKEY_free(rsa);

    /* without an initialised account a machine fails at once */
    lc_t_new_machine(t, LC_ACME_ACCOUNT, NULL, LC_ACME_KEY_EC256, NULL);
    lc_t_expect_failed(t, "acme_config", 0, 0);
}


static void
test_eab(void **state)
{
    char                 *input;
    size_t                len;
    json_t               *p, *eab, *prot, *payload, *jwk;
    lc_t_t               *t;
    const char           *p64, *b64, *s64;
    unsigned int          mac_len;
    unsigned char        *sig, mac[EVP_MAX_MD_SIZE];
    static unsigned char  hmac[] = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajV"
                                   "IoguysqZ9wG44nMEtx3MUAsUDkMTQ12W";

    t = *state;

    t->acct.eab_kid = "kid-1";
    t->acct.eab_hmac = hmac;
    t->acct.eab_hmac_len = sizeof(hmac) - 1;

    p = lc_t_account_until_post(t, LC_DIRECTORY_EAB_JSON);
    eab = json_object_get(p, "externalAccountBinding");
    assert_non_null(eab);
    assert_int_equal(json_object_size(eab), 3);

    p64 = json_string_value(json_object_get(eab, "protected"));
    b64 = json_string_value(json_object_get(eab, "payload"));
    s64 = json_string_value(json_object_get(eab, "signature"));
    assert_non_null(p64);
    assert_non_null(b64);
    assert_non_null(s64);

    prot = lc_t_unb64url_json(p64);
    assert_int_equal(json_object_size(prot), 3);
    assert_string_equal(json_string_value(json_object_get(prot, "alg")),
                        "HS256");
    assert_string_equal(json_string_value(json_object_get(prot, "kid")),
                        "kid-1");
    assert_string_equal(json_string_value(json_object_get(prot, "url")),
                        LC_NEW_ACCT);
    json_decref(prot);

    /* RFC 8555 section 7.3.4: the payload is the account's JWK */

    payload = lc_t_unb64url_json(b64);
    jwk = lc_t_jwk(t->key);
    assert_true(json_equal(payload, jwk));
    json_decref(payload);
    json_decref(jwk);

    assert_true(asprintf(&input, "%s.%s", p64, b64) > 0);
    assert_non_null(HMAC(EVP_sha256(), hmac, (int) sizeof(hmac) - 1,
                         (unsigned char *) input, strlen(input), mac,
                         &mac_len));
    sig = lc_t_unb64url(s64, &len);
    assert_int_equal(len, mac_len);
    assert_memory_equal(sig, mac, len);
    free(sig);
    free(input);
    json_decref(p);

    lc_t_feed(t, 201, LC_ACCT, NULL, LC_ACCOUNT_JSON);
    lc_t_expect(t, LC_ACME_DONE);
}


static void
test_eab_required(void **state)
{
    lc_t_t  *t;

    t = *state;

    lc_t_directory(t, 200, "application/json", LC_DIRECTORY_EAB_JSON);
    lc_t_expect_failed(t, "acme_config", 0, 0);
    assert_non_null(strstr(lc_t_detail(t), "external account binding"));
}


static void
test_bad_directory(void **state)
{
    lc_t_t  *t;

    t = *state;

    lc_t_directory(t, 200, "text/html",
                   "<html><body>Welcome to nginx!</body></html>");
    lc_t_expect_failed(t, "acme_protocol", 0, 0);

    /* JSON, but not a directory */

    lc_t_directory(t, 200, "application/json",
                   "{\"newNonce\":\"" LC_NEW_NONCE "\","
                   "\"newAccount\":\"" LC_NEW_ACCT "\","
                   "\"newOrder\":42}");
    lc_t_expect_failed(t, "acme_protocol", 0, 0);

    /* a URL that would break the request line */

    lc_t_directory(t, 200, "application/json",
                   "{\"newNonce\":\"" LC_NEW_NONCE "\","
                   "\"newAccount\":\"" LC_NEW_ACCT "\r\nX: y\","
                   "\"newOrder\":\"" LC_NEW_ORDER "\"}");
    lc_t_expect_failed(t, "acme_protocol", 0, 0);

    /* not found, no problem document */

    lc_t_directory(t, 404, "text/plain", "404 page not found");
    lc_t_expect_failed(t, "acme_protocol", 0, 0);
    assert_non_null(strstr(lc_t_detail(t), "404"));
}


static void
test_transport(void **state)
{
    lc_t_t  *t;

    t = *state;

    lc_t_directory(t, 0, NULL, NULL);
    lc_t_expect_failed(t, "acme_transport", 1, 0);
    assert_int_equal(lc_acme_unreachable(t->m), 1);

    /* in the middle of an order */

    lc_t_account(t);
    lc_t_new_order(t, LC_NAME, LC_ACME_KEY_EC256, NULL);
    lc_t_expect_post_as_get(t, LC_AUTHZ);
    assert_int_equal(lc_acme_unreachable(t->m), 0);
    lc_t_answer(t, 0, 0, NULL, NULL, NULL, NULL);
    lc_t_expect_failed(t, "acme_transport", 1, 0);
    assert_int_equal(lc_acme_unreachable(t->m), 1);
}


static void
test_bad_nonce_retry(void **state)
{
    json_t  *p;
    lc_t_t  *t;

    t = *state;

    lc_t_account(t);
    lc_t_new_order_sent(t);

    /* the same request, signed with the nonce of the rejection */

    lc_t_feed_problem(t, 400, NULL, LC_URN "badNonce",
                      "JWS has an invalid anti-replay nonce: \"x\"");
    p = lc_t_expect_post(t, LC_NEW_ORDER, 0);
    assert_non_null(json_object_get(p, "identifiers"));
    json_decref(p);

    /* a rejection without a fresh nonce: newNonce first */

    lc_t_answer(t, 400, 0, NULL, NULL, "application/problem+json",
                "{\"type\":\"" LC_URN "badNonce\"}");
    lc_t_expect_get(t, "HEAD", LC_NEW_NONCE);
    lc_t_answer(t, 200, 1, NULL, NULL, NULL, NULL);
    json_decref(lc_t_expect_post(t, LC_NEW_ORDER, 0));

    lc_t_feed_json(t, 201, LC_ORDER, NULL,
                   lc_t_order_json("pending", LC_NAME));
    lc_t_expect_post_as_get(t, LC_AUTHZ);

    /* the count starts again after a good answer: five more are fine */
}


/* The pending authorization, PUBLISH, and the CA refusing the challenge. */

static void
lc_t_challenge_refused(lc_t_t *t)
{
    lc_t_expect_post_as_get(t, LC_AUTHZ);
    lc_t_feed_json(t, 200, NULL, NULL, lc_t_authz_json("pending", LC_NAME));
    lc_t_expect(t, LC_ACME_PUBLISH);
    json_decref(lc_t_expect_post(t, LC_CHALL, 0));

    lc_t_feed_problem(t, 400, NULL, LC_URN "malformed",
                      "Cannot update challenge with status valid, only "
                      "status pending");
}


/*
 * The challenge started by another edge since this one read it: the CA's
 * refusal to start it again is followed by the authorization, read once
 * more, valid, and the order goes on; a second refusal fails the order.
 */

static void
test_challenge_started_elsewhere(void **state)
{
    lc_t_t  *t;

    t = *state;

    lc_t_account(t);
    lc_t_new_order(t, LC_NAME, LC_ACME_KEY_EC256, NULL);
    lc_t_challenge_refused(t);

    lc_t_expect_post_as_get(t, LC_AUTHZ);
    lc_t_feed_json(t, 200, NULL, NULL, lc_t_authz_json("valid", LC_NAME));
    lc_t_expect_post_as_get(t, LC_ORDER);
    lc_t_feed_json(t, 200, NULL, NULL, lc_t_order_json("ready", LC_NAME));
    lc_t_finalize(t, LC_NAME, LC_ACME_KEY_EC256);
    lc_t_check_result(t, LC_ACME_KEY_EC256);
}


static void
test_challenge_refused_twice(void **state)
{
    lc_t_t  *t;

    t = *state;

    lc_t_account(t);
    lc_t_new_order(t, LC_NAME, LC_ACME_KEY_EC256, NULL);
    lc_t_challenge_refused(t);
    lc_t_challenge_refused(t);

    lc_t_expect(t, LC_ACME_FAILED);
}


static void
test_bad_nonce_give_up(void **state)
{
    int      i;
    lc_t_t  *t;

    t = *state;

    lc_t_account(t);
    lc_t_new_order(t, LC_NAME, LC_ACME_KEY_EC256, NULL);
    lc_t_expect_post_as_get(t, LC_AUTHZ);

    for (i = 0; i < LC_ACME_NONCE_RETRIES; i++) {
        lc_t_feed_problem(t, 400, NULL, LC_URN "badNonce", "bad nonce");
        lc_t_expect_post_as_get(t, LC_AUTHZ);
    }

    lc_t_feed_problem(t, 400, NULL, LC_URN "badNonce", "bad nonce");
    lc_t_expect_failed(t, LC_URN "badNonce", 1, 0);
}


static void
test_rate_limited(void **state)
{
    lc_t_t  *t;

    t = *state;

    lc_t_account(t);

    lc_t_new_order_sent(t);
    lc_t_feed_problem(t, 429, "3600", LC_URN "rateLimited",
                      "too many certificates (50) already issued for "
                      "\"acme.test\" in the last 168h0m0s, retry after "
                      "2023-11-14 23:13:20 UTC");
    lc_t_expect_failed(t, LC_URN "rateLimited", 1, 3600);
    assert_non_null(strstr(lc_t_detail(t), "too many certificates"));

    /* an HTTP-date, against now */

    lc_t_new_order_sent(t);
    lc_t_feed_problem(t, 429, "Wed, 15 Nov 2023 00:13:20 GMT",
                      LC_URN "rateLimited", "too many new orders");
    lc_t_expect_failed(t, LC_URN "rateLimited", 1, 7200);

    /* a date in the past means now; an unreadable one, none */

    lc_t_new_order_sent(t);
    lc_t_feed_problem(t, 429, "Tue, 14 Nov 2023 21:00:00 GMT",
                      LC_URN "rateLimited", "too many new orders");
    lc_t_expect_failed(t, LC_URN "rateLimited", 1, 0);

    lc_t_new_order_sent(t);
    lc_t_feed_problem(t, 429, "soon", LC_URN "rateLimited", "slow down");
    lc_t_expect_failed(t, LC_URN "rateLimited", 1, 0);
}


static void
test_server_error(void **state)
{
    lc_t_t  *t;

    t = *state;

    lc_t_account(t);

    lc_t_new_order_sent(t);
    lc_t_feed_problem(t, 500, NULL, LC_URN "serverInternal",
                      "the database is on fire");
    lc_t_expect_failed(t, LC_URN "serverInternal", 1, 0);
    assert_string_equal(lc_t_detail(t), "the database is on fire");
    assert_int_equal(lc_acme_unreachable(t->m), 1);

    /* a proxy's 503, no problem document */

    lc_t_new_order_sent(t);
    lc_t_answer(t, 503, 1, NULL, "120", "text/html",
                "<html>Service Unavailable</html>");
    lc_t_expect_failed(t, "acme_server", 1, 120);
    assert_int_equal(lc_acme_unreachable(t->m), 1);

    /* a client error is not worth a retry, and the CA did answer */

    lc_t_new_order_sent(t);
    lc_t_feed_problem(t, 400, NULL, LC_URN "rejectedIdentifier",
                      "Cannot issue for \"links.acme.test\": The ACME "
                      "server refuses to issue for this domain name");
    lc_t_expect_failed(t, LC_URN "rejectedIdentifier", 0, 0);
    assert_int_equal(lc_acme_unreachable(t->m), 0);
}


static void
test_authz_invalid(void **state)
{
    json_t  *authz, *ch;
    lc_t_t  *t;

    t = *state;

    lc_t_account(t);
    lc_t_new_order(t, LC_NAME, LC_ACME_KEY_EC256, NULL);
    lc_t_challenge(t, LC_NAME);

    lc_t_expect_post_as_get(t, LC_AUTHZ);

    authz = lc_t_authz_json("invalid", LC_NAME);
    ch = json_array_get(json_object_get(authz, "challenges"), 1);
    json_object_set_new(ch, "status", json_string("invalid"));
    json_object_set_new(ch, "error",
        json_pack("{s:s, s:s, s:i}", "type", LC_URN "unauthorized",
                  "detail", "Invalid response from http://links.acme.test"
                            "/.well-known/acme-challenge/" LC_TOKEN ": 404",
                  "status", 403));

    lc_t_feed_json(t, 200, NULL, NULL, authz);

    /* the token, of no use to a reader, leaves room for the status */

    lc_t_expect_failed(t, LC_URN "unauthorized", 0, 0);
    assert_string_equal(lc_t_detail(t),
                        "Invalid response from http://links.acme.test"
                        "/.well-known/acme-challenge/...: 404");
}


static void
test_challenge_invalid(void **state)
{
    lc_t_t  *t;

    t = *state;

    /* the answer to the challenge POST already tells */

    lc_t_account(t);
    lc_t_new_order(t, LC_NAME, LC_ACME_KEY_EC256, NULL);
    lc_t_expect_post_as_get(t, LC_AUTHZ);
    lc_t_feed_json(t, 200, NULL, NULL, lc_t_authz_json("pending", LC_NAME));
    lc_t_expect(t, LC_ACME_PUBLISH);
    json_decref(lc_t_expect_post(t, LC_CHALL, 0));
    lc_t_feed_json(t, 200, NULL, NULL,
                   json_pack("{s:s, s:s, s:{s:s, s:s}}",
                             "type", "http-01", "status", "invalid",
                             "error", "type", LC_URN "dns",
                             "detail", "DNS problem: NXDOMAIN looking up A "
                                       "for links.acme.test"));
    lc_t_expect_failed(t, LC_URN "dns", 0, 0);
}


static void
test_order_invalid(void **state)
{
    json_t  *order;
    lc_t_t  *t;

    t = *state;

    lc_t_account(t);
    lc_t_new_order(t, LC_NAME, LC_ACME_KEY_EC256, NULL);
    lc_t_challenge(t, LC_NAME);
    lc_t_expect_post_as_get(t, LC_AUTHZ);
    lc_t_feed_json(t, 200, NULL, NULL, lc_t_authz_json("valid", LC_NAME));
    lc_t_expect_post_as_get(t, LC_ORDER);

    order = lc_t_order_json("invalid", LC_NAME);
    json_object_set_new(order, "error",
        json_pack("{s:s, s:s}", "type", LC_URN "caa",
                  "detail", "CAA record for acme.test prevents issuance"));
    lc_t_feed_json(t, 200, NULL, NULL, order);
    lc_t_expect_failed(t, LC_URN "caa", 0, 0);
    assert_string_equal(lc_t_detail(t),
                        "CAA record for acme.test prevents issuance");

    /* invalid with no reason, right at newOrder */

    lc_t_new_order_sent(t);
    lc_t_feed_json(t, 201, LC_ORDER, NULL,
                   lc_t_order_json("invalid", LC_NAME));
    lc_t_expect_failed(t, "acme_rejected", 0, 0);
}


static void
test_authz_valid(void **state)
{
    lc_t_t  *t;

    t = *state;

    /* a reused authorization: no challenge, no PUBLISH */

    lc_t_account(t);
    lc_t_new_order(t, LC_NAME, LC_ACME_KEY_EC256, NULL);
    lc_t_expect_post_as_get(t, LC_AUTHZ);
    lc_t_feed_json(t, 200, NULL, NULL, lc_t_authz_json("valid", LC_NAME));
    lc_t_expect_post_as_get(t, LC_ORDER);
    assert_null(lc_acme_challenge(t->m, NULL));
    lc_t_feed_json(t, 200, NULL, NULL, lc_t_order_json("ready", LC_NAME));
    lc_t_finalize(t, LC_NAME, LC_ACME_KEY_EC256);
    lc_t_check_result(t, LC_ACME_KEY_EC256);
}


static void
test_order_ready(void **state)
{
    json_t  *order;
    lc_t_t  *t;

    t = *state;

    /* newOrder answers "ready": straight to finalize; a second authz */

    lc_t_account(t);
    lc_t_new_order_sent(t);
    order = lc_t_order_json("ready", LC_NAME);
    json_array_append_new(json_object_get(order, "authorizations"),
                          json_string(LC_AUTHZ2));
    lc_t_feed_json(t, 201, LC_ORDER, NULL, order);
    lc_t_finalize(t, LC_NAME, LC_ACME_KEY_EC256);
    lc_t_check_result(t, LC_ACME_KEY_EC256);
}


static void
test_two_authz(void **state)
{
    json_t  *order;
    lc_t_t  *t;

    t = *state;

    lc_t_account(t);
    lc_t_new_order_sent(t);
    order = lc_t_order_json("pending", LC_NAME);
    json_array_append_new(json_object_get(order, "authorizations"),
                          json_string(LC_AUTHZ2));
    lc_t_feed_json(t, 201, LC_ORDER, NULL, order);

    lc_t_expect_post_as_get(t, LC_AUTHZ);
    lc_t_feed_json(t, 200, NULL, NULL, lc_t_authz_json("valid", LC_NAME));
    lc_t_expect_post_as_get(t, LC_AUTHZ2);
    lc_t_feed_json(t, 200, NULL, NULL, lc_t_authz_json("pending", LC_NAME));
    lc_t_expect(t, LC_ACME_PUBLISH);
    json_decref(lc_t_expect_post(t, LC_CHALL, 0));
    lc_t_feed_json(t, 200, NULL, NULL,
                   json_pack("{s:s, s:s}", "type", "http-01",
                             "status", "processing"));
    lc_t_expect_post_as_get(t, LC_AUTHZ2);
    lc_t_feed_json(t, 200, NULL, NULL, lc_t_authz_json("valid", LC_NAME));

    /* the order is not ready at once */
    lc_t_expect_post_as_get(t, LC_ORDER);
    lc_t_feed_json(t, 200, NULL, NULL, lc_t_order_json("pending", LC_NAME));
    lc_t_expect_wait(t, 50);
    lc_t_expect_post_as_get(t, LC_ORDER);
    lc_t_feed_json(t, 200, NULL, NULL, lc_t_order_json("ready", LC_NAME));
    lc_t_finalize(t, LC_NAME, LC_ACME_KEY_EC256);
    lc_t_check_result(t, LC_ACME_KEY_EC256);
}


static void
test_wait(void **state)
{
    lc_t_t  *t;

    t = *state;

    lc_t_account(t);
    lc_t_new_order(t, LC_NAME, LC_ACME_KEY_EC256, NULL);
    lc_t_challenge(t, LC_NAME);

    /* without Retry-After: 0.05, 0.1, 0.2 ... 3.2, 5, 5 s */

    lc_t_authz_pending(t, NULL, 50);
    lc_t_authz_pending(t, NULL, 100);
    lc_t_authz_pending(t, NULL, 200);
    lc_t_authz_pending(t, NULL, 400);
    lc_t_authz_pending(t, NULL, 800);
    lc_t_authz_pending(t, NULL, 1600);
    lc_t_authz_pending(t, NULL, 3200);
    lc_t_authz_pending(t, NULL, 5000);
    lc_t_authz_pending(t, NULL, 5000);

    /* Retry-After clamped to 1..60 s; an HTTP-date against now */

    lc_t_authz_pending(t, "3600", 60000);
    lc_t_authz_pending(t, "0", 1000);

    t->now = LC_NOW - 7;
    lc_t_authz_pending(t, "Tue, 14 Nov 2023 22:13:20 GMT", 7000);

    /* unreadable: as if absent */
    lc_t_authz_pending(t, "-5", 5000);
}


static void
test_poll_limit(void **state)
{
    int      i;
    lc_t_t  *t;

    t = *state;

    lc_t_account(t);
    lc_t_new_order(t, LC_NAME, LC_ACME_KEY_EC256, NULL);
    lc_t_challenge(t, LC_NAME);

    for (i = 0; i < 60; i++) {
        lc_t_authz_pending(t, "2", 2000);
    }

    lc_t_expect_post_as_get(t, LC_AUTHZ);
    lc_t_feed_json(t, 200, NULL, "2", lc_t_authz_json("pending", LC_NAME));
    lc_t_expect_failed(t, "acme_timeout", 1, 0);
}


static void
test_problem_detail(void **state)
{
    int      i;
    char     detail[400];
    lc_t_t  *t;

    t = *state;

    lc_t_account(t);

    /* the first subproblem completes the detail */

    lc_t_new_order_sent(t);
    lc_t_feed_json(t, 400, NULL, NULL,
        json_pack("{s:s, s:s, s:[{s:s, s:s, s:{s:s, s:s}}, {s:s, s:s}]}",
                  "type", LC_URN "rejectedIdentifier",
                  "detail", "Error creating new order",
                  "subproblems",
                  "type", LC_URN "rejectedIdentifier",
                  "detail", "links.acme.test is blocked",
                  "identifier", "type", "dns", "value", "links.acme.test",
                  "type", LC_URN "caa", "detail", "second"));
    lc_t_expect_failed(t, LC_URN "rejectedIdentifier", 0, 0);
    assert_string_equal(lc_t_detail(t),
                        "Error creating new order; "
                        "links.acme.test is blocked");

    /* control characters and non-ASCII reduced; the length bounded */

    for (i = 0; i < 300; i++) {
        detail[i] = 'a' + i % 26;
    }

    memcpy(detail, "caf\xc3\xa9\n\x1b[31mred", 14);
    detail[300] = '\0';

    lc_t_new_order_sent(t);
    lc_t_feed_problem(t, 403, NULL, LC_URN "unauthorized", detail);
    lc_t_expect_failed(t, LC_URN "unauthorized", 0, 0);
    assert_true(strncmp(lc_t_detail(t), "caf? ?[31mred", 13) == 0);
    assert_int_equal(strlen(lc_t_detail(t)), LC_ERROR_DETAIL_LEN - 1);

    for (i = 0; lc_t_detail(t)[i] != '\0'; i++) {
        assert_true(lc_t_detail(t)[i] >= 0x20 && lc_t_detail(t)[i] < 0x7f);
    }

    /* a problem without a detail */

    lc_t_new_order_sent(t);
    lc_t_feed(t, 403, NULL, NULL, "{\"type\":\"" LC_URN "unauthorized\"}");
    lc_t_expect_failed(t, LC_URN "unauthorized", 0, 0);
}


static void
test_chain_mismatch(void **state)
{
    size_t       chain_len, key_len;
    lc_t_t      *t;
    EVP_PKEY    *other;
    const char  *chain, *key;

    t = *state;

    /* the CA sends a certificate for another key */

    lc_t_account(t);
    lc_t_order_until_cert(t);

    other = EVP_EC_gen("P-256");
    assert_non_null(other);
    free(t->chain);
    t->chain = lc_t_issue(t, other, LC_NAME);
    EVP_PKEY_free(other);

    lc_t_answer(t, 200, 1, NULL, NULL, LC_PEM_CHAIN, t->chain);
    lc_t_expect_failed(t, "acme_protocol", 0, 0);
    assert_int_equal(lc_acme_result(t->m, &chain, &chain_len, &key,
                                    &key_len), -1);

    /* no certificate at all */

    lc_t_order_until_cert(t);
    lc_t_answer(t, 200, 1, NULL, NULL, LC_PEM_CHAIN,
                "-----BEGIN CERTIFICATE-----\nAAAA\n"
                "-----END CERTIFICATE-----\n");
    lc_t_expect_failed(t, "acme_protocol", 0, 0);
}


static void
test_bad_token(void **state)
{
    json_t  *authz, *ch;
    lc_t_t  *t;

    t = *state;

    /* the token names a file of the challenge server: never a path */

    lc_t_account(t);
    lc_t_new_order(t, LC_NAME, LC_ACME_KEY_EC256, NULL);
    lc_t_expect_post_as_get(t, LC_AUTHZ);

    authz = lc_t_authz_json("pending", LC_NAME);
    ch = json_array_get(json_object_get(authz, "challenges"), 1);
    json_object_set_new(ch, "token", json_string("../../etc/passwd"));
    lc_t_feed_json(t, 200, NULL, NULL, authz);

    lc_t_expect_failed(t, "acme_protocol", 0, 0);
    assert_null(lc_acme_challenge(t->m, NULL));

    /* no http-01 on offer */

    lc_t_new_order(t, LC_NAME, LC_ACME_KEY_EC256, NULL);
    lc_t_expect_post_as_get(t, LC_AUTHZ);
    authz = lc_t_authz_json("pending", LC_NAME);
    json_array_remove(json_object_get(authz, "challenges"), 1);
    lc_t_feed_json(t, 200, NULL, NULL, authz);
    lc_t_expect_failed(t, "acme_protocol", 0, 0);
    assert_non_null(strstr(lc_t_detail(t), "http-01"));
}


static void
test_unexpected(void **state)
{
    lc_t_t  *t;

    t = *state;

    lc_t_account(t);

    /* newOrder without Location */
    lc_t_new_order_sent(t);
    lc_t_feed_json(t, 201, NULL, NULL, lc_t_order_json("pending", LC_NAME));
    lc_t_expect_failed(t, "acme_protocol", 0, 0);

    /* a truncated answer */
    lc_t_new_order(t, LC_NAME, LC_ACME_KEY_EC256, NULL);
    lc_t_expect_post_as_get(t, LC_AUTHZ);
    lc_t_feed(t, 200, NULL, NULL, "{\"status\":\"pend");
    lc_t_expect_failed(t, "acme_protocol", 0, 0);

    /* an unknown status */
    lc_t_new_order(t, LC_NAME, LC_ACME_KEY_EC256, NULL);
    lc_t_expect_post_as_get(t, LC_AUTHZ);
    lc_t_feed_json(t, 200, NULL, NULL, lc_t_authz_json("valid", LC_NAME));
    lc_t_expect_post_as_get(t, LC_ORDER);
    lc_t_feed_json(t, 200, NULL, NULL,
                   lc_t_order_json("\xe2\x98\x83 melting", LC_NAME));
    lc_t_expect_failed(t, "acme_protocol", 0, 0);
    assert_non_null(strstr(lc_t_detail(t), "\"? melting\""));

    /* valid before this client finalized: not our key */
    lc_t_new_order_sent(t);
    lc_t_feed_json(t, 201, LC_ORDER, NULL, lc_t_order_json("valid", LC_NAME));
    lc_t_expect_failed(t, "acme_protocol", 0, 0);
}


static void
test_replaces(void **state)
{
    char          *pem, id[LC_ACME_CERT_ID_LEN];
    char           longest[LC_ACME_CERT_ID_LEN];
    char           toolong[LC_ACME_CERT_ID_LEN + 1];
    size_t         i;
    lc_t_t        *t;
    unsigned char  keyid[20], serial[] = { 0x87, 0x65, 0x43, 0x21 };
    const char    *bad[] = {
        "a\"b.c", "abc", ".abc", "abc.", "a.b.c", "a..b", "a/b.c",
        "../x", "a b.c", "a.b\r\nX: y", ""
    };

    t = *state;

    lc_t_account(t);

    /* RFC 9773 section 5: newOrder names the certificate it replaces */

    lc_t_new_order(t, LC_NAME, LC_ACME_KEY_EC256,
                   "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
    lc_t_expect_post_as_get(t, LC_AUTHZ);
    lc_t_feed_json(t, 200, NULL, NULL, lc_t_authz_json("valid", LC_NAME));

    /* the id of a certificate, as the glue gets it */

    memset(keyid, 0xfb, sizeof(keyid));
    pem = lc_t_ari_cert(t, keyid, sizeof(keyid), serial, sizeof(serial), 0);
    assert_int_equal(lc_acme_cert_id(pem, strlen(pem), id, sizeof(id)), 0);
    free(pem);
    assert_string_equal(id, "-_v7-_v7-_v7-_v7-_v7-_v7-_s.AIdlQyE");

    lc_t_new_order(t, LC_NAME, LC_ACME_KEY_EC256, id);
    lc_t_challenge(t, LC_NAME);

    /* the longest id taken */

    memset(longest, 'A', sizeof(longest));
    longest[100] = '.';
    longest[sizeof(longest) - 1] = '\0';
    lc_t_new_order(t, LC_NAME, LC_ACME_KEY_EC256, longest);

    /* malformed or too long: a bug of the caller */

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        lc_t_new_machine(t, LC_ACME_ORDER, LC_NAME, LC_ACME_KEY_EC256,
                         bad[i]);
        lc_t_expect_failed(t, "acme_config", 0, 0);
    }

    memset(toolong, 'A', sizeof(toolong));
    toolong[100] = '.';
    toolong[sizeof(toolong) - 1] = '\0';
    lc_t_new_machine(t, LC_ACME_ORDER, LC_NAME, LC_ACME_KEY_EC256, toolong);
    lc_t_expect_failed(t, "acme_config", 0, 0);
}


static void
test_no_account(void **state)
{
    lc_t_t  *t;

    t = *state;

    lc_t_new_machine(t, LC_ACME_ORDER, LC_NAME, LC_ACME_KEY_EC256, NULL);
    lc_t_expect_failed(t, "acme_no_account", 1, 0);
}


static void
test_invalid_domain(void **state)
{
    lc_t_t  *t;

    t = *state;

    lc_t_account(t);

    lc_t_new_machine(t, LC_ACME_ORDER, "Links.Acme.Test", LC_ACME_KEY_EC256,
                     NULL);
    lc_t_expect_failed(t, "invalid_domain", 0, 0);

    lc_t_new_machine(t, LC_ACME_ORDER, "*.acme.test", LC_ACME_KEY_EC256,
                     NULL);
    lc_t_expect_failed(t, "invalid_domain", 0, 0);

    lc_t_new_machine(t, LC_ACME_ORDER, NULL, LC_ACME_KEY_EC256, NULL);
    lc_t_expect_failed(t, "invalid_domain", 0, 0);
}


static void
test_shared_nonce(void **state)
{
    lc_acme_t  *a, *b;
    lc_t_t     *t;

    t = *state;

    /* two orders of one account: the first takes the nonce */

    lc_t_account(t);

    a = lc_acme_new(LC_ACME_ORDER, &t->acct, LC_NAME, LC_ACME_KEY_EC256,
                    NULL);
    b = lc_acme_new(LC_ACME_ORDER, &t->acct, "www.acme.test",
                    LC_ACME_KEY_EC256, NULL);
    assert_non_null(a);
    assert_non_null(b);

    t->m = a;
    json_decref(lc_t_expect_post(t, LC_NEW_ORDER, 0));

    t->m = b;
    lc_t_expect_get(t, "HEAD", LC_NEW_NONCE);
    lc_t_answer(t, 200, 1, NULL, NULL, NULL, NULL);
    json_decref(lc_t_expect_post(t, LC_NEW_ORDER, 0));

    /* a's answer brings the nonce b's next request uses */

    t->m = a;
    lc_t_feed_json(t, 201, LC_ORDER, NULL,
                   lc_t_order_json("pending", LC_NAME));
    assert_string_equal(t->acct.nonce, t->nonce);

    /* a newNonce answer without a nonce */

    t->m = b;
    lc_acme_free(a);
    t->acct.nonce[0] = '\0';
    lc_t_expect_get(t, "HEAD", LC_NEW_NONCE);
    lc_t_answer(t, 200, 0, NULL, NULL, NULL, NULL);
    lc_t_expect_failed(t, "acme_protocol", 0, 0);
}


static void
lc_t_expect_cert_id(const char *pem, const char *expect)
{
    char  id[LC_ACME_CERT_ID_LEN];

    memset(id, 'x', sizeof(id));
    assert_int_equal(lc_acme_cert_id(pem, strlen(pem), id, sizeof(id)), 0);
    assert_string_equal(id, expect);

    /* exactly the room it needs, and not a byte less */

    memset(id, 'x', sizeof(id));
    assert_int_equal(lc_acme_cert_id(pem, strlen(pem), id,
                                     strlen(expect) + 1), 0);
    assert_string_equal(id, expect);

    assert_int_equal(lc_acme_cert_id(pem, strlen(pem), id, strlen(expect)),
                     -1);
    assert_string_equal(id, "");
}


static void
test_cert_id(void **state)
{
    int                          i;
    char                        *pem, *expect, *aki64;
    char                         id[LC_ACME_CERT_ID_LEN];
    X509                        *leaf;
    lc_t_t                      *t;
    X509V3_CTX                   v3;
    const char                  *bad;
    X509_EXTENSION              *ext;
    unsigned char                keyid[32], serial[20];
    const ASN1_OCTET_STRING     *ski;
    static const unsigned char   rfc_keyid[] = {
        0x69, 0x88, 0x5b, 0x6b, 0x87, 0x46, 0x40, 0x41, 0xe1, 0xb3,
        0x7b, 0x84, 0x7b, 0xa0, 0xae, 0x2c, 0xde, 0x01, 0xc8, 0xd4
    };
    static const unsigned char   rfc_serial[] = { 0x87, 0x65, 0x43, 0x21 };
    static const unsigned char   small[] = { 0x5f, 0x3c };
    static const unsigned char   one[] = { 0x01 };

    t = *state;

    /*
     * RFC 9773 section 4.1: the serial 0x87654321 has its high bit set,
     * so its DER content is 00 87 65 43 21
     */

    pem = lc_t_ari_cert(t, rfc_keyid, sizeof(rfc_keyid), rfc_serial,
                        sizeof(rfc_serial), 0);
    lc_t_expect_cert_id(pem, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
    free(pem);

    /* no high bit, no 0x00 */

    pem = lc_t_ari_cert(t, rfc_keyid, sizeof(rfc_keyid), small,
                        sizeof(small), 0);
    lc_t_expect_cert_id(pem, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.Xzw");
    free(pem);

    /* a negative serial (seen in the wild): its two's complement, FF */

    pem = lc_t_ari_cert(t, rfc_keyid, sizeof(rfc_keyid), one, sizeof(one),
                        1);
    lc_t_expect_cert_id(pem, "aYhba4dGQEHhs3uEe6CuLN4ByNQ._w");
    free(pem);

    /* the longest serial (20 octets, RFC 5280) and a 32-byte key id */

    for (i = 0; i < 32; i++) {
        keyid[i] = (unsigned char) (0xf0 + i);
    }

    memset(serial, 0xff, sizeof(serial));

    pem = lc_t_ari_cert(t, keyid, sizeof(keyid), serial, sizeof(serial), 0);
    aki64 = lc_t_b64url(keyid, sizeof(keyid));
    assert_true(asprintf(&expect, "%s.AP__________________________",
                         aki64) > 0);
    lc_t_expect_cert_id(pem, expect);
    free(aki64);
    free(expect);
    free(pem);

    /*
     * As a CA makes it: the CA's subjectKeyIdentifier copied into the
     * leaf's AKI by OpenSSL; the serial as lc_t_issue() sets it
     */

    X509V3_set_ctx(&v3, NULL, t->ca, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_key_identifier,
                              "hash");
    assert_non_null(ext);
    assert_int_equal(X509_add_ext(t->ca, ext, -1), 1);
    X509_EXTENSION_free(ext);
    assert_true(X509_sign(t->ca, t->ca_key, EVP_sha256()) > 0);

    pem = lc_t_issue(t, t->key, LC_NAME);

    /* lc_t_issue() adds no AKI */
    assert_int_equal(lc_acme_cert_id(pem, strlen(pem), id, sizeof(id)), -1);
    free(pem);

    leaf = X509_new();
    assert_non_null(leaf);
    assert_int_equal(X509_set_version(leaf, X509_VERSION_3), 1);
    assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(leaf), 0x5f3c),
                     1);
    assert_int_equal(X509_set_issuer_name(leaf,
                                          X509_get_subject_name(t->ca)), 1);
    assert_int_equal(X509_set_pubkey(leaf, t->key), 1);
    assert_non_null(X509_time_adj_ex(X509_getm_notBefore(leaf), 0, 0,
                                     &t->now));
    assert_non_null(X509_time_adj_ex(X509_getm_notAfter(leaf), 90, 0,
                                     &t->now));

    X509V3_set_ctx(&v3, t->ca, leaf, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &v3, NID_authority_key_identifier,
                              "keyid:always");
    assert_non_null(ext);
    assert_int_equal(X509_add_ext(leaf, ext, -1), 1);
    X509_EXTENSION_free(ext);
    assert_true(X509_sign(leaf, t->ca_key, EVP_sha256()) > 0);

    pem = lc_t_pem(leaf, NULL);
    ski = X509_get0_subject_key_id(t->ca);
    assert_non_null(ski);
    assert_int_equal(ASN1_STRING_length(ski), 20);
    aki64 = lc_t_b64url(ASN1_STRING_get0_data(ski), 20);
    assert_true(asprintf(&expect, "%s.Xzw", aki64) > 0);
    lc_t_expect_cert_id(pem, expect);
    free(aki64);
    free(expect);
    free(pem);
    X509_free(leaf);

    /* the leaf's, not the next certificate's */

    pem = lc_t_ari_cert(t, NULL, 0, small, sizeof(small), 0);
    assert_int_equal(lc_acme_cert_id(pem, strlen(pem), id, sizeof(id)), -1);
    assert_string_equal(id, "");
    free(pem);

    /* nothing readable */

    assert_int_equal(lc_acme_cert_id(NULL, 0, id, sizeof(id)), -1);
    assert_int_equal(lc_acme_cert_id("", 0, id, sizeof(id)), -1);
    assert_int_equal(lc_acme_cert_id("garbage", 7, id, sizeof(id)), -1);

    bad = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    assert_int_equal(lc_acme_cert_id(bad, strlen(bad), id, sizeof(id)), -1);

    pem = lc_t_ari_cert(t, rfc_keyid, sizeof(rfc_keyid), small,
                        sizeof(small), 0);
    assert_int_equal(lc_acme_cert_id(pem, 100, id, sizeof(id)), -1);
    assert_int_equal(lc_acme_cert_id(pem, strlen(pem), id, 0), -1);
    assert_int_equal(lc_acme_cert_id(pem, strlen(pem), NULL, 64), -1);
    free(pem);
}


/* A renewal information machine for id, its GET checked. */

static void
lc_t_renewal_info_sent(lc_t_t *t, const char *id)
{
    char  url[LC_ACME_URL_MAX], nonce[LC_ACME_NONCE_MAX];

    snprintf(url, sizeof(url), "%s/%s", LC_ARI, id);
    memcpy(nonce, t->acct.nonce, sizeof(nonce));

    lc_t_new_machine(t, LC_ACME_RENEWAL_INFO, NULL, LC_ACME_KEY_EC256, id);

    /* RFC 9773 section 4.1: a plain GET, no JWS */

    lc_t_expect_get(t, "GET", url);
    assert_non_null(t->req.accept);
    assert_string_equal(t->req.accept, "application/json");
    assert_null(t->req.content_type);

    /* so the account's nonce stays for the orders */
    assert_string_equal(t->acct.nonce, nonce);

    /* nothing to give before the answer */
    assert_int_equal(lc_acme_renewal_window(t->m, NULL, NULL, NULL), -1);
}


static void
lc_t_feed_window(lc_t_t *t, const char *retry_after, const char *start,
    const char *end)
{
    char    *text;
    json_t  *ari;

    ari = json_pack("{s:{s:s, s:s}, s:s}", "suggestedWindow",
                    "start", start, "end", end,
                    "explanationURL", "https://ca.test/docs/ari");
    assert_non_null(ari);
    text = json_dumps(ari, JSON_INDENT(2));
    assert_non_null(text);
    json_decref(ari);

    lc_t_answer(t, 200, 0, NULL, retry_after, "application/json", text);
    free(text);
}


static void
lc_t_expect_window(lc_t_t *t, time_t start, time_t end, time_t retry)
{
    size_t       chain_len, key_len;
    time_t       s, e, r;
    const char  *chain, *key;

    lc_t_expect(t, LC_ACME_DONE);
    lc_t_expect(t, LC_ACME_DONE);

    s = e = r = -1;
    assert_int_equal(lc_acme_renewal_window(t->m, &s, &e, &r), 0);
    assert_int_equal(s, start);
    assert_int_equal(e, end);
    assert_int_equal(r, retry);

    assert_int_equal(lc_acme_result(t->m, &chain, &chain_len, &key,
                                    &key_len), -1);
}


#define LC_ARI_ID  "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"


static void
test_renewal_info(void **state)
{
    lc_t_t  *t;

    t = *state;

    lc_t_account(t);

    /* delta-seconds, fractional seconds and an offset */

    lc_t_renewal_info_sent(t, LC_ARI_ID);
    lc_t_feed_window(t, "21600", "2023-11-20T00:00:00Z",
                     "2023-11-21T12:30:00.123456+02:00");
    lc_t_expect_window(t, 1700438400, 1700562600, 21600);

    /* an HTTP-date, LC_NOW + 6 h; lower case, a negative offset */

    lc_t_renewal_info_sent(t, LC_ARI_ID);
    lc_t_feed_window(t, "Wed, 15 Nov 2023 04:13:20 GMT",
                     "2024-02-29t23:59:59-05:30", "2024-03-01T06:00:00.5z");
    lc_t_expect_window(t, 1709270999, 1709272800, 21600);

    /* no Retry-After, or a past or unreadable one: 0 */

    lc_t_renewal_info_sent(t, LC_ARI_ID);
    lc_t_feed_window(t, NULL, "2023-11-20T00:00:00Z",
                     "2023-11-20T00:00:01Z");
    lc_t_expect_window(t, 1700438400, 1700438401, 0);

    lc_t_renewal_info_sent(t, LC_ARI_ID);
    lc_t_feed_window(t, "Mon, 13 Nov 2023 00:00:00 GMT",
                     "2023-11-20T00:00:00Z", "2023-11-21T00:00:00Z");
    lc_t_expect_window(t, 1700438400, 1700524800, 0);

    lc_t_renewal_info_sent(t, LC_ARI_ID);
    lc_t_feed_window(t, "soon", "2023-11-20T00:00:00Z",
                     "2023-11-21T00:00:00Z");
    lc_t_expect_window(t, 1700438400, 1700524800, 0);

    /* the window of an order machine, or of a failed one: none */

    lc_t_new_order_sent(t);
    assert_int_equal(lc_acme_renewal_window(t->m, NULL, NULL, NULL), -1);
    lc_t_answer(t, 0, 0, NULL, NULL, NULL, NULL);
    lc_t_expect_failed(t, "acme_transport", 1, 0);
    assert_int_equal(lc_acme_renewal_window(t->m, NULL, NULL, NULL), -1);
    assert_int_equal(lc_acme_renewal_window(NULL, NULL, NULL, NULL), -1);
}


static void
test_renewal_info_config(void **state)
{
    lc_t_t  *t;

    t = *state;

    /* before the directory is read: a retry later may do */

    lc_t_new_machine(t, LC_ACME_RENEWAL_INFO, NULL, LC_ACME_KEY_EC256,
                     LC_ARI_ID);
    lc_t_expect_failed(t, "acme_no_account", 1, 0);

    /* a CA without ARI */

    json_decref(lc_t_account_until_post(t, LC_DIRECTORY_NO_ARI_JSON));
    lc_t_feed(t, 201, LC_ACCT, NULL, LC_ACCOUNT_JSON);
    lc_t_expect(t, LC_ACME_DONE);
    assert_string_equal(t->acct.renewal_info, "");

    lc_t_new_machine(t, LC_ACME_RENEWAL_INFO, NULL, LC_ACME_KEY_EC256,
                     LC_ARI_ID);
    lc_t_expect_failed(t, "acme_config", 0, 0);
    assert_non_null(strstr(lc_t_detail(t), "renewal information"));

    /* or with a renewalInfo that is no URL: as without */

    assert_int_equal(lc_acme_account_init(&t->acct, t->key, LC_DIR), 0);
    json_decref(lc_t_account_until_post(t,
        "{\"newNonce\":\"" LC_NEW_NONCE "\","
        "\"newAccount\":\"" LC_NEW_ACCT "\","
        "\"newOrder\":\"" LC_NEW_ORDER "\","
        "\"renewalInfo\":\"" LC_ARI "\\r\\nX: y\"}"));
    lc_t_feed(t, 201, LC_ACCT, NULL, LC_ACCOUNT_JSON);
    lc_t_expect(t, LC_ACME_DONE);
    assert_string_equal(t->acct.renewal_info, "");

    lc_t_new_machine(t, LC_ACME_RENEWAL_INFO, NULL, LC_ACME_KEY_EC256,
                     LC_ARI_ID);
    lc_t_expect_failed(t, "acme_config", 0, 0);

    /* the directory is enough: the account need not be registered */

    assert_int_equal(lc_acme_account_init(&t->acct, t->key, LC_DIR), 0);
    json_decref(lc_t_account_until_post(t, LC_DIRECTORY_JSON));
    lc_t_feed_problem(t, 403, NULL, LC_URN "unauthorized", "no");
    lc_t_expect_failed(t, LC_URN "unauthorized", 0, 0);
    assert_string_equal(t->acct.kid, "");

    lc_t_renewal_info_sent(t, LC_ARI_ID);
    lc_t_feed_window(t, NULL, "2023-11-20T00:00:00Z",
                     "2023-11-21T00:00:00Z");
    lc_t_expect_window(t, 1700438400, 1700524800, 0);

    /* the id is a path segment: only one lc_acme_cert_id() could make */

    lc_t_new_machine(t, LC_ACME_RENEWAL_INFO, NULL, LC_ACME_KEY_EC256,
                     NULL);
    lc_t_expect_failed(t, "acme_config", 0, 0);

    lc_t_new_machine(t, LC_ACME_RENEWAL_INFO, NULL, LC_ACME_KEY_EC256,
                     "../../directory");
    lc_t_expect_failed(t, "acme_config", 0, 0);

    lc_t_new_machine(t, LC_ACME_RENEWAL_INFO, NULL, LC_ACME_KEY_EC256,
                     "aYhb?x=1.AIdlQyE");
    lc_t_expect_failed(t, "acme_config", 0, 0);
}


static void
test_renewal_info_bad_window(void **state)
{
    size_t       i;
    lc_t_t      *t;
    const char  *bodies[] = {
        /* end before start, or no window at all */
        "{\"suggestedWindow\":{\"start\":\"2023-11-21T00:00:00Z\","
        "\"end\":\"2023-11-20T00:00:00Z\"}}",
        "{\"suggestedWindow\":{\"start\":\"2023-11-21T00:00:00Z\","
        "\"end\":\"2023-11-21T00:00:00Z\"}}",
        "{\"suggestedWindow\":{\"start\":\"2023-11-21T02:00:00+02:00\","
        "\"end\":\"2023-11-21T00:00:00Z\"}}",
        "{\"suggestedWindow\":{\"start\":\"2023-11-21T00:00:00Z\"}}",
        "{\"suggestedWindow\":{\"start\":1700524800,"
        "\"end\":\"2023-11-21T00:00:00Z\"}}",
        "{\"suggestedWindow\":[\"2023-11-20T00:00:00Z\","
        "\"2023-11-21T00:00:00Z\"]}",
        "{\"explanationURL\":\"https://ca.test/docs/ari\"}",
        "[]",
        "<html><body>Welcome to nginx!</body></html>",
        "",
        /* dates that are not RFC 3339 */
        "{\"suggestedWindow\":{\"start\":\"2023-11-20\","
        "\"end\":\"2023-11-21T00:00:00Z\"}}",
        "{\"suggestedWindow\":{\"start\":\"2023-11-20T00:00:00\","
        "\"end\":\"2023-11-21T00:00:00Z\"}}",
        "{\"suggestedWindow\":{\"start\":\"2023-11-20T00:00:00Z\","
        "\"end\":\"2023-11-21T00:00:00Zjunk\"}}",
        "{\"suggestedWindow\":{\"start\":\"2023-11-20T00:00:00.Z\","
        "\"end\":\"2023-11-21T00:00:00Z\"}}",
        "{\"suggestedWindow\":{\"start\":\"2023-02-29T00:00:00Z\","
        "\"end\":\"2023-11-21T00:00:00Z\"}}",
        "{\"suggestedWindow\":{\"start\":\"2023-11-20T24:00:00Z\","
        "\"end\":\"2023-11-21T00:00:00Z\"}}",
        "{\"suggestedWindow\":{\"start\":\"2023-11-20T00:00:00+0200\","
        "\"end\":\"2023-11-21T00:00:00Z\"}}",
        "{\"suggestedWindow\":{\"start\":\"2023-13-20T00:00:00Z\","
        "\"end\":\"2023-11-21T00:00:00Z\"}}",
        "{\"suggestedWindow\":{\"start\":\"Mon, 20 Nov 2023 00:00:00 GMT\","
        "\"end\":\"2023-11-21T00:00:00Z\"}}",
        "{\"suggestedWindow\":{\"start\":\"\","
        "\"end\":\"2023-11-21T00:00:00Z\"}}",
    };

    t = *state;

    lc_t_account(t);

    for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        lc_t_renewal_info_sent(t, LC_ARI_ID);
        lc_t_answer(t, 200, 0, NULL, "60", "application/json", bodies[i]);
        lc_t_expect_failed(t, "acme_protocol", 0, 0);
        assert_int_equal(lc_acme_renewal_window(t->m, NULL, NULL, NULL),
                         -1);
    }
}


static void
test_renewal_info_errors(void **state)
{
    lc_t_t  *t;

    t = *state;

    lc_t_account(t);

    /* the CA is unwell: worth a retry, when it says */

    lc_t_renewal_info_sent(t, LC_ARI_ID);
    lc_t_feed_problem(t, 503, "120", LC_URN "serverInternal",
                      "the ARI service is down");
    lc_t_expect_failed(t, LC_URN "serverInternal", 1, 120);

    lc_t_renewal_info_sent(t, LC_ARI_ID);
    lc_t_answer(t, 503, 0, NULL, "Wed, 15 Nov 2023 04:13:20 GMT",
                "text/html", "<html>Service Unavailable</html>");
    lc_t_expect_failed(t, "acme_server", 1, 21600);
    assert_non_null(strstr(lc_t_detail(t), "503"));
    assert_non_null(strstr(lc_t_detail(t), "renewalInfo"));

    lc_t_renewal_info_sent(t, LC_ARI_ID);
    lc_t_answer(t, 0, 0, NULL, NULL, NULL, NULL);
    lc_t_expect_failed(t, "acme_transport", 1, 0);

    lc_t_renewal_info_sent(t, LC_ARI_ID);
    lc_t_feed_problem(t, 429, "3600", LC_URN "rateLimited", "slow down");
    lc_t_expect_failed(t, LC_URN "rateLimited", 1, 3600);

    /* the CA does not know the certificate: no retry helps */

    lc_t_renewal_info_sent(t, LC_ARI_ID);
    lc_t_answer(t, 404, 0, NULL, NULL, "text/plain", "404 page not found");
    lc_t_expect_failed(t, "acme_protocol", 0, 0);
    assert_non_null(strstr(lc_t_detail(t), "404"));

    lc_t_renewal_info_sent(t, LC_ARI_ID);
    lc_t_feed_problem(t, 400, NULL, LC_URN "malformed",
                      "certID is not a valid ARI identifier");
    lc_t_expect_failed(t, LC_URN "malformed", 0, 0);

    /* a redirect is not followed */

    lc_t_renewal_info_sent(t, LC_ARI_ID);
    lc_t_answer(t, 301, 0, LC_CA "/elsewhere", NULL, NULL, NULL);
    lc_t_expect_failed(t, "acme_protocol", 0, 0);
}


/* the saved text of the order, checked: its key or none */

static char *
lc_t_saved(lc_t_t *t, size_t *len, int with_key)
{
    char    *saved;
    json_t  *j;

    saved = lc_acme_save(t->m, len);
    assert_non_null(saved);
    assert_int_equal(*len, strlen(saved));

    j = json_loads(saved, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "domain")),
                        LC_NAME);
    assert_string_equal(json_string_value(json_object_get(j, "order")),
                        LC_ORDER);
    assert_string_equal(json_string_value(json_object_get(j, "directory")),
                        t->acct.directory);
    assert_int_equal(json_object_get(j, "key") != NULL, with_key);
    json_decref(j);

    return saved;
}


/*
 * Another machine goes on with the saved order; the nonce went with the
 * last request of the first one, so it asks for one first.
 */

static void
lc_t_resume(lc_t_t *t, char *saved, size_t len)
{
    lc_acme_free(t->m);
    t->m = lc_acme_resume(&t->acct, LC_NAME, LC_ACME_KEY_EC256, saved, len);
    assert_non_null(t->m);
    lc_acme_saved_free(saved, len);

    lc_t_expect_get(t, "HEAD", LC_NEW_NONCE);
    lc_t_answer(t, 200, 1, NULL, NULL, NULL, NULL);
}


/*
 * An order saved once its URL is known, resumed by another machine while
 * its challenge is being validated: the challenge is published again but
 * not started again (a CA refuses that).  Saved again with the key before
 * finalize, resumed while the CA processes it: the certificate fetched
 * is the saved key's.
 */

static void
test_resume(void **state)
{
    char     *saved;
    size_t    len;
    json_t   *authz, *p;
    lc_t_t   *t;

    t = *state;

    lc_t_account(t);
    lc_t_new_order(t, LC_NAME, LC_ACME_KEY_EC256, NULL);

    lc_t_expect_post_as_get(t, LC_AUTHZ);
    saved = lc_t_saved(t, &len, 0);
    assert_null(lc_acme_save(t->m, &len));        /* nothing new */

    lc_t_resume(t, saved, len);

    lc_t_expect_post_as_get(t, LC_ORDER);
    lc_t_feed_json(t, 200, NULL, NULL, lc_t_order_json("pending", LC_NAME));

    authz = lc_t_authz_json("pending", LC_NAME);
    json_object_set_new(json_array_get(json_object_get(authz, "challenges"),
                                       1),
                        "status", json_string("processing"));
    lc_t_expect_post_as_get(t, LC_AUTHZ);
    lc_t_feed_json(t, 200, NULL, NULL, authz);

    lc_t_expect(t, LC_ACME_PUBLISH);
    lc_t_expect_post_as_get(t, LC_AUTHZ);
    lc_t_feed_json(t, 200, NULL, NULL, lc_t_authz_json("valid", LC_NAME));

    lc_t_expect_post_as_get(t, LC_ORDER);
    lc_t_feed_json(t, 200, NULL, NULL, lc_t_order_json("ready", LC_NAME));

    /* finalize is about to go: the key is in what is saved now */

    p = lc_t_expect_post(t, LC_FINALIZE, 0);
    lc_t_check_csr(t, p, LC_NAME, LC_ACME_KEY_EC256);
    json_decref(p);
    saved = lc_t_saved(t, &len, 1);

    free(t->chain);
    t->chain = lc_t_issue(t, t->csr_key, LC_NAME);

    lc_t_resume(t, saved, len);

    lc_t_expect_post_as_get(t, LC_ORDER);
    lc_t_feed_json(t, 200, NULL, NULL,
                   lc_t_order_json("processing", LC_NAME));
    lc_t_expect_wait(t, 50);
    lc_t_expect_post_as_get(t, LC_ORDER);
    lc_t_feed_json(t, 200, NULL, NULL, lc_t_order_json("valid", LC_NAME));
    lc_t_expect_post_as_get(t, LC_CERT);
    lc_t_answer(t, 200, 1, NULL, NULL, LC_PEM_CHAIN, t->chain);

    lc_t_check_result(t, LC_ACME_KEY_EC256);
}


/* a ready order resumed with its saved key finalizes with that key */

static void
test_resume_ready(void **state)
{
    BIO       *bio;
    char      *saved;
    size_t     len;
    json_t    *p, *j;
    lc_t_t    *t;
    EVP_PKEY  *key;

    t = *state;

    lc_t_account(t);
    lc_t_order_until_cert(t);
    saved = lc_t_saved(t, &len, 1);

    j = json_loads(saved, 0, NULL);
    assert_non_null(j);
    bio = BIO_new_mem_buf(json_string_value(json_object_get(j, "key")), -1);
    key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    json_decref(j);
    assert_non_null(key);

    lc_t_resume(t, saved, len);

    lc_t_expect_post_as_get(t, LC_ORDER);
    lc_t_feed_json(t, 200, NULL, NULL, lc_t_order_json("ready", LC_NAME));

    p = lc_t_expect_post(t, LC_FINALIZE, 0);
    assert_int_equal(EVP_PKEY_eq(lc_t_check_csr(t, p, LC_NAME,
                                                LC_ACME_KEY_EC256),
                                 key), 1);
    json_decref(p);
    EVP_PKEY_free(key);
}


/*
 * What cannot be resumed fails at once, not transient: another domain's
 * order, a text that is not a saved order, a bad key; an order finalized
 * with a key that was not saved.
 */

static void
test_resume_bad(void **state)
{
    size_t       i;
    lc_t_t      *t;
    const char  *bad[] = {
        "",
        "not json",
        "{\"domain\":\"other.acme.test\",\"order\":\"" LC_ORDER "\"}",
        "{\"domain\":\"" LC_NAME "\",\"order\":\"ftp://x/\"}",
        "{\"domain\":\"" LC_NAME "\"}",
        "{\"domain\":\"" LC_NAME "\",\"order\":\"" LC_ORDER "\","
        "\"key\":\"-----BEGIN PRIVATE KEY-----\\nAAAA\\n"
        "-----END PRIVATE KEY-----\\n\"}",
        "{\"domain\":\"" LC_NAME "\",\"order\":\"" LC_ORDER "\",\"key\":1}",
    };

    t = *state;

    lc_t_account(t);

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        lc_acme_free(t->m);
        t->m = lc_acme_resume(&t->acct, LC_NAME, LC_ACME_KEY_EC256, bad[i],
                              strlen(bad[i]));
        assert_non_null(t->m);
        lc_t_expect_failed(t, "acme_internal", 0, 0);
    }

    lc_acme_free(t->m);
    t->m = lc_acme_resume(&t->acct, LC_NAME, LC_ACME_KEY_EC256,
                          "{\"domain\":\"" LC_NAME "\",\"order\":\""
                          LC_ORDER "\"}", strlen("{\"domain\":\"" LC_NAME
                          "\",\"order\":\"" LC_ORDER "\"}"));
    lc_t_expect_post_as_get(t, LC_ORDER);
    lc_t_feed_json(t, 200, NULL, NULL, lc_t_order_json("valid", LC_NAME));
    lc_t_expect_failed(t, "acme_protocol", 0, 0);
}


/*
 * An order belongs to its CA: the saved text names the directory, and
 * another account (the backup CA's) does not resume it; a text of before
 * the directory was kept names none.
 */

static void
test_resume_other_ca(void **state)
{
    char                directory[LC_ACME_URL_MAX];
    char               *saved;
    size_t              len;
    lc_t_t             *t;
    lc_acme_account_t   other;
    const char         *old = "{\"domain\":\"" LC_NAME "\",\"order\":\""
                              LC_ORDER "\"}";

    t = *state;

    lc_t_account(t);
    lc_t_new_order(t, LC_NAME, LC_ACME_KEY_EC256, NULL);
    lc_t_expect_post_as_get(t, LC_AUTHZ);
    saved = lc_t_saved(t, &len, 0);

    assert_int_equal(lc_acme_saved_directory(saved, len, directory,
                                             sizeof(directory)), 0);
    assert_string_equal(directory, t->acct.directory);
    assert_int_equal(lc_acme_saved_directory(saved, len, directory, 8), -1);
    assert_int_equal(lc_acme_saved_directory(old, strlen(old), directory,
                                             sizeof(directory)), 1);
    assert_int_equal(lc_acme_saved_directory("x", 1, directory,
                                             sizeof(directory)), -1);

    other = t->acct;
    memcpy(other.directory, "https://backup.test/dir",
           sizeof("https://backup.test/dir"));

    lc_acme_free(t->m);
    t->m = lc_acme_resume(&other, LC_NAME, LC_ACME_KEY_EC256, saved, len);
    assert_non_null(t->m);
    lc_t_expect_failed(t, "acme_internal", 0, 0);
    assert_int_equal(lc_acme_unreachable(t->m), 0);

    lc_t_resume(t, saved, len);
    lc_t_expect_post_as_get(t, LC_ORDER);
}


/* renewal information twice a day, or as seldom as the CA asks (a day) */

static void
test_ari_next(void **state)
{
    time_t  now;

    (void) state;

    now = 1785542400;

    assert_int_equal(lc_acme_ari_next(now, 0), now + 43200);
    assert_int_equal(lc_acme_ari_next(now, 60), now + 43200);
    assert_int_equal(lc_acme_ari_next(now, 21600), now + 43200);
    assert_int_equal(lc_acme_ari_next(now, 43200), now + 43200);
    assert_int_equal(lc_acme_ari_next(now, 50000), now + 50000);
    assert_int_equal(lc_acme_ari_next(now, 86400), now + 86400);
    assert_int_equal(lc_acme_ari_next(now, 7 * 86400), now + 86400);
    assert_int_equal(lc_acme_ari_next(now, -5), now + 43200);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test_setup_teardown(test_happy_path,
                                        lc_t_setup, lc_t_teardown),
        cmocka_unit_test_setup_teardown(test_rsa_key,
                                        lc_t_setup, lc_t_teardown),
        cmocka_unit_test_setup_teardown(test_given_key,
                                        lc_t_setup, lc_t_teardown),
        cmocka_unit_test_setup_teardown(test_long_name,
                                        lc_t_setup, lc_t_teardown),
        cmocka_unit_test_setup_teardown(test_account_existing,
                                        lc_t_setup, lc_t_teardown),
        cmocka_unit_test_setup_teardown(test_account_no_location,
                                        lc_t_setup, lc_t_teardown),
        cmocka_unit_test_setup_teardown(test_account_deactivated,
                                        lc_t_setup, lc_t_teardown),
        cmocka_unit_test_setup_teardown(test_thumbprint,
                                        lc_t_setup, lc_t_teardown),
        cmocka_unit_test_setup_teardown(test_account_key,
                                        lc_t_setup, lc_t_teardown),
        cmocka_unit_test_setup_teardown(test_eab,
                                        lc_t_setup, lc_t_teardown),
        cmocka_unit_test_setup_teardown(test_eab_required,
                                        lc_t_setup, lc_t_teardown),
        cmocka_unit_test_setup_teardown(test_bad_directory,
                                        lc_t_setup, lc_t_teardown),
        cmocka_unit_test_setup_teardown(test_transport,
                                        lc_t_setup, lc_t_teardown),
        cmocka_unit_test_setup_teardown(test_bad_nonce_retry,
                                        lc_t_setup, lc_t_teardown),
        cmocka_unit_test_setup_teardown(test_challenge_started_elsewhere,
                                        lc_t_setup, lc_t_teardown),
        cmocka_unit_test_setup_teardown(test_challenge_refused_twice,
                                        lc_t_setup, lc_t_teardown),
        cmocka_unit_test_setup_teardown(test_bad_nonce_give_up,
                                        lc_t_setup, lc_t_teardown),
        cmocka_unit_test_setup_teardown(test_rate_limited,
                                        lc_t_setup, lc_t_teardown),
        cmocka_unit_test_setup_teardown(test_server_error,
                                        lc_t_setup, lc_t_teardown),
        cmocka_unit_test_setup_teardown(test_authz_invalid,
                                        lc_t_setup, lc_t_teardown),
        cmocka_unit_test_setup_teardown(test_challenge_invalid,
                                        lc_t_setup, lc_t_teardown),
        cmocka_unit_test_setup_teardown(test_order_invalid,
                                        lc_t_setup, lc_t_teardown),
        cmocka_unit_test_setup_teardown(test_authz_valid,
                                        lc_t_setup, lc_t_teardown),
        cmocka_unit_test_setup_teardown(test_order_ready,
                                        lc_t_setup, lc_t_teardown),
        cmocka_unit_test_setup_teardown(test_two_authz,
                                        lc_t_setup, lc_t_teardown),
        cmocka_unit_test_setup_teardown(test_wait,
                                        lc_t_setup, lc_t_teardown),
        cmocka_unit_test_setup_teardown(test_poll_limit,
                                        lc_t_setup, lc_t_teardown),
        cmocka_unit_test_setup_teardown(test_problem_detail,
                                        lc_t_setup, lc_t_teardown),
        cmocka_unit_test_setup_teardown(test_chain_mismatch,
                                        lc_t_setup, lc_t_teardown),
        cmocka_unit_test_setup_teardown(test_bad_token,
                                        lc_t_setup, lc_t_teardown),
        cmocka_unit_test_setup_teardown(test_unexpected,
                                        lc_t_setup, lc_t_teardown),
        cmocka_unit_test_setup_teardown(test_replaces,
                                        lc_t_setup, lc_t_teardown),
        cmocka_unit_test_setup_teardown(test_no_account,
                                        lc_t_setup, lc_t_teardown),
        cmocka_unit_test_setup_teardown(test_invalid_domain,
                                        lc_t_setup, lc_t_teardown),
        cmocka_unit_test_setup_teardown(test_shared_nonce,
                                        lc_t_setup, lc_t_teardown),
        cmocka_unit_test_setup_teardown(test_cert_id,
                                        lc_t_setup, lc_t_teardown),
        cmocka_unit_test_setup_teardown(test_renewal_info,
                                        lc_t_setup, lc_t_teardown),
        cmocka_unit_test_setup_teardown(test_renewal_info_config,
                                        lc_t_setup, lc_t_teardown),
        cmocka_unit_test_setup_teardown(test_renewal_info_bad_window,
                                        lc_t_setup, lc_t_teardown),
        cmocka_unit_test_setup_teardown(test_renewal_info_errors,
                                        lc_t_setup, lc_t_teardown),
        cmocka_unit_test_setup_teardown(test_resume,
                                        lc_t_setup, lc_t_teardown),
        cmocka_unit_test_setup_teardown(test_resume_ready,
                                        lc_t_setup, lc_t_teardown),
        cmocka_unit_test_setup_teardown(test_resume_bad,
                                        lc_t_setup, lc_t_teardown),
        cmocka_unit_test_setup_teardown(test_resume_other_ca,
                                        lc_t_setup, lc_t_teardown),
        cmocka_unit_test(test_ari_next),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
