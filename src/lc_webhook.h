/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the webhook's event body and its signature, without I/O.
 */

#ifndef LC_WEBHOOK_H
#define LC_WEBHOOK_H

#include <stddef.h>
#include <time.h>

#include "lc_status.h"


#define LC_WEBHOOK_ID_LEN         32    /* hex digits of a 128-bit id */
#define LC_WEBHOOK_SIGNATURE_LEN  (sizeof("t=,v1=") - 1 + 20 + 64 + 1)


/*
 * The event: {"id","type":"domain.status","at","domain","status",
 * "previous_status","object"}, where object is lc_status_full_json(rec),
 * serialised compactly with a final newline.  id is a NUL-terminated
 * string.  Returns malloc()ed memory (free()) and its length, or NULL.
 */
char *lc_webhook_event(const char *id, time_t at, const lc_record_t *rec,
    lc_status_e previous, size_t *len);

/*
 * The domain of a stored event body into domain (LC_DOMAIN_MAX + 1
 * bytes).  Returns 0, or -1 when body is not an event.
 */
int lc_webhook_event_domain(const char *body, size_t len, char *domain);

/*
 * The Linkcert-Signature header's value, "t=<t>,v1=<hex of
 * HMAC-SHA256(secret, "<t>.<body>")>", NUL-terminated into sig (at least
 * LC_WEBHOOK_SIGNATURE_LEN bytes).  Returns 0 or -1.
 */
int lc_webhook_sign(const unsigned char *secret, size_t secret_len,
    long long t, const char *body, size_t body_len, char *sig);

#endif /* LC_WEBHOOK_H */
