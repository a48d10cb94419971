
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: tests of the HTTP request writer, URL splitter and response
 * parser.
 */


#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lc_http.h"


/* cmocka reports the line of the failing assert: these are macros */

#define LC_REQ_OK(method, url, accept, ctype, body, blen, expect)             \
    do {                                                                      \
        char    *req_;                                                        \
        size_t   len_ = 0;                                                    \
                                                                              \
        req_ = lc_http_request(method, url, accept, ctype, body, blen,        \
                               &len_);                                        \
        assert_non_null(req_);                                                \
        assert_int_equal(len_, sizeof(expect) - 1);                           \
        assert_memory_equal(req_, expect, sizeof(expect) - 1);                \
        assert_int_equal(req_[len_], '\0');                                   \
        free(req_);                                                           \
    } while (0)

#define LC_REQ_BAD(method, url, accept, ctype, body, blen)                    \
    do {                                                                      \
        size_t  len_ = 12345;                                                 \
                                                                              \
        assert_null(lc_http_request(method, url, accept, ctype, body, blen,   \
                                    &len_));                                  \
        assert_int_equal(len_, 12345);                                        \
    } while (0)

#define LC_URL_OK(url, tls, host, port, path)                                 \
    do {                                                                      \
        int          https_ = -1;                                             \
        char         host_[256];                                              \
        unsigned     port_ = 0;                                               \
        const char  *path_ = NULL;                                            \
                                                                              \
        assert_int_equal(lc_http_url(url, &https_, host_, sizeof(host_),      \
                                     &port_, &path_), 0);                     \
        assert_int_equal(https_, tls);                                        \
        assert_string_equal(host_, host);                                     \
        assert_int_equal(port_, port);                                        \
        assert_string_equal(path_, path);                                     \
    } while (0)

#define LC_URL_BAD(url)                                                       \
    do {                                                                      \
        int          https_ = -1;                                             \
        char         host_[256] = "unchanged";                                \
        unsigned     port_ = 7;                                               \
        const char  *path_ = NULL;                                            \
                                                                              \
        assert_int_equal(lc_http_url(url, &https_, host_, sizeof(host_),      \
                                     &port_, &path_), -1);                    \
        assert_int_equal(https_, -1);                                         \
        assert_string_equal(host_, "unchanged");                              \
        assert_int_equal(port_, 7);                                           \
        assert_null(path_);                                                   \
    } while (0)

/* a string literal, NUL bytes included */
#define LC_S(s)  s, sizeof(s) - 1


typedef struct {
    const char  *in;
    size_t       len;
    int          head;                  /* lc_http_response_head() */
    int          eof;                   /* completes only at eof */
    int          status;
    const char  *body;
    size_t       body_len;
} lc_good_t;


typedef struct {
    const char  *in;
    size_t       len;
    int          head;
} lc_bad_t;


static const lc_good_t  lc_good[] = {

    { LC_S("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"),
      0, 0, 200, LC_S("hello") },

    { LC_S("HTTP/1.1 201 Created\r\n"
           "Content-Type: application/json\r\n"
           "Transfer-Encoding: chunked\r\n"
           "\r\n"
           "5;name=value\r\nhello\r\n"
           "1 ; a ; b=\"c d\"\r\n,\r\n"
           "A\r\n worldwide\r\n"
           "0;last\r\n"
           "Expires: never\r\n"
           "X-Trailer: 1\r\n"
           "\r\n"),
      0, 0, 201, LC_S("hello, worldwide") },

    /* chunked wins over Content-Length */
    { LC_S("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n"
           "Transfer-Encoding: Chunked\r\n\r\n"
           "3\r\nabc\r\n0\r\n\r\n"),
      0, 0, 200, LC_S("abc") },

    { LC_S("HTTP/1.0 200 OK\r\nServer: x\r\n\r\nto the end"),
      0, 1, 200, LC_S("to the end") },

    { LC_S("HTTP/1.1 200 OK\r\n\r\n"), 0, 1, 200, LC_S("") },

    { LC_S("HTTP/1.1 200 OK\r\nContent-Length: 5000000\r\n\r\n"),
      1, 0, 200, LC_S("") },

    { LC_S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
      1, 0, 200, LC_S("") },

    { LC_S("HTTP/1.1 100 Continue\r\n\r\n"
           "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
           "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
      0, 0, 200, LC_S("ok") },

    { LC_S("HTTP/1.1 204 No Content\r\n\r\n"), 0, 0, 204, LC_S("") },

    { LC_S("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"),
      0, 0, 304, LC_S("") },

    { LC_S("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
      0, 0, 200, LC_S("") },

    /* bare LF line ends, an empty reason, a missing reason */
    { LC_S("HTTP/1.1 404 \nContent-Length: 3\n\nnot"),
      0, 0, 404, LC_S("not") },

    { LC_S("HTTP/1.1 500\r\nContent-Length: 1\r\n\r\nx"),
      0, 0, 500, LC_S("x") },

    { LC_S("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n"
           "Content-Length: 004\r\n\r\na\0b\n"),
      0, 0, 200, LC_S("a\0b\n") },

    { LC_S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
           "0\r\n\r\n"),
      0, 0, 200, LC_S("") },
};


/* malformed or over the limits: -1 before eof */

static const lc_bad_t  lc_bad[] = {

    /* status lines */
    { LC_S("HTTP/2 200 OK\r\n\r\n"), 0 },
    { LC_S("HTTP/1.1 20 OK\r\n\r\n"), 0 },
    { LC_S("HTTP/1.1 2000 OK\r\n\r\n"), 0 },
    { LC_S("HTTP/1.1 200OK\r\n\r\n"), 0 },
    { LC_S("HTTP/1.1  200 OK\r\n\r\n"), 0 },
    { LC_S("http/1.1 200 OK\r\n\r\n"), 0 },
    { LC_S("HTTP/1.1 600 Nope\r\n\r\n"), 0 },
    { LC_S("HTTP/1.1 099 Nope\r\n\r\n"), 0 },
    { LC_S("HTTP/1.1 200 O\rK\r\n\r\n"), 0 },
    { LC_S("HTTP/1.1 200 O\0K\r\n\r\n"), 0 },
    { LC_S("\r\nHTTP/1.1 200 OK\r\n\r\n"), 0 },
    { LC_S("ICY 200 OK\r\n\r\n"), 0 },
    { LC_S("HTTP/1.1 101 Switching Protocols\r\n\r\n"), 0 },

    /* headers */
    { LC_S("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n"), 0 },
    { LC_S("HTTP/1.1 200 OK\r\n X: a\r\n\r\n"), 0 },
    { LC_S("HTTP/1.1 200 OK\r\nX : a\r\n\r\n"), 0 },
    { LC_S("HTTP/1.1 200 OK\r\nX a\r\n\r\n"), 0 },
    { LC_S("HTTP/1.1 200 OK\r\n: a\r\n\r\n"), 0 },
    { LC_S("HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n"), 0 },
    { LC_S("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n"), 0 },
    { LC_S("HTTP/1.1 200 OK\r\nX\x01: a\r\n\r\n"), 0 },

    /* Content-Length */
    { LC_S("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"), 0 },
    { LC_S("HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\nx"), 0 },
    { LC_S("HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n"), 0 },
    { LC_S("HTTP/1.1 200 OK\r\nContent-Length: 1 1\r\n\r\nx"), 0 },
    { LC_S("HTTP/1.1 200 OK\r\nContent-Length: 1,1\r\n\r\nx"), 0 },
    { LC_S("HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n"), 0 },
    { LC_S("HTTP/1.1 200 OK\r\n"
           "Content-Length: 99999999999999999999999999999\r\n\r\n"), 0 },
    { LC_S("HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n"
           "\r\n"), 1 },
    { LC_S("HTTP/1.1 200 OK\r\nContent-Length: 1048577\r\n\r\n"), 0 },
    { LC_S("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
           "Content-Length: 3\r\n\r\nabc"), 0 },

    /* Transfer-Encoding */
    { LC_S("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"), 0 },
    { LC_S("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
      0 },
    { LC_S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
           "Transfer-Encoding: chunked\r\n\r\n"), 0 },

    /* chunks */
    { LC_S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
           "zz\r\n"), 0 },
    { LC_S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
           "-1\r\n"), 0 },
    { LC_S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
           "\r\n"), 0 },
    { LC_S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
           " 5\r\nhello\r\n0\r\n\r\n"), 0 },
    { LC_S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
           "5x\r\nhello\r\n0\r\n\r\n"), 0 },
    { LC_S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
           "5 x\r\nhello\r\n0\r\n\r\n"), 0 },
    { LC_S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
           "ffffffffffffffffffff\r\n"), 0 },
    { LC_S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
           "100001\r\n"), 0 },
    { LC_S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
           "5\r\nhelloX\r\n0\r\n\r\n"), 0 },
    { LC_S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
           "5\r\nhello\rX\n0\r\n\r\n"), 0 },
    { LC_S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
           "5;a\0b\r\nhello\r\n0\r\n\r\n"), 0 },
    { LC_S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
           "5\r\nhello\r\n0\r\nX: \x01\r\n\r\n"), 0 },
};


/* complete but for the end: -1 comes with eof */

static const lc_bad_t  lc_truncated[] = {
    { LC_S(""), 0 },
    { LC_S("HTTP/1.1 200"), 0 },
    { LC_S("HTTP/1.1 200 OK\r\n"), 0 },
    { LC_S("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"), 0 },
    { LC_S("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhell"), 0 },
    { LC_S("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"), 0 },
    { LC_S("HTTP/1.1 100 Continue\r\n\r\n"), 0 },
    { LC_S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), 0 },
    { LC_S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
           "5\r\nhel"), 0 },
    { LC_S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
           "5\r\nhello\r\n"), 0 },
    { LC_S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
           "5\r\nhello\r\n0\r\n"), 0 },
    { LC_S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
           "5\r\nhello\r\n0\r\nX: y\r\n"), 0 },
    { LC_S("HTTP/1.1 200 OK\r\n"), 1 },
};


/*
 * Feeds in step bytes at a time (the whole at once for step 0), then eof
 * if the response is still incomplete.  Returns the last feed's result,
 * or 100 if 1 came before the last byte: a complete response must end
 * exactly at its last byte.  -1 may come at any byte.
 */

/* a new response, to a HEAD request if head */

static lc_http_response_t *
lc_new_response(int head)
{
    lc_http_response_t  *res;

    res = lc_http_response_new();
    assert_non_null(res);

    if (head) {
        lc_http_response_head(res);
    }

    return res;
}


static int
lc_feed(lc_http_response_t *res, const char *in, size_t len, size_t step,
    int *at_eof)
{
    int     rc;
    size_t  off, n;

    rc = 0;
    *at_eof = 0;

    if (step == 0) {
        step = len;
    }

    for (off = 0; off < len; off += n) {
        n = len - off < step ? len - off : step;
        rc = lc_http_response_feed(res, in + off, n, 0);

        if (rc == 1 && off + n != len) {
            return 100;
        }

        if (rc != 0) {
            return rc;
        }
    }

    *at_eof = 1;

    return lc_http_response_feed(res, NULL, 0, 1);
}


static void
lc_check_good(const lc_good_t *g, size_t step)
{
    int                  rc, at_eof;
    size_t               len;
    const char          *body;
    lc_http_response_t  *res;

    res = lc_new_response(g->head);

    rc = lc_feed(res, g->in, g->len, step, &at_eof);
    if (rc != 1 || at_eof != g->eof) {
        print_error("step %zu: rc %d, at eof %d: \"%s\"\n", step, rc,
                    at_eof, g->in);
    }

    assert_int_equal(rc, 1);
    assert_int_equal(at_eof, g->eof);
    assert_int_equal(lc_http_response_status(res), g->status);

    body = lc_http_response_body(res, &len);
    assert_non_null(body);
    assert_int_equal(len, g->body_len);
    assert_memory_equal(body, g->body, len);
    assert_int_equal(body[len], '\0');

    /* the end is sticky: more bytes, or eof, change nothing */

    assert_int_equal(lc_http_response_feed(res, LC_S("garbage"), 0), 1);
    assert_int_equal(lc_http_response_feed(res, NULL, 0, 1), 1);
    body = lc_http_response_body(res, &len);
    assert_int_equal(len, g->body_len);

    lc_http_response_free(res);
}


static void
lc_check_bad(const lc_bad_t *b, size_t step, int expect_eof)
{
    int                  rc, at_eof;
    lc_http_response_t  *res;

    res = lc_new_response(b->head);

    rc = lc_feed(res, b->in, b->len, step, &at_eof);
    if (rc != -1) {
        print_error("step %zu: rc %d: \"%s\"\n", step, rc, b->in);
    }

    assert_int_equal(rc, -1);
    assert_int_equal(at_eof, expect_eof);

    /* an error is sticky too */

    assert_int_equal(lc_http_response_feed(res, LC_S("HTTP/1.1 200 OK\r\n"),
                                           0), -1);
    assert_int_equal(lc_http_response_feed(res, NULL, 0, 1), -1);

    lc_http_response_free(res);
}


/* each of n bad responses, fed whole, then in pieces of 1 to 7 bytes */

static void
lc_check_bad_all(const lc_bad_t *bad, size_t n, int expect_eof)
{
    size_t  i, step;

    for (i = 0; i < n; i++) {
        for (step = 0; step <= 7; step++) {
            lc_check_bad(&bad[i], step, expect_eof);
        }
    }
}


static void
test_request_post(void **state)
{
    (void) state;

    LC_REQ_OK("POST", "https://acme.example/acme/new-order",
              "application/json", "application/jose+json",
              "{\"a\":1}", 7,
              "POST /acme/new-order HTTP/1.1\r\n"
              "Host: acme.example\r\n"
              "User-Agent: linkcert\r\n"
              "Accept: application/json\r\n"
              "Content-Type: application/jose+json\r\n"
              "Content-Length: 7\r\n"
              "Connection: close\r\n"
              "\r\n"
              "{\"a\":1}");

    /* a body with NUL bytes is sent whole */

    LC_REQ_OK("POST", "https://acme.example/x", NULL, NULL, "a\0b", 3,
              "POST /x HTTP/1.1\r\n"
              "Host: acme.example\r\n"
              "User-Agent: linkcert\r\n"
              "Content-Length: 3\r\n"
              "Connection: close\r\n"
              "\r\n"
              "a\0b");

    /* POST-as-GET in ACME has an empty body: it still gets a length */

    LC_REQ_OK("POST", "https://acme.example/x", NULL, NULL, NULL, 0,
              "POST /x HTTP/1.1\r\n"
              "Host: acme.example\r\n"
              "User-Agent: linkcert\r\n"
              "Content-Length: 0\r\n"
              "Connection: close\r\n"
              "\r\n");

    LC_REQ_OK("POST", "https://acme.example/x", NULL, NULL, "", 0,
              "POST /x HTTP/1.1\r\n"
              "Host: acme.example\r\n"
              "User-Agent: linkcert\r\n"
              "Content-Length: 0\r\n"
              "Connection: close\r\n"
              "\r\n");
}


/* one more header field, for the webhook's signature */

static void
test_request_header(void **state)
{
    char         *req;
    size_t        len;
    const char    expect[] =
        "POST /hook HTTP/1.1\r\n"
        "Host: 127.0.0.1:8080\r\n"
        "User-Agent: linkcert\r\n"
        "Content-Type: application/json\r\n"
        "Linkcert-Signature: t=1,v1=ab\r\n"
        "Content-Length: 2\r\n"
        "Connection: close\r\n"
        "\r\n"
        "{}";

    (void) state;

    req = lc_http_request_header("POST", "http://127.0.0.1:8080/hook", NULL,
                                 "application/json", "Linkcert-Signature",
                                 "t=1,v1=ab", "{}", 2, &len);
    assert_non_null(req);
    assert_int_equal(len, sizeof(expect) - 1);
    assert_memory_equal(req, expect, len);
    free(req);

    /* neither the name nor the value can end the field early */

    assert_null(lc_http_request_header("POST", "http://a.example/", NULL,
                                       NULL, "X-A", "b\r\nX-C: d", "", 0,
                                       &len));
    assert_null(lc_http_request_header("POST", "http://a.example/", NULL,
                                       NULL, "X A", "b", "", 0, &len));
    assert_null(lc_http_request_header("POST", "http://a.example/", NULL,
                                       NULL, "X-A", NULL, "", 0, &len));
}


static void
test_request_get_head(void **state)
{
    char    *req;
    size_t   len;

    (void) state;

    LC_REQ_OK("GET", "https://acme.example/directory", "application/json",
              NULL, NULL, 0,
              "GET /directory HTTP/1.1\r\n"
              "Host: acme.example\r\n"
              "User-Agent: linkcert\r\n"
              "Accept: application/json\r\n"
              "Connection: close\r\n"
              "\r\n");

    LC_REQ_OK("HEAD", "https://acme.example/acme/new-nonce", NULL, NULL,
              NULL, 0,
              "HEAD /acme/new-nonce HTTP/1.1\r\n"
              "Host: acme.example\r\n"
              "User-Agent: linkcert\r\n"
              "Connection: close\r\n"
              "\r\n");

    LC_REQ_OK("GET", "http://ask.example", NULL, NULL, NULL, 0,
              "GET / HTTP/1.1\r\n"
              "Host: ask.example\r\n"
              "User-Agent: linkcert\r\n"
              "Connection: close\r\n"
              "\r\n");

    LC_REQ_OK("GET", "http://ask.example/check?domain=a.example&x=%20y",
              NULL, NULL, NULL, 0,
              "GET /check?domain=a.example&x=%20y HTTP/1.1\r\n"
              "Host: ask.example\r\n"
              "User-Agent: linkcert\r\n"
              "Connection: close\r\n"
              "\r\n");

    /* len is optional */

    req = lc_http_request("GET", "http://a.example/", NULL, NULL, NULL, 0,
                          NULL);
    assert_non_null(req);
    len = strlen(req);
    assert_true(len > 0);
    assert_memory_equal(req + len - 4, "\r\n\r\n", 4);
    free(req);
}


static void
test_request_ports(void **state)
{
    (void) state;

    LC_REQ_OK("GET", "https://a.example:443/", NULL, NULL, NULL, 0,
              "GET / HTTP/1.1\r\n"
              "Host: a.example\r\n"
              "User-Agent: linkcert\r\n"
              "Connection: close\r\n"
              "\r\n");

    LC_REQ_OK("GET", "http://a.example:80/", NULL, NULL, NULL, 0,
              "GET / HTTP/1.1\r\n"
              "Host: a.example\r\n"
              "User-Agent: linkcert\r\n"
              "Connection: close\r\n"
              "\r\n");

    LC_REQ_OK("GET", "http://a.example:443/", NULL, NULL, NULL, 0,
              "GET / HTTP/1.1\r\n"
              "Host: a.example:443\r\n"
              "User-Agent: linkcert\r\n"
              "Connection: close\r\n"
              "\r\n");

    LC_REQ_OK("GET", "https://a.example:80/", NULL, NULL, NULL, 0,
              "GET / HTTP/1.1\r\n"
              "Host: a.example:80\r\n"
              "User-Agent: linkcert\r\n"
              "Connection: close\r\n"
              "\r\n");

    LC_REQ_OK("GET", "https://a.example:14000/dir", NULL, NULL, NULL, 0,
              "GET /dir HTTP/1.1\r\n"
              "Host: a.example:14000\r\n"
              "User-Agent: linkcert\r\n"
              "Connection: close\r\n"
              "\r\n");

    LC_REQ_OK("GET", "http://127.0.0.1:8080/ask?d=x", NULL, NULL, NULL, 0,
              "GET /ask?d=x HTTP/1.1\r\n"
              "Host: 127.0.0.1:8080\r\n"
              "User-Agent: linkcert\r\n"
              "Connection: close\r\n"
              "\r\n");
}


static void
test_request_ipv6(void **state)
{
    (void) state;

    LC_REQ_OK("GET", "https://[2001:db8::1]:8443/x", NULL, NULL, NULL, 0,
              "GET /x HTTP/1.1\r\n"
              "Host: [2001:db8::1]:8443\r\n"
              "User-Agent: linkcert\r\n"
              "Connection: close\r\n"
              "\r\n");

    LC_REQ_OK("GET", "http://[::1]", NULL, NULL, NULL, 0,
              "GET / HTTP/1.1\r\n"
              "Host: [::1]\r\n"
              "User-Agent: linkcert\r\n"
              "Connection: close\r\n"
              "\r\n");

    LC_REQ_OK("GET", "https://[::ffff:192.0.2.1]:443/", NULL, NULL, NULL, 0,
              "GET / HTTP/1.1\r\n"
              "Host: [::ffff:192.0.2.1]\r\n"
              "User-Agent: linkcert\r\n"
              "Connection: close\r\n"
              "\r\n");
}


static void
test_request_injection(void **state)
{
    (void) state;

    LC_REQ_BAD("GET", "https://a.example/x\r\nX-Evil: 1", NULL, NULL,
               NULL, 0);
    LC_REQ_BAD("GET", "https://a.example/x\nX-Evil: 1", NULL, NULL, NULL, 0);
    LC_REQ_BAD("GET", "https://a.example/x\rX-Evil: 1", NULL, NULL, NULL, 0);
    LC_REQ_BAD("GET", "https://a.example\r\nX-Evil: 1\r\n/x", NULL, NULL,
               NULL, 0);
    LC_REQ_BAD("GET", "https://a.example/x HTTP/1.0", NULL, NULL, NULL, 0);
    LC_REQ_BAD("GET", "https://a.example/x\ty", NULL, NULL, NULL, 0);
    LC_REQ_BAD("GET", "https://a.example/x\x01", NULL, NULL, NULL, 0);
    LC_REQ_BAD("GET", "https://a.example/x\x7f", NULL, NULL, NULL, 0);
    LC_REQ_BAD("GET", "https://a.example/\xc3\xa9", NULL, NULL, NULL, 0);
    LC_REQ_BAD("GET", "https://a.example:443\r\n/x", NULL, NULL, NULL, 0);
    LC_REQ_BAD("GET", "https://[::1\r\n]/x", NULL, NULL, NULL, 0);

    LC_REQ_BAD("GET", "https://a.example/", "a\r\nX-Evil: 1", NULL, NULL, 0);
    LC_REQ_BAD("POST", "https://a.example/", NULL, "a\nX-Evil: 1", "x", 1);
    LC_REQ_BAD("POST", "https://a.example/", NULL, "a\rb", "x", 1);
    LC_REQ_BAD("POST", "https://a.example/", NULL, "a\x7f", "x", 1);

    LC_REQ_BAD("GET /x HTTP/1.1\r\nX-Evil:", "https://a.example/", NULL,
               NULL, NULL, 0);
    LC_REQ_BAD("GET /", "https://a.example/", NULL, NULL, NULL, 0);
    LC_REQ_BAD("", "https://a.example/", NULL, NULL, NULL, 0);
    LC_REQ_BAD(NULL, "https://a.example/", NULL, NULL, NULL, 0);
    LC_REQ_BAD("GET", NULL, NULL, NULL, NULL, 0);

    LC_REQ_BAD("GET", "ftp://a.example/", NULL, NULL, NULL, 0);
    LC_REQ_BAD("GET", "a.example/", NULL, NULL, NULL, 0);
    LC_REQ_BAD("GET", "//a.example/", NULL, NULL, NULL, 0);
    LC_REQ_BAD("POST", "https://a.example/", NULL, NULL, NULL, 5);
}


static void
test_url(void **state)
{
    int          https;
    char         host[10];
    unsigned     port;
    const char  *path;

    (void) state;

    LC_URL_OK("https://acme.example/dir", 1, "acme.example", 443, "/dir");
    LC_URL_OK("http://acme.example/dir", 0, "acme.example", 80, "/dir");
    LC_URL_OK("https://acme.example", 1, "acme.example", 443, "/");
    LC_URL_OK("https://acme.example/", 1, "acme.example", 443, "/");
    LC_URL_OK("HTTPS://Acme.Example/A", 1, "Acme.Example", 443, "/A");
    LC_URL_OK("hTtP://a.example", 0, "a.example", 80, "/");
    LC_URL_OK("https://a.example:14000/x?y=1&z", 1, "a.example", 14000,
              "/x?y=1&z");
    LC_URL_OK("http://a.example:1", 0, "a.example", 1, "/");
    LC_URL_OK("http://a.example:65535/", 0, "a.example", 65535, "/");
    LC_URL_OK("http://a.example:00080/", 0, "a.example", 80, "/");
    LC_URL_OK("http://127.0.0.1:8080/ask", 0, "127.0.0.1", 8080, "/ask");
    LC_URL_OK("http://localhost/", 0, "localhost", 80, "/");
    LC_URL_OK("https://[::1]/", 1, "::1", 443, "/");
    LC_URL_OK("https://[2001:db8::1]:8443", 1, "2001:db8::1", 8443, "/");
    LC_URL_OK("https://[::ffff:192.0.2.1]/a", 1, "::ffff:192.0.2.1", 443,
              "/a");
    LC_URL_OK("https://a_b-c~d.example/%7e", 1, "a_b-c~d.example", 443,
              "/%7e");
    LC_URL_OK("https://a.example//x", 1, "a.example", 443, "//x");

    LC_URL_BAD(NULL);
    LC_URL_BAD("");
    LC_URL_BAD("https");
    LC_URL_BAD("https:");
    LC_URL_BAD("https:/a.example/");
    LC_URL_BAD("https://");
    LC_URL_BAD("https:///x");
    LC_URL_BAD("https://:443/");
    LC_URL_BAD("https://a.example:");
    LC_URL_BAD("https://a.example:/");
    LC_URL_BAD("https://a.example:0/");
    LC_URL_BAD("https://a.example:65536/");
    LC_URL_BAD("https://a.example:123456/");
    LC_URL_BAD("https://a.example:99999999999999999999/");
    LC_URL_BAD("https://a.example:-1/");
    LC_URL_BAD("https://a.example:8o/");
    LC_URL_BAD("https://a.example:80:80/");
    LC_URL_BAD("https://user@a.example/");
    LC_URL_BAD("https://user:pw@a.example/");
    LC_URL_BAD("https://a.example?x=1");
    LC_URL_BAD("https://a.example/x#frag");
    LC_URL_BAD("https://a.example\\x");
    LC_URL_BAD("https://a%2e.example/");
    LC_URL_BAD("https://[::1/");
    LC_URL_BAD("https://[::1]x/");
    LC_URL_BAD("https://[]/");
    LC_URL_BAD("https://[zz::1]/");
    LC_URL_BAD("https://[192.0.2.1]/");
    LC_URL_BAD("https://[fe80::1%25eth0]/");
    LC_URL_BAD("https://[::1]:/");
    LC_URL_BAD("https://::1/");
    LC_URL_BAD("ftp://a.example/");
    LC_URL_BAD("httpx://a.example/");
    LC_URL_BAD("https://a.example/ x");

    /* the host must fit with its NUL */

    assert_int_equal(lc_http_url("https://a.example/", &https, host, 9,
                                 &port, &path), -1);
    assert_int_equal(lc_http_url("https://a.example/", &https, host, 10,
                                 &port, &path), 0);
    assert_string_equal(host, "a.example");
    assert_int_equal(lc_http_url("https://[::1]/", &https, host, 3,
                                 &port, &path), -1);
    assert_int_equal(lc_http_url("https://[::1]/", &https, host, 4,
                                 &port, &path), 0);
    assert_string_equal(host, "::1");

    /* the outputs other than host are optional */

    assert_int_equal(lc_http_url("https://a.example/", NULL, host,
                                 sizeof(host), NULL, NULL), 0);
}


static void
test_response_good(void **state)
{
    size_t  i, step;

    (void) state;

    for (i = 0; i < sizeof(lc_good) / sizeof(lc_good[0]); i++) {
        for (step = 0; step <= 7; step++) {
            lc_check_good(&lc_good[i], step);
        }
    }
}


static void
test_response_bad(void **state)
{
    (void) state;

    lc_check_bad_all(lc_bad, sizeof(lc_bad) / sizeof(lc_bad[0]), 0);
}


static void
test_response_truncated(void **state)
{
    (void) state;

    lc_check_bad_all(lc_truncated,
                     sizeof(lc_truncated) / sizeof(lc_truncated[0]), 1);
}


/* every split in two, as the network may cut anywhere */

static void
test_response_splits(void **state)
{
    int                  rc;
    size_t               i, cut, len;
    const char          *body;
    const lc_good_t     *g;
    lc_http_response_t  *res;

    (void) state;

    for (i = 0; i < sizeof(lc_good) / sizeof(lc_good[0]); i++) {
        g = &lc_good[i];

        for (cut = 0; cut <= g->len; cut++) {
            res = lc_new_response(g->head);

            rc = lc_http_response_feed(res, g->in, cut, 0);
            assert_int_equal(rc, (cut == g->len && !g->eof) ? 1 : 0);

            rc = lc_http_response_feed(res, g->in + cut, g->len - cut,
                                       g->eof);
            assert_int_equal(rc, 1);
            assert_int_equal(lc_http_response_status(res), g->status);

            body = lc_http_response_body(res, &len);
            assert_int_equal(len, g->body_len);
            assert_memory_equal(body, g->body, len);

            lc_http_response_free(res);
        }
    }
}


static void
test_response_eof(void **state)
{
    size_t               len;
    const char          *body;
    lc_http_response_t  *res;

    (void) state;

    /* data and eof in one call */

    res = lc_http_response_new();
    assert_non_null(res);
    assert_int_equal(lc_http_response_feed(res,
                     LC_S("HTTP/1.1 200 OK\r\n\r\nab"), 1), 1);
    body = lc_http_response_body(res, &len);
    assert_int_equal(len, 2);
    assert_string_equal(body, "ab");
    lc_http_response_free(res);

    /* without eof, never complete */

    res = lc_http_response_new();
    assert_non_null(res);
    assert_int_equal(lc_http_response_feed(res,
                     LC_S("HTTP/1.1 200 OK\r\n\r\nab"), 0), 0);
    assert_int_equal(lc_http_response_feed(res, LC_S("cd"), 0), 0);
    assert_int_equal(lc_http_response_feed(res, NULL, 0, 0), 0);
    assert_int_equal(lc_http_response_feed(res, NULL, 0, 1), 1);
    body = lc_http_response_body(res, &len);
    assert_int_equal(len, 4);
    assert_string_equal(body, "abcd");
    lc_http_response_free(res);

    /* a Content-Length body may not end with the connection */

    res = lc_http_response_new();
    assert_non_null(res);
    assert_int_equal(lc_http_response_feed(res,
                     LC_S("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab"),
                     1), -1);
    lc_http_response_free(res);
}


static void
test_response_headers(void **state)
{
    lc_http_response_t  *res;

    (void) state;

    res = lc_http_response_new();
    assert_non_null(res);

    assert_null(lc_http_response_header(res, "Location"));
    assert_int_equal(lc_http_response_status(res), 0);

    assert_int_equal(lc_http_response_feed(res, LC_S(
        "HTTP/1.1 100 Continue\r\n"
        "X-Interim: 1\r\n"
        "\r\n"
        "HTTP/1.1 201 Created\r\n"
        "Location:  https://acme.example/order/1 \t \r\n"
        "replay-nonce:\tabc\r\n"
        "Link: <a>;rel=\"up\"\r\n"
        "LINK: <b>;rel=\"index\"\r\n"
        "X-Empty:\r\n"
        "X-Blank:   \r\n"
        "X-Inner: a  b\r\n"
        "Content-Length: 0\r\n"
        "\r\n"), 0), 1);

    assert_int_equal(lc_http_response_status(res), 201);
    assert_string_equal(lc_http_response_header(res, "location"),
                        "https://acme.example/order/1");
    assert_string_equal(lc_http_response_header(res, "Replay-Nonce"), "abc");
    assert_string_equal(lc_http_response_header(res, "link"),
                        "<a>;rel=\"up\"");
    assert_string_equal(lc_http_response_header(res, "X-Empty"), "");
    assert_string_equal(lc_http_response_header(res, "X-Blank"), "");
    assert_string_equal(lc_http_response_header(res, "X-Inner"), "a  b");
    assert_string_equal(lc_http_response_header(res, "content-length"), "0");

    /* the interim response's headers are gone */

    assert_null(lc_http_response_header(res, "X-Interim"));
    assert_null(lc_http_response_header(res, "X-Missing"));
    assert_null(lc_http_response_header(res, "Locatio"));
    assert_null(lc_http_response_header(res, "Location2"));
    assert_null(lc_http_response_header(res, ""));

    lc_http_response_free(res);
}


/* 64 headers are kept; the framing headers count past them */

static void
test_response_many_headers(void **state)
{
    int                  i;
    char                 in[4096];
    size_t               n, len;
    const char          *body;
    lc_http_response_t  *res;

    (void) state;

    n = (size_t) snprintf(in, sizeof(in), "HTTP/1.1 200 OK\r\n");

    for (i = 0; i < 70; i++) {
        n += (size_t) snprintf(in + n, sizeof(in) - n, "X-%d: %d\r\n", i, i);
    }

    n += (size_t) snprintf(in + n, sizeof(in) - n,
                           "Content-Length: 3\r\n\r\nabcdef");
    assert_true(n < sizeof(in));

    res = lc_http_response_new();
    assert_non_null(res);
    assert_int_equal(lc_http_response_feed(res, in, n, 0), 1);

    assert_string_equal(lc_http_response_header(res, "x-0"), "0");
    assert_string_equal(lc_http_response_header(res, "X-63"), "63");
    assert_null(lc_http_response_header(res, "X-64"));
    assert_null(lc_http_response_header(res, "Content-Length"));

    body = lc_http_response_body(res, &len);
    assert_int_equal(len, 3);
    assert_string_equal(body, "abc");

    lc_http_response_free(res);
}


/* a head of "HTTP/1.1 200 OK\r\nX: aaa...\r\n\r\n" of exactly size bytes */

static char *
lc_head_of(size_t size, size_t *len)
{
    char    *in;
    size_t   n, pad;

    n = sizeof("HTTP/1.1 200 OK\r\nX: \r\n\r\n") - 1;
    assert_true(size > n);
    pad = size - n;

    in = malloc(size + 1);
    assert_non_null(in);

    memcpy(in, "HTTP/1.1 200 OK\r\nX: ", 20);
    memset(in + 20, 'a', pad);
    memcpy(in + 20 + pad, "\r\n\r\n", 5);

    *len = size;

    return in;
}


static void
test_response_header_limit(void **state)
{
    char                *in;
    size_t               len, step;
    lc_http_response_t  *res;

    (void) state;

    for (step = 0; step <= 1; step++) {
        in = lc_head_of(LC_HTTP_HEADER_MAX, &len);
        res = lc_new_response(1);

        if (step == 0) {
            assert_int_equal(lc_http_response_feed(res, in, len, 0), 1);

        } else {
            assert_int_equal(lc_http_response_feed(res, in, len - 1, 0), 0);
            assert_int_equal(lc_http_response_feed(res, in + len - 1, 1, 0),
                             1);
        }

        assert_int_equal(strlen(lc_http_response_header(res, "X")),
                         LC_HTTP_HEADER_MAX - 24);
        lc_http_response_free(res);
        free(in);

        in = lc_head_of(LC_HTTP_HEADER_MAX + 1, &len);
        res = lc_new_response(1);
        assert_int_equal(lc_http_response_feed(res, in, len, 0), -1);
        lc_http_response_free(res);
        free(in);
    }

    /* interim responses count towards the limit */

    in = lc_head_of(LC_HTTP_HEADER_MAX - 25, &len);
    res = lc_new_response(1);
    assert_int_equal(lc_http_response_feed(res,
                     LC_S("HTTP/1.1 100 Continue\r\n\r\n"), 0), 0);
    assert_int_equal(lc_http_response_feed(res, in, len, 0), 1);
    lc_http_response_free(res);

    res = lc_new_response(1);
    assert_int_equal(lc_http_response_feed(res,
                     LC_S("HTTP/1.1 100 Continue!\r\n\r\n"), 0), 0);
    assert_int_equal(lc_http_response_feed(res, in, len, 0), -1);
    lc_http_response_free(res);
    free(in);

    /* a line of chunk extensions or trailers is bounded the same way */

    in = malloc(LC_HTTP_HEADER_MAX + 64);
    assert_non_null(in);
    res = lc_http_response_new();
    assert_non_null(res);
    assert_int_equal(lc_http_response_feed(res, LC_S(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), 0), 0);
    memset(in, 'a', LC_HTTP_HEADER_MAX + 64);
    memcpy(in, "1;", 2);
    assert_int_equal(lc_http_response_feed(res, in, LC_HTTP_HEADER_MAX + 64,
                                           0), -1);
    lc_http_response_free(res);

    res = lc_http_response_new();
    assert_non_null(res);
    assert_int_equal(lc_http_response_feed(res, LC_S(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        "0\r\nX: "), 0), 0);
    memset(in, 'a', LC_HTTP_HEADER_MAX + 64);
    assert_int_equal(lc_http_response_feed(res, in, LC_HTTP_HEADER_MAX + 64,
                                           0), -1);
    lc_http_response_free(res);
    free(in);
}


static void
test_response_body_limit(void **state)
{
    char                *big, head[128];
    size_t               n, len, off;
    const char          *body;
    lc_http_response_t  *res;

    (void) state;

    big = malloc(LC_HTTP_BODY_MAX + 1);
    assert_non_null(big);
    memset(big, 'b', LC_HTTP_BODY_MAX + 1);

    /* Content-Length: exactly the limit, then one more */

    n = (size_t) snprintf(head, sizeof(head),
                          "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n",
                          LC_HTTP_BODY_MAX);
    res = lc_http_response_new();
    assert_non_null(res);
    assert_int_equal(lc_http_response_feed(res, head, n, 0), 0);
    assert_int_equal(lc_http_response_feed(res, big, LC_HTTP_BODY_MAX, 0), 1);
    body = lc_http_response_body(res, &len);
    assert_int_equal(len, LC_HTTP_BODY_MAX);
    assert_int_equal(body[len], '\0');
    lc_http_response_free(res);

    n = (size_t) snprintf(head, sizeof(head),
                          "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n",
                          LC_HTTP_BODY_MAX + 1);
    res = lc_http_response_new();
    assert_non_null(res);
    assert_int_equal(lc_http_response_feed(res, head, n, 0), -1);
    lc_http_response_free(res);

    /* to the end of the connection */

    res = lc_http_response_new();
    assert_non_null(res);
    assert_int_equal(lc_http_response_feed(res,
                     LC_S("HTTP/1.1 200 OK\r\n\r\n"), 0), 0);

    for (off = 0; off < LC_HTTP_BODY_MAX; off += 4096) {
        assert_int_equal(lc_http_response_feed(res, big, 4096, 0), 0);
    }

    assert_int_equal(lc_http_response_feed(res, NULL, 0, 1), 1);
    body = lc_http_response_body(res, &len);
    assert_int_equal(len, LC_HTTP_BODY_MAX);
    lc_http_response_free(res);

    res = lc_http_response_new();
    assert_non_null(res);
    assert_int_equal(lc_http_response_feed(res,
                     LC_S("HTTP/1.1 200 OK\r\n\r\n"), 0), 0);
    assert_int_equal(lc_http_response_feed(res, big, LC_HTTP_BODY_MAX + 1,
                                           0), -1);
    lc_http_response_free(res);

    /* chunked: the sum of the chunks counts */

    res = lc_http_response_new();
    assert_non_null(res);
    assert_int_equal(lc_http_response_feed(res, LC_S(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        "80000\r\n"), 0), 0);
    assert_int_equal(lc_http_response_feed(res, big, 0x80000, 0), 0);
    assert_int_equal(lc_http_response_feed(res, LC_S("\r\n80000\r\n"), 0), 0);
    assert_int_equal(lc_http_response_feed(res, big, 0x80000, 0), 0);
    assert_int_equal(lc_http_response_feed(res, LC_S("\r\n0\r\n\r\n"), 0), 1);
    body = lc_http_response_body(res, &len);
    assert_int_equal(len, LC_HTTP_BODY_MAX);
    lc_http_response_free(res);

    res = lc_http_response_new();
    assert_non_null(res);
    assert_int_equal(lc_http_response_feed(res, LC_S(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        "80000\r\n"), 0), 0);
    assert_int_equal(lc_http_response_feed(res, big, 0x80000, 0), 0);
    assert_int_equal(lc_http_response_feed(res, LC_S("\r\n80001\r\n"), 0),
                     -1);
    lc_http_response_free(res);

    free(big);
}


static void
test_response_empty(void **state)
{
    size_t               len;
    const char          *body;
    lc_http_response_t  *res;

    (void) state;

    lc_http_response_free(NULL);

    res = lc_http_response_new();
    assert_non_null(res);
    assert_int_equal(lc_http_response_status(res), 0);
    body = lc_http_response_body(res, &len);
    assert_non_null(body);
    assert_int_equal(len, 0);
    assert_string_equal(body, "");
    assert_string_equal(lc_http_response_body(res, NULL), "");
    assert_int_equal(lc_http_response_feed(res, NULL, 0, 0), 0);
    assert_int_equal(lc_http_response_feed(res, NULL, 0, 1), -1);
    lc_http_response_free(res);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_request_post),
        cmocka_unit_test(test_request_header),
        cmocka_unit_test(test_request_get_head),
        cmocka_unit_test(test_request_ports),
        cmocka_unit_test(test_request_ipv6),
        cmocka_unit_test(test_request_injection),
        cmocka_unit_test(test_url),
        cmocka_unit_test(test_response_good),
        cmocka_unit_test(test_response_bad),
        cmocka_unit_test(test_response_truncated),
        cmocka_unit_test(test_response_splits),
        cmocka_unit_test(test_response_eof),
        cmocka_unit_test(test_response_headers),
        cmocka_unit_test(test_response_many_headers),
        cmocka_unit_test(test_response_header_limit),
        cmocka_unit_test(test_response_body_limit),
        cmocka_unit_test(test_response_empty),
    };

    return cmocka_run_group_tests_name("lc_http", tests, NULL, NULL);
}
