/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: domain name normalisation.
 *
 * Every name that enters linkcert (SNI, Host, ?domain=, store directory
 * names) goes through lc_domain_normalize(); nothing else reaches the
 * domain table.
 */

#ifndef LC_DOMAIN_H
#define LC_DOMAIN_H

#include <stddef.h>


#define LC_DOMAIN_MAX  253              /* without the trailing dot */


/*
 * Normalises "in" (len bytes, not NUL-terminated, may contain any byte):
 * lowercase, one trailing dot removed, LDH labels of 1-63 characters with
 * no leading or trailing hyphen ("xn--" punycode is LDH), at most 253
 * characters, at least two labels, not an IP literal, no "*".
 *
 * On success writes the name and a NUL into out (LC_DOMAIN_MAX + 1 bytes),
 * its length into *out_len and returns 0.  On failure returns -1 and points
 * *reason at a static, human-readable sentence.
 */
int lc_domain_normalize(const char *in, size_t len, char *out,
    size_t *out_len, const char **reason);

/*
 * The same for an HTTP Host header value: a ":port" suffix is removed
 * first; bracketed IPv6 literals are rejected.
 */
int lc_domain_from_host(const char *in, size_t len, char *out,
    size_t *out_len, const char **reason);

/*
 * The same for a URL query argument's raw value ("?domain=<value>"):
 * "%XX" escapes are decoded first, strictly: a "%" not followed by two
 * hexadecimal digits is an error, never passed on or dropped.
 */
int lc_domain_from_query(const char *in, size_t len, char *out,
    size_t *out_len, const char **reason);

#endif /* LC_DOMAIN_H */
