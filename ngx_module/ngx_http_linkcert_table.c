
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the domain tree in shared memory: lookups, reads, pages, counts
 * and walks, and the zone's lock.
 *
 * Every access holds the zone's slab mutex: nginx's master releases it if
 * a worker dies holding it, which a lock of our own would not get.
 * Critical sections copy data in or out and do nothing else.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert.h"
#include "ngx_http_linkcert_table.h"
#include "ngx_http_linkcert_redis.h"


typedef struct {
    ngx_int_t                      status;       /* -1: any */
    ngx_uint_t                     limit;
    lc_record_t                   *recs;
    ngx_uint_t                     n;
    ngx_uint_t                     more;
} ngx_http_linkcert_page_t;


typedef struct {
    time_t                         now;
    ngx_http_linkcert_expiring_t   expiring;
    time_t                         earliest;
} ngx_http_linkcert_count_t;


static ngx_int_t ngx_http_linkcert_visit_page(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, void *data);
static ngx_rbtree_key_t ngx_http_linkcert_key(u_char *name, size_t len);
static ngx_int_t ngx_http_linkcert_cmp(ngx_http_linkcert_node_t *ln,
    ngx_rbtree_key_t key, u_char *name, size_t len);
static void ngx_http_linkcert_rbtree_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_int_t ngx_http_linkcert_visit_count(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, void *data);
static ngx_rbtree_node_t *ngx_http_linkcert_first_after(
    ngx_http_linkcert_sh_t *sh, u_char *name, size_t len);


/*
 * The table's part of the zone's init: its tree and structures, new or
 * taken over from the old cycle's zone.  The store is loaded into it
 * afterwards (ngx_http_linkcert_loader.c).
 */

ngx_int_t
ngx_http_linkcert_table_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_linkcert_zone_t  *octx = data;

    size_t                          len;
    ngx_http_linkcert_zone_t       *ctx;
    ngx_http_linkcert_main_conf_t  *lmcf;

    ctx = shm_zone->data;
    lmcf = ctx->conf;

    if (octx) {
        ctx->sh = octx->sh;
        ctx->shpool = octx->shpool;

    } else {
        ctx->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

        if (shm_zone->shm.exists) {
            ctx->sh = ctx->shpool->data;

        } else {
            ctx->sh = ngx_slab_alloc(ctx->shpool,
                                     sizeof(ngx_http_linkcert_sh_t));
            if (ctx->sh == NULL) {
                return NGX_ERROR;
            }

            ngx_memzero(ctx->sh, sizeof(ngx_http_linkcert_sh_t));

            ctx->shpool->data = ctx->sh;

            ngx_rbtree_init(&ctx->sh->rbtree, &ctx->sh->sentinel,
                            ngx_http_linkcert_rbtree_insert_value);
            ngx_rbtree_init(&ctx->sh->due, &ctx->sh->due_sentinel,
                            ngx_rbtree_insert_timer_value);
            ngx_rbtree_init(&ctx->sh->challenges,
                            &ctx->sh->challenges_sentinel,
                            ngx_str_rbtree_insert_value);
            ngx_rbtree_init(&ctx->sh->groups, &ctx->sh->groups_sentinel,
                            ngx_str_rbtree_insert_value);

            len = sizeof(" in linkcert_zone \"\"") + shm_zone->shm.name.len;

            ctx->shpool->log_ctx = ngx_slab_alloc(ctx->shpool, len);
            if (ctx->shpool->log_ctx == NULL) {
                return NGX_ERROR;
            }

            ngx_sprintf(ctx->shpool->log_ctx, " in linkcert_zone \"%V\"%Z",
                        &shm_zone->shm.name);

            /* a full zone is reported by the table itself, once a minute */
            ctx->shpool->log_nomem = 0;
        }
    }

    /* the module may be mapped elsewhere after a reload */
    ctx->sh->rbtree.insert = ngx_http_linkcert_rbtree_insert_value;
    ctx->sh->due.insert = ngx_rbtree_insert_timer_value;
    ctx->sh->challenges.insert = ngx_str_rbtree_insert_value;
    ctx->sh->groups.insert = ngx_str_rbtree_insert_value;

    if (!lmcf->enabled) {
        return NGX_OK;
    }

    if (lmcf->on_demand && ctx->sh->negative == NULL) {
        ctx->sh->negative = ngx_slab_calloc(ctx->shpool,
                                  NGX_HTTP_LINKCERT_NEGATIVE_SIZE
                                  * sizeof(ngx_http_linkcert_negative_t));
        if (ctx->sh->negative == NULL) {
            ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                          "linkcert_zone \"%V\" is too small for the "
                          "on-demand negative cache", &shm_zone->shm.name);
            return NGX_ERROR;
        }
    }

    /* the reasons of refusals are only shown: without room, they are not */

    if (lmcf->on_demand && ctx->sh->refusals == NULL) {
        ctx->sh->refusals = ngx_slab_calloc(ctx->shpool,
                                  NGX_HTTP_LINKCERT_REFUSALS
                                  * sizeof(ngx_http_linkcert_refusal_t));
        if (ctx->sh->refusals == NULL) {
            ngx_log_error(NGX_LOG_WARN, shm_zone->shm.log, 0,
                          "linkcert_zone \"%V\" has no room to keep why "
                          "names were refused on demand",
                          &shm_zone->shm.name);
        }
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_linkcert_table_get(ngx_shm_zone_t *shm_zone, u_char *name,
    size_t len, lc_record_t *rec)
{
    ngx_int_t                     refused;
    ngx_http_linkcert_zone_t     *ctx;
    ngx_http_linkcert_node_t     *ln;
    ngx_http_linkcert_refusal_t   r;

    ctx = shm_zone->data;
    refused = NGX_DECLINED;

    ngx_http_linkcert_lock(ctx);

    ln = ngx_http_linkcert_lookup(ctx->sh, name, len);

    if (ln) {
        ngx_http_linkcert_to_record(ctx, ln, rec);

    } else {
        refused = ngx_http_linkcert_refusal_get(ctx->sh,
                                       ngx_http_linkcert_hash(name, len),
                                       ngx_time(), &r);
    }

    ngx_http_linkcert_unlock(ctx);

    if (ln) {
        return NGX_OK;
    }

    ngx_memzero(rec, sizeof(lc_record_t));
    ngx_memcpy(rec->domain, name, len);
    rec->status = LC_STATUS_UNKNOWN;
    rec->stage = LC_STAGE_NONE;

    /* not in the table, but refused on demand lately: why, and until when */

    if (refused == NGX_OK) {
        rec->has_error = 1;
        rec->error = r.error;
        rec->error_at = r.at;
        rec->next_attempt_at = r.until;
    }

    return NGX_DECLINED;
}


/*
 * The handshake's question: is there a certificate to serve for this name
 * now, and of which generation.
 */

ngx_int_t
ngx_http_linkcert_table_serving(ngx_shm_zone_t *shm_zone, u_char *name,
    size_t len, time_t now, uint32_t *generation)
{
    ngx_int_t                  rc;
    ngx_http_linkcert_zone_t  *ctx;
    ngx_http_linkcert_node_t  *ln;

    ctx = shm_zone->data;
    rc = NGX_DECLINED;

    ngx_http_linkcert_lock(ctx);

    ln = ngx_http_linkcert_lookup(ctx->sh, name, len);

    if (ln
        && (ln->status == LC_STATUS_ISSUED || ln->moved)
        && now >= ln->not_before
        && now < ln->not_after)
    {
        *generation = ln->generation;
        rc = NGX_OK;
    }

    ngx_http_linkcert_unlock(ctx);

    return rc;
}


ngx_int_t
ngx_http_linkcert_table_page(ngx_shm_zone_t *shm_zone, ngx_str_t *after,
    ngx_int_t status, ngx_uint_t limit, lc_record_t *recs, ngx_uint_t *n,
    ngx_uint_t *more)
{
    ngx_http_linkcert_page_t  page;

    page.status = status;
    page.limit = limit;
    page.recs = recs;
    page.n = 0;
    page.more = 0;

    ngx_http_linkcert_walk(shm_zone->data, after->data, after->len,
                           ngx_http_linkcert_visit_page, &page);

    *n = page.n;
    *more = page.more;

    return NGX_OK;
}


static ngx_int_t
ngx_http_linkcert_visit_page(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, void *data)
{
    ngx_http_linkcert_page_t  *page = data;

    if (page->status != -1 && ln->status != page->status) {
        return NGX_OK;
    }

    if (page->n == page->limit) {
        page->more = 1;
        return NGX_DONE;
    }

    ngx_http_linkcert_to_record(ctx, ln, &page->recs[page->n++]);

    /* 1,000 records of 1.7 KB copied in one hold took about 1 ms */

    return (page->n % NGX_HTTP_LINKCERT_PAGE_STEP == 0) ? NGX_AGAIN : NGX_OK;
}


static ngx_rbtree_key_t
ngx_http_linkcert_key(u_char *name, size_t len)
{
    size_t            i;
    ngx_rbtree_key_t  key;

    key = 0;

    for (i = 0; i < sizeof(ngx_rbtree_key_t); i++) {
        key = (key << 8) | (i < len ? name[i] : 0);
    }

    return key;
}


static ngx_int_t
ngx_http_linkcert_cmp(ngx_http_linkcert_node_t *ln, ngx_rbtree_key_t key,
    u_char *name, size_t len)
{
    if (ln->node.key != key) {
        return ln->node.key < key ? -1 : 1;
    }

    return ngx_memn2cmp(ln->name, name, ln->name_len, len);
}


static void
ngx_http_linkcert_rbtree_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t         **p;
    ngx_http_linkcert_node_t   *ln;

    ln = (ngx_http_linkcert_node_t *) node;

    for ( ;; ) {

        p = (ngx_http_linkcert_cmp((ngx_http_linkcert_node_t *) temp,
                                   node->key, ln->name, ln->name_len) > 0)
            ? &temp->left : &temp->right;

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


ngx_http_linkcert_node_t *
ngx_http_linkcert_lookup(ngx_http_linkcert_sh_t *sh, u_char *name,
    size_t len)
{
    ngx_int_t                  rc;
    ngx_rbtree_key_t           key;
    ngx_rbtree_node_t         *node, *sentinel;
    ngx_http_linkcert_node_t  *ln;

    key = ngx_http_linkcert_key(name, len);

    node = sh->rbtree.root;
    sentinel = sh->rbtree.sentinel;

    while (node != sentinel) {
        ln = (ngx_http_linkcert_node_t *) node;

        rc = ngx_http_linkcert_cmp(ln, key, name, len);

        if (rc == 0) {
            return ln;
        }

        node = (rc > 0) ? node->left : node->right;
    }

    return NULL;
}


ngx_http_linkcert_node_t *
ngx_http_linkcert_create(ngx_http_linkcert_zone_t *ctx, u_char *name,
    size_t len, size_t reg)
{
    time_t                     now;
    size_t                     size;
    ngx_http_linkcert_node_t  *ln;

    size = offsetof(ngx_http_linkcert_node_t, name) + len + 1;

    ln = ngx_slab_alloc_locked(ctx->shpool, size);

    if (ln) {
        ngx_memzero(ln, size);

        ln->node.key = ngx_http_linkcert_key(name, len);
        ln->name_len = (u_char) len;
        ngx_memcpy(ln->name, name, len);

        if (ngx_http_linkcert_group_join(ctx, ln, reg) != NGX_OK) {
            ngx_slab_free_locked(ctx->shpool, ln);
            ln = NULL;
        }
    }

    if (ln == NULL) {
        now = ngx_time();

        (void) ngx_atomic_fetch_add(&ctx->sh->stats.zone_full, 1);

        if (now - ctx->sh->full_logged >= 60) {
            ctx->sh->full_logged = now;
            ngx_log_error(NGX_LOG_ERR, ctx->cycle->log, 0,
                          "the zone is full%s: \"%*s\" and further new "
                          "domains are not added (logged once a minute)",
                          ctx->shpool->log_ctx, len, name);
        }

        return NULL;
    }

    ln->status = LC_STATUS_UNKNOWN;
    ln->stage = LC_STAGE_NONE;
    ctx->sh->count[LC_STATUS_UNKNOWN]++;

    ngx_rbtree_insert(&ctx->sh->rbtree, &ln->node);

    return ln;
}


/*
 * The table is locked: a new status or a new error type since the last
 * call is an event for the webhook, with the object as it is now.  An
 * on-demand name is not a domain of the CRM before its DNS points here.
 */

void
ngx_http_linkcert_notify(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, ngx_uint_t quiet)
{
    uint32_t                        error;
    lc_record_t                     rec;
    ngx_http_linkcert_main_conf_t  *lmcf;

    if (ln->candidate) {
        return;
    }

    lmcf = ctx->conf;
    error = ln->error.type[0]
            ? ngx_crc32_short((u_char *) ln->error.type,
                              ngx_strlen(ln->error.type))
            : 0;

    if (!quiet
        && lmcf->webhook
        && (ln->status != ln->note_status
            || (error != 0 && error != ln->note_error)))
    {
        ngx_http_linkcert_to_record(ctx, ln, &rec);
        ngx_http_linkcert_webhook_event(ctx, &rec,
                                        (lc_status_e) ln->note_status);
    }

    ln->note_status = ln->status;
    ln->note_error = error;

    if (lmcf->redis) {
        ngx_http_linkcert_to_record(ctx, ln, &rec);
        ngx_http_linkcert_redis_status_put(&rec);
    }
}


void
ngx_http_linkcert_to_record(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, lc_record_t *rec)
{
    lc_lifecycle_t                  life;
    lc_lifecycle_conf_t             conf;
    ngx_http_linkcert_main_conf_t  *lmcf;

    ngx_memcpy(rec->domain, ln->name, ln->name_len);
    rec->domain[ln->name_len] = '\0';

    rec->status = ln->status;
    rec->stage = ln->stage;

    rec->has_cert = (ln->not_after != 0);
    rec->moved = ln->moved;

    if (rec->has_cert) {
        rec->cert.not_before = ln->not_before;
        rec->cert.not_after = ln->not_after;
        ngx_memcpy(rec->cert.sha256, ln->sha256, 32);
        ngx_memcpy(rec->cert.serial, ln->serial, ln->serial_len);
        rec->cert.serial_len = ln->serial_len;
        if (ln->issuer) {
            ngx_memcpy(rec->cert.issuer, ctx->sh->issuers[ln->issuer - 1],
                       LC_ISSUER_LEN);

        } else {
            rec->cert.issuer[0] = '\0';
        }
    }

    rec->has_error = (ln->error.type[0] != '\0');

    if (rec->has_error) {
        rec->error = ln->error;
        rec->error_at = ln->error_at;
    }

    rec->next_attempt_at = ln->next_attempt_at;
    rec->updated_at = ln->updated_at;

    /* when an issued certificate is to be renewed: its share of the
       lifetime, or sooner if the CA's renewal window says so */

    ngx_http_linkcert_life_conf(ctx, &conf);
    ngx_http_linkcert_life_read(ln, &life);
    rec->renew_at = lc_lifecycle_renewal(&life, &conf);

    rec->ca = NULL;

    if (ln->failover.last) {
        lmcf = ctx->conf;
        rec->ca = (ln->failover.last == 1 && lmcf->acme_directory.len)
                  ? (char *) lmcf->acme_directory.data
                  : (ln->failover.last == 2 && lmcf->acme_backup.len)
                  ? (char *) lmcf->acme_backup.data : NULL;
    }

    rec->store_stamp = ln->store_stamp;
    rec->dns_len = 0;

    if (ln->dns && ln->dns_len < LC_DNS_JSON_MAX) {
        ngx_memcpy(rec->dns, ln->dns, ln->dns_len);
        rec->dns_len = ln->dns_len;
    }
}


/*
 * The zone's lock, timed: every worker's handshakes wait on it, so how
 * long it is held is a metric (linkcert_zone_lock_*), and a hold longer
 * than any before it and over 1 ms is logged, with the function that
 * held it, once the lock is released.
 */

void
ngx_http_linkcert_lock(ngx_http_linkcert_zone_t *ctx)
{
    ngx_shmtx_lock(&ctx->shpool->mutex);
    ctx->locked_at = ngx_http_linkcert_clock_ns();
}


void
ngx_http_linkcert_unlock_in(ngx_http_linkcert_zone_t *ctx, const char *where)
{
    uint64_t                    held;
    ngx_uint_t                  longest;
    ngx_http_linkcert_stats_t  *st;

    held = ngx_http_linkcert_clock_ns() - ctx->locked_at;
    st = &ctx->sh->stats;
    longest = 0;

    st->lock_holds++;
    st->lock_held_ns += held;

    if (held > st->lock_max_ns) {
        st->lock_max_ns = held;
        longest = (held > 1000000);
    }

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    if (longest) {
        ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                      "linkcert: the zone was locked for %uL.%03uL ms in %s, "
                      "longer than ever before",
                      held / 1000000, held / 1000 % 1000, where);
    }
}


uint64_t
ngx_http_linkcert_clock_ns(void)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000000000 + (uint64_t) ts.tv_nsec;
}


ngx_msec_t
ngx_http_linkcert_now_ms(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (ngx_msec_t) tp->sec * 1000 + tp->msec;
}


ngx_int_t
ngx_http_linkcert_table_remove(ngx_shm_zone_t *shm_zone, u_char *name,
    size_t len, lc_record_t *rec)
{
    ngx_http_linkcert_zone_t  *ctx;
    ngx_http_linkcert_node_t  *ln;

    ctx = shm_zone->data;

    ngx_http_linkcert_lock(ctx);

    ln = ngx_http_linkcert_lookup(ctx->sh, name, len);

    if (ln == NULL) {
        ngx_http_linkcert_unlock(ctx);
        return NGX_DECLINED;
    }

    ngx_http_linkcert_to_record(ctx, ln, rec);
    ngx_http_linkcert_delete(ctx, ln);

    ngx_http_linkcert_unlock(ctx);

    return NGX_OK;
}


/*
 * Issuers are few: the zone keeps each name once and an entry its number.
 * With the zone locked; 0 when there is no name or no room (the entry
 * then shows no issuer).
 */

u_char
ngx_http_linkcert_issuer(ngx_http_linkcert_zone_t *ctx, const char *name)
{
    ngx_uint_t               i;
    ngx_http_linkcert_sh_t  *sh;

    sh = ctx->sh;

    if (name[0] == '\0') {
        return 0;
    }

    if (sh->issuers == NULL) {
        sh->issuers = ngx_slab_alloc_locked(ctx->shpool,
                                            NGX_HTTP_LINKCERT_ISSUERS
                                            * LC_ISSUER_LEN);
        if (sh->issuers == NULL) {
            return 0;
        }
    }

    for (i = 0; i < sh->nissuers; i++) {
        if (ngx_strncmp(sh->issuers[i], name, LC_ISSUER_LEN) == 0) {
            return (u_char) (i + 1);
        }
    }

    if (sh->nissuers == NGX_HTTP_LINKCERT_ISSUERS) {
        return 0;
    }

    ngx_memcpy(sh->issuers[i], name, LC_ISSUER_LEN);
    sh->issuers[i][LC_ISSUER_LEN - 1] = '\0';
    sh->nissuers++;

    return (u_char) (i + 1);
}


void
ngx_http_linkcert_delete(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln)
{
    ngx_http_linkcert_unlease(ctx->sh, ln);
    ngx_http_linkcert_unschedule(ctx->sh, ln);
    ngx_rbtree_delete(&ctx->sh->rbtree, &ln->node);
    ngx_http_linkcert_group_leave(ctx, ln);

    ctx->sh->count[ln->status]--;
    ctx->sh->changes++;

    if (ln->candidate) {
        ctx->sh->candidates--;
    }

    if (ln->dns) {
        ngx_slab_free_locked(ctx->shpool, ln->dns);
    }

    ngx_slab_free_locked(ctx->shpool, ln);
}


ngx_int_t
ngx_http_linkcert_table_held(ngx_shm_zone_t *shm_zone, u_char *name,
    size_t len, uint32_t job_id)
{
    ngx_int_t                  rc;
    ngx_http_linkcert_zone_t  *ctx;
    ngx_http_linkcert_node_t  *ln;

    ctx = shm_zone->data;

    ngx_http_linkcert_lock(ctx);

    ln = ngx_http_linkcert_held(ctx, name, len, job_id);
    rc = ln ? NGX_OK : NGX_DECLINED;

    ngx_http_linkcert_unlock(ctx);

    return rc;
}


ngx_http_linkcert_stats_t *
ngx_http_linkcert_stats(ngx_shm_zone_t *shm_zone)
{
    ngx_http_linkcert_zone_t  *ctx;

    ctx = shm_zone->data;

    return &ctx->sh->stats;
}


/*
 * For the metrics: domains by status, and certificates expiring within 7
 * days.  The walk releases the lock every 4096 entries so that a scrape
 * of a million domains never holds handshakes up for long.
 */

void
ngx_http_linkcert_table_counts(ngx_shm_zone_t *shm_zone, time_t now,
    ngx_uint_t *by_status, ngx_http_linkcert_expiring_t *expiring,
    time_t *earliest)
{
    ngx_uint_t                 i;
    ngx_http_linkcert_zone_t  *ctx;
    ngx_http_linkcert_count_t  count;

    ctx = shm_zone->data;

    ngx_http_linkcert_lock(ctx);

    for (i = 0; i < LC_STATUS_N; i++) {
        by_status[i] = ctx->sh->count[i];
    }

    ngx_http_linkcert_unlock(ctx);

    ngx_memzero(&count, sizeof(ngx_http_linkcert_count_t));
    count.now = now;

    ngx_http_linkcert_walk(ctx, NULL, 0, ngx_http_linkcert_visit_count,
                           &count);

    *expiring = count.expiring;
    *earliest = count.earliest;
}


static ngx_int_t
ngx_http_linkcert_visit_count(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, void *data)
{
    ngx_http_linkcert_count_t  *count = data;

    /* the certificates served: issued, or kept while the DNS moved */

    if (ln->status != LC_STATUS_ISSUED && !ln->moved) {
        return NGX_OK;
    }

    if (ln->not_after - count->now < 7 * 86400) {
        count->expiring.all++;

        if (ln->moved) {
            count->expiring.dns_moved++;

        } else {
            count->expiring.renewal++;
        }
    }

    if (count->earliest == 0 || ln->not_after < count->earliest) {
        count->earliest = ln->not_after;
    }

    return NGX_OK;
}


/*
 * Visits the entries in name order, from the first one after (after,
 * len) (len 0: from the first one), until visit says NGX_DONE.  The lock
 * is let go every NGX_HTTP_LINKCERT_WALK_STEP entries, and after an entry
 * whose visit says NGX_AGAIN (it did more than look), and the walk goes
 * on after the last name visited: entries added or removed meanwhile may
 * be seen or not, none is seen twice.
 */

void
ngx_http_linkcert_walk(ngx_http_linkcert_zone_t *ctx, u_char *after,
    size_t len, ngx_http_linkcert_visit_pt visit, void *data)
{
    ngx_int_t                  rc;
    ngx_uint_t                 n;
    ngx_rbtree_node_t         *node;
    ngx_http_linkcert_sh_t    *sh;
    ngx_http_linkcert_node_t  *ln;
    u_char                     cursor[LC_DOMAIN_MAX + 1];

    sh = ctx->sh;

    if (len) {
        ngx_memcpy(cursor, after, len);
    }

    for ( ;; ) {
        ngx_http_linkcert_lock(ctx);

        node = ngx_http_linkcert_first_after(sh, cursor, len);
        ln = NULL;

        for (n = 0; node && n < NGX_HTTP_LINKCERT_WALK_STEP; n++) {
            ln = (ngx_http_linkcert_node_t *) node;

            rc = visit(ctx, ln, data);

            if (rc == NGX_DONE) {
                node = NULL;
                break;
            }

            node = ngx_rbtree_next(&sh->rbtree, node);

            if (rc == NGX_AGAIN) {
                break;
            }
        }

        if (node == NULL) {
            ngx_http_linkcert_unlock(ctx);
            return;
        }

        len = ln->name_len;
        ngx_memcpy(cursor, ln->name, len);

        ngx_http_linkcert_unlock(ctx);
    }
}


/* the first entry whose name sorts after name (len 0: the first one) */

static ngx_rbtree_node_t *
ngx_http_linkcert_first_after(ngx_http_linkcert_sh_t *sh, u_char *name,
    size_t len)
{
    ngx_rbtree_key_t           key;
    ngx_rbtree_node_t         *node, *sentinel, *start;
    ngx_http_linkcert_node_t  *ln;

    node = sh->rbtree.root;
    sentinel = sh->rbtree.sentinel;

    if (node == sentinel) {
        return NULL;
    }

    if (len == 0) {
        return ngx_rbtree_min(node, sentinel);
    }

    key = ngx_http_linkcert_key(name, len);
    start = NULL;

    while (node != sentinel) {
        ln = (ngx_http_linkcert_node_t *) node;

        if (ngx_http_linkcert_cmp(ln, key, name, len) > 0) {
            start = node;
            node = node->left;

        } else {
            node = node->right;
        }
    }

    return start;
}


/* polled by held connections: has any status changed */

ngx_atomic_uint_t
ngx_http_linkcert_table_changes(ngx_shm_zone_t *shm_zone)
{
    ngx_http_linkcert_zone_t  *ctx;

    ctx = shm_zone->data;

    return ctx->sh->changes;
}
