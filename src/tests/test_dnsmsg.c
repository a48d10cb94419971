/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: tests of lc_dnsmsg, on reply packets built by hand.
 */


#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include <ares.h>

#include "lc_dnsmsg.h"


#define T_PKT_MAX    8192

#define T_TYPE_A     1
#define T_TYPE_CNAME 5
#define T_TYPE_TXT   16
#define T_TYPE_AAAA  28
#define T_TYPE_CAA   257

#define T_QNAME      "links.acme.test"


/* a reply under construction */
typedef struct {
    size_t         len;
    unsigned char  buf[T_PKT_MAX];
} t_pkt_t;


static t_pkt_t          t_p;
static lc_dns_answer_t  t_ans;


static void
t_u8(t_pkt_t *p, unsigned int v)
{
    assert_true(p->len < T_PKT_MAX);
    p->buf[p->len++] = (unsigned char) v;
}


static void
t_u16(t_pkt_t *p, unsigned int v)
{
    t_u8(p, v >> 8);
    t_u8(p, v & 0xff);
}


static void
t_bytes(t_pkt_t *p, const void *data, size_t n)
{
    assert_true(n <= T_PKT_MAX - p->len);
    memcpy(p->buf + p->len, data, n);
    p->len += n;
}


/* an uncompressed name: "" is the root */

static void
t_name(t_pkt_t *p, const char *name)
{
    const char  *dot;
    size_t       n;

    while (*name != '\0') {
        dot = strchr(name, '.');
        n = dot ? (size_t) (dot - name) : strlen(name);

        assert_true(n > 0 && n < 64);
        t_u8(p, (unsigned int) n);
        t_bytes(p, name, n);

        name += n;

        if (*name == '.') {
            name++;
        }
    }

    t_u8(p, 0);
}


/* a compression pointer to offset */

static void
t_ptr(t_pkt_t *p, unsigned int offset)
{
    t_u16(p, 0xc000 | offset);
}


/* a response header, then the question when qdcount is 1 */

static void
t_header(t_pkt_t *p, unsigned int rcode, unsigned int qdcount,
    unsigned int ancount, const char *qname, unsigned int qtype)
{
    p->len = 0;

    t_u16(p, 0x4c43);                   /* id */
    t_u8(p, 0x81);                      /* QR, RD */
    t_u8(p, 0x80 | rcode);              /* RA, rcode */
    t_u16(p, qdcount);
    t_u16(p, ancount);
    t_u16(p, 0);
    t_u16(p, 0);

    if (qdcount == 1) {
        t_name(p, qname);
        t_u16(p, qtype);
        t_u16(p, 1);
    }
}


/* the fixed part of an RR after its owner; returns rdlength's offset */

static size_t
t_rr_fixed(t_pkt_t *p, unsigned int type)
{
    size_t  off;

    t_u16(p, type);
    t_u16(p, 1);                        /* IN */
    t_u16(p, 0);                        /* ttl 300 */
    t_u16(p, 300);

    off = p->len;
    t_u16(p, 0);

    return off;
}


static size_t
t_rr(t_pkt_t *p, const char *owner, unsigned int type)
{
    t_name(p, owner);

    return t_rr_fixed(p, type);
}


/* sets the rdlength at off to what follows it */

static void
t_rr_end(t_pkt_t *p, size_t off)
{
    size_t  n;

    n = p->len - off - 2;
    p->buf[off] = (unsigned char) (n >> 8);
    p->buf[off + 1] = (unsigned char) (n & 0xff);
}


static void
t_cname(t_pkt_t *p, const char *owner, const char *target)
{
    size_t  off;

    off = t_rr(p, owner, T_TYPE_CNAME);
    t_name(p, target);
    t_rr_end(p, off);
}


static void
t_addr(t_pkt_t *p, const char *owner, const char *text)
{
    size_t         off;
    unsigned char  a[16];

    if (strchr(text, ':')) {
        assert_int_equal(inet_pton(AF_INET6, text, a), 1);
        off = t_rr(p, owner, T_TYPE_AAAA);
        t_bytes(p, a, 16);

    } else {
        assert_int_equal(inet_pton(AF_INET, text, a), 1);
        off = t_rr(p, owner, T_TYPE_A);
        t_bytes(p, a, 4);
    }

    t_rr_end(p, off);
}


static void
t_caa(t_pkt_t *p, const char *owner, unsigned int flags, const char *tag,
    const char *value, size_t vlen)
{
    size_t  off;

    off = t_rr(p, owner, T_TYPE_CAA);
    t_u8(p, flags);
    t_u8(p, (unsigned int) strlen(tag));
    t_bytes(p, tag, strlen(tag));
    t_bytes(p, value, vlen);
    t_rr_end(p, off);
}


#define t_caa_str(p, owner, flags, tag, value)                               \
    t_caa(p, owner, flags, tag, value, strlen(value))


/* parses abuf into t_ans, poisoned first, as the reply to "type qname" */

static lc_ans_status_e
t_parse_reply(int status, const unsigned char *abuf, int alen,
    const char *qname, lc_qtype_e type)
{
    memset(&t_ans, 0x5a, sizeof(lc_dns_answer_t));
    lc_dns_answer_from_ares(status, abuf, alen, qname, type, &t_ans);

    return t_ans.status;
}


/* parses t_p as the reply to "type T_QNAME", given with status */

static lc_ans_status_e
t_parse(int status, lc_qtype_e type)
{
    return t_parse_reply(status, t_p.buf, (int) t_p.len, T_QNAME, type);
}


static void
t_addr_is(const lc_addr_t *a, const char *text)
{
    char  buf[LC_ADDR_STRLEN];

    assert_int_equal(lc_addr_format(a, buf, sizeof(buf)), 0);
    assert_string_equal(buf, text);
}


/* nothing but the status */

static void
t_assert_empty(const lc_dns_answer_t *ans)
{
    assert_string_equal(ans->cname, "");
    assert_int_equal(ans->naddrs, 0);
    assert_int_equal(ans->ncaa, 0);
}


/* a possible answer: a status in range, counts in range, strings ended */

static void
t_assert_sane(const lc_dns_answer_t *ans)
{
    size_t  i;

    assert_true((unsigned int) ans->status <= LC_ANS_ERROR);
    assert_true(ans->naddrs <= LC_VERIFY_MAX_ADDRS);
    assert_true(ans->ncaa <= LC_VERIFY_MAX_CAA);
    assert_non_null(memchr(ans->cname, '\0', sizeof(ans->cname)));

    for (i = 0; i < ans->naddrs; i++) {
        assert_true(ans->addrs[i].family == 4 || ans->addrs[i].family == 6);
    }

    for (i = 0; i < ans->ncaa; i++) {
        assert_non_null(memchr(ans->caa[i].tag, '\0',
                               sizeof(ans->caa[i].tag)));
        assert_non_null(memchr(ans->caa[i].value, '\0',
                               sizeof(ans->caa[i].value)));
    }

    if (ans->status == LC_ANS_ERROR) {
        t_assert_empty(ans);
    }
}


static void
test_qtype_to_ns(void **state)
{
    (void) state;

    assert_int_equal(lc_qtype_to_ns(LC_QTYPE_CNAME), 5);
    assert_int_equal(lc_qtype_to_ns(LC_QTYPE_A), 1);
    assert_int_equal(lc_qtype_to_ns(LC_QTYPE_AAAA), 28);
    assert_int_equal(lc_qtype_to_ns(LC_QTYPE_CAA), 257);
    assert_int_equal(lc_qtype_to_ns((lc_qtype_e) 4), -1);
}


static void
test_cname(void **state)
{
    (void) state;

    t_header(&t_p, 0, 1, 1, T_QNAME, T_TYPE_CNAME);
    t_cname(&t_p, T_QNAME, "edge.linkcert.net");

    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_CNAME), LC_ANS_OK);
    assert_string_equal(t_ans.cname, "edge.linkcert.net");
    assert_int_equal(t_ans.naddrs, 0);
    assert_int_equal(t_ans.ncaa, 0);

    /* 0x20 mixed case in the owner, a trailing dot on the query name */

    t_header(&t_p, 0, 1, 1, "LiNkS.aCmE.test", T_TYPE_CNAME);
    t_cname(&t_p, "LINKS.Acme.TEST", "Edge.LinkCert.net");

    assert_int_equal(t_parse_reply(ARES_SUCCESS, t_p.buf, (int) t_p.len,
                                   T_QNAME ".", LC_QTYPE_CNAME), LC_ANS_OK);
    assert_string_equal(t_ans.cname, "Edge.LinkCert.net");

    /* a CNAME owned by another name is not the query's */

    t_header(&t_p, 0, 1, 1, T_QNAME, T_TYPE_CNAME);
    t_cname(&t_p, "other.acme.test", "edge.linkcert.net");

    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_CNAME), LC_ANS_OK);
    t_assert_empty(&t_ans);

    /* nor one of another class */

    t_header(&t_p, 0, 1, 1, T_QNAME, T_TYPE_CNAME);
    t_cname(&t_p, T_QNAME, "edge.linkcert.net");
    t_p.buf[t_p.len - 19 - 7] = 3;      /* CH */

    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_CNAME), LC_ANS_OK);
    t_assert_empty(&t_ans);

    /* a name that is too long for one, or the root, is malformed */

    t_header(&t_p, 0, 1, 1, T_QNAME, T_TYPE_CNAME);
    t_cname(&t_p, T_QNAME, "");

    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_CNAME), LC_ANS_ERROR);
    t_assert_empty(&t_ans);
}


static void
test_cname_long_target(void **state)
{
    char    name[300];
    size_t  i;

    (void) state;

    /* 4 labels of 63: 255 wire bytes, 255 characters: too long */

    for (i = 0; i < 4; i++) {
        memset(name + 64 * i, 'a' + (int) i, 63);
        name[64 * i + 63] = '.';
    }

    name[4 * 64 - 1] = '\0';
    assert_int_equal(strlen(name), 255);

    t_header(&t_p, 0, 1, 1, T_QNAME, T_TYPE_CNAME);
    t_cname(&t_p, T_QNAME, name);

    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_CNAME), LC_ANS_ERROR);
    t_assert_empty(&t_ans);

    /* 253 characters fit */

    name[4 * 64 - 3] = '\0';
    assert_int_equal(strlen(name), LC_DOMAIN_MAX);

    t_header(&t_p, 0, 1, 1, T_QNAME, T_TYPE_CNAME);
    t_cname(&t_p, T_QNAME, name);

    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_CNAME), LC_ANS_OK);
    assert_string_equal(t_ans.cname, name);
}


/* a recursive resolver: the CNAME chain, then the final addresses */

static void
test_cname_chain_a(void **state)
{
    (void) state;

    t_header(&t_p, 0, 1, 4, T_QNAME, T_TYPE_A);
    t_cname(&t_p, T_QNAME, "a.cdn.example");
    t_cname(&t_p, "a.cdn.example", "b.cdn.example");
    t_addr(&t_p, "b.cdn.example", "192.0.2.1");
    t_addr(&t_p, "b.cdn.example", "192.0.2.2");

    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_A), LC_ANS_OK);
    assert_string_equal(t_ans.cname, "a.cdn.example");
    assert_int_equal(t_ans.naddrs, 2);
    t_addr_is(&t_ans.addrs[0], "192.0.2.1");
    t_addr_is(&t_ans.addrs[1], "192.0.2.2");
    assert_int_equal(t_ans.ncaa, 0);

    /* the same chain to a CNAME query: the first hop only */

    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_CNAME), LC_ANS_OK);
    assert_string_equal(t_ans.cname, "a.cdn.example");
    assert_int_equal(t_ans.naddrs, 0);

    /* the next hop's query */

    assert_int_equal(t_parse_reply(ARES_SUCCESS, t_p.buf, (int) t_p.len,
                                   "a.cdn.example", LC_QTYPE_CNAME), LC_ANS_OK);
    assert_string_equal(t_ans.cname, "b.cdn.example");

    /* no query name: no CNAME is the query's */

    assert_int_equal(t_parse_reply(ARES_SUCCESS, t_p.buf, (int) t_p.len, NULL,
                                   LC_QTYPE_A), LC_ANS_OK);
    assert_string_equal(t_ans.cname, "");
    assert_int_equal(t_ans.naddrs, 2);
}


static void
test_a_aaaa(void **state)
{
    size_t  i;
    char    text[32];

    (void) state;

    t_header(&t_p, 0, 1, 4, T_QNAME, T_TYPE_A);
    t_addr(&t_p, T_QNAME, "203.0.113.7");
    t_addr(&t_p, T_QNAME, "2001:db8::1");
    t_addr(&t_p, T_QNAME, "198.51.100.255");
    t_addr(&t_p, T_QNAME, "::1");

    /* each query takes its own type only */

    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_A), LC_ANS_OK);
    assert_string_equal(t_ans.cname, "");
    assert_int_equal(t_ans.naddrs, 2);
    t_addr_is(&t_ans.addrs[0], "203.0.113.7");
    t_addr_is(&t_ans.addrs[1], "198.51.100.255");

    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_AAAA), LC_ANS_OK);
    assert_int_equal(t_ans.naddrs, 2);
    t_addr_is(&t_ans.addrs[0], "2001:db8::1");
    t_addr_is(&t_ans.addrs[1], "::1");

    /* none for CNAME and CAA queries */

    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_CNAME), LC_ANS_OK);
    t_assert_empty(&t_ans);
    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_CAA), LC_ANS_OK);
    t_assert_empty(&t_ans);

    /* clamped */

    t_header(&t_p, 0, 1, 20, T_QNAME, T_TYPE_A);

    for (i = 0; i < 20; i++) {
        snprintf(text, sizeof(text), "192.0.2.%zu", i);
        t_addr(&t_p, T_QNAME, text);
    }

    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_A), LC_ANS_OK);
    assert_int_equal(t_ans.naddrs, LC_VERIFY_MAX_ADDRS);
    t_addr_is(&t_ans.addrs[LC_VERIFY_MAX_ADDRS - 1], "192.0.2.15");

    /* an A record of the wrong size is malformed */

    t_header(&t_p, 0, 1, 1, T_QNAME, T_TYPE_A);
    t_addr(&t_p, T_QNAME, "192.0.2.1");
    t_p.buf[t_p.len - 5] = 5;
    t_u8(&t_p, 0);

    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_A), LC_ANS_ERROR);
    t_assert_empty(&t_ans);

    t_header(&t_p, 0, 1, 1, T_QNAME, T_TYPE_AAAA);
    t_addr(&t_p, T_QNAME, "192.0.2.1");
    t_p.buf[t_p.len - 4 - 10 + 1] = T_TYPE_AAAA;

    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_AAAA), LC_ANS_ERROR);
    t_assert_empty(&t_ans);
}


static void
test_other_records(void **state)
{
    size_t  off;

    (void) state;

    /* a TXT record, and an authority section, are walked past */

    t_header(&t_p, 0, 1, 2, T_QNAME, T_TYPE_A);
    off = t_rr(&t_p, T_QNAME, T_TYPE_TXT);
    t_u8(&t_p, 5);
    t_bytes(&t_p, "hello", 5);
    t_rr_end(&t_p, off);
    t_addr(&t_p, T_QNAME, "192.0.2.9");
    t_p.buf[9] = 1;                     /* nscount */
    t_bytes(&t_p, "\x05garbage", 8);

    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_A), LC_ANS_OK);
    assert_int_equal(t_ans.naddrs, 1);
    t_addr_is(&t_ans.addrs[0], "192.0.2.9");

    /* no question at all */

    t_header(&t_p, 0, 0, 1, NULL, 0);
    t_addr(&t_p, T_QNAME, "192.0.2.9");

    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_A), LC_ANS_OK);
    assert_int_equal(t_ans.naddrs, 1);
}


static void
test_nodata(void **state)
{
    (void) state;

    t_header(&t_p, 0, 1, 0, T_QNAME, T_TYPE_CAA);

    assert_int_equal(t_parse(ARES_ENODATA, LC_QTYPE_CAA), LC_ANS_OK);
    t_assert_empty(&t_ans);

    /* the same reply, had c-ares called it a success */
    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_CAA), LC_ANS_OK);
    t_assert_empty(&t_ans);

    /* an alias without records of the type */

    t_header(&t_p, 0, 1, 1, T_QNAME, T_TYPE_CAA);
    t_cname(&t_p, T_QNAME, "edge.linkcert.net");

    assert_int_equal(t_parse(ARES_ENODATA, LC_QTYPE_CAA), LC_ANS_OK);
    assert_string_equal(t_ans.cname, "edge.linkcert.net");

    /* no reply at hand */

    assert_int_equal(t_parse_reply(ARES_ENODATA, NULL, 0, T_QNAME, LC_QTYPE_A),
                     LC_ANS_OK);
    t_assert_empty(&t_ans);

    assert_int_equal(t_parse_reply(ARES_ENODATA, t_p.buf, -1, T_QNAME,
                                   LC_QTYPE_A), LC_ANS_OK);
    t_assert_empty(&t_ans);

    /* but a success must come with its reply */

    assert_int_equal(t_parse_reply(ARES_SUCCESS, NULL, 0, T_QNAME, LC_QTYPE_A),
                     LC_ANS_ERROR);
    t_assert_empty(&t_ans);

    assert_int_equal(t_parse_reply(ARES_SUCCESS, t_p.buf, 0, T_QNAME,
                                   LC_QTYPE_A), LC_ANS_ERROR);
}


static void
test_nxdomain(void **state)
{
    (void) state;

    t_header(&t_p, 3, 1, 0, T_QNAME, T_TYPE_CNAME);

    assert_int_equal(t_parse(ARES_ENOTFOUND, LC_QTYPE_CNAME),
                     LC_ANS_NXDOMAIN);
    t_assert_empty(&t_ans);

    /* as a success with the rcode in the header */
    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_CNAME), LC_ANS_NXDOMAIN);
    t_assert_empty(&t_ans);

    /* the alias that leads nowhere is still shown */

    t_header(&t_p, 3, 1, 1, T_QNAME, T_TYPE_CAA);
    t_cname(&t_p, T_QNAME, "gone.cdn.example");

    assert_int_equal(t_parse(ARES_ENOTFOUND, LC_QTYPE_CAA), LC_ANS_NXDOMAIN);
    assert_string_equal(t_ans.cname, "gone.cdn.example");
    assert_int_equal(t_ans.ncaa, 0);

    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_CNAME), LC_ANS_NXDOMAIN);
    assert_string_equal(t_ans.cname, "gone.cdn.example");

    /* without a reply */

    assert_int_equal(t_parse_reply(ARES_ENOTFOUND, NULL, 0, T_QNAME,
                                   LC_QTYPE_CNAME), LC_ANS_NXDOMAIN);
    t_assert_empty(&t_ans);

    /* a malformed one */

    t_p.len -= 3;
    assert_int_equal(t_parse(ARES_ENOTFOUND, LC_QTYPE_CNAME), LC_ANS_ERROR);
    t_assert_empty(&t_ans);
}


static void
test_servfail(void **state)
{
    (void) state;

    /* by status, with or without the reply */

    t_header(&t_p, 2, 1, 0, T_QNAME, T_TYPE_CNAME);

    assert_int_equal(t_parse(ARES_ESERVFAIL, LC_QTYPE_CNAME),
                     LC_ANS_SERVFAIL);
    t_assert_empty(&t_ans);

    assert_int_equal(t_parse_reply(ARES_ESERVFAIL, NULL, 0, T_QNAME,
                                   LC_QTYPE_A), LC_ANS_SERVFAIL);
    t_assert_empty(&t_ans);

    /* ARES_FLAG_NOCHECKRESP: a success, the rcode in the header */

    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_CNAME), LC_ANS_SERVFAIL);
    t_assert_empty(&t_ans);

    /* records in a SERVFAIL reply are not taken */

    t_header(&t_p, 2, 1, 1, T_QNAME, T_TYPE_CNAME);
    t_cname(&t_p, T_QNAME, "edge.linkcert.net");

    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_CNAME), LC_ANS_SERVFAIL);
    t_assert_empty(&t_ans);
    assert_int_equal(t_parse(ARES_ENODATA, LC_QTYPE_CNAME), LC_ANS_SERVFAIL);

    /* other rcodes: FORMERR, NOTIMP, YXDOMAIN, 15 */

    t_header(&t_p, 1, 1, 0, T_QNAME, T_TYPE_CNAME);
    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_CNAME), LC_ANS_ERROR);
    t_header(&t_p, 4, 1, 0, T_QNAME, T_TYPE_CNAME);
    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_CNAME), LC_ANS_ERROR);
    t_header(&t_p, 6, 1, 0, T_QNAME, T_TYPE_CNAME);
    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_CNAME), LC_ANS_ERROR);
    t_header(&t_p, 15, 1, 0, T_QNAME, T_TYPE_CNAME);
    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_CNAME), LC_ANS_ERROR);
    t_assert_empty(&t_ans);
}


static void
test_refused(void **state)
{
    (void) state;

    t_header(&t_p, 5, 1, 0, T_QNAME, T_TYPE_A);

    assert_int_equal(t_parse(ARES_EREFUSED, LC_QTYPE_A), LC_ANS_REFUSED);
    t_assert_empty(&t_ans);

    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_A), LC_ANS_REFUSED);
    t_assert_empty(&t_ans);

    assert_int_equal(t_parse_reply(ARES_EREFUSED, NULL, 0, T_QNAME, LC_QTYPE_A),
                     LC_ANS_REFUSED);
    t_assert_empty(&t_ans);
}


static void
test_other_statuses(void **state)
{
    size_t  i;

    static const int  errors[] = {
        ARES_EFORMERR, ARES_ENOTIMP, ARES_EBADQUERY, ARES_EBADNAME,
        ARES_EBADFAMILY, ARES_EBADRESP, ARES_EOF, ARES_EFILE, ARES_ENOMEM,
        ARES_EDESTRUCTION, ARES_ECANCELLED, ARES_ENONAME, -1, 1000
    };

    (void) state;

    t_header(&t_p, 0, 1, 1, T_QNAME, T_TYPE_A);
    t_addr(&t_p, T_QNAME, "192.0.2.1");

    assert_int_equal(t_parse(ARES_ETIMEOUT, LC_QTYPE_A), LC_ANS_TIMEOUT);
    t_assert_empty(&t_ans);

    assert_int_equal(t_parse(ARES_ECONNREFUSED, LC_QTYPE_A), LC_ANS_TIMEOUT);
    t_assert_empty(&t_ans);

    assert_int_equal(t_parse_reply(ARES_ETIMEOUT, NULL, 0, T_QNAME, LC_QTYPE_A),
                     LC_ANS_TIMEOUT);
    t_assert_empty(&t_ans);

    for (i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
        assert_int_equal(t_parse(errors[i], LC_QTYPE_A), LC_ANS_ERROR);
        t_assert_empty(&t_ans);
    }
}


static void
test_caa(void **state)
{
    char    value[200];
    size_t  i;

    (void) state;

    t_header(&t_p, 0, 1, 7, T_QNAME, T_TYPE_CAA);
    t_caa_str(&t_p, T_QNAME, 0, "issue", "letsencrypt.org");
    t_caa_str(&t_p, T_QNAME, 0, "issuewild", ";");
    t_caa_str(&t_p, T_QNAME, 0, "iodef", "mailto:security@acme.test");
    t_caa_str(&t_p, T_QNAME, 128, "issue",
              "ca.example; account=230123; validationmethods=dns-01");
    t_caa(&t_p, T_QNAME, 0, "issue", "bad\x01\xff\0x", 7);
    t_caa_str(&t_p, T_QNAME, 129, "tbs", "Unknown");
    t_caa_str(&t_p, T_QNAME, 0, "issue", "");

    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_CAA), LC_ANS_OK);
    assert_string_equal(t_ans.cname, "");
    assert_int_equal(t_ans.naddrs, 0);
    assert_int_equal(t_ans.ncaa, 7);

    assert_int_equal(t_ans.caa[0].critical, 0);
    assert_string_equal(t_ans.caa[0].tag, "issue");
    assert_string_equal(t_ans.caa[0].value, "letsencrypt.org");

    assert_int_equal(t_ans.caa[1].critical, 0);
    assert_string_equal(t_ans.caa[1].tag, "issuewild");
    assert_string_equal(t_ans.caa[1].value, ";");

    assert_string_equal(t_ans.caa[2].tag, "iodef");
    assert_string_equal(t_ans.caa[2].value, "mailto:security@acme.test");

    assert_int_not_equal(t_ans.caa[3].critical, 0);
    assert_string_equal(t_ans.caa[3].tag, "issue");
    assert_string_equal(t_ans.caa[3].value,
                        "ca.example; account=230123; "
                        "validationmethods=dns-01");

    /* non-printable bytes, a NUL among them, become '?' */
    assert_string_equal(t_ans.caa[4].value, "bad???x");

    assert_int_not_equal(t_ans.caa[5].critical, 0);
    assert_string_equal(t_ans.caa[5].tag, "tbs");
    assert_string_equal(t_ans.caa[5].value, "Unknown");

    assert_string_equal(t_ans.caa[6].value, "");

    /* not for other queries */

    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_A), LC_ANS_OK);
    t_assert_empty(&t_ans);

    /* from the target of an alias, as a recursive resolver answers */

    t_header(&t_p, 0, 1, 2, T_QNAME, T_TYPE_CAA);
    t_cname(&t_p, T_QNAME, "edge.linkcert.net");
    t_caa_str(&t_p, "edge.linkcert.net", 0, "issue", "letsencrypt.org");

    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_CAA), LC_ANS_OK);
    assert_string_equal(t_ans.cname, "edge.linkcert.net");
    assert_int_equal(t_ans.ncaa, 1);
    assert_string_equal(t_ans.caa[0].value, "letsencrypt.org");

    /* long tag and value: truncated */

    memset(value, 'v', sizeof(value));

    t_header(&t_p, 0, 1, 1, T_QNAME, T_TYPE_CAA);
    t_caa(&t_p, T_QNAME, 0, "abcdefghijklmnopqrstuvwxyz", value,
          sizeof(value));

    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_CAA), LC_ANS_OK);
    assert_int_equal(t_ans.ncaa, 1);
    assert_string_equal(t_ans.caa[0].tag, "abcdefghijklmno");
    assert_int_equal(strlen(t_ans.caa[0].value), LC_CAA_VALUE_LEN - 1);

    /* clamped */

    t_header(&t_p, 0, 1, 20, T_QNAME, T_TYPE_CAA);

    for (i = 0; i < 20; i++) {
        snprintf(value, sizeof(value), "ca%zu.example", i);
        t_caa_str(&t_p, T_QNAME, 0, "issue", value);
    }

    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_CAA), LC_ANS_OK);
    assert_int_equal(t_ans.ncaa, LC_VERIFY_MAX_CAA);
    assert_string_equal(t_ans.caa[LC_VERIFY_MAX_CAA - 1].value,
                        "ca15.example");
}


/*
 * A CAA record of another class is ignored, its owner too: the status
 * JSON shows where the relevant set was found.  Seen while writing
 * fuzz_dnsmsg: the owner was taken before the class was looked at.
 */

static void
test_caa_other_class(void **state)
{
    size_t  off;

    (void) state;

    t_header(&t_p, 0, 1, 2, T_QNAME, T_TYPE_CAA);
    off = t_p.len + strlen("chaos.acme.test") + 2 + 2;
    t_caa_str(&t_p, "chaos.acme.test", 0, "issue", "ca.example");
    t_p.buf[off + 1] = 3;               /* CH */
    t_caa_str(&t_p, T_QNAME, 0, "issue", "letsencrypt.org");

    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_CAA), LC_ANS_OK);
    assert_int_equal(t_ans.ncaa, 1);
    assert_string_equal(t_ans.caa[0].value, "letsencrypt.org");
    assert_string_equal(t_ans.caa_owner, T_QNAME);

    /* alone, it leaves no owner */

    t_header(&t_p, 0, 1, 1, T_QNAME, T_TYPE_CAA);
    off = t_p.len + strlen("chaos.acme.test") + 2 + 2;
    t_caa_str(&t_p, "chaos.acme.test", 0, "issue", "ca.example");
    t_p.buf[off + 1] = 3;               /* CH */

    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_CAA), LC_ANS_OK);
    assert_int_equal(t_ans.ncaa, 0);
    assert_string_equal(t_ans.caa_owner, "");
}


static void
test_caa_malformed(void **state)
{
    size_t  off;

    (void) state;

    /* a tag longer than the rdata */

    t_header(&t_p, 0, 1, 1, T_QNAME, T_TYPE_CAA);
    off = t_rr(&t_p, T_QNAME, T_TYPE_CAA);
    t_u8(&t_p, 0);
    t_u8(&t_p, 6);
    t_bytes(&t_p, "issue", 5);
    t_rr_end(&t_p, off);
    t_bytes(&t_p, "xx", 2);

    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_CAA), LC_ANS_ERROR);
    t_assert_empty(&t_ans);

    /* an empty tag */

    t_header(&t_p, 0, 1, 1, T_QNAME, T_TYPE_CAA);
    off = t_rr(&t_p, T_QNAME, T_TYPE_CAA);
    t_u8(&t_p, 0);
    t_u8(&t_p, 0);
    t_bytes(&t_p, "x", 1);
    t_rr_end(&t_p, off);

    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_CAA), LC_ANS_ERROR);

    /* rdata of one byte, then of none */

    t_header(&t_p, 0, 1, 1, T_QNAME, T_TYPE_CAA);
    off = t_rr(&t_p, T_QNAME, T_TYPE_CAA);
    t_u8(&t_p, 0);
    t_rr_end(&t_p, off);

    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_CAA), LC_ANS_ERROR);

    t_header(&t_p, 0, 1, 1, T_QNAME, T_TYPE_CAA);
    off = t_rr(&t_p, T_QNAME, T_TYPE_CAA);
    t_rr_end(&t_p, off);

    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_CAA), LC_ANS_ERROR);

    /* a good record before a bad one is not kept */

    t_header(&t_p, 0, 1, 2, T_QNAME, T_TYPE_CAA);
    t_caa_str(&t_p, T_QNAME, 0, "issue", "letsencrypt.org");
    off = t_rr(&t_p, T_QNAME, T_TYPE_CAA);
    t_u8(&t_p, 0);
    t_rr_end(&t_p, off);

    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_CAA), LC_ANS_ERROR);
    t_assert_empty(&t_ans);
}


static void
test_compression(void **state)
{
    size_t  off;

    (void) state;

    /*
     * Owners point at the question's name (offset 12); the target is
     * "edge" then a pointer to "cdn.example" inside a later owner.
     */

    t_header(&t_p, 0, 1, 3, T_QNAME, T_TYPE_A);

    t_ptr(&t_p, 12);
    off = t_rr_fixed(&t_p, T_TYPE_CNAME);
    t_u8(&t_p, 4);
    t_bytes(&t_p, "edge", 4);
    t_ptr(&t_p, (unsigned int) t_p.len + 2 + 2);
    t_rr_end(&t_p, off);

    /* "a.cdn.example", "cdn.example" at its second label */
    t_name(&t_p, "a.cdn.example");
    off = t_rr_fixed(&t_p, T_TYPE_A);
    t_bytes(&t_p, "\xc0\x00\x02\x01", 4);
    t_rr_end(&t_p, off);

    t_ptr(&t_p, 12);
    off = t_rr_fixed(&t_p, T_TYPE_A);
    t_bytes(&t_p, "\xc0\x00\x02\x02", 4);
    t_rr_end(&t_p, off);

    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_A), LC_ANS_OK);
    assert_string_equal(t_ans.cname, "edge.cdn.example");
    assert_int_equal(t_ans.naddrs, 2);
    t_addr_is(&t_ans.addrs[0], "192.0.2.1");
    t_addr_is(&t_ans.addrs[1], "192.0.2.2");

    /* a pointer past the end of the reply */

    t_header(&t_p, 0, 1, 1, T_QNAME, T_TYPE_A);
    t_ptr(&t_p, 2000);
    off = t_rr_fixed(&t_p, T_TYPE_A);
    t_bytes(&t_p, "\xc0\x00\x02\x01", 4);
    t_rr_end(&t_p, off);

    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_A), LC_ANS_ERROR);
    t_assert_empty(&t_ans);

    /* the reserved label types 01 and 10 */

    t_header(&t_p, 0, 1, 1, T_QNAME, T_TYPE_A);
    t_bytes(&t_p, "\x41" "a", 2);
    t_u8(&t_p, 0);
    off = t_rr_fixed(&t_p, T_TYPE_A);
    t_bytes(&t_p, "\xc0\x00\x02\x01", 4);
    t_rr_end(&t_p, off);

    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_A), LC_ANS_ERROR);

    t_p.buf[12 + 17 + 4] = 0x81;
    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_A), LC_ANS_ERROR);
}


static void
test_pointer_loop(void **state)
{
    size_t  off, here;

    (void) state;

    /* an owner that points at itself */

    t_header(&t_p, 0, 1, 1, T_QNAME, T_TYPE_A);
    t_ptr(&t_p, (unsigned int) t_p.len);
    off = t_rr_fixed(&t_p, T_TYPE_A);
    t_bytes(&t_p, "\xc0\x00\x02\x01", 4);
    t_rr_end(&t_p, off);

    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_A), LC_ANS_ERROR);
    t_assert_empty(&t_ans);

    /* two labels that point at each other, through the question */

    t_header(&t_p, 0, 0, 0, NULL, 0);
    t_p.buf[5] = 1;
    here = t_p.len;
    t_u8(&t_p, 1);
    t_u8(&t_p, 'a');
    t_ptr(&t_p, (unsigned int) here + 4);
    t_u8(&t_p, 1);
    t_u8(&t_p, 'b');
    t_ptr(&t_p, (unsigned int) here);
    t_u16(&t_p, T_TYPE_A);
    t_u16(&t_p, 1);

    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_A), LC_ANS_ERROR);
    t_assert_empty(&t_ans);

    /* a CNAME target that loops */

    t_header(&t_p, 0, 1, 1, T_QNAME, T_TYPE_CNAME);
    t_ptr(&t_p, 12);
    off = t_rr_fixed(&t_p, T_TYPE_CNAME);
    here = t_p.len;
    t_u8(&t_p, 1);
    t_u8(&t_p, 'x');
    t_ptr(&t_p, (unsigned int) here);
    t_rr_end(&t_p, off);

    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_CNAME), LC_ANS_ERROR);
    t_assert_empty(&t_ans);
}


static void
test_rdlength_overrun(void **state)
{
    size_t  off;

    (void) state;

    /* past the end of the reply */

    t_header(&t_p, 0, 1, 1, T_QNAME, T_TYPE_A);
    t_addr(&t_p, T_QNAME, "192.0.2.1");
    t_p.buf[t_p.len - 6] = 0x01;        /* rdlength 260 */

    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_A), LC_ANS_ERROR);
    t_assert_empty(&t_ans);

    /* of a type that is not looked at */

    t_header(&t_p, 0, 1, 2, T_QNAME, T_TYPE_A);
    t_addr(&t_p, T_QNAME, "192.0.2.1");
    off = t_rr(&t_p, T_QNAME, T_TYPE_TXT);
    t_bytes(&t_p, "\x03" "abc", 4);
    t_rr_end(&t_p, off);
    t_p.buf[off + 1] = 5;

    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_A), LC_ANS_ERROR);
    t_assert_empty(&t_ans);

    /* a CNAME target that runs past its rdlength */

    t_header(&t_p, 0, 1, 2, T_QNAME, T_TYPE_CNAME);
    t_cname(&t_p, T_QNAME, "edge.linkcert.net");
    t_p.buf[t_p.len - 19 - 1] = 5;
    t_addr(&t_p, T_QNAME, "192.0.2.1");

    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_CNAME), LC_ANS_ERROR);
    t_assert_empty(&t_ans);

    /* more records announced than present */

    t_header(&t_p, 0, 1, 3, T_QNAME, T_TYPE_A);
    t_addr(&t_p, T_QNAME, "192.0.2.1");
    t_addr(&t_p, T_QNAME, "192.0.2.2");

    assert_int_equal(t_parse(ARES_SUCCESS, LC_QTYPE_A), LC_ANS_ERROR);
    t_assert_empty(&t_ans);

    /* and questions */

    t_header(&t_p, 0, 1, 0, T_QNAME, T_TYPE_A);
    t_p.buf[5] = 2;

    assert_int_equal(t_parse(ARES_ENODATA, LC_QTYPE_A), LC_ANS_ERROR);
    t_assert_empty(&t_ans);
}


/* a reply with a bit of everything, for the truncation and fuzz tests */

static void
t_rich(t_pkt_t *p)
{
    size_t  off;

    t_header(p, 0, 1, 6, T_QNAME, T_TYPE_CAA);
    t_ptr(p, 12);
    off = t_rr_fixed(p, T_TYPE_CNAME);
    t_u8(p, 1);
    t_u8(p, 'x');
    t_ptr(p, 12 + 6);
    t_rr_end(p, off);
    t_cname(p, "x.acme.test", "edge.linkcert.net");
    t_addr(p, "edge.linkcert.net", "192.0.2.1");
    t_addr(p, "edge.linkcert.net", "2001:db8::53");
    t_caa_str(p, "edge.linkcert.net", 0, "issue", "letsencrypt.org");
    t_caa_str(p, "edge.linkcert.net", 128, "iodef", "mailto:a@b.example");
}


static void
test_truncated(void **state)
{
    int              t;
    size_t           n;
    unsigned char   *copy;
    lc_dns_answer_t  full, ans;

    static const int  statuses[] = {
        ARES_SUCCESS, ARES_ENODATA, ARES_ENOTFOUND
    };

    (void) state;

    t_rich(&t_p);

    for (t = LC_QTYPE_CNAME; t <= LC_QTYPE_CAA; t++) {
        lc_dns_answer_from_ares(ARES_SUCCESS, t_p.buf, (int) t_p.len,
                                T_QNAME, (lc_qtype_e) t, &full);
        assert_int_equal(full.status, LC_ANS_OK);
        assert_string_equal(full.cname, "x.acme.test");
        assert_int_equal(full.naddrs,
                         (t == LC_QTYPE_A || t == LC_QTYPE_AAAA) ? 1 : 0);
        assert_int_equal(full.ncaa, (t == LC_QTYPE_CAA) ? 2 : 0);

        /*
         * Every proper prefix, in a buffer of exactly that size so that
         * ASan sees a read past it: the counts announce more than there
         * is, so none is a reply.
         */

        for (n = 0; n < t_p.len; n++) {
            copy = malloc(n ? n : 1);
            assert_non_null(copy);
            memcpy(copy, t_p.buf, n);

            lc_dns_answer_from_ares(statuses[n % 3], copy, (int) n, T_QNAME,
                                    (lc_qtype_e) t, &ans);
            t_assert_sane(&ans);

            assert_int_equal(ans.status, LC_ANS_ERROR);

            free(copy);
        }
    }
}


/* random corruption must give a sane answer, never a crash */

static void
test_fuzz(void **state)
{
    int              t;
    size_t           i, k, n, pos;
    uint32_t         seed;
    unsigned char   *copy;
    lc_dns_answer_t  ans;

    (void) state;

    t_rich(&t_p);
    seed = 20260921;

    for (i = 0; i < 20000; i++) {
        n = t_p.len;
        copy = malloc(n);
        assert_non_null(copy);
        memcpy(copy, t_p.buf, n);

        /* a few bytes flipped, the header's counts included */

        for (k = 0; k < 1 + i % 4; k++) {
            seed = seed * 1103515245 + 12345;
            pos = (seed >> 8) % n;
            seed = seed * 1103515245 + 12345;
            copy[pos] = (unsigned char) (seed >> 16);
        }

        seed = seed * 1103515245 + 12345;

        if ((seed >> 20) % 4 == 0) {
            n -= (seed >> 8) % n;
        }

        t = (int) (i % 4);

        lc_dns_answer_from_ares(ARES_SUCCESS, copy, (int) n, T_QNAME,
                                (lc_qtype_e) t, &ans);
        t_assert_sane(&ans);

        free(copy);
    }
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_qtype_to_ns),
        cmocka_unit_test(test_cname),
        cmocka_unit_test(test_cname_long_target),
        cmocka_unit_test(test_cname_chain_a),
        cmocka_unit_test(test_a_aaaa),
        cmocka_unit_test(test_other_records),
        cmocka_unit_test(test_nodata),
        cmocka_unit_test(test_nxdomain),
        cmocka_unit_test(test_servfail),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_other_statuses),
        cmocka_unit_test(test_caa),
        cmocka_unit_test(test_caa_other_class),
        cmocka_unit_test(test_caa_malformed),
        cmocka_unit_test(test_compression),
        cmocka_unit_test(test_pointer_loop),
        cmocka_unit_test(test_rdlength_overrun),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_fuzz),
    };

    return cmocka_run_group_tests_name("lc_dnsmsg", tests, NULL, NULL);
}
