
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: one status everywhere.  Each change of a domain's state in an
 * edge's zone (ngx_http_linkcert_notify()) writes the domain's full
 * status object to Redis, <prefix>status:<domain>; GET ?domain= on an
 * edge that does not hold the domain asks Redis for it before answering
 * "unknown", without blocking the worker, at most the linkcert_redis
 * timeout; so does the public probe (its public fields only).  Each write
 * also puts the domain into <prefix>domains, the list /domains pages
 * through (ngx_http_linkcert_redis_domains.c).  The removal of a domain
 * deletes the object (ngx_http_linkcert_redis_cert.c's script) and takes
 * it out of the list (ngx_http_linkcert_redis_fleet_forget()).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert_redis.h"


typedef struct {
    ngx_http_request_t                 *r;
    ngx_http_linkcert_redis_req_t      *req;     /* no answer yet */
    lc_record_t                        *rec;     /* the local answer */
    ngx_uint_t                          public;  /* the probe's fields */
    ngx_http_linkcert_status_send_pt    send;
} ngx_http_linkcert_status_ctx_t;


/* DELETE of a domain this edge does not hold, waiting for Redis */
typedef struct {
    ngx_http_request_t                 *r;
    ngx_http_linkcert_redis_req_t      *req;     /* no answer yet */
    ngx_http_linkcert_status_send_pt    send;
    size_t                              len;
    u_char                              name[LC_DOMAIN_MAX + 1];
} ngx_http_linkcert_status_del_t;


static void ngx_http_linkcert_status_got(void *data, redisReply *reply,
    const char *error);
static void ngx_http_linkcert_status_cleanup(void *data);
static void ngx_http_linkcert_status_deleted(void *data, redisReply *reply,
    const char *error);
static void ngx_http_linkcert_status_del_cleanup(void *data);
static ngx_int_t ngx_http_linkcert_status_raw(ngx_http_request_t *r,
    redisReply *reply);
static json_t *ngx_http_linkcert_status_public(redisReply *reply);


static ngx_uint_t  ngx_http_linkcert_status_held;


/* called with the zone locked: nothing but a request queued */

void
ngx_http_linkcert_redis_status_put(lc_record_t *rec)
{
    char         *body;
    size_t        len, lens[4];
    u_char        key[NGX_HTTP_LINKCERT_REDIS_KEY_MAX];
    const char   *argv[4];

    if (ngx_http_linkcert_redis_fleet() == NULL
        || ngx_http_linkcert_status_held)
    {
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

    /* the list of /domains: every score 0, in the order of the names */

    argv[0] = "ZADD";
    lens[0] = 4;
    lens[1] = ngx_http_linkcert_redis_name(key, "domains", NULL, 0);
    argv[2] = "0";
    lens[2] = 1;
    argv[3] = rec->domain;
    lens[3] = ngx_strlen(rec->domain);

    (void) ngx_http_linkcert_redis_command(4, argv, lens,
                                           ngx_http_linkcert_status_got,
                                           NULL);
}


/*
 * A certificate applied from the fleet (ngx_http_linkcert_redis_cert.c)
 * changes the domain in this edge's zone: its status object is not
 * written again, the edge that made the change wrote it.
 */

void
ngx_http_linkcert_redis_status_hold(ngx_uint_t hold)
{
    ngx_http_linkcert_status_held = hold;
}


/*
 * GET ?domain= (or the public probe: public) for a domain this edge does
 * not hold (rec says so): NGX_DONE
 * when Redis is asked (the request is answered later, from Redis's object
 * or else from rec), NGX_DECLINED when it is not (no fleet, no room).
 */

ngx_int_t
ngx_http_linkcert_redis_status_get(ngx_http_request_t *r, lc_record_t *rec,
    ngx_uint_t public, ngx_http_linkcert_status_send_pt send)
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
    ctx->public = public;
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
    json_t                          *json;
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

    json = NULL;

    if (ctx->public && reply && reply->type == REDIS_REPLY_STRING) {
        json = ngx_http_linkcert_status_public(reply);
    }

    if (json) {
        rc = ctx->send(r, NGX_HTTP_OK, json);

    } else if (!ctx->public
               && reply && reply->type == REDIS_REPLY_STRING
               && reply->len > 0)
    {
        rc = ngx_http_linkcert_status_raw(r, reply);

    } else {
        if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "linkcert: the fleet's status of \"%s\" not "
                          "read: %*s", ctx->rec->domain,
                          reply ? (size_t) reply->len : ngx_strlen(error),
                          reply ? reply->str : error);
        }

        rc = ctx->send(r, NGX_HTTP_OK,
                       ctx->public ? lc_status_public_json(ctx->rec)
                                   : lc_status_full_json(ctx->rec));
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


/*
 * DELETE of a domain this edge does not hold: the fleet's status object
 * says whether another edge holds it (POSTed there, being ordered
 * there).  If one does, the removal's change is written as for a domain
 * held here (every edge removes it, and the lease of an edge ordering it
 * is fenced out: its certificate is refused) and the request is
 * answered 200 with the object once Redis has it
 * (ngx_http_linkcert_redis_delete.c); if none does, 404; if Redis does
 * not answer, 503 engine_unreachable.  NGX_DONE when Redis is asked (the
 * request is answered later), NGX_DECLINED when not (no fleet, no room).
 */

ngx_int_t
ngx_http_linkcert_redis_status_delete(ngx_http_request_t *r, u_char *name,
    size_t len, ngx_http_linkcert_status_send_pt send)
{
    size_t                           lens[2];
    u_char                           key[NGX_HTTP_LINKCERT_REDIS_KEY_MAX];
    const char                      *argv[2];
    ngx_pool_cleanup_t              *cln;
    ngx_http_linkcert_status_del_t  *ctx;

    if (ngx_http_linkcert_redis_fleet() == NULL || len > LC_DOMAIN_MAX) {
        return NGX_DECLINED;
    }

    cln = ngx_pool_cleanup_add(r->pool,
                               sizeof(ngx_http_linkcert_status_del_t));
    if (cln == NULL) {
        return NGX_DECLINED;
    }

    ctx = cln->data;
    ctx->r = r;
    ctx->send = send;
    ctx->len = len;
    ngx_memcpy(ctx->name, name, len);
    ctx->name[len] = '\0';

    argv[0] = "GET";
    lens[0] = 3;
    argv[1] = (char *) key;
    lens[1] = ngx_http_linkcert_redis_name(key, "status:", (char *) name,
                                           len);

    ctx->req = ngx_http_linkcert_redis_command(2, argv, lens,
                                               ngx_http_linkcert_status_deleted,
                                               ctx);
    if (ctx->req == NULL) {
        return NGX_DECLINED;
    }

    cln->handler = ngx_http_linkcert_status_del_cleanup;

    r->main->count++;

    return NGX_DONE;
}


static void
ngx_http_linkcert_status_deleted(void *data, redisReply *reply,
    const char *error)
{
    ngx_int_t                        rc;
    ngx_connection_t                *c;
    ngx_http_request_t              *r;
    ngx_http_linkcert_status_del_t  *ctx;

    ctx = data;
    ctx->req = NULL;
    r = ctx->r;
    c = r->connection;

    if (reply && reply->type == REDIS_REPLY_STRING && reply->len > 0) {

        ngx_log_error(NGX_LOG_NOTICE, c->log, 0,
                      "linkcert: \"%s\" removed from the fleet (another "
                      "edge holds it)", ctx->name);

        /* answered once Redis has the removal */

        rc = ngx_http_linkcert_redis_delete_object(r, ctx->name, ctx->len,
                                                   reply->str, reply->len);

    } else if (reply && reply->type == REDIS_REPLY_NIL) {
        rc = ctx->send(r, NGX_HTTP_NOT_FOUND,
                       json_pack("{s:s,s:s}", "error", "not_found",
                                 "detail", "no such domain"));

    } else {
        ngx_log_error(NGX_LOG_WARN, c->log, 0,
                      "linkcert: the fleet's status of \"%s\" not read for "
                      "its DELETE: %*s", ctx->name,
                      reply ? (size_t) reply->len : ngx_strlen(error),
                      reply ? reply->str : error);

        rc = ctx->send(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                       json_pack("{s:s,s:s}", "error",
                                 lc_error_name(LC_ERR_ENGINE_UNREACHABLE),
                                 "detail", "Redis did not answer: the "
                                 "domain was not removed"));
    }

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


static void
ngx_http_linkcert_status_del_cleanup(void *data)
{
    ngx_http_linkcert_status_del_t *ctx = data;

    if (ctx->req) {
        ngx_http_linkcert_redis_cancel(ctx->req);
        ctx->req = NULL;
    }
}


/* the stored status object, answered as it is */

static ngx_int_t
ngx_http_linkcert_status_raw(ngx_http_request_t *r, redisReply *reply)
{
    u_char  *body;

    body = ngx_pnalloc(r->pool, reply->len);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(body, reply->str, reply->len);

    return ngx_http_linkcert_send(r, NGX_HTTP_OK, body, reply->len,
                                  "application/json");
}


/*
 * The probe's object from a full one: domain, status, and the
 * certificate's dates (lc_status_public_json()'s fields); NULL if the
 * stored object is not one.
 */

static json_t *
ngx_http_linkcert_status_public(redisReply *reply)
{
    json_t        *full, *pub, *cert, *c;
    json_error_t   err;

    full = json_loadb(reply->str, reply->len, 0, &err);

    if (full == NULL || !json_is_object(full)
        || !json_is_string(json_object_get(full, "domain"))
        || !json_is_string(json_object_get(full, "status")))
    {
        json_decref(full);
        return NULL;
    }

    cert = json_object_get(full, "certificate");

    if (json_is_object(cert)) {
        c = json_pack("{s:O*,s:O*}",
                      "not_before", json_object_get(cert, "not_before"),
                      "not_after", json_object_get(cert, "not_after"));

    } else {
        c = json_null();
    }

    pub = json_pack("{s:O,s:O,s:o*}",
                    "domain", json_object_get(full, "domain"),
                    "status", json_object_get(full, "status"),
                    "certificate", c);

    json_decref(full);

    return pub;
}
