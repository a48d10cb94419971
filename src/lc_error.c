
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: a short, bounded error.
 */


#include <stdio.h>
#include <string.h>

#include "lc_error.h"


static void lc_error_utf8_trim(char *buf, size_t len);
static int lc_error_is(const char *type, const char *word);


/* the first match wins: a prefix ends with '_' or ':', else a whole type */

static const struct {
    const char  *type;
    const char  *source;
} lc_error_sources[] = {
    { "dns_", "dns" },
    { "caa_forbids", "dns" },
    { "invalid_domain", "dns" },
    { "acme_", "acme" },
    { "urn:", "acme" },
    { "store_", "store" },
    { "removed", "store" },
    { "order_budget", "limit" },
    { "registered_domain_limit", "limit" },
    { "validation_limit", "limit" },
    { "duplicate_limit", "limit" },
    { "ask_", "ask" },
    { "no_acme_directory", "config" },
    { "expired", "certificate" }
};


void
lc_error_set(lc_error_t *err, const char *type, const char *fmt, ...)
{
    int      n;
    size_t   len;
    va_list  args;

    if (err == NULL) {
        return;
    }

    if (type == NULL) {
        type = "";
    }

    len = strlen(type);

    if (len >= LC_ERROR_TYPE_LEN) {
        len = LC_ERROR_TYPE_LEN - 1;
    }

    memcpy(err->type, type, len);
    err->type[len] = '\0';

    if (fmt == NULL) {
        err->detail[0] = '\0';
        return;
    }

    va_start(args, fmt);
    n = vsnprintf(err->detail, LC_ERROR_DETAIL_LEN, fmt, args);
    va_end(args);

    if (n < 0) {
        err->detail[0] = '\0';
        return;
    }

    if ((size_t) n >= LC_ERROR_DETAIL_LEN) {
        /* the detail ends up in JSON: never leave half a character */
        lc_error_utf8_trim(err->detail, LC_ERROR_DETAIL_LEN - 1);
    }
}


void
lc_error_clear(lc_error_t *err)
{
    if (err == NULL) {
        return;
    }

    err->type[0] = '\0';
    err->detail[0] = '\0';
}


const char *
lc_error_source(const char *type)
{
    size_t  i;

    if (type == NULL) {
        return "linkcert";
    }

    for (i = 0; i < sizeof(lc_error_sources) / sizeof(lc_error_sources[0]);
         i++)
    {
        if (lc_error_is(type, lc_error_sources[i].type)) {
            return lc_error_sources[i].source;
        }
    }

    return "linkcert";
}


static int
lc_error_is(const char *type, const char *word)
{
    size_t  len;

    len = strlen(word);

    if (word[len - 1] == '_' || word[len - 1] == ':') {
        return strncmp(type, word, len) == 0;
    }

    return strncmp(type, word, LC_ERROR_TYPE_LEN) == 0;
}


/*
 * buf holds len bytes cut at an arbitrary byte; drops an incomplete UTF-8
 * sequence at the end.
 */

static void
lc_error_utf8_trim(char *buf, size_t len)
{
    size_t          i, need;
    unsigned char   c;

    i = len;

    while (i > 0 && len - i < 3
           && ((unsigned char) buf[i - 1] & 0xc0) == 0x80)
    {
        i--;
    }

    if (i == 0) {
        return;
    }

    c = (unsigned char) buf[i - 1];

    if (c < 0xc0) {
        return;
    }

    need = (c >= 0xf0) ? 4 : (c >= 0xe0) ? 3 : 2;

    if (len - (i - 1) < need) {
        buf[i - 1] = '\0';
    }
}
