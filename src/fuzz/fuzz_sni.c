
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: libFuzzer target for the ClientHello parser.
 *
 * The input is what a connection has received.  Besides what the
 * sanitizers find, a crash is a broken promise of lc_sni.h: a found name
 * that is not 1 to LC_DOMAIN_MAX bytes of [a-z0-9._-], outputs written
 * without FOUND, or an answer for a prefix that the whole input changes.
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lc_sni.h"
#include "lc_fuzz.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static lc_sni_e lc_fuzz_parse(const uint8_t *data, size_t size, char *name,
    size_t *name_len);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char      name[LC_DOMAIN_MAX + 1], part[LC_DOMAIN_MAX + 1];
    size_t    i, name_len, part_len, cuts[2];
    lc_sni_e  rc, part_rc;

    rc = lc_fuzz_parse(data, size, name, &name_len);

    if (size == 0) {
        return 0;
    }

    /*
     * Two prefixes, cheaply, for every input: an answer other than AGAIN
     * must be the whole input's answer too.
     */

    cuts[0] = size / 2;
    cuts[1] = size - 1;

    for (i = 0; i < 2; i++) {
        part_rc = lc_fuzz_parse(data, cuts[i], part, &part_len);

        if (part_rc == LC_SNI_AGAIN || cuts[i] >= LC_SNI_PEEK_MAX) {
            continue;
        }

        if (part_rc != rc) {
            abort();
        }

        if (rc == LC_SNI_FOUND
            && (part_len != name_len || memcmp(part, name, name_len) != 0))
        {
            abort();
        }
    }

    return 0;
}


/*
 * lc_sni_parse() on an exact heap copy of the first size bytes, so that
 * AddressSanitizer sees a read past them, and its outputs checked.
 */

static lc_sni_e
lc_fuzz_parse(const uint8_t *data, size_t size, char *name,
    size_t *name_len)
{
    char            c;
    size_t          i;
    lc_sni_e        rc;
    unsigned char  *copy;

    copy = lc_fuzz_copy(data, size);

    memset(name, 0x7f, LC_DOMAIN_MAX + 1);
    *name_len = (size_t) -1;

    rc = lc_sni_parse(copy, size, name, name_len);

    free(copy);

    switch (rc) {

    case LC_SNI_FOUND:
        if (*name_len == 0 || *name_len > LC_DOMAIN_MAX
            || strlen(name) != *name_len)
        {
            abort();
        }

        for (i = 0; i < *name_len; i++) {
            c = name[i];

            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                  || c == '-' || c == '.' || c == '_'))
            {
                abort();
            }
        }

        break;

    case LC_SNI_AGAIN:
    case LC_SNI_NONE:
    case LC_SNI_INVALID:
        if (*name_len != (size_t) -1 || name[0] != 0x7f) {
            abort();
        }

        break;

    default:
        abort();
    }

    if (rc == LC_SNI_AGAIN && size >= LC_SNI_PEEK_MAX) {
        abort();
    }

    return rc;
}
