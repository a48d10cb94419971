
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the status API.
 *
 * On "linkcert on" servers, for every Host, over HTTP and HTTPS:
 *
 *     GET  /.well-known/ssl-status             the Host's own status, public
 *     GET  /.well-known/ssl-status?domain=D    D's full status, API key
 *     POST /.well-known/ssl-status?domain=D    "Verify domain": starts DNS
 *                                              verification, API key
 *     DELETE /.well-known/ssl-status?domain=D  removes D, API key
 *     GET  /.well-known/ssl-status/domains     a page of full statuses,
 *                                              API key
 *     GET  /.well-known/ssl-status/metrics     Prometheus text, API key
 *
 * (the keyed forms only with "linkcert_api_public on"), and in a location
 * with "linkcert_api", the keyed forms below the location's name.
 *
 * The public path is recognised in the post-read phase
 * (ngx_http_linkcert_early.c); the server's and the location's rewrite
 * phases are skipped for it, so that their "return" and "rewrite" do not
 * take it, and it answers in the precontent phase, after the access phase
 * of the location it falls in: allow, deny, limit_req, auth_request apply.
 * Every answer is JSON (metrics: Prometheus text) and never cached.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert.h"
#include "ngx_http_linkcert_api.h"
#include "ngx_http_linkcert_redis.h"
#include "ngx_http_linkcert_state.h"


#define NGX_HTTP_LINKCERT_PAGE_DEFAULT  100
#define NGX_HTTP_LINKCERT_PAGE_MAX      1000
#define NGX_HTTP_LINKCERT_BODY_MAX      4096


typedef enum {
    NGX_HTTP_LINKCERT_RES_STATUS = 0,
    NGX_HTTP_LINKCERT_RES_DOMAINS,
    NGX_HTTP_LINKCERT_RES_METRICS
} ngx_http_linkcert_resource_e;


/* where a request came in, and so what it may ask */
typedef enum {
    NGX_HTTP_LINKCERT_API_PUBLIC = 0,      /* /.well-known/ssl-status */
    NGX_HTTP_LINKCERT_API_HOST_ONLY,       /* the same, with
                                              linkcert_api_public off */
    NGX_HTTP_LINKCERT_API_LOCATION         /* linkcert_api */
} ngx_http_linkcert_api_mode_e;


/* the module's request context: only API requests have one */
typedef struct {
    ngx_str_t                       tail;  /* "", "/domains", "/metrics" */
    ngx_http_linkcert_api_mode_e    mode;
} ngx_http_linkcert_api_ctx_t;


static ngx_http_linkcert_api_ctx_t *ngx_http_linkcert_api_ctx(
    ngx_http_request_t *r, size_t skip, ngx_http_linkcert_api_mode_e mode);
static ngx_int_t ngx_http_linkcert_api_request(ngx_http_request_t *r);
static ngx_int_t ngx_http_linkcert_api_status(ngx_http_request_t *r,
    ngx_http_linkcert_main_conf_t *lmcf, ngx_uint_t public);
static ngx_int_t ngx_http_linkcert_api_record(ngx_http_request_t *r,
    ngx_http_linkcert_main_conf_t *lmcf, char *name, size_t len,
    lc_record_t *rec, ngx_uint_t public);
static json_t *ngx_http_linkcert_api_stale(json_t *json);
static ngx_int_t ngx_http_linkcert_api_domains(ngx_http_request_t *r,
    ngx_http_linkcert_main_conf_t *lmcf);
static ngx_int_t ngx_http_linkcert_api_page(ngx_http_request_t *r,
    ngx_str_t *after, ngx_int_t status, ngx_uint_t limit);
static ngx_int_t ngx_http_linkcert_api_verify(ngx_http_request_t *r,
    ngx_http_linkcert_main_conf_t *lmcf);
static ngx_int_t ngx_http_linkcert_api_post(ngx_http_request_t *r,
    char *name, size_t len, ngx_uint_t reissue);
static ngx_int_t ngx_http_linkcert_api_delete(ngx_http_request_t *r,
    ngx_http_linkcert_main_conf_t *lmcf);
static ngx_int_t ngx_http_linkcert_api_metrics(ngx_http_request_t *r,
    ngx_http_linkcert_main_conf_t *lmcf);
static void ngx_http_linkcert_api_body_read(ngx_http_request_t *r);
static ngx_int_t ngx_http_linkcert_api_dispatch(ngx_http_request_t *r,
    ngx_http_linkcert_main_conf_t *lmcf);


static ngx_str_t  ngx_http_linkcert_api_prefix =
    ngx_string("/.well-known/ssl-status");


/* the URI is /.well-known/ssl-status or below it */

ngx_uint_t
ngx_http_linkcert_api_path(ngx_http_request_t *r)
{
    size_t  len;

    len = ngx_http_linkcert_api_prefix.len;

    return r->uri.len >= len
           && ngx_strncmp(r->uri.data, ngx_http_linkcert_api_prefix.data, len)
              == 0
           && (r->uri.len == len || r->uri.data[len] == '/');
}


/* post-read phase: the request is for the public path */

ngx_int_t
ngx_http_linkcert_api_mark(ngx_http_request_t *r)
{
    ngx_http_linkcert_srv_conf_t  *lscf;

    lscf = ngx_http_get_module_srv_conf(r, ngx_http_linkcert_module);

    if (ngx_http_linkcert_api_ctx(r, ngx_http_linkcert_api_prefix.len,
                                  lscf->api_public
                                  ? NGX_HTTP_LINKCERT_API_PUBLIC
                                  : NGX_HTTP_LINKCERT_API_HOST_ONLY)
        == NULL)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DECLINED;
}


/* the request is the API's: the resource is the URI after skip bytes */

static ngx_http_linkcert_api_ctx_t *
ngx_http_linkcert_api_ctx(ngx_http_request_t *r, size_t skip,
    ngx_http_linkcert_api_mode_e mode)
{
    ngx_http_linkcert_api_ctx_t  *ctx;

    ctx = ngx_palloc(r->pool, sizeof(ngx_http_linkcert_api_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    ctx->tail.data = r->uri.data + skip;
    ctx->tail.len = r->uri.len - skip;
    ctx->mode = mode;

    ngx_http_set_ctx(r, ctx, ngx_http_linkcert_module);

    return ctx;
}


/*
 * The server's and the location's rewrite phases: the public path skips
 * the rest of the phase (the handlers of the modules loaded before this
 * one, among them "return", "rewrite" and "set"): the checker goes on
 * from the handler after r->phase_handler, the phase's last one.
 */

ngx_int_t
ngx_http_linkcert_api_rewrite(ngx_http_request_t *r)
{
    ngx_http_phase_handler_t   *ph;
    ngx_http_core_main_conf_t  *cmcf;

    if (ngx_http_get_module_ctx(r, ngx_http_linkcert_module) == NULL) {
        return NGX_DECLINED;
    }

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_core_module);
    ph = &cmcf->phase_engine.handlers[r->phase_handler];

    r->phase_handler = ph->next - 1;

    return NGX_DECLINED;
}


/* precontent phase: the access phase has let the public path through */

ngx_int_t
ngx_http_linkcert_api_public_handler(ngx_http_request_t *r)
{
    if (ngx_http_get_module_ctx(r, ngx_http_linkcert_module) == NULL) {
        return NGX_DECLINED;
    }

    ngx_http_finalize_request(r, ngx_http_linkcert_api_request(r));

    return NGX_DONE;
}


/*
 * The content handler of a "linkcert_api" location: the resource is the
 * URI below the location's name, with or without a slash between them:
 * "/linkcert/metrics" in "location /linkcert/" or "location /linkcert";
 * the name itself, or with a slash, is the status resource.
 */

ngx_int_t
ngx_http_linkcert_api_location_handler(ngx_http_request_t *r)
{
    size_t                         n;
    ngx_http_core_loc_conf_t      *clcf;
    ngx_http_linkcert_api_ctx_t   *ctx;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    n = ngx_min(clcf->name.len, r->uri.len);

    if (n && n < r->uri.len && clcf->name.data[n - 1] == '/') {
        n--;
    }

    ctx = ngx_http_linkcert_api_ctx(r, n, NGX_HTTP_LINKCERT_API_LOCATION);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->tail.len == 1 && ctx->tail.data[0] == '/') {
        ctx->tail.len = 0;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_linkcert_module);

    return ngx_http_linkcert_api_request(r);
}


/*
 * The body is never used, but it is bounded: one announced as large is
 * refused at once; a chunked one is read (within nginx's own
 * client_max_body_size) and refused if it is large; any other is
 * dropped.  The result is a content handler's.
 */

static ngx_int_t
ngx_http_linkcert_api_request(ngx_http_request_t *r)
{
    ngx_int_t  rc;

    if (r->headers_in.content_length_n > NGX_HTTP_LINKCERT_BODY_MAX) {
        r->keepalive = 0;
        return ngx_http_linkcert_api_error(r,
                                           NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                           "body_too_large",
                                           "this API takes no request body");
    }

    if (r->headers_in.chunked) {
        rc = ngx_http_read_client_request_body(r,
                                               ngx_http_linkcert_api_body_read);

        if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
            return rc;
        }

        return NGX_DONE;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    return ngx_http_linkcert_api_dispatch(r,
               ngx_http_get_module_main_conf(r, ngx_http_linkcert_module));
}


/* a chunked request body has been read */

static void
ngx_http_linkcert_api_body_read(ngx_http_request_t *r)
{
    off_t         size;
    ngx_int_t     rc;
    ngx_chain_t  *cl;

    size = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        size += ngx_buf_size(cl->buf);
    }

    if (size > NGX_HTTP_LINKCERT_BODY_MAX) {
        r->keepalive = 0;
        rc = ngx_http_linkcert_api_error(r,
                                         NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                         "body_too_large",
                                         "this API takes no request body");

    } else {
        rc = ngx_http_linkcert_api_dispatch(r,
                 ngx_http_get_module_main_conf(r, ngx_http_linkcert_module));
    }

    ngx_http_finalize_request(r, rc);
}


static ngx_int_t
ngx_http_linkcert_api_dispatch(ngx_http_request_t *r,
    ngx_http_linkcert_main_conf_t *lmcf)
{
    ngx_str_t                     *methods;
    ngx_str_t                      value;
    ngx_uint_t                     allowed;
    ngx_http_linkcert_api_ctx_t   *ctx;
    ngx_http_linkcert_resource_e   res;

    static ngx_str_t  allow = ngx_string("Allow");
    static ngx_str_t  status_methods = ngx_string("GET, HEAD, POST, DELETE");
    static ngx_str_t  list_methods = ngx_string("GET, HEAD");

    ctx = ngx_http_get_module_ctx(r, ngx_http_linkcert_module);

    if (ctx->tail.len == 0) {
        res = NGX_HTTP_LINKCERT_RES_STATUS;
        methods = &status_methods;
        allowed = NGX_HTTP_GET|NGX_HTTP_HEAD|NGX_HTTP_POST|NGX_HTTP_DELETE;

    } else if (ctx->tail.len == sizeof("/domains") - 1
               && ngx_strncmp(ctx->tail.data, "/domains", ctx->tail.len) == 0)
    {
        res = NGX_HTTP_LINKCERT_RES_DOMAINS;
        methods = &list_methods;
        allowed = NGX_HTTP_GET|NGX_HTTP_HEAD;

    } else if (ctx->tail.len == sizeof("/metrics") - 1
               && ngx_strncmp(ctx->tail.data, "/metrics", ctx->tail.len) == 0)
    {
        res = NGX_HTTP_LINKCERT_RES_METRICS;
        methods = &list_methods;
        allowed = NGX_HTTP_GET|NGX_HTTP_HEAD;

    } else {
        return ngx_http_linkcert_api_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                           "no such resource of the status "
                                           "API");
    }

    if (ctx->mode == NGX_HTTP_LINKCERT_API_HOST_ONLY) {

        if (res != NGX_HTTP_LINKCERT_RES_STATUS
            || ngx_http_linkcert_api_arg(r, "domain", 6, &value) == NGX_OK)
        {
            return ngx_http_linkcert_api_error(r, NGX_HTTP_NOT_FOUND,
                                               "not_found",
                                               "the requests with the API "
                                               "key are not answered here "
                                               "(linkcert_api_public off)");
        }

        methods = &list_methods;
        allowed = NGX_HTTP_GET|NGX_HTTP_HEAD;
    }

    if (!(r->method & allowed)) {

        if (ngx_http_linkcert_api_header(r, &allow, methods) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_linkcert_api_error(r, NGX_HTTP_NOT_ALLOWED,
                                           "method_not_allowed",
                                           (char *) methods->data);
    }

    switch (res) {

    case NGX_HTTP_LINKCERT_RES_DOMAINS:
        return ngx_http_linkcert_api_domains(r, lmcf);

    case NGX_HTTP_LINKCERT_RES_METRICS:
        return ngx_http_linkcert_api_metrics(r, lmcf);

    default: /* NGX_HTTP_LINKCERT_RES_STATUS */

        if (r->method == NGX_HTTP_POST) {
            return ngx_http_linkcert_api_verify(r, lmcf);
        }

        if (r->method == NGX_HTTP_DELETE) {
            return ngx_http_linkcert_api_delete(r, lmcf);
        }

        return ngx_http_linkcert_api_status(r, lmcf,
                   ctx->mode != NGX_HTTP_LINKCERT_API_LOCATION);
    }
}


/*
 * Without ?domain=, the public answer about the request's own Host (not
 * in a linkcert_api location, which has no Host of its own to speak of).
 */

static ngx_int_t
ngx_http_linkcert_api_status(ngx_http_request_t *r,
    ngx_http_linkcert_main_conf_t *lmcf, ngx_uint_t public)
{
    size_t                         len;
    ngx_str_t                      value;
    const char                    *reason;
    lc_record_t                    rec;
    ngx_http_linkcert_api_fail_t   fail;
    char                           name[LC_DOMAIN_MAX + 1];

    if (public
        && ngx_http_linkcert_api_arg(r, "domain", 6, &value) == NGX_DECLINED)
    {
        if (lc_domain_from_host((char *) r->headers_in.server.data,
                                r->headers_in.server.len, name, &len,
                                &reason)
            != 0)
        {
            return ngx_http_linkcert_api_error(r, NGX_HTTP_BAD_REQUEST,
                                    lc_error_name(LC_ERR_INVALID_DOMAIN),
                                    reason);
        }

        if (ngx_http_linkcert_api_record(r, lmcf, name, len, &rec, 1)
            == NGX_DONE)
        {
            return NGX_DONE;
        }

        return ngx_http_linkcert_api_public(r, &rec);
    }

    if (ngx_http_linkcert_api_target(r, lmcf, name, &len, &fail) != NGX_OK) {
        return ngx_http_linkcert_api_error(r, fail.status, fail.error,
                                           fail.detail);
    }

    if (ngx_http_linkcert_api_record(r, lmcf, name, len, &rec, 0)
        == NGX_DONE)
    {
        return NGX_DONE;
    }

    return ngx_http_linkcert_api_send(r, NGX_HTTP_OK,
               ngx_http_linkcert_api_stale(lc_status_full_json(&rec)));
}


/*
 * rec: the table's record of the domain; or else, for a domain another
 * edge of the fleet holds, NGX_DONE: Redis is asked, and the request is
 * answered from its object (or from a copy of rec in the request's pool).
 */

static ngx_int_t
ngx_http_linkcert_api_record(ngx_http_request_t *r,
    ngx_http_linkcert_main_conf_t *lmcf, char *name, size_t len,
    lc_record_t *rec, ngx_uint_t public)
{
    lc_record_t  *copy;

    if (ngx_http_linkcert_table_get(lmcf->shm_zone, (u_char *) name, len,
                                    rec)
        == NGX_OK
        || lmcf->redis == NULL
        || ngx_http_linkcert_redis_away())
    {
        return NGX_OK;
    }

    copy = ngx_palloc(r->pool, sizeof(lc_record_t));
    if (copy == NULL) {
        return NGX_OK;
    }

    *copy = *rec;

    if (ngx_http_linkcert_redis_status_get(r, copy, public,
                                           ngx_http_linkcert_api_send)
        == NGX_DONE)
    {
        return NGX_DONE;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_linkcert_api_domains(ngx_http_request_t *r,
    ngx_http_linkcert_main_conf_t *lmcf)
{
    size_t                         len;
    ngx_int_t                      limit, status;
    ngx_str_t                      value, after;
    lc_status_e                    st;
    ngx_http_linkcert_api_fail_t   fail;
    char                           name[LC_DOMAIN_MAX + 1];

    if (ngx_http_linkcert_api_authorized(r, lmcf, &fail) != NGX_OK) {
        return ngx_http_linkcert_api_error(r, fail.status, fail.error,
                                           fail.detail);
    }

    limit = NGX_HTTP_LINKCERT_PAGE_DEFAULT;

    if (ngx_http_linkcert_api_arg(r, "limit", 5, &value) == NGX_OK) {
        limit = ngx_atoi(value.data, value.len);

        if (limit < 1 || limit > NGX_HTTP_LINKCERT_PAGE_MAX) {
            return ngx_http_linkcert_api_error(r, NGX_HTTP_BAD_REQUEST,
                                               "invalid_argument",
                                               "limit must be a number "
                                               "from 1 to 1000");
        }
    }

    status = -1;

    if (ngx_http_linkcert_api_arg(r, "status", 6, &value) == NGX_OK) {

        if (lc_status_parse((char *) value.data, value.len, &st) != 0) {
            return ngx_http_linkcert_api_error(r, NGX_HTTP_BAD_REQUEST,
                                               "invalid_argument",
                                               "status must be issued, "
                                               "pending or unknown");
        }

        status = st;
    }

    ngx_str_null(&after);

    if (ngx_http_linkcert_api_arg(r, "after", 5, &value) == NGX_OK) {
        if (ngx_http_linkcert_api_domain_arg(&value, name, &len, &fail)
            != NGX_OK)
        {
            return ngx_http_linkcert_api_error(r, fail.status, fail.error,
                                               fail.detail);
        }

        after.data = (u_char *) name;
        after.len = len;
    }

    /* the fleet's list, or else this edge's own */

    if (lmcf->redis
        && ngx_http_linkcert_redis_domains(r, &after, status, limit,
                                           ngx_http_linkcert_api_page)
           == NGX_DONE)
    {
        return NGX_DONE;
    }

    return ngx_http_linkcert_api_page(r, &after, status, limit);
}


/* a page of /domains from this edge's zone */

static ngx_int_t
ngx_http_linkcert_api_page(ngx_http_request_t *r, ngx_str_t *after,
    ngx_int_t status, ngx_uint_t limit)
{
    json_t                         *json, *list;
    ngx_uint_t                      i, n, more;
    lc_record_t                    *recs;
    ngx_http_linkcert_main_conf_t  *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_linkcert_module);

    recs = ngx_palloc(r->pool, limit * sizeof(lc_record_t));
    if (recs == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    (void) ngx_http_linkcert_table_page(lmcf->shm_zone, after, status,
                                        limit, recs, &n, &more);

    json = json_object();
    list = json_array();

    if (json == NULL || list == NULL
        || json_object_set_new(json, "domains", list) != 0)
    {
        json_decref(json);
        json_decref(list);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for (i = 0; i < n; i++) {
        if (json_array_append_new(list, lc_status_full_json(&recs[i])) != 0) {
            json_decref(json);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (json_object_set_new(json, "next",
                            more ? json_string(recs[n - 1].domain)
                                 : json_null())
        != 0)
    {
        json_decref(json);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_linkcert_api_send(r, NGX_HTTP_OK,
                                      ngx_http_linkcert_api_stale(json));
}


/*
 * In a fleet while this worker is not connected to Redis: the answer is
 * the edge's own, and says so ("stale": true).
 */

static json_t *
ngx_http_linkcert_api_stale(json_t *json)
{
    return lc_status_stale(json, ngx_http_linkcert_redis_away());
}


static ngx_int_t
ngx_http_linkcert_api_verify(ngx_http_request_t *r,
    ngx_http_linkcert_main_conf_t *lmcf)
{
    size_t                         len;
    ngx_int_t                      rc;
    ngx_str_t                      value;
    ngx_uint_t                     reissue;
    ngx_http_linkcert_api_fail_t   fail;
    char                           name[LC_DOMAIN_MAX + 1];

    if (ngx_http_linkcert_api_target(r, lmcf, name, &len, &fail) != NGX_OK) {
        return ngx_http_linkcert_api_error(r, fail.status, fail.error,
                                           fail.detail);
    }

    reissue = 0;

    if (ngx_http_linkcert_api_arg(r, "reissue", 7, &value) == NGX_OK) {

        if (value.len != 1 || (value.data[0] != '0' && value.data[0] != '1'))
        {
            return ngx_http_linkcert_api_error(r, NGX_HTTP_BAD_REQUEST,
                                               "invalid_argument",
                                               "reissue must be 1 or 0");
        }

        reissue = (value.data[0] == '1');
    }

    if (lmcf->verify == NULL) {
        return ngx_http_linkcert_api_error(r, NGX_HTTP_CONFLICT, "no_target",
                                           "no domain can be verified: "
                                           "the edge has neither "
                                           "linkcert_cname_target nor "
                                           "linkcert_target_address");
    }

    /* in a fleet, nothing is started that the other edges cannot see */

    if (lmcf->redis && !ngx_http_linkcert_redis_connected()) {
        return ngx_http_linkcert_api_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                           "engine_unreachable",
                                           "the edges' shared Redis cannot "
                                           "be reached: try again later");
    }

    /* a reissue in a fleet meets the fleet's order budget first */

    if (reissue) {
        rc = ngx_http_linkcert_redis_reissue(r, name, len,
                                             ngx_http_linkcert_api_post);
        if (rc != NGX_DECLINED) {
            return rc;
        }
    }

    return ngx_http_linkcert_api_post(r, name, len, reissue);
}


static ngx_int_t
ngx_http_linkcert_api_post(ngx_http_request_t *r, char *name, size_t len,
    ngx_uint_t reissue)
{
    json_t                         *json;
    time_t                          retry;
    lc_error_t                      refused;
    const char                     *message;
    lc_record_t                    *rec;
    ngx_http_linkcert_main_conf_t  *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_linkcert_module);

    rec = ngx_palloc(r->pool, sizeof(lc_record_t));
    if (rec == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    switch (ngx_http_linkcert_table_post(lmcf->shm_zone, (u_char *) name,
                                         len,
                                         reissue ? NGX_HTTP_LINKCERT_ASK_REISSUE
                                                 : 0,
                                         rec, &retry, &refused))
    {
    case NGX_HTTP_LINKCERT_POST_STARTED:
        message = "DNS verification started";
        break;

    case NGX_HTTP_LINKCERT_POST_RECHECK:
        message = rec->moved
                  ? "the certificate is still valid and served: the DNS is "
                    "re-checked, and if it points here the domain is issued "
                    "again without a new order"
                  : "the certificate is already issued and valid: the DNS "
                    "is re-checked, no new certificate is ordered";
        break;

    case NGX_HTTP_LINKCERT_POST_REISSUE:
        message = "the DNS is checked, then a new certificate with a new "
                  "key is ordered; the current one is served until it is "
                  "stored";
        break;

    case NGX_HTTP_LINKCERT_POST_BUSY:
        message = "DNS verification is already in progress";
        break;

    case NGX_HTTP_LINKCERT_POST_TOO_SOON:
        return ngx_http_linkcert_api_later(r, retry, "too_many_requests",
                                           "this domain was verified less "
                                           "than 10 seconds ago");

    case NGX_HTTP_LINKCERT_POST_REFUSED:
        return ngx_http_linkcert_api_later(r, retry, refused.type,
                                           refused.detail);

    default: /* NGX_HTTP_LINKCERT_POST_FULL */
        return ngx_http_linkcert_api_error(r, NGX_HTTP_INSUFFICIENT_STORAGE,
                                           "zone_full",
                                           "linkcert_zone is full: no new "
                                           "domain can be added");
    }

    json = lc_status_full_json(rec);

    if (json && json_object_set_new(json, "message", json_string(message))
                != 0)
    {
        json_decref(json);
        json = NULL;
    }

    return ngx_http_linkcert_api_send(r, NGX_HTTP_ACCEPTED, json);
}


/*
 * The domain leaves the table (the next handshake gets the fallback) and
 * the store keeps its files aside (<store>/removed/).  The answer is its
 * last state.  In a fleet, a domain held here is removed once Redis has
 * the removal (ngx_http_linkcert_redis_delete.c).
 */

static ngx_int_t
ngx_http_linkcert_api_delete(ngx_http_request_t *r,
    ngx_http_linkcert_main_conf_t *lmcf)
{
    size_t                         len;
    lc_record_t                   *rec;
    ngx_http_linkcert_api_fail_t   fail;
    char                           name[LC_DOMAIN_MAX + 1];

    if (ngx_http_linkcert_api_target(r, lmcf, name, &len, &fail) != NGX_OK) {
        return ngx_http_linkcert_api_error(r, fail.status, fail.error,
                                           fail.detail);
    }

    rec = ngx_palloc(r->pool, sizeof(lc_record_t));
    if (rec == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (lmcf->redis
        && ngx_http_linkcert_table_get(lmcf->shm_zone, (u_char *) name, len,
                                       rec)
           == NGX_OK)
    {
        return ngx_http_linkcert_redis_delete(r, lmcf, (u_char *) name, len);
    }

    if (ngx_http_linkcert_api_remove(lmcf, (u_char *) name, len, rec,
                                     r->connection->log)
        != NGX_OK)
    {
        /* one that another edge of the fleet holds, from every edge */

        if (!ngx_http_linkcert_redis_away()
            && ngx_http_linkcert_redis_status_delete(r, (u_char *) name, len,
                                                 ngx_http_linkcert_api_send)
               == NGX_DONE)
        {
            return NGX_DONE;
        }

        return ngx_http_linkcert_api_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                           "no such domain");
    }

    return ngx_http_linkcert_api_send(r, NGX_HTTP_OK,
                                      lc_status_full_json(rec));
}


/* the domain out of this edge's table and store: NGX_DECLINED if absent */

ngx_int_t
ngx_http_linkcert_api_remove(ngx_http_linkcert_main_conf_t *lmcf,
    u_char *name, size_t len, lc_record_t *rec, ngx_log_t *log)
{
    if (ngx_http_linkcert_table_remove(lmcf->shm_zone, name, len, rec)
        != NGX_OK)
    {
        return NGX_DECLINED;
    }

    ngx_log_error(NGX_LOG_NOTICE, log, 0,
                  "linkcert: \"%*s\" %s/%s -> removed", len, name,
                  lc_status_name(rec->status), lc_stage_name(rec->stage));

    lmcf->state->remove(lmcf->state, name, len, log);

    ngx_http_linkcert_redis_fleet_forget(name, len);

    return NGX_OK;
}


static ngx_int_t
ngx_http_linkcert_api_metrics(ngx_http_request_t *r,
    ngx_http_linkcert_main_conf_t *lmcf)
{
    ngx_str_t                      text;
    ngx_http_linkcert_api_fail_t   fail;

    if (ngx_http_linkcert_api_authorized(r, lmcf, &fail) != NGX_OK) {
        return ngx_http_linkcert_api_error(r, fail.status, fail.error,
                                           fail.detail);
    }

    if (ngx_http_linkcert_metrics(r, lmcf, &text) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_linkcert_send(r, NGX_HTTP_OK, text.data, text.len,
                                  "text/plain; version=0.0.4");
}
