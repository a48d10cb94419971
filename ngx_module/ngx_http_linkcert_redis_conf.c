
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the fleet's directives, linkcert_redis, linkcert_redis_key
 * and linkcert_edge.  The server is an address, never a name: finding
 * it must not need a blocking lookup in a worker.  With sentinel=name the
 * addresses are Sentinels (ngx_http_linkcert_redis_sentinel.c).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert_redis.h"


#define NGX_HTTP_LINKCERT_REDIS_PORT     6379
#define NGX_HTTP_LINKCERT_SENTINEL_PORT  26379
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
    const char *name, ngx_str_t *password, ngx_str_t *file);
static ngx_int_t ngx_http_linkcert_redis_printable(ngx_str_t *s);


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
 *     [sentinel_password=file] [password=file] [db=number]
 *     [prefix=string] [lease=time] [timeout=time];
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

    /* the parameters first: sentinel= says what the addresses are */

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strlchr(value[i].data, value[i].data + value[i].len, '=')) {
            rv = ngx_http_linkcert_redis_param(cf, rcf, &value[i]);

            if (rv != NGX_CONF_OK) {
                return rv;
            }
        }
    }

    if (rcf->sentinel.len) {
        rcf->sentinels = ngx_array_create(cf->pool, 3, sizeof(ngx_addr_t));
        if (rcf->sentinels == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strlchr(value[i].data, value[i].data + value[i].len, '=')
            == NULL)
        {
            rv = ngx_http_linkcert_redis_address(cf, rcf, &value[i]);

            if (rv != NGX_CONF_OK) {
                return rv;
            }
        }
    }

    if (rcf->sentinels ? rcf->sentinels->nelts == 0
                       : rcf->addr.sockaddr == NULL)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"linkcert_redis\" needs the address of the "
                           "%s", rcf->sentinels ? "Sentinels"
                                                : "Redis server");
        return NGX_CONF_ERROR;
    }

    if (rcf->sentinel_password.data && rcf->sentinels == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"linkcert_redis\": \"sentinel_password=\" "
                           "needs \"sentinel=name\" (it is the Sentinels' "
                           "password)");
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
    ngx_int_t   n;
    ngx_str_t   s;

    if (ngx_strncmp(value->data, "password=", 9) == 0) {
        s.data = value->data + 9;
        s.len = value->len - 9;

        if (rcf->password.data || s.len == 0) {
            goto invalid;
        }

        return ngx_http_linkcert_redis_password(cf, "linkcert_redis password=",
                                                &rcf->password, &s);
    }

    /* the Sentinels' own, when they have requirepass */

    if (ngx_strncmp(value->data, "sentinel_password=", 18) == 0) {
        s.data = value->data + 18;
        s.len = value->len - 18;

        if (rcf->sentinel_password.data || s.len == 0) {
            goto invalid;
        }

        return ngx_http_linkcert_redis_password(cf,
                                          "linkcert_redis sentinel_password=",
                                          &rcf->sentinel_password, &s);
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

        if (ngx_http_linkcert_redis_printable(&s) != NGX_OK) {
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

    /* the master's name as the Sentinels know it ("sentinel monitor") */

    if (ngx_strncmp(value->data, "sentinel=", 9) == 0) {
        s.data = value->data + 9;
        s.len = value->len - 9;

        if (rcf->sentinel.len
            || ngx_http_linkcert_redis_printable(&s) != NGX_OK)
        {
            goto invalid;
        }

        rcf->sentinel = s;
        return NGX_CONF_OK;
    }

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\" in \"linkcert_redis\"",
                       value);
    return NGX_CONF_ERROR;
}


/* printable, no space: shown in redis-cli and in logs */

static ngx_int_t
ngx_http_linkcert_redis_printable(ngx_str_t *s)
{
    u_char  *c;

    for (c = s->data; c < s->data + s->len; c++) {
        if (*c <= ' ' || *c >= 0x7f) {
            return NGX_ERROR;
        }
    }

    return (s->len == 0 || s->len > 64) ? NGX_ERROR : NGX_OK;
}


/*
 * One Redis server, or with sentinel= one or more Sentinels; several
 * servers without Sentinels would each hold a part of the fleet's state,
 * which nothing keeps in step.
 */

static char *
ngx_http_linkcert_redis_address(ngx_conf_t *cf,
    ngx_http_linkcert_redis_conf_t *rcf, ngx_str_t *value)
{
    ngx_url_t    u;
    ngx_addr_t  *addr;

    if (rcf->sentinels == NULL && rcf->addr.sockaddr) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"linkcert_redis\": a second address \"%V\" "
                           "needs \"sentinel=name\" (the addresses are "
                           "then Sentinels); without it the one address is "
                           "the Redis server the fleet shares", value);
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url = *value;
    u.default_port = rcf->sentinels ? NGX_HTTP_LINKCERT_SENTINEL_PORT
                                    : NGX_HTTP_LINKCERT_REDIS_PORT;
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

    if (rcf->sentinels == NULL) {
        rcf->addr = u.addrs[0];
        return NGX_CONF_OK;
    }

    addr = ngx_array_push(rcf->sentinels);
    if (addr == NULL) {
        return NGX_CONF_ERROR;
    }

    *addr = u.addrs[0];

    return NGX_CONF_OK;
}


/* password= and sentinel_password=: the secret is never logged */

static char *
ngx_http_linkcert_redis_password(ngx_conf_t *cf, const char *name,
    ngx_str_t *password, ngx_str_t *file)
{
    u_char     buf[1024];
    ngx_int_t  rc;
    ngx_str_t  secret;

    rc = ngx_http_linkcert_read_secret(cf, name, file, buf, sizeof(buf),
                                       &secret);

    if (rc == NGX_OK) {
        password->data = ngx_pnalloc(cf->pool, secret.len);

        if (password->data == NULL) {
            rc = NGX_ERROR;

        } else {
            ngx_memcpy(password->data, secret.data, secret.len);
            password->len = secret.len;
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
