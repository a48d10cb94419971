
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: renewals and re-checks spread over the fleet.  Each domain a
 * certificate is served for has one due time in Redis, the sorted set
 * <prefix>due (score: seconds since the epoch of its next re-check or
 * renewal), and one edge at a time works on it:
 *
 *   - an edge whose job on a served domain ends (a certificate issued or
 *     renewed, a re-check done, a renewal failed) writes the domain's
 *     next due time there (ngx_http_linkcert_fleet_apply(), from the
 *     lifecycle's glue);
 *   - worker 0 of each edge claims, every second, a batch of the domains
 *     whose time has come, in one script (ZRANGEBYSCORE, then each one's
 *     score moved to the end of its claim, lease= ahead): a domain is
 *     claimed by one edge, and by another only once that claim ran out
 *     (its edge died);
 *   - an edge's own due tree still wakes it for a served domain, but
 *     without a claim (or a "Verify domain" of the CRM) it does no work:
 *     the domain goes into <prefix>due if the fleet did not have it yet
 *     (ZADD NX), and it waits a re-check interval (or its expiry, which
 *     every edge watches for itself).
 *
 * A DELETE takes the domain out of <prefix>due and <prefix>domains.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert_redis.h"
#include "ngx_http_linkcert_table.h"


#define NGX_HTTP_LINKCERT_DUE_BATCH   64
#define NGX_HTTP_LINKCERT_DUE_EVERY   1000       /* ms between claims */
#define NGX_HTTP_LINKCERT_DUE_SOON    60000      /* ms: a job's next step,
                                                    still under the claim */


typedef struct {
    ngx_http_linkcert_main_conf_t  *lmcf;
    ngx_log_t                      *log;
    ngx_uint_t                      running;
    ngx_event_t                     timer;
    ngx_connection_t                dumb;
} ngx_http_linkcert_due_claim_t;


static void ngx_http_linkcert_due_put(ngx_http_linkcert_node_t *ln,
    uint64_t due_ms, ngx_uint_t nx);
static void ngx_http_linkcert_due_written(void *data, redisReply *reply,
    const char *error);
static void ngx_http_linkcert_due_tick(ngx_event_t *ev);
static void ngx_http_linkcert_due_claimed(void *data, redisReply *reply,
    const char *error);
static ngx_int_t ngx_http_linkcert_table_claimed(ngx_shm_zone_t *shm_zone,
    u_char *name, size_t len);


/*
 * KEYS[1] the due set; ARGV[1] now, ARGV[2] the batch, ARGV[3] the end of
 * the claim: the domains due, each one's score moved to the claim's end.
 */

static char  ngx_http_linkcert_due_claim_lua[] =
    "local d = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], "
    "                     'LIMIT', 0, tonumber(ARGV[2])) "
    "for i = 1, #d do "
    "  redis.call('ZADD', KEYS[1], 'XX', ARGV[3], d[i]) "
    "end "
    "return d";


static ngx_http_linkcert_due_claim_t  *ngx_http_linkcert_due_claim;


/*
 * With the zone locked, before the lifecycle's change of the entry is
 * written into it: a job on a served domain that ends gives the domain
 * back to the fleet with its next due time (unless its next step comes
 * at once: a renewal after its re-check); a domain no longer served
 * leaves the set.
 */

void
ngx_http_linkcert_fleet_apply(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, lc_lifecycle_t *rec)
{
    uint64_t  now_ms, due;

    if (ngx_http_linkcert_redis_fleet() == NULL || ln->candidate) {
        return;
    }

    if (!lc_lifecycle_serving(rec)) {
        ln->fleet = ln->fleet && rec->busy;

        if (ln->status == LC_STATUS_ISSUED || ln->moved) {
            ngx_http_linkcert_due_put(ln, 0, 0);
        }

        return;
    }

    if (!ln->busy || rec->busy) {
        return;
    }

    now_ms = ngx_http_linkcert_now_ms();
    due = rec->due ? rec->due : (uint64_t) rec->not_after * 1000;

    if (ln->fleet && due <= now_ms + NGX_HTTP_LINKCERT_DUE_SOON) {
        return;
    }

    ln->fleet = 0;

    ngx_http_linkcert_due_put(ln, due, 0);
}


/*
 * ngx_http_linkcert_table_due(), the zone locked: a served domain whose
 * time came on this edge, without a claim, is not worked on here (1).
 * The fleet learns of it if it did not know it, and it waits.
 */

ngx_uint_t
ngx_http_linkcert_fleet_park(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, time_t now)
{
    time_t                          at;
    ngx_http_linkcert_sh_t         *sh;
    ngx_http_linkcert_main_conf_t  *lmcf;

    lmcf = ctx->conf;

    if (ngx_http_linkcert_redis_fleet() == NULL
        || ln->fleet || ln->busy || ln->reissue || ln->candidate
        || (ln->status != LC_STATUS_ISSUED && !ln->moved)
        || now >= (time_t) ln->not_after)
    {
        return 0;
    }

    ngx_http_linkcert_due_put(ln, ln->due.key, 1);

    at = now + lmcf->reverify_interval;

    if (at > (time_t) ln->not_after) {
        at = ln->not_after;
    }

    sh = ctx->sh;

    ngx_http_linkcert_unschedule(sh, ln);
    ln->due.key = (ngx_msec_t) at * 1000;
    ngx_rbtree_insert(&sh->due, &ln->due);

    return 1;
}


/* a "Verify domain" of the CRM, the zone locked: this edge does it */

void
ngx_http_linkcert_fleet_forced(ngx_http_linkcert_node_t *ln)
{
    ln->fleet = 1;
}


/* DELETE: the domain leaves the fleet's sets (nothing to wait for) */

void
ngx_http_linkcert_redis_fleet_forget(u_char *name, size_t len)
{
    u_char       due[NGX_HTTP_LINKCERT_REDIS_KEY_MAX],
                 domains[NGX_HTTP_LINKCERT_REDIS_KEY_MAX];
    size_t       lens[3];
    const char  *argv[3];

    if (ngx_http_linkcert_redis_fleet() == NULL) {
        return;
    }

    argv[0] = "ZREM";
    lens[0] = 4;
    argv[1] = (char *) due;
    lens[1] = ngx_http_linkcert_redis_name(due, "due", NULL, 0);
    argv[2] = (char *) name;
    lens[2] = len;

    (void) ngx_http_linkcert_redis_command(3, argv, lens,
                                           ngx_http_linkcert_due_written,
                                           NULL);

    argv[1] = (char *) domains;
    lens[1] = ngx_http_linkcert_redis_name(domains, "domains", NULL, 0);

    (void) ngx_http_linkcert_redis_command(3, argv, lens,
                                           ngx_http_linkcert_due_written,
                                           NULL);
}


/* ZADD [NX] <prefix>due <seconds> <domain>; due_ms 0: ZREM */

static void
ngx_http_linkcert_due_put(ngx_http_linkcert_node_t *ln, uint64_t due_ms,
    ngx_uint_t nx)
{
    int          n;
    u_char       key[NGX_HTTP_LINKCERT_REDIS_KEY_MAX],
                 score[NGX_INT64_LEN + 1];
    size_t       lens[5];
    const char  *argv[5];

    n = 0;

    argv[n] = due_ms ? "ZADD" : "ZREM";
    lens[n++] = 4;
    argv[n] = (char *) key;
    lens[n++] = ngx_http_linkcert_redis_name(key, "due", NULL, 0);

    if (due_ms) {
        if (nx) {
            argv[n] = "NX";
            lens[n++] = 2;
        }

        argv[n] = (char *) score;
        lens[n++] = ngx_sprintf(score, "%uL", due_ms / 1000) - score;
    }

    argv[n] = (char *) ln->name;
    lens[n++] = ln->name_len;

    (void) ngx_http_linkcert_redis_command(n, argv, lens,
                                           ngx_http_linkcert_due_written,
                                           NULL);
}


static void
ngx_http_linkcert_due_written(void *data, redisReply *reply,
    const char *error)
{
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "linkcert: the fleet's due time not written: %*s",
                      reply ? (size_t) reply->len : ngx_strlen(error),
                      reply ? reply->str : error);
    }
}


/* worker 0: claims every second */

ngx_int_t
ngx_http_linkcert_redis_due_init_process(ngx_cycle_t *cycle)
{
    ngx_http_linkcert_due_claim_t  *dc;
    ngx_http_linkcert_main_conf_t  *lmcf;

    lmcf = ngx_http_linkcert_worker0(cycle);

    if (lmcf == NULL || lmcf->verify == NULL
        || ngx_http_linkcert_redis_fleet() == NULL)
    {
        return NGX_OK;
    }

    dc = ngx_pcalloc(cycle->pool, sizeof(ngx_http_linkcert_due_claim_t));
    if (dc == NULL) {
        return NGX_ERROR;
    }

    dc->lmcf = lmcf;
    dc->log = cycle->log;

    ngx_http_linkcert_timer_init(&dc->timer, &dc->dumb, dc,
                                 ngx_http_linkcert_due_tick, cycle->log);

    ngx_add_timer(&dc->timer, NGX_HTTP_LINKCERT_DUE_EVERY);

    ngx_http_linkcert_due_claim = dc;

    return NGX_OK;
}


void
ngx_http_linkcert_redis_due_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_linkcert_due_claim_t  *dc;

    dc = ngx_http_linkcert_due_claim;

    if (dc && dc->timer.timer_set) {
        ngx_del_timer(&dc->timer);
    }

    ngx_http_linkcert_due_claim = NULL;
}


static void
ngx_http_linkcert_due_tick(ngx_event_t *ev)
{
    u_char                          key[NGX_HTTP_LINKCERT_REDIS_KEY_MAX],
                                    now[NGX_INT64_LEN], end[NGX_INT64_LEN],
                                    batch[NGX_INT_T_LEN];
    size_t                          lens[7];
    const char                     *argv[7];
    ngx_http_linkcert_due_claim_t  *dc;
    ngx_http_linkcert_redis_conf_t *rcf;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    dc = ngx_http_linkcert_due_claim;
    rcf = ngx_http_linkcert_redis_fleet();

    ngx_add_timer(ev, NGX_HTTP_LINKCERT_DUE_EVERY);

    if (!ngx_http_linkcert_redis_connected()) {
        return;
    }

    /* the orders an edge left (ngx_http_linkcert_redis_orphan.c) */

    ngx_http_linkcert_redis_orphans_claim(dc->lmcf, dc->log);

    if (dc->running) {
        return;
    }

    argv[0] = "EVAL";
    lens[0] = 4;
    argv[1] = ngx_http_linkcert_due_claim_lua;
    lens[1] = sizeof(ngx_http_linkcert_due_claim_lua) - 1;
    argv[2] = "1";
    lens[2] = 1;
    argv[3] = (char *) key;
    lens[3] = ngx_http_linkcert_redis_name(key, "due", NULL, 0);
    argv[4] = (char *) now;
    lens[4] = ngx_sprintf(now, "%T", ngx_time()) - now;
    argv[5] = (char *) batch;
    lens[5] = ngx_sprintf(batch, "%ui", (ngx_uint_t)
                          NGX_HTTP_LINKCERT_DUE_BATCH) - batch;
    argv[6] = (char *) end;
    lens[6] = ngx_sprintf(end, "%T", ngx_time()
                          + (time_t) (rcf->lease + 999) / 1000) - end;

    if (ngx_http_linkcert_redis_command(7, argv, lens,
                                        ngx_http_linkcert_due_claimed, dc)
        != NULL)
    {
        dc->running = 1;
    }
}


static void
ngx_http_linkcert_due_claimed(void *data, redisReply *reply,
    const char *error)
{
    ngx_http_linkcert_due_claim_t *dc = data;

    size_t       i;
    ngx_uint_t   n;
    redisReply  *name;

    dc->running = 0;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        ngx_log_error(NGX_LOG_WARN, dc->log, 0,
                      "linkcert: the fleet's due domains not claimed: %*s",
                      reply ? (size_t) reply->len : ngx_strlen(error),
                      reply ? reply->str : error);
        return;
    }

    n = 0;

    for (i = 0; i < reply->elements; i++) {
        name = reply->element[i];

        if (name->type != REDIS_REPLY_STRING || name->len == 0
            || name->len > LC_DOMAIN_MAX)
        {
            continue;
        }

        if (ngx_http_linkcert_table_claimed(dc->lmcf->shm_zone,
                                            (u_char *) name->str, name->len)
            == NGX_OK)
        {
            ngx_log_error(NGX_LOG_INFO, dc->log, 0,
                          "linkcert: \"%*s\" claimed from the fleet: its "
                          "re-check or renewal is this edge's",
                          (size_t) name->len, name->str);
            n++;

        } else {
            ngx_log_error(NGX_LOG_INFO, dc->log, 0,
                          "linkcert: \"%*s\" claimed from the fleet but "
                          "not served here: left to its claim's end",
                          (size_t) name->len, name->str);
        }
    }

    if (n) {
        ngx_http_linkcert_worker_kick();
    }

    /* a full batch: more are due */

    if (reply->elements == NGX_HTTP_LINKCERT_DUE_BATCH
        && dc->timer.timer_set)
    {
        ngx_del_timer(&dc->timer);
        ngx_add_timer(&dc->timer, 1);
    }
}


/* a domain this edge claimed: due now, its job this edge's */

static ngx_int_t
ngx_http_linkcert_table_claimed(ngx_shm_zone_t *shm_zone, u_char *name,
    size_t len)
{
    ngx_int_t                  rc;
    ngx_http_linkcert_sh_t    *sh;
    ngx_http_linkcert_zone_t  *ctx;
    ngx_http_linkcert_node_t  *ln;

    ctx = shm_zone->data;
    sh = ctx->sh;
    rc = NGX_DECLINED;

    ngx_http_linkcert_lock(ctx);

    ln = ngx_http_linkcert_lookup(sh, name, len);

    if (ln && !ln->candidate
        && (ln->status == LC_STATUS_ISSUED || ln->moved))
    {
        ln->fleet = 1;

        if (!ln->busy) {
            ngx_http_linkcert_unschedule(sh, ln);
            ln->due.key = ngx_http_linkcert_now_ms();
            ngx_rbtree_insert(&sh->due, &ln->due);
        }

        rc = NGX_OK;
    }

    ngx_http_linkcert_unlock(ctx);

    return rc;
}
