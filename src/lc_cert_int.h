/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: what the full parser (lc_cert.c) and the start's cheap
 * reader (lc_cert_peek.c) share.
 */

#ifndef LC_CERT_INT_H
#define LC_CERT_INT_H

#include <time.h>
#include <openssl/x509.h>

#include "lc_cert.h"


/* the leaf's SAN covers domain; -1 with err set (store_name_mismatch) */
int lc_cert_check_names(X509 *leaf, const char *domain, lc_error_t *err);

/* now is inside the validity; -1 with err set */
int lc_cert_check_times(const ASN1_TIME *not_before,
    const ASN1_TIME *not_after, time_t now, lc_error_t *err);

/* info but its sha256 from the leaf's fields; -1 if one is malformed */
int lc_cert_fields(const ASN1_TIME *not_before, const ASN1_TIME *not_after,
    const ASN1_INTEGER *serial, const X509_NAME *issuer,
    lc_cert_info_t *info);

/* an intermediate, parsed or found among those kept; NULL if damaged */
X509 *lc_cert_intermediate(const unsigned char *der, long len);

/* frees the chain's end lc_cert_peek() keeps */
void lc_cert_peek_cleanup(void);

int lc_cert_no_password(char *buf, int size, int rwflag, void *u);

/* whether the last failed PEM read only ran out of PEM blocks */
int lc_cert_no_start_line(void);

#endif /* LC_CERT_INT_H */
