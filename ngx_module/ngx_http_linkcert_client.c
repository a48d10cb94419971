
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: outbound HTTPS requests from a worker (the ACME client's
 * transport).
 *
 * One request per connection: the host is resolved with c-ares (or taken
 * as an IP literal), connected with ngx_event_connect_peer(), secured
 * with nginx's client-side SSL, and the server's certificate chain and
 * host name are always verified.  Connect, send and read each have a
 * timeout; timers are cancelable so "nginx -s quit" is not held up.  The
 * handler is never called before ngx_http_linkcert_fetch() returns.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <ares.h>

#include "ngx_http_linkcert.h"


#define NGX_HTTP_LINKCERT_CONNECT_TIMEOUT  10000
#define NGX_HTTP_LINKCERT_IO_TIMEOUT       30000


struct ngx_http_linkcert_fetch_s {
    ngx_queue_t                         queue;     /* all live requests */
    ngx_peer_connection_t               peer;
    struct sockaddr_in6                 sockaddr;
    ngx_str_t                           name;
    ngx_str_t                           host;
    u_char                              name_data[NGX_SOCKADDR_STRLEN];
    char                                host_data[256];
    unsigned                            port;
    int                                 https;

    char                               *request;
    size_t                              request_len;
    size_t                              sent;

    ngx_uint_t                          literal;   /* host is an address */
    ngx_msec_t                          connect_timeout;
    ngx_msec_t                          io_timeout;
    ngx_pool_t                         *pool;

    lc_http_response_t                 *response;
    const char                         *error;
    ngx_event_t                         done;

    ngx_http_linkcert_fetch_handler_pt  handler;
    void                               *data;
    ngx_log_t                          *log;
    ngx_ssl_t                          *ssl;
};


static void ngx_http_linkcert_fetch_resolved(void *arg, int status,
    int timeouts, struct hostent *he);
static void ngx_http_linkcert_fetch_connect(ngx_http_linkcert_fetch_t *f);
static void ngx_http_linkcert_fetch_connected(ngx_event_t *wev);
static void ngx_http_linkcert_fetch_handshaked(ngx_connection_t *c);
static void ngx_http_linkcert_fetch_write(ngx_event_t *wev);
static void ngx_http_linkcert_fetch_read(ngx_event_t *rev);
static void ngx_http_linkcert_fetch_fail(ngx_http_linkcert_fetch_t *f,
    const char *error);
static void ngx_http_linkcert_fetch_done(ngx_event_t *ev);
static void ngx_http_linkcert_fetch_free(ngx_http_linkcert_fetch_t *f);


static ngx_queue_t  ngx_http_linkcert_fetches;


ngx_http_linkcert_fetch_t *
ngx_http_linkcert_fetch(ngx_ssl_t *ssl, const char *method, const char *url,
    const char *accept, const char *content_type, const char *body,
    size_t body_len, ngx_http_linkcert_fetch_handler_pt handler, void *data,
    ngx_log_t *log)
{
    char    *request;
    size_t   len;

    request = lc_http_request(method, url, accept, content_type, body,
                              body_len, &len);
    if (request == NULL) {
        return NULL;
    }

    return ngx_http_linkcert_fetch_send(ssl, url, request, len,
                                        ngx_strcmp(method, "HEAD") == 0, 0,
                                        handler, data, log);
}


/*
 * request is a whole request for url, malloc()ed: the fetch takes it (and
 * frees it even when it fails).  timeout applies to the connect, each
 * send and each read; 0: the defaults.
 */

ngx_http_linkcert_fetch_t *
ngx_http_linkcert_fetch_send(ngx_ssl_t *ssl, const char *url, char *request,
    size_t request_len, ngx_uint_t head, ngx_msec_t timeout,
    ngx_http_linkcert_fetch_handler_pt handler, void *data, ngx_log_t *log)
{
    const char                 *path;
    struct sockaddr_in         *sin;
    ngx_http_linkcert_fetch_t  *f;

    f = ngx_calloc(sizeof(ngx_http_linkcert_fetch_t), log);
    if (f == NULL) {
        free(request);
        return NULL;
    }

    f->handler = handler;
    f->data = data;
    f->log = log;
    f->ssl = ssl;
    f->request = request;
    f->request_len = request_len;
    f->connect_timeout = timeout ? timeout
                                 : NGX_HTTP_LINKCERT_CONNECT_TIMEOUT;
    f->io_timeout = timeout ? timeout : NGX_HTTP_LINKCERT_IO_TIMEOUT;

    if (ngx_http_linkcert_fetches.next == NULL) {
        ngx_queue_init(&ngx_http_linkcert_fetches);
    }

    f->done.handler = ngx_http_linkcert_fetch_done;
    f->done.data = f;
    f->done.log = log;

    f->response = lc_http_response_new();

    if (f->response == NULL
        || lc_http_url(url, &f->https, f->host_data, sizeof(f->host_data),
                       &f->port, &path)
           != 0)
    {
        free(f->request);
        lc_http_response_free(f->response);
        ngx_free(f);
        return NULL;
    }

    f->host.data = (u_char *) f->host_data;
    f->host.len = ngx_strlen(f->host_data);

    ngx_queue_insert_tail(&ngx_http_linkcert_fetches, &f->queue);

    if (head) {
        lc_http_response_head(f->response);
    }

    sin = (struct sockaddr_in *) &f->sockaddr;

    if (inet_pton(AF_INET, f->host_data, &sin->sin_addr) == 1) {
        f->literal = 1;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(f->port);
        f->peer.socklen = sizeof(struct sockaddr_in);
        ngx_http_linkcert_fetch_connect(f);
        return f;
    }

    if (inet_pton(AF_INET6, f->host_data, &f->sockaddr.sin6_addr) == 1) {
        f->literal = 1;
        f->sockaddr.sin6_family = AF_INET6;
        f->sockaddr.sin6_port = htons(f->port);
        f->peer.socklen = sizeof(struct sockaddr_in6);
        ngx_http_linkcert_fetch_connect(f);
        return f;
    }

    if (ngx_http_linkcert_dns_resolve(f->host_data,
                                      ngx_http_linkcert_fetch_resolved, f)
        != NGX_OK)
    {
        ngx_http_linkcert_fetch_fail(f, "no resolver");
    }

    return f;
}


static void
ngx_http_linkcert_fetch_resolved(void *arg, int status, int timeouts,
    struct hostent *he)
{
    ngx_http_linkcert_fetch_t *f = arg;

    struct sockaddr_in  *sin;

    if (status != ARES_SUCCESS || he == NULL || he->h_addr_list[0] == NULL
        || he->h_length != 4)
    {
        ngx_http_linkcert_fetch_fail(f, "cannot resolve the host");
        return;
    }

    sin = (struct sockaddr_in *) &f->sockaddr;
    sin->sin_family = AF_INET;
    sin->sin_port = htons(f->port);
    ngx_memcpy(&sin->sin_addr, he->h_addr_list[0], 4);
    f->peer.socklen = sizeof(struct sockaddr_in);

    ngx_http_linkcert_fetch_connect(f);
}


static void
ngx_http_linkcert_fetch_connect(ngx_http_linkcert_fetch_t *f)
{
    ngx_int_t          rc;
    ngx_connection_t  *c;

    f->name.data = f->name_data;
    f->name.len = ngx_sock_ntop((struct sockaddr *) &f->sockaddr,
                                f->peer.socklen, f->name_data,
                                NGX_SOCKADDR_STRLEN, 1);

    f->peer.sockaddr = (struct sockaddr *) &f->sockaddr;
    f->peer.name = &f->name;
    f->peer.get = ngx_event_get_peer;
    f->peer.log = f->log;
    f->peer.log_error = NGX_ERROR_ERR;

    rc = ngx_event_connect_peer(&f->peer);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        f->peer.connection = NULL;
        ngx_http_linkcert_fetch_fail(f, "cannot connect");
        return;
    }

    c = f->peer.connection;

    /* nginx's SSL code allocates from the connection's pool */

    f->pool = ngx_create_pool(2048, f->log);
    if (f->pool == NULL) {
        ngx_http_linkcert_fetch_fail(f, "out of memory");
        return;
    }

    c->pool = f->pool;
    c->data = f;
    c->read->handler = ngx_http_linkcert_fetch_read;
    c->write->handler = ngx_http_linkcert_fetch_connected;

    if (rc == NGX_AGAIN) {
        ngx_add_timer(c->write, f->connect_timeout);
        c->write->cancelable = 1;
        return;
    }

    ngx_http_linkcert_fetch_connected(c->write);
}


static void
ngx_http_linkcert_fetch_connected(ngx_event_t *wev)
{
    ngx_int_t                   rc;
    ngx_connection_t           *c;
    ngx_http_linkcert_fetch_t  *f;

    c = wev->data;
    f = c->data;

    if (wev->timedout) {
        ngx_http_linkcert_fetch_fail(f, "connect timed out");
        return;
    }

    if (wev->timer_set) {
        ngx_del_timer(wev);
    }

    if (ngx_http_linkcert_connect_error(c, NGX_LOG_ERR, &f->name)) {
        ngx_http_linkcert_fetch_fail(f, "connection refused");
        return;
    }

    /* a request is written whole: Nagle would only add the peer's ACK delay */

    (void) ngx_tcp_nodelay(c);

    if (!f->https) {
        ngx_http_linkcert_fetch_handshaked(c);
        return;
    }

    if (ngx_ssl_create_connection(f->ssl, c, NGX_SSL_BUFFER|NGX_SSL_CLIENT)
        != NGX_OK)
    {
        ngx_http_linkcert_fetch_fail(f, "SSL setup failed");
        return;
    }

    /* SNI is for names only, never for IP literals (RFC 6066) */

    if (!f->literal
        && SSL_set_tlsext_host_name(c->ssl->connection, f->host_data) == 0)
    {
        ngx_http_linkcert_fetch_fail(f, "SSL setup failed");
        return;
    }

    rc = ngx_ssl_handshake(c);

    if (rc == NGX_AGAIN) {
        c->ssl->handler = ngx_http_linkcert_fetch_handshaked;
        ngx_add_timer(c->read, f->io_timeout);
        c->read->cancelable = 1;
        return;
    }

    ngx_http_linkcert_fetch_handshaked(c);
}


/* a non-blocking connect() has ended: its error (logged), or 0 */

ngx_err_t
ngx_http_linkcert_connect_error(ngx_connection_t *c, ngx_uint_t level,
    ngx_str_t *name)
{
    int        err;
    socklen_t  len;

    err = 0;
    len = sizeof(int);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, (void *) &err, &len) == -1) {
        err = ngx_socket_errno;
    }

    if (err) {
        ngx_log_error(level, c->log, err, "linkcert: connect() to %V failed",
                      name);
    }

    return err;
}


static void
ngx_http_linkcert_fetch_handshaked(ngx_connection_t *c)
{
    long                        rc;
    ngx_http_linkcert_fetch_t  *f;

    f = c->data;

    if (c->read->timer_set) {
        ngx_del_timer(c->read);
    }

    if (f->https) {
        if (!c->ssl->handshaked) {
            ngx_http_linkcert_fetch_fail(f, c->read->timedout
                                            ? "TLS handshake timed out"
                                            : "TLS handshake failed");
            return;
        }

        rc = SSL_get_verify_result(c->ssl->connection);

        if (rc != X509_V_OK
            || SSL_get0_peer_certificate(c->ssl->connection) == NULL)
        {
            ngx_log_error(NGX_LOG_ERR, f->log, 0,
                          "linkcert: the certificate of \"%V\" does not "
                          "verify: %s", &f->host,
                          X509_verify_cert_error_string(rc));
            ngx_http_linkcert_fetch_fail(f, "server certificate does not "
                                            "verify");
            return;
        }

        if (f->literal
            ? X509_check_ip_asc(SSL_get0_peer_certificate(c->ssl->connection),
                                f->host_data, 0) != 1
            : ngx_ssl_check_host(c, &f->host) != NGX_OK)
        {
            ngx_log_error(NGX_LOG_ERR, f->log, 0,
                          "linkcert: the certificate does not match \"%V\"",
                          &f->host);
            ngx_http_linkcert_fetch_fail(f, "server certificate does not "
                                            "match the host name");
            return;
        }
    }

    c->read->handler = ngx_http_linkcert_fetch_read;
    c->write->handler = ngx_http_linkcert_fetch_write;

    ngx_http_linkcert_fetch_write(c->write);
}


static void
ngx_http_linkcert_fetch_write(ngx_event_t *wev)
{
    ssize_t                     n;
    ngx_connection_t           *c;
    ngx_http_linkcert_fetch_t  *f;

    c = wev->data;
    f = c->data;

    if (wev->timedout) {
        ngx_http_linkcert_fetch_fail(f, "send timed out");
        return;
    }

    while (f->sent < f->request_len) {
        n = c->send(c, (u_char *) f->request + f->sent,
                    f->request_len - f->sent);

        if (n == NGX_AGAIN) {
            ngx_add_timer(wev, f->io_timeout);
            wev->cancelable = 1;

            if (ngx_handle_write_event(wev, 0) != NGX_OK) {
                ngx_http_linkcert_fetch_fail(f, "send failed");
            }

            return;
        }

        if (n == NGX_ERROR) {
            ngx_http_linkcert_fetch_fail(f, "send failed");
            return;
        }

        f->sent += n;
    }

    if (wev->timer_set) {
        ngx_del_timer(wev);
    }

    wev->handler = ngx_http_linkcert_fetch_write;

    ngx_add_timer(c->read, f->io_timeout);
    c->read->cancelable = 1;

    ngx_http_linkcert_fetch_read(c->read);
}


static void
ngx_http_linkcert_fetch_read(ngx_event_t *rev)
{
    int                         rc;
    ssize_t                     n;
    ngx_connection_t           *c;
    ngx_http_linkcert_fetch_t  *f;
    u_char                      buf[4096];

    c = rev->data;
    f = c->data;

    if (rev->timedout) {
        ngx_http_linkcert_fetch_fail(f, "read timed out");
        return;
    }

    if (f->sent < f->request_len) {
        return;
    }

    for ( ;; ) {
        n = c->recv(c, buf, sizeof(buf));

        if (n == NGX_AGAIN) {
            if (ngx_handle_read_event(rev, 0) != NGX_OK) {
                ngx_http_linkcert_fetch_fail(f, "read failed");
            }

            return;
        }

        if (n == NGX_ERROR) {
            ngx_http_linkcert_fetch_fail(f, "read failed");
            return;
        }

        rc = lc_http_response_feed(f->response, (char *) buf, n, n == 0);

        if (rc == 1) {
            ngx_http_linkcert_fetch_fail(f, NULL);
            return;
        }

        if (rc == -1 || n == 0) {
            ngx_http_linkcert_fetch_fail(f, "malformed or incomplete "
                                            "response");
            return;
        }
    }
}


/*
 * Ends the request (error NULL: a complete response); the handler runs
 * from the posted events, never from inside ngx_http_linkcert_fetch().
 */

static void
ngx_http_linkcert_fetch_fail(ngx_http_linkcert_fetch_t *f, const char *error)
{
    ngx_connection_t  *c;

    f->error = error;

    c = f->peer.connection;

    if (c) {
        f->peer.connection = NULL;

        if (c->ssl) {
            c->ssl->no_wait_shutdown = 1;
            (void) ngx_ssl_shutdown(c);
        }

        ngx_close_connection(c);
    }

    if (f->pool) {
        ngx_destroy_pool(f->pool);
        f->pool = NULL;
    }

    ngx_post_event(&f->done, &ngx_posted_events);
}


static void
ngx_http_linkcert_fetch_done(ngx_event_t *ev)
{
    ngx_http_linkcert_fetch_t *f = ev->data;

    f->handler(f->data, f->error ? NULL : f->response, f->error);

    ngx_http_linkcert_fetch_free(f);
}


/*
 * On worker exit, after c-ares is gone: every request still open is
 * closed without calling its handler (nginx checks that a worker leaves
 * no socket open).
 */

void
ngx_http_linkcert_fetch_cancel_all(void)
{
    ngx_queue_t                *q;
    ngx_http_linkcert_fetch_t  *f;

    if (ngx_http_linkcert_fetches.next == NULL) {
        return;
    }

    while (!ngx_queue_empty(&ngx_http_linkcert_fetches)) {
        q = ngx_queue_head(&ngx_http_linkcert_fetches);
        f = ngx_queue_data(q, ngx_http_linkcert_fetch_t, queue);

        if (f->peer.connection) {
            ngx_http_linkcert_fetch_fail(f, "cancelled");
        }

        if (f->done.posted) {
            ngx_delete_posted_event(&f->done);
        }

        ngx_http_linkcert_fetch_free(f);
    }
}


static void
ngx_http_linkcert_fetch_free(ngx_http_linkcert_fetch_t *f)
{
    ngx_queue_remove(&f->queue);

    free(f->request);
    lc_http_response_free(f->response);
    ngx_free(f);
}
