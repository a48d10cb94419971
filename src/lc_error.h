/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: a short, bounded error: a machine-readable type and a
 * sentence for a support agent.
 */

#ifndef LC_ERROR_H
#define LC_ERROR_H

#include <stdarg.h>


#define LC_ERROR_TYPE_LEN    56         /* incl. NUL; fits ACME URNs */
#define LC_ERROR_DETAIL_LEN  120        /* incl. NUL */


typedef struct {
    char  type[LC_ERROR_TYPE_LEN];
    char  detail[LC_ERROR_DETAIL_LEN];
} lc_error_t;


/* Sets type and a printf-style detail, both truncated to fit. */
void lc_error_set(lc_error_t *err, const char *type, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

void lc_error_clear(lc_error_t *err);

/*
 * Where an error type comes from, one word of the status API's
 * last_error.source:
 *   "dns"          the customer's DNS: dns_*, caa_forbids, invalid_domain
 *   "acme"         the CA: acme_*, and its problem types (urn:...) as is
 *   "store"        the certificate files: store_*, removed
 *   "limit"        a budget of the edge: order_budget,
 *                  registered_domain_limit, validation_limit,
 *                  duplicate_limit
 *   "ask"          linkcert_ask refused the name: ask_*
 *   "config"       the edge's configuration: no_acme_directory
 *   "certificate"  the certificate itself: expired
 *   "linkcert"     anything else
 * type need not be NUL-terminated within LC_ERROR_TYPE_LEN bytes.
 */
const char *lc_error_source(const char *type);

#endif /* LC_ERROR_H */
