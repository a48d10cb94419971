
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: tests of the metrics' rendering (Prometheus text format
 * 0.0.4): the exact text of every family at zero, a histogram's
 * cumulative buckets, sum and count, the counters by their enums, the
 * webhook's and Redis's families only with them, the edge label escaped,
 * and the length computed before the text is written.
 */


#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lc_metrics.h"


/* every family at zero, without linkcert_webhook and linkcert_redis */

static const char  lc_zero[] =
    "# HELP linkcert_domains Domains in the table, by status.\n"
    "# TYPE linkcert_domains gauge\n"
    "linkcert_domains{status=\"unknown\"} 0\n"
    "linkcert_domains{status=\"pending\"} 0\n"
    "linkcert_domains{status=\"issued\"} 0\n"
    "# HELP linkcert_certificates_expiring Certificates served that "
        "expire within 7 days.\n"
    "# TYPE linkcert_certificates_expiring gauge\n"
    "linkcert_certificates_expiring{within=\"7d\"} 0\n"
    "# HELP linkcert_certificate_expiration_timestamp_seconds The "
        "earliest expiry of an issued certificate.\n"
    "# TYPE linkcert_certificate_expiration_timestamp_seconds gauge\n"
    "linkcert_certificate_expiration_timestamp_seconds 0\n"
    "# HELP linkcert_certificates_expiring_by_cause Certificates served "
        "that expire within 7 days, by cause: dns_moved (the domain points "
        "elsewhere, not renewed), renewal_failing.\n"
    "# TYPE linkcert_certificates_expiring_by_cause gauge\n"
    "linkcert_certificates_expiring_by_cause{within=\"7d\","
        "cause=\"dns_moved\"} 0\n"
    "linkcert_certificates_expiring_by_cause{within=\"7d\","
        "cause=\"renewal_failing\"} 0\n"
    "# HELP linkcert_orders_total ACME orders, by result.\n"
    "# TYPE linkcert_orders_total counter\n"
    "linkcert_orders_total{result=\"issued\"} 0\n"
    "linkcert_orders_total{result=\"failed\"} 0\n"
    "linkcert_orders_total{result=\"transient\"} 0\n"
    "# HELP linkcert_dns_checks_total DNS verifications, by result.\n"
    "# TYPE linkcert_dns_checks_total counter\n"
    "linkcert_dns_checks_total{result=\"verified\"} 0\n"
    "linkcert_dns_checks_total{result=\"failed\"} 0\n"
    "linkcert_dns_checks_total{result=\"transient\"} 0\n"
    "# HELP linkcert_handshakes_total TLS handshakes on linkcert servers,"
        " by the certificate presented; \"held\" counts those that waited "
        "for an on-demand certificate first.\n"
    "# TYPE linkcert_handshakes_total counter\n"
    "linkcert_handshakes_total{outcome=\"certificate\"} 0\n"
    "linkcert_handshakes_total{outcome=\"fallback\"} 0\n"
    "linkcert_handshakes_total{outcome=\"held\"} 0\n"
    "# HELP linkcert_cache_lookups_total Certificates looked up in a "
        "worker's cache at handshakes, by result; a miss reads the store.\n"
    "# TYPE linkcert_cache_lookups_total counter\n"
    "linkcert_cache_lookups_total{result=\"hit\"} 0\n"
    "linkcert_cache_lookups_total{result=\"miss\"} 0\n"
    "# HELP linkcert_cache_certificates Certificates kept parsed in the "
        "workers' caches, all workers together.\n"
    "# TYPE linkcert_cache_certificates gauge\n"
    "linkcert_cache_certificates 0\n"
    "# HELP linkcert_cache_size The certificates each worker keeps at "
        "most: linkcert_cache_size, or its default.\n"
    "# TYPE linkcert_cache_size gauge\n"
    "linkcert_cache_size 0\n"
    "# HELP linkcert_renewals_total Certificates renewed.\n"
    "# TYPE linkcert_renewals_total counter\n"
    "linkcert_renewals_total 0\n"
    "# HELP linkcert_last_renewal_timestamp_seconds When the last "
        "renewal succeeded (0: never).\n"
    "# TYPE linkcert_last_renewal_timestamp_seconds gauge\n"
    "linkcert_last_renewal_timestamp_seconds 0\n"
    "# HELP linkcert_hold_seconds How long held handshakes waited.\n"
    "# TYPE linkcert_hold_seconds histogram\n"
    "linkcert_hold_seconds_bucket{le=\"0.100\"} 0\n"
    "linkcert_hold_seconds_bucket{le=\"0.250\"} 0\n"
    "linkcert_hold_seconds_bucket{le=\"0.500\"} 0\n"
    "linkcert_hold_seconds_bucket{le=\"1.000\"} 0\n"
    "linkcert_hold_seconds_bucket{le=\"2.500\"} 0\n"
    "linkcert_hold_seconds_bucket{le=\"5.000\"} 0\n"
    "linkcert_hold_seconds_bucket{le=\"10.000\"} 0\n"
    "linkcert_hold_seconds_bucket{le=\"+Inf\"} 0\n"
    "linkcert_hold_seconds_sum 0.000\n"
    "linkcert_hold_seconds_count 0\n"
    "# HELP linkcert_on_demand_total Names seen on demand, by what the "
        "gates did.\n"
    "# TYPE linkcert_on_demand_total counter\n"
    "linkcert_on_demand_total{result=\"admitted\"} 0\n"
    "linkcert_on_demand_total{result=\"refused_negative\"} 0\n"
    "linkcert_on_demand_total{result=\"refused_rate\"} 0\n"
    "linkcert_on_demand_total{result=\"refused_ask\"} 0\n"
    "linkcert_on_demand_total{result=\"refused_dns\"} 0\n"
    "linkcert_on_demand_total{result=\"refused_full\"} 0\n"
    "# HELP linkcert_hold_timeouts_total Held handshakes that got the "
        "fallback certificate: linkcert_hold ran out first.\n"
    "# TYPE linkcert_hold_timeouts_total counter\n"
    "linkcert_hold_timeouts_total 0\n"
    "# HELP linkcert_zone_entries Domains in the linkcert_zone, whatever "
        "their status.\n"
    "# TYPE linkcert_zone_entries gauge\n"
    "linkcert_zone_entries 0\n"
    "# HELP linkcert_zone_size_bytes The linkcert_zone's memory for "
        "entries.\n"
    "# TYPE linkcert_zone_size_bytes gauge\n"
    "linkcert_zone_size_bytes 0\n"
    "# HELP linkcert_zone_used_bytes The part of it in use, in whole "
        "pages.\n"
    "# TYPE linkcert_zone_used_bytes gauge\n"
    "linkcert_zone_used_bytes 0\n"
    "# HELP linkcert_zone_full_total New domains not added: the zone had "
        "no room.\n"
    "# TYPE linkcert_zone_full_total counter\n"
    "linkcert_zone_full_total 0\n"
    "# HELP linkcert_zone_lock_holds_total Times the shared zone's lock "
        "was taken.\n"
    "# TYPE linkcert_zone_lock_holds_total counter\n"
    "linkcert_zone_lock_holds_total 0\n"
    "# HELP linkcert_zone_lock_held_seconds_total Time the shared zone's "
        "lock was held.\n"
    "# TYPE linkcert_zone_lock_held_seconds_total counter\n"
    "linkcert_zone_lock_held_seconds_total 0.000000000\n"
    "# HELP linkcert_zone_lock_hold_max_seconds The longest hold of the "
        "shared zone's lock since the zone was made.\n"
    "# TYPE linkcert_zone_lock_hold_max_seconds gauge\n"
    "linkcert_zone_lock_hold_max_seconds 0.000000000\n"
    "# HELP linkcert_acme_requests_total Requests sent to the CA.\n"
    "# TYPE linkcert_acme_requests_total counter\n"
    "linkcert_acme_requests_total 0\n"
    "# HELP linkcert_acme_errors_total The CA's error answers by problem "
        "type; acme_server: 5xx, acme_other: another error, acme_transport: "
        "no answer.\n"
    "# TYPE linkcert_acme_errors_total counter\n"
    "linkcert_acme_errors_total"
        "{type=\"urn:ietf:params:acme:error:accountDoesNotExist\"} 0\n"
    "linkcert_acme_errors_total"
        "{type=\"urn:ietf:params:acme:error:alreadyReplaced\"} 0\n"
    "linkcert_acme_errors_total"
        "{type=\"urn:ietf:params:acme:error:alreadyRevoked\"} 0\n"
    "linkcert_acme_errors_total"
        "{type=\"urn:ietf:params:acme:error:badCSR\"} 0\n"
    "linkcert_acme_errors_total"
        "{type=\"urn:ietf:params:acme:error:badNonce\"} 0\n"
    "linkcert_acme_errors_total"
        "{type=\"urn:ietf:params:acme:error:badPublicKey\"} 0\n"
    "linkcert_acme_errors_total"
        "{type=\"urn:ietf:params:acme:error:badRevocationReason\"} 0\n"
    "linkcert_acme_errors_total"
        "{type=\"urn:ietf:params:acme:error:badSignatureAlgorithm\"} 0\n"
    "linkcert_acme_errors_total{type=\"urn:ietf:params:acme:error:caa\"} "
        "0\n"
    "linkcert_acme_errors_total"
        "{type=\"urn:ietf:params:acme:error:compound\"} 0\n"
    "linkcert_acme_errors_total"
        "{type=\"urn:ietf:params:acme:error:connection\"} 0\n"
    "linkcert_acme_errors_total{type=\"urn:ietf:params:acme:error:dns\"} "
        "0\n"
    "linkcert_acme_errors_total"
        "{type=\"urn:ietf:params:acme:error:externalAccountRequired\"} 0\n"
    "linkcert_acme_errors_total"
        "{type=\"urn:ietf:params:acme:error:incorrectResponse\"} 0\n"
    "linkcert_acme_errors_total"
        "{type=\"urn:ietf:params:acme:error:invalidContact\"} 0\n"
    "linkcert_acme_errors_total"
        "{type=\"urn:ietf:params:acme:error:malformed\"} 0\n"
    "linkcert_acme_errors_total"
        "{type=\"urn:ietf:params:acme:error:orderNotReady\"} 0\n"
    "linkcert_acme_errors_total"
        "{type=\"urn:ietf:params:acme:error:rateLimited\"} 0\n"
    "linkcert_acme_errors_total"
        "{type=\"urn:ietf:params:acme:error:rejectedIdentifier\"} 0\n"
    "linkcert_acme_errors_total"
        "{type=\"urn:ietf:params:acme:error:serverInternal\"} 0\n"
    "linkcert_acme_errors_total{type=\"urn:ietf:params:acme:error:tls\"} "
        "0\n"
    "linkcert_acme_errors_total"
        "{type=\"urn:ietf:params:acme:error:unauthorized\"} 0\n"
    "linkcert_acme_errors_total"
        "{type=\"urn:ietf:params:acme:error:unsupportedContact\"} 0\n"
    "linkcert_acme_errors_total"
        "{type=\"urn:ietf:params:acme:error:unsupportedIdentifier\"} 0\n"
    "linkcert_acme_errors_total"
        "{type=\"urn:ietf:params:acme:error:userActionRequired\"} 0\n"
    "linkcert_acme_errors_total{type=\"acme_server\"} 0\n"
    "linkcert_acme_errors_total{type=\"acme_other\"} 0\n"
    "linkcert_acme_errors_total{type=\"acme_transport\"} 0\n"
    "# HELP linkcert_orders_by_origin_total ACME orders by what started "
        "them (post: Verify domain, on_demand, renewal) and by result.\n"
    "# TYPE linkcert_orders_by_origin_total counter\n"
    "linkcert_orders_by_origin_total{origin=\"post\",result=\"issued\"} "
        "0\n"
    "linkcert_orders_by_origin_total{origin=\"post\",result=\"failed\"} "
        "0\n"
    "linkcert_orders_by_origin_total{origin=\"post\","
        "result=\"transient\"} 0\n"
    "linkcert_orders_by_origin_total{origin=\"on_demand\","
        "result=\"issued\"} 0\n"
    "linkcert_orders_by_origin_total{origin=\"on_demand\","
        "result=\"failed\"} 0\n"
    "linkcert_orders_by_origin_total{origin=\"on_demand\","
        "result=\"transient\"} 0\n"
    "linkcert_orders_by_origin_total{origin=\"renewal\","
        "result=\"issued\"} 0\n"
    "linkcert_orders_by_origin_total{origin=\"renewal\","
        "result=\"failed\"} 0\n"
    "linkcert_orders_by_origin_total{origin=\"renewal\","
        "result=\"transient\"} 0\n";


/* the text of m, malloc()ed and NUL-terminated */

static char *
lc_render(const lc_metrics_t *m)
{
    char    *text;
    size_t   len;

    len = lc_metrics_render(m, NULL, 0);

    text = malloc(len + 1);
    assert_non_null(text);

    assert_int_equal(lc_metrics_render(m, text, len + 1), len);
    assert_int_equal(strlen(text), len);

    return text;
}


/* the lines of text from the one starting with from up to (without) to */

static char *
lc_between(const char *text, const char *from, const char *to)
{
    char        *part;
    const char  *start, *end;

    start = strstr(text, from);
    assert_non_null(start);

    end = (to == NULL) ? start + strlen(start) : strstr(start, to);
    assert_non_null(end);

    part = strndup(start, (size_t) (end - start));
    assert_non_null(part);

    return part;
}


static void
test_zero(void **state)
{
    char          *text;
    lc_metrics_t   m;

    (void) state;

    memset(&m, 0, sizeof(lc_metrics_t));

    text = lc_render(&m);
    assert_string_equal(text, lc_zero);
    free(text);
}


static void
test_histogram(void **state)
{
    char          *text, *hold;
    lc_metrics_t   m;

    (void) state;

    memset(&m, 0, sizeof(lc_metrics_t));

    /* each bucket its own count: the text's are cumulative */

    m.hold[0] = 1;                      /* <= 0.1 s */
    m.hold[2] = 2;                      /* <= 0.5 s */
    m.hold[6] = 1;                      /* <= 10 s */
    m.hold[7] = 3;                      /* longer */
    m.hold_ms = 62045;

    text = lc_render(&m);
    hold = lc_between(text, "# HELP linkcert_hold_seconds ",
                      "# HELP linkcert_on_demand_total ");

    assert_string_equal(hold,
        "# HELP linkcert_hold_seconds How long held handshakes waited.\n"
        "# TYPE linkcert_hold_seconds histogram\n"
        "linkcert_hold_seconds_bucket{le=\"0.100\"} 1\n"
        "linkcert_hold_seconds_bucket{le=\"0.250\"} 1\n"
        "linkcert_hold_seconds_bucket{le=\"0.500\"} 3\n"
        "linkcert_hold_seconds_bucket{le=\"1.000\"} 3\n"
        "linkcert_hold_seconds_bucket{le=\"2.500\"} 3\n"
        "linkcert_hold_seconds_bucket{le=\"5.000\"} 3\n"
        "linkcert_hold_seconds_bucket{le=\"10.000\"} 4\n"
        "linkcert_hold_seconds_bucket{le=\"+Inf\"} 7\n"
        "linkcert_hold_seconds_sum 62.045\n"
        "linkcert_hold_seconds_count 7\n");

    free(hold);
    free(text);
}


/* each counter lands on the series its enum names */

static void
test_counters(void **state)
{
    char          *text;
    lc_metrics_t   m;

    (void) state;

    memset(&m, 0, sizeof(lc_metrics_t));

    m.domains[LC_STATUS_UNKNOWN] = 4;
    m.domains[LC_STATUS_ISSUED] = 1000000;
    m.earliest = 1796943074;
    m.orders[LC_METRICS_ORDER_FAILED] = 2;
    m.origins[LC_ORIGIN_RENEWAL][LC_METRICS_ORDER_TRANSIENT] = 5;
    m.dns[LC_METRICS_DNS_TRANSIENT] = 3;
    m.handshakes[LC_METRICS_HANDSHAKE_HELD] = 6;
    m.cache[LC_METRICS_CACHE_MISS] = 11;
    m.cache_entries = 12;
    m.cache_size = 16384;
    m.demand[LC_METRICS_DEMAND_FULL] = 7;
    m.acme_errors[LC_ACME_PROBLEM_TRANSPORT] = 9;
    m.zone_size = 4165632;
    m.zone_used = 45056;
    m.lock_holds = 5000000000ULL;
    m.lock_held_ns = 1500000000ULL;
    m.lock_max_ns = 278338;

    text = lc_render(&m);

    assert_non_null(strstr(text,
        "linkcert_domains{status=\"unknown\"} 4\n"
        "linkcert_domains{status=\"pending\"} 0\n"
        "linkcert_domains{status=\"issued\"} 1000000\n"));
    assert_non_null(strstr(text,
        "\nlinkcert_certificate_expiration_timestamp_seconds "
        "1796943074\n"));
    assert_non_null(strstr(text,
        "\nlinkcert_orders_total{result=\"failed\"} 2\n"));
    assert_non_null(strstr(text,
        "\nlinkcert_orders_by_origin_total{origin=\"renewal\","
        "result=\"transient\"} 5\n"));
    assert_non_null(strstr(text,
        "\nlinkcert_dns_checks_total{result=\"transient\"} 3\n"));
    assert_non_null(strstr(text,
        "\nlinkcert_handshakes_total{outcome=\"held\"} 6\n"));
    assert_non_null(strstr(text,
        "\nlinkcert_cache_lookups_total{result=\"hit\"} 0\n"
        "linkcert_cache_lookups_total{result=\"miss\"} 11\n"));
    assert_non_null(strstr(text, "\nlinkcert_cache_certificates 12\n"));
    assert_non_null(strstr(text, "\nlinkcert_cache_size 16384\n"));
    assert_non_null(strstr(text,
        "\nlinkcert_on_demand_total{result=\"refused_full\"} 7\n"));
    assert_non_null(strstr(text,
        "\nlinkcert_acme_errors_total{type=\"acme_transport\"} 9\n"));
    assert_non_null(strstr(text, "\nlinkcert_zone_entries 1000004\n"));
    assert_non_null(strstr(text, "\nlinkcert_zone_size_bytes 4165632\n"));
    assert_non_null(strstr(text, "\nlinkcert_zone_used_bytes 45056\n"));
    assert_non_null(strstr(text,
        "\nlinkcert_zone_lock_holds_total 5000000000\n"));
    assert_non_null(strstr(text,
        "\nlinkcert_zone_lock_held_seconds_total 1.500000000\n"));
    assert_non_null(strstr(text,
        "\nlinkcert_zone_lock_hold_max_seconds 0.000278338\n"));

    free(text);
}


static void
test_webhook(void **state)
{
    char          *text, *webhook;
    lc_metrics_t   m;

    (void) state;

    memset(&m, 0, sizeof(lc_metrics_t));

    m.webhook = 1;
    m.webhook_queue = 2;
    m.webhook_results[LC_METRICS_WEBHOOK_FAILED] = 3;
    m.webhook_dropped[LC_METRICS_DROPPED_EXPIRED] = 1;

    text = lc_render(&m);

    /* after every other family, and the last */

    assert_int_equal(strncmp(text, lc_zero, strlen(lc_zero)), 0);

    webhook = lc_between(text, "# HELP linkcert_webhook_queue ", NULL);

    assert_string_equal(webhook,
        "# HELP linkcert_webhook_queue Webhook events not delivered yet.\n"
        "# TYPE linkcert_webhook_queue gauge\n"
        "linkcert_webhook_queue 2\n"
        "# HELP linkcert_webhook_deliveries_total Webhook POSTs, by result: "
            "a 2xx, or anything else (each attempt).\n"
        "# TYPE linkcert_webhook_deliveries_total counter\n"
        "linkcert_webhook_deliveries_total{result=\"delivered\"} 0\n"
        "linkcert_webhook_deliveries_total{result=\"failed\"} 3\n"
        "# HELP linkcert_webhook_dropped_total Webhook events given up: not "
            "delivered within 24 h, or no room for them.\n"
        "# TYPE linkcert_webhook_dropped_total counter\n"
        "linkcert_webhook_dropped_total{reason=\"expired\"} 1\n"
        "linkcert_webhook_dropped_total{reason=\"full\"} 0\n");

    assert_int_equal(strlen(text), strlen(lc_zero) + strlen(webhook));

    free(webhook);
    free(text);
}


/* the edge label: the last family, with linkcert_redis only */

static void
test_edge(void **state)
{
    char          *text, *redis;
    lc_metrics_t   m;

    (void) state;

    memset(&m, 0, sizeof(lc_metrics_t));

    m.edge = "edge-a.eu_1 and the rest not in the label";
    m.edge_len = sizeof("edge-a.eu_1") - 1;
    m.redis_connected = 1;

    text = lc_render(&m);

    assert_int_equal(strncmp(text, lc_zero, strlen(lc_zero)), 0);

    redis = lc_between(text, "# HELP linkcert_redis_connected ", NULL);

    assert_string_equal(redis,
        "# HELP linkcert_redis_connected Whether the worker that answered "
            "is connected to Redis.\n"
        "# TYPE linkcert_redis_connected gauge\n"
        "linkcert_redis_connected{edge=\"edge-a.eu_1\"} 1\n");

    assert_int_equal(strlen(text), strlen(lc_zero) + strlen(redis));

    free(redis);
    free(text);
}


/* a label's value: \ " and newline escaped, nothing else */

static void
test_label_escaping(void **state)
{
    char          *text;
    lc_metrics_t   m;

    (void) state;

    memset(&m, 0, sizeof(lc_metrics_t));

    m.edge = "a\\b\"c\nd{e}=f,g";
    m.edge_len = strlen(m.edge);

    text = lc_render(&m);

    assert_non_null(strstr(text,
        "\nlinkcert_redis_connected{edge=\"a\\\\b\\\"c\\nd{e}=f,g\"} 0\n"));

    free(text);
}


/* as snprintf(): the length first, then the text cut to the buffer */

static void
test_length(void **state)
{
    char           small[100];
    size_t         len;
    lc_metrics_t   m;

    (void) state;

    memset(&m, 0, sizeof(lc_metrics_t));

    len = lc_metrics_render(&m, NULL, 0);
    assert_int_equal(len, strlen(lc_zero));

    memset(small, 'x', sizeof(small));
    assert_int_equal(lc_metrics_render(&m, small, sizeof(small)), len);
    assert_int_equal(strlen(small), sizeof(small) - 1);
    assert_memory_equal(small, lc_zero, sizeof(small) - 1);

    small[0] = 'x';
    assert_int_equal(lc_metrics_render(&m, small, 0), len);
    assert_int_equal(small[0], 'x');

    assert_int_equal(lc_metrics_render(&m, small, 1), len);
    assert_int_equal(small[0], '\0');
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_zero),
        cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_counters),
        cmocka_unit_test(test_webhook),
        cmocka_unit_test(test_edge),
        cmocka_unit_test(test_label_escaping),
        cmocka_unit_test(test_length),
    };

    return cmocka_run_group_tests_name("lc_metrics", tests, NULL, NULL);
}
