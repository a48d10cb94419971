/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the server name of a TLS ClientHello, read from the bytes a
 * connection has received so far, before any TLS library sees them.
 *
 * No I/O, no allocation, no global state: the caller peeks at the
 * connection (MSG_PEEK, from byte 0) and calls lc_sni_parse() again with
 * everything it has each time more arrives.
 */

#ifndef LC_SNI_H
#define LC_SNI_H

#include <stddef.h>

#include "lc_domain.h"


typedef enum {
    LC_SNI_AGAIN = 0,   /* the ClientHello is not complete yet: peek more */
    LC_SNI_FOUND,       /* a host_name was found: name/len set */
    LC_SNI_NONE,        /* a complete ClientHello without a server_name */
    LC_SNI_INVALID      /* not TLS, not a ClientHello, malformed, too big */
} lc_sni_e;


#define LC_SNI_PEEK_MAX  16384  /* bytes the caller peeks at most */


/*
 * Parses buf (len bytes, from the first byte of the connection) as TLS
 * handshake records carrying a ClientHello, which may be split over
 * several records of any size.  The whole ClientHello is checked before
 * the answer is FOUND or NONE: every length against its container, the
 * extension lengths summing exactly to the extensions block, at most one
 * server_name extension, a non-empty ServerNameList.  Bytes after the
 * ClientHello are not looked at.
 *
 * The first host_name of the server_name extension is the answer: one
 * trailing dot removed, then 1 to LC_DOMAIN_MAX bytes of letters, digits,
 * '-', '.' or '_', lowercased.  Any other byte, or another length, makes
 * the ClientHello INVALID.  Full validation is lc_domain_normalize()'s.
 *
 * On LC_SNI_FOUND, writes the name and a NUL into name (LC_DOMAIN_MAX + 1
 * bytes) and its length into *name_len; on any other answer leaves both
 * alone.  AGAIN is never the answer when waiting cannot help: a
 * ClientHello that would not fit in LC_SNI_PEEK_MAX bytes, or len of
 * LC_SNI_PEEK_MAX or more without a complete one, is INVALID.  Under that
 * len, an answer other than AGAIN stays the same when more bytes follow.
 */
lc_sni_e lc_sni_parse(const unsigned char *buf, size_t len, char *name,
    size_t *name_len);

#endif /* LC_SNI_H */
