
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: one status everywhere.  Each change of a domain's state in an
 * edge's zone (ngx_http_linkcert_notify()) writes the domain's full
 * status object to Redis, <prefix>status:<domain>; GET ?domain= on an
 * edge that does not hold the domain asks Redis for it before answering
 * "unknown", without blocking the worker, at most the linkcert_redis
 * timeout.  The removal of a domain deletes it (ngx_http_linkcert_redis_
 * cert.c's script).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert_redis.h"


typedef struct {
    ngx_http_request_t                 *r;
    ngx_http_linkcert_redis_req_t      *req;     /* no answer yet */
    lc_record_t                        *rec;     /* the local answer */
    ngx_http_linkcert_status_send_pt    send;
} ngx_http_linkcert_status_ctx_t;


static void ngx_http_linkcert_status_got(void *data, redisReply *reply,
    const char *error);
static void ngx_http_linkcert_status_cleanup(void *data);


/* called with the zone locked: nothing but a request queued */

void
ngx_http_linkcert_redis_status_put(lc_record_t *rec)
{
    char         *body;
    size_t        len, lens[3];
    u_char        key[NGX_HTTP_LINKCERT_REDIS_KEY_MAX];
    const char   *argv[3];

    if (ngx_http_linkcert_redis_fleet() == NULL) {
        return;
    }

    body = lc_json_dump(lc_status_full_json(rec), &len);
    if (body == NULL) {
        return;
    }

    argv[0] = "SET";
    lens[0] = 3;
    argv[1] = (char *) key;
    lens[1] = ngx_http_linkcert_redis_name(key, "status:", rec->domain,
                                           ngx_strlen(rec->domain));
    argv[2] = body;
    lens[2] = len;

    (void) ngx_http_linkcert_redis_command(3, argv, lens,
                                           ngx_http_linkcert_status_got,
                                           NULL);
    free(body);
}


/*
 * GET ?domain= for a domain this edge does not hold (rec says so): NGX_DONE
 * when Redis is asked (the request is answered later, from Redis's object
 * or else from rec), NGX_DECLINED when it is not (no fleet, no room).
 */

ngx_int_t
ngx_http_linkcert_redis_status_get(ngx_http_request_t *r, lc_record_t *rec,
    ngx_http_linkcert_status_send_pt send)
{
    size_t                           lens[2];
    u_char                           key[NGX_HTTP_LINKCERT_REDIS_KEY_MAX];
    const char                      *argv[2];
    ngx_pool_cleanup_t              *cln;
    ngx_http_linkcert_status_ctx_t  *ctx;

    if (ngx_http_linkcert_redis_fleet() == NULL || rec->has_error) {
        return NGX_DECLINED;
    }

    cln = ngx_pool_cleanup_add(r->pool,
                               sizeof(ngx_http_linkcert_status_ctx_t));
    if (cln == NULL) {
        return NGX_DECLINED;
    }

    ctx = cln->data;
    ctx->r = r;
    ctx->rec = rec;
    ctx->send = send;

    argv[0] = "GET";
    lens[0] = 3;
    argv[1] = (char *) key;
    lens[1] = ngx_http_linkcert_redis_name(key, "status:", rec->domain,
                                           ngx_strlen(rec->domain));

    ctx->req = ngx_http_linkcert_redis_command(2, argv, lens,
                                               ngx_http_linkcert_status_got,
                                               ctx);
    if (ctx->req == NULL) {
        return NGX_DECLINED;
    }

    cln->handler = ngx_http_linkcert_status_cleanup;

    r->main->count++;

    return NGX_DONE;
}


static void
ngx_http_linkcert_status_got(void *data, redisReply *reply,
    const char *error)
{
    u_char                          *body;
    ngx_int_t                        rc;
    ngx_connection_t                *c;
    ngx_http_request_t              *r;
    ngx_http_linkcert_status_ctx_t  *ctx;

    ctx = data;

    if (ctx == NULL) {
        if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
            ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                          "linkcert: a status not written to redis: %*s",
                          reply ? (size_t) reply->len : ngx_strlen(error),
                          reply ? reply->str : error);
        }

        return;
    }

    ctx->req = NULL;
    r = ctx->r;

    if (reply && reply->type == REDIS_REPLY_STRING && reply->len > 0) {
        body = ngx_pnalloc(r->pool, reply->len);

        if (body == NULL) {
            rc = NGX_HTTP_INTERNAL_SERVER_ERROR;

        } else {
            ngx_memcpy(body, reply->str, reply->len);
            rc = ngx_http_linkcert_send(r, NGX_HTTP_OK, body, reply->len,
                                        "application/json");
        }

    } else {
        if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "linkcert: the fleet's status of \"%s\" not "
                          "read: %*s", ctx->rec->domain,
                          reply ? (size_t) reply->len : ngx_strlen(error),
                          reply ? reply->str : error);
        }

        rc = ctx->send(r, NGX_HTTP_OK, lc_status_full_json(ctx->rec));
    }

    c = r->connection;

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


/* the request ends before Redis answers */

static void
ngx_http_linkcert_status_cleanup(void *data)
{
    ngx_http_linkcert_status_ctx_t *ctx = data;

    if (ctx->req) {
        ngx_http_linkcert_redis_cancel(ctx->req);
        ctx->req = NULL;
    }
}
