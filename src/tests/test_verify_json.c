/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: tests of lc_verify_dns_json(), on runs of the real machine
 * and on hand-filled results.
 */


#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lc_dnsmsg.h"
#include "lc_status.h"
#include "t_json_keys.h"


#define LC_T1  1790000000               /* 2026-09-21T14:13:20Z */


/* the answer to "type name"; no row: NOERROR and nothing */
typedef struct {
    const char       *name;
    lc_qtype_e        type;
    lc_ans_status_e   status;
    const char       *cname;
    const char       *data[4];          /* addresses, or "flags tag value" */
} t_rr_t;


static lc_verify_t       t_v;
static lc_verify_conf_t  t_conf;
static char              t_buf[LC_DNS_JSON_MAX];


static void
t_answer(const t_rr_t *zone, size_t n, const char *name, lc_qtype_e type,
    lc_dns_answer_t *ans)
{
    size_t         i, k;
    lc_caa_t      *caa;
    const char    *s, *sp;
    const t_rr_t  *rr;

    memset(ans, 0, sizeof(lc_dns_answer_t));
    ans->status = LC_ANS_OK;

    for (i = 0; i < n; i++) {
        rr = &zone[i];

        if (rr->type != type || strcmp(rr->name, name) != 0) {
            continue;
        }

        ans->status = rr->status;

        if (rr->cname) {
            snprintf(ans->cname, sizeof(ans->cname), "%s", rr->cname);
        }

        for (k = 0; k < 4 && rr->data[k]; k++) {
            s = rr->data[k];

            if (type != LC_QTYPE_CAA) {
                assert_int_equal(lc_addr_parse(s,
                                               &ans->addrs[ans->naddrs]), 0);
                ans->naddrs++;
                continue;
            }

            caa = &ans->caa[ans->ncaa++];
            caa->critical = (unsigned char) (atoi(s) & 0x80);

            s = strchr(s, ' ') + 1;
            sp = strchr(s, ' ');
            memcpy(caa->tag, s, (size_t) (sp - s));
            snprintf(caa->value, sizeof(caa->value), "%s", sp + 1);
        }

        return;
    }
}


static lc_verify_state_e
t_run(const char *domain, const t_rr_t *zone, size_t n)
{
    char             name[LC_DOMAIN_MAX + 1];
    size_t           nq;
    lc_qtype_e       type;
    lc_dns_answer_t  ans;

    memset(&t_conf, 0, sizeof(lc_verify_conf_t));
    t_conf.ntargets = 1;
    snprintf(t_conf.targets[0], sizeof(t_conf.targets[0]), "%s",
             "edge.linkcert.net");
    t_conf.naddrs = 2;
    assert_int_equal(lc_addr_parse("192.0.2.1", &t_conf.addrs[0]), 0);
    assert_int_equal(lc_addr_parse("2001:db8::1", &t_conf.addrs[1]), 0);
    snprintf(t_conf.caa_identity, sizeof(t_conf.caa_identity), "%s",
             "letsencrypt.org");

    lc_verify_init(&t_v, &t_conf, domain);

    for (nq = 0; lc_verify_next(&t_v, name, &type); nq++) {
        assert_true(nq < 64);
        t_answer(zone, n, name, type, &ans);
        lc_verify_feed(&t_v, &ans);
    }

    return t_v.state;
}


#define T_RUN(domain, zone)                                                 \
    t_run(domain, zone, sizeof(zone) / sizeof(zone[0]))


/* renders t_v into t_buf and checks the length and the parse */

static json_t *
t_json(const lc_verify_t *v, size_t size)
{
    size_t        len;
    json_t       *obj;
    json_error_t  error;

    assert_true(size <= sizeof(t_buf));

    memset(t_buf, 'X', sizeof(t_buf));
    len = lc_verify_dns_json(v, LC_T1, t_buf, size);

    assert_true(len > 0);
    assert_true(len < size);
    assert_int_equal(strlen(t_buf), len);

    obj = json_loads(t_buf, 0, &error);
    assert_non_null(obj);
    assert_true(json_is_object(obj));

    return obj;
}


static void
test_verified_cname(void **state)
{
    static const t_rr_t  zone[] = {
        { "links.acme.test", LC_QTYPE_CNAME, LC_ANS_OK, "a.cdn.example",
          { NULL } },
        { "a.cdn.example", LC_QTYPE_CNAME, LC_ANS_OK, "Edge.LinkCert.net.",
          { NULL } },
        { "links.acme.test", LC_QTYPE_CAA, LC_ANS_OK, "a.cdn.example",
          { NULL } },
        { "a.cdn.example", LC_QTYPE_CAA, LC_ANS_OK, "edge.linkcert.net",
          { NULL } },
        { "edge.linkcert.net", LC_QTYPE_CAA, LC_ANS_OK, NULL,
          { "0 issue letsencrypt.org", "0 iodef mailto:ops@linkcert.net" } },
    };

    (void) state;

    assert_int_equal(T_RUN("links.acme.test", zone), LC_VERIFY_VERIFIED);

    json_decref(t_json(&t_v, sizeof(t_buf)));

    assert_string_equal(t_buf,
        "{\"verified\":true,\"checked_at\":\"2026-09-21T14:13:20Z\","
        "\"cname_chain\":[\"links.acme.test\",\"a.cdn.example\","
        "\"edge.linkcert.net\"],"
        "\"addresses\":[],"
        "\"caa\":[{\"owner\":\"edge.linkcert.net\",\"flags\":0,"
        "\"tag\":\"issue\",\"value\":\"letsencrypt.org\"},"
        "{\"owner\":\"edge.linkcert.net\",\"flags\":0,"
        "\"tag\":\"iodef\",\"value\":\"mailto:ops@linkcert.net\"}],"
        "\"error\":null}");
}


static void
test_failed_mismatch(void **state)
{
    char     keys[128];
    json_t  *obj, *err;

    static const t_rr_t  zone[] = {
        { "links.acme.test", LC_QTYPE_CNAME, LC_ANS_OK, "elsewhere.example",
          { NULL } },
    };

    (void) state;

    assert_int_equal(T_RUN("links.acme.test", zone), LC_VERIFY_FAILED);
    assert_string_equal(t_v.error.type, "dns_mismatch");

    obj = t_json(&t_v, sizeof(t_buf));

    t_json_keys(obj, keys, sizeof(keys));
    assert_string_equal(keys, "verified,checked_at,cname_chain,addresses,"
                              "caa,error");

    assert_true(json_is_false(json_object_get(obj, "verified")));

    err = json_object_get(obj, "error");
    t_json_keys(err, keys, sizeof(keys));
    assert_string_equal(keys, "type,detail");
    assert_string_equal(json_string_value(json_object_get(err, "type")),
                        "dns_mismatch");
    assert_string_equal(json_string_value(json_object_get(err, "detail")),
                        t_v.error.detail);

    json_decref(obj);

    assert_non_null(strstr(t_buf,
                           "\"cname_chain\":[\"links.acme.test\","
                           "\"elsewhere.example\"],\"addresses\":[],"
                           "\"caa\":[],\"error\":{\"type\":\"dns_mismatch\","
                           "\"detail\":\""));
}


static void
test_transient(void **state)
{
    json_t  *obj, *err;

    static const t_rr_t  zone[] = {
        { "links.acme.test", LC_QTYPE_CNAME, LC_ANS_OK, "edge.linkcert.net",
          { NULL } },
        { "links.acme.test", LC_QTYPE_CAA, LC_ANS_SERVFAIL, NULL,
          { NULL } },
    };

    (void) state;

    assert_int_equal(T_RUN("links.acme.test", zone), LC_VERIFY_TRANSIENT);

    obj = t_json(&t_v, sizeof(t_buf));

    assert_true(json_is_false(json_object_get(obj, "verified")));
    assert_int_equal(json_array_size(json_object_get(obj, "cname_chain")),
                     2);

    err = json_object_get(obj, "error");
    assert_string_equal(json_string_value(json_object_get(err, "type")),
                        "dns_servfail");
    assert_string_equal(json_string_value(json_object_get(err, "detail")),
                        t_v.error.detail);

    json_decref(obj);

    /* a run that failed at once has no chain */

    lc_verify_init(&t_v, &t_conf, "not_a_domain");
    assert_int_equal(t_v.state, LC_VERIFY_FAILED);

    obj = t_json(&t_v, sizeof(t_buf));
    assert_int_equal(json_array_size(json_object_get(obj, "cname_chain")),
                     0);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(obj, "error"),
                                          "type")),
        "invalid_domain");
    json_decref(obj);
}


static void
test_addresses(void **state)
{
    static const t_rr_t  zone[] = {
        { "links.acme.test", LC_QTYPE_A, LC_ANS_OK, NULL,
          { "192.0.2.1", NULL } },
        { "links.acme.test", LC_QTYPE_AAAA, LC_ANS_OK, NULL,
          { "2001:db8::1", NULL } },
    };

    (void) state;

    assert_int_equal(T_RUN("links.acme.test", zone), LC_VERIFY_VERIFIED);

    json_decref(t_json(&t_v, sizeof(t_buf)));

    assert_string_equal(t_buf,
        "{\"verified\":true,\"checked_at\":\"2026-09-21T14:13:20Z\","
        "\"cname_chain\":[\"links.acme.test\"],"
        "\"addresses\":[\"192.0.2.1\",\"2001:db8::1\"],"
        "\"caa\":[],\"error\":null}");

    /* an entry of an unknown family is skipped */

    t_v.addrs[0].family = 5;
    json_decref(t_json(&t_v, sizeof(t_buf)));
    assert_non_null(strstr(t_buf, "\"addresses\":[\"2001:db8::1\"],"));
}


static void
test_caa_list(void **state)
{
    char     keys[128];
    json_t  *obj, *caa;

    static const t_rr_t  zone[] = {
        { "links.acme.test", LC_QTYPE_CNAME, LC_ANS_OK, "edge.linkcert.net",
          { NULL } },
        { "links.acme.test", LC_QTYPE_CAA, LC_ANS_OK, NULL,
          { "128 issue letsencrypt.org; accounturi=https://x/1",
            "0 issuewild ;",
            "0 iodef mailto:\"sec\"@acme.test",
            "0 issue other\x01" "ca" } },
    };

    (void) state;

    assert_int_equal(T_RUN("links.acme.test", zone), LC_VERIFY_VERIFIED);
    assert_int_equal(t_v.ncaa, 4);

    obj = t_json(&t_v, sizeof(t_buf));

    caa = json_object_get(obj, "caa");
    assert_int_equal(json_array_size(caa), 4);

    t_json_keys(json_array_get(caa, 0), keys, sizeof(keys));
    assert_string_equal(keys, "owner,flags,tag,value");

    json_decref(obj);

    assert_non_null(strstr(t_buf,
        "\"caa\":["
        "{\"owner\":\"links.acme.test\",\"flags\":128,\"tag\":\"issue\","
        "\"value\":\"letsencrypt.org; accounturi=https://x/1\"},"
        "{\"owner\":\"links.acme.test\",\"flags\":0,\"tag\":\"issuewild\","
        "\"value\":\";\"},"
        "{\"owner\":\"links.acme.test\",\"flags\":0,\"tag\":\"iodef\","
        "\"value\":\"mailto:\\\"sec\\\"@acme.test\"},"
        "{\"owner\":\"links.acme.test\",\"flags\":0,\"tag\":\"issue\","
        "\"value\":\"other?ca\"}],"
        "\"error\":null}"));
}


/* a failed run with names of namelen characters (at least 5) */

static void
t_huge(lc_verify_t *v, size_t nchain, size_t namelen, size_t naddrs,
    size_t ncaa)
{
    size_t  i;

    memset(v, 0, sizeof(lc_verify_t));

    v->state = LC_VERIFY_FAILED;
    lc_error_set(&v->error, LC_ERR_DNS_MISMATCH, "%0119d", 7);

    for (i = 0; i < nchain; i++) {
        memset(v->chain[i], 'a' + (int) i, namelen);
        memcpy(v->chain[i] + namelen - 4, ".net", 5);
    }

    v->nchain = nchain;

    for (i = 0; i < naddrs; i++) {
        v->addrs[i].family = 6;
        memset(v->addrs[i].addr, 0xff, 16);
        v->addrs[i].addr[15] = (unsigned char) i;
    }

    v->naddrs = naddrs;

    snprintf(v->caa_owner, sizeof(v->caa_owner), "%s", v->chain[0]);

    for (i = 0; i < ncaa; i++) {
        v->caa[i].critical = 1;
        snprintf(v->caa[i].tag, sizeof(v->caa[i].tag), "issue%u",
                 (unsigned int) (i % 100));
        memset(v->caa[i].value, '"', LC_CAA_VALUE_LEN - 1);
    }

    v->ncaa = ncaa;
}


static void
test_truncation(void **state)
{
    char     keys[128];
    size_t   i, n;
    json_t  *obj, *chain;

    (void) state;

    /* 9 names of 250 characters: D, 8 hops */

    t_huge(&t_v, LC_VERIFY_MAX_HOPS + 1, 250, 2 * LC_VERIFY_MAX_ADDRS,
           LC_VERIFY_MAX_CAA);

    obj = t_json(&t_v, sizeof(t_buf));

    t_json_keys(obj, keys, sizeof(keys));
    assert_string_equal(keys, "verified,checked_at,cname_chain,addresses,"
                              "caa,error,truncated");
    assert_true(json_is_true(json_object_get(obj, "truncated")));

    assert_int_equal(json_array_size(json_object_get(obj, "caa")), 0);
    assert_int_equal(json_array_size(json_object_get(obj, "addresses")), 0);

    /* the first and the last stay */

    chain = json_object_get(obj, "cname_chain");
    assert_int_equal(json_array_size(chain), 2);
    assert_string_equal(json_string_value(json_array_get(chain, 0)),
                        t_v.chain[0]);
    assert_string_equal(json_string_value(json_array_get(chain, 1)),
                        t_v.chain[LC_VERIFY_MAX_HOPS]);

    /* the error is whole */
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(obj, "error"),
                                          "detail")),
        t_v.error.detail);

    json_decref(obj);

    /* shorter names: the hops after the first stay as long as they fit */

    t_huge(&t_v, LC_VERIFY_MAX_HOPS + 1, 100, 0, 0);

    obj = t_json(&t_v, sizeof(t_buf));
    assert_true(json_is_true(json_object_get(obj, "truncated")));

    chain = json_object_get(obj, "cname_chain");
    n = json_array_size(chain);
    assert_true(n > 2 && n < LC_VERIFY_MAX_HOPS + 1);

    for (i = 0; i + 1 < n; i++) {
        assert_string_equal(json_string_value(json_array_get(chain, i)),
                            t_v.chain[i]);
    }

    assert_string_equal(json_string_value(json_array_get(chain, n - 1)),
                        t_v.chain[LC_VERIFY_MAX_HOPS]);

    /* and not one fewer than fit: the next one would not */
    assert_true(strlen(t_buf) + 103 > sizeof(t_buf) - 1);

    json_decref(obj);

    /* CAA records go first, from the end; the addresses stay if they can */

    t_huge(&t_v, 2, 30, 4, LC_VERIFY_MAX_CAA);

    obj = t_json(&t_v, sizeof(t_buf));
    assert_true(json_is_true(json_object_get(obj, "truncated")));
    n = json_array_size(json_object_get(obj, "caa"));
    assert_true(n > 0 && n < LC_VERIFY_MAX_CAA);
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(obj, "caa"), n - 1), "tag")),
        (n == 1) ? "issue0" : (n == 2) ? "issue1" : "issue2");
    assert_int_equal(json_array_size(json_object_get(obj, "addresses")), 4);
    assert_int_equal(json_array_size(json_object_get(obj, "cname_chain")),
                     2);
    json_decref(obj);

    /* then the addresses */

    t_huge(&t_v, 3, 200, 2 * LC_VERIFY_MAX_ADDRS, 0);

    obj = t_json(&t_v, sizeof(t_buf));
    assert_true(json_is_true(json_object_get(obj, "truncated")));
    n = json_array_size(json_object_get(obj, "addresses"));
    assert_true(n > 0 && n < 2 * LC_VERIFY_MAX_ADDRS);
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(obj, "addresses"),
                                         0)),
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00");
    assert_int_equal(json_array_size(json_object_get(obj, "cname_chain")),
                     3);
    json_decref(obj);
}


static void
test_fit_boundary(void **state)
{
    char     full[LC_DNS_JSON_MAX];
    size_t   len, size, n;
    json_t  *obj;

    (void) state;

    t_huge(&t_v, 2, 20, 2, 1);

    len = lc_verify_dns_json(&t_v, LC_T1, full, sizeof(full));
    assert_true(len > 0);
    assert_null(strstr(full, "truncated"));

    /* exactly fits, with its NUL */
    obj = t_json(&t_v, len + 1);
    assert_string_equal(t_buf, full);
    json_decref(obj);

    /* one byte short: cut */
    obj = t_json(&t_v, len);
    assert_true(json_is_true(json_object_get(obj, "truncated")));
    assert_int_equal(json_array_size(json_object_get(obj, "caa")), 0);
    json_decref(obj);

    /* any size: valid JSON that fits, or nothing */

    t_huge(&t_v, LC_VERIFY_MAX_HOPS + 1, 250, 2 * LC_VERIFY_MAX_ADDRS,
           LC_VERIFY_MAX_CAA);

    for (size = 0; size <= sizeof(t_buf); size++) {
        memset(t_buf, 'X', sizeof(t_buf));
        n = lc_verify_dns_json(&t_v, LC_T1, t_buf, size);

        if (n == 0) {
            assert_true(size == 0 || t_buf[0] == '\0');
            continue;
        }

        assert_true(n < size);
        obj = json_loads(t_buf, 0, NULL);
        assert_non_null(obj);
        json_decref(obj);
    }

    /* the smallest that is not refused: the error's detail went */

    for (size = 1; lc_verify_dns_json(&t_v, LC_T1, t_buf, size) == 0;
         size++)
    {
        assert_true(size < sizeof(t_buf));
    }

    assert_non_null(strstr(t_buf, "\"detail\":\"\"}"));

    assert_int_equal(lc_verify_dns_json(NULL, LC_T1, t_buf, sizeof(t_buf)),
                     0);
    assert_string_equal(t_buf, "");
    assert_int_equal(lc_verify_dns_json(&t_v, LC_T1, NULL, 100), 0);
}


/* bytes lc_verify would never store still give valid JSON */

static void
test_garbage(void **state)
{
    json_t  *obj;

    (void) state;

    memset(&t_v, 0xff, sizeof(lc_verify_t));
    t_v.state = LC_VERIFY_TRANSIENT;

    obj = t_json(&t_v, sizeof(t_buf));
    assert_true(json_is_true(json_object_get(obj, "truncated")));
    json_decref(obj);

    memset(&t_v, '\\', sizeof(lc_verify_t));
    t_v.nchain = 2;
    t_v.naddrs = 0;
    t_v.ncaa = 1;
    t_v.state = LC_VERIFY_FAILED;

    obj = t_json(&t_v, sizeof(t_buf));
    json_decref(obj);
}


/* what the status API shows, once the text is in a record */

static void
test_status_record(void **state)
{
    char          *s;
    json_t        *obj, *dns;
    lc_record_t    rec;

    static const t_rr_t  zone[] = {
        { "links.acme.test", LC_QTYPE_CNAME, LC_ANS_OK, "edge.linkcert.net",
          { NULL } },
    };

    (void) state;

    assert_int_equal(T_RUN("links.acme.test", zone), LC_VERIFY_VERIFIED);

    memset(&rec, 0, sizeof(lc_record_t));
    snprintf(rec.domain, sizeof(rec.domain), "%s", "links.acme.test");
    rec.dns_len = lc_verify_dns_json(&t_v, LC_T1, rec.dns, sizeof(rec.dns));
    assert_true(rec.dns_len > 0);

    s = lc_json_dump(lc_status_full_json(&rec), NULL);
    assert_non_null(s);
    assert_non_null(strstr(s, "\"dns\":{\"verified\":true,"
                              "\"checked_at\":\"2026-09-21T14:13:20Z\","
                              "\"cname_chain\":[\"links.acme.test\","
                              "\"edge.linkcert.net\"],\"addresses\":[],"
                              "\"caa\":[],\"error\":null},"
                              "\"last_error\":null"));

    obj = json_loads(s, 0, NULL);
    assert_non_null(obj);
    dns = json_object_get(obj, "dns");
    assert_true(json_is_true(json_object_get(dns, "verified")));

    json_decref(obj);
    free(s);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_verified_cname),
        cmocka_unit_test(test_failed_mismatch),
        cmocka_unit_test(test_transient),
        cmocka_unit_test(test_addresses),
        cmocka_unit_test(test_caa_list),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_fit_boundary),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_status_record),
    };

    return cmocka_run_group_tests_name("lc_verify_dns_json", tests, NULL,
                                       NULL);
}
