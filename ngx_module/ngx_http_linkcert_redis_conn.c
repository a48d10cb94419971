
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: a connection to Redis, in nginx's event loop.  Each worker
 * has one for its commands (ngx_http_linkcert_redis.c); worker 0 has a
 * second one, subscribed to the fleet's changes
 * (ngx_http_linkcert_redis_sub.c): a subscriber, whose messages come
 * without a request (its push handler), and which needs no SELECT or
 * scripts.
 *
 * A connection is made with ngx_event_connect_peer to an address (no
 * lookup: ngx_http_linkcert_redis_connect_to()), RESP written with hiredis's
 * redisFormatCommandArgv and read with its redisReader; hiredis never
 * touches the socket.  Requests are pipelined and answered in order.
 * Each has its own timeout: one that waits for a connection fails alone,
 * one written and not answered in time means the server hangs, and the
 * connection is closed (every request on it fails) and made again.  An
 * idle connection is PINGed every second, so that a hanging server is
 * known without requests.  A connection is made again after a loss with a
 * backoff (100 ms doubling to 5 s), starting with AUTH, SELECT, CLIENT
 * SETNAME and SCRIPT LOAD of the fleet's scripts (so that EVALSHA finds
 * them); requests made meanwhile wait for it within their timeout.  A
 * handler is never called before the request's function returns.
 *
 * A bare connection (ngx_http_linkcert_redis_conn_bare(), the Sentinels'
 * and the ROLE probe of ngx_http_linkcert_redis_sentinel.c) is made to
 * the address its owner gives (ngx_http_linkcert_redis_conn_open()),
 * with none of that setup and no heartbeat; any request's timeout closes
 * it, a close fails every request and tells the owner (its closed
 * handler), and it is made again only if the owner opens it again.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert_redis.h"


#define NGX_HTTP_LINKCERT_REDIS_BACKOFF_MIN  100     /* ms */
#define NGX_HTTP_LINKCERT_REDIS_BACKOFF_MAX  5000
#define NGX_HTTP_LINKCERT_REDIS_WAITING_MAX  4096    /* while disconnected */
#define NGX_HTTP_LINKCERT_REDIS_HEARTBEAT    1000    /* ms, a PING if idle */


typedef enum {
    NGX_HTTP_LINKCERT_REDIS_DOWN = 0,
    NGX_HTTP_LINKCERT_REDIS_CONNECTING,
    NGX_HTTP_LINKCERT_REDIS_HANDSHAKE,              /* AUTH, SELECT */
    NGX_HTTP_LINKCERT_REDIS_READY
} ngx_http_linkcert_redis_state_e;


struct ngx_http_linkcert_redis_req_s {
    ngx_queue_t                          queue;
    ngx_event_t                          timer;
    ngx_http_linkcert_redis_conn_t      *conn;
    char                                *cmd;        /* RESP, malloc()ed */
    size_t                               len;
    ngx_http_linkcert_redis_handler_pt   handler;    /* NULL: cancelled */
    void                                *data;
    unsigned                             written:1;  /* out or sent */
};


struct ngx_http_linkcert_redis_conn_s {
    ngx_http_linkcert_redis_conf_t      *conf;
    ngx_addr_t                          *addr;       /* connected to */
    ngx_log_t                           *log;
    const char                          *role;       /* "", "subscription: " */
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
    ngx_event_t                          heartbeat;

    ngx_http_linkcert_redis_ready_pt     ready;      /* set up */
    ngx_http_linkcert_redis_push_pt      push;       /* a subscriber's */
    ngx_http_linkcert_redis_closed_pt    closed;     /* a bare one's */
    void                                *data;
    unsigned                             bare:1;
};


static void ngx_http_linkcert_redis_connect(ngx_event_t *ev);
static void ngx_http_linkcert_redis_connected_handler(ngx_event_t *wev);
static void ngx_http_linkcert_redis_handshake(
    ngx_http_linkcert_redis_conn_t *conn);
static ngx_int_t ngx_http_linkcert_redis_setup(
    ngx_http_linkcert_redis_conn_t *conn, int argc, const char **argv,
    const size_t *lens);
static void ngx_http_linkcert_redis_handshake_reply(void *data,
    redisReply *reply, const char *error);
static void ngx_http_linkcert_redis_ready(
    ngx_http_linkcert_redis_conn_t *conn);
static ngx_http_linkcert_redis_req_t *ngx_http_linkcert_redis_req(
    ngx_http_linkcert_redis_conn_t *conn, int argc, const char **argv,
    const size_t *argvlen, ngx_http_linkcert_redis_handler_pt handler,
    void *data);
static void ngx_http_linkcert_redis_heartbeat(ngx_event_t *ev);
static void ngx_http_linkcert_redis_conn_flush(
    ngx_http_linkcert_redis_conn_t *conn);
static void ngx_http_linkcert_redis_write(ngx_event_t *wev);
static void ngx_http_linkcert_redis_read(ngx_event_t *rev);
static ngx_int_t ngx_http_linkcert_redis_pushed(redisReply *reply);
static void ngx_http_linkcert_redis_timeout(ngx_event_t *ev);
static void ngx_http_linkcert_redis_deliver(
    ngx_http_linkcert_redis_req_t *req, redisReply *reply,
    const char *error);
static void ngx_http_linkcert_redis_free(ngx_http_linkcert_redis_req_t *req);
static void ngx_http_linkcert_redis_move(ngx_queue_t *to, ngx_queue_t *from);


/*
 * A connection (not made yet: ngx_http_linkcert_redis_conn_start()).
 * role names it in the log and in its client name; a push handler makes
 * it a subscriber.
 */

ngx_http_linkcert_redis_conn_t *
ngx_http_linkcert_redis_conn_create(ngx_cycle_t *cycle,
    ngx_http_linkcert_redis_conf_t *conf, const char *role,
    ngx_http_linkcert_redis_ready_pt ready,
    ngx_http_linkcert_redis_push_pt push, void *data)
{
    ngx_http_linkcert_redis_conn_t  *conn;

    conn = ngx_pcalloc(cycle->pool, sizeof(ngx_http_linkcert_redis_conn_t));
    if (conn == NULL) {
        return NULL;
    }

    conn->conf = conf;
    conn->addr = &conf->addr;
    conn->log = cycle->log;
    conn->role = role;
    conn->backoff = NGX_HTTP_LINKCERT_REDIS_BACKOFF_MIN;
    conn->ready = ready;
    conn->push = push;
    conn->data = data;

    ngx_queue_init(&conn->waiting);
    ngx_queue_init(&conn->out);
    ngx_queue_init(&conn->sent);

    conn->retry.handler = ngx_http_linkcert_redis_connect;
    conn->retry.data = conn;
    conn->retry.log = cycle->log;
    conn->retry.cancelable = 1;

    conn->heartbeat.handler = ngx_http_linkcert_redis_heartbeat;
    conn->heartbeat.data = conn;
    conn->heartbeat.log = cycle->log;
    conn->heartbeat.cancelable = 1;

    return conn;
}


/* a bare connection: no setup, no reconnect; closed tells its owner */

ngx_http_linkcert_redis_conn_t *
ngx_http_linkcert_redis_conn_bare(ngx_cycle_t *cycle,
    ngx_http_linkcert_redis_conf_t *conf,
    ngx_http_linkcert_redis_closed_pt closed,
    ngx_http_linkcert_redis_push_pt push, void *data)
{
    ngx_http_linkcert_redis_conn_t  *conn;

    conn = ngx_http_linkcert_redis_conn_create(cycle, conf, "", NULL, push,
                                               data);
    if (conn == NULL) {
        return NULL;
    }

    conn->bare = 1;
    conn->closed = closed;

    return conn;
}


void
ngx_http_linkcert_redis_conn_start(ngx_http_linkcert_redis_conn_t *conn)
{
    ngx_http_linkcert_redis_connect(&conn->retry);
}


/* a bare connection that is down is made to addr (kept by the caller) */

void
ngx_http_linkcert_redis_conn_open(ngx_http_linkcert_redis_conn_t *conn,
    ngx_addr_t *addr)
{
    conn->addr = addr;

    ngx_http_linkcert_redis_connect(&conn->retry);
}


/*
 * What is queued to be written and not sent yet goes now, once, without
 * waiting for its answer (a send that cannot take it all is left): in a
 * process that exits, the posted write event never runs, and a lease
 * released by a job that ends with the process would stay until it
 * expires.
 */

static void
ngx_http_linkcert_redis_conn_flush(ngx_http_linkcert_redis_conn_t *conn)
{
    size_t                          len;
    ngx_queue_t                    *q;
    ngx_connection_t               *c;
    ngx_http_linkcert_redis_req_t  *req;

    c = conn->peer.connection;

    if (c == NULL || conn->state != NGX_HTTP_LINKCERT_REDIS_READY) {
        return;
    }

    for (q = ngx_queue_head(&conn->out);
         q != ngx_queue_sentinel(&conn->out);
         q = ngx_queue_next(q))
    {
        req = ngx_queue_data(q, ngx_http_linkcert_redis_req_t, queue);
        len = req->len - conn->out_pos;

        if (c->send(c, (u_char *) req->cmd + conn->out_pos, len)
            != (ssize_t) len)
        {
            return;
        }

        conn->out_pos = 0;
    }
}


/*
 * Closed without a word to anyone, requests dropped: the process ends, or
 * a bare connection's owner is done with it (it may open it again).
 */

void
ngx_http_linkcert_redis_conn_free(ngx_http_linkcert_redis_conn_t *conn)
{
    ngx_queue_t                    *q;
    ngx_http_linkcert_redis_req_t  *req;

    if (conn == NULL) {
        return;
    }

    ngx_http_linkcert_redis_conn_flush(conn);

    if (conn->retry.timer_set) {
        ngx_del_timer(&conn->retry);
    }

    if (conn->heartbeat.timer_set) {
        ngx_del_timer(&conn->heartbeat);
    }

    if (conn->peer.connection) {
        ngx_close_connection(conn->peer.connection);
        conn->peer.connection = NULL;
    }

    ngx_http_linkcert_redis_move(&conn->waiting, &conn->out);
    ngx_http_linkcert_redis_move(&conn->waiting, &conn->sent);

    while (!ngx_queue_empty(&conn->waiting)) {
        q = ngx_queue_head(&conn->waiting);
        ngx_queue_remove(q);
        req = ngx_queue_data(q, ngx_http_linkcert_redis_req_t, queue);
        ngx_http_linkcert_redis_free(req);
    }

    if (conn->reader) {
        redisReaderFree(conn->reader);
        conn->reader = NULL;
    }

    conn->state = NGX_HTTP_LINKCERT_REDIS_DOWN;
    conn->generation++;
    conn->nwaiting = 0;
    conn->out_pos = 0;
}


ngx_uint_t
ngx_http_linkcert_redis_conn_ready(ngx_http_linkcert_redis_conn_t *conn)
{
    return conn->state == NGX_HTTP_LINKCERT_REDIS_READY;
}


ngx_str_t *
ngx_http_linkcert_redis_conn_name(ngx_http_linkcert_redis_conn_t *conn)
{
    return &conn->addr->name;
}


ngx_http_linkcert_redis_req_t *
ngx_http_linkcert_redis_conn_command(ngx_http_linkcert_redis_conn_t *conn,
    int argc, const char **argv, const size_t *argvlen,
    ngx_http_linkcert_redis_handler_pt handler, void *data)
{
    ngx_http_linkcert_redis_req_t  *req;

    if (conn->nwaiting >= NGX_HTTP_LINKCERT_REDIS_WAITING_MAX) {
        return NULL;
    }

    req = ngx_http_linkcert_redis_req(conn, argc, argv, argvlen, handler,
                                      data);
    if (req == NULL) {
        return NULL;
    }

    if (conn->state != NGX_HTTP_LINKCERT_REDIS_READY) {
        ngx_queue_insert_tail(&conn->waiting, &req->queue);
        conn->nwaiting++;
        return req;
    }

    req->written = 1;
    ngx_queue_insert_tail(&conn->out, &req->queue);
    ngx_post_event(conn->peer.connection->write, &ngx_posted_events);

    return req;
}


/* the handler will not be called; a request written waits for its reply */

void
ngx_http_linkcert_redis_cancel(ngx_http_linkcert_redis_req_t *req)
{
    req->handler = NULL;

    if (!req->written) {
        ngx_queue_remove(&req->queue);
        req->conn->nwaiting--;
        ngx_http_linkcert_redis_free(req);
    }
}


static ngx_http_linkcert_redis_req_t *
ngx_http_linkcert_redis_req(ngx_http_linkcert_redis_conn_t *conn, int argc,
    const char **argv, const size_t *argvlen,
    ngx_http_linkcert_redis_handler_pt handler, void *data)
{
    int                             len;
    ngx_http_linkcert_redis_req_t  *req;

    req = ngx_calloc(sizeof(ngx_http_linkcert_redis_req_t), conn->log);
    if (req == NULL) {
        return NULL;
    }

    len = redisFormatCommandArgv(&req->cmd, argc, argv, argvlen);
    if (len < 0) {
        ngx_free(req);
        return NULL;
    }

    req->conn = conn;
    req->len = len;
    req->handler = handler;
    req->data = data;

    req->timer.handler = ngx_http_linkcert_redis_timeout;
    req->timer.data = req;
    req->timer.log = conn->log;

    ngx_add_timer(&req->timer, conn->conf->timeout);

    return req;
}


static void
ngx_http_linkcert_redis_connect(ngx_event_t *ev)
{
    ngx_int_t                        rc;
    ngx_addr_t                      *addr;
    ngx_connection_t                *c;
    ngx_http_linkcert_redis_conn_t  *conn;

    conn = ev->data;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    if (conn->reader == NULL) {
        conn->reader = redisReaderCreate();

        if (conn->reader == NULL) {
            ngx_http_linkcert_redis_conn_close(conn, "out of memory");
            return;
        }
    }

    if (!conn->bare) {
        addr = ngx_http_linkcert_redis_connect_to(conn, conn->conf);

        if (addr == NULL) {
            return;     /* started again once the Sentinels have answered */
        }

        conn->addr = addr;
    }

    ngx_memzero(&conn->peer, sizeof(ngx_peer_connection_t));

    conn->peer.sockaddr = conn->addr->sockaddr;
    conn->peer.socklen = conn->addr->socklen;
    conn->peer.name = &conn->addr->name;
    conn->peer.get = ngx_event_get_peer;
    conn->peer.log = conn->log;
    conn->peer.log_error = NGX_ERROR_ERR;

    conn->state = NGX_HTTP_LINKCERT_REDIS_CONNECTING;

    rc = ngx_event_connect_peer(&conn->peer);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        conn->peer.connection = NULL;
        ngx_http_linkcert_redis_conn_close(conn, "cannot connect");
        return;
    }

    c = conn->peer.connection;
    c->data = conn;
    c->pool = NULL;
    c->read->handler = ngx_http_linkcert_redis_read;
    c->write->handler = ngx_http_linkcert_redis_connected_handler;

    if (rc == NGX_AGAIN) {
        ngx_add_timer(c->write, conn->conf->timeout);
        return;
    }

    ngx_http_linkcert_redis_connected_handler(c->write);
}


static void
ngx_http_linkcert_redis_connected_handler(ngx_event_t *wev)
{
    ngx_connection_t                *c;
    ngx_http_linkcert_redis_conn_t  *conn;

    c = wev->data;
    conn = c->data;

    if (wev->timedout) {
        ngx_http_linkcert_redis_conn_close(conn, "connect timed out");
        return;
    }

    if (wev->timer_set) {
        ngx_del_timer(wev);
    }

    if (ngx_http_linkcert_connect_error(c, NGX_LOG_INFO, &conn->addr->name)) {
        ngx_http_linkcert_redis_conn_close(conn, "connection refused");
        return;
    }

    if (conn->addr->sockaddr->sa_family != AF_UNIX) {
        (void) ngx_tcp_nodelay(c);
    }

    c->write->handler = ngx_http_linkcert_redis_write;

    if (conn->bare) {
        ngx_http_linkcert_redis_ready(conn);
        return;
    }

    ngx_http_linkcert_redis_handshake(conn);
}


/*
 * AUTH, SELECT, CLIENT SETNAME and SCRIPT LOAD (a subscriber: AUTH and
 * CLIENT SETNAME), written before any request of ours; the requests wait
 * for their replies.
 */

static void
ngx_http_linkcert_redis_handshake(ngx_http_linkcert_redis_conn_t *conn)
{
    u_char                            db[NGX_INT_T_LEN], name[128];
    size_t                            lens[3];
    const char                       *argv[3];
    ngx_http_linkcert_redis_conf_t   *rcf;
    ngx_http_linkcert_redis_script_t **script;

    rcf = conn->conf;
    conn->state = NGX_HTTP_LINKCERT_REDIS_HANDSHAKE;
    conn->handshake = 0;

    if (rcf->password.len) {
        argv[0] = "AUTH";
        argv[1] = (char *) rcf->password.data;
        lens[0] = 4;
        lens[1] = rcf->password.len;

        if (ngx_http_linkcert_redis_setup(conn, 2, argv, lens) != NGX_OK) {
            return;
        }
    }

    if (rcf->db && conn->push == NULL) {
        argv[0] = "SELECT";
        argv[1] = (char *) db;
        lens[0] = 6;
        lens[1] = ngx_sprintf(db, "%ui", rcf->db) - db;

        if (ngx_http_linkcert_redis_setup(conn, 2, argv, lens) != NGX_OK) {
            return;
        }
    }

    argv[0] = "CLIENT";
    argv[1] = "SETNAME";
    argv[2] = (char *) name;
    lens[0] = 6;
    lens[1] = 7;
    lens[2] = ngx_snprintf(name, sizeof(name), "linkcert-%V-%P%s",
                           &rcf->edge, ngx_pid, conn->push ? "-sub" : "")
              - name;

    if (ngx_http_linkcert_redis_setup(conn, 3, argv, lens) != NGX_OK) {
        return;
    }

    for (script = ngx_http_linkcert_redis_scripts;
         *script && conn->push == NULL;
         script++)
    {
        argv[0] = "SCRIPT";
        argv[1] = "LOAD";
        argv[2] = (*script)->text;
        lens[0] = 6;
        lens[1] = 4;
        lens[2] = ngx_strlen((*script)->text);

        if (ngx_http_linkcert_redis_setup(conn, 3, argv, lens) != NGX_OK) {
            return;
        }
    }

    ngx_http_linkcert_redis_write(conn->peer.connection->write);
}


static ngx_int_t
ngx_http_linkcert_redis_setup(ngx_http_linkcert_redis_conn_t *conn,
    int argc, const char **argv, const size_t *lens)
{
    ngx_http_linkcert_redis_req_t  *req;

    req = ngx_http_linkcert_redis_req(conn, argc, argv, lens,
                                      ngx_http_linkcert_redis_handshake_reply,
                                      conn);
    if (req == NULL) {
        ngx_http_linkcert_redis_conn_close(conn, "out of memory");
        return NGX_ERROR;
    }

    req->written = 1;
    ngx_queue_insert_tail(&conn->out, &req->queue);
    conn->handshake++;

    return NGX_OK;
}


static void
ngx_http_linkcert_redis_handshake_reply(void *data, redisReply *reply,
    const char *error)
{
    ngx_http_linkcert_redis_conn_t *conn = data;

    if (reply == NULL) {
        return;         /* the connection is being closed */
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, conn->log, 0,
                      "linkcert: redis %V refused the %sconnection's "
                      "setup: %*s", &conn->addr->name,
                      conn->push ? "subscriber's " : "",
                      (size_t) reply->len, reply->str);
        ngx_http_linkcert_redis_conn_close(conn, "setup refused");
        return;
    }

    if (--conn->handshake == 0) {
        ngx_http_linkcert_redis_ready(conn);
    }
}


static void
ngx_http_linkcert_redis_ready(ngx_http_linkcert_redis_conn_t *conn)
{
    ngx_uint_t                      again;
    ngx_queue_t                    *q;
    ngx_http_linkcert_redis_req_t  *req;

    conn->state = NGX_HTTP_LINKCERT_REDIS_READY;
    conn->backoff = NGX_HTTP_LINKCERT_REDIS_BACKOFF_MIN;

    again = (conn->failures != 0);
    conn->failures = 0;

    for (q = ngx_queue_head(&conn->waiting);
         q != ngx_queue_sentinel(&conn->waiting);
         q = ngx_queue_next(q))
    {
        req = ngx_queue_data(q, ngx_http_linkcert_redis_req_t, queue);
        req->written = 1;
    }

    ngx_http_linkcert_redis_move(&conn->out, &conn->waiting);
    conn->nwaiting = 0;

    ngx_http_linkcert_redis_write(conn->peer.connection->write);

    if (conn->bare) {
        return;
    }

    ngx_add_timer(&conn->heartbeat, NGX_HTTP_LINKCERT_REDIS_HEARTBEAT);

    if (conn->ready) {
        conn->ready(conn->data, again);
    }
}


/*
 * A connection with nothing under way says nothing of a Redis that hangs:
 * a PING each second it is idle, which has the timeout of any request.
 * So a hanging Redis is known within a second and the timeout, and the
 * worker is not connected meanwhile (POST 503, on-demand names not held).
 */

static void
ngx_http_linkcert_redis_heartbeat(ngx_event_t *ev)
{
    size_t                           len;
    const char                      *argv[1];
    ngx_http_linkcert_redis_conn_t  *conn;

    conn = ev->data;

    if (ngx_exiting || ngx_quit || ngx_terminate
        || conn->state != NGX_HTTP_LINKCERT_REDIS_READY)
    {
        return;
    }

    ngx_add_timer(ev, NGX_HTTP_LINKCERT_REDIS_HEARTBEAT);

    if (!ngx_queue_empty(&conn->sent) || !ngx_queue_empty(&conn->out)) {
        return;                 /* their own timeouts tell */
    }

    argv[0] = "PING";
    len = 4;

    /* no handler: its timeout alone matters */

    (void) ngx_http_linkcert_redis_conn_command(conn, 1, argv, &len, NULL,
                                                NULL);
}


static void
ngx_http_linkcert_redis_write(ngx_event_t *wev)
{
    ssize_t                          n;
    ngx_queue_t                     *q;
    ngx_connection_t                *c;
    ngx_http_linkcert_redis_req_t   *req;
    ngx_http_linkcert_redis_conn_t  *conn;

    c = wev->data;
    conn = c->data;

    while (!ngx_queue_empty(&conn->out)) {
        q = ngx_queue_head(&conn->out);
        req = ngx_queue_data(q, ngx_http_linkcert_redis_req_t, queue);

        n = c->send(c, (u_char *) req->cmd + conn->out_pos,
                    req->len - conn->out_pos);

        if (n == NGX_ERROR) {
            ngx_http_linkcert_redis_conn_close(conn, "send failed");
            return;
        }

        if (n == NGX_AGAIN) {
            if (ngx_handle_write_event(wev, 0) != NGX_OK) {
                ngx_http_linkcert_redis_conn_close(conn, "send failed");
            }

            return;
        }

        conn->out_pos += n;

        if (conn->out_pos == req->len) {
            conn->out_pos = 0;
            ngx_queue_remove(q);
            ngx_queue_insert_tail(&conn->sent, q);
        }
    }
}


static void
ngx_http_linkcert_redis_read(ngx_event_t *rev)
{
    void                            *reply;
    ssize_t                          n;
    ngx_uint_t                       generation;
    ngx_queue_t                     *q;
    ngx_connection_t                *c;
    ngx_http_linkcert_redis_req_t   *req;
    ngx_http_linkcert_redis_conn_t  *conn;
    u_char                           buf[16384];

    c = rev->data;
    conn = c->data;
    generation = conn->generation;

    if (c->close) {
        ngx_http_linkcert_redis_conn_close(conn, "worker is exiting");
        return;
    }

    /* a refused connect() may be seen by the read event first */

    if (conn->state == NGX_HTTP_LINKCERT_REDIS_CONNECTING) {
        ngx_http_linkcert_redis_connected_handler(c->write);
        return;
    }

    for ( ;; ) {
        n = c->recv(c, buf, sizeof(buf));

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == 0 || n == NGX_ERROR) {
            ngx_http_linkcert_redis_conn_close(conn, n ? "read failed"
                                                  : "connection closed");
            return;
        }

        if (redisReaderFeed(conn->reader, (char *) buf, n) != REDIS_OK) {
            ngx_http_linkcert_redis_conn_close(conn, "protocol error");
            return;
        }

        for ( ;; ) {
            if (redisReaderGetReply(conn->reader, &reply) != REDIS_OK) {
                ngx_http_linkcert_redis_conn_close(conn, "protocol error");
                return;
            }

            if (reply == NULL) {
                break;
            }

            if (conn->push && ngx_http_linkcert_redis_pushed(reply)) {
                conn->push(conn->data, reply);
                freeReplyObject(reply);

                if (conn->generation != generation) {
                    return;
                }

                continue;
            }

            if (ngx_queue_empty(&conn->sent)) {
                freeReplyObject(reply);
                ngx_http_linkcert_redis_conn_close(conn, "a reply to nothing");
                return;
            }

            q = ngx_queue_head(&conn->sent);
            ngx_queue_remove(q);
            req = ngx_queue_data(q, ngx_http_linkcert_redis_req_t, queue);

            ngx_http_linkcert_redis_deliver(req, reply, NULL);
            freeReplyObject(reply);

            /* a handler may have closed the connection */

            if (conn->generation != generation) {
                return;
            }
        }
    }

    if (ngx_handle_read_event(rev, 0) != NGX_OK) {
        ngx_http_linkcert_redis_conn_close(conn, "read failed");
    }
}


/* a subscriber's message: no request asked for it */

static ngx_int_t
ngx_http_linkcert_redis_pushed(redisReply *reply)
{
    redisReply  *kind;

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0
        || reply->element[0]->type != REDIS_REPLY_STRING)
    {
        return 0;
    }

    kind = reply->element[0];

    return (kind->len == 7 && ngx_strncmp(kind->str, "message", 7) == 0)
           || (kind->len == 8 && ngx_strncmp(kind->str, "pmessage", 8) == 0);
}


/*
 * A request not written yet fails alone; one written and not answered
 * in time means the server hangs: the connection is made again.  On a
 * bare connection any request not answered in time closes it.
 */

static void
ngx_http_linkcert_redis_timeout(ngx_event_t *ev)
{
    ngx_http_linkcert_redis_req_t   *req;
    ngx_http_linkcert_redis_conn_t  *conn;

    req = ev->data;
    conn = req->conn;

    if (req->written || conn->bare) {
        ngx_http_linkcert_redis_conn_close(conn, conn->bare
                                                 ? "no answer in time"
                                                 : "a request timed out");
        return;
    }

    ngx_queue_remove(&req->queue);
    conn->nwaiting--;

    ngx_http_linkcert_redis_deliver(req, NULL, "no connection to redis");
}


/*
 * Closes the connection, fails what was written on it, tries again later;
 * a bare one fails every request and tells its owner instead.
 */

void
ngx_http_linkcert_redis_conn_close(ngx_http_linkcert_redis_conn_t *conn,
    const char *reason)
{
    ngx_uint_t                      level;
    ngx_queue_t                     failed, *q;
    ngx_http_linkcert_redis_req_t  *req;

    level = (conn->state == NGX_HTTP_LINKCERT_REDIS_READY
             || conn->failures == 0)
            ? NGX_LOG_ERR : NGX_LOG_INFO;

    if (!conn->bare) {
        ngx_log_error(level, conn->log, 0,
                      "linkcert: redis %V: %s%s, connecting again in %M ms",
                      &conn->addr->name, conn->role, reason, conn->backoff);
    }

    if (conn->peer.connection) {
        ngx_close_connection(conn->peer.connection);
        conn->peer.connection = NULL;
    }

    if (conn->reader) {
        redisReaderFree(conn->reader);
        conn->reader = NULL;
    }

    if (conn->heartbeat.timer_set) {
        ngx_del_timer(&conn->heartbeat);
    }

    conn->state = NGX_HTTP_LINKCERT_REDIS_DOWN;
    conn->generation++;
    conn->failures++;
    conn->out_pos = 0;

    if (!ngx_exiting && !ngx_quit && !ngx_terminate && !conn->bare) {
        ngx_add_timer(&conn->retry, conn->backoff);
        conn->backoff = ngx_min(conn->backoff * 2,
                                NGX_HTTP_LINKCERT_REDIS_BACKOFF_MAX);
    }

    /* handlers may queue new requests: they wait for the next connection */

    ngx_queue_init(&failed);
    ngx_http_linkcert_redis_move(&failed, &conn->sent);
    ngx_http_linkcert_redis_move(&failed, &conn->out);

    if (conn->bare) {
        ngx_http_linkcert_redis_move(&failed, &conn->waiting);
        conn->nwaiting = 0;
    }

    while (!ngx_queue_empty(&failed)) {
        q = ngx_queue_head(&failed);
        ngx_queue_remove(q);
        req = ngx_queue_data(q, ngx_http_linkcert_redis_req_t, queue);

        ngx_http_linkcert_redis_deliver(req, NULL, reason);
    }

    if (conn->bare && conn->closed) {
        conn->closed(conn->data, reason);
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
