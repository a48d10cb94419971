
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the fleet's directives, linkcert_redis, linkcert_redis_key
 * and linkcert_edge.  The server is an address, never a name: finding
 * it must not need a blocking lookup in a worker.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert_redis.h"


#define NGX_HTTP_LINKCERT_REDIS_PORT     6379
#define NGX_HTTP_LINKCERT_REDIS_TIMEOUT  1000        /* ms */
#define NGX_HTTP_LINKCERT_REDIS_LEASE    300000      /* ms */
#define NGX_HTTP_LINKCERT_EDGE_MAX       64


static ngx_http_linkcert_redis_conf_t *ngx_http_linkcert_redis_conf(
    ngx_conf_t *cf, ngx_http_linkcert_main_conf_t *lmcf);
static char *ngx_http_linkcert_redis_param(ngx_conf_t *cf,
    ngx_http_linkcert_redis_conf_t *rcf, ngx_str_t *value);
static char *ngx_http_linkcert_redis_address(ngx_conf_t *cf,
    ngx_http_linkcert_redis_conf_t *rcf, ngx_str_t *value);
static char *ngx_http_linkcert_redis_password(ngx_conf_t *cf,
    ngx_http_linkcert_redis_conf_t *rcf, ngx_str_t *file);


/* the first of the three directives met makes the structure */

static ngx_http_linkcert_redis_conf_t *
ngx_http_linkcert_redis_conf(ngx_conf_t *cf,
    ngx_http_linkcert_main_conf_t *lmcf)
{
    ngx_http_linkcert_redis_conf_t  *rcf;

    if (lmcf->redis) {
        return lmcf->redis;
    }

    rcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_linkcert_redis_conf_t));
    if (rcf == NULL) {
        return NULL;
    }

    rcf->timeout = NGX_CONF_UNSET_MSEC;
    rcf->lease = NGX_CONF_UNSET_MSEC;
    lmcf->redis = rcf;

    return rcf;
}


/*
 * linkcert_redis address[:port] | unix:path ... [sentinel=name]
 *     [password=file] [db=number] [prefix=string] [lease=time]
 *     [timeout=time];
 */

char *
ngx_http_linkcert_redis(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char                            *rv;
    ngx_str_t                       *value;
    ngx_uint_t                       i;
    ngx_http_linkcert_redis_conf_t  *rcf;

    rcf = ngx_http_linkcert_redis_conf(cf, conf);
    if (rcf == NULL) {
        return NGX_CONF_ERROR;
    }

    if (rcf->file) {
        return "is duplicate";
    }

    rcf->file = cf->conf_file->file.name.data;
    rcf->line = cf->conf_file->line;

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strlchr(value[i].data, value[i].data + value[i].len, '=')) {
            rv = ngx_http_linkcert_redis_param(cf, rcf, &value[i]);

        } else {
            rv = ngx_http_linkcert_redis_address(cf, rcf, &value[i]);
        }

        if (rv != NGX_CONF_OK) {
            return rv;
        }
    }

    if (rcf->addr.sockaddr == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"linkcert_redis\" needs the address of the "
                           "Redis server");
        return NGX_CONF_ERROR;
    }

    if (rcf->prefix.data == NULL) {
        ngx_str_set(&rcf->prefix, "linkcert:");
    }

    if (rcf->timeout == NGX_CONF_UNSET_MSEC) {
        rcf->timeout = NGX_HTTP_LINKCERT_REDIS_TIMEOUT;
    }

    if (rcf->lease == NGX_CONF_UNSET_MSEC) {
        rcf->lease = NGX_HTTP_LINKCERT_REDIS_LEASE;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_linkcert_redis_param(ngx_conf_t *cf,
    ngx_http_linkcert_redis_conf_t *rcf, ngx_str_t *value)
{
    u_char     *c;
    ngx_int_t   n;
    ngx_str_t   s;

    if (ngx_strncmp(value->data, "password=", 9) == 0) {
        s.data = value->data + 9;
        s.len = value->len - 9;

        if (rcf->password.data || s.len == 0) {
            goto invalid;
        }

        return ngx_http_linkcert_redis_password(cf, rcf, &s);
    }

    if (ngx_strncmp(value->data, "db=", 3) == 0) {
        n = ngx_atoi(value->data + 3, value->len - 3);
        if (n == NGX_ERROR) {
            goto invalid;
        }

        rcf->db = n;
        return NGX_CONF_OK;
    }

    if (ngx_strncmp(value->data, "prefix=", 7) == 0) {
        s.data = value->data + 7;
        s.len = value->len - 7;

        /* printable, no space: it is shown in redis-cli and in logs */

        for (c = s.data; c < s.data + s.len; c++) {
            if (*c <= ' ' || *c >= 0x7f) {
                goto invalid;
            }
        }

        if (s.len == 0 || s.len > 64) {
            goto invalid;
        }

        rcf->prefix = s;
        return NGX_CONF_OK;
    }

    if (ngx_strncmp(value->data, "timeout=", 8) == 0) {
        s.data = value->data + 8;
        s.len = value->len - 8;

        rcf->timeout = ngx_parse_time(&s, 0);

        if (rcf->timeout == (ngx_msec_t) NGX_ERROR || rcf->timeout == 0) {
            goto invalid;
        }

        return NGX_CONF_OK;
    }

    /* renewed every third of it: at least a second */

    if (ngx_strncmp(value->data, "lease=", 6) == 0) {
        s.data = value->data + 6;
        s.len = value->len - 6;

        rcf->lease = ngx_parse_time(&s, 0);

        if (rcf->lease == (ngx_msec_t) NGX_ERROR || rcf->lease < 1000) {
            goto invalid;
        }

        return NGX_CONF_OK;
    }

    if (ngx_strncmp(value->data, "sentinel=", 9) == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" in \"linkcert_redis\" is not "
                           "implemented yet (see README, \"Several edges\")",
                           value);
        return NGX_CONF_ERROR;
    }

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\" in \"linkcert_redis\"",
                       value);
    return NGX_CONF_ERROR;
}


static char *
ngx_http_linkcert_redis_address(ngx_conf_t *cf,
    ngx_http_linkcert_redis_conf_t *rcf, ngx_str_t *value)
{
    ngx_url_t  u;

    if (rcf->addr.sockaddr) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"linkcert_redis\": a second address \"%V\" "
                           "needs \"sentinel=\", which is not implemented "
                           "yet", value);
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url = *value;
    u.default_port = NGX_HTTP_LINKCERT_REDIS_PORT;
    u.no_resolve = 1;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK
        || (u.family != AF_UNIX && u.no_port == 0 && u.port == 0)
        || u.uri.len)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid address \"%V\" in \"linkcert_redis\"%s%s",
                           value, u.err ? ": " : "", u.err ? u.err : "");
        return NGX_CONF_ERROR;
    }

    /* a worker connects without a blocking lookup */

    if (u.naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid address \"%V\" in \"linkcert_redis\": "
                           "an IP address or unix: path is required, not "
                           "a name", value);
        return NGX_CONF_ERROR;
    }

    rcf->addr = u.addrs[0];

    return NGX_CONF_OK;
}


static char *
ngx_http_linkcert_redis_password(ngx_conf_t *cf,
    ngx_http_linkcert_redis_conf_t *rcf, ngx_str_t *file)
{
    u_char     buf[1024];
    ngx_int_t  rc;
    ngx_str_t  secret;

    rc = ngx_http_linkcert_read_secret(cf, "linkcert_redis password=", file,
                                       buf, sizeof(buf), &secret);

    if (rc == NGX_OK) {
        rcf->password.data = ngx_pnalloc(cf->pool, secret.len);

        if (rcf->password.data == NULL) {
            rc = NGX_ERROR;

        } else {
            ngx_memcpy(rcf->password.data, secret.data, secret.len);
            rcf->password.len = secret.len;
        }
    }

    ngx_explicit_memzero(buf, sizeof(buf));

    return rc == NGX_OK ? NGX_CONF_OK : NGX_CONF_ERROR;
}


/* linkcert_redis_key file; the key itself is never logged */

char *
ngx_http_linkcert_redis_key(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    u_char                           buf[256];
    ngx_int_t                        rc;
    ngx_str_t                       *value, secret;
    ngx_http_linkcert_redis_conf_t  *rcf;

    rcf = ngx_http_linkcert_redis_conf(cf, conf);
    if (rcf == NULL) {
        return NGX_CONF_ERROR;
    }

    if (rcf->key_set) {
        return "is duplicate";
    }

    value = cf->args->elts;

    rc = ngx_http_linkcert_read_secret(cf, "linkcert_redis_key", &value[1],
                                       buf, sizeof(buf), &secret);

    if (rc == NGX_OK
        && lc_seal_key_parse((char *) secret.data, secret.len, rcf->key)
           != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"linkcert_redis_key\": \"%V\" does not hold "
                           "64 hexadecimal characters (make it with "
                           "\"openssl rand -hex 32\")", &value[1]);
        rc = NGX_ERROR;
    }

    ngx_explicit_memzero(buf, sizeof(buf));

    if (rc != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    rcf->key_set = 1;

    return NGX_CONF_OK;
}


/* linkcert_edge name; unique in the fleet, shown in logs and metrics */

char *
ngx_http_linkcert_edge(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    u_char                          *c;
    ngx_str_t                       *value;
    ngx_http_linkcert_redis_conf_t  *rcf;

    rcf = ngx_http_linkcert_redis_conf(cf, conf);
    if (rcf == NULL) {
        return NGX_CONF_ERROR;
    }

    if (rcf->edge.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 0 || value[1].len > NGX_HTTP_LINKCERT_EDGE_MAX) {
        goto invalid;
    }

    for (c = value[1].data; c < value[1].data + value[1].len; c++) {
        if (!(isalnum(*c) || *c == '-' || *c == '.' || *c == '_')) {
            goto invalid;
        }
    }

    rcf->edge = value[1];

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid value \"%V\" in \"linkcert_edge\": 1 to %d "
                       "letters, digits, \"-\", \".\" or \"_\"", &value[1],
                       NGX_HTTP_LINKCERT_EDGE_MAX);
    return NGX_CONF_ERROR;
}


/* at the end of the http block: the three go together */

ngx_int_t
ngx_http_linkcert_redis_init_conf(ngx_conf_t *cf,
    ngx_http_linkcert_main_conf_t *lmcf)
{
    ngx_http_linkcert_redis_conf_t  *rcf;

    rcf = lmcf->redis;

    if (rcf == NULL) {
        return NGX_OK;
    }

    if (rcf->file == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%s\" requires the \"linkcert_redis\" "
                           "directive",
                           rcf->key_set ? "linkcert_redis_key"
                                        : "linkcert_edge");
        return NGX_ERROR;
    }

    if (!rcf->key_set) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"linkcert_redis\" requires the "
                      "\"linkcert_redis_key\" directive (the same key "
                      "file on every edge) in %s:%ui",
                      rcf->file, rcf->line);
        return NGX_ERROR;
    }

    if (rcf->edge.data == NULL) {
        rcf->edge = cf->cycle->hostname;
    }

    return NGX_OK;
}
