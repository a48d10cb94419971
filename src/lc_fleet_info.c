/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: a certificate's info, carried in the fleet's record (see
 * lc_fleet_info.h).
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "lc_fleet_info.h"
#include "lc_domain.h"


#define LC_FLEET_INFO_LABEL  "info:"


static size_t lc_fleet_info_label(char *label, const char *domain,
    size_t domain_len);
static char *lc_fleet_info_hex(char *p, const unsigned char *in, size_t len);
static int lc_fleet_info_unhex(const char *hex, size_t len,
    unsigned char *out);
static const char *lc_fleet_info_word(const char **p, const char *end,
    size_t *len);
static int lc_fleet_info_time(const char *s, size_t len, time_t *t);
static int lc_fleet_info_parse(const char *text, size_t len,
    lc_cert_info_t *info, unsigned char chain[32], unsigned char key[32]);


int
lc_fleet_info_seal(const unsigned char fleet[LC_SEAL_KEY_LEN],
    const char *domain, size_t domain_len, const lc_cert_info_t *info,
    const char *chain, size_t chain_len, const char *key, size_t key_len,
    unsigned char *out, size_t *out_len)
{
    int            n;
    char           text[LC_FLEET_INFO_MAX], *p,
                   label[sizeof(LC_FLEET_INFO_LABEL) + LC_DOMAIN_MAX];
    size_t         len, label_len;
    unsigned char  hash[32];

    if (domain_len > LC_DOMAIN_MAX
        || strnlen(info->issuer, LC_ISSUER_LEN) >= LC_ISSUER_LEN)
    {
        return -1;
    }

    n = snprintf(text, sizeof(text), "1 %lld %lld ",
                 (long long) info->not_before, (long long) info->not_after);
    p = lc_fleet_info_hex(text + n, info->sha256, 32);
    *p++ = ' ';

    if (info->serial_len == 0) {
        *p++ = '-';

    } else {
        p = lc_fleet_info_hex(p, info->serial, info->serial_len);
    }

    *p++ = ' ';
    SHA256((const unsigned char *) chain, chain_len, hash);
    p = lc_fleet_info_hex(p, hash, 32);
    *p++ = ' ';
    SHA256((const unsigned char *) key, key_len, hash);
    p = lc_fleet_info_hex(p, hash, 32);
    *p++ = ' ';

    len = strlen(info->issuer);
    memcpy(p, info->issuer, len);
    len += p - text;

    label_len = lc_fleet_info_label(label, domain, domain_len);

    if (lc_seal(fleet, label, label_len, (unsigned char *) text, len, out)
        != 0)
    {
        return -1;
    }

    *out_len = len + LC_SEAL_OVERHEAD;

    return 0;
}


int
lc_fleet_info_open(const unsigned char fleet[LC_SEAL_KEY_LEN],
    const char *domain, size_t domain_len, const unsigned char *sealed,
    size_t sealed_len, const char *chain, size_t chain_len, const char *key,
    size_t key_len, lc_cert_info_t *info, const char **reason)
{
    char           text[LC_FLEET_INFO_MAX],
                   label[sizeof(LC_FLEET_INFO_LABEL) + LC_DOMAIN_MAX];
    size_t         len, label_len;
    unsigned char  chain_hash[32], key_hash[32], hash[32];

    memset(info, 0, sizeof(lc_cert_info_t));

    if (domain_len > LC_DOMAIN_MAX || sealed_len <= LC_SEAL_OVERHEAD
        || sealed_len > LC_FLEET_INFO_SEALED)
    {
        *reason = "not a sealed info";
        return -1;
    }

    label_len = lc_fleet_info_label(label, domain, domain_len);

    if (lc_unseal(fleet, label, label_len, sealed, sealed_len,
                  (unsigned char *) text, &len)
        != 0)
    {
        *reason = "does not open with linkcert_redis_key for this domain";
        return -1;
    }

    if (lc_fleet_info_parse(text, len, info, chain_hash, key_hash) != 0) {
        *reason = "not of a known version, or malformed";
        return -1;
    }

    SHA256((const unsigned char *) chain, chain_len, hash);

    if (CRYPTO_memcmp(hash, chain_hash, 32) != 0) {
        *reason = "written for another chain";
        return -1;
    }

    SHA256((const unsigned char *) key, key_len, hash);

    if (CRYPTO_memcmp(hash, key_hash, 32) != 0) {
        *reason = "written for another key";
        return -1;
    }

    return 0;
}


static size_t
lc_fleet_info_label(char *label, const char *domain, size_t domain_len)
{
    memcpy(label, LC_FLEET_INFO_LABEL, sizeof(LC_FLEET_INFO_LABEL) - 1);
    memcpy(label + sizeof(LC_FLEET_INFO_LABEL) - 1, domain, domain_len);

    return sizeof(LC_FLEET_INFO_LABEL) - 1 + domain_len;
}


/* version 1, every word as lc_fleet_info_seal() writes it */

static int
lc_fleet_info_parse(const char *text, size_t len, lc_cert_info_t *info,
    unsigned char chain[32], unsigned char key[32])
{
    size_t       n;
    const char  *p, *end, *w;

    p = text;
    end = text + len;

    w = lc_fleet_info_word(&p, end, &n);
    if (w == NULL || n != 1 || w[0] != '1') {
        return -1;
    }

    w = lc_fleet_info_word(&p, end, &n);
    if (w == NULL || lc_fleet_info_time(w, n, &info->not_before) != 0) {
        return -1;
    }

    w = lc_fleet_info_word(&p, end, &n);
    if (w == NULL || lc_fleet_info_time(w, n, &info->not_after) != 0) {
        return -1;
    }

    w = lc_fleet_info_word(&p, end, &n);
    if (w == NULL || n != 64 || lc_fleet_info_unhex(w, n, info->sha256) != 0)
    {
        return -1;
    }

    w = lc_fleet_info_word(&p, end, &n);
    if (w == NULL || n == 0) {
        return -1;
    }

    if (n == 1 && w[0] == '-') {
        info->serial_len = 0;

    } else if (n % 2 != 0 || n / 2 > LC_SERIAL_MAX
               || lc_fleet_info_unhex(w, n, info->serial) != 0)
    {
        return -1;

    } else {
        info->serial_len = n / 2;
    }

    w = lc_fleet_info_word(&p, end, &n);
    if (w == NULL || n != 64 || lc_fleet_info_unhex(w, n, chain) != 0) {
        return -1;
    }

    w = lc_fleet_info_word(&p, end, &n);
    if (w == NULL || n != 64 || lc_fleet_info_unhex(w, n, key) != 0) {
        return -1;
    }

    /* the issuer: the rest, after one space */

    if (p > end || (size_t) (end - p) >= LC_ISSUER_LEN
        || memchr(p, '\0', end - p) != NULL
        || info->not_after < info->not_before)
    {
        return -1;
    }

    memcpy(info->issuer, p, end - p);
    info->issuer[end - p] = '\0';

    return 0;
}


/* the next word, up to a space (consumed) or the end: NULL past the end */

static const char *
lc_fleet_info_word(const char **p, const char *end, size_t *len)
{
    const char  *w, *sp;

    w = *p;

    if (w >= end) {
        return NULL;
    }

    sp = memchr(w, ' ', end - w);

    if (sp == NULL) {
        return NULL;                /* the issuer follows every word */
    }

    *len = sp - w;
    *p = sp + 1;

    return w;
}


static int
lc_fleet_info_time(const char *s, size_t len, time_t *t)
{
    char       buf[24], *e;
    long long  v;

    if (len == 0 || len >= sizeof(buf) || s[0] == '-' || s[0] == '+') {
        return -1;
    }

    memcpy(buf, s, len);
    buf[len] = '\0';

    errno = 0;
    v = strtoll(buf, &e, 10);

    if (errno != 0 || *e != '\0') {
        return -1;
    }

    *t = (time_t) v;

    return 0;
}


static char *
lc_fleet_info_hex(char *p, const unsigned char *in, size_t len)
{
    size_t             i;
    static const char  digits[] = "0123456789abcdef";

    for (i = 0; i < len; i++) {
        *p++ = digits[in[i] >> 4];
        *p++ = digits[in[i] & 0xf];
    }

    return p;
}


static int
lc_fleet_info_unhex(const char *hex, size_t len, unsigned char *out)
{
    int     hi, lo;
    size_t  i;

    for (i = 0; i + 1 < len; i += 2) {
        hi = OPENSSL_hexchar2int((unsigned char) hex[i]);
        lo = OPENSSL_hexchar2int((unsigned char) hex[i + 1]);

        if (hi < 0 || lo < 0) {
            return -1;
        }

        out[i / 2] = (unsigned char) (hi << 4 | lo);
    }

    return 0;
}
