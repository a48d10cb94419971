/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: libFuzzer target for DNS replies (lc_dnsmsg.c), and through
 * them the verification machine and its status JSON.
 *
 * The input is a run's replies, each as a c-ares status byte, a 16-bit
 * big-endian length and that many bytes of reply (as ares_query() hands
 * them over).  A verification of LC_FUZZ_DOMAIN asks its queries; each is
 * answered by the next reply, parsed for that query's name and type, and
 * by a timeout once the input is used up.  The finished run is rendered
 * as the status JSON's "dns" object.
 *
 * Besides what the sanitizers find, a crash is a broken promise.  Of
 * lc_dnsmsg.h, for every reply: a status other than the documented
 * mapping of the c-ares status and the header's RCODE; an ERROR answer
 * carrying anything else; addresses for a query other than A or AAAA, or
 * of the other family; CAA records for another query; counts over the
 * array sizes; a cname, CAA owner, tag or value unterminated or, for tag
 * and value, not printable ASCII; a different answer for the same reply.
 * Of lc_verify.h: a query name that is not a normalised name; a run that
 * does not end.  Of the JSON: none built, a length other than the text's
 * or over the buffer, text that jansson cannot read as an object, a byte
 * that is not printable ASCII, "verified" or "error" not matching the
 * run's state.
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <ares.h>
#include <jansson.h>

#include "lc_dnsmsg.h"
#include "lc_status.h"
#include "lc_fuzz.h"


#define LC_FUZZ_DOMAIN   "links.acme.test"
#define LC_FUZZ_TARGET   "edge.linkcert.test"
#define LC_FUZZ_QUERIES  10000          /* far more than a run may ask */


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void lc_fuzz_answer(int status, const uint8_t *data, size_t size,
    const char *qname, lc_qtype_e type, lc_dns_answer_t *ans);
static void lc_fuzz_answer_check(int status, const uint8_t *data,
    size_t size, lc_qtype_e type, const lc_dns_answer_t *ans);
static void lc_fuzz_json(const lc_verify_t *v);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                      status;
    char                     name[LC_DOMAIN_MAX + 1], norm[LC_DOMAIN_MAX + 1];
    size_t                   len, n, queries;
    lc_qtype_e               type;
    lc_verify_t              v;
    lc_dns_answer_t          ans;
    static lc_verify_conf_t  conf;

    if (conf.ntargets == 0) {
        conf.ntargets = 1;
        strcpy(conf.targets[0], LC_FUZZ_TARGET);
        conf.naddrs = 2;

        if (lc_addr_parse("192.0.2.10", &conf.addrs[0]) != 0
            || lc_addr_parse("2001:db8::10", &conf.addrs[1]) != 0)
        {
            abort();
        }

        strcpy(conf.caa_identity, "letsencrypt.org");
    }

    lc_verify_init(&v, &conf, LC_FUZZ_DOMAIN);

    for (queries = 0; lc_verify_next(&v, name, &type); queries++) {

        if (queries == LC_FUZZ_QUERIES
            || strnlen(name, sizeof(name)) == sizeof(name)
            || lc_qtype_to_ns(type) < 0
            || lc_domain_normalize(name, strlen(name), norm, &len, NULL)
               != 0
            || strcmp(norm, name) != 0)
        {
            abort();
        }

        if (size < 3) {
            lc_fuzz_answer(ARES_ETIMEOUT, NULL, 0, name, type, &ans);
            size = 0;

        } else {
            status = data[0] % 32;
            n = ((size_t) data[1] << 8) | data[2];
            data += 3;
            size -= 3;

            if (n > size) {
                n = size;
            }

            lc_fuzz_answer(status, data, n, name, type, &ans);
            data += n;
            size -= n;
        }

        lc_verify_feed(&v, &ans);
    }

    if (v.state == LC_VERIFY_RUNNING) {
        abort();
    }

    lc_fuzz_json(&v);

    return 0;
}


/*
 * lc_dns_answer_from_ares() on an exact heap copy of the reply, so that
 * AddressSanitizer sees a read past it, twice with the same answer.
 */

static void
lc_fuzz_answer(int status, const uint8_t *data, size_t size,
    const char *qname, lc_qtype_e type, lc_dns_answer_t *ans)
{
    unsigned char           *copy;
    static lc_dns_answer_t   again;

    copy = (size > 0) ? lc_fuzz_copy(data, size) : NULL;

    memset(ans, 0x7f, sizeof(lc_dns_answer_t));
    lc_dns_answer_from_ares(status, copy, (int) size, qname, type, ans);
    lc_fuzz_answer_check(status, copy, size, type, ans);

    lc_dns_answer_from_ares(status, copy, (int) size, qname, type, &again);

    if (memcmp(ans, &again, sizeof(lc_dns_answer_t)) != 0) {
        abort();
    }

    free(copy);
}


static void
lc_fuzz_answer_check(int status, const uint8_t *data, size_t size,
    lc_qtype_e type, const lc_dns_answer_t *ans)
{
    int              rcode;
    size_t           i;
    lc_ans_status_e  want;

    /* the c-ares status, or a reply's RCODE */

    switch (status) {

    case ARES_SUCCESS:
    case ARES_ENODATA:
        want = LC_ANS_OK;
        break;

    case ARES_ENOTFOUND:
        want = LC_ANS_NXDOMAIN;
        break;

    case ARES_ESERVFAIL:
        want = LC_ANS_SERVFAIL;
        break;

    case ARES_EREFUSED:
        want = LC_ANS_REFUSED;
        break;

    case ARES_ETIMEOUT:
    case ARES_ECONNREFUSED:
        want = LC_ANS_TIMEOUT;
        break;

    default:
        want = LC_ANS_ERROR;
        break;
    }

    if (want == LC_ANS_OK || want == LC_ANS_NXDOMAIN) {

        if (size == 0) {
            if (status == ARES_SUCCESS) {
                want = LC_ANS_ERROR;
            }

        } else if (size < 12) {
            want = LC_ANS_ERROR;

        } else {
            rcode = data[3] & 0x0f;

            if (rcode == 2) {
                want = LC_ANS_SERVFAIL;

            } else if (rcode == 3) {
                want = LC_ANS_NXDOMAIN;

            } else if (rcode == 5) {
                want = LC_ANS_REFUSED;

            } else if (rcode != 0) {
                want = LC_ANS_ERROR;
            }
        }

        /* a malformed reply is an ERROR */

        if ((want == LC_ANS_OK || want == LC_ANS_NXDOMAIN)
            && ans->status == LC_ANS_ERROR)
        {
            want = LC_ANS_ERROR;
        }
    }

    if (ans->status != want) {
        abort();
    }

    lc_fuzz_text(ans->cname, sizeof(ans->cname), 0);
    lc_fuzz_text(ans->caa_owner, sizeof(ans->caa_owner), 0);

    if (ans->status == LC_ANS_ERROR
        && (ans->cname[0] != '\0' || ans->naddrs != 0 || ans->ncaa != 0
            || ans->caa_owner[0] != '\0'))
    {
        abort();
    }

    if (ans->naddrs > LC_VERIFY_MAX_ADDRS || ans->ncaa > LC_VERIFY_MAX_CAA) {
        abort();
    }

    if (ans->naddrs != 0 && type != LC_QTYPE_A && type != LC_QTYPE_AAAA) {
        abort();
    }

    for (i = 0; i < ans->naddrs; i++) {
        if (ans->addrs[i].family != (type == LC_QTYPE_A ? 4 : 6)) {
            abort();
        }
    }

    if (ans->ncaa != 0 && type != LC_QTYPE_CAA) {
        abort();
    }

    for (i = 0; i < ans->ncaa; i++) {
        if (ans->caa[i].critical > 1) {
            abort();
        }

        lc_fuzz_text(ans->caa[i].tag, sizeof(ans->caa[i].tag), 1);
        lc_fuzz_text(ans->caa[i].value, sizeof(ans->caa[i].value), 1);
    }
}


static void
lc_fuzz_json(const lc_verify_t *v)
{
    char          buf[LC_DNS_JSON_MAX];
    size_t        i, len;
    json_t       *obj, *verified, *error;
    json_error_t  err;

    len = lc_verify_dns_json(v, 1700000000, buf, sizeof(buf));

    if (len == 0 || len >= sizeof(buf) || strlen(buf) != len) {
        abort();
    }

    for (i = 0; i < len; i++) {
        if (buf[i] < 0x20 || buf[i] > 0x7e) {
            abort();
        }
    }

    obj = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);

    if (!json_is_object(obj)) {
        abort();
    }

    verified = json_object_get(obj, "verified");
    error = json_object_get(obj, "error");

    if (!json_is_boolean(verified) || error == NULL
        || json_is_true(verified) != (v->state == LC_VERIFY_VERIFIED)
        || json_is_null(error) == (v->state == LC_VERIFY_FAILED
                                   || v->state == LC_VERIFY_TRANSIENT))
    {
        abort();
    }

    json_decref(obj);
}
