
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the directives of the zone, the store, the cache and the API,
 * and nginx's slots with the directive and the value in their errors
 * (ngx_http_linkcert_module.c has the module, its commands and hooks).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/sha.h>

#include "ngx_http_linkcert.h"


#define NGX_HTTP_LINKCERT_MIN_ZONE   (8 * ngx_pagesize)


static void ngx_http_linkcert_zone_resized(ngx_conf_t *cf, ngx_str_t *name,
    size_t size);


char *
ngx_http_linkcert_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_linkcert_main_conf_t *lmcf = conf;

    u_char                    *p;
    ssize_t                    size;
    ngx_str_t                 *value, name, s;
    ngx_http_linkcert_zone_t  *ctx;

    if (lmcf->shm_zone) {
        return "is duplicate";
    }

    value = cf->args->elts;

    p = (u_char *) ngx_strchr(value[1].data, ':');

    if (p == NULL || p == value[1].data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone \"%V\" in \"linkcert_zone\", "
                           "expected name:size", &value[1]);
        return NGX_CONF_ERROR;
    }

    name.data = value[1].data;
    name.len = p - value[1].data;

    s.data = p + 1;
    s.len = value[1].data + value[1].len - s.data;

    size = ngx_parse_size(&s);

    if (size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone size \"%V\" in \"linkcert_zone\"",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    if (size < (ssize_t) NGX_HTTP_LINKCERT_MIN_ZONE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is too small in \"linkcert_zone\", "
                           "at least %uzk is needed", &value[1],
                           (size_t) NGX_HTTP_LINKCERT_MIN_ZONE / 1024);
        return NGX_CONF_ERROR;
    }

    ctx = ngx_pcalloc(cf->pool, sizeof(ngx_http_linkcert_zone_t));
    if (ctx == NULL) {
        return NGX_CONF_ERROR;
    }

    ctx->conf = lmcf;
    ctx->cycle = cf->cycle;

    lmcf->shm_zone = ngx_shared_memory_add(cf, &name, size,
                                           &ngx_http_linkcert_module);
    if (lmcf->shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (lmcf->shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate zone \"%V\" in \"linkcert_zone\"",
                           &name);
        return NGX_CONF_ERROR;
    }

    lmcf->shm_zone->init = ngx_http_linkcert_loader_init_zone;
    lmcf->shm_zone->data = ctx;

    ngx_http_linkcert_zone_resized(cf, &name, size);

    return NGX_CONF_OK;
}


/*
 * nginx makes a new zone when the size changes: the table is then loaded
 * from the store again, and work in progress starts over.  Say so.
 */

static void
ngx_http_linkcert_zone_resized(ngx_conf_t *cf, ngx_str_t *name, size_t size)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_shm_zone_t   *zone;

    if (cf->cycle->old_cycle == NULL
        || cf->cycle->old_cycle->shared_memory.part.elts == NULL)
    {
        return;
    }

    part = &cf->cycle->old_cycle->shared_memory.part;
    zone = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return;
            }

            part = part->next;
            zone = part->elts;
            i = 0;
        }

        if (zone[i].tag == &ngx_http_linkcert_module
            && zone[i].shm.name.len == name->len
            && ngx_strncmp(zone[i].shm.name.data, name->data, name->len) == 0
            && zone[i].shm.size != size)
        {
            ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                               "linkcert_zone \"%V\" changes size from %uzk "
                               "to %uzk: a new zone is made and loaded from "
                               "the store; verifications and orders in "
                               "progress start over", name,
                               zone[i].shm.size / 1024, size / 1024);
            return;
        }
    }
}


/*
 * Only the SHA-256 of the secret is kept: the secret itself never stays
 * in memory past this function and can therefore never be logged.
 */

char *
ngx_http_linkcert_api_key(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_linkcert_main_conf_t *lmcf = conf;

    ngx_str_t  *value, secret;
    u_char      buf[4096];

    if (lmcf->api_key_set) {
        return "is duplicate";
    }

    value = cf->args->elts;
    lmcf->api_key_file = value[1];

    if (ngx_http_linkcert_read_secret(cf, "linkcert_api_key",
                                      &lmcf->api_key_file, buf, sizeof(buf),
                                      &secret)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    SHA256(secret.data, secret.len, lmcf->api_key_hash);
    ngx_explicit_memzero(buf, sizeof(buf));

    lmcf->api_key_set = 1;

    return NGX_CONF_OK;
}


/*
 * The location answers the keyed API in the content phase, below its
 * name: a prefix or exact location, so that the name is a path.
 */

char *
ngx_http_linkcert_api(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t       *clcf;
    ngx_http_linkcert_main_conf_t  *lmcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler == ngx_http_linkcert_api_location_handler) {
        return "is duplicate";
    }

    if (clcf->named
#if (NGX_PCRE)
        || clcf->regex
#endif
        || clcf->name.len == 0 || clcf->name.data[0] != '/')
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"linkcert_api\" cannot be used in location "
                           "\"%V\": a prefix or exact location is needed, "
                           "such as \"location /linkcert/\"", &clcf->name);
        return NGX_CONF_ERROR;
    }

    clcf->handler = ngx_http_linkcert_api_location_handler;

    lmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_linkcert_module);

    if (lmcf->api_file == NULL) {
        lmcf->api_file = cf->conf_file->file.name.data;
        lmcf->api_line = cf->conf_file->line;
    }

    return NGX_CONF_OK;
}


/*
 * A secret in a file of its own: leading and trailing whitespace (the
 * final newline) is not part of it.  The caller wipes buf.
 */

ngx_int_t
ngx_http_linkcert_read_secret(ngx_conf_t *cf, const char *directive,
    ngx_str_t *file, u_char *buf, size_t size, ngx_str_t *secret)
{
    u_char           *start, *end;
    ssize_t           n;
    ngx_fd_t          fd;
    ngx_file_info_t   fi;

    if (ngx_conf_full_name(cf->cycle, file, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    fd = ngx_open_file(file->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"%s\": " ngx_open_file_n " \"%s\" failed",
                           directive, file->data);
        return NGX_ERROR;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR
        || ngx_file_size(&fi) >= (off_t) size)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%s\": \"%s\" is not a regular file under %uz "
                           "bytes", directive, file->data, size);
        (void) ngx_close_file(fd);
        return NGX_ERROR;
    }

    n = ngx_read_fd(fd, buf, size);
    (void) ngx_close_file(fd);

    if (n == -1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"%s\": " ngx_read_fd_n " \"%s\" failed",
                           directive, file->data);
        return NGX_ERROR;
    }

    start = buf;
    end = buf + n;

    while (start < end && isspace(*start)) {
        start++;
    }

    while (end > start && isspace(end[-1])) {
        end--;
    }

    if (start == end) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%s\": \"%s\" is empty", directive, file->data);
        return NGX_ERROR;
    }

    secret->data = start;
    secret->len = end - start;

    return NGX_OK;
}


char *
ngx_http_linkcert_cache_size(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_linkcert_main_conf_t *lmcf = conf;

    ngx_int_t   n;
    ngx_str_t  *value;

    if (lmcf->cache_size != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    n = ngx_atoi(value[1].data, value[1].len);

    if (n == NGX_ERROR || n < 1 || n > 10000000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\" in \"linkcert_cache_size\" "
                           "directive, expected 1 to 10000000", &value[1]);
        return NGX_CONF_ERROR;
    }

    lmcf->cache_size = n;

    return NGX_CONF_OK;
}


/*
 * linkcert_store path: checked here, where the file and line are known.
 * The directory itself is created by the master at start (nginx -t
 * creates nothing): here its parent must exist, or the store must be a
 * directory already.
 */

char *
ngx_http_linkcert_store_dir(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_linkcert_main_conf_t *lmcf = conf;

    u_char           *p, *slash, *parent;
    ngx_str_t        *value;
    ngx_file_info_t   fi;

    if (lmcf->store.data) {
        return "is duplicate";
    }

    value = cf->args->elts;
    lmcf->store = value[1];
    lmcf->store_file = cf->conf_file->file.name.data;
    lmcf->store_line = cf->conf_file->line;

    if (ngx_conf_full_name(cf->cycle, &lmcf->store, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    /* used with system calls: no trailing "/", NUL-terminated */

    while (lmcf->store.len > 1
           && lmcf->store.data[lmcf->store.len - 1] == '/')
    {
        lmcf->store.len--;
    }

    if (lmcf->store.len + sizeof("/domains//fullchain.pem") + LC_DOMAIN_MAX
        > NGX_MAX_PATH)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"linkcert_store\" path \"%V\" is too long",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    p = ngx_pnalloc(cf->pool, lmcf->store.len + 1);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_cpystrn(p, lmcf->store.data, lmcf->store.len + 1);
    lmcf->store.data = p;

    if (ngx_file_info(p, &fi) != NGX_FILE_ERROR) {

        if (!ngx_is_dir(&fi)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"linkcert_store\" \"%s\" is not a "
                               "directory", p);
            return NGX_CONF_ERROR;
        }

        return NGX_CONF_OK;
    }

    if (ngx_errno != NGX_ENOENT) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"linkcert_store\" \"%s\": "
                           ngx_file_info_n " failed", p);
        return NGX_CONF_ERROR;
    }

    /* missing: made at start, in a directory that must exist */

    slash = (u_char *) strrchr((char *) p, '/');

    if (slash == NULL || slash == p) {
        return NGX_CONF_OK;
    }

    parent = ngx_pnalloc(cf->temp_pool, slash - p + 1);
    if (parent == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_cpystrn(parent, p, slash - p + 1);

    if (ngx_file_info(parent, &fi) == NGX_FILE_ERROR || !ngx_is_dir(&fi)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"linkcert_store\" \"%s\": its parent "
                           "directory \"%s\" does not exist", p, parent);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


char *
ngx_http_linkcert_positive_sec(ngx_conf_t *cf, void *post, void *data)
{
    time_t  *sp = data;

    if (*sp <= 0) {
        return "must be at least 1s";
    }

    return NGX_CONF_OK;
}


/*
 * A number with its unit: "linkcert_renew_at 67%" (0% renews at the next
 * check), "linkcert_order_rate 100/h".
 */

char *
ngx_http_linkcert_suffixed(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_linkcert_suffixed_t  *sf = cmd->post;

    size_t       len;
    ngx_int_t    n;
    ngx_str_t   *value;
    ngx_uint_t  *np;

    np = (ngx_uint_t *) ((char *) conf + cmd->offset);

    if (*np != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;
    len = ngx_strlen(sf->suffix);
    n = NGX_ERROR;

    if (value[1].len > len
        && ngx_strcmp(value[1].data + value[1].len - len, sf->suffix) == 0)
    {
        n = ngx_atoi(value[1].data, value[1].len - len);
    }

    if (n == NGX_ERROR || n < sf->min || n > sf->max) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\" in \"%V\", expected %s",
                           &value[1], &cmd->name, sf->expected);
        return NGX_CONF_ERROR;
    }

    *np = n;

    return NGX_CONF_OK;
}


char *
ngx_http_linkcert_slot(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_linkcert_slot_t  *slot = cmd->post;

    char             *rv;
    u_char           *p, *last;
    ngx_str_t        *value;
    ngx_command_t     inner;
    ngx_conf_enum_t  *e;
    u_char            allowed[128];

    value = cf->args->elts;

    /* nginx's enum slot would log a line of its own, without the name */

    if (slot->set == ngx_conf_set_enum_slot) {
        for (e = slot->post; e->name.len; e++) {
            if (e->name.len == value[1].len
                && ngx_strcasecmp(e->name.data, value[1].data) == 0)
            {
                break;
            }
        }

        if (e->name.len == 0) {

            /* the allowed values, as "a", "b" or "c" */

            p = allowed;
            last = allowed + sizeof(allowed);

            for (e = slot->post; e->name.len; e++) {
                p = ngx_slprintf(p, last, "%s\"%V\"",
                                 (e == slot->post) ? ""
                                 : (e[1].name.len ? ", " : " or "),
                                 &e->name);
            }

            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid value \"%V\" in \"%V\", expected %*s",
                               &value[1], &cmd->name, p - allowed, allowed);
            return NGX_CONF_ERROR;
        }
    }

    inner = *cmd;
    inner.post = slot->post;

    rv = slot->set(cf, &inner, conf);

    if (rv == NGX_CONF_OK
        || (rv != NGX_CONF_ERROR && ngx_strcmp(rv, "is duplicate") == 0))
    {
        return rv;
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid value \"%V\" in \"%V\"%s%s",
                       &value[1], &cmd->name,
                       (rv == NGX_CONF_ERROR) ? "" : ": ",
                       (rv == NGX_CONF_ERROR) ? "" : rv);

    return NGX_CONF_ERROR;
}
