
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: what the fleet does by itself for an order whose edge died,
 * and the fleet's order budget asked at a reissue's POST.
 *
 * Orders left behind.  Each order kept in Redis is also a member of
 * <prefix>orders, scored by the end of its holder's lease when the order
 * was last written (ngx_http_linkcert_redis_order.c writes and removes
 * both in one script).  Worker 0 of every edge claims, every second (on
 * the due set's tick), up to 64 of the orders whose score has passed, in
 * one script: one whose lease is still held (renewed since) is scored
 * again by the lease's end; one whose record is gone (ended, expired)
 * leaves the set; the others are claimed and returned.  A claim scores
 * the order lease= ahead the first time, then twice as far each time
 * again (counted in the order's record, field "claims"), at most an hour
 * (or lease=, if longer): an order its claiming edges cannot take over
 * (the domain's DNS moved, the edge cannot order it) costs a DNS check
 * at most hourly, not every lease=, until the customer fixes it or the
 * order's record expires.  The count restarts when the order's lease is
 * found held (a claim taken over, or its holder alive) or the order is
 * written again.  The edge then asks for each domain as the CRM's POST
 * reissue=1 would (a domain without a certificate: "Verify domain"): the
 * DNS is checked and the job takes the lease, reads the order kept and
 * resumes it (ngx_http_linkcert_state_redis.c).  One edge claims each;
 * another only once that claim ran out (the claiming edge died, or could
 * not take the lease).  No KEYS, no SCAN.
 *
 * A reissue's POST.  In a fleet, on demand, the order budget a reissue
 * meets at its POST is the fleet's (<prefix>budget:orders, the budgets'
 * rate, ngx_http_linkcert_budgets.c), taken in one script before the
 * domain's state changes: over it, the POST is refused as on one edge
 * (429 order_budget, Retry-After).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert_redis.h"
#include "ngx_http_linkcert_table.h"
#include "ngx_http_linkcert_api.h"
#include "lc_limits.h"


#define NGX_HTTP_LINKCERT_ORPHAN_BATCH   64
#define NGX_HTTP_LINKCERT_ORPHAN_LONGEST 3600000    /* ms: a claim, at most */


typedef struct {
    ngx_http_linkcert_main_conf_t      *lmcf;
    ngx_log_t                          *log;
    ngx_uint_t                          running;
} ngx_http_linkcert_orphan_claim_t;


typedef struct {
    ngx_http_request_t                 *r;
    ngx_http_linkcert_redis_req_t      *req;        /* no answer yet */
    ngx_http_linkcert_reissue_pt        post;
    ngx_uint_t                          rate;
    size_t                              len;
    char                                name[LC_DOMAIN_MAX + 1];
} ngx_http_linkcert_reissue_ctx_t;


static void ngx_http_linkcert_orphan_claimed(void *data, redisReply *reply,
    const char *error);
static void ngx_http_linkcert_orphan_adopt(
    ngx_http_linkcert_orphan_claim_t *oc, u_char *name, size_t len,
    ngx_msec_t claim, lc_record_t *rec);
static ngx_int_t ngx_http_linkcert_table_reissue_asks(
    ngx_shm_zone_t *shm_zone, u_char *name, size_t len);
static void ngx_http_linkcert_reissue_budget(void *data, redisReply *reply,
    const char *error);
static void ngx_http_linkcert_reissue_cleanup(void *data);


/*
 * KEYS[1] the orders; ARGV[1] the batch, ARGV[2] a first claim's length
 * (ms), ARGV[3] the prefix, ARGV[4] the longest claim (ms).  The domains
 * claimed, each followed by its claim's length.
 */

static char  ngx_http_linkcert_orphan_claim_lua[] =
    "local t = redis.call('time') "
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) "
    "local d = redis.call('zrangebyscore', KEYS[1], '-inf', now, "
    "                     'LIMIT', 0, tonumber(ARGV[1])) "
    "local out = {} "
    "for i = 1, #d do "
    "  local ttl = redis.call('pttl', ARGV[3] .. 'lease:' .. d[i]) "
    "  local o = ARGV[3] .. 'order:' .. d[i] "
    "  if ttl > 0 then "
    "    redis.call('zadd', KEYS[1], 'XX', now + ttl, d[i]) "
    "    redis.call('hdel', o, 'claims') "
    "  elseif redis.call('exists', o) == 0 then "
    "    redis.call('zrem', KEYS[1], d[i]) "
    "  else "
    "    local n = redis.call('hincrby', o, 'claims', 1) "
    "    local w = tonumber(ARGV[2]) * 2 ^ math.min(n - 1, 32) "
    "    w = math.floor(math.min(w, tonumber(ARGV[4]))) "
    "    redis.call('zadd', KEYS[1], 'XX', now + w, d[i]) "
    "    out[#out + 1] = d[i] "
    "    out[#out + 1] = w "
    "  end "
    "end "
    "return out";


static ngx_http_linkcert_orphan_claim_t  ngx_http_linkcert_orphan_claim;


/*
 * Worker 0, each second (ngx_http_linkcert_redis_due.c's tick, while
 * connected): the orders whose lease ran out are claimed.
 */

void
ngx_http_linkcert_redis_orphans_claim(ngx_http_linkcert_main_conf_t *lmcf,
    ngx_log_t *log)
{
    u_char                             key[NGX_HTTP_LINKCERT_REDIS_KEY_MAX],
                                       claim[NGX_INT64_LEN],
                                       longest[NGX_INT64_LEN],
                                       batch[NGX_INT_T_LEN];
    size_t                             lens[8];
    const char                        *argv[8];
    ngx_http_linkcert_redis_conf_t    *rcf;
    ngx_http_linkcert_orphan_claim_t  *oc;

    oc = &ngx_http_linkcert_orphan_claim;
    rcf = ngx_http_linkcert_redis_fleet();

    if (oc->running) {
        return;
    }

    oc->lmcf = lmcf;
    oc->log = log;

    argv[0] = "EVAL";
    lens[0] = 4;
    argv[1] = ngx_http_linkcert_orphan_claim_lua;
    lens[1] = sizeof(ngx_http_linkcert_orphan_claim_lua) - 1;
    argv[2] = "1";
    lens[2] = 1;
    argv[3] = (char *) key;
    lens[3] = ngx_http_linkcert_redis_name(key, "orders", NULL, 0);
    argv[4] = (char *) batch;
    lens[4] = ngx_sprintf(batch, "%ui", (ngx_uint_t)
                          NGX_HTTP_LINKCERT_ORPHAN_BATCH) - batch;
    argv[5] = (char *) claim;
    lens[5] = ngx_sprintf(claim, "%M", rcf->lease) - claim;
    argv[6] = (char *) rcf->prefix.data;
    lens[6] = rcf->prefix.len;
    argv[7] = (char *) longest;
    lens[7] = ngx_sprintf(longest, "%M",
                          ngx_max(rcf->lease,
                                  NGX_HTTP_LINKCERT_ORPHAN_LONGEST))
              - longest;

    if (ngx_http_linkcert_redis_command(8, argv, lens,
                                        ngx_http_linkcert_orphan_claimed, oc)
        != NULL)
    {
        oc->running = 1;
    }
}


static void
ngx_http_linkcert_orphan_claimed(void *data, redisReply *reply,
    const char *error)
{
    ngx_http_linkcert_orphan_claim_t *oc = data;

    size_t        i;
    redisReply   *name, *claim;
    lc_record_t  *rec;

    oc->running = 0;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        ngx_log_error(NGX_LOG_WARN, oc->log, 0,
                      "linkcert: the fleet's orders left behind not "
                      "claimed: %*s",
                      reply ? (size_t) reply->len : ngx_strlen(error),
                      reply ? reply->str : error);
        return;
    }

    rec = (reply->elements == 0)
          ? NULL : ngx_alloc(sizeof(lc_record_t), oc->log);

    for (i = 0; rec && i + 1 < reply->elements; i += 2) {
        name = reply->element[i];
        claim = reply->element[i + 1];

        if (name->type == REDIS_REPLY_STRING && name->len > 0
            && name->len <= LC_DOMAIN_MAX
            && claim->type == REDIS_REPLY_INTEGER)
        {
            ngx_http_linkcert_orphan_adopt(oc, (u_char *) name->str,
                                           name->len,
                                           (ngx_msec_t) claim->integer, rec);
        }
    }

    if (rec) {
        ngx_free(rec);
        ngx_http_linkcert_worker_kick();
    }
}


/*
 * A domain whose order its edge left: asked for here as by the CRM's
 * POST reissue=1, so that its job takes the lease and resumes the order.
 * The claim lasts claim ms: not taken over by then, it is claimed again.
 */

static void
ngx_http_linkcert_orphan_adopt(ngx_http_linkcert_orphan_claim_t *oc,
    u_char *name, size_t len, ngx_msec_t claim, lc_record_t *rec)
{
    time_t      retry;
    lc_error_t  refused;

    switch (ngx_http_linkcert_table_post(oc->lmcf->shm_zone, name, len,
                                         NGX_HTTP_LINKCERT_ASK_REISSUE
                                         |NGX_HTTP_LINKCERT_ASK_CLAIMED,
                                         rec, &retry, &refused))
    {
    case NGX_HTTP_LINKCERT_POST_STARTED:
    case NGX_HTTP_LINKCERT_POST_REISSUE:
        ngx_log_error(NGX_LOG_NOTICE, oc->log, 0,
                      "linkcert: \"%*s\" claimed from the fleet: an order "
                      "left by an edge whose lease ran out, taken over "
                      "here (claimed for %M ms)", len, name, claim);
        return;

    case NGX_HTTP_LINKCERT_POST_BUSY:
        ngx_log_error(NGX_LOG_INFO, oc->log, 0,
                      "linkcert: \"%*s\" claimed from the fleet: an order "
                      "left by an edge, taken over by this edge's job "
                      "(claimed for %M ms)", len, name, claim);
        return;

    case NGX_HTTP_LINKCERT_POST_REFUSED:
        ngx_log_error(NGX_LOG_WARN, oc->log, 0,
                      "linkcert: \"%*s\" claimed from the fleet (an order "
                      "left by an edge) but not taken over: %s (claimed "
                      "again in %M ms)", len, name, refused.detail, claim);
        return;

    default:
        ngx_log_error(NGX_LOG_WARN, oc->log, 0,
                      "linkcert: \"%*s\" claimed from the fleet (an order "
                      "left by an edge) but not taken over now: left to "
                      "its claim's end (%M ms)", len, name, claim);
        return;
    }
}


/*
 * POST reissue=1 in a fleet, on demand: NGX_DONE when the fleet's order
 * budget is asked (post is called with the request when it allows the
 * reissue; otherwise the request is answered here), NGX_DECLINED when it
 * is not (no fleet, not on demand, not a reissue that would be ordered):
 * the caller posts at once.
 */

ngx_int_t
ngx_http_linkcert_redis_reissue(ngx_http_request_t *r, char *name,
    size_t len, ngx_http_linkcert_reissue_pt post)
{
    u_char                           key[NGX_HTTP_LINKCERT_REDIS_KEY_MAX],
                                     interval[NGX_INT64_LEN],
                                     burst[NGX_INT_T_LEN];
    size_t                           lens[3];
    const char                      *argv[3];
    ngx_pool_cleanup_t              *cln;
    ngx_http_linkcert_main_conf_t   *lmcf;
    ngx_http_linkcert_reissue_ctx_t *ctx;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_linkcert_module);

    if (ngx_http_linkcert_redis_fleet() == NULL || !lmcf->on_demand
        || ngx_http_linkcert_table_reissue_asks(lmcf->shm_zone,
                                                (u_char *) name, len)
           != NGX_OK)
    {
        return NGX_DECLINED;
    }

    cln = ngx_pool_cleanup_add(r->pool,
                               sizeof(ngx_http_linkcert_reissue_ctx_t));
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx = cln->data;
    ctx->r = r;
    ctx->post = post;
    ctx->rate = lmcf->order_rate;
    ctx->len = len;
    ngx_memcpy(ctx->name, name, len);
    ctx->name[len] = '\0';

    argv[0] = (char *) key;
    lens[0] = ngx_http_linkcert_redis_name(key, "budget:orders", NULL, 0);
    argv[1] = (char *) interval;
    lens[1] = ngx_sprintf(interval, "%uL",
                          lc_limits_order_interval(ctx->rate))
              - interval;
    argv[2] = (char *) burst;
    lens[2] = ngx_sprintf(burst, "%ui", ctx->rate) - burst;

    ctx->req = ngx_http_linkcert_redis_eval(
                   &ngx_http_linkcert_budgets_reissue_lua, 3, argv, lens,
                   ngx_http_linkcert_reissue_budget, ctx);

    cln->handler = ngx_http_linkcert_reissue_cleanup;

    if (ctx->req == NULL) {
        return ngx_http_linkcert_api_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                           "engine_unreachable",
                                           "the edges' shared Redis cannot "
                                           "be reached: try again later");
    }

    r->main->count++;

    return NGX_DONE;
}


static void
ngx_http_linkcert_reissue_budget(void *data, redisReply *reply,
    const char *error)
{
    ngx_http_linkcert_reissue_ctx_t *ctx = data;

    ngx_int_t            rc;
    lc_error_t           err;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    ctx->req = NULL;
    r = ctx->r;

    if (reply && reply->type == REDIS_REPLY_INTEGER && reply->integer == 0) {
        rc = ctx->post(r, ctx->name, ctx->len, 1);

    } else if (reply && reply->type == REDIS_REPLY_INTEGER) {
        lc_limits_order_budget_error(&err, ctx->rate);
        rc = ngx_http_linkcert_api_later(r,
                 lc_limits_seconds((uint64_t) reply->integer),
                 err.type, err.detail);

    } else {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "linkcert: the fleet's order budget not asked for the "
                      "reissue of \"%s\": %*s", ctx->name,
                      reply ? (size_t) reply->len : ngx_strlen(error),
                      reply ? reply->str : error);

        rc = ngx_http_linkcert_api_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                         "engine_unreachable",
                                         "the edges' shared Redis did not "
                                         "answer: try again later");
    }

    c = r->connection;

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


/* the request ends before Redis answers */

static void
ngx_http_linkcert_reissue_cleanup(void *data)
{
    ngx_http_linkcert_reissue_ctx_t *ctx = data;

    if (ctx->req) {
        ngx_http_linkcert_redis_cancel(ctx->req);
        ctx->req = NULL;
    }
}


/*
 * Would a POST reissue=1 of the domain order now, within the duplicate
 * limit (the limits the lifecycle asks for: LC_DO_LIMITS)?  NGX_OK if
 * so.  Nothing is changed.
 */

static ngx_int_t
ngx_http_linkcert_table_reissue_asks(ngx_shm_zone_t *shm_zone, u_char *name,
    size_t len)
{
    ngx_int_t                  rc;
    lc_error_t                 err;
    lc_lifecycle_t             life;
    lc_lifecycle_conf_t        conf;
    lc_lifecycle_event_t       ev;
    lc_lifecycle_result_t      res;
    ngx_http_linkcert_zone_t  *ctx;
    ngx_http_linkcert_node_t  *ln;

    ctx = shm_zone->data;
    rc = NGX_DECLINED;

    ngx_http_linkcert_life_conf(ctx, &conf);
    ngx_http_linkcert_life_event(&ev, LC_EV_POST);
    ev.reissue = 1;

    ngx_http_linkcert_lock(ctx);

    ln = ngx_http_linkcert_lookup(ctx->sh, name, len);

    if (ln) {
        ngx_http_linkcert_life_read(ln, &life);
        lc_lifecycle_step(&life, &conf, &ev, &res);

        if (res.action == LC_DO_LIMITS
            && lc_limits_reissue(ln->dup_window, ln->dup_count, ev.now,
                                 &err)
               == 0)
        {
            rc = NGX_OK;
        }
    }

    ngx_http_linkcert_unlock(ctx);

    return rc;
}
