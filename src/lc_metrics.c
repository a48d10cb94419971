
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the metrics, in Prometheus text format 0.0.4: each family's
 * HELP and TYPE, then its series.
 */


#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lc_metrics.h"


typedef struct {
    char    *buf;
    size_t   size;
    size_t   len;                       /* of the whole text, even when it
                                           does not fit */
} lc_metrics_out_t;


static void lc_metrics_domains(lc_metrics_out_t *out, const lc_metrics_t *m);
static void lc_metrics_results(lc_metrics_out_t *out, const lc_metrics_t *m);
static void lc_metrics_handshakes(lc_metrics_out_t *out,
    const lc_metrics_t *m);
static void lc_metrics_hold(lc_metrics_out_t *out, const lc_metrics_t *m);
static void lc_metrics_cache(lc_metrics_out_t *out, const lc_metrics_t *m);
static void lc_metrics_zone(lc_metrics_out_t *out, const lc_metrics_t *m);
static void lc_metrics_acme(lc_metrics_out_t *out, const lc_metrics_t *m);
static void lc_metrics_webhook(lc_metrics_out_t *out, const lc_metrics_t *m);
static void lc_metrics_redis(lc_metrics_out_t *out, const lc_metrics_t *m);
static void lc_metrics_family(lc_metrics_out_t *out, const char *name,
    const char *type, const char *help);
static void lc_metrics_labelled(lc_metrics_out_t *out, const char *name,
    const char *label, const char *const *values, const unsigned long *n,
    size_t count);
static void lc_metrics_series(lc_metrics_out_t *out, const char *name,
    const char *label, const char *value, size_t len, unsigned long n);
static void lc_metrics_escaped(lc_metrics_out_t *out, const char *s,
    size_t len);
static void lc_metrics_printf(lc_metrics_out_t *out, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;


/* the label values of the counters, by their enums */

static const char *const  lc_metrics_order_results[] = {
    [LC_METRICS_ORDER_ISSUED] = "issued",
    [LC_METRICS_ORDER_FAILED] = "failed",
    [LC_METRICS_ORDER_TRANSIENT] = "transient"
};

static const char *const  lc_metrics_dns_results[] = {
    [LC_METRICS_DNS_VERIFIED] = "verified",
    [LC_METRICS_DNS_FAILED] = "failed",
    [LC_METRICS_DNS_TRANSIENT] = "transient"
};

static const char *const  lc_metrics_outcomes[] = {
    [LC_METRICS_HANDSHAKE_CERTIFICATE] = "certificate",
    [LC_METRICS_HANDSHAKE_FALLBACK] = "fallback",
    [LC_METRICS_HANDSHAKE_HELD] = "held"
};

static const char *const  lc_metrics_cache_results[] = {
    "hit",
    "miss"
};

static const char *const  lc_metrics_demand[] = {
    [LC_METRICS_DEMAND_ADMITTED] = "admitted",
    [LC_METRICS_DEMAND_NEGATIVE] = "refused_negative",
    [LC_METRICS_DEMAND_RATE] = "refused_rate",
    [LC_METRICS_DEMAND_ASK] = "refused_ask",
    [LC_METRICS_DEMAND_DNS] = "refused_dns",
    [LC_METRICS_DEMAND_FULL] = "refused_full"
};

static const char *const  lc_metrics_origins[] = {
    [LC_ORIGIN_POST] = "post",
    [LC_ORIGIN_ON_DEMAND] = "on_demand",
    [LC_ORIGIN_RENEWAL] = "renewal"
};

static const char *const  lc_metrics_webhook_results[] = {
    [LC_METRICS_WEBHOOK_DELIVERED] = "delivered",
    [LC_METRICS_WEBHOOK_FAILED] = "failed"
};

static const char *const  lc_metrics_dropped[] = {
    [LC_METRICS_DROPPED_EXPIRED] = "expired",
    [LC_METRICS_DROPPED_FULL] = "full"
};

static const unsigned long  lc_metrics_hold_le[] = LC_METRICS_HOLD_LE;


size_t
lc_metrics_render(const lc_metrics_t *m, char *buf, size_t size)
{
    lc_metrics_out_t  out;

    out.buf = buf;
    out.size = (buf == NULL) ? 0 : size;
    out.len = 0;

    if (out.size) {
        buf[0] = '\0';
    }

    lc_metrics_domains(&out, m);
    lc_metrics_results(&out, m);
    lc_metrics_handshakes(&out, m);
    lc_metrics_zone(&out, m);
    lc_metrics_acme(&out, m);
    lc_metrics_webhook(&out, m);
    lc_metrics_redis(&out, m);

    return out.len;
}


/* the domains by status, and the certificates that expire soon */

static void
lc_metrics_domains(lc_metrics_out_t *out, const lc_metrics_t *m)
{
    size_t       i;
    const char  *status;

    lc_metrics_family(out, "linkcert_domains", "gauge",
                      "Domains in the table, by status.");

    for (i = 0; i < LC_STATUS_N; i++) {
        status = lc_status_name((lc_status_e) i);
        lc_metrics_series(out, "linkcert_domains", "status", status,
                          strlen(status), m->domains[i]);
    }

    lc_metrics_family(out, "linkcert_certificates_expiring", "gauge",
                      "Certificates served that expire within 7 days.");
    lc_metrics_printf(out, "linkcert_certificates_expiring{within=\"7d\"} "
                      "%lu\n", m->expiring);

    lc_metrics_family(out, "linkcert_certificate_expiration_timestamp_seconds",
                      "gauge",
                      "The earliest expiry of an issued certificate.");
    lc_metrics_printf(out, "linkcert_certificate_expiration_timestamp_seconds "
                      "%lld\n", m->earliest);

    /* why they expire: the customer left, or the renewal is failing */

    lc_metrics_family(out, "linkcert_certificates_expiring_by_cause", "gauge",
                      "Certificates served that expire within 7 days, by "
                      "cause: dns_moved (the domain points elsewhere, not "
                      "renewed), renewal_failing.");
    lc_metrics_printf(out,
                      "linkcert_certificates_expiring_by_cause{within=\"7d\","
                      "cause=\"dns_moved\"} %lu\n"
                      "linkcert_certificates_expiring_by_cause{within=\"7d\","
                      "cause=\"renewal_failing\"} %lu\n",
                      m->expiring_dns_moved, m->expiring_renewal);
}


/* orders and DNS checks, by result */

static void
lc_metrics_results(lc_metrics_out_t *out, const lc_metrics_t *m)
{
    lc_metrics_family(out, "linkcert_orders_total", "counter",
                      "ACME orders, by result.");
    lc_metrics_labelled(out, "linkcert_orders_total", "result",
                        lc_metrics_order_results, m->orders,
                        LC_METRICS_ORDER_N);

    lc_metrics_family(out, "linkcert_dns_checks_total", "counter",
                      "DNS verifications, by result.");
    lc_metrics_labelled(out, "linkcert_dns_checks_total", "result",
                        lc_metrics_dns_results, m->dns, LC_METRICS_DNS_N);
}


/* handshakes, renewals, the on-demand hold and gates */

static void
lc_metrics_handshakes(lc_metrics_out_t *out, const lc_metrics_t *m)
{
    lc_metrics_family(out, "linkcert_handshakes_total", "counter",
                      "TLS handshakes on linkcert servers, by the "
                      "certificate presented; \"held\" counts those that "
                      "waited for an on-demand certificate first.");
    lc_metrics_labelled(out, "linkcert_handshakes_total", "outcome",
                        lc_metrics_outcomes, m->handshakes,
                        LC_METRICS_HANDSHAKE_N);

    lc_metrics_cache(out, m);

    lc_metrics_family(out, "linkcert_renewals_total", "counter",
                      "Certificates renewed.");
    lc_metrics_printf(out, "linkcert_renewals_total %lu\n", m->renewals);

    lc_metrics_family(out, "linkcert_last_renewal_timestamp_seconds",
                      "gauge", "When the last renewal succeeded (0: never).");
    lc_metrics_printf(out, "linkcert_last_renewal_timestamp_seconds %lu\n",
                      m->last_renewal);

    lc_metrics_hold(out, m);

    lc_metrics_family(out, "linkcert_on_demand_total", "counter",
                      "Names seen on demand, by what the gates did.");
    lc_metrics_labelled(out, "linkcert_on_demand_total", "result",
                        lc_metrics_demand, m->demand, LC_METRICS_DEMAND_N);

    lc_metrics_family(out, "linkcert_hold_timeouts_total", "counter",
                      "Held handshakes that got the fallback certificate: "
                      "linkcert_hold ran out first.");
    lc_metrics_printf(out, "linkcert_hold_timeouts_total %lu\n",
                      m->hold_timeouts);
}


/* the workers' caches of parsed certificates */

static void
lc_metrics_cache(lc_metrics_out_t *out, const lc_metrics_t *m)
{
    lc_metrics_family(out, "linkcert_cache_lookups_total", "counter",
                      "Certificates looked up in a worker's cache at "
                      "handshakes, by result; a miss reads the store.");
    lc_metrics_labelled(out, "linkcert_cache_lookups_total", "result",
                        lc_metrics_cache_results, m->cache,
                        LC_METRICS_CACHE_N);

    lc_metrics_family(out, "linkcert_cache_certificates", "gauge",
                      "Certificates kept parsed in the workers' caches, "
                      "all workers together.");
    lc_metrics_printf(out, "linkcert_cache_certificates %lu\n",
                      m->cache_entries);

    lc_metrics_family(out, "linkcert_cache_size", "gauge",
                      "The certificates each worker keeps at most: "
                      "linkcert_cache_size, or its default.");
    lc_metrics_printf(out, "linkcert_cache_size %lu\n", m->cache_size);
}


/* the histogram of holds: cumulative buckets, the sum in seconds */

static void
lc_metrics_hold(lc_metrics_out_t *out, const lc_metrics_t *m)
{
    size_t         i;
    unsigned long  n;

    lc_metrics_family(out, "linkcert_hold_seconds", "histogram",
                      "How long held handshakes waited.");

    for (i = 0, n = 0; i < LC_METRICS_HOLD_BUCKETS; i++) {
        n += m->hold[i];

        if (i < LC_METRICS_HOLD_BUCKETS - 1) {
            lc_metrics_printf(out,
                              "linkcert_hold_seconds_bucket{le=\"%lu.%03lu\"} "
                              "%lu\n", lc_metrics_hold_le[i] / 1000,
                              lc_metrics_hold_le[i] % 1000, n);
        } else {
            lc_metrics_printf(out,
                              "linkcert_hold_seconds_bucket{le=\"+Inf\"} "
                              "%lu\n", n);
        }
    }

    lc_metrics_printf(out, "linkcert_hold_seconds_sum %lu.%03lu\n"
                      "linkcert_hold_seconds_count %lu\n",
                      m->hold_ms / 1000, m->hold_ms % 1000, n);
}


/*
 * The zone: its entries, and its pages in use (a page holding any entry
 * counts whole), so that a zone filling up is seen before new domains
 * are refused; its lock.
 */

static void
lc_metrics_zone(lc_metrics_out_t *out, const lc_metrics_t *m)
{
    size_t         i;
    unsigned long  entries;

    for (i = 0, entries = 0; i < LC_STATUS_N; i++) {
        entries += m->domains[i];
    }

    lc_metrics_family(out, "linkcert_zone_entries", "gauge",
                      "Domains in the linkcert_zone, whatever their status.");
    lc_metrics_printf(out, "linkcert_zone_entries %lu\n", entries);

    lc_metrics_family(out, "linkcert_zone_size_bytes", "gauge",
                      "The linkcert_zone's memory for entries.");
    lc_metrics_printf(out, "linkcert_zone_size_bytes %zu\n", m->zone_size);

    lc_metrics_family(out, "linkcert_zone_used_bytes", "gauge",
                      "The part of it in use, in whole pages.");
    lc_metrics_printf(out, "linkcert_zone_used_bytes %zu\n", m->zone_used);

    lc_metrics_family(out, "linkcert_zone_full_total", "counter",
                      "New domains not added: the zone had no room.");
    lc_metrics_printf(out, "linkcert_zone_full_total %lu\n", m->zone_full);

    lc_metrics_family(out, "linkcert_zone_lock_holds_total", "counter",
                      "Times the shared zone's lock was taken.");
    lc_metrics_printf(out, "linkcert_zone_lock_holds_total %llu\n",
                      (unsigned long long) m->lock_holds);

    lc_metrics_family(out, "linkcert_zone_lock_held_seconds_total", "counter",
                      "Time the shared zone's lock was held.");
    lc_metrics_printf(out, "linkcert_zone_lock_held_seconds_total "
                      "%llu.%09llu\n",
                      (unsigned long long) (m->lock_held_ns / 1000000000),
                      (unsigned long long) (m->lock_held_ns % 1000000000));

    lc_metrics_family(out, "linkcert_zone_lock_hold_max_seconds", "gauge",
                      "The longest hold of the shared zone's lock since the "
                      "zone was made.");
    lc_metrics_printf(out, "linkcert_zone_lock_hold_max_seconds "
                      "%llu.%09llu\n",
                      (unsigned long long) (m->lock_max_ns / 1000000000),
                      (unsigned long long) (m->lock_max_ns % 1000000000));
}


/* the CA: requests, errors by problem type, orders by what started them */

static void
lc_metrics_acme(lc_metrics_out_t *out, const lc_metrics_t *m)
{
    size_t       i, j;
    const char  *type;

    lc_metrics_family(out, "linkcert_acme_requests_total", "counter",
                      "Requests sent to the CA.");
    lc_metrics_printf(out, "linkcert_acme_requests_total %lu\n",
                      m->acme_requests);

    lc_metrics_family(out, "linkcert_acme_errors_total", "counter",
                      "The CA's error answers by problem type; acme_server: "
                      "5xx, acme_other: another error, acme_transport: no "
                      "answer.");

    for (i = 0; i < LC_ACME_PROBLEM_N; i++) {
        type = lc_acme_problem_name(i);
        lc_metrics_series(out, "linkcert_acme_errors_total", "type", type,
                          strlen(type), m->acme_errors[i]);
    }

    lc_metrics_family(out, "linkcert_orders_by_origin_total", "counter",
                      "ACME orders by what started them (post: Verify "
                      "domain, on_demand, renewal) and by result.");

    for (i = 0; i < LC_ORIGIN_N; i++) {
        for (j = 0; j < LC_METRICS_ORDER_N; j++) {
            lc_metrics_printf(out, "linkcert_orders_by_origin_total{"
                              "origin=\"%s\",result=\"%s\"} %lu\n",
                              lc_metrics_origins[i],
                              lc_metrics_order_results[j],
                              m->origins[i][j]);
        }
    }
}


/* the webhook's queue and deliveries, with linkcert_webhook only */

static void
lc_metrics_webhook(lc_metrics_out_t *out, const lc_metrics_t *m)
{
    if (!m->webhook) {
        return;
    }

    lc_metrics_family(out, "linkcert_webhook_queue", "gauge",
                      "Webhook events not delivered yet.");
    lc_metrics_printf(out, "linkcert_webhook_queue %lu\n", m->webhook_queue);

    lc_metrics_family(out, "linkcert_webhook_deliveries_total", "counter",
                      "Webhook POSTs, by result: a 2xx, or anything else "
                      "(each attempt).");
    lc_metrics_labelled(out, "linkcert_webhook_deliveries_total", "result",
                        lc_metrics_webhook_results, m->webhook_results,
                        LC_METRICS_WEBHOOK_N);

    lc_metrics_family(out, "linkcert_webhook_dropped_total", "counter",
                      "Webhook events given up: not delivered within 24 h, "
                      "or no room for them.");
    lc_metrics_labelled(out, "linkcert_webhook_dropped_total", "reason",
                        lc_metrics_dropped, m->webhook_dropped,
                        LC_METRICS_DROPPED_N);
}


/* the Redis client of the worker that answered, with linkcert_redis only */

static void
lc_metrics_redis(lc_metrics_out_t *out, const lc_metrics_t *m)
{
    if (m->edge == NULL) {
        return;
    }

    lc_metrics_family(out, "linkcert_redis_connected", "gauge",
                      "Whether the worker that answered is connected to "
                      "Redis.");
    lc_metrics_series(out, "linkcert_redis_connected", "edge", m->edge,
                      m->edge_len, m->redis_connected);
}


static void
lc_metrics_family(lc_metrics_out_t *out, const char *name, const char *type,
    const char *help)
{
    lc_metrics_printf(out, "# HELP %s %s\n# TYPE %s %s\n",
                      name, help, name, type);
}


/* one series per value of a label, the values by the counter's enum */

static void
lc_metrics_labelled(lc_metrics_out_t *out, const char *name,
    const char *label, const char *const *values, const unsigned long *n,
    size_t count)
{
    size_t  i;

    for (i = 0; i < count; i++) {
        lc_metrics_series(out, name, label, values[i], strlen(values[i]),
                          n[i]);
    }
}


static void
lc_metrics_series(lc_metrics_out_t *out, const char *name, const char *label,
    const char *value, size_t len, unsigned long n)
{
    lc_metrics_printf(out, "%s{%s=\"", name, label);
    lc_metrics_escaped(out, value, len);
    lc_metrics_printf(out, "\"} %lu\n", n);
}


/* a label's value: a backslash, a double quote and a newline escaped */

static void
lc_metrics_escaped(lc_metrics_out_t *out, const char *s, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        switch (s[i]) {

        case '\\':
            lc_metrics_printf(out, "\\\\");
            break;

        case '"':
            lc_metrics_printf(out, "\\\"");
            break;

        case '\n':
            lc_metrics_printf(out, "\\n");
            break;

        default:
            lc_metrics_printf(out, "%c", s[i]);
        }
    }
}


static void
lc_metrics_printf(lc_metrics_out_t *out, const char *fmt, ...)
{
    int      n;
    char    *p;
    size_t   room;
    va_list  args;

    room = (out->len < out->size) ? out->size - out->len : 0;
    p = room ? out->buf + out->len : NULL;

    va_start(args, fmt);
    n = vsnprintf(p, room, fmt, args);
    va_end(args);

    if (n > 0) {
        out->len += (size_t) n;
    }
}
