/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: certificates of the store, parsed and checked in memory.
 *
 * The caller reads the files; this code never touches the disk.
 */

#ifndef LC_CERT_H
#define LC_CERT_H

#include <stddef.h>
#include <time.h>
#include <openssl/x509.h>
#include <openssl/evp.h>

#include "lc_error.h"


#define LC_SERIAL_MAX  20               /* RFC 5280: at most 20 octets */
#define LC_ISSUER_LEN  64               /* incl. NUL */
#define LC_CERT_SHARED 16               /* intermediates kept parsed */


typedef struct {
    time_t         not_before;
    time_t         not_after;
    unsigned char  sha256[32];          /* of the leaf's DER */
    unsigned char  serial[LC_SERIAL_MAX];  /* big-endian, no sign byte */
    size_t         serial_len;
    char           issuer[LC_ISSUER_LEN];  /* issuer CN, else one-line DN,
                                              truncated */
} lc_cert_info_t;


/* A parsed certificate: leaf, intermediates (may be empty) and key. */
typedef struct {
    X509            *leaf;
    STACK_OF(X509)  *chain;
    EVP_PKEY        *key;
} lc_cert_t;


/*
 * Parses a PEM chain (leaf first, then intermediates) and a PEM private
 * key.  Returns NULL with err set on failure.  Error types:
 *   "store_corrupt"   no certificate, bad PEM, bad key PEM
 */
lc_cert_t *lc_cert_parse(const char *chain_pem, size_t chain_len,
    const char *key_pem, size_t key_len, lc_error_t *err);

/*
 * Checks that the key matches the leaf, that the leaf's SAN covers
 * domain (wildcards as RFC 6125, subject CN never used) and that "now" is
 * inside its validity.  Returns 0, or -1 with err set.  Error types:
 *   "store_key_mismatch", "store_name_mismatch", "store_expired",
 *   "store_not_yet_valid"
 */
int lc_cert_check(const lc_cert_t *cert, const char *domain, time_t now,
    lc_error_t *err);

/* Fills info from the leaf.  Returns 0, or -1 on a malformed leaf. */
int lc_cert_info(const lc_cert_t *cert, lc_cert_info_t *info);

/*
 * The start's cheap reading of a pair, without building its keys: 1 with
 * info filled when the pair is certainly one that lc_cert_parse(),
 * lc_cert_check() (for domain at now) and lc_cert_info() accept, with
 * the same info; 0 when it cannot tell (a broken pair, or a form it does
 * not read): then the full parse decides and says what is wrong.
 */
int lc_cert_peek(const char *chain_pem, size_t chain_len,
    const char *key_pem, size_t key_len, const char *domain, time_t now,
    lc_cert_info_t *info);

void lc_cert_free(lc_cert_t *cert);

/*
 * Frees what the parser keeps between calls in this process (the
 * intermediates it shares between chains, its key decoder); the
 * certificates parsed before stay valid.
 */
void lc_cert_cleanup(void);

#endif /* LC_CERT_H */
