
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
 *     <prefix>budget:admit         the admission of new names on demand,
 *                                  as the order budget
 *
 * A reissue's POST takes its share of the order budget with a script of
 * its own (ngx_http_linkcert_redis_orphan.c asks it).
 *
 * New names on demand are admitted by the fleet too, before their DNS
 * (or linkcert_ask) is asked: each edge admits them at its own rate (in
 * the zone, at the handshake, which cannot wait for Redis), then worker
 * 0 takes one from the fleet's rate, 10 a second in all; a name it
 * refuses leaves the table as one the edge's rate refused.
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


typedef struct {
    uint32_t                            job_id;
    lc_lifecycle_action_e               action;
    ngx_log_t                          *log;
    char                                name[LC_DOMAIN_MAX + 1];
} ngx_http_linkcert_admit_t;


static void ngx_http_linkcert_budgets_answer(void *data, redisReply *reply,
    const char *error);
static void ngx_http_linkcert_budgets_unreachable(ngx_event_t *ev);
static void ngx_http_linkcert_budgets_counted(void *data, redisReply *reply,
    const char *error);
static void ngx_http_linkcert_budgets_admitted(void *data,
    redisReply *reply, const char *error);


/*
 * A rate with a burst in Redis (lc_limits_rate()'s rule, on Redis's
 * clock): take(key, now, interval, burst, force) takes one and returns
 * 0, or returns the ms to wait; with force it takes one without waiting.
 */

#define NGX_HTTP_LINKCERT_BUDGETS_RATE_LUA                                   \
    "local function take(key, now, interval, burst, force)\n"                \
    "  local tat = tonumber(redis.call('get', key) or '0')\n"                \
    "  if tat < now then tat = now end\n"                                    \
    "  local allowance = (burst - 1) * interval\n"                           \
    "  if not force and tat - now > allowance then\n"                        \
    "    return tat - now - allowance\n"                                     \
    "  end\n"                                                                \
    "  tat = tat + interval\n"                                               \
    "  redis.call('set', key, tat, 'PX', tat - now)\n"                       \
    "  return 0\n"                                                           \
    "end\n"                                                                  \
    "local t = redis.call('time')\n"                                         \
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"


/*
 * KEYS[1] the order budget, KEYS[2] the registered domain's names,
 * KEYS[3] the domain's failed validations; ARGV[1] the budgets (0 none,
 * 1 within them, 2 the share taken at once), ARGV[2] the budget's
 * interval (ms), ARGV[3] its burst, ARGV[4] the registered-domain limit
 * (0: none), ARGV[5] the domain.  {"ok"}, or {why, count, ms to wait}.
 */

ngx_http_linkcert_redis_script_t  ngx_http_linkcert_budgets_lua = {
    NGX_HTTP_LINKCERT_BUDGETS_RATE_LUA
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
    "  local wait = take(KEYS[1], now, tonumber(ARGV[2]), tonumber(ARGV[3]),"
                      " ARGV[1] == '2')\n"
    "  if wait > 0 then return {'order_budget', 0, wait} end\n"
    "end\n"
    "redis.call('zadd', KEYS[2], now, ARGV[5])\n"
    "redis.call('pexpire', KEYS[2], window)\n"
    "return {'ok'}\n",
    "3", ""
};

/* KEYS[1] the admission of new names: 0 taken, or the ms to wait */

ngx_http_linkcert_redis_script_t  ngx_http_linkcert_budgets_admit_lua = {
    NGX_HTTP_LINKCERT_BUDGETS_RATE_LUA
    "return take(KEYS[1], now, "
        NGX_HTTP_LINKCERT_BUDGETS_XSTR(LC_LIMITS_ADMIT_INTERVAL) ", "
        NGX_HTTP_LINKCERT_BUDGETS_XSTR(LC_LIMITS_ADMIT_BURST) ", false)\n",
    "1", ""
};

/*
 * KEYS[1] the order budget; ARGV[1] its interval (ms), ARGV[2] its burst:
 * a reissue's share taken at its POST (0), or the ms to wait
 */

ngx_http_linkcert_redis_script_t  ngx_http_linkcert_budgets_reissue_lua = {
    NGX_HTTP_LINKCERT_BUDGETS_RATE_LUA
    "return take(KEYS[1], now, tonumber(ARGV[1]), tonumber(ARGV[2]), "
                "false)\n",
    "1", ""
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
    ngx_uint_t                       budgets, candidate;
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
                                        len, job_id, &budgets, &candidate,
                                        bg->reg, &bg->reg_len)
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


/*
 * A name first seen on demand, before its DNS is checked or linkcert_ask
 * asked (action): within the fleet's admission rate, or it leaves the
 * table.  NGX_DECLINED: no fleet, or not such a name; the caller starts
 * the action itself.  NGX_OK: it is started (or the name left) when
 * Redis answers.
 */

ngx_int_t
ngx_http_linkcert_budgets_admit(const char *name, uint32_t job_id,
    lc_lifecycle_action_e action, ngx_log_t *log)
{
    u_char                          key[NGX_HTTP_LINKCERT_REDIS_KEY_MAX],
                                    reg[LC_DOMAIN_MAX];
    size_t                          len, lens[1], reg_len;
    ngx_uint_t                      budgets, candidate;
    const char                     *argv[1];
    ngx_http_linkcert_admit_t      *ad;
    ngx_http_linkcert_main_conf_t  *lmcf;

    lmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_linkcert_module);
    len = ngx_strlen(name);

    if (ngx_http_linkcert_redis_fleet() == NULL
        || ngx_http_linkcert_table_budgets(lmcf->shm_zone, (u_char *) name,
                                           len, job_id, &budgets, &candidate,
                                           reg, &reg_len)
           != NGX_OK
        || !candidate)
    {
        return NGX_DECLINED;
    }

    ad = ngx_alloc(sizeof(ngx_http_linkcert_admit_t), log);
    if (ad == NULL) {
        return NGX_ERROR;
    }

    ad->job_id = job_id;
    ad->action = action;
    ad->log = log;
    ngx_cpystrn((u_char *) ad->name, (u_char *) name, LC_DOMAIN_MAX + 1);

    argv[0] = (char *) key;
    lens[0] = ngx_http_linkcert_redis_name(key, "budget:admit", NULL, 0);

    if (ngx_http_linkcert_redis_eval(&ngx_http_linkcert_budgets_admit_lua, 1,
                                     argv, lens,
                                     ngx_http_linkcert_budgets_admitted, ad)
        == NULL)
    {
        ngx_free(ad);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_linkcert_budgets_admitted(void *data, redisReply *reply,
    const char *error)
{
    ngx_http_linkcert_admit_t *ad = data;

    size_t                          len;
    ngx_int_t                       rc;
    ngx_http_linkcert_main_conf_t  *lmcf;

    lmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_linkcert_module);
    len = ngx_strlen(ad->name);

    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER
        || reply->integer != 0)
    {
        /* over the fleet's rate, or no answer: the fallback, not held */

        ngx_log_error(NGX_LOG_INFO, ad->log, 0,
                      "linkcert: \"%s\" not admitted on demand: %s",
                      ad->name,
                      reply && reply->type == REDIS_REPLY_INTEGER
                      ? "the fleet's admission rate is spent"
                      : "Redis did not answer");

        ngx_http_linkcert_table_unadmit(lmcf->shm_zone, (u_char *) ad->name,
                                        len, ad->job_id);
        ngx_free(ad);
        return;
    }

    rc = (ad->action == LC_DO_ASK)
         ? ngx_http_linkcert_ask(ad->name, ad->job_id, ad->log)
         : ngx_http_linkcert_dns_check_start(ad->name, ad->job_id, ad->log);

    if (rc != NGX_OK) {
        ngx_http_linkcert_table_release(lmcf->shm_zone, (u_char *) ad->name,
                                        len, ad->job_id);
    }

    ngx_free(ad);
}
