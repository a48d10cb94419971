/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: libFuzzer target for the HTTP/1.1 client side (lc_http.c).
 *
 * The first byte picks what the rest is.  Bit 0 clear: a response as the
 * CA or the "ask" hook sends it (bit 1: to a HEAD request), fed once
 * whole and once in pieces whose sizes come from the first byte.  Bit 0
 * set: a URL, then NUL-separated a method, an Accept and a Content-Type
 * value and a body, for lc_http_url() and lc_http_request().
 *
 * Besides what the sanitizers find, a crash is a broken promise of
 * lc_http.h.  Responses: a feed answer other than 1, 0 or -1; a complete
 * or failed response that changes its answer when fed more; an answer,
 * status, body or header that depends on how the bytes were split; a
 * complete response with a status outside 200 to 599, a body over
 * LC_HTTP_BODY_MAX, or a body other than its Content-Length says.  URLs:
 * an accepted URL whose host is empty, unterminated or bracketed, whose
 * port is 0 or over 65535, or whose path does not start with "/" and end
 * the URL.  Requests: a request for a good URL and method refused, or one
 * whose request line, Host header or body is not what was asked, or whose
 * header section holds a CR, LF or other control byte outside the line
 * ends (a header injection).
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lc_http.h"
#include "lc_fuzz.h"


#define LC_FUZZ_HOST_MAX  300


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static lc_http_response_t *lc_fuzz_response(const uint8_t *data,
    size_t size, unsigned flags, int split, int *rc);
static void lc_fuzz_response_check(lc_http_response_t *res, int rc,
    int head);
static void lc_fuzz_same(lc_http_response_t *a, int a_rc,
    lc_http_response_t *b, int b_rc);
static void lc_fuzz_url(const char *url);
static void lc_fuzz_request(const char *method, const char *url,
    const char *accept, const char *content_type, const char *body,
    size_t body_len);
static const char *lc_fuzz_field(const char **p, const char *end);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                  whole_rc, split_rc;
    char                *text;
    unsigned             flags;
    const char          *p, *end, *url, *method, *accept, *content_type;
    lc_http_response_t  *whole, *split;

    if (size == 0) {
        return 0;
    }

    flags = data[0];
    data++;
    size--;

    if ((flags & 1) == 0) {
        whole = lc_fuzz_response(data, size, flags, 0, &whole_rc);
        split = lc_fuzz_response(data, size, flags, 1, &split_rc);

        lc_fuzz_same(whole, whole_rc, split, split_rc);

        lc_http_response_free(whole);
        lc_http_response_free(split);

        return 0;
    }

    /* a NUL-terminated copy, cut into fields at the NULs */

    text = malloc(size + 1);
    if (text == NULL) {
        abort();
    }

    memcpy(text, data, size);
    text[size] = '\0';

    p = text;
    end = text + size;

    url = lc_fuzz_field(&p, end);
    method = lc_fuzz_field(&p, end);
    accept = lc_fuzz_field(&p, end);
    content_type = lc_fuzz_field(&p, end);

    lc_fuzz_url(url);
    lc_fuzz_request(method ? method : "GET", url, accept, content_type,
                    p < end ? p : NULL, p < end ? (size_t) (end - p) : 0);

    free(text);

    return 0;
}


/*
 * A response fed whole, then the end of the connection; or fed in pieces
 * of 1 to 64 bytes (sizes from flags), each piece an exact heap copy so
 * that AddressSanitizer sees a read past it.
 */

static lc_http_response_t *
lc_fuzz_response(const uint8_t *data, size_t size, unsigned flags,
    int split, int *rc)
{
    int                  again;
    char                *copy;
    size_t               off, n;
    unsigned             state;
    lc_http_response_t  *res;

    res = lc_http_response_new();
    if (res == NULL) {
        abort();
    }

    if (flags & 2) {
        lc_http_response_head(res);
    }

    *rc = 0;
    off = 0;
    state = flags;

    while (off < size) {
        n = size - off;

        if (split) {
            state = state * 1103515245 + 12345;
            n = (state >> 16) % 64 + 1;

            if (n > size - off) {
                n = size - off;
            }
        }

        copy = lc_fuzz_copy(data + off, n);
        *rc = lc_http_response_feed(res, copy, n, 0);
        free(copy);

        if (*rc != 0 && *rc != 1 && *rc != -1) {
            abort();
        }

        off += n;

        if (*rc != 0) {
            break;
        }
    }

    if (*rc == 0) {
        *rc = lc_http_response_feed(res, NULL, 0, 1);

        if (*rc != 1 && *rc != -1) {
            abort();
        }
    }

    /* the answer is final: more bytes or the end change nothing */

    again = lc_http_response_feed(res, "HTTP/1.1 200 OK\r\n\r\n", 19, 0);

    if (again != *rc) {
        abort();
    }

    again = lc_http_response_feed(res, NULL, 0, 1);

    if (again != *rc) {
        abort();
    }

    lc_fuzz_response_check(res, *rc, (flags & 2) != 0);

    return res;
}


static void
lc_fuzz_response_check(lc_http_response_t *res, int rc, int head)
{
    int                  status;
    char                *end;
    size_t               len;
    const char          *body, *length;
    unsigned long long   v;

    if (rc != 1) {
        return;
    }

    status = lc_http_response_status(res);

    if (status < 200 || status > 599) {
        abort();
    }

    body = lc_http_response_body(res, &len);

    if (body == NULL || len > LC_HTTP_BODY_MAX) {
        abort();
    }

    length = lc_http_response_header(res, "content-length");

    if (length == NULL || head || status == 204 || status == 304
        || lc_http_response_header(res, "Transfer-Encoding") != NULL)
    {
        return;
    }

    v = strtoull(length, &end, 10);

    if (*end != '\0' || v != len) {
        abort();
    }
}


static void
lc_fuzz_same(lc_http_response_t *a, int a_rc, lc_http_response_t *b,
    int b_rc)
{
    size_t              i, a_len, b_len;
    const char         *a_body, *b_body, *a_value, *b_value;
    static const char  *names[] = {
        "Content-Type", "Content-Length", "Transfer-Encoding",
        "Location", "Replay-Nonce", "Retry-After", "Link", "X-Unknown"
    };

    if (a_rc != b_rc) {
        abort();
    }

    if (a_rc != 1) {
        return;
    }

    if (lc_http_response_status(a) != lc_http_response_status(b)) {
        abort();
    }

    a_body = lc_http_response_body(a, &a_len);
    b_body = lc_http_response_body(b, &b_len);

    if (a_len != b_len || memcmp(a_body, b_body, a_len) != 0) {
        abort();
    }

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        a_value = lc_http_response_header(a, names[i]);
        b_value = lc_http_response_header(b, names[i]);

        if ((a_value == NULL) != (b_value == NULL)
            || (a_value != NULL && strcmp(a_value, b_value) != 0))
        {
            abort();
        }
    }
}


static void
lc_fuzz_url(const char *url)
{
    int          https;
    char         host[LC_FUZZ_HOST_MAX];
    size_t       len, path_len;
    unsigned     port;
    const char  *path;

    https = -1;
    port = 0;
    path = NULL;
    memset(host, 0x7f, sizeof(host));

    if (lc_http_url(url, &https, host, sizeof(host), &port, &path) != 0) {
        return;
    }

    len = strnlen(host, sizeof(host));

    if (len == 0 || len == sizeof(host) || host[0] == '['
        || (https != 0 && https != 1) || port == 0 || port > 65535
        || path == NULL || path[0] != '/')
    {
        abort();
    }

    /* the path is the end of the URL, or "/" for a URL without one */

    path_len = strlen(path);

    if (strcmp(path, "/") != 0
        && (path_len > strlen(url)
            || strcmp(url + strlen(url) - path_len, path) != 0))
    {
        abort();
    }
}


static void
lc_fuzz_request(const char *method, const char *url, const char *accept,
    const char *content_type, const char *body, size_t body_len)
{
    int            https;
    char          *req, *p, *head_end, *line;
    char           host[LC_FUZZ_HOST_MAX], port_text[16];
    size_t         len, n;
    unsigned       port;
    const char    *path;
    unsigned char  c;

    req = lc_http_request(method, url, accept, content_type, body,
                          body_len, &len);

    if (req == NULL) {
        /* a good URL and a plain method are not refused */

        if (url != NULL && strcmp(method, "GET") == 0 && accept == NULL
            && content_type == NULL
            && lc_http_url(url, NULL, host, sizeof(host), NULL, NULL) == 0
            && strlen(host) < 256)
        {
            abort();
        }

        return;
    }

    if (lc_http_url(url, &https, host, sizeof(host), &port, &path) != 0
        || strlen(req) > len || req[len] != '\0')
    {
        abort();
    }

    head_end = strstr(req, "\r\n\r\n");

    if (head_end == NULL) {
        abort();
    }

    head_end += 4;

    /* the body follows the head as it was given */

    n = len - (size_t) (head_end - req);

    if (n != (body != NULL ? body_len : 0)
        || (n != 0 && memcmp(head_end, body, n) != 0))
    {
        abort();
    }

    /* every byte of the head is visible ASCII, SP, HTAB or a line end */

    for (p = req; p < head_end; p++) {
        c = (unsigned char) *p;

        if (c == '\r') {
            if (p[1] != '\n') {
                abort();
            }

            p++;
            continue;
        }

        if ((c < 0x20 && c != '\t') || c >= 0x7f) {
            abort();
        }
    }

    /* the request line, then the Host header with the port if not usual */

    port_text[0] = '\0';

    if (port != (https ? 443u : 80u)) {
        snprintf(port_text, sizeof(port_text), ":%u", port);
    }

    if (asprintf(&line, "%s %s HTTP/1.1\r\nHost: %s%s%s%s\r\n", method,
                 path, strchr(host, ':') ? "[" : "", host,
                 strchr(host, ':') ? "]" : "", port_text) < 0)
    {
        abort();
    }

    n = strlen(line);

    if (n > len || memcmp(req, line, n) != 0) {
        abort();
    }

    free(line);
    free(req);
}


/* the next NUL-terminated field, or NULL past the end */

static const char *
lc_fuzz_field(const char **p, const char *end)
{
    const char  *field;

    if (*p >= end) {
        return NULL;
    }

    field = *p;
    *p += strlen(field) + 1;

    return field;
}
