/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: does a customer domain point at the edge?
 *
 * Every detail is written for a support agent; it is built in a bounded
 * buffer of LC_ERROR_DETAIL_LEN bytes, lists end with "..." when they do
 * not fit.  Everything that comes from the DNS is normalised (names) or
 * reduced to printable ASCII (CAA) before it is stored or shown.
 */


#include <string.h>
#include <arpa/inet.h>

#include "lc_ascii.h"
#include "lc_verify.h"


#define lc_min(a, b)  ((a) < (b) ? (a) : (b))


/* a bounded string under construction */
typedef struct {
    char    *pos;
    char    *last;                      /* the byte kept for the NUL */
    size_t   items;                     /* of the current list */
    int      cut;                       /* the current list ended "..." */
} lc_vbuf_t;


static const char *lc_verify_qname(const lc_verify_t *v);
static lc_qtype_e lc_verify_qtype(const lc_verify_t *v);
static void lc_verify_feed_cname(lc_verify_t *v, const lc_dns_answer_t *ans);
static void lc_verify_feed_addrs(lc_verify_t *v, const lc_dns_answer_t *ans);
static void lc_verify_decide_addrs(lc_verify_t *v);
static void lc_verify_feed_caa(lc_verify_t *v, const lc_dns_answer_t *ans);
static void lc_verify_start_caa(lc_verify_t *v, lc_verify_via_e via);
static void lc_verify_decide_caa(lc_verify_t *v);
static void lc_verify_transient(lc_verify_t *v, lc_ans_status_e status);
static void lc_verify_fail(lc_verify_t *v, lc_error_type_e type,
    const char *detail);
static int lc_verify_cname(const lc_dns_answer_t *ans, char *out,
    const char **reason);
static int lc_verify_is_target(const lc_verify_t *v, const char *name);
static int lc_verify_conf_has(const lc_verify_t *v, const lc_addr_t *a);
static void lc_verify_expect(lc_vbuf_t *b, const lc_verify_t *v,
    int cname_word, int addrs);
static void lc_verify_text_copy(char *dst, const char *src, size_t size);
static void lc_verify_issuer(const char *value, const char **start,
    size_t *len);

static void lc_vbuf_init(lc_vbuf_t *b, char *buf, size_t size);
static void lc_vbuf_addn(lc_vbuf_t *b, const char *s, size_t n);
static void lc_vbuf_add(lc_vbuf_t *b, const char *s);
static void lc_vbuf_list(lc_vbuf_t *b);
static void lc_vbuf_item(lc_vbuf_t *b, const char *sep, const char *quote,
    const char *s, size_t n);


static const char *const  lc_verify_state_names[] = {
    "running",
    "verified",
    "failed",
    "transient"
};

static const char *const  lc_qtype_names[] = {
    "CNAME",
    "A",
    "AAAA",
    "CAA"
};

/* what is asked for, after "asking for ", before the name */
static const char *const  lc_qtype_what[] = {
    "the CNAME of ",
    "the A records of ",
    "the AAAA records of ",
    "the CAA records of "
};


void
lc_verify_init(lc_verify_t *v, const lc_verify_conf_t *conf,
    const char *domain)
{
    const char  *reason;

    memset(v, 0, sizeof(lc_verify_t));

    reason = "none given";

    v->conf = conf;
    v->state = LC_VERIFY_RUNNING;
    v->via = LC_VERIFY_VIA_NONE;
    v->step = LC_VERIFY_STEP_CNAME;

    if (domain == NULL
        || lc_domain_normalize(domain, strlen(domain), v->domain, NULL,
                               &reason)
           != 0)
    {
        v->domain[0] = '\0';
        lc_error_set(&v->error, LC_ERR_INVALID_DOMAIN, "not a valid domain: %s",
                     reason);
        v->state = LC_VERIFY_FAILED;
        v->step = LC_VERIFY_STEP_DONE;
        return;
    }

    memcpy(v->chain[0], v->domain, sizeof(v->domain));
    v->nchain = 1;
}


int
lc_verify_next(lc_verify_t *v, char *name, lc_qtype_e *type)
{
    const char  *qname;

    if (v->state != LC_VERIFY_RUNNING) {
        return 0;
    }

    qname = lc_verify_qname(v);
    memcpy(name, qname, strlen(qname) + 1);
    *type = lc_verify_qtype(v);

    return 1;
}


void
lc_verify_feed(lc_verify_t *v, const lc_dns_answer_t *ans)
{
    if (v->state != LC_VERIFY_RUNNING) {
        return;
    }

    if (ans == NULL) {
        lc_verify_transient(v, LC_ANS_ERROR);
        return;
    }

    switch (ans->status) {

    case LC_ANS_OK:
    case LC_ANS_NXDOMAIN:
        break;

    default:
        lc_verify_transient(v, ans->status);
        return;
    }

    switch (v->step) {

    case LC_VERIFY_STEP_CNAME:
        lc_verify_feed_cname(v, ans);
        break;

    case LC_VERIFY_STEP_A:
    case LC_VERIFY_STEP_AAAA:
        lc_verify_feed_addrs(v, ans);
        break;

    case LC_VERIFY_STEP_CAA:
        lc_verify_feed_caa(v, ans);
        break;

    default:
        break;
    }
}


const char *
lc_verify_state_name(lc_verify_state_e state)
{
    if ((unsigned int) state > LC_VERIFY_TRANSIENT) {
        return "unknown";
    }

    return lc_verify_state_names[state];
}


const char *
lc_qtype_name(lc_qtype_e type)
{
    if ((unsigned int) type > LC_QTYPE_CAA) {
        return "unknown";
    }

    return lc_qtype_names[type];
}


int
lc_addr_format(const lc_addr_t *a, char *buf, size_t size)
{
    char  tmp[LC_ADDR_STRLEN];
    int   af;

    if (buf == NULL || size == 0) {
        return -1;
    }

    buf[0] = '\0';

    if (a == NULL) {
        return -1;
    }

    if (a->family == 4) {
        af = AF_INET;

    } else if (a->family == 6) {
        af = AF_INET6;

    } else {
        return -1;
    }

    if (inet_ntop(af, a->addr, tmp, sizeof(tmp)) == NULL) {
        return -1;
    }

    if (strlen(tmp) >= size) {
        return -1;
    }

    memcpy(buf, tmp, strlen(tmp) + 1);

    return 0;
}


int
lc_addr_parse(const char *s, lc_addr_t *a)
{
    lc_addr_t  r;

    if (s == NULL || a == NULL) {
        return -1;
    }

    memset(&r, 0, sizeof(lc_addr_t));

    if (inet_pton(AF_INET, s, r.addr) == 1) {
        r.family = 4;

    } else if (inet_pton(AF_INET6, s, r.addr) == 1) {
        r.family = 6;

    } else {
        return -1;
    }

    *a = r;

    return 0;
}


int
lc_addr_equal(const lc_addr_t *a, const lc_addr_t *b)
{
    if (a->family != b->family) {
        return 0;
    }

    if (a->family == 4) {
        return memcmp(a->addr, b->addr, 4) == 0;
    }

    if (a->family == 6) {
        return memcmp(a->addr, b->addr, 16) == 0;
    }

    return 0;
}


static const char *
lc_verify_qname(const lc_verify_t *v)
{
    switch (v->step) {

    case LC_VERIFY_STEP_CNAME:
        return v->chain[v->nchain - 1];

    case LC_VERIFY_STEP_CAA:
        return v->alias[v->nalias - 1];

    default:
        return v->domain;
    }
}


static lc_qtype_e
lc_verify_qtype(const lc_verify_t *v)
{
    switch (v->step) {

    case LC_VERIFY_STEP_A:
        return LC_QTYPE_A;

    case LC_VERIFY_STEP_AAAA:
        return LC_QTYPE_AAAA;

    case LC_VERIFY_STEP_CAA:
        return LC_QTYPE_CAA;

    default:
        return LC_QTYPE_CNAME;
    }
}


/*
 * The answer to "CNAME chain[nchain - 1]": a new hop, the end of the
 * chain, or (for D itself) no CNAME at all.
 */

static void
lc_verify_feed_cname(lc_verify_t *v, const lc_dns_answer_t *ans)
{
    char         name[LC_DOMAIN_MAX + 1], buf[LC_ERROR_DETAIL_LEN];
    size_t       i;
    lc_vbuf_t    b;
    const char  *reason, *last;

    lc_vbuf_init(&b, buf, sizeof(buf));
    last = v->chain[v->nchain - 1];

    if (ans->cname[0] == '\0') {

        if (v->nchain == 1) {
            if (ans->status == LC_ANS_NXDOMAIN) {
                lc_vbuf_add(&b, v->domain);
                lc_vbuf_add(&b, " does not exist in DNS (NXDOMAIN)");
                lc_verify_fail(v, LC_ERR_DNS_MISSING, buf);
                return;
            }

            v->step = LC_VERIFY_STEP_A;
            return;
        }

        /* the chain ends without reaching a target */

        lc_vbuf_add(&b, v->domain);
        lc_vbuf_add(&b, " is a CNAME to ");
        lc_vbuf_add(&b, v->chain[1]);

        if (v->nchain > 2) {
            lc_vbuf_add(&b, ", which leads to ");
            lc_vbuf_add(&b, last);
        }

        lc_vbuf_add(&b, "; expected ");
        lc_verify_expect(&b, v, 0, 0);
        lc_verify_fail(v, LC_ERR_DNS_MISMATCH, buf);
        return;
    }

    if (lc_verify_cname(ans, name, &reason) != 0) {
        if (v->nchain == 1) {
            lc_vbuf_add(&b, v->domain);
            lc_vbuf_add(&b, " is a CNAME to an invalid name (");

        } else {
            lc_vbuf_add(&b, v->domain);
            lc_vbuf_add(&b, " leads to ");
            lc_vbuf_add(&b, last);
            lc_vbuf_add(&b, ", a CNAME to an invalid name (");
        }

        lc_vbuf_add(&b, reason);
        lc_vbuf_add(&b, "); expected ");
        lc_verify_expect(&b, v, 0, 0);
        lc_verify_fail(v, LC_ERR_DNS_MISMATCH, buf);
        return;
    }

    for (i = 0; i < v->nchain; i++) {
        if (strcmp(v->chain[i], name) == 0) {
            lc_vbuf_add(&b, "CNAME loop: ");
            lc_vbuf_list(&b);

            for (i = 0; i < v->nchain; i++) {
                lc_vbuf_item(&b, " -> ", "", v->chain[i],
                             strlen(v->chain[i]));
            }

            lc_vbuf_item(&b, " -> ", "", name, strlen(name));
            lc_verify_fail(v, LC_ERR_DNS_MISMATCH, buf);
            return;
        }
    }

    if (v->nchain > LC_VERIFY_MAX_HOPS) {
        lc_vbuf_add(&b, "CNAME chain longer than 8 hops, starting at ");
        lc_vbuf_add(&b, v->domain);
        lc_verify_fail(v, LC_ERR_DNS_MISMATCH, buf);
        return;
    }

    memcpy(v->chain[v->nchain], name, sizeof(name));
    v->nchain++;

    if (lc_verify_is_target(v, name)) {
        lc_verify_start_caa(v, LC_VERIFY_VIA_CNAME);
    }

    /* else the next query is the CNAME of the new hop */
}


static void
lc_verify_feed_addrs(lc_verify_t *v, const lc_dns_answer_t *ans)
{
    char       buf[LC_ERROR_DETAIL_LEN];
    size_t     i, n;
    lc_vbuf_t  b;

    if (ans->cname[0] != '\0') {
        lc_vbuf_init(&b, buf, sizeof(buf));
        lc_vbuf_add(&b, v->domain);
        lc_vbuf_add(&b, " changed during verification: it had no CNAME,"
                    " now it has one");
        lc_verify_fail(v, LC_ERR_DNS_ERROR, buf);
        v->state = LC_VERIFY_TRANSIENT;
        return;
    }

    if (ans->status == LC_ANS_OK) {
        n = lc_min(ans->naddrs, LC_VERIFY_MAX_ADDRS);

        for (i = 0; i < n; i++) {
            if (v->naddrs == 2 * LC_VERIFY_MAX_ADDRS) {
                break;
            }

            v->addrs[v->naddrs++] = ans->addrs[i];
        }
    }

    /* NXDOMAIN here: the name went away since the CNAME query; no address */

    if (v->step == LC_VERIFY_STEP_A) {
        v->step = LC_VERIFY_STEP_AAAA;
        return;
    }

    lc_verify_decide_addrs(v);
}


/* rule 2, once D's A and AAAA records are known */

static void
lc_verify_decide_addrs(lc_verify_t *v)
{
    char       buf[LC_ERROR_DETAIL_LEN], text[LC_ADDR_STRLEN];
    size_t     i;
    lc_vbuf_t  b;

    lc_vbuf_init(&b, buf, sizeof(buf));

    if (v->naddrs == 0) {
        lc_vbuf_add(&b, v->domain);
        lc_vbuf_add(&b, " has no CNAME, A or AAAA record; expected ");
        lc_verify_expect(&b, v, 1, 0);
        lc_verify_fail(v, LC_ERR_DNS_MISSING, buf);
        return;
    }

    for (i = 0; i < v->naddrs; i++) {
        if (lc_verify_conf_has(v, &v->addrs[i])) {
            continue;
        }

        if (lc_addr_format(&v->addrs[i], text, sizeof(text)) != 0) {
            memcpy(text, "(invalid)", sizeof("(invalid)"));
        }

        lc_vbuf_add(&b, v->domain);
        lc_vbuf_add(&b, " has address ");
        lc_vbuf_add(&b, text);
        lc_vbuf_add(&b, "; expected ");
        lc_verify_expect(&b, v, 1, 1);
        lc_verify_fail(v, LC_ERR_DNS_MISMATCH, buf);
        return;
    }

    lc_verify_start_caa(v, LC_VERIFY_VIA_ADDRS);
}


/*
 * RFC 8659: the CAA set of X, else of X's CNAME target(s), else of
 * parent(X), and so on; the first non-empty one is the relevant set.
 */

static void
lc_verify_feed_caa(lc_verify_t *v, const lc_dns_answer_t *ans)
{
    char         name[LC_DOMAIN_MAX + 1], *dot;
    size_t       i, n;
    const char  *reason, *owner;

    n = (ans->status == LC_ANS_OK) ? lc_min(ans->ncaa, LC_VERIFY_MAX_CAA)
                                   : 0;

    if (n > 0) {
        owner = v->alias[v->nalias - 1];

        if (ans->caa_owner[0] != '\0'
            && lc_domain_normalize(ans->caa_owner, strlen(ans->caa_owner),
                                   name, NULL, &reason)
               == 0)
        {
            owner = name;
        }

        memcpy(v->caa_owner, owner, strlen(owner) + 1);

        for (i = 0; i < n; i++) {
            v->caa[i].critical = ans->caa[i].critical;
            lc_verify_text_copy(v->caa[i].tag, ans->caa[i].tag,
                                LC_CAA_TAG_LEN);
            lc_verify_text_copy(v->caa[i].value, ans->caa[i].value,
                                LC_CAA_VALUE_LEN);
        }

        v->ncaa = n;

        lc_verify_decide_caa(v);
        return;
    }

    /* no CAA record here: follow the alias, unless it loops or is bad */

    if (ans->cname[0] != '\0'
        && v->nalias <= LC_VERIFY_MAX_HOPS
        && lc_verify_cname(ans, name, &reason) == 0)
    {
        for (i = 0; i < v->nalias; i++) {
            if (strcmp(v->alias[i], name) == 0) {
                break;
            }
        }

        if (i == v->nalias) {
            memcpy(v->alias[v->nalias], name, sizeof(name));
            v->nalias++;
            return;
        }
    }

    /* climb: parent(X), never a single-label name */

    dot = strchr(v->alias[0], '.');

    if (dot == NULL || strchr(dot + 1, '.') == NULL) {
        v->state = LC_VERIFY_VERIFIED;
        v->step = LC_VERIFY_STEP_DONE;
        return;
    }

    memmove(v->alias[0], dot + 1, strlen(dot + 1) + 1);
    v->nalias = 1;
}


static void
lc_verify_start_caa(lc_verify_t *v, lc_verify_via_e via)
{
    v->via = via;
    v->step = LC_VERIFY_STEP_CAA;

    memcpy(v->alias[0], v->domain, sizeof(v->domain));
    v->nalias = 1;
}


/* the relevant set is in v->caa */

static void
lc_verify_decide_caa(lc_verify_t *v)
{
    char         buf[LC_ERROR_DETAIL_LEN], *save;
    size_t       i, len, issue, tail;
    lc_vbuf_t    b;
    const char  *id, *tag, *start;

    lc_vbuf_init(&b, buf, sizeof(buf));
    id = v->conf->caa_identity;

    for (i = 0; i < v->ncaa; i++) {
        tag = v->caa[i].tag;

        if (v->caa[i].critical
            && !lc_ascii_caseeq(tag, "issue")
            && !lc_ascii_caseeq(tag, "issuewild")
            && !lc_ascii_caseeq(tag, "iodef"))
        {
            lc_vbuf_add(&b, "CAA at ");
            lc_vbuf_add(&b, v->caa_owner);
            lc_vbuf_add(&b, " has the critical tag \"");
            lc_vbuf_add(&b, tag);
            lc_vbuf_add(&b, "\" that no CA understands; issuance is"
                        " forbidden");
            lc_verify_fail(v, LC_ERR_CAA_FORBIDS, buf);
            return;
        }
    }

    issue = 0;

    for (i = 0; i < v->ncaa; i++) {
        tag = v->caa[i].tag;

        if (!lc_ascii_caseeq(tag, "issue")) {
            continue;
        }

        issue++;
        lc_verify_issuer(v->caa[i].value, &start, &len);

        if (len > 0 && len == strlen(id)
            && lc_ascii_caseeqn(start, id, len))
        {
            v->state = LC_VERIFY_VERIFIED;
            v->step = LC_VERIFY_STEP_DONE;
            return;
        }
    }

    if (issue == 0) {
        /* issuewild and iodef only: non-wildcard issuance is allowed */
        v->state = LC_VERIFY_VERIFIED;
        v->step = LC_VERIFY_STEP_DONE;
        return;
    }

    lc_vbuf_add(&b, "CAA at ");
    lc_vbuf_add(&b, v->caa_owner);

    /* the list of issuers must leave room for the expected one */

    tail = sizeof("; expected \"\"") - 1 + strlen(id);
    save = b.last;

    if ((size_t) (b.last - b.pos) > tail) {
        b.last -= tail;
    }

    lc_vbuf_list(&b);

    for (i = 0; i < v->ncaa; i++) {
        tag = v->caa[i].tag;

        if (!lc_ascii_caseeq(tag, "issue")) {
            continue;
        }

        lc_verify_issuer(v->caa[i].value, &start, &len);

        if (len == 0) {
            continue;
        }

        if (b.items == 0) {
            lc_vbuf_add(&b, " allows only ");
        }

        lc_vbuf_item(&b, ", ", "\"", start, len);
    }

    if (b.items == 0) {
        lc_vbuf_add(&b, " forbids all issuance (issue \";\")");
    }

    b.last = save;

    lc_vbuf_add(&b, "; expected \"");
    lc_vbuf_add(&b, id);
    lc_vbuf_add(&b, "\"");
    lc_verify_fail(v, LC_ERR_CAA_FORBIDS, buf);
}


static void
lc_verify_transient(lc_verify_t *v, lc_ans_status_e status)
{
    char             buf[LC_ERROR_DETAIL_LEN];
    lc_vbuf_t        b;
    const char      *word;
    lc_error_type_e  type;

    switch (status) {

    case LC_ANS_TIMEOUT:
        type = LC_ERR_DNS_TIMEOUT;
        word = "timeout";
        break;

    case LC_ANS_SERVFAIL:
        type = LC_ERR_DNS_SERVFAIL;
        word = "SERVFAIL";
        break;

    case LC_ANS_REFUSED:
        type = LC_ERR_DNS_REFUSED;
        word = "REFUSED";
        break;

    default:
        type = LC_ERR_DNS_ERROR;
        word = "DNS error";
        break;
    }

    lc_vbuf_init(&b, buf, sizeof(buf));
    lc_vbuf_add(&b, word);
    lc_vbuf_add(&b, " asking for ");
    lc_vbuf_add(&b, lc_qtype_what[lc_verify_qtype(v)]);
    lc_vbuf_add(&b, lc_verify_qname(v));

    lc_verify_fail(v, type, buf);
    v->state = LC_VERIFY_TRANSIENT;
}


static void
lc_verify_fail(lc_verify_t *v, lc_error_type_e type, const char *detail)
{
    lc_error_set(&v->error, type, "%s", detail);
    v->state = LC_VERIFY_FAILED;
    v->step = LC_VERIFY_STEP_DONE;
}


/* normalises the answer's cname into out (LC_DOMAIN_MAX + 1 bytes) */

static int
lc_verify_cname(const lc_dns_answer_t *ans, char *out, const char **reason)
{
    size_t       len;
    const char  *end;

    end = memchr(ans->cname, '\0', sizeof(ans->cname));
    len = end ? (size_t) (end - ans->cname) : sizeof(ans->cname);

    return lc_domain_normalize(ans->cname, len, out, NULL, reason);
}


static int
lc_verify_is_target(const lc_verify_t *v, const char *name)
{
    size_t  i, n;

    n = lc_min(v->conf->ntargets, LC_VERIFY_MAX_TARGETS);

    for (i = 0; i < n; i++) {
        if (strcmp(v->conf->targets[i], name) == 0) {
            return 1;
        }
    }

    return 0;
}


static int
lc_verify_conf_has(const lc_verify_t *v, const lc_addr_t *a)
{
    size_t  i, n;

    n = lc_min(v->conf->naddrs, LC_VERIFY_MAX_ADDRS);

    for (i = 0; i < n; i++) {
        if (lc_addr_equal(&v->conf->addrs[i], a)) {
            return 1;
        }
    }

    return 0;
}


/*
 * What D should be: "[a CNAME to ]T1 or T2", with ", or A1, A2" (the
 * addresses) when addrs is set; the addresses alone when no target is
 * configured.  Short: the whole detail must fit in LC_ERROR_DETAIL_LEN.
 */

static void
lc_verify_expect(lc_vbuf_t *b, const lc_verify_t *v, int cname_word,
    int addrs)
{
    char                     text[LC_ADDR_STRLEN];
    size_t                   i, ntargets, naddrs;
    const lc_verify_conf_t  *conf;

    conf = v->conf;
    ntargets = lc_min(conf->ntargets, LC_VERIFY_MAX_TARGETS);
    naddrs = lc_min(conf->naddrs, LC_VERIFY_MAX_ADDRS);

    if (ntargets == 0) {
        addrs = 1;
    }

    if (ntargets > 0) {
        if (cname_word) {
            lc_vbuf_add(b, "a CNAME to ");
        }

        lc_vbuf_list(b);

        for (i = 0; i < ntargets; i++) {
            lc_vbuf_item(b, " or ", "", conf->targets[i],
                         strlen(conf->targets[i]));
        }
    }

    if (addrs && naddrs > 0) {
        lc_vbuf_add(b, ntargets > 0 ? ", or " : "the address ");
        lc_vbuf_list(b);

        for (i = 0; i < naddrs; i++) {
            if (lc_addr_format(&conf->addrs[i], text, sizeof(text)) != 0) {
                continue;
            }

            lc_vbuf_item(b, ", ", "", text, strlen(text));
        }
    }

    if (ntargets == 0 && naddrs == 0) {
        lc_vbuf_add(b, "an edge target, but none is configured");
    }
}


/* copies at most size - 1 bytes, printable ASCII, and a NUL */

static void
lc_verify_text_copy(char *dst, const char *src, size_t size)
{
    size_t         i;
    unsigned char  c;

    for (i = 0; i + 1 < size && src[i] != '\0'; i++) {
        c = (unsigned char) src[i];
        dst[i] = (c >= 0x20 && c < 0x7f) ? (char) c : '?';
    }

    dst[i] = '\0';
}


/* the issuer domain of an "issue" value: before ';', blanks trimmed */

static void
lc_verify_issuer(const char *value, const char **start, size_t *len)
{
    const char  *p, *end;

    p = value;

    while (*p == ' ' || *p == '\t') {
        p++;
    }

    end = p;

    while (*end != '\0' && *end != ';') {
        end++;
    }

    while (end > p && (end[-1] == ' ' || end[-1] == '\t')) {
        end--;
    }

    *start = p;
    *len = (size_t) (end - p);
}


static void
lc_vbuf_init(lc_vbuf_t *b, char *buf, size_t size)
{
    b->pos = buf;
    b->last = buf + size - 1;
    b->items = 0;
    b->cut = 0;

    *buf = '\0';
}


/* appends what fits */

static void
lc_vbuf_addn(lc_vbuf_t *b, const char *s, size_t n)
{
    while (n > 0 && b->pos < b->last) {
        *b->pos++ = *s++;
        n--;
    }

    *b->pos = '\0';
}


static void
lc_vbuf_add(lc_vbuf_t *b, const char *s)
{
    lc_vbuf_addn(b, s, strlen(s));
}


/* starts a list */

static void
lc_vbuf_list(lc_vbuf_t *b)
{
    b->items = 0;
    b->cut = 0;
}


/*
 * Appends [sep]quote s quote when it fits whole with room left for a
 * later sep "..." (the first item is appended anyway, cut), else appends
 * sep "..." and ends the list.
 */

static void
lc_vbuf_item(lc_vbuf_t *b, const char *sep, const char *quote,
    const char *s, size_t n)
{
    size_t  need;

    if (b->cut) {
        return;
    }

    need = strlen(sep) + n + 2 * strlen(quote) + strlen(sep)
           + sizeof("...") - 1;

    if (b->items > 0 && need > (size_t) (b->last - b->pos)) {
        lc_vbuf_add(b, sep);
        lc_vbuf_add(b, "...");
        b->cut = 1;
        return;
    }

    if (b->items > 0) {
        lc_vbuf_add(b, sep);
    }

    lc_vbuf_add(b, quote);
    lc_vbuf_addn(b, s, n);
    lc_vbuf_add(b, quote);
    b->items++;
}
