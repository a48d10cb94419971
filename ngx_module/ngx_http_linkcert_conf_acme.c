
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the directives of ACME: the CAs' directories, the primary and
 * the backup, the contact, EAB, and the TLS client contexts the CA and
 * webhook connections use.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert.h"


static char *ngx_http_linkcert_acme_backup(ngx_conf_t *cf,
    ngx_http_linkcert_main_conf_t *lmcf);
static ngx_int_t ngx_http_linkcert_eab_key(ngx_conf_t *cf, const char *name,
    ngx_str_t *file, ngx_str_t *key);


/*
 * The client context for the ACME server: its certificate chain and host
 * name are always verified, against linkcert_acme_trusted_certificate.
 * Only an edge that can verify domains ever orders.
 */

ngx_int_t
ngx_http_linkcert_acme_ssl(ngx_conf_t *cf,
    ngx_http_linkcert_main_conf_t *lmcf)
{
    if (lmcf->verify == NULL || lmcf->acme_directory.len == 0) {
        return NGX_OK;
    }

    lmcf->acme_ssl = ngx_http_linkcert_client_ssl(cf, &lmcf->acme_trusted);

    return (lmcf->acme_ssl == NULL) ? NGX_ERROR : NGX_OK;
}


/* a client context that verifies servers against the CAs in trusted */

ngx_ssl_t *
ngx_http_linkcert_client_ssl(ngx_conf_t *cf, ngx_str_t *trusted)
{
    ngx_ssl_t           *ssl;
    ngx_pool_cleanup_t  *cln;

    ssl = ngx_pcalloc(cf->pool, sizeof(ngx_ssl_t));
    if (ssl == NULL) {
        return NULL;
    }

    ssl->log = cf->log;

    if (ngx_ssl_create(ssl, NGX_SSL_TLSv1_2|NGX_SSL_TLSv1_3, NULL)
        != NGX_OK)
    {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        ngx_ssl_cleanup_ctx(ssl);
        return NULL;
    }

    cln->handler = ngx_ssl_cleanup_ctx;
    cln->data = ssl;

    if (ngx_ssl_trusted_certificate(cf, ssl, trusted, 10) != NGX_OK) {
        return NULL;
    }

    return ssl;
}


/*
 * linkcert_acme_directory url | off;
 * linkcert_acme_directory url backup [max_fails=n] [eab_kid=kid
 *     eab_key=file];
 */

char *
ngx_http_linkcert_acme_directory(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_linkcert_main_conf_t *lmcf = conf;

    int          https;
    unsigned     port;
    ngx_str_t   *value;
    const char  *path;
    char         host[256];

    value = cf->args->elts;

    if (cf->args->nelts > 6) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid number of arguments in "
                           "\"linkcert_acme_directory\" \"%V\"",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    if (cf->args->nelts > 2 || ngx_strcmp(value[1].data, "off") != 0) {

        if (lc_http_url((char *) value[1].data, &https, host, sizeof(host),
                        &port, &path)
            != 0
            || !https)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid URL \"%V\" in "
                               "\"linkcert_acme_directory\", expected "
                               "https://host[:port]/path or off", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    if (cf->args->nelts > 2) {
        return ngx_http_linkcert_acme_backup(cf, lmcf);
    }

    if (lmcf->acme_directory.data) {
        return "is duplicate";
    }

    if (ngx_strcmp(value[1].data, "off") == 0) {
        ngx_str_set(&lmcf->acme_directory, "");
        return NGX_CONF_OK;
    }

    if (lmcf->acme_backup.len
        && ngx_strcmp(value[1].data, lmcf->acme_backup.data) == 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"linkcert_acme_directory\" \"%V\" is "
                           "already the backup", &value[1]);
        return NGX_CONF_ERROR;
    }

    lmcf->acme_directory = value[1];

    return NGX_CONF_OK;
}


/* the second CA: orders fail over to it (see lc_failover.h) */

static char *
ngx_http_linkcert_acme_backup(ngx_conf_t *cf,
    ngx_http_linkcert_main_conf_t *lmcf)
{
    ngx_int_t    n;
    ngx_str_t   *value, kid, file;
    ngx_uint_t   i;

    value = cf->args->elts;

    if (ngx_strcmp(value[2].data, "backup") != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\" in "
                           "\"linkcert_acme_directory\", expected "
                           "\"backup\"", &value[2]);
        return NGX_CONF_ERROR;
    }

    if (lmcf->acme_backup.data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"linkcert_acme_directory %V backup\": there is "
                           "a backup already, \"%V\"", &value[1],
                           &lmcf->acme_backup);
        return NGX_CONF_ERROR;
    }

    if (lmcf->acme_directory.len
        && ngx_strcmp(value[1].data, lmcf->acme_directory.data) == 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"linkcert_acme_directory\" \"%V\" is "
                           "already the primary", &value[1]);
        return NGX_CONF_ERROR;
    }

    ngx_str_null(&kid);
    ngx_str_null(&file);

    for (i = 3; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "max_fails=", 10) == 0) {
            n = ngx_atoi(value[i].data + 10, value[i].len - 10);

            if (n < 1 || n > 100) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid value \"%V\" in "
                                   "\"linkcert_acme_directory\", expected "
                                   "max_fails=1..100", &value[i]);
                return NGX_CONF_ERROR;
            }

            lmcf->acme_max_fails = (ngx_uint_t) n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "eab_kid=", 8) == 0
            && value[i].len > 8)
        {
            kid.data = value[i].data + 8;
            kid.len = value[i].len - 8;
            continue;
        }

        if (ngx_strncmp(value[i].data, "eab_key=", 8) == 0
            && value[i].len > 8)
        {
            file.data = value[i].data + 8;
            file.len = value[i].len - 8;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\" in "
                           "\"linkcert_acme_directory\", expected "
                           "max_fails=, eab_kid= or eab_key=", &value[i]);
        return NGX_CONF_ERROR;
    }

    if ((kid.len == 0) != (file.len == 0)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"linkcert_acme_directory %V backup\" needs "
                           "both eab_kid= and eab_key=, or neither",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    if (file.len
        && ngx_http_linkcert_eab_key(cf, "linkcert_acme_directory", &file,
                                     &lmcf->acme_backup_eab_key)
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    lmcf->acme_backup_eab_kid = kid;
    lmcf->acme_backup = value[1];

    return NGX_CONF_OK;
}


char *
ngx_http_linkcert_acme_contact(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_linkcert_main_conf_t *lmcf = conf;

    char       **contact;
    ngx_str_t   *value;
    ngx_uint_t   i;

    if (lmcf->acme_contacts) {
        return "is duplicate";
    }

    if (cf->args->nelts > 9) {
        return "takes at most 8 URIs";
    }

    lmcf->acme_contacts = ngx_array_create(cf->pool, cf->args->nelts,
                                           sizeof(char *));
    if (lmcf->acme_contacts == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strlchr(value[i].data, value[i].data + value[i].len, ':')
            == NULL)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid URI \"%V\" in "
                               "\"linkcert_acme_contact\", expected e.g. "
                               "mailto:ops@example.com", &value[i]);
            return NGX_CONF_ERROR;
        }

        contact = ngx_array_push(lmcf->acme_contacts);
        if (contact == NULL) {
            return NGX_CONF_ERROR;
        }

        *contact = (char *) value[i].data;
    }

    return NGX_CONF_OK;
}


/* linkcert_acme_eab kid file: the file holds the base64url HMAC key */

char *
ngx_http_linkcert_acme_eab(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_linkcert_main_conf_t *lmcf = conf;

    ngx_str_t  *value;

    if (lmcf->acme_eab_kid.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_http_linkcert_eab_key(cf, "linkcert_acme_eab", &value[2],
                                  &lmcf->acme_eab_key)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    lmcf->acme_eab_kid = value[1];

    return NGX_CONF_OK;
}


/* an EAB HMAC key: base64url in a file, decoded into key */

static ngx_int_t
ngx_http_linkcert_eab_key(ngx_conf_t *cf, const char *name, ngx_str_t *file,
    ngx_str_t *key)
{
    ngx_str_t  src;
    u_char     buf[1024];

    if (ngx_http_linkcert_read_secret(cf, name, file, buf, sizeof(buf), &src)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    key->data = ngx_pnalloc(cf->pool, ngx_base64_decoded_length(src.len));
    if (key->data == NULL) {
        ngx_explicit_memzero(buf, sizeof(buf));
        return NGX_ERROR;
    }

    if (ngx_decode_base64url(key, &src) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%s\": \"%s\" does not hold a base64url HMAC "
                           "key", name, file->data);
        ngx_explicit_memzero(buf, sizeof(buf));
        return NGX_ERROR;
    }

    ngx_explicit_memzero(buf, sizeof(buf));

    return NGX_OK;
}
