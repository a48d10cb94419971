
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: c-ares inside the worker's event loop.
 *
 * Each c-ares socket becomes an nginx connection whose read and write
 * events (level-triggered, as c-ares asks for them through its socket
 * state callback) call ares_process_fd(); one cancelable timer drives
 * c-ares' own timeouts.  Nothing here ever blocks the worker.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <ares.h>

#include "ngx_http_linkcert.h"


#define NGX_HTTP_LINKCERT_DNS_SOCKETS  32


typedef struct {
    ares_channel                   channel;
    ngx_event_t                    timer;
    ngx_log_t                     *log;
    ngx_uint_t                     nconns;
    ngx_connection_t              *conns[NGX_HTTP_LINKCERT_DNS_SOCKETS];
} ngx_http_linkcert_dns_t;


static void ngx_http_linkcert_dns_sock_state(void *data, ares_socket_t fd,
    int readable, int writable);
static void ngx_http_linkcert_dns_read(ngx_event_t *ev);
static void ngx_http_linkcert_dns_write(ngx_event_t *ev);
static void ngx_http_linkcert_dns_timeout(ngx_event_t *ev);
static void ngx_http_linkcert_dns_set_timer(void);
static void ngx_http_linkcert_dns_close(ngx_uint_t i);


static ngx_http_linkcert_dns_t  *ngx_http_linkcert_dns;


ngx_int_t
ngx_http_linkcert_dns_init(ngx_cycle_t *cycle,
    ngx_http_linkcert_main_conf_t *lmcf)
{
    int                       rc, mask;
    struct ares_options       opts;
    ngx_http_linkcert_dns_t  *dns;

    rc = ares_library_init(ARES_LIB_INIT_ALL);
    if (rc != ARES_SUCCESS) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                      "linkcert: ares_library_init() failed: %s",
                      ares_strerror(rc));
        return NGX_ERROR;
    }

    dns = ngx_pcalloc(cycle->pool, sizeof(ngx_http_linkcert_dns_t));
    if (dns == NULL) {
        return NGX_ERROR;
    }

    dns->log = cycle->log;

    ngx_memzero(&opts, sizeof(struct ares_options));

    opts.sock_state_cb = ngx_http_linkcert_dns_sock_state;
    opts.sock_state_cb_data = dns;
    opts.timeout = (int) lmcf->resolver_timeout;
    opts.tries = (int) lmcf->resolver_attempts;
    opts.flags = ARES_FLAG_NOSEARCH|ARES_FLAG_NOALIASES|ARES_FLAG_NOCHECKRESP;

    mask = ARES_OPT_SOCK_STATE_CB|ARES_OPT_TIMEOUTMS|ARES_OPT_TRIES
           |ARES_OPT_FLAGS;

    rc = ares_init_options(&dns->channel, &opts, mask);
    if (rc != ARES_SUCCESS) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                      "linkcert: ares_init_options() failed: %s",
                      ares_strerror(rc));
        return NGX_ERROR;
    }

    if (lmcf->resolver.len) {
        rc = ares_set_servers_ports_csv(dns->channel,
                                        (char *) lmcf->resolver.data);
        if (rc != ARES_SUCCESS) {
            ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                          "linkcert: ares_set_servers_ports_csv(\"%V\") "
                          "failed: %s", &lmcf->resolver, ares_strerror(rc));
            ares_destroy(dns->channel);
            return NGX_ERROR;
        }
    }

    dns->timer.handler = ngx_http_linkcert_dns_timeout;
    dns->timer.data = dns;
    dns->timer.log = cycle->log;
    dns->timer.cancelable = 1;

    ngx_http_linkcert_dns = dns;

    return NGX_OK;
}


/* pending queries are answered with ARES_EDESTRUCTION */

void
ngx_http_linkcert_dns_exit(void)
{
    ngx_http_linkcert_dns_t  *dns;

    dns = ngx_http_linkcert_dns;

    if (dns == NULL) {
        return;
    }

    ares_destroy(dns->channel);

    while (dns->nconns) {
        ngx_http_linkcert_dns_close(dns->nconns - 1);
    }

    if (dns->timer.timer_set) {
        ngx_del_timer(&dns->timer);
    }

    ngx_http_linkcert_dns = NULL;

    ares_library_cleanup();
}


ngx_int_t
ngx_http_linkcert_dns_query(const char *name, int type,
    ares_callback callback, void *arg)
{
    if (ngx_http_linkcert_dns == NULL) {
        return NGX_DECLINED;
    }

    ares_query(ngx_http_linkcert_dns->channel, name, 1 /* class IN */, type,
               callback, arg);

    ngx_http_linkcert_dns_set_timer();

    return NGX_OK;
}


/* a host name to IPv4 addresses, /etc/hosts first (c-ares' "fb" order) */

ngx_int_t
ngx_http_linkcert_dns_resolve(const char *host, ares_host_callback callback,
    void *arg)
{
    if (ngx_http_linkcert_dns == NULL) {
        return NGX_DECLINED;
    }

    ares_gethostbyname(ngx_http_linkcert_dns->channel, host, AF_INET,
                       callback, arg);

    ngx_http_linkcert_dns_set_timer();

    return NGX_OK;
}


static void
ngx_http_linkcert_dns_sock_state(void *data, ares_socket_t fd, int readable,
    int writable)
{
    ngx_http_linkcert_dns_t *dns = data;

    ngx_uint_t         i;
    ngx_connection_t  *c;

    c = NULL;

    for (i = 0; i < dns->nconns; i++) {
        if (dns->conns[i]->fd == fd) {
            c = dns->conns[i];
            break;
        }
    }

    if (!readable && !writable) {
        /* c-ares closes the socket itself right after this */

        if (c) {
            ngx_http_linkcert_dns_close(i);
        }

        return;
    }

    if (c == NULL) {
        if (dns->nconns == NGX_HTTP_LINKCERT_DNS_SOCKETS) {
            ngx_log_error(NGX_LOG_ALERT, dns->log, 0,
                          "linkcert: too many DNS sockets");
            return;
        }

        c = ngx_get_connection(fd, dns->log);
        if (c == NULL) {
            return;
        }

        c->data = dns;
        c->read->handler = ngx_http_linkcert_dns_read;
        c->write->handler = ngx_http_linkcert_dns_write;
        c->read->log = dns->log;
        c->write->log = dns->log;

        dns->conns[dns->nconns++] = c;
    }

    if (readable && !c->read->active) {
        (void) ngx_add_event(c->read, NGX_READ_EVENT, NGX_LEVEL_EVENT);

    } else if (!readable && c->read->active) {
        (void) ngx_del_event(c->read, NGX_READ_EVENT, 0);
    }

    if (writable && !c->write->active) {
        (void) ngx_add_event(c->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT);

    } else if (!writable && c->write->active) {
        (void) ngx_del_event(c->write, NGX_WRITE_EVENT, 0);
    }
}


/*
 * The connection may be gone once ares_process_fd() returns: it is not
 * touched afterwards.
 */

static void
ngx_http_linkcert_dns_read(ngx_event_t *ev)
{
    ngx_connection_t  *c;

    c = ev->data;

    ares_process_fd(ngx_http_linkcert_dns->channel, c->fd, ARES_SOCKET_BAD);
    ngx_http_linkcert_dns_set_timer();
}


static void
ngx_http_linkcert_dns_write(ngx_event_t *ev)
{
    ngx_connection_t  *c;

    c = ev->data;

    ares_process_fd(ngx_http_linkcert_dns->channel, ARES_SOCKET_BAD, c->fd);
    ngx_http_linkcert_dns_set_timer();
}


static void
ngx_http_linkcert_dns_timeout(ngx_event_t *ev)
{
    ares_process_fd(ngx_http_linkcert_dns->channel, ARES_SOCKET_BAD,
                    ARES_SOCKET_BAD);
    ngx_http_linkcert_dns_set_timer();
}


static void
ngx_http_linkcert_dns_set_timer(void)
{
    ngx_msec_t                timer;
    struct timeval           *tv, buf;
    ngx_http_linkcert_dns_t  *dns;

    dns = ngx_http_linkcert_dns;

    if (dns == NULL) {
        return;
    }

    tv = ares_timeout(dns->channel, NULL, &buf);

    if (tv == NULL) {
        if (dns->timer.timer_set) {
            ngx_del_timer(&dns->timer);
        }

        return;
    }

    timer = (ngx_msec_t) tv->tv_sec * 1000 + tv->tv_usec / 1000 + 1;

    ngx_add_timer(&dns->timer, timer);
}


static void
ngx_http_linkcert_dns_close(ngx_uint_t i)
{
    ngx_connection_t         *c;
    ngx_http_linkcert_dns_t  *dns;

    dns = ngx_http_linkcert_dns;
    c = dns->conns[i];

    if (c->read->active) {
        (void) ngx_del_event(c->read, NGX_READ_EVENT, 0);
    }

    if (c->write->active) {
        (void) ngx_del_event(c->write, NGX_WRITE_EVENT, 0);
    }

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    ngx_free_connection(c);
    c->fd = (ngx_socket_t) -1;

    dns->conns[i] = dns->conns[--dns->nconns];
}
