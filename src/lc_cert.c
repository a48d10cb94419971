
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: certificates of the store, parsed and checked in memory.
 */


#ifndef _GNU_SOURCE
#define _GNU_SOURCE                     /* timegm() */
#endif

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "lc_cert.h"
#include "lc_cert_int.h"


#define LC_SAN_SHOWN  3                 /* names quoted in a mismatch */
#define LC_SAN_TEXT   64                /* bytes of names quoted */
#define LC_KEY_TYPES  5                 /* decoder contexts: 4 types, any */
#define LC_KEY_TYPE_LEN  32


/* a parsed intermediate, shared by the domains of its CA */

typedef struct {
    X509           *x509;
    unsigned char  *der;
    long            len;
    unsigned long   used;               /* lc_cert_clock at the last use */
} lc_cert_shared_t;


static X509 *lc_cert_d2i(const unsigned char *der, long len);
static void lc_cert_shared_drop(lc_cert_shared_t *s);
static EVP_PKEY *lc_cert_read_key(const char *pem, size_t len,
    const char *type);
static EVP_PKEY *lc_cert_decode_key(BIO *bio, const char *type);
static int lc_cert_encrypted(const char *pem, size_t len);
static int lc_cert_time(const ASN1_TIME *t, time_t *out);
static void lc_cert_time_text(const ASN1_TIME *t, char *buf, size_t size);
static void lc_cert_san_text(X509 *leaf, char *buf, size_t size);
static void lc_cert_issuer(const X509_NAME *name, char *buf,
    size_t size);
static void lc_cert_copy_text(char *dst, size_t size,
    const unsigned char *src, size_t len);


lc_cert_t *
lc_cert_parse(const char *chain_pem, size_t chain_len, const char *key_pem,
    size_t key_len, lc_error_t *err)
{
    int             damaged;
    BIO            *bio;
    X509           *x;
    long            len;
    EVP_PKEY       *pub;
    lc_cert_t      *cert;
    unsigned char  *der;

    /* a stale error would be taken for the end of the chain below */
    ERR_clear_error();

    if (chain_pem == NULL || chain_len == 0) {
        lc_error_set(err, LC_ERR_STORE_CORRUPT, "fullchain.pem is empty");
        return NULL;
    }

    if (key_pem == NULL || key_len == 0) {
        lc_error_set(err, LC_ERR_STORE_CORRUPT, "privkey.pem is empty");
        return NULL;
    }

    if (chain_len > INT_MAX || key_len > INT_MAX) {
        lc_error_set(err, LC_ERR_STORE_CORRUPT,
                     "certificate files are too large");
        return NULL;
    }

    cert = calloc(1, sizeof(lc_cert_t));
    if (cert == NULL) {
        goto nomem;
    }

    cert->chain = sk_X509_new_null();
    if (cert->chain == NULL) {
        goto nomem;
    }

    bio = BIO_new_mem_buf(chain_pem, (int) chain_len);
    if (bio == NULL) {
        goto nomem;
    }

    /*
     * Text around the PEM blocks (as "openssl x509 -text" adds) and blocks
     * of other kinds are skipped, as by PEM_read_bio_X509().
     */

    damaged = 0;

    for ( ;; ) {
        der = NULL;

        if (PEM_bytes_read_bio(&der, &len, NULL, PEM_STRING_X509, bio,
                               lc_cert_no_password, NULL)
            != 1)
        {
            break;
        }

        x = (cert->leaf == NULL) ? lc_cert_d2i(der, len)
                                 : lc_cert_intermediate(der, len);
        OPENSSL_free(der);

        if (x == NULL) {
            damaged = 1;
            break;
        }

        if (cert->leaf == NULL) {
            cert->leaf = x;
            continue;
        }

        if (sk_X509_push(cert->chain, x) == 0) {
            X509_free(x);
            BIO_free(bio);
            goto nomem;
        }
    }

    BIO_free(bio);

    if (damaged || !lc_cert_no_start_line()) {
        if (cert->leaf == NULL) {
            lc_error_set(err, LC_ERR_STORE_CORRUPT,
                         "fullchain.pem holds a damaged certificate");

        } else {
            lc_error_set(err, LC_ERR_STORE_CORRUPT,
                         "fullchain.pem: certificate %d is damaged",
                         sk_X509_num(cert->chain) + 2);
        }

        goto failed;
    }

    if (cert->leaf == NULL) {
        lc_error_set(err, LC_ERR_STORE_CORRUPT,
                     "fullchain.pem holds no certificate");
        goto failed;
    }

    /* an unknown type of public key leaves errors */

    pub = X509_get0_pubkey(cert->leaf);
    ERR_clear_error();

    cert->key = lc_cert_read_key(key_pem, key_len,
                                 pub ? EVP_PKEY_get0_type_name(pub) : NULL);

    if (cert->key == NULL) {
        if (lc_cert_encrypted(key_pem, key_len)) {
            lc_error_set(err, LC_ERR_STORE_CORRUPT,
                         "privkey.pem holds an encrypted private key; "
                         "it must be stored without a password");

        } else {
            lc_error_set(err, LC_ERR_STORE_CORRUPT,
                         "privkey.pem holds no private key");
        }

        goto failed;
    }

    ERR_clear_error();

    return cert;

nomem:

    lc_error_set(err, LC_ERR_STORE_UNREADABLE,
                 "out of memory while parsing the certificate");

failed:

    lc_cert_free(cert);
    ERR_clear_error();

    return NULL;
}


int
lc_cert_check(const lc_cert_t *cert, const char *domain, time_t now,
    lc_error_t *err)
{
    if (cert == NULL || cert->leaf == NULL || cert->key == NULL) {
        lc_error_set(err, LC_ERR_STORE_CORRUPT, "no certificate loaded");
        return -1;
    }

    if (X509_check_private_key(cert->leaf, cert->key) != 1) {
        ERR_clear_error();
        lc_error_set(err, LC_ERR_STORE_KEY_MISMATCH,
                     "privkey.pem does not match the certificate");
        return -1;
    }

    if (lc_cert_check_names(cert->leaf, domain, err) != 0) {
        return -1;
    }

    return lc_cert_check_times(X509_get0_notBefore(cert->leaf),
                               X509_get0_notAfter(cert->leaf), now, err);
}


/* the subject CN is obsolete for names (RFC 6125): the SAN only */

int
lc_cert_check_names(X509 *leaf, const char *domain, lc_error_t *err)
{
    int    rc;
    char   sans[LC_SAN_TEXT + 16];

    if (domain == NULL) {
        domain = "";
    }

    rc = X509_check_host(leaf, domain, strlen(domain),
                         X509_CHECK_FLAG_NEVER_CHECK_SUBJECT
                         | X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL);

    if (rc == 1) {
        return 0;
    }

    ERR_clear_error();
    lc_cert_san_text(leaf, sans, sizeof(sans));

    if (sans[0] == '\0') {
        lc_error_set(err, LC_ERR_STORE_NAME_MISMATCH,
                     "certificate has no DNS name, not %s", domain);

    } else {
        lc_error_set(err, LC_ERR_STORE_NAME_MISMATCH,
                     "certificate is for %s, not %s", sans, domain);
    }

    return -1;
}


int
lc_cert_check_times(const ASN1_TIME *not_before, const ASN1_TIME *not_after,
    time_t now, lc_error_t *err)
{
    int    rc;
    char   when[32];

    rc = X509_cmp_time(not_before, &now);

    if (rc == 1) {
        lc_cert_time_text(not_before, when, sizeof(when));
        lc_error_set(err, LC_ERR_STORE_NOT_YET_VALID,
                     "certificate is not valid before %s", when);
        return -1;
    }

    if (rc == 0) {
        ERR_clear_error();
        lc_error_set(err, LC_ERR_STORE_CORRUPT,
                     "certificate has an unreadable start of validity");
        return -1;
    }

    rc = X509_cmp_time(not_after, &now);

    if (rc == -1) {
        lc_cert_time_text(not_after, when, sizeof(when));
        lc_error_set(err, LC_ERR_STORE_EXPIRED, "certificate expired on %s",
                     when);
        return -1;
    }

    if (rc == 0) {
        ERR_clear_error();
        lc_error_set(err, LC_ERR_STORE_CORRUPT,
                     "certificate has an unreadable end of validity");
        return -1;
    }

    ERR_clear_error();

    return 0;
}


int
lc_cert_info(const lc_cert_t *cert, lc_cert_info_t *info)
{
    unsigned int  len;

    memset(info, 0, sizeof(lc_cert_info_t));

    if (cert == NULL || cert->leaf == NULL) {
        return -1;
    }

    len = 0;

    if (X509_digest(cert->leaf, EVP_sha256(), info->sha256, &len) != 1
        || len != sizeof(info->sha256))
    {
        ERR_clear_error();
        memset(info, 0, sizeof(lc_cert_info_t));
        return -1;
    }

    return lc_cert_fields(X509_get0_notBefore(cert->leaf),
                          X509_get0_notAfter(cert->leaf),
                          X509_get0_serialNumber(cert->leaf),
                          X509_get_issuer_name(cert->leaf), info);
}


/* the fields of info but its sha256; on a malformed one, all cleared */

int
lc_cert_fields(const ASN1_TIME *not_before, const ASN1_TIME *not_after,
    const ASN1_INTEGER *serial, const X509_NAME *issuer,
    lc_cert_info_t *info)
{
    int      n, rc;
    BIGNUM  *bn;

    rc = -1;
    bn = NULL;

    if (lc_cert_time(not_before, &info->not_before) != 0
        || lc_cert_time(not_after, &info->not_after) != 0)
    {
        goto done;
    }

    bn = ASN1_INTEGER_to_BN(serial, NULL);
    if (bn == NULL) {
        goto done;
    }

    n = BN_num_bytes(bn);

    if (n < 0 || n > LC_SERIAL_MAX) {
        goto done;
    }

    info->serial_len = (size_t) BN_bn2bin(bn, info->serial);

    lc_cert_issuer(issuer, info->issuer, sizeof(info->issuer));

    rc = 0;

done:

    BN_free(bn);
    ERR_clear_error();

    if (rc != 0) {
        memset(info, 0, sizeof(lc_cert_info_t));
    }

    return rc;
}


void
lc_cert_free(lc_cert_t *cert)
{
    if (cert == NULL) {
        return;
    }

    X509_free(cert->leaf);
    sk_X509_pop_free(cert->chain, X509_free);
    EVP_PKEY_free(cert->key);
    free(cert);
}


static X509 *
lc_cert_d2i(const unsigned char *der, long len)
{
    const unsigned char  *p;

    p = der;

    return d2i_X509(NULL, &p, len);
}


/*
 * In OpenSSL 3.0, d2i_X509() builds a chain of decoders for the public
 * key of each certificate it parses (most of a cache miss).  The
 * intermediates are the same for every domain of a CA, so the last few
 * are kept parsed, found again by their DER bytes (equal bytes, equal
 * certificate), and each chain gets one more reference to them.  The
 * least recently used one makes room for a new one; the domains that
 * hold it keep their references.  The cache is the process's own, like
 * the decoder context of the keys: the event loop is its only user.
 */

static lc_cert_shared_t  lc_cert_shared[LC_CERT_SHARED];
static unsigned long     lc_cert_clock;


X509 *
lc_cert_intermediate(const unsigned char *der, long len)
{
    X509              *x;
    unsigned char     *copy;
    lc_cert_shared_t  *s, *slot;

    slot = &lc_cert_shared[0];

    for (s = lc_cert_shared; s < lc_cert_shared + LC_CERT_SHARED; s++) {

        if (s->x509 != NULL && s->len == len
            && memcmp(s->der, der, (size_t) len) == 0)
        {
            if (X509_up_ref(s->x509) != 1) {
                return NULL;
            }

            s->used = ++lc_cert_clock;

            return s->x509;
        }

        if (s->used < slot->used) {
            slot = s;
        }
    }

    x = lc_cert_d2i(der, len);
    if (x == NULL) {
        return NULL;
    }

    /* out of memory, it is not kept: parsed at each use, as before */

    copy = malloc((size_t) len);
    if (copy == NULL || X509_up_ref(x) != 1) {
        free(copy);
        return x;
    }

    lc_cert_shared_drop(slot);

    memcpy(copy, der, (size_t) len);
    slot->x509 = x;
    slot->der = copy;
    slot->len = len;
    slot->used = ++lc_cert_clock;

    return x;
}


static void
lc_cert_shared_drop(lc_cert_shared_t *s)
{
    X509_free(s->x509);
    free(s->der);
    memset(s, 0, sizeof(lc_cert_shared_t));
}


/*
 * OpenSSL 3.0 builds a chain of decoders for each PEM_read_bio_PrivateKey()
 * (most of a cache miss: about six times the cost of the decoding
 * itself).  A decoder context made once and reused reads a file that
 * holds just a key, in any of its PEM forms; anything else (a key after
 * other blocks, text around it) goes the slow way, which accepts the
 * same files as before.  A context made for the type of the leaf's key
 * ("EC", "RSA") is tried first: it decodes in half the instructions of
 * one that tries every type.  A key of another type is read by the
 * context of any type, and then fails the check against the leaf.  The
 * contexts are the process's own: the event loop is their only user.
 */

typedef struct {
    char               type[LC_KEY_TYPE_LEN];  /* "": any type */
    OSSL_DECODER_CTX  *ctx;
} lc_cert_decoder_t;

static EVP_PKEY           *lc_cert_decoded;
static lc_cert_decoder_t   lc_cert_decoders[LC_KEY_TYPES];


static EVP_PKEY *
lc_cert_read_key(const char *pem, size_t len, const char *type)
{
    BIO       *bio;
    EVP_PKEY  *key;

    bio = BIO_new_mem_buf(pem, (int) len);
    if (bio == NULL) {
        return NULL;
    }

    key = NULL;

    if (type != NULL) {
        key = lc_cert_decode_key(bio, type);
    }

    if (key == NULL) {
        (void) BIO_reset(bio);
        key = lc_cert_decode_key(bio, "");
    }

    if (key == NULL) {
        ERR_clear_error();
        (void) BIO_reset(bio);
        key = PEM_read_bio_PrivateKey(bio, NULL, lc_cert_no_password, NULL);
    }

    BIO_free(bio);

    return key;
}


/* with the reused context for this type of key; NULL if none */

static EVP_PKEY *
lc_cert_decode_key(BIO *bio, const char *type)
{
    EVP_PKEY           *key;
    OSSL_DECODER_CTX   *ctx;
    lc_cert_decoder_t  *d;

    if (strlen(type) >= LC_KEY_TYPE_LEN) {
        return NULL;
    }

    for (d = lc_cert_decoders; d < lc_cert_decoders + LC_KEY_TYPES; d++) {
        if (d->ctx == NULL || strcmp(d->type, type) == 0) {
            break;
        }
    }

    if (d == lc_cert_decoders + LC_KEY_TYPES) {
        return NULL;
    }

    if (d->ctx == NULL) {
        ctx = OSSL_DECODER_CTX_new_for_pkey(&lc_cert_decoded, "PEM", NULL,
                                            type[0] ? type : NULL,
                                            EVP_PKEY_KEYPAIR, NULL, NULL);
        if (ctx == NULL) {
            return NULL;
        }

        if (OSSL_DECODER_CTX_set_pem_password_cb(ctx, lc_cert_no_password,
                                                 NULL)
            != 1)
        {
            OSSL_DECODER_CTX_free(ctx);
            return NULL;
        }

        d->ctx = ctx;
        (void) strcpy(d->type, type);
    }

    key = NULL;
    lc_cert_decoded = NULL;

    if (OSSL_DECODER_from_bio(d->ctx, bio) == 1) {
        key = lc_cert_decoded;
    }

    lc_cert_decoded = NULL;

    return key;
}


void
lc_cert_cleanup(void)
{
    lc_cert_shared_t   *s;
    lc_cert_decoder_t  *d;

    for (s = lc_cert_shared; s < lc_cert_shared + LC_CERT_SHARED; s++) {
        lc_cert_shared_drop(s);
    }

    lc_cert_peek_cleanup();

    for (d = lc_cert_decoders; d < lc_cert_decoders + LC_KEY_TYPES; d++) {
        OSSL_DECODER_CTX_free(d->ctx);
        d->ctx = NULL;
        d->type[0] = '\0';
    }
}


int
lc_cert_no_password(char *buf, int size, int rwflag, void *u)
{
    (void) buf;
    (void) size;
    (void) rwflag;
    (void) u;

    return 0;
}


/* whether the last failed PEM read only ran out of PEM blocks */

int
lc_cert_no_start_line(void)
{
    unsigned long  e;

    e = ERR_peek_last_error();

    return ERR_GET_LIB(e) == ERR_LIB_PEM
           && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
}


/*
 * OpenSSL 3 reports an encrypted key as a decoder failure like any other:
 * look at the PEM markers to tell the operator what is wrong.
 */

static int
lc_cert_encrypted(const char *pem, size_t len)
{
    size_t       i, n;
    const char  *marker;

    marker = "ENCRYPTED";
    n = strlen(marker);

    for (i = 0; i + n <= len; i++) {
        if (pem[i] == 'E' && memcmp(pem + i, marker, n) == 0) {
            return 1;
        }
    }

    return 0;
}


static int
lc_cert_time(const ASN1_TIME *t, time_t *out)
{
    struct tm  tm;

    memset(&tm, 0, sizeof(struct tm));

    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
        return -1;
    }

    *out = timegm(&tm);

    return 0;
}


static void
lc_cert_time_text(const ASN1_TIME *t, char *buf, size_t size)
{
    struct tm  tm;

    memset(&tm, 0, sizeof(struct tm));

    if (t == NULL
        || ASN1_TIME_to_tm(t, &tm) != 1
        || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    {
        ERR_clear_error();
        (void) snprintf(buf, size, "an unreadable date");
    }
}


/*
 * "a.example, www.a.example (+2 more)": the first few DNS names of the
 * SAN, so that a mismatch says which certificate was installed.
 */

static void
lc_cert_san_text(X509 *leaf, char *buf, size_t size)
{
    int                    i, num, shown, more;
    size_t                 used, len, sep;
    GENERAL_NAME          *gn;
    GENERAL_NAMES         *names;
    const unsigned char   *data;

    buf[0] = '\0';

    names = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
    if (names == NULL) {
        ERR_clear_error();
        return;
    }

    num = sk_GENERAL_NAME_num(names);
    used = 0;
    shown = 0;
    more = 0;

    for (i = 0; i < num; i++) {
        gn = sk_GENERAL_NAME_value(names, i);

        if (gn->type != GEN_DNS) {
            continue;
        }

        data = ASN1_STRING_get0_data(gn->d.dNSName);
        len = (size_t) ASN1_STRING_length(gn->d.dNSName);
        sep = shown ? 2 : 0;

        if (shown == LC_SAN_SHOWN
            || (shown > 0 && used + sep + len > LC_SAN_TEXT))
        {
            more++;
            continue;
        }

        if (len > LC_SAN_TEXT) {
            len = LC_SAN_TEXT;
        }

        if (sep) {
            memcpy(buf + used, ", ", 2);
            used += 2;
        }

        lc_cert_copy_text(buf + used, size - used, data, len);
        used += strlen(buf + used);
        shown++;
    }

    if (more) {
        (void) snprintf(buf + used, size - used, " (+%d more)", more);
    }

    GENERAL_NAMES_free(names);
}


/* the issuer's common name, else its whole name in RFC 2253 form */

static void
lc_cert_issuer(const X509_NAME *name, char *buf, size_t size)
{
    int                     i, last, n;
    BIO                    *bio;
    char                   *p;
    long                    len;
    unsigned char          *utf8;
    const X509_NAME_ENTRY  *entry;

    buf[0] = '\0';

    if (name == NULL) {
        return;
    }

    /* with several CNs, the last one is the most specific */

    last = -1;

    for ( ;; ) {
        i = X509_NAME_get_index_by_NID(name, NID_commonName, last);
        if (i < 0) {
            break;
        }

        last = i;
    }

    if (last >= 0) {
        entry = X509_NAME_get_entry(name, last);
        utf8 = NULL;
        n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(entry));

        if (n > 0) {
            lc_cert_copy_text(buf, size, utf8, (size_t) n);
            OPENSSL_free(utf8);
            return;
        }

        OPENSSL_free(utf8);
        ERR_clear_error();
    }

    bio = BIO_new(BIO_s_mem());
    if (bio == NULL) {
        return;
    }

    if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0) {
        len = BIO_get_mem_data(bio, &p);

        if (len > 0) {
            lc_cert_copy_text(buf, size, (unsigned char *) p, (size_t) len);
        }
    }

    BIO_free(bio);
}


/*
 * Copies text from a certificate for display: control bytes become '?'
 * and a UTF-8 sequence cut by the truncation is dropped.
 */

static void
lc_cert_copy_text(char *dst, size_t size, const unsigned char *src,
    size_t len)
{
    size_t         i, start, need;
    unsigned char  c;

    if (size == 0) {
        return;
    }

    if (len > size - 1) {
        len = size - 1;

        start = len;

        while (start > 0 && len - start < 3 && (src[start - 1] & 0xc0) == 0x80)
        {
            start--;
        }

        if (start > 0 && src[start - 1] >= 0xc0) {
            c = src[start - 1];
            need = (c >= 0xf0) ? 4 : (c >= 0xe0) ? 3 : 2;

            if (len - (start - 1) < need) {
                len = start - 1;
            }
        }
    }

    for (i = 0; i < len; i++) {
        c = src[i];
        dst[i] = (c < 0x20 || c == 0x7f) ? '?' : (char) c;
    }

    dst[len] = '\0';
}
