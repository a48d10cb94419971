/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: a short, bounded error, and the table of linkcert's error
 * types.
 */


#include <stdio.h>
#include <string.h>

#include "lc_error.h"


static void lc_error_vset(lc_error_t *err, const char *type,
    const char *fmt, va_list args);
static int lc_error_prefixed(const char *type, const char *prefix);
static void lc_error_utf8_trim(char *buf, size_t len);


const lc_error_type_t  lc_error_types[LC_ERR_N] = {
    [LC_ERR_INVALID_DOMAIN] = { "invalid_domain", "dns" },
    [LC_ERR_DNS_MISSING] = { "dns_missing", "dns" },
    [LC_ERR_DNS_MISMATCH] = { "dns_mismatch", "dns" },
    [LC_ERR_DNS_TIMEOUT] = { "dns_timeout", "dns" },
    [LC_ERR_DNS_SERVFAIL] = { "dns_servfail", "dns" },
    [LC_ERR_DNS_REFUSED] = { "dns_refused", "dns" },
    [LC_ERR_DNS_ERROR] = { "dns_error", "dns" },
    [LC_ERR_DNS_UNREACHABLE] = { "dns_unreachable", "dns" },
    [LC_ERR_CAA_FORBIDS] = { "caa_forbids", "dns" },

    [LC_ERR_ACME_CONFIG] = { "acme_config", "acme" },
    [LC_ERR_ACME_INTERNAL] = { "acme_internal", "acme" },
    [LC_ERR_ACME_NO_ACCOUNT] = { "acme_no_account", "acme" },
    [LC_ERR_ACME_PROTOCOL] = { "acme_protocol", "acme" },
    [LC_ERR_ACME_REJECTED] = { "acme_rejected", "acme" },
    [LC_ERR_ACME_TIMEOUT] = { "acme_timeout", "acme" },
    [LC_ERR_ACME_SERVER] = { "acme_server", "acme" },
    [LC_ERR_ACME_OTHER] = { "acme_other", "acme" },
    [LC_ERR_ACME_TRANSPORT] = { "acme_transport", "acme" },

    [LC_ERR_STORE_CORRUPT] = { "store_corrupt", "store" },
    [LC_ERR_STORE_UNREADABLE] = { "store_unreadable", "store" },
    [LC_ERR_STORE_KEY_MISMATCH] = { "store_key_mismatch", "store" },
    [LC_ERR_STORE_NAME_MISMATCH] = { "store_name_mismatch", "store" },
    [LC_ERR_STORE_NOT_YET_VALID] = { "store_not_yet_valid", "store" },
    [LC_ERR_STORE_EXPIRED] = { "store_expired", "store" },
    [LC_ERR_STORE_WRITE] = { "store_write", "store" },
    [LC_ERR_REMOVED] = { "removed", "store" },

    [LC_ERR_ORDER_BUDGET] = { "order_budget", "limit" },
    [LC_ERR_REGISTERED_DOMAIN_LIMIT] = { "registered_domain_limit",
                                         "limit" },
    [LC_ERR_VALIDATION_LIMIT] = { "validation_limit", "limit" },
    [LC_ERR_DUPLICATE_LIMIT] = { "duplicate_limit", "limit" },

    [LC_ERR_ASK_REFUSED] = { "ask_refused", "ask" },
    [LC_ERR_ASK_FAILED] = { "ask_failed", "ask" },

    [LC_ERR_NO_ACME_DIRECTORY] = { "no_acme_directory", "config" },

    [LC_ERR_EXPIRED] = { "expired", "certificate" },

    [LC_ERR_FLEET_BUSY] = { "fleet_busy", "fleet" },
    [LC_ERR_ENGINE_UNREACHABLE] = { "engine_unreachable", "fleet" }
};


/* the source of a type the table does not have, by its first letters */

static const struct {
    const char  *prefix;
    const char  *source;
} lc_error_prefixes[] = {
    { "dns_", "dns" },
    { "acme_", "acme" },
    { "urn:", "acme" },
    { "store_", "store" },
    { "ask_", "ask" }
};


void
lc_error_set(lc_error_t *err, lc_error_type_e type, const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    lc_error_vset(err, lc_error_name(type), fmt, args);
    va_end(args);
}


void
lc_error_set_name(lc_error_t *err, const char *type, const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    lc_error_vset(err, type, fmt, args);
    va_end(args);
}


static void
lc_error_vset(lc_error_t *err, const char *type, const char *fmt,
    va_list args)
{
    int     n;
    size_t  len;

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

    n = vsnprintf(err->detail, LC_ERROR_DETAIL_LEN, fmt, args);

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


int
lc_error_is(const lc_error_t *err, lc_error_type_e type)
{
    return err != NULL
           && strncmp(err->type, lc_error_name(type), LC_ERROR_TYPE_LEN)
              == 0;
}


const char *
lc_error_name(lc_error_type_e type)
{
    return ((unsigned) type < LC_ERR_N) ? lc_error_types[type].name : "";
}


const char *
lc_error_source(const char *type)
{
    size_t  i;

    if (type == NULL) {
        return "linkcert";
    }

    for (i = 0; i < LC_ERR_N; i++) {
        if (strncmp(type, lc_error_types[i].name, LC_ERROR_TYPE_LEN) == 0) {
            return lc_error_types[i].source;
        }
    }

    for (i = 0; i < sizeof(lc_error_prefixes) / sizeof(lc_error_prefixes[0]);
         i++)
    {
        if (lc_error_prefixed(type, lc_error_prefixes[i].prefix)) {
            return lc_error_prefixes[i].source;
        }
    }

    return "linkcert";
}


static int
lc_error_prefixed(const char *type, const char *prefix)
{
    return strncmp(type, prefix, strlen(prefix)) == 0;
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
