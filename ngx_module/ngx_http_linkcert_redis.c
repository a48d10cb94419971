
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the Redis client of each worker, in nginx's event loop.
 *
 * One connection per worker (ngx_event_connect_peer, to an address: no
 * lookup), RESP written with hiredis's redisFormatCommandArgv and read
 * with its redisReader; hiredis never touches the socket.  Requests are
 * pipelined and answered in order.  Each has its own timeout: one that
 * waits for a connection fails alone, one written and not answered in
 * time means the server hangs, and the connection is closed (every
 * request on it fails) and made again.  A connection is made again after
 * a loss with a backoff (100 ms doubling to 5 s), starting with AUTH,
 * SELECT, CLIENT SETNAME and SCRIPT LOAD of the fleet's scripts (so that
 * EVALSHA finds them); requests made meanwhile wait for it within their
 * timeout.  A handler is never called before
 * ngx_http_linkcert_redis_command() returns.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert_redis.h"

#include <openssl/sha.h>


#define NGX_HTTP_LINKCERT_REDIS_BACKOFF_MIN  100     /* ms */
#define NGX_HTTP_LINKCERT_REDIS_BACKOFF_MAX  5000
#define NGX_HTTP_LINKCERT_REDIS_WAITING_MAX  4096    /* while disconnected */
#define NGX_HTTP_LINKCERT_REDIS_ARGS         8       /* of a script */


typedef enum {
    NGX_HTTP_LINKCERT_REDIS_DOWN = 0,
    NGX_HTTP_LINKCERT_REDIS_CONNECTING,
    NGX_HTTP_LINKCERT_REDIS_HANDSHAKE,              /* AUTH, SELECT */
    NGX_HTTP_LINKCERT_REDIS_READY
} ngx_http_linkcert_redis_state_e;


struct ngx_http_linkcert_redis_req_s {
    ngx_queue_t                          queue;
    ngx_event_t                          timer;
    char                                *cmd;        /* RESP, malloc()ed */
    size_t                               len;
    ngx_http_linkcert_redis_handler_pt   handler;    /* NULL: cancelled */
    void                                *data;
    unsigned                             written:1;  /* out or sent */
    unsigned                             internal:1; /* of the handshake */
};


typedef struct {
    ngx_http_linkcert_redis_conf_t      *conf;
    ngx_log_t                           *log;
    ngx_peer_connection_t                peer;
    redisReader                         *reader;

    ngx_queue_t                          waiting;    /* for a connection */
    ngx_queue_t                          out;        /* being written */
    ngx_queue_t                          sent;       /* replies in order */
    size_t                               out_pos;    /* of out's head */
    ngx_uint_t                           nwaiting;

    ngx_http_linkcert_redis_state_e      state;
    ngx_uint_t                           handshake;  /* replies to come */
    ngx_uint_t                           generation; /* of the connection */
    ngx_uint_t                           failures;   /* since connected */
    ngx_msec_t                           backoff;
    ngx_event_t                          retry;
} ngx_http_linkcert_redis_t;


static void ngx_http_linkcert_redis_connect(ngx_event_t *ev);
static void ngx_http_linkcert_redis_connected_handler(ngx_event_t *wev);
static void ngx_http_linkcert_redis_handshake(ngx_http_linkcert_redis_t *rd);
static ngx_int_t ngx_http_linkcert_redis_setup(ngx_http_linkcert_redis_t *rd,
    int argc, const char **argv, const size_t *lens);
static void ngx_http_linkcert_redis_handshake_reply(void *data,
    redisReply *reply, const char *error);
static void ngx_http_linkcert_redis_ready(ngx_http_linkcert_redis_t *rd);
static ngx_http_linkcert_redis_req_t *ngx_http_linkcert_redis_req(int argc,
    const char **argv, const size_t *argvlen,
    ngx_http_linkcert_redis_handler_pt handler, void *data);
static void ngx_http_linkcert_redis_write(ngx_event_t *wev);
static void ngx_http_linkcert_redis_read(ngx_event_t *rev);
static void ngx_http_linkcert_redis_timeout(ngx_event_t *ev);
static void ngx_http_linkcert_redis_close(ngx_http_linkcert_redis_t *rd,
    const char *reason);
static void ngx_http_linkcert_redis_deliver(
    ngx_http_linkcert_redis_req_t *req, redisReply *reply,
    const char *error);
static void ngx_http_linkcert_redis_free(ngx_http_linkcert_redis_req_t *req);
static void ngx_http_linkcert_redis_move(ngx_queue_t *to, ngx_queue_t *from);


static ngx_http_linkcert_redis_t  *ngx_http_linkcert_redis_engine;


ngx_int_t
ngx_http_linkcert_redis_init_process(ngx_cycle_t *cycle)
{
    u_char                             sha[SHA_DIGEST_LENGTH];
    ngx_http_linkcert_redis_t         *rd;
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

    rd = ngx_pcalloc(cycle->pool, sizeof(ngx_http_linkcert_redis_t));
    if (rd == NULL) {
        return NGX_ERROR;
    }

    for (script = ngx_http_linkcert_redis_scripts; *script; script++) {
        SHA1((u_char *) (*script)->text, ngx_strlen((*script)->text), sha);
        ngx_hex_dump((u_char *) (*script)->sha, sha, SHA_DIGEST_LENGTH);
        (*script)->sha[2 * SHA_DIGEST_LENGTH] = '\0';
    }

    rd->conf = lmcf->redis;
    rd->log = cycle->log;
    rd->backoff = NGX_HTTP_LINKCERT_REDIS_BACKOFF_MIN;

    ngx_queue_init(&rd->waiting);
    ngx_queue_init(&rd->out);
    ngx_queue_init(&rd->sent);

    rd->retry.handler = ngx_http_linkcert_redis_connect;
    rd->retry.data = rd;
    rd->retry.log = cycle->log;
    rd->retry.cancelable = 1;

    ngx_http_linkcert_redis_engine = rd;

    ngx_http_linkcert_redis_connect(&rd->retry);

    return NGX_OK;
}


void
ngx_http_linkcert_redis_exit_process(ngx_cycle_t *cycle)
{
    ngx_queue_t                    *q;
    ngx_http_linkcert_redis_t      *rd;
    ngx_http_linkcert_redis_req_t  *req;

    rd = ngx_http_linkcert_redis_engine;

    if (rd == NULL) {
        return;
    }

    ngx_http_linkcert_redis_engine = NULL;

    if (rd->retry.timer_set) {
        ngx_del_timer(&rd->retry);
    }

    if (rd->peer.connection) {
        ngx_close_connection(rd->peer.connection);
        rd->peer.connection = NULL;
    }

    /* the process ends: nobody waits for the handlers */

    ngx_http_linkcert_redis_move(&rd->waiting, &rd->out);
    ngx_http_linkcert_redis_move(&rd->waiting, &rd->sent);

    while (!ngx_queue_empty(&rd->waiting)) {
        q = ngx_queue_head(&rd->waiting);
        ngx_queue_remove(q);
        req = ngx_queue_data(q, ngx_http_linkcert_redis_req_t, queue);
        ngx_http_linkcert_redis_free(req);
    }

    if (rd->reader) {
        redisReaderFree(rd->reader);
    }
}


/* this worker's fleet: NULL without linkcert_redis */

ngx_http_linkcert_redis_conf_t *
ngx_http_linkcert_redis_fleet(void)
{
    return ngx_http_linkcert_redis_engine
           ? ngx_http_linkcert_redis_engine->conf : NULL;
}


ngx_uint_t
ngx_http_linkcert_redis_connected(void)
{
    return ngx_http_linkcert_redis_engine
           && ngx_http_linkcert_redis_engine->state
              == NGX_HTTP_LINKCERT_REDIS_READY;
}


/*
 * A request: queued at once; written now if the connection is ready.
 * NULL (and no handler call) if it cannot be queued.
 */

ngx_http_linkcert_redis_req_t *
ngx_http_linkcert_redis_command(int argc, const char **argv,
    const size_t *argvlen, ngx_http_linkcert_redis_handler_pt handler,
    void *data)
{
    ngx_http_linkcert_redis_t      *rd;
    ngx_http_linkcert_redis_req_t  *req;

    rd = ngx_http_linkcert_redis_engine;

    if (rd == NULL || rd->nwaiting >= NGX_HTTP_LINKCERT_REDIS_WAITING_MAX) {
        return NULL;
    }

    req = ngx_http_linkcert_redis_req(argc, argv, argvlen, handler, data);
    if (req == NULL) {
        return NULL;
    }

    if (rd->state != NGX_HTTP_LINKCERT_REDIS_READY) {
        ngx_queue_insert_tail(&rd->waiting, &req->queue);
        rd->nwaiting++;
        return req;
    }

    req->written = 1;
    ngx_queue_insert_tail(&rd->out, &req->queue);
    ngx_post_event(rd->peer.connection->write, &ngx_posted_events);

    return req;
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


/* the handler will not be called; a request written waits for its reply */

void
ngx_http_linkcert_redis_cancel(ngx_http_linkcert_redis_req_t *req)
{
    req->handler = NULL;

    if (!req->written) {
        ngx_queue_remove(&req->queue);
        ngx_http_linkcert_redis_engine->nwaiting--;
        ngx_http_linkcert_redis_free(req);
    }
}


static ngx_http_linkcert_redis_req_t *
ngx_http_linkcert_redis_req(int argc, const char **argv,
    const size_t *argvlen, ngx_http_linkcert_redis_handler_pt handler,
    void *data)
{
    int                             len;
    ngx_http_linkcert_redis_t      *rd;
    ngx_http_linkcert_redis_req_t  *req;

    rd = ngx_http_linkcert_redis_engine;

    req = ngx_calloc(sizeof(ngx_http_linkcert_redis_req_t), rd->log);
    if (req == NULL) {
        return NULL;
    }

    len = redisFormatCommandArgv(&req->cmd, argc, argv, argvlen);
    if (len < 0) {
        ngx_free(req);
        return NULL;
    }

    req->len = len;
    req->handler = handler;
    req->data = data;

    req->timer.handler = ngx_http_linkcert_redis_timeout;
    req->timer.data = req;
    req->timer.log = rd->log;

    ngx_add_timer(&req->timer, rd->conf->timeout);

    return req;
}


static void
ngx_http_linkcert_redis_connect(ngx_event_t *ev)
{
    ngx_int_t                   rc;
    ngx_connection_t           *c;
    ngx_http_linkcert_redis_t  *rd;

    rd = ev->data;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    if (rd->reader == NULL) {
        rd->reader = redisReaderCreate();

        if (rd->reader == NULL) {
            ngx_http_linkcert_redis_close(rd, "out of memory");
            return;
        }
    }

    ngx_memzero(&rd->peer, sizeof(ngx_peer_connection_t));

    rd->peer.sockaddr = rd->conf->addr.sockaddr;
    rd->peer.socklen = rd->conf->addr.socklen;
    rd->peer.name = &rd->conf->addr.name;
    rd->peer.get = ngx_event_get_peer;
    rd->peer.log = rd->log;
    rd->peer.log_error = NGX_ERROR_ERR;

    rd->state = NGX_HTTP_LINKCERT_REDIS_CONNECTING;

    rc = ngx_event_connect_peer(&rd->peer);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        rd->peer.connection = NULL;
        ngx_http_linkcert_redis_close(rd, "cannot connect");
        return;
    }

    c = rd->peer.connection;
    c->data = rd;
    c->pool = NULL;
    c->read->handler = ngx_http_linkcert_redis_read;
    c->write->handler = ngx_http_linkcert_redis_connected_handler;

    if (rc == NGX_AGAIN) {
        ngx_add_timer(c->write, rd->conf->timeout);
        return;
    }

    ngx_http_linkcert_redis_connected_handler(c->write);
}


static void
ngx_http_linkcert_redis_connected_handler(ngx_event_t *wev)
{
    ngx_connection_t           *c;
    ngx_http_linkcert_redis_t  *rd;

    c = wev->data;
    rd = c->data;

    if (wev->timedout) {
        ngx_http_linkcert_redis_close(rd, "connect timed out");
        return;
    }

    if (wev->timer_set) {
        ngx_del_timer(wev);
    }

    if (ngx_http_linkcert_connect_error(c, NGX_LOG_INFO,
                                        &rd->conf->addr.name))
    {
        ngx_http_linkcert_redis_close(rd, "connection refused");
        return;
    }

    if (rd->conf->addr.sockaddr->sa_family != AF_UNIX) {
        (void) ngx_tcp_nodelay(c);
    }

    c->write->handler = ngx_http_linkcert_redis_write;

    ngx_http_linkcert_redis_handshake(rd);
}


/*
 * AUTH, SELECT, CLIENT SETNAME and SCRIPT LOAD, written before any request
 * of ours; the requests wait for their replies.
 */

static void
ngx_http_linkcert_redis_handshake(ngx_http_linkcert_redis_t *rd)
{
    u_char                            db[NGX_INT_T_LEN], name[128];
    size_t                            lens[3];
    const char                       *argv[3];
    ngx_http_linkcert_redis_conf_t   *rcf;
    ngx_http_linkcert_redis_script_t **script;

    rcf = rd->conf;
    rd->state = NGX_HTTP_LINKCERT_REDIS_HANDSHAKE;
    rd->handshake = 0;

    if (rcf->password.len) {
        argv[0] = "AUTH";
        argv[1] = (char *) rcf->password.data;
        lens[0] = 4;
        lens[1] = rcf->password.len;

        if (ngx_http_linkcert_redis_setup(rd, 2, argv, lens) != NGX_OK) {
            return;
        }
    }

    if (rcf->db) {
        argv[0] = "SELECT";
        argv[1] = (char *) db;
        lens[0] = 6;
        lens[1] = ngx_sprintf(db, "%ui", rcf->db) - db;

        if (ngx_http_linkcert_redis_setup(rd, 2, argv, lens) != NGX_OK) {
            return;
        }
    }

    argv[0] = "CLIENT";
    argv[1] = "SETNAME";
    argv[2] = (char *) name;
    lens[0] = 6;
    lens[1] = 7;
    lens[2] = ngx_snprintf(name, sizeof(name), "linkcert-%V-%P",
                           &rcf->edge, ngx_pid) - name;

    if (ngx_http_linkcert_redis_setup(rd, 3, argv, lens) != NGX_OK) {
        return;
    }

    for (script = ngx_http_linkcert_redis_scripts; *script; script++) {
        argv[0] = "SCRIPT";
        argv[1] = "LOAD";
        argv[2] = (*script)->text;
        lens[0] = 6;
        lens[1] = 4;
        lens[2] = ngx_strlen((*script)->text);

        if (ngx_http_linkcert_redis_setup(rd, 3, argv, lens) != NGX_OK) {
            return;
        }
    }

    ngx_http_linkcert_redis_write(rd->peer.connection->write);
}


static ngx_int_t
ngx_http_linkcert_redis_setup(ngx_http_linkcert_redis_t *rd, int argc,
    const char **argv, const size_t *lens)
{
    ngx_http_linkcert_redis_req_t  *req;

    req = ngx_http_linkcert_redis_req(argc, argv, lens,
                                      ngx_http_linkcert_redis_handshake_reply,
                                      rd);
    if (req == NULL) {
        ngx_http_linkcert_redis_close(rd, "out of memory");
        return NGX_ERROR;
    }

    req->written = 1;
    req->internal = 1;
    ngx_queue_insert_tail(&rd->out, &req->queue);
    rd->handshake++;

    return NGX_OK;
}


static void
ngx_http_linkcert_redis_handshake_reply(void *data, redisReply *reply,
    const char *error)
{
    ngx_http_linkcert_redis_t *rd = data;

    if (reply == NULL) {
        return;         /* the connection is being closed */
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "linkcert: redis %V refused the connection's setup: "
                      "%*s", &rd->conf->addr.name, (size_t) reply->len,
                      reply->str);
        ngx_http_linkcert_redis_close(rd, "setup refused");
        return;
    }

    if (--rd->handshake == 0) {
        ngx_http_linkcert_redis_ready(rd);
    }
}


static void
ngx_http_linkcert_redis_ready(ngx_http_linkcert_redis_t *rd)
{
    ngx_queue_t                    *q;
    ngx_http_linkcert_redis_req_t  *req;

    rd->state = NGX_HTTP_LINKCERT_REDIS_READY;
    rd->backoff = NGX_HTTP_LINKCERT_REDIS_BACKOFF_MIN;

    ngx_log_error(NGX_LOG_NOTICE, rd->log, 0,
                  "linkcert: redis %V connected (edge \"%V\")%s",
                  &rd->conf->addr.name, &rd->conf->edge,
                  rd->failures ? " again" : "");

    rd->failures = 0;

    for (q = ngx_queue_head(&rd->waiting);
         q != ngx_queue_sentinel(&rd->waiting);
         q = ngx_queue_next(q))
    {
        req = ngx_queue_data(q, ngx_http_linkcert_redis_req_t, queue);
        req->written = 1;
    }

    ngx_http_linkcert_redis_move(&rd->out, &rd->waiting);
    rd->nwaiting = 0;

    ngx_http_linkcert_redis_write(rd->peer.connection->write);
}


static void
ngx_http_linkcert_redis_write(ngx_event_t *wev)
{
    ssize_t                         n;
    ngx_queue_t                    *q;
    ngx_connection_t               *c;
    ngx_http_linkcert_redis_t      *rd;
    ngx_http_linkcert_redis_req_t  *req;

    c = wev->data;
    rd = c->data;

    while (!ngx_queue_empty(&rd->out)) {
        q = ngx_queue_head(&rd->out);
        req = ngx_queue_data(q, ngx_http_linkcert_redis_req_t, queue);

        n = c->send(c, (u_char *) req->cmd + rd->out_pos,
                    req->len - rd->out_pos);

        if (n == NGX_ERROR) {
            ngx_http_linkcert_redis_close(rd, "send failed");
            return;
        }

        if (n == NGX_AGAIN) {
            if (ngx_handle_write_event(wev, 0) != NGX_OK) {
                ngx_http_linkcert_redis_close(rd, "send failed");
            }

            return;
        }

        rd->out_pos += n;

        if (rd->out_pos == req->len) {
            rd->out_pos = 0;
            ngx_queue_remove(q);
            ngx_queue_insert_tail(&rd->sent, q);
        }
    }
}


static void
ngx_http_linkcert_redis_read(ngx_event_t *rev)
{
    void                           *reply;
    ssize_t                         n;
    ngx_uint_t                      generation;
    ngx_queue_t                    *q;
    ngx_connection_t               *c;
    ngx_http_linkcert_redis_t      *rd;
    ngx_http_linkcert_redis_req_t  *req;
    u_char                          buf[16384];

    c = rev->data;
    rd = c->data;
    generation = rd->generation;

    if (c->close) {
        ngx_http_linkcert_redis_close(rd, "worker is exiting");
        return;
    }

    /* a refused connect() may be seen by the read event first */

    if (rd->state == NGX_HTTP_LINKCERT_REDIS_CONNECTING) {
        ngx_http_linkcert_redis_connected_handler(c->write);
        return;
    }

    for ( ;; ) {
        n = c->recv(c, buf, sizeof(buf));

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == 0 || n == NGX_ERROR) {
            ngx_http_linkcert_redis_close(rd, n ? "read failed"
                                                : "connection closed");
            return;
        }

        if (redisReaderFeed(rd->reader, (char *) buf, n) != REDIS_OK) {
            ngx_http_linkcert_redis_close(rd, "protocol error");
            return;
        }

        for ( ;; ) {
            if (redisReaderGetReply(rd->reader, &reply) != REDIS_OK) {
                ngx_http_linkcert_redis_close(rd, "protocol error");
                return;
            }

            if (reply == NULL) {
                break;
            }

            if (ngx_queue_empty(&rd->sent)) {
                freeReplyObject(reply);
                ngx_http_linkcert_redis_close(rd, "a reply to nothing");
                return;
            }

            q = ngx_queue_head(&rd->sent);
            ngx_queue_remove(q);
            req = ngx_queue_data(q, ngx_http_linkcert_redis_req_t, queue);

            ngx_http_linkcert_redis_deliver(req, reply, NULL);
            freeReplyObject(reply);

            /* a handler may have closed the connection */

            if (rd->generation != generation) {
                return;
            }
        }
    }

    if (ngx_handle_read_event(rev, 0) != NGX_OK) {
        ngx_http_linkcert_redis_close(rd, "read failed");
    }
}


/*
 * A request not written yet fails alone; one written and not answered
 * in time means the server hangs: the connection is made again.
 */

static void
ngx_http_linkcert_redis_timeout(ngx_event_t *ev)
{
    ngx_http_linkcert_redis_t      *rd;
    ngx_http_linkcert_redis_req_t  *req;

    req = ev->data;
    rd = ngx_http_linkcert_redis_engine;

    if (req->written) {
        ngx_http_linkcert_redis_close(rd, "a request timed out");
        return;
    }

    ngx_queue_remove(&req->queue);
    rd->nwaiting--;

    ngx_http_linkcert_redis_deliver(req, NULL, "no connection to redis");
}


/* closes the connection, fails what was written on it, tries again later */

static void
ngx_http_linkcert_redis_close(ngx_http_linkcert_redis_t *rd,
    const char *reason)
{
    ngx_uint_t                      level;
    ngx_queue_t                     failed, *q;
    ngx_http_linkcert_redis_req_t  *req;

    level = (rd->state == NGX_HTTP_LINKCERT_REDIS_READY || rd->failures == 0)
            ? NGX_LOG_ERR : NGX_LOG_INFO;

    ngx_log_error(level, rd->log, 0,
                  "linkcert: redis %V: %s, connecting again in %M ms",
                  &rd->conf->addr.name, reason, rd->backoff);

    if (rd->peer.connection) {
        ngx_close_connection(rd->peer.connection);
        rd->peer.connection = NULL;
    }

    if (rd->reader) {
        redisReaderFree(rd->reader);
        rd->reader = NULL;
    }

    rd->state = NGX_HTTP_LINKCERT_REDIS_DOWN;
    rd->generation++;
    rd->failures++;
    rd->out_pos = 0;

    if (!ngx_exiting && !ngx_quit && !ngx_terminate) {
        ngx_add_timer(&rd->retry, rd->backoff);
        rd->backoff = ngx_min(rd->backoff * 2,
                              NGX_HTTP_LINKCERT_REDIS_BACKOFF_MAX);
    }

    /* handlers may queue new requests: they wait for the next connection */

    ngx_queue_init(&failed);
    ngx_http_linkcert_redis_move(&failed, &rd->sent);
    ngx_http_linkcert_redis_move(&failed, &rd->out);

    while (!ngx_queue_empty(&failed)) {
        q = ngx_queue_head(&failed);
        ngx_queue_remove(q);
        req = ngx_queue_data(q, ngx_http_linkcert_redis_req_t, queue);

        ngx_http_linkcert_redis_deliver(req, NULL, reason);
    }
}


static void
ngx_http_linkcert_redis_deliver(ngx_http_linkcert_redis_req_t *req,
    redisReply *reply, const char *error)
{
    if (req->handler) {
        req->handler(req->data, reply, error);
    }

    ngx_http_linkcert_redis_free(req);
}


static void
ngx_http_linkcert_redis_free(ngx_http_linkcert_redis_req_t *req)
{
    if (req->timer.timer_set) {
        ngx_del_timer(&req->timer);
    }

    redisFreeCommand(req->cmd);
    ngx_free(req);
}


/* appends the requests of from to to; from is left empty */

static void
ngx_http_linkcert_redis_move(ngx_queue_t *to, ngx_queue_t *from)
{
    if (!ngx_queue_empty(from)) {
        ngx_queue_add(to, from);
        ngx_queue_init(from);
    }
}


u_char *
ngx_http_linkcert_redis_metrics(u_char *p, u_char *last,
    ngx_http_linkcert_main_conf_t *lmcf)
{
    if (lmcf->redis == NULL) {
        return p;
    }

    return ngx_slprintf(p, last,
               "# HELP linkcert_redis_connected Whether the worker that "
               "answered is connected to Redis.\n"
               "# TYPE linkcert_redis_connected gauge\n"
               "linkcert_redis_connected{edge=\"%V\"} %ui\n",
               &lmcf->redis->edge, ngx_http_linkcert_redis_connected());
}
