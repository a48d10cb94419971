
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
 * get-master-addr-by-name, SUBSCRIBE +switch-master and SUBSCRIBE
 * +promoted-slave (after AUTH with sentinel_password=), written together
 * (so no switch falls between the answer and the subscription); the master
 * it names, an address (a name is refused: no lookup in a worker), is
 * asked for its ROLE (after AUTH with password=) on a connection of its
 * own, and is given out only if it says "master".  Both are bare
 * connections of ngx_http_linkcert_redis_conn.c: made to the address
 * given, with no setup, their close told to us.  A master not reached, a
 * replica, a Sentinel that does not answer in the timeout, does not know
 * the name or refuses (its reply logged): the round is made again after
 * 100 ms, doubling up to 1 s.  The Sentinel's connection stays subscribed
 * after the round: a switch or a promotion for the name has the new master
 * checked at once, and when a master other than the one given to a
 * connection is found, that connection is closed if it is up (it is made
 * again, to the new one).  Each worker does this on its own, in its event
 * loop, never blocking.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert_redis.h"


#define NGX_HTTP_LINKCERT_SENTINEL_BACKOFF_MIN  100     /* ms */
#define NGX_HTTP_LINKCERT_SENTINEL_BACKOFF_MAX  1000
#define NGX_HTTP_LINKCERT_SENTINEL_CALLERS      4       /* client, sub */


typedef struct ngx_http_linkcert_sentinel_s  ngx_http_linkcert_sentinel_t;


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

    ngx_http_linkcert_redis_conn_t      *ask;        /* then subscribed */
    ngx_http_linkcert_redis_conn_t      *probe;      /* ROLE */
    ngx_uint_t                           current;    /* the Sentinel */
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
static void ngx_http_linkcert_sentinel_answer(void *data, redisReply *reply,
    const char *error);
static void ngx_http_linkcert_sentinel_message(void *data,
    redisReply *reply);
static void ngx_http_linkcert_sentinel_check(ngx_http_linkcert_sentinel_t *st,
    u_char *ip, size_t ip_len, u_char *port, size_t port_len);
static ngx_int_t ngx_http_linkcert_sentinel_auth(
    ngx_http_linkcert_sentinel_t *st, ngx_http_linkcert_redis_conn_t *conn,
    ngx_str_t *password, ngx_http_linkcert_redis_handler_pt handler);
static void ngx_http_linkcert_sentinel_ask_auth(void *data,
    redisReply *reply, const char *error);
static void ngx_http_linkcert_sentinel_probe_auth(void *data,
    redisReply *reply, const char *error);
static void ngx_http_linkcert_sentinel_authed(
    ngx_http_linkcert_sentinel_t *st, ngx_http_linkcert_redis_conn_t *conn,
    redisReply *reply);
static void ngx_http_linkcert_sentinel_refused(
    ngx_http_linkcert_sentinel_t *st, ngx_http_linkcert_redis_conn_t *conn,
    const char *what, redisReply *reply);
static void ngx_http_linkcert_sentinel_role(void *data, redisReply *reply,
    const char *error);
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
    ngx_http_linkcert_sentinel_t *st, ngx_http_linkcert_redis_conn_t *conn,
    int argc, const char **argv, const size_t *lens,
    ngx_http_linkcert_redis_handler_pt handler);
static void ngx_http_linkcert_sentinel_ask_closed(void *data,
    const char *reason);
static void ngx_http_linkcert_sentinel_probe_closed(void *data,
    const char *reason);
static void ngx_http_linkcert_sentinel_fail(ngx_http_linkcert_sentinel_t *st,
    ngx_http_linkcert_redis_conn_t *conn, const char *reason);


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

    st->ask = ngx_http_linkcert_redis_conn_bare(cycle, st->conf,
                                          ngx_http_linkcert_sentinel_ask_closed,
                                          ngx_http_linkcert_sentinel_message,
                                          st);
    st->probe = ngx_http_linkcert_redis_conn_bare(cycle, st->conf,
                                        ngx_http_linkcert_sentinel_probe_closed,
                                        NULL, st);

    if (st->ask == NULL || st->probe == NULL) {
        return NGX_ERROR;
    }

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

    ngx_http_linkcert_redis_conn_free(st->ask);
    ngx_http_linkcert_redis_conn_free(st->probe);
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


/*
 * Asks the Sentinel for the master, and subscribes to its switches (a
 * SUBSCRIBE a channel, so that each has its one reply).
 */

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

    ngx_http_linkcert_redis_conn_free(st->ask);
    ngx_http_linkcert_redis_conn_free(st->probe);

    if (ngx_http_linkcert_sentinel_auth(st, st->ask,
                                        &st->conf->sentinel_password,
                                        ngx_http_linkcert_sentinel_ask_auth)
        != NGX_OK)
    {
        return;
    }

    argv[0] = "SENTINEL";
    argv[1] = "get-master-addr-by-name";
    argv[2] = (char *) st->conf->sentinel.data;
    lens[0] = 8;
    lens[1] = 23;
    lens[2] = st->conf->sentinel.len;

    if (ngx_http_linkcert_sentinel_request(st, st->ask, 3, argv, lens,
                                           ngx_http_linkcert_sentinel_answer)
        != NGX_OK)
    {
        return;
    }

    argv[0] = "SUBSCRIBE";
    argv[1] = "+switch-master";
    lens[0] = 9;
    lens[1] = 14;

    if (ngx_http_linkcert_sentinel_request(st, st->ask, 2, argv, lens, NULL)
        != NGX_OK)
    {
        return;
    }

    argv[1] = "+promoted-slave";
    lens[1] = 15;

    if (ngx_http_linkcert_sentinel_request(st, st->ask, 2, argv, lens, NULL)
        != NGX_OK)
    {
        return;
    }

    sentinels = st->conf->sentinels->elts;

    ngx_http_linkcert_redis_conn_open(st->ask, &sentinels[st->current]);
}


/* the master's address (or nil); the subscription's messages follow */

static void
ngx_http_linkcert_sentinel_answer(void *data, redisReply *reply,
    const char *error)
{
    ngx_http_linkcert_sentinel_t *st = data;

    redisReply  **e;

    if (reply == NULL) {
        return;                 /* closed: ngx_http_linkcert_sentinel_fail */
    }

    if (reply->type == REDIS_REPLY_NIL) {
        ngx_http_linkcert_sentinel_fail(st, st->ask, "it has no master of "
                                        "that name");
        return;
    }

    e = reply->element;

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2
        || e[0]->type != REDIS_REPLY_STRING
        || e[1]->type != REDIS_REPLY_STRING)
    {
        if (reply->type == REDIS_REPLY_ERROR) {
            ngx_http_linkcert_sentinel_refused(st, st->ask,
                                               "it refused the question",
                                               reply);
            return;
        }

        ngx_http_linkcert_sentinel_fail(st, st->ask, "not an address");
        return;
    }

    ngx_http_linkcert_sentinel_check(st, (u_char *) e[0]->str, e[0]->len,
                                     (u_char *) e[1]->str, e[1]->len);
}


/*
 * A Sentinel's event: "+switch-master" when it has made a failover's new
 * master its own, "<name> <old ip> <old port> <new ip> <new port>";
 * "+promoted-slave" earlier, from the Sentinel leading the failover, when
 * the replica it chose says it is the master (the old one may still take
 * writes that it will lose), "slave <ip:port> <ip> <port> @ <name> ...".
 */

static void
ngx_http_linkcert_sentinel_message(void *data, redisReply *reply)
{
    ngx_http_linkcert_sentinel_t *st = data;

    u_char      *p, *last, *word[8];
    size_t       len[8];
    ngx_uint_t   n, name, ip;
    redisReply  *channel, *msg;

    if (reply->elements != 3
        || reply->element[1]->type != REDIS_REPLY_STRING
        || reply->element[2]->type != REDIS_REPLY_STRING)
    {
        return;
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
        return;                         /* another master's */
    }

    ngx_log_error(NGX_LOG_NOTICE, st->log, 0,
                  "linkcert: redis sentinel \"%V\": Sentinel %V says %*s "
                  "%*s:%*s", &st->conf->sentinel,
                  ngx_http_linkcert_redis_conn_name(st->ask),
                  channel->len, channel->str, len[ip], word[ip],
                  len[ip + 1], word[ip + 1]);

    ngx_http_linkcert_redis_conn_free(st->probe);
    st->busy = 1;

    ngx_http_linkcert_sentinel_check(st, word[ip], len[ip], word[ip + 1],
                                     len[ip + 1]);
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
                      &st->conf->sentinel,
                      ngx_http_linkcert_redis_conn_name(st->ask), ip_len, ip,
                      port_len, port);
        ngx_http_linkcert_sentinel_again(st, 1);
        return;
    }

    if (ngx_http_linkcert_sentinel_auth(st, st->probe, &st->conf->password,
                                        ngx_http_linkcert_sentinel_probe_auth)
        != NGX_OK)
    {
        return;
    }

    argv[0] = "ROLE";
    lens[0] = 4;

    if (ngx_http_linkcert_sentinel_request(st, st->probe, 1, argv, lens,
                                           ngx_http_linkcert_sentinel_role)
        != NGX_OK)
    {
        return;
    }

    ngx_http_linkcert_redis_conn_open(st->probe, &st->candidate.addr);
}


/* AUTH first on a connection, if its server has a password */

static ngx_int_t
ngx_http_linkcert_sentinel_auth(ngx_http_linkcert_sentinel_t *st,
    ngx_http_linkcert_redis_conn_t *conn, ngx_str_t *password,
    ngx_http_linkcert_redis_handler_pt handler)
{
    size_t       lens[2];
    const char  *argv[2];

    if (password->len == 0) {
        return NGX_OK;
    }

    argv[0] = "AUTH";
    argv[1] = (char *) password->data;
    lens[0] = 4;
    lens[1] = password->len;

    return ngx_http_linkcert_sentinel_request(st, conn, 2, argv, lens,
                                              handler);
}


static void
ngx_http_linkcert_sentinel_ask_auth(void *data, redisReply *reply,
    const char *error)
{
    ngx_http_linkcert_sentinel_t *st = data;

    ngx_http_linkcert_sentinel_authed(st, st->ask, reply);
}


static void
ngx_http_linkcert_sentinel_probe_auth(void *data, redisReply *reply,
    const char *error)
{
    ngx_http_linkcert_sentinel_t *st = data;

    ngx_http_linkcert_sentinel_authed(st, st->probe, reply);
}


/* AUTH refused: a wrong password, or none set on that server */

static void
ngx_http_linkcert_sentinel_authed(ngx_http_linkcert_sentinel_t *st,
    ngx_http_linkcert_redis_conn_t *conn, redisReply *reply)
{
    if (reply != NULL && reply->type == REDIS_REPLY_ERROR) {
        ngx_http_linkcert_sentinel_refused(st, conn, (conn == st->ask)
                                     ? "it refused AUTH with sentinel_password="
                                     : "it refused AUTH with password=",
                                     reply);
    }
}


/* an error reply, its text (never a secret: Redis does not echo them) */

static void
ngx_http_linkcert_sentinel_refused(ngx_http_linkcert_sentinel_t *st,
    ngx_http_linkcert_redis_conn_t *conn, const char *what,
    redisReply *reply)
{
    u_char  buf[160], *p;

    p = ngx_snprintf(buf, sizeof(buf) - 1, "%s: \"%*s\"", what,
                     ngx_min(reply->len, 80), reply->str);
    *p = '\0';

    ngx_http_linkcert_sentinel_fail(st, conn, (char *) buf);
}


/* ROLE's first element: "master", "slave" or "sentinel" */

static void
ngx_http_linkcert_sentinel_role(void *data, redisReply *reply,
    const char *error)
{
    ngx_http_linkcert_sentinel_t *st = data;

    redisReply  *role;

    if (reply == NULL) {
        return;                 /* closed: ngx_http_linkcert_sentinel_fail */
    }

    role = (reply->type == REDIS_REPLY_ARRAY && reply->elements > 0)
           ? reply->element[0] : NULL;

    if (role == NULL || role->type != REDIS_REPLY_STRING
        || role->len != 6 || ngx_strncmp(role->str, "master", 6) != 0)
    {
        ngx_http_linkcert_sentinel_fail(st, st->probe,
                                        role ? "it is not a master (yet)"
                                             : "no answer to ROLE");
        return;
    }

    ngx_http_linkcert_sentinel_found(st);
}


/* the master checked: given to the connections waiting for it */

static void
ngx_http_linkcert_sentinel_found(ngx_http_linkcert_sentinel_t *st)
{
    ngx_uint_t                            i;
    ngx_http_linkcert_redis_conf_t       *rcf;
    ngx_http_linkcert_sentinel_caller_t  *caller;

    rcf = st->conf;

    ngx_http_linkcert_redis_conn_free(st->probe);

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
                      ngx_http_linkcert_redis_conn_name(st->ask));

        if (st->master.addr.sockaddr) {
            /* a failover: it may have lost writes, worker 0 checks */
            ngx_http_linkcert_redis_failover_followed();
        }
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
    ngx_http_linkcert_redis_conn_free(st->probe);

    if (next) {
        ngx_http_linkcert_redis_conn_free(st->ask);
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
 * A request on one of our connections, answered by handler (NULL: the
 * reply does not matter), written once it is made.
 */

static ngx_int_t
ngx_http_linkcert_sentinel_request(ngx_http_linkcert_sentinel_t *st,
    ngx_http_linkcert_redis_conn_t *conn, int argc, const char **argv,
    const size_t *lens, ngx_http_linkcert_redis_handler_pt handler)
{
    if (ngx_http_linkcert_redis_conn_command(conn, argc, argv, lens, handler,
                                             st)
        == NULL)
    {
        ngx_http_linkcert_sentinel_fail(st, conn, "out of memory");
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* a connection not made, closed, or not answered within the timeout */

static void
ngx_http_linkcert_sentinel_ask_closed(void *data, const char *reason)
{
    ngx_http_linkcert_sentinel_t *st = data;

    ngx_http_linkcert_sentinel_fail(st, st->ask, reason);
}


static void
ngx_http_linkcert_sentinel_probe_closed(void *data, const char *reason)
{
    ngx_http_linkcert_sentinel_t *st = data;

    ngx_http_linkcert_sentinel_fail(st, st->probe, reason);
}


/*
 * A Sentinel that fails is left for the next one; a master that fails
 * (not reached, a replica) is asked about again, as a failover may be
 * under way.  The first failure after a master was found is a warning.
 */

static void
ngx_http_linkcert_sentinel_fail(ngx_http_linkcert_sentinel_t *st,
    ngx_http_linkcert_redis_conn_t *conn, const char *reason)
{
    ngx_uint_t   level;
    ngx_addr_t  *sentinels;
    ngx_str_t   *name;

    level = st->failures ? NGX_LOG_INFO : NGX_LOG_WARN;
    sentinels = st->conf->sentinels->elts;

    name = (conn == st->ask) ? &sentinels[st->current].name
                             : &st->candidate.addr.name;

    ngx_log_error(level, st->log, 0,
                  "linkcert: redis sentinel \"%V\": %s %V: %s, asking "
                  "again in %M ms", &st->conf->sentinel,
                  (conn == st->ask) ? "Sentinel" : "master", name, reason,
                  st->backoff);

    ngx_http_linkcert_redis_conn_free(conn);
    ngx_http_linkcert_sentinel_again(st, conn == st->ask);
}
