
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the metrics, in Prometheus text format 0.0.4.
 *
 * The counters are counted by the enums below.  The glue copies its
 * counts into an lc_metrics_t (the table's under the zone's lock, the
 * atomics as they are) and renders it here, outside any lock.  No series
 * per domain: a million domains would make a million series.
 */

#ifndef LC_METRICS_H
#define LC_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "lc_status.h"
#include "lc_lifecycle.h"
#include "lc_acme_problem.h"


#define LC_METRICS_HOLD_BUCKETS  8      /* the last one: +Inf */
#define LC_METRICS_HOLD_LE       { 100, 250, 500, 1000, 2500, 5000, \
                                   10000 }  /* ms */


/* what an on-demand name met at the gates */
typedef enum {
    LC_METRICS_DEMAND_ADMITTED = 0,     /* a DNS check started */
    LC_METRICS_DEMAND_NEGATIVE,         /* refused recently */
    LC_METRICS_DEMAND_RATE,             /* too many new names now */
    LC_METRICS_DEMAND_ASK,              /* linkcert_ask said no */
    LC_METRICS_DEMAND_DNS,              /* does not point here */
    LC_METRICS_DEMAND_FULL,             /* no room in the zone */
    LC_METRICS_DEMAND_N
} lc_metrics_demand_e;

/* an order's result */
typedef enum {
    LC_METRICS_ORDER_ISSUED = 0,
    LC_METRICS_ORDER_FAILED,
    LC_METRICS_ORDER_TRANSIENT,         /* tried again later */
    LC_METRICS_ORDER_N
} lc_metrics_order_e;

/* a DNS verification's result */
typedef enum {
    LC_METRICS_DNS_VERIFIED = 0,
    LC_METRICS_DNS_FAILED,
    LC_METRICS_DNS_TRANSIENT,
    LC_METRICS_DNS_N
} lc_metrics_dns_e;

/* a handshake on a linkcert server, by the certificate presented */
typedef enum {
    LC_METRICS_HANDSHAKE_CERTIFICATE = 0,
    LC_METRICS_HANDSHAKE_FALLBACK,
    LC_METRICS_HANDSHAKE_HELD,          /* waited for on-demand first */
    LC_METRICS_HANDSHAKE_N
} lc_metrics_handshake_e;

/* a certificate looked up in a worker's cache at a handshake */
typedef enum {
    LC_METRICS_CACHE_HIT = 0,
    LC_METRICS_CACHE_MISS,              /* the store was read */
    LC_METRICS_CACHE_N
} lc_metrics_cache_e;

/* a webhook POST's result, each attempt */
typedef enum {
    LC_METRICS_WEBHOOK_DELIVERED = 0,   /* a 2xx */
    LC_METRICS_WEBHOOK_FAILED,
    LC_METRICS_WEBHOOK_N
} lc_metrics_webhook_e;

/* why a webhook event was given up */
typedef enum {
    LC_METRICS_DROPPED_EXPIRED = 0,     /* no 2xx within 24 h */
    LC_METRICS_DROPPED_FULL,            /* no room for it */
    LC_METRICS_DROPPED_N
} lc_metrics_dropped_e;


typedef struct {
    /* the table, counted under the zone's lock */
    unsigned long   domains[LC_STATUS_N];
    unsigned long   expiring;           /* served, expiring within 7 days */
    unsigned long   expiring_dns_moved; /* of them: the customer left */
    unsigned long   expiring_renewal;   /* of them: still issued, its
                                           renewal failing */
    long long       earliest;           /* the earliest expiry of an
                                           issued certificate */

    /* the zone's pages, in bytes */
    size_t          zone_size;
    size_t          zone_used;

    unsigned long   orders[LC_METRICS_ORDER_N];
    unsigned long   origins[LC_ORIGIN_N][LC_METRICS_ORDER_N];
    unsigned long   dns[LC_METRICS_DNS_N];
    unsigned long   handshakes[LC_METRICS_HANDSHAKE_N];
    unsigned long   cache[LC_METRICS_CACHE_N];
    unsigned long   cache_entries;      /* all workers together */
    unsigned long   cache_size;         /* each worker's limit */
    unsigned long   hold[LC_METRICS_HOLD_BUCKETS];  /* each bucket its own
                                                       (not cumulative) */
    unsigned long   hold_ms;            /* the sum of the holds */
    unsigned long   hold_timeouts;
    unsigned long   demand[LC_METRICS_DEMAND_N];
    unsigned long   renewals;
    unsigned long   last_renewal;       /* time; 0: never */
    unsigned long   zone_full;
    unsigned long   acme_requests;
    unsigned long   acme_errors[LC_ACME_PROBLEM_N];
    uint64_t        lock_holds;
    uint64_t        lock_held_ns;
    uint64_t        lock_max_ns;

    /* with linkcert_webhook only */
    int             webhook;
    unsigned long   webhook_queue;
    unsigned long   webhook_results[LC_METRICS_WEBHOOK_N];
    unsigned long   webhook_dropped[LC_METRICS_DROPPED_N];

    /* with linkcert_redis only: edge is NULL without */
    const char     *edge;
    size_t          edge_len;
    unsigned long   redis_connected;    /* 1 or 0 */
} lc_metrics_t;


/*
 * Renders m as snprintf() does: writes at most size bytes into buf, the
 * text cut short and ended with a NUL, and returns the length of the
 * whole text (without the NUL).  With size 0, buf may be NULL: the
 * length, to allocate length + 1 bytes and render again.  Every family
 * is there, at 0, except the webhook's and Redis's without them.  Label
 * values are escaped (\\, \", \n).
 */
size_t lc_metrics_render(const lc_metrics_t *m, char *buf, size_t size);

#endif /* LC_METRICS_H */
