
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: a fleet's DELETE of a domain this edge holds is answered
 * once Redis has the removal (the change's script answered): 200 then
 * means every edge removes the domain, and a POST answered after it, on
 * any edge, comes after the removal and stands.  The request is held
 * (r->main->count) without blocking the worker; the domain leaves this
 * edge's table and store when Redis answers, not before.  Redis away
 * (this worker not connected), or no answer within the linkcert_redis
 * timeout: 503 engine_unreachable and nothing removed, here or in Redis
 * (nothing is kept for later: the CRM DELETEs again), as POST answers.
 * A DELETE of a domain another edge holds (ngx_http_linkcert_redis_
 * status.c found its status object) waits for its removal the same way
 * and is answered with that object.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert.h"
#include "ngx_http_linkcert_api.h"
#include "ngx_http_linkcert_redis.h"


typedef struct {
    ngx_http_request_t                 *r;       /* NULL: gone meanwhile */
    ngx_pool_cleanup_t                 *cln;
    ngx_http_linkcert_main_conf_t      *lmcf;
    u_char                             *body;    /* another edge's object,
                                                    in r->pool; NULL: held
                                                    here */
    size_t                              body_len;
    size_t                              len;
    u_char                              name[LC_DOMAIN_MAX + 1];
} ngx_http_linkcert_delete_t;


static ngx_int_t ngx_http_linkcert_delete_hold(ngx_http_request_t *r,
    ngx_http_linkcert_main_conf_t *lmcf, u_char *name, size_t len,
    u_char *body, size_t body_len);
static void ngx_http_linkcert_redis_deleted(void *data, ngx_int_t rc,
    uint64_t seq);
static void ngx_http_linkcert_delete_cleanup(void *data);
static ngx_int_t ngx_http_linkcert_delete_unreachable(ngx_http_request_t *r,
    const char *detail);


/* a domain held here: NGX_DONE, held until Redis answers; else the rc */

ngx_int_t
ngx_http_linkcert_redis_delete(ngx_http_request_t *r,
    ngx_http_linkcert_main_conf_t *lmcf, u_char *name, size_t len)
{
    if (ngx_http_linkcert_redis_away()) {
        return ngx_http_linkcert_delete_unreachable(r, "Redis is away: the "
                                                    "domain was not removed");
    }

    return ngx_http_linkcert_delete_hold(r, lmcf, name, len, NULL, 0);
}


/* a domain another edge holds: answered with its object (a copy) */

ngx_int_t
ngx_http_linkcert_redis_delete_object(ngx_http_request_t *r, u_char *name,
    size_t len, const char *object, size_t object_len)
{
    u_char  *body;

    body = ngx_pnalloc(r->pool, object_len);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(body, object, object_len);

    return ngx_http_linkcert_delete_hold(r, NULL, name, len, body,
                                         object_len);
}


static ngx_int_t
ngx_http_linkcert_delete_hold(ngx_http_request_t *r,
    ngx_http_linkcert_main_conf_t *lmcf, u_char *name, size_t len,
    u_char *body, size_t body_len)
{
    ngx_pool_cleanup_t          *cln;
    ngx_http_linkcert_delete_t  *ctx;

    if (len > LC_DOMAIN_MAX) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx = ngx_calloc(sizeof(ngx_http_linkcert_delete_t), r->connection->log);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->r = r;
    ctx->cln = cln;
    ctx->lmcf = lmcf;
    ctx->body = body;
    ctx->body_len = body_len;
    ctx->len = len;
    ngx_memcpy(ctx->name, name, len);

    if (ngx_http_linkcert_redis_cert_remove(name, len,
                                            ngx_http_linkcert_redis_deleted,
                                            ctx, r->connection->log)
        != NGX_AGAIN)
    {
        ngx_free(ctx);
        return ngx_http_linkcert_delete_unreachable(r, "the removal was not "
                                                    "sent to Redis: the "
                                                    "domain was not removed");
    }

    cln->handler = ngx_http_linkcert_delete_cleanup;
    cln->data = ctx;

    r->main->count++;

    return NGX_DONE;
}


/* Redis answered (rc NGX_OK, the change's number) or did not */

static void
ngx_http_linkcert_redis_deleted(void *data, ngx_int_t rc, uint64_t seq)
{
    ngx_http_linkcert_delete_t *ctx = data;

    ngx_int_t            answer;
    ngx_log_t           *log;
    lc_record_t          rec;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = ctx->r;
    log = r ? r->connection->log : ngx_cycle->log;

    if (rc == NGX_OK && ctx->body == NULL) {
        rc = ngx_http_linkcert_api_remove(ctx->lmcf, ctx->name, ctx->len,
                                          &rec, log);

    } else if (rc == NGX_OK) {
        ngx_http_linkcert_redis_fleet_forget(ctx->name, ctx->len);
    }

    if (r == NULL) {
        ngx_free(ctx);
        return;
    }

    ctx->cln->handler = NULL;
    c = r->connection;

    if (rc == NGX_OK && ctx->body) {
        answer = ngx_http_linkcert_send(r, NGX_HTTP_OK, ctx->body,
                                        ctx->body_len, "application/json");

    } else if (rc == NGX_OK) {
        answer = ngx_http_linkcert_api_send(r, NGX_HTTP_OK,
                                            lc_status_full_json(&rec));

    } else if (rc == NGX_DECLINED) {
        /* removed here meanwhile (another DELETE) */
        answer = ngx_http_linkcert_api_error(r, NGX_HTTP_NOT_FOUND,
                                             "not_found", "no such domain");

    } else {
        answer = ngx_http_linkcert_delete_unreachable(r, "Redis did not "
                                                      "answer: the domain "
                                                      "was not removed");
    }

    ngx_free(ctx);

    ngx_http_finalize_request(r, answer);
    ngx_http_run_posted_requests(c);
}


/* the request gone before Redis answered: the answer removes, no more */

static void
ngx_http_linkcert_delete_cleanup(void *data)
{
    ngx_http_linkcert_delete_t *ctx = data;

    ctx->r = NULL;
}


static ngx_int_t
ngx_http_linkcert_delete_unreachable(ngx_http_request_t *r,
    const char *detail)
{
    return ngx_http_linkcert_api_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                      lc_error_name(LC_ERR_ENGINE_UNREACHABLE),
                                      detail);
}
