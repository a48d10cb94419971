/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: unit tests of lc_lifecycle.c, a domain's lifecycle.
 *
 * The table below is README's "Lifecycle" table of transitions: every
 * row is run through lc_lifecycle_step(), and README.md must hold the
 * same rows, in the same order (test_readme prints them when it does
 * not).  The tests after it check the timings and the details.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lc_lifecycle.h"
#include "lc_acme.h"


#define NOW     ((time_t) 1800000000)
#define NOW_MS  ((uint64_t) NOW * 1000 + 250)
#define DAY     86400


/* the record's situation before the event */
#define S_MOVED      0x0001     /* the DNS moved away, still served */
#define S_CANDIDATE  0x0002     /* on demand, before its DNS */
#define S_BUSY       0x0004     /* a job holds it */
#define S_RENEW_DUE  0x0008     /* renew_at of its lifetime has passed */
#define S_EXPIRED    0x0010
#define S_DUE_NOW    0x0020     /* due, not taken yet */
#define S_ATTEMPTS   0x0040     /* 2 transient failures already */
#define S_ARI_DUE    0x0080     /* time to ask the renewal information */
#define S_REISSUE    0x0100     /* a reissue was asked for */

/* the event's details */
#define E_REISSUE    0x0001
#define E_ALLOWED    0x0002
#define E_DENIED     0x0004
#define E_VERIFIED   0x0008
#define E_FAILED     0x0010
#define E_TRANSIENT  0x0020
#define E_NO_ACME    0x0040
#define E_NO_ORDERS  0x0080
#define E_NO_ACCOUNT 0x0100
#define E_OK         0x0200     /* ARI: a window; LOADED: valid */
#define E_LATER      0x0400     /* ARI: the window is later */
#define E_CERT_ID    0x0800     /* RENEW: the CA can be asked */
#define E_ARI        0x1000     /* DNS: the CA has renewal information */
#define E_NO_ACCOUNT_AT_CA  0x2000  /* ORDER_FAILED: the CA forgot the
                                       account */
#define E_CLAIMED    0x4000     /* POST: the fleet's claim */


typedef struct {
    lc_status_e            status;
    lc_stage_e             stage;
    unsigned               situation;
    lc_lifecycle_event_e   event;
    unsigned               details;
    const char            *when;
    lc_status_e            to_status;
    lc_stage_e             to_stage;
    lc_lifecycle_action_e  action;
} row_t;


#define U  LC_STATUS_UNKNOWN
#define P  LC_STATUS_PENDING
#define I  LC_STATUS_ISSUED

static const row_t  rows[] = {

    /* "Verify domain" and DELETE */

    { U, LC_STAGE_NONE, 0, LC_EV_POST, 0,
      "a new domain", P, LC_STAGE_VERIFYING, LC_DO_NONE },
    { U, LC_STAGE_FAILED, 0, LC_EV_POST, 0,
      "starts over", P, LC_STAGE_VERIFYING, LC_DO_NONE },
    { I, LC_STAGE_ISSUED, 0, LC_EV_POST, 0,
      "the DNS checked again", I, LC_STAGE_VERIFYING, LC_DO_NONE },
    { U, LC_STAGE_FAILED, S_MOVED, LC_EV_POST, 0,
      "moved: the DNS checked again", P, LC_STAGE_VERIFYING, LC_DO_NONE },
    { I, LC_STAGE_ISSUED, 0, LC_EV_POST, E_REISSUE,
      "reissue: the limits asked first", I, LC_STAGE_ISSUED, LC_DO_LIMITS },
    { I, LC_STAGE_ISSUED, 0, LC_EV_POST, E_REISSUE | E_ALLOWED,
      "reissue within the limits", I, LC_STAGE_VERIFYING, LC_DO_NONE },
    { I, LC_STAGE_ISSUED, 0, LC_EV_POST, E_REISSUE | E_DENIED,
      "reissue over a limit: refused", I, LC_STAGE_ISSUED, LC_DO_NONE },
    { P, LC_STAGE_VERIFYING, S_DUE_NOW, LC_EV_POST, 0,
      "a check is due: busy", P, LC_STAGE_VERIFYING, LC_DO_NONE },
    { I, LC_STAGE_ISSUED, 0, LC_EV_DELETE, 0,
      "any state", I, LC_STAGE_ISSUED, LC_DO_REMOVE },

    /* on demand */

    { U, LC_STAGE_NONE, 0, LC_EV_ADMIT, 0,
      "a new name passed the gates", P, LC_STAGE_VERIFYING, LC_DO_NONE },
    { P, LC_STAGE_VERIFYING, S_CANDIDATE, LC_EV_DUE, 0,
      "a candidate", P, LC_STAGE_VERIFYING, LC_DO_ASK },
    { P, LC_STAGE_VERIFYING, S_CANDIDATE | S_BUSY, LC_EV_REFUSE, 0,
      "linkcert_ask said no", P, LC_STAGE_VERIFYING, LC_DO_REMOVE },
    { P, LC_STAGE_VERIFYING, S_CANDIDATE | S_BUSY, LC_EV_DNS, E_FAILED,
      "a candidate that does not point here", P, LC_STAGE_VERIFYING,
      LC_DO_REMOVE },
    { P, LC_STAGE_VERIFYING, S_CANDIDATE | S_BUSY, LC_EV_DNS, E_VERIFIED,
      "a candidate that points here", P, LC_STAGE_ORDERING, LC_DO_NONE },

    /* worker 0 takes what is due */

    { P, LC_STAGE_VERIFYING, 0, LC_EV_DUE, 0,
      "a check", P, LC_STAGE_VERIFYING, LC_DO_VERIFY },
    { I, LC_STAGE_ISSUED, 0, LC_EV_DUE, 0,
      "the periodic check", I, LC_STAGE_VERIFYING, LC_DO_VERIFY },
    { U, LC_STAGE_FAILED, S_MOVED, LC_EV_DUE, 0,
      "moved: the hourly check", U, LC_STAGE_VERIFYING, LC_DO_VERIFY },
    { P, LC_STAGE_ORDERING, 0, LC_EV_DUE, 0,
      "within the budgets", P, LC_STAGE_ORDERING, LC_DO_ORDER },
    { P, LC_STAGE_ORDERING, 0, LC_EV_DUE, E_NO_ORDERS,
      "no order slot or account", P, LC_STAGE_ORDERING, LC_DO_WAIT },
    { P, LC_STAGE_ORDERING, 0, LC_EV_BUDGET, 0,
      "a budget is spent", P, LC_STAGE_ORDERING, LC_DO_NONE },
    { I, LC_STAGE_RENEWING, 0, LC_EV_DUE, 0,
      "a renewal check", I, LC_STAGE_RENEWING, LC_DO_RENEW },
    { I, LC_STAGE_RENEWING, S_REISSUE, LC_EV_DUE, 0,
      "a reissue", I, LC_STAGE_RENEWING, LC_DO_ORDER },
    { I, LC_STAGE_ISSUED, S_EXPIRED, LC_EV_DUE, 0,
      "expired", U, LC_STAGE_FAILED, LC_DO_NONE },
    { P, LC_STAGE_VERIFYING, S_BUSY, LC_EV_LEASE_LOST, 0,
      "due again now", P, LC_STAGE_VERIFYING, LC_DO_NONE },

    /* the DNS rule */

    { P, LC_STAGE_VERIFYING, S_BUSY, LC_EV_DNS, E_VERIFIED,
      "points here: ordered", P, LC_STAGE_ORDERING, LC_DO_NONE },
    { P, LC_STAGE_VERIFYING, S_BUSY, LC_EV_DNS, E_VERIFIED | E_NO_ACME,
      "no CA configured", P, LC_STAGE_ORDERING, LC_DO_NONE },
    { P, LC_STAGE_VERIFYING, S_BUSY, LC_EV_DNS, E_FAILED,
      "does not point here", U, LC_STAGE_FAILED, LC_DO_NONE },
    { P, LC_STAGE_VERIFYING, S_BUSY, LC_EV_DNS, E_TRANSIENT,
      "no answer: backoff", P, LC_STAGE_VERIFYING, LC_DO_NONE },
    { P, LC_STAGE_VERIFYING, S_BUSY | S_ATTEMPTS, LC_EV_DNS, E_TRANSIENT,
      "no answer, 3 times", U, LC_STAGE_FAILED, LC_DO_NONE },
    { U, LC_STAGE_VERIFYING, S_BUSY | S_ATTEMPTS, LC_EV_DNS, E_TRANSIENT,
      "failed: no answer still", U, LC_STAGE_FAILED, LC_DO_NONE },
    { I, LC_STAGE_VERIFYING, S_BUSY, LC_EV_DNS, E_VERIFIED,
      "before the renewal time", I, LC_STAGE_ISSUED, LC_DO_NONE },
    { I, LC_STAGE_VERIFYING, S_BUSY | S_RENEW_DUE, LC_EV_DNS, E_VERIFIED,
      "the renewal time came", I, LC_STAGE_RENEWING, LC_DO_NONE },
    { I, LC_STAGE_VERIFYING, S_BUSY | S_ARI_DUE, LC_EV_DNS,
      E_VERIFIED | E_ARI,
      "time to ask the CA's renewal information", I, LC_STAGE_RENEWING,
      LC_DO_NONE },
    { I, LC_STAGE_VERIFYING, S_BUSY | S_REISSUE, LC_EV_DNS, E_VERIFIED,
      "a reissue", I, LC_STAGE_RENEWING, LC_DO_NONE },
    { I, LC_STAGE_VERIFYING, S_BUSY, LC_EV_DNS, E_FAILED,
      "moved away: still served", U, LC_STAGE_FAILED, LC_DO_NONE },
    { I, LC_STAGE_VERIFYING, S_BUSY, LC_EV_DNS, E_TRANSIENT,
      "no answer: kept", I, LC_STAGE_ISSUED, LC_DO_NONE },
    { U, LC_STAGE_VERIFYING, S_BUSY | S_MOVED, LC_EV_DNS, E_VERIFIED,
      "moved back: the same certificate", I, LC_STAGE_ISSUED, LC_DO_NONE },
    { U, LC_STAGE_VERIFYING, S_BUSY | S_MOVED, LC_EV_DNS, E_TRANSIENT,
      "moved, no answer", U, LC_STAGE_FAILED, LC_DO_NONE },

    /* renewal */

    { I, LC_STAGE_RENEWING, S_BUSY, LC_EV_RENEW, 0,
      "before the renewal time", I, LC_STAGE_ISSUED, LC_DO_NONE },
    { I, LC_STAGE_RENEWING, S_BUSY | S_RENEW_DUE, LC_EV_RENEW, 0,
      "the renewal time came", I, LC_STAGE_RENEWING, LC_DO_ORDER },
    { I, LC_STAGE_RENEWING, S_BUSY | S_ARI_DUE, LC_EV_RENEW, E_CERT_ID,
      "time to ask the CA", I, LC_STAGE_RENEWING, LC_DO_ASK_ARI },
    { I, LC_STAGE_RENEWING, S_BUSY, LC_EV_ARI, E_OK | E_LATER,
      "a window to come: planned", I, LC_STAGE_ISSUED, LC_DO_NONE },
    { I, LC_STAGE_RENEWING, S_BUSY, LC_EV_ARI, E_OK,
      "the window is open", I, LC_STAGE_RENEWING, LC_DO_ORDER },
    { I, LC_STAGE_RENEWING, S_BUSY, LC_EV_ARI_FAILED, 0,
      "before the renewal time", I, LC_STAGE_ISSUED, LC_DO_NONE },
    { I, LC_STAGE_RENEWING, S_BUSY | S_RENEW_DUE, LC_EV_ARI_FAILED, 0,
      "the renewal time came", I, LC_STAGE_RENEWING, LC_DO_ORDER },

    /* orders */

    { P, LC_STAGE_ORDERING, S_BUSY, LC_EV_ISSUED, 0,
      "the certificate stored", I, LC_STAGE_ISSUED, LC_DO_NONE },
    { I, LC_STAGE_RENEWING, S_BUSY, LC_EV_ISSUED, 0,
      "renewed", I, LC_STAGE_ISSUED, LC_DO_NONE },
    { P, LC_STAGE_ORDERING, S_BUSY, LC_EV_ORDER_FAILED, 0,
      "the CA refused", U, LC_STAGE_FAILED, LC_DO_NONE },
    { P, LC_STAGE_ORDERING, S_BUSY, LC_EV_ORDER_FAILED, E_TRANSIENT,
      "transient: backoff", P, LC_STAGE_ORDERING, LC_DO_NONE },
    { P, LC_STAGE_ORDERING, S_BUSY, LC_EV_ORDER_FAILED, E_NO_ACCOUNT,
      "not placed: no account yet", P, LC_STAGE_ORDERING, LC_DO_NONE },
    { P, LC_STAGE_ORDERING, S_BUSY, LC_EV_ORDER_FAILED, E_NO_ACCOUNT_AT_CA,
      "the CA forgot the account: again now", P, LC_STAGE_ORDERING,
      LC_DO_NONE },
    { I, LC_STAGE_RENEWING, S_BUSY, LC_EV_ORDER_FAILED, 0,
      "a renewal: again in 100 min", I, LC_STAGE_ISSUED, LC_DO_NONE },
    { I, LC_STAGE_RENEWING, S_BUSY, LC_EV_ORDER_FAILED, E_TRANSIENT,
      "a renewal, transient: backoff", I, LC_STAGE_RENEWING, LC_DO_NONE },
    { I, LC_STAGE_ISSUED, S_EXPIRED, LC_EV_EXPIRED, 0,
      "no successor", U, LC_STAGE_FAILED, LC_DO_NONE },

    /* the store */

    { U, LC_STAGE_NONE, 0, LC_EV_LOADED, E_OK,
      "a valid certificate", I, LC_STAGE_ISSUED, LC_DO_NONE },
    { U, LC_STAGE_NONE, 0, LC_EV_LOADED, 0,
      "files that cannot be used", U, LC_STAGE_FAILED, LC_DO_NONE },
    { I, LC_STAGE_ISSUED, 0, LC_EV_SEEN, 0,
      "a reload: the renewal pass", I, LC_STAGE_ISSUED, LC_DO_NONE },
    { I, LC_STAGE_ISSUED, 0, LC_EV_GONE, 0,
      "the files are gone", U, LC_STAGE_FAILED, LC_DO_NONE },
};

#undef U
#undef P
#undef I


static lc_lifecycle_conf_t  conf = {
    67,             /* renew_at */
    DAY,            /* reverify_interval */
    1,              /* verify */
    1,              /* ask */
    600,            /* negative_ttl */
    1               /* on_demand */
};

static const lc_error_t  problem = {
    "urn:ietf:params:acme:error:unauthorized", "the CA said no"
};

static const lc_error_t  busy_other = {
    "fleet_busy", "another edge of the fleet is ordering it: edge-z"
};


/* an issued domain's certificate: 90 days, renew_at to come */

static void
issued_cert(lc_lifecycle_t *rec, unsigned situation)
{
    rec->not_before = NOW - 10 * DAY;
    rec->not_after = NOW + 80 * DAY;

    if (situation & S_RENEW_DUE) {
        rec->not_before = NOW - 70 * DAY;
        rec->not_after = NOW + 20 * DAY;
    }

    if (situation & S_EXPIRED) {
        rec->not_before = NOW - 90 * DAY;
        rec->not_after = NOW - 1;
    }
}


static void
make_record(lc_lifecycle_t *rec, lc_status_e status, lc_stage_e stage,
    unsigned situation)
{
    memset(rec, 0, sizeof(lc_lifecycle_t));

    rec->status = status;
    rec->stage = stage;
    rec->moved = (situation & S_MOVED) != 0;
    rec->candidate = (situation & S_CANDIDATE) != 0;
    rec->busy = (situation & S_BUSY) != 0;
    rec->reissue = (situation & S_REISSUE) != 0;
    rec->attempts = (situation & S_ATTEMPTS) ? 2 : 0;
    rec->updated_at = NOW - 100;
    rec->ari_at = (situation & S_ARI_DUE) ? NOW - 1 : NOW + 3600;

    if (situation & S_DUE_NOW) {
        rec->due = NOW_MS - 10;

    } else if (rec->busy) {
        rec->due = NOW_MS + 300000;
    }

    if (status == LC_STATUS_ISSUED || rec->moved) {
        issued_cert(rec, situation);
    }
}


static void
make_event(lc_lifecycle_event_t *ev, lc_lifecycle_event_e type,
    unsigned details)
{
    static const lc_error_t  dns_error = {
        "dns_mismatch", "points elsewhere"
    };
    static const lc_error_t  account_lost = {
        "urn:ietf:params:acme:error:accountDoesNotExist", "no such account"
    };

    memset(ev, 0, sizeof(lc_lifecycle_event_t));

    ev->type = type;
    ev->now = NOW;
    ev->now_ms = NOW_MS;
    ev->random[0] = 12345;
    ev->random[1] = 67890;
    ev->reissue = (details & E_REISSUE) != 0;
    ev->claimed = (details & E_CLAIMED) != 0;
    ev->limits = (details & E_ALLOWED) ? LC_LIFECYCLE_ALLOWED
                 : (details & E_DENIED) ? LC_LIFECYCLE_DENIED
                 : LC_LIFECYCLE_UNASKED;
    ev->dns = (details & E_VERIFIED) ? LC_VERIFY_VERIFIED
              : (details & E_TRANSIENT) ? LC_VERIFY_TRANSIENT
              : LC_VERIFY_FAILED;
    ev->acme = (details & E_NO_ACME) ? 0 : LC_LIFECYCLE_ACME;
    ev->acme |= (details & E_ARI) ? LC_LIFECYCLE_ARI : 0;
    ev->orders = !(details & E_NO_ORDERS);
    ev->lease = 300000;
    ev->transient = (details & E_NO_ACCOUNT) ? LC_LIFECYCLE_NO_ACCOUNT
                    : (details & E_TRANSIENT) ? 1 : 0;
    ev->ok = (details & E_OK) != 0;
    ev->start = (details & E_LATER) ? NOW + 2 * DAY : NOW - DAY;
    ev->end = ev->start + DAY;
    ev->cert_id = (details & E_CERT_ID) != 0;
    ev->not_before = NOW - 60;
    ev->not_after = NOW + 90 * DAY - 60;
    ev->at = NOW + 120;
    ev->issued = 10;
    ev->error = (type == LC_EV_DNS) ? &dns_error
                : (details & E_NO_ACCOUNT_AT_CA) ? &account_lost : &problem;
}


static lc_lifecycle_result_t
run(lc_lifecycle_t *rec, lc_lifecycle_event_e type, unsigned details)
{
    lc_lifecycle_event_t   ev;
    lc_lifecycle_result_t  res;

    make_event(&ev, type, details);
    lc_lifecycle_step(rec, &conf, &ev, &res);

    return res;
}


static void
state_text(char *buf, size_t size, lc_status_e status, lc_stage_e stage,
    unsigned situation)
{
    snprintf(buf, size, "`%s` / `%s`%s", lc_status_name(status),
             lc_stage_name(stage),
             (situation & S_MOVED) ? ", moved"
             : (situation & S_CANDIDATE) ? ", candidate" : "");
}


/* README's line for a row */

static void
row_line(const row_t *row, char *buf, size_t size)
{
    char  from[64], to[64];

    state_text(from, sizeof(from), row->status, row->stage, row->situation);
    state_text(to, sizeof(to), row->to_status, row->to_stage, 0);

    snprintf(buf, size, "| %s | %s | %s | %s | %s |", from,
             lc_lifecycle_event_name(row->event), row->when,
             row->action == LC_DO_REMOVE ? "(removed)" : to,
             lc_lifecycle_action_name(row->action));
}


/* every row of the table, through the transition function */

static void
test_table(void **state)
{
    int                    bad;
    size_t                 i;
    char                   line[256];
    lc_lifecycle_t         rec;
    lc_lifecycle_result_t  res;

    (void) state;

    bad = 0;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        make_record(&rec, rows[i].status, rows[i].stage, rows[i].situation);
        res = run(&rec, rows[i].event, rows[i].details);

        row_line(&rows[i], line, sizeof(line));

        if (rec.status != rows[i].to_status || rec.stage != rows[i].to_stage
            || res.action != rows[i].action)
        {
            print_error("%s\n  got %s / %s, %s\n", line,
                        lc_status_name(rec.status), lc_stage_name(rec.stage),
                        lc_lifecycle_action_name(res.action));
            bad = 1;
        }
    }

    assert_int_equal(bad, 0);
}


/* README.md's table is the rows above, in order */

static void
test_readme(void **state)
{
    FILE    *f;
    char    *p;
    size_t   i, n, len;
    char     path[4096], line[512], want[256];
    int      in, bad;

    (void) state;

    /* this file is src/tests/test_lifecycle.c: README is two up */

    snprintf(path, sizeof(path), "%s", __FILE__);
    p = strstr(path, "src/tests/test_lifecycle.c");
    assert_non_null(p);
    strcpy(p, "README.md");

    f = fopen(path, "r");
    assert_non_null(f);

    in = 0;
    bad = 0;
    n = 0;

    while (fgets(line, sizeof(line), f)) {
        len = strlen(line);

        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
            line[--len] = '\0';
        }

        if (!in) {
            in = (strcmp(line, "| from | event | when | to | then |") == 0);
            continue;
        }

        if (strncmp(line, "|---", 4) == 0) {
            continue;
        }

        if (line[0] != '|') {
            break;
        }

        if (n < sizeof(rows) / sizeof(rows[0])) {
            row_line(&rows[n], want, sizeof(want));

            if (strcmp(line, want) != 0) {
                print_error("README: \"%s\"\n  the code: \"%s\"\n", line,
                            want);
                bad = 1;
            }

        } else {
            print_error("README has a row the code has not: \"%s\"\n", line);
            bad = 1;
        }

        n++;
    }

    fclose(f);

    if (!in || bad || n != sizeof(rows) / sizeof(rows[0])) {
        print_error("README.md's lifecycle table should read:\n\n"
                    "| from | event | when | to | then |\n"
                    "|---|---|---|---|---|\n");

        for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
            row_line(&rows[i], want, sizeof(want));
            print_error("%s\n", want);
        }

        fail_msg("README.md's lifecycle table and the code disagree");
    }
}


/* 1 min, 10 min, 100 min, each +/-10% */

static void
test_backoff(void **state)
{
    (void) state;

    assert_int_equal(lc_lifecycle_backoff_base(0), 60);
    assert_int_equal(lc_lifecycle_backoff_base(1), 60);
    assert_int_equal(lc_lifecycle_backoff_base(2), 600);
    assert_int_equal(lc_lifecycle_backoff_base(3), 6000);
    assert_int_equal(lc_lifecycle_backoff_base(200), 6000);

    assert_int_equal(lc_lifecycle_backoff(1, 0), 54);
    assert_int_equal(lc_lifecycle_backoff(1, 12), 66);
    assert_int_equal(lc_lifecycle_backoff(1, 13), 54);
    assert_int_equal(lc_lifecycle_backoff(2, 120), 660);
    assert_int_equal(lc_lifecycle_backoff(3, 0), 5400);
    assert_int_equal(lc_lifecycle_backoff(3, 1200), 6600);
}


/* the account: 1 s doubling to 5 min, or the backoff; Retry-After wins */

static void
test_account_retry(void **state)
{
    (void) state;

    assert_int_equal(lc_lifecycle_account_retry(1, 1, 0), 1);
    assert_int_equal(lc_lifecycle_account_retry(2, 1, 0), 2);
    assert_int_equal(lc_lifecycle_account_retry(9, 1, 0), 256);
    assert_int_equal(lc_lifecycle_account_retry(10, 1, 0), 300);
    assert_int_equal(lc_lifecycle_account_retry(1000, 1, 0), 300);
    assert_int_equal(lc_lifecycle_account_retry(0, 1, 0), 1);

    assert_int_equal(lc_lifecycle_account_retry(1, 0, 0), 60);
    assert_int_equal(lc_lifecycle_account_retry(2, 0, 0), 600);
    assert_int_equal(lc_lifecycle_account_retry(3, 0, 0), 6000);

    assert_int_equal(lc_lifecycle_account_retry(1, 1, 30), 30);
    assert_int_equal(lc_lifecycle_account_retry(3, 0, 30), 6000);
}


static void
test_post(void **state)
{
    lc_lifecycle_t         rec;
    lc_lifecycle_result_t  res;

    (void) state;

    /* a candidate the CRM asks for: kept, its refusal over */

    make_record(&rec, LC_STATUS_UNKNOWN, LC_STAGE_FAILED, S_CANDIDATE);
    lc_error_set(&rec.error, LC_ERR_DNS_MISMATCH, "elsewhere");
    rec.error_at = NOW - 50;
    rec.attempts = 2;

    res = run(&rec, LC_EV_POST, 0);

    assert_int_equal(res.post, LC_POST_STARTED);
    assert_true(res.flags & LC_LIFE_UNREFUSE);
    assert_true(res.flags & LC_LIFE_CHANGED);
    assert_true(res.flags & LC_LIFE_NOTIFY);
    assert_int_equal(rec.candidate, 0);
    assert_int_equal(rec.origin, LC_ORIGIN_POST);
    assert_string_equal(rec.error.type, "");
    assert_int_equal(rec.error_at, 0);
    assert_int_equal(rec.attempts, 0);
    assert_int_equal(rec.forced_at, NOW);
    assert_int_equal(rec.next_attempt_at, NOW);
    assert_int_equal(rec.updated_at, NOW);
    assert_int_equal(rec.due, NOW_MS);

    /* again within 10 s: too soon, nothing changes */

    rec.forced_at = NOW - 3;
    rec.due = 0;
    res = run(&rec, LC_EV_POST, 0);

    assert_int_equal(res.post, LC_POST_TOO_SOON);
    assert_int_equal(res.retry_after, 7);
    assert_int_equal(res.flags, 0);
    assert_int_equal(rec.due, 0);

    /* the fleet's claim is forced but does not hold the CRM's POST back */

    rec.forced_at = 0;
    res = run(&rec, LC_EV_POST, E_CLAIMED);
    assert_int_equal(res.post, LC_POST_STARTED);
    assert_int_not_equal(rec.forced_at, 0);
    rec.due = 0;
    res = run(&rec, LC_EV_POST, 0);
    assert_int_equal(res.post, LC_POST_STARTED);
    assert_int_equal(rec.forced_at, NOW);

    /* a job holds it */

    rec.forced_at = 0;
    rec.busy = 1;
    res = run(&rec, LC_EV_POST, 0);
    assert_int_equal(res.post, LC_POST_BUSY);

    /* a check due later is not one running */

    rec.busy = 0;
    rec.due = NOW_MS + 1;
    res = run(&rec, LC_EV_POST, 0);
    assert_int_equal(res.post, LC_POST_STARTED);

    /* an issued domain: a reissue keeps its status, asks for a new key */

    make_record(&rec, LC_STATUS_ISSUED, LC_STAGE_ISSUED, 0);
    res = run(&rec, LC_EV_POST, E_REISSUE | E_ALLOWED);

    assert_int_equal(res.post, LC_POST_REISSUE);
    assert_int_equal(rec.reissue, 1);
    assert_false(res.flags & LC_LIFE_CHANGED);

    make_record(&rec, LC_STATUS_ISSUED, LC_STAGE_ISSUED, S_REISSUE);
    res = run(&rec, LC_EV_POST, 0);

    assert_int_equal(res.post, LC_POST_RECHECK);
    assert_int_equal(rec.reissue, 0);

    /* a reissue of a domain with no certificate is a start */

    make_record(&rec, LC_STATUS_PENDING, LC_STAGE_ORDERING, 0);
    res = run(&rec, LC_EV_POST, E_REISSUE);

    assert_int_equal(res.action, LC_DO_NONE);
    assert_int_equal(res.post, LC_POST_STARTED);
    assert_int_equal(rec.reissue, 0);
}


static void
test_admit(void **state)
{
    lc_lifecycle_t         rec;
    lc_lifecycle_result_t  res;

    (void) state;

    make_record(&rec, LC_STATUS_UNKNOWN, LC_STAGE_NONE, 0);
    res = run(&rec, LC_EV_ADMIT, 0);

    assert_int_equal(rec.candidate, 1);
    assert_int_equal(rec.origin, LC_ORIGIN_ON_DEMAND);
    assert_int_equal(rec.next_attempt_at, NOW);
    assert_int_equal(rec.due, NOW_MS);
    assert_int_equal(res.counters, LC_COUNT_ADMITTED);
    assert_false(res.flags & LC_LIFE_NOTIFY);
}


/* a candidate the DNS refused: not admitted again for a while */

static void
test_candidate_refused(void **state)
{
    lc_lifecycle_t         rec;
    lc_lifecycle_result_t  res;

    (void) state;

    make_record(&rec, LC_STATUS_PENDING, LC_STAGE_VERIFYING,
                S_CANDIDATE | S_BUSY);
    res = run(&rec, LC_EV_DNS, E_FAILED);

    assert_int_equal(res.action, LC_DO_REMOVE);
    assert_int_equal(res.ttl, LC_LIFECYCLE_DNS_RETRY);
    assert_int_equal(res.counters, LC_COUNT_DNS_FAILED
                                   | LC_COUNT_REFUSED_DNS);
    assert_false(res.flags & LC_LIFE_NOTIFY);

    make_record(&rec, LC_STATUS_PENDING, LC_STAGE_VERIFYING,
                S_CANDIDATE | S_BUSY);
    res = run(&rec, LC_EV_DNS, E_TRANSIENT);

    assert_int_equal(res.ttl, LC_LIFECYCLE_DNS_NO_ANSWER);
    assert_int_equal(res.counters, LC_COUNT_DNS_TRANSIENT
                                   | LC_COUNT_REFUSED_DNS);

    /* never longer than linkcert_negative_ttl */

    conf.negative_ttl = 20;
    make_record(&rec, LC_STATUS_PENDING, LC_STAGE_VERIFYING,
                S_CANDIDATE | S_BUSY);
    res = run(&rec, LC_EV_DNS, E_TRANSIENT);
    conf.negative_ttl = 600;

    assert_int_equal(res.ttl, 20);

    /*
     * linkcert_ask: linkcert_negative_ttl, a minute at most without an
     * answer; a domain no longer a candidate is verified at once
     */

    make_record(&rec, LC_STATUS_PENDING, LC_STAGE_VERIFYING,
                S_CANDIDATE | S_BUSY);
    res = run(&rec, LC_EV_REFUSE, E_OK);

    assert_int_equal(res.ttl, 600);
    assert_int_equal(res.counters, LC_COUNT_REFUSED_ASK);

    make_record(&rec, LC_STATUS_PENDING, LC_STAGE_VERIFYING,
                S_CANDIDATE | S_BUSY);
    res = run(&rec, LC_EV_REFUSE, 0);
    assert_int_equal(res.ttl, 60);

    conf.negative_ttl = 20;
    make_record(&rec, LC_STATUS_PENDING, LC_STAGE_VERIFYING,
                S_CANDIDATE | S_BUSY);
    res = run(&rec, LC_EV_REFUSE, 0);
    conf.negative_ttl = 600;
    assert_int_equal(res.ttl, 20);

    make_record(&rec, LC_STATUS_PENDING, LC_STAGE_VERIFYING, S_BUSY);
    res = run(&rec, LC_EV_REFUSE, 0);

    assert_int_equal(res.action, LC_DO_NONE);
    assert_int_equal(rec.busy, 0);
    assert_int_equal(rec.due, NOW_MS);
}


static void
test_due(void **state)
{
    lc_lifecycle_t         rec;
    lc_lifecycle_result_t  res;

    (void) state;

    /* leased: due again when the lease ends */

    make_record(&rec, LC_STATUS_PENDING, LC_STAGE_ORDERING, S_DUE_NOW);
    res = run(&rec, LC_EV_DUE, 0);

    assert_int_equal(rec.busy, 1);
    assert_int_equal(rec.due, NOW_MS + 300000);
    assert_true(res.flags & LC_LIFE_BUDGET);

    /* renewals are exempt from the budgets */

    make_record(&rec, LC_STATUS_ISSUED, LC_STAGE_RENEWING, S_DUE_NOW);
    res = run(&rec, LC_EV_DUE, 0);
    assert_false(res.flags & (LC_LIFE_BUDGET | LC_LIFE_BUDGET_TAKE));

    /* a name the CRM asked for takes its share, never waits */

    make_record(&rec, LC_STATUS_PENDING, LC_STAGE_ORDERING, S_DUE_NOW);
    rec.forced_at = NOW - 100;
    res = run(&rec, LC_EV_DUE, 0);
    assert_int_equal(res.flags & (LC_LIFE_BUDGET | LC_LIFE_BUDGET_TAKE),
                     LC_LIFE_BUDGET_TAKE);

    /* without on demand, no budget at all */

    conf.on_demand = 0;
    make_record(&rec, LC_STATUS_PENDING, LC_STAGE_ORDERING, S_DUE_NOW);
    res = run(&rec, LC_EV_DUE, 0);
    conf.on_demand = 1;
    assert_false(res.flags & (LC_LIFE_BUDGET | LC_LIFE_BUDGET_TAKE));
    assert_int_equal(res.action, LC_DO_ORDER);

    /* an order waiting for a slot is left as it is */

    make_record(&rec, LC_STATUS_PENDING, LC_STAGE_ORDERING, S_DUE_NOW);
    res = run(&rec, LC_EV_DUE, E_NO_ORDERS);
    assert_int_equal(rec.busy, 0);
    assert_int_equal(rec.due, NOW_MS - 10);

    /* without linkcert_ask, a candidate is verified */

    conf.ask = 0;
    make_record(&rec, LC_STATUS_PENDING, LC_STAGE_VERIFYING, S_CANDIDATE);
    res = run(&rec, LC_EV_DUE, 0);
    conf.ask = 1;
    assert_int_equal(res.action, LC_DO_VERIFY);

    /* expired: not served, not scheduled, why */

    make_record(&rec, LC_STATUS_ISSUED, LC_STAGE_ISSUED,
                S_EXPIRED | S_DUE_NOW);
    res = run(&rec, LC_EV_DUE, 0);

    assert_int_equal(rec.due, 0);
    assert_int_equal(rec.busy, 0);
    assert_string_equal(rec.error.type, "expired");
    assert_int_equal(rec.error_at, NOW);
    assert_int_equal(rec.next_attempt_at, 0);
    assert_true(res.flags & LC_LIFE_NOTIFY);

    /* a moved domain's certificate expires too */

    make_record(&rec, LC_STATUS_UNKNOWN, LC_STAGE_FAILED,
                S_MOVED | S_EXPIRED);
    res = run(&rec, LC_EV_DUE, 0);
    assert_int_equal(rec.moved, 0);
    assert_string_equal(rec.error.type, "expired");
}


static void
test_budget(void **state)
{
    lc_lifecycle_t         rec;
    lc_lifecycle_result_t  res;

    (void) state;

    make_record(&rec, LC_STATUS_PENDING, LC_STAGE_ORDERING, S_DUE_NOW);
    res = run(&rec, LC_EV_BUDGET, 0);

    assert_int_equal(rec.next_attempt_at, NOW + 120);
    assert_int_equal(rec.due, (uint64_t) (NOW + 120) * 1000);
    assert_string_equal(rec.error.type, problem.type);
    assert_int_equal(res.flags, LC_LIFE_CHANGED | LC_LIFE_NOTIFY);
}


static void
test_lease_lost(void **state)
{
    lc_lifecycle_t  rec;

    (void) state;

    make_record(&rec, LC_STATUS_ISSUED, LC_STAGE_RENEWING, S_BUSY);
    rec.repass = 1;
    (void) run(&rec, LC_EV_LEASE_LOST, 0);

    assert_int_equal(rec.busy, 0);
    assert_int_equal(rec.repass, 0);
    assert_int_equal(rec.due, NOW_MS);
}


static void
test_dns_verified(void **state)
{
    lc_lifecycle_t         rec;
    lc_lifecycle_event_t   ev;
    lc_lifecycle_result_t  res;

    (void) state;

    make_record(&rec, LC_STATUS_PENDING, LC_STAGE_VERIFYING,
                S_BUSY | S_ATTEMPTS);
    lc_error_set(&rec.error, LC_ERR_DNS_TIMEOUT, "no answer");
    res = run(&rec, LC_EV_DNS, E_VERIFIED);

    assert_int_equal(res.counters, LC_COUNT_DNS_VERIFIED);
    assert_int_equal(rec.busy, 0);
    assert_int_equal(rec.attempts, 0);
    assert_string_equal(rec.error.type, "");
    assert_int_equal(rec.next_attempt_at, NOW);
    assert_int_equal(rec.due, (uint64_t) NOW * 1000);
    assert_int_equal(rec.updated_at, NOW);

    /* no CA: verified, and why it is not ordered */

    make_record(&rec, LC_STATUS_PENDING, LC_STAGE_VERIFYING, S_BUSY);
    (void) run(&rec, LC_EV_DNS, E_VERIFIED | E_NO_ACME);

    assert_string_equal(rec.error.type, "no_acme_directory");
    assert_int_equal(rec.error_at, NOW);
    assert_int_equal(rec.due, 0);

    /* two failed validations within the hour: the next order waits */

    make_record(&rec, LC_STATUS_PENDING, LC_STAGE_VERIFYING, S_BUSY);
    rec.val_failures = 2;
    rec.val_window = NOW - 100;
    (void) run(&rec, LC_EV_DNS, E_VERIFIED);

    assert_string_equal(rec.error.type, "validation_limit");
    assert_int_equal(rec.next_attempt_at, NOW + 3500);
    assert_int_equal(rec.due, (uint64_t) (NOW + 3500) * 1000);

    /* an hour later, no wait */

    make_record(&rec, LC_STATUS_PENDING, LC_STAGE_VERIFYING, S_BUSY);
    rec.val_failures = 2;
    rec.val_window = NOW - 3600;
    (void) run(&rec, LC_EV_DNS, E_VERIFIED);
    assert_int_equal(rec.next_attempt_at, NOW);

    /* the account not known yet: an issued domain goes to the driver */

    make_record(&rec, LC_STATUS_ISSUED, LC_STAGE_VERIFYING, S_BUSY);
    make_event(&ev, LC_EV_DNS, E_VERIFIED);
    ev.acme |= LC_LIFECYCLE_ACCOUNT;
    lc_lifecycle_step(&rec, &conf, &ev, &res);
    assert_int_equal(rec.stage, LC_STAGE_RENEWING);

    /* a reissue without a CA is forgotten */

    make_record(&rec, LC_STATUS_ISSUED, LC_STAGE_VERIFYING,
                S_BUSY | S_REISSUE);
    (void) run(&rec, LC_EV_DNS, E_VERIFIED | E_NO_ACME);
    assert_int_equal(rec.stage, LC_STAGE_ISSUED);
    assert_int_equal(rec.reissue, 0);

    /* the renewal planned in the CA's window has come */

    make_record(&rec, LC_STATUS_ISSUED, LC_STAGE_VERIFYING, S_BUSY);
    rec.renew_ari = NOW;
    (void) run(&rec, LC_EV_DNS, E_VERIFIED);
    assert_int_equal(rec.stage, LC_STAGE_RENEWING);
}


static void
test_dns_transient(void **state)
{
    lc_lifecycle_t         rec;
    lc_lifecycle_result_t  res;
    time_t                 delay;

    (void) state;

    make_record(&rec, LC_STATUS_PENDING, LC_STAGE_VERIFYING, S_BUSY);
    res = run(&rec, LC_EV_DNS, E_TRANSIENT);
    delay = lc_lifecycle_backoff(1, 12345);

    assert_int_equal(res.counters, LC_COUNT_DNS_TRANSIENT);
    assert_int_equal(rec.attempts, 1);
    assert_string_equal(rec.error.type, "dns_mismatch");
    assert_int_equal(rec.error_at, NOW);
    assert_int_equal(rec.next_attempt_at, NOW + delay);
    assert_int_equal(rec.due, NOW_MS + (uint64_t) delay * 1000);

    /* the third: an error of its own */

    make_record(&rec, LC_STATUS_PENDING, LC_STAGE_VERIFYING,
                S_BUSY | S_ATTEMPTS);
    (void) run(&rec, LC_EV_DNS, E_TRANSIENT);

    assert_int_equal(rec.attempts, 3);
    assert_string_equal(rec.error.type, "dns_unreachable");
    assert_string_equal(rec.error.detail,
                        "no answer from DNS 3 times; last: points elsewhere");
    assert_int_equal(rec.next_attempt_at,
                     NOW + lc_lifecycle_backoff(3, 12345));
}


static void
test_dns_moved(void **state)
{
    lc_lifecycle_t  rec;

    (void) state;

    make_record(&rec, LC_STATUS_ISSUED, LC_STAGE_VERIFYING,
                S_BUSY | S_REISSUE);
    (void) run(&rec, LC_EV_DNS, E_FAILED);

    assert_int_equal(rec.moved, 1);
    assert_int_equal(rec.reissue, 0);
    assert_string_equal(rec.error.type, "dns_mismatch");
    assert_int_equal(rec.next_attempt_at, NOW + 3600);
    assert_int_equal(rec.due, NOW_MS + 3600000);
    assert_int_equal(lc_lifecycle_serving(&rec), 1);

    /* back: issued with the same certificate, no error */

    rec.busy = 1;
    (void) run(&rec, LC_EV_DNS, E_VERIFIED);

    assert_int_equal(rec.moved, 0);
    assert_int_equal(rec.status, LC_STATUS_ISSUED);
    assert_string_equal(rec.error.type, "");

    /* an hourly check never goes past expiry */

    make_record(&rec, LC_STATUS_ISSUED, LC_STAGE_VERIFYING, S_BUSY);
    rec.not_after = NOW + 60;
    (void) run(&rec, LC_EV_DNS, E_FAILED);
    assert_int_equal(rec.due, (uint64_t) (NOW + 60) * 1000);
}


/* an issued domain's next work: the earliest of its duties */

static void
test_schedule_issued(void **state)
{
    time_t          check, renew;
    lc_lifecycle_t  rec;

    (void) state;

    check = NOW + DAY - DAY / 10 + 12345 % (DAY / 5 + 1);

    /* the periodic check comes first */

    make_record(&rec, LC_STATUS_ISSUED, LC_STAGE_VERIFYING, S_BUSY);
    rec.ari_at = NOW - 1;
    (void) run(&rec, LC_EV_DNS, E_VERIFIED);

    assert_int_equal(rec.stage, LC_STAGE_ISSUED);
    assert_int_equal(rec.due, (uint64_t) check * 1000);
    assert_int_equal(rec.next_attempt_at, 0);

    /* the next question to the CA, if sooner */

    make_record(&rec, LC_STATUS_ISSUED, LC_STAGE_VERIFYING, S_BUSY);
    rec.ari_at = NOW + 600;
    (void) run(&rec, LC_EV_DNS, E_VERIFIED);
    assert_int_equal(rec.due, (uint64_t) (NOW + 600) * 1000);

    /* the renewal, if sooner: renew_at, or the time planned in the window */

    make_record(&rec, LC_STATUS_ISSUED, LC_STAGE_VERIFYING, S_BUSY);
    rec.not_before = NOW - 60 * DAY;
    rec.not_after = NOW + 30 * DAY;
    rec.ari_at = NOW - 1;
    renew = lc_lifecycle_renew_time(rec.not_before, rec.not_after, 67);
    assert_true(renew > NOW && renew < check);
    (void) run(&rec, LC_EV_DNS, E_VERIFIED);
    assert_int_equal(rec.due, (uint64_t) renew * 1000);

    make_record(&rec, LC_STATUS_ISSUED, LC_STAGE_VERIFYING, S_BUSY);
    rec.renew_ari = NOW + 300;
    (void) run(&rec, LC_EV_DNS, E_VERIFIED);
    assert_int_equal(rec.due, (uint64_t) (NOW + 300) * 1000);

    /* nothing to verify with: expiry alone */

    conf.verify = 0;
    make_record(&rec, LC_STATUS_ISSUED, LC_STAGE_VERIFYING, S_BUSY);
    (void) run(&rec, LC_EV_DNS, E_VERIFIED);
    conf.verify = 1;
    assert_int_equal(rec.due, (uint64_t) rec.not_after * 1000);

    assert_int_equal(lc_lifecycle_renew_time(1000, 2000, 67), 1670);

    /* the renewal the status API shows */

    make_record(&rec, LC_STATUS_ISSUED, LC_STAGE_ISSUED, 0);
    renew = lc_lifecycle_renew_time(rec.not_before, rec.not_after, 67);
    assert_int_equal(lc_lifecycle_renewal(&rec, &conf), renew);
    rec.renew_ari = renew - 1;
    assert_int_equal(lc_lifecycle_renewal(&rec, &conf), renew - 1);
    rec.renew_ari = renew + 1;
    assert_int_equal(lc_lifecycle_renewal(&rec, &conf), renew);

    make_record(&rec, LC_STATUS_UNKNOWN, LC_STAGE_FAILED, S_MOVED);
    assert_int_equal(lc_lifecycle_renewal(&rec, &conf), 0);
}


static void
test_renew(void **state)
{
    lc_lifecycle_t         rec;
    lc_lifecycle_result_t  res;

    (void) state;

    /* not the time: the job ends, the window's plan kept */

    make_record(&rec, LC_STATUS_ISSUED, LC_STAGE_RENEWING, S_BUSY);
    rec.renew_ari = NOW + 5000;
    res = run(&rec, LC_EV_RENEW, E_CERT_ID);

    assert_int_equal(res.action, LC_DO_NONE);
    assert_int_equal(rec.busy, 0);
    assert_int_equal(rec.renew_ari, NOW + 5000);
    assert_int_equal(rec.ari_at, NOW + 3600);
    assert_int_equal(rec.due, (uint64_t) (NOW + 3600) * 1000);

    /* the planned time has come: the order replaces the certificate */

    make_record(&rec, LC_STATUS_ISSUED, LC_STAGE_RENEWING, S_BUSY);
    rec.renew_ari = NOW;
    res = run(&rec, LC_EV_RENEW, E_CERT_ID);

    assert_int_equal(res.action, LC_DO_ORDER);
    assert_int_equal(res.replaces, 1);
    assert_int_equal(rec.busy, 1);

    /* without the certificate's ID, no question and no replaces */

    make_record(&rec, LC_STATUS_ISSUED, LC_STAGE_RENEWING,
                S_BUSY | S_ARI_DUE | S_RENEW_DUE);
    res = run(&rec, LC_EV_RENEW, 0);

    assert_int_equal(res.action, LC_DO_ORDER);
    assert_int_equal(res.replaces, 0);

    /* a domain no longer issued is ordered */

    make_record(&rec, LC_STATUS_PENDING, LC_STAGE_ORDERING, S_BUSY);
    res = run(&rec, LC_EV_RENEW, E_CERT_ID);
    assert_int_equal(res.action, LC_DO_ORDER);
}


static void
test_ari(void **state)
{
    lc_lifecycle_t         rec;
    lc_lifecycle_event_t   ev;
    lc_lifecycle_result_t  res;

    (void) state;

    /* a window to come: a time in it, the CA asked again in 12 hours */

    make_record(&rec, LC_STATUS_ISSUED, LC_STAGE_RENEWING, S_BUSY);
    res = run(&rec, LC_EV_ARI, E_OK | E_LATER);

    assert_int_equal(rec.renew_ari, NOW + 2 * DAY + 67890 % DAY);
    assert_int_equal(rec.ari_at, lc_acme_ari_next(NOW, 0));
    assert_int_equal(rec.ari_at, NOW + LC_ACME_ARI_INTERVAL);
    assert_int_equal(rec.busy, 0);

    /* a longer Retry-After is kept */

    make_record(&rec, LC_STATUS_ISSUED, LC_STAGE_RENEWING, S_BUSY);
    make_event(&ev, LC_EV_ARI, E_OK | E_LATER);
    ev.retry_after = 20 * 3600;
    lc_lifecycle_step(&rec, &conf, &ev, &res);
    assert_int_equal(rec.ari_at, NOW + 20 * 3600);

    /* renew_at before the window wins */

    make_record(&rec, LC_STATUS_ISSUED, LC_STAGE_RENEWING, S_BUSY);
    make_event(&ev, LC_EV_ARI, E_OK);
    ev.start = NOW + 60 * DAY;
    ev.end = NOW + 61 * DAY;
    lc_lifecycle_step(&rec, &conf, &ev, &res);
    assert_int_equal(rec.renew_ari,
                     lc_lifecycle_renew_time(rec.not_before, rec.not_after,
                                             67));

    /* an answer without a window: renew_at */

    make_record(&rec, LC_STATUS_ISSUED, LC_STAGE_RENEWING, S_BUSY);
    res = run(&rec, LC_EV_ARI, 0);
    assert_int_equal(res.action, LC_DO_NONE);
    assert_int_equal(rec.renew_ari,
                     lc_lifecycle_renew_time(rec.not_before, rec.not_after,
                                             67));

    make_record(&rec, LC_STATUS_ISSUED, LC_STAGE_RENEWING,
                S_BUSY | S_RENEW_DUE);
    res = run(&rec, LC_EV_ARI, 0);
    assert_int_equal(res.action, LC_DO_ORDER);
    assert_int_equal(res.replaces, 1);

    /* no renewal information: asked again as after an answer */

    make_record(&rec, LC_STATUS_ISSUED, LC_STAGE_RENEWING, S_BUSY);
    rec.renew_ari = NOW + 100;
    make_event(&ev, LC_EV_ARI_FAILED, 0);
    ev.retry_after = 3600;
    lc_lifecycle_step(&rec, &conf, &ev, &res);

    assert_int_equal(rec.renew_ari, 0);
    assert_int_equal(rec.ari_at, NOW + LC_ACME_ARI_INTERVAL);

    make_record(&rec, LC_STATUS_ISSUED, LC_STAGE_RENEWING,
                S_BUSY | S_RENEW_DUE);
    res = run(&rec, LC_EV_ARI_FAILED, 0);
    assert_int_equal(res.replaces, 0);
}


static void
test_issued(void **state)
{
    lc_lifecycle_t         rec;
    lc_lifecycle_result_t  res;

    (void) state;

    make_record(&rec, LC_STATUS_PENDING, LC_STAGE_ORDERING, S_BUSY);
    rec.origin = LC_ORIGIN_ON_DEMAND;
    rec.attempts = 2;
    rec.renew_ari = NOW - 5;
    lc_error_set(&rec.error, LC_ERR_ORDER_BUDGET, "spent");
    res = run(&rec, LC_EV_ISSUED, 0);

    assert_int_equal(res.counters, LC_COUNT_ORDER_ISSUED);
    assert_int_equal(res.origin, LC_ORIGIN_ON_DEMAND);
    assert_true(res.flags & LC_LIFE_NEW_CERT);
    assert_int_equal(rec.not_before, NOW - 60);
    assert_int_equal(rec.not_after, NOW + 90 * DAY - 60);
    assert_int_equal(rec.renew_ari, 0);
    assert_int_equal(rec.ari_at, NOW + 3600);
    assert_int_equal(rec.attempts, 0);
    assert_string_equal(rec.error.type, "");

    /* not renewed again within the hour: the question to the CA then */

    assert_int_equal(rec.due, (uint64_t) (NOW + 3600) * 1000);

    /* a renewal is counted as one */

    make_record(&rec, LC_STATUS_ISSUED, LC_STAGE_RENEWING, S_BUSY);
    res = run(&rec, LC_EV_ISSUED, 0);
    assert_int_equal(res.counters, LC_COUNT_ORDER_ISSUED | LC_COUNT_RENEWAL);
    assert_int_equal(res.origin, LC_ORIGIN_RENEWAL);

    /* a reissue is the CRM's order */

    make_record(&rec, LC_STATUS_ISSUED, LC_STAGE_RENEWING,
                S_BUSY | S_REISSUE);
    res = run(&rec, LC_EV_ISSUED, 0);
    assert_int_equal(res.counters, LC_COUNT_ORDER_ISSUED);
    assert_int_equal(res.origin, LC_ORIGIN_POST);
    assert_int_equal(rec.reissue, 0);

    /* a moved domain's order (reissued) is issued, not moved */

    make_record(&rec, LC_STATUS_PENDING, LC_STAGE_ORDERING,
                S_BUSY | S_MOVED);
    (void) run(&rec, LC_EV_ISSUED, 0);
    assert_int_equal(rec.moved, 0);
}


static void
test_order_failed(void **state)
{
    lc_lifecycle_t         rec;
    lc_lifecycle_event_t   ev;
    lc_lifecycle_result_t  res;
    time_t                 delay;

    (void) state;

    /* transient: backoff */

    make_record(&rec, LC_STATUS_PENDING, LC_STAGE_ORDERING, S_BUSY);
    rec.origin = LC_ORIGIN_POST;
    res = run(&rec, LC_EV_ORDER_FAILED, E_TRANSIENT);
    delay = lc_lifecycle_backoff(1, 12345);

    assert_int_equal(res.counters, LC_COUNT_ORDER_TRANSIENT);
    assert_int_equal(res.origin, LC_ORIGIN_POST);
    assert_int_equal(rec.attempts, 1);
    assert_int_equal(rec.next_attempt_at, NOW + delay);
    assert_int_equal(rec.due, NOW_MS + (uint64_t) delay * 1000);
    assert_string_equal(rec.error.type, problem.type);

    /* or the CA's Retry-After, when longer */

    make_record(&rec, LC_STATUS_PENDING, LC_STAGE_ORDERING, S_BUSY);
    make_event(&ev, LC_EV_ORDER_FAILED, E_TRANSIENT);
    ev.retry_after = 1000;
    lc_lifecycle_step(&rec, &conf, &ev, &res);
    assert_int_equal(rec.next_attempt_at, NOW + 1000);

    /* not placed: due with the account's retry, not counted */

    make_record(&rec, LC_STATUS_PENDING, LC_STAGE_ORDERING, S_BUSY);
    res = run(&rec, LC_EV_ORDER_FAILED, E_NO_ACCOUNT);

    assert_int_equal(res.counters, 0);
    assert_int_equal(rec.attempts, 0);
    assert_int_equal(rec.next_attempt_at, NOW + 1);
    assert_int_equal(rec.due, NOW_MS + 1000);

    make_record(&rec, LC_STATUS_PENDING, LC_STAGE_ORDERING, S_BUSY);
    make_event(&ev, LC_EV_ORDER_FAILED, E_NO_ACCOUNT);
    ev.retry_after = 8;
    lc_lifecycle_step(&rec, &conf, &ev, &res);
    assert_int_equal(rec.next_attempt_at, NOW + 8);

    /* the same wait again: only the next try is new, nothing notified */

    make_record(&rec, LC_STATUS_PENDING, LC_STAGE_ORDERING, S_BUSY);
    run(&rec, LC_EV_ORDER_FAILED, E_NO_ACCOUNT);
    rec.busy = 1;
    rec.updated_at = NOW - 5;
    rec.error_at = NOW - 5;
    res = run(&rec, LC_EV_ORDER_FAILED, E_NO_ACCOUNT);

    assert_int_equal(res.flags, 0);
    assert_int_equal(res.counters, 0);
    assert_int_equal(rec.busy, 0);
    assert_int_equal(rec.updated_at, NOW - 5);
    assert_int_equal(rec.error_at, NOW - 5);
    assert_int_equal(rec.status, LC_STATUS_PENDING);
    assert_int_equal(rec.due, NOW_MS + 1000);

    /* another error (another holder) is news */

    make_event(&ev, LC_EV_ORDER_FAILED, E_NO_ACCOUNT);
    ev.error = &busy_other;
    rec.busy = 1;
    lc_lifecycle_step(&rec, &conf, &ev, &res);
    assert_true(res.flags & LC_LIFE_NOTIFY);
    assert_int_equal(rec.error_at, NOW);

    /* the CA forgot the account: due now, nothing counted or shown */

    make_record(&rec, LC_STATUS_PENDING, LC_STAGE_ORDERING,
                S_BUSY | S_ATTEMPTS);
    res = run(&rec, LC_EV_ORDER_FAILED, E_NO_ACCOUNT_AT_CA);

    assert_int_equal(res.counters, 0);
    assert_int_equal(res.flags, 0);
    assert_int_equal(rec.busy, 0);
    assert_int_equal(rec.attempts, 2);
    assert_int_equal(rec.due, NOW_MS);
    assert_int_equal(rec.updated_at, NOW - 100);
    assert_string_equal(rec.error.type, "");
    assert_false(lc_lifecycle_account_lost(&problem));

    /* refused: failed validations counted within their hour */

    make_record(&rec, LC_STATUS_PENDING, LC_STAGE_ORDERING,
                S_BUSY | S_ATTEMPTS);
    rec.val_window = NOW - 4000;
    rec.val_failures = 1;
    res = run(&rec, LC_EV_ORDER_FAILED, 0);

    assert_int_equal(res.counters, LC_COUNT_ORDER_FAILED);
    assert_int_equal(rec.val_window, NOW);
    assert_int_equal(rec.val_failures, 1);
    assert_int_equal(rec.attempts, 0);
    assert_int_equal(rec.due, 0);
    assert_int_equal(rec.next_attempt_at, 0);

    rec.busy = 1;
    (void) run(&rec, LC_EV_ORDER_FAILED, 0);
    assert_int_equal(rec.val_window, NOW);
    assert_int_equal(rec.val_failures, 2);

    /* a renewal refused: again in 100 minutes, the reissue forgotten */

    make_record(&rec, LC_STATUS_ISSUED, LC_STAGE_RENEWING,
                S_BUSY | S_REISSUE);
    res = run(&rec, LC_EV_ORDER_FAILED, 0);

    assert_int_equal(res.origin, LC_ORIGIN_POST);
    assert_int_equal(rec.reissue, 0);
    assert_int_equal(rec.next_attempt_at, NOW + 6000);
    assert_int_equal(rec.due, NOW_MS + 6000000);
}


static void
test_loaded(void **state)
{
    lc_lifecycle_t         rec;
    lc_lifecycle_event_t   ev;
    lc_lifecycle_result_t  res;

    (void) state;

    /* a new entry: quiet; the pass from a second on, spread */

    make_record(&rec, LC_STATUS_UNKNOWN, LC_STAGE_NONE, 0);
    make_event(&ev, LC_EV_LOADED, E_OK);
    ev.created = 1;
    lc_lifecycle_step(&rec, &conf, &ev, &res);

    assert_int_equal(res.flags, LC_LIFE_CHANGED | LC_LIFE_NOTIFY
                                | LC_LIFE_QUIET | LC_LIFE_NEW_CERT);
    assert_int_equal(rec.ari_at, 0);
    assert_int_equal(rec.due, NOW_MS + 1000 + 12345 % 4000);

    /* 100,000 issued: 200 s */

    make_record(&rec, LC_STATUS_ISSUED, LC_STAGE_ISSUED, 0);
    make_event(&ev, LC_EV_LOADED, E_OK);
    ev.issued = 100000;
    ev.random[0] = 199999;
    ev.same = 1;
    lc_lifecycle_step(&rec, &conf, &ev, &res);

    assert_int_equal(res.flags, LC_LIFE_CHANGED | LC_LIFE_NOTIFY);
    assert_int_equal(rec.ari_at, NOW + 3600);
    assert_int_equal(rec.due, NOW_MS + 1000 + 199999);

    /* but within half the periodic check */

    conf.reverify_interval = 60;
    make_record(&rec, LC_STATUS_ISSUED, LC_STAGE_ISSUED, 0);
    lc_lifecycle_step(&rec, &conf, &ev, &res);
    conf.reverify_interval = DAY;
    assert_int_equal(rec.due, NOW_MS + 1000 + 199999 % 30000);

    /* a renewal due: from the first second, whatever the pass's spread */

    make_record(&rec, LC_STATUS_ISSUED, LC_STAGE_ISSUED, 0);
    ev.not_before = NOW - 70 * DAY;
    ev.not_after = NOW + 20 * DAY;
    lc_lifecycle_step(&rec, &conf, &ev, &res);
    assert_int_equal(rec.due, NOW_MS + 1000);

    make_record(&rec, LC_STATUS_ISSUED, LC_STAGE_ISSUED, S_RENEW_DUE);
    ev.type = LC_EV_SEEN;
    lc_lifecycle_step(&rec, &conf, &ev, &res);
    assert_int_equal(rec.due, NOW_MS + 1000);

    /* the renewal time the CA's window chose, passed */

    make_record(&rec, LC_STATUS_ISSUED, LC_STAGE_ISSUED, 0);
    rec.renew_ari = NOW - 1;
    lc_lifecycle_step(&rec, &conf, &ev, &res);
    assert_int_equal(rec.due, NOW_MS + 1000);

    /*
     * a reissue asked for: another certificate from the fleet is it (a
     * new key); the store's at a reload, or the same one, are not
     */

    make_event(&ev, LC_EV_LOADED, E_OK);
    make_record(&rec, LC_STATUS_ISSUED, LC_STAGE_VERIFYING, S_REISSUE);
    ev.fleet = 1;
    lc_lifecycle_step(&rec, &conf, &ev, &res);
    assert_int_equal(rec.reissue, 0);
    assert_int_equal(rec.stage, LC_STAGE_ISSUED);
    assert_true(res.flags & LC_LIFE_NEW_CERT);

    make_record(&rec, LC_STATUS_ISSUED, LC_STAGE_VERIFYING, S_REISSUE);
    ev.same = 1;
    lc_lifecycle_step(&rec, &conf, &ev, &res);
    assert_int_equal(rec.reissue, 1);

    make_record(&rec, LC_STATUS_ISSUED, LC_STAGE_VERIFYING, S_REISSUE);
    ev.same = 0;
    ev.fleet = 0;
    lc_lifecycle_step(&rec, &conf, &ev, &res);
    assert_int_equal(rec.reissue, 1);

    /* files that cannot be used */

    make_record(&rec, LC_STATUS_ISSUED, LC_STAGE_ISSUED, S_MOVED);
    res = run(&rec, LC_EV_LOADED, 0);

    assert_int_equal(rec.moved, 0);
    assert_int_equal(rec.not_after, 0);
    assert_string_equal(rec.error.type, problem.type);
    assert_false(res.flags & LC_LIFE_NEW_CERT);
}


/* a reload while a job holds it: checked again as soon as the job ends */

static void
test_seen(void **state)
{
    lc_lifecycle_t  rec;

    (void) state;

    make_record(&rec, LC_STATUS_ISSUED, LC_STAGE_VERIFYING, S_BUSY);
    (void) run(&rec, LC_EV_SEEN, 0);

    assert_int_equal(rec.repass, 1);
    assert_int_equal(rec.due, NOW_MS + 300000);

    (void) run(&rec, LC_EV_DNS, E_VERIFIED);

    assert_int_equal(rec.repass, 0);
    assert_int_equal(rec.due, NOW_MS);

    /* a domain without a certificate is not in the pass */

    make_record(&rec, LC_STATUS_UNKNOWN, LC_STAGE_FAILED, 0);
    (void) run(&rec, LC_EV_SEEN, 0);
    assert_int_equal(rec.due, 0);
    assert_int_equal(rec.repass, 0);
}


static void
test_gone(void **state)
{
    lc_lifecycle_t         rec;
    lc_lifecycle_result_t  res;

    (void) state;

    make_record(&rec, LC_STATUS_ISSUED, LC_STAGE_ISSUED, S_MOVED);
    res = run(&rec, LC_EV_GONE, 0);

    assert_int_equal(rec.moved, 0);
    assert_string_equal(rec.error.type, "store_unreadable");
    assert_int_equal(res.flags, LC_LIFE_CHANGED | LC_LIFE_NOTIFY);
}


static void
test_demand(void **state)
{
    lc_lifecycle_t  rec;

    (void) state;

    make_record(&rec, LC_STATUS_ISSUED, LC_STAGE_ISSUED, 0);
    assert_int_equal(lc_lifecycle_demand(&rec, NOW), LC_DEMAND_SERVED);
    assert_int_equal(lc_lifecycle_demand(&rec, rec.not_after), LC_DEMAND_NO);
    assert_int_equal(lc_lifecycle_demand(&rec, rec.not_before - 1),
                     LC_DEMAND_NO);

    make_record(&rec, LC_STATUS_UNKNOWN, LC_STAGE_FAILED, S_MOVED);
    assert_int_equal(lc_lifecycle_demand(&rec, NOW), LC_DEMAND_SERVED);

    make_record(&rec, LC_STATUS_PENDING, LC_STAGE_ORDERING, 0);
    rec.next_attempt_at = NOW;
    assert_int_equal(lc_lifecycle_demand(&rec, NOW), LC_DEMAND_WAIT);
    rec.next_attempt_at = NOW + 1;
    assert_int_equal(lc_lifecycle_demand(&rec, NOW), LC_DEMAND_NO);

    make_record(&rec, LC_STATUS_UNKNOWN, LC_STAGE_FAILED, 0);
    assert_int_equal(lc_lifecycle_demand(&rec, NOW), LC_DEMAND_NO);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_readme),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_account_retry),
        cmocka_unit_test(test_post),
        cmocka_unit_test(test_admit),
        cmocka_unit_test(test_candidate_refused),
        cmocka_unit_test(test_due),
        cmocka_unit_test(test_budget),
        cmocka_unit_test(test_lease_lost),
        cmocka_unit_test(test_dns_verified),
        cmocka_unit_test(test_dns_transient),
        cmocka_unit_test(test_dns_moved),
        cmocka_unit_test(test_schedule_issued),
        cmocka_unit_test(test_renew),
        cmocka_unit_test(test_ari),
        cmocka_unit_test(test_issued),
        cmocka_unit_test(test_order_failed),
        cmocka_unit_test(test_loaded),
        cmocka_unit_test(test_seen),
        cmocka_unit_test(test_gone),
        cmocka_unit_test(test_demand),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
