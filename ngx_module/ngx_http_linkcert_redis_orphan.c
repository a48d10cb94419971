
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: what the fleet does by itself for an order whose edge died.
 *
 * Orders left behind.  Each order kept in Redis is also a member of
 * <prefix>orders, scored by the end of its holder's lease when the order
 * was last written (ngx_http_linkcert_redis_order.c writes and removes
 * both in one script).  Worker 0 of every edge claims, every second (on
 * the due set's tick), up to 64 of the orders whose score has passed, in
 * one script: one whose lease is still held (renewed since) is scored
 * again by the lease's end; one whose record is gone (ended, expired)
 * leaves the set; the others are claimed (scored a lease= ahead) and
 * returned.  The edge then asks for each domain as the CRM's POST
 * reissue=1 would (a domain without a certificate: "Verify domain"): the
 * DNS is checked and the job takes the lease, reads the order kept and
 * resumes it (ngx_http_linkcert_state_redis.c).  One edge claims each;
 * another only once that claim ran out (the claiming edge died, or could
 * not take the lease).  No KEYS, no SCAN.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert_redis.h"
#include "ngx_http_linkcert_table.h"


#define NGX_HTTP_LINKCERT_ORPHAN_BATCH   64


typedef struct {
    ngx_http_linkcert_main_conf_t      *lmcf;
    ngx_log_t                          *log;
    ngx_uint_t                          running;
} ngx_http_linkcert_orphan_claim_t;


static void ngx_http_linkcert_orphan_claimed(void *data, redisReply *reply,
    const char *error);
static void ngx_http_linkcert_orphan_adopt(
    ngx_http_linkcert_orphan_claim_t *oc, u_char *name, size_t len,
    lc_record_t *rec);


/*
 * KEYS[1] the orders; ARGV[1] the batch, ARGV[2] a claim's length (ms),
 * ARGV[3] the prefix.  The domains claimed.
 */

static char  ngx_http_linkcert_orphan_claim_lua[] =
    "local t = redis.call('time') "
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) "
    "local d = redis.call('zrangebyscore', KEYS[1], '-inf', now, "
    "                     'LIMIT', 0, tonumber(ARGV[1])) "
    "local out = {} "
    "for i = 1, #d do "
    "  local ttl = redis.call('pttl', ARGV[3] .. 'lease:' .. d[i]) "
    "  if ttl > 0 then "
    "    redis.call('zadd', KEYS[1], 'XX', now + ttl, d[i]) "
    "  elseif redis.call('exists', ARGV[3] .. 'order:' .. d[i]) == 0 then "
    "    redis.call('zrem', KEYS[1], d[i]) "
    "  else "
    "    redis.call('zadd', KEYS[1], 'XX', now + tonumber(ARGV[2]), d[i]) "
    "    out[#out + 1] = d[i] "
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
                                       batch[NGX_INT_T_LEN];
    size_t                             lens[7];
    const char                        *argv[7];
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

    if (ngx_http_linkcert_redis_command(7, argv, lens,
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
    redisReply   *names, *name;
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

    names = reply;

    rec = (names->elements == 0)
          ? NULL : ngx_alloc(sizeof(lc_record_t), oc->log);

    for (i = 0; rec && i < names->elements; i++) {
        name = names->element[i];

        if (name->type == REDIS_REPLY_STRING && name->len > 0
            && name->len <= LC_DOMAIN_MAX)
        {
            ngx_http_linkcert_orphan_adopt(oc, (u_char *) name->str,
                                           name->len, rec);
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
 */

static void
ngx_http_linkcert_orphan_adopt(ngx_http_linkcert_orphan_claim_t *oc,
    u_char *name, size_t len, lc_record_t *rec)
{
    time_t      retry;
    lc_error_t  refused;

    switch (ngx_http_linkcert_table_post(oc->lmcf->shm_zone, name, len, 1,
                                         rec, &retry, &refused))
    {
    case NGX_HTTP_LINKCERT_POST_STARTED:
    case NGX_HTTP_LINKCERT_POST_REISSUE:
        ngx_log_error(NGX_LOG_NOTICE, oc->log, 0,
                      "linkcert: \"%*s\" claimed from the fleet: an order "
                      "left by an edge whose lease ran out, taken over "
                      "here", len, name);
        return;

    case NGX_HTTP_LINKCERT_POST_BUSY:
        ngx_log_error(NGX_LOG_INFO, oc->log, 0,
                      "linkcert: \"%*s\" claimed from the fleet: an order "
                      "left by an edge, taken over by this edge's job",
                      len, name);
        return;

    case NGX_HTTP_LINKCERT_POST_REFUSED:
        ngx_log_error(NGX_LOG_WARN, oc->log, 0,
                      "linkcert: \"%*s\" claimed from the fleet (an order "
                      "left by an edge) but not taken over: %s",
                      len, name, refused.detail);
        return;

    default:
        ngx_log_error(NGX_LOG_WARN, oc->log, 0,
                      "linkcert: \"%*s\" claimed from the fleet (an order "
                      "left by an edge) but not taken over now: left to "
                      "its claim's end", len, name);
        return;
    }
}
