
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: tests of the domain name normaliser.
 */


#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "lc_domain.h"


/*
 * cmocka reports the line of the failing assert: these are macros.
 * LC_FN_OK's fn is lc_domain_normalize() or lc_domain_from_host().
 */

#define LC_FN_OK(fn, in, len, expect)                                         \
    do {                                                                      \
        char         out_[LC_DOMAIN_MAX + 1];                                 \
        size_t       out_len_ = 0;                                            \
        const char  *reason_ = NULL;                                          \
        int          rc_;                                                     \
                                                                              \
        rc_ = fn(in, len, out_, &out_len_, &reason_);                         \
        if (rc_ != 0) {                                                       \
            print_error("\"%s\": %s\n", (const char *) (in), reason_);        \
        }                                                                     \
        assert_int_equal(rc_, 0);                                             \
        assert_string_equal(out_, expect);                                    \
        assert_int_equal(out_len_, strlen(expect));                           \
    } while (0)

#define LC_OK(in, len, expect)                                                \
    LC_FN_OK(lc_domain_normalize, in, len, expect)

#define LC_HOST_OK(in, expect)                                                \
    LC_FN_OK(lc_domain_from_host, in, strlen(in), expect)

#define LC_BAD(in, len, expect)                                               \
    do {                                                                      \
        char         out_[LC_DOMAIN_MAX + 1];                                 \
        size_t       out_len_ = 12345;                                        \
        const char  *reason_ = NULL;                                          \
                                                                              \
        assert_int_equal(lc_domain_normalize(in, len, out_, &out_len_,        \
                                             &reason_), -1);                  \
        assert_non_null(reason_);                                             \
        assert_string_equal(reason_, expect);                                 \
        assert_int_equal(out_len_, 12345);                                    \
    } while (0)

#define LC_HOST_BAD(in, expect)                                               \
    do {                                                                      \
        char         out_[LC_DOMAIN_MAX + 1];                                 \
        size_t       out_len_ = 0;                                            \
        const char  *reason_ = NULL;                                          \
                                                                              \
        assert_int_equal(lc_domain_from_host(in, strlen(in), out_, &out_len_, \
                                             &reason_), -1);                  \
        assert_non_null(reason_);                                             \
        assert_string_equal(reason_, expect);                                 \
    } while (0)

#define LC_OK_S(s, expect)   LC_OK(s, sizeof(s) - 1, expect)
#define LC_BAD_S(s, expect)  LC_BAD(s, sizeof(s) - 1, expect)
#define LC_S(s)              s, sizeof(s) - 1


static const char  *lc_empty = "empty name";
static const char  *lc_long_name = "name longer than 253 characters";
static const char  *lc_long_label = "label longer than 63 characters";
static const char  *lc_empty_label = "empty label";
static const char  *lc_bad_char = "invalid character";
static const char  *lc_hyphen = "label starts or ends with a hyphen";
static const char  *lc_ip = "IP address, not a domain name";
static const char  *lc_single = "single-label name";
static const char  *lc_wildcard = "wildcard, not a domain name";
static const char  *lc_port = "invalid port after the name";
static const char  *lc_ipv6 = "IPv6 address, not a domain name";


/* labels of "a" repeated, joined by dots, to a total length */

static void
lc_make_name(char *buf, size_t total, size_t label)
{
    size_t  i, run;

    run = 0;

    for (i = 0; i < total; i++) {
        if (run == label && i + 1 < total) {
            buf[i] = '.';
            run = 0;
            continue;
        }

        buf[i] = 'a';
        run++;
    }

    buf[total] = '\0';
}


/* as a ?domain= query argument would be decoded */

static size_t
lc_percent_decode(const char *in, char *out)
{
    size_t        n;
    unsigned int  v;

    n = 0;

    while (*in) {
        if (in[0] == '%' && in[1] && in[2]) {
            v = 0;
            (void) sscanf(in + 1, "%2x", &v);
            out[n++] = (char) v;
            in += 3;
            continue;
        }

        out[n++] = *in++;
    }

    out[n] = '\0';

    return n;
}


static void
test_plain(void **state)
{
    (void) state;

    LC_OK_S("links.example.com", "links.example.com");
    LC_OK_S("a.b", "a.b");
    LC_OK_S("a1-b2.c3", "a1-b2.c3");
    LC_OK_S("123.example", "123.example");
    LC_OK_S("links.acme.test", "links.acme.test");
}


static void
test_lowercase_and_trailing_dot(void **state)
{
    (void) state;

    LC_OK_S("LINKS.Example.COM.", "links.example.com");
    LC_OK_S("LINKS.EXAMPLE.COM", "links.example.com");
    LC_OK_S("a.com.", "a.com");
}


static void
test_dots(void **state)
{
    (void) state;

    LC_BAD_S("", lc_empty);
    LC_BAD(NULL, 0, lc_empty);
    LC_BAD_S(".", lc_empty);
    LC_BAD_S("..", lc_empty_label);
    LC_BAD_S("a..com", lc_empty_label);
    LC_BAD_S("a.com..", lc_empty_label);
    LC_BAD_S(".a.com", lc_empty_label);
    LC_BAD_S("..a.com", lc_empty_label);
}


static void
test_punycode(void **state)
{
    (void) state;

    LC_OK_S("xn--bcher-kva.example", "xn--bcher-kva.example");
    LC_OK_S("XN--BCHER-KVA.Example.", "xn--bcher-kva.example");
    LC_OK_S("links.xn--p1ai", "links.xn--p1ai");
}


static void
test_hyphens(void **state)
{
    (void) state;

    LC_OK_S("a-b.com", "a-b.com");
    LC_OK_S("a--b.com", "a--b.com");
    LC_BAD_S("-a.com", lc_hyphen);
    LC_BAD_S("a-.com", lc_hyphen);
    LC_BAD_S("a.-com", lc_hyphen);
    LC_BAD_S("a.com-", lc_hyphen);
    LC_BAD_S("a.com-.", lc_hyphen);
    LC_BAD_S("-.com", lc_hyphen);
}


static void
test_label_length(void **state)
{
    char  name[128];

    (void) state;

    memset(name, 'a', 63);
    memcpy(name + 63, ".com", sizeof(".com"));
    LC_OK(name, strlen(name), name);

    memset(name, 'a', 64);
    memcpy(name + 64, ".com", sizeof(".com"));
    LC_BAD(name, strlen(name), lc_long_label);

    /* the last label too */
    memcpy(name, "com.", 4);
    memset(name + 4, 'b', 64);
    name[68] = '\0';
    LC_BAD(name, strlen(name), lc_long_label);

    name[67] = '\0';
    LC_OK(name, strlen(name), name);
}


static void
test_name_length(void **state)
{
    char  name[512], expect[512];

    (void) state;

    lc_make_name(name, 253, 63);
    assert_int_equal(strlen(name), 253);
    LC_OK(name, 253, name);

    /* the trailing dot does not count */
    memcpy(expect, name, 254);
    name[253] = '.';
    name[254] = '\0';
    LC_OK(name, 254, expect);

    lc_make_name(name, 254, 63);
    LC_BAD(name, 254, lc_long_name);

    name[254] = '.';
    name[255] = '\0';
    LC_BAD(name, 255, lc_long_name);

    lc_make_name(name, 300, 20);
    LC_BAD(name, 300, lc_long_name);
}


static void
test_name_length_trailing_dot(void **state)
{
    char         name[300], out[LC_DOMAIN_MAX + 1];
    size_t       len;
    const char  *reason;

    (void) state;

    lc_make_name(name, 253, 63);
    name[253] = '.';

    assert_int_equal(lc_domain_normalize(name, 254, out, &len, &reason), 0);
    assert_int_equal(len, 253);
    assert_memory_equal(out, name, 253);
    assert_int_equal(out[253], '\0');
}


static void
test_characters(void **state)
{
    (void) state;

    LC_BAD_S("a_b.com", lc_bad_char);
    LC_BAD_S("_acme-challenge.a.com", lc_bad_char);
    LC_BAD_S("_", lc_bad_char);
    LC_BAD_S("a b.com", lc_bad_char);
    LC_BAD_S("a/b.com", lc_bad_char);
    LC_BAD_S("a\\b.com", lc_bad_char);
    LC_BAD_S("a:b.com", lc_bad_char);
    LC_BAD_S("a.com:443", lc_bad_char);
    LC_BAD_S("user@a.com", lc_bad_char);
    LC_BAD_S("a%41.com", lc_bad_char);
    LC_BAD_S("b\xc3\xbc" "cher.com", lc_bad_char);
    LC_BAD_S("a\x80.com", lc_bad_char);
    LC_BAD_S("a\xff.com", lc_bad_char);
    LC_BAD_S("a\x7f.com", lc_bad_char);
    LC_BAD_S("a\n.com", lc_bad_char);
    LC_BAD_S("a.com\r\n", lc_bad_char);
    LC_BAD_S("\"a.com\"", lc_bad_char);
}


static void
test_nul_bytes(void **state)
{
    char    in[64];
    size_t  len;

    (void) state;

    len = lc_percent_decode("links.example.com%00.evil.test", in);
    assert_int_equal(len, 28);
    assert_int_equal(in[17], '\0');
    LC_BAD(in, len, lc_bad_char);

    len = lc_percent_decode("links%00example.com", in);
    LC_BAD(in, len, lc_bad_char);

    /* a NUL counted in the length at the end */
    LC_BAD("a.com", 6, lc_bad_char);

    LC_BAD("\0", 1, lc_bad_char);
}


static void
test_wildcards(void **state)
{
    (void) state;

    LC_BAD_S("*", lc_wildcard);
    LC_BAD_S("*.a.com", lc_wildcard);
    LC_BAD_S("a.*.com", lc_wildcard);
    LC_BAD_S("a*.com", lc_wildcard);
}


static void
test_ip_literals(void **state)
{
    (void) state;

    LC_BAD_S("1.2.3.4", lc_ip);
    LC_BAD_S("1.2.3.4.", lc_ip);
    LC_BAD_S("127.0.0.1", lc_ip);
    LC_BAD_S("255.255.255.255", lc_ip);
    LC_BAD_S("example.123", lc_ip);
    LC_BAD_S("0x7f.1", lc_ip);
    LC_BAD_S("1.2.3.0x4", lc_ip);
    LC_BAD_S("1.2.3.0X4", lc_ip);
    LC_BAD_S("a.0x", lc_ip);
    LC_BAD_S("2130706433", lc_ip);
    LC_BAD_S("::1", lc_bad_char);

    LC_OK_S("1.2.3.4a", "1.2.3.4a");
    LC_OK_S("1.2.3.0xg", "1.2.3.0xg");
    LC_OK_S("1.2.3.x4", "1.2.3.x4");
}


static void
test_single_label(void **state)
{
    (void) state;

    LC_BAD_S("com", lc_single);
    LC_BAD_S("com.", lc_single);
    LC_BAD_S("localhost", lc_single);
    LC_BAD_S("LOCALHOST", lc_single);
}


static void
test_length_is_honoured(void **state)
{
    (void) state;

    /* "in" need not be NUL-terminated: bytes past len are not read */
    LC_OK("a.comXXXX", 5, "a.com");
    LC_OK("a.com.evil", 6, "a.com");
    LC_BAD("a.com", 1, lc_single);
}


static void
test_optional_outputs(void **state)
{
    char  out[LC_DOMAIN_MAX + 1];

    (void) state;

    assert_int_equal(lc_domain_normalize(LC_S("A.com"), out, NULL, NULL), 0);
    assert_string_equal(out, "a.com");

    assert_int_equal(lc_domain_normalize(LC_S("a_.com"), out, NULL, NULL),
                     -1);
    assert_int_equal(lc_domain_from_host(LC_S("[::1]"), out, NULL, NULL),
                     -1);
    assert_int_equal(lc_domain_from_host(LC_S("a.com:"), out, NULL, NULL),
                     -1);
}


static void
test_host_ports(void **state)
{
    (void) state;

    LC_HOST_OK("a.com", "a.com");
    LC_HOST_OK("a.com:443", "a.com");
    LC_HOST_OK("A.COM.:8443", "a.com");
    LC_HOST_OK("a.com:1", "a.com");
    LC_HOST_OK("a.com:65535", "a.com");
    LC_HOST_OK("a.com:00443", "a.com");
    LC_HOST_OK("links.acme.test.", "links.acme.test");

    LC_HOST_BAD("a.com:", lc_port);
    LC_HOST_BAD("a.com:99999x", lc_port);
    LC_HOST_BAD("a.com:123456", lc_port);
    LC_HOST_BAD("a.com:1234567", lc_port);
    LC_HOST_BAD("a.com:443:443", lc_bad_char);
    LC_HOST_BAD("a.com:x443", lc_port);
    LC_HOST_BAD("a.com: 443", lc_port);
    LC_HOST_BAD("a.com:-1", lc_port);
    LC_HOST_BAD(":443", lc_empty);
    LC_HOST_BAD(":", lc_port);
    LC_HOST_BAD("", lc_empty);
}


static void
test_host_literals(void **state)
{
    (void) state;

    LC_HOST_BAD("[::1]:80", lc_ipv6);
    LC_HOST_BAD("[::1]", lc_ipv6);
    LC_HOST_BAD("[2001:db8::1]:443", lc_ipv6);
    LC_HOST_BAD("[", lc_ipv6);
    LC_HOST_BAD("::1", lc_bad_char);
    LC_HOST_BAD("1.2.3.4:80", lc_ip);
    LC_HOST_BAD("1.2.3.4", lc_ip);
    LC_HOST_BAD("localhost:8080", lc_single);
    LC_HOST_BAD("*.a.com:443", lc_wildcard);
}


static void
test_host_nul(void **state)
{
    char         out[LC_DOMAIN_MAX + 1];
    size_t       len;
    const char  *reason;

    (void) state;

    reason = NULL;
    assert_int_equal(lc_domain_from_host("a.com\0:443", 10, out, &len,
                                         &reason), -1);
    assert_string_equal(reason, lc_bad_char);

    assert_int_equal(lc_domain_from_host("a.com:443", 7, out, &len, &reason),
                     0);
    assert_string_equal(out, "a.com");
    assert_int_equal(len, 5);
}


/* ?domain= values: escapes decoded strictly, then the same rules */

#define LC_QUERY_OK(in, expect)                                               \
    LC_FN_OK(lc_domain_from_query, in, strlen(in), expect)

#define LC_QUERY_BAD(in, expect)                                              \
    do {                                                                      \
        char         out_[LC_DOMAIN_MAX + 1];                                 \
        const char  *reason_ = NULL;                                          \
                                                                              \
        assert_int_equal(lc_domain_from_query(in, strlen(in), out_, NULL,     \
                                              &reason_), -1);                 \
        assert_string_equal(reason_, expect);                                 \
    } while (0)


static void
test_query(void **state)
{
    char  name[300];

    (void) state;

    LC_QUERY_OK("Links.Example.COM", "links.example.com");
    LC_QUERY_OK("links%2Eexample%2ecom", "links.example.com");
    LC_QUERY_OK("%6c%69nks.example.com.", "links.example.com");

    LC_QUERY_BAD("a.test%zz", "invalid percent-escape");
    LC_QUERY_BAD("a.test%", "invalid percent-escape");
    LC_QUERY_BAD("a.test%4", "invalid percent-escape");
    LC_QUERY_BAD("a%g0.test", "invalid percent-escape");
    LC_QUERY_BAD("a.test%00", lc_bad_char);
    LC_QUERY_BAD("a.test%2F", lc_bad_char);
    LC_QUERY_BAD("", "empty name");

    /* 254 escaped bytes: longer than any name, whatever follows */

    memset(name, 'a', sizeof(name));
    name[1] = '.';
    name[299] = '\0';
    LC_QUERY_BAD(name, "name longer than 253 characters");

    memcpy(name + 296, "%zz", 3);
    LC_QUERY_BAD(name, "name longer than 253 characters");
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_plain),
        cmocka_unit_test(test_lowercase_and_trailing_dot),
        cmocka_unit_test(test_dots),
        cmocka_unit_test(test_punycode),
        cmocka_unit_test(test_hyphens),
        cmocka_unit_test(test_label_length),
        cmocka_unit_test(test_name_length),
        cmocka_unit_test(test_name_length_trailing_dot),
        cmocka_unit_test(test_characters),
        cmocka_unit_test(test_nul_bytes),
        cmocka_unit_test(test_wildcards),
        cmocka_unit_test(test_ip_literals),
        cmocka_unit_test(test_single_label),
        cmocka_unit_test(test_length_is_honoured),
        cmocka_unit_test(test_optional_outputs),
        cmocka_unit_test(test_host_ports),
        cmocka_unit_test(test_host_literals),
        cmocka_unit_test(test_host_nul),
        cmocka_unit_test(test_query),
    };

    return cmocka_run_group_tests_name("lc_domain", tests, NULL, NULL);
}
