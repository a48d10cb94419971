/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the ACME client's requests (lc_acme.c has the machines): the
 * JWS POST of each state, its URL and payload, and the answers of the
 * account machine, the directory and newAccount.
 */


#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lc_acme_int.h"
#include "lc_acme_key.h"
#include "lc_jws.h"


static const char *lc_acme_post_url(lc_acme_t *m);
static json_t *lc_acme_account_payload(lc_acme_t *m);
static json_t *lc_acme_order_payload(lc_acme_t *m);


/*
 * The JWS of the current state, signed with the account's current nonce,
 * which is used up: every answer brings the next one.
 */

int
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


void
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
        lc_acme_fail(m, LC_ERR_ACME_PROTOCOL, 0,
                     "the directory lacks newNonce, newAccount or newOrder");
        goto done;
    }

    meta = json_object_get(dir, "meta");

    if (json_is_true(json_object_get(meta, "externalAccountRequired"))
        && acct->eab_kid == NULL)
    {
        lc_acme_fail(m, LC_ERR_ACME_CONFIG, 0,
                     "the CA requires external account binding (EAB) and "
                     "no EAB key is configured");
        goto done;
    }

    if (acct->eab_kid != NULL
        && (acct->eab_hmac == NULL || acct->eab_hmac_len == 0))
    {
        lc_acme_fail(m, LC_ERR_ACME_CONFIG, 0,
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


void
lc_acme_on_account(lc_acme_t *m, const lc_acme_response_t *res)
{
    char         text[32];
    json_t      *account;
    const char  *status;

    /* 201: created, 200: the key had an account already */

    if (!lc_acme_url_ok(res->location)) {
        lc_acme_fail(m, LC_ERR_ACME_PROTOCOL, 0,
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
        lc_acme_fail(m, LC_ERR_ACME_REJECTED, 0, "the ACME account is %s",
                     text);
        json_decref(account);
        return;
    }

    json_decref(account);

    lc_acme_copy(m->acct->kid, res->location);
    lc_acme_goto(m, LC_ACME_ST_DONE);
}
