
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: a domain's lease in Redis, so that one edge of the fleet at a
 * time orders it.  Taken before an order is placed, renewed while the
 * job runs (every third of linkcert_redis lease=), released when it
 * ends; renewing and releasing compare the holder first, so an edge that
 * lost its lease (paused past it) neither extends nor deletes another's.
 * Each lease carries a fencing token, a counter per domain that only
 * grows: the fleet's writes under the lease carry it and are refused to
 * a former holder (ngx_http_linkcert_redis_cert.c).  These are the lease
 * operations of the fleet's state boundary (ngx_http_linkcert_state_
 * redis.c), with its types.
 *
 * In Redis: <prefix>lease:<domain> = "<edge> <pid> <random> <fence>",
 * expiring after the lease; <prefix>fence:<domain>, the counter.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/rand.h>

#include "ngx_http_linkcert_redis.h"


#define NGX_HTTP_LINKCERT_LEASE_KEY    (64 + sizeof("lease:") + LC_DOMAIN_MAX)
#define NGX_HTTP_LINKCERT_LEASE_VALUE  (64 + 96)


struct ngx_http_linkcert_lease_s {
    ngx_event_t                         renew;
    ngx_http_linkcert_redis_req_t      *req;        /* in flight */
    ngx_http_linkcert_state_lease_t    *owner;      /* the job's */
    ngx_http_linkcert_state_handler_pt  handler;
    void                               *data;
    ngx_uint_t                          held;
    size_t                              key_len;
    size_t                              value_len;
    u_char                              key[NGX_HTTP_LINKCERT_LEASE_KEY];
    u_char                              value[NGX_HTTP_LINKCERT_LEASE_VALUE];
    char                                domain[LC_DOMAIN_MAX + 1];
};


static void ngx_http_linkcert_lease_taken(void *data, redisReply *reply,
    const char *error);
static uint64_t ngx_http_linkcert_lease_record(redisReply *reply,
    ngx_str_t *edge);
static void ngx_http_linkcert_lease_unreachable(ngx_event_t *ev);
static void ngx_http_linkcert_lease_renew(ngx_event_t *ev);
static void ngx_http_linkcert_lease_renewed(void *data, redisReply *reply,
    const char *error);
static void ngx_http_linkcert_lease_released(void *data, redisReply *reply,
    const char *error);
static void ngx_http_linkcert_lease_not_taken(ngx_http_linkcert_lease_t *l,
    ngx_int_t rc, redisReply *reply);
static ngx_http_linkcert_redis_req_t *ngx_http_linkcert_lease_eval(
    ngx_http_linkcert_lease_t *lease, ngx_http_linkcert_redis_script_t *s,
    ngx_http_linkcert_redis_handler_pt handler, void *data);


/*
 * KEYS[1] the lease, KEYS[2] the fence, KEYS[3] the domain's record of
 * the fleet, KEYS[4] the fleet's sequence (the fence is past its last
 * jump: ngx_http_linkcert_redis.h); ARGV[1] the holder, ARGV[2] the
 * lease in ms.  {1, value,
 * the record's change, edge and removed ('' each: none)} when taken, {0,
 * holder, its ms left} when another holds it.
 */

static ngx_http_linkcert_redis_script_t  ngx_http_linkcert_lease_take_lua = {
    NGX_HTTP_LINKCERT_REDIS_SEQ_LUA
    "local held = redis.call('get', KEYS[1])\n"
    "if held then return {0, held, redis.call('pttl', KEYS[1])} end\n"
    "local v = ARGV[1] .. ' ' .. next_fence(KEYS[2], KEYS[4])\n"
    "redis.call('set', KEYS[1], v, 'NX', 'PX', ARGV[2])\n"
    "local r = redis.call('hmget', KEYS[3], 'seq', 'edge', 'removed')\n"
    "return {1, v, r[1] or '', r[2] or '', r[3] or ''}\n",
    "4", ""
};

/* KEYS[1] the lease; ARGV[1] the value taken, ARGV[2] the lease in ms */

static ngx_http_linkcert_redis_script_t  ngx_http_linkcert_lease_renew_lua = {
    "if redis.call('get', KEYS[1]) == ARGV[1] then\n"
    "  return redis.call('pexpire', KEYS[1], ARGV[2])\n"
    "end\n"
    "return 0\n",
    "1", ""
};

static ngx_http_linkcert_redis_script_t  ngx_http_linkcert_lease_release_lua = {
    "if redis.call('get', KEYS[1]) == ARGV[1] then\n"
    "  return redis.call('del', KEYS[1])\n"
    "end\n"
    "return 0\n",
    "1", ""
};


ngx_http_linkcert_redis_script_t  *ngx_http_linkcert_redis_scripts[] = {
    &ngx_http_linkcert_lease_take_lua,
    &ngx_http_linkcert_lease_renew_lua,
    &ngx_http_linkcert_lease_release_lua,
    &ngx_http_linkcert_budgets_lua,
    &ngx_http_linkcert_budgets_failed_lua,
    &ngx_http_linkcert_budgets_admit_lua,
    &ngx_http_linkcert_budgets_reissue_lua,
    &ngx_http_linkcert_account_lua,
    &ngx_http_linkcert_record_lua,
    NULL
};


/*
 * NGX_AGAIN: the handler is called with the answer (never before this
 * returns): NGX_OK and the fence; NGX_DECLINED (another edge holds it)
 * or NGX_ERROR (no answer), lease->error saying why and lease->retry
 * when to ask again.  NGX_ERROR at once: no memory.  lease->held is the
 * caller's to release (ngx_http_linkcert_lease_release()) once set.
 */

ngx_int_t
ngx_http_linkcert_lease_take(const char *domain,
    ngx_http_linkcert_state_lease_t *lease,
    ngx_http_linkcert_state_handler_pt handler, void *data)
{
    u_char                           rnd[8], ms[NGX_INT_T_LEN],
                                     fence[NGX_HTTP_LINKCERT_REDIS_KEY_MAX],
                                     cert[NGX_HTTP_LINKCERT_REDIS_KEY_MAX],
                                     seq[NGX_HTTP_LINKCERT_REDIS_KEY_MAX];
    size_t                           lens[6];
    const char                      *argv[6];
    ngx_http_linkcert_lease_t       *l;
    ngx_http_linkcert_redis_conf_t  *rcf;

    rcf = ngx_http_linkcert_redis_fleet();

    l = ngx_calloc(sizeof(ngx_http_linkcert_lease_t), ngx_cycle->log);
    if (l == NULL) {
        return NGX_ERROR;
    }

    l->owner = lease;
    l->handler = handler;
    l->data = data;
    ngx_cpystrn((u_char *) l->domain, (u_char *) domain, LC_DOMAIN_MAX + 1);

    l->renew.data = l;
    l->renew.log = ngx_cycle->log;
    l->renew.handler = ngx_http_linkcert_lease_renew;
    l->renew.cancelable = 1;

    l->key_len = ngx_snprintf(l->key, sizeof(l->key), "%Vlease:%s",
                              &rcf->prefix, domain)
                 - l->key;

    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        ngx_free(l);
        return NGX_ERROR;
    }

    l->value_len = ngx_snprintf(l->value, sizeof(l->value), "%V %P ",
                                &rcf->edge, ngx_pid)
                   - l->value;
    l->value_len = ngx_hex_dump(l->value + l->value_len, rnd, sizeof(rnd))
                   - l->value;

    argv[0] = (char *) l->key;
    lens[0] = l->key_len;
    argv[1] = (char *) fence;
    lens[1] = ngx_http_linkcert_redis_name(fence, "fence:", domain,
                                           ngx_strlen(domain));
    argv[2] = (char *) cert;
    lens[2] = ngx_http_linkcert_redis_name(cert, "cert:", domain,
                                           ngx_strlen(domain));
    argv[3] = (char *) seq;
    lens[3] = ngx_http_linkcert_redis_name(seq, "seq", NULL, 0);
    argv[4] = (char *) l->value;
    lens[4] = l->value_len;
    argv[5] = (char *) ms;
    lens[5] = ngx_sprintf(ms, "%M", rcf->lease) - ms;

    lease->held = l;
    lease->fleet_seq = 0;

    l->req = ngx_http_linkcert_redis_eval(&ngx_http_linkcert_lease_take_lua,
                                          6, argv, lens,
                                          ngx_http_linkcert_lease_taken, l);

    if (l->req == NULL) {
        /* answered as if Redis had not, after this returns */
        l->renew.handler = ngx_http_linkcert_lease_unreachable;
        ngx_post_event(&l->renew, &ngx_posted_events);
    }

    return NGX_AGAIN;
}


static void
ngx_http_linkcert_lease_taken(void *data, redisReply *reply,
    const char *error)
{
    ngx_http_linkcert_lease_t *l = data;

    u_char                          *fence;
    uint64_t                         token;
    redisReply                      *value;
    ngx_http_linkcert_redis_conf_t  *rcf;

    l->req = NULL;
    rcf = ngx_http_linkcert_redis_fleet();

    if (reply == NULL || rcf == NULL
        || reply->type != REDIS_REPLY_ARRAY || reply->elements < 2
        || reply->element[0]->type != REDIS_REPLY_INTEGER
        || reply->element[1]->type != REDIS_REPLY_STRING
        || reply->element[1]->len >= NGX_HTTP_LINKCERT_LEASE_VALUE)
    {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "linkcert: the lease of \"%s\" could not be taken: "
                      "%*s", l->domain,
                      reply && reply->type == REDIS_REPLY_ERROR
                      ? (size_t) reply->len : ngx_strlen(error ? error : ""),
                      reply && reply->type == REDIS_REPLY_ERROR
                      ? reply->str : (error ? error : ""));
        ngx_http_linkcert_lease_not_taken(l, NGX_ERROR, NULL);
        return;
    }

    value = reply->element[1];

    if (reply->element[0]->integer == 0) {
        ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                      "linkcert: \"%s\" is held by another edge: %*s",
                      l->domain, (size_t) value->len, value->str);
        ngx_http_linkcert_lease_not_taken(l, NGX_DECLINED, reply);
        return;
    }

    /* the value with its fencing token is what renew and release compare */

    l->value_len = ngx_cpymem(l->value, value->str, value->len) - l->value;
    l->value[l->value_len] = '\0';
    l->held = 1;

    fence = (u_char *) strrchr((char *) l->value, ' ');
    token = fence ? (uint64_t) ngx_atoof(fence + 1, ngx_strlen(fence + 1))
                  : 0;

    ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                  "linkcert: \"%s\" leased for %M ms, fencing token%s",
                  l->domain, rcf->lease, fence ? (char *) fence : "");

    ngx_add_timer(&l->renew, rcf->lease / 3);

    l->owner->fence = token;
    l->owner->fleet_seq = ngx_http_linkcert_lease_record(reply, &rcf->edge);
    l->handler(l->data, NGX_OK, token);
}


/*
 * The domain's record of the fleet as the lease was taken: its change,
 * if it holds a certificate another edge wrote; 0 otherwise.
 */

static uint64_t
ngx_http_linkcert_lease_record(redisReply *reply, ngx_str_t *edge)
{
    ngx_uint_t   i;
    redisReply  *seq, *by, *removed;

    if (reply->elements < 5) {
        return 0;
    }

    for (i = 2; i < 5; i++) {
        if (reply->element[i]->type != REDIS_REPLY_STRING) {
            return 0;
        }
    }

    seq = reply->element[2];
    by = reply->element[3];
    removed = reply->element[4];

    if (seq->len == 0 || removed->len != 0
        || ((size_t) by->len == edge->len
            && ngx_strncmp(by->str, edge->data, edge->len) == 0))
    {
        return 0;
    }

    return (uint64_t) ngx_max(ngx_atoof((u_char *) seq->str, seq->len), 0);
}


/*
 * Why not, and when to ask again.  Held by another edge: in a second, or
 * when the holder's lease runs out if that is sooner, since a holder
 * whose order ends releases its lease at once (a lease of minutes would
 * otherwise leave the domain pending that long); a waiting job asks
 * Redis about once a second, one short script.  No answer: after a
 * lease.
 */

static void
ngx_http_linkcert_lease_not_taken(ngx_http_linkcert_lease_t *l, ngx_int_t rc,
    redisReply *reply)
{
    ngx_http_linkcert_state_lease_t  *lease;

    lease = l->owner;
    lease->retry = ngx_http_linkcert_lease_retry();

    if (rc == NGX_DECLINED) {
        lc_error_set(&lease->error, LC_ERR_FLEET_BUSY, "another edge of the "
                     "fleet is ordering it: %s", reply->element[1]->str);

        lease->retry = NGX_HTTP_LINKCERT_LEASE_WAIT;

        if (reply->elements == 3
            && reply->element[2]->type == REDIS_REPLY_INTEGER
            && reply->element[2]->integer > 0)
        {
            lease->retry = ngx_min(lease->retry, (time_t)
                                   (reply->element[2]->integer / 1000) + 1);
        }

    } else {
        lc_error_set(&lease->error, LC_ERR_ENGINE_UNREACHABLE, "Redis did "
                     "not answer: no order is placed without the domain's "
                     "lease");
    }

    l->handler(l->data, rc, 0);
}


static void
ngx_http_linkcert_lease_unreachable(ngx_event_t *ev)
{
    ngx_http_linkcert_lease_t *l = ev->data;

    l->renew.handler = ngx_http_linkcert_lease_renew;
    ngx_http_linkcert_lease_taken(l, NULL, "no room for the request");
}


static void
ngx_http_linkcert_lease_renew(ngx_event_t *ev)
{
    ngx_http_linkcert_lease_t *l = ev->data;

    ngx_http_linkcert_redis_conf_t  *rcf;

    rcf = ngx_http_linkcert_redis_fleet();

    if (rcf == NULL || !l->held) {
        return;
    }

    ngx_add_timer(&l->renew, rcf->lease / 3);

    if (l->req == NULL) {
        l->req = ngx_http_linkcert_lease_eval(l,
                                          &ngx_http_linkcert_lease_renew_lua,
                                          ngx_http_linkcert_lease_renewed, l);
    }
}


static void
ngx_http_linkcert_lease_renewed(void *data, redisReply *reply,
    const char *error)
{
    ngx_http_linkcert_lease_t *l = data;

    l->req = NULL;

    if (reply && reply->type == REDIS_REPLY_INTEGER && reply->integer == 1) {
        return;
    }

    if (reply && reply->type == REDIS_REPLY_INTEGER) {
        l->held = 0;
        l->owner->lost = 1;
        l->owner->retry = NGX_HTTP_LINKCERT_LEASE_WAIT;
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "linkcert: the lease of \"%s\" was lost (it expired "
                      "before it was renewed): another edge may order it",
                      l->domain);
        return;
    }

    ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                  "linkcert: the lease of \"%s\" was not renewed: %*s",
                  l->domain,
                  reply ? (size_t) reply->len : ngx_strlen(error),
                  reply ? reply->str : error);
}


/* the job has ended: the lease goes, if it is still ours */

void
ngx_http_linkcert_lease_release(ngx_http_linkcert_state_lease_t *lease)
{
    ngx_http_linkcert_lease_t  *l;

    l = lease->held;

    if (l == NULL) {
        return;
    }

    lease->held = NULL;

    if (l->req) {
        ngx_http_linkcert_redis_cancel(l->req);
    }

    if (l->renew.timer_set) {
        ngx_del_timer(&l->renew);
    }

    if (l->renew.posted) {
        ngx_delete_posted_event(&l->renew);
    }

    if (l->held && ngx_http_linkcert_redis_fleet()) {
        (void) ngx_http_linkcert_lease_eval(l,
                                        &ngx_http_linkcert_lease_release_lua,
                                        ngx_http_linkcert_lease_released,
                                        NULL);
    }

    ngx_free(l);
}


/*
 * Whether the lease is still this edge's as far as it knows: taken, and
 * no renewal found it gone.
 */

ngx_uint_t
ngx_http_linkcert_lease_held(ngx_http_linkcert_state_lease_t *lease)
{
    ngx_http_linkcert_lease_t  *l;

    l = lease->held;

    return l != NULL && l->held;
}


static void
ngx_http_linkcert_lease_released(void *data, redisReply *reply,
    const char *error)
{
    if (reply && reply->type == REDIS_REPLY_INTEGER) {
        return;
    }

    ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                  "linkcert: a lease was not released (it expires): %*s",
                  reply ? (size_t) reply->len : ngx_strlen(error),
                  reply ? reply->str : error);
}


/* renew or release: the lease's key, its value, the lease in ms */

static ngx_http_linkcert_redis_req_t *
ngx_http_linkcert_lease_eval(ngx_http_linkcert_lease_t *l,
    ngx_http_linkcert_redis_script_t *script,
    ngx_http_linkcert_redis_handler_pt handler, void *data)
{
    u_char                           ms[NGX_INT_T_LEN];
    size_t                           lens[3];
    const char                      *argv[3];
    ngx_http_linkcert_redis_conf_t  *rcf;

    rcf = ngx_http_linkcert_redis_fleet();

    argv[0] = (char *) l->key;
    lens[0] = l->key_len;
    argv[1] = (char *) l->value;
    lens[1] = l->value_len;
    argv[2] = (char *) ms;
    lens[2] = ngx_sprintf(ms, "%M", rcf->lease) - ms;

    return ngx_http_linkcert_redis_eval(script, 3, argv, lens, handler,
                                        data);
}


/* a lease held: its value, for the writes only its holder may make */

u_char *
ngx_http_linkcert_lease_value(ngx_http_linkcert_state_lease_t *lease,
    size_t *len)
{
    ngx_http_linkcert_lease_t  *l;

    l = lease->held;

    if (l == NULL || !l->held) {
        return NULL;
    }

    *len = l->value_len;

    return l->value;
}


/* in how many seconds a job that stopped for the lease asks again */

time_t
ngx_http_linkcert_lease_retry(void)
{
    ngx_http_linkcert_redis_conf_t  *rcf;

    rcf = ngx_http_linkcert_redis_fleet();

    return rcf ? (time_t) ngx_max(rcf->lease / 1000, 1) : 1;
}
