
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the webhook's event body and its signature.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "lc_webhook.h"


char *
lc_webhook_event(const char *id, time_t at, const lc_record_t *rec,
    lc_status_e previous, size_t *len)
{
    json_t  *ev, *object;
    char     when[32];

    ev = json_object();
    object = lc_status_full_json(rec);

    if (ev == NULL || object == NULL) {
        json_decref(ev);
        json_decref(object);
        return NULL;
    }

    lc_time_rfc3339(at, when);

    if (json_object_set_new(ev, "id", json_string(id))
        || json_object_set_new(ev, "type", json_string("domain.status"))
        || json_object_set_new(ev, "at", json_string(when))
        || json_object_set(ev, "domain",
                           json_object_get(object, "domain"))
        || json_object_set_new(ev, "status",
                               json_string(lc_status_name(rec->status)))
        || json_object_set_new(ev, "previous_status",
                               json_string(lc_status_name(previous)))
        || json_object_set_new(ev, "object", object))
    {
        json_decref(ev);
        return NULL;
    }

    return lc_json_dump(ev, len);
}


int
lc_webhook_event_domain(const char *body, size_t len, char *domain)
{
    int          rc;
    json_t      *ev;
    const char  *name;

    ev = json_loadb(body, len, 0, NULL);
    name = json_string_value(json_object_get(ev, "domain"));
    rc = -1;

    if (name && strlen(name) <= LC_DOMAIN_MAX) {
        strcpy(domain, name);
        rc = 0;
    }

    json_decref(ev);

    return rc;
}


int
lc_webhook_sign(const unsigned char *secret, size_t secret_len,
    long long t, const char *body, size_t body_len, char *sig)
{
    int             n;
    char           *signed_text;
    size_t          i;
    unsigned int    mac_len;
    unsigned char   mac[EVP_MAX_MD_SIZE];

    static const char  hex[] = "0123456789abcdef";

    if (t < 0 || secret_len > (size_t) 0x7fffffff || body_len > 0x7fffffff) {
        return -1;
    }

    /* what is signed: "<t>.<body>" */

    signed_text = malloc(24 + body_len);
    if (signed_text == NULL) {
        return -1;
    }

    n = snprintf(signed_text, 24, "%lld.", t);
    memcpy(signed_text + n, body, body_len);

    if (HMAC(EVP_sha256(), secret, (int) secret_len,
             (unsigned char *) signed_text, (size_t) n + body_len, mac,
             &mac_len)
        == NULL
        || mac_len != 32)
    {
        free(signed_text);
        return -1;
    }

    free(signed_text);

    n = snprintf(sig, LC_WEBHOOK_SIGNATURE_LEN, "t=%lld,v1=", t);

    for (i = 0; i < mac_len; i++) {
        sig[n++] = hex[mac[i] >> 4];
        sig[n++] = hex[mac[i] & 0xf];
    }

    sig[n] = '\0';

    return 0;
}
