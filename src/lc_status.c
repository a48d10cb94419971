
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the status vocabulary and its JSON rendering.
 */


#ifndef _GNU_SOURCE
#define _GNU_SOURCE                     /* gmtime_r(), strnlen() */
#endif

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lc_status.h"


#define LC_JSON_FLAGS  (JSON_COMPACT | JSON_PRESERVE_ORDER)
#define LC_JSON_FIRST  1024     /* bytes: the first guess of a dump's size */


static void lc_time_digits(char *p, unsigned int v, size_t n);
static json_t *lc_json_text(const char *s, size_t max);
static json_t *lc_json_time(time_t t, int zero_is_null);
static json_t *lc_json_hex(const unsigned char *p, size_t n,
    const char *digits);
static json_t *lc_json_dates(time_t not_before, time_t not_after);
static json_t *lc_json_cert(const lc_cert_info_t *info);
static json_t *lc_json_error(const lc_record_t *rec);
static json_t *lc_json_dns(const lc_record_t *rec);


static const char *const  lc_status_names[] = {
    "unknown",
    "pending",
    "issued"
};

static const char *const  lc_stage_names[] = {
    "none",
    "verifying",
    "ordering",
    "issued",
    "renewing",
    "failed"
};


#define lc_nelts(a)  (sizeof(a) / sizeof((a)[0]))


const char *
lc_status_name(lc_status_e status)
{
    if ((unsigned int) status >= lc_nelts(lc_status_names)) {
        return lc_status_names[LC_STATUS_UNKNOWN];
    }

    return lc_status_names[status];
}


const char *
lc_stage_name(lc_stage_e stage)
{
    if ((unsigned int) stage >= lc_nelts(lc_stage_names)) {
        return lc_stage_names[LC_STAGE_NONE];
    }

    return lc_stage_names[stage];
}


int
lc_status_parse(const char *s, size_t len, lc_status_e *status)
{
    size_t  i;

    if (s == NULL) {
        return -1;
    }

    for (i = 0; i < lc_nelts(lc_status_names); i++) {
        if (strlen(lc_status_names[i]) == len
            && memcmp(lc_status_names[i], s, len) == 0)
        {
            *status = (lc_status_e) i;
            return 0;
        }
    }

    return -1;
}


void
lc_time_rfc3339(time_t t, char *buf)
{
    long       year;
    struct tm  tm;

    /*
     * RFC 3339 has four-digit years: out-of-range times are clamped, and
     * the year is zero-padded (strftime's "%Y" is not below 1000).
     */

    if (gmtime_r(&t, &tm) == NULL) {
        year = (t < 0) ? -1 : 10000;

    } else {
        year = (long) tm.tm_year + 1900;
    }

    if (year < 0) {
        memcpy(buf, "0000-01-01T00:00:00Z", sizeof("0000-01-01T00:00:00Z"));
        return;
    }

    if (year > 9999) {
        memcpy(buf, "9999-12-31T23:59:59Z", sizeof("9999-12-31T23:59:59Z"));
        return;
    }

    lc_time_digits(buf, (unsigned int) year, 4);
    buf[4] = '-';
    lc_time_digits(buf + 5, (unsigned int) tm.tm_mon + 1, 2);
    buf[7] = '-';
    lc_time_digits(buf + 8, (unsigned int) tm.tm_mday, 2);
    buf[10] = 'T';
    lc_time_digits(buf + 11, (unsigned int) tm.tm_hour, 2);
    buf[13] = ':';
    lc_time_digits(buf + 14, (unsigned int) tm.tm_min, 2);
    buf[16] = ':';
    lc_time_digits(buf + 17, (unsigned int) tm.tm_sec, 2);
    buf[19] = 'Z';
    buf[20] = '\0';
}


void
lc_status_public_fields(const lc_record_t *rec, lc_status_public_t *pub)
{
    memset(pub, 0, sizeof(lc_status_public_t));

    memcpy(pub->domain, rec->domain,
           strnlen(rec->domain, sizeof(rec->domain)));
    pub->status = rec->status;
    pub->has_cert = rec->has_cert ? 1 : 0;

    if (pub->has_cert) {
        pub->not_before = rec->cert.not_before;
        pub->not_after = rec->cert.not_after;
    }
}


json_t *
lc_status_public_json(const lc_record_t *rec)
{
    lc_status_public_t  pub;

    lc_status_public_fields(rec, &pub);

    return lc_status_public_object(&pub);
}


json_t *
lc_status_public_object(const lc_status_public_t *pub)
{
    json_t  *obj, *cert;

    obj = json_object();
    if (obj == NULL) {
        return NULL;
    }

    cert = pub->has_cert ? lc_json_dates(pub->not_before, pub->not_after)
                         : json_null();

    /* json_object_set_new() takes the value, even a NULL one, and fails */

    if (json_object_set_new(obj, "domain",
                            lc_json_text(pub->domain, sizeof(pub->domain)))
        || json_object_set_new(obj, "status",
                               json_string(lc_status_name(pub->status)))
        || json_object_set_new(obj, "certificate", cert))
    {
        json_decref(obj);
        return NULL;
    }

    return obj;
}


json_t *
lc_status_stale(json_t *json, int stale)
{
    if (json && stale) {
        (void) json_object_set_new(json, "stale", json_true());
    }

    return json;
}


json_t *
lc_status_full_json(const lc_record_t *rec)
{
    json_t  *obj, *cert, *dns, *error;

    obj = json_object();
    if (obj == NULL) {
        return NULL;
    }

    cert = rec->has_cert ? lc_json_cert(&rec->cert) : json_null();
    dns = (rec->dns_len > 0) ? lc_json_dns(rec) : json_null();
    error = rec->has_error ? lc_json_error(rec) : json_null();

    if (json_object_set_new(obj, "domain",
                            lc_json_text(rec->domain, sizeof(rec->domain)))
        || json_object_set_new(obj, "status",
                               json_string(lc_status_name(rec->status)))
        || json_object_set_new(obj, "stage",
                               json_string(lc_stage_name(rec->stage)))
        || json_object_set_new(obj, "certificate", cert)
        || json_object_set_new(obj, "dns", dns)
        || json_object_set_new(obj, "last_error", error)
        || json_object_set_new(obj, "next_attempt_at",
                               lc_json_time(rec->next_attempt_at, 1))
        || json_object_set_new(obj, "renew_at",
                               lc_json_time(rec->renew_at, 1))
        || json_object_set_new(obj, "updated_at",
                               lc_json_time(rec->updated_at, 1))
        || json_object_set_new(obj, "ca", rec->ca ? json_string(rec->ca)
                                                  : json_null()))
    {
        json_decref(obj);
        return NULL;
    }

    return obj;
}


json_t *
lc_error_json(const char *error, const char *detail)
{
    json_t  *obj;

    obj = json_object();
    if (obj == NULL) {
        return NULL;
    }

    if (error == NULL) {
        error = "";
    }

    if (json_object_set_new(obj, "error", lc_json_text(error, strlen(error)))
        || json_object_set_new(obj, "detail",
                               detail ? lc_json_text(detail, strlen(detail))
                                      : json_null()))
    {
        json_decref(obj);
        return NULL;
    }

    return obj;
}


char *
lc_json_dump(json_t *json, size_t *len)
{
    char    *buf, *p;
    size_t   size, cap;

    if (len) {
        *len = 0;
    }

    if (json == NULL) {
        return NULL;
    }

    /*
     * json_dumpb() into our own buffer, rather than json_dumps(): the
     * result is malloc()ed memory even if jansson's allocator is replaced.
     * Most answers fit in the first guess and are serialised once.
     */

    cap = LC_JSON_FIRST;

    buf = malloc(cap + 2);
    if (buf == NULL) {
        goto done;
    }

    size = json_dumpb(json, buf, cap, LC_JSON_FLAGS);

    if (size > cap) {
        cap = size;

        p = realloc(buf, cap + 2);
        if (p == NULL) {
            free(buf);
            buf = NULL;
            goto done;
        }

        buf = p;
        size = json_dumpb(json, buf, cap, LC_JSON_FLAGS);
    }

    if (size == 0 || size > cap) {
        free(buf);
        buf = NULL;
        goto done;
    }

    buf[size] = '\n';
    buf[size + 1] = '\0';

    if (len) {
        *len = size + 1;
    }

done:

    json_decref(json);

    return buf;
}


/* n decimal digits of v, zero-padded */

static void
lc_time_digits(char *p, unsigned int v, size_t n)
{
    while (n--) {
        p[n] = (char) ('0' + v % 10);
        v /= 10;
    }
}


/*
 * A JSON string of at most max bytes of s.  jansson refuses invalid UTF-8
 * (a detail copied from a remote error, say): such a string is rendered
 * with its non-ASCII bytes as '?' rather than losing the whole object.
 */

static json_t *
lc_json_text(const char *s, size_t max)
{
    char    *copy;
    size_t   i, len;
    json_t  *str;

    len = strnlen(s, max);

    str = json_stringn(s, len);
    if (str != NULL) {
        return str;
    }

    copy = malloc(len + 1);
    if (copy == NULL) {
        return NULL;
    }

    for (i = 0; i < len; i++) {
        copy[i] = ((unsigned char) s[i] < 0x80) ? s[i] : '?';
    }

    str = json_stringn(copy, len);

    free(copy);

    return str;
}


static json_t *
lc_json_time(time_t t, int zero_is_null)
{
    char  buf[32];

    if (t == 0 && zero_is_null) {
        return json_null();
    }

    lc_time_rfc3339(t, buf);

    return json_string(buf);
}


static json_t *
lc_json_hex(const unsigned char *p, size_t n, const char *digits)
{
    char    buf[2 * 32 + 1];
    size_t  i;

    if (n > 32) {
        n = 32;
    }

    for (i = 0; i < n; i++) {
        buf[2 * i] = digits[p[i] >> 4];
        buf[2 * i + 1] = digits[p[i] & 0x0f];
    }

    buf[2 * n] = '\0';

    return json_string(buf);
}


static json_t *
lc_json_dates(time_t not_before, time_t not_after)
{
    json_t  *obj;

    obj = json_object();
    if (obj == NULL) {
        return NULL;
    }

    if (json_object_set_new(obj, "not_before", lc_json_time(not_before, 0))
        || json_object_set_new(obj, "not_after", lc_json_time(not_after, 0)))
    {
        json_decref(obj);
        return NULL;
    }

    return obj;
}


static json_t *
lc_json_cert(const lc_cert_info_t *info)
{
    json_t                      *obj, *serial;
    size_t                       n;
    static const unsigned char   zero = 0;

    obj = lc_json_dates(info->not_before, info->not_after);
    if (obj == NULL) {
        return NULL;
    }

    /* a zero serial has no significant byte: still show a number */

    n = info->serial_len;

    if (n > LC_SERIAL_MAX) {
        n = LC_SERIAL_MAX;
    }

    serial = (n == 0) ? lc_json_hex(&zero, 1, "0123456789ABCDEF")
                      : lc_json_hex(info->serial, n, "0123456789ABCDEF");

    if (json_object_set_new(obj, "serial", serial)
        || json_object_set_new(obj, "issuer",
                               lc_json_text(info->issuer,
                                            sizeof(info->issuer)))
        || json_object_set_new(obj, "sha256",
                               lc_json_hex(info->sha256, sizeof(info->sha256),
                                           "0123456789abcdef")))
    {
        json_decref(obj);
        return NULL;
    }

    return obj;
}


static json_t *
lc_json_error(const lc_record_t *rec)
{
    json_t  *obj;

    obj = json_object();
    if (obj == NULL) {
        return NULL;
    }

    if (json_object_set_new(obj, "at", lc_json_time(rec->error_at, 1))
        || json_object_set_new(obj, "type",
                               lc_json_text(rec->error.type,
                                            sizeof(rec->error.type)))
        || json_object_set_new(obj, "detail",
                               lc_json_text(rec->error.detail,
                                            sizeof(rec->error.detail)))
        || json_object_set_new(obj, "source",
                               json_string(lc_error_source(rec->error.type))))
    {
        json_decref(obj);
        return NULL;
    }

    return obj;
}


/*
 * The stored "dns" object.  The text was written by lc_verify_dns_json()
 * but sits in shared memory: anything that is not an object shows as
 * null rather than costing the whole answer.
 */

static json_t *
lc_json_dns(const lc_record_t *rec)
{
    size_t   len;
    json_t  *dns;

    len = rec->dns_len;

    if (len > sizeof(rec->dns)) {
        len = sizeof(rec->dns);
    }

    dns = json_loadb(rec->dns, len, 0, NULL);

    if (dns == NULL || !json_is_object(dns)) {
        json_decref(dns);
        return json_null();
    }

    return dns;
}
