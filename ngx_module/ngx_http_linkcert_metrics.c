
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: GET .../metrics of the status API (the caller checks the API
 * key): the counters and counts copied from the zone into the core's
 * lc_metrics_t, rendered by lc_metrics_render() (src/lc_metrics.c).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert.h"
#include "ngx_http_linkcert_redis.h"


static void ngx_http_linkcert_metrics_snapshot(
    ngx_http_linkcert_main_conf_t *lmcf, lc_metrics_t *m);
static void ngx_http_linkcert_metrics_counters(ngx_http_linkcert_stats_t *st,
    lc_metrics_t *m);
static void ngx_http_linkcert_metrics_copy(unsigned long *to,
    ngx_atomic_t *from, ngx_uint_t n);


ngx_int_t
ngx_http_linkcert_metrics(ngx_http_request_t *r,
    ngx_http_linkcert_main_conf_t *lmcf, ngx_str_t *text)
{
    size_t        len;
    u_char       *p;
    lc_metrics_t  m;

    ngx_http_linkcert_metrics_snapshot(lmcf, &m);

    len = lc_metrics_render(&m, NULL, 0);

    p = ngx_pnalloc(r->pool, len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    (void) lc_metrics_render(&m, (char *) p, len + 1);

    text->data = p;
    text->len = len;

    return NGX_OK;
}


/*
 * The table's counts (under the zone's lock), the zone's pages (under
 * its slab pool's), the counters as they are (atomics), the webhook's
 * queue and this worker's Redis client.
 */

static void
ngx_http_linkcert_metrics_snapshot(ngx_http_linkcert_main_conf_t *lmcf,
    lc_metrics_t *m)
{
    time_t                         earliest;
    size_t                         pages, free;
    ngx_uint_t                     i, by_status[LC_STATUS_N];
    ngx_slab_pool_t               *shpool;
    ngx_http_linkcert_zone_t      *ctx;
    ngx_http_linkcert_expiring_t   expiring;

    ngx_memzero(m, sizeof(lc_metrics_t));

    ngx_http_linkcert_table_counts(lmcf->shm_zone, ngx_time(), by_status,
                                   &expiring, &earliest);

    for (i = 0; i < LC_STATUS_N; i++) {
        m->domains[i] = by_status[i];
    }

    m->expiring = expiring.all;
    m->expiring_dns_moved = expiring.dns_moved;
    m->expiring_renewal = expiring.renewal;
    m->earliest = earliest;

    /* a page holding any entry counts whole */

    ctx = lmcf->shm_zone->data;
    shpool = ctx->shpool;

    ngx_shmtx_lock(&shpool->mutex);
    pages = (shpool->end - shpool->start) / ngx_pagesize;
    free = shpool->pfree;
    ngx_shmtx_unlock(&shpool->mutex);

    m->zone_size = pages * ngx_pagesize;
    m->zone_used = (pages - free) * ngx_pagesize;

    ngx_http_linkcert_metrics_counters(ngx_http_linkcert_stats(lmcf->shm_zone),
                                       m);

    if (lmcf->webhook) {
        m->webhook = 1;
        m->webhook_queue = ngx_http_linkcert_webhook_queued(lmcf->shm_zone);
    }

    if (lmcf->redis) {
        m->edge = (const char *) lmcf->redis->edge.data;
        m->edge_len = lmcf->redis->edge.len;
        m->redis_connected = ngx_http_linkcert_redis_connected();
    }
}


static void
ngx_http_linkcert_metrics_counters(ngx_http_linkcert_stats_t *st,
    lc_metrics_t *m)
{
    ngx_uint_t  i;

    ngx_http_linkcert_metrics_copy(m->orders, st->orders,
                                   NGX_HTTP_LINKCERT_ORDER_N);

    for (i = 0; i < LC_ORIGIN_N; i++) {
        ngx_http_linkcert_metrics_copy(m->origins[i], st->origins[i],
                                       NGX_HTTP_LINKCERT_ORDER_N);
    }

    ngx_http_linkcert_metrics_copy(m->dns, st->dns, NGX_HTTP_LINKCERT_DNS_N);
    ngx_http_linkcert_metrics_copy(m->handshakes, st->handshakes,
                                   NGX_HTTP_LINKCERT_HANDSHAKE_N);
    ngx_http_linkcert_metrics_copy(m->cache, st->cache, LC_METRICS_CACHE_N);
    ngx_http_linkcert_metrics_copy(m->hold, st->hold,
                                   NGX_HTTP_LINKCERT_HOLD_BUCKETS);
    ngx_http_linkcert_metrics_copy(m->demand, st->demand,
                                   NGX_HTTP_LINKCERT_DEMAND_N);
    ngx_http_linkcert_metrics_copy(m->acme_errors, st->acme_errors,
                                   LC_ACME_PROBLEM_N);
    ngx_http_linkcert_metrics_copy(m->webhook_results, st->webhook,
                                   NGX_HTTP_LINKCERT_WEBHOOK_RESULTS);
    ngx_http_linkcert_metrics_copy(m->webhook_dropped, st->webhook_dropped,
                                   NGX_HTTP_LINKCERT_DROPPED_N);

    m->cache_entries = st->cache_entries;
    m->cache_size = st->cache_size;
    m->hold_ms = st->hold_ms;
    m->hold_timeouts = st->hold_timeouts;
    m->renewals = st->renewals;
    m->last_renewal = st->last_renewal;
    m->zone_full = st->zone_full;
    m->acme_requests = st->acme_requests;
    m->lock_holds = st->lock_holds;
    m->lock_held_ns = st->lock_held_ns;
    m->lock_max_ns = st->lock_max_ns;
}


static void
ngx_http_linkcert_metrics_copy(unsigned long *to, ngx_atomic_t *from,
    ngx_uint_t n)
{
    ngx_uint_t  i;

    for (i = 0; i < n; i++) {
        to[i] = from[i];
    }
}
