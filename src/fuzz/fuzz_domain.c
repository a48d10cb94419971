/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: libFuzzer target for domain name normalisation.
 *
 * The input is a name as it arrives (SNI, Host, ?domain=, a directory
 * name).  Besides what the sanitizers find, a crash is a broken promise
 * of lc_domain.h: an accepted name that is not 1 to LC_DOMAIN_MAX bytes
 * of [a-z0-9.-] with a NUL after it, that has an empty label, a label
 * over 63 bytes or starting or ending with "-", a single label or a
 * numeric last label; a name that normalises to something else the
 * second time (or not at all); an accepted name that differs from the
 * input other than by case and one trailing dot; a failure without a
 * reason; lc_domain_from_host() disagreeing with lc_domain_normalize()
 * on an input without ":" or "["; or lc_domain_from_query() disagreeing
 * with it on an input without "%", or not decoding an accepted name with
 * every byte escaped back to that name.
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lc_domain.h"
#include "lc_fuzz.h"


/* which entry point lc_fuzz_normalize() calls */
#define LC_FUZZ_NAME   0
#define LC_FUZZ_HOST   1
#define LC_FUZZ_QUERY  2


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int lc_fuzz_normalize(const uint8_t *data, size_t size, int how,
    char *out, size_t *out_len);
static void lc_fuzz_check(const char *name, size_t len);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int     rc, host_rc, again_rc;
    char    out[LC_DOMAIN_MAX + 1], host[LC_DOMAIN_MAX + 1];
    char    again[LC_DOMAIN_MAX + 1], query[LC_DOMAIN_MAX + 1];
    char    escaped[3 * LC_DOMAIN_MAX];
    size_t  i, len, host_len, again_len, in_len, query_len;

    static const char  hex[] = "0123456789ABCDEF";

    rc = lc_fuzz_normalize(data, size, LC_FUZZ_NAME, out, &len);

    if (rc == 0) {
        lc_fuzz_check(out, len);

        /* the input less one trailing dot, in lower case */

        in_len = (size > 0 && data[size - 1] == '.') ? size - 1 : size;

        if (in_len != len) {
            abort();
        }

        for (i = 0; i < len; i++) {
            if (out[i] != data[i]
                && !(data[i] >= 'A' && data[i] <= 'Z'
                     && out[i] == (char) (data[i] | 0x20)))
            {
                abort();
            }
        }

        /* idempotent, with or without a trailing dot, and as a Host */

        again_rc = lc_fuzz_normalize((const uint8_t *) out, len,
                                     LC_FUZZ_NAME, again, &again_len);

        if (again_rc != 0 || again_len != len
            || memcmp(again, out, len + 1) != 0)
        {
            abort();
        }

        memcpy(again, out, len);
        again[len] = '.';

        if (lc_fuzz_normalize((const uint8_t *) again, len + 1,
                              LC_FUZZ_HOST, host, &host_len) != 0
            || host_len != len || memcmp(host, out, len + 1) != 0)
        {
            abort();
        }

        /* every byte escaped, as a query argument */

        for (i = 0; i < len; i++) {
            escaped[3 * i] = '%';
            escaped[3 * i + 1] = hex[(unsigned char) out[i] >> 4];
            escaped[3 * i + 2] = hex[(unsigned char) out[i] & 0x0f];
        }

        if (lc_fuzz_normalize((const uint8_t *) escaped, 3 * len,
                              LC_FUZZ_QUERY, query, &query_len) != 0
            || query_len != len || memcmp(query, out, len + 1) != 0)
        {
            abort();
        }
    }

    host_rc = lc_fuzz_normalize(data, size, LC_FUZZ_HOST, host, &host_len);

    if (host_rc == 0) {
        lc_fuzz_check(host, host_len);
    }

    /* without a port or brackets, a Host is a name */

    if (memchr(data, ':', size) == NULL
        && (size == 0 || data[0] != '['))
    {
        if (host_rc != rc) {
            abort();
        }

        if (rc == 0 && (host_len != len || memcmp(host, out, len) != 0)) {
            abort();
        }
    }

    /* without escapes, a query argument is a name */

    if (lc_fuzz_normalize(data, size, LC_FUZZ_QUERY, query, &query_len)
        == 0)
    {
        lc_fuzz_check(query, query_len);
    }

    if (memchr(data, '%', size) == NULL
        && (lc_fuzz_normalize(data, size, LC_FUZZ_QUERY, query, &query_len)
            != rc
            || (rc == 0
                && (query_len != len || memcmp(query, out, len) != 0))))
    {
        abort();
    }

    return 0;
}


/*
 * lc_domain_normalize(), lc_domain_from_host() or lc_domain_from_query()
 * on an exact heap copy
 * of the input, so that AddressSanitizer sees a read past it.
 */

static int
lc_fuzz_normalize(const uint8_t *data, size_t size, int how, char *out,
    size_t *out_len)
{
    int          rc;
    char        *copy;
    const char  *reason;

    copy = lc_fuzz_copy(data, size);

    reason = NULL;
    *out_len = (size_t) -1;   /* so that a success must set it */

    switch (how) {

    case LC_FUZZ_HOST:
        rc = lc_domain_from_host(copy, size, out, out_len, &reason);
        break;

    case LC_FUZZ_QUERY:
        rc = lc_domain_from_query(copy, size, out, out_len, &reason);
        break;

    default:
        rc = lc_domain_normalize(copy, size, out, out_len, &reason);
    }

    free(copy);

    if (rc == 0) {
        if (*out_len > LC_DOMAIN_MAX) {
            abort();
        }

    } else if (rc != -1 || reason == NULL || reason[0] == '\0') {
        abort();
    }

    return rc;
}


/* the shape of an accepted name */

static void
lc_fuzz_check(const char *name, size_t len)
{
    char    c;
    size_t  i, label, labels, start;

    if (len == 0 || len > LC_DOMAIN_MAX || strlen(name) != len) {
        abort();
    }

    label = 0;
    labels = 1;
    start = 0;

    for (i = 0; i <= len; i++) {
        c = name[i];

        if (c == '.' || c == '\0') {
            if (label == 0 || label > 63
                || name[start] == '-' || name[i - 1] == '-')
            {
                abort();
            }

            if (c == '.') {
                labels++;
                label = 0;
                start = i + 1;
            }

            continue;
        }

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
              || c == '-'))
        {
            abort();
        }

        label++;
    }

    if (labels < 2) {
        abort();
    }

    /* the last label is not a number (decimal, or "0x" and hex) */

    for (i = start; i < len; i++) {
        c = name[i];

        if (!(c >= '0' && c <= '9')
            && !(i == start + 1 && c == 'x' && name[start] == '0')
            && !(i > start + 1 && name[start] == '0'
                 && name[start + 1] == 'x'
                 && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))))
        {
            break;
        }
    }

    if (i == len) {
        abort();
    }
}
