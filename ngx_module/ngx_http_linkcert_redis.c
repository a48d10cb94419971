
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the Redis client of each worker, in nginx's event loop: this
 * worker's connection for commands (a connection of
 * ngx_http_linkcert_redis_conn.c, the fleet's scripts loaded on it), the
 * requests and scripts sent on it, and the address every connection is
 * made to.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert_redis.h"

#include <openssl/sha.h>


#define NGX_HTTP_LINKCERT_REDIS_ARGS         16      /* of a script */


static void ngx_http_linkcert_redis_engine_ready(void *data,
    ngx_uint_t again);


/* this worker's connection for commands, and its fleet */
static ngx_http_linkcert_redis_conn_t  *ngx_http_linkcert_redis_engine;
static ngx_http_linkcert_redis_conf_t  *ngx_http_linkcert_redis_conf;


ngx_int_t
ngx_http_linkcert_redis_init_process(ngx_cycle_t *cycle)
{
    u_char                             sha[SHA_DIGEST_LENGTH];
    ngx_http_linkcert_redis_conn_t    *conn;
    ngx_http_linkcert_main_conf_t     *lmcf;
    ngx_http_linkcert_redis_script_t **script;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    lmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_linkcert_module);

    if (lmcf == NULL || !lmcf->enabled || lmcf->redis == NULL) {
        return NGX_OK;
    }

    for (script = ngx_http_linkcert_redis_scripts; *script; script++) {
        SHA1((u_char *) (*script)->text, ngx_strlen((*script)->text), sha);
        ngx_hex_dump((u_char *) (*script)->sha, sha, SHA_DIGEST_LENGTH);
        (*script)->sha[2 * SHA_DIGEST_LENGTH] = '\0';
    }

    conn = ngx_http_linkcert_redis_conn_create(cycle, lmcf->redis, "",
                                          ngx_http_linkcert_redis_engine_ready,
                                          NULL, NULL);
    if (conn == NULL) {
        return NGX_ERROR;
    }

    ngx_http_linkcert_redis_engine = conn;
    ngx_http_linkcert_redis_conf = lmcf->redis;

    if (ngx_http_linkcert_redis_pending_init_process(cycle) != NGX_OK
        || ngx_http_linkcert_redis_upload_init_process(cycle) != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_linkcert_redis_conn_start(conn);

    return NGX_OK;
}


void
ngx_http_linkcert_redis_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_linkcert_redis_conn_t  *conn;

    ngx_http_linkcert_redis_pending_exit_process(cycle);
    ngx_http_linkcert_redis_upload_exit_process(cycle);

    conn = ngx_http_linkcert_redis_engine;
    ngx_http_linkcert_redis_engine = NULL;
    ngx_http_linkcert_redis_conf = NULL;

    ngx_http_linkcert_redis_conn_free(conn);
}


/* this worker's fleet: NULL without linkcert_redis */

ngx_http_linkcert_redis_conf_t *
ngx_http_linkcert_redis_fleet(void)
{
    return ngx_http_linkcert_redis_conf;
}


ngx_uint_t
ngx_http_linkcert_redis_connected(void)
{
    return ngx_http_linkcert_redis_engine
           && ngx_http_linkcert_redis_conn_ready(
                                           ngx_http_linkcert_redis_engine);
}


/* in a fleet, and this worker is not connected to Redis now */

ngx_uint_t
ngx_http_linkcert_redis_away(void)
{
    return ngx_http_linkcert_redis_engine
           && !ngx_http_linkcert_redis_conn_ready(
                                           ngx_http_linkcert_redis_engine);
}


/*
 * A request on this worker's connection for commands: queued at once;
 * written now if the connection is ready.  NULL (and no handler call) if
 * it cannot be queued.
 */

ngx_http_linkcert_redis_req_t *
ngx_http_linkcert_redis_command(int argc, const char **argv,
    const size_t *argvlen, ngx_http_linkcert_redis_handler_pt handler,
    void *data)
{
    if (ngx_http_linkcert_redis_engine == NULL) {
        return NULL;
    }

    return ngx_http_linkcert_redis_conn_command(
                                  ngx_http_linkcert_redis_engine, argc, argv,
                                  argvlen, handler, data);
}


/* EVALSHA of a script loaded on every connection */

ngx_http_linkcert_redis_req_t *
ngx_http_linkcert_redis_eval(ngx_http_linkcert_redis_script_t *script,
    int argc, const char **argv, const size_t *argvlen,
    ngx_http_linkcert_redis_handler_pt handler, void *data)
{
    int          i;
    size_t       lens[NGX_HTTP_LINKCERT_REDIS_ARGS + 3];
    const char  *args[NGX_HTTP_LINKCERT_REDIS_ARGS + 3];

    if (argc > NGX_HTTP_LINKCERT_REDIS_ARGS) {
        return NULL;
    }

    args[0] = "EVALSHA";
    lens[0] = 7;
    args[1] = script->sha;
    lens[1] = 2 * SHA_DIGEST_LENGTH;
    args[2] = script->nkeys;
    lens[2] = 1;

    for (i = 0; i < argc; i++) {
        args[i + 3] = argv[i];
        lens[i + 3] = argvlen[i];
    }

    return ngx_http_linkcert_redis_command(argc + 3, args, lens, handler,
                                           data);
}


/*
 * The address conn's next connection is made to: linkcert_redis's, the
 * only place where it is chosen; with sentinel=, the master the Sentinels
 * name (NULL while they are asked: conn is started again then).
 */

ngx_addr_t *
ngx_http_linkcert_redis_connect_to(ngx_http_linkcert_redis_conn_t *conn,
    ngx_http_linkcert_redis_conf_t *conf)
{
    if (conf->sentinel.len) {
        return ngx_http_linkcert_redis_sentinel_pick(conn);
    }

    return &conf->addr;
}


static void
ngx_http_linkcert_redis_engine_ready(void *data, ngx_uint_t again)
{
    ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                  "linkcert: redis %V connected (edge \"%V\")%s",
                  ngx_http_linkcert_redis_conn_name(
                                               ngx_http_linkcert_redis_engine),
                  &ngx_http_linkcert_redis_conf->edge,
                  again ? " again" : "");

    /* what could not be written meanwhile (worker 0) */
    ngx_http_linkcert_redis_pending_flush();

    /* what Redis lacks of what this edge holds (worker 0) */
    ngx_http_linkcert_redis_upload_connected();
}
