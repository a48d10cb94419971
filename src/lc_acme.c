/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the ACME client (RFC 8555) as three state machines without
 * I/O.
 *
 * The account machine reads the directory and registers the key; the
 * order machine takes one domain from newOrder to the certificate through
 * HTTP-01; the renewal information machine asks the CA when a certificate
 * should be renewed (ARI, RFC 9773).  Each lc_acme_next() builds the
 * request of the current state;
 * lc_acme_feed() reads its answer and moves the state on, so a request
 * that must be repeated (badNonce, a poll) is simply built again.
 */


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "lc_acme.h"
#include "lc_acme_key.h"
#include "lc_jws.h"


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


static const char  *lc_acme_steps[] = {
    [LC_ACME_ST_DIRECTORY] = "directory",
    [LC_ACME_ST_NEW_ACCOUNT] = "newAccount",
    [LC_ACME_ST_NEW_ORDER] = "newOrder",
    [LC_ACME_ST_RESUME] = "order",
    [LC_ACME_ST_AUTHZ] = "authorization",
    [LC_ACME_ST_PUBLISH] = "challenge",
    [LC_ACME_ST_CHALLENGE] = "challenge",
    [LC_ACME_ST_AUTHZ_POLL] = "authorization",
    [LC_ACME_ST_ORDER_READY] = "order",
    [LC_ACME_ST_FINALIZE] = "finalize",
    [LC_ACME_ST_ORDER_VALID] = "order",
    [LC_ACME_ST_CERT] = "certificate",
    [LC_ACME_ST_RENEWAL_INFO] = "renewalInfo",
    [LC_ACME_ST_DONE] = "done",
    [LC_ACME_ST_FAILED] = "failed"
};


static lc_acme_t *lc_acme_keep_cert_id(lc_acme_t *m, const char *id);
static int lc_acme_post(lc_acme_t *m, lc_acme_request_t *req);
static const char *lc_acme_post_url(lc_acme_t *m);
static json_t *lc_acme_account_payload(lc_acme_t *m);
static json_t *lc_acme_order_payload(lc_acme_t *m);
static void lc_acme_on_directory(lc_acme_t *m, const lc_acme_response_t *res);
static void lc_acme_on_account(lc_acme_t *m, const lc_acme_response_t *res);
static void lc_acme_json_cleanse(json_t *str);
static void lc_acme_on_order(lc_acme_t *m, const lc_acme_response_t *res);
static int lc_acme_order_urls(lc_acme_t *m, json_t *order,
    const lc_acme_response_t *res);
static void lc_acme_on_authz(lc_acme_t *m, const lc_acme_response_t *res);
static int lc_acme_http01(lc_acme_t *m, json_t *authz);
static json_t *lc_acme_authz_error(json_t *authz);
static void lc_acme_next_authz(lc_acme_t *m);
static void lc_acme_on_challenge(lc_acme_t *m,
    const lc_acme_response_t *res);
static void lc_acme_on_cert(lc_acme_t *m, const lc_acme_response_t *res);
static lc_acme_action_e lc_acme_renewal_info_get(lc_acme_t *m,
    lc_acme_request_t *req);
static void lc_acme_on_renewal_info(lc_acme_t *m,
    const lc_acme_response_t *res);
static void lc_acme_http_error(lc_acme_t *m, const lc_acme_response_t *res,
    lc_acme_sent_e sent);
static void lc_acme_poll(lc_acme_t *m, const lc_acme_response_t *res,
    const char *status);
static void lc_acme_goto(lc_acme_t *m, lc_acme_state_e state);
static void lc_acme_fail(lc_acme_t *m, const char *type, int transient,
    const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static void lc_acme_fail_problem(lc_acme_t *m, json_t *problem,
    int transient);
static void lc_acme_fail_invalid(lc_acme_t *m, json_t *error,
    const char *what);
static int lc_acme_transient_type(const char *type);
static json_t *lc_acme_json(lc_acme_t *m, const lc_acme_response_t *res);
static const char *lc_acme_str(json_t *obj, const char *key);
static void lc_acme_take_nonce(lc_acme_t *m, const lc_acme_response_t *res);
static int lc_acme_url_ok(const char *url);
static int lc_acme_b64url_ok(const char *s, size_t max);
static int lc_acme_cert_id_ok(const char *id);
static int lc_acme_b64url_char(char c);
static void lc_acme_copy(char *dst, const char *src);
static size_t lc_acme_sanitize(char *dst, size_t size, const char *src,
    const char *elide);
static int lc_acme_retry_after(const char *value, time_t now, time_t *secs);
static time_t lc_acme_http_date(const char *p);
static int lc_acme_rfc3339(const char *p, time_t *t);
static int lc_acme_days(int year, int mon, int day, long *days);
static int lc_acme_digits(const char **p, int n, int *value);


int
lc_acme_account_init(lc_acme_account_t *acct, EVP_PKEY *key,
    const char *directory)
{
    if (acct == NULL || key == NULL || !lc_acme_url_ok(directory)) {
        return -1;
    }

    if (lc_jws_thumbprint(key, acct->thumbprint, sizeof(acct->thumbprint))
        != 0)
    {
        acct->thumbprint[0] = '\0';
        return -1;
    }

    /* contacts and eab_* are the caller's settings: left as they are */

    acct->key = key;
    lc_acme_copy(acct->directory, directory);
    acct->new_nonce[0] = '\0';
    acct->new_account[0] = '\0';
    acct->new_order[0] = '\0';
    acct->renewal_info[0] = '\0';
    acct->kid[0] = '\0';
    acct->nonce[0] = '\0';

    return 0;
}


lc_acme_t *
lc_acme_new(lc_acme_kind_e kind, lc_acme_account_t *acct,
    const char *domain, lc_acme_key_type_e key_type, const char *replaces)
{
    char         norm[LC_DOMAIN_MAX + 1];
    size_t       len;
    lc_acme_t   *m;
    const char  *reason;

    m = calloc(1, sizeof(lc_acme_t));
    if (m == NULL) {
        return NULL;
    }

    m->kind = kind;
    m->acct = acct;
    m->key_type = key_type;
    m->backoff = LC_ACME_BACKOFF_FIRST;

    if (acct == NULL || acct->key == NULL || acct->thumbprint[0] == '\0') {
        lc_acme_fail(m, "acme_config", 0, "the ACME account key is not set");
        return m;
    }

    if (kind == LC_ACME_ACCOUNT) {
        m->state = LC_ACME_ST_DIRECTORY;
        return m;
    }

    if (kind == LC_ACME_RENEWAL_INFO) {
        m->state = LC_ACME_ST_RENEWAL_INFO;

        /* the id becomes a path segment of the request: checked */

        if (!lc_acme_cert_id_ok(replaces)) {
            lc_acme_fail(m, "acme_config", 0,
                         "the ARI id of the certificate is missing or "
                         "malformed");
            return m;
        }

        return lc_acme_keep_cert_id(m, replaces);
    }

    m->state = LC_ACME_ST_NEW_ORDER;

    if (kind != LC_ACME_ORDER
        || (key_type != LC_ACME_KEY_EC256 && key_type != LC_ACME_KEY_RSA2048))
    {
        lc_acme_fail(m, "acme_config", 0, "unknown machine or key type");
        return m;
    }

    /* the name goes into a CSR and a JSON payload: only a clean one */

    reason = "the name is not normalised";

    if (domain == NULL
        || lc_domain_normalize(domain, strlen(domain), norm, &len, &reason)
           != 0
        || strcmp(norm, domain) != 0)
    {
        lc_acme_fail(m, "invalid_domain", 0, "%s", reason);
        return m;
    }

    memcpy(m->domain, norm, len + 1);

    if (replaces == NULL) {
        return m;
    }

    if (!lc_acme_cert_id_ok(replaces)) {
        lc_acme_fail(m, "acme_config", 0,
                     "the ARI id of the certificate to replace is "
                     "malformed");
        return m;
    }

    return lc_acme_keep_cert_id(m, replaces);
}


int
lc_acme_wants_key(lc_acme_t *m)
{
    return m->kind == LC_ACME_ORDER && m->key == NULL;
}


void
lc_acme_set_key(lc_acme_t *m, EVP_PKEY *key)
{
    if (m->key != NULL || m->csr != NULL) {
        EVP_PKEY_free(key);
        return;
    }

    m->key = key;
}


void
lc_acme_free(lc_acme_t *m)
{
    unsigned  i;

    if (m == NULL) {
        return;
    }

    for (i = 0; i < m->nauthz; i++) {
        free(m->authz[i]);
    }

    free(m->cert_id);
    free(m->csr);
    free(m->chain);
    EVP_PKEY_free(m->key);

    if (m->key_pem != NULL) {
        OPENSSL_cleanse(m->key_pem, m->key_pem_len);
        free(m->key_pem);
    }

    free(m);
}


/* a key's PEM held by a JSON string is wiped before jansson frees it */

static void
lc_acme_json_cleanse(json_t *str)
{
    if (json_is_string(str)) {
        OPENSSL_cleanse((void *) json_string_value(str),
                        json_string_length(str));
    }
}


char *
lc_acme_save(lc_acme_t *m, size_t *len)
{
    char    *text, *pem;
    size_t   pem_len;
    json_t  *saved;

    if (m->kind != LC_ACME_ORDER || m->saves == m->saved
        || m->order[0] == '\0')
    {
        return NULL;
    }

    saved = json_pack("{s:s, s:s, s:s}", "domain", m->domain,
                      "directory", m->acct->directory, "order", m->order);
    if (saved == NULL) {
        return NULL;
    }

    pem = NULL;
    pem_len = 0;

    if (m->key != NULL) {
        pem = lc_acme_key_pem(m->key, &pem_len);

        if (pem == NULL
            || json_object_set_new(saved, "key",
                                   json_stringn(pem, pem_len))
               != 0)
        {
            text = NULL;
            goto done;
        }
    }

    text = json_dumps(saved, JSON_COMPACT);

    if (text != NULL) {
        *len = strlen(text);
        m->saved = m->saves;
    }

done:

    /* the key's copies: the PEM, and the one in the JSON object */

    if (pem != NULL) {
        OPENSSL_cleanse(pem, pem_len);
        free(pem);
    }

    lc_acme_json_cleanse(json_object_get(saved, "key"));
    json_decref(saved);

    return text;
}


void
lc_acme_saved_free(char *saved, size_t len)
{
    if (saved != NULL) {
        OPENSSL_cleanse(saved, len);
        free(saved);
    }
}


lc_acme_t *
lc_acme_resume(lc_acme_account_t *acct, const char *domain,
    lc_acme_key_type_e key_type, const char *saved, size_t len)
{
    json_t       *json, *key;
    lc_acme_t    *m;
    const char   *name, *order, *directory;

    m = lc_acme_new(LC_ACME_ORDER, acct, domain, key_type, NULL);
    if (m == NULL || m->state == LC_ACME_ST_FAILED) {
        return m;
    }

    json = json_loadb(saved, len, 0, NULL);
    name = lc_acme_str(json, "domain");
    order = lc_acme_str(json, "order");
    key = json_object_get(json, "key");
    directory = lc_acme_str(json, "directory");

    if (name == NULL || strcmp(name, m->domain) != 0
        || !lc_acme_url_ok(order)
        || (key != NULL && !json_is_string(key)))
    {
        lc_acme_fail(m, "acme_internal", 0,
                     "the saved order is not one of this domain");
        goto done;
    }

    /* a file of before the directory was kept: the one CA there was */

    if (directory != NULL && strcmp(directory, acct->directory) != 0) {
        lc_acme_fail(m, "acme_internal", 0,
                     "the saved order is one of another CA");
        goto done;
    }

    if (key != NULL) {
        m->key = lc_acme_key_load(json_string_value(key),
                                  json_string_length(key));
        m->csr = m->key ? lc_acme_csr(m->key, m->domain) : NULL;

        if (m->csr == NULL) {
            lc_acme_fail(m, "acme_internal", 0,
                         "the saved order's key cannot be used");
            goto done;
        }
    }

    lc_acme_copy(m->order, order);
    m->state = LC_ACME_ST_RESUME;

done:

    lc_acme_json_cleanse(key);
    json_decref(json);

    return m;
}


lc_acme_action_e
lc_acme_next(lc_acme_t *m, time_t now, lc_acme_request_t *req,
    unsigned *delay_ms)
{
    lc_acme_account_t  *acct;

    m->now = now;

    /* a SEND that was never fed is given up; it is built afresh below */
    m->sent = LC_ACME_SENT_NONE;

    switch (m->state) {

    case LC_ACME_ST_DONE:
        return LC_ACME_DONE;

    case LC_ACME_ST_FAILED:
        return LC_ACME_FAILED;

    case LC_ACME_ST_PUBLISH:

        /* a challenge started by another process is not started again */

        if (m->responded) {
            lc_acme_goto(m, LC_ACME_ST_AUTHZ_POLL);

        } else {
            m->state = LC_ACME_ST_CHALLENGE;
        }

        return LC_ACME_PUBLISH;

    default:
        break;
    }

    if (m->delay_ms != 0) {
        if (delay_ms != NULL) {
            *delay_ms = m->delay_ms;
        }

        m->delay_ms = 0;

        return LC_ACME_WAIT;
    }

    acct = m->acct;

    memset(req, 0, sizeof(lc_acme_request_t));

    if (m->state == LC_ACME_ST_DIRECTORY) {
        req->method = "GET";
        lc_acme_copy(req->url, acct->directory);
        m->sent = LC_ACME_SENT_REQUEST;

        return LC_ACME_SEND;
    }

    if (m->state == LC_ACME_ST_RENEWAL_INFO) {
        return lc_acme_renewal_info_get(m, req);
    }

    if (m->kind == LC_ACME_ORDER
        && (acct->kid[0] == '\0' || acct->new_nonce[0] == '\0'
            || acct->new_order[0] == '\0'))
    {
        lc_acme_fail(m, "acme_no_account", 1,
                     "the ACME account is not registered yet");
        return LC_ACME_FAILED;
    }

    if (acct->nonce[0] == '\0') {
        req->method = "HEAD";
        lc_acme_copy(req->url, acct->new_nonce);
        m->sent = LC_ACME_SENT_NONCE;

        return LC_ACME_SEND;
    }

    if (lc_acme_post(m, req) != 0) {
        lc_acme_fail(m, "acme_internal", 1,
                     "cannot build the %s request (out of memory?)",
                     lc_acme_steps[m->state]);
        return LC_ACME_FAILED;
    }

    m->sent = LC_ACME_SENT_REQUEST;

    return LC_ACME_SEND;
}


void
lc_acme_feed(lc_acme_t *m, const lc_acme_response_t *res)
{
    lc_acme_sent_e  sent;

    sent = m->sent;
    m->sent = LC_ACME_SENT_NONE;

    if (sent == LC_ACME_SENT_NONE
        || m->state == LC_ACME_ST_DONE || m->state == LC_ACME_ST_FAILED)
    {
        return;
    }

    if (res == NULL || res->status == 0) {
        m->unreachable = 1;
        lc_acme_fail(m, "acme_transport", 1,
                     "no response from the CA to the %s request: %s",
                     sent == LC_ACME_SENT_NONCE
                     ? "newNonce" : lc_acme_steps[m->state],
                     res && res->error ? res->error : "no connection");
        return;
    }

    lc_acme_take_nonce(m, res);

    if (res->status < 200 || res->status > 299) {
        lc_acme_http_error(m, res, sent);
        return;
    }

    if (sent == LC_ACME_SENT_NONCE) {
        if (m->acct->nonce[0] == '\0') {
            lc_acme_fail(m, "acme_protocol", 0,
                         "the CA's newNonce answer has no Replay-Nonce");
        }

        return;
    }

    m->bad_nonces = 0;

    switch (m->state) {

    case LC_ACME_ST_DIRECTORY:
        lc_acme_on_directory(m, res);
        break;

    case LC_ACME_ST_NEW_ACCOUNT:
        lc_acme_on_account(m, res);
        break;

    case LC_ACME_ST_NEW_ORDER:
    case LC_ACME_ST_RESUME:
    case LC_ACME_ST_ORDER_READY:
    case LC_ACME_ST_FINALIZE:
    case LC_ACME_ST_ORDER_VALID:
        lc_acme_on_order(m, res);
        break;

    case LC_ACME_ST_AUTHZ:
    case LC_ACME_ST_AUTHZ_POLL:
        lc_acme_on_authz(m, res);
        break;

    case LC_ACME_ST_CHALLENGE:
        lc_acme_on_challenge(m, res);
        break;

    case LC_ACME_ST_CERT:
        lc_acme_on_cert(m, res);
        break;

    case LC_ACME_ST_RENEWAL_INFO:
        lc_acme_on_renewal_info(m, res);
        break;

    default:
        break;
    }
}


const char *
lc_acme_challenge(lc_acme_t *m, const char **key_authorization)
{
    if (m == NULL || m->token[0] == '\0') {
        if (key_authorization != NULL) {
            *key_authorization = NULL;
        }

        return NULL;
    }

    if (key_authorization != NULL) {
        *key_authorization = m->keyauth;
    }

    return m->token;
}


int
lc_acme_result(lc_acme_t *m, const char **chain, size_t *chain_len,
    const char **key, size_t *key_len)
{
    if (m == NULL || m->state != LC_ACME_ST_DONE || m->chain == NULL) {
        return -1;
    }

    *chain = m->chain;
    *chain_len = m->chain_len;
    *key = m->key_pem;
    *key_len = m->key_pem_len;

    return 0;
}


int
lc_acme_unreachable(lc_acme_t *m)
{
    return m->state == LC_ACME_ST_FAILED && m->unreachable;
}


int
lc_acme_saved_directory(const char *saved, size_t len, char *directory,
    size_t size)
{
    int          rc;
    json_t      *json;
    const char  *url;

    json = json_loadb(saved, len, 0, NULL);
    if (json == NULL) {
        return -1;
    }

    url = lc_acme_str(json, "directory");
    rc = 1;

    if (url != NULL) {
        rc = (strlen(url) < size) ? 0 : -1;

        if (rc == 0) {
            memcpy(directory, url, strlen(url) + 1);
        }
    }

    lc_acme_json_cleanse(json_object_get(json, "key"));
    json_decref(json);

    return rc;
}


/*
 * Renewal information is asked about twice a day (Let's Encrypt's
 * advice), and never more often than the CA's Retry-After; a longer one
 * is honoured up to a day, where RFC 9773 section 4.3.3 suggests
 * clamping it.
 */

time_t
lc_acme_ari_next(time_t now, time_t retry_after)
{
    if (retry_after > LC_ACME_ARI_MAX) {
        retry_after = LC_ACME_ARI_MAX;
    }

    return now + (retry_after > LC_ACME_ARI_INTERVAL
                  ? retry_after : LC_ACME_ARI_INTERVAL);
}


const lc_error_t *
lc_acme_error(lc_acme_t *m, int *transient, time_t *retry_after)
{
    if (transient != NULL) {
        *transient = m->transient;
    }

    if (retry_after != NULL) {
        *retry_after = m->retry_after;
    }

    return &m->err;
}


int
lc_acme_renewal_window(lc_acme_t *m, time_t *start, time_t *end,
    time_t *retry_after)
{
    if (m == NULL || m->kind != LC_ACME_RENEWAL_INFO
        || m->state != LC_ACME_ST_DONE)
    {
        return -1;
    }

    if (start != NULL) {
        *start = m->window_start;
    }

    if (end != NULL) {
        *end = m->window_end;
    }

    if (retry_after != NULL) {
        *retry_after = m->window_retry;
    }

    return 0;
}


/* A copy of the checked id in the new machine, or NULL with m freed. */

static lc_acme_t *
lc_acme_keep_cert_id(lc_acme_t *m, const char *id)
{
    m->cert_id = strdup(id);
    if (m->cert_id == NULL) {
        free(m);
        return NULL;
    }

    return m;
}


/*
 * The JWS of the current state, signed with the account's current nonce,
 * which is used up: every answer brings the next one.
 */

static int
lc_acme_post(lc_acme_t *m, lc_acme_request_t *req)
{
    int                 rc, as_get;
    char               *text;
    size_t              len;
    json_t             *header, *payload, *jws, *id;
    const char         *url;
    lc_acme_account_t  *acct;

    acct = m->acct;
    url = lc_acme_post_url(m);
    payload = NULL;
    as_get = 0;
    text = NULL;
    jws = NULL;
    len = 0;
    rc = -1;

    switch (m->state) {

    case LC_ACME_ST_NEW_ACCOUNT:
        payload = lc_acme_account_payload(m);
        break;

    case LC_ACME_ST_NEW_ORDER:
        payload = lc_acme_order_payload(m);
        break;

    case LC_ACME_ST_CHALLENGE:
        /* RFC 8555 section 7.5.1: an empty object says "go" */
        payload = json_object();
        break;

    case LC_ACME_ST_FINALIZE:

        /* made once, so that a badNonce retry sends the same CSR */

        if (m->csr == NULL) {
            if (m->key == NULL) {
                m->key = lc_acme_key_new(m->key_type);
                if (m->key == NULL) {
                    return -1;
                }
            }

            m->csr = lc_acme_csr(m->key, m->domain);
            if (m->csr == NULL) {
                return -1;
            }

            m->saves++;
        }

        payload = json_pack("{s:s}", "csr", m->csr);
        break;

    case LC_ACME_ST_CERT:
        req->accept = LC_ACME_PEM_CHAIN;
        as_get = 1;
        break;

    default:
        as_get = 1;
        break;
    }

    if (url == NULL || (payload == NULL && !as_get)) {
        goto done;
    }

    /* RFC 8555 section 6.3: POST-as-GET has an empty payload, not "{}" */

    if (!as_get) {
        text = lc_jws_dump(payload, 0, &len);
        if (text == NULL) {
            goto done;
        }
    }

    /* RFC 8555 section 6.2: "jwk" for newAccount only, "kid" after */

    if (m->state == LC_ACME_ST_NEW_ACCOUNT) {
        id = lc_jws_jwk(acct->key);

    } else {
        id = json_string(acct->kid);
    }

    header = json_pack("{s:s, s:s, s:o}", "nonce", acct->nonce, "url", url,
                       m->state == LC_ACME_ST_NEW_ACCOUNT ? "jwk" : "kid",
                       id);
    if (header == NULL) {
        goto done;
    }

    jws = lc_jws_es256(acct->key, header, text ? text : "", len);
    json_decref(header);

    if (jws == NULL) {
        goto done;
    }

    req->body = lc_jws_dump(jws, 0, &req->body_len);
    if (req->body == NULL) {
        goto done;
    }

    req->method = "POST";
    req->content_type = LC_ACME_JOSE;
    lc_acme_copy(req->url, url);

    acct->nonce[0] = '\0';
    rc = 0;

done:

    json_decref(jws);
    json_decref(payload);
    free(text);

    return rc;
}


static const char *
lc_acme_post_url(lc_acme_t *m)
{
    switch (m->state) {

    case LC_ACME_ST_NEW_ACCOUNT:
        return m->acct->new_account;

    case LC_ACME_ST_NEW_ORDER:
        return m->acct->new_order;

    case LC_ACME_ST_AUTHZ:
    case LC_ACME_ST_AUTHZ_POLL:
        return m->authz_i < m->nauthz ? m->authz[m->authz_i] : NULL;

    case LC_ACME_ST_CHALLENGE:
        return m->challenge;

    case LC_ACME_ST_RESUME:
    case LC_ACME_ST_ORDER_READY:
    case LC_ACME_ST_ORDER_VALID:
        return m->order;

    case LC_ACME_ST_FINALIZE:
        return m->finalize;

    case LC_ACME_ST_CERT:
        return m->certificate;

    default:
        return NULL;
    }
}


static json_t *
lc_acme_account_payload(lc_acme_t *m)
{
    json_t             *payload, *contacts, *eab;
    const char        **c;
    lc_acme_account_t  *acct;

    acct = m->acct;

    payload = json_pack("{s:b}", "termsOfServiceAgreed", 1);
    if (payload == NULL) {
        return NULL;
    }

    if (acct->contacts != NULL && acct->contacts[0] != NULL) {
        contacts = json_array();

        if (json_object_set_new(payload, "contact", contacts) != 0) {
            goto failed;
        }

        for (c = acct->contacts; *c != NULL; c++) {
            if (json_array_append_new(contacts, json_string(*c)) != 0) {
                goto failed;
            }
        }
    }

    if (acct->eab_kid != NULL) {
        eab = lc_jws_eab(acct->key, acct->eab_kid, acct->eab_hmac,
                         acct->eab_hmac_len, acct->new_account);

        if (json_object_set_new(payload, "externalAccountBinding", eab)
            != 0)
        {
            goto failed;
        }
    }

    return payload;

failed:

    json_decref(payload);

    return NULL;
}


static json_t *
lc_acme_order_payload(lc_acme_t *m)
{
    json_t  *payload;

    payload = json_pack("{s:[{s:s, s:s}]}", "identifiers",
                        "type", "dns", "value", m->domain);
    if (payload == NULL) {
        return NULL;
    }

    /* RFC 9773 section 5: a renewal names the certificate it replaces */

    if (m->cert_id != NULL
        && json_object_set_new(payload, "replaces",
                               json_string(m->cert_id)) != 0)
    {
        json_decref(payload);
        return NULL;
    }

    return payload;
}


static void
lc_acme_on_directory(lc_acme_t *m, const lc_acme_response_t *res)
{
    json_t             *dir, *meta;
    const char         *nonce, *account, *order, *ari;
    lc_acme_account_t  *acct;

    acct = m->acct;

    dir = lc_acme_json(m, res);
    if (dir == NULL) {
        return;
    }

    nonce = lc_acme_str(dir, "newNonce");
    account = lc_acme_str(dir, "newAccount");
    order = lc_acme_str(dir, "newOrder");
    ari = lc_acme_str(dir, "renewalInfo");

    if (!lc_acme_url_ok(nonce) || !lc_acme_url_ok(account)
        || !lc_acme_url_ok(order))
    {
        lc_acme_fail(m, "acme_protocol", 0,
                     "the directory lacks newNonce, newAccount or newOrder");
        goto done;
    }

    meta = json_object_get(dir, "meta");

    if (json_is_true(json_object_get(meta, "externalAccountRequired"))
        && acct->eab_kid == NULL)
    {
        lc_acme_fail(m, "acme_config", 0,
                     "the CA requires external account binding (EAB) and "
                     "no EAB key is configured");
        goto done;
    }

    if (acct->eab_kid != NULL
        && (acct->eab_hmac == NULL || acct->eab_hmac_len == 0))
    {
        lc_acme_fail(m, "acme_config", 0,
                     "an EAB key id is configured without its HMAC key");
        goto done;
    }

    lc_acme_copy(acct->new_nonce, nonce);
    lc_acme_copy(acct->new_account, account);
    lc_acme_copy(acct->new_order, order);

    /* ARI is optional: a CA without it, or with a bad URL, goes without */

    if (lc_acme_url_ok(ari)) {
        lc_acme_copy(acct->renewal_info, ari);

    } else {
        acct->renewal_info[0] = '\0';
    }

    lc_acme_goto(m, LC_ACME_ST_NEW_ACCOUNT);

done:

    json_decref(dir);
}


static void
lc_acme_on_account(lc_acme_t *m, const lc_acme_response_t *res)
{
    char         text[32];
    json_t      *account;
    const char  *status;

    /* 201: created, 200: the key had an account already */

    if (!lc_acme_url_ok(res->location)) {
        lc_acme_fail(m, "acme_protocol", 0,
                     "the CA's newAccount answer has no account URL");
        return;
    }

    account = NULL;

    if (res->body != NULL && res->body_len != 0) {
        account = json_loadb(res->body, res->body_len, 0, NULL);
    }

    status = lc_acme_str(account, "status");

    if (status != NULL && strcmp(status, "valid") != 0) {
        lc_acme_sanitize(text, sizeof(text), status, NULL);
        lc_acme_fail(m, "acme_rejected", 0, "the ACME account is %s", text);
        json_decref(account);
        return;
    }

    json_decref(account);

    lc_acme_copy(m->acct->kid, res->location);
    lc_acme_goto(m, LC_ACME_ST_DONE);
}


/*
 * An order object, from newOrder, a poll or finalize; the status decides
 * the next step whatever the state expected.
 */

static void
lc_acme_on_order(lc_acme_t *m, const lc_acme_response_t *res)
{
    char             text[32];
    json_t          *order;
    const char      *status, *cert;
    lc_acme_state_e  state;

    order = lc_acme_json(m, res);
    if (order == NULL) {
        return;
    }

    state = m->state;

    if ((state == LC_ACME_ST_NEW_ORDER || state == LC_ACME_ST_RESUME)
        && lc_acme_order_urls(m, order, res) != 0)
    {
        goto done;
    }

    cert = lc_acme_str(order, "certificate");

    if (lc_acme_url_ok(cert)) {
        lc_acme_copy(m->certificate, cert);
    }

    status = lc_acme_str(order, "status");

    if (status == NULL) {
        lc_acme_fail(m, "acme_protocol", 0,
                     "the CA's %s answer has no status",
                     lc_acme_steps[state]);

    } else if (strcmp(status, "invalid") == 0) {
        lc_acme_fail_invalid(m, json_object_get(order, "error"), "order");

    } else if ((strcmp(status, "valid") == 0
                || strcmp(status, "processing") == 0)
               && m->csr == NULL)
    {
        /* a CSR of someone else's: its key is not ours to serve */
        lc_acme_fail(m, "acme_protocol", 0,
                     "the order is %s before this client finalized it",
                     status);

    } else if (strcmp(status, "valid") == 0) {

        if (m->certificate[0] == '\0') {
            lc_acme_fail(m, "acme_protocol", 0,
                         "the valid order has no certificate URL");

        } else {
            lc_acme_goto(m, LC_ACME_ST_CERT);
        }

    } else if (strcmp(status, "processing") == 0) {

        if (state != LC_ACME_ST_ORDER_VALID) {
            lc_acme_goto(m, LC_ACME_ST_ORDER_VALID);
        }

        lc_acme_poll(m, res, status);

    } else if (strcmp(status, "ready") == 0
               && (state == LC_ACME_ST_NEW_ORDER
                   || state == LC_ACME_ST_RESUME
                   || state == LC_ACME_ST_ORDER_READY))
    {
        /* every authorization is valid already (reused or just done) */
        lc_acme_goto(m, LC_ACME_ST_FINALIZE);

    } else if (strcmp(status, "pending") == 0
               && (state == LC_ACME_ST_NEW_ORDER
                   || state == LC_ACME_ST_RESUME))
    {
        m->authz_i = 0;
        lc_acme_goto(m, LC_ACME_ST_AUTHZ);

    } else if (strcmp(status, "pending") == 0
               && state == LC_ACME_ST_ORDER_READY)
    {
        lc_acme_poll(m, res, status);

    } else {
        lc_acme_sanitize(text, sizeof(text), status, NULL);
        lc_acme_fail(m, "acme_protocol", 0,
                     "unexpected order status \"%s\" after %s", text,
                     lc_acme_steps[state]);
    }

done:

    json_decref(order);
}


static int
lc_acme_order_urls(lc_acme_t *m, json_t *order,
    const lc_acme_response_t *res)
{
    size_t       i, n;
    json_t      *list;
    const char  *finalize, *url;

    finalize = lc_acme_str(order, "finalize");
    list = json_object_get(order, "authorizations");
    n = json_array_size(list);

    /* a resumed order is known by its URL already */

    if (m->state == LC_ACME_ST_NEW_ORDER && !lc_acme_url_ok(res->location)) {
        lc_acme_fail(m, "acme_protocol", 0,
                     "the CA's newOrder answer has no order URL");
        return -1;
    }

    if (!lc_acme_url_ok(finalize) || n == 0 || n > LC_ACME_AUTHZ_MAX) {
        lc_acme_fail(m, "acme_protocol", 0,
                     "the order lacks its finalize URL or authorizations");
        return -1;
    }

    if (m->state == LC_ACME_ST_NEW_ORDER) {
        lc_acme_copy(m->order, res->location);
        m->saves++;
    }

    lc_acme_copy(m->finalize, finalize);

    for (i = 0; i < m->nauthz; i++) {
        free(m->authz[i]);
    }

    m->nauthz = 0;

    for (i = 0; i < n; i++) {
        url = json_string_value(json_array_get(list, i));

        if (!lc_acme_url_ok(url)) {
            lc_acme_fail(m, "acme_protocol", 0,
                         "the order lists a malformed authorization URL");
            return -1;
        }

        m->authz[i] = strdup(url);
        if (m->authz[i] == NULL) {
            lc_acme_fail(m, "acme_internal", 1, "out of memory");
            return -1;
        }

        m->nauthz++;
    }

    return 0;
}


static void
lc_acme_on_authz(lc_acme_t *m, const lc_acme_response_t *res)
{
    char         text[32];
    json_t      *authz;
    const char  *status;

    authz = lc_acme_json(m, res);
    if (authz == NULL) {
        return;
    }

    status = lc_acme_str(authz, "status");

    if (status == NULL) {
        lc_acme_fail(m, "acme_protocol", 0,
                     "the CA's authorization has no status");

    } else if (strcmp(status, "valid") == 0) {
        lc_acme_next_authz(m);

    } else if (strcmp(status, "invalid") == 0) {
        lc_acme_fail_invalid(m, lc_acme_authz_error(authz),
                             "authorization");

    } else if (strcmp(status, "pending") == 0
               || strcmp(status, "processing") == 0)
    {
        if (m->state == LC_ACME_ST_AUTHZ) {
            if (lc_acme_http01(m, authz) == 0) {
                lc_acme_goto(m, LC_ACME_ST_PUBLISH);
            }

        } else {
            lc_acme_poll(m, res, status);
        }

    } else {
        /* deactivated, expired, revoked: a new order starts afresh */
        lc_acme_sanitize(text, sizeof(text), status, NULL);
        lc_acme_fail(m, "acme_rejected", 1, "the authorization is %s", text);
    }

    json_decref(authz);
}


static int
lc_acme_http01(lc_acme_t *m, json_t *authz)
{
    int          n;
    size_t       i;
    json_t      *list, *ch, *found;
    const char  *type, *token, *url, *status;

    found = NULL;
    list = json_object_get(authz, "challenges");

    json_array_foreach(list, i, ch) {
        type = lc_acme_str(ch, "type");

        if (type != NULL && strcmp(type, "http-01") == 0) {
            found = ch;
            break;
        }
    }

    if (found == NULL) {
        lc_acme_fail(m, "acme_protocol", 0,
                     "the CA offers no http-01 challenge");
        return -1;
    }

    token = lc_acme_str(found, "token");
    url = lc_acme_str(found, "url");

    /* the token becomes a path of the challenge server: base64url only */

    if (!lc_acme_b64url_ok(token, LC_ACME_TOKEN_MAX - 1)) {
        lc_acme_fail(m, "acme_protocol", 0,
                     "the http-01 token is missing or not base64url");
        return -1;
    }

    if (!lc_acme_url_ok(url)) {
        lc_acme_fail(m, "acme_protocol", 0,
                     "the http-01 challenge has no URL");
        return -1;
    }

    n = snprintf(m->keyauth, sizeof(m->keyauth), "%s.%s", token,
                 m->acct->thumbprint);

    if (n < 0 || (size_t) n >= sizeof(m->keyauth)) {
        lc_acme_fail(m, "acme_protocol", 0, "the http-01 token is too long");
        return -1;
    }

    lc_acme_copy(m->token, token);
    lc_acme_copy(m->challenge, url);

    /* RFC 8555 section 7.5.1: a challenge is started once only */

    status = lc_acme_str(found, "status");
    m->responded = (status != NULL && strcmp(status, "pending") != 0);

    return 0;
}


/* The error of an invalid authorization: its http-01 challenge's first. */

static json_t *
lc_acme_authz_error(json_t *authz)
{
    size_t       i;
    json_t      *list, *ch, *error, *found;
    const char  *type;

    found = NULL;
    list = json_object_get(authz, "challenges");

    json_array_foreach(list, i, ch) {
        error = json_object_get(ch, "error");

        if (!json_is_object(error)) {
            continue;
        }

        type = lc_acme_str(ch, "type");

        if (type != NULL && strcmp(type, "http-01") == 0) {
            return error;
        }

        if (found == NULL) {
            found = error;
        }
    }

    return found;
}


static void
lc_acme_next_authz(lc_acme_t *m)
{
    m->authz_i++;

    if (m->authz_i < m->nauthz) {
        lc_acme_goto(m, LC_ACME_ST_AUTHZ);
        return;
    }

    lc_acme_goto(m, LC_ACME_ST_ORDER_READY);
}


static void
lc_acme_on_challenge(lc_acme_t *m, const lc_acme_response_t *res)
{
    json_t      *ch;
    const char  *status;

    ch = lc_acme_json(m, res);
    if (ch == NULL) {
        return;
    }

    status = lc_acme_str(ch, "status");

    if (status != NULL && strcmp(status, "invalid") == 0) {
        lc_acme_fail_invalid(m, json_object_get(ch, "error"), "challenge");

    } else {
        /* the first poll goes at once: with a fast CA it is the last */
        lc_acme_goto(m, LC_ACME_ST_AUTHZ_POLL);
    }

    json_decref(ch);
}


static void
lc_acme_on_cert(lc_acme_t *m, const lc_acme_response_t *res)
{
    const char  *reason;

    if (lc_acme_chain_check(res->body, res->body_len, m->key, &reason)
        != 0)
    {
        lc_acme_fail(m, "acme_protocol", 0, "%s", reason);
        return;
    }

    m->chain = malloc(res->body_len + 1);
    if (m->chain == NULL) {
        lc_acme_fail(m, "acme_internal", 1, "out of memory");
        return;
    }

    memcpy(m->chain, res->body, res->body_len);
    m->chain[res->body_len] = '\0';
    m->chain_len = res->body_len;

    m->key_pem = lc_acme_key_pem(m->key, &m->key_pem_len);
    if (m->key_pem == NULL) {
        lc_acme_fail(m, "acme_internal", 1,
                     "cannot write the certificate's key");
        return;
    }

    lc_acme_goto(m, LC_ACME_ST_DONE);
}


/*
 * RFC 9773 section 4.1: a plain GET of the renewalInfo URL and the id,
 * without JWS or nonce.  Only the directory is needed, not the account.
 */

static lc_acme_action_e
lc_acme_renewal_info_get(lc_acme_t *m, lc_acme_request_t *req)
{
    int                 n;
    lc_acme_account_t  *acct;

    acct = m->acct;

    if (acct->new_order[0] == '\0') {
        lc_acme_fail(m, "acme_no_account", 1,
                     "the ACME directory is not read yet");
        return LC_ACME_FAILED;
    }

    if (acct->renewal_info[0] == '\0') {
        lc_acme_fail(m, "acme_config", 0,
                     "the CA offers no renewal information (ARI)");
        return LC_ACME_FAILED;
    }

    n = snprintf(req->url, sizeof(req->url), "%s/%s", acct->renewal_info,
                 m->cert_id);

    if (n < 0 || (size_t) n >= sizeof(req->url)) {
        req->url[0] = '\0';
        lc_acme_fail(m, "acme_protocol", 0,
                     "the CA's renewalInfo URL is too long");
        return LC_ACME_FAILED;
    }

    req->method = "GET";
    req->accept = LC_ACME_JSON;
    m->sent = LC_ACME_SENT_REQUEST;

    return LC_ACME_SEND;
}


static void
lc_acme_on_renewal_info(lc_acme_t *m, const lc_acme_response_t *res)
{
    json_t  *ari, *window;
    time_t   start, end, secs;

    ari = lc_acme_json(m, res);
    if (ari == NULL) {
        return;
    }

    window = json_object_get(ari, "suggestedWindow");

    if (!json_is_object(window)
        || lc_acme_rfc3339(lc_acme_str(window, "start"), &start) != 0
        || lc_acme_rfc3339(lc_acme_str(window, "end"), &end) != 0)
    {
        lc_acme_fail(m, "acme_protocol", 0,
                     "the CA's renewalInfo answer has no readable "
                     "suggestedWindow");
        goto done;
    }

    if (end <= start) {
        lc_acme_fail(m, "acme_protocol", 0,
                     "the CA's suggested renewal window does not end "
                     "after its start");
        goto done;
    }

    /* section 4.3: when to ask again; the caller clamps it */

    if (lc_acme_retry_after(res->retry_after, m->now, &secs) != 0) {
        secs = 0;
    }

    m->window_start = start;
    m->window_end = end;
    m->window_retry = secs;

    lc_acme_goto(m, LC_ACME_ST_DONE);

done:

    json_decref(ari);
}


static void
lc_acme_http_error(lc_acme_t *m, const lc_acme_response_t *res,
    lc_acme_sent_e sent)
{
    int          transient;
    json_t      *problem;
    const char  *type, *step;

    step = sent == LC_ACME_SENT_NONCE ? "newNonce" : lc_acme_steps[m->state];
    problem = NULL;
    type = NULL;

    if (res->status >= 400 && res->body != NULL && res->body_len != 0) {
        problem = json_loadb(res->body, res->body_len, 0, NULL);
        type = lc_acme_str(problem, "type");

        if (type == NULL) {
            json_decref(problem);
            problem = NULL;
        }
    }

    if (type != NULL && strcmp(type, LC_ACME_URN "badNonce") == 0
        && sent == LC_ACME_SENT_REQUEST)
    {
        json_decref(problem);

        /* the state stays: the same request goes again, newly signed */

        if (m->bad_nonces < LC_ACME_NONCE_RETRIES) {
            m->bad_nonces++;
            return;
        }

        lc_acme_fail(m, LC_ACME_URN "badNonce", 1,
                     "the CA rejected %d nonces in a row (%s)",
                     LC_ACME_NONCE_RETRIES + 1, step);
        return;
    }

    m->bad_nonces = 0;

    if (lc_acme_retry_after(res->retry_after, m->now, &m->retry_after)
        != 0)
    {
        m->retry_after = 0;
    }

    transient = res->status >= 500 || lc_acme_transient_type(type);
    m->unreachable = res->status >= 500;

    if (problem != NULL) {
        lc_acme_fail_problem(m, problem, transient);
        json_decref(problem);
        return;
    }

    if (res->status >= 500) {
        lc_acme_fail(m, "acme_server", 1, "HTTP %d from the CA (%s)",
                     res->status, step);
        return;
    }

    lc_acme_fail(m, "acme_protocol", 0, "unexpected HTTP %d from the CA (%s)",
                 res->status, step);
}


/*
 * The object is still in progress: wait as the CA asks (1 to 60 s), or
 * 0.05, 0.1, 0.2 ... 3.2, 5, 5 ... s, a bounded number of times.
 */

static void
lc_acme_poll(lc_acme_t *m, const lc_acme_response_t *res,
    const char *status)
{
    char    text[32];
    time_t  secs;

    if (m->polls >= LC_ACME_POLLS_MAX) {
        lc_acme_sanitize(text, sizeof(text), status, NULL);
        lc_acme_fail(m, "acme_timeout", 1,
                     "the %s was still %s after %d polls",
                     lc_acme_steps[m->state], text, LC_ACME_POLLS_MAX);
        return;
    }

    m->polls++;

    if (lc_acme_retry_after(res->retry_after, m->now, &secs) == 0) {

        if (secs < LC_ACME_WAIT_MIN) {
            secs = LC_ACME_WAIT_MIN;

        } else if (secs > LC_ACME_WAIT_MAX) {
            secs = LC_ACME_WAIT_MAX;
        }

        m->delay_ms = (unsigned) secs * 1000;
        return;
    }

    /* a fast CA is done within a fraction of a second: look soon */

    m->delay_ms = m->backoff;
    m->backoff = (m->backoff * 2 < LC_ACME_BACKOFF_MAX)
                 ? m->backoff * 2 : LC_ACME_BACKOFF_MAX;
}


static void
lc_acme_goto(lc_acme_t *m, lc_acme_state_e state)
{
    m->state = state;
    m->polls = 0;
    m->backoff = LC_ACME_BACKOFF_FIRST;
    m->delay_ms = 0;
}


static void
lc_acme_fail(lc_acme_t *m, const char *type, int transient,
    const char *fmt, ...)
{
    char     detail[LC_ERROR_DETAIL_LEN];
    va_list  args;

    va_start(args, fmt);
    vsnprintf(detail, sizeof(detail), fmt, args);
    va_end(args);

    lc_error_set(&m->err, type, "%s", detail);
    m->transient = transient;
    m->state = LC_ACME_ST_FAILED;
    m->delay_ms = 0;
}


/*
 * An RFC 7807 problem: its type as the error type, its detail and the
 * first subproblem's as the sentence, all reduced to printable ASCII.
 */

static void
lc_acme_fail_problem(lc_acme_t *m, json_t *problem, int transient)
{
    char         type[LC_ERROR_TYPE_LEN], detail[LC_ERROR_DETAIL_LEN];
    size_t       len;
    json_t      *sub;
    const char  *text;

    text = lc_acme_str(problem, "type");

    if (text == NULL
        || lc_acme_sanitize(type, sizeof(type), text, NULL) == 0)
    {
        memcpy(type, "acme_protocol", sizeof("acme_protocol"));
    }

    len = 0;
    text = lc_acme_str(problem, "detail");

    if (text != NULL) {
        len = lc_acme_sanitize(detail, sizeof(detail), text, m->token);
    }

    sub = json_array_get(json_object_get(problem, "subproblems"), 0);
    text = lc_acme_str(sub, "detail");

    if (text != NULL && len + 3 < sizeof(detail)) {
        if (len != 0) {
            memcpy(detail + len, "; ", 2);
            len += 2;
        }

        len += lc_acme_sanitize(detail + len, sizeof(detail) - len, text,
                                m->token);
    }

    if (len == 0) {
        memcpy(detail, LC_ACME_NO_DETAIL, sizeof(LC_ACME_NO_DETAIL));
    }

    lc_error_set(&m->err, type, "%s", detail);
    m->transient = transient
                   || lc_acme_transient_type(lc_acme_str(problem, "type"));
    m->state = LC_ACME_ST_FAILED;
    m->delay_ms = 0;
}


/* An order, authorization or challenge went "invalid". */

static void
lc_acme_fail_invalid(lc_acme_t *m, json_t *error, const char *what)
{
    if (lc_acme_str(error, "type") != NULL) {
        lc_acme_fail_problem(m, error, 0);
        return;
    }

    lc_acme_fail(m, "acme_rejected", 0,
                 "the CA marked the %s invalid without a reason", what);
}


static int
lc_acme_transient_type(const char *type)
{
    if (type == NULL || strncmp(type, LC_ACME_URN, sizeof(LC_ACME_URN) - 1)
                        != 0)
    {
        return 0;
    }

    type += sizeof(LC_ACME_URN) - 1;

    return strcmp(type, "badNonce") == 0
           || strcmp(type, "rateLimited") == 0
           || strcmp(type, "serverInternal") == 0;
}


static json_t *
lc_acme_json(lc_acme_t *m, const lc_acme_response_t *res)
{
    json_t  *json;

    json = NULL;

    if (res->body != NULL && res->body_len != 0) {
        json = json_loadb(res->body, res->body_len, 0, NULL);
    }

    if (!json_is_object(json)) {
        json_decref(json);
        lc_acme_fail(m, "acme_protocol", 0,
                     "the CA's %s answer is not a JSON object",
                     lc_acme_steps[m->state]);
        return NULL;
    }

    return json;
}


static const char *
lc_acme_str(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}


static void
lc_acme_take_nonce(lc_acme_t *m, const lc_acme_response_t *res)
{
    if (lc_acme_b64url_ok(res->nonce, LC_ACME_NONCE_MAX - 1)) {
        lc_acme_copy(m->acct->nonce, res->nonce);
    }
}


/*
 * A URL that fits our buffers and cannot break the request line or a
 * header when the glue sends it.
 */

static int
lc_acme_url_ok(const char *url)
{
    size_t  i;

    if (url == NULL
        || (strncmp(url, "https://", 8) != 0
            && strncmp(url, "http://", 7) != 0))
    {
        return 0;
    }

    for (i = 0; url[i] != '\0'; i++) {
        if (i == LC_ACME_URL_MAX - 1
            || (unsigned char) url[i] <= 0x20
            || (unsigned char) url[i] >= 0x7f)
        {
            return 0;
        }
    }

    return 1;
}


/* base64url, 1 to max characters */

static int
lc_acme_b64url_ok(const char *s, size_t max)
{
    size_t  i;

    if (s == NULL || s[0] == '\0') {
        return 0;
    }

    for (i = 0; s[i] != '\0'; i++) {
        if (i == max || !lc_acme_b64url_char(s[i])) {
            return 0;
        }
    }

    return 1;
}


/*
 * An ARI id as lc_acme_cert_id() makes it: base64url "." base64url, both
 * parts non-empty; it goes into a URL path and a JSON payload.
 */

static int
lc_acme_cert_id_ok(const char *id)
{
    size_t  i, dot;

    if (id == NULL) {
        return 0;
    }

    dot = 0;

    for (i = 0; id[i] != '\0'; i++) {
        if (i == LC_ACME_CERT_ID_LEN - 1) {
            return 0;
        }

        if (id[i] == '.') {
            if (dot != 0 || i == 0) {
                return 0;
            }

            dot = i;
            continue;
        }

        if (!lc_acme_b64url_char(id[i])) {
            return 0;
        }
    }

    return dot != 0 && id[dot + 1] != '\0';
}


static int
lc_acme_b64url_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
           || (c >= '0' && c <= '9') || c == '-' || c == '_';
}


/* src has been checked to fit */

static void
lc_acme_copy(char *dst, const char *src)
{
    memmove(dst, src, strlen(src) + 1);
}


/*
 * Printable ASCII only: the text goes to logs, a status API and a support
 * agent's screen.  Whitespace becomes a space, any other byte (a UTF-8
 * sequence as a whole) a "?".  The challenge token, when given, becomes
 * "...": it would take a third of the short detail where the CA quotes the
 * challenge URL, and cut off the reason after it.  Returns the length
 * written.
 */

static size_t
lc_acme_sanitize(char *dst, size_t size, const char *src, const char *elide)
{
    size_t          n, elen;
    unsigned char   c;

    n = 0;
    elen = elide != NULL ? strlen(elide) : 0;

    if (size == 0) {
        return 0;
    }

    while (*src != '\0' && n + 1 < size) {

        if (elen != 0 && strncmp(src, elide, elen) == 0) {
            src += elen;

            if (n + 4 > size) {
                break;
            }

            memcpy(dst + n, "...", 3);
            n += 3;
            continue;
        }

        c = (unsigned char) *src++;

        if (c >= 0x80 && c < 0xc0) {
            continue;
        }

        if (c == '\t' || c == '\n' || c == '\r') {
            c = ' ';

        } else if (c < 0x20 || c >= 0x7f) {
            c = '?';
        }

        dst[n++] = (char) c;
    }

    dst[n] = '\0';

    return n;
}


/*
 * RFC 9110 section 10.2.3: delta-seconds or an HTTP-date, as seconds
 * from now.  Returns 0, or -1 when absent or unreadable.
 */

static int
lc_acme_retry_after(const char *value, time_t now, time_t *secs)
{
    time_t  n, date;

    if (value == NULL) {
        return -1;
    }

    while (*value == ' ' || *value == '\t') {
        value++;
    }

    if (*value >= '0' && *value <= '9') {
        n = 0;

        for ( /* void */ ; *value >= '0' && *value <= '9'; value++) {
            if (n < LC_ACME_RETRY_AFTER_MAX) {
                n = n * 10 + (*value - '0');
            }
        }

        while (*value == ' ' || *value == '\t') {
            value++;
        }

        if (*value != '\0') {
            return -1;
        }

        *secs = n < LC_ACME_RETRY_AFTER_MAX ? n : LC_ACME_RETRY_AFTER_MAX;

        return 0;
    }

    date = lc_acme_http_date(value);
    if (date == (time_t) -1) {
        return -1;
    }

    n = date > now ? date - now : 0;
    *secs = n < LC_ACME_RETRY_AFTER_MAX ? n : LC_ACME_RETRY_AFTER_MAX;

    return 0;
}


/*
 * IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT", the only form a sender
 * may generate; the obsolete forms count as unreadable.
 */

static time_t
lc_acme_http_date(const char *p)
{
    int          day, mon, year, hour, min, sec;
    long         days;
    const char  *months, *m;

    months = "JanFebMarAprMayJunJulAugSepOctNovDec";

    p = strchr(p, ',');
    if (p == NULL || p[1] != ' ') {
        return (time_t) -1;
    }

    p += 2;

    if (lc_acme_digits(&p, 2, &day) != 0 || *p++ != ' ') {
        return (time_t) -1;
    }

    for (m = months, mon = 1; *m != '\0'; m += 3, mon++) {
        if (strncmp(p, m, 3) == 0) {
            break;
        }
    }

    if (*m == '\0' || p[3] != ' ') {
        return (time_t) -1;
    }

    p += 4;

    if (lc_acme_digits(&p, 4, &year) != 0 || *p++ != ' '
        || lc_acme_digits(&p, 2, &hour) != 0 || *p++ != ':'
        || lc_acme_digits(&p, 2, &min) != 0 || *p++ != ':'
        || lc_acme_digits(&p, 2, &sec) != 0
        || strncmp(p, " GMT", 4) != 0)
    {
        return (time_t) -1;
    }

    if (lc_acme_days(year, mon, day, &days) != 0 || hour > 23 || min > 59
        || sec > 60)
    {
        return (time_t) -1;
    }

    return (time_t) days * 86400 + hour * 3600 + min * 60 + sec;
}


/*
 * RFC 3339 section 5.6, "2025-01-02T04:00:00Z" and the like: fractional
 * seconds are dropped, a numeric offset is applied, "t" and "z" may be
 * lower case.  Returns 0, or -1 when absent or unreadable.
 */

static int
lc_acme_rfc3339(const char *p, time_t *t)
{
    int   year, mon, day, hour, min, sec, oh, om;
    long  days, offset;

    if (p == NULL) {
        return -1;
    }

    if (lc_acme_digits(&p, 4, &year) != 0 || *p++ != '-'
        || lc_acme_digits(&p, 2, &mon) != 0 || *p++ != '-'
        || lc_acme_digits(&p, 2, &day) != 0 || (*p != 'T' && *p != 't'))
    {
        return -1;
    }

    p++;

    if (lc_acme_digits(&p, 2, &hour) != 0 || *p++ != ':'
        || lc_acme_digits(&p, 2, &min) != 0 || *p++ != ':'
        || lc_acme_digits(&p, 2, &sec) != 0)
    {
        return -1;
    }

    if (*p == '.') {
        p++;

        if (*p < '0' || *p > '9') {
            return -1;
        }

        while (*p >= '0' && *p <= '9') {
            p++;
        }
    }

    if (*p == 'Z' || *p == 'z') {
        offset = 0;
        p++;

    } else if (*p == '+' || *p == '-') {
        offset = *p++ == '-' ? -1 : 1;

        if (lc_acme_digits(&p, 2, &oh) != 0 || *p++ != ':'
            || lc_acme_digits(&p, 2, &om) != 0 || oh > 23 || om > 59)
        {
            return -1;
        }

        offset *= oh * 3600L + om * 60L;

    } else {
        return -1;
    }

    if (*p != '\0' || lc_acme_days(year, mon, day, &days) != 0
        || hour > 23 || min > 59 || sec > 60)
    {
        return -1;
    }

    /* local time = UTC + offset */

    *t = (time_t) days * 86400 + hour * 3600 + min * 60 + sec - offset;

    return 0;
}


/*
 * Days from 1970-01-01 to a date of the proleptic Gregorian calendar,
 * 1970 or later.  Returns 0, or -1 for a date that does not exist.
 */

static int
lc_acme_days(int year, int mon, int day, long *days)
{
    int                leap;
    long               y, era, yoe, doy, doe;
    static const int   mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
                                   30, 31 };

    if (year < 1970 || mon < 1 || mon > 12 || day < 1) {
        return -1;
    }

    leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

    if (day > mdays[mon - 1] + (mon == 2 && leap)) {
        return -1;
    }

    y = year - (mon <= 2);
    era = y / 400;
    yoe = y - era * 400;
    doy = (153 * (mon > 2 ? mon - 3 : mon + 9) + 2) / 5 + day - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    *days = era * 146097 + doe - 719468;

    return 0;
}


static int
lc_acme_digits(const char **p, int n, int *value)
{
    int  i;

    *value = 0;

    for (i = 0; i < n; i++) {
        if ((*p)[i] < '0' || (*p)[i] > '9') {
            return -1;
        }

        *value = *value * 10 + ((*p)[i] - '0');
    }

    *p += n;

    return 0;
}
