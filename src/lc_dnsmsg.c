
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: a c-ares reply as an lc_dns_answer_t.
 *
 * The reply comes from the network: every length in it is checked
 * against the buffer before it is used, names are expanded by c-ares
 * (which bounds compression pointers and detects their loops), and any
 * inconsistency makes the whole answer LC_ANS_ERROR.  The walk is bounded
 * by the reply's length: each record takes at least 11 bytes.
 */


#ifndef _GNU_SOURCE
#define _GNU_SOURCE                     /* ares.h needs fd_set */
#endif

#include <string.h>
#include <ares.h>

#include "lc_ascii.h"
#include "lc_dnsmsg.h"


#define LC_DNS_HEADER_LEN  12
#define LC_DNS_RR_LEN      10           /* type, class, ttl, rdlength */

#define LC_DNS_TYPE_A      1
#define LC_DNS_TYPE_CNAME  5
#define LC_DNS_TYPE_AAAA   28
#define LC_DNS_TYPE_CAA    257

#define LC_DNS_CLASS_IN    1

#define LC_DNS_CAA_CRITICAL  0x80


static int lc_dns_parse(const unsigned char *abuf, size_t alen,
    const char *qname, lc_qtype_e type, lc_dns_answer_t *ans);
static int lc_dns_rr(const unsigned char *abuf, size_t alen, size_t *pos,
    const char *qname, lc_qtype_e type, lc_dns_answer_t *ans);
static int lc_dns_cname(const unsigned char *abuf, size_t alen, size_t pos,
    size_t rdlen, lc_dns_answer_t *ans);
static int lc_dns_caa(const unsigned char *rdata, size_t rdlen,
    lc_dns_answer_t *ans);
static int lc_dns_name(const unsigned char *abuf, size_t alen, size_t pos,
    char **name, size_t *enclen);
static int lc_dns_name_eq(const char *a, const char *b);
static void lc_dns_text_copy(char *dst, size_t size,
    const unsigned char *src, size_t n);
static unsigned int lc_dns_u16(const unsigned char *p);


void
lc_dns_answer_from_ares(int status, const unsigned char *abuf, int alen,
    const char *qname, lc_qtype_e type, lc_dns_answer_t *ans)
{
    memset(ans, 0, sizeof(lc_dns_answer_t));

    switch (status) {

    case ARES_SUCCESS:
    case ARES_ENODATA:
        ans->status = LC_ANS_OK;
        break;

    case ARES_ENOTFOUND:
        ans->status = LC_ANS_NXDOMAIN;
        break;

    case ARES_ESERVFAIL:
        ans->status = LC_ANS_SERVFAIL;
        return;

    case ARES_EREFUSED:
        ans->status = LC_ANS_REFUSED;
        return;

    case ARES_ETIMEOUT:
    case ARES_ECONNREFUSED:
        ans->status = LC_ANS_TIMEOUT;
        return;

    default:
        ans->status = LC_ANS_ERROR;
        return;
    }

    if (abuf == NULL || alen <= 0) {
        /* the negative statuses stand alone; a success must show a reply */

        if (status == ARES_SUCCESS) {
            ans->status = LC_ANS_ERROR;
        }

        return;
    }

    if (lc_dns_parse(abuf, (size_t) alen, qname, type, ans) != 0) {
        /* nothing from a malformed reply is to be trusted */
        memset(ans, 0, sizeof(lc_dns_answer_t));
        ans->status = LC_ANS_ERROR;
    }
}


int
lc_qtype_to_ns(lc_qtype_e type)
{
    switch (type) {

    case LC_QTYPE_CNAME:
        return LC_DNS_TYPE_CNAME;

    case LC_QTYPE_A:
        return LC_DNS_TYPE_A;

    case LC_QTYPE_AAAA:
        return LC_DNS_TYPE_AAAA;

    case LC_QTYPE_CAA:
        return LC_DNS_TYPE_CAA;

    default:
        return -1;
    }
}


/* 0, or -1 for a malformed reply */

static int
lc_dns_parse(const unsigned char *abuf, size_t alen, const char *qname,
    lc_qtype_e type, lc_dns_answer_t *ans)
{
    char          *name;
    size_t         pos, enclen;
    unsigned int   i, qdcount, ancount;

    if (alen < LC_DNS_HEADER_LEN) {
        return -1;
    }

    /*
     * With ARES_FLAG_NOCHECKRESP, c-ares hands over SERVFAIL and REFUSED
     * replies as they are: the header has the last word.
     */

    switch (abuf[3] & 0x0f) {

    case 0:
        break;

    case 2:
        ans->status = LC_ANS_SERVFAIL;
        return 0;

    case 3:
        /* an NXDOMAIN may still show the CNAME that led to it */
        ans->status = LC_ANS_NXDOMAIN;
        break;

    case 5:
        ans->status = LC_ANS_REFUSED;
        return 0;

    default:
        ans->status = LC_ANS_ERROR;
        return 0;
    }

    qdcount = lc_dns_u16(abuf + 4);
    ancount = lc_dns_u16(abuf + 6);

    pos = LC_DNS_HEADER_LEN;

    for (i = 0; i < qdcount; i++) {
        if (lc_dns_name(abuf, alen, pos, &name, &enclen) != 0) {
            return -1;
        }

        ares_free_string(name);
        pos += enclen;

        /* qtype, qclass */

        if (alen - pos < 4) {
            return -1;
        }

        pos += 4;
    }

    for (i = 0; i < ancount; i++) {
        if (lc_dns_rr(abuf, alen, &pos, qname, type, ans) != 0) {
            return -1;
        }
    }

    /* the authority and additional sections tell nothing more */

    return 0;
}


/* one answer record at *pos, which is moved past it */

static int
lc_dns_rr(const unsigned char *abuf, size_t alen, size_t *pos,
    const char *qname, lc_qtype_e type, lc_dns_answer_t *ans)
{
    int                   owned;
    char                 *owner;
    size_t                p, enclen, rdlen;
    lc_addr_t            *a;
    unsigned int          rtype, rclass;
    const unsigned char  *rdata;

    p = *pos;

    if (lc_dns_name(abuf, alen, p, &owner, &enclen) != 0) {
        return -1;
    }

    owned = (qname != NULL && lc_dns_name_eq(owner, qname));

    p += enclen;

    if (alen - p < LC_DNS_RR_LEN) {
        ares_free_string(owner);
        return -1;
    }

    rtype = lc_dns_u16(abuf + p);
    rclass = lc_dns_u16(abuf + p + 2);

    /* where the CAA set was found: a resolver may have followed a CNAME */

    if (rtype == LC_DNS_TYPE_CAA && type == LC_QTYPE_CAA
        && rclass == LC_DNS_CLASS_IN
        && ans->caa_owner[0] == '\0' && strlen(owner) <= LC_DOMAIN_MAX)
    {
        memcpy(ans->caa_owner, owner, strlen(owner) + 1);
    }

    ares_free_string(owner);

    rdlen = lc_dns_u16(abuf + p + 8);

    p += LC_DNS_RR_LEN;

    if (rdlen > alen - p) {
        return -1;
    }

    rdata = abuf + p;
    *pos = p + rdlen;

    if (rclass != LC_DNS_CLASS_IN) {
        return 0;
    }

    switch (rtype) {

    case LC_DNS_TYPE_CNAME:
        /* the first hop is enough: the machine asks for the next one */

        if (owned && ans->cname[0] == '\0') {
            return lc_dns_cname(abuf, alen, p, rdlen, ans);
        }

        return 0;

    case LC_DNS_TYPE_A:
        if (type != LC_QTYPE_A) {
            return 0;
        }

        if (rdlen != 4) {
            return -1;
        }

        if (ans->naddrs < LC_VERIFY_MAX_ADDRS) {
            a = &ans->addrs[ans->naddrs++];
            a->family = 4;
            memcpy(a->addr, rdata, 4);
        }

        return 0;

    case LC_DNS_TYPE_AAAA:
        if (type != LC_QTYPE_AAAA) {
            return 0;
        }

        if (rdlen != 16) {
            return -1;
        }

        if (ans->naddrs < LC_VERIFY_MAX_ADDRS) {
            a = &ans->addrs[ans->naddrs++];
            a->family = 6;
            memcpy(a->addr, rdata, 16);
        }

        return 0;

    case LC_DNS_TYPE_CAA:
        if (type != LC_QTYPE_CAA) {
            return 0;
        }

        return lc_dns_caa(rdata, rdlen, ans);

    default:
        return 0;
    }
}


/* the CNAME target at pos, rdlen bytes of rdata */

static int
lc_dns_cname(const unsigned char *abuf, size_t alen, size_t pos,
    size_t rdlen, lc_dns_answer_t *ans)
{
    char    *target;
    size_t   enclen, len;

    if (lc_dns_name(abuf, alen, pos, &target, &enclen) != 0) {
        return -1;
    }

    len = strlen(target);

    /*
     * A target that overruns its rdata, the root, or one longer than a
     * name can be (a wire name has at most 255 bytes) is malformed: cut
     * short, it could become a different, valid name.
     */

    if (enclen > rdlen || len == 0 || len > LC_DOMAIN_MAX) {
        ares_free_string(target);
        return -1;
    }

    memcpy(ans->cname, target, len + 1);
    ares_free_string(target);

    return 0;
}


/* RFC 8659 4.1: flags, tag length, tag, value (the rest of the rdata) */

static int
lc_dns_caa(const unsigned char *rdata, size_t rdlen, lc_dns_answer_t *ans)
{
    size_t     taglen;
    lc_caa_t  *caa;

    if (rdlen < 2) {
        return -1;
    }

    taglen = rdata[1];

    if (taglen == 0 || taglen > rdlen - 2) {
        return -1;
    }

    if (ans->ncaa == LC_VERIFY_MAX_CAA) {
        return 0;
    }

    caa = &ans->caa[ans->ncaa++];

    caa->critical = (rdata[0] & LC_DNS_CAA_CRITICAL) ? 1 : 0;
    lc_dns_text_copy(caa->tag, sizeof(caa->tag), rdata + 2, taglen);
    lc_dns_text_copy(caa->value, sizeof(caa->value), rdata + 2 + taglen,
                     rdlen - 2 - taglen);

    return 0;
}


/*
 * The name at pos, expanded by c-ares into *name (ares_free_string()),
 * and the bytes it takes at pos into *enclen.
 */

static int
lc_dns_name(const unsigned char *abuf, size_t alen, size_t pos, char **name,
    size_t *enclen)
{
    long  n;

    if (pos >= alen) {
        return -1;
    }

    *name = NULL;

    if (ares_expand_name(abuf + pos, abuf, (int) alen, name, &n)
        != ARES_SUCCESS)
    {
        return -1;
    }

    if (n <= 0 || (size_t) n > alen - pos) {
        ares_free_string(*name);
        return -1;
    }

    *enclen = (size_t) n;

    return 0;
}


/* ASCII case-insensitive, a trailing dot on either side ignored */

static int
lc_dns_name_eq(const char *a, const char *b)
{
    size_t  alen, blen;

    alen = strlen(a);
    blen = strlen(b);

    if (alen > 0 && a[alen - 1] == '.') {
        alen--;
    }

    if (blen > 0 && b[blen - 1] == '.') {
        blen--;
    }

    return alen == blen && lc_ascii_caseeqn(a, b, alen);
}


/* at most size - 1 of the n bytes, as printable ASCII, and a NUL */

static void
lc_dns_text_copy(char *dst, size_t size, const unsigned char *src, size_t n)
{
    size_t  i;

    if (n > size - 1) {
        n = size - 1;
    }

    for (i = 0; i < n; i++) {
        dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? (char) src[i] : '?';
    }

    dst[n] = '\0';
}


static unsigned int
lc_dns_u16(const unsigned char *p)
{
    return ((unsigned int) p[0] << 8) | p[1];
}
