
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the start's cheap reading of a certificate and its key.
 *
 * At start without the store's index, every pair of the store is read.
 * d2i_X509() builds the leaf's public key with a chain of OpenSSL 3.0
 * decoders, and reading privkey.pem builds the private key: most of what
 * a full parse costs.  What the table needs is only the leaf's fields
 * (dates, serial, issuer, names) and the certainty that the key is the
 * leaf's.  So the leaf is read with a template of the certificate of our
 * own that keeps the SubjectPublicKeyInfo as its two parts, undecoded,
 * and the key file with OpenSSL's templates of the key's structures
 * (PKCS#8, SEC 1, PKCS#1); the key is the leaf's when the public half it
 * holds has the same bytes (EC) or the same modulus and exponent (RSA)
 * as the leaf's.  Whatever this reader cannot confirm (a broken pair, a
 * key of another type, an EC key without its public half) is left to the
 * full parse, which then says what is wrong.
 */


#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1t.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "lc_cert.h"
#include "lc_cert_int.h"


/* SubjectPublicKeyInfo, its key left as bytes */

typedef struct {
    X509_ALGOR       *alg;
    ASN1_BIT_STRING  *key;
} LC_PEEK_SPKI;

ASN1_SEQUENCE(LC_PEEK_SPKI) = {
    ASN1_SIMPLE(LC_PEEK_SPKI, alg, X509_ALGOR),
    ASN1_SIMPLE(LC_PEEK_SPKI, key, ASN1_BIT_STRING)
} static_ASN1_SEQUENCE_END(LC_PEEK_SPKI)


/* TBSCertificate (RFC 5280), its encoding kept for the digest */

typedef struct {
    ASN1_INTEGER              *version;
    ASN1_INTEGER              *serial;
    X509_ALGOR                *signature;
    ASN1_TYPE                 *issuer;
    X509_VAL                  *validity;
    ASN1_TYPE                 *subject;
    LC_PEEK_SPKI              *spki;
    ASN1_BIT_STRING           *issuer_uid;
    ASN1_BIT_STRING           *subject_uid;
    STACK_OF(X509_EXTENSION)  *extensions;
    ASN1_ENCODING              enc;
} LC_PEEK_TBS;

ASN1_SEQUENCE_enc(LC_PEEK_TBS, enc, 0) = {
    ASN1_EXP_OPT(LC_PEEK_TBS, version, ASN1_INTEGER, 0),
    ASN1_SIMPLE(LC_PEEK_TBS, serial, ASN1_INTEGER),
    ASN1_SIMPLE(LC_PEEK_TBS, signature, X509_ALGOR),
    ASN1_SIMPLE(LC_PEEK_TBS, issuer, ASN1_ANY),
    ASN1_SIMPLE(LC_PEEK_TBS, validity, X509_VAL),
    ASN1_SIMPLE(LC_PEEK_TBS, subject, ASN1_ANY),
    ASN1_SIMPLE(LC_PEEK_TBS, spki, LC_PEEK_SPKI),
    ASN1_IMP_OPT(LC_PEEK_TBS, issuer_uid, ASN1_BIT_STRING, 1),
    ASN1_IMP_OPT(LC_PEEK_TBS, subject_uid, ASN1_BIT_STRING, 2),
    ASN1_EXP_SEQUENCE_OF_OPT(LC_PEEK_TBS, extensions, X509_EXTENSION, 3)
} static_ASN1_SEQUENCE_END_ref(LC_PEEK_TBS, LC_PEEK_TBS)


/* Certificate: encoded again, the same bytes as X509_digest() hashes */

typedef struct {
    LC_PEEK_TBS      *tbs;
    X509_ALGOR       *sig_alg;
    ASN1_BIT_STRING  *signature;
} LC_PEEK_CERT;

ASN1_SEQUENCE(LC_PEEK_CERT) = {
    ASN1_SIMPLE(LC_PEEK_CERT, tbs, LC_PEEK_TBS),
    ASN1_SIMPLE(LC_PEEK_CERT, sig_alg, X509_ALGOR),
    ASN1_SIMPLE(LC_PEEK_CERT, signature, ASN1_BIT_STRING)
} static_ASN1_SEQUENCE_END(LC_PEEK_CERT)


/* ECPrivateKey (RFC 5915) */

typedef struct {
    ASN1_INTEGER       *version;
    ASN1_OCTET_STRING  *priv;
    ASN1_OBJECT        *curve;
    ASN1_BIT_STRING    *pub;
} LC_PEEK_EC;

ASN1_SEQUENCE(LC_PEEK_EC) = {
    ASN1_SIMPLE(LC_PEEK_EC, version, ASN1_INTEGER),
    ASN1_SIMPLE(LC_PEEK_EC, priv, ASN1_OCTET_STRING),
    ASN1_EXP_OPT(LC_PEEK_EC, curve, ASN1_OBJECT, 0),
    ASN1_EXP_OPT(LC_PEEK_EC, pub, ASN1_BIT_STRING, 1)
} static_ASN1_SEQUENCE_END(LC_PEEK_EC)


/* RSAPrivateKey (RFC 8017), and RSAPublicKey: its first two numbers */

typedef struct {
    ASN1_INTEGER  *version;
    ASN1_INTEGER  *n;
    ASN1_INTEGER  *e;
    ASN1_INTEGER  *d;
    ASN1_INTEGER  *p;
    ASN1_INTEGER  *q;
    ASN1_INTEGER  *dp;
    ASN1_INTEGER  *dq;
    ASN1_INTEGER  *qinv;
    ASN1_TYPE     *other;
} LC_PEEK_RSA;

ASN1_SEQUENCE(LC_PEEK_RSA) = {
    ASN1_SIMPLE(LC_PEEK_RSA, version, ASN1_INTEGER),
    ASN1_SIMPLE(LC_PEEK_RSA, n, ASN1_INTEGER),
    ASN1_SIMPLE(LC_PEEK_RSA, e, ASN1_INTEGER),
    ASN1_SIMPLE(LC_PEEK_RSA, d, ASN1_INTEGER),
    ASN1_SIMPLE(LC_PEEK_RSA, p, ASN1_INTEGER),
    ASN1_SIMPLE(LC_PEEK_RSA, q, ASN1_INTEGER),
    ASN1_SIMPLE(LC_PEEK_RSA, dp, ASN1_INTEGER),
    ASN1_SIMPLE(LC_PEEK_RSA, dq, ASN1_INTEGER),
    ASN1_SIMPLE(LC_PEEK_RSA, qinv, ASN1_INTEGER),
    ASN1_OPT(LC_PEEK_RSA, other, ASN1_ANY)
} static_ASN1_SEQUENCE_END(LC_PEEK_RSA)

typedef struct {
    ASN1_INTEGER  *n;
    ASN1_INTEGER  *e;
} LC_PEEK_RSA_PUB;

ASN1_SEQUENCE(LC_PEEK_RSA_PUB) = {
    ASN1_SIMPLE(LC_PEEK_RSA_PUB, n, ASN1_INTEGER),
    ASN1_SIMPLE(LC_PEEK_RSA_PUB, e, ASN1_INTEGER)
} static_ASN1_SEQUENCE_END(LC_PEEK_RSA_PUB)


/* the private key's DER: its PEM name says which structure it is */

typedef struct {
    unsigned char  *der;
    long            len;
    char           *name;
} lc_peek_key_t;


static LC_PEEK_CERT *lc_peek_chain(const char *pem, size_t len);
static void lc_peek_keep_tail(char *tail, size_t len);
static void lc_peek_keep_issuer(X509_NAME *name, char *der, size_t len);
static const X509_NAME *lc_peek_issuer(const ASN1_TYPE *issuer);
static int lc_peek_leaf_ok(LC_PEEK_CERT *c, const char *domain, time_t now,
    lc_cert_info_t *info);
static int lc_peek_key_read(const char *pem, size_t len, lc_peek_key_t *k);
static int lc_peek_key_matches(const LC_PEEK_SPKI *spki,
    const lc_peek_key_t *k);
static int lc_peek_ec_matches(const LC_PEEK_SPKI *spki,
    const unsigned char *der, long len, const ASN1_OBJECT *curve);
static int lc_peek_rsa_matches(const LC_PEEK_SPKI *spki,
    const unsigned char *der, long len);
static const ASN1_OBJECT *lc_peek_param_oid(const X509_ALGOR *alg);


int
lc_cert_peek(const char *chain_pem, size_t chain_len, const char *key_pem,
    size_t key_len, const char *domain, time_t now, lc_cert_info_t *info)
{
    int             ok;
    LC_PEEK_CERT   *c;
    lc_peek_key_t   k;

    memset(info, 0, sizeof(lc_cert_info_t));
    memset(&k, 0, sizeof(lc_peek_key_t));

    ok = 0;
    c = lc_peek_chain(chain_pem, chain_len);

    if (c != NULL
        && lc_peek_key_read(key_pem, key_len, &k) == 0
        && lc_peek_key_matches(c->tbs->spki, &k)
        && lc_peek_leaf_ok(c, domain, now, info))
    {
        ok = 1;
    }

    ASN1_item_free((ASN1_VALUE *) c, ASN1_ITEM_rptr(LC_PEEK_CERT));

    if (k.der) {
        OPENSSL_secure_clear_free(k.der, (size_t) k.len);
    }

    OPENSSL_free(k.name);
    ERR_clear_error();

    if (!ok) {
        memset(info, 0, sizeof(lc_cert_info_t));
    }

    return ok;
}


/*
 * The leaf, read with the template; the intermediates as the full parse
 * reads them (they are kept parsed, the same few for every domain), so
 * that a damaged chain is not taken for a good one.  The chains of a CA
 * end with the same bytes: the text after the leaf that was last found
 * good is kept, and the same text is not read again.
 */

static char       *lc_peek_tail;
static size_t      lc_peek_tail_len;

/* the issuer's name last decoded, and its DER */
static X509_NAME  *lc_peek_issuer_name;
static char       *lc_peek_issuer_der;
static size_t      lc_peek_issuer_len;


static LC_PEEK_CERT *
lc_peek_chain(const char *pem, size_t len)
{
    BIO                  *bio;
    X509                 *x;
    char                 *copy;
    long                  n;
    size_t                tail_len;
    const char           *tail;
    LC_PEEK_CERT         *c;
    unsigned char        *der;
    const unsigned char  *p;

    ERR_clear_error();

    tail = NULL;
    tail_len = 0;

    if (pem == NULL || len == 0 || len > INT_MAX) {
        return NULL;
    }

    bio = BIO_new_mem_buf(pem, (int) len);
    if (bio == NULL) {
        return NULL;
    }

    c = NULL;

    for ( ;; ) {
        der = NULL;

        if (PEM_bytes_read_bio(&der, &n, NULL, PEM_STRING_X509, bio,
                               lc_cert_no_password, NULL)
            != 1)
        {
            break;
        }

        if (c == NULL) {
            p = der;
            c = (LC_PEEK_CERT *) ASN1_item_d2i(NULL, &p, n,
                                               ASN1_ITEM_rptr(LC_PEEK_CERT));
            OPENSSL_free(der);

            if (c == NULL) {
                goto failed;
            }

            tail = pem + len - BIO_pending(bio);
            tail_len = (size_t) BIO_pending(bio);

            if (lc_peek_tail != NULL && tail_len == lc_peek_tail_len
                && memcmp(tail, lc_peek_tail, tail_len) == 0)
            {
                BIO_free(bio);
                return c;
            }

            continue;
        }

        /* an intermediate: parsed, or found among those kept */

        x = lc_cert_intermediate(der, n);
        OPENSSL_free(der);

        if (x == NULL) {
            goto failed;
        }

        X509_free(x);
    }

    if (c == NULL || !lc_cert_no_start_line()) {
        goto failed;
    }

    BIO_free(bio);

    /* out of memory, it is not kept: read again next time */

    copy = malloc(tail_len + 1);

    if (copy != NULL) {
        memcpy(copy, tail, tail_len);
        lc_peek_keep_tail(copy, tail_len);
    }

    return c;

failed:

    BIO_free(bio);
    ASN1_item_free((ASN1_VALUE *) c, ASN1_ITEM_rptr(LC_PEEK_CERT));

    return NULL;
}


void
lc_cert_peek_cleanup(void)
{
    lc_peek_keep_tail(NULL, 0);
    lc_peek_keep_issuer(NULL, NULL, 0);
}


static void
lc_peek_keep_tail(char *tail, size_t len)
{
    free(lc_peek_tail);
    lc_peek_tail = tail;
    lc_peek_tail_len = len;
}


static void
lc_peek_keep_issuer(X509_NAME *name, char *der, size_t len)
{
    X509_NAME_free(lc_peek_issuer_name);
    free(lc_peek_issuer_der);
    lc_peek_issuer_name = name;
    lc_peek_issuer_der = der;
    lc_peek_issuer_len = len;
}


/*
 * The issuer's name is decoded once for the leaves of a CA: the same DER,
 * the same name.  NULL if it does not decode.
 */

static const X509_NAME *
lc_peek_issuer(const ASN1_TYPE *issuer)
{
    int                   len;
    char                 *copy;
    X509_NAME            *name;
    const unsigned char  *der, *p;

    if (issuer->type != V_ASN1_SEQUENCE) {
        return NULL;
    }

    der = ASN1_STRING_get0_data(issuer->value.sequence);
    len = ASN1_STRING_length(issuer->value.sequence);

    if (lc_peek_issuer_name != NULL && (size_t) len == lc_peek_issuer_len
        && memcmp(der, lc_peek_issuer_der, (size_t) len) == 0)
    {
        return lc_peek_issuer_name;
    }

    p = der;
    name = d2i_X509_NAME(NULL, &p, len);
    if (name == NULL) {
        return NULL;
    }

    /* out of memory, it is not kept: decoded again next time */

    copy = malloc((size_t) len + 1);
    if (copy == NULL) {
        X509_NAME_free(name);
        return NULL;
    }

    memcpy(copy, der, (size_t) len);
    lc_peek_keep_issuer(name, copy, (size_t) len);

    return name;
}


/* the checks and the fields of lc_cert_check() and lc_cert_info() */

static int
lc_peek_leaf_ok(LC_PEEK_CERT *c, const char *domain, time_t now,
    lc_cert_info_t *info)
{
    int               i, ok;
    X509             *names;
    unsigned int      len;
    lc_error_t        err;
    LC_PEEK_TBS      *tbs;
    X509_EXTENSION   *san;
    const X509_NAME  *issuer;

    tbs = c->tbs;

    issuer = lc_peek_issuer(tbs->issuer);
    if (issuer == NULL) {
        return 0;
    }

    if (lc_cert_check_times(tbs->validity->notBefore,
                            tbs->validity->notAfter, now, &err)
        != 0)
    {
        return 0;
    }

    /* a certificate of its SAN alone, for X509_check_host() */

    names = X509_new();
    if (names == NULL) {
        return 0;
    }

    ok = 0;
    i = X509v3_get_ext_by_NID(tbs->extensions, NID_subject_alt_name, -1);
    san = (i >= 0) ? X509v3_get_ext(tbs->extensions, i) : NULL;

    if (san != NULL
        && X509_add_ext(names, san, -1) == 1
        && lc_cert_check_names(names, domain, &err) == 0
        && lc_cert_fields(tbs->validity->notBefore, tbs->validity->notAfter,
                          tbs->serial, issuer, info)
           == 0
        && ASN1_item_digest(ASN1_ITEM_rptr(LC_PEEK_CERT), EVP_sha256(), c,
                            info->sha256, &len)
           == 1
        && len == sizeof(info->sha256))
    {
        ok = 1;
    }

    X509_free(names);

    return ok;
}


static int
lc_peek_key_read(const char *pem, size_t len, lc_peek_key_t *k)
{
    int   rc;
    BIO  *bio;

    if (pem == NULL || len == 0 || len > INT_MAX) {
        return -1;
    }

    bio = BIO_new_mem_buf(pem, (int) len);
    if (bio == NULL) {
        return -1;
    }

    rc = PEM_bytes_read_bio_secmem(&k->der, &k->len, &k->name,
                                   PEM_STRING_EVP_PKEY, bio,
                                   lc_cert_no_password, NULL);
    BIO_free(bio);

    return (rc == 1) ? 0 : -1;
}


static int
lc_peek_key_matches(const LC_PEEK_SPKI *spki, const lc_peek_key_t *k)
{
    int                        nid, rc, pklen;
    const X509_ALGOR          *alg;
    const ASN1_OBJECT         *oid;
    PKCS8_PRIV_KEY_INFO       *p8;
    const unsigned char       *p, *pk;

    nid = OBJ_obj2nid(spki->alg->algorithm);

    if (strcmp(k->name, PEM_STRING_ECPRIVATEKEY) == 0) {
        return nid == NID_X9_62_id_ecPublicKey
               && lc_peek_ec_matches(spki, k->der, k->len, NULL);
    }

    if (strcmp(k->name, PEM_STRING_RSA) == 0) {
        return nid == NID_rsaEncryption
               && lc_peek_rsa_matches(spki, k->der, k->len);
    }

    if (strcmp(k->name, PEM_STRING_PKCS8INF) != 0) {
        return 0;
    }

    p = k->der;
    p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, k->len);
    if (p8 == NULL) {
        return 0;
    }

    rc = 0;

    if (PKCS8_pkey_get0(&oid, &pk, &pklen, &alg, p8) == 1
        && OBJ_obj2nid(oid) == nid)
    {
        if (nid == NID_X9_62_id_ecPublicKey) {
            rc = lc_peek_ec_matches(spki, pk, pklen,
                                    lc_peek_param_oid(alg));

        } else if (nid == NID_rsaEncryption) {
            rc = lc_peek_rsa_matches(spki, pk, pklen);
        }
    }

    PKCS8_PRIV_KEY_INFO_free(p8);

    return rc;
}


/* the same curve, the same point in the same form */

static int
lc_peek_ec_matches(const LC_PEEK_SPKI *spki, const unsigned char *der,
    long len, const ASN1_OBJECT *curve)
{
    int                   rc;
    LC_PEEK_EC           *ec;
    const ASN1_OBJECT    *leaf_curve;
    const unsigned char  *p;

    p = der;
    ec = (LC_PEEK_EC *) ASN1_item_d2i(NULL, &p, len,
                                      ASN1_ITEM_rptr(LC_PEEK_EC));
    if (ec == NULL) {
        return 0;
    }

    if (ec->curve != NULL) {
        curve = ec->curve;
    }

    leaf_curve = lc_peek_param_oid(spki->alg);

    rc = curve != NULL && leaf_curve != NULL
         && OBJ_cmp(curve, leaf_curve) == 0
         && ec->pub != NULL
         && ASN1_STRING_cmp(ec->pub, spki->key) == 0;

    ASN1_item_free((ASN1_VALUE *) ec, ASN1_ITEM_rptr(LC_PEEK_EC));

    return rc;
}


static int
lc_peek_rsa_matches(const LC_PEEK_SPKI *spki, const unsigned char *der,
    long len)
{
    int                   rc;
    LC_PEEK_RSA          *rsa;
    LC_PEEK_RSA_PUB      *pub;
    const unsigned char  *p;

    p = der;
    rsa = (LC_PEEK_RSA *) ASN1_item_d2i(NULL, &p, len,
                                        ASN1_ITEM_rptr(LC_PEEK_RSA));

    p = ASN1_STRING_get0_data(spki->key);
    pub = (LC_PEEK_RSA_PUB *) ASN1_item_d2i(NULL, &p,
                                            ASN1_STRING_length(spki->key),
                                            ASN1_ITEM_rptr(LC_PEEK_RSA_PUB));

    rc = rsa != NULL && pub != NULL
         && ASN1_INTEGER_cmp(rsa->n, pub->n) == 0
         && ASN1_INTEGER_cmp(rsa->e, pub->e) == 0;

    ASN1_item_free((ASN1_VALUE *) rsa, ASN1_ITEM_rptr(LC_PEEK_RSA));
    ASN1_item_free((ASN1_VALUE *) pub, ASN1_ITEM_rptr(LC_PEEK_RSA_PUB));

    return rc;
}


/* a named curve: the parameter of the algorithm is its OID */

static const ASN1_OBJECT *
lc_peek_param_oid(const X509_ALGOR *alg)
{
    int          type;
    const void  *param;

    X509_ALGOR_get0(NULL, &type, &param, alg);

    return (type == V_ASN1_OBJECT) ? param : NULL;
}
