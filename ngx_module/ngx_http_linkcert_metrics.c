
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the metrics, in Prometheus text format 0.0.4, for
 * GET .../metrics of the status API (the caller checks the API key).
 * No series per domain: a million domains would make a million series.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert.h"
#include "ngx_http_linkcert_redis.h"


#define NGX_HTTP_LINKCERT_METRICS_MAX  16384


/* the labels of the counters, by their enums */

static const char  *ngx_http_linkcert_order_results[] = {
    [NGX_HTTP_LINKCERT_ORDER_ISSUED] = "issued",
    [NGX_HTTP_LINKCERT_ORDER_FAILED] = "failed",
    [NGX_HTTP_LINKCERT_ORDER_TRANSIENT] = "transient"
};

static const char  *ngx_http_linkcert_dns_results[] = {
    [NGX_HTTP_LINKCERT_DNS_VERIFIED] = "verified",
    [NGX_HTTP_LINKCERT_DNS_FAILED] = "failed",
    [NGX_HTTP_LINKCERT_DNS_TRANSIENT] = "transient"
};

static const char  *ngx_http_linkcert_demand[] = {
    [NGX_HTTP_LINKCERT_DEMAND_ADMITTED] = "admitted",
    [NGX_HTTP_LINKCERT_DEMAND_NEGATIVE] = "refused_negative",
    [NGX_HTTP_LINKCERT_DEMAND_RATE] = "refused_rate",
    [NGX_HTTP_LINKCERT_DEMAND_ASK] = "refused_ask",
    [NGX_HTTP_LINKCERT_DEMAND_DNS] = "refused_dns",
    [NGX_HTTP_LINKCERT_DEMAND_FULL] = "refused_full"
};

static const char  *ngx_http_linkcert_origins[] = {
    [LC_ORIGIN_POST] = "post",
    [LC_ORIGIN_ON_DEMAND] = "on_demand",
    [LC_ORIGIN_RENEWAL] = "renewal"
};


static u_char *ngx_http_linkcert_metrics_domains(u_char *p, u_char *last,
    ngx_uint_t *by_status, ngx_http_linkcert_expiring_t *expiring,
    time_t earliest);
static u_char *ngx_http_linkcert_metrics_results(u_char *p, u_char *last,
    ngx_http_linkcert_stats_t *st);
static u_char *ngx_http_linkcert_metrics_handshakes(u_char *p, u_char *last,
    ngx_http_linkcert_stats_t *st);
static u_char *ngx_http_linkcert_metrics_zone(u_char *p, u_char *last,
    ngx_http_linkcert_main_conf_t *lmcf, ngx_uint_t *by_status,
    ngx_http_linkcert_stats_t *st);
static u_char *ngx_http_linkcert_metrics_acme(u_char *p, u_char *last,
    ngx_http_linkcert_stats_t *st);
static u_char *ngx_http_linkcert_metrics_webhook(u_char *p, u_char *last,
    ngx_http_linkcert_main_conf_t *lmcf, ngx_http_linkcert_stats_t *st);


ngx_int_t
ngx_http_linkcert_metrics(ngx_http_request_t *r,
    ngx_http_linkcert_main_conf_t *lmcf, ngx_str_t *text)
{
    u_char                        *p, *start, *last;
    time_t                         earliest;
    ngx_uint_t                     by_status[LC_STATUS_N];
    ngx_http_linkcert_stats_t     *st;
    ngx_http_linkcert_expiring_t   expiring;

    ngx_http_linkcert_table_counts(lmcf->shm_zone, ngx_time(), by_status,
                                   &expiring, &earliest);
    st = ngx_http_linkcert_stats(lmcf->shm_zone);

    start = ngx_pnalloc(r->pool, NGX_HTTP_LINKCERT_METRICS_MAX);
    if (start == NULL) {
        return NGX_ERROR;
    }

    p = start;
    last = start + NGX_HTTP_LINKCERT_METRICS_MAX;

    p = ngx_http_linkcert_metrics_domains(p, last, by_status, &expiring,
                                          earliest);
    p = ngx_http_linkcert_metrics_results(p, last, st);
    p = ngx_http_linkcert_metrics_handshakes(p, last, st);
    p = ngx_http_linkcert_metrics_zone(p, last, lmcf, by_status, st);
    p = ngx_http_linkcert_metrics_acme(p, last, st);
    p = ngx_http_linkcert_metrics_webhook(p, last, lmcf, st);
    p = ngx_http_linkcert_redis_metrics(p, last, lmcf);

    if (p == last) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "linkcert: the metrics do not fit in %d bytes",
                      NGX_HTTP_LINKCERT_METRICS_MAX);
        return NGX_ERROR;
    }

    text->data = start;
    text->len = p - start;

    return NGX_OK;
}


/* the domains by status, and the certificates that expire soon */

static u_char *
ngx_http_linkcert_metrics_domains(u_char *p, u_char *last,
    ngx_uint_t *by_status, ngx_http_linkcert_expiring_t *expiring,
    time_t earliest)
{
    ngx_uint_t  i;

    p = ngx_slprintf(p, last,
            "# HELP linkcert_domains Domains in the table, by status.\n"
            "# TYPE linkcert_domains gauge\n");

    for (i = 0; i < LC_STATUS_N; i++) {
        p = ngx_slprintf(p, last, "linkcert_domains{status=\"%s\"} %ui\n",
                         lc_status_name((lc_status_e) i), by_status[i]);
    }

    p = ngx_slprintf(p, last,
            "# HELP linkcert_certificates_expiring Certificates served that "
            "expire within 7 days.\n"
            "# TYPE linkcert_certificates_expiring gauge\n"
            "linkcert_certificates_expiring{within=\"7d\"} %ui\n"
            "# HELP linkcert_certificate_expiration_timestamp_seconds The "
            "earliest expiry of an issued certificate.\n"
            "# TYPE linkcert_certificate_expiration_timestamp_seconds gauge\n"
            "linkcert_certificate_expiration_timestamp_seconds %T\n",
            expiring->all, earliest);

    /* why they expire: the customer left, or the renewal is failing */

    p = ngx_slprintf(p, last,
            "# HELP linkcert_certificates_expiring_by_cause Certificates "
            "served that expire within 7 days, by cause: dns_moved (the "
            "domain points elsewhere, not renewed), renewal_failing.\n"
            "# TYPE linkcert_certificates_expiring_by_cause gauge\n"
            "linkcert_certificates_expiring_by_cause{within=\"7d\","
            "cause=\"dns_moved\"} %ui\n"
            "linkcert_certificates_expiring_by_cause{within=\"7d\","
            "cause=\"renewal_failing\"} %ui\n",
            expiring->dns_moved, expiring->renewal);

    return p;
}


/* orders and DNS checks, by result */

static u_char *
ngx_http_linkcert_metrics_results(u_char *p, u_char *last,
    ngx_http_linkcert_stats_t *st)
{
    ngx_uint_t  i;

    p = ngx_slprintf(p, last,
            "# HELP linkcert_orders_total ACME orders, by result.\n"
            "# TYPE linkcert_orders_total counter\n");

    for (i = 0; i < NGX_HTTP_LINKCERT_ORDER_N; i++) {
        p = ngx_slprintf(p, last, "linkcert_orders_total{result=\"%s\"} "
                         "%uA\n", ngx_http_linkcert_order_results[i],
                         st->orders[i]);
    }

    p = ngx_slprintf(p, last,
            "# HELP linkcert_dns_checks_total DNS verifications, by "
            "result.\n"
            "# TYPE linkcert_dns_checks_total counter\n");

    for (i = 0; i < NGX_HTTP_LINKCERT_DNS_N; i++) {
        p = ngx_slprintf(p, last, "linkcert_dns_checks_total{result=\"%s\"} "
                         "%uA\n", ngx_http_linkcert_dns_results[i],
                         st->dns[i]);
    }

    return p;
}


/* handshakes, renewals, the on-demand hold and gates */

static u_char *
ngx_http_linkcert_metrics_handshakes(u_char *p, u_char *last,
    ngx_http_linkcert_stats_t *st)
{
    ngx_uint_t  i, n;

    static ngx_msec_t   hold_le[] = NGX_HTTP_LINKCERT_HOLD_LE;

    p = ngx_slprintf(p, last,
            "# HELP linkcert_handshakes_total TLS handshakes on linkcert "
            "servers, by the certificate presented; \"held\" counts those "
            "that waited for an on-demand certificate first.\n"
            "# TYPE linkcert_handshakes_total counter\n"
            "linkcert_handshakes_total{outcome=\"certificate\"} %uA\n"
            "linkcert_handshakes_total{outcome=\"fallback\"} %uA\n"
            "linkcert_handshakes_total{outcome=\"held\"} %uA\n"
            "# HELP linkcert_renewals_total Certificates renewed.\n"
            "# TYPE linkcert_renewals_total counter\n"
            "linkcert_renewals_total %uA\n"
            "# HELP linkcert_last_renewal_timestamp_seconds When the last "
            "renewal succeeded (0: never).\n"
            "# TYPE linkcert_last_renewal_timestamp_seconds gauge\n"
            "linkcert_last_renewal_timestamp_seconds %uA\n",
            st->handshakes[NGX_HTTP_LINKCERT_HANDSHAKE_CERTIFICATE],
            st->handshakes[NGX_HTTP_LINKCERT_HANDSHAKE_FALLBACK],
            st->handshakes[NGX_HTTP_LINKCERT_HANDSHAKE_HELD],
            st->renewals, st->last_renewal);

    p = ngx_slprintf(p, last,
            "# HELP linkcert_hold_seconds How long held handshakes "
            "waited.\n"
            "# TYPE linkcert_hold_seconds histogram\n");

    for (i = 0, n = 0; i < NGX_HTTP_LINKCERT_HOLD_BUCKETS; i++) {
        n += st->hold[i];

        if (i < NGX_HTTP_LINKCERT_HOLD_BUCKETS - 1) {
            p = ngx_slprintf(p, last,
                             "linkcert_hold_seconds_bucket{le=\"%ui.%03ui\"} "
                             "%ui\n", hold_le[i] / 1000, hold_le[i] % 1000, n);
        } else {
            p = ngx_slprintf(p, last,
                             "linkcert_hold_seconds_bucket{le=\"+Inf\"} "
                             "%ui\n", n);
        }
    }

    p = ngx_slprintf(p, last,
            "linkcert_hold_seconds_sum %uA.%03uA\n"
            "linkcert_hold_seconds_count %ui\n"
            "# HELP linkcert_on_demand_total Names seen on demand, by what "
            "the gates did.\n"
            "# TYPE linkcert_on_demand_total counter\n",
            st->hold_ms / 1000, st->hold_ms % 1000, n);

    for (i = 0; i < NGX_HTTP_LINKCERT_DEMAND_N; i++) {
        p = ngx_slprintf(p, last, "linkcert_on_demand_total{result=\"%s\"} "
                         "%uA\n", ngx_http_linkcert_demand[i], st->demand[i]);
    }

    p = ngx_slprintf(p, last,
            "# HELP linkcert_hold_timeouts_total Held handshakes that got "
            "the fallback certificate: linkcert_hold ran out first.\n"
            "# TYPE linkcert_hold_timeouts_total counter\n"
            "linkcert_hold_timeouts_total %uA\n", st->hold_timeouts);

    return p;
}


/*
 * The zone: its entries, and its pages in use (a page holding any entry
 * counts whole), so that a zone filling up is seen before new domains
 * are refused.
 */

static u_char *
ngx_http_linkcert_metrics_zone(u_char *p, u_char *last,
    ngx_http_linkcert_main_conf_t *lmcf, ngx_uint_t *by_status,
    ngx_http_linkcert_stats_t *st)
{
    size_t                     pages, free;
    ngx_slab_pool_t           *shpool;
    ngx_http_linkcert_zone_t  *ctx;

    ctx = lmcf->shm_zone->data;
    shpool = ctx->shpool;

    ngx_shmtx_lock(&shpool->mutex);
    pages = (shpool->end - shpool->start) / ngx_pagesize;
    free = shpool->pfree;
    ngx_shmtx_unlock(&shpool->mutex);

    return ngx_slprintf(p, last,
            "# HELP linkcert_zone_entries Domains in the linkcert_zone, "
            "whatever their status.\n"
            "# TYPE linkcert_zone_entries gauge\n"
            "linkcert_zone_entries %ui\n"
            "# HELP linkcert_zone_size_bytes The linkcert_zone's memory for "
            "entries.\n"
            "# TYPE linkcert_zone_size_bytes gauge\n"
            "linkcert_zone_size_bytes %uz\n"
            "# HELP linkcert_zone_used_bytes The part of it in use, in "
            "whole pages.\n"
            "# TYPE linkcert_zone_used_bytes gauge\n"
            "linkcert_zone_used_bytes %uz\n"
            "# HELP linkcert_zone_full_total New domains not added: the "
            "zone had no room.\n"
            "# TYPE linkcert_zone_full_total counter\n"
            "linkcert_zone_full_total %uA\n"
            "# HELP linkcert_zone_lock_holds_total Times the shared zone's "
            "lock was taken.\n"
            "# TYPE linkcert_zone_lock_holds_total counter\n"
            "linkcert_zone_lock_holds_total %uL\n"
            "# HELP linkcert_zone_lock_held_seconds_total Time the shared "
            "zone's lock was held.\n"
            "# TYPE linkcert_zone_lock_held_seconds_total counter\n"
            "linkcert_zone_lock_held_seconds_total %uL.%09uL\n"
            "# HELP linkcert_zone_lock_hold_max_seconds The longest hold of "
            "the shared zone's lock since the zone was made.\n"
            "# TYPE linkcert_zone_lock_hold_max_seconds gauge\n"
            "linkcert_zone_lock_hold_max_seconds %uL.%09uL\n",
            by_status[LC_STATUS_UNKNOWN] + by_status[LC_STATUS_PENDING]
            + by_status[LC_STATUS_ISSUED],
            pages * ngx_pagesize, (pages - free) * ngx_pagesize,
            st->zone_full, st->lock_holds,
            st->lock_held_ns / 1000000000, st->lock_held_ns % 1000000000,
            st->lock_max_ns / 1000000000, st->lock_max_ns % 1000000000);
}


/* the CA: requests, errors by problem type, orders by what started them */

static u_char *
ngx_http_linkcert_metrics_acme(u_char *p, u_char *last,
    ngx_http_linkcert_stats_t *st)
{
    ngx_uint_t  i, j;

    p = ngx_slprintf(p, last,
            "# HELP linkcert_acme_requests_total Requests sent to the CA.\n"
            "# TYPE linkcert_acme_requests_total counter\n"
            "linkcert_acme_requests_total %uA\n"
            "# HELP linkcert_acme_errors_total The CA's error answers by "
            "problem type; acme_server: 5xx, acme_other: another error, "
            "acme_transport: no answer.\n"
            "# TYPE linkcert_acme_errors_total counter\n",
            st->acme_requests);

    for (i = 0; i < LC_ACME_PROBLEM_N; i++) {
        p = ngx_slprintf(p, last,
                         "linkcert_acme_errors_total{type=\"%s\"} %uA\n",
                         lc_acme_problem_name(i), st->acme_errors[i]);
    }

    p = ngx_slprintf(p, last,
            "# HELP linkcert_orders_by_origin_total ACME orders by what "
            "started them (post: Verify domain, on_demand, renewal) and by "
            "result.\n"
            "# TYPE linkcert_orders_by_origin_total counter\n");

    for (i = 0; i < LC_ORIGIN_N; i++) {
        for (j = 0; j < NGX_HTTP_LINKCERT_ORDER_N; j++) {
            p = ngx_slprintf(p, last, "linkcert_orders_by_origin_total{"
                             "origin=\"%s\",result=\"%s\"} %uA\n",
                             ngx_http_linkcert_origins[i],
                             ngx_http_linkcert_order_results[j],
                             st->origins[i][j]);
        }
    }

    return p;
}


/* the webhook's queue and deliveries, with linkcert_webhook only */

static u_char *
ngx_http_linkcert_metrics_webhook(u_char *p, u_char *last,
    ngx_http_linkcert_main_conf_t *lmcf, ngx_http_linkcert_stats_t *st)
{
    if (lmcf->webhook == NULL) {
        return p;
    }

    return ngx_slprintf(p, last,
            "# HELP linkcert_webhook_queue Webhook events not delivered "
            "yet.\n"
            "# TYPE linkcert_webhook_queue gauge\n"
            "linkcert_webhook_queue %ui\n"
            "# HELP linkcert_webhook_deliveries_total Webhook POSTs, by "
            "result: a 2xx, or anything else (each attempt).\n"
            "# TYPE linkcert_webhook_deliveries_total counter\n"
            "linkcert_webhook_deliveries_total{result=\"delivered\"} %uA\n"
            "linkcert_webhook_deliveries_total{result=\"failed\"} %uA\n"
            "# HELP linkcert_webhook_dropped_total Webhook events given up: "
            "not delivered within 24 h, or no room for them.\n"
            "# TYPE linkcert_webhook_dropped_total counter\n"
            "linkcert_webhook_dropped_total{reason=\"expired\"} %uA\n"
            "linkcert_webhook_dropped_total{reason=\"full\"} %uA\n",
            ngx_http_linkcert_webhook_queued(lmcf->shm_zone),
            st->webhook[NGX_HTTP_LINKCERT_WEBHOOK_DELIVERED],
            st->webhook[NGX_HTTP_LINKCERT_WEBHOOK_FAILED],
            st->webhook_dropped[NGX_HTTP_LINKCERT_DROPPED_EXPIRED],
            st->webhook_dropped[NGX_HTTP_LINKCERT_DROPPED_FULL]);
}
