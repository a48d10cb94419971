
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the fleet's certificates applied on this edge (the changes
 * ngx_http_linkcert_redis_cert.c writes).
 *
 * Worker 0 of every edge applies the others' changes: on a message (the
 * subscriber, ngx_http_linkcert_redis_sub.c), when its subscription is
 * made (again), and every few seconds, it reads the changes after the last
 * one it applied (ZRANGEBYSCORE, a batch at a time; never KEYS or SCAN),
 * fetches each domain's record, and writes the pair into its own store
 * as the ACME driver does (ngx_http_linkcert_store_publish()), then into
 * its zone as the loader does, so the next handshake serves it; or
 * removes the domain as DELETE does.  The number of the last change
 * applied is kept in the store (redis.seq), so a restarted edge goes on
 * from there and a new one catches up from the start, a batch at a time.
 *
 * A catch-up of more than a batch is lazy: each domain goes into the zone
 * from its record (and its sealed info) without its files, which the
 * filler writes afterwards, a small batch at a time, and a handshake that
 * needs them first fetches them itself (ngx_http_linkcert_redis_lazy.c).
 * redis.seq then says how far the store holds every change: the zone's
 * cursor runs ahead of it in memory, and a restart goes on from the
 * store's.  The filler's pairs are written, and the store synced, in
 * threads, not in the event loop.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert_redis.h"
#include "lc_domain.h"


#define NGX_HTTP_LINKCERT_SYNC_BATCH   128
#define NGX_HTTP_LINKCERT_SYNC_EVERY   5000          /* ms, a safety net */
#define NGX_HTTP_LINKCERT_SYNC_SAVE    1000          /* ms, redis.seq */
#define NGX_HTTP_LINKCERT_SYNC_FILE    "redis.seq"
#define NGX_HTTP_LINKCERT_SYNC_FILL    128           /* the filler's batch */
#define NGX_HTTP_LINKCERT_SYNC_PAUSE   5             /* ms between them */


typedef struct {
    ngx_http_linkcert_main_conf_t  *lmcf;
    ngx_log_t                      *log;
    uint64_t                        applied;     /* the last change, in
                                                    the zone */
    uint64_t                        stored;      /* every change up to it
                                                    in the store */
    uint64_t                        saved;       /* ... in redis.seq */
    ngx_msec_t                      saved_at;
    ngx_uint_t                      syncing;     /* a sync in a thread */

    /* a catch-up of more than a batch: its figures, logged at its end */
    ngx_uint_t                      changes;
    ngx_msec_t                      started;
    double                          longest;     /* ms, in the event loop */
    double                          batch;
    double                          saving;      /* ms, the longest */
    ngx_uint_t                      running;     /* a batch under way */
    ngx_uint_t                      again;       /* asked meanwhile */
    ngx_event_t                     timer;
    ngx_event_t                     fill;        /* the filler's pause */
    ngx_connection_t                dumb;

    /* the filler: its figures, logged when the store holds every change */
    ngx_uint_t                      filled;
    ngx_msec_t                      fill_started;
    double                          fill_longest;

    /* the batch under way */
    ngx_uint_t                      n;
    ngx_uint_t                      pending;
    ngx_uint_t                      failed;
    ngx_uint_t                      mode;        /* NGX_HTTP_LINKCERT_APPLY_ */
    uint64_t                        last;
    uint64_t                        top;         /* its highest change */
    uint64_t                        fill_to;     /* the filler's: up to */
} ngx_http_linkcert_sync_t;


/* a change being applied: its data is the sync */
typedef ngx_http_linkcert_redis_change_t  ngx_http_linkcert_sync_entry_t;


static void ngx_http_linkcert_sync_tick(ngx_event_t *ev);
static void ngx_http_linkcert_sync_step(ngx_http_linkcert_sync_t *sync);
static void ngx_http_linkcert_sync_fill(ngx_event_t *ev);
static ngx_uint_t ngx_http_linkcert_sync_range(ngx_http_linkcert_sync_t *sync,
    uint64_t after, uint64_t upto, ngx_uint_t count);
static void ngx_http_linkcert_sync_next(ngx_http_linkcert_sync_t *sync,
    ngx_uint_t more);
static void ngx_http_linkcert_sync_saved(void *data, ngx_int_t rc,
    uint64_t seq);
static void ngx_http_linkcert_sync_seq(void *data, redisReply *reply,
    const char *error);
static void ngx_http_linkcert_sync_changes(void *data, redisReply *reply,
    const char *error);
static void ngx_http_linkcert_sync_record(void *data, redisReply *reply,
    const char *error);
static void ngx_http_linkcert_sync_written(ngx_http_linkcert_sync_entry_t *e,
    ngx_int_t rc);
static void ngx_http_linkcert_sync_done(ngx_http_linkcert_sync_t *sync);
static void ngx_http_linkcert_sync_figures(ngx_http_linkcert_sync_t *sync,
    ngx_uint_t more, double saving);
static double ngx_http_linkcert_sync_clock(void);


static ngx_http_linkcert_sync_t  *ngx_http_linkcert_sync;


/* worker 0: the last change applied (0: none, or not worker 0) */

uint64_t
ngx_http_linkcert_redis_applied(void)
{
    return ngx_http_linkcert_sync ? ngx_http_linkcert_sync->applied : 0;
}


/*
 * worker 0: Redis lost its data (its epoch changed): the changes are read
 * from the first; a batch under way is dropped (read from the old place)
 */

void
ngx_http_linkcert_redis_reread(void)
{
    ngx_http_linkcert_sync_t  *sync;

    sync = ngx_http_linkcert_sync;

    if (sync == NULL) {
        return;
    }

    sync->applied = 0;
    sync->stored = 0;
    sync->last = 0;
    sync->failed = sync->running;

    ngx_http_linkcert_redis_cert_changed();
}


/* worker 0: the others' changes are applied here */

ngx_int_t
ngx_http_linkcert_redis_cert_init_process(ngx_cycle_t *cycle)
{
    lc_error_t                      err;
    ngx_http_linkcert_file_t        file;
    ngx_http_linkcert_sync_t       *sync;
    ngx_http_linkcert_main_conf_t  *lmcf;
    u_char                          path[NGX_MAX_PATH];

    lmcf = ngx_http_linkcert_worker0(cycle);

    if (lmcf == NULL || ngx_http_linkcert_redis_fleet() == NULL) {
        return NGX_OK;
    }

    sync = ngx_pcalloc(cycle->pool, sizeof(ngx_http_linkcert_sync_t));
    if (sync == NULL) {
        return NGX_ERROR;
    }

    sync->lmcf = lmcf;
    sync->log = cycle->log;

    /* a store of an edge older than the intermediates kept once: none */
    ngx_http_linkcert_redis_issuer_upgrade(&lmcf->store, cycle->log);

    ngx_sprintf(path, "%V/" NGX_HTTP_LINKCERT_SYNC_FILE "%Z", &lmcf->store);

    if (ngx_http_linkcert_store_read_file(path, &file, &err,
                                          NGX_HTTP_LINKCERT_SYNC_FILE, 64)
        == NGX_OK)
    {
        while (file.len && isspace(file.data[file.len - 1])) {
            file.len--;
        }

        sync->applied = (uint64_t) ngx_atoof(file.data, file.len);
        ngx_free(file.data);

        if (sync->applied == (uint64_t) NGX_ERROR) {
            ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                          "linkcert: \"%s\" is not a number: the fleet's "
                          "changes are read from the first", path);
            sync->applied = 0;
        }

        sync->stored = sync->applied;
        sync->saved = sync->applied;
    }

    ngx_http_linkcert_timer_init(&sync->timer, &sync->dumb, sync,
                                 ngx_http_linkcert_sync_tick, cycle->log);

    ngx_add_timer(&sync->timer, NGX_HTTP_LINKCERT_SYNC_EVERY);

    sync->fill.data = &sync->dumb;
    sync->fill.handler = ngx_http_linkcert_sync_fill;
    sync->fill.log = cycle->log;
    sync->fill.cancelable = 1;

    ngx_http_linkcert_sync = sync;

    return ngx_http_linkcert_redis_sub_init_process(cycle);
}


void
ngx_http_linkcert_redis_cert_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_linkcert_redis_sub_exit_process(cycle);

    if (ngx_http_linkcert_sync && ngx_http_linkcert_sync->timer.timer_set) {
        ngx_del_timer(&ngx_http_linkcert_sync->timer);
    }

    if (ngx_http_linkcert_sync && ngx_http_linkcert_sync->fill.timer_set) {
        ngx_del_timer(&ngx_http_linkcert_sync->fill);
    }

    ngx_http_linkcert_sync = NULL;
}


/* the subscriber's news: a change was published, or it subscribed (again) */

void
ngx_http_linkcert_redis_cert_changed(void)
{
    ngx_http_linkcert_sync_t  *sync;

    sync = ngx_http_linkcert_sync;

    if (sync == NULL) {
        return;
    }

    if (sync->running) {
        sync->again = 1;
        return;
    }

    ngx_http_linkcert_sync_step(sync);
}


static void
ngx_http_linkcert_sync_tick(ngx_event_t *ev)
{
    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    ngx_add_timer(ev, NGX_HTTP_LINKCERT_SYNC_EVERY);

    ngx_http_linkcert_redis_cert_changed();
}


/* the next batch of changes after the last one applied */

static void
ngx_http_linkcert_sync_step(ngx_http_linkcert_sync_t *sync)
{
    sync->running = 1;
    sync->again = 0;
    sync->mode = NGX_HTTP_LINKCERT_APPLY_EAGER;

    /*
     * the fleet's sequence first: Redis may have lost its data (after
     * its jump on a new master: ngx_http_linkcert_redis_failover.c)
     */

    if (ngx_http_linkcert_redis_seq_get(ngx_http_linkcert_sync_seq, sync)
        != NGX_OK)
    {
        sync->running = 0;
        return;
    }

    if (!ngx_http_linkcert_sync_range(sync, sync->applied, 0,
                                      NGX_HTTP_LINKCERT_SYNC_BATCH))
    {
        sync->running = 0;
    }
}


/* the filler's next batch: changes the zone has and the store not yet */

static void
ngx_http_linkcert_sync_fill(ngx_event_t *ev)
{
    ngx_http_linkcert_sync_t  *sync;

    sync = ngx_http_linkcert_sync;

    if (sync == NULL || sync->running || sync->stored >= sync->applied
        || ngx_exiting || ngx_quit || ngx_terminate)
    {
        return;                     /* a batch's end looks again */
    }

    if (sync->filled == 0) {
        sync->fill_started = ngx_current_msec;
        sync->fill_longest = 0;
    }

    sync->running = 1;
    sync->mode = NGX_HTTP_LINKCERT_APPLY_FILL;
    sync->fill_to = sync->applied;

    if (!ngx_http_linkcert_sync_range(sync, sync->stored, sync->fill_to,
                                      NGX_HTTP_LINKCERT_SYNC_FILL))
    {
        sync->running = 0;
    }
}


/* the changes after "after" (up to "upto", 0: all), count at most */

static ngx_uint_t
ngx_http_linkcert_sync_range(ngx_http_linkcert_sync_t *sync, uint64_t after,
    uint64_t upto, ngx_uint_t count)
{
    u_char       changes[NGX_HTTP_LINKCERT_REDIS_KEY_MAX],
                 min[NGX_INT64_LEN + 2], max[NGX_INT64_LEN + 2],
                 num[NGX_INT_T_LEN];
    size_t       lens[8];
    const char  *argv[8];

    argv[0] = "ZRANGEBYSCORE";
    lens[0] = sizeof("ZRANGEBYSCORE") - 1;
    argv[1] = (char *) changes;
    lens[1] = ngx_http_linkcert_redis_name(changes, "changes", NULL, 0);
    argv[2] = (char *) min;
    lens[2] = ngx_sprintf(min, "(%uL", after) - min;
    argv[3] = (char *) max;
    lens[3] = upto ? (size_t) (ngx_sprintf(max, "%uL", upto) - max)
                   : (size_t) (ngx_cpymem(max, "+inf", 4) - max);
    argv[4] = "WITHSCORES";
    lens[4] = sizeof("WITHSCORES") - 1;
    argv[5] = "LIMIT";
    lens[5] = 5;
    argv[6] = "0";
    lens[6] = 1;
    argv[7] = (char *) num;
    lens[7] = ngx_sprintf(num, "%ui", count) - num;

    return ngx_http_linkcert_redis_command(8, argv, lens,
                                           ngx_http_linkcert_sync_changes,
                                           sync)
           != NULL;
}


/*
 * A sequence behind the last change applied means Redis lost its data
 * (restarted without its append-only file, flushed): the changes are read
 * again from the first, once this batch is over.
 */

static void
ngx_http_linkcert_sync_seq(void *data, redisReply *reply, const char *error)
{
    ngx_http_linkcert_sync_t *sync = data;

    off_t  seq;

    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        return;                     /* not known: nothing to conclude */
    }

    seq = 0;

    if (reply->type == REDIS_REPLY_STRING) {
        seq = ngx_atoof((u_char *) reply->str, reply->len);
    }

    if (seq >= 0 && (uint64_t) seq < sync->applied) {
        ngx_log_error(NGX_LOG_WARN, sync->log, 0,
                      "linkcert: the fleet's sequence is at %O, behind the "
                      "last change this edge applied (%uL): redis lost its "
                      "data, the changes are read again from the first",
                      seq, sync->applied);
        sync->applied = 0;
        sync->stored = 0;
        sync->again = 1;
    }
}


static void
ngx_http_linkcert_sync_changes(void *data, redisReply *reply,
    const char *error)
{
    ngx_http_linkcert_sync_t *sync = data;

    size_t                           len;
    ngx_uint_t                       i;
    const char                      *reason;
    redisReply                      *member, *score;
    ngx_http_linkcert_sync_entry_t  *e;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        ngx_log_error(NGX_LOG_WARN, sync->log, 0,
                      "linkcert: the fleet's changes not read: %*s",
                      reply ? (size_t) reply->len : ngx_strlen(error),
                      reply ? reply->str : error);
        sync->running = 0;
        return;
    }

    sync->n = reply->elements / 2;
    sync->pending = 1;              /* until every request is made */
    sync->failed = 0;
    sync->last = sync->applied;
    sync->top = 0;

    /* a catch-up of more than a batch is lazy: its files written later */

    if (sync->mode != NGX_HTTP_LINKCERT_APPLY_FILL
        && (sync->n == NGX_HTTP_LINKCERT_SYNC_BATCH || sync->changes))
    {
        sync->mode = NGX_HTTP_LINKCERT_APPLY_LAZY;
    }

    for (i = 0; i + 1 < reply->elements; i += 2) {
        member = reply->element[i];
        score = reply->element[i + 1];

        if (member->type != REDIS_REPLY_STRING
            || score->type != REDIS_REPLY_STRING)
        {
            continue;
        }

        e = ngx_alloc(sizeof(ngx_http_linkcert_sync_entry_t), sync->log);
        if (e == NULL) {
            sync->failed = 1;
            break;
        }

        e->data = sync;
        e->mode = sync->mode;
        e->written = (sync->mode == NGX_HTTP_LINKCERT_APPLY_FILL)
                     ? ngx_http_linkcert_sync_written : NULL;
        e->seq = (uint64_t) ngx_atoof((u_char *) score->str, score->len);

        if (e->seq != (uint64_t) NGX_ERROR && e->seq > sync->top) {
            sync->top = e->seq;
        }

        /* a name that is not a domain's never reaches a path */

        if (e->seq == (uint64_t) NGX_ERROR
            || lc_domain_normalize(member->str, member->len, e->name, &len,
                                   &reason)
               != 0
            || len != member->len
            || ngx_strncmp(e->name, member->str, len) != 0)
        {
            ngx_log_error(NGX_LOG_WARN, sync->log, 0,
                          "linkcert: the fleet's change \"%*s\" %*s "
                          "ignored: not a domain's", (size_t) member->len,
                          member->str, (size_t) score->len, score->str);
            ngx_free(e);
            continue;
        }

        e->len = len;

        if (ngx_http_linkcert_redis_record_get(e->name, len,
                                               ngx_http_linkcert_sync_record,
                                               e)
            != NGX_OK)
        {
            ngx_free(e);
            sync->failed = 1;
            break;
        }

        sync->pending++;
    }

    if (--sync->pending == 0) {
        ngx_http_linkcert_sync_done(sync);
    }
}


static void
ngx_http_linkcert_sync_record(void *data, redisReply *reply,
    const char *error)
{
    ngx_http_linkcert_sync_entry_t *e = data;

    double                     start;
    ngx_int_t                  rc;
    ngx_http_linkcert_sync_t  *sync;

    sync = e->data;
    rc = NGX_ERROR;                 /* not applied */

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        ngx_log_error(NGX_LOG_WARN, sync->log, 0,
                      "linkcert: the fleet's record of \"%s\" not read: %*s",
                      e->name,
                      reply ? (size_t) reply->len : ngx_strlen(error),
                      reply ? reply->str : error);
        sync->failed = 1;

    } else if (!sync->failed) {
        start = ngx_http_linkcert_sync_clock();

        rc = ngx_http_linkcert_redis_record_apply(sync->lmcf, e, reply, 0,
                                                  sync->log);

        sync->batch += ngx_http_linkcert_sync_clock() - start;

        if (rc == NGX_AGAIN) {
            return;                 /* written in a thread: sync_written */
        }
    }

    ngx_http_linkcert_sync_written(e, rc);
}


/* a change of the batch is over: applied (rc), or its reading failed */

static void
ngx_http_linkcert_sync_written(ngx_http_linkcert_sync_entry_t *e,
    ngx_int_t rc)
{
    ngx_http_linkcert_sync_t  *sync;

    sync = e->data;

    if (rc == NGX_ERROR) {
        sync->failed = 1;

    } else if (e->seq > sync->last) {
        sync->last = e->seq;
    }

    ngx_free(e);

    if (--sync->pending == 0) {
        ngx_http_linkcert_sync_done(sync);
    }
}


/*
 * A batch is over: the next one, or done until the next change.  The
 * pairs applied are written without fsync(): the store is synced, and
 * redis.seq written, once a second while catching up and at its end (a
 * change applied again after a crash is the same pair).
 */

static void
ngx_http_linkcert_sync_done(ngx_http_linkcert_sync_t *sync)
{
    double      start;
    uint64_t    before;
    ngx_uint_t  more;

    sync->running = 0;

    if (sync->mode == NGX_HTTP_LINKCERT_APPLY_FILL) {

        if (!sync->failed && !sync->again) {
            sync->stored = (sync->n < NGX_HTTP_LINKCERT_SYNC_FILL)
                           ? sync->fill_to : ngx_max(sync->top, sync->stored);
        }

        sync->filled += sync->n;
        sync->fill_longest = ngx_max(sync->fill_longest, sync->batch);
        sync->batch = 0;

        /* a change came meanwhile: the zone's first */
        ngx_http_linkcert_sync_next(sync, !sync->failed && sync->again);
        return;
    }

    start = ngx_http_linkcert_sync_clock();

    more = !sync->failed
           && (sync->again || sync->n == NGX_HTTP_LINKCERT_SYNC_BATCH);

    before = sync->applied;

    if (sync->last > sync->applied || sync->again) {
        sync->applied = ngx_max(sync->last, sync->applied);
    }

    /* an eager batch's pairs are in the store, as is all before them */

    if (sync->mode == NGX_HTTP_LINKCERT_APPLY_EAGER
        && sync->stored >= before)
    {
        sync->stored = sync->applied;
    }

    ngx_http_linkcert_sync_next(sync, more);

    ngx_http_linkcert_sync_figures(sync, more,
                                   ngx_http_linkcert_sync_clock() - start);
}


/*
 * The store synced if it is time (in a thread), then the zone's next
 * batch, or the filler's after a pause.
 */

static void
ngx_http_linkcert_sync_next(ngx_http_linkcert_sync_t *sync, ngx_uint_t more)
{
    ngx_int_t   rc;
    ngx_uint_t  filling;

    filling = !sync->failed && sync->stored < sync->applied;

    if (sync->stored != sync->saved
        && !sync->syncing
        && ((!more && !filling)
            || ngx_current_msec - sync->saved_at
               >= NGX_HTTP_LINKCERT_SYNC_SAVE))
    {
        rc = ngx_http_linkcert_redis_lazy_sync(sync->lmcf, sync->stored,
                                               ngx_http_linkcert_sync_saved,
                                               sync, sync->log);
        if (rc == NGX_AGAIN) {
            sync->syncing = 1;

        } else {
            ngx_http_linkcert_sync_saved(sync, rc, sync->stored);
        }
    }

    if (!filling && sync->filled && sync->stored == sync->applied) {
        ngx_log_error(NGX_LOG_NOTICE, sync->log, 0,
                      "linkcert: the store holds the fleet's changes up to "
                      "%uL: %ui domains looked at in %M ms, the longest "
                      "batch %.1f ms", sync->stored, sync->filled,
                      ngx_current_msec - sync->fill_started,
                      sync->fill_longest);
        sync->filled = 0;
    }

    if (more) {
        ngx_http_linkcert_sync_step(sync);

    } else if (filling && !sync->fill.timer_set) {

        /* the filler begins a while after the catch-up, then goes on */

        ngx_add_timer(&sync->fill, sync->filled
                                   ? NGX_HTTP_LINKCERT_SYNC_PAUSE
                                   : NGX_HTTP_LINKCERT_SYNC_EVERY);
    }
}


/* the store synced up to seq (or not, rc): redis.seq says so */

static void
ngx_http_linkcert_sync_saved(void *data, ngx_int_t rc, uint64_t seq)
{
    ngx_http_linkcert_sync_t *sync = data;

    u_char  buf[NGX_INT64_LEN + 1];

    sync->syncing = 0;

    if (ngx_http_linkcert_sync != sync) {
        return;                     /* the process exits */
    }

    if (rc == NGX_OK
        && ngx_http_linkcert_store_write(&sync->lmcf->store, ".",
                                    NGX_HTTP_LINKCERT_SYNC_FILE,
                                    (char *) buf,
                                    ngx_sprintf(buf, "%uL\n", seq) - buf,
                                    0600, sync->log)
           == NGX_OK)
    {
        sync->saved = seq;
    }

    sync->saved_at = ngx_current_msec;

    /* what was stored meanwhile, at once if the catch-up is over */

    if (!sync->running && sync->stored != sync->saved
        && sync->stored == sync->applied)
    {
        ngx_http_linkcert_sync_next(sync, 0);
    }
}


/*
 * The longest batch: the records applied and the store synced, most of
 * them in one pass of the event loop (the answers come together).
 */

static void
ngx_http_linkcert_sync_figures(ngx_http_linkcert_sync_t *sync,
    ngx_uint_t more, double saving)
{
    sync->batch += saving;

    if (sync->changes == 0) {
        sync->started = ngx_current_msec;
        sync->longest = 0;
        sync->saving = 0;
    }

    sync->saving = ngx_max(sync->saving, saving);

    sync->changes += sync->n;
    sync->longest = ngx_max(sync->longest, sync->batch);
    sync->batch = 0;

    if (more) {
        return;
    }

    if (sync->changes > NGX_HTTP_LINKCERT_SYNC_BATCH) {
        ngx_log_error(NGX_LOG_NOTICE, sync->log, 0,
                      "linkcert: caught up with the fleet at change %uL: "
                      "%ui changes in %M ms, the longest batch %.1f ms "
                      "(the longest sync of the store %.1f ms), the store "
                      "holds the changes up to %uL",
                      sync->applied, sync->changes,
                      ngx_current_msec - sync->started, sync->longest,
                      sync->saving, sync->stored);
    }

    sync->changes = 0;
}


static double
ngx_http_linkcert_sync_clock(void)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1000000.0;
}
