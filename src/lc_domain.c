
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: domain name normalisation.
 *
 * This runs on every TLS handshake (SNI), so it is one pass over the
 * bytes, without allocation.
 */


#include <string.h>

#include "lc_domain.h"


#define LC_LABEL_MAX  63


static int lc_domain_numeric(const char *label, size_t len);
static int lc_domain_hex(unsigned char c);


int
lc_domain_normalize(const char *in, size_t len, char *out, size_t *out_len,
    const char **reason)
{
    size_t          i, label;
    unsigned int    labels;
    unsigned char   c, prev;
    const char     *unused;

    if (reason == NULL) {
        reason = &unused;
    }

    if (in == NULL || len == 0) {
        *reason = "empty name";
        return -1;
    }

    if (in[len - 1] == '.') {
        len--;

        if (len == 0) {
            *reason = "empty name";
            return -1;
        }
    }

    if (len > LC_DOMAIN_MAX) {
        *reason = "name longer than 253 characters";
        return -1;
    }

    label = 0;
    labels = 0;
    prev = '.';

    for (i = 0; i < len; i++) {
        c = (unsigned char) in[i];

        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            /* void */

        } else if (c >= 'A' && c <= 'Z') {
            c |= 0x20;

        } else if (c == '-') {
            if (label == 0) {
                *reason = "label starts or ends with a hyphen";
                return -1;
            }

        } else if (c == '.') {
            if (label == 0) {
                *reason = "empty label";
                return -1;
            }

            if (prev == '-') {
                *reason = "label starts or ends with a hyphen";
                return -1;
            }

            out[i] = '.';
            prev = c;
            label = 0;
            labels++;
            continue;

        } else if (c == '*') {
            *reason = "wildcard, not a domain name";
            return -1;

        } else {
            *reason = "invalid character";
            return -1;
        }

        if (++label > LC_LABEL_MAX) {
            *reason = "label longer than 63 characters";
            return -1;
        }

        out[i] = (char) c;
        prev = c;
    }

    if (label == 0) {
        *reason = "empty label";
        return -1;
    }

    if (prev == '-') {
        *reason = "label starts or ends with a hyphen";
        return -1;
    }

    /*
     * URL parsers (and so browsers) read a name whose last label is a
     * number as an IPv4 address, whatever the other labels are.
     */

    if (lc_domain_numeric(out + len - label, label)) {
        *reason = "IP address, not a domain name";
        return -1;
    }

    if (labels == 0) {
        *reason = "single-label name";
        return -1;
    }

    out[len] = '\0';

    if (out_len) {
        *out_len = len;
    }

    return 0;
}


int
lc_domain_from_host(const char *in, size_t len, char *out, size_t *out_len,
    const char **reason)
{
    size_t       i, digits;
    const char  *unused;

    if (reason == NULL) {
        reason = &unused;
    }

    if (in == NULL || len == 0) {
        *reason = "empty name";
        return -1;
    }

    if (in[0] == '[') {
        *reason = "IPv6 address, not a domain name";
        return -1;
    }

    /* a port has at most 5 digits: only the tail is looked at */

    i = len;
    digits = 0;

    while (i > 0 && digits < 6 && in[i - 1] >= '0' && in[i - 1] <= '9') {
        i--;
        digits++;
    }

    if (i > 0 && in[i - 1] == ':') {
        if (digits == 0 || digits > 5) {
            *reason = "invalid port after the name";
            return -1;
        }

        len = i - 1;

    } else if (memchr(in, ':', len) != NULL) {
        *reason = "invalid port after the name";
        return -1;
    }

    return lc_domain_normalize(in, len, out, out_len, reason);
}


int
lc_domain_from_query(const char *in, size_t len, char *out, size_t *out_len,
    const char **reason)
{
    int          hi, lo;
    size_t       i, n;
    const char  *unused;
    char         name[LC_DOMAIN_MAX + 2];

    if (reason == NULL) {
        reason = &unused;
    }

    n = 0;

    for (i = 0; i < len; i++) {

        /* one byte more than a name with its trailing dot: "too long" */

        if (n == sizeof(name)) {
            break;
        }

        if (in[i] != '%') {
            name[n++] = in[i];
            continue;
        }

        if (len - i < 3
            || (hi = lc_domain_hex((unsigned char) in[i + 1])) < 0
            || (lo = lc_domain_hex((unsigned char) in[i + 2])) < 0)
        {
            *reason = "invalid percent-escape";
            return -1;
        }

        name[n++] = (char) (hi * 16 + lo);
        i += 2;
    }

    return lc_domain_normalize(name, n, out, out_len, reason);
}


/*
 * The WHATWG URL parser's "ends in a number": all decimal digits, or "0x"
 * followed by hexadecimal digits (possibly none).
 */

static int
lc_domain_numeric(const char *label, size_t len)
{
    size_t         i;
    unsigned char  c;

    if (len >= 2 && label[0] == '0' && label[1] == 'x') {
        for (i = 2; i < len; i++) {
            c = (unsigned char) label[i];

            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
                return 0;
            }
        }

        return 1;
    }

    for (i = 0; i < len; i++) {
        if (label[i] < '0' || label[i] > '9') {
            return 0;
        }
    }

    return 1;
}


static int
lc_domain_hex(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return -1;
}
