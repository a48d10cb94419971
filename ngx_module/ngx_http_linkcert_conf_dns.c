
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the directives of DNS verification: the CNAME targets, the
 * target addresses, the CAA identity, the resolver.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert.h"


static lc_verify_conf_t *ngx_http_linkcert_verify_conf(ngx_conf_t *cf,
    ngx_http_linkcert_main_conf_t *lmcf);


static lc_verify_conf_t *
ngx_http_linkcert_verify_conf(ngx_conf_t *cf,
    ngx_http_linkcert_main_conf_t *lmcf)
{
    if (lmcf->verify == NULL) {
        lmcf->verify = ngx_pcalloc(cf->pool, sizeof(lc_verify_conf_t));
    }

    return lmcf->verify;
}


char *
ngx_http_linkcert_cname_target(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    size_t             len;
    ngx_str_t         *value;
    ngx_uint_t         i;
    const char        *reason;
    lc_verify_conf_t  *vc;

    vc = ngx_http_linkcert_verify_conf(cf, conf);
    if (vc == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (vc->ntargets == LC_VERIFY_MAX_TARGETS) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "too many names in \"linkcert_cname_target\", "
                               "at most %d", LC_VERIFY_MAX_TARGETS);
            return NGX_CONF_ERROR;
        }

        if (lc_domain_normalize((char *) value[i].data, value[i].len,
                                vc->targets[vc->ntargets], &len, &reason)
            != 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid name \"%V\" in "
                               "\"linkcert_cname_target\": %s",
                               &value[i], reason);
            return NGX_CONF_ERROR;
        }

        vc->ntargets++;
    }

    return NGX_CONF_OK;
}


char *
ngx_http_linkcert_target_address(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_str_t         *value;
    ngx_uint_t         i;
    lc_verify_conf_t  *vc;
    char               text[NGX_SOCKADDR_STRLEN];

    vc = ngx_http_linkcert_verify_conf(cf, conf);
    if (vc == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (vc->naddrs == LC_VERIFY_MAX_ADDRS) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "too many addresses in "
                               "\"linkcert_target_address\", at most %d",
                               LC_VERIFY_MAX_ADDRS);
            return NGX_CONF_ERROR;
        }

        if (value[i].len >= sizeof(text)) {
            goto invalid;
        }

        ngx_cpystrn((u_char *) text, value[i].data, value[i].len + 1);

        if (lc_addr_parse(text, &vc->addrs[vc->naddrs]) != 0) {
            goto invalid;
        }

        vc->naddrs++;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid address \"%V\" in "
                       "\"linkcert_target_address\", expected an IPv4 or "
                       "IPv6 address", &value[i]);
    return NGX_CONF_ERROR;
}


char *
ngx_http_linkcert_caa_identity(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    size_t             len;
    ngx_str_t         *value;
    const char        *reason;
    lc_verify_conf_t  *vc;

    vc = ngx_http_linkcert_verify_conf(cf, conf);
    if (vc == NULL) {
        return NGX_CONF_ERROR;
    }

    if (vc->caa_identity[0]) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (lc_domain_normalize((char *) value[1].data, value[1].len,
                            vc->caa_identity, &len, &reason)
        != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid name \"%V\" in "
                           "\"linkcert_caa_identity\": %s",
                           &value[1], reason);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * linkcert_resolver address[:port] ... [timeout=time] [attempts=n];
 * the addresses become the "ip:port,..." list that c-ares takes.
 */

char *
ngx_http_linkcert_resolver(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_linkcert_main_conf_t *lmcf = conf;

    u_char     *p, *last;
    ngx_int_t   n;
    ngx_str_t  *value, s;
    ngx_uint_t  i;
    ngx_url_t   u;

    if (lmcf->resolver.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    p = ngx_pnalloc(cf->pool, cf->args->nelts * (NGX_SOCKADDR_STRLEN + 1));
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    lmcf->resolver.data = p;
    last = p;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "timeout=", 8) == 0) {
            s.len = value[i].len - 8;
            s.data = value[i].data + 8;

            lmcf->resolver_timeout = ngx_parse_time(&s, 0);

            if (lmcf->resolver_timeout == (ngx_msec_t) NGX_ERROR
                || lmcf->resolver_timeout == 0)
            {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "attempts=", 9) == 0) {
            n = ngx_atoi(value[i].data + 9, value[i].len - 9);

            if (n < 1 || n > 10) {
                goto invalid;
            }

            lmcf->resolver_attempts = n;
            continue;
        }

        ngx_memzero(&u, sizeof(ngx_url_t));

        u.url = value[i];
        u.default_port = 53;
        u.no_resolve = 1;

        if (ngx_parse_url(cf->pool, &u) != NGX_OK
            || (u.no_port == 0 && u.port == 0))
        {
            goto invalid;
        }

        /* finding the DNS servers must not need DNS */

        if (u.naddrs == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid value \"%V\" in "
                               "\"linkcert_resolver\": an IP address is "
                               "required, not a name", &value[i]);
            return NGX_CONF_ERROR;
        }

        if (last != p) {
            *last++ = ',';
        }

        last += ngx_sock_ntop(u.addrs[0].sockaddr, u.addrs[0].socklen, last,
                              NGX_SOCKADDR_STRLEN, 1);
    }

    if (last == p) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"linkcert_resolver\" needs at least one "
                           "address");
        return NGX_CONF_ERROR;
    }

    *last = '\0';
    lmcf->resolver.len = last - p;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid value \"%V\" in \"linkcert_resolver\"",
                       &value[i]);
    return NGX_CONF_ERROR;
}
