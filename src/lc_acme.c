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
 *
 * This file has the machines; lc_acme_request.c builds the requests and
 * reads the account's answers, lc_acme_order.c the order's and the
 * renewal information's, lc_acme_answer.c has what every answer goes
 * through (errors, waits, checks); lc_acme_int.h is what they share.
 */


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "lc_acme_int.h"
#include "lc_acme_key.h"
#include "lc_jws.h"


const char  *lc_acme_steps[] = {
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
static void lc_acme_json_cleanse(json_t *str);


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
        lc_acme_fail(m, LC_ERR_ACME_CONFIG, 0,
                     "the ACME account key is not set");
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
            lc_acme_fail(m, LC_ERR_ACME_CONFIG, 0,
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
        lc_acme_fail(m, LC_ERR_ACME_CONFIG, 0, "unknown machine or key type");
        return m;
    }

    /* the name goes into a CSR and a JSON payload: only a clean one */

    reason = "the name is not normalised";

    if (domain == NULL
        || lc_domain_normalize(domain, strlen(domain), norm, &len, &reason)
           != 0
        || strcmp(norm, domain) != 0)
    {
        lc_acme_fail(m, LC_ERR_INVALID_DOMAIN, 0, "%s", reason);
        return m;
    }

    memcpy(m->domain, norm, len + 1);

    if (replaces == NULL) {
        return m;
    }

    if (!lc_acme_cert_id_ok(replaces)) {
        lc_acme_fail(m, LC_ERR_ACME_CONFIG, 0,
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
        lc_acme_fail(m, LC_ERR_ACME_INTERNAL, 0,
                     "the saved order is not one of this domain");
        goto done;
    }

    /* a file of before the directory was kept: the one CA there was */

    if (directory != NULL && strcmp(directory, acct->directory) != 0) {
        lc_acme_fail(m, LC_ERR_ACME_INTERNAL, 0,
                     "the saved order is one of another CA");
        goto done;
    }

    if (key != NULL) {
        m->key = lc_acme_key_load(json_string_value(key),
                                  json_string_length(key));
        m->csr = m->key ? lc_acme_csr(m->key, m->domain) : NULL;

        if (m->csr == NULL) {
            lc_acme_fail(m, LC_ERR_ACME_INTERNAL, 0,
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
        lc_acme_fail(m, LC_ERR_ACME_NO_ACCOUNT, 1,
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
        lc_acme_fail(m, LC_ERR_ACME_INTERNAL, 1,
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
        lc_acme_fail(m, LC_ERR_ACME_TRANSPORT, 1,
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
            lc_acme_fail(m, LC_ERR_ACME_PROTOCOL, 0,
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
