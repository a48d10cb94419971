
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: what the files of the status API share (api.c, its
 * resources; api_answer.c, the key, the arguments and the answers).
 */


#ifndef _NGX_HTTP_LINKCERT_API_H_INCLUDED_
#define _NGX_HTTP_LINKCERT_API_H_INCLUDED_


/* why a request is refused, sent by the caller as a JSON error */
typedef struct {
    ngx_uint_t                      status;
    const char                     *error;
    const char                     *detail;
} ngx_http_linkcert_api_fail_t;


/* ngx_http_linkcert_api_answer.c */

ngx_int_t ngx_http_linkcert_api_later(ngx_http_request_t *r, time_t retry,
    const char *error, const char *detail);
ngx_int_t ngx_http_linkcert_api_authorized(ngx_http_request_t *r,
    ngx_http_linkcert_main_conf_t *lmcf, ngx_http_linkcert_api_fail_t *fail);
ngx_int_t ngx_http_linkcert_api_target(ngx_http_request_t *r,
    ngx_http_linkcert_main_conf_t *lmcf, char *name, size_t *len,
    ngx_http_linkcert_api_fail_t *fail);
ngx_int_t ngx_http_linkcert_api_arg(ngx_http_request_t *r, char *name,
    size_t len, ngx_str_t *value);
ngx_int_t ngx_http_linkcert_api_domain_arg(ngx_str_t *value, char *domain,
    size_t *len, ngx_http_linkcert_api_fail_t *fail);
ngx_int_t ngx_http_linkcert_api_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *error, const char *detail);
ngx_int_t ngx_http_linkcert_api_send(ngx_http_request_t *r,
    ngx_uint_t status, json_t *json);
ngx_int_t ngx_http_linkcert_api_public(ngx_http_request_t *r,
    lc_record_t *rec);
ngx_int_t ngx_http_linkcert_api_header(ngx_http_request_t *r,
    ngx_str_t *key, ngx_str_t *value);


/* ngx_http_linkcert_api.c */

ngx_int_t ngx_http_linkcert_api_remove(ngx_http_linkcert_main_conf_t *lmcf,
    u_char *name, size_t len, lc_record_t *rec, ngx_log_t *log);


/* ngx_http_linkcert_redis_delete.c: DELETE answered once Redis has it */

ngx_int_t ngx_http_linkcert_redis_delete(ngx_http_request_t *r,
    ngx_http_linkcert_main_conf_t *lmcf, u_char *name, size_t len);


#endif /* _NGX_HTTP_LINKCERT_API_H_INCLUDED_ */
