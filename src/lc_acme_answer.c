/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: what every answer of a CA goes through (lc_acme.c has the
 * machines): HTTP errors and problem documents, polls and their waits,
 * the moves to the next state or to failure, and the checks of the URLs,
 * nonces, ids and dates a CA sends.
 */


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "lc_acme_int.h"


static void lc_acme_fail_named(lc_acme_t *m, const char *type,
    int transient, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static void lc_acme_vfail(lc_acme_t *m, const char *type, int transient,
    const char *fmt, va_list args);
static void lc_acme_fail_problem(lc_acme_t *m, json_t *problem,
    int transient);
static int lc_acme_transient_type(const char *type);
static int lc_acme_b64url_char(char c);
static time_t lc_acme_http_date(const char *p);
static int lc_acme_days(int year, int mon, int day, long *days);
static int lc_acme_digits(const char **p, int n, int *value);


void
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

        lc_acme_fail_named(m, LC_ACME_URN "badNonce", 1,
                           "the CA rejected %d nonces in a row (%s)",
                           LC_ACME_NONCE_RETRIES + 1, step);
        return;
    }

    m->bad_nonces = 0;

    /*
     * A challenge started by another process since this one read it (a
     * fleet's takeover of an order): the CA refuses to start it again
     * (Pebble: malformed, "only status pending").  The authorization is
     * read again, once: it says whether the validation is under way, done
     * or still to be started.
     */

    if (m->state == LC_ACME_ST_CHALLENGE && sent == LC_ACME_SENT_REQUEST
        && res->status == 400 && type != NULL
        && strcmp(type, LC_ACME_URN "malformed") == 0 && !m->rechecked)
    {
        json_decref(problem);
        m->rechecked = 1;
        lc_acme_goto(m, LC_ACME_ST_AUTHZ);
        return;
    }

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
        lc_acme_fail(m, LC_ERR_ACME_SERVER, 1, "HTTP %d from the CA (%s)",
                     res->status, step);
        return;
    }

    lc_acme_fail(m, LC_ERR_ACME_PROTOCOL, 0,
                 "unexpected HTTP %d from the CA (%s)", res->status, step);
}


/*
 * The object is still in progress: wait as the CA asks (1 to 60 s), or
 * 0.05, 0.1, 0.2 ... 3.2, 5, 5 ... s, a bounded number of times.
 */

void
lc_acme_poll(lc_acme_t *m, const lc_acme_response_t *res,
    const char *status)
{
    char    text[32];
    time_t  secs;

    if (m->polls >= LC_ACME_POLLS_MAX) {
        lc_acme_sanitize(text, sizeof(text), status, NULL);
        lc_acme_fail(m, LC_ERR_ACME_TIMEOUT, 1,
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


void
lc_acme_goto(lc_acme_t *m, lc_acme_state_e state)
{
    m->state = state;
    m->polls = 0;
    m->backoff = LC_ACME_BACKOFF_FIRST;
    m->delay_ms = 0;
}


void
lc_acme_fail(lc_acme_t *m, lc_error_type_e type, int transient,
    const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    lc_acme_vfail(m, lc_error_name(type), transient, fmt, args);
    va_end(args);
}


/* the same with a CA's problem type */

static void
lc_acme_fail_named(lc_acme_t *m, const char *type, int transient,
    const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    lc_acme_vfail(m, type, transient, fmt, args);
    va_end(args);
}


static void
lc_acme_vfail(lc_acme_t *m, const char *type, int transient,
    const char *fmt, va_list args)
{
    char  detail[LC_ERROR_DETAIL_LEN];

    vsnprintf(detail, sizeof(detail), fmt, args);

    lc_error_set_name(&m->err, type, "%s", detail);
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
    const char  *text, *name;

    text = lc_acme_str(problem, "type");
    name = type;

    if (text == NULL
        || lc_acme_sanitize(type, sizeof(type), text, NULL) == 0)
    {
        name = lc_error_name(LC_ERR_ACME_PROTOCOL);
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

    lc_error_set_name(&m->err, name, "%s", detail);
    m->transient = transient
                   || lc_acme_transient_type(lc_acme_str(problem, "type"));
    m->state = LC_ACME_ST_FAILED;
    m->delay_ms = 0;
}


/* An order, authorization or challenge went "invalid". */

void
lc_acme_fail_invalid(lc_acme_t *m, json_t *error, const char *what)
{
    if (lc_acme_str(error, "type") != NULL) {
        lc_acme_fail_problem(m, error, 0);
        return;
    }

    lc_acme_fail(m, LC_ERR_ACME_REJECTED, 0,
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


json_t *
lc_acme_json(lc_acme_t *m, const lc_acme_response_t *res)
{
    json_t  *json;

    json = NULL;

    if (res->body != NULL && res->body_len != 0) {
        json = json_loadb(res->body, res->body_len, 0, NULL);
    }

    if (!json_is_object(json)) {
        json_decref(json);
        lc_acme_fail(m, LC_ERR_ACME_PROTOCOL, 0,
                     "the CA's %s answer is not a JSON object",
                     lc_acme_steps[m->state]);
        return NULL;
    }

    return json;
}


const char *
lc_acme_str(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}


void
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

int
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

int
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

int
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

void
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

size_t
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

int
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

int
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
