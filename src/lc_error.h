/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: a short, bounded error: a machine-readable type and a
 * sentence for a support agent.
 */

#ifndef LC_ERROR_H
#define LC_ERROR_H

#include <stdarg.h>
#include <stddef.h>


#define LC_ERROR_TYPE_LEN    56         /* incl. NUL; fits ACME URNs */
#define LC_ERROR_DETAIL_LEN  120        /* incl. NUL */


typedef struct {
    char  type[LC_ERROR_TYPE_LEN];
    char  detail[LC_ERROR_DETAIL_LEN];
} lc_error_t;


/*
 * linkcert's own error types, one table (lc_error_types[]) of the names
 * that last_error.type shows in the status API, the webhooks and the
 * logs, and of their last_error.source.  A CA's problem types
 * (urn:ietf:params:acme:error:...) are the CA's words: they are kept as
 * the CA names them (lc_error_set_name()).
 */
typedef enum {
    /* the customer's DNS: "dns" */
    LC_ERR_INVALID_DOMAIN = 0,
    LC_ERR_DNS_MISSING,
    LC_ERR_DNS_MISMATCH,
    LC_ERR_DNS_TIMEOUT,
    LC_ERR_DNS_SERVFAIL,
    LC_ERR_DNS_REFUSED,
    LC_ERR_DNS_ERROR,
    LC_ERR_DNS_UNREACHABLE,
    LC_ERR_CAA_FORBIDS,

    /* the CA: "acme" */
    LC_ERR_ACME_CONFIG,
    LC_ERR_ACME_INTERNAL,
    LC_ERR_ACME_NO_ACCOUNT,
    LC_ERR_ACME_PROTOCOL,
    LC_ERR_ACME_REJECTED,
    LC_ERR_ACME_TIMEOUT,
    LC_ERR_ACME_SERVER,
    LC_ERR_ACME_OTHER,
    LC_ERR_ACME_TRANSPORT,

    /* the certificate files: "store" */
    LC_ERR_STORE_CORRUPT,
    LC_ERR_STORE_UNREADABLE,
    LC_ERR_STORE_KEY_MISMATCH,
    LC_ERR_STORE_NAME_MISMATCH,
    LC_ERR_STORE_NOT_YET_VALID,
    LC_ERR_STORE_EXPIRED,
    LC_ERR_STORE_WRITE,
    LC_ERR_REMOVED,

    /* a budget of the edge: "limit" */
    LC_ERR_ORDER_BUDGET,
    LC_ERR_REGISTERED_DOMAIN_LIMIT,
    LC_ERR_VALIDATION_LIMIT,
    LC_ERR_DUPLICATE_LIMIT,

    /* linkcert_ask refused the name: "ask" */
    LC_ERR_ASK_REFUSED,
    LC_ERR_ASK_FAILED,

    /* the edge's configuration: "config" */
    LC_ERR_NO_ACME_DIRECTORY,

    /* the certificate itself: "certificate" */
    LC_ERR_EXPIRED,

    /* the fleet's shared engine: "fleet" */
    LC_ERR_FLEET_BUSY,
    LC_ERR_ENGINE_UNREACHABLE,

    LC_ERR_N
} lc_error_type_e;


typedef struct {
    const char  *name;                  /* last_error.type */
    const char  *source;                /* last_error.source */
} lc_error_type_t;


extern const lc_error_type_t  lc_error_types[LC_ERR_N];


/* Sets the type and a printf-style detail, truncated to fit. */
void lc_error_set(lc_error_t *err, lc_error_type_e type, const char *fmt,
    ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/*
 * The same with a type by its name: a CA's problem type, or a type
 * copied from another error; truncated to fit.
 */
void lc_error_set_name(lc_error_t *err, const char *type, const char *fmt,
    ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Whether err is of this type. */
int lc_error_is(const lc_error_t *err, lc_error_type_e type);

/* The name of a type, as in last_error.type. */
const char *lc_error_name(lc_error_type_e type);

void lc_error_clear(lc_error_t *err);

/*
 * Where an error type comes from, one word of the status API's
 * last_error.source: a type of the table has its own; any other is
 * "acme" for a CA's problem type (urn:...) or one named acme_*, "dns"
 * for dns_*, "store" for store_*, "ask" for ask_*, and "linkcert" for
 * the rest.  type need not be NUL-terminated within LC_ERROR_TYPE_LEN
 * bytes.
 */
const char *lc_error_source(const char *type);

#endif /* LC_ERROR_H */
