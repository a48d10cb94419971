/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: unit tests of lc_verify, driven by a fake zone.
 */


#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lc_verify.h"


#define T_MAX_QUERIES  64
#define T_QUERY_LEN    (LC_DOMAIN_MAX + 8)


/*
 * One row of the fake zone: the answer to "type name".  A query with no
 * row gets NOERROR and nothing, except that a CAA query for a name with a
 * CNAME row gets that CNAME, as from an authoritative server.
 */
typedef struct {
    const char       *name;
    lc_qtype_e        type;
    lc_ans_status_e   status;
    const char       *cname;
    const char       *data[8];          /* addresses, or "flags tag value" */
} t_rr_t;

typedef struct {
    size_t  nq;
    char    q[T_MAX_QUERIES][T_QUERY_LEN];
} t_log_t;


static lc_verify_t  t_v;
static t_log_t      t_log;


static void
t_conf(lc_verify_conf_t *conf, const char *targets, const char *addrs)
{
    char    buf[1024], *p, *save;
    size_t  len;

    memset(conf, 0, sizeof(lc_verify_conf_t));

    snprintf(buf, sizeof(buf), "%s", targets);

    for (p = strtok_r(buf, " ", &save); p; p = strtok_r(NULL, " ", &save)) {
        assert_int_equal(lc_domain_normalize(p, strlen(p),
                             conf->targets[conf->ntargets], &len, NULL), 0);
        conf->ntargets++;
    }

    snprintf(buf, sizeof(buf), "%s", addrs);

    for (p = strtok_r(buf, " ", &save); p; p = strtok_r(NULL, " ", &save)) {
        assert_int_equal(lc_addr_parse(p, &conf->addrs[conf->naddrs]), 0);
        conf->naddrs++;
    }

    snprintf(conf->caa_identity, sizeof(conf->caa_identity), "%s",
             "letsencrypt.org");
}


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

    rr = NULL;

    for (i = 0; i < n; i++) {
        if (zone[i].type == type && strcmp(zone[i].name, name) == 0) {
            rr = &zone[i];
            break;
        }
    }

    if (rr == NULL) {
        if (type != LC_QTYPE_CAA) {
            return;
        }

        for (i = 0; i < n; i++) {
            if (zone[i].type == LC_QTYPE_CNAME
                && zone[i].status == LC_ANS_OK
                && strcmp(zone[i].name, name) == 0)
            {
                snprintf(ans->cname, sizeof(ans->cname), "%s",
                         zone[i].cname);
            }
        }

        return;
    }

    ans->status = rr->status;

    if (rr->cname) {
        snprintf(ans->cname, sizeof(ans->cname), "%s", rr->cname);
    }

    for (k = 0; k < 8 && rr->data[k]; k++) {
        s = rr->data[k];

        if (type == LC_QTYPE_A || type == LC_QTYPE_AAAA) {
            assert_int_equal(lc_addr_parse(s, &ans->addrs[ans->naddrs]), 0);
            ans->naddrs++;
            continue;
        }

        caa = &ans->caa[ans->ncaa++];
        caa->critical = (unsigned char) atoi(s);

        s = strchr(s, ' ') + 1;
        sp = strchr(s, ' ');
        memcpy(caa->tag, s, (size_t) (sp - s));
        snprintf(caa->value, sizeof(caa->value), "%s", sp + 1);
    }
}


/* runs the machine over the zone, logging "TYPE name" per query */

static lc_verify_state_e
t_run(const lc_verify_conf_t *conf, const char *domain, const t_rr_t *zone,
    size_t n)
{
    char             name[LC_DOMAIN_MAX + 1], again[LC_DOMAIN_MAX + 1];
    lc_qtype_e       type, type2;
    lc_dns_answer_t  ans;

    memset(&t_log, 0, sizeof(t_log_t));
    lc_verify_init(&t_v, conf, domain);

    while (lc_verify_next(&t_v, name, &type)) {
        assert_true(t_log.nq < T_MAX_QUERIES);

        /* the same query until it is answered */
        assert_int_equal(lc_verify_next(&t_v, again, &type2), 1);
        assert_string_equal(again, name);
        assert_int_equal(type2, type);

        /* a single-label name is never queried */
        assert_non_null(strchr(name, '.'));

        snprintf(t_log.q[t_log.nq++], T_QUERY_LEN, "%s %s",
                 lc_qtype_name(type), name);

        t_answer(zone, n, name, type, &ans);
        lc_verify_feed(&t_v, &ans);
    }

    assert_int_not_equal(t_v.state, LC_VERIFY_RUNNING);
    assert_int_equal(lc_verify_next(&t_v, name, &type), 0);

    if (t_v.state == LC_VERIFY_VERIFIED) {
        assert_string_equal(t_v.error.type, "");

    } else {
        assert_true(strlen(t_v.error.type) > 0);
        assert_true(strlen(t_v.error.detail) > 0);
        assert_true(strlen(t_v.error.detail) < LC_ERROR_DETAIL_LEN);
    }

    return t_v.state;
}


/* the exact sequence of queries, NULL-terminated */

static void
t_queries(const char *first, ...)
{
    size_t       i;
    va_list      args;
    const char  *q;

    va_start(args, first);

    for (i = 0, q = first; q != NULL; i++, q = va_arg(args, const char *)) {
        if (i >= t_log.nq) {
            fail_msg("query %zu: expected \"%s\", got none", i, q);
        }

        assert_string_equal(t_log.q[i], q);
    }

    va_end(args);

    assert_int_equal(t_log.nq, i);
}


static int
t_queried(const char *q)
{
    size_t  i;

    for (i = 0; i < t_log.nq; i++) {
        if (strcmp(t_log.q[i], q) == 0) {
            return 1;
        }
    }

    return 0;
}


static void
t_addr_is(const lc_addr_t *a, const char *text)
{
    char  buf[LC_ADDR_STRLEN];

    assert_int_equal(lc_addr_format(a, buf, sizeof(buf)), 0);
    assert_string_equal(buf, text);
}


#define T_RUN(conf, domain, zone)                                           \
    t_run(conf, domain, zone, sizeof(zone) / sizeof(zone[0]))

#define T_NOZONE  ((const t_rr_t *) NULL), 0


/* rule 1 */

static void
test_cname_to_target(void **state)
{
    lc_verify_conf_t  conf;

    static const t_rr_t  zone[] = {
        { "links.acme.com", LC_QTYPE_CNAME, LC_ANS_OK, "edge.crm.example",
          { NULL } },
    };

    (void) state;

    t_conf(&conf, "edge.crm.example", "127.0.0.1");

    assert_int_equal(T_RUN(&conf, "links.acme.com", zone),
                     LC_VERIFY_VERIFIED);
    assert_int_equal(t_v.via, LC_VERIFY_VIA_CNAME);

    assert_int_equal(t_v.nchain, 2);
    assert_string_equal(t_v.chain[0], "links.acme.com");
    assert_string_equal(t_v.chain[1], "edge.crm.example");
    assert_int_equal(t_v.naddrs, 0);
    assert_int_equal(t_v.ncaa, 0);
    assert_string_equal(t_v.caa_owner, "");

    /* CAA of D follows D's CNAME, then climbs from D */
    t_queries("CNAME links.acme.com",
              "CAA links.acme.com",
              "CAA edge.crm.example",
              "CAA acme.com",
              NULL);
}


static void
test_cname_chain_of_three(void **state)
{
    lc_verify_conf_t  conf;

    static const t_rr_t  zone[] = {
        { "links.acme.com", LC_QTYPE_CNAME, LC_ANS_OK, "a.example",
          { NULL } },
        { "a.example", LC_QTYPE_CNAME, LC_ANS_OK, "b.example", { NULL } },
        { "b.example", LC_QTYPE_CNAME, LC_ANS_OK, "edge.crm.example",
          { NULL } },
        { "edge.crm.example", LC_QTYPE_CNAME, LC_ANS_OK, "never.example",
          { NULL } },
    };

    (void) state;

    t_conf(&conf, "edge.crm.example", "");

    assert_int_equal(T_RUN(&conf, "links.acme.com", zone),
                     LC_VERIFY_VERIFIED);

    assert_int_equal(t_v.nchain, 4);
    assert_string_equal(t_v.chain[1], "a.example");
    assert_string_equal(t_v.chain[2], "b.example");
    assert_string_equal(t_v.chain[3], "edge.crm.example");

    /* no query past the target */
    assert_string_equal(t_log.q[0], "CNAME links.acme.com");
    assert_string_equal(t_log.q[1], "CNAME a.example");
    assert_string_equal(t_log.q[2], "CNAME b.example");
    assert_string_equal(t_log.q[3], "CAA links.acme.com");
    assert_false(t_queried("CNAME edge.crm.example"));
}


static void
test_cname_any_target(void **state)
{
    lc_verify_conf_t  conf;

    static const t_rr_t  zone[] = {
        { "links.acme.com", LC_QTYPE_CNAME, LC_ANS_OK, "a.example",
          { NULL } },
        { "a.example", LC_QTYPE_CNAME, LC_ANS_OK, "edge2.crm.example",
          { NULL } },
    };

    (void) state;

    t_conf(&conf, "edge.crm.example edge2.crm.example", "");

    assert_int_equal(T_RUN(&conf, "links.acme.com", zone),
                     LC_VERIFY_VERIFIED);
    assert_int_equal(t_v.nchain, 3);
}


static void
test_cname_elsewhere(void **state)
{
    lc_verify_conf_t  conf;

    static const t_rr_t  zone[] = {
        { "links.acme.com", LC_QTYPE_CNAME, LC_ANS_OK, "other.example",
          { NULL } },
        { "other.example", LC_QTYPE_A, LC_ANS_OK, NULL, { "127.0.0.1" } },
    };

    (void) state;

    t_conf(&conf, "edge.crm.example", "127.0.0.1");

    assert_int_equal(T_RUN(&conf, "links.acme.com", zone),
                     LC_VERIFY_FAILED);
    assert_string_equal(t_v.error.type, "dns_mismatch");
    assert_string_equal(t_v.error.detail,
                        "links.acme.com is a CNAME to other.example;"
                        " expected edge.crm.example");
    assert_int_equal(t_v.via, LC_VERIFY_VIA_NONE);
    assert_int_equal(t_v.nchain, 2);

    /* rule 2 is for D without a CNAME only: no A query */
    t_queries("CNAME links.acme.com", "CNAME other.example", NULL);
}


static void
test_cname_elsewhere_via(void **state)
{
    lc_verify_conf_t  conf;

    static const t_rr_t  zone[] = {
        { "links.acme.com", LC_QTYPE_CNAME, LC_ANS_OK, "a.example",
          { NULL } },
        { "a.example", LC_QTYPE_CNAME, LC_ANS_OK, "b.example", { NULL } },
        { "b.example", LC_QTYPE_CNAME, LC_ANS_NXDOMAIN, NULL, { NULL } },
    };

    (void) state;

    t_conf(&conf, "edge.crm.example edge2.crm.example", "");

    assert_int_equal(T_RUN(&conf, "links.acme.com", zone),
                     LC_VERIFY_FAILED);
    assert_string_equal(t_v.error.type, "dns_mismatch");
    assert_string_equal(t_v.error.detail,
                        "links.acme.com is a CNAME to a.example, which leads"
                        " to b.example; expected edge.crm.example or"
                        " edge2.crm.example");
    assert_int_equal(t_v.nchain, 3);
}


static void
test_cname_normalised(void **state)
{
    lc_verify_conf_t  conf;

    static const t_rr_t  zone[] = {
        { "links.acme.com", LC_QTYPE_CNAME, LC_ANS_OK, "A.Example.",
          { NULL } },
        { "a.example", LC_QTYPE_CNAME, LC_ANS_OK, "EDGE.CRM.Example.",
          { NULL } },
    };

    (void) state;

    /* the domain, too, is taken whatever its case */
    t_conf(&conf, "Edge.Crm.Example.", "");

    assert_string_equal(conf.targets[0], "edge.crm.example");

    assert_int_equal(T_RUN(&conf, "Links.ACME.com.", zone),
                     LC_VERIFY_VERIFIED);
    assert_string_equal(t_v.domain, "links.acme.com");
    assert_int_equal(t_v.nchain, 3);
    assert_string_equal(t_v.chain[1], "a.example");
    assert_string_equal(t_v.chain[2], "edge.crm.example");
    assert_string_equal(t_log.q[1], "CNAME a.example");
}


static void
test_cname_invalid(void **state)
{
    lc_verify_conf_t  conf;

    static const t_rr_t  zone[] = {
        { "links.acme.com", LC_QTYPE_CNAME, LC_ANS_OK, "bad_name.example",
          { NULL } },
        { "x.acme.com", LC_QTYPE_CNAME, LC_ANS_OK, "a.example", { NULL } },
        { "a.example", LC_QTYPE_CNAME, LC_ANS_OK, "localhost", { NULL } },
    };

    (void) state;

    t_conf(&conf, "edge.crm.example", "");

    assert_int_equal(T_RUN(&conf, "links.acme.com", zone),
                     LC_VERIFY_FAILED);
    assert_string_equal(t_v.error.type, "dns_mismatch");
    assert_string_equal(t_v.error.detail,
                        "links.acme.com is a CNAME to an invalid name"
                        " (invalid character); expected edge.crm.example");
    assert_int_equal(t_v.nchain, 1);

    assert_int_equal(T_RUN(&conf, "x.acme.com", zone), LC_VERIFY_FAILED);
    assert_string_equal(t_v.error.type, "dns_mismatch");
    assert_string_equal(t_v.error.detail,
                        "x.acme.com leads to a.example, a CNAME to an invalid"
                        " name (single-label name); expected"
                        " edge.crm.example");
}


static void
test_cname_loop(void **state)
{
    lc_verify_conf_t  conf;

    static const t_rr_t  zone[] = {
        { "a.test", LC_QTYPE_CNAME, LC_ANS_OK, "b.test", { NULL } },
        { "b.test", LC_QTYPE_CNAME, LC_ANS_OK, "A.test.", { NULL } },
        { "self.test", LC_QTYPE_CNAME, LC_ANS_OK, "self.test", { NULL } },
    };

    (void) state;

    t_conf(&conf, "edge.crm.example", "127.0.0.1");

    assert_int_equal(T_RUN(&conf, "a.test", zone), LC_VERIFY_FAILED);
    assert_string_equal(t_v.error.type, "dns_mismatch");
    assert_string_equal(t_v.error.detail,
                        "CNAME loop: a.test -> b.test -> a.test");
    t_queries("CNAME a.test", "CNAME b.test", NULL);

    assert_int_equal(T_RUN(&conf, "self.test", zone), LC_VERIFY_FAILED);
    assert_string_equal(t_v.error.detail,
                        "CNAME loop: self.test -> self.test");
}


static void
test_cname_hops(void **state)
{
    lc_verify_conf_t  conf;

    /* 9 hops: links -> h1 -> ... -> h9 */
    static const t_rr_t  zone[] = {
        { "links.acme.com", LC_QTYPE_CNAME, LC_ANS_OK, "h1.example",
          { NULL } },
        { "h1.example", LC_QTYPE_CNAME, LC_ANS_OK, "h2.example", { NULL } },
        { "h2.example", LC_QTYPE_CNAME, LC_ANS_OK, "h3.example", { NULL } },
        { "h3.example", LC_QTYPE_CNAME, LC_ANS_OK, "h4.example", { NULL } },
        { "h4.example", LC_QTYPE_CNAME, LC_ANS_OK, "h5.example", { NULL } },
        { "h5.example", LC_QTYPE_CNAME, LC_ANS_OK, "h6.example", { NULL } },
        { "h6.example", LC_QTYPE_CNAME, LC_ANS_OK, "h7.example", { NULL } },
        { "h7.example", LC_QTYPE_CNAME, LC_ANS_OK, "h8.example", { NULL } },
        { "h8.example", LC_QTYPE_CNAME, LC_ANS_OK, "h9.example", { NULL } },
    };

    (void) state;

    t_conf(&conf, "edge.crm.example", "");

    assert_int_equal(T_RUN(&conf, "links.acme.com", zone),
                     LC_VERIFY_FAILED);
    assert_string_equal(t_v.error.type, "dns_mismatch");
    assert_string_equal(t_v.error.detail,
                        "CNAME chain longer than 8 hops, starting at"
                        " links.acme.com");
    assert_int_equal(t_v.nchain, LC_VERIFY_MAX_HOPS + 1);
    assert_string_equal(t_v.chain[8], "h8.example");
    assert_int_equal(t_log.nq, 9);

    /* the 9th hop would be a target: still too long */
    t_conf(&conf, "h9.example", "");
    assert_int_equal(T_RUN(&conf, "links.acme.com", zone),
                     LC_VERIFY_FAILED);
    assert_string_equal(t_v.error.type, "dns_mismatch");

    /* the 8th hop is a target: verified */
    t_conf(&conf, "h8.example", "");
    assert_int_equal(T_RUN(&conf, "links.acme.com", zone),
                     LC_VERIFY_VERIFIED);
    assert_int_equal(t_v.nchain, 9);
}


/* rule 2 */

static void
test_apex_matching_a(void **state)
{
    lc_verify_conf_t  conf;

    static const t_rr_t  zone[] = {
        { "acme.com", LC_QTYPE_A, LC_ANS_OK, NULL,
          { "127.0.0.1", "127.0.0.2" } },
    };

    (void) state;

    t_conf(&conf, "edge.crm.example", "127.0.0.2 127.0.0.1");

    assert_int_equal(T_RUN(&conf, "acme.com", zone), LC_VERIFY_VERIFIED);
    assert_int_equal(t_v.via, LC_VERIFY_VIA_ADDRS);
    assert_int_equal(t_v.nchain, 1);
    assert_int_equal(t_v.naddrs, 2);
    t_addr_is(&t_v.addrs[0], "127.0.0.1");
    t_addr_is(&t_v.addrs[1], "127.0.0.2");

    t_queries("CNAME acme.com", "A acme.com", "AAAA acme.com",
              "CAA acme.com", NULL);
}


static void
test_a_match_aaaa_foreign(void **state)
{
    lc_verify_conf_t  conf;

    static const t_rr_t  zone[] = {
        { "links.acme.com", LC_QTYPE_A, LC_ANS_OK, NULL, { "127.0.0.1" } },
        { "links.acme.com", LC_QTYPE_AAAA, LC_ANS_OK, NULL,
          { "2001:db8::7" } },
    };

    (void) state;

    t_conf(&conf, "edge.crm.example", "127.0.0.1");

    assert_int_equal(T_RUN(&conf, "links.acme.com", zone),
                     LC_VERIFY_FAILED);
    assert_string_equal(t_v.error.type, "dns_mismatch");
    assert_string_equal(t_v.error.detail,
                        "links.acme.com has address 2001:db8::7; expected a"
                        " CNAME to edge.crm.example, or"
                        " 127.0.0.1");
    assert_int_equal(t_v.naddrs, 2);
    t_addr_is(&t_v.addrs[1], "2001:db8::7");

    t_queries("CNAME links.acme.com", "A links.acme.com",
              "AAAA links.acme.com", NULL);
}


static void
test_a_foreign(void **state)
{
    lc_verify_conf_t  conf;

    static const t_rr_t  zone[] = {
        { "links.acme.com", LC_QTYPE_A, LC_ANS_OK, NULL, { "192.0.2.7" } },
    };

    (void) state;

    t_conf(&conf, "edge.crm.example", "127.0.0.1");

    assert_int_equal(T_RUN(&conf, "links.acme.com", zone),
                     LC_VERIFY_FAILED);
    assert_string_equal(t_v.error.detail,
                        "links.acme.com has address 192.0.2.7; expected a"
                        " CNAME to edge.crm.example, or"
                        " 127.0.0.1");

    /* no addresses configured: only a CNAME can do */
    t_conf(&conf, "edge.crm.example", "");

    assert_int_equal(T_RUN(&conf, "links.acme.com", zone),
                     LC_VERIFY_FAILED);
    assert_string_equal(t_v.error.type, "dns_mismatch");
    assert_string_equal(t_v.error.detail,
                        "links.acme.com has address 192.0.2.7; expected a"
                        " CNAME to edge.crm.example");
}


static void
test_ipv6_only(void **state)
{
    lc_verify_conf_t  conf;

    static const t_rr_t  zone[] = {
        { "links.acme.com", LC_QTYPE_AAAA, LC_ANS_OK, NULL,
          { "2001:db8::1" } },
    };

    (void) state;

    t_conf(&conf, "edge.crm.example", "127.0.0.1 2001:DB8:0::1");

    assert_int_equal(T_RUN(&conf, "links.acme.com", zone),
                     LC_VERIFY_VERIFIED);
    assert_int_equal(t_v.via, LC_VERIFY_VIA_ADDRS);
    assert_int_equal(t_v.naddrs, 1);
    t_addr_is(&t_v.addrs[0], "2001:db8::1");
}


static void
test_nxdomain(void **state)
{
    lc_verify_conf_t  conf;

    static const t_rr_t  zone[] = {
        { "links.acme.com", LC_QTYPE_CNAME, LC_ANS_NXDOMAIN, NULL,
          { NULL } },
    };

    (void) state;

    t_conf(&conf, "edge.crm.example", "127.0.0.1");

    assert_int_equal(T_RUN(&conf, "links.acme.com", zone),
                     LC_VERIFY_FAILED);
    assert_string_equal(t_v.error.type, "dns_missing");
    assert_string_equal(t_v.error.detail,
                        "links.acme.com does not exist in DNS (NXDOMAIN)");
    t_queries("CNAME links.acme.com", NULL);
}


static void
test_empty(void **state)
{
    lc_verify_conf_t  conf;

    (void) state;

    t_conf(&conf, "edge.crm.example", "127.0.0.1");

    assert_int_equal(t_run(&conf, "links.acme.com", T_NOZONE),
                     LC_VERIFY_FAILED);
    assert_string_equal(t_v.error.type, "dns_missing");
    assert_string_equal(t_v.error.detail,
                        "links.acme.com has no CNAME, A or AAAA record;"
                        " expected a CNAME to edge.crm.example");
    t_queries("CNAME links.acme.com", "A links.acme.com",
              "AAAA links.acme.com", NULL);
}


static void
test_cname_appears(void **state)
{
    lc_verify_conf_t  conf;

    static const t_rr_t  zone[] = {
        { "links.acme.com", LC_QTYPE_A, LC_ANS_OK, "edge.crm.example",
          { "127.0.0.1" } },
    };

    (void) state;

    t_conf(&conf, "edge.crm.example", "127.0.0.1");

    assert_int_equal(T_RUN(&conf, "links.acme.com", zone),
                     LC_VERIFY_TRANSIENT);
    assert_string_equal(t_v.error.type, "dns_error");
}


/* CAA */

static void
test_caa_allows(void **state)
{
    lc_verify_conf_t  conf;

    static const t_rr_t  zone[] = {
        { "links.acme.com", LC_QTYPE_CNAME, LC_ANS_OK, "edge.crm.example",
          { NULL } },
        { "links.acme.com", LC_QTYPE_CAA, LC_ANS_OK, NULL,
          { "0 iodef mailto:sec@acme.com", "0 issue digicert.com",
            "0 issue letsencrypt.org" } },
        { "acme.com", LC_QTYPE_CAA, LC_ANS_OK, NULL,
          { "0 issue ;" } },
    };

    (void) state;

    t_conf(&conf, "edge.crm.example", "");

    assert_int_equal(T_RUN(&conf, "links.acme.com", zone),
                     LC_VERIFY_VERIFIED);
    assert_string_equal(t_v.caa_owner, "links.acme.com");
    assert_int_equal(t_v.ncaa, 3);
    assert_string_equal(t_v.caa[0].tag, "iodef");
    assert_string_equal(t_v.caa[0].value, "mailto:sec@acme.com");
    assert_string_equal(t_v.caa[2].value, "letsencrypt.org");

    /* the first set found is the relevant one: no climbing */
    t_queries("CNAME links.acme.com", "CAA links.acme.com", NULL);
}


static void
test_caa_forbids(void **state)
{
    lc_verify_conf_t  conf;

    static const t_rr_t  zone[] = {
        { "links.acme.com", LC_QTYPE_CNAME, LC_ANS_OK, "edge.crm.example",
          { NULL } },
        { "links.acme.com", LC_QTYPE_CAA, LC_ANS_OK, NULL,
          { "0 issue digicert.com", "0 issuewild letsencrypt.org",
            "0 issue sectigo.com; account=1" } },
    };

    (void) state;

    t_conf(&conf, "edge.crm.example", "");

    assert_int_equal(T_RUN(&conf, "links.acme.com", zone),
                     LC_VERIFY_FAILED);
    assert_string_equal(t_v.error.type, "caa_forbids");
    assert_string_equal(t_v.error.detail,
                        "CAA at links.acme.com allows only \"digicert.com\","
                        " \"sectigo.com\"; expected \"letsencrypt.org\"");
    assert_int_equal(t_v.ncaa, 3);
    assert_string_equal(t_v.caa_owner, "links.acme.com");
}


static void
test_caa_forbids_all(void **state)
{
    lc_verify_conf_t  conf;

    static const t_rr_t  zone[] = {
        { "acme.com", LC_QTYPE_A, LC_ANS_OK, NULL, { "127.0.0.1" } },
        { "acme.com", LC_QTYPE_CAA, LC_ANS_OK, NULL, { "0 issue ;" } },
    };

    (void) state;

    t_conf(&conf, "edge.crm.example", "127.0.0.1");

    assert_int_equal(T_RUN(&conf, "acme.com", zone), LC_VERIFY_FAILED);
    assert_string_equal(t_v.error.type, "caa_forbids");
    assert_string_equal(t_v.error.detail,
                        "CAA at acme.com forbids all issuance (issue \";\");"
                        " expected \"letsencrypt.org\"");
}


static void
test_caa_forbids_long_list(void **state)
{
    size_t            len;
    lc_verify_conf_t  conf;

    static const t_rr_t  zone[] = {
        { "links.acme.com", LC_QTYPE_CNAME, LC_ANS_OK, "edge.crm.example",
          { NULL } },
        { "acme.com", LC_QTYPE_CAA, LC_ANS_OK, NULL,
          { "0 issue digicert.com", "0 issue sectigo.com",
            "0 issue pki.goog", "0 issue globalsign.com",
            "0 issue amazon.com", "0 issue ssl.com",
            "0 issue buypass.com", "0 issue comodoca.com" } },
    };

    (void) state;

    t_conf(&conf, "edge.crm.example", "");

    assert_int_equal(T_RUN(&conf, "links.acme.com", zone),
                     LC_VERIFY_FAILED);
    assert_string_equal(t_v.error.type, "caa_forbids");

    /* the list is cut, the expected issuer is still there */
    len = strlen(t_v.error.detail);
    assert_true(len < LC_ERROR_DETAIL_LEN);
    assert_non_null(strstr(t_v.error.detail, "\"digicert.com\", "));
    assert_non_null(strstr(t_v.error.detail, ", ...; expected"));
    assert_string_equal(t_v.error.detail + len
                        - strlen("; expected \"letsencrypt.org\""),
                        "; expected \"letsencrypt.org\"");
}


static void
test_caa_inherited(void **state)
{
    lc_verify_conf_t  conf;

    static const t_rr_t  zone[] = {
        { "a.links.acme.com", LC_QTYPE_A, LC_ANS_OK, NULL,
          { "127.0.0.1" } },
        { "links.acme.com", LC_QTYPE_CAA, LC_ANS_NXDOMAIN, NULL, { NULL } },
        { "acme.com", LC_QTYPE_CAA, LC_ANS_OK, NULL,
          { "0 issue LetsEncrypt.ORG" } },
    };

    (void) state;

    t_conf(&conf, "edge.crm.example", "127.0.0.1");

    assert_int_equal(T_RUN(&conf, "a.links.acme.com", zone),
                     LC_VERIFY_VERIFIED);
    assert_string_equal(t_v.caa_owner, "acme.com");
    assert_int_equal(t_v.ncaa, 1);

    t_queries("CNAME a.links.acme.com", "A a.links.acme.com",
              "AAAA a.links.acme.com", "CAA a.links.acme.com",
              "CAA links.acme.com", "CAA acme.com", NULL);
}


static void
test_caa_on_cname_target(void **state)
{
    lc_verify_conf_t  conf;

    static const t_rr_t  zone[] = {
        { "links.acme.com", LC_QTYPE_CNAME, LC_ANS_OK, "edge.crm.example",
          { NULL } },
        { "edge.crm.example", LC_QTYPE_CAA, LC_ANS_OK, NULL,
          { "0 issue sectigo.com" } },
        { "acme.com", LC_QTYPE_CAA, LC_ANS_OK, NULL,
          { "0 issue letsencrypt.org" } },
    };

    (void) state;

    t_conf(&conf, "edge.crm.example", "");

    assert_int_equal(T_RUN(&conf, "links.acme.com", zone),
                     LC_VERIFY_FAILED);
    assert_string_equal(t_v.error.type, "caa_forbids");
    assert_string_equal(t_v.caa_owner, "edge.crm.example");
    assert_string_equal(t_v.error.detail,
                        "CAA at edge.crm.example allows only"
                        " \"sectigo.com\"; expected \"letsencrypt.org\"");

    t_queries("CNAME links.acme.com", "CAA links.acme.com",
              "CAA edge.crm.example", NULL);
}


static void
test_caa_alias_chain(void **state)
{
    lc_verify_conf_t  conf;

    /* the alias is followed through two hops, then its loop stops it */
    static const t_rr_t  zone[] = {
        { "acme.com", LC_QTYPE_A, LC_ANS_OK, NULL, { "127.0.0.1" } },
        { "acme.com", LC_QTYPE_CAA, LC_ANS_OK, "caa1.example", { NULL } },
        { "caa1.example", LC_QTYPE_CAA, LC_ANS_OK, "caa2.example",
          { NULL } },
        { "caa2.example", LC_QTYPE_CAA, LC_ANS_OK, NULL,
          { "0 issue letsencrypt.org" } },
        { "shop.acme.org", LC_QTYPE_A, LC_ANS_OK, NULL, { "127.0.0.1" } },
        { "shop.acme.org", LC_QTYPE_CAA, LC_ANS_OK, "loop1.example",
          { NULL } },
        { "loop1.example", LC_QTYPE_CAA, LC_ANS_OK, "Shop.Acme.Org.",
          { NULL } },
        { "acme.org", LC_QTYPE_CAA, LC_ANS_OK, NULL,
          { "0 issue letsencrypt.org" } },
    };

    (void) state;

    t_conf(&conf, "edge.crm.example", "127.0.0.1");

    assert_int_equal(T_RUN(&conf, "acme.com", zone), LC_VERIFY_VERIFIED);
    assert_string_equal(t_v.caa_owner, "caa2.example");
    t_queries("CNAME acme.com", "A acme.com", "AAAA acme.com",
              "CAA acme.com", "CAA caa1.example", "CAA caa2.example",
              NULL);

    assert_int_equal(T_RUN(&conf, "shop.acme.org", zone),
                     LC_VERIFY_VERIFIED);
    assert_string_equal(t_v.caa_owner, "acme.org");
    t_queries("CNAME shop.acme.org", "A shop.acme.org",
              "AAAA shop.acme.org", "CAA shop.acme.org",
              "CAA loop1.example", "CAA acme.org", NULL);
}


static void
test_caa_parameters(void **state)
{
    lc_verify_conf_t  conf;

    static const t_rr_t  zone[] = {
        { "links.acme.com", LC_QTYPE_CNAME, LC_ANS_OK, "edge.crm.example",
          { NULL } },
        { "links.acme.com", LC_QTYPE_CAA, LC_ANS_OK, NULL,
          { "0 issue letsencrypt.org; validationmethods=http-01" } },
        { "x.acme.com", LC_QTYPE_CNAME, LC_ANS_OK, "edge.crm.example",
          { NULL } },
        { "x.acme.com", LC_QTYPE_CAA, LC_ANS_OK, NULL,
          { "0 ISSUE   LetsEncrypt.Org ;accounturi=x" } },
        { "y.acme.com", LC_QTYPE_CNAME, LC_ANS_OK, "edge.crm.example",
          { NULL } },
        { "y.acme.com", LC_QTYPE_CAA, LC_ANS_OK, NULL,
          { "0 issue letsencrypt.org.example" } },
    };

    (void) state;

    t_conf(&conf, "edge.crm.example", "");

    assert_int_equal(T_RUN(&conf, "links.acme.com", zone),
                     LC_VERIFY_VERIFIED);
    assert_string_equal(t_v.caa[0].value,
                        "letsencrypt.org; validationmethods=http-01");

    assert_int_equal(T_RUN(&conf, "x.acme.com", zone), LC_VERIFY_VERIFIED);

    assert_int_equal(T_RUN(&conf, "y.acme.com", zone), LC_VERIFY_FAILED);
    assert_string_equal(t_v.error.type, "caa_forbids");
}


static void
test_caa_issuewild_only(void **state)
{
    lc_verify_conf_t  conf;

    static const t_rr_t  zone[] = {
        { "links.acme.com", LC_QTYPE_CNAME, LC_ANS_OK, "edge.crm.example",
          { NULL } },
        { "acme.com", LC_QTYPE_CAA, LC_ANS_OK, NULL,
          { "0 issuewild digicert.com", "0 iodef mailto:x@acme.com",
            "0 tbs unknown" } },
    };

    (void) state;

    t_conf(&conf, "edge.crm.example", "");

    assert_int_equal(T_RUN(&conf, "links.acme.com", zone),
                     LC_VERIFY_VERIFIED);
    assert_string_equal(t_v.caa_owner, "acme.com");
    assert_int_equal(t_v.ncaa, 3);
}


static void
test_caa_critical_unknown(void **state)
{
    lc_verify_conf_t  conf;

    static const t_rr_t  zone[] = {
        { "links.acme.com", LC_QTYPE_CNAME, LC_ANS_OK, "edge.crm.example",
          { NULL } },
        { "acme.com", LC_QTYPE_CAA, LC_ANS_OK, NULL,
          { "0 issue letsencrypt.org", "128 tbs unknown" } },
        { "x.acme.com", LC_QTYPE_CNAME, LC_ANS_OK, "edge.crm.example",
          { NULL } },
        { "x.acme.com", LC_QTYPE_CAA, LC_ANS_OK, NULL,
          { "128 Issue letsencrypt.org", "128 IODEF mailto:x@acme.com" } },
    };

    (void) state;

    t_conf(&conf, "edge.crm.example", "");

    assert_int_equal(T_RUN(&conf, "links.acme.com", zone),
                     LC_VERIFY_FAILED);
    assert_string_equal(t_v.error.type, "caa_forbids");
    assert_string_equal(t_v.error.detail,
                        "CAA at acme.com has the critical tag \"tbs\" that"
                        " no CA understands; issuance is forbidden");
    assert_int_equal(t_v.caa[1].critical, 128);

    /* critical known tags are fine */
    assert_int_equal(T_RUN(&conf, "x.acme.com", zone), LC_VERIFY_VERIFIED);
}


static void
test_caa_sanitised(void **state)
{
    lc_dns_answer_t   ans;
    lc_verify_conf_t  conf;
    char              name[LC_DOMAIN_MAX + 1];
    lc_qtype_e        type;

    (void) state;

    t_conf(&conf, "edge.crm.example", "127.0.0.1");
    lc_verify_init(&t_v, &conf, "acme.com");

    memset(&ans, 0, sizeof(ans));
    ans.status = LC_ANS_OK;
    ans.naddrs = 1;
    assert_int_equal(lc_addr_parse("127.0.0.1", &ans.addrs[0]), 0);

    assert_int_equal(lc_verify_next(&t_v, name, &type), 1);
    lc_verify_feed(&t_v, &ans);          /* CNAME: no cname */
    lc_verify_feed(&t_v, &ans);          /* A */
    lc_verify_feed(&t_v, &ans);          /* AAAA */

    assert_int_equal(lc_verify_next(&t_v, name, &type), 1);
    assert_int_equal(type, LC_QTYPE_CAA);

    /* unterminated, non-ASCII, more records than fit */
    memset(&ans, 0, sizeof(ans));
    ans.status = LC_ANS_OK;
    ans.ncaa = 1000;
    memset(ans.caa[0].tag, 'x', sizeof(ans.caa[0].tag));
    memcpy(ans.caa[1].tag, "issue", 5);
    memcpy(ans.caa[1].value, "ca\xc3\xa9\n.example", 14);

    lc_verify_feed(&t_v, &ans);

    assert_int_equal(t_v.state, LC_VERIFY_FAILED);
    assert_int_equal(t_v.ncaa, LC_VERIFY_MAX_CAA);
    assert_int_equal(strlen(t_v.caa[0].tag), LC_CAA_TAG_LEN - 1);
    assert_string_equal(t_v.caa[1].value, "ca???.example");
    assert_string_equal(t_v.error.detail,
                        "CAA at acme.com allows only \"ca???.example\";"
                        " expected \"letsencrypt.org\"");
}


/* transient failures */

static void
test_transient(void **state)
{
    lc_verify_conf_t  conf;

    static const t_rr_t  zone[] = {
        { "t1.acme.com", LC_QTYPE_CNAME, LC_ANS_TIMEOUT, NULL, { NULL } },

        { "t2.acme.com", LC_QTYPE_CNAME, LC_ANS_OK, "hop.example",
          { NULL } },
        { "hop.example", LC_QTYPE_CNAME, LC_ANS_SERVFAIL, NULL, { NULL } },

        { "t3.acme.com", LC_QTYPE_A, LC_ANS_REFUSED, NULL, { NULL } },

        { "t4.acme.com", LC_QTYPE_A, LC_ANS_OK, NULL, { "127.0.0.1" } },
        { "t4.acme.com", LC_QTYPE_AAAA, LC_ANS_ERROR, NULL, { NULL } },

        { "t5.acme.com", LC_QTYPE_CNAME, LC_ANS_OK, "edge.crm.example",
          { NULL } },
        { "acme.com", LC_QTYPE_CAA, LC_ANS_TIMEOUT, NULL, { NULL } },

        { "t6.acme.com", LC_QTYPE_CNAME, LC_ANS_OK, "edge2.crm.example",
          { NULL } },
        { "edge2.crm.example", LC_QTYPE_CAA, LC_ANS_SERVFAIL, NULL,
          { NULL } },
    };

    (void) state;

    t_conf(&conf, "edge.crm.example edge2.crm.example", "127.0.0.1");

    assert_int_equal(T_RUN(&conf, "t1.acme.com", zone),
                     LC_VERIFY_TRANSIENT);
    assert_string_equal(t_v.error.type, "dns_timeout");
    assert_string_equal(t_v.error.detail,
                        "timeout asking for the CNAME of t1.acme.com");

    assert_int_equal(T_RUN(&conf, "t2.acme.com", zone),
                     LC_VERIFY_TRANSIENT);
    assert_string_equal(t_v.error.type, "dns_servfail");
    assert_string_equal(t_v.error.detail,
                        "SERVFAIL asking for the CNAME of hop.example");

    assert_int_equal(T_RUN(&conf, "t3.acme.com", zone),
                     LC_VERIFY_TRANSIENT);
    assert_string_equal(t_v.error.type, "dns_refused");
    assert_string_equal(t_v.error.detail,
                        "REFUSED asking for the A records of t3.acme.com");
    t_queries("CNAME t3.acme.com", "A t3.acme.com", NULL);

    assert_int_equal(T_RUN(&conf, "t4.acme.com", zone),
                     LC_VERIFY_TRANSIENT);
    assert_string_equal(t_v.error.type, "dns_error");
    assert_string_equal(t_v.error.detail,
                        "DNS error asking for the AAAA records of"
                        " t4.acme.com");

    assert_int_equal(T_RUN(&conf, "t5.acme.com", zone),
                     LC_VERIFY_TRANSIENT);
    assert_string_equal(t_v.error.type, "dns_timeout");
    assert_string_equal(t_v.error.detail,
                        "timeout asking for the CAA records of acme.com");

    assert_int_equal(T_RUN(&conf, "t6.acme.com", zone),
                     LC_VERIFY_TRANSIENT);
    assert_string_equal(t_v.error.type, "dns_servfail");
    assert_string_equal(t_v.error.detail,
                        "SERVFAIL asking for the CAA records of"
                        " edge2.crm.example");
}


static void
test_single_label_never_queried(void **state)
{
    size_t            i;
    lc_verify_conf_t  conf;

    static const t_rr_t  zone[] = {
        { "a.b.acme.co.uk", LC_QTYPE_CNAME, LC_ANS_OK, "edge.crm.example",
          { NULL } },
    };

    (void) state;

    t_conf(&conf, "edge.crm.example", "");

    assert_int_equal(T_RUN(&conf, "a.b.acme.co.uk", zone),
                     LC_VERIFY_VERIFIED);
    assert_int_equal(t_v.ncaa, 0);
    assert_string_equal(t_v.caa_owner, "");

    t_queries("CNAME a.b.acme.co.uk", "CAA a.b.acme.co.uk",
              "CAA edge.crm.example", "CAA b.acme.co.uk", "CAA acme.co.uk",
              "CAA co.uk", NULL);

    for (i = 0; i < t_log.nq; i++) {
        assert_false(strcmp(t_log.q[i], "CAA uk") == 0);
    }
}


/* the API around the run */

static void
test_invalid_domain(void **state)
{
    char              name[LC_DOMAIN_MAX + 1];
    lc_qtype_e        type;
    lc_verify_conf_t  conf;

    (void) state;

    t_conf(&conf, "edge.crm.example", "");

    lc_verify_init(&t_v, &conf, "localhost");
    assert_int_equal(t_v.state, LC_VERIFY_FAILED);
    assert_string_equal(t_v.error.type, "invalid_domain");
    assert_int_equal(lc_verify_next(&t_v, name, &type), 0);

    lc_verify_init(&t_v, &conf, NULL);
    assert_int_equal(t_v.state, LC_VERIFY_FAILED);
}


static void
test_feed_after_end(void **state)
{
    char              name[LC_DOMAIN_MAX + 1];
    lc_qtype_e        type;
    lc_dns_answer_t   ans;
    lc_verify_conf_t  conf;

    (void) state;

    t_conf(&conf, "edge.crm.example", "");
    lc_verify_init(&t_v, &conf, "links.acme.com");

    assert_int_equal(lc_verify_next(&t_v, name, &type), 1);
    assert_string_equal(name, "links.acme.com");
    assert_int_equal(type, LC_QTYPE_CNAME);

    memset(&ans, 0, sizeof(ans));
    ans.status = LC_ANS_NXDOMAIN;
    lc_verify_feed(&t_v, &ans);
    assert_int_equal(t_v.state, LC_VERIFY_FAILED);

    ans.status = LC_ANS_TIMEOUT;
    lc_verify_feed(&t_v, &ans);
    assert_int_equal(t_v.state, LC_VERIFY_FAILED);
    assert_string_equal(t_v.error.type, "dns_missing");

    /* a status outside the enum is a DNS error */
    lc_verify_init(&t_v, &conf, "links.acme.com");
    ans.status = (lc_ans_status_e) 99;
    lc_verify_feed(&t_v, &ans);
    assert_int_equal(t_v.state, LC_VERIFY_TRANSIENT);
    assert_string_equal(t_v.error.type, "dns_error");

    assert_string_equal(lc_verify_state_name(LC_VERIFY_TRANSIENT),
                        "transient");
    assert_string_equal(lc_qtype_name(LC_QTYPE_AAAA), "AAAA");
}


static void
test_long_names_bounded(void **state)
{
    char              d[LC_DOMAIN_MAX + 1], t[LC_DOMAIN_MAX + 1];
    size_t            i;
    lc_verify_conf_t  conf;
    t_rr_t            zone[1];

    (void) state;

    /* 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253 */
    for (i = 0; i < LC_DOMAIN_MAX; i++) {
        d[i] = (i % 64 == 63) ? '.' : 'a';
        t[i] = (i % 64 == 63) ? '.' : 'b';
    }

    d[LC_DOMAIN_MAX] = '\0';
    t[LC_DOMAIN_MAX] = '\0';

    memset(zone, 0, sizeof(zone));
    zone[0].name = d;
    zone[0].type = LC_QTYPE_CNAME;
    zone[0].status = LC_ANS_OK;
    zone[0].cname = t;

    t_conf(&conf, "edge.crm.example edge2.crm.example", "127.0.0.1");

    assert_int_equal(T_RUN(&conf, d, zone), LC_VERIFY_FAILED);
    assert_string_equal(t_v.error.type, "dns_mismatch");
    assert_int_equal(strlen(t_v.error.detail), LC_ERROR_DETAIL_LEN - 1);
    assert_int_equal(strncmp(t_v.error.detail, d, 100), 0);
}


static void
test_addr(void **state)
{
    char       buf[LC_ADDR_STRLEN];
    lc_addr_t  a, b;

    (void) state;

    assert_int_equal(lc_addr_parse("192.0.2.7", &a), 0);
    assert_int_equal(a.family, 4);
    assert_int_equal(lc_addr_format(&a, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "192.0.2.7");

    assert_int_equal(lc_addr_parse("2001:DB8::0:1", &b), 0);
    assert_int_equal(b.family, 6);
    assert_int_equal(lc_addr_format(&b, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "2001:db8::1");

    assert_false(lc_addr_equal(&a, &b));
    assert_true(lc_addr_equal(&a, &a));

    assert_int_equal(lc_addr_format(&b, buf, 5), -1);
    assert_string_equal(buf, "");

    assert_int_equal(lc_addr_parse("[::1]", &a), -1);
    assert_int_equal(lc_addr_parse("192.0.2.7:80", &a), -1);
    assert_int_equal(lc_addr_parse("edge.crm.example", &a), -1);
    assert_int_equal(lc_addr_parse("", &a), -1);

    a.family = 5;
    assert_int_equal(lc_addr_format(&a, buf, sizeof(buf)), -1);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_cname_to_target),
        cmocka_unit_test(test_cname_chain_of_three),
        cmocka_unit_test(test_cname_any_target),
        cmocka_unit_test(test_cname_elsewhere),
        cmocka_unit_test(test_cname_elsewhere_via),
        cmocka_unit_test(test_cname_normalised),
        cmocka_unit_test(test_cname_invalid),
        cmocka_unit_test(test_cname_loop),
        cmocka_unit_test(test_cname_hops),
        cmocka_unit_test(test_apex_matching_a),
        cmocka_unit_test(test_a_match_aaaa_foreign),
        cmocka_unit_test(test_a_foreign),
        cmocka_unit_test(test_ipv6_only),
        cmocka_unit_test(test_nxdomain),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_cname_appears),
        cmocka_unit_test(test_caa_allows),
        cmocka_unit_test(test_caa_forbids),
        cmocka_unit_test(test_caa_forbids_all),
        cmocka_unit_test(test_caa_forbids_long_list),
        cmocka_unit_test(test_caa_inherited),
        cmocka_unit_test(test_caa_on_cname_target),
        cmocka_unit_test(test_caa_alias_chain),
        cmocka_unit_test(test_caa_parameters),
        cmocka_unit_test(test_caa_issuewild_only),
        cmocka_unit_test(test_caa_critical_unknown),
        cmocka_unit_test(test_caa_sanitised),
        cmocka_unit_test(test_transient),
        cmocka_unit_test(test_single_label_never_queried),
        cmocka_unit_test(test_invalid_domain),
        cmocka_unit_test(test_feed_after_end),
        cmocka_unit_test(test_long_names_bounded),
        cmocka_unit_test(test_addr),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
