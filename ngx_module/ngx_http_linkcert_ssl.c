
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the certificate of each handshake, chosen by SNI.
 *
 * OpenSSL's certificate callback runs once the ClientHello is read.  It
 * must answer at once: stock nginx fails a handshake whose callback asks
 * to retry.  So it only asks the table which generation of a domain's
 * certificate is current and takes the parsed objects from a per-worker
 * LRU cache; a miss reads the two store files once.  Anything that is not
 * an issued, valid domain keeps the server's own ssl_certificate.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert.h"
#include "ngx_http_linkcert_state.h"


typedef struct {
    ngx_str_node_t                 sn;         /* key: crc32 of the name */
    ngx_queue_t                    queue;      /* most recent first */
    uint32_t                       generation;
    lc_cert_t                     *cert;       /* NULL: the files failed */
    time_t                         retry_at;   /* when cert is NULL */
    u_char                         name[1];
} ngx_http_linkcert_cached_t;


typedef struct {
    ngx_rbtree_t                   rbtree;
    ngx_rbtree_node_t              sentinel;
    ngx_queue_t                    queue;
    ngx_uint_t                     count;
    ngx_uint_t                     max;
    ngx_http_linkcert_stats_t     *stats;
} ngx_http_linkcert_cache_t;


/*
 * How long a certificate that cannot be used (a parse error, a key that
 * does not match) is remembered: long enough that a broken domain costs a
 * read and a log line every few seconds, not one per handshake; short
 * enough that fixed files are served without a reload.
 */
#define NGX_HTTP_LINKCERT_CACHE_FAILED  5        /* s */


/*
 * Without linkcert_cache_size, a worker keeps as many certificates as the
 * zone has room for domains (an entry takes a 512-byte slot of it): once
 * served, every domain the zone was sized for stays parsed.  At least
 * 4,096, at most 100,000 (about 0.8 GB of one worker, were they all busy).
 */
#define NGX_HTTP_LINKCERT_CACHE_SLOT    512      /* zone bytes a domain */
#define NGX_HTTP_LINKCERT_CACHE_MIN     4096
#define NGX_HTTP_LINKCERT_CACHE_MAX     100000


static int ngx_http_linkcert_cert_cb(ngx_ssl_conn_t *ssl_conn, void *arg);
static lc_cert_t *ngx_http_linkcert_cache_get(
    ngx_http_linkcert_main_conf_t *lmcf, u_char *name, size_t len,
    uint32_t generation, ngx_log_t *log);
static void ngx_http_linkcert_cache_free(ngx_http_linkcert_cached_t *cached);
static void ngx_http_linkcert_restore_fallback(ngx_ssl_conn_t *ssl_conn);
static ngx_uint_t ngx_http_linkcert_cache_max(
    ngx_http_linkcert_main_conf_t *lmcf);


static ngx_http_linkcert_cache_t  ngx_http_linkcert_cache;


ngx_int_t
ngx_http_linkcert_ssl_init(ngx_conf_t *cf,
    ngx_http_linkcert_main_conf_t *lmcf)
{
    ngx_uint_t                     s;
    ngx_http_conf_ctx_t           *ctx;
    ngx_http_ssl_srv_conf_t       *sscf;
    ngx_http_core_srv_conf_t     **cscfp;
    ngx_http_core_main_conf_t     *cmcf;
    ngx_http_linkcert_srv_conf_t  *lscf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);
    cscfp = cmcf->servers.elts;

    for (s = 0; s < cmcf->servers.nelts; s++) {
        ctx = cscfp[s]->ctx;

        lscf = ctx->srv_conf[ngx_http_linkcert_module.ctx_index];
        sscf = ctx->srv_conf[ngx_http_ssl_module.ctx_index];

        if (!lscf->enable || sscf->ssl.ctx == NULL) {
            continue;
        }

        /* sscf->file is set by the "ssl" directive only: the server's */

        if (sscf->certificate_values) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "\"linkcert on\" in %s:%ui needs a static "
                          "\"ssl_certificate\" as the fallback, not one "
                          "with variables", cscfp[s]->file_name,
                          cscfp[s]->line);
            return NGX_ERROR;
        }

        SSL_CTX_set_cert_cb(sscf->ssl.ctx, ngx_http_linkcert_cert_cb, lmcf);
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_linkcert_ssl_init_process(ngx_cycle_t *cycle)
{
    ngx_http_linkcert_main_conf_t  *lmcf;

    lmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_linkcert_module);
    if (lmcf == NULL || lmcf->shm_zone == NULL) {
        return NGX_OK;
    }

    ngx_rbtree_init(&ngx_http_linkcert_cache.rbtree,
                    &ngx_http_linkcert_cache.sentinel,
                    ngx_str_rbtree_insert_value);
    ngx_queue_init(&ngx_http_linkcert_cache.queue);

    ngx_http_linkcert_cache.count = 0;
    ngx_http_linkcert_cache.max = ngx_http_linkcert_cache_max(lmcf);
    ngx_http_linkcert_cache.stats = ngx_http_linkcert_stats(lmcf->shm_zone);
    ngx_http_linkcert_cache.stats->cache_size = ngx_http_linkcert_cache.max;

    return NGX_OK;
}


static ngx_uint_t
ngx_http_linkcert_cache_max(ngx_http_linkcert_main_conf_t *lmcf)
{
    ngx_uint_t  n;

    if (lmcf->cache_size) {
        return lmcf->cache_size;
    }

    n = lmcf->shm_zone->shm.size / NGX_HTTP_LINKCERT_CACHE_SLOT;

    return ngx_min(ngx_max(n, NGX_HTTP_LINKCERT_CACHE_MIN),
                   NGX_HTTP_LINKCERT_CACHE_MAX);
}


void
ngx_http_linkcert_ssl_exit_process(ngx_cycle_t *cycle)
{
    ngx_queue_t                 *q;
    ngx_http_linkcert_cached_t  *cached;

    if (ngx_http_linkcert_cache.queue.next == NULL) {
        return;
    }

    while (!ngx_queue_empty(&ngx_http_linkcert_cache.queue)) {
        q = ngx_queue_head(&ngx_http_linkcert_cache.queue);
        cached = ngx_queue_data(q, ngx_http_linkcert_cached_t, queue);
        ngx_http_linkcert_cache_free(cached);
    }

    lc_cert_cleanup();
}


static int
ngx_http_linkcert_cert_cb(ngx_ssl_conn_t *ssl_conn, void *arg)
{
    ngx_http_linkcert_main_conf_t *lmcf = arg;

    size_t                      len;
    uint32_t                    generation;
    lc_cert_t                  *cert;
    const char                 *sni, *reason;
    ngx_connection_t           *c;
    ngx_http_linkcert_stats_t  *stats;
    char                        name[LC_DOMAIN_MAX + 1];

    c = ngx_ssl_get_connection(ssl_conn);
    stats = ngx_http_linkcert_stats(lmcf->shm_zone);

    sni = SSL_get_servername(ssl_conn, TLSEXT_NAMETYPE_host_name);

    if (sni == NULL
        || lc_domain_normalize(sni, ngx_strlen(sni), name, &len, &reason)
           != 0)
    {
        goto fallback;
    }

    if (ngx_http_linkcert_table_serving(lmcf->shm_zone, (u_char *) name, len,
                                        ngx_time(), &generation)
        != NGX_OK)
    {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, c->log, 0,
                       "linkcert: \"%s\" not issued, fallback", name);
        goto fallback;
    }

    cert = ngx_http_linkcert_cache_get(lmcf, (u_char *) name, len, generation,
                                       c->log);
    if (cert == NULL) {
        goto fallback;
    }

    /*
     * The fallback's certificate is dropped first: OpenSSL keeps one per
     * key type and would otherwise prefer an ECDSA fallback to a domain's
     * RSA certificate.  The pair was checked when it was loaded.
     */

    SSL_certs_clear(ssl_conn);

    if (SSL_use_cert_and_key(ssl_conn, cert->leaf, cert->key, cert->chain, 1)
        != 1)
    {
        ngx_ssl_error(NGX_LOG_ERR, c->log, 0,
                      "linkcert: SSL_use_cert_and_key(\"%s\") failed", name);
        ngx_http_linkcert_restore_fallback(ssl_conn);
        goto fallback;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "linkcert: \"%s\" generation %uD", name, generation);

    (void) ngx_atomic_fetch_add(
               &stats->handshakes[NGX_HTTP_LINKCERT_HANDSHAKE_CERTIFICATE], 1);

    return 1;

fallback:

    (void) ngx_atomic_fetch_add(
               &stats->handshakes[NGX_HTTP_LINKCERT_HANDSHAKE_FALLBACK], 1);

    return 1;
}


/* the handshake never fails because of linkcert */

static void
ngx_http_linkcert_restore_fallback(ngx_ssl_conn_t *ssl_conn)
{
    X509            *x509;
    SSL_CTX         *ctx;
    EVP_PKEY        *key;
    STACK_OF(X509)  *chain;

    ctx = SSL_get_SSL_CTX(ssl_conn);
    x509 = SSL_CTX_get0_certificate(ctx);
    key = SSL_CTX_get0_privatekey(ctx);
    chain = NULL;

    if (x509 == NULL || key == NULL) {
        return;
    }

    (void) SSL_CTX_get0_chain_certs(ctx, &chain);
    (void) SSL_use_cert_and_key(ssl_conn, x509, key, chain, 1);
}


static lc_cert_t *
ngx_http_linkcert_cache_get(ngx_http_linkcert_main_conf_t *lmcf, u_char *name,
    size_t len, uint32_t generation, ngx_log_t *log)
{
    uint32_t                     hash;
    ngx_str_t                    key;
    ngx_queue_t                 *q;
    lc_error_t                   err;
    ngx_http_linkcert_cache_t   *cache;
    ngx_http_linkcert_cached_t  *cached;

    cache = &ngx_http_linkcert_cache;
    hash = ngx_crc32_short(name, len);

    key.len = len;
    key.data = name;

    cached = (ngx_http_linkcert_cached_t *)
                 ngx_str_rbtree_lookup(&cache->rbtree, &key, hash);

    if (cached
        && cached->generation == generation
        && (cached->cert || ngx_time() < cached->retry_at))
    {
        ngx_queue_remove(&cached->queue);
        ngx_queue_insert_head(&cache->queue, &cached->queue);

        (void) ngx_atomic_fetch_add(&cache->stats->cache[LC_METRICS_CACHE_HIT],
                                    1);
        return cached->cert;
    }

    (void) ngx_atomic_fetch_add(&cache->stats->cache[LC_METRICS_CACHE_MISS],
                                1);

    if (cached) {
        ngx_http_linkcert_cache_free(cached);
    }

    if (cache->count >= cache->max) {
        q = ngx_queue_last(&cache->queue);
        ngx_http_linkcert_cache_free(
            ngx_queue_data(q, ngx_http_linkcert_cached_t, queue));
    }

    cached = ngx_alloc(offsetof(ngx_http_linkcert_cached_t, name) + len, log);
    if (cached == NULL) {
        return NULL;
    }

    ngx_memcpy(cached->name, name, len);
    cached->sn.node.key = hash;
    cached->sn.str.len = len;
    cached->sn.str.data = cached->name;
    cached->generation = generation;

    cached->cert = lmcf->state->read_cert(lmcf->state, name, len, &err, log);
    if (cached->cert == NULL) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "linkcert: cannot serve \"%*s\": %s (%s), "
                      "using the fallback certificate",
                      len, name, err.detail, err.type);

        /*
         * Files that could not be read (out of descriptors or memory, a
         * file being replaced) may be read at the next handshake: not
         * remembered.  Files read but unusable are, for a few seconds.
         */

        if (lc_error_is(&err, LC_ERR_STORE_UNREADABLE)) {
            ngx_free(cached);
            return NULL;
        }

        cached->retry_at = ngx_time() + NGX_HTTP_LINKCERT_CACHE_FAILED;
    }

    ngx_rbtree_insert(&cache->rbtree, &cached->sn.node);
    ngx_queue_insert_head(&cache->queue, &cached->queue);
    cache->count++;

    (void) ngx_atomic_fetch_add(&cache->stats->cache_entries, 1);

    return cached->cert;
}


static void
ngx_http_linkcert_cache_free(ngx_http_linkcert_cached_t *cached)
{
    ngx_rbtree_delete(&ngx_http_linkcert_cache.rbtree, &cached->sn.node);
    ngx_queue_remove(&cached->queue);
    ngx_http_linkcert_cache.count--;

    (void) ngx_atomic_fetch_add(&ngx_http_linkcert_cache.stats->cache_entries,
                                (ngx_atomic_int_t) -1);

    lc_cert_free(cached->cert);
    ngx_free(cached);
}
