/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: keys, the CSR and the issued chain of an ACME order, and the
 * ARI identifier of a certificate.
 */


#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "lc_acme_key.h"
#include "lc_jws.h"


#define LC_ACME_CN_MAX  64              /* ub-common-name, RFC 5280 */


static int lc_acme_key_no_password(char *buf, int size, int rwflag,
    void *u);
static int lc_acme_key_add_san(X509_REQ *req, const char *domain);
static X509 *lc_acme_key_first_cert(const char *pem, size_t len);
static int lc_acme_key_serial(X509 *x, unsigned char **der,
    const unsigned char **value, size_t *len);


EVP_PKEY *
lc_acme_account_key_new(void)
{
    EVP_PKEY  *key;

    key = EVP_EC_gen(SN_X9_62_prime256v1);
    if (key == NULL) {
        ERR_clear_error();
    }

    return key;
}


EVP_PKEY *
lc_acme_account_key_load(const char *pem, size_t len)
{
    json_t    *jwk;
    EVP_PKEY  *key;

    key = lc_acme_key_load(pem, len);
    if (key == NULL) {
        return NULL;
    }

    /* ES256 is the only algorithm the JWS code signs with */

    jwk = lc_jws_jwk(key);
    if (jwk == NULL) {
        EVP_PKEY_free(key);
        return NULL;
    }

    json_decref(jwk);

    return key;
}


EVP_PKEY *
lc_acme_key_load(const char *pem, size_t len)
{
    BIO       *bio;
    EVP_PKEY  *key;

    if (pem == NULL || len == 0 || len > INT_MAX) {
        return NULL;
    }

    bio = BIO_new_mem_buf(pem, (int) len);
    if (bio == NULL) {
        ERR_clear_error();
        return NULL;
    }

    key = PEM_read_bio_PrivateKey(bio, NULL, lc_acme_key_no_password, NULL);
    BIO_free(bio);

    if (key == NULL) {
        ERR_clear_error();
    }

    return key;
}


char *
lc_acme_account_key_pem(EVP_PKEY *key, size_t *len)
{
    return lc_acme_key_pem(key, len);
}


EVP_PKEY *
lc_acme_key_new(lc_acme_key_type_e type)
{
    EVP_PKEY  *key;

    switch (type) {

    case LC_ACME_KEY_EC256:
        key = EVP_EC_gen(SN_X9_62_prime256v1);
        break;

    case LC_ACME_KEY_RSA2048:
        key = EVP_RSA_gen(2048);
        break;

    default:
        return NULL;
    }

    if (key == NULL) {
        ERR_clear_error();
    }

    return key;
}


char *
lc_acme_key_pem(EVP_PKEY *key, size_t *len)
{
    BIO      *bio;
    char     *out, *data;
    long      n;

    if (key == NULL) {
        return NULL;
    }

    bio = BIO_new(BIO_s_secmem());
    if (bio == NULL) {
        ERR_clear_error();
        return NULL;
    }

    out = NULL;

    if (PEM_write_bio_PKCS8PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)
        != 1)
    {
        goto done;
    }

    n = BIO_get_mem_data(bio, &data);
    if (n <= 0) {
        goto done;
    }

    out = malloc((size_t) n + 1);
    if (out == NULL) {
        goto done;
    }

    memcpy(out, data, (size_t) n);
    out[n] = '\0';

    if (len) {
        *len = (size_t) n;
    }

done:

    /* a secure-memory BIO clears the key's text when freed */
    BIO_free(bio);
    ERR_clear_error();

    return out;
}


char *
lc_acme_csr(EVP_PKEY *key, const char *domain)
{
    int             n;
    char           *b64;
    size_t          len;
    X509_REQ       *req;
    X509_NAME      *name;
    unsigned char  *der;

    len = strlen(domain);

    req = X509_REQ_new();
    if (req == NULL) {
        goto failed;
    }

    if (X509_REQ_set_version(req, X509_REQ_VERSION_1) != 1) {
        goto failed;
    }

    /*
     * The CA reads the names from the SAN only; a CN is added for the
     * tools that still show it, but cannot hold more than 64 characters
     */

    if (len <= LC_ACME_CN_MAX) {
        name = X509_REQ_get_subject_name(req);

        if (X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_ASC,
                                       (const unsigned char *) domain,
                                       (int) len, -1, 0)
            != 1)
        {
            goto failed;
        }
    }

    if (lc_acme_key_add_san(req, domain) != 0
        || X509_REQ_set_pubkey(req, key) != 1
        || X509_REQ_sign(req, key, EVP_sha256()) <= 0)
    {
        goto failed;
    }

    der = NULL;

    n = i2d_X509_REQ(req, &der);
    if (n <= 0) {
        goto failed;
    }

    b64 = lc_jws_b64url(der, (size_t) n, NULL);

    OPENSSL_free(der);
    X509_REQ_free(req);

    return b64;

failed:

    X509_REQ_free(req);
    ERR_clear_error();

    return NULL;
}


int
lc_acme_chain_check(const char *pem, size_t len, EVP_PKEY *key,
    const char **reason)
{
    int             n;
    BIO            *bio;
    X509           *x;
    unsigned long   e;

    if (pem == NULL || len == 0) {
        *reason = "the certificate chain is empty";
        return -1;
    }

    if (len > INT_MAX) {
        *reason = "the certificate chain is too large";
        return -1;
    }

    ERR_clear_error();

    bio = BIO_new_mem_buf(pem, (int) len);
    if (bio == NULL) {
        ERR_clear_error();
        *reason = "out of memory while reading the certificate chain";
        return -1;
    }

    for (n = 0; ; n++) {
        x = PEM_read_bio_X509(bio, NULL, lc_acme_key_no_password, NULL);

        if (x == NULL) {
            break;
        }

        if (n == 0 && EVP_PKEY_eq(X509_get0_pubkey(x), key) != 1) {
            X509_free(x);
            BIO_free(bio);
            ERR_clear_error();
            *reason = "the certificate does not carry the key of the CSR";
            return -1;
        }

        X509_free(x);
    }

    BIO_free(bio);

    /* the end of the text shows as "no start line"; anything else is bad */

    e = ERR_peek_last_error();
    ERR_clear_error();

    if (ERR_GET_LIB(e) != ERR_LIB_PEM
        || ERR_GET_REASON(e) != PEM_R_NO_START_LINE)
    {
        *reason = "the certificate chain holds a damaged certificate";
        return -1;
    }

    if (n == 0) {
        *reason = "the certificate chain holds no certificate";
        return -1;
    }

    return 0;
}


int
lc_acme_cert_id(const char *chain_pem, size_t len, char *id, size_t size)
{
    int                   rc, crit;
    char                 *aki64, *serial64;
    X509                 *x;
    size_t                aki_len, serial_len, value_len;
    unsigned char        *der;
    AUTHORITY_KEYID      *akid;
    const unsigned char  *value;

    rc = -1;
    akid = NULL;
    der = NULL;
    aki64 = NULL;
    serial64 = NULL;

    if (id == NULL || size == 0) {
        return -1;
    }

    id[0] = '\0';

    x = lc_acme_key_first_cert(chain_pem, len);
    if (x == NULL) {
        return -1;
    }

    /* crit: -1 absent, -2 more than once; either way no id */

    akid = X509_get_ext_d2i(x, NID_authority_key_identifier, &crit, NULL);

    if (akid == NULL || akid->keyid == NULL
        || ASN1_STRING_length(akid->keyid) <= 0)
    {
        goto done;
    }

    if (lc_acme_key_serial(x, &der, &value, &value_len) != 0) {
        goto done;
    }

    aki64 = lc_jws_b64url(ASN1_STRING_get0_data(akid->keyid),
                          (size_t) ASN1_STRING_length(akid->keyid),
                          &aki_len);
    serial64 = lc_jws_b64url(value, value_len, &serial_len);

    if (aki64 == NULL || serial64 == NULL
        || aki_len + 1 + serial_len >= size)
    {
        goto done;
    }

    memcpy(id, aki64, aki_len);
    id[aki_len] = '.';
    memcpy(id + aki_len + 1, serial64, serial_len + 1);

    rc = 0;

done:

    free(aki64);
    free(serial64);
    OPENSSL_free(der);
    AUTHORITY_KEYID_free(akid);
    X509_free(x);
    ERR_clear_error();

    return rc;
}


static int
lc_acme_key_no_password(char *buf, int size, int rwflag, void *u)
{
    (void) buf;
    (void) size;
    (void) rwflag;
    (void) u;

    return -1;
}


static int
lc_acme_key_add_san(X509_REQ *req, const char *domain)
{
    int                        rc;
    GENERAL_NAME              *gen;
    GENERAL_NAMES             *gens;
    ASN1_IA5STRING            *ia5;
    STACK_OF(X509_EXTENSION)  *exts;

    rc = -1;
    exts = NULL;

    gens = GENERAL_NAMES_new();
    gen = GENERAL_NAME_new();
    ia5 = ASN1_IA5STRING_new();

    if (gens == NULL || gen == NULL || ia5 == NULL) {
        goto done;
    }

    if (ASN1_STRING_set(ia5, domain, -1) != 1) {
        goto done;
    }

    GENERAL_NAME_set0_value(gen, GEN_DNS, ia5);
    ia5 = NULL;

    if (sk_GENERAL_NAME_push(gens, gen) == 0) {
        goto done;
    }

    gen = NULL;

    if (X509V3_add1_i2d(&exts, NID_subject_alt_name, gens, 0, 0) != 1
        || X509_REQ_add_extensions(req, exts) != 1)
    {
        goto done;
    }

    rc = 0;

done:

    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    GENERAL_NAMES_free(gens);
    GENERAL_NAME_free(gen);
    ASN1_IA5STRING_free(ia5);

    return rc;
}


/* The first certificate of a PEM text, or NULL. */

static X509 *
lc_acme_key_first_cert(const char *pem, size_t len)
{
    BIO   *bio;
    X509  *x;

    if (pem == NULL || len == 0 || len > INT_MAX) {
        return NULL;
    }

    bio = BIO_new_mem_buf(pem, (int) len);
    if (bio == NULL) {
        ERR_clear_error();
        return NULL;
    }

    x = PEM_read_bio_X509(bio, NULL, lc_acme_key_no_password, NULL);
    BIO_free(bio);
    ERR_clear_error();

    return x;
}


/*
 * The content octets of the DER INTEGER of the serial number, as RFC 9773
 * takes them: a positive number whose high bit is set keeps the 0x00 in
 * front.  *der is to be freed with OPENSSL_free(); *value points into it.
 */

static int
lc_acme_key_serial(X509 *x, unsigned char **der, const unsigned char **value,
    size_t *len)
{
    int                   n, tag, xclass;
    long                  clen;
    const unsigned char  *p;

    *der = NULL;

    n = i2d_ASN1_INTEGER(X509_get0_serialNumber(x), der);
    if (n <= 0) {
        return -1;
    }

    p = *der;

    if (ASN1_get_object(&p, &clen, &tag, &xclass, n) != 0
        || tag != V_ASN1_INTEGER || xclass != V_ASN1_UNIVERSAL
        || clen <= 0 || p + clen != *der + n)
    {
        return -1;
    }

    *value = p;
    *len = (size_t) clen;

    return 0;
}
