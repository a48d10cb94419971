
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the fleet's budgets, kept in Redis so that they count every
 * edge's orders: the order budget (linkcert_order_rate), the
 * registered-domain limit (linkcert_registered_domain_limit) and the
 * failed-validation limit.  An edge that holds a domain's lease asks,
 * before it places the order, in one script: the limits are checked and
 * the order counted at once, so that two edges cannot both take the
 * last one.  The rules are lc_limits.c's, the same as on one edge; the
 * script keeps the counters.
 *
 * In Redis:
 *     <prefix>budget:orders        the order budget's theoretical arrival
 *                                  time (ms, Redis's clock), expiring
 *                                  when the budget is full again
 *     <prefix>regdom:<registered>  sorted set: each name of the
 *                                  registered domain ordered within 7
 *                                  days, scored by the time (ms)
 *     <prefix>failed:<domain>      failed validations within the hour
 *                                  from the first (expires then)
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert_redis.h"


#define NGX_HTTP_LINKCERT_BUDGETS_STR(x)   #x
#define NGX_HTTP_LINKCERT_BUDGETS_XSTR(x)  NGX_HTTP_LINKCERT_BUDGETS_STR(x)


struct ngx_http_linkcert_budgets_s {
    ngx_http_linkcert_redis_req_t      *req;
    ngx_http_linkcert_budgets_handler_pt handler;
    void                               *data;
    ngx_event_t                         unreachable;
    ngx_uint_t                          rate;
    ngx_uint_t                          limit;
    size_t                              reg_len;
    u_char                              reg[LC_DOMAIN_MAX];
};


static void ngx_http_linkcert_budgets_answer(void *data, redisReply *reply,
    const char *error);
static void ngx_http_linkcert_budgets_unreachable(ngx_event_t *ev);
static void ngx_http_linkcert_budgets_counted(void *data, redisReply *reply,
    const char *error);


/*
 * KEYS[1] the order budget, KEYS[2] the registered domain's names,
 * KEYS[3] the domain's failed validations; ARGV[1] the budgets (0 none,
 * 1 within them, 2 the share taken at once), ARGV[2] the budget's
 * interval (ms), ARGV[3] its burst, ARGV[4] the registered-domain limit
 * (0: none), ARGV[5] the domain.  {"ok"}, or {why, count, ms to wait}.
 */

ngx_http_linkcert_redis_script_t  ngx_http_linkcert_budgets_lua = {
    "local t = redis.call('time')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local window = "
        NGX_HTTP_LINKCERT_BUDGETS_XSTR(LC_LIMITS_DOMAIN_WINDOW) " * 1000\n"
    "local failed = tonumber(redis.call('get', KEYS[3]) or '0')\n"
    "if failed >= "
        NGX_HTTP_LINKCERT_BUDGETS_XSTR(LC_LIMITS_VALIDATIONS) " then\n"
    "  return {'validation_limit', failed, redis.call('pttl', KEYS[3])}\n"
    "end\n"
    "redis.call('zremrangebyscore', KEYS[2], '-inf', now - window)\n"
    "local limit = tonumber(ARGV[4])\n"
    "if ARGV[1] == '1' and limit > 0 then\n"
    "  local n = redis.call('zcard', KEYS[2])\n"
    "  if redis.call('zscore', KEYS[2], ARGV[5]) then n = n - 1 end\n"
    "  if n >= limit then\n"
    "    local first = redis.call('zrange', KEYS[2], 0, 0, 'WITHSCORES')\n"
    "    return {'registered_domain_limit', n,"
              " tonumber(first[2]) + window - now}\n"
    "  end\n"
    "end\n"
    "if ARGV[1] ~= '0' then\n"
    "  local interval = tonumber(ARGV[2])\n"
    "  local tat = tonumber(redis.call('get', KEYS[1]) or '0')\n"
    "  if tat < now then tat = now end\n"
    "  local allowance = (tonumber(ARGV[3]) - 1) * interval\n"
    "  if ARGV[1] == '1' and tat - now > allowance then\n"
    "    return {'order_budget', 0, tat - now - allowance}\n"
    "  end\n"
    "  tat = tat + interval\n"
    "  redis.call('set', KEYS[1], tat, 'PX', tat - now)\n"
    "end\n"
    "redis.call('zadd', KEYS[2], now, ARGV[5])\n"
    "redis.call('pexpire', KEYS[2], window)\n"
    "return {'ok'}\n",
    "3", ""
};

/* KEYS[1] the domain's failed validations: one more, within the hour */

ngx_http_linkcert_redis_script_t  ngx_http_linkcert_budgets_failed_lua = {
    "local n = redis.call('incr', KEYS[1])\n"
    "if n == 1 then redis.call('expire', KEYS[1], "
        NGX_HTTP_LINKCERT_BUDGETS_XSTR(LC_LIMITS_VALIDATION_WINDOW) ") end\n"
    "return n\n",
    "1", ""
};


/*
 * Before a domain's order is placed, with its lease: NGX_DECLINED, no
 * fleet (the edge's own budgets were met when the job was taken);
 * NGX_AGAIN, the handler is called with the answer (never before this
 * returns): NGX_OK, the order is counted; NGX_DECLINED, a limit says no
 * (err and when it may go on); NGX_ERROR, Redis did not answer (no order
 * is placed).  *b is the caller's to cancel until then.
 */

ngx_int_t
ngx_http_linkcert_budgets_check(const char *domain, uint32_t job_id,
    ngx_http_linkcert_budgets_handler_pt handler, void *data,
    ngx_http_linkcert_budgets_t **b)
{
    u_char                           orders[NGX_HTTP_LINKCERT_REDIS_KEY_MAX],
                                     group[NGX_HTTP_LINKCERT_REDIS_KEY_MAX],
                                     failed[NGX_HTTP_LINKCERT_REDIS_KEY_MAX],
                                     interval[NGX_INT_T_LEN],
                                     burst[NGX_INT_T_LEN],
                                     limit[NGX_INT_T_LEN];
    size_t                           lens[8], len;
    ngx_uint_t                       budgets;
    const char                      *argv[8];
    ngx_http_linkcert_budgets_t     *bg;
    ngx_http_linkcert_main_conf_t   *lmcf;
    ngx_http_linkcert_redis_conf_t  *rcf;

    *b = NULL;
    rcf = ngx_http_linkcert_redis_fleet();

    if (rcf == NULL) {
        return NGX_DECLINED;
    }

    lmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_linkcert_module);

    bg = ngx_calloc(sizeof(ngx_http_linkcert_budgets_t), ngx_cycle->log);
    if (bg == NULL) {
        return NGX_ERROR;
    }

    len = ngx_strlen(domain);

    if (ngx_http_linkcert_table_budgets(lmcf->shm_zone, (u_char *) domain,
                                        len, job_id, &budgets, bg->reg,
                                        &bg->reg_len)
        != NGX_OK)
    {
        ngx_free(bg);
        return NGX_ERROR;
    }

    bg->handler = handler;
    bg->data = data;
    bg->rate = lmcf->order_rate;
    bg->limit = lmcf->domain_limit;

    bg->unreachable.data = bg;
    bg->unreachable.log = ngx_cycle->log;
    bg->unreachable.handler = ngx_http_linkcert_budgets_unreachable;

    argv[0] = (char *) orders;
    lens[0] = ngx_http_linkcert_redis_name(orders, "budget:orders", NULL, 0);
    argv[1] = (char *) group;
    lens[1] = ngx_http_linkcert_redis_name(group, "regdom:",
                                           (char *) bg->reg, bg->reg_len);
    argv[2] = (char *) failed;
    lens[2] = ngx_http_linkcert_redis_name(failed, "failed:", domain, len);
    argv[3] = (budgets & LC_LIFE_BUDGET_TAKE) ? "2"
              : (budgets & LC_LIFE_BUDGET) ? "1" : "0";
    lens[3] = 1;
    argv[4] = (char *) interval;
    lens[4] = ngx_sprintf(interval, "%uL",
                          lc_limits_order_interval(bg->rate))
              - interval;
    argv[5] = (char *) burst;
    lens[5] = ngx_sprintf(burst, "%ui", bg->rate) - burst;
    argv[6] = (char *) limit;
    lens[6] = ngx_sprintf(limit, "%ui", bg->limit) - limit;
    argv[7] = domain;
    lens[7] = len;

    *b = bg;

    bg->req = ngx_http_linkcert_redis_eval(&ngx_http_linkcert_budgets_lua, 8,
                                           argv, lens,
                                           ngx_http_linkcert_budgets_answer,
                                           bg);
    if (bg->req == NULL) {
        ngx_post_event(&bg->unreachable, &ngx_posted_events);
    }

    return NGX_AGAIN;
}


static void
ngx_http_linkcert_budgets_answer(void *data, redisReply *reply,
    const char *error)
{
    ngx_http_linkcert_budgets_t *bg = data;

    time_t       wait;
    ngx_str_t    why;
    lc_error_t   err;
    redisReply  *e;

    bg->req = NULL;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements == 0
        || reply->element[0]->type != REDIS_REPLY_STRING
        || (reply->elements != 1
            && (reply->elements != 3
                || reply->element[2]->type != REDIS_REPLY_INTEGER)))
    {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "linkcert: the fleet's budgets could not be asked: "
                      "%*s",
                      reply && reply->type == REDIS_REPLY_ERROR
                      ? (size_t) reply->len : ngx_strlen(error ? error : ""),
                      reply && reply->type == REDIS_REPLY_ERROR
                      ? reply->str : (error ? error : ""));

        lc_error_set(&err, LC_ERR_ENGINE_UNREACHABLE, "Redis did not "
                     "answer: no order is placed without the fleet's "
                     "budgets");
        bg->handler(bg->data, NGX_ERROR, &err,
                    (time_t) ngx_max(ngx_http_linkcert_redis_fleet()->lease
                                     / 1000, 1));
        return;
    }

    e = reply->element[0];
    why.data = (u_char *) e->str;
    why.len = e->len;

    if (reply->elements == 1) {
        bg->handler(bg->data, NGX_OK, NULL, 0);
        return;
    }

    wait = lc_limits_seconds(reply->element[2]->integer > 0
                             ? (uint64_t) reply->element[2]->integer : 1);

    if (why.len == sizeof("order_budget") - 1
        && ngx_strncmp(why.data, "order_budget", why.len) == 0)
    {
        lc_limits_order_budget_error(&err, bg->rate);

    } else if (why.len == sizeof("registered_domain_limit") - 1
               && ngx_strncmp(why.data, "registered_domain_limit", why.len)
                  == 0)
    {
        lc_limits_registered_error(&err, bg->limit, (char *) bg->reg,
                                   bg->reg_len);

    } else {
        lc_limits_validations_error(&err);
    }

    ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                  "linkcert: the fleet's budgets: %s, for %T s",
                  err.detail, wait);

    bg->handler(bg->data, NGX_DECLINED, &err, wait);
}


static void
ngx_http_linkcert_budgets_unreachable(ngx_event_t *ev)
{
    ngx_http_linkcert_budgets_answer(ev->data, NULL, "no room for the "
                                     "request");
}


/* the job ended before the answer (or after it: then only freed) */

void
ngx_http_linkcert_budgets_cancel(ngx_http_linkcert_budgets_t *bg)
{
    if (bg == NULL) {
        return;
    }

    if (bg->req) {
        ngx_http_linkcert_redis_cancel(bg->req);
    }

    if (bg->unreachable.posted) {
        ngx_delete_posted_event(&bg->unreachable);
    }

    ngx_free(bg);
}


/* an order failed for the domain's part (validation): the fleet counts it */

void
ngx_http_linkcert_budgets_failed(const char *domain)
{
    u_char       key[NGX_HTTP_LINKCERT_REDIS_KEY_MAX];
    size_t       lens[1];
    const char  *argv[1];

    if (ngx_http_linkcert_redis_fleet() == NULL) {
        return;
    }

    argv[0] = (char *) key;
    lens[0] = ngx_http_linkcert_redis_name(key, "failed:", domain,
                                           ngx_strlen(domain));

    (void) ngx_http_linkcert_redis_eval(&ngx_http_linkcert_budgets_failed_lua,
                                        1, argv, lens,
                                        ngx_http_linkcert_budgets_counted,
                                        NULL);
}


static void
ngx_http_linkcert_budgets_counted(void *data, redisReply *reply,
    const char *error)
{
    if (reply && reply->type == REDIS_REPLY_INTEGER) {
        return;
    }

    ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                  "linkcert: a failed validation was not counted in redis: "
                  "%*s",
                  reply ? (size_t) reply->len : ngx_strlen(error),
                  reply ? reply->str : error);
}
