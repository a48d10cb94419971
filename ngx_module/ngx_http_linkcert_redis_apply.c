
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
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert_redis.h"
#include "lc_domain.h"
#include "lc_fleet_info.h"


#define NGX_HTTP_LINKCERT_SYNC_BATCH   128
#define NGX_HTTP_LINKCERT_SYNC_EVERY   5000          /* ms, a safety net */
#define NGX_HTTP_LINKCERT_SYNC_SAVE    1000          /* ms, redis.seq */
#define NGX_HTTP_LINKCERT_SYNC_FILE    "redis.seq"


typedef struct {
    ngx_http_linkcert_main_conf_t  *lmcf;
    ngx_log_t                      *log;
    uint64_t                        applied;     /* the last change */
    uint64_t                        saved;       /* ... in redis.seq */
    ngx_msec_t                      saved_at;

    /* a catch-up of more than a batch: its figures, logged at its end */
    ngx_uint_t                      changes;
    ngx_msec_t                      started;
    double                          longest;     /* ms, in the event loop */
    double                          batch;
    double                          saving;      /* ms, the longest */
    ngx_uint_t                      running;     /* a batch under way */
    ngx_uint_t                      again;       /* asked meanwhile */
    ngx_event_t                     timer;
    ngx_connection_t                dumb;

    /* the batch under way */
    ngx_uint_t                      n;
    ngx_uint_t                      pending;
    ngx_uint_t                      failed;
    uint64_t                        last;
} ngx_http_linkcert_sync_t;


typedef struct {
    ngx_http_linkcert_sync_t       *sync;
    uint64_t                        seq;
    size_t                          len;
    char                            name[LC_DOMAIN_MAX + 1];
} ngx_http_linkcert_sync_entry_t;


static void ngx_http_linkcert_sync_tick(ngx_event_t *ev);
static void ngx_http_linkcert_sync_step(ngx_http_linkcert_sync_t *sync);
static void ngx_http_linkcert_sync_seq(void *data, redisReply *reply,
    const char *error);
static void ngx_http_linkcert_sync_changes(void *data, redisReply *reply,
    const char *error);
static void ngx_http_linkcert_sync_record(void *data, redisReply *reply,
    const char *error);
static void ngx_http_linkcert_sync_done(ngx_http_linkcert_sync_t *sync);
static void ngx_http_linkcert_sync_figures(ngx_http_linkcert_sync_t *sync,
    ngx_uint_t more, double saving);
static double ngx_http_linkcert_sync_clock(void);
static ngx_int_t ngx_http_linkcert_sync_apply(
    ngx_http_linkcert_main_conf_t *lmcf, ngx_http_linkcert_sync_entry_t *e,
    redisReply *reply, ngx_uint_t again, ngx_log_t *log);
static ngx_int_t ngx_http_linkcert_sync_store(
    ngx_http_linkcert_main_conf_t *lmcf, ngx_http_linkcert_sync_entry_t *e,
    redisReply *chain, redisReply *key, redisReply *info, ngx_uint_t again,
    ngx_log_t *log);
static ngx_int_t ngx_http_linkcert_sync_check(
    ngx_http_linkcert_sync_entry_t *e, redisReply *chain, u_char *plain,
    size_t len, redisReply *info, lc_cert_info_t *out, ngx_log_t *log);


static ngx_http_linkcert_sync_t  *ngx_http_linkcert_sync;


/*
 * A record the fleet sent back (the refusal of this edge's late write):
 * applied as a change read from the fleet is, even if this edge serves
 * that certificate already.
 */

ngx_int_t
ngx_http_linkcert_redis_apply(ngx_http_linkcert_main_conf_t *lmcf,
    const char *name, size_t len, uint64_t seq, redisReply *record,
    ngx_log_t *log)
{
    ngx_http_linkcert_sync_entry_t  e;

    ngx_memzero(&e, sizeof(ngx_http_linkcert_sync_entry_t));
    ngx_memcpy(e.name, name, len);
    e.len = len;
    e.seq = seq;

    return ngx_http_linkcert_sync_apply(lmcf, &e, record, 1, log);
}


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

    ngx_sprintf(path, "%V/" NGX_HTTP_LINKCERT_SYNC_FILE "%Z", &lmcf->store);

    if (ngx_http_linkcert_store_read_file(path, &file, &err,
                                          NGX_HTTP_LINKCERT_SYNC_FILE, 64)
        == NGX_OK)
    {
        while (file.len && isspace(file.data[file.len - 1])) {
            file.len--;
        }

        sync->applied = (uint64_t) ngx_atoof(file.data, file.len);
        sync->saved = sync->applied;
        ngx_free(file.data);

        if (sync->applied == (uint64_t) NGX_ERROR) {
            ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                          "linkcert: \"%s\" is not a number: the fleet's "
                          "changes are read from the first", path);
            sync->applied = 0;
        }
    }

    /* nginx's debug log reads a timer's data as a connection */
    sync->dumb.fd = (ngx_socket_t) -1;
    sync->dumb.data = sync;

    sync->timer.data = &sync->dumb;
    sync->timer.handler = ngx_http_linkcert_sync_tick;
    sync->timer.log = cycle->log;
    sync->timer.cancelable = 1;

    ngx_add_timer(&sync->timer, NGX_HTTP_LINKCERT_SYNC_EVERY);

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
    u_char       changes[NGX_HTTP_LINKCERT_REDIS_KEY_MAX],
                 min[NGX_INT64_LEN + 2], count[NGX_INT_T_LEN];
    size_t       lens[8];
    const char  *argv[8];

    sync->running = 1;
    sync->again = 0;

    /* the fleet's sequence first: Redis may have lost its data */

    argv[0] = "GET";
    lens[0] = 3;
    argv[1] = (char *) changes;
    lens[1] = ngx_http_linkcert_redis_name(changes, "seq", NULL, 0);

    if (ngx_http_linkcert_redis_command(2, argv, lens,
                                        ngx_http_linkcert_sync_seq, sync)
        == NULL)
    {
        sync->running = 0;
        return;
    }

    argv[0] = "ZRANGEBYSCORE";
    lens[0] = sizeof("ZRANGEBYSCORE") - 1;
    argv[1] = (char *) changes;
    lens[1] = ngx_http_linkcert_redis_name(changes, "changes", NULL, 0);
    argv[2] = (char *) min;
    lens[2] = ngx_sprintf(min, "(%uL", sync->applied) - min;
    argv[3] = "+inf";
    lens[3] = 4;
    argv[4] = "WITHSCORES";
    lens[4] = sizeof("WITHSCORES") - 1;
    argv[5] = "LIMIT";
    lens[5] = 5;
    argv[6] = "0";
    lens[6] = 1;
    argv[7] = (char *) count;
    lens[7] = ngx_sprintf(count, "%ui", (ngx_uint_t)
                          NGX_HTTP_LINKCERT_SYNC_BATCH) - count;

    if (ngx_http_linkcert_redis_command(8, argv, lens,
                                        ngx_http_linkcert_sync_changes, sync)
        == NULL)
    {
        sync->running = 0;
    }
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

    if (reply == NULL) {
        return;                     /* the batch fails with it */
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
        sync->again = 1;
    }
}


static void
ngx_http_linkcert_sync_changes(void *data, redisReply *reply,
    const char *error)
{
    ngx_http_linkcert_sync_t *sync = data;

    u_char                           key[NGX_HTTP_LINKCERT_REDIS_KEY_MAX];
    size_t                           lens[2], len;
    ngx_uint_t                       i;
    const char                      *argv[2], *reason;
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

        e->sync = sync;
        e->seq = (uint64_t) ngx_atoof((u_char *) score->str, score->len);

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

        argv[0] = "HGETALL";
        lens[0] = 7;
        argv[1] = (char *) key;
        lens[1] = ngx_http_linkcert_redis_name(key, "cert:", e->name, len);

        if (ngx_http_linkcert_redis_command(2, argv, lens,
                                            ngx_http_linkcert_sync_record, e)
            == NULL)
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
    ngx_http_linkcert_sync_t  *sync;

    sync = e->sync;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        ngx_log_error(NGX_LOG_WARN, sync->log, 0,
                      "linkcert: the fleet's record of \"%s\" not read: %*s",
                      e->name,
                      reply ? (size_t) reply->len : ngx_strlen(error),
                      reply ? reply->str : error);
        sync->failed = 1;

    } else if (!sync->failed) {
        start = ngx_http_linkcert_sync_clock();

        if (ngx_http_linkcert_sync_apply(sync->lmcf, e, reply, 0, sync->log)
            == NGX_ERROR)
        {
            sync->failed = 1;

        } else if (e->seq > sync->last) {
            sync->last = e->seq;
        }

        sync->batch += ngx_http_linkcert_sync_clock() - start;
    }

    ngx_free(e);

    if (--sync->pending == 0) {
        ngx_http_linkcert_sync_done(sync);
    }
}


/*
 * A batch is over: the next one, or done until the next change.  The
 * pairs applied are written without fsync(): the store is synced, and
 * redis.seq written, once a second while catching up and at its end
 * (a change applied again after a crash is the same pair).
 */

static void
ngx_http_linkcert_sync_done(ngx_http_linkcert_sync_t *sync)
{
    double                          start;
    u_char                          buf[NGX_INT64_LEN + 1];
    ngx_uint_t                      more;
    ngx_http_linkcert_main_conf_t  *lmcf;

    lmcf = sync->lmcf;
    sync->running = 0;
    start = ngx_http_linkcert_sync_clock();

    more = !sync->failed
           && (sync->again || sync->n == NGX_HTTP_LINKCERT_SYNC_BATCH);

    if (sync->last > sync->applied || sync->again) {
        sync->applied = ngx_max(sync->last, sync->applied);
    }

    if (sync->applied != sync->saved
        && (!more
            || ngx_current_msec - sync->saved_at
               >= NGX_HTTP_LINKCERT_SYNC_SAVE))
    {
        ngx_http_linkcert_store_sync_all(&lmcf->store, sync->log);

        (void) ngx_http_linkcert_store_write(&lmcf->store, ".",
                                    NGX_HTTP_LINKCERT_SYNC_FILE,
                                    (char *) buf,
                                    ngx_sprintf(buf, "%uL\n", sync->applied)
                                    - buf,
                                    0600, sync->log);
        sync->saved = sync->applied;
        sync->saved_at = ngx_current_msec;
    }

    ngx_http_linkcert_sync_figures(sync, more,
                                   ngx_http_linkcert_sync_clock() - start);

    /* a failure waits for the next message or tick */

    if (more) {
        ngx_http_linkcert_sync_step(sync);
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
                      "(the longest sync of the store %.1f ms)",
                      sync->applied, sync->changes,
                      ngx_current_msec - sync->started, sync->longest,
                      sync->saving);
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


/*
 * NGX_OK: applied, or nothing to apply (this edge's own change, the same
 * certificate, unless again: a record sent back or asked for, applied even
 * if it is this edge's own); NGX_DECLINED: a record that cannot be
 * applied, skipped (logged); NGX_ERROR: to be tried again (the store
 * could not be written).
 */

static ngx_int_t
ngx_http_linkcert_sync_apply(ngx_http_linkcert_main_conf_t *lmcf,
    ngx_http_linkcert_sync_entry_t *e, redisReply *reply, ngx_uint_t again,
    ngx_log_t *log)
{
    redisReply                      *edge, *chain, *key, *info;
    ngx_http_linkcert_redis_conf_t  *rcf;
    static lc_record_t               rec;

    rcf = ngx_http_linkcert_redis_fleet();

    edge = ngx_http_linkcert_redis_field(reply, "edge");

    if (edge == NULL) {
        return NGX_DECLINED;        /* gone since: a later change says */
    }

    if (!again
        && (size_t) edge->len == rcf->edge.len
        && ngx_strncmp(edge->str, rcf->edge.data, rcf->edge.len) == 0)
    {
        return NGX_OK;
    }

    if (ngx_http_linkcert_redis_field(reply, "removed")) {

        if (ngx_http_linkcert_table_remove(lmcf->shm_zone,
                                           (u_char *) e->name, e->len, &rec)
            == NGX_OK)
        {
            ngx_log_error(NGX_LOG_NOTICE, log, 0,
                          "linkcert: \"%s\" %s/%s -> removed by edge "
                          "\"%*s\"", e->name, lc_status_name(rec.status),
                          lc_stage_name(rec.stage), (size_t) edge->len,
                          edge->str);
        }

        (void) ngx_http_linkcert_store_remove(&lmcf->store,
                                              (u_char *) e->name, e->len,
                                              log);
        return NGX_OK;
    }

    chain = ngx_http_linkcert_redis_field(reply, "chain");
    key = ngx_http_linkcert_redis_field(reply, "key");

    if (chain == NULL || key == NULL
        || (size_t) key->len <= LC_SEAL_OVERHEAD)
    {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "linkcert: the fleet's record of \"%s\" is incomplete",
                      e->name);
        return NGX_DECLINED;
    }

    info = ngx_http_linkcert_redis_field(reply, "info");

    return ngx_http_linkcert_sync_store(lmcf, e, chain, key, info, again,
                                        log);
}


static ngx_int_t
ngx_http_linkcert_sync_store(ngx_http_linkcert_main_conf_t *lmcf,
    ngx_http_linkcert_sync_entry_t *e, redisReply *chain, redisReply *key,
    redisReply *info, ngx_uint_t again, ngx_log_t *log)
{
    size_t                           len;
    u_char                          *plain;
    ngx_int_t                        rc, carried;
    ngx_uint_t                       same;
    ngx_http_linkcert_loaded_t       loaded;
    ngx_http_linkcert_redis_conf_t  *rcf;
    static lc_record_t               rec;

    rcf = ngx_http_linkcert_redis_fleet();

    plain = ngx_alloc(key->len, log);
    if (plain == NULL) {
        return NGX_ERROR;
    }

    if (lc_unseal(rcf->key, e->name, e->len, (unsigned char *) key->str,
                  key->len, plain, &len)
        != 0)
    {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "linkcert: the fleet's key of \"%s\" does not open "
                      "with linkcert_redis_key: not the same key file on "
                      "every edge?", e->name);
        ngx_free(plain);
        return NGX_DECLINED;
    }

    rc = NGX_DECLINED;

    ngx_memzero(&loaded, sizeof(ngx_http_linkcert_loaded_t));

    carried = ngx_http_linkcert_sync_check(e, chain, plain, len, info,
                                           &loaded.info, log);
    if (carried == NGX_ERROR) {
        goto done;
    }

    /* this edge has it already: its files are not written again */

    same = (ngx_http_linkcert_table_get(lmcf->shm_zone, (u_char *) e->name,
                                        e->len, &rec)
            == NGX_OK
            && rec.has_cert
            && ngx_memcmp(rec.cert.sha256, loaded.info.sha256, 32) == 0);

    if (same && !again) {
        rc = NGX_OK;
        goto done;
    }

    /* a batch's pairs are synced together (sync_done); a refusal's now */

    if (!same
        && ngx_http_linkcert_store_publish(&lmcf->store, e->name,
                                           (char *) plain, len, chain->str,
                                           chain->len, again, log)
           != NGX_OK)
    {
        rc = NGX_ERROR;
        goto done;
    }

    loaded.ok = 1;
    loaded.stamp = ngx_http_linkcert_store_domain_stamp(&lmcf->store,
                                                        e->name);

    /* the fleet has its status object already (the issuing edge's) */
    ngx_http_linkcert_redis_status_hold(1);
    rc = ngx_http_linkcert_table_loaded(lmcf->shm_zone,
                                        (u_char *) e->name, e->len, &loaded,
                                        0);
    ngx_http_linkcert_redis_status_hold(0);

    if (rc != NGX_OK) {
        rc = NGX_DECLINED;
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "linkcert: the fleet's certificate of \"%s\" stored "
                      "but not served: no room in the zone", e->name);
        goto done;
    }

    ngx_log_error(NGX_LOG_NOTICE, log, 0,
                  "linkcert: \"%s\" certificate from the fleet (change "
                  "%uL) %s (%s)", e->name, e->seq,
                  same ? "served" : "stored and served",
                  carried == NGX_OK ? "its info carried" : "parsed");

    rc = NGX_OK;

done:

    ngx_explicit_memzero(plain, key->len);
    ngx_free(plain);

    return rc;
}


/*
 * The pair's info: carried by the record (written by the edge that
 * parsed and checked the pair, sealed, for this very chain and key, and
 * valid now), NGX_OK; else the pair parsed and checked here as the loader
 * does, NGX_DECLINED; NGX_ERROR: not to be served (logged).  A handshake
 * that loads the pair parses and checks it in any case (the store's
 * cache miss), so a chain that does not hold is never served.
 */

static ngx_int_t
ngx_http_linkcert_sync_check(ngx_http_linkcert_sync_entry_t *e,
    redisReply *chain, u_char *plain, size_t len, redisReply *info,
    lc_cert_info_t *out, ngx_log_t *log)
{
    time_t                           now;
    lc_cert_t                       *cert;
    lc_error_t                       err;
    const char                      *reason;
    ngx_http_linkcert_redis_conf_t  *rcf;

    rcf = ngx_http_linkcert_redis_fleet();
    now = ngx_time();

    if (info) {
        if (lc_fleet_info_open(rcf->key, e->name, e->len,
                               (unsigned char *) info->str, info->len,
                               chain->str, chain->len, (char *) plain, len,
                               out, &reason)
            != 0)
        {
            ngx_log_error(NGX_LOG_WARN, log, 0,
                          "linkcert: the fleet's info of \"%s\" (change "
                          "%uL) not used: %s; the pair is parsed and "
                          "checked", e->name, e->seq, reason);

        } else if (now >= out->not_before && now <= out->not_after) {
            return NGX_OK;
        }
    }

    cert = lc_cert_parse(chain->str, chain->len, (char *) plain, len, &err);

    if (cert == NULL
        || lc_cert_check(cert, e->name, now, &err) != 0
        || lc_cert_info(cert, out) != 0)
    {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "linkcert: the fleet's certificate of \"%s\" not "
                      "served: %s (%s)", e->name, err.detail, err.type);
        lc_cert_free(cert);
        return NGX_ERROR;
    }

    lc_cert_free(cert);

    return NGX_DECLINED;
}
