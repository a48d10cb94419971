
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the linkcert_webhook directive and the TLS context of an
 * https:// receiver (ngx_http_linkcert_webhook.c delivers the events).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert.h"


static ngx_int_t ngx_http_linkcert_webhook_option(ngx_conf_t *cf,
    ngx_http_linkcert_webhook_conf_t *wh, ngx_str_t *value);


/*
 * linkcert_webhook url [secret=file] [timeout=time];
 */

char *
ngx_http_linkcert_webhook(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_linkcert_main_conf_t *lmcf = conf;

    int                                https;
    unsigned                           port;
    ngx_str_t                         *value;
    ngx_uint_t                         i;
    const char                        *path;
    ngx_http_linkcert_webhook_conf_t  *wh;
    char                               host[256];

    if (lmcf->webhook) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (lc_http_url((char *) value[1].data, &https, host, sizeof(host),
                    &port, &path)
        != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid URL \"%V\" in \"linkcert_webhook\": an "
                           "http:// or https:// URL is expected", &value[1]);
        return NGX_CONF_ERROR;
    }

    wh = ngx_pcalloc(cf->pool, sizeof(ngx_http_linkcert_webhook_conf_t));
    if (wh == NULL) {
        return NGX_CONF_ERROR;
    }

    wh->url = value[1];
    wh->timeout = 10000;

    for (i = 2; i < cf->args->nelts; i++) {
        if (ngx_http_linkcert_webhook_option(cf, wh, &value[i]) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    lmcf->webhook = wh;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_linkcert_webhook_option(ngx_conf_t *cf,
    ngx_http_linkcert_webhook_conf_t *wh, ngx_str_t *value)
{
    ngx_str_t   s, file, secret;
    ngx_msec_t  timeout;
    u_char      buf[4096];

    if (ngx_strncmp(value->data, "secret=", 7) == 0 && wh->secret.data == NULL)
    {
        file.data = value->data + 7;
        file.len = value->len - 7;

        if (file.len == 0) {
            goto invalid;
        }

        if (ngx_http_linkcert_read_secret(cf, "linkcert_webhook", &file,
                                          buf, sizeof(buf), &secret)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        wh->secret.data = ngx_pnalloc(cf->pool, secret.len);
        if (wh->secret.data == NULL) {
            ngx_explicit_memzero(buf, sizeof(buf));
            return NGX_ERROR;
        }

        ngx_memcpy(wh->secret.data, secret.data, secret.len);
        wh->secret.len = secret.len;
        ngx_explicit_memzero(buf, sizeof(buf));

        return NGX_OK;
    }

    if (ngx_strncmp(value->data, "timeout=", 8) == 0) {
        s.data = value->data + 8;
        s.len = value->len - 8;

        timeout = ngx_parse_time(&s, 0);

        if (timeout == (ngx_msec_t) NGX_ERROR || timeout == 0) {
            goto invalid;
        }

        wh->timeout = timeout;

        return NGX_OK;
    }

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\" in \"linkcert_webhook\", "
                       "expected \"secret=file\" or \"timeout=time\"",
                       value);

    return NGX_ERROR;
}


/* an https:// receiver is verified like the CA, against its own list */

ngx_int_t
ngx_http_linkcert_webhook_init(ngx_conf_t *cf,
    ngx_http_linkcert_main_conf_t *lmcf)
{
    if (lmcf->webhook == NULL
        || ngx_strncmp(lmcf->webhook->url.data, "https://", 8) != 0)
    {
        return NGX_OK;
    }

    if (lmcf->webhook_trusted.data == NULL) {
        ngx_str_set(&lmcf->webhook_trusted,
                    "/etc/ssl/certs/ca-certificates.crt");
    }

    lmcf->webhook->ssl = ngx_http_linkcert_client_ssl(cf,
                                                  &lmcf->webhook_trusted);

    return (lmcf->webhook->ssl == NULL) ? NGX_ERROR : NGX_OK;
}
