
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: worker 0's second connection to Redis, subscribed to the
 * fleet's changes (RESP2: a subscribed connection can do nothing else).
 * AUTH (with password=), CLIENT SETNAME linkcert-<edge>-<pid>-sub, and
 * SUBSCRIBE <prefix>changes are written at once; each message, and the
 * subscription itself (the first one and each one after a loss, which
 * may have missed messages), tells ngx_http_linkcert_redis_cert.c to read
 * the changes it has not applied.  A PING every 5 s (or the linkcert_redis
 * timeout, if longer) still unanswered at the next one, or a subscription
 * not made within the timeout, means Redis hangs: the connection is made
 * again, after 100 ms doubling up to 5 s, as the other one.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert_redis.h"


#define NGX_HTTP_LINKCERT_SUB_BACKOFF_MIN  100       /* ms */
#define NGX_HTTP_LINKCERT_SUB_BACKOFF_MAX  5000
#define NGX_HTTP_LINKCERT_SUB_PING         5000


typedef struct {
    ngx_http_linkcert_redis_conf_t  *conf;
    ngx_log_t                       *log;
    ngx_peer_connection_t            peer;
    redisReader                     *reader;
    u_char                          *out;        /* what is left to send */
    size_t                           out_len;
    u_char                          *buf;        /* malloc()ed, all of it */
    ngx_uint_t                       subscribed;
    ngx_uint_t                       pinged;     /* no PONG yet */
    ngx_uint_t                       failures;
    ngx_msec_t                       backoff;
    ngx_event_t                      retry;
    ngx_event_t                      ping;
} ngx_http_linkcert_sub_t;


static void ngx_http_linkcert_sub_connect(ngx_event_t *ev);
static void ngx_http_linkcert_sub_connected(ngx_event_t *wev);
static ngx_int_t ngx_http_linkcert_sub_queue(ngx_http_linkcert_sub_t *sub,
    int argc, const char **argv, const size_t *lens);
static void ngx_http_linkcert_sub_write(ngx_event_t *wev);
static void ngx_http_linkcert_sub_read(ngx_event_t *rev);
static ngx_int_t ngx_http_linkcert_sub_reply(ngx_http_linkcert_sub_t *sub,
    redisReply *reply);
static void ngx_http_linkcert_sub_ping(ngx_event_t *ev);
static void ngx_http_linkcert_sub_close(ngx_http_linkcert_sub_t *sub,
    const char *reason);


static ngx_http_linkcert_sub_t  *ngx_http_linkcert_sub;


ngx_int_t
ngx_http_linkcert_redis_sub_init_process(ngx_cycle_t *cycle)
{
    ngx_http_linkcert_sub_t  *sub;

    sub = ngx_pcalloc(cycle->pool, sizeof(ngx_http_linkcert_sub_t));
    if (sub == NULL) {
        return NGX_ERROR;
    }

    sub->conf = ngx_http_linkcert_redis_fleet();
    sub->log = cycle->log;
    sub->backoff = NGX_HTTP_LINKCERT_SUB_BACKOFF_MIN;

    sub->retry.handler = ngx_http_linkcert_sub_connect;
    sub->retry.data = sub;
    sub->retry.log = cycle->log;
    sub->retry.cancelable = 1;

    sub->ping.handler = ngx_http_linkcert_sub_ping;
    sub->ping.data = sub;
    sub->ping.log = cycle->log;
    sub->ping.cancelable = 1;

    ngx_http_linkcert_sub = sub;

    ngx_http_linkcert_sub_connect(&sub->retry);

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

    if (sub->retry.timer_set) {
        ngx_del_timer(&sub->retry);
    }

    if (sub->ping.timer_set) {
        ngx_del_timer(&sub->ping);
    }

    if (sub->peer.connection) {
        ngx_close_connection(sub->peer.connection);
        sub->peer.connection = NULL;
    }

    if (sub->reader) {
        redisReaderFree(sub->reader);
    }

    ngx_free(sub->buf);
}


static void
ngx_http_linkcert_sub_connect(ngx_event_t *ev)
{
    ngx_int_t                 rc;
    ngx_connection_t         *c;
    ngx_http_linkcert_sub_t  *sub;

    sub = ev->data;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    sub->reader = redisReaderCreate();

    if (sub->reader == NULL) {
        ngx_http_linkcert_sub_close(sub, "out of memory");
        return;
    }

    ngx_memzero(&sub->peer, sizeof(ngx_peer_connection_t));

    sub->peer.sockaddr = sub->conf->addr.sockaddr;
    sub->peer.socklen = sub->conf->addr.socklen;
    sub->peer.name = &sub->conf->addr.name;
    sub->peer.get = ngx_event_get_peer;
    sub->peer.log = sub->log;
    sub->peer.log_error = NGX_ERROR_ERR;

    rc = ngx_event_connect_peer(&sub->peer);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        sub->peer.connection = NULL;
        ngx_http_linkcert_sub_close(sub, "cannot connect");
        return;
    }

    c = sub->peer.connection;
    c->data = sub;
    c->pool = NULL;
    c->read->handler = ngx_http_linkcert_sub_read;
    c->write->handler = ngx_http_linkcert_sub_connected;

    if (rc == NGX_AGAIN) {
        ngx_add_timer(c->write, sub->conf->timeout);
        return;
    }

    ngx_http_linkcert_sub_connected(c->write);
}


static void
ngx_http_linkcert_sub_connected(ngx_event_t *wev)
{
    u_char                           name[128], channel[128];
    size_t                           lens[3];
    const char                      *argv[3];
    ngx_connection_t                *c;
    ngx_http_linkcert_sub_t         *sub;
    ngx_http_linkcert_redis_conf_t  *rcf;

    c = wev->data;
    sub = c->data;
    rcf = sub->conf;

    if (wev->timedout) {
        ngx_http_linkcert_sub_close(sub, "connect timed out");
        return;
    }

    if (wev->timer_set) {
        ngx_del_timer(wev);
    }

    if (ngx_http_linkcert_connect_error(c, NGX_LOG_INFO, &rcf->addr.name)) {
        ngx_http_linkcert_sub_close(sub, "connection refused");
        return;
    }

    c->write->handler = ngx_http_linkcert_sub_write;

    if (rcf->password.len) {
        argv[0] = "AUTH";
        argv[1] = (char *) rcf->password.data;
        lens[0] = 4;
        lens[1] = rcf->password.len;

        if (ngx_http_linkcert_sub_queue(sub, 2, argv, lens) != NGX_OK) {
            return;
        }
    }

    argv[0] = "CLIENT";
    argv[1] = "SETNAME";
    argv[2] = (char *) name;
    lens[0] = 6;
    lens[1] = 7;
    lens[2] = ngx_snprintf(name, sizeof(name), "linkcert-%V-%P-sub",
                           &rcf->edge, ngx_pid) - name;

    if (ngx_http_linkcert_sub_queue(sub, 3, argv, lens) != NGX_OK) {
        return;
    }

    argv[0] = "SUBSCRIBE";
    argv[1] = (char *) channel;
    lens[0] = 9;
    lens[1] = ngx_snprintf(channel, sizeof(channel), "%Vchanges",
                           &rcf->prefix) - channel;

    if (ngx_http_linkcert_sub_queue(sub, 2, argv, lens) != NGX_OK) {
        return;
    }

    ngx_add_timer(&sub->ping, sub->conf->timeout);

    ngx_http_linkcert_sub_write(c->write);
}


/* appends a request to what is to be sent */

static ngx_int_t
ngx_http_linkcert_sub_queue(ngx_http_linkcert_sub_t *sub, int argc,
    const char **argv, const size_t *lens)
{
    int      len;
    char    *cmd;
    u_char  *buf;

    len = redisFormatCommandArgv(&cmd, argc, argv, lens);
    if (len < 0) {
        ngx_http_linkcert_sub_close(sub, "out of memory");
        return NGX_ERROR;
    }

    buf = ngx_alloc(sub->out_len + len, sub->log);
    if (buf == NULL) {
        redisFreeCommand(cmd);
        ngx_http_linkcert_sub_close(sub, "out of memory");
        return NGX_ERROR;
    }

    if (sub->out_len) {
        ngx_memcpy(buf, sub->out, sub->out_len);
    }

    ngx_memcpy(buf + sub->out_len, cmd, len);
    redisFreeCommand(cmd);

    ngx_free(sub->buf);
    sub->buf = buf;
    sub->out = buf;
    sub->out_len += len;

    return NGX_OK;
}


static void
ngx_http_linkcert_sub_write(ngx_event_t *wev)
{
    ssize_t                   n;
    ngx_connection_t         *c;
    ngx_http_linkcert_sub_t  *sub;

    c = wev->data;
    sub = c->data;

    while (sub->out_len) {
        n = c->send(c, sub->out, sub->out_len);

        if (n == NGX_ERROR) {
            ngx_http_linkcert_sub_close(sub, "send failed");
            return;
        }

        if (n == NGX_AGAIN) {
            if (ngx_handle_write_event(wev, 0) != NGX_OK) {
                ngx_http_linkcert_sub_close(sub, "send failed");
            }

            return;
        }

        sub->out += n;
        sub->out_len -= n;
    }
}


static void
ngx_http_linkcert_sub_read(ngx_event_t *rev)
{
    void                     *reply;
    ssize_t                   n;
    ngx_int_t                 rc;
    ngx_connection_t         *c;
    ngx_http_linkcert_sub_t  *sub;
    u_char                    buf[4096];

    c = rev->data;
    sub = c->data;

    if (c->close) {
        ngx_http_linkcert_sub_close(sub, "worker is exiting");
        return;
    }

    /* a refused connect() may be seen by the read event first */

    if (c->write->handler == ngx_http_linkcert_sub_connected) {
        ngx_http_linkcert_sub_connected(c->write);
        return;
    }

    for ( ;; ) {
        n = c->recv(c, buf, sizeof(buf));

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == 0 || n == NGX_ERROR) {
            ngx_http_linkcert_sub_close(sub, n ? "read failed"
                                               : "connection closed");
            return;
        }

        if (redisReaderFeed(sub->reader, (char *) buf, n) != REDIS_OK) {
            ngx_http_linkcert_sub_close(sub, "protocol error");
            return;
        }

        for ( ;; ) {
            if (redisReaderGetReply(sub->reader, &reply) != REDIS_OK) {
                ngx_http_linkcert_sub_close(sub, "protocol error");
                return;
            }

            if (reply == NULL) {
                break;
            }

            rc = ngx_http_linkcert_sub_reply(sub, reply);
            freeReplyObject(reply);

            if (rc != NGX_OK) {
                return;             /* closed */
            }
        }
    }

    if (ngx_handle_read_event(rev, 0) != NGX_OK) {
        ngx_http_linkcert_sub_close(sub, "read failed");
    }
}


/* +OK of the setup, the subscription, a message or a PONG */

static ngx_int_t
ngx_http_linkcert_sub_reply(ngx_http_linkcert_sub_t *sub, redisReply *reply)
{
    redisReply  *kind;

    if (reply->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, sub->log, 0,
                      "linkcert: redis %V refused the subscription: %*s",
                      &sub->conf->addr.name, (size_t) reply->len,
                      reply->str);
        ngx_http_linkcert_sub_close(sub, "subscription refused");
        return NGX_ERROR;
    }

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0
        || reply->element[0]->type != REDIS_REPLY_STRING)
    {
        return NGX_OK;              /* +OK of AUTH, CLIENT SETNAME */
    }

    kind = reply->element[0];
    sub->pinged = 0;                /* any answer: Redis is there */

    if (kind->len == 9 && ngx_strncmp(kind->str, "subscribe", 9) == 0) {
        ngx_log_error(NGX_LOG_NOTICE, sub->log, 0,
                      "linkcert: redis %V: subscribed to the fleet's "
                      "changes%s", &sub->conf->addr.name,
                      sub->failures ? " again" : "");

        sub->subscribed = 1;
        sub->failures = 0;
        sub->backoff = NGX_HTTP_LINKCERT_SUB_BACKOFF_MIN;

        /* what was missed meanwhile */
        ngx_http_linkcert_redis_cert_changed();

    } else if (kind->len == 7 && ngx_strncmp(kind->str, "message", 7) == 0) {
        ngx_http_linkcert_redis_cert_changed();
    }

    return NGX_OK;
}


static void
ngx_http_linkcert_sub_ping(ngx_event_t *ev)
{
    size_t                    len;
    const char               *argv[1];
    ngx_http_linkcert_sub_t  *sub;

    sub = ev->data;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    if (sub->pinged || !sub->subscribed) {
        ngx_http_linkcert_sub_close(sub, sub->subscribed
                                         ? "no answer to PING"
                                         : "subscription timed out");
        return;
    }

    argv[0] = "PING";
    len = 4;

    if (ngx_http_linkcert_sub_queue(sub, 1, argv, &len) != NGX_OK) {
        return;
    }

    sub->pinged = 1;

    /* the answer within the timeout, and the next PING after a while */

    ngx_add_timer(ev, ngx_max(sub->conf->timeout,
                              NGX_HTTP_LINKCERT_SUB_PING));

    ngx_http_linkcert_sub_write(sub->peer.connection->write);
}


static void
ngx_http_linkcert_sub_close(ngx_http_linkcert_sub_t *sub, const char *reason)
{
    ngx_uint_t  level;

    level = (sub->subscribed || sub->failures == 0) ? NGX_LOG_ERR
                                                    : NGX_LOG_INFO;

    ngx_log_error(level, sub->log, 0,
                  "linkcert: redis %V: subscription: %s, connecting again "
                  "in %M ms", &sub->conf->addr.name, reason, sub->backoff);

    if (sub->peer.connection) {
        ngx_close_connection(sub->peer.connection);
        sub->peer.connection = NULL;
    }

    if (sub->reader) {
        redisReaderFree(sub->reader);
        sub->reader = NULL;
    }

    if (sub->ping.timer_set) {
        ngx_del_timer(&sub->ping);
    }

    ngx_free(sub->buf);
    sub->buf = NULL;
    sub->out = NULL;
    sub->out_len = 0;
    sub->subscribed = 0;
    sub->pinged = 0;
    sub->failures++;

    if (!ngx_exiting && !ngx_quit && !ngx_terminate) {
        ngx_add_timer(&sub->retry, sub->backoff);
        sub->backoff = ngx_min(sub->backoff * 2,
                               NGX_HTTP_LINKCERT_SUB_BACKOFF_MAX);
    }
}
