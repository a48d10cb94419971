
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: tests of the ClientHello parser.
 *
 * The ClientHellos come from OpenSSL itself (a client with memory BIOs
 * writes one and stops waiting for the ServerHello) and from a small
 * builder for the cases no library would send.  Every input is parsed
 * from an exact heap copy, so that AddressSanitizer sees a read past the
 * end, and most are also tried re-recorded into small records and cut at
 * every length.
 */


#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/ssl.h>

#include "lc_sni.h"


#define LC_BYTES_MAX  (8 * LC_SNI_PEEK_MAX)
#define LC_NO_NAME    NULL
#define LC_EXT_AT     83                /* where lc_hello() puts extensions */


typedef struct {
    unsigned char  data[LC_BYTES_MAX];
    size_t         len;
} lc_bytes_t;


/* large: static, not on the stack */
static lc_bytes_t  lc_msg, lc_ext, lc_wire;


/* cmocka reports the line of the failing assert: these are macros */

#define LC_EXPECT(buf, len, rc, host)                                         \
    assert_true(lc_expect(buf, len, rc, host))

#define LC_CHECK(msg, rc, host)                                               \
    assert_true(lc_check(msg, rc, host))

#define LC_EXPECT_S(s, rc)                                                    \
    LC_EXPECT((const unsigned char *) s, sizeof(s) - 1, rc, LC_NO_NAME)


static const char *
lc_rc_name(lc_sni_e rc)
{
    switch (rc) {

    case LC_SNI_AGAIN:
        return "AGAIN";
    case LC_SNI_FOUND:
        return "FOUND";
    case LC_SNI_NONE:
        return "NONE";
    case LC_SNI_INVALID:
        return "INVALID";
    }

    return "?";
}


/* lc_sni_parse() on an exact heap copy of buf */

static lc_sni_e
lc_parse(const unsigned char *buf, size_t len, char *name, size_t *name_len)
{
    lc_sni_e        rc;
    unsigned char  *copy;

    copy = malloc(len > 0 ? len : 1);
    assert_non_null(copy);

    if (len > 0) {
        memcpy(copy, buf, len);
    }

    rc = lc_sni_parse(copy, len, name, name_len);

    free(copy);

    return rc;
}


/* what the fuzzer asserts too: a found name is a plausible one */

static int
lc_sane(lc_sni_e rc, const char *name, size_t name_len)
{
    size_t  i;
    char    c;

    if (rc != LC_SNI_FOUND) {
        return 1;
    }

    if (name_len == 0 || name_len > LC_DOMAIN_MAX
        || strlen(name) != name_len)
    {
        return 0;
    }

    for (i = 0; i < name_len; i++) {
        c = name[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
              || c == '-' || c == '.' || c == '_'))
        {
            return 0;
        }
    }

    return 1;
}


/*
 * buf gives rc and, for FOUND, host; for any other answer the outputs
 * stay untouched.
 */

static int
lc_expect(const unsigned char *buf, size_t len, lc_sni_e expect,
    const char *host)
{
    char      name[LC_DOMAIN_MAX + 1];
    size_t    name_len;
    lc_sni_e  rc;

    memset(name, 'x', sizeof(name));
    name_len = 12345;

    rc = lc_parse(buf, len, name, &name_len);

    if (rc != expect) {
        print_error("%zu bytes: %s, expected %s\n", len, lc_rc_name(rc),
                    lc_rc_name(expect));
        return 0;
    }

    if (rc != LC_SNI_FOUND) {
        if (name_len != 12345 || name[0] != 'x') {
            print_error("%zu bytes: %s wrote the name\n", len,
                        lc_rc_name(rc));
            return 0;
        }

        return 1;
    }

    if (!lc_sane(rc, name, name_len) || strcmp(name, host) != 0) {
        print_error("%zu bytes: \"%.*s\", expected \"%s\"\n", len,
                    (int) sizeof(name), name, host);
        return 0;
    }

    return 1;
}


/*
 * Every proper prefix of buf: AGAIN if the whole is a good ClientHello;
 * if the whole is INVALID, AGAIN and then, once INVALID, INVALID for all
 * longer prefixes.
 */

static int
lc_prefixes(const unsigned char *buf, size_t len, lc_sni_e whole)
{
    int       invalid;
    char      name[LC_DOMAIN_MAX + 1];
    size_t    i, name_len;
    lc_sni_e  rc;

    invalid = 0;

    for (i = 0; i < len; i++) {
        rc = lc_parse(buf, i, name, &name_len);

        if (rc == LC_SNI_AGAIN && !invalid) {
            continue;
        }

        if (rc == LC_SNI_INVALID && whole == LC_SNI_INVALID) {
            invalid = 1;
            continue;
        }

        print_error("prefix of %zu of %zu bytes: %s (whole: %s)\n", i, len,
                    lc_rc_name(rc), lc_rc_name(whole));
        return 0;
    }

    return 1;
}


static void
lc_put(lc_bytes_t *b, const void *p, size_t n)
{
    assert_true(b->len + n <= LC_BYTES_MAX);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}


static void
lc_fill(lc_bytes_t *b, unsigned char c, size_t n)
{
    assert_true(b->len + n <= LC_BYTES_MAX);
    memset(b->data + b->len, c, n);
    b->len += n;
}


static void
lc_put8(lc_bytes_t *b, unsigned v)
{
    unsigned char  c;

    c = (unsigned char) v;
    lc_put(b, &c, 1);
}


static void
lc_put16(lc_bytes_t *b, unsigned v)
{
    lc_put8(b, v >> 8);
    lc_put8(b, v);
}


static void
lc_put24(lc_bytes_t *b, unsigned v)
{
    lc_put8(b, v >> 16);
    lc_put16(b, v);
}


/*
 * A ClientHello handshake message up to its extensions: version 3.3, a
 * random, a 32-byte session id, three cipher suites, null compression.
 * The handshake length is left for lc_hello_end().
 */

static void
lc_hello_head(lc_bytes_t *b)
{
    b->len = 0;

    lc_put8(b, 1);
    lc_put24(b, 0);
    lc_put16(b, 0x0303);
    lc_fill(b, 0x5a, 32);
    lc_put8(b, 32);
    lc_fill(b, 0xa5, 32);
    lc_put16(b, 6);
    lc_put16(b, 0x1301);
    lc_put16(b, 0x1302);
    lc_put16(b, 0xc02f);
    lc_put8(b, 1);
    lc_put8(b, 0);
}


/* the handshake length: everything after the handshake header */

static void
lc_hello_end(lc_bytes_t *b)
{
    size_t  n;

    n = b->len - 4;

    b->data[1] = (unsigned char) (n >> 16);
    b->data[2] = (unsigned char) (n >> 8);
    b->data[3] = (unsigned char) n;
}


/* a ClientHello with ext as its extensions, or none if ext is NULL */

static void
lc_hello(lc_bytes_t *b, const lc_bytes_t *ext)
{
    lc_hello_head(b);
    assert_int_equal(b->len + 2, LC_EXT_AT);

    if (ext != NULL) {
        lc_put16(b, ext->len);
        lc_put(b, ext->data, ext->len);
    }

    lc_hello_end(b);
}


static void
lc_ext_add(lc_bytes_t *e, unsigned type, const void *data, size_t len)
{
    lc_put16(e, type);
    lc_put16(e, len);
    lc_put(e, data, len);
}


/* a server_name extension with one host_name */

static void
lc_ext_sni(lc_bytes_t *e, const char *name, size_t len)
{
    lc_put16(e, 0);
    lc_put16(e, len + 5);
    lc_put16(e, len + 3);
    lc_put8(e, 0);
    lc_put16(e, len);
    lc_put(e, name, len);
}


/* the extensions of a plain TLS 1.3 ClientHello, around an SNI */

static void
lc_ext_common(lc_bytes_t *e, const char *name)
{
    static const unsigned char  groups[] = { 0, 4, 0, 0x1d, 0, 0x17 };
    static const unsigned char  versions[] = { 4, 3, 4, 3, 3 };
    static const unsigned char  sigalgs[] = { 0, 2, 4, 3 };

    e->len = 0;

    lc_ext_add(e, 10, groups, sizeof(groups));

    if (name != NULL) {
        lc_ext_sni(e, name, strlen(name));
    }

    lc_ext_add(e, 43, versions, sizeof(versions));
    lc_ext_add(e, 13, sigalgs, sizeof(sigalgs));
}


/*
 * msg as TLS records of at most size bytes each, appended to out, all of
 * record version 3.version.
 */

static void
lc_records(lc_bytes_t *out, const unsigned char *msg, size_t len,
    size_t size, unsigned version)
{
    size_t  n;

    while (len > 0) {
        n = len < size ? len : size;

        lc_put8(out, 22);
        lc_put8(out, 3);
        lc_put8(out, version);
        lc_put16(out, n);
        lc_put(out, msg, n);

        msg += n;
        len -= n;
    }
}


/*
 * The message in one record, then in records of 1, 2, 3, 5 and 64
 * bytes: the answer must not depend on the record layout, and every
 * prefix of each must be consistent with it.
 */

static int
lc_check(const lc_bytes_t *msg, lc_sni_e expect, const char *host)
{
    size_t         i;
    static const size_t  sizes[] = { LC_SNI_PEEK_MAX, 1, 2, 3, 5, 64 };

    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        lc_wire.len = 0;
        lc_records(&lc_wire, msg->data, msg->len, sizes[i], 1);

        if (!lc_expect(lc_wire.data, lc_wire.len, expect, host)
            || !lc_prefixes(lc_wire.data, lc_wire.len, expect))
        {
            print_error("in records of %zu bytes\n", sizes[i]);
            return 0;
        }
    }

    return 1;
}


/*
 * What an OpenSSL client sends first, as it sends it: max_version 0 for
 * the default (TLS 1.3), sni NULL for none.
 */

static void
lc_openssl_hello(lc_bytes_t *out, int max_version, const char *sni,
    int padding)
{
    int       rc, n;
    BIO      *rbio, *wbio;
    SSL      *ssl;
    SSL_CTX  *ctx;

    static const unsigned char  alpn[] = "\x02h2\x08http/1.1";

    ctx = SSL_CTX_new(TLS_client_method());
    assert_non_null(ctx);

    if (max_version != 0) {
        assert_int_equal(SSL_CTX_set_max_proto_version(ctx, max_version), 1);
    }

    if (padding) {
        SSL_CTX_set_options(ctx, SSL_OP_TLSEXT_PADDING);
        assert_int_equal(SSL_CTX_set_alpn_protos(ctx, alpn,
                                                 sizeof(alpn) - 1), 0);
    }

    ssl = SSL_new(ctx);
    assert_non_null(ssl);

    rbio = BIO_new(BIO_s_mem());
    wbio = BIO_new(BIO_s_mem());
    assert_non_null(rbio);
    assert_non_null(wbio);
    SSL_set_bio(ssl, rbio, wbio);

    if (sni != NULL) {
        assert_int_equal(SSL_set_tlsext_host_name(ssl, sni), 1);
    }

    rc = SSL_connect(ssl);
    assert_int_equal(rc, -1);
    assert_int_equal(SSL_get_error(ssl, rc), SSL_ERROR_WANT_READ);

    n = BIO_read(wbio, out->data, (int) sizeof(out->data));
    assert_true(n > 0);
    out->len = (size_t) n;

    SSL_free(ssl);
    SSL_CTX_free(ctx);
}


/* the handshake message of a one-record wire, checked to be one */

static void
lc_unrecord(lc_bytes_t *msg, const lc_bytes_t *wire)
{
    size_t  n;

    assert_true(wire->len > 5);
    assert_int_equal(wire->data[0], 22);

    n = ((size_t) wire->data[3] << 8) | wire->data[4];
    assert_int_equal(n + 5, wire->len);

    msg->len = 0;
    lc_put(msg, wire->data + 5, n);
}


static void
test_openssl(void **state)
{
    static const struct {
        int          version;
        const char  *sni;
        int          padding;
        const char  *expect;
    } hellos[] = {
        { 0, "Links.Example.COM", 0, "links.example.com" },
        { TLS1_2_VERSION, "Links.Example.COM", 0, "links.example.com" },
        { 0, "links.example.com", 1, "links.example.com" },
        { TLS1_2_VERSION, "a.b", 1, "a.b" },
        { 0, "xn--bcher-kva.example.", 0, "xn--bcher-kva.example" },
        { 0, NULL, 0, LC_NO_NAME },
        { TLS1_2_VERSION, NULL, 0, LC_NO_NAME },
    };

    size_t  i;

    (void) state;

    for (i = 0; i < sizeof(hellos) / sizeof(hellos[0]); i++) {
        lc_openssl_hello(&lc_wire, hellos[i].version, hellos[i].sni,
                         hellos[i].padding);

        /* OpenSSL sends the ClientHello in one record of version 3.1 */
        assert_int_equal(lc_wire.data[1], 3);
        assert_int_equal(lc_wire.data[2], 1);
        lc_unrecord(&lc_msg, &lc_wire);

        if (hellos[i].padding && hellos[i].version == 0) {
            assert_int_equal(lc_wire.len, 512 + 5);
        }

        LC_EXPECT(lc_wire.data, lc_wire.len,
                  hellos[i].sni ? LC_SNI_FOUND : LC_SNI_NONE,
                  hellos[i].expect);
        assert_true(lc_prefixes(lc_wire.data, lc_wire.len,
                                hellos[i].sni ? LC_SNI_FOUND : LC_SNI_NONE));

        LC_CHECK(&lc_msg, hellos[i].sni ? LC_SNI_FOUND : LC_SNI_NONE,
                 hellos[i].expect);
    }
}


/* the ClientHello re-recorded into records of every size */

static void
test_openssl_records(void **state)
{
    size_t  size, i;

    (void) state;

    lc_openssl_hello(&lc_wire, 0, "Links.Example.COM", 0);
    lc_unrecord(&lc_msg, &lc_wire);

    for (size = 1; size <= lc_msg.len + 1; size++) {
        lc_wire.len = 0;
        lc_records(&lc_wire, lc_msg.data, lc_msg.len, size, 3);
        LC_EXPECT(lc_wire.data, lc_wire.len, LC_SNI_FOUND,
                  "links.example.com");
    }

    /* records of 1, 2, 3, 1, 2, 3... bytes, the first of version 3.0 */

    lc_wire.len = 0;
    i = 0;
    size = 1;

    while (i < lc_msg.len) {
        if (size > lc_msg.len - i) {
            size = lc_msg.len - i;
        }

        lc_records(&lc_wire, lc_msg.data + i, size, size, i == 0 ? 0 : 3);
        i += size;
        size = size % 3 + 1;
    }

    LC_EXPECT(lc_wire.data, lc_wire.len, LC_SNI_FOUND, "links.example.com");
    assert_true(lc_prefixes(lc_wire.data, lc_wire.len, LC_SNI_FOUND));
}


/* what follows the ClientHello is not looked at */

static void
test_after_hello(void **state)
{
    size_t  len;

    static const unsigned char  ccs[] = { 20, 3, 3, 0, 1, 1 };
    static const unsigned char  data[] = { 23, 3, 3, 0, 2, 0xde, 0xad };

    (void) state;

    lc_openssl_hello(&lc_wire, 0, "links.example.com", 0);
    len = lc_wire.len;

    lc_put(&lc_wire, ccs, sizeof(ccs));
    lc_put(&lc_wire, data, sizeof(data));
    LC_EXPECT(lc_wire.data, lc_wire.len, LC_SNI_FOUND, "links.example.com");

    lc_wire.len = len;
    lc_put(&lc_wire, "GET / HTTP/1.1\r\n", 16);
    LC_EXPECT(lc_wire.data, lc_wire.len, LC_SNI_FOUND, "links.example.com");

    /* the ClientHello's own record carries a byte too many */

    lc_hello(&lc_msg, NULL);
    lc_put8(&lc_msg, 0);
    lc_wire.len = 0;
    lc_records(&lc_wire, lc_msg.data, lc_msg.len, LC_SNI_PEEK_MAX, 1);
    LC_EXPECT(lc_wire.data, lc_wire.len, LC_SNI_NONE, LC_NO_NAME);
}


static void
test_found(void **state)
{
    (void) state;

    lc_ext_common(&lc_ext, "Links.Example.COM");
    lc_hello(&lc_msg, &lc_ext);
    LC_CHECK(&lc_msg, LC_SNI_FOUND, "links.example.com");

    /* only the server_name extension */

    lc_ext.len = 0;
    lc_ext_sni(&lc_ext, "a.b", 3);
    lc_hello(&lc_msg, &lc_ext);
    LC_CHECK(&lc_msg, LC_SNI_FOUND, "a.b");

    /* one label, an underscore: the syntax is lc_domain's to judge */

    lc_ext.len = 0;
    lc_ext_sni(&lc_ext, "_Acme-X", 7);
    lc_hello(&lc_msg, &lc_ext);
    LC_CHECK(&lc_msg, LC_SNI_FOUND, "_acme-x");
}


static void
test_none(void **state)
{
    static const unsigned char  other[] = { 0, 6, 1, 0, 3, 'a', '.', 'b' };

    (void) state;

    /* no extensions block at all */

    lc_hello(&lc_msg, NULL);
    LC_CHECK(&lc_msg, LC_SNI_NONE, LC_NO_NAME);

    /* an empty one */

    lc_ext.len = 0;
    lc_hello(&lc_msg, &lc_ext);
    LC_CHECK(&lc_msg, LC_SNI_NONE, LC_NO_NAME);

    /* extensions, but not server_name */

    lc_ext_common(&lc_ext, NULL);
    lc_hello(&lc_msg, &lc_ext);
    LC_CHECK(&lc_msg, LC_SNI_NONE, LC_NO_NAME);

    /* a server_name with names of another type only */

    lc_ext_common(&lc_ext, NULL);
    lc_ext_add(&lc_ext, 0, other, sizeof(other));
    lc_hello(&lc_msg, &lc_ext);
    LC_CHECK(&lc_msg, LC_SNI_NONE, LC_NO_NAME);
}


static void
test_several_names(void **state)
{
    (void) state;

    /* two host_names: the first */

    lc_ext.len = 0;
    lc_put16(&lc_ext, 0);
    lc_put16(&lc_ext, 2 + 3 + 13 + 3 + 14);
    lc_put16(&lc_ext, 3 + 13 + 3 + 14);
    lc_put8(&lc_ext, 0);
    lc_put16(&lc_ext, 13);
    lc_put(&lc_ext, "First.example", 13);
    lc_put8(&lc_ext, 0);
    lc_put16(&lc_ext, 14);
    lc_put(&lc_ext, "second.example", 14);
    lc_hello(&lc_msg, &lc_ext);
    LC_CHECK(&lc_msg, LC_SNI_FOUND, "first.example");

    /* a name of another type, even an odd one, before the host_name */

    lc_ext.len = 0;
    lc_put16(&lc_ext, 0);
    lc_put16(&lc_ext, 2 + 3 + 4 + 3 + 14);
    lc_put16(&lc_ext, 3 + 4 + 3 + 14);
    lc_put8(&lc_ext, 7);
    lc_put16(&lc_ext, 4);
    lc_put(&lc_ext, "\0\xff \n", 4);
    lc_put8(&lc_ext, 0);
    lc_put16(&lc_ext, 14);
    lc_put(&lc_ext, "second.example", 14);
    lc_hello(&lc_msg, &lc_ext);
    LC_CHECK(&lc_msg, LC_SNI_FOUND, "second.example");

    /* a later host_name is skipped, whatever it holds */

    lc_ext.len = 0;
    lc_put16(&lc_ext, 0);
    lc_put16(&lc_ext, 2 + 3 + 3 + 3 + 0);
    lc_put16(&lc_ext, 3 + 3 + 3 + 0);
    lc_put8(&lc_ext, 0);
    lc_put16(&lc_ext, 3);
    lc_put(&lc_ext, "a.b", 3);
    lc_put8(&lc_ext, 0);
    lc_put16(&lc_ext, 0);
    lc_hello(&lc_msg, &lc_ext);
    LC_CHECK(&lc_msg, LC_SNI_FOUND, "a.b");
}


static void
test_grease(void **state)
{
    (void) state;

    /* GREASE cipher suites, extensions before and after, a GREASE name */

    lc_hello_head(&lc_msg);
    lc_msg.len -= 2 + 6 + 2;
    lc_put16(&lc_msg, 8);
    lc_put16(&lc_msg, 0x3a3a);
    lc_put16(&lc_msg, 0x1301);
    lc_put16(&lc_msg, 0x1302);
    lc_put16(&lc_msg, 0xfafa);
    lc_put8(&lc_msg, 1);
    lc_put8(&lc_msg, 0);

    lc_ext.len = 0;
    lc_ext_add(&lc_ext, 0x0a0a, "", 0);
    lc_ext_add(&lc_ext, 0x1a1a, "\0", 1);
    lc_ext_sni(&lc_ext, "grease.example", 14);
    lc_ext_add(&lc_ext, 10, "\0\4\x7a\x7a\0\x1d", 6);
    lc_ext_add(&lc_ext, 0xeaea, "\0", 1);
    lc_ext_add(&lc_ext, 0xfafa, "", 0);

    lc_put16(&lc_msg, lc_ext.len);
    lc_put(&lc_msg, lc_ext.data, lc_ext.len);
    lc_hello_end(&lc_msg);

    LC_CHECK(&lc_msg, LC_SNI_FOUND, "grease.example");
}


static void
test_trailing_dot(void **state)
{
    char  name[LC_DOMAIN_MAX + 2];

    (void) state;

    lc_ext_common(&lc_ext, "Links.Example.COM.");
    lc_hello(&lc_msg, &lc_ext);
    LC_CHECK(&lc_msg, LC_SNI_FOUND, "links.example.com");

    /* one dot only: what is left is lc_domain's to refuse */

    lc_ext_common(&lc_ext, "a.b..");
    lc_hello(&lc_msg, &lc_ext);
    LC_CHECK(&lc_msg, LC_SNI_FOUND, "a.b.");

    lc_ext_common(&lc_ext, ".");
    lc_hello(&lc_msg, &lc_ext);
    LC_CHECK(&lc_msg, LC_SNI_INVALID, LC_NO_NAME);

    /* 253 bytes and a dot */

    memset(name, 'a', LC_DOMAIN_MAX);
    name[LC_DOMAIN_MAX] = '.';
    name[LC_DOMAIN_MAX + 1] = '\0';
    lc_ext_common(&lc_ext, name);
    lc_hello(&lc_msg, &lc_ext);
    name[LC_DOMAIN_MAX] = '\0';
    LC_CHECK(&lc_msg, LC_SNI_FOUND, name);
}


static void
test_name_length(void **state)
{
    char  name[400];

    (void) state;

    memset(name, 'a', sizeof(name));

    name[LC_DOMAIN_MAX] = '\0';
    lc_ext_common(&lc_ext, name);
    lc_hello(&lc_msg, &lc_ext);
    LC_CHECK(&lc_msg, LC_SNI_FOUND, name);

    name[LC_DOMAIN_MAX] = 'a';
    name[LC_DOMAIN_MAX + 1] = '\0';
    lc_ext_common(&lc_ext, name);
    lc_hello(&lc_msg, &lc_ext);
    LC_CHECK(&lc_msg, LC_SNI_INVALID, LC_NO_NAME);

    /* 253 letters and a dot, but the dot is not last */

    name[0] = '.';
    lc_ext_common(&lc_ext, name);
    lc_hello(&lc_msg, &lc_ext);
    LC_CHECK(&lc_msg, LC_SNI_INVALID, LC_NO_NAME);
    name[0] = 'a';

    name[LC_DOMAIN_MAX + 1] = 'a';
    name[399] = '\0';
    lc_ext_common(&lc_ext, name);
    lc_hello(&lc_msg, &lc_ext);
    LC_CHECK(&lc_msg, LC_SNI_INVALID, LC_NO_NAME);

    /* an empty host_name */

    lc_ext_common(&lc_ext, "");
    lc_hello(&lc_msg, &lc_ext);
    LC_CHECK(&lc_msg, LC_SNI_INVALID, LC_NO_NAME);
}


static void
test_name_bytes(void **state)
{
    size_t  i;

    static const char  *bad[] = {
        "a.b\0", "\0a.b", "a b.example", "a.b ", "tab\t.example",
        "a\r\nb", "caf\xc3\xa9.example", "\xff.example", "a\x7f.b", "*.a.b",
        "a.b:443", "a/b", "a%2eb", "a@b", "[::1]", "a,b", "\x01",
    };

    static const size_t  bad_len[] = {
        4, 4, 11, 4, 12,
        4, 13, 9, 4, 5,
        7, 3, 5, 3, 5, 3, 1,
    };

    (void) state;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        lc_ext.len = 0;
        lc_ext_sni(&lc_ext, bad[i], bad_len[i]);
        lc_hello(&lc_msg, &lc_ext);

        if (!lc_check(&lc_msg, LC_SNI_INVALID, LC_NO_NAME)) {
            fail_msg("name %zu accepted", i);
        }
    }
}


static void
test_not_tls(void **state)
{
    (void) state;

    LC_EXPECT_S("", LC_SNI_AGAIN);

    LC_EXPECT_S("GET / HTTP/1.1\r\nHost: a.b\r\n\r\n", LC_SNI_INVALID);
    LC_EXPECT_S("G", LC_SNI_INVALID);
    LC_EXPECT_S("\x00", LC_SNI_INVALID);
    LC_EXPECT_S("\x15", LC_SNI_INVALID);
    LC_EXPECT_S("\x17\x03\x03\x00\x01\x00", LC_SNI_INVALID);

    /* an SSL 2.0 compatible ClientHello */
    LC_EXPECT_S("\x80\x2e\x01\x03\x01\x00\x15\x00\x00\x00\x10",
                LC_SNI_INVALID);

    /* the record header, byte by byte */

    LC_EXPECT_S("\x16", LC_SNI_AGAIN);
    LC_EXPECT_S("\x16\x03", LC_SNI_AGAIN);
    LC_EXPECT_S("\x16\x02", LC_SNI_INVALID);
    LC_EXPECT_S("\x16\x03\x00", LC_SNI_AGAIN);
    LC_EXPECT_S("\x16\x03\x04", LC_SNI_AGAIN);
    LC_EXPECT_S("\x16\x03\x05", LC_SNI_INVALID);
    LC_EXPECT_S("\x16\x03\x01\x40", LC_SNI_AGAIN);
    LC_EXPECT_S("\x16\x03\x01\x41", LC_SNI_INVALID);
    LC_EXPECT_S("\x16\x03\x01\x40\x00", LC_SNI_AGAIN);
    LC_EXPECT_S("\x16\x03\x01\x40\x01", LC_SNI_INVALID);
    LC_EXPECT_S("\x16\x03\x01\x00\x00", LC_SNI_INVALID);
    LC_EXPECT_S("\x16\x03\x01\x00\x00\x01", LC_SNI_INVALID);
}


static void
test_records(void **state)
{
    size_t  half;

    (void) state;

    lc_ext_common(&lc_ext, "links.example.com");
    lc_hello(&lc_msg, &lc_ext);
    half = lc_msg.len / 2;

    /* record versions 3.0 to 3.4 */

    lc_wire.len = 0;
    lc_records(&lc_wire, lc_msg.data, half, half, 0);
    lc_records(&lc_wire, lc_msg.data + half, lc_msg.len - half, half, 4);
    LC_EXPECT(lc_wire.data, lc_wire.len, LC_SNI_FOUND, "links.example.com");

    lc_wire.data[half + 5 + 2] = 5;
    LC_EXPECT(lc_wire.data, lc_wire.len, LC_SNI_INVALID, LC_NO_NAME);

    /* another record type before the ClientHello is complete */

    lc_wire.data[half + 5 + 2] = 3;
    lc_wire.data[half + 5] = 23;
    LC_EXPECT(lc_wire.data, lc_wire.len, LC_SNI_INVALID, LC_NO_NAME);
    LC_EXPECT(lc_wire.data, half + 5 + 1, LC_SNI_INVALID, LC_NO_NAME);
    LC_EXPECT(lc_wire.data, half + 5, LC_SNI_AGAIN, LC_NO_NAME);

    lc_wire.data[half + 5] = 21;
    LC_EXPECT(lc_wire.data, half + 5 + 1, LC_SNI_INVALID, LC_NO_NAME);

    lc_wire.data[half + 5] = 20;
    LC_EXPECT(lc_wire.data, half + 5 + 1, LC_SNI_INVALID, LC_NO_NAME);

    /* an empty handshake record in between */

    lc_wire.len = 0;
    lc_records(&lc_wire, lc_msg.data, half, half, 1);
    lc_put(&lc_wire, "\x16\x03\x01\x00\x00", 5);
    lc_records(&lc_wire, lc_msg.data + half, lc_msg.len - half, half, 1);
    LC_EXPECT(lc_wire.data, lc_wire.len, LC_SNI_INVALID, LC_NO_NAME);

    /* the handshake header split over two records */

    lc_wire.len = 0;
    lc_records(&lc_wire, lc_msg.data, 2, 2, 1);
    lc_records(&lc_wire, lc_msg.data + 2, lc_msg.len - 2, LC_SNI_PEEK_MAX,
               1);
    LC_EXPECT(lc_wire.data, lc_wire.len, LC_SNI_FOUND, "links.example.com");
    assert_true(lc_prefixes(lc_wire.data, lc_wire.len, LC_SNI_FOUND));
}


static void
test_handshake_type(void **state)
{
    unsigned  type;

    (void) state;

    lc_hello(&lc_msg, NULL);

    for (type = 0; type < 256; type++) {
        if (type == 1) {
            continue;
        }

        lc_msg.data[0] = (unsigned char) type;
        LC_CHECK(&lc_msg, LC_SNI_INVALID, LC_NO_NAME);

        lc_wire.len = 0;
        lc_records(&lc_wire, lc_msg.data, lc_msg.len, LC_SNI_PEEK_MAX, 1);
        LC_EXPECT(lc_wire.data, 6, LC_SNI_INVALID, LC_NO_NAME);
    }
}


/* the fixed part, one length at a time */

static void
test_hello_lengths(void **state)
{
    (void) state;

    /* legacy_version 2.0 */

    lc_hello(&lc_msg, NULL);
    lc_msg.data[4] = 2;
    LC_CHECK(&lc_msg, LC_SNI_INVALID, LC_NO_NAME);

    /* session ids of 0 and 33 bytes */

    lc_hello(&lc_msg, NULL);
    memmove(lc_msg.data + 39, lc_msg.data + 39 + 32, lc_msg.len - 39 - 32);
    lc_msg.len -= 32;
    lc_msg.data[38] = 0;
    lc_hello_end(&lc_msg);
    LC_CHECK(&lc_msg, LC_SNI_NONE, LC_NO_NAME);

    lc_hello(&lc_msg, NULL);
    memmove(lc_msg.data + 40, lc_msg.data + 39, lc_msg.len - 39);
    lc_msg.len++;
    lc_msg.data[38] = 33;
    lc_hello_end(&lc_msg);
    LC_CHECK(&lc_msg, LC_SNI_INVALID, LC_NO_NAME);

    /* cipher suites: odd, none, past the message */

    lc_hello(&lc_msg, NULL);
    lc_msg.data[72] = 5;
    lc_msg.data[78] = 1;
    lc_msg.data[79] = 0;
    lc_msg.len--;
    lc_hello_end(&lc_msg);
    LC_CHECK(&lc_msg, LC_SNI_INVALID, LC_NO_NAME);

    lc_hello(&lc_msg, NULL);
    memmove(lc_msg.data + 73, lc_msg.data + 79, lc_msg.len - 79);
    lc_msg.len -= 6;
    lc_msg.data[72] = 0;
    lc_hello_end(&lc_msg);
    LC_CHECK(&lc_msg, LC_SNI_INVALID, LC_NO_NAME);

    lc_hello(&lc_msg, NULL);
    lc_msg.data[71] = 0x10;
    LC_CHECK(&lc_msg, LC_SNI_INVALID, LC_NO_NAME);

    /* compression methods: none, past the message */

    lc_hello(&lc_msg, NULL);
    lc_msg.data[79] = 0;
    lc_msg.len--;
    lc_hello_end(&lc_msg);
    LC_CHECK(&lc_msg, LC_SNI_INVALID, LC_NO_NAME);

    lc_hello(&lc_msg, NULL);
    lc_msg.data[79] = 2;
    LC_CHECK(&lc_msg, LC_SNI_INVALID, LC_NO_NAME);

    /* a message cut short, and one byte where the extensions would be */

    lc_hello(&lc_msg, NULL);
    lc_msg.len -= 1;
    lc_hello_end(&lc_msg);
    LC_CHECK(&lc_msg, LC_SNI_INVALID, LC_NO_NAME);

    lc_hello(&lc_msg, NULL);
    lc_put8(&lc_msg, 0);
    lc_hello_end(&lc_msg);
    LC_CHECK(&lc_msg, LC_SNI_INVALID, LC_NO_NAME);

    /* a declared length with nothing behind it */

    lc_msg.len = 0;
    lc_put8(&lc_msg, 1);
    lc_put24(&lc_msg, 0);
    LC_CHECK(&lc_msg, LC_SNI_INVALID, LC_NO_NAME);
}


static void
test_extension_lengths(void **state)
{
    size_t  len;

    (void) state;

    lc_ext_common(&lc_ext, "links.example.com");

    /* the block one byte longer, or shorter, than the extensions */

    lc_hello(&lc_msg, &lc_ext);
    lc_msg.data[LC_EXT_AT - 2] = (unsigned char) ((lc_ext.len + 1) >> 8);
    lc_msg.data[LC_EXT_AT - 1] = (unsigned char) (lc_ext.len + 1);
    LC_CHECK(&lc_msg, LC_SNI_INVALID, LC_NO_NAME);

    lc_msg.data[LC_EXT_AT - 2] = (unsigned char) ((lc_ext.len - 1) >> 8);
    lc_msg.data[LC_EXT_AT - 1] = (unsigned char) (lc_ext.len - 1);
    LC_CHECK(&lc_msg, LC_SNI_INVALID, LC_NO_NAME);

    /* the last extension one byte longer than the block */

    lc_hello(&lc_msg, &lc_ext);
    lc_msg.data[lc_msg.len - 4 - 1]++;
    LC_CHECK(&lc_msg, LC_SNI_INVALID, LC_NO_NAME);

    /* 1 to 3 bytes left over in the block */

    for (len = 1; len <= 3; len++) {
        lc_ext_common(&lc_ext, "links.example.com");
        lc_fill(&lc_ext, 0, len);
        lc_hello(&lc_msg, &lc_ext);
        LC_CHECK(&lc_msg, LC_SNI_INVALID, LC_NO_NAME);
    }

    /* an extension of 0xffff bytes in a small ClientHello */

    lc_ext_common(&lc_ext, "links.example.com");
    lc_put16(&lc_ext, 0x1234);
    lc_put16(&lc_ext, 0xffff);
    lc_hello(&lc_msg, &lc_ext);
    LC_CHECK(&lc_msg, LC_SNI_INVALID, LC_NO_NAME);

    /* a good server_name, then a bad extension: the whole is checked */

    lc_ext_common(&lc_ext, "links.example.com");
    lc_put16(&lc_ext, 0x1234);
    lc_put16(&lc_ext, 9);
    lc_hello(&lc_msg, &lc_ext);
    LC_CHECK(&lc_msg, LC_SNI_INVALID, LC_NO_NAME);
}


/*
 * The server_name extension's own lengths.  A bad one must be seen as
 * soon as the extension is in, not only when the rest of the ClientHello
 * fails to line up.
 */

static void
test_server_name_lengths(void **state)
{
    size_t  i, at;

    static const struct {
        const char  *data;
        size_t       len;
    } bad[] = {
        { "", 0 },                                     /* no list */
        { "\0", 1 },                                   /* half a length */
        { "\0\0", 2 },                                 /* an empty list */
        { "\0\x06\0\0\x03" "a.b", 7 },                 /* the list too long */
        { "\0\x04\0\0\x03" "a.b", 7 },                 /* too short */
        { "\0\x05\0\0\x03" "a.b" "\0", 8 },            /* a byte after */
        { "\0\x06\0\0\x03" "a.b" "\x12\x34\0\0", 12 }, /* an extension */
        { "\0\x01\0", 3 },                             /* half an entry */
        { "\0\x02\0\0", 4 },                           /* half an entry */
        { "\0\x05\0\0\x04" "a.b", 7 },                 /* the name too long */
        { "\0\x08\0\0\x03" "a.b" "\0\0", 10 },         /* half a second */
        { "\0\x09\0\0\x03" "a.b" "\x01\0\x01", 11 },   /* a second too long */
    };

    (void) state;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        lc_ext_common(&lc_ext, NULL);
        at = LC_EXT_AT + lc_ext.len + 4 + bad[i].len;
        lc_ext_add(&lc_ext, 0, bad[i].data, bad[i].len);
        lc_ext_add(&lc_ext, 0x1234, "", 0);
        lc_hello(&lc_msg, &lc_ext);

        if (!lc_check(&lc_msg, LC_SNI_INVALID, LC_NO_NAME)) {
            fail_msg("server_name %zu accepted", i);
        }

        lc_wire.len = 0;
        lc_records(&lc_wire, lc_msg.data, lc_msg.len, LC_SNI_PEEK_MAX, 1);

        if (!lc_expect(lc_wire.data, 5 + at, LC_SNI_INVALID, LC_NO_NAME)) {
            fail_msg("server_name %zu not seen at once", i);
        }
    }

    /* the extension longer than what is left of the block */

    lc_ext_common(&lc_ext, NULL);
    at = LC_EXT_AT + lc_ext.len + 4;
    lc_put16(&lc_ext, 0);
    lc_put16(&lc_ext, 2 + 3 + 4);
    lc_put16(&lc_ext, 3 + 4);
    lc_put8(&lc_ext, 0);
    lc_put16(&lc_ext, 4);
    lc_put(&lc_ext, "a.b", 3);
    lc_hello(&lc_msg, &lc_ext);
    LC_CHECK(&lc_msg, LC_SNI_INVALID, LC_NO_NAME);

    lc_wire.len = 0;
    lc_records(&lc_wire, lc_msg.data, lc_msg.len, LC_SNI_PEEK_MAX, 1);
    LC_EXPECT(lc_wire.data, 5 + at, LC_SNI_INVALID, LC_NO_NAME);
}


static void
test_duplicate_server_name(void **state)
{
    (void) state;

    lc_ext_common(&lc_ext, "links.example.com");
    lc_ext_sni(&lc_ext, "links.example.com", 17);
    lc_hello(&lc_msg, &lc_ext);
    LC_CHECK(&lc_msg, LC_SNI_INVALID, LC_NO_NAME);

    lc_ext_common(&lc_ext, "links.example.com");
    lc_ext_add(&lc_ext, 0, "\0\x04\x01\0\x01x", 6);
    lc_hello(&lc_msg, &lc_ext);
    LC_CHECK(&lc_msg, LC_SNI_INVALID, LC_NO_NAME);
}


/* ClientHellos that could never fit in what the caller peeks */

static void
test_too_big(void **state)
{
    size_t  pad, len;

    (void) state;

    /* 2^24 - 1, and one byte over what fits: from the header alone */

    LC_EXPECT_S("\x16\x03\x01\x00\x04\x01\xff\xff\xff", LC_SNI_INVALID);
    LC_EXPECT_S("\x16\x03\x01\x00\x04\x01\x00\x3f\xf8", LC_SNI_INVALID);
    LC_EXPECT_S("\x16\x03\x01\x00\x04\x01\x00\x3f\xf7", LC_SNI_AGAIN);

    /* or from its first bytes, before the rest has arrived */

    LC_EXPECT_S("\x16\x03\x01\x00\x02\x01\xff", LC_SNI_INVALID);
    LC_EXPECT_S("\x16\x03\x01\x00\x02\x01\x01", LC_SNI_INVALID);
    LC_EXPECT_S("\x16\x03\x01\x00\x02\x01\x00", LC_SNI_AGAIN);
    LC_EXPECT_S("\x16\x03\x01\x00\x03\x01\x00\x40", LC_SNI_INVALID);
    LC_EXPECT_S("\x16\x03\x01\x00\x03\x01\x00\x3f", LC_SNI_AGAIN);

    /* the largest that fits: LC_SNI_PEEK_MAX bytes in one record */

    lc_ext_common(&lc_ext, "big.example");
    lc_hello(&lc_msg, &lc_ext);
    pad = LC_SNI_PEEK_MAX - 5 - lc_msg.len - 4;

    lc_put16(&lc_ext, 21);
    lc_put16(&lc_ext, pad);
    lc_fill(&lc_ext, 0, pad);
    lc_hello(&lc_msg, &lc_ext);
    assert_int_equal(lc_msg.len + 5, LC_SNI_PEEK_MAX);

    lc_wire.len = 0;
    lc_records(&lc_wire, lc_msg.data, lc_msg.len, LC_SNI_PEEK_MAX, 1);
    assert_int_equal(lc_wire.len, LC_SNI_PEEK_MAX);
    LC_EXPECT(lc_wire.data, lc_wire.len, LC_SNI_FOUND, "big.example");

    for (len = 0; len < lc_wire.len; len += 97) {
        LC_EXPECT(lc_wire.data, len, LC_SNI_AGAIN, LC_NO_NAME);
    }

    LC_EXPECT(lc_wire.data, lc_wire.len - 1, LC_SNI_AGAIN, LC_NO_NAME);

    /* in two records it does not fit any more */

    lc_wire.len = 0;
    lc_records(&lc_wire, lc_msg.data, lc_msg.len, 8192, 1);
    assert_int_equal(lc_wire.len, LC_SNI_PEEK_MAX + 5);
    LC_EXPECT(lc_wire.data, LC_SNI_PEEK_MAX - 1, LC_SNI_AGAIN, LC_NO_NAME);
    LC_EXPECT(lc_wire.data, LC_SNI_PEEK_MAX, LC_SNI_INVALID, LC_NO_NAME);
    LC_EXPECT(lc_wire.data, lc_wire.len, LC_SNI_FOUND, "big.example");

    /* one byte more */

    lc_ext.data[lc_ext.len - pad - 2] = (unsigned char) ((pad + 1) >> 8);
    lc_ext.data[lc_ext.len - pad - 1] = (unsigned char) (pad + 1);
    lc_put8(&lc_ext, 0);
    lc_hello(&lc_msg, &lc_ext);

    lc_wire.len = 0;
    lc_records(&lc_wire, lc_msg.data, lc_msg.len, LC_SNI_PEEK_MAX, 1);
    LC_EXPECT(lc_wire.data, 9, LC_SNI_INVALID, LC_NO_NAME);
    LC_EXPECT(lc_wire.data, lc_wire.len, LC_SNI_INVALID, LC_NO_NAME);
}


static uint32_t
lc_random(uint32_t *s)
{
    /* xorshift32: the same bytes on every run */

    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;

    return *s;
}


static void
lc_garbage_parse(const unsigned char *buf, size_t len)
{
    char      name[LC_DOMAIN_MAX + 1];
    size_t    name_len;
    lc_sni_e  rc;

    rc = lc_parse(buf, len, name, &name_len);

    if (!lc_sane(rc, name, name_len)) {
        fail_msg("%zu bytes of garbage: a bad name", len);
    }
}


static void
test_garbage(void **state)
{
    size_t    i, j, len, n;
    uint32_t  seed;

    (void) state;

    seed = 2463534242u;

    /* plain noise, then noise behind a plausible record and header */

    for (i = 0; i < 20000; i++) {
        len = lc_random(&seed) % 600;

        for (j = 0; j < len; j++) {
            lc_wire.data[j] = (unsigned char) lc_random(&seed);
        }

        lc_garbage_parse(lc_wire.data, len);

        if (len >= 9) {
            memcpy(lc_wire.data, "\x16\x03\x01", 3);
            lc_wire.data[3] = (unsigned char) ((len - 5) >> 8);
            lc_wire.data[4] = (unsigned char) (len - 5);
            lc_wire.data[5] = 1;
            lc_wire.data[6] = 0;
            lc_wire.data[7] = (unsigned char) ((len - 9) >> 8);
            lc_wire.data[8] = (unsigned char) (len - 9);

            lc_garbage_parse(lc_wire.data, len);
        }
    }

    /* a real ClientHello with a few bytes changed, or cut, or grown */

    lc_openssl_hello(&lc_msg, 0, "links.example.com", 0);

    for (i = 0; i < 20000; i++) {
        memcpy(lc_wire.data, lc_msg.data, lc_msg.len);
        len = lc_msg.len;

        for (n = lc_random(&seed) % 4 + 1; n > 0; n--) {
            j = lc_random(&seed) % len;
            lc_wire.data[j] = (unsigned char) lc_random(&seed);
        }

        switch (lc_random(&seed) % 4) {

        case 0:
            len = lc_random(&seed) % len;
            break;
        case 1:
            n = lc_random(&seed) % 64;
            for (j = 0; j < n; j++) {
                lc_wire.data[len++] = (unsigned char) lc_random(&seed);
            }
            break;
        default:
            break;
        }

        lc_garbage_parse(lc_wire.data, len);
    }
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_openssl),
        cmocka_unit_test(test_openssl_records),
        cmocka_unit_test(test_after_hello),
        cmocka_unit_test(test_found),
        cmocka_unit_test(test_none),
        cmocka_unit_test(test_several_names),
        cmocka_unit_test(test_grease),
        cmocka_unit_test(test_trailing_dot),
        cmocka_unit_test(test_name_length),
        cmocka_unit_test(test_name_bytes),
        cmocka_unit_test(test_not_tls),
        cmocka_unit_test(test_records),
        cmocka_unit_test(test_handshake_type),
        cmocka_unit_test(test_hello_lengths),
        cmocka_unit_test(test_extension_lengths),
        cmocka_unit_test(test_server_name_lengths),
        cmocka_unit_test(test_duplicate_server_name),
        cmocka_unit_test(test_too_big),
        cmocka_unit_test(test_garbage),
    };

    return cmocka_run_group_tests_name("lc_sni", tests, NULL, NULL);
}
