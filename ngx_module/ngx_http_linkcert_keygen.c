
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: certificate keys made off the event loop.
 *
 * An RSA key costs tens to hundreds of milliseconds of CPU: made in
 * worker 0's event loop, it would stall every connection that worker
 * holds.  It is made in one of nginx's thread pools instead, and the
 * worker is told when it is ready.  ECDSA keys cost too little to be
 * worth a thread.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert.h"
#include "lc_acme_key.h"


#if (NGX_THREADS)

struct ngx_http_linkcert_keygen_s {
    lc_acme_key_type_e                  type;
    EVP_PKEY                           *key;
    ngx_http_linkcert_keygen_handler_pt handler;   /* NULL: cancelled */
    void                               *data;
};


static void ngx_http_linkcert_keygen_thread(void *data, ngx_log_t *log);
static void ngx_http_linkcert_keygen_done(ngx_event_t *ev);


static ngx_str_t  ngx_http_linkcert_keygen_pool = ngx_string("default");


/* at configuration: the pool exists in every worker from then on */

ngx_int_t
ngx_http_linkcert_keygen_conf(ngx_conf_t *cf,
    ngx_http_linkcert_main_conf_t *lmcf)
{
    if (lmcf->key_type != LC_ACME_KEY_RSA2048) {
        return NGX_OK;
    }

    lmcf->keygen_pool = ngx_thread_pool_add(cf, &ngx_http_linkcert_keygen_pool);

    return (lmcf->keygen_pool == NULL) ? NGX_ERROR : NGX_OK;
}


ngx_http_linkcert_keygen_t *
ngx_http_linkcert_keygen(ngx_http_linkcert_main_conf_t *lmcf,
    lc_acme_key_type_e type, ngx_http_linkcert_keygen_handler_pt handler,
    void *data, ngx_log_t *log)
{
    ngx_thread_task_t           *task;
    ngx_http_linkcert_keygen_t  *kg;

    if (lmcf->keygen_pool == NULL || type != LC_ACME_KEY_RSA2048) {
        return NULL;
    }

    task = ngx_calloc(sizeof(ngx_thread_task_t)
                      + sizeof(ngx_http_linkcert_keygen_t), log);
    if (task == NULL) {
        return NULL;
    }

    kg = (ngx_http_linkcert_keygen_t *) (task + 1);
    kg->type = type;
    kg->handler = handler;
    kg->data = data;

    task->ctx = kg;
    task->handler = ngx_http_linkcert_keygen_thread;
    task->event.handler = ngx_http_linkcert_keygen_done;
    task->event.data = task;
    task->event.log = log;

    if (ngx_thread_task_post(lmcf->keygen_pool, task) != NGX_OK) {
        ngx_free(task);
        return NULL;
    }

    return kg;
}


/* the handler is not called; the key is freed when the thread is done */

void
ngx_http_linkcert_keygen_cancel(ngx_http_linkcert_keygen_t *kg)
{
    kg->handler = NULL;
}


static void
ngx_http_linkcert_keygen_thread(void *data, ngx_log_t *log)
{
    ngx_http_linkcert_keygen_t  *kg = data;

    kg->key = lc_acme_key_new(kg->type);
}


static void
ngx_http_linkcert_keygen_done(ngx_event_t *ev)
{
    ngx_thread_task_t           *task;
    ngx_http_linkcert_keygen_t  *kg;

    task = ev->data;
    kg = task->ctx;

    if (kg->handler) {
        kg->handler(kg->data, kg->key);

    } else {
        EVP_PKEY_free(kg->key);
    }

    ngx_free(task);
}


#else /* !NGX_THREADS: keys are made in the event loop */

ngx_int_t
ngx_http_linkcert_keygen_conf(ngx_conf_t *cf,
    ngx_http_linkcert_main_conf_t *lmcf)
{
    return NGX_OK;
}


ngx_http_linkcert_keygen_t *
ngx_http_linkcert_keygen(ngx_http_linkcert_main_conf_t *lmcf,
    lc_acme_key_type_e type, ngx_http_linkcert_keygen_handler_pt handler,
    void *data, ngx_log_t *log)
{
    return NULL;
}


void
ngx_http_linkcert_keygen_cancel(ngx_http_linkcert_keygen_t *kg)
{
}

#endif
