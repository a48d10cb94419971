
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: what answers in the post-read phase of "linkcert on" servers,
 * before any location and any access rule of the server: the CA's HTTP-01
 * validations (they must reach the edge whatever the customer's rules
 * say), and plain-HTTP links (on-demand admission of the Host, the
 * redirect to HTTPS).  The status API waits for the access phase (see
 * ngx_http_linkcert_api.c).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert.h"
#include "ngx_http_linkcert_redis.h"
#include "ngx_http_linkcert_state.h"


static ngx_int_t ngx_http_linkcert_acme_challenge(ngx_http_request_t *r,
    ngx_http_linkcert_main_conf_t *lmcf);
static ngx_int_t ngx_http_linkcert_plain(ngx_http_request_t *r,
    ngx_http_linkcert_main_conf_t *lmcf, ngx_http_linkcert_srv_conf_t *lscf);
static ngx_uint_t ngx_http_linkcert_own_path(ngx_http_request_t *r);


static ngx_str_t  ngx_http_linkcert_challenge_prefix =
    ngx_string("/.well-known/acme-challenge/");


ngx_int_t
ngx_http_linkcert_early_handler(ngx_http_request_t *r)
{
    ngx_http_linkcert_srv_conf_t   *lscf;
    ngx_http_linkcert_main_conf_t  *lmcf;

    lscf = ngx_http_get_module_srv_conf(r, ngx_http_linkcert_module);

    if (!lscf->enable) {
        return NGX_DECLINED;
    }

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_linkcert_module);

    if (r->uri.len > ngx_http_linkcert_challenge_prefix.len
        && ngx_strncmp(r->uri.data, ngx_http_linkcert_challenge_prefix.data,
                       ngx_http_linkcert_challenge_prefix.len)
           == 0)
    {
        return ngx_http_linkcert_acme_challenge(r, lmcf);
    }

    if (ngx_http_linkcert_api_path(r)) {
        return ngx_http_linkcert_api_mark(r);
    }

    return ngx_http_linkcert_plain(r, lmcf, lscf);
}


/*
 * HTTP-01: the key authorization of a live order, for its own domain and
 * token only; anything else goes on to the server's locations.
 */

static ngx_int_t
ngx_http_linkcert_acme_challenge(ngx_http_request_t *r,
    ngx_http_linkcert_main_conf_t *lmcf)
{
    size_t      len;
    u_char     *keyauth;
    ngx_int_t   rc;
    ngx_str_t   domain, token;
    char        name[LC_DOMAIN_MAX + 1];

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))
        || lc_domain_from_host((char *) r->headers_in.server.data,
                               r->headers_in.server.len, name, &len, NULL)
           != 0)
    {
        return NGX_DECLINED;
    }

    domain.data = (u_char *) name;
    domain.len = len;

    token.data = r->uri.data + ngx_http_linkcert_challenge_prefix.len;
    token.len = r->uri.len - ngx_http_linkcert_challenge_prefix.len;

    keyauth = ngx_pnalloc(r->pool, LC_ACME_KEYAUTH_MAX);
    if (keyauth == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = LC_ACME_KEYAUTH_MAX;

    rc = lmcf->state->challenge_get(lmcf->state, &domain, &token, keyauth,
                                    &len);

    /* another edge of the fleet may have ordered it */

    if (rc != NGX_OK) {
        rc = ngx_http_linkcert_redis_challenge_get(r, &domain, &token,
                                                   keyauth, &len);
    }

    if (rc == NGX_AGAIN) {
        return NGX_DONE;
    }

    if (rc != NGX_OK) {
        return NGX_DECLINED;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc == NGX_OK) {
        rc = ngx_http_linkcert_send(r, NGX_HTTP_OK, keyauth, len,
                                        "text/plain");
    }

    ngx_http_finalize_request(r, rc);

    return NGX_DONE;
}



/*
 * Plain HTTP on a linkcert server: the click goes on to the locations,
 * whatever the Host.  On demand, an unknown Host starts verification as
 * an unknown SNI name does; with linkcert_redirect_https, an issued
 * domain is sent to HTTPS (301, or 308 for methods other than GET and
 * HEAD).
 */

static ngx_int_t
ngx_http_linkcert_plain(ngx_http_request_t *r,
    ngx_http_linkcert_main_conf_t *lmcf, ngx_http_linkcert_srv_conf_t *lscf)
{
    u_char                    *p;
    size_t                     len;
    ngx_uint_t                 admit;
    ngx_table_elt_t           *location;
    const char                *reason;
    ngx_http_linkcert_name_e   state;
    char                       name[LC_DOMAIN_MAX + 1];

#if (NGX_HTTP_SSL)
    if (r->connection->ssl) {
        return NGX_DECLINED;
    }
#endif

    if ((!lmcf->on_demand && !lscf->redirect_https)
        || r->headers_in.server.len == 0
        || ngx_http_linkcert_own_path(r)
        || lc_domain_normalize((char *) r->headers_in.server.data,
                               r->headers_in.server.len, name, &len,
                               &reason)
           != 0)
    {
        return NGX_DECLINED;
    }

    /* in a fleet without Redis, no new name */

    admit = lmcf->on_demand && !ngx_http_linkcert_redis_away();
    state = ngx_http_linkcert_table_demand(lmcf->shm_zone, (u_char *) name,
                                           len, admit);

    if (state == NGX_HTTP_LINKCERT_NAME_NEW) {
        ngx_http_linkcert_worker_kick();
    }

    if (state != NGX_HTTP_LINKCERT_NAME_SERVED || !lscf->redirect_https) {
        return NGX_DECLINED;
    }

    location = ngx_list_push(&r->headers_out.headers);
    if (location == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_pnalloc(r->pool, sizeof("https://") - 1 + len
                             + r->unparsed_uri.len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    location->hash = 1;
    ngx_str_set(&location->key, "Location");
    location->value.data = p;

    p = ngx_cpymem(p, "https://", sizeof("https://") - 1);
    p = ngx_cpymem(p, name, len);
    p = ngx_cpymem(p, r->unparsed_uri.data, r->unparsed_uri.len);

    location->value.len = p - location->value.data;
    r->headers_out.location = location;

    return (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))
           ? NGX_HTTP_MOVED_PERMANENTLY : NGX_HTTP_PERMANENT_REDIRECT;
}


/* the challenge prefix itself: never redirected */

static ngx_uint_t
ngx_http_linkcert_own_path(ngx_http_request_t *r)
{
    ngx_str_t  *prefix;

    prefix = &ngx_http_linkcert_challenge_prefix;

    return r->uri.len >= prefix->len - 1
           && ngx_strncmp(r->uri.data, prefix->data, prefix->len - 1) == 0;
}
