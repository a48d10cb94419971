/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: a domain's lifecycle, as a pure transition function.
 *
 * lc_lifecycle_step() takes what the policy knows of one domain (an
 * lc_lifecycle_t the glue copies from its table entry under the zone's
 * lock), an event, the time and a random number, and changes the record
 * in place: status and stage, errors, retries, the time of its next work.
 * The result says what to do next and which counters to bump.  No clock,
 * no random, no I/O here: the glue gives them and applies the result (the
 * due tree, counters, the webhook, the table's resources).
 *
 * Timings: DNS and order retries back off 1 min, 10 min, then 100 min
 * (each +/-10%); an issued domain's next work is its renewal
 * (renew_at percent of its lifetime, or the time picked in the CA's
 * renewal window) or, sooner, its periodic DNS check (reverify_interval
 * +/-10%) or the next question to the CA's renewal information.
 */

#ifndef LC_LIFECYCLE_H
#define LC_LIFECYCLE_H

#include <stdint.h>
#include <time.h>

#include "lc_error.h"
#include "lc_status.h"
#include "lc_verify.h"


#define LC_LIFECYCLE_FORCE_INTERVAL  10     /* s between "Verify domain"s */
#define LC_LIFECYCLE_DNS_RETRY       30     /* s: a candidate the DNS
                                               refused */
#define LC_LIFECYCLE_DNS_NO_ANSWER   60     /* s: a candidate the DNS did
                                               not answer for */
#define LC_LIFECYCLE_MOVED_CHECK     3600   /* s: a moved domain's DNS */
#define LC_LIFECYCLE_RENEW_RETRY     6000   /* s: after a failed renewal */


/* what started a domain's order, counted with its result */
typedef enum {
    LC_ORIGIN_POST = 0,         /* "Verify domain", or the store */
    LC_ORIGIN_ON_DEMAND,        /* a handshake or a Host */
    LC_ORIGIN_RENEWAL,          /* an issued domain */
    LC_ORIGIN_N
} lc_origin_e;


/* the policy's view of one domain */
typedef struct {
    lc_status_e     status;
    lc_stage_e      stage;
    time_t          not_before;         /* of the certificate served */
    time_t          not_after;
    time_t          updated_at;
    time_t          next_attempt_at;    /* 0: none */
    time_t          error_at;
    time_t          forced_at;          /* the last "Verify domain" */
    time_t          renew_ari;          /* the renewal picked in the CA's
                                           window; 0: none */
    time_t          ari_at;             /* ask the CA's renewal
                                           information again then; 0: at
                                           the next check */
    time_t          val_window;         /* first failed validation */
    uint64_t        due;                /* ms of its next work; 0: none */
    unsigned char   attempts;           /* transient failures */
    unsigned char   val_failures;       /* in the hour from val_window */
    unsigned char   origin;             /* lc_origin_e of the next order */
    unsigned char   busy;               /* a job holds it */
    unsigned char   candidate;          /* on demand, before its DNS */
    unsigned char   moved;              /* the DNS points elsewhere: its
                                           valid certificate still served */
    unsigned char   reissue;            /* a new key once the DNS passes */
    unsigned char   repass;             /* a renewal pass came while busy */
    lc_error_t      error;
} lc_lifecycle_t;


typedef struct {
    unsigned        renew_at;           /* percent of the lifetime */
    time_t          reverify_interval;
    int             verify;             /* 0: no DNS checks configured,
                                           only expiry is watched */
    int             ask;                /* linkcert_ask is set */
    time_t          negative_ttl;
    int             on_demand;          /* new orders keep within the
                                           glue's budgets */
} lc_lifecycle_conf_t;


typedef enum {
    LC_EV_POST = 0,         /* "Verify domain" (reissue: a new key) */
    LC_EV_DELETE,           /* DELETE: the domain leaves */
    LC_EV_ADMIT,            /* on demand: a new name passed the gates */
    LC_EV_REFUSE,           /* on demand: linkcert_ask said no */
    LC_EV_DUE,              /* its time came: worker 0 takes it */
    LC_EV_BUDGET,           /* a new order waits for a budget (until at) */
    LC_EV_LEASE_LOST,       /* its job ended unfinished: due again now */
    LC_EV_DNS,              /* the DNS rule's result (dns) */
    LC_EV_RENEW,            /* an issued domain's renewal check */
    LC_EV_ARI,              /* the CA's renewal information: its window
                               (ok), or an answer without one */
    LC_EV_ARI_FAILED,       /* no renewal information (retry_after) */
    LC_EV_ISSUED,           /* a new certificate is stored */
    LC_EV_ORDER_FAILED,     /* error, transient, retry_after */
    LC_EV_EXPIRED,          /* the certificate expired, no successor */
    LC_EV_LOADED,           /* the store's files, read (ok or error) */
    LC_EV_SEEN,             /* the store unchanged on a reload */
    LC_EV_GONE,             /* the store's files are gone */
    LC_EV_N
} lc_lifecycle_event_e;


/* LC_EV_DNS: what worker 0 can do after it */
#define LC_LIFECYCLE_ACME     1     /* a CA is configured */
#define LC_LIFECYCLE_ARI      2     /* the CA has renewal information */
#define LC_LIFECYCLE_ACCOUNT  4     /* not known yet: the account is
                                       being set up */

/* LC_EV_ORDER_FAILED: transient is 0, 1, or: */
#define LC_LIFECYCLE_NO_ACCOUNT  2  /* no order placed: the account is not
                                       set up; due again at retry_after,
                                       no backoff */

/* LC_EV_POST: limits, what the reissue limits said (the glue's) */
#define LC_LIFECYCLE_UNASKED  0
#define LC_LIFECYCLE_ALLOWED  1
#define LC_LIFECYCLE_DENIED   2


/* an event; each uses the fields its comment names */
typedef struct {
    lc_lifecycle_event_e  type;
    time_t                now;
    uint64_t              now_ms;       /* now, with its milliseconds */
    unsigned long         random[2];    /* fresh random numbers: [0]
                                           spreads retries and checks,
                                           [1] picks in the CA's window */

    int                   reissue;      /* POST */
    int                   claimed;      /* POST: by the fleet's claim of an
                                           order left by another edge,
                                           not by the CRM */
    int                   limits;       /* POST, with reissue */
    lc_verify_state_e     dns;          /* DNS */
    unsigned              acme;         /* DNS: LC_LIFECYCLE_ACME ... */
    int                   orders;       /* DUE: an order may start */
    uint64_t              lease;        /* DUE: ms a job may take */
    int                   transient;    /* ORDER_FAILED */
    time_t                retry_after;  /* ORDER_FAILED, ARI: the CA's */
    int                   ok;           /* ARI: a window; LOADED: valid;
                                           REFUSE: linkcert_ask answered */
    time_t                start;        /* ARI: the window */
    time_t                end;
    int                   cert_id;      /* RENEW: renewal information
                                           can be asked */
    time_t                not_before;   /* ISSUED, LOADED */
    time_t                not_after;
    int                   same;         /* LOADED: the certificate the
                                           entry has */
    int                   created;      /* LOADED: a new entry */
    int                   fleet;        /* LOADED: the fleet's certificate
                                           (another edge's), not the
                                           store's at start or reload */
    unsigned long         issued;       /* LOADED, SEEN: issued domains in
                                           the table */
    time_t                at;           /* BUDGET: when it may go on */
    const lc_error_t     *error;        /* DNS, REFUSE, BUDGET,
                                           ORDER_FAILED, LOADED */
} lc_lifecycle_event_t;


typedef enum {
    LC_DO_NONE = 0,
    LC_DO_VERIFY,           /* run the DNS rule */
    LC_DO_ASK,              /* ask linkcert_ask about the candidate */
    LC_DO_ORDER,            /* place an order (replaces: the current
                               certificate's ID goes with it) */
    LC_DO_RENEW,            /* check whether to renew (LC_EV_RENEW) */
    LC_DO_ASK_ARI,          /* ask the CA's renewal information */
    LC_DO_WAIT,             /* an order waits for a slot or the account */
    LC_DO_LIMITS,           /* a reissue: the glue checks its limits and
                               steps again with them */
    LC_DO_REMOVE,           /* the domain leaves the table */
    LC_DO_N
} lc_lifecycle_action_e;


/* what a "Verify domain" did */
typedef enum {
    LC_POST_STARTED = 0,
    LC_POST_RECHECK,        /* issued: the DNS checked again */
    LC_POST_REISSUE,        /* issued: a new key once the DNS passes */
    LC_POST_BUSY,           /* already being verified */
    LC_POST_TOO_SOON,
    LC_POST_REFUSED         /* a reissue over a limit */
} lc_lifecycle_post_e;


/* counters to bump */
#define LC_COUNT_DNS_VERIFIED     0x0001
#define LC_COUNT_DNS_FAILED       0x0002
#define LC_COUNT_DNS_TRANSIENT    0x0004
#define LC_COUNT_ORDER_ISSUED     0x0008    /* with result.origin */
#define LC_COUNT_ORDER_FAILED     0x0010
#define LC_COUNT_ORDER_TRANSIENT  0x0020
#define LC_COUNT_RENEWAL          0x0040
#define LC_COUNT_ADMITTED         0x0080
#define LC_COUNT_REFUSED_DNS      0x0100
#define LC_COUNT_REFUSED_ASK      0x0200

/* what else the glue does */
#define LC_LIFE_CHANGED   0x01      /* a status was set: held handshakes
                                       look again */
#define LC_LIFE_NOTIFY    0x02      /* a webhook event, if the status or
                                       the error type is new */
#define LC_LIFE_QUIET     0x04      /* with NOTIFY: remembered, not sent */
#define LC_LIFE_NEW_CERT  0x08      /* another certificate: a new
                                       generation */
#define LC_LIFE_UNREFUSE  0x10      /* an on-demand refusal is over */
#define LC_LIFE_BUDGET    0x20      /* LC_EV_DUE: a new order, within the
                                       glue's budgets, or LC_EV_BUDGET */
#define LC_LIFE_BUDGET_TAKE  0x40   /* LC_EV_DUE: a new order the CRM asked
                                       for takes its share of the budget
                                       at once, never waits */


typedef struct {
    lc_lifecycle_action_e  action;
    unsigned               flags;       /* LC_LIFE_* */
    unsigned               counters;    /* LC_COUNT_* */
    lc_origin_e            origin;      /* of the order counted */
    lc_lifecycle_post_e    post;        /* LC_EV_POST */
    time_t                 retry_after; /* LC_POST_TOO_SOON */
    time_t                 ttl;         /* LC_DO_REMOVE of a refused
                                           candidate: not admitted again
                                           for */
    int                    replaces;    /* LC_DO_ORDER */
} lc_lifecycle_result_t;


/*
 * Applies ev to rec; rec->due is the time of its next work (ms, 0: none).
 * res is filled in full.
 */
void lc_lifecycle_step(lc_lifecycle_t *rec, const lc_lifecycle_conf_t *conf,
    const lc_lifecycle_event_t *ev, lc_lifecycle_result_t *res);

/*
 * Whether an order's failure is the account's, not the domain's: the CA
 * no longer knows the account (accountDoesNotExist).  The ACME driver
 * registers again; the domain is due again at once, without a backoff.
 */
int lc_lifecycle_account_lost(const lc_error_t *err);

/* whether a certificate is to be served: issued, or kept while moved */
int lc_lifecycle_serving(const lc_lifecycle_t *rec);

/* renew_at of the lifetime of not_before .. not_after */
time_t lc_lifecycle_renew_time(time_t not_before, time_t not_after,
    unsigned renew_at);

/*
 * When an issued domain is to be renewed: renew_at of its lifetime, or
 * sooner the time picked in the CA's window; 0: not issued.
 */
time_t lc_lifecycle_renewal(const lc_lifecycle_t *rec,
    const lc_lifecycle_conf_t *conf);

/* 1 min, 10 min, then 100 min: the delay before a retry */
time_t lc_lifecycle_backoff_base(unsigned attempts);

/* the same, within +/-10% (random: any random number) */
time_t lc_lifecycle_backoff(unsigned attempts, unsigned long random);

/*
 * When the ACME account's setup is tried again after its failures-th
 * failure in a row: a passing fault (transient) soon, 1 s doubling up to
 * 5 min; an answer that will not change by itself as the backoff's base;
 * never before the CA's Retry-After (0: none).
 */
time_t lc_lifecycle_account_retry(unsigned failures, int transient,
    time_t retry_after);


/* what an SNI or Host name seen on demand means */
typedef enum {
    LC_DEMAND_SERVED = 0,       /* a valid certificate: nothing to do */
    LC_DEMAND_WAIT,             /* being verified or ordered now */
    LC_DEMAND_NO                /* not now: failed, or later */
} lc_lifecycle_demand_e;

lc_lifecycle_demand_e lc_lifecycle_demand(const lc_lifecycle_t *rec,
    time_t now);

const char *lc_lifecycle_event_name(lc_lifecycle_event_e type);
const char *lc_lifecycle_action_name(lc_lifecycle_action_e action);

#endif /* LC_LIFECYCLE_H */
