/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the order machine's answers (lc_acme.c has the machines): the
 * order, its authorizations and HTTP-01 challenge, the certificate; and
 * the renewal information machine's request and answer (ARI, RFC 9773).
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lc_acme_int.h"
#include "lc_acme_key.h"


static int lc_acme_order_urls(lc_acme_t *m, json_t *order,
    const lc_acme_response_t *res);
static int lc_acme_http01(lc_acme_t *m, json_t *authz);
static json_t *lc_acme_authz_error(json_t *authz);
static void lc_acme_next_authz(lc_acme_t *m);


/*
 * An order object, from newOrder, a poll or finalize; the status decides
 * the next step whatever the state expected.
 */

void
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
        lc_acme_fail(m, LC_ERR_ACME_PROTOCOL, 0,
                     "the CA's %s answer has no status",
                     lc_acme_steps[state]);

    } else if (strcmp(status, "invalid") == 0) {
        lc_acme_fail_invalid(m, json_object_get(order, "error"), "order");

    } else if ((strcmp(status, "valid") == 0
                || strcmp(status, "processing") == 0)
               && m->csr == NULL)
    {
        /* a CSR of someone else's: its key is not ours to serve */
        lc_acme_fail(m, LC_ERR_ACME_PROTOCOL, 0,
                     "the order is %s before this client finalized it",
                     status);

    } else if (strcmp(status, "valid") == 0) {

        if (m->certificate[0] == '\0') {
            lc_acme_fail(m, LC_ERR_ACME_PROTOCOL, 0,
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
        lc_acme_fail(m, LC_ERR_ACME_PROTOCOL, 0,
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
        lc_acme_fail(m, LC_ERR_ACME_PROTOCOL, 0,
                     "the CA's newOrder answer has no order URL");
        return -1;
    }

    if (!lc_acme_url_ok(finalize) || n == 0 || n > LC_ACME_AUTHZ_MAX) {
        lc_acme_fail(m, LC_ERR_ACME_PROTOCOL, 0,
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
            lc_acme_fail(m, LC_ERR_ACME_PROTOCOL, 0,
                         "the order lists a malformed authorization URL");
            return -1;
        }

        m->authz[i] = strdup(url);
        if (m->authz[i] == NULL) {
            lc_acme_fail(m, LC_ERR_ACME_INTERNAL, 1, "out of memory");
            return -1;
        }

        m->nauthz++;
    }

    return 0;
}


void
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
        lc_acme_fail(m, LC_ERR_ACME_PROTOCOL, 0,
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
        lc_acme_fail(m, LC_ERR_ACME_REJECTED, 1, "the authorization is %s",
                     text);
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
        lc_acme_fail(m, LC_ERR_ACME_PROTOCOL, 0,
                     "the CA offers no http-01 challenge");
        return -1;
    }

    token = lc_acme_str(found, "token");
    url = lc_acme_str(found, "url");

    /* the token becomes a path of the challenge server: base64url only */

    if (!lc_acme_b64url_ok(token, LC_ACME_TOKEN_MAX - 1)) {
        lc_acme_fail(m, LC_ERR_ACME_PROTOCOL, 0,
                     "the http-01 token is missing or not base64url");
        return -1;
    }

    if (!lc_acme_url_ok(url)) {
        lc_acme_fail(m, LC_ERR_ACME_PROTOCOL, 0,
                     "the http-01 challenge has no URL");
        return -1;
    }

    n = snprintf(m->keyauth, sizeof(m->keyauth), "%s.%s", token,
                 m->acct->thumbprint);

    if (n < 0 || (size_t) n >= sizeof(m->keyauth)) {
        lc_acme_fail(m, LC_ERR_ACME_PROTOCOL, 0,
                     "the http-01 token is too long");
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


void
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


void
lc_acme_on_cert(lc_acme_t *m, const lc_acme_response_t *res)
{
    const char  *reason;

    if (lc_acme_chain_check(res->body, res->body_len, m->key, &reason)
        != 0)
    {
        lc_acme_fail(m, LC_ERR_ACME_PROTOCOL, 0, "%s", reason);
        return;
    }

    m->chain = malloc(res->body_len + 1);
    if (m->chain == NULL) {
        lc_acme_fail(m, LC_ERR_ACME_INTERNAL, 1, "out of memory");
        return;
    }

    memcpy(m->chain, res->body, res->body_len);
    m->chain[res->body_len] = '\0';
    m->chain_len = res->body_len;

    m->key_pem = lc_acme_key_pem(m->key, &m->key_pem_len);
    if (m->key_pem == NULL) {
        lc_acme_fail(m, LC_ERR_ACME_INTERNAL, 1,
                     "cannot write the certificate's key");
        return;
    }

    lc_acme_goto(m, LC_ACME_ST_DONE);
}


/*
 * RFC 9773 section 4.1: a plain GET of the renewalInfo URL and the id,
 * without JWS or nonce.  Only the directory is needed, not the account.
 */

lc_acme_action_e
lc_acme_renewal_info_get(lc_acme_t *m, lc_acme_request_t *req)
{
    int                 n;
    lc_acme_account_t  *acct;

    acct = m->acct;

    if (acct->new_order[0] == '\0') {
        lc_acme_fail(m, LC_ERR_ACME_NO_ACCOUNT, 1,
                     "the ACME directory is not read yet");
        return LC_ACME_FAILED;
    }

    if (acct->renewal_info[0] == '\0') {
        lc_acme_fail(m, LC_ERR_ACME_CONFIG, 0,
                     "the CA offers no renewal information (ARI)");
        return LC_ACME_FAILED;
    }

    n = snprintf(req->url, sizeof(req->url), "%s/%s", acct->renewal_info,
                 m->cert_id);

    if (n < 0 || (size_t) n >= sizeof(req->url)) {
        req->url[0] = '\0';
        lc_acme_fail(m, LC_ERR_ACME_PROTOCOL, 0,
                     "the CA's renewalInfo URL is too long");
        return LC_ACME_FAILED;
    }

    req->method = "GET";
    req->accept = LC_ACME_JSON;
    m->sent = LC_ACME_SENT_REQUEST;

    return LC_ACME_SEND;
}


void
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
        lc_acme_fail(m, LC_ERR_ACME_PROTOCOL, 0,
                     "the CA's renewalInfo answer has no readable "
                     "suggestedWindow");
        goto done;
    }

    if (end <= start) {
        lc_acme_fail(m, LC_ERR_ACME_PROTOCOL, 0,
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
