
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the smallest HTTP/1.1 client side: the response
 * (lc_http_request.c builds the request and reads URLs).
 *
 * The response comes from the network: the status line and headers are
 * kept in a fixed buffer, the body grows up to LC_HTTP_BODY_MAX, and any
 * doubt about where the body ends (conflicting Content-Length, unknown
 * transfer codings, malformed chunks) rejects the whole response rather
 * than guessing.
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "lc_ascii.h"
#include "lc_http.h"
#include "lc_http_int.h"


#define LC_HTTP_HEADERS   64


typedef enum {
    LC_HTTP_HEAD = 0,
    LC_HTTP_BODY,                       /* by Content-Length */
    LC_HTTP_BODY_EOF,                   /* to the end of the connection */
    LC_HTTP_CHUNK_SIZE,
    LC_HTTP_CHUNK_BWS,                  /* blanks before an extension */
    LC_HTTP_CHUNK_EXT,
    LC_HTTP_CHUNK_DATA,
    LC_HTTP_CHUNK_END,                  /* the CRLF after the data */
    LC_HTTP_TRAILER,
    LC_HTTP_DONE,
    LC_HTTP_ERROR
} lc_http_state_e;


typedef struct {
    const char  *name;
    const char  *value;
} lc_http_header_t;


struct lc_http_response_s {
    lc_http_state_e    state;
    int                status;
    int                head_only;
    int                chunked;
    int                have_length;
    int                cr;              /* a CR was seen: LF must follow */
    int                digits;          /* of the chunk size */

    /* Content-Length, then what is left of the body or the chunk */
    size_t             length;

    size_t             head_len;
    size_t             head_total;      /* interim responses included */
    size_t             line;            /* start of the current line */
    size_t             meta;            /* chunk-size line or trailers */
    size_t             trailer_line;

    size_t             nheaders;
    lc_http_header_t   headers[LC_HTTP_HEADERS];

    char              *body;
    size_t             body_len;
    size_t             body_size;

    char               head[LC_HTTP_HEADER_MAX];
};


static int lc_http_fail(lc_http_response_t *res);
static int lc_http_head_byte(lc_http_response_t *res, char c);
static int lc_http_status_line(lc_http_response_t *res, const char *p,
    size_t n);
static int lc_http_header_line(lc_http_response_t *res, char *p, size_t n);
static int lc_http_content_length(lc_http_response_t *res,
    const char *value);
static int lc_http_head_done(lc_http_response_t *res);
static int lc_http_chunk_byte(lc_http_response_t *res, unsigned char c);
static int lc_http_reserve(lc_http_response_t *res, size_t need);
static void lc_http_append(lc_http_response_t *res, const char *p,
    size_t n);


lc_http_response_t *
lc_http_response_new(void)
{
    lc_http_response_t  *res;

    res = calloc(1, sizeof(lc_http_response_t));
    if (res == NULL) {
        return NULL;
    }

    res->state = LC_HTTP_HEAD;

    return res;
}


void
lc_http_response_free(lc_http_response_t *res)
{
    if (res == NULL) {
        return;
    }

    free(res->body);
    free(res);
}


void
lc_http_response_head(lc_http_response_t *res)
{
    res->head_only = 1;
}


int
lc_http_response_feed(lc_http_response_t *res, const char *data,
    size_t len, int eof)
{
    size_t       n;
    const char  *p, *end;

    if (res->state == LC_HTTP_ERROR) {
        return -1;
    }

    /* with "Connection: close" anything after the response is ignored */

    if (res->state == LC_HTTP_DONE) {
        return 1;
    }

    p = data;
    end = (data != NULL) ? data + len : data;

    while (p < end && res->state != LC_HTTP_DONE) {

        switch (res->state) {

        case LC_HTTP_HEAD:
            if (lc_http_head_byte(res, *p++) != 0) {
                return -1;
            }

            break;

        case LC_HTTP_BODY:
        case LC_HTTP_CHUNK_DATA:
            n = (size_t) (end - p);

            if (n > res->length) {
                n = res->length;
            }

            /* the room was reserved when the length was known */

            lc_http_append(res, p, n);
            p += n;
            res->length -= n;

            if (res->length == 0) {
                res->state = (res->state == LC_HTTP_BODY)
                             ? LC_HTTP_DONE : LC_HTTP_CHUNK_END;
            }

            break;

        case LC_HTTP_BODY_EOF:
            n = (size_t) (end - p);

            if (n > LC_HTTP_BODY_MAX - res->body_len
                || lc_http_reserve(res, res->body_len + n) != 0)
            {
                return lc_http_fail(res);
            }

            lc_http_append(res, p, n);
            p += n;
            break;

        default:
            if (lc_http_chunk_byte(res, (unsigned char) *p++) != 0) {
                return -1;
            }

            break;
        }
    }

    if (res->state == LC_HTTP_DONE) {
        return 1;
    }

    if (!eof) {
        return 0;
    }

    /* only a body without a length may end with the connection */

    if (res->state == LC_HTTP_BODY_EOF) {
        res->state = LC_HTTP_DONE;
        return 1;
    }

    return lc_http_fail(res);
}


int
lc_http_response_status(const lc_http_response_t *res)
{
    return res->status;
}


const char *
lc_http_response_header(const lc_http_response_t *res, const char *name)
{
    size_t  i;

    for (i = 0; i < res->nheaders; i++) {
        if (lc_ascii_caseeq(res->headers[i].name, name)) {
            return res->headers[i].value;
        }
    }

    return NULL;
}


const char *
lc_http_response_body(const lc_http_response_t *res, size_t *len)
{
    if (len) {
        *len = res->body_len;
    }

    return (res->body != NULL) ? res->body : "";
}


static int
lc_http_fail(lc_http_response_t *res)
{
    res->state = LC_HTTP_ERROR;

    return -1;
}


/*
 * The status line and headers are collected in res->head and each line is
 * parsed when its LF arrives; names and values are NUL-terminated in place.
 */

static int
lc_http_head_byte(lc_http_response_t *res, char c)
{
    char    *p;
    size_t   n;

    if (res->head_len == LC_HTTP_HEADER_MAX
        || res->head_total == LC_HTTP_HEADER_MAX)
    {
        return lc_http_fail(res);
    }

    res->head[res->head_len++] = c;
    res->head_total++;

    if (c != '\n') {
        return 0;
    }

    p = res->head + res->line;
    n = res->head_len - res->line - 1;

    if (n > 0 && p[n - 1] == '\r') {
        n--;
    }

    if (res->line == 0) {
        if (lc_http_status_line(res, p, n) != 0) {
            return lc_http_fail(res);
        }

    } else if (n == 0) {
        if (lc_http_head_done(res) != 0) {
            return lc_http_fail(res);
        }

        return 0;

    } else if (lc_http_header_line(res, p, n) != 0) {
        return lc_http_fail(res);
    }

    res->line = res->head_len;

    return 0;
}


/* "HTTP/1.x NNN reason", the reason possibly empty or absent */

static int
lc_http_status_line(lc_http_response_t *res, const char *p, size_t n)
{
    size_t         i;
    unsigned char  c;

    if (n < 12 || memcmp(p, "HTTP/1.", 7) != 0
        || p[7] < '0' || p[7] > '9' || p[8] != ' '
        || p[9] < '1' || p[9] > '5'
        || p[10] < '0' || p[10] > '9' || p[11] < '0' || p[11] > '9'
        || (n > 12 && p[12] != ' '))
    {
        return -1;
    }

    for (i = 13; i < n; i++) {
        c = (unsigned char) p[i];

        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            return -1;
        }
    }

    res->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');

    return 0;
}


static int
lc_http_header_line(lc_http_response_t *res, char *p, size_t n)
{
    size_t          i, name, start, end;
    unsigned char   c;

    /* obsolete line folding: RFC 7230 lets a client reject it */

    if (p[0] == ' ' || p[0] == '\t') {
        return -1;
    }

    for (name = 0; name < n && p[name] != ':'; name++) {
        /* void */
    }

    /* a blank before the colon is refused too (RFC 7230, 3.2.4) */

    if (name == n || !lc_http_token(p, name)) {
        return -1;
    }

    start = name + 1;

    while (start < n && (p[start] == ' ' || p[start] == '\t')) {
        start++;
    }

    end = n;

    while (end > start && (p[end - 1] == ' ' || p[end - 1] == '\t')) {
        end--;
    }

    for (i = start; i < end; i++) {
        c = (unsigned char) p[i];

        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            return -1;
        }
    }

    /* p[n] is the CR or the LF of this line */

    p[name] = '\0';
    p[end] = '\0';

    /*
     * The framing headers are honoured even past the headers kept, or a
     * response could hide its length from us.
     */

    if (lc_ascii_caseeq(p, "Content-Length")) {
        if (lc_http_content_length(res, p + start) != 0) {
            return -1;
        }

    } else if (lc_ascii_caseeq(p, "Transfer-Encoding")) {

        /*
         * Nothing but "chunked" is decoded: another coding, or chunked
         * twice, leaves the body's end unknown.
         */

        if (res->chunked || !lc_ascii_caseeq(p + start, "chunked")) {
            return -1;
        }

        res->chunked = 1;
    }

    if (res->nheaders < LC_HTTP_HEADERS) {
        res->headers[res->nheaders].name = p;
        res->headers[res->nheaders].value = p + start;
        res->nheaders++;
    }

    return 0;
}


/*
 * 1*DIGIT; a repeated header must give the same value.  The limit is
 * checked only when a body is read by it: a HEAD or 304 response gives
 * the length of a body it does not send.
 */

static int
lc_http_content_length(lc_http_response_t *res, const char *value)
{
    size_t       v, d;
    const char  *p;

    if (*value == '\0') {
        return -1;
    }

    v = 0;

    for (p = value; *p; p++) {
        if (*p < '0' || *p > '9') {
            return -1;
        }

        d = (size_t) (*p - '0');

        if (v > (SIZE_MAX - d) / 10) {
            return -1;
        }

        v = v * 10 + d;
    }

    if (res->have_length && res->length != v) {
        return -1;
    }

    res->have_length = 1;
    res->length = v;

    return 0;
}


static int
lc_http_head_done(lc_http_response_t *res)
{
    if (res->status >= 100 && res->status < 200) {

        /* 101 would switch protocols: linkcert never asks to */

        if (res->status == 101) {
            return -1;
        }

        /* an interim response: the final one follows */

        res->status = 0;
        res->chunked = 0;
        res->have_length = 0;
        res->length = 0;
        res->head_len = 0;
        res->line = 0;
        res->nheaders = 0;

        return 0;
    }

    if (res->head_only || res->status == 204 || res->status == 304) {
        res->state = LC_HTTP_DONE;
        return 0;
    }

    /* chunked wins over Content-Length (RFC 7230, 3.3.3) */

    if (res->chunked) {
        res->state = LC_HTTP_CHUNK_SIZE;
        res->length = 0;
        res->digits = 0;
        res->meta = 0;
        return 0;
    }

    if (res->have_length) {
        if (res->length > LC_HTTP_BODY_MAX) {
            return -1;
        }

        if (res->length == 0) {
            res->state = LC_HTTP_DONE;
            return 0;
        }

        if (lc_http_reserve(res, res->length) != 0) {
            return -1;
        }

        res->state = LC_HTTP_BODY;
        return 0;
    }

    res->state = LC_HTTP_BODY_EOF;

    return 0;
}


/*
 * The lines around chunk data: "hex[;ext]CRLF", the CRLF after the data,
 * and the trailers, which are skipped.  A bare LF ends a line as in the
 * headers; a CR must be followed by an LF.
 */

static int
lc_http_chunk_byte(lc_http_response_t *res, unsigned char c)
{
    int  v;

    if (res->cr && c != '\n') {
        return lc_http_fail(res);
    }

    if (res->state != LC_HTTP_CHUNK_END) {

        /* a line of extensions or trailers is bounded like the headers */

        if (++res->meta > LC_HTTP_HEADER_MAX) {
            return lc_http_fail(res);
        }
    }

    if (c == '\r') {
        res->cr = 1;
        return 0;
    }

    res->cr = 0;

    switch (res->state) {

    case LC_HTTP_CHUNK_SIZE:
        if (c >= '0' && c <= '9') {
            v = c - '0';

        } else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
            v = (c | 0x20) - 'a' + 10;

        } else {
            v = -1;
        }

        if (v >= 0) {
            res->length = res->length * 16 + (size_t) v;
            res->digits++;

            /* checked on every digit, so it cannot overflow */

            if (res->length > LC_HTTP_BODY_MAX - res->body_len) {
                return lc_http_fail(res);
            }

            return 0;
        }

        if (res->digits == 0) {
            return lc_http_fail(res);
        }

        if (c == ';') {
            res->state = LC_HTTP_CHUNK_EXT;
            return 0;
        }

        if (c == ' ' || c == '\t') {
            res->state = LC_HTTP_CHUNK_BWS;
            return 0;
        }

        break;

    case LC_HTTP_CHUNK_BWS:
        if (c == ';') {
            res->state = LC_HTTP_CHUNK_EXT;
            return 0;
        }

        if (c == ' ' || c == '\t') {
            return 0;
        }

        break;

    case LC_HTTP_CHUNK_EXT:
        if (c == '\n') {
            break;
        }

        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            return lc_http_fail(res);
        }

        return 0;

    case LC_HTTP_CHUNK_END:
        if (c != '\n') {
            return lc_http_fail(res);
        }

        res->state = LC_HTTP_CHUNK_SIZE;
        res->length = 0;
        res->digits = 0;
        res->meta = 0;
        return 0;

    case LC_HTTP_TRAILER:
        if (c == '\n') {
            if (res->trailer_line == 0) {
                res->state = LC_HTTP_DONE;
            }

            res->trailer_line = 0;
            return 0;
        }

        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            return lc_http_fail(res);
        }

        res->trailer_line++;
        return 0;

    default:
        return lc_http_fail(res);
    }

    /* the end of a chunk-size line */

    if (c != '\n') {
        return lc_http_fail(res);
    }

    if (res->length == 0) {
        res->state = LC_HTTP_TRAILER;
        res->trailer_line = 0;
        res->meta = 0;
        return 0;
    }

    if (lc_http_reserve(res, res->body_len + res->length) != 0) {
        return lc_http_fail(res);
    }

    res->state = LC_HTTP_CHUNK_DATA;

    return 0;
}


/* room for need bytes of body and the NUL; need <= LC_HTTP_BODY_MAX */

static int
lc_http_reserve(lc_http_response_t *res, size_t need)
{
    char    *body;
    size_t   size;

    if (res->body_size > need) {
        return 0;
    }

    /* doubling keeps a body fed a byte at a time linear */

    size = res->body_size * 2;

    if (size < need + 1) {
        size = need + 1;
    }

    if (size > LC_HTTP_BODY_MAX + 1) {
        size = LC_HTTP_BODY_MAX + 1;
    }

    body = realloc(res->body, size);
    if (body == NULL) {
        return -1;
    }

    res->body = body;
    res->body_size = size;

    return 0;
}


static void
lc_http_append(lc_http_response_t *res, const char *p, size_t n)
{
    memcpy(res->body + res->body_len, p, n);
    res->body_len += n;
    res->body[res->body_len] = '\0';
}
