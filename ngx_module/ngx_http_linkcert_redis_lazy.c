
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: a lazy catch-up's files, and the store's disk work off the
 * event loop.
 *
 * A new edge catching up from the fleet puts each domain into its zone
 * from the record (ngx_http_linkcert_redis_apply.c) without writing its
 * files: the zone says issued, with its serial and expiry, and the store
 * has no pair yet (the entry's store stamp is 0).  Worker 0's filler
 * writes the files afterwards, a small batch at a time.  A handshake for
 * such a name before the filler reached it is held (the peek of
 * ngx_http_linkcert_hold.c) while its worker fetches the record on its
 * own Redis connection and writes the pair atomically, as the filler
 * would; then it goes on, and nginx's handshake reads the pair from the
 * store as any cache miss does.  Without Redis the handshake is not held:
 * it gets the fallback certificate until the files are there.
 *
 * The pairs (the filler's and a handshake's) are written, and the store
 * synced (one syncfs()), in threads of nginx's "default" pool, so no
 * worker's event loop waits on the disk for them.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert_redis.h"


#define NGX_HTTP_LINKCERT_LAZY_MAX  256          /* fetches per worker */


typedef struct {
    ngx_queue_t                       queue;
    ngx_http_linkcert_main_conf_t    *lmcf;
    ngx_http_linkcert_redis_change_t  change;
} ngx_http_linkcert_lazy_t;


static void ngx_http_linkcert_lazy_record(void *data, redisReply *reply,
    const char *error);
static void ngx_http_linkcert_lazy_written(ngx_http_linkcert_redis_change_t *e,
    ngx_int_t rc);
static void ngx_http_linkcert_lazy_end(ngx_http_linkcert_lazy_t *f);
static ngx_uint_t ngx_http_linkcert_lazy_wanted(
    ngx_http_linkcert_main_conf_t *lmcf, u_char *name, size_t len);


static ngx_queue_t  ngx_http_linkcert_lazy_fetches;
static ngx_uint_t   ngx_http_linkcert_lazy_n;


/*
 * A handshake for name: NGX_OK when it is to be held, the pair being
 * fetched from the fleet (now or already); NGX_DECLINED when it goes on
 * (its files are there, not a fleet's name, Redis away or too many
 * fetches under way).
 */

ngx_int_t
ngx_http_linkcert_redis_lazy_fetch(ngx_http_linkcert_main_conf_t *lmcf,
    u_char *name, size_t len)
{
    ngx_http_linkcert_lazy_t  *f;

    if (lmcf->redis == NULL
        || !ngx_http_linkcert_redis_connected()
        || !ngx_http_linkcert_lazy_wanted(lmcf, name, len))
    {
        return NGX_DECLINED;
    }

    if (ngx_http_linkcert_redis_lazy_fetching(name, len)) {
        return NGX_OK;
    }

    if (ngx_http_linkcert_lazy_n >= NGX_HTTP_LINKCERT_LAZY_MAX) {
        return NGX_DECLINED;
    }

    f = ngx_calloc(sizeof(ngx_http_linkcert_lazy_t), ngx_cycle->log);
    if (f == NULL) {
        return NGX_DECLINED;
    }

    f->lmcf = lmcf;
    f->change.data = f;
    f->change.written = ngx_http_linkcert_lazy_written;
    f->change.len = len;
    ngx_memcpy(f->change.name, name, len);

    if (ngx_http_linkcert_redis_record_get(f->change.name, len,
                                           ngx_http_linkcert_lazy_record, f)
        != NGX_OK)
    {
        ngx_free(f);
        return NGX_DECLINED;
    }

    ngx_queue_insert_tail(&ngx_http_linkcert_lazy_fetches, &f->queue);
    ngx_http_linkcert_lazy_n++;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "linkcert: \"%s\" fetched from the fleet for a handshake",
                   f->change.name);

    return NGX_OK;
}


/* the zone serves the name from the fleet and the store lacks its files */

static ngx_uint_t
ngx_http_linkcert_lazy_wanted(ngx_http_linkcert_main_conf_t *lmcf,
    u_char *name, size_t len)
{
    static lc_record_t  rec;

    return ngx_http_linkcert_table_get(lmcf->shm_zone, name, len, &rec)
               == NGX_OK
           && rec.status == LC_STATUS_ISSUED
           && rec.has_cert
           && rec.store_stamp == 0;
}


ngx_uint_t
ngx_http_linkcert_redis_lazy_fetching(u_char *name, size_t len)
{
    ngx_queue_t               *q;
    ngx_http_linkcert_lazy_t  *f;

    if (ngx_http_linkcert_lazy_fetches.next == NULL) {
        ngx_queue_init(&ngx_http_linkcert_lazy_fetches);
        return 0;
    }

    for (q = ngx_queue_head(&ngx_http_linkcert_lazy_fetches);
         q != ngx_queue_sentinel(&ngx_http_linkcert_lazy_fetches);
         q = ngx_queue_next(q))
    {
        f = ngx_queue_data(q, ngx_http_linkcert_lazy_t, queue);

        if (f->change.len == len
            && ngx_memcmp(f->change.name, name, len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


/* how long a handshake waits for its fetch: Redis's timeout */

ngx_msec_t
ngx_http_linkcert_redis_lazy_hold(void)
{
    ngx_http_linkcert_redis_conf_t  *rcf;

    rcf = ngx_http_linkcert_redis_fleet();

    return rcf ? rcf->timeout : 0;
}


static void
ngx_http_linkcert_lazy_record(void *data, redisReply *reply,
    const char *error)
{
    ngx_http_linkcert_lazy_t *f = data;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "linkcert: the fleet's record of \"%s\" not fetched "
                      "for a handshake: %*s", f->change.name,
                      reply ? (size_t) reply->len : ngx_strlen(error),
                      reply ? reply->str : error);

    } else if (ngx_http_linkcert_redis_apply_fill(f->lmcf, &f->change, reply,
                                                  ngx_cycle->log)
               == NGX_AGAIN)
    {
        return;                     /* lazy_written, from a thread */
    }

    ngx_http_linkcert_lazy_end(f);
}


static void
ngx_http_linkcert_lazy_written(ngx_http_linkcert_redis_change_t *e,
    ngx_int_t rc)
{
    ngx_http_linkcert_lazy_end(e->data);
}


static void
ngx_http_linkcert_lazy_end(ngx_http_linkcert_lazy_t *f)
{
    ngx_queue_remove(&f->queue);
    ngx_http_linkcert_lazy_n--;

    ngx_free(f);

    /* the handshakes held for it go on, with its files or without */
    ngx_http_linkcert_hold_wake();
}


#if (NGX_THREADS)

typedef void (*ngx_http_linkcert_thread_pt)(void *data, ngx_log_t *log);


/* a lazy domain's pair, written in a thread */
typedef struct {
    ngx_http_linkcert_main_conf_t      *lmcf;
    ngx_http_linkcert_redis_change_t   *e;
    lc_cert_info_t                      info;
    ngx_int_t                           carried;
    ngx_int_t                           rc;
    ngx_log_t                          *log;
    size_t                              key_len;
    size_t                              chain_len;
    u_char                             *key;
    u_char                             *chain;
} ngx_http_linkcert_lazy_write_t;


static ngx_thread_task_t *ngx_http_linkcert_lazy_task(size_t size,
    ngx_http_linkcert_thread_pt thread, ngx_event_handler_pt done,
    ngx_log_t *log);
static void ngx_http_linkcert_lazy_write_thread(void *data, ngx_log_t *log);
static void ngx_http_linkcert_lazy_write_done(ngx_event_t *ev);


typedef struct {
    ngx_http_linkcert_state_handler_pt  handler;
    void                               *data;
    uint64_t                            value;
    ngx_err_t                           err;
    u_char                              path[NGX_MAX_PATH];
} ngx_http_linkcert_lazy_sync_t;


static void ngx_http_linkcert_lazy_sync_thread(void *data, ngx_log_t *log);
static void ngx_http_linkcert_lazy_sync_done(ngx_event_t *ev);

#endif


/*
 * The files of a lazy domain written in a thread, so that no worker waits
 * on the disk for them: NGX_AGAIN, e->written(e, rc) is called once they
 * are (and the domain is in the zone with them); NGX_ERROR; NGX_DECLINED:
 * no thread, to be written by the caller.
 */

ngx_int_t
ngx_http_linkcert_redis_lazy_write(ngx_http_linkcert_main_conf_t *lmcf,
    ngx_http_linkcert_redis_change_t *e, u_char *key, size_t key_len,
    ngx_str_t *chain, lc_cert_info_t *info, ngx_int_t carried,
    ngx_log_t *log)
{
#if (NGX_THREADS)
    ngx_thread_task_t               *task;
    ngx_http_linkcert_lazy_write_t  *w;

    if (lmcf->keygen_pool == NULL) {
        return NGX_DECLINED;
    }

    task = ngx_http_linkcert_lazy_task(sizeof(ngx_http_linkcert_lazy_write_t)
                                       + key_len + chain->len,
                                       ngx_http_linkcert_lazy_write_thread,
                                       ngx_http_linkcert_lazy_write_done, log);
    if (task == NULL) {
        return NGX_ERROR;
    }

    w = task->ctx;
    w->lmcf = lmcf;
    w->e = e;
    w->info = *info;
    w->carried = carried;
    w->log = log;
    w->key = (u_char *) (w + 1);
    w->key_len = key_len;
    w->chain = ngx_cpymem(w->key, key, key_len);
    w->chain_len = chain->len;
    ngx_memcpy(w->chain, chain->data, chain->len);

    if (ngx_thread_task_post(lmcf->keygen_pool, task) != NGX_OK) {
        ngx_explicit_memzero(w->key, key_len);
        ngx_free(task);
        return NGX_DECLINED;
    }

    return NGX_AGAIN;

#else

    return NGX_DECLINED;

#endif
}


#if (NGX_THREADS)

/* a task with size bytes of its own after it (task->ctx), zeroed */

static ngx_thread_task_t *
ngx_http_linkcert_lazy_task(size_t size, ngx_http_linkcert_thread_pt thread,
    ngx_event_handler_pt done, ngx_log_t *log)
{
    ngx_thread_task_t  *task;

    task = ngx_calloc(sizeof(ngx_thread_task_t) + size, log);
    if (task == NULL) {
        return NULL;
    }

    task->ctx = task + 1;
    task->handler = thread;
    task->event.handler = done;
    task->event.data = task;
    task->event.log = log;

    return task;
}


static void
ngx_http_linkcert_lazy_write_thread(void *data, ngx_log_t *log)
{
    ngx_http_linkcert_lazy_write_t *w = data;

    w->rc = ngx_http_linkcert_store_publish(&w->lmcf->store, w->e->name,
                                            (char *) w->key, w->key_len,
                                            (char *) w->chain, w->chain_len,
                                            0, w->log);

    ngx_explicit_memzero(w->key, w->key_len);
}


static void
ngx_http_linkcert_lazy_write_done(ngx_event_t *ev)
{
    ngx_int_t                        rc;
    ngx_thread_task_t               *task;
    ngx_http_linkcert_lazy_write_t  *w;

    task = ev->data;
    w = task->ctx;

    rc = w->rc;

    if (rc == NGX_OK) {
        rc = ngx_http_linkcert_redis_record_serve(w->lmcf, w->e, &w->info, 1,
                                                  w->carried, w->log);
    }

    w->e->written(w->e, rc);

    ngx_free(task);
}

#endif


/*
 * What was written without fsync() reaches the disk: one syncfs() of the
 * store's file system, in a thread (NGX_AGAIN: handler(data, rc, value)
 * is called from the event loop when it is over), or here without one.
 */

ngx_int_t
ngx_http_linkcert_redis_lazy_sync(ngx_http_linkcert_main_conf_t *lmcf,
    uint64_t value, ngx_http_linkcert_state_handler_pt handler, void *data,
    ngx_log_t *log)
{
#if (NGX_THREADS)
    ngx_thread_task_t              *task;
    ngx_http_linkcert_lazy_sync_t  *s;

    if (lmcf->keygen_pool == NULL) {
        goto here;
    }

    task = ngx_http_linkcert_lazy_task(sizeof(ngx_http_linkcert_lazy_sync_t),
                                       ngx_http_linkcert_lazy_sync_thread,
                                       ngx_http_linkcert_lazy_sync_done, log);
    if (task == NULL) {
        goto here;
    }

    s = task->ctx;
    s->handler = handler;
    s->data = data;
    s->value = value;
    ngx_sprintf(s->path, "%V%Z", &lmcf->store);

    if (ngx_thread_task_post(lmcf->keygen_pool, task) != NGX_OK) {
        ngx_free(task);
        goto here;
    }

    return NGX_AGAIN;

here:
#endif

    ngx_http_linkcert_store_sync_all(&lmcf->store, log);

    return NGX_OK;
}


#if (NGX_THREADS)

static void
ngx_http_linkcert_lazy_sync_thread(void *data, ngx_log_t *log)
{
    ngx_http_linkcert_lazy_sync_t *s = data;

    int  fd;

    s->err = 0;

    fd = open((char *) s->path, O_RDONLY|O_DIRECTORY);

    if (fd == -1 || syncfs(fd) == -1) {
        s->err = ngx_errno;
    }

    if (fd != -1) {
        (void) close(fd);
    }
}


static void
ngx_http_linkcert_lazy_sync_done(ngx_event_t *ev)
{
    ngx_thread_task_t              *task;
    ngx_http_linkcert_lazy_sync_t  *s;

    task = ev->data;
    s = task->ctx;

    if (s->err) {
        ngx_log_error(NGX_LOG_ERR, ev->log, s->err,
                      "linkcert: syncfs(\"%s\") failed", s->path);
    }

    s->handler(s->data, s->err ? NGX_ERROR : NGX_OK, s->value);

    ngx_free(task);
}

#endif
