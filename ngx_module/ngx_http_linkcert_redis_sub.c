
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: worker 0's second connection to Redis, subscribed to the
 * fleet's changes (RESP2: a subscribed connection can do nothing else).
 * It is a connection of the client (ngx_http_linkcert_redis.c) as the
 * worker's other one is, made the same way (AUTH with password=, CLIENT
 * SETNAME linkcert-<edge>-<pid>-sub), then SUBSCRIBE <prefix>changes.
 * Each message, and the subscription itself (the first one and each one
 * after a loss, which may have missed messages), tells
 * ngx_http_linkcert_redis_cert.c to read the changes it has not applied.
 * A subscription not made within the timeout, or the client's PING of
 * an idle connection not answered within it, means Redis hangs: the
 * connection is made again, after 100 ms doubling up to 5 s, as the other
 * one.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert_redis.h"


typedef struct {
    ngx_http_linkcert_redis_conn_t  *conn;
    ngx_log_t                       *log;
    ngx_uint_t                       again;      /* after a loss */
} ngx_http_linkcert_sub_t;


static void ngx_http_linkcert_sub_ready(void *data, ngx_uint_t again);
static void ngx_http_linkcert_sub_subscribed(void *data, redisReply *reply,
    const char *error);
static void ngx_http_linkcert_sub_message(void *data, redisReply *reply);


static ngx_http_linkcert_sub_t  *ngx_http_linkcert_sub;


ngx_int_t
ngx_http_linkcert_redis_sub_init_process(ngx_cycle_t *cycle)
{
    ngx_http_linkcert_sub_t  *sub;

    sub = ngx_pcalloc(cycle->pool, sizeof(ngx_http_linkcert_sub_t));
    if (sub == NULL) {
        return NGX_ERROR;
    }

    sub->conn = ngx_http_linkcert_redis_conn_create(cycle,
                                             ngx_http_linkcert_redis_fleet(),
                                             "subscription: ",
                                             ngx_http_linkcert_sub_ready,
                                             ngx_http_linkcert_sub_message,
                                             sub);
    if (sub->conn == NULL) {
        return NGX_ERROR;
    }

    sub->log = cycle->log;

    ngx_http_linkcert_sub = sub;

    ngx_http_linkcert_redis_conn_start(sub->conn);

    return NGX_OK;
}


void
ngx_http_linkcert_redis_sub_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_linkcert_sub_t  *sub;

    sub = ngx_http_linkcert_sub;

    if (sub == NULL) {
        return;
    }

    ngx_http_linkcert_sub = NULL;

    ngx_http_linkcert_redis_conn_free(sub->conn);
}


/* connected (again): the subscription */

static void
ngx_http_linkcert_sub_ready(void *data, ngx_uint_t again)
{
    ngx_http_linkcert_sub_t *sub = data;

    u_char                           channel[128];
    size_t                           lens[2];
    const char                      *argv[2];
    ngx_http_linkcert_redis_conf_t  *rcf;

    rcf = ngx_http_linkcert_redis_fleet();

    sub->again = sub->again || again;

    argv[0] = "SUBSCRIBE";
    argv[1] = (char *) channel;
    lens[0] = 9;
    lens[1] = ngx_snprintf(channel, sizeof(channel), "%Vchanges",
                           &rcf->prefix) - channel;

    if (ngx_http_linkcert_redis_conn_command(sub->conn, 2, argv, lens,
                                             ngx_http_linkcert_sub_subscribed,
                                             sub)
        == NULL)
    {
        ngx_http_linkcert_redis_conn_close(sub->conn, "out of memory");
    }
}


static void
ngx_http_linkcert_sub_subscribed(void *data, redisReply *reply,
    const char *error)
{
    ngx_http_linkcert_sub_t *sub = data;

    if (reply == NULL) {
        return;                     /* the connection is being closed */
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, sub->log, 0,
                      "linkcert: redis %V refused the subscription: %*s",
                      ngx_http_linkcert_redis_conn_name(sub->conn),
                      (size_t) reply->len, reply->str);
        ngx_http_linkcert_redis_conn_close(sub->conn,
                                           "subscription refused");
        return;
    }

    ngx_log_error(NGX_LOG_NOTICE, sub->log, 0,
                  "linkcert: redis %V: subscribed to the fleet's changes%s",
                  ngx_http_linkcert_redis_conn_name(sub->conn),
                  sub->again ? " again" : "");

    sub->again = 0;

    /* what was missed meanwhile */
    ngx_http_linkcert_redis_cert_changed();
}


static void
ngx_http_linkcert_sub_message(void *data, redisReply *reply)
{
    ngx_http_linkcert_redis_cert_changed();
}
