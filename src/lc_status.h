/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the status vocabulary and its JSON rendering.
 *
 * The glue copies a table entry into an lc_record_t under the zone lock
 * and renders it outside the lock.
 */

#ifndef LC_STATUS_H
#define LC_STATUS_H

#include <time.h>
#include <jansson.h>

#include "lc_domain.h"
#include "lc_error.h"
#include "lc_cert.h"


#define LC_DNS_JSON_MAX  1024           /* the stored "dns" object */


typedef enum {
    LC_STATUS_UNKNOWN = 0,
    LC_STATUS_PENDING,
    LC_STATUS_ISSUED,
    LC_STATUS_N
} lc_status_e;

typedef enum {
    LC_STAGE_NONE = 0,
    LC_STAGE_VERIFYING,
    LC_STAGE_ORDERING,
    LC_STAGE_ISSUED,
    LC_STAGE_RENEWING,
    LC_STAGE_FAILED
} lc_stage_e;


typedef struct {
    char            domain[LC_DOMAIN_MAX + 1];
    lc_status_e     status;
    lc_stage_e      stage;
    int             has_cert;
    int             moved;              /* unknown as its DNS points
                                           elsewhere, the certificate still
                                           served until it expires */
    lc_cert_info_t  cert;
    int             has_error;
    time_t          error_at;
    lc_error_t      error;
    time_t          next_attempt_at;    /* 0: none */
    time_t          renew_at;           /* issued: renewal planned; 0 */
    time_t          updated_at;         /* 0: never (domain not seen) */
    unsigned long long  store_stamp;    /* the glue's identity of the
                                           store files; 0: none */
    const char     *ca;                 /* the directory URL of the CA of
                                           the latest order, or NULL */
    size_t          dns_len;            /* 0: never checked */
    char            dns[LC_DNS_JSON_MAX];  /* the "dns" object, JSON text */
} lc_record_t;


const char *lc_status_name(lc_status_e status);
const char *lc_stage_name(lc_stage_e stage);

/* Returns 0 and sets *status, or -1 for an unknown word. */
int lc_status_parse(const char *s, size_t len, lc_status_e *status);

/*
 * RFC 3339 UTC, "2026-11-26T05:39:54Z", into buf (at least 21 bytes).
 */
void lc_time_rfc3339(time_t t, char *buf);

/*
 * What the public object shows of a record, and nothing else: the
 * object is a function of these fields alone, so that an answer rendered
 * once can be served again while they are the same (lc_status_cache.c).
 * Zero-filled first, so that two can be compared with memcmp().
 */
typedef struct {
    char            domain[LC_DOMAIN_MAX + 1];
    lc_status_e     status;
    int             has_cert;
    time_t          not_before;
    time_t          not_after;
} lc_status_public_t;

void lc_status_public_fields(const lc_record_t *rec, lc_status_public_t *pub);

/*
 * The public object: {"domain","status","certificate":{"not_before",
 * "not_after"}|null}.
 */
json_t *lc_status_public_json(const lc_record_t *rec);
json_t *lc_status_public_object(const lc_status_public_t *pub);

/*
 * With stale set, adds "stale":true to the object (an edge of a fleet
 * answering while it does not reach Redis).  Returns json.
 */
json_t *lc_status_stale(json_t *json, int stale);

/*
 * The full object: domain, status, stage, certificate (not_before,
 * not_after, serial (hex, uppercase, colon-free), issuer, sha256 (hex,
 * lowercase)) or null, dns (the object in rec->dns, or null when
 * dns_len is 0), last_error (at, type, detail, source: lc_error_source()
 * of the type) or null,
 * next_attempt_at or null, renew_at (issued: when the renewal is
 * planned) or null, updated_at or null, ca (the ACME directory of the
 * latest order) or null.
 */
json_t *lc_status_full_json(const lc_record_t *rec);

/* {"error": error, "detail": detail} */
json_t *lc_error_json(const char *error, const char *detail);

/*
 * Serialises compactly with a final newline and takes the reference.
 * Returns malloc()ed memory (free()) and its length, or NULL.
 */
char *lc_json_dump(json_t *json, size_t *len);

#endif /* LC_STATUS_H */
