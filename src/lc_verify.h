/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: does a customer domain point at the edge?
 *
 * A pure state machine fed with DNS answers one at a time: the glue asks
 * lc_verify_next() which query to send, sends it, parses the reply into
 * an lc_dns_answer_t and gives it to lc_verify_feed(), until
 * lc_verify_next() returns 0.  No I/O, no allocation, no global state.
 *
 * D is verified when CAA does not forbid issuance and either
 *   1. D's CNAME chain (at most LC_VERIFY_MAX_HOPS hops, no loop) reaches
 *      one of conf->targets, or
 *   2. D has no CNAME, has at least one A or AAAA address, and every one
 *      of them is in conf->addrs.
 *
 * Queries, in order:
 *   CNAME D, CNAME of each hop until a target is reached;
 *   or, when D has no CNAME: A D, then AAAA D;
 *   then CAA as RFC 8659: CAA X for X = D, following X's CNAME when X has
 *   no CAA record (at most LC_VERIFY_MAX_HOPS hops), then X's parent, up
 *   to and including the two-label ancestor (a single-label name is never
 *   queried).
 *
 * Error types (v->error.type):
 *   FAILED     "dns_missing", "dns_mismatch", "caa_forbids",
 *              "invalid_domain" (lc_verify_init() got a bad name)
 *   TRANSIENT  "dns_timeout", "dns_servfail", "dns_refused", "dns_error"
 */

#ifndef LC_VERIFY_H
#define LC_VERIFY_H

#include <stddef.h>

#include "lc_domain.h"
#include "lc_error.h"


#define LC_VERIFY_MAX_TARGETS  16
#define LC_VERIFY_MAX_ADDRS    16       /* per answer, and in the conf */
#define LC_VERIFY_MAX_CAA      16       /* per answer */
#define LC_VERIFY_MAX_HOPS     8        /* CNAME hops */

#define LC_ADDR_STRLEN         46       /* INET6_ADDRSTRLEN, incl. NUL */
#define LC_CAA_TAG_LEN         16       /* incl. NUL */
#define LC_CAA_VALUE_LEN       128      /* incl. NUL */


typedef enum {
    LC_QTYPE_CNAME = 0,
    LC_QTYPE_A,
    LC_QTYPE_AAAA,
    LC_QTYPE_CAA
} lc_qtype_e;

typedef enum {
    LC_ANS_OK = 0,                      /* NOERROR, possibly empty */
    LC_ANS_NXDOMAIN,
    LC_ANS_SERVFAIL,
    LC_ANS_REFUSED,
    LC_ANS_TIMEOUT,
    LC_ANS_ERROR                        /* any other failure */
} lc_ans_status_e;

typedef enum {
    LC_VERIFY_RUNNING = 0,
    LC_VERIFY_VERIFIED,
    LC_VERIFY_FAILED,                   /* the DNS says no */
    LC_VERIFY_TRANSIENT                 /* the DNS did not answer; retry */
} lc_verify_state_e;

/* how D points at the edge, once it does */
typedef enum {
    LC_VERIFY_VIA_NONE = 0,
    LC_VERIFY_VIA_CNAME,                /* rule 1 */
    LC_VERIFY_VIA_ADDRS                 /* rule 2 */
} lc_verify_via_e;

/* internal */
typedef enum {
    LC_VERIFY_STEP_CNAME = 0,
    LC_VERIFY_STEP_A,
    LC_VERIFY_STEP_AAAA,
    LC_VERIFY_STEP_CAA,
    LC_VERIFY_STEP_DONE
} lc_verify_step_e;


typedef struct {
    int            family;              /* 4 or 6 */
    unsigned char  addr[16];            /* network order; 4 bytes for 4 */
} lc_addr_t;

typedef struct {
    unsigned char  critical;            /* non-zero: issuer critical flag */
    char           tag[LC_CAA_TAG_LEN];
    char           value[LC_CAA_VALUE_LEN];
} lc_caa_t;


/*
 * One DNS answer, as the glue parsed it.  Only the fields of the queried
 * type are looked at: addrs for A and AAAA, caa for CAA.  Counts above
 * the array sizes are clamped; tag and value need not be NUL-terminated
 * within their arrays.
 *
 * cname is "" or the target of the queried name's CNAME record, as found
 * in the answer (any case, trailing dot or not: the machine normalises
 * it).  It is looked at for OK and NXDOMAIN answers to CNAME and CAA
 * queries.  A CNAME in the answer to the A or AAAA query (D gained a
 * CNAME since the CNAME query) ends verification as TRANSIENT "dns_error".
 */
typedef struct {
    lc_ans_status_e  status;
    char             cname[LC_DOMAIN_MAX + 1];
    size_t           naddrs;
    lc_addr_t        addrs[LC_VERIFY_MAX_ADDRS];
    size_t           ncaa;
    lc_caa_t         caa[LC_VERIFY_MAX_CAA];
    char             caa_owner[LC_DOMAIN_MAX + 1];  /* of the CAA records,
                                                       "": the queried name */
} lc_dns_answer_t;


typedef struct {
    size_t     ntargets;
    char       targets[LC_VERIFY_MAX_TARGETS][LC_DOMAIN_MAX + 1];
                                        /* normalised */
    size_t     naddrs;                  /* 0: rule 2 cannot succeed */
    lc_addr_t  addrs[LC_VERIFY_MAX_ADDRS];
    char       caa_identity[LC_DOMAIN_MAX + 1];  /* "letsencrypt.org" */
} lc_verify_conf_t;


typedef struct {
    const lc_verify_conf_t  *conf;      /* must outlive the run */
    char                     domain[LC_DOMAIN_MAX + 1];
    lc_verify_state_e        state;
    lc_verify_via_e          via;

    /* internal */
    lc_verify_step_e         step;
    size_t                   nalias;    /* CAA: alias[0] is the climbing
                                           name, then its CNAME hops */
    char                     alias[LC_VERIFY_MAX_HOPS + 1]
                                  [LC_DOMAIN_MAX + 1];

    /* results, for the "dns" object of the status JSON */

    size_t                   nchain;    /* D, then each CNAME target */
    char                     chain[LC_VERIFY_MAX_HOPS + 1]
                                  [LC_DOMAIN_MAX + 1];

    size_t                   naddrs;    /* D's A, then AAAA addresses;
                                           only when D has no CNAME */
    lc_addr_t                addrs[2 * LC_VERIFY_MAX_ADDRS];

    size_t                   ncaa;      /* the relevant CAA set, if any;
                                           printable ASCII, other bytes
                                           are replaced by '?' */
    lc_caa_t                 caa[LC_VERIFY_MAX_CAA];
    char                     caa_owner[LC_DOMAIN_MAX + 1];  /* "": none */

    lc_error_t               error;     /* set when FAILED or TRANSIENT */
} lc_verify_t;


/*
 * Starts a run for domain (normalised; it is normalised again, and a bad
 * name makes the run FAILED "invalid_domain" at once).
 */
void lc_verify_init(lc_verify_t *v, const lc_verify_conf_t *conf,
    const char *domain);

/*
 * While the run is RUNNING, writes the next query's name into name
 * (LC_DOMAIN_MAX + 1 bytes) and its type into *type and returns 1; the
 * same query until an answer is fed.  Otherwise returns 0: v->state is
 * final.
 */
int lc_verify_next(lc_verify_t *v, char *name, lc_qtype_e *type);

/* The answer to the query of lc_verify_next(); ignored once final. */
void lc_verify_feed(lc_verify_t *v, const lc_dns_answer_t *ans);

const char *lc_verify_state_name(lc_verify_state_e state);
const char *lc_qtype_name(lc_qtype_e type);

/*
 * Writes the textual address and a NUL into buf (size bytes, at least
 * LC_ADDR_STRLEN for any address).  Returns 0, or -1 with buf "" when
 * the family is not 4 or 6 or buf is too small.
 */
int lc_addr_format(const lc_addr_t *a, char *buf, size_t size);

/* Parses an IPv4 or IPv6 address (no brackets, no port): 0, or -1. */
int lc_addr_parse(const char *s, lc_addr_t *a);

/* 1 when both have the same family and address, else 0. */
int lc_addr_equal(const lc_addr_t *a, const lc_addr_t *b);

#endif /* LC_VERIFY_H */
