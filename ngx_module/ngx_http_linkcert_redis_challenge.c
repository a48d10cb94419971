
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: HTTP-01 across the fleet.  The edge that orders writes each
 * key authorization to Redis (and to its own zone) and waits for Redis
 * to have it (at most the linkcert_redis timeout) before it tells the CA
 * the challenge is ready; it deletes it when the order is done.  An
 * edge that has no such token in its zone asks Redis before the request
 * goes on to the locations (which usually answer 404).  The request
 * waits for the answer without blocking the worker, at most the
 * linkcert_redis timeout.
 *
 * In Redis: <prefix>http01:<token> = "<domain>\n<key authorization>",
 * expiring after an hour as the zone's entries do.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert_redis.h"


#define NGX_HTTP_LINKCERT_HTTP01_TTL  "3600000"          /* ms */


typedef struct {
    ngx_http_request_t             *r;
    ngx_http_linkcert_redis_req_t  *req;         /* asked, no answer yet */
    ngx_int_t                       rc;          /* NGX_AGAIN: asked */
    ngx_str_t                       domain;
    size_t                          len;
    u_char                          keyauth[LC_ACME_KEYAUTH_MAX];
} ngx_http_linkcert_http01_ctx_t;


/* an order waiting for Redis to have its key authorization */
typedef struct {
    ngx_queue_t                         queue;
    ngx_event_t                         answered;
    ngx_http_linkcert_state_handler_pt  handler;  /* NULL: the order ended */
    void                               *data;
    char                                token[LC_ACME_TOKEN_MAX + 1];
} ngx_http_linkcert_http01_wait_t;


static size_t ngx_http_linkcert_http01_key(u_char *buf, const char *token,
    size_t len);
static void ngx_http_linkcert_http01_published(void *data,
    redisReply *reply, const char *error);
static void ngx_http_linkcert_http01_answered(ngx_event_t *ev);
static void ngx_http_linkcert_http01_stored(void *data, redisReply *reply,
    const char *error);
static void ngx_http_linkcert_http01_got(void *data, redisReply *reply,
    const char *error);
static void ngx_http_linkcert_http01_cleanup(void *data);


static ngx_queue_t  ngx_http_linkcert_http01_waits = {
    &ngx_http_linkcert_http01_waits, &ngx_http_linkcert_http01_waits
};


static size_t
ngx_http_linkcert_http01_key(u_char *buf, const char *token, size_t len)
{
    ngx_http_linkcert_redis_conf_t  *rcf;

    rcf = ngx_http_linkcert_redis_fleet();

    return ngx_snprintf(buf, 64 + sizeof("http01:") + LC_ACME_TOKEN_MAX,
                        "%Vhttp01:%*s", &rcf->prefix, len, token)
           - buf;
}


/*
 * NGX_AGAIN: handler(data, NGX_OK, 0) follows from a posted event once
 * Redis has it (or has not answered in time); NGX_OK: nothing to wait
 * for (no fleet, or it could not be asked, logged).
 */

ngx_int_t
ngx_http_linkcert_redis_challenge_set(const char *domain, const char *token,
    const char *key_authorization, ngx_http_linkcert_state_handler_pt handler,
    void *data)
{
    u_char                           key[64 + sizeof("http01:")
                                         + LC_ACME_TOKEN_MAX];
    u_char                           value[LC_DOMAIN_MAX + 1
                                           + LC_ACME_KEYAUTH_MAX];
    size_t                           lens[5];
    const char                      *argv[5];
    ngx_http_linkcert_http01_wait_t  *w;

    if (ngx_http_linkcert_redis_fleet() == NULL
        || ngx_strlen(token) > LC_ACME_TOKEN_MAX
        || ngx_strlen(domain) + 1 + ngx_strlen(key_authorization)
           > sizeof(value))
    {
        return NGX_OK;
    }

    w = ngx_alloc(sizeof(ngx_http_linkcert_http01_wait_t), ngx_cycle->log);
    if (w == NULL) {
        return NGX_OK;
    }

    ngx_memzero(&w->answered, sizeof(ngx_event_t));
    w->answered.handler = ngx_http_linkcert_http01_answered;
    w->answered.data = w;
    w->answered.log = ngx_cycle->log;
    w->handler = handler;
    w->data = data;
    ngx_cpystrn((u_char *) w->token, (u_char *) token, sizeof(w->token));

    argv[0] = "SET";
    lens[0] = 3;
    argv[1] = (char *) key;
    lens[1] = ngx_http_linkcert_http01_key(key, token, ngx_strlen(token));
    argv[2] = (char *) value;
    lens[2] = ngx_sprintf(value, "%s\n%s", domain, key_authorization)
              - value;
    argv[3] = "PX";
    lens[3] = 2;
    argv[4] = NGX_HTTP_LINKCERT_HTTP01_TTL;
    lens[4] = sizeof(NGX_HTTP_LINKCERT_HTTP01_TTL) - 1;

    if (ngx_http_linkcert_redis_command(5, argv, lens,
                                        ngx_http_linkcert_http01_published,
                                        w)
        == NULL)
    {
        ngx_free(w);
        ngx_http_linkcert_http01_stored("stored", NULL, "no room");
        return NGX_OK;
    }

    ngx_queue_insert_tail(&ngx_http_linkcert_http01_waits, &w->queue);

    return NGX_AGAIN;
}


static void
ngx_http_linkcert_http01_published(void *data, redisReply *reply,
    const char *error)
{
    ngx_http_linkcert_http01_wait_t *w = data;

    ngx_http_linkcert_http01_stored("stored", reply, error);

    /* the order goes on from the event loop, not from inside the client */

    ngx_post_event(&w->answered, &ngx_posted_events);
}


static void
ngx_http_linkcert_http01_answered(ngx_event_t *ev)
{
    ngx_http_linkcert_http01_wait_t *w = ev->data;

    ngx_queue_remove(&w->queue);

    if (w->handler) {
        w->handler(w->data, NGX_OK, 0);
    }

    ngx_free(w);
}


/* the order has ended: nobody waits for its SET any more */

void
ngx_http_linkcert_redis_challenge_del(const char *token)
{
    u_char                           key[64 + sizeof("http01:")
                                         + LC_ACME_TOKEN_MAX];
    size_t                           lens[2];
    const char                      *argv[2];
    ngx_queue_t                     *q;
    ngx_http_linkcert_http01_wait_t  *w;

    for (q = ngx_queue_head(&ngx_http_linkcert_http01_waits);
         q != ngx_queue_sentinel(&ngx_http_linkcert_http01_waits);
         q = ngx_queue_next(q))
    {
        w = ngx_queue_data(q, ngx_http_linkcert_http01_wait_t, queue);

        if (ngx_strcmp(w->token, token) == 0) {
            w->handler = NULL;
        }
    }

    if (ngx_http_linkcert_redis_fleet() == NULL
        || ngx_strlen(token) > LC_ACME_TOKEN_MAX)
    {
        return;
    }

    argv[0] = "DEL";
    lens[0] = 3;
    argv[1] = (char *) key;
    lens[1] = ngx_http_linkcert_http01_key(key, token, ngx_strlen(token));

    if (ngx_http_linkcert_redis_command(2, argv, lens,
                                        ngx_http_linkcert_http01_stored,
                                        "deleted")
        == NULL)
    {
        ngx_http_linkcert_http01_stored("deleted", NULL, "no room");
    }
}


static void
ngx_http_linkcert_http01_stored(void *data, redisReply *reply,
    const char *error)
{
    if (reply && reply->type != REDIS_REPLY_ERROR) {
        return;
    }

    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                  "linkcert: a challenge token was not %s in redis: %*s",
                  data, reply ? (size_t) reply->len : ngx_strlen(error),
                  reply ? reply->str : error);
}


/*
 * NGX_OK: found in Redis for this domain, copied to buf; NGX_DECLINED:
 * not there (or no fleet); NGX_AGAIN: asked, the request waits and its
 * phases run again with the answer.
 */

ngx_int_t
ngx_http_linkcert_redis_challenge_get(ngx_http_request_t *r,
    ngx_str_t *domain, ngx_str_t *token, u_char *buf, size_t *len)
{
    u_char                           key[64 + sizeof("http01:")
                                         + LC_ACME_TOKEN_MAX];
    size_t                           i, lens[2];
    const char                      *argv[2];
    ngx_pool_cleanup_t              *cln;
    ngx_http_linkcert_http01_ctx_t  *ctx;

    if (ngx_http_linkcert_redis_fleet() == NULL) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_linkcert_module);

    if (ctx) {
        if (ctx->rc == NGX_AGAIN) {
            return NGX_AGAIN;
        }

        /* the module's context is the status API's once this is done */

        ngx_http_set_ctx(r, NULL, ngx_http_linkcert_module);

        if (ctx->rc != NGX_OK || ctx->len > *len) {
            return NGX_DECLINED;
        }

        ngx_memcpy(buf, ctx->keyauth, ctx->len);
        *len = ctx->len;

        return NGX_OK;
    }

    /* a token is base64url (RFC 8555, 8.1): nothing else is asked for */

    if (token->len == 0 || token->len > LC_ACME_TOKEN_MAX) {
        return NGX_DECLINED;
    }

    for (i = 0; i < token->len; i++) {
        if (!(isalnum(token->data[i]) || token->data[i] == '-'
              || token->data[i] == '_'))
        {
            return NGX_DECLINED;
        }
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_linkcert_http01_ctx_t));
    if (ctx == NULL) {
        return NGX_DECLINED;
    }

    ctx->domain.data = ngx_pstrdup(r->pool, domain);
    if (ctx->domain.data == NULL) {
        return NGX_DECLINED;
    }

    ctx->domain.len = domain->len;
    ctx->r = r;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_DECLINED;
    }

    argv[0] = "GET";
    lens[0] = 3;
    argv[1] = (char *) key;
    lens[1] = ngx_http_linkcert_http01_key(key, (char *) token->data,
                                           token->len);

    ctx->req = ngx_http_linkcert_redis_command(2, argv, lens,
                                               ngx_http_linkcert_http01_got,
                                               ctx);
    if (ctx->req == NULL) {
        return NGX_DECLINED;
    }

    cln->handler = ngx_http_linkcert_http01_cleanup;
    cln->data = ctx;

    ctx->rc = NGX_AGAIN;
    ngx_http_set_ctx(r, ctx, ngx_http_linkcert_module);

    /* nothing runs the phases again but the answer */

    r->write_event_handler = ngx_http_request_empty_handler;

    return NGX_AGAIN;
}


static void
ngx_http_linkcert_http01_got(void *data, redisReply *reply,
    const char *error)
{
    ngx_http_linkcert_http01_ctx_t *ctx = data;

    u_char              *nl, *end;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = ctx->r;
    c = r->connection;

    ctx->req = NULL;
    ctx->rc = NGX_DECLINED;

    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_WARN, c->log, 0,
                      "linkcert: the challenge token could not be looked "
                      "up in redis: %*s",
                      reply ? (size_t) reply->len : ngx_strlen(error),
                      reply ? reply->str : error);

    } else if (reply->type == REDIS_REPLY_STRING) {
        end = (u_char *) reply->str + reply->len;
        nl = ngx_strlchr((u_char *) reply->str, end, '\n');

        if (nl
            && (size_t) (nl - (u_char *) reply->str) == ctx->domain.len
            && ngx_strncmp(reply->str, ctx->domain.data, ctx->domain.len)
               == 0
            && (size_t) (end - nl - 1) <= sizeof(ctx->keyauth))
        {
            ctx->len = end - nl - 1;
            ngx_memcpy(ctx->keyauth, nl + 1, ctx->len);
            ctx->rc = NGX_OK;
        }
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "linkcert: challenge from redis for \"%V\": %s",
                   &ctx->domain, ctx->rc == NGX_OK ? "found" : "none");

    r->write_event_handler = ngx_http_core_run_phases;
    ngx_http_core_run_phases(r);
    ngx_http_run_posted_requests(c);
}


static void
ngx_http_linkcert_http01_cleanup(void *data)
{
    ngx_http_linkcert_http01_ctx_t *ctx = data;

    if (ctx->req) {
        ngx_http_linkcert_redis_cancel(ctx->req);
        ctx->req = NULL;
    }
}
