
/*
 * linkcert: the status API, /.well-known/ssl-status.
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
 * It runs in the post-read phase of "linkcert on" servers, before any
 * location, for every Host.  Every answer is JSON and never cached.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "ngx_http_linkcert.h"


#define NGX_HTTP_LINKCERT_PAGE_DEFAULT  100
#define NGX_HTTP_LINKCERT_PAGE_MAX      1000
#define NGX_HTTP_LINKCERT_BODY_MAX      4096


/* why a request is refused, sent by the caller as a JSON error */
typedef struct {
    ngx_uint_t                      status;
    const char                     *error;
    const char                     *detail;
} ngx_http_linkcert_api_fail_t;


typedef enum {
    NGX_HTTP_LINKCERT_RES_STATUS = 0,
    NGX_HTTP_LINKCERT_RES_DOMAINS,
    NGX_HTTP_LINKCERT_RES_METRICS
} ngx_http_linkcert_resource_e;


static ngx_int_t ngx_http_linkcert_api_status(ngx_http_request_t *r,
    ngx_http_linkcert_main_conf_t *lmcf);
static ngx_int_t ngx_http_linkcert_api_domains(ngx_http_request_t *r,
    ngx_http_linkcert_main_conf_t *lmcf);
static ngx_int_t ngx_http_linkcert_api_verify(ngx_http_request_t *r,
    ngx_http_linkcert_main_conf_t *lmcf);
static ngx_int_t ngx_http_linkcert_api_delete(ngx_http_request_t *r,
    ngx_http_linkcert_main_conf_t *lmcf);
static ngx_int_t ngx_http_linkcert_api_metrics(ngx_http_request_t *r,
    ngx_http_linkcert_main_conf_t *lmcf);
static ngx_int_t ngx_http_linkcert_api_body(ngx_http_request_t *r,
    ngx_uint_t status, u_char *data, size_t len, const char *type);
static ngx_int_t ngx_http_linkcert_acme_challenge(ngx_http_request_t *r,
    ngx_http_linkcert_main_conf_t *lmcf);
static ngx_int_t ngx_http_linkcert_plain(ngx_http_request_t *r,
    ngx_http_linkcert_main_conf_t *lmcf, ngx_http_linkcert_srv_conf_t *lscf);
static ngx_uint_t ngx_http_linkcert_api_own(ngx_http_request_t *r);
static ngx_uint_t ngx_http_linkcert_api_path(ngx_http_request_t *r);
static void ngx_http_linkcert_api_body_read(ngx_http_request_t *r);
static ngx_int_t ngx_http_linkcert_api_dispatch(ngx_http_request_t *r,
    ngx_http_linkcert_main_conf_t *lmcf);
static ngx_int_t ngx_http_linkcert_api_authorized(ngx_http_request_t *r,
    ngx_http_linkcert_main_conf_t *lmcf, ngx_http_linkcert_api_fail_t *fail);
static ngx_int_t ngx_http_linkcert_api_target(ngx_http_request_t *r,
    ngx_http_linkcert_main_conf_t *lmcf, char *name, size_t *len,
    ngx_http_linkcert_api_fail_t *fail);
static ngx_int_t ngx_http_linkcert_api_arg(ngx_http_request_t *r,
    char *name, size_t len, ngx_str_t *value);
static ngx_int_t ngx_http_linkcert_api_domain_arg(ngx_str_t *value,
    char *domain, size_t *len, ngx_http_linkcert_api_fail_t *fail);
static ngx_int_t ngx_http_linkcert_api_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *error, const char *detail);
static ngx_int_t ngx_http_linkcert_api_send(ngx_http_request_t *r,
    ngx_uint_t status, json_t *json);
static ngx_int_t ngx_http_linkcert_api_header(ngx_http_request_t *r,
    ngx_str_t *key, ngx_str_t *value);


static ngx_str_t  ngx_http_linkcert_api_prefix =
    ngx_string("/.well-known/ssl-status");
static ngx_str_t  ngx_http_linkcert_challenge_prefix =
    ngx_string("/.well-known/acme-challenge/");


ngx_int_t
ngx_http_linkcert_api_handler(ngx_http_request_t *r)
{
    ngx_int_t                       rc;
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

    if (!ngx_http_linkcert_api_path(r)) {
        return ngx_http_linkcert_plain(r, lmcf, lscf);
    }

    /*
     * The body is never used, but it is bounded: one announced as large
     * is refused at once; a chunked one is read (within nginx's own
     * client_max_body_size) and refused if it is large; any other is
     * dropped.
     */

    if (r->headers_in.content_length_n > NGX_HTTP_LINKCERT_BODY_MAX) {
        r->keepalive = 0;
        rc = ngx_http_linkcert_api_error(r,
                                         NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                         "body_too_large",
                                         "this API takes no request body");
        goto done;
    }

    if (r->headers_in.chunked) {
        rc = ngx_http_read_client_request_body(r,
                                               ngx_http_linkcert_api_body_read);

        if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
            return rc;
        }

        ngx_http_finalize_request(r, NGX_DONE);
        return NGX_DONE;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_linkcert_api_dispatch(r, lmcf);

done:

    ngx_http_finalize_request(r, rc);

    return NGX_DONE;
}


/* the URI is /.well-known/ssl-status or below it */

static ngx_uint_t
ngx_http_linkcert_api_path(ngx_http_request_t *r)
{
    size_t  len;

    len = ngx_http_linkcert_api_prefix.len;

    return r->uri.len >= len
           && ngx_strncmp(r->uri.data, ngx_http_linkcert_api_prefix.data, len)
              == 0
           && (r->uri.len == len || r->uri.data[len] == '/');
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
    ngx_str_t                     tail, *methods;
    ngx_uint_t                    allowed;
    ngx_http_linkcert_resource_e  res;

    static ngx_str_t  allow = ngx_string("Allow");
    static ngx_str_t  status_methods = ngx_string("GET, HEAD, POST, DELETE");
    static ngx_str_t  list_methods = ngx_string("GET, HEAD");

    tail.data = r->uri.data + ngx_http_linkcert_api_prefix.len;
    tail.len = r->uri.len - ngx_http_linkcert_api_prefix.len;

    if (tail.len == 0) {
        res = NGX_HTTP_LINKCERT_RES_STATUS;
        methods = &status_methods;
        allowed = NGX_HTTP_GET|NGX_HTTP_HEAD|NGX_HTTP_POST|NGX_HTTP_DELETE;

    } else if (tail.len == sizeof("/domains") - 1
               && ngx_strncmp(tail.data, "/domains", tail.len) == 0)
    {
        res = NGX_HTTP_LINKCERT_RES_DOMAINS;
        methods = &list_methods;
        allowed = NGX_HTTP_GET|NGX_HTTP_HEAD;

    } else if (tail.len == sizeof("/metrics") - 1
               && ngx_strncmp(tail.data, "/metrics", tail.len) == 0)
    {
        res = NGX_HTTP_LINKCERT_RES_METRICS;
        methods = &list_methods;
        allowed = NGX_HTTP_GET|NGX_HTTP_HEAD;

    } else {
        return ngx_http_linkcert_api_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                           "no such resource under "
                                           "/.well-known/ssl-status");
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

        return ngx_http_linkcert_api_status(r, lmcf);
    }
}


static ngx_int_t
ngx_http_linkcert_api_status(ngx_http_request_t *r,
    ngx_http_linkcert_main_conf_t *lmcf)
{
    size_t                         len;
    ngx_int_t                      rc;
    ngx_str_t                      value;
    const char                    *reason;
    lc_record_t                   *rec;
    ngx_http_linkcert_api_fail_t   fail;
    char                           name[LC_DOMAIN_MAX + 1];

    rec = ngx_palloc(r->pool, sizeof(lc_record_t));
    if (rec == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_linkcert_api_arg(r, "domain", 6, &value);

    if (rc == NGX_DECLINED) {

        /* the public answer about the request's own Host */

        if (lc_domain_from_host((char *) r->headers_in.server.data,
                                r->headers_in.server.len, name, &len,
                                &reason)
            != 0)
        {
            return ngx_http_linkcert_api_error(r, NGX_HTTP_BAD_REQUEST,
                                               "invalid_domain", reason);
        }

        (void) ngx_http_linkcert_table_get(lmcf->shm_zone, (u_char *) name,
                                           len, rec);

        return ngx_http_linkcert_api_send(r, NGX_HTTP_OK,
                                          lc_status_public_json(rec));
    }

    if (ngx_http_linkcert_api_authorized(r, lmcf, &fail) != NGX_OK
        || ngx_http_linkcert_api_domain_arg(&value, name, &len, &fail)
           != NGX_OK)
    {
        return ngx_http_linkcert_api_error(r, fail.status, fail.error,
                                           fail.detail);
    }

    (void) ngx_http_linkcert_table_get(lmcf->shm_zone, (u_char *) name, len,
                                       rec);

    return ngx_http_linkcert_api_send(r, NGX_HTTP_OK,
                                      lc_status_full_json(rec));
}


static ngx_int_t
ngx_http_linkcert_api_domains(ngx_http_request_t *r,
    ngx_http_linkcert_main_conf_t *lmcf)
{
    size_t                         len;
    json_t                        *json, *list;
    ngx_int_t                      limit, status;
    ngx_str_t                      value, after;
    ngx_uint_t                     i, n, more;
    lc_status_e                    st;
    lc_record_t                   *recs;
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

    recs = ngx_palloc(r->pool, limit * sizeof(lc_record_t));
    if (recs == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    (void) ngx_http_linkcert_table_page(lmcf->shm_zone, &after, status,
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

    return ngx_http_linkcert_api_send(r, NGX_HTTP_OK, json);
}


static ngx_int_t
ngx_http_linkcert_api_verify(ngx_http_request_t *r,
    ngx_http_linkcert_main_conf_t *lmcf)
{
    size_t                         len;
    json_t                        *json;
    time_t                         retry;
    const char                    *message;
    lc_record_t                   *rec;
    ngx_table_elt_t               *h;
    ngx_http_linkcert_api_fail_t   fail;
    char                           name[LC_DOMAIN_MAX + 1];

    if (ngx_http_linkcert_api_target(r, lmcf, name, &len, &fail) != NGX_OK) {
        return ngx_http_linkcert_api_error(r, fail.status, fail.error,
                                           fail.detail);
    }

    if (lmcf->verify == NULL) {
        return ngx_http_linkcert_api_error(r, NGX_HTTP_CONFLICT, "no_target",
                                           "no domain can be verified: "
                                           "the edge has neither "
                                           "linkcert_cname_target nor "
                                           "linkcert_target_address");
    }

    rec = ngx_palloc(r->pool, sizeof(lc_record_t));
    if (rec == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    switch (ngx_http_linkcert_table_post(lmcf->shm_zone, (u_char *) name,
                                         len, rec, &retry))
    {
    case NGX_HTTP_LINKCERT_POST_STARTED:
        message = "DNS verification started";
        break;

    case NGX_HTTP_LINKCERT_POST_RECHECK:
        message = "the certificate is already issued and valid: the DNS is "
                  "re-checked, no new certificate is ordered";
        break;

    case NGX_HTTP_LINKCERT_POST_BUSY:
        message = "DNS verification is already in progress";
        break;

    case NGX_HTTP_LINKCERT_POST_TOO_SOON:
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Retry-After");
        h->value.data = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
        if (h->value.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->value.len = ngx_sprintf(h->value.data, "%T", retry)
                       - h->value.data;

        return ngx_http_linkcert_api_error(r, NGX_HTTP_TOO_MANY_REQUESTS,
                                           "too_many_requests",
                                           "this domain was verified less "
                                           "than 10 seconds ago");

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
 * its files move to <store>/removed/.  The answer is its last state.
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

    if (ngx_http_linkcert_table_remove(lmcf->shm_zone, (u_char *) name, len,
                                       rec)
        != NGX_OK)
    {
        return ngx_http_linkcert_api_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                           "no such domain");
    }

    ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                  "linkcert: \"%s\" %s/%s -> removed", name,
                  lc_status_name(rec->status), lc_stage_name(rec->stage));

    (void) ngx_http_linkcert_store_remove(&lmcf->store, (u_char *) name, len,
                                          r->connection->log);

    return ngx_http_linkcert_api_send(r, NGX_HTTP_OK,
                                      lc_status_full_json(rec));
}


/*
 * Prometheus text format.  No series per domain: a million domains
 * would make a million series.
 */

static ngx_int_t
ngx_http_linkcert_api_metrics(ngx_http_request_t *r,
    ngx_http_linkcert_main_conf_t *lmcf)
{
    u_char                        *p, *start, *last;
    time_t                         earliest;
    ngx_uint_t                     i, n, by_status[3], expiring;
    ngx_http_linkcert_stats_t     *st;
    ngx_http_linkcert_api_fail_t   fail;

    static const char  *orders[] = { "issued", "failed", "transient" };
    static const char  *dns[] = { "verified", "failed", "transient" };
    static const char  *demand[] = { "admitted", "refused_negative",
                                     "refused_rate", "refused_ask",
                                     "refused_dns", "refused_full" };
    static ngx_msec_t   hold_le[] = NGX_HTTP_LINKCERT_HOLD_LE;

    if (ngx_http_linkcert_api_authorized(r, lmcf, &fail) != NGX_OK) {
        return ngx_http_linkcert_api_error(r, fail.status, fail.error,
                                           fail.detail);
    }

    ngx_http_linkcert_table_counts(lmcf->shm_zone, ngx_time(), by_status,
                                   &expiring, &earliest);
    st = ngx_http_linkcert_stats(lmcf->shm_zone);

    start = ngx_pnalloc(r->pool, 8192);
    if (start == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = start;
    last = start + 8192;

    p = ngx_slprintf(p, last,
            "# HELP linkcert_domains Domains in the table, by status.\n"
            "# TYPE linkcert_domains gauge\n");

    for (i = 0; i < 3; i++) {
        p = ngx_slprintf(p, last, "linkcert_domains{status=\"%s\"} %ui\n",
                         lc_status_name((lc_status_e) i), by_status[i]);
    }

    p = ngx_slprintf(p, last,
            "# HELP linkcert_certificates_expiring Issued certificates that "
            "expire within 7 days.\n"
            "# TYPE linkcert_certificates_expiring gauge\n"
            "linkcert_certificates_expiring{within=\"7d\"} %ui\n"
            "# HELP linkcert_certificate_expiration_timestamp_seconds The "
            "earliest expiry of an issued certificate.\n"
            "# TYPE linkcert_certificate_expiration_timestamp_seconds gauge\n"
            "linkcert_certificate_expiration_timestamp_seconds %T\n",
            expiring, earliest);

    p = ngx_slprintf(p, last,
            "# HELP linkcert_orders_total ACME orders, by result.\n"
            "# TYPE linkcert_orders_total counter\n");

    for (i = 0; i < 3; i++) {
        p = ngx_slprintf(p, last, "linkcert_orders_total{result=\"%s\"} "
                         "%uA\n", orders[i], st->orders[i]);
    }

    p = ngx_slprintf(p, last,
            "# HELP linkcert_dns_checks_total DNS verifications, by "
            "result.\n"
            "# TYPE linkcert_dns_checks_total counter\n");

    for (i = 0; i < 3; i++) {
        p = ngx_slprintf(p, last, "linkcert_dns_checks_total{result=\"%s\"} "
                         "%uA\n", dns[i], st->dns[i]);
    }

    p = ngx_slprintf(p, last,
            "# HELP linkcert_handshakes_total TLS handshakes on linkcert "
            "servers, by the certificate presented; \"held\" counts those "
            "that waited for an on-demand certificate first.\n"
            "# TYPE linkcert_handshakes_total counter\n"
            "linkcert_handshakes_total{outcome=\"certificate\"} %uA\n"
            "linkcert_handshakes_total{outcome=\"fallback\"} %uA\n"
            "linkcert_handshakes_total{outcome=\"held\"} %uA\n"
            "# HELP linkcert_renewals_total Certificates renewed.\n"
            "# TYPE linkcert_renewals_total counter\n"
            "linkcert_renewals_total %uA\n"
            "# HELP linkcert_last_renewal_timestamp_seconds When the last "
            "renewal succeeded (0: never).\n"
            "# TYPE linkcert_last_renewal_timestamp_seconds gauge\n"
            "linkcert_last_renewal_timestamp_seconds %uA\n",
            st->handshakes[0], st->handshakes[1], st->handshakes[2],
            st->renewals, st->last_renewal);

    p = ngx_slprintf(p, last,
            "# HELP linkcert_hold_seconds How long held handshakes "
            "waited.\n"
            "# TYPE linkcert_hold_seconds histogram\n");

    for (i = 0, n = 0; i < NGX_HTTP_LINKCERT_HOLD_BUCKETS; i++) {
        n += st->hold[i];

        if (i < NGX_HTTP_LINKCERT_HOLD_BUCKETS - 1) {
            p = ngx_slprintf(p, last,
                             "linkcert_hold_seconds_bucket{le=\"%ui.%03ui\"} "
                             "%ui\n", hold_le[i] / 1000, hold_le[i] % 1000, n);
        } else {
            p = ngx_slprintf(p, last,
                             "linkcert_hold_seconds_bucket{le=\"+Inf\"} "
                             "%ui\n", n);
        }
    }

    p = ngx_slprintf(p, last,
            "linkcert_hold_seconds_sum %uA.%03uA\n"
            "linkcert_hold_seconds_count %ui\n"
            "# HELP linkcert_on_demand_total Names seen on demand, by what "
            "the gates did.\n"
            "# TYPE linkcert_on_demand_total counter\n",
            st->hold_ms / 1000, st->hold_ms % 1000, n);

    for (i = 0; i < NGX_HTTP_LINKCERT_DEMAND_N; i++) {
        p = ngx_slprintf(p, last, "linkcert_on_demand_total{result=\"%s\"} "
                         "%uA\n", demand[i], st->demand[i]);
    }

    if (lmcf->webhook) {
        p = ngx_slprintf(p, last,
                "# HELP linkcert_webhook_queue Webhook events not "
                "delivered yet.\n"
                "# TYPE linkcert_webhook_queue gauge\n"
                "linkcert_webhook_queue %ui\n"
                "# HELP linkcert_webhook_deliveries_total Webhook POSTs, "
                "by result: a 2xx, or anything else (each attempt).\n"
                "# TYPE linkcert_webhook_deliveries_total counter\n"
                "linkcert_webhook_deliveries_total{result=\"delivered\"} "
                "%uA\n"
                "linkcert_webhook_deliveries_total{result=\"failed\"} %uA\n"
                "# HELP linkcert_webhook_dropped_total Webhook events given "
                "up: not delivered within 24 h, or no room for them.\n"
                "# TYPE linkcert_webhook_dropped_total counter\n"
                "linkcert_webhook_dropped_total{reason=\"expired\"} %uA\n"
                "linkcert_webhook_dropped_total{reason=\"full\"} %uA\n",
                ngx_http_linkcert_webhook_queued(lmcf->shm_zone),
                st->webhook[0], st->webhook[1], st->webhook_dropped[0],
                st->webhook_dropped[1]);
    }

    return ngx_http_linkcert_api_body(r, NGX_HTTP_OK, start, p - start,
                                      "text/plain; version=0.0.4");
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

    if (ngx_http_linkcert_challenge_get(lmcf->shm_zone, &domain, &token,
                                        keyauth, &len)
        != NGX_OK)
    {
        return NGX_DECLINED;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc == NGX_OK) {
        rc = ngx_http_linkcert_api_body(r, NGX_HTTP_OK, keyauth, len,
                                        "text/plain");
    }

    ngx_http_finalize_request(r, rc);

    return NGX_DONE;
}


/*
 * "Authorization: Bearer <key>".  Both sides are hashed first, so the
 * comparison takes the same time whatever the length or content of the
 * key sent.
 */

static ngx_int_t
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

static ngx_int_t
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
        fail->error = "invalid_domain";
        fail->detail = "this request needs ?domain=<name>";
        return NGX_DECLINED;
    }

    return ngx_http_linkcert_api_domain_arg(&value, name, len, fail);
}


static ngx_int_t
ngx_http_linkcert_api_arg(ngx_http_request_t *r, char *name, size_t len,
    ngx_str_t *value)
{
    if (ngx_http_arg(r, (u_char *) name, len, value) != NGX_OK) {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_linkcert_api_domain_arg(ngx_str_t *value, char *domain, size_t *len,
    ngx_http_linkcert_api_fail_t *fail)
{
    const char  *reason;

    if (lc_domain_from_query((char *) value->data, value->len, domain, len,
                             &reason)
        != 0)
    {
        fail->status = NGX_HTTP_BAD_REQUEST;
        fail->error = "invalid_domain";
        fail->detail = reason;
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_linkcert_api_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *error, const char *detail)
{
    return ngx_http_linkcert_api_send(r, status,
                                      lc_error_json(error, detail));
}


static ngx_int_t
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

    return ngx_http_linkcert_api_body(r, status, data, len,
                                      "application/json");
}


/* every answer of the module: never cached */

static ngx_int_t
ngx_http_linkcert_api_body(ngx_http_request_t *r, ngx_uint_t status,
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


static ngx_int_t
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
        || ngx_http_linkcert_api_own(r)
        || lc_domain_normalize((char *) r->headers_in.server.data,
                               r->headers_in.server.len, name, &len,
                               &reason)
           != 0)
    {
        return NGX_DECLINED;
    }

    state = ngx_http_linkcert_table_demand(lmcf->shm_zone, (u_char *) name,
                                           len, lmcf->on_demand);

    if (state == NGX_HTTP_LINKCERT_NAME_NEW) {
        ngx_http_linkcert_verify_kick();
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


/* paths of linkcert's own, never redirected: challenges and the API */

static ngx_uint_t
ngx_http_linkcert_api_own(ngx_http_request_t *r)
{
    ngx_str_t  *prefix;

    prefix = &ngx_http_linkcert_challenge_prefix;

    if (r->uri.len >= prefix->len - 1
        && ngx_strncmp(r->uri.data, prefix->data, prefix->len - 1) == 0)
    {
        return 1;
    }

    prefix = &ngx_http_linkcert_api_prefix;

    return r->uri.len >= prefix->len
           && ngx_strncmp(r->uri.data, prefix->data, prefix->len) == 0;
}
