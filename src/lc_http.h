/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the smallest HTTP/1.1 client side: a request writer and an
 * incremental response parser, without I/O, for the ACME client and the
 * "ask" hook.
 */

#ifndef LC_HTTP_H
#define LC_HTTP_H

#include <stddef.h>


#define LC_HTTP_HEADER_MAX   8192        /* status line and headers */
#define LC_HTTP_BODY_MAX     (1024 * 1024)


typedef struct lc_http_response_s  lc_http_response_t;


/*
 * The request, "Connection: close", as malloc()ed bytes.  content_type
 * and body may be NULL; accept may be NULL.  url is "https://host[:port]
 * /path?query"; host is sent as in the URL.  Returns NULL on a bad URL or
 * no memory.
 */
char *lc_http_request(const char *method, const char *url,
    const char *accept, const char *content_type, const char *body,
    size_t body_len, size_t *len);

/* The same with one more header field, name: value (name NULL: none). */
char *lc_http_request_header(const char *method, const char *url,
    const char *accept, const char *content_type, const char *name,
    const char *value, const char *body, size_t body_len, size_t *len);

/*
 * Splits "https://host[:port]/path" (or http://).  host is written
 * without brackets for IPv6 literals.  Returns 0 or -1.
 */
int lc_http_url(const char *url, int *https, char *host, size_t host_size,
    unsigned *port, const char **path);

lc_http_response_t *lc_http_response_new(void);
void lc_http_response_free(lc_http_response_t *res);

/*
 * Feeds received bytes.  Returns 1 when the response is complete (a
 * Content-Length body, a chunked body, or with eof=1 a body read to the
 * end of the connection), 0 when more is needed, -1 when the response is
 * malformed or over the limits above.  eof=1 with no data: the peer
 * closed.
 */
int lc_http_response_feed(lc_http_response_t *res, const char *data,
    size_t len, int eof);

/*
 * The response is to a HEAD request: it ends with its headers, whatever
 * Content-Length or Transfer-Encoding they give.  Call before the headers
 * are complete.
 */
void lc_http_response_head(lc_http_response_t *res);

int lc_http_response_status(const lc_http_response_t *res);

/* The first header of that name (case-insensitive), NUL-terminated. */
const char *lc_http_response_header(const lc_http_response_t *res,
    const char *name);

const char *lc_http_response_body(const lc_http_response_t *res,
    size_t *len);

#endif /* LC_HTTP_H */
