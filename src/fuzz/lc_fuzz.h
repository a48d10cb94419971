/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: helpers shared by the libFuzzer targets.  Header only: each
 * target that includes it gets its own static copy, so scripts/fuzz lists
 * no other source.
 */

#ifndef LC_FUZZ_H
#define LC_FUZZ_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>


/*
 * An exact heap copy of the size bytes at data (a byte is allocated for
 * none), so that AddressSanitizer sees a read past them; free() it.
 */

static inline void *
lc_fuzz_copy(const void *data, size_t size)
{
    void  *copy;

    copy = malloc(size > 0 ? size : 1);
    if (copy == NULL) {
        abort();
    }

    if (size > 0) {
        memcpy(copy, data, size);
    }

    return copy;
}


/*
 * The length of the string s, which must be NUL-terminated within size
 * bytes and, if printable is set, be printable ASCII; aborts otherwise.
 */

static inline size_t
lc_fuzz_text(const char *s, size_t size, int printable)
{
    size_t  i, len;

    len = strnlen(s, size);

    if (len == size) {
        abort();
    }

    for (i = 0; printable && i < len; i++) {
        if (s[i] < 0x20 || s[i] > 0x7e) {
            abort();
        }
    }

    return len;
}

#endif /* LC_FUZZ_H */
