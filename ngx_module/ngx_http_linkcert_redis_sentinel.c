
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the fleet's Redis found through Sentinels ("linkcert_redis
 * address ... sentinel=name").  Before each connection to Redis is made
 * (this worker's, worker 0's subscriber), the client asks
 * ngx_http_linkcert_redis_sentinel_pick() for the address: NULL at first,
 * and a round starts, at whose end the connection is started again and
 * given the master.  A round: a connection to a Sentinel (the same one as
 * last time, the next after a failure) carrying SENTINEL
 * get-master-addr-by-name and SUBSCRIBE +switch-master +promoted-slave,
 * written together (so no switch falls between the answer and the
 * subscription); the master it names, an address (a name is refused: no
 * lookup in a worker), is asked for its ROLE (after AUTH with password=)
 * on a connection of its own, and is given out only if it says "master".
 * A master not reached, a replica, a Sentinel that does not answer in the
 * timeout or does not know the name: the round is made again after
 * 100 ms, doubling up to 1 s.  The Sentinel's connection stays
 * subscribed after the round: a switch or a promotion for the name has
 * the new master checked at once, and when a master other than the one
 * given to a connection is found, that connection is closed if it is up
 * (it is made again, to the new one).  Each worker does this on its own,
 * in its event loop, never blocking.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert_redis.h"


#define NGX_HTTP_LINKCERT_SENTINEL_BACKOFF_MIN  100     /* ms */
#define NGX_HTTP_LINKCERT_SENTINEL_BACKOFF_MAX  1000
#define NGX_HTTP_LINKCERT_SENTINEL_CALLERS      4       /* client, sub */
#define NGX_HTTP_LINKCERT_SENTINEL_REQS     2


typedef struct ngx_http_linkcert_sentinel_s  ngx_http_linkcert_sentinel_t;

/* NGX_OK: read on; anything else: the connection was closed */
typedef ngx_int_t (*ngx_http_linkcert_sentinel_reply_pt)(
    ngx_http_linkcert_sentinel_t *st, redisReply *reply);


/* a connection of ours: a few requests written, replies read in order */

typedef struct {
    ngx_http_linkcert_sentinel_t        *st;
    const char                          *what;       /* in the log */
    ngx_addr_t                          *addr;
    ngx_peer_connection_t                peer;
    redisReader                         *reader;
    char                    *out[NGX_HTTP_LINKCERT_SENTINEL_REQS];
    size_t                   out_len[NGX_HTTP_LINKCERT_SENTINEL_REQS];
    ngx_uint_t                           nout;
    ngx_uint_t                           current;    /* being written */
    size_t                               pos;
    ngx_http_linkcert_sentinel_reply_pt  reply;
} ngx_http_linkcert_sentinel_conn_t;


/* an address of our own: its sockaddr and its text */

typedef struct {
    ngx_addr_t                           addr;
    ngx_sockaddr_t                       sockaddr;
    u_char                               text[NGX_SOCKADDR_STRLEN];
} ngx_http_linkcert_sentinel_addr_t;


/* a connection of the client that asked for the master */

typedef struct {
    ngx_http_linkcert_redis_conn_t      *conn;
    ngx_http_linkcert_sentinel_addr_t    addr;       /* given to it */
    ngx_event_t                          start;      /* it, again */
    ngx_uint_t                           waiting;    /* for a round */
    ngx_uint_t                           given;      /* master found */
} ngx_http_linkcert_sentinel_caller_t;


struct ngx_http_linkcert_sentinel_s {
    ngx_http_linkcert_redis_conf_t      *conf;
    ngx_log_t                           *log;

    ngx_http_linkcert_sentinel_conn_t    ask;        /* then subscribed */
    ngx_http_linkcert_sentinel_conn_t    probe;      /* ROLE */
    ngx_uint_t                           current;    /* the Sentinel */
    ngx_uint_t                           answered;   /* by the Sentinel */
    ngx_uint_t                           auth;       /* AUTH's reply to come */
    ngx_uint_t                           busy;       /* a round under way */
    ngx_uint_t                           failures;   /* since a master */

    ngx_http_linkcert_sentinel_addr_t    candidate;  /* a Sentinel's answer */
    ngx_http_linkcert_sentinel_addr_t    master;     /* checked */

    ngx_http_linkcert_sentinel_caller_t
                               callers[NGX_HTTP_LINKCERT_SENTINEL_CALLERS];
    ngx_uint_t                           ncallers;

    ngx_msec_t                           backoff;
    ngx_event_t                          retry;
};


static void ngx_http_linkcert_sentinel_round(ngx_event_t *ev);
static ngx_int_t ngx_http_linkcert_sentinel_answer(
    ngx_http_linkcert_sentinel_t *st, redisReply *reply);
static ngx_int_t ngx_http_linkcert_sentinel_message(
    ngx_http_linkcert_sentinel_t *st, redisReply *reply);
static void ngx_http_linkcert_sentinel_check(ngx_http_linkcert_sentinel_t *st,
    u_char *ip, size_t ip_len, u_char *port, size_t port_len);
static ngx_int_t ngx_http_linkcert_sentinel_role(
    ngx_http_linkcert_sentinel_t *st, redisReply *reply);
static void ngx_http_linkcert_sentinel_found(ngx_http_linkcert_sentinel_t *st);
static void ngx_http_linkcert_sentinel_start(ngx_event_t *ev);
static void ngx_http_linkcert_sentinel_again(ngx_http_linkcert_sentinel_t *st,
    ngx_uint_t next);
static ngx_int_t ngx_http_linkcert_sentinel_addr(
    ngx_http_linkcert_sentinel_addr_t *a, u_char *ip, size_t ip_len,
    u_char *port, size_t port_len);
static void ngx_http_linkcert_sentinel_copy(
    ngx_http_linkcert_sentinel_addr_t *to,
    ngx_http_linkcert_sentinel_addr_t *from);

static ngx_int_t ngx_http_linkcert_sentinel_request(
    ngx_http_linkcert_sentinel_conn_t *sc, int argc, const char **argv,
    const size_t *lens);
static void ngx_http_linkcert_sentinel_open(
    ngx_http_linkcert_sentinel_conn_t *sc, ngx_addr_t *addr);
static void ngx_http_linkcert_sentinel_connected(ngx_event_t *wev);
static void ngx_http_linkcert_sentinel_write(ngx_event_t *wev);
static void ngx_http_linkcert_sentinel_read(ngx_event_t *rev);
static void ngx_http_linkcert_sentinel_fail(
    ngx_http_linkcert_sentinel_conn_t *sc, const char *reason);
static void ngx_http_linkcert_sentinel_close(
    ngx_http_linkcert_sentinel_conn_t *sc);


static ngx_http_linkcert_sentinel_t  *ngx_http_linkcert_sentinel;


ngx_int_t
ngx_http_linkcert_redis_sentinel_init_process(ngx_cycle_t *cycle)
{
    ngx_http_linkcert_sentinel_t   *st;
    ngx_http_linkcert_main_conf_t  *lmcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    lmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_linkcert_module);

    if (lmcf == NULL || !lmcf->enabled || lmcf->redis == NULL
        || lmcf->redis->sentinel.len == 0)
    {
        return NGX_OK;
    }

    st = ngx_pcalloc(cycle->pool, sizeof(ngx_http_linkcert_sentinel_t));
    if (st == NULL) {
        return NGX_ERROR;
    }

    st->conf = lmcf->redis;
    st->log = cycle->log;
    st->backoff = NGX_HTTP_LINKCERT_SENTINEL_BACKOFF_MIN;

    st->ask.st = st;
    st->ask.what = "Sentinel";
    st->ask.reply = ngx_http_linkcert_sentinel_answer;

    st->probe.st = st;
    st->probe.what = "master";
    st->probe.reply = ngx_http_linkcert_sentinel_role;

    st->retry.handler = ngx_http_linkcert_sentinel_round;
    st->retry.data = st;
    st->retry.log = cycle->log;
    st->retry.cancelable = 1;

    ngx_http_linkcert_sentinel = st;

    return NGX_OK;
}


void
ngx_http_linkcert_redis_sentinel_exit_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                     i;
    ngx_http_linkcert_sentinel_t  *st;

    st = ngx_http_linkcert_sentinel;

    if (st == NULL) {
        return;
    }

    ngx_http_linkcert_sentinel = NULL;

    if (st->retry.timer_set) {
        ngx_del_timer(&st->retry);
    }

    for (i = 0; i < st->ncallers; i++) {
        if (st->callers[i].start.posted) {
            ngx_delete_posted_event(&st->callers[i].start);
        }
    }

    ngx_http_linkcert_sentinel_close(&st->ask);
    ngx_http_linkcert_sentinel_close(&st->probe);
}


/*
 * The address a connection is made to: the master a round found since the
 * connection asked; otherwise NULL, and a round is made (a connection
 * lost or never made: the Sentinels are asked again), at whose end the
 * connection is started again.
 */

ngx_addr_t *
ngx_http_linkcert_redis_sentinel_pick(ngx_http_linkcert_redis_conn_t *conn)
{
    ngx_uint_t                            i;
    ngx_http_linkcert_sentinel_t         *st;
    ngx_http_linkcert_sentinel_caller_t  *caller;

    st = ngx_http_linkcert_sentinel;

    if (st == NULL) {
        return NULL;
    }

    caller = NULL;

    for (i = 0; i < st->ncallers; i++) {
        if (st->callers[i].conn == conn) {
            caller = &st->callers[i];
        }
    }

    if (caller == NULL) {
        if (st->ncallers == NGX_HTTP_LINKCERT_SENTINEL_CALLERS) {
            ngx_log_error(NGX_LOG_ALERT, st->log, 0,
                          "linkcert: redis sentinel: too many connections");
            return NULL;
        }

        caller = &st->callers[st->ncallers++];
        caller->conn = conn;
        caller->start.handler = ngx_http_linkcert_sentinel_start;
        caller->start.data = caller;
        caller->start.log = st->log;
    }

    if (caller->given) {
        caller->given = 0;
        caller->waiting = 0;

        ngx_http_linkcert_sentinel_copy(&caller->addr, &st->master);

        return &caller->addr.addr;
    }

    caller->waiting = 1;

    if (!st->busy && !st->retry.timer_set) {
        ngx_http_linkcert_sentinel_round(&st->retry);
    }

    return NULL;
}


/* a connection waiting for the master is started again, to it */

static void
ngx_http_linkcert_sentinel_start(ngx_event_t *ev)
{
    ngx_http_linkcert_sentinel_caller_t  *caller;

    caller = ev->data;

    if (ngx_exiting || ngx_quit || ngx_terminate
        || !caller->waiting || !caller->given)
    {
        return;
    }

    ngx_http_linkcert_redis_conn_start(caller->conn);
}


/* asks the Sentinel for the master, and subscribes to its switches */

static void
ngx_http_linkcert_sentinel_round(ngx_event_t *ev)
{
    size_t                         lens[3];
    const char                    *argv[3];
    ngx_addr_t                    *sentinels;
    ngx_http_linkcert_sentinel_t  *st;

    st = ev->data;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    st->busy = 1;
    st->answered = 0;

    ngx_http_linkcert_sentinel_close(&st->ask);
    ngx_http_linkcert_sentinel_close(&st->probe);

    argv[0] = "SENTINEL";
    argv[1] = "get-master-addr-by-name";
    argv[2] = (char *) st->conf->sentinel.data;
    lens[0] = 8;
    lens[1] = 23;
    lens[2] = st->conf->sentinel.len;

    if (ngx_http_linkcert_sentinel_request(&st->ask, 3, argv, lens)
        != NGX_OK)
    {
        return;
    }

    argv[0] = "SUBSCRIBE";
    argv[1] = "+switch-master";
    argv[2] = "+promoted-slave";
    lens[0] = 9;
    lens[1] = 14;
    lens[2] = 15;

    if (ngx_http_linkcert_sentinel_request(&st->ask, 3, argv, lens)
        != NGX_OK)
    {
        return;
    }

    sentinels = st->conf->sentinels->elts;

    ngx_http_linkcert_sentinel_open(&st->ask, &sentinels[st->current]);
}


/* the master's address (or nil), then the subscription and its messages */

static ngx_int_t
ngx_http_linkcert_sentinel_answer(ngx_http_linkcert_sentinel_t *st,
    redisReply *reply)
{
    redisReply  **e;

    if (st->answered) {
        return ngx_http_linkcert_sentinel_message(st, reply);
    }

    st->answered = 1;

    if (reply->type == REDIS_REPLY_NIL) {
        ngx_http_linkcert_sentinel_fail(&st->ask, "it has no master of "
                                        "that name");
        return NGX_ERROR;
    }

    e = reply->element;

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2
        || e[0]->type != REDIS_REPLY_STRING
        || e[1]->type != REDIS_REPLY_STRING)
    {
        ngx_http_linkcert_sentinel_fail(&st->ask,
                                        reply->type == REDIS_REPLY_ERROR
                                        ? "it refused the question"
                                        : "not an address");
        return NGX_ERROR;
    }

    /* the answer is in: the subscription has no timeout */

    if (st->ask.peer.connection->read->timer_set) {
        ngx_del_timer(st->ask.peer.connection->read);
    }

    ngx_http_linkcert_sentinel_check(st, (u_char *) e[0]->str, e[0]->len,
                                     (u_char *) e[1]->str, e[1]->len);

    return st->ask.peer.connection ? NGX_OK : NGX_ERROR;
}


/*
 * A Sentinel's event: "+switch-master" when it has made a failover's new
 * master its own, "<name> <old ip> <old port> <new ip> <new port>";
 * "+promoted-slave" earlier, from the Sentinel leading the failover, when
 * the replica it chose says it is the master (the old one may still take
 * writes that it will lose), "slave <ip:port> <ip> <port> @ <name> ...".
 */

static ngx_int_t
ngx_http_linkcert_sentinel_message(ngx_http_linkcert_sentinel_t *st,
    redisReply *reply)
{
    u_char      *p, *last, *word[8];
    size_t       len[8];
    ngx_uint_t   n, name, ip;
    redisReply  *channel, *msg;

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3
        || reply->element[0]->type != REDIS_REPLY_STRING
        || reply->element[0]->len != 7
        || ngx_strncmp(reply->element[0]->str, "message", 7) != 0
        || reply->element[1]->type != REDIS_REPLY_STRING
        || reply->element[2]->type != REDIS_REPLY_STRING)
    {
        return NGX_OK;                  /* the subscription's confirmation */
    }

    channel = reply->element[1];
    msg = reply->element[2];
    p = (u_char *) msg->str;
    last = p + msg->len;

    for (n = 0; n < 8 && p < last; n++) {
        word[n] = p;

        while (p < last && *p != ' ') {
            p++;
        }

        len[n] = p - word[n];
        p++;
    }

    if (channel->len == 14) {           /* +switch-master */
        name = 0;
        ip = 3;

    } else {                            /* +promoted-slave */
        name = 5;
        ip = 2;
    }

    if (n <= ngx_max(name, ip + 1)
        || len[name] != st->conf->sentinel.len
        || ngx_strncmp(word[name], st->conf->sentinel.data, len[name]) != 0)
    {
        return NGX_OK;                  /* another master's */
    }

    ngx_log_error(NGX_LOG_NOTICE, st->log, 0,
                  "linkcert: redis sentinel \"%V\": Sentinel %V says %*s "
                  "%*s:%*s", &st->conf->sentinel, &st->ask.addr->name,
                  channel->len, channel->str, len[ip], word[ip],
                  len[ip + 1], word[ip + 1]);

    ngx_http_linkcert_sentinel_close(&st->probe);
    st->busy = 1;

    ngx_http_linkcert_sentinel_check(st, word[ip], len[ip], word[ip + 1],
                                     len[ip + 1]);

    return st->ask.peer.connection ? NGX_OK : NGX_ERROR;
}


/* the server a Sentinel named: is it the master? */

static void
ngx_http_linkcert_sentinel_check(ngx_http_linkcert_sentinel_t *st,
    u_char *ip, size_t ip_len, u_char *port, size_t port_len)
{
    size_t       lens[2];
    const char  *argv[2];

    if (ngx_http_linkcert_sentinel_addr(&st->candidate, ip, ip_len, port,
                                        port_len)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, st->log, 0,
                      "linkcert: redis sentinel \"%V\": Sentinel %V names "
                      "the master \"%*s\" port \"%*s\", not an IP address "
                      "and port (set \"sentinel resolve-hostnames no\")",
                      &st->conf->sentinel, &st->ask.addr->name, ip_len, ip,
                      port_len, port);
        ngx_http_linkcert_sentinel_again(st, 1);
        return;
    }

    st->auth = 0;

    if (st->conf->password.len) {
        argv[0] = "AUTH";
        argv[1] = (char *) st->conf->password.data;
        lens[0] = 4;
        lens[1] = st->conf->password.len;

        if (ngx_http_linkcert_sentinel_request(&st->probe, 2, argv, lens)
            != NGX_OK)
        {
            return;
        }

        st->auth = 1;
    }

    argv[0] = "ROLE";
    lens[0] = 4;

    if (ngx_http_linkcert_sentinel_request(&st->probe, 1, argv, lens)
        != NGX_OK)
    {
        return;
    }

    ngx_http_linkcert_sentinel_open(&st->probe, &st->candidate.addr);
}


/* ROLE's first element: "master", "slave" or "sentinel" */

static ngx_int_t
ngx_http_linkcert_sentinel_role(ngx_http_linkcert_sentinel_t *st,
    redisReply *reply)
{
    redisReply  *role;

    if (st->auth) {
        st->auth = 0;

        if (reply->type == REDIS_REPLY_ERROR) {
            ngx_http_linkcert_sentinel_fail(&st->probe, "it refused AUTH");
            return NGX_ERROR;
        }

        return NGX_OK;
    }

    role = (reply->type == REDIS_REPLY_ARRAY && reply->elements > 0)
           ? reply->element[0] : NULL;

    if (role == NULL || role->type != REDIS_REPLY_STRING
        || role->len != 6 || ngx_strncmp(role->str, "master", 6) != 0)
    {
        ngx_http_linkcert_sentinel_fail(&st->probe,
                                        role ? "it is not a master (yet)"
                                             : "no answer to ROLE");
        return NGX_ERROR;
    }

    ngx_http_linkcert_sentinel_found(st);

    return NGX_ERROR;           /* closed */
}


/* the master checked: given to the connections waiting for it */

static void
ngx_http_linkcert_sentinel_found(ngx_http_linkcert_sentinel_t *st)
{
    ngx_uint_t                            i;
    ngx_http_linkcert_redis_conf_t       *rcf;
    ngx_http_linkcert_sentinel_caller_t  *caller;

    rcf = st->conf;

    ngx_http_linkcert_sentinel_close(&st->probe);

    if (st->master.addr.sockaddr == NULL
        || ngx_cmp_sockaddr(st->master.addr.sockaddr,
                            st->master.addr.socklen,
                            st->candidate.addr.sockaddr,
                            st->candidate.addr.socklen, 1)
           != NGX_OK)
    {
        ngx_log_error(NGX_LOG_NOTICE, st->log, 0,
                      "linkcert: redis sentinel \"%V\": the master is %V "
                      "(named by Sentinel %V, ROLE master)",
                      &rcf->sentinel, &st->candidate.addr.name,
                      &st->ask.addr->name);
    }

    ngx_http_linkcert_sentinel_copy(&st->master, &st->candidate);

    st->busy = 0;
    st->failures = 0;
    st->backoff = NGX_HTTP_LINKCERT_SENTINEL_BACKOFF_MIN;

    for (i = 0; i < st->ncallers; i++) {
        caller = &st->callers[i];

        if (caller->waiting) {
            if (!caller->given) {
                caller->given = 1;
                ngx_post_event(&caller->start, &ngx_posted_events);
            }

            continue;
        }

        /* a connection to another server is made again, to this one */

        if (ngx_cmp_sockaddr(caller->addr.addr.sockaddr,
                             caller->addr.addr.socklen,
                             st->master.addr.sockaddr,
                             st->master.addr.socklen, 1)
            != NGX_OK
            && ngx_http_linkcert_redis_conn_ready(caller->conn))
        {
            ngx_http_linkcert_redis_conn_close(caller->conn,
                                               "the master moved");
        }
    }
}


/* a round failed: made again later, with the next Sentinel if it was it */

static void
ngx_http_linkcert_sentinel_again(ngx_http_linkcert_sentinel_t *st,
    ngx_uint_t next)
{
    ngx_http_linkcert_sentinel_close(&st->probe);

    if (next) {
        ngx_http_linkcert_sentinel_close(&st->ask);
        st->current = (st->current + 1) % st->conf->sentinels->nelts;
    }

    st->busy = 0;
    st->failures++;

    if (ngx_exiting || ngx_quit || ngx_terminate || st->retry.timer_set) {
        return;
    }

    ngx_add_timer(&st->retry, st->backoff);

    st->backoff = ngx_min(st->backoff * 2,
                          NGX_HTTP_LINKCERT_SENTINEL_BACKOFF_MAX);
}


/* an IP address and a port, never a name */

static ngx_int_t
ngx_http_linkcert_sentinel_addr(ngx_http_linkcert_sentinel_addr_t *a,
    u_char *ip, size_t ip_len, u_char *port, size_t port_len)
{
    ngx_int_t  n;
    in_addr_t  inaddr;

    ngx_memzero(&a->sockaddr, sizeof(ngx_sockaddr_t));

    n = ngx_atoi(port, port_len);

    if (n < 1 || n > 65535) {
        return NGX_ERROR;
    }

    inaddr = ngx_inet_addr(ip, ip_len);

    if (inaddr != INADDR_NONE) {
        a->sockaddr.sockaddr_in.sin_family = AF_INET;
        a->sockaddr.sockaddr_in.sin_addr.s_addr = inaddr;
        a->addr.socklen = sizeof(struct sockaddr_in);

#if (NGX_HAVE_INET6)
    } else if (ngx_inet6_addr(ip, ip_len,
                              a->sockaddr.sockaddr_in6.sin6_addr.s6_addr)
               == NGX_OK)
    {
        a->sockaddr.sockaddr_in6.sin6_family = AF_INET6;
        a->addr.socklen = sizeof(struct sockaddr_in6);
#endif

    } else {
        return NGX_ERROR;
    }

    a->addr.sockaddr = &a->sockaddr.sockaddr;
    ngx_inet_set_port(a->addr.sockaddr, (in_port_t) n);

    a->addr.name.data = a->text;
    a->addr.name.len = ngx_sock_ntop(a->addr.sockaddr, a->addr.socklen,
                                     a->text, NGX_SOCKADDR_STRLEN, 1);

    return NGX_OK;
}


static void
ngx_http_linkcert_sentinel_copy(ngx_http_linkcert_sentinel_addr_t *to,
    ngx_http_linkcert_sentinel_addr_t *from)
{
    *to = *from;

    to->addr.sockaddr = &to->sockaddr.sockaddr;
    to->addr.name.data = to->text;
}


/*
 * The connections: requests queued before the connect, written once
 * connected; every reply goes to the connection's handler.  A connection
 * not made or not answered within the timeout fails; so does a closed one.
 */

static ngx_int_t
ngx_http_linkcert_sentinel_request(ngx_http_linkcert_sentinel_conn_t *sc,
    int argc, const char **argv, const size_t *lens)
{
    int  len;

    len = redisFormatCommandArgv(&sc->out[sc->nout], argc, argv, lens);

    if (len < 0) {
        ngx_http_linkcert_sentinel_fail(sc, "out of memory");
        return NGX_ERROR;
    }

    sc->out_len[sc->nout++] = len;

    return NGX_OK;
}


static void
ngx_http_linkcert_sentinel_open(ngx_http_linkcert_sentinel_conn_t *sc,
    ngx_addr_t *addr)
{
    ngx_int_t          rc;
    ngx_connection_t  *c;

    sc->addr = addr;

    sc->reader = redisReaderCreate();

    if (sc->reader == NULL) {
        ngx_http_linkcert_sentinel_fail(sc, "out of memory");
        return;
    }

    ngx_memzero(&sc->peer, sizeof(ngx_peer_connection_t));

    sc->peer.sockaddr = addr->sockaddr;
    sc->peer.socklen = addr->socklen;
    sc->peer.name = &addr->name;
    sc->peer.get = ngx_event_get_peer;
    sc->peer.log = sc->st->log;
    sc->peer.log_error = NGX_ERROR_ERR;

    rc = ngx_event_connect_peer(&sc->peer);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        sc->peer.connection = NULL;
        ngx_http_linkcert_sentinel_fail(sc, "cannot connect");
        return;
    }

    c = sc->peer.connection;
    c->data = sc;
    c->pool = NULL;
    c->read->handler = ngx_http_linkcert_sentinel_read;
    c->write->handler = ngx_http_linkcert_sentinel_connected;

    /* connected and answered within the timeout */

    ngx_add_timer(c->read, sc->st->conf->timeout);

    if (rc == NGX_OK) {
        ngx_post_event(c->write, &ngx_posted_events);
    }
}


static void
ngx_http_linkcert_sentinel_connected(ngx_event_t *wev)
{
    ngx_connection_t                   *c;
    ngx_http_linkcert_sentinel_conn_t  *sc;

    c = wev->data;
    sc = c->data;

    if (ngx_http_linkcert_connect_error(c, NGX_LOG_INFO, &sc->addr->name)) {
        ngx_http_linkcert_sentinel_fail(sc, "connection refused");
        return;
    }

    if (sc->addr->sockaddr->sa_family != AF_UNIX) {
        (void) ngx_tcp_nodelay(c);
    }

    wev->handler = ngx_http_linkcert_sentinel_write;

    ngx_http_linkcert_sentinel_write(wev);
}


static void
ngx_http_linkcert_sentinel_write(ngx_event_t *wev)
{
    ssize_t                             n;
    ngx_connection_t                   *c;
    ngx_http_linkcert_sentinel_conn_t  *sc;

    c = wev->data;
    sc = c->data;

    while (sc->current < sc->nout) {
        n = c->send(c, (u_char *) sc->out[sc->current] + sc->pos,
                    sc->out_len[sc->current] - sc->pos);

        if (n == NGX_ERROR) {
            ngx_http_linkcert_sentinel_fail(sc, "send failed");
            return;
        }

        if (n == NGX_AGAIN) {
            if (ngx_handle_write_event(wev, 0) != NGX_OK) {
                ngx_http_linkcert_sentinel_fail(sc, "send failed");
            }

            return;
        }

        sc->pos += n;

        if (sc->pos == sc->out_len[sc->current]) {
            sc->pos = 0;
            sc->current++;
        }
    }
}


static void
ngx_http_linkcert_sentinel_read(ngx_event_t *rev)
{
    void                               *reply;
    ssize_t                             n;
    ngx_int_t                           rc;
    ngx_connection_t                   *c;
    ngx_http_linkcert_sentinel_conn_t  *sc;
    u_char                              buf[4096];

    c = rev->data;
    sc = c->data;

    if (rev->timedout) {
        ngx_http_linkcert_sentinel_fail(sc, "no answer in time");
        return;
    }

    if (c->close) {
        ngx_http_linkcert_sentinel_fail(sc, "worker is exiting");
        return;
    }

    /* a refused connect() may be seen by the read event first */

    if (c->write->handler == ngx_http_linkcert_sentinel_connected) {
        ngx_http_linkcert_sentinel_connected(c->write);
        return;
    }

    for ( ;; ) {
        n = c->recv(c, buf, sizeof(buf));

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == 0 || n == NGX_ERROR) {
            ngx_http_linkcert_sentinel_fail(sc, n ? "read failed"
                                                  : "connection closed");
            return;
        }

        if (redisReaderFeed(sc->reader, (char *) buf, n) != REDIS_OK) {
            ngx_http_linkcert_sentinel_fail(sc, "protocol error");
            return;
        }

        for ( ;; ) {
            if (redisReaderGetReply(sc->reader, &reply) != REDIS_OK) {
                ngx_http_linkcert_sentinel_fail(sc, "protocol error");
                return;
            }

            if (reply == NULL) {
                break;
            }

            rc = sc->reply(sc->st, reply);
            freeReplyObject(reply);

            if (rc != NGX_OK) {
                return;
            }
        }
    }

    if (ngx_handle_read_event(rev, 0) != NGX_OK) {
        ngx_http_linkcert_sentinel_fail(sc, "read failed");
    }
}


/*
 * A Sentinel that fails is left for the next one; a master that fails
 * (not reached, a replica) is asked about again, as a failover may be
 * under way.  The first failure after a master was found is a warning.
 */

static void
ngx_http_linkcert_sentinel_fail(ngx_http_linkcert_sentinel_conn_t *sc,
    const char *reason)
{
    ngx_uint_t                     level;
    ngx_http_linkcert_sentinel_t  *st;

    st = sc->st;
    level = st->failures ? NGX_LOG_INFO : NGX_LOG_WARN;

    ngx_log_error(level, st->log, 0,
                  "linkcert: redis sentinel \"%V\": %s %V: %s, asking "
                  "again in %M ms", &st->conf->sentinel, sc->what,
                  sc->addr ? &sc->addr->name : &st->conf->sentinel, reason,
                  st->backoff);

    ngx_http_linkcert_sentinel_close(sc);
    ngx_http_linkcert_sentinel_again(st, sc == &st->ask);
}


static void
ngx_http_linkcert_sentinel_close(ngx_http_linkcert_sentinel_conn_t *sc)
{
    ngx_uint_t  i;

    if (sc->peer.connection) {
        ngx_close_connection(sc->peer.connection);
        sc->peer.connection = NULL;
    }

    if (sc->reader) {
        redisReaderFree(sc->reader);
        sc->reader = NULL;
    }

    for (i = 0; i < sc->nout; i++) {
        redisFreeCommand(sc->out[i]);
    }

    sc->nout = 0;
    sc->current = 0;
    sc->pos = 0;
}
