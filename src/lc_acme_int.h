/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the ACME client's insides, shared by its files (lc_acme.c the
 * machines, lc_acme_request.c the requests and the account's answers,
 * lc_acme_order.c the order's and renewal information's answers,
 * lc_acme_answer.c the errors, waits and checks every answer goes
 * through).  Not for the glue: lc_acme.h is the client's interface.
 */

#ifndef LC_ACME_INT_H
#define LC_ACME_INT_H

#include <time.h>
#include <jansson.h>

#include "lc_acme.h"


#define LC_ACME_POLLS_MAX        60     /* waits per phase */
#define LC_ACME_AUTHZ_MAX        16     /* one name needs one */
#define LC_ACME_WAIT_MIN         1      /* s, Retry-After clamped */
#define LC_ACME_WAIT_MAX         60
#define LC_ACME_BACKOFF_FIRST    50     /* ms, without Retry-After: */
#define LC_ACME_BACKOFF_MAX      5000   /* doubled up to this */
#define LC_ACME_RETRY_AFTER_MAX  (86400 * 365)

#define LC_ACME_URN              "urn:ietf:params:acme:error:"
#define LC_ACME_JOSE             "application/jose+json"
#define LC_ACME_JSON             "application/json"
#define LC_ACME_PEM_CHAIN        "application/pem-certificate-chain"
#define LC_ACME_NO_DETAIL        "the CA gave no detail"


typedef enum {
    LC_ACME_ST_DIRECTORY = 0,
    LC_ACME_ST_NEW_ACCOUNT,
    LC_ACME_ST_NEW_ORDER,
    LC_ACME_ST_AUTHZ,               /* first look at an authorization */
    LC_ACME_ST_PUBLISH,
    LC_ACME_ST_CHALLENGE,
    LC_ACME_ST_AUTHZ_POLL,          /* until the validation is over */
    LC_ACME_ST_ORDER_READY,         /* until "ready" */
    LC_ACME_ST_FINALIZE,
    LC_ACME_ST_ORDER_VALID,         /* while "processing" */
    LC_ACME_ST_CERT,
    LC_ACME_ST_RENEWAL_INFO,        /* GET renewalInfo/<id>, no JWS */
    LC_ACME_ST_RESUME,              /* a saved order: where is it? */
    LC_ACME_ST_DONE,
    LC_ACME_ST_FAILED
} lc_acme_state_e;


typedef enum {
    LC_ACME_SENT_NONE = 0,
    LC_ACME_SENT_REQUEST,           /* the request of the state */
    LC_ACME_SENT_NONCE              /* HEAD newNonce before it */
} lc_acme_sent_e;


struct lc_acme_s {
    lc_acme_kind_e       kind;
    lc_acme_account_t   *acct;
    lc_acme_state_e      state;
    lc_acme_sent_e       sent;
    time_t               now;           /* of the last lc_acme_next() */
    unsigned             delay_ms;      /* a WAIT to give first, or 0 */
    unsigned             polls;         /* in the current phase */
    unsigned             backoff;       /* ms, the next wait without
                                           Retry-After */
    unsigned             bad_nonces;    /* in a row */
    unsigned             rechecked;     /* the authorization read again
                                           after the challenge's refusal */

    char                 domain[LC_DOMAIN_MAX + 1];
    lc_acme_key_type_e   key_type;
    char                *cert_id;       /* ARI id: ORDER, of the one
                                           replaced, or NULL;
                                           RENEWAL_INFO, the one asked
                                           about */

    char                 order[LC_ACME_URL_MAX];
    char                 finalize[LC_ACME_URL_MAX];
    char                 certificate[LC_ACME_URL_MAX];
    char                *authz[LC_ACME_AUTHZ_MAX];
    unsigned             nauthz;
    unsigned             authz_i;
    char                 challenge[LC_ACME_URL_MAX];
    char                 token[LC_ACME_TOKEN_MAX];
    char                 keyauth[LC_ACME_KEYAUTH_MAX];
    unsigned             responded;     /* the challenge was started
                                           already (a resumed order) */
    unsigned             saves;         /* what lc_acme_save() keeps */
    unsigned             saved;         /*   changed: saves > saved */

    EVP_PKEY            *key;           /* the certificate's, not the
                                           account's */
    char                *csr;           /* base64url DER */
    char                *chain;
    size_t               chain_len;
    char                *key_pem;
    size_t               key_pem_len;

    time_t               window_start;  /* RENEWAL_INFO, when DONE */
    time_t               window_end;
    time_t               window_retry;  /* s, Retry-After, or 0 */

    lc_error_t           err;
    int                  transient;
    int                  unreachable;   /* no answer, or HTTP 5xx */
    time_t               retry_after;
};


extern const char  *lc_acme_steps[];


int lc_acme_post(lc_acme_t *m, lc_acme_request_t *req);
void lc_acme_on_directory(lc_acme_t *m, const lc_acme_response_t *res);
void lc_acme_on_account(lc_acme_t *m, const lc_acme_response_t *res);
void lc_acme_on_order(lc_acme_t *m, const lc_acme_response_t *res);
void lc_acme_on_authz(lc_acme_t *m, const lc_acme_response_t *res);
void lc_acme_on_challenge(lc_acme_t *m,
    const lc_acme_response_t *res);
void lc_acme_on_cert(lc_acme_t *m, const lc_acme_response_t *res);
lc_acme_action_e lc_acme_renewal_info_get(lc_acme_t *m,
    lc_acme_request_t *req);
void lc_acme_on_renewal_info(lc_acme_t *m,
    const lc_acme_response_t *res);
void lc_acme_http_error(lc_acme_t *m, const lc_acme_response_t *res,
    lc_acme_sent_e sent);
void lc_acme_poll(lc_acme_t *m, const lc_acme_response_t *res,
    const char *status);
void lc_acme_goto(lc_acme_t *m, lc_acme_state_e state);
void lc_acme_fail(lc_acme_t *m, lc_error_type_e type, int transient,
    const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
void lc_acme_fail_invalid(lc_acme_t *m, json_t *error,
    const char *what);
json_t *lc_acme_json(lc_acme_t *m, const lc_acme_response_t *res);
const char *lc_acme_str(json_t *obj, const char *key);
void lc_acme_take_nonce(lc_acme_t *m, const lc_acme_response_t *res);
int lc_acme_url_ok(const char *url);
int lc_acme_b64url_ok(const char *s, size_t max);
int lc_acme_cert_id_ok(const char *id);
void lc_acme_copy(char *dst, const char *src);
size_t lc_acme_sanitize(char *dst, size_t size, const char *src,
    const char *elide);
int lc_acme_retry_after(const char *value, time_t now, time_t *secs);
int lc_acme_rfc3339(const char *p, time_t *t);


#endif /* LC_ACME_INT_H */
