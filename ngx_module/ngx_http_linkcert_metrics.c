
/*
 * linkcert: the metrics, in Prometheus text format 0.0.4, for
 * GET .../metrics of the status API (the caller checks the API key).
 * No series per domain: a million domains would make a million series.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert.h"


#define NGX_HTTP_LINKCERT_METRICS_MAX  16384


ngx_int_t
ngx_http_linkcert_metrics(ngx_http_request_t *r,
    ngx_http_linkcert_main_conf_t *lmcf, ngx_str_t *text)
{
    u_char                     *p, *start, *last;
    time_t                      earliest;
    ngx_uint_t                  i, n, by_status[3], expiring;
    ngx_http_linkcert_stats_t  *st;

    static const char  *orders[] = { "issued", "failed", "transient" };
    static const char  *dns[] = { "verified", "failed", "transient" };
    static const char  *demand[] = { "admitted", "refused_negative",
                                     "refused_rate", "refused_ask",
                                     "refused_dns", "refused_full" };
    static ngx_msec_t   hold_le[] = NGX_HTTP_LINKCERT_HOLD_LE;

    ngx_http_linkcert_table_counts(lmcf->shm_zone, ngx_time(), by_status,
                                   &expiring, &earliest);
    st = ngx_http_linkcert_stats(lmcf->shm_zone);

    start = ngx_pnalloc(r->pool, NGX_HTTP_LINKCERT_METRICS_MAX);
    if (start == NULL) {
        return NGX_ERROR;
    }

    p = start;
    last = start + NGX_HTTP_LINKCERT_METRICS_MAX;

    p = ngx_slprintf(p, last,
            "# HELP linkcert_domains Domains in the table, by status.\n"
            "# TYPE linkcert_domains gauge\n");

    for (i = 0; i < 3; i++) {
        p = ngx_slprintf(p, last, "linkcert_domains{status=\"%s\"} %ui\n",
                         lc_status_name((lc_status_e) i), by_status[i]);
    }

    p = ngx_slprintf(p, last,
            "# HELP linkcert_certificates_expiring Issued certificates that "
            "expire within 7 days.\n"
            "# TYPE linkcert_certificates_expiring gauge\n"
            "linkcert_certificates_expiring{within=\"7d\"} %ui\n"
            "# HELP linkcert_certificate_expiration_timestamp_seconds The "
            "earliest expiry of an issued certificate.\n"
            "# TYPE linkcert_certificate_expiration_timestamp_seconds gauge\n"
            "linkcert_certificate_expiration_timestamp_seconds %T\n",
            expiring, earliest);

    p = ngx_slprintf(p, last,
            "# HELP linkcert_orders_total ACME orders, by result.\n"
            "# TYPE linkcert_orders_total counter\n");

    for (i = 0; i < 3; i++) {
        p = ngx_slprintf(p, last, "linkcert_orders_total{result=\"%s\"} "
                         "%uA\n", orders[i], st->orders[i]);
    }

    p = ngx_slprintf(p, last,
            "# HELP linkcert_dns_checks_total DNS verifications, by "
            "result.\n"
            "# TYPE linkcert_dns_checks_total counter\n");

    for (i = 0; i < 3; i++) {
        p = ngx_slprintf(p, last, "linkcert_dns_checks_total{result=\"%s\"} "
                         "%uA\n", dns[i], st->dns[i]);
    }

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
            st->handshakes[0], st->handshakes[1], st->handshakes[2],
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
                         "%uA\n", demand[i], st->demand[i]);
    }

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
