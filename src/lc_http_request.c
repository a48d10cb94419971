/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the smallest HTTP/1.1 client side: the request, the URLs it
 * goes to, and the grammar of tokens and field values (RFC 9110) the
 * request and the response (lc_http.c) share.
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "lc_ascii.h"
#include "lc_http.h"
#include "lc_http_int.h"


#define LC_HTTP_HOST_MAX  256           /* 253 for a name, and a NUL */


static int lc_http_request_head(char *buf, size_t size, const char *method,
    const char *path, const char *host, const char *port,
    const char *accept, const char *content_type, const char *fields);
static int lc_http_tchar(unsigned char c);


char *
lc_http_request(const char *method, const char *url, const char *accept,
    const char *content_type, const char *body, size_t body_len,
    size_t *len)
{
    return lc_http_request_header(method, url, accept, content_type, NULL,
                                  NULL, body, body_len, len);
}


char *
lc_http_request_header(const char *method, const char *url,
    const char *accept, const char *content_type, const char *name,
    const char *value, const char *body, size_t body_len, size_t *len)
{
    int          https, n;
    char        *buf, *p;
    char         host[LC_HTTP_HOST_MAX + 2], port_text[8], fields[512];
    size_t       size;
    unsigned     port;
    const char  *path;

    if (method == NULL || url == NULL
        || !lc_http_token(method, strlen(method)))
    {
        return NULL;
    }

    if (body == NULL && body_len != 0) {
        return NULL;
    }

    /* the caller's values become header lines: no CR or LF may pass */

    if ((accept && !lc_http_field_value(accept))
        || (content_type && !lc_http_field_value(content_type))
        || (name && (value == NULL || !lc_http_token(name, strlen(name))
                     || !lc_http_field_value(value))))
    {
        return NULL;
    }

    /* room for the brackets of an IPv6 literal, added below */

    if (lc_http_url(url, &https, host + 1, LC_HTTP_HOST_MAX, &port, &path)
        != 0)
    {
        return NULL;
    }

    if (strchr(host + 1, ':') != NULL) {
        n = (int) strlen(host + 1);
        host[0] = '[';
        host[n + 1] = ']';
        host[n + 2] = '\0';
        p = host;

    } else {
        p = host + 1;
    }

    port_text[0] = '\0';

    if (port != (https ? 443u : 80u)) {
        snprintf(port_text, sizeof(port_text), ":%u", port);
    }

    /*
     * A POST without a body still says "Content-Length: 0": some servers
     * answer 411 otherwise.  GET and HEAD say nothing about a body they
     * do not have.
     */

    n = 0;
    fields[0] = '\0';

    if (name) {
        n = snprintf(fields, sizeof(fields), "%s: %s\r\n", name, value);

        if (n < 0 || (size_t) n >= sizeof(fields) - 48) {
            return NULL;
        }
    }

    if (body_len != 0
        || (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0))
    {
        snprintf(fields + n, sizeof(fields) - n,
                 "Content-Length: %zu\r\n", body_len);
    }

    n = lc_http_request_head(NULL, 0, method, path, p, port_text, accept,
                             content_type, fields);
    if (n < 0 || body_len > SIZE_MAX - (size_t) n - 1) {
        return NULL;
    }

    size = (size_t) n + body_len;

    buf = malloc(size + 1);
    if (buf == NULL) {
        return NULL;
    }

    if (lc_http_request_head(buf, (size_t) n + 1, method, path, p,
                             port_text, accept, content_type, fields)
        != n)
    {
        free(buf);
        return NULL;
    }

    if (body_len) {
        memcpy(buf + n, body, body_len);
    }

    buf[size] = '\0';

    if (len) {
        *len = size;
    }

    return buf;
}


static int
lc_http_request_head(char *buf, size_t size, const char *method,
    const char *path, const char *host, const char *port,
    const char *accept, const char *content_type, const char *fields)
{
    return snprintf(buf, size,
                    "%s %s HTTP/1.1\r\n"
                    "Host: %s%s\r\n"
                    "User-Agent: linkcert\r\n"
                    "%s%s%s"
                    "%s%s%s"
                    "%s"
                    "Connection: close\r\n"
                    "\r\n",
                    method, path, host, port,
                    accept ? "Accept: " : "", accept ? accept : "",
                    accept ? "\r\n" : "",
                    content_type ? "Content-Type: " : "",
                    content_type ? content_type : "",
                    content_type ? "\r\n" : "",
                    fields);
}


int
lc_http_url(const char *url, int *https, char *host, size_t host_size,
    unsigned *port, const char **path)
{
    int             tls, digits;
    char            addr[INET6_ADDRSTRLEN];
    size_t          n;
    unsigned        num;
    unsigned char   c, in6[16];
    const char     *p, *h;

    if (url == NULL) {
        return -1;
    }

    /*
     * The URL goes into the request line and the Host header as it is:
     * a CR, LF, space or any other control byte could end either early
     * and inject a header.  A fragment is never sent, so it is refused
     * rather than silently cut.
     */

    for (p = url; *p; p++) {
        c = (unsigned char) *p;

        if (c <= 0x20 || c >= 0x7f || c == '#') {
            return -1;
        }
    }

    if (lc_http_prefix(url, "https://")) {
        tls = 1;
        p = url + 8;

    } else if (lc_http_prefix(url, "http://")) {
        tls = 0;
        p = url + 7;

    } else {
        return -1;
    }

    if (*p == '[') {
        h = ++p;

        while (*p && *p != ']') {
            p++;
        }

        n = (size_t) (p - h);

        if (*p != ']' || n == 0 || n >= sizeof(addr)) {
            return -1;
        }

        memcpy(addr, h, n);
        addr[n] = '\0';

        /* no zone ("%25eth0"): it means nothing to the peer */

        if (inet_pton(AF_INET6, addr, in6) != 1) {
            return -1;
        }

        p++;

    } else {
        h = p;

        /* RFC 3986 unreserved; "@" (userinfo) and "%" are refused */

        while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
               || (*p >= '0' && *p <= '9')
               || *p == '-' || *p == '.' || *p == '_' || *p == '~')
        {
            p++;
        }

        n = (size_t) (p - h);

        if (n == 0) {
            return -1;
        }
    }

    num = tls ? 443 : 80;

    if (*p == ':') {
        p++;
        num = 0;

        for (digits = 0; *p >= '0' && *p <= '9'; digits++, p++) {
            if (digits == 5) {
                return -1;
            }

            num = num * 10 + (unsigned) (*p - '0');
        }

        if (digits == 0 || num == 0 || num > 65535) {
            return -1;
        }
    }

    /*
     * "https://host?query" would need a "/" inserted before the query,
     * and path points into url: it is refused like any other character.
     */

    if (*p != '/' && *p != '\0') {
        return -1;
    }

    if (n >= host_size) {
        return -1;
    }

    memcpy(host, h, n);
    host[n] = '\0';

    if (https) {
        *https = tls;
    }

    if (port) {
        *port = num;
    }

    if (path) {
        *path = (*p == '\0') ? "/" : p;
    }

    return 0;
}


int
lc_http_token(const char *s, size_t len)
{
    size_t  i;

    if (len == 0) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!lc_http_tchar((unsigned char) s[i])) {
            return 0;
        }
    }

    return 1;
}


static int
lc_http_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9'))
    {
        return 1;
    }

    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}


/* what linkcert itself sends in a header: visible ASCII, SP and HTAB */

int
lc_http_field_value(const char *s)
{
    unsigned char  c;

    for ( /* void */ ; *s; s++) {
        c = (unsigned char) *s;

        if ((c < 0x20 && c != '\t') || c >= 0x7f) {
            return 0;
        }
    }

    return 1;
}


/* the scheme is case-insensitive (RFC 3986, 3.1); prefix is lowercase */

int
lc_http_prefix(const char *s, const char *prefix)
{
    for ( /* void */ ; *prefix; s++, prefix++) {
        if (lc_ascii_lower((unsigned char) *s) != (unsigned char) *prefix) {
            return 0;
        }
    }

    return 1;
}
