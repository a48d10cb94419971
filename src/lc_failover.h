/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: which CA a domain's next order goes to, when a second
 * ("backup") ACME directory is configured.
 *
 * Each domain keeps a small lc_failover_t.  Its orders go to the primary
 * CA (0) until it has failed the domain max_fails times in a row, or did
 * not answer at all (refused, timeout, HTTP 5xx): then to the backup (1),
 * under the same rule, and back.  An issued certificate sends the next
 * order (its renewal) to the primary again.
 */

#ifndef LC_FAILOVER_H
#define LC_FAILOVER_H


#define LC_FAILOVER_CAS        2
#define LC_FAILOVER_MAX_FAILS  3        /* the default */


typedef struct {
    unsigned char   next;       /* the CA of the next order: 0, 1 */
    unsigned char   failures;   /* failed orders at next, in a row */
    unsigned char   last;       /* the CA of the latest order, + 1; 0:
                                   none yet */
} lc_failover_t;


typedef enum {
    LC_FAILOVER_ISSUED = 0,
    LC_FAILOVER_FAILED,         /* the CA answered: a problem */
    LC_FAILOVER_UNREACHABLE     /* no answer, or HTTP 5xx */
} lc_failover_outcome_e;


/*
 * An order at ca (0 .. ncas - 1) ended.  Returns 1 when the next order
 * should go to the backup at once, without the usual backoff: the primary
 * did not answer, so nothing was validated or counted against the
 * domain; 0 otherwise.
 */
int lc_failover_result(lc_failover_t *f, unsigned ca,
    lc_failover_outcome_e outcome, unsigned max_fails, unsigned ncas);

#endif /* LC_FAILOVER_H */
