
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: /domains the same on every edge.  Each status object an edge
 * writes (ngx_http_linkcert_redis_status.c) puts its domain into the
 * sorted set <prefix>domains, every score 0, so that its members are in
 * the order of their names; a DELETE takes it out.  GET /domains on an
 * edge connected to Redis reads a page of it in one script: ZRANGEBYLEX
 * after the "after=" name, MGET of the status objects, the status= filter
 * applied there; the answer is the objects as stored, put together
 * without parsing them.  The worker does not wait: the request is
 * answered when the script's reply comes, or from the edge's own zone
 * (as one edge does) when it does not come within the timeout, fails, or
 * the edge is not connected.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert_redis.h"
#include "lc_domain.h"


/* names looked at per script, a filter's most: Redis is not held long */
#define NGX_HTTP_LINKCERT_DOMAINS_SCAN  4096


typedef struct {
    ngx_http_request_t                 *r;
    ngx_http_linkcert_redis_req_t      *req;     /* no answer yet */
    ngx_http_linkcert_domains_local_pt  local;
    ngx_str_t                           after;
    ngx_int_t                           status;
    ngx_uint_t                          limit;
    u_char                              name[LC_DOMAIN_MAX + 1];
} ngx_http_linkcert_domains_ctx_t;


static void ngx_http_linkcert_domains_got(void *data, redisReply *reply,
    const char *error);
static ngx_int_t ngx_http_linkcert_domains_send(ngx_http_request_t *r,
    redisReply *reply);
static void ngx_http_linkcert_domains_cleanup(void *data);


/*
 * KEYS[1] the domains; ARGV[1] the lowest name ("-" or "(after"),
 * ARGV[2] the page's size, ARGV[3] the status wanted ("" any), ARGV[4]
 * the status objects' prefix, ARGV[5] the most names to look at.
 * {next, object...}: next is the last name of the page when more may
 * follow, "" at the end.
 */

static char  ngx_http_linkcert_domains_lua[] =
    "local out, n, seen, last = {''}, 0, 0, '' "
    "local min, limit = ARGV[1], tonumber(ARGV[2]) "
    "local most = tonumber(ARGV[5]) "
    "while true do "
    "  local names = redis.call('ZRANGEBYLEX', KEYS[1], min, '+', "
    "                           'LIMIT', 0, 128) "
    "  if #names == 0 then out[1] = '' return out end "
    "  local keys = {} "
    "  for i = 1, #names do keys[i] = ARGV[4] .. names[i] end "
    "  local objs = redis.call('MGET', unpack(keys)) "
    "  for i = 1, #names do "
    "    local o = objs[i] "
    "    if o and (ARGV[3] == '' or string.match(o, "
    "        '^{\"domain\":\"[^\"]*\",\"status\":\"(%a+)\"') == ARGV[3]) "
    "    then "
    "      if n == limit then out[1] = last return out end "
    "      n = n + 1 "
    "      out[n + 1] = o "
    "      last = names[i] "
    "    end "
    "    seen = seen + 1 "
    "    if seen >= most then out[1] = names[i] return out end "
    "  end "
    "  min = '(' .. names[#names] "
    "end";


/*
 * NGX_DONE when Redis is asked (the request is answered later, from
 * Redis's page or else by local()); NGX_DECLINED when it is not (no
 * fleet, not connected, no room).
 */

ngx_int_t
ngx_http_linkcert_redis_domains(ngx_http_request_t *r, ngx_str_t *after,
    ngx_int_t status, ngx_uint_t limit,
    ngx_http_linkcert_domains_local_pt local)
{
    u_char                           key[NGX_HTTP_LINKCERT_REDIS_KEY_MAX],
                                     prefix[NGX_HTTP_LINKCERT_REDIS_KEY_MAX],
                                     min[LC_DOMAIN_MAX + 2],
                                     page[NGX_INT_T_LEN], most[NGX_INT_T_LEN];
    size_t                           lens[9];
    const char                      *argv[9], *want;
    ngx_pool_cleanup_t              *cln;
    ngx_http_linkcert_domains_ctx_t *ctx;

    if (ngx_http_linkcert_redis_fleet() == NULL
        || !ngx_http_linkcert_redis_connected()
        || after->len > LC_DOMAIN_MAX)
    {
        return NGX_DECLINED;
    }

    cln = ngx_pool_cleanup_add(r->pool,
                               sizeof(ngx_http_linkcert_domains_ctx_t));
    if (cln == NULL) {
        return NGX_DECLINED;
    }

    ctx = cln->data;
    ctx->r = r;
    ctx->local = local;
    ctx->status = status;
    ctx->limit = limit;
    ctx->after.data = ctx->name;
    ctx->after.len = after->len;
    ngx_memcpy(ctx->name, after->data, after->len);

    want = (status < 0) ? "" : lc_status_name((lc_status_e) status);

    argv[0] = "EVAL";
    lens[0] = 4;
    argv[1] = ngx_http_linkcert_domains_lua;
    lens[1] = sizeof(ngx_http_linkcert_domains_lua) - 1;
    argv[2] = "1";
    lens[2] = 1;
    argv[3] = (char *) key;
    lens[3] = ngx_http_linkcert_redis_name(key, "domains", NULL, 0);
    argv[4] = (char *) min;
    lens[4] = after->len ? (size_t) (ngx_sprintf(min, "(%V", after) - min)
                         : 1;
    if (after->len == 0) {
        min[0] = '-';
    }
    argv[5] = (char *) page;
    lens[5] = ngx_sprintf(page, "%ui", limit) - page;
    argv[6] = want;
    lens[6] = ngx_strlen(want);
    argv[7] = (char *) prefix;
    lens[7] = ngx_http_linkcert_redis_name(prefix, "status:", NULL, 0);
    argv[8] = (char *) most;
    lens[8] = ngx_sprintf(most, "%ui", (ngx_uint_t)
                          NGX_HTTP_LINKCERT_DOMAINS_SCAN) - most;

    ctx->req = ngx_http_linkcert_redis_command(9, argv, lens,
                                               ngx_http_linkcert_domains_got,
                                               ctx);
    if (ctx->req == NULL) {
        return NGX_DECLINED;
    }

    cln->handler = ngx_http_linkcert_domains_cleanup;

    r->main->count++;

    return NGX_DONE;
}


static void
ngx_http_linkcert_domains_got(void *data, redisReply *reply,
    const char *error)
{
    ngx_int_t                         rc;
    ngx_connection_t                 *c;
    ngx_http_request_t               *r;
    ngx_http_linkcert_domains_ctx_t  *ctx;

    ctx = data;
    ctx->req = NULL;
    r = ctx->r;

    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements > 0
        && reply->element[0]->type == REDIS_REPLY_STRING)
    {
        rc = ngx_http_linkcert_domains_send(r, reply);

    } else {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "linkcert: the fleet's domains not read, this edge's "
                      "own answered: %*s",
                      reply ? (size_t) reply->len : ngx_strlen(error),
                      reply ? reply->str : error);

        rc = ctx->local(r, &ctx->after, ctx->status, ctx->limit);
    }

    c = r->connection;

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


/* {"domains":[...],"next":...}: the stored objects, one after another */

static ngx_int_t
ngx_http_linkcert_domains_send(ngx_http_request_t *r, redisReply *reply)
{
    u_char      *body, *p;
    size_t       i, len;
    redisReply  *e, *next;
    const char  *reason;
    char         name[LC_DOMAIN_MAX + 1];

    static const char  head[] = "{\"domains\":[";
    static const char  tail[] = "],\"next\":";

    next = reply->element[0];
    len = sizeof(head) + sizeof(tail) + next->len + sizeof("null}\n");

    for (i = 1; i < reply->elements; i++) {
        len += reply->element[i]->len + 1;
    }

    body = ngx_pnalloc(r->pool, len);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(body, head, sizeof(head) - 1);

    for (i = 1; i < reply->elements; i++) {
        e = reply->element[i];

        if (e->type != REDIS_REPLY_STRING) {
            continue;
        }

        len = e->len;

        while (len && (e->str[len - 1] == '\n' || e->str[len - 1] == ' ')) {
            len--;
        }

        if (p[-1] != '[') {
            *p++ = ',';
        }

        p = ngx_cpymem(p, e->str, len);
    }

    p = ngx_cpymem(p, tail, sizeof(tail) - 1);

    /* a member is a name the module wrote: checked, it goes in quotes */

    if (next->len == 0
        || lc_domain_normalize(next->str, next->len, name, &len, &reason)
           != 0
        || len != (size_t) next->len
        || ngx_strncmp(name, next->str, len) != 0)
    {
        p = ngx_cpymem(p, "null", 4);

    } else {
        *p++ = '"';
        p = ngx_cpymem(p, next->str, next->len);
        *p++ = '"';
    }

    *p++ = '}';
    *p++ = '\n';

    return ngx_http_linkcert_send(r, NGX_HTTP_OK, body, p - body,
                                  "application/json");
}


/* the request ends before Redis answers */

static void
ngx_http_linkcert_domains_cleanup(void *data)
{
    ngx_http_linkcert_domains_ctx_t *ctx = data;

    if (ctx->req) {
        ngx_http_linkcert_redis_cancel(ctx->req);
        ctx->req = NULL;
    }
}
