
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the server name of a TLS ClientHello (RFC 8446 5.1 and 4.1.2,
 * RFC 6066 3).
 *
 * The handshake message is read through a cursor that walks the records
 * in place, checking each record header as it crosses it, so that a
 * ClientHello split over records, and records split over segments, need
 * neither allocation nor a copy.  Every read is bounded first by what the
 * handshake message declared (past it: INVALID), then by what has arrived
 * (past it: AGAIN), so a malformed ClientHello is rejected as soon as its
 * lengths disagree, not when the caller gives up waiting.
 */


#include <string.h>

#include "lc_ascii.h"
#include "lc_sni.h"


#define LC_SNI_RECORD_HEADER     5
#define LC_SNI_RECORD_MAX        16384  /* TLSPlaintext.length, 2^14 */
#define LC_SNI_HANDSHAKE_HEADER  4

#define LC_SNI_HANDSHAKE         22     /* ContentType handshake */
#define LC_SNI_CLIENT_HELLO      1      /* HandshakeType client_hello */
#define LC_SNI_SERVER_NAME       0      /* ExtensionType server_name */
#define LC_SNI_HOST_NAME         0      /* NameType host_name */

#define LC_SNI_RANDOM            32
#define LC_SNI_SESSION_ID_MAX    32

/*
 * The largest ClientHello body that LC_SNI_PEEK_MAX bytes can carry: in
 * one record, after the record header and the handshake header.
 */
#define LC_SNI_HELLO_MAX                                                      \
    (LC_SNI_PEEK_MAX - LC_SNI_RECORD_HEADER - LC_SNI_HANDSHAKE_HEADER)


typedef struct {
    const unsigned char  *buf;
    size_t                len;
    size_t                pos;          /* the next byte of buf to read */
    size_t                frag;         /* left in the current record */
    size_t                msg;          /* left in the handshake message */
    lc_sni_e              rc;           /* why the last read failed */
} lc_sni_cursor_t;


static int lc_sni_server_name(lc_sni_cursor_t *c, size_t len, char *host,
    size_t *host_len);
static int lc_sni_host_name(lc_sni_cursor_t *c, size_t len, char *host,
    size_t *host_len);
static int lc_sni_number(lc_sni_cursor_t *c, size_t n, size_t *value);
static int lc_sni_read(lc_sni_cursor_t *c, unsigned char *out, size_t n);
static int lc_sni_record(lc_sni_cursor_t *c);


lc_sni_e
lc_sni_parse(const unsigned char *buf, size_t len, char *name,
    size_t *name_len)
{
    int              seen;
    char             host[LC_DOMAIN_MAX + 1];
    size_t           i, n, b, type, host_len;
    lc_sni_cursor_t  c;

    if (len == 0) {
        return LC_SNI_AGAIN;
    }

    c.buf = buf;
    c.len = len;
    c.pos = 0;
    c.frag = 0;
    c.msg = LC_SNI_HANDSHAKE_HEADER;
    c.rc = LC_SNI_INVALID;

    seen = 0;
    host_len = 0;

    /* the handshake header: msg_type, then a 24-bit length */

    if (lc_sni_number(&c, 1, &n) != 0) {
        goto failed;
    }

    if (n != LC_SNI_CLIENT_HELLO) {
        goto invalid;
    }

    /*
     * The length is too long as soon as its first bytes say so: a header
     * split over records is not waited for.
     */

    n = 0;

    for (i = 0; i < 3; i++) {
        if (lc_sni_number(&c, 1, &b) != 0) {
            goto failed;
        }

        n = (n << 8) | b;

        if ((n << (8 * (2 - i))) > LC_SNI_HELLO_MAX) {
            goto invalid;
        }
    }

    c.msg = n;

    /* legacy_version, of which only the major version is certain */

    if (lc_sni_number(&c, 1, &n) != 0) {
        goto failed;
    }

    if (n != 3) {
        goto invalid;
    }

    if (lc_sni_read(&c, NULL, 1 + LC_SNI_RANDOM) != 0) {
        goto failed;
    }

    /* legacy_session_id<0..32> */

    if (lc_sni_number(&c, 1, &n) != 0) {
        goto failed;
    }

    if (n > LC_SNI_SESSION_ID_MAX) {
        goto invalid;
    }

    if (lc_sni_read(&c, NULL, n) != 0) {
        goto failed;
    }

    /* cipher_suites<2..2^16-2>, two bytes each */

    if (lc_sni_number(&c, 2, &n) != 0) {
        goto failed;
    }

    if (n < 2 || n % 2 != 0) {
        goto invalid;
    }

    if (lc_sni_read(&c, NULL, n) != 0) {
        goto failed;
    }

    /* legacy_compression_methods<1..2^8-1> */

    if (lc_sni_number(&c, 1, &n) != 0) {
        goto failed;
    }

    if (n == 0) {
        goto invalid;
    }

    if (lc_sni_read(&c, NULL, n) != 0) {
        goto failed;
    }

    /* the extensions block is optional, and then fills the message */

    if (c.msg == 0) {
        return LC_SNI_NONE;
    }

    if (lc_sni_number(&c, 2, &n) != 0) {
        goto failed;
    }

    if (n != c.msg) {
        goto invalid;
    }

    /*
     * Unknown extensions, GREASE ones among them, are skipped; a read past
     * the message catches an extension longer than what is left of it.
     */

    while (c.msg > 0) {
        if (lc_sni_number(&c, 2, &type) != 0
            || lc_sni_number(&c, 2, &n) != 0)
        {
            goto failed;
        }

        if (type != LC_SNI_SERVER_NAME) {
            if (lc_sni_read(&c, NULL, n) != 0) {
                goto failed;
            }

            continue;
        }

        if (seen) {
            goto invalid;
        }

        seen = 1;

        if (lc_sni_server_name(&c, n, host, &host_len) != 0) {
            goto failed;
        }
    }

    if (host_len == 0) {
        return LC_SNI_NONE;
    }

    memcpy(name, host, host_len);
    name[host_len] = '\0';
    *name_len = host_len;

    return LC_SNI_FOUND;

invalid:

    c.rc = LC_SNI_INVALID;

failed:

    /* the caller will not peek more: the ClientHello will never be whole */

    if (c.rc == LC_SNI_AGAIN && len >= LC_SNI_PEEK_MAX) {
        return LC_SNI_INVALID;
    }

    return c.rc;
}


/*
 * The server_name extension's body, len bytes: a ServerNameList whose
 * first host_name goes into host; names of other types, and host_names
 * after the first, are skipped.  *host_len stays 0 if there is none.
 */

static int
lc_sni_server_name(lc_sni_cursor_t *c, size_t len, char *host,
    size_t *host_len)
{
    size_t  list, type, n;

    if (len > c->msg || len < 2) {
        goto invalid;
    }

    if (lc_sni_number(c, 2, &list) != 0) {
        return -1;
    }

    if (list == 0 || list != len - 2) {
        goto invalid;
    }

    while (list > 0) {
        if (list < 3) {
            goto invalid;
        }

        if (lc_sni_number(c, 1, &type) != 0
            || lc_sni_number(c, 2, &n) != 0)
        {
            return -1;
        }

        list -= 3;

        if (n > list) {
            goto invalid;
        }

        list -= n;

        if (type != LC_SNI_HOST_NAME || *host_len != 0) {
            if (lc_sni_read(c, NULL, n) != 0) {
                return -1;
            }

            continue;
        }

        if (lc_sni_host_name(c, n, host, host_len) != 0) {
            return -1;
        }
    }

    return 0;

invalid:

    c->rc = LC_SNI_INVALID;

    return -1;
}


/*
 * A host_name of len bytes into host (LC_DOMAIN_MAX + 1 bytes): one
 * trailing dot may come on top of LC_DOMAIN_MAX, and is dropped.  Only
 * the bytes a domain name can have pass, so that nothing odd reaches a
 * log line or lc_domain_normalize(); the rest of its rules are left to
 * that.
 */

static int
lc_sni_host_name(lc_sni_cursor_t *c, size_t len, char *host,
    size_t *host_len)
{
    size_t         i;
    unsigned char  ch;

    if (len == 0 || len > LC_DOMAIN_MAX + 1) {
        goto invalid;
    }

    if (lc_sni_read(c, (unsigned char *) host, len) != 0) {
        return -1;
    }

    if (host[len - 1] == '.') {
        len--;
    }

    if (len == 0 || len > LC_DOMAIN_MAX) {
        goto invalid;
    }

    for (i = 0; i < len; i++) {
        ch = lc_ascii_lower((unsigned char) host[i]);

        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')
              || ch == '-' || ch == '.' || ch == '_'))
        {
            goto invalid;
        }

        host[i] = (char) ch;
    }

    *host_len = len;

    return 0;

invalid:

    c->rc = LC_SNI_INVALID;

    return -1;
}


/* a big-endian number of n bytes, n at most 3 */

static int
lc_sni_number(lc_sni_cursor_t *c, size_t n, size_t *value)
{
    size_t         i;
    unsigned char  b[3];

    if (lc_sni_read(c, b, n) != 0) {
        return -1;
    }

    *value = 0;

    for (i = 0; i < n; i++) {
        *value = (*value << 8) | b[i];
    }

    return 0;
}


/*
 * The next n bytes of the handshake message into out, or skipped if out
 * is NULL, across as many records as they span.
 */

static int
lc_sni_read(lc_sni_cursor_t *c, unsigned char *out, size_t n)
{
    size_t  k;

    if (n > c->msg) {
        c->rc = LC_SNI_INVALID;
        return -1;
    }

    while (n > 0) {
        if (c->frag == 0 && lc_sni_record(c) != 0) {
            return -1;
        }

        k = c->len - c->pos;

        if (k == 0) {
            c->rc = LC_SNI_AGAIN;
            return -1;
        }

        if (k > c->frag) {
            k = c->frag;
        }

        if (k > n) {
            k = n;
        }

        if (out != NULL) {
            memcpy(out, c->buf + c->pos, k);
            out += k;
        }

        c->pos += k;
        c->frag -= k;
        c->msg -= k;
        n -= k;
    }

    return 0;
}


/*
 * The record header at c->pos.  Each of its bytes is checked as soon as
 * it has arrived, so that the first byte alone tells TLS from anything
 * else.  OpenSSL takes any 3.x version in the first record; 3.0 to 3.4
 * are the ones that exist.
 */

static int
lc_sni_record(lc_sni_cursor_t *c)
{
    size_t                avail, n;
    const unsigned char  *h;

    avail = c->len - c->pos;

    if (avail == 0) {
        c->rc = LC_SNI_AGAIN;
        return -1;
    }

    h = c->buf + c->pos;

    if (h[0] != LC_SNI_HANDSHAKE
        || (avail > 1 && h[1] != 3)
        || (avail > 2 && h[2] > 4)
        || (avail > 3 && h[3] > (LC_SNI_RECORD_MAX >> 8)))
    {
        c->rc = LC_SNI_INVALID;
        return -1;
    }

    if (avail < LC_SNI_RECORD_HEADER) {
        c->rc = LC_SNI_AGAIN;
        return -1;
    }

    n = ((size_t) h[3] << 8) | h[4];

    if (n == 0 || n > LC_SNI_RECORD_MAX) {
        c->rc = LC_SNI_INVALID;
        return -1;
    }

    c->pos += LC_SNI_RECORD_HEADER;
    c->frag = n;

    return 0;
}
