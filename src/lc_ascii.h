/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: ASCII case folding and comparison, the same under every
 * locale, unlike tolower() and strcasecmp().  Header only: each file that
 * includes it gets its own static copy, so no build lists a new source.
 */

#ifndef LC_ASCII_H
#define LC_ASCII_H

#include <stddef.h>


/* c in lowercase if it is an ASCII capital letter, else c */

static inline unsigned char
lc_ascii_lower(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        c |= 0x20;
    }

    return c;
}


/* the n bytes at a and at b are equal, ASCII case-insensitively */

static inline int
lc_ascii_caseeqn(const char *a, const char *b, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (lc_ascii_lower((unsigned char) a[i])
            != lc_ascii_lower((unsigned char) b[i]))
        {
            return 0;
        }
    }

    return 1;
}


/* the strings a and b are equal, ASCII case-insensitively */

static inline int
lc_ascii_caseeq(const char *a, const char *b)
{
    unsigned char  ca;

    for ( ;; ) {
        ca = lc_ascii_lower((unsigned char) *a++);

        if (ca != lc_ascii_lower((unsigned char) *b++)) {
            return 0;
        }

        if (ca == '\0') {
            return 1;
        }
    }
}

#endif /* LC_ASCII_H */
