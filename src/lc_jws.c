/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: JSON Web Signatures for ACME.
 */


#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/obj_mac.h>

#include "lc_jws.h"


#define LC_JWS_COORD  32                /* bytes of a P-256 coordinate */


static int lc_jws_is_p256(EVP_PKEY *key);
static int lc_jws_coord(EVP_PKEY *key, const char *name, json_t *jwk,
    const char *member);
static char *lc_jws_input(json_t *header, const char *payload, size_t len,
    char **prot64, char **pay64, size_t *input_len);
static int lc_jws_sign_raw(EVP_PKEY *key, const char *input, size_t len,
    unsigned char *sig);
static json_t *lc_jws_object(const char *prot64, const char *pay64,
    const unsigned char *sig, size_t sig_len);


char *
lc_jws_b64url(const unsigned char *data, size_t len, size_t *out_len)
{
    int     n;
    char   *out;
    size_t  i, j;

    if (len > (size_t) INT_MAX / 4 * 3 - 3) {
        return NULL;
    }

    out = malloc(4 * ((len + 2) / 3) + 1);
    if (out == NULL) {
        return NULL;
    }

    n = EVP_EncodeBlock((unsigned char *) out, data, (int) len);
    if (n < 0) {
        free(out);
        return NULL;
    }

    /* RFC 4648 section 5: the URL alphabet and no padding */

    for (i = 0, j = 0; i < (size_t) n; i++) {
        switch (out[i]) {
        case '+':
            out[j++] = '-';
            break;
        case '/':
            out[j++] = '_';
            break;
        case '=':
            break;
        default:
            out[j++] = out[i];
        }
    }

    out[j] = '\0';

    if (out_len) {
        *out_len = j;
    }

    return out;
}


json_t *
lc_jws_jwk(EVP_PKEY *key)
{
    json_t  *jwk;

    if (!lc_jws_is_p256(key)) {
        return NULL;
    }

    jwk = json_object();
    if (jwk == NULL) {
        return NULL;
    }

    if (json_object_set_new(jwk, "crv", json_string("P-256")) != 0
        || json_object_set_new(jwk, "kty", json_string("EC")) != 0
        || lc_jws_coord(key, OSSL_PKEY_PARAM_EC_PUB_X, jwk, "x") != 0
        || lc_jws_coord(key, OSSL_PKEY_PARAM_EC_PUB_Y, jwk, "y") != 0)
    {
        json_decref(jwk);
        ERR_clear_error();
        return NULL;
    }

    return jwk;
}


int
lc_jws_thumbprint(EVP_PKEY *key, char *out, size_t size)
{
    int            rc;
    char          *text, *b64;
    json_t        *jwk;
    size_t         len, b64_len;
    unsigned int   md_len;
    unsigned char  md[EVP_MAX_MD_SIZE];

    jwk = lc_jws_jwk(key);
    if (jwk == NULL) {
        return -1;
    }

    /*
     * RFC 7638 section 3: the required members only, sorted, without
     * whitespace; base64url values need no escaping, so jansson's compact
     * sorted output is exactly that form
     */

    text = lc_jws_dump(jwk, JSON_SORT_KEYS, &len);
    json_decref(jwk);

    if (text == NULL) {
        return -1;
    }

    rc = EVP_Digest(text, len, md, &md_len, EVP_sha256(), NULL);
    free(text);

    if (rc != 1) {
        ERR_clear_error();
        return -1;
    }

    b64 = lc_jws_b64url(md, md_len, &b64_len);
    if (b64 == NULL) {
        return -1;
    }

    if (b64_len >= size) {
        free(b64);
        return -1;
    }

    memcpy(out, b64, b64_len + 1);
    free(b64);

    return 0;
}


json_t *
lc_jws_es256(EVP_PKEY *key, json_t *header, const char *payload, size_t len)
{
    char           *input, *prot64, *pay64;
    json_t         *jws;
    size_t          input_len;
    unsigned char   sig[2 * LC_JWS_COORD];

    if (json_object_set_new(header, "alg", json_string("ES256")) != 0) {
        return NULL;
    }

    input = lc_jws_input(header, payload, len, &prot64, &pay64, &input_len);
    if (input == NULL) {
        return NULL;
    }

    jws = NULL;

    if (lc_jws_sign_raw(key, input, input_len, sig) == 0) {
        jws = lc_jws_object(prot64, pay64, sig, sizeof(sig));
    }

    free(input);
    free(prot64);
    free(pay64);

    return jws;
}


json_t *
lc_jws_eab(EVP_PKEY *key, const char *kid, const unsigned char *hmac,
    size_t hmac_len, const char *url)
{
    char           *input, *prot64, *pay64, *jwk_text;
    json_t         *jwk, *header, *jws;
    size_t          input_len, jwk_len;
    unsigned int    sig_len;
    unsigned char   sig[EVP_MAX_MD_SIZE];

    if (kid == NULL || hmac == NULL || hmac_len == 0 || hmac_len > INT_MAX) {
        return NULL;
    }

    jwk = lc_jws_jwk(key);
    if (jwk == NULL) {
        return NULL;
    }

    jwk_text = lc_jws_dump(jwk, 0, &jwk_len);
    json_decref(jwk);

    if (jwk_text == NULL) {
        return NULL;
    }

    header = json_pack("{s:s, s:s, s:s}", "alg", "HS256", "kid", kid,
                       "url", url);
    if (header == NULL) {
        free(jwk_text);
        return NULL;
    }

    input = lc_jws_input(header, jwk_text, jwk_len, &prot64, &pay64,
                         &input_len);
    json_decref(header);
    free(jwk_text);

    if (input == NULL) {
        return NULL;
    }

    jws = NULL;

    if (HMAC(EVP_sha256(), hmac, (int) hmac_len,
             (const unsigned char *) input, input_len, sig, &sig_len)
        != NULL)
    {
        jws = lc_jws_object(prot64, pay64, sig, sig_len);

    } else {
        ERR_clear_error();
    }

    OPENSSL_cleanse(sig, sizeof(sig));
    free(input);
    free(prot64);
    free(pay64);

    return jws;
}


char *
lc_jws_dump(const json_t *json, size_t flags, size_t *len)
{
    char    *text;
    size_t   n;

    flags |= JSON_COMPACT;

    n = json_dumpb(json, NULL, 0, flags);
    if (n == 0) {
        return NULL;
    }

    text = malloc(n + 1);
    if (text == NULL) {
        return NULL;
    }

    if (json_dumpb(json, text, n, flags) != n) {
        free(text);
        return NULL;
    }

    text[n] = '\0';

    if (len) {
        *len = n;
    }

    return text;
}


static int
lc_jws_is_p256(EVP_PKEY *key)
{
    char  group[64];

    if (key == NULL || !EVP_PKEY_is_a(key, "EC")) {
        return 0;
    }

    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME,
                                       group, sizeof(group), NULL) != 1)
    {
        ERR_clear_error();
        return 0;
    }

    return strcmp(group, SN_X9_62_prime256v1) == 0;
}


static int
lc_jws_coord(EVP_PKEY *key, const char *name, json_t *jwk,
    const char *member)
{
    int             rc;
    char           *b64;
    BIGNUM         *bn;
    unsigned char   bin[LC_JWS_COORD];

    bn = NULL;

    if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) {
        return -1;
    }

    /* RFC 7518 section 6.2.1.2: the full size, leading zeros kept */

    rc = BN_bn2binpad(bn, bin, sizeof(bin));
    BN_free(bn);

    if (rc != (int) sizeof(bin)) {
        return -1;
    }

    b64 = lc_jws_b64url(bin, sizeof(bin), NULL);
    if (b64 == NULL) {
        return -1;
    }

    rc = json_object_set_new(jwk, member, json_string(b64));
    free(b64);

    return rc;
}


/*
 * The signing input "prot64.pay64", and both halves for the JWS object.
 */

static char *
lc_jws_input(json_t *header, const char *payload, size_t len, char **prot64,
    char **pay64, size_t *input_len)
{
    char    *text, *input;
    size_t   text_len, prot_len, pay_len;

    *prot64 = NULL;
    *pay64 = NULL;

    text = lc_jws_dump(header, 0, &text_len);
    if (text == NULL) {
        return NULL;
    }

    *prot64 = lc_jws_b64url((unsigned char *) text, text_len, &prot_len);
    free(text);

    *pay64 = lc_jws_b64url((const unsigned char *) payload, len, &pay_len);

    if (*prot64 == NULL || *pay64 == NULL) {
        goto failed;
    }

    input = malloc(prot_len + 1 + pay_len + 1);
    if (input == NULL) {
        goto failed;
    }

    memcpy(input, *prot64, prot_len);
    input[prot_len] = '.';
    memcpy(input + prot_len + 1, *pay64, pay_len + 1);

    *input_len = prot_len + 1 + pay_len;

    return input;

failed:

    free(*prot64);
    free(*pay64);
    *prot64 = NULL;
    *pay64 = NULL;

    return NULL;
}


/*
 * RFC 7518 section 3.4: ES256 is R || S, 32 bytes each, where OpenSSL
 * gives a DER ECDSA-Sig-Value.
 */

static int
lc_jws_sign_raw(EVP_PKEY *key, const char *input, size_t len,
    unsigned char *sig)
{
    int                   rc;
    size_t                der_len;
    EVP_MD_CTX           *ctx;
    ECDSA_SIG            *esig;
    const BIGNUM         *r, *s;
    const unsigned char  *p;
    unsigned char         der[128];

    if (!lc_jws_is_p256(key)) {
        return -1;
    }

    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        return -1;
    }

    rc = -1;
    esig = NULL;
    der_len = sizeof(der);

    if (EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) != 1
        || EVP_DigestSign(ctx, NULL, &der_len,
                          (const unsigned char *) input, len) != 1
        || der_len > sizeof(der)
        || EVP_DigestSign(ctx, der, &der_len,
                          (const unsigned char *) input, len) != 1)
    {
        goto done;
    }

    p = der;

    esig = d2i_ECDSA_SIG(NULL, &p, (long) der_len);
    if (esig == NULL) {
        goto done;
    }

    ECDSA_SIG_get0(esig, &r, &s);

    if (BN_bn2binpad(r, sig, LC_JWS_COORD) != LC_JWS_COORD
        || BN_bn2binpad(s, sig + LC_JWS_COORD, LC_JWS_COORD) != LC_JWS_COORD)
    {
        goto done;
    }

    rc = 0;

done:

    ECDSA_SIG_free(esig);
    EVP_MD_CTX_free(ctx);

    if (rc != 0) {
        ERR_clear_error();
    }

    return rc;
}


static json_t *
lc_jws_object(const char *prot64, const char *pay64,
    const unsigned char *sig, size_t sig_len)
{
    char    *sig64;
    json_t  *jws;

    sig64 = lc_jws_b64url(sig, sig_len, NULL);
    if (sig64 == NULL) {
        return NULL;
    }

    jws = json_pack("{s:s, s:s, s:s}", "protected", prot64,
                    "payload", pay64, "signature", sig64);
    free(sig64);

    return jws;
}
