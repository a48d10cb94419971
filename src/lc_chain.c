
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: a PEM chain split into its leaf and its intermediates (see
 * lc_chain.h).
 */


#include <string.h>

#include <openssl/sha.h>

#include "lc_chain.h"


static const char *lc_chain_find(const char *p, const char *end,
    const char *what);


size_t
lc_chain_leaf_len(const char *chain, size_t len)
{
    const char  *end, *p;

    end = chain + len;

    p = lc_chain_find(chain, end, "-----END CERTIFICATE-----");
    if (p == NULL) {
        return len;
    }

    p = lc_chain_find(p + sizeof("-----END CERTIFICATE-----") - 1, end,
                      "-----BEGIN ");

    return p ? (size_t) (p - chain) : len;
}


int
lc_chain_id(const char *pem, size_t len, char id[LC_CHAIN_ID_LEN])
{
    size_t               i;
    unsigned char        md[SHA256_DIGEST_LENGTH];
    static const char    hex[] = "0123456789abcdef";

    if (SHA256((const unsigned char *) pem, len, md) == NULL) {
        return -1;
    }

    for (i = 0; i < SHA256_DIGEST_LENGTH; i++) {
        id[2 * i] = hex[md[i] >> 4];
        id[2 * i + 1] = hex[md[i] & 0xf];
    }

    return 0;
}


/* what, in [p, end): where it begins, or NULL */

static const char *
lc_chain_find(const char *p, const char *end, const char *what)
{
    size_t  n;

    n = strlen(what);

    for ( /* void */ ; (size_t) (end - p) >= n; p++) {
        if (*p == *what && memcmp(p, what, n) == 0) {
            return p;
        }
    }

    return NULL;
}
