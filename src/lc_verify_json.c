
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: a finished verification as the status JSON's "dns" object.
 *
 * The text is stored in the shared table, in LC_DNS_JSON_MAX bytes, and
 * parsed again for each status request: it must be valid JSON that fits,
 * whatever the run found.  A long CNAME chain or many records are cut
 * rather than the whole object lost.
 */


#ifndef _GNU_SOURCE
#define _GNU_SOURCE                     /* strnlen() */
#endif

#include <string.h>
#include <jansson.h>

#include "lc_dnsmsg.h"
#include "lc_status.h"


#define LC_VJSON_FLAGS  (JSON_COMPACT | JSON_PRESERVE_ORDER)

#define lc_min(a, b)  ((a) < (b) ? (a) : (b))


static json_t *lc_vjson_build(const lc_verify_t *v, time_t checked_at);
static json_t *lc_vjson_chain(const lc_verify_t *v);
static json_t *lc_vjson_addrs(const lc_verify_t *v);
static json_t *lc_vjson_caa(const lc_verify_t *v);
static json_t *lc_vjson_error(const lc_verify_t *v);
static int lc_vjson_drop(json_t *obj);
static json_t *lc_vjson_text(const char *s, size_t max);


size_t
lc_verify_dns_json(const lc_verify_t *v, time_t checked_at, char *buf,
    size_t size)
{
    int      truncated;
    size_t   n;
    json_t  *obj;

    if (buf == NULL || size == 0) {
        return 0;
    }

    buf[0] = '\0';

    if (v == NULL) {
        return 0;
    }

    obj = lc_vjson_build(v, checked_at);
    if (obj == NULL) {
        return 0;
    }

    truncated = 0;

    /* each pass drops one entry: at most a few dozen passes */

    for ( ;; ) {
        n = json_dumpb(obj, buf, size - 1, LC_VJSON_FLAGS);
        if (n == 0) {
            break;
        }

        if (n < size) {
            buf[n] = '\0';
            json_decref(obj);
            return n;
        }

        if (!truncated) {
            /* a new key: it goes last, and is counted from now on */

            if (json_object_set_new(obj, "truncated", json_true()) != 0) {
                break;
            }

            truncated = 1;
            continue;
        }

        if (lc_vjson_drop(obj) != 0) {
            break;
        }
    }

    json_decref(obj);
    buf[0] = '\0';

    return 0;
}


static json_t *
lc_vjson_build(const lc_verify_t *v, time_t checked_at)
{
    char     at[32];
    json_t  *obj;

    obj = json_object();
    if (obj == NULL) {
        return NULL;
    }

    lc_time_rfc3339(checked_at, at);

    /* json_object_set_new() takes the value, even a NULL one, and fails */

    if (json_object_set_new(obj, "verified",
                            json_boolean(v->state == LC_VERIFY_VERIFIED))
        || json_object_set_new(obj, "checked_at", json_string(at))
        || json_object_set_new(obj, "cname_chain", lc_vjson_chain(v))
        || json_object_set_new(obj, "addresses", lc_vjson_addrs(v))
        || json_object_set_new(obj, "caa", lc_vjson_caa(v))
        || json_object_set_new(obj, "error", lc_vjson_error(v)))
    {
        json_decref(obj);
        return NULL;
    }

    return obj;
}


static json_t *
lc_vjson_chain(const lc_verify_t *v)
{
    size_t   i, n;
    json_t  *arr;

    arr = json_array();
    if (arr == NULL) {
        return NULL;
    }

    n = lc_min(v->nchain, LC_VERIFY_MAX_HOPS + 1);

    for (i = 0; i < n; i++) {
        if (json_array_append_new(arr, lc_vjson_text(v->chain[i],
                                                     sizeof(v->chain[i])))
            != 0)
        {
            json_decref(arr);
            return NULL;
        }
    }

    return arr;
}


static json_t *
lc_vjson_addrs(const lc_verify_t *v)
{
    char     text[LC_ADDR_STRLEN];
    size_t   i, n;
    json_t  *arr;

    arr = json_array();
    if (arr == NULL) {
        return NULL;
    }

    n = lc_min(v->naddrs, 2 * LC_VERIFY_MAX_ADDRS);

    for (i = 0; i < n; i++) {
        if (lc_addr_format(&v->addrs[i], text, sizeof(text)) != 0) {
            continue;
        }

        if (json_array_append_new(arr, json_string(text)) != 0) {
            json_decref(arr);
            return NULL;
        }
    }

    return arr;
}


static json_t *
lc_vjson_caa(const lc_verify_t *v)
{
    size_t           i, n;
    json_t          *arr, *obj;
    const lc_caa_t  *caa;

    arr = json_array();
    if (arr == NULL) {
        return NULL;
    }

    n = lc_min(v->ncaa, LC_VERIFY_MAX_CAA);

    for (i = 0; i < n; i++) {
        caa = &v->caa[i];

        obj = json_object();

        if (json_array_append_new(arr, obj) != 0
            || json_object_set_new(obj, "owner",
                                   lc_vjson_text(v->caa_owner,
                                                 sizeof(v->caa_owner)))
            || json_object_set_new(obj, "flags",
                                   json_integer(caa->critical ? 128 : 0))
            || json_object_set_new(obj, "tag",
                                   lc_vjson_text(caa->tag,
                                                 sizeof(caa->tag)))
            || json_object_set_new(obj, "value",
                                   lc_vjson_text(caa->value,
                                                 sizeof(caa->value))))
        {
            json_decref(arr);
            return NULL;
        }
    }

    return arr;
}


static json_t *
lc_vjson_error(const lc_verify_t *v)
{
    json_t  *obj;

    if (v->state != LC_VERIFY_FAILED && v->state != LC_VERIFY_TRANSIENT) {
        return json_null();
    }

    obj = json_object();
    if (obj == NULL) {
        return NULL;
    }

    if (json_object_set_new(obj, "type",
                            lc_vjson_text(v->error.type,
                                          sizeof(v->error.type)))
        || json_object_set_new(obj, "detail",
                               lc_vjson_text(v->error.detail,
                                             sizeof(v->error.detail))))
    {
        json_decref(obj);
        return NULL;
    }

    return obj;
}


/*
 * Drops one entry: the last CAA record, else the last address, else the
 * hop before the last of the chain.  The first hop, what the customer
 * configured, stays longest.  Returns -1 when nothing is left to drop.
 */

static int
lc_vjson_drop(json_t *obj)
{
    size_t   n;
    json_t  *arr, *error;

    arr = json_object_get(obj, "caa");
    n = json_array_size(arr);

    if (n > 0) {
        return json_array_remove(arr, n - 1);
    }

    arr = json_object_get(obj, "addresses");
    n = json_array_size(arr);

    if (n > 0) {
        return json_array_remove(arr, n - 1);
    }

    arr = json_object_get(obj, "cname_chain");
    n = json_array_size(arr);

    if (n > 2) {
        return json_array_remove(arr, n - 2);
    }

    /*
     * Within LC_DNS_JSON_MAX the above always suffices for what
     * lc_verify produces; these are for a smaller buffer.
     */

    if (n == 2) {
        return json_array_remove(arr, 1);
    }

    error = json_object_get(obj, "error");

    if (json_string_length(json_object_get(error, "detail")) > 0) {
        return json_object_set_new(error, "detail", json_string(""));
    }

    return -1;
}


/*
 * At most max bytes of s (it need not be NUL-terminated) as a JSON
 * string of printable ASCII: what comes from the DNS already is, and
 * this bounds the escaped text to twice its length.
 */

static json_t *
lc_vjson_text(const char *s, size_t max)
{
    char           buf[LC_DOMAIN_MAX + 1];
    size_t         i, len;
    unsigned char  c;

    len = strnlen(s, lc_min(max, sizeof(buf)));

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];
        buf[i] = (c >= 0x20 && c < 0x7f) ? (char) c : '?';
    }

    return json_stringn(buf, len);
}
