
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: on demand, the hold of a first handshake.
 *
 * Stock nginx cannot pause a TLS handshake inside OpenSSL's callbacks, so
 * the wait happens before nginx sees the connection.  On the TLS
 * listeners of the http block, the listening handler is wrapped: the
 * ClientHello is peeked (MSG_PEEK, nothing is consumed), its SNI parsed
 * by src/lc_sni.c, and the name asked of the table.  A name being
 * verified or ordered parks the connection, on no worker's time, until
 * its status changes or linkcert_hold runs out; every other connection,
 * and each parked one when it is released, goes on to nginx's own
 * ngx_http_init_connection() with the peeked bytes still in the socket,
 * and nginx's handshake presents the new certificate or the fallback.
 *
 * In a fleet (linkcert_redis), with or without on demand, a name the zone
 * serves from a lazy catch-up whose files are not in the store yet is
 * held the same way while its worker fetches them from Redis
 * (ngx_http_linkcert_redis_lazy.c), at most Redis's timeout.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert.h"
#include "ngx_http_linkcert_redis.h"
#include "lc_sni.h"


#define NGX_HTTP_LINKCERT_HOLD_POLL        10       /* ms */
#define NGX_HTTP_LINKCERT_HOLD_MAX         1024     /* per worker */
#define NGX_HTTP_LINKCERT_HOLD_DOMAIN_MAX  256      /* per name */
#define NGX_HTTP_LINKCERT_HOLD_SHARE       4        /* 1/4 of
                                                       worker_connections */


typedef struct {
    ngx_queue_t                     queue;
    ngx_connection_t               *connection;
    ngx_msec_t                      start;
    size_t                          len;
    u_char                          name[LC_DOMAIN_MAX + 1];
} ngx_http_linkcert_held_t;


static void ngx_http_linkcert_hold_init_connection(ngx_connection_t *c);
static ngx_uint_t ngx_http_linkcert_hold_tls_port(ngx_listening_t *ls);
static void ngx_http_linkcert_hold_peek(ngx_event_t *rev);
static ngx_http_addr_conf_t *ngx_http_linkcert_hold_addr_conf(
    ngx_connection_t *c);
static ngx_msec_t ngx_http_linkcert_hold_timeout(ngx_connection_t *c);
static ngx_uint_t ngx_http_linkcert_hold_linkcert_on(ngx_connection_t *c,
    u_char *name, size_t len);
static void ngx_http_linkcert_hold_park(ngx_connection_t *c, u_char *name,
    size_t len, ngx_msec_t timeout);
static void ngx_http_linkcert_hold_parked(ngx_event_t *rev);
static void ngx_http_linkcert_hold_poll(ngx_event_t *ev);
static void ngx_http_linkcert_hold_release(ngx_http_linkcert_held_t *h);
static void ngx_http_linkcert_hold_end(ngx_http_linkcert_held_t *h);
static void ngx_http_linkcert_hold_pass(ngx_connection_t *c);


static ngx_http_linkcert_main_conf_t  *ngx_http_linkcert_hold_conf;
static u_char                         *ngx_http_linkcert_peek_buf;
static ngx_queue_t                     ngx_http_linkcert_held;
static ngx_uint_t                      ngx_http_linkcert_nheld;
static ngx_uint_t                      ngx_http_linkcert_hold_max;
static ngx_uint_t                      ngx_http_linkcert_hold_domain_max;
static ngx_event_t                     ngx_http_linkcert_hold_ev;
static ngx_connection_t                ngx_http_linkcert_hold_dumb;
static ngx_atomic_uint_t               ngx_http_linkcert_hold_changes;

static ngx_msec_t  ngx_http_linkcert_hold_le[] = NGX_HTTP_LINKCERT_HOLD_LE;


/*
 * Called for the cycle being loaded, after the http block has created its
 * listening sockets (with nginx's own handler).
 */

ngx_int_t
ngx_http_linkcert_hold_init_module(ngx_cycle_t *cycle)
{
    ngx_uint_t                      i;
    ngx_listening_t                *ls;
    ngx_http_linkcert_main_conf_t  *lmcf;

    lmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_linkcert_module);

    if (lmcf == NULL || !lmcf->enabled
        || (!lmcf->on_demand && lmcf->redis == NULL))
    {
        return NGX_OK;
    }

    ls = cycle->listening.elts;

    for (i = 0; i < cycle->listening.nelts; i++) {

        if (ls[i].handler == ngx_http_init_connection
            && ngx_http_linkcert_hold_tls_port(&ls[i]))
        {
            ls[i].handler = ngx_http_linkcert_hold_init_connection;
        }
    }

    return NGX_OK;
}


/* does any address of this listening socket take TLS */

static ngx_uint_t
ngx_http_linkcert_hold_tls_port(ngx_listening_t *ls)
{
    ngx_uint_t            i;
    ngx_http_port_t      *port;
    ngx_http_in_addr_t   *addr;
#if (NGX_HAVE_INET6)
    ngx_http_in6_addr_t  *addr6;
#endif

    port = ls->servers;

    for (i = 0; i < port->naddrs; i++) {

        switch (ls->sockaddr->sa_family) {

#if (NGX_HAVE_INET6)
        case AF_INET6:
            addr6 = port->addrs;

            if (addr6[i].conf.ssl) {
                return 1;
            }

            break;
#endif

        default:
            addr = port->addrs;

            if (addr[i].conf.ssl) {
                return 1;
            }

            break;
        }
    }

    return 0;
}


ngx_int_t
ngx_http_linkcert_hold_init_process(ngx_cycle_t *cycle)
{
    ngx_http_linkcert_main_conf_t  *lmcf;

    lmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_linkcert_module);

    if (lmcf == NULL || !lmcf->enabled
        || (!lmcf->on_demand && lmcf->redis == NULL))
    {
        return NGX_OK;
    }

    /* one buffer per worker: a peek keeps nothing between events */

    ngx_http_linkcert_peek_buf = ngx_alloc(LC_SNI_PEEK_MAX, cycle->log);
    if (ngx_http_linkcert_peek_buf == NULL) {
        return NGX_ERROR;
    }

    ngx_queue_init(&ngx_http_linkcert_held);
    ngx_http_linkcert_nheld = 0;

    /*
     * A parked connection is not reusable: parked ones take at most a
     * share of worker_connections, the rest is for issued domains.
     */

    ngx_http_linkcert_hold_max = ngx_min(NGX_HTTP_LINKCERT_HOLD_MAX,
                                         cycle->connection_n
                                         / NGX_HTTP_LINKCERT_HOLD_SHARE);
    ngx_http_linkcert_hold_domain_max =
                                   ngx_min(NGX_HTTP_LINKCERT_HOLD_DOMAIN_MAX,
                                           ngx_http_linkcert_hold_max);
    ngx_http_linkcert_hold_conf = lmcf;

    ngx_http_linkcert_timer_init(&ngx_http_linkcert_hold_ev,
                                 &ngx_http_linkcert_hold_dumb, NULL,
                                 ngx_http_linkcert_hold_poll, cycle->log);

    return NGX_OK;
}


void
ngx_http_linkcert_hold_exit_process(ngx_cycle_t *cycle)
{
    if (ngx_http_linkcert_hold_ev.timer_set) {
        ngx_del_timer(&ngx_http_linkcert_hold_ev);
    }

    if (ngx_http_linkcert_peek_buf) {
        ngx_free(ngx_http_linkcert_peek_buf);
        ngx_http_linkcert_peek_buf = NULL;
    }

    ngx_http_linkcert_hold_conf = NULL;
}


static void
ngx_http_linkcert_hold_init_connection(ngx_connection_t *c)
{
    ngx_msec_t    timeout;
    ngx_event_t  *rev;

    if (ngx_http_linkcert_peek_buf == NULL) {
        ngx_http_init_connection(c);
        return;
    }

    rev = c->read;
    rev->handler = ngx_http_linkcert_hold_peek;
    c->write->handler = ngx_http_empty_handler;

    /* deferred accept: the ClientHello may be there already */

    if (rev->ready) {
        ngx_http_linkcert_hold_peek(rev);
        return;
    }

    timeout = ngx_http_linkcert_hold_timeout(c);

    if (timeout == 0) {
        ngx_http_close_connection(c);
        return;
    }

    ngx_add_timer(rev, timeout);
    ngx_reusable_connection(c, 1);

    if (ngx_handle_read_event(rev, 0) != NGX_OK) {
        ngx_http_close_connection(c);
    }
}


static void
ngx_http_linkcert_hold_peek(ngx_event_t *rev)
{
    size_t                          len;
    ssize_t                         n;
    lc_sni_e                        rc;
    ngx_err_t                       err;
    ngx_uint_t                      away;
    ngx_msec_t                      timeout;
    ngx_connection_t               *c;
    ngx_http_linkcert_name_e        state;
    ngx_http_linkcert_main_conf_t  *lmcf;
    char                            name[LC_DOMAIN_MAX + 1];
    char                            norm[LC_DOMAIN_MAX + 1];
    const char                     *reason;

    c = rev->data;
    lmcf = ngx_http_linkcert_hold_conf;

    if (rev->timedout || c->close || lmcf == NULL) {
        ngx_http_close_connection(c);
        return;
    }

    n = recv(c->fd, ngx_http_linkcert_peek_buf, LC_SNI_PEEK_MAX, MSG_PEEK);

    if (n == -1) {
        err = ngx_socket_errno;

        if (err != NGX_EAGAIN) {
            ngx_http_close_connection(c);
            return;
        }

        n = 0;

    } else if (n == 0) {
        ngx_http_close_connection(c);
        return;
    }

    rc = (n == 0) ? LC_SNI_AGAIN
                  : lc_sni_parse(ngx_http_linkcert_peek_buf, n, name, &len);

    if (rc == LC_SNI_AGAIN) {

        /* edge-triggered: the next segment brings the next event */

        rev->ready = 0;

        if (!rev->timer_set) {
            timeout = ngx_http_linkcert_hold_timeout(c);

            if (timeout == 0) {
                ngx_http_close_connection(c);
                return;
            }

            ngx_add_timer(rev, timeout);
        }

        if (ngx_handle_read_event(rev, 0) != NGX_OK) {
            ngx_http_close_connection(c);
        }

        return;
    }

    if (rc != LC_SNI_FOUND
        || lc_domain_normalize(name, len, norm, &len, &reason) != 0
        || !ngx_http_linkcert_hold_linkcert_on(c, (u_char *) norm, len))
    {
        ngx_http_linkcert_hold_pass(c);
        return;
    }

    /* in a fleet without Redis: no new name, nobody held */

    away = ngx_http_linkcert_redis_away();

    state = ngx_http_linkcert_table_demand(lmcf->shm_zone, (u_char *) norm,
                                           len, lmcf->on_demand && !away);

    /* served from the fleet, its files not fetched yet */

    if (state == NGX_HTTP_LINKCERT_NAME_SERVED
        && ngx_http_linkcert_redis_lazy_fetch(lmcf, (u_char *) norm, len)
           == NGX_OK)
    {
        ngx_http_linkcert_hold_park(c, (u_char *) norm, len,
                                    ngx_http_linkcert_redis_lazy_hold());
        return;
    }

    if (!lmcf->on_demand) {
        ngx_http_linkcert_hold_pass(c);
        return;
    }

    if (state == NGX_HTTP_LINKCERT_NAME_NEW) {
        ngx_http_linkcert_worker_kick();

    } else if (state != NGX_HTTP_LINKCERT_NAME_WAIT) {
        ngx_http_linkcert_hold_pass(c);
        return;
    }

    if (lmcf->hold == 0 || away) {
        ngx_http_linkcert_hold_pass(c);
        return;
    }

    ngx_http_linkcert_hold_park(c, (u_char *) norm, len, lmcf->hold);
}


/*
 * Only names that nginx will give to a "linkcert on" server are for
 * linkcert: the address's server for this name is found as nginx finds it
 * (exact, wildcard and regex server names, else the default server).
 */

/*
 * The address's configuration, found as ngx_http_init_connection() will
 * find it; NULL if the local address cannot be had.
 */

static ngx_http_addr_conf_t *
ngx_http_linkcert_hold_addr_conf(ngx_connection_t *c)
{
    ngx_uint_t             i;
    ngx_http_port_t       *port;
    struct sockaddr_in    *sin;
    ngx_http_in_addr_t    *addr;
#if (NGX_HAVE_INET6)
    struct sockaddr_in6   *sin6;
    ngx_http_in6_addr_t   *addr6;
#endif

    port = c->listening->servers;

    if (port->naddrs > 1
        && ngx_connection_local_sockaddr(c, NULL, 0) != NGX_OK)
    {
        return NULL;
    }

    switch (c->listening->sockaddr->sa_family) {

#if (NGX_HAVE_INET6)
    case AF_INET6:
        addr6 = port->addrs;
        i = 0;

        if (port->naddrs > 1) {
            sin6 = (struct sockaddr_in6 *) c->local_sockaddr;

            while (i < port->naddrs - 1
                   && ngx_memcmp(&addr6[i].addr6, &sin6->sin6_addr, 16) != 0)
            {
                i++;
            }
        }

        return &addr6[i].conf;
#endif

    default:
        addr = port->addrs;
        i = 0;

        if (port->naddrs > 1) {
            sin = (struct sockaddr_in *) c->local_sockaddr;

            while (i < port->naddrs - 1
                   && addr[i].addr != sin->sin_addr.s_addr)
            {
                i++;
            }
        }

        return &addr[i].conf;
    }
}


/*
 * How long the ClientHello may take: the default server's
 * client_header_timeout, as nginx waits for the first bytes of any
 * connection; 0 if the connection must be closed.
 */

static ngx_msec_t
ngx_http_linkcert_hold_timeout(ngx_connection_t *c)
{
    ngx_http_addr_conf_t      *addr_conf;
    ngx_http_core_srv_conf_t  *cscf;

    addr_conf = ngx_http_linkcert_hold_addr_conf(c);

    if (addr_conf == NULL) {
        return 0;
    }

    cscf = addr_conf->default_server;

    return cscf->client_header_timeout;
}


static ngx_uint_t
ngx_http_linkcert_hold_linkcert_on(ngx_connection_t *c, u_char *name,
    size_t len)
{
    ngx_uint_t                     i;
    ngx_http_addr_conf_t          *addr_conf;
    ngx_http_virtual_names_t      *vn;
    ngx_http_core_srv_conf_t      *cscf;
    ngx_http_linkcert_srv_conf_t  *lscf;
#if (NGX_PCRE)
    ngx_str_t                      str;
#endif

    addr_conf = ngx_http_linkcert_hold_addr_conf(c);

    if (addr_conf == NULL) {
        return 0;
    }

    cscf = NULL;
    vn = addr_conf->virtual_names;

    if (vn) {
        cscf = ngx_hash_find_combined(&vn->names, ngx_hash_key(name, len),
                                      name, len);

#if (NGX_PCRE)
        str.data = name;
        str.len = len;

        for (i = 0; cscf == NULL && i < vn->nregex; i++) {
            if (ngx_regex_exec(vn->regex[i].regex->regex, &str, NULL, 0)
                >= 0)
            {
                cscf = vn->regex[i].server;
            }
        }
#endif
    }

    if (cscf == NULL) {
        cscf = addr_conf->default_server;
    }

    lscf = cscf->ctx->srv_conf[ngx_http_linkcert_module.ctx_index];

    return lscf->enable;
}


static void
ngx_http_linkcert_hold_park(ngx_connection_t *c, u_char *name, size_t len,
    ngx_msec_t timeout)
{
    ngx_uint_t                 same;
    ngx_queue_t               *q;
    ngx_event_t               *rev;
    ngx_http_linkcert_held_t  *h;

    if (ngx_http_linkcert_nheld >= ngx_http_linkcert_hold_max) {
        ngx_http_linkcert_hold_pass(c);
        return;
    }

    same = 0;

    for (q = ngx_queue_head(&ngx_http_linkcert_held);
         q != ngx_queue_sentinel(&ngx_http_linkcert_held);
         q = ngx_queue_next(q))
    {
        h = ngx_queue_data(q, ngx_http_linkcert_held_t, queue);

        if (h->len == len && ngx_memcmp(h->name, name, len) == 0) {
            same++;
        }
    }

    if (same >= ngx_http_linkcert_hold_domain_max) {
        ngx_http_linkcert_hold_pass(c);
        return;
    }

    h = ngx_palloc(c->pool, sizeof(ngx_http_linkcert_held_t));
    if (h == NULL) {
        ngx_http_linkcert_hold_pass(c);
        return;
    }

    h->connection = c;
    h->start = ngx_current_msec;
    h->len = len;
    ngx_memcpy(h->name, name, len);
    h->name[len] = '\0';

    c->data = h;

    ngx_queue_insert_tail(&ngx_http_linkcert_held, &h->queue);
    ngx_http_linkcert_nheld++;

    (void) ngx_atomic_fetch_add(&ngx_http_linkcert_stats(
                 ngx_http_linkcert_hold_conf->shm_zone)
                     ->handshakes[NGX_HTTP_LINKCERT_HANDSHAKE_HELD], 1);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "linkcert: holding the handshake for \"%s\", %ui held",
                   h->name, ngx_http_linkcert_nheld);

    /* the peeked bytes stay; only the client going away is an event now */

    rev = c->read;
    rev->handler = ngx_http_linkcert_hold_parked;
    rev->ready = 0;

    ngx_reusable_connection(c, 0);

    if (rev->timer_set) {
        ngx_del_timer(rev);
    }

    ngx_add_timer(rev, timeout);

    /*
     * The name may have changed since the table was asked: the first poll
     * looks at every held name whatever the counter says.
     */

    if (!ngx_http_linkcert_hold_ev.timer_set) {
        ngx_http_linkcert_hold_changes = ngx_http_linkcert_table_changes(
                                   ngx_http_linkcert_hold_conf->shm_zone) - 1;
        ngx_add_timer(&ngx_http_linkcert_hold_ev,
                      NGX_HTTP_LINKCERT_HOLD_POLL);
    }
}


static void
ngx_http_linkcert_hold_parked(ngx_event_t *rev)
{
    u_char                     byte;
    ssize_t                    n;
    ngx_connection_t          *c;
    ngx_http_linkcert_held_t  *h;

    c = rev->data;
    h = c->data;

    if (rev->timedout) {
        (void) ngx_atomic_fetch_add(&ngx_http_linkcert_stats(
                   ngx_http_linkcert_hold_conf->shm_zone)->hold_timeouts, 1);
        ngx_http_linkcert_hold_release(h);
        return;
    }

    n = recv(c->fd, &byte, 1, MSG_PEEK);

    if (c->close
        || rev->pending_eof
        || n == 0
        || (n == -1 && ngx_socket_errno != NGX_EAGAIN))
    {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, c->log, 0,
                       "linkcert: client left a held handshake for \"%s\"",
                       h->name);

        ngx_http_linkcert_hold_end(h);
        ngx_http_close_connection(c);
        return;
    }

    rev->ready = 0;
}


/*
 * Every 10 ms while connections are held: if any status changed in the
 * table, each held name is looked at again.
 */

static void
ngx_http_linkcert_hold_poll(ngx_event_t *ev)
{
    ngx_queue_t                    *q, *next;
    ngx_atomic_uint_t               changes;
    ngx_http_linkcert_held_t       *h;
    ngx_http_linkcert_main_conf_t  *lmcf;

    lmcf = ngx_http_linkcert_hold_conf;

    if (lmcf == NULL) {
        return;
    }

    changes = ngx_http_linkcert_table_changes(lmcf->shm_zone);

    if (changes != ngx_http_linkcert_hold_changes || ngx_exiting) {
        ngx_http_linkcert_hold_changes = changes;

        for (q = ngx_queue_head(&ngx_http_linkcert_held);
             q != ngx_queue_sentinel(&ngx_http_linkcert_held);
             q = next)
        {
            next = ngx_queue_next(q);
            h = ngx_queue_data(q, ngx_http_linkcert_held_t, queue);

            if (ngx_exiting
                || (ngx_http_linkcert_table_demand(lmcf->shm_zone, h->name,
                                                   h->len, 0)
                       != NGX_HTTP_LINKCERT_NAME_WAIT
                    && !ngx_http_linkcert_redis_lazy_fetching(h->name,
                                                              h->len)))
            {
                ngx_http_linkcert_hold_release(h);
            }
        }
    }

    if (ngx_http_linkcert_nheld) {
        ngx_add_timer(ev, NGX_HTTP_LINKCERT_HOLD_POLL);
    }
}


/* something the table's counter does not count: every held name again */

void
ngx_http_linkcert_hold_wake(void)
{
    ngx_http_linkcert_hold_changes--;
}


static void
ngx_http_linkcert_hold_release(ngx_http_linkcert_held_t *h)
{
    ngx_http_linkcert_hold_end(h);
    ngx_http_linkcert_hold_pass(h->connection);
}


/* the hold is over, whatever ended it: it is counted in the histogram */

static void
ngx_http_linkcert_hold_end(ngx_http_linkcert_held_t *h)
{
    ngx_uint_t                  i;
    ngx_msec_t                  held;
    ngx_http_linkcert_stats_t  *st;

    held = ngx_current_msec - h->start;

    ngx_queue_remove(&h->queue);
    ngx_http_linkcert_nheld--;

    st = ngx_http_linkcert_stats(ngx_http_linkcert_hold_conf->shm_zone);

    for (i = 0; i < NGX_HTTP_LINKCERT_HOLD_BUCKETS - 1; i++) {
        if (held <= ngx_http_linkcert_hold_le[i]) {
            break;
        }
    }

    (void) ngx_atomic_fetch_add(&st->hold[i], 1);
    (void) ngx_atomic_fetch_add(&st->hold_ms, held);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, h->connection->log, 0,
                   "linkcert: handshake for \"%s\" held %M ms", h->name,
                   held);
}


/* nginx's own path, as if the ClientHello had just arrived */

static void
ngx_http_linkcert_hold_pass(ngx_connection_t *c)
{
    ngx_event_t  *rev;

    rev = c->read;

    if (rev->timer_set) {
        ngx_del_timer(rev);
    }

    rev->timedout = 0;
    rev->ready = 1;

    ngx_reusable_connection(c, 0);

    ngx_http_init_connection(c);
}
