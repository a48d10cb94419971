
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: linkcert_ask, the on-demand gate the operator answers: worker
 * 0 asks its URL about a name before the DNS check.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert.h"


#define NGX_HTTP_LINKCERT_ASK_TIMEOUT  5000     /* ms */


/* a linkcert_ask request for an on-demand name */
typedef struct {
    ngx_queue_t                     queue;
    ngx_event_t                     timer;
    ngx_uint_t                      decided;
    uint32_t                        job_id;
    char                            name[LC_DOMAIN_MAX + 1];
} ngx_http_linkcert_ask_t;


static void ngx_http_linkcert_ask_done(void *data, lc_http_response_t *res,
    const char *error);
static void ngx_http_linkcert_ask_timeout(ngx_event_t *ev);
static void ngx_http_linkcert_ask_refuse(ngx_http_linkcert_ask_t *ask,
    ngx_uint_t answered, const lc_error_t *err);


static ngx_connection_t                ngx_http_linkcert_ask_dumb;
static ngx_queue_t                     ngx_http_linkcert_asks;
static ngx_http_linkcert_main_conf_t  *ngx_http_linkcert_ask_conf;


void
ngx_http_linkcert_ask_init(ngx_http_linkcert_main_conf_t *lmcf)
{
    ngx_queue_init(&ngx_http_linkcert_asks);
    ngx_http_linkcert_ask_dumb.fd = (ngx_socket_t) -1;
    ngx_http_linkcert_ask_conf = lmcf;
}


/* worker 0 exits: the names not decided yet are handed back */

void
ngx_http_linkcert_ask_exit(void)
{
    ngx_queue_t              *q;
    ngx_http_linkcert_ask_t  *ask;

    if (ngx_http_linkcert_ask_conf == NULL) {
        return;
    }

    while (!ngx_queue_empty(&ngx_http_linkcert_asks)) {
        q = ngx_queue_head(&ngx_http_linkcert_asks);
        ask = ngx_queue_data(q, ngx_http_linkcert_ask_t, queue);

        if (ask->timer.timer_set) {
            ngx_del_timer(&ask->timer);
        }

        if (!ask->decided) {
            ngx_http_linkcert_table_release(
                                   ngx_http_linkcert_ask_conf->shm_zone,
                                   (u_char *) ask->name,
                                   ngx_strlen(ask->name), ask->job_id);
        }

        ngx_queue_remove(q);
        ngx_free(ask);
    }

    ngx_http_linkcert_ask_conf = NULL;
}


/*
 * linkcert_ask: GET url?domain=name.  Only a 2xx allows; any other answer
 * refuses the name for linkcert_negative_ttl, no answer within 5 s or a
 * failed request for a minute at most.
 */

ngx_int_t
ngx_http_linkcert_ask(const char *name, uint32_t job_id, ngx_log_t *log)
{
    u_char                         *url, *p;
    size_t                          len;
    ngx_http_linkcert_ask_t        *ask;
    ngx_http_linkcert_main_conf_t  *lmcf;

    lmcf = ngx_http_linkcert_ask_conf;

    ask = ngx_calloc(sizeof(ngx_http_linkcert_ask_t), log);
    if (ask == NULL) {
        return NGX_ERROR;
    }

    len = lmcf->ask.len + sizeof("?domain=") + LC_DOMAIN_MAX + 1;

    url = ngx_alloc(len, log);
    if (url == NULL) {
        ngx_free(ask);
        return NGX_ERROR;
    }

    p = ngx_snprintf(url, len - 1, "%V%sdomain=%s", &lmcf->ask,
                     ngx_strlchr(lmcf->ask.data,
                                 lmcf->ask.data + lmcf->ask.len, '?')
                     ? "&" : "?",
                     name);
    *p = '\0';

    ngx_cpystrn((u_char *) ask->name, (u_char *) name, LC_DOMAIN_MAX + 1);
    ask->job_id = job_id;

    ask->timer.handler = ngx_http_linkcert_ask_timeout;
    ask->timer.data = &ngx_http_linkcert_ask_dumb;
    ask->timer.log = log;
    ask->timer.cancelable = 1;

    ngx_queue_insert_tail(&ngx_http_linkcert_asks, &ask->queue);

    if (ngx_http_linkcert_fetch(lmcf->acme_ssl, "GET", (char *) url, "*/*",
                                NULL, NULL, 0, ngx_http_linkcert_ask_done,
                                ask, log)
        == NULL)
    {
        ngx_free(url);
        ngx_queue_remove(&ask->queue);
        ngx_free(ask);
        return NGX_ERROR;
    }

    ngx_free(url);

    ngx_add_timer(&ask->timer, NGX_HTTP_LINKCERT_ASK_TIMEOUT);

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, log, 0,
                   "linkcert: asking about \"%s\"", name);

    return NGX_OK;
}


/* the request ended: its answer decides unless the timeout already did */

static void
ngx_http_linkcert_ask_done(void *data, lc_http_response_t *res,
    const char *error)
{
    ngx_http_linkcert_ask_t *ask = data;

    int         status;
    lc_error_t  err;

    if (!ask->decided) {
        ask->decided = 1;

        if (ask->timer.timer_set) {
            ngx_del_timer(&ask->timer);
        }

        status = res ? lc_http_response_status(res) : 0;

        if (status >= 200 && status < 300) {
            if (ngx_http_linkcert_dns_check_start(ask->name, ask->job_id,
                                                  ngx_cycle->log)
                != NGX_OK)
            {
                ngx_http_linkcert_table_release(
                                 ngx_http_linkcert_ask_conf->shm_zone,
                                 (u_char *) ask->name,
                                 ngx_strlen(ask->name), ask->job_id);
            }

        } else if (res) {
            lc_error_set(&err, LC_ERR_ASK_REFUSED, "linkcert_ask answered %d",
                         status);
            ngx_http_linkcert_ask_refuse(ask, 1, &err);

        } else {
            lc_error_set(&err, LC_ERR_ASK_FAILED, "linkcert_ask failed: %s",
                         error);
            ngx_http_linkcert_ask_refuse(ask, 0, &err);
        }
    }

    ngx_queue_remove(&ask->queue);
    ngx_free(ask);
}


/* the request stays until it ends by itself; the name is decided now */

static void
ngx_http_linkcert_ask_timeout(ngx_event_t *ev)
{
    lc_error_t                err;
    ngx_http_linkcert_ask_t  *ask;

    ask = (ngx_http_linkcert_ask_t *)
              ((u_char *) ev - offsetof(ngx_http_linkcert_ask_t, timer));

    ask->decided = 1;

    lc_error_set(&err, LC_ERR_ASK_FAILED,
                 "linkcert_ask did not answer within 5 s");
    ngx_http_linkcert_ask_refuse(ask, 0, &err);
}


static void
ngx_http_linkcert_ask_refuse(ngx_http_linkcert_ask_t *ask,
    ngx_uint_t answered, const lc_error_t *err)
{
    ngx_http_linkcert_table_refused(ngx_http_linkcert_ask_conf->shm_zone,
                                    (u_char *) ask->name,
                                    ngx_strlen(ask->name), ask->job_id,
                                    answered, err, ngx_cycle->log);
}
