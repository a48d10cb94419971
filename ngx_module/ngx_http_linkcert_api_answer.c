
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the status API's requests and answers: the API key, the
 * arguments (?domain=), JSON bodies and errors, Retry-After, the public
 * answers this process has rendered (lc_status_cache.c), and every answer
 * of the module never cached by a client.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "ngx_http_linkcert.h"
#include "ngx_http_linkcert_api.h"
#include "ngx_http_linkcert_redis.h"

#include "lc_status_cache.h"


/* public answers kept by a process, one slot a domain (by a hash) */
#define NGX_HTTP_LINKCERT_ANSWERS  256


static lc_status_cache_t  *ngx_http_linkcert_answers;


/* 429 with Retry-After: the request can be made again in retry seconds */

ngx_int_t
ngx_http_linkcert_api_later(ngx_http_request_t *r, time_t retry,
    const char *error, const char *detail)
{
    ngx_str_t  value;

    static ngx_str_t  retry_after = ngx_string("Retry-After");

    value.data = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
    if (value.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    value.len = ngx_sprintf(value.data, "%T", ngx_max(retry, 1))
                - value.data;

    if (ngx_http_linkcert_api_header(r, &retry_after, &value) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_linkcert_api_error(r, NGX_HTTP_TOO_MANY_REQUESTS, error,
                                       detail);
}


/*
 * "Authorization: Bearer <key>".  Both sides are hashed first, so the
 * comparison takes the same time whatever the length or content of the
 * key sent.
 */

ngx_int_t
ngx_http_linkcert_api_authorized(ngx_http_request_t *r,
    ngx_http_linkcert_main_conf_t *lmcf, ngx_http_linkcert_api_fail_t *fail)
{
    u_char           *p, *last;
    ngx_table_elt_t  *h;
    u_char            hash[NGX_HTTP_LINKCERT_KEY_HASH_LEN];

    static ngx_str_t  bearer = ngx_string("Bearer realm=\"linkcert\"");

    if (!lmcf->api_key_set) {
        fail->status = NGX_HTTP_FORBIDDEN;
        fail->error = "api_disabled";
        fail->detail = "no linkcert_api_key is configured";
        return NGX_DECLINED;
    }

    h = r->headers_in.authorization;

    if (h && h->value.len > sizeof("Bearer ") - 1
        && ngx_strncasecmp(h->value.data, (u_char *) "Bearer ",
                           sizeof("Bearer ") - 1)
           == 0)
    {
        p = h->value.data + sizeof("Bearer ") - 1;
        last = h->value.data + h->value.len;

        while (p < last && *p == ' ') {
            p++;
        }

        while (last > p && last[-1] == ' ') {
            last--;
        }

        SHA256(p, last - p, hash);

        if (CRYPTO_memcmp(hash, lmcf->api_key_hash, sizeof(hash)) == 0) {
            return NGX_OK;
        }
    }

    fail->status = NGX_HTTP_UNAUTHORIZED;
    fail->error = "unauthorized";
    fail->detail = "this request needs the API key as "
                   "\"Authorization: Bearer <key>\"";

    r->headers_out.www_authenticate = ngx_list_push(&r->headers_out.headers);
    if (r->headers_out.www_authenticate == NULL) {
        fail->status = NGX_HTTP_INTERNAL_SERVER_ERROR;
        return NGX_DECLINED;
    }

    r->headers_out.www_authenticate->hash = 1;
    ngx_str_set(&r->headers_out.www_authenticate->key, "WWW-Authenticate");
    r->headers_out.www_authenticate->value = bearer;

    return NGX_DECLINED;
}


/* the API key and ?domain=, both required (POST, DELETE) */

ngx_int_t
ngx_http_linkcert_api_target(ngx_http_request_t *r,
    ngx_http_linkcert_main_conf_t *lmcf, char *name, size_t *len,
    ngx_http_linkcert_api_fail_t *fail)
{
    ngx_str_t  value;

    if (ngx_http_linkcert_api_authorized(r, lmcf, fail) != NGX_OK) {
        return NGX_DECLINED;
    }

    if (ngx_http_linkcert_api_arg(r, "domain", 6, &value) != NGX_OK) {
        fail->status = NGX_HTTP_BAD_REQUEST;
        fail->error = lc_error_name(LC_ERR_INVALID_DOMAIN);
        fail->detail = "this request needs ?domain=<name>";
        return NGX_DECLINED;
    }

    return ngx_http_linkcert_api_domain_arg(&value, name, len, fail);
}


ngx_int_t
ngx_http_linkcert_api_arg(ngx_http_request_t *r, char *name, size_t len,
    ngx_str_t *value)
{
    if (ngx_http_arg(r, (u_char *) name, len, value) != NGX_OK) {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_linkcert_api_domain_arg(ngx_str_t *value, char *domain, size_t *len,
    ngx_http_linkcert_api_fail_t *fail)
{
    const char  *reason;

    if (lc_domain_from_query((char *) value->data, value->len, domain, len,
                             &reason)
        != 0)
    {
        fail->status = NGX_HTTP_BAD_REQUEST;
        fail->error = lc_error_name(LC_ERR_INVALID_DOMAIN);
        fail->detail = reason;
        return NGX_DECLINED;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_linkcert_api_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *error, const char *detail)
{
    return ngx_http_linkcert_api_send(r, status,
                                      lc_error_json(error, detail));
}


ngx_int_t
ngx_http_linkcert_api_send(ngx_http_request_t *r, ngx_uint_t status,
    json_t *json)
{
    char    *body;
    size_t   len;
    u_char  *data;

    body = lc_json_dump(json, &len);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    data = ngx_pnalloc(r->pool, len);
    if (data == NULL) {
        free(body);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(data, body, len);
    free(body);

    return ngx_http_linkcert_send(r, status, data, len, "application/json");
}


/*
 * The public answer to the table's record of the Host: jansson renders it
 * once per change of what it shows, in each process.  rec is read from
 * the table at every request, and the answer kept is served only while
 * rec shows the same (lc_status_cache.c), so it is always current.  The
 * bytes are copied: the slot may be taken while the answer is still
 * being sent.
 */

ngx_int_t
ngx_http_linkcert_api_public(ngx_http_request_t *r, lc_record_t *rec)
{
    size_t       len;
    u_char      *data;
    ngx_uint_t   stale;
    const char  *body;

    stale = ngx_http_linkcert_redis_away();

    if (ngx_http_linkcert_answers == NULL) {
        ngx_http_linkcert_answers =
                          lc_status_cache_create(NGX_HTTP_LINKCERT_ANSWERS);

        if (ngx_http_linkcert_answers == NULL) {
            return ngx_http_linkcert_api_send(r, NGX_HTTP_OK,
                       lc_status_stale(lc_status_public_json(rec), stale));
        }
    }

    body = lc_status_cache_public(ngx_http_linkcert_answers, rec, stale,
                                  &len);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    data = ngx_pnalloc(r->pool, len);
    if (data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(data, body, len);

    return ngx_http_linkcert_send(r, NGX_HTTP_OK, data, len,
                                  "application/json");
}


/* every answer of the module: never cached (by the client) */

ngx_int_t
ngx_http_linkcert_send(ngx_http_request_t *r, ngx_uint_t status,
    u_char *data, size_t len, const char *type)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    static ngx_str_t  cache_control = ngx_string("Cache-Control");
    static ngx_str_t  no_store = ngx_string("no-store");

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = data;
    b->last = data + len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    if (ngx_http_linkcert_api_header(r, &cache_control, &no_store) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = status;
    r->headers_out.content_length_n = len;
    r->headers_out.content_type.data = (u_char *) type;
    r->headers_out.content_type.len = ngx_strlen(type);
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


ngx_int_t
ngx_http_linkcert_api_header(ngx_http_request_t *r, ngx_str_t *key,
    ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key = *key;
    h->value = *value;

    return NGX_OK;
}
