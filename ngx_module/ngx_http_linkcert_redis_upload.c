
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: what this edge holds, to the fleet: a certificate put into
 * its store by hand (imported, loaded at a start or a reload), and
 * everything after Redis lost its data (no append-only file, flushed).
 *
 * The fleet writes an epoch once (<prefix>epoch); worker 0 asks for it
 * when its connection is made (again) and every few seconds, and keeps
 * the one it last uploaded to (<store>/redis.epoch).  Another one: Redis
 * lost its data (or the edge is new to it): the changes are read again
 * from the first and everything is uploaded.  The same one, first since
 * the worker started, or after a failover (it may have lost the last
 * writes: ngx_http_linkcert_redis_failover.c): its certificates are
 * offered (imports, lost ones).
 *
 * A pass goes through the zone in name order, a page at a time (the lock
 * let go every 64 records), in the event loop: one script tells which of
 * a page's certificates the fleet lacks (none, an older one by notAfter
 * then serial, a removal this edge applied already); each is uploaded,
 * a few pairs a turn, by a script that compares again and writes the
 * change as an issuing edge does, with the status object: two edges at
 * once leave the newest.  A newer one in the fleet is applied here.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert_redis.h"
#include "ngx_http_linkcert_table.h"
#include "ngx_http_linkcert_redis_upload.h"

#include <openssl/rand.h>


/* the check's answer of a domain */
#define NGX_HTTP_LINKCERT_UPLOAD_KEEP    0           /* the fleet has it */
#define NGX_HTTP_LINKCERT_UPLOAD_SEND    1           /* lacks it */
#define NGX_HTTP_LINKCERT_UPLOAD_TAKE    2           /* has a newer one */

#define NGX_HTTP_LINKCERT_UPLOAD_ARGS                                        \
    (3 + 2 + 3 * NGX_HTTP_LINKCERT_UPLOAD_BATCH)


static void ngx_http_linkcert_upload_tick(ngx_event_t *ev);
static void ngx_http_linkcert_upload_epoch(void *data, redisReply *reply,
    const char *error);
static void ngx_http_linkcert_upload_batch(ngx_http_linkcert_upload_t *up);
static ngx_int_t ngx_http_linkcert_upload_check(
    ngx_http_linkcert_upload_t *up);
static void ngx_http_linkcert_upload_checked(void *data, redisReply *reply,
    const char *error);
static void ngx_http_linkcert_upload_work(ngx_http_linkcert_upload_t *up);
static void ngx_http_linkcert_upload_end(ngx_http_linkcert_upload_t *up);
static void ngx_http_linkcert_upload_later(ngx_http_linkcert_upload_t *up,
    ngx_http_linkcert_upload_pt step);


ngx_http_linkcert_upload_t  *ngx_http_linkcert_upload;   /* the pass */


/*
 * The epoch: the fleet's, or this one if Redis has none.  KEYS: epoch;
 * ARGV: a new epoch.
 */

static char  ngx_http_linkcert_upload_epoch_lua[] =
    "local e = redis.call('GET', KEYS[1]) "
    "if e then return e end "
    "redis.call('SET', KEYS[1], ARGV[1]) "
    "return ARGV[1]";


/*
 * Which of a batch's certificates the fleet lacks.  ARGV: the prefix,
 * the last change this edge applied, then domain, notAfter, serial of
 * each.  An array of wins(), in the same order.
 */

static char  ngx_http_linkcert_upload_check_lua[] =
    NGX_HTTP_LINKCERT_UPLOAD_WINS
    "local out = {} "
    "local applied = tonumber(ARGV[2]) "
    "for i = 3, #ARGV, 3 do "
    "  local cur = redis.call('HMGET', ARGV[1] .. 'cert:' .. ARGV[i], "
    "                         " NGX_HTTP_LINKCERT_UPLOAD_CUR ") "
    "  out[#out + 1] = wins(cur, ARGV[i + 1], ARGV[i + 2], applied) "
    "end "
    "return out";


/* worker 0 of an edge of a fleet */

ngx_int_t
ngx_http_linkcert_redis_upload_init_process(ngx_cycle_t *cycle)
{
    lc_error_t                      err;
    ngx_http_linkcert_file_t        file;
    ngx_http_linkcert_upload_t     *up;
    ngx_http_linkcert_main_conf_t  *lmcf;
    u_char                          path[NGX_MAX_PATH];

    lmcf = ngx_http_linkcert_worker0(cycle);

    if (lmcf == NULL || lmcf->redis == NULL) {
        return NGX_OK;
    }

    up = ngx_pcalloc(cycle->pool, sizeof(ngx_http_linkcert_upload_t));
    if (up == NULL) {
        return NGX_ERROR;
    }

    up->recs = ngx_palloc(cycle->pool, NGX_HTTP_LINKCERT_UPLOAD_BATCH
                                       * sizeof(lc_record_t));
    if (up->recs == NULL) {
        return NGX_ERROR;
    }

    up->lmcf = lmcf;
    up->log = cycle->log;

    ngx_sprintf(path, "%V/" NGX_HTTP_LINKCERT_UPLOAD_FILE "%Z", &lmcf->store);

    if (ngx_http_linkcert_store_read_file(path, &file, &err,
                                          NGX_HTTP_LINKCERT_UPLOAD_FILE, 64)
        == NGX_OK)
    {
        while (file.len && isspace(file.data[file.len - 1])) {
            file.len--;
        }

        if (file.len <= NGX_HTTP_LINKCERT_EPOCH_LEN) {
            up->known_len = ngx_cpymem(up->known, file.data, file.len)
                            - up->known;
        }

        ngx_free(file.data);
    }

    up->timer.data = up;
    up->timer.handler = ngx_http_linkcert_upload_tick;
    up->timer.log = cycle->log;
    up->timer.cancelable = 1;

    ngx_add_timer(&up->timer, NGX_HTTP_LINKCERT_UPLOAD_EVERY);

    ngx_http_linkcert_upload = up;

    return NGX_OK;
}


void
ngx_http_linkcert_redis_upload_exit_process(ngx_cycle_t *cycle)
{
    if (ngx_http_linkcert_upload
        && ngx_http_linkcert_upload->timer.timer_set)
    {
        ngx_del_timer(&ngx_http_linkcert_upload->timer);
    }

    ngx_http_linkcert_upload = NULL;
}


/* worker 0's connection is made (again), or it is time: the epoch asked */

void
ngx_http_linkcert_redis_upload_connected(void)
{
    u_char                       key[NGX_HTTP_LINKCERT_REDIS_KEY_MAX],
                                 rnd[NGX_HTTP_LINKCERT_EPOCH_LEN / 2],
                                 hex[NGX_HTTP_LINKCERT_EPOCH_LEN];
    size_t                       lens[5];
    const char                  *argv[5];
    ngx_http_linkcert_upload_t  *up;

    up = ngx_http_linkcert_upload;

    if (up == NULL) {
        return;
    }

    if (up->running) {
        up->again = 1;
        return;
    }

    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        return;
    }

    ngx_hex_dump(hex, rnd, sizeof(rnd));

    argv[0] = "EVAL";
    lens[0] = 4;
    argv[1] = ngx_http_linkcert_upload_epoch_lua;
    lens[1] = sizeof(ngx_http_linkcert_upload_epoch_lua) - 1;
    argv[2] = "1";
    lens[2] = 1;
    argv[3] = (char *) key;
    lens[3] = ngx_http_linkcert_redis_name(key, "epoch", NULL, 0);
    argv[4] = (char *) hex;
    lens[4] = sizeof(hex);

    if (ngx_http_linkcert_redis_command(5, argv, lens,
                                        ngx_http_linkcert_upload_epoch, up)
        != NULL)
    {
        up->running = 1;
        up->again = 0;
    }
}


/*
 * The check of the store after a start or a reload put pairs changed by
 * hand into the zone: they are offered as at the start (a pass after
 * the one under way, if any).
 */

void
ngx_http_linkcert_redis_upload_offer(void)
{
    ngx_http_linkcert_upload_t  *up;

    up = ngx_http_linkcert_upload;

    if (up == NULL) {
        return;
    }

    up->offered = 0;

    if (up->running) {
        up->again = 1;
        up->reoffer = 1;
        return;
    }

    if (ngx_http_linkcert_redis_connected()) {
        ngx_http_linkcert_redis_upload_connected();
    }
}


static void
ngx_http_linkcert_upload_tick(ngx_event_t *ev)
{
    ngx_http_linkcert_upload_t *up = ev->data;

    ngx_http_linkcert_upload_pt  step;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    if (up->step) {
        step = up->step;
        up->step = NULL;
        step(up);
        return;
    }

    ngx_add_timer(ev, NGX_HTTP_LINKCERT_UPLOAD_EVERY);

    if (!up->running && ngx_http_linkcert_redis_connected()) {
        ngx_http_linkcert_redis_upload_connected();
    }
}


/* the fleet's epoch: a pass to make, or nothing to do */

static void
ngx_http_linkcert_upload_epoch(void *data, redisReply *reply,
    const char *error)
{
    ngx_http_linkcert_upload_t *up = data;

    if (ngx_http_linkcert_upload != up) {
        return;                         /* exiting */
    }

    if (reply == NULL || reply->type != REDIS_REPLY_STRING
        || reply->len > NGX_HTTP_LINKCERT_EPOCH_LEN)
    {
        up->running = 0;
        return;                         /* asked again at the next tick */
    }

    up->epoch_len = ngx_cpymem(up->epoch, reply->str, reply->len)
                    - up->epoch;

    up->full = (up->epoch_len != up->known_len
                || ngx_memcmp(up->epoch, up->known, up->known_len) != 0);

    /* a failover may have lost writes: checked as at the start */
    up->follow = ngx_http_linkcert_redis_failover_take() && !up->full;

    if (!up->full && up->offered && !up->follow) {
        up->running = 0;
        return;
    }

    if (up->full && up->known_len) {
        ngx_log_error(NGX_LOG_WARN, up->log, 0,
                      "linkcert: redis lost its data (its epoch is %*s, "
                      "this edge uploaded to %*s): the fleet's changes are "
                      "read again from the first, and this edge uploads "
                      "what it holds", up->epoch_len, up->epoch,
                      up->known_len, up->known);
        ngx_http_linkcert_redis_reread();
    }

    up->after_len = 0;
    up->failed = 0;
    up->domains = 0;
    up->sent = 0;
    up->kept = 0;
    up->taken = 0;
    up->statuses = 0;
    up->longest = 0;
    up->work = 0;
    up->turns = 0;
    up->began = ngx_current_msec;

    ngx_http_linkcert_upload_batch(up);
}


/* the next page of the zone, and its requests */

static void
ngx_http_linkcert_upload_batch(ngx_http_linkcert_upload_t *up)
{
    ngx_str_t    after;
    ngx_uint_t   i;

    after.data = up->after;
    after.len = up->after_len;

    (void) ngx_http_linkcert_table_page(up->lmcf->shm_zone, &after, -1,
                                        NGX_HTTP_LINKCERT_UPLOAD_BATCH,
                                        up->recs, &up->n, &up->more);
    if (up->n == 0) {
        ngx_http_linkcert_upload_end(up);
        return;
    }

    up->after_len = ngx_cpymem(up->after, up->recs[up->n - 1].domain,
                               ngx_strlen(up->recs[up->n - 1].domain))
                    - up->after;
    up->domains += up->n;
    up->pending = 1;                    /* until every request is made */
    up->nchecked = 0;

    for (i = 0; i < up->n; i++) {
        if (up->recs[i].has_cert && up->recs[i].status == LC_STATUS_ISSUED) {
            up->checked[up->nchecked++] = i;

        } else if (up->full) {
            ngx_http_linkcert_redis_status_put(&up->recs[i]);
            up->statuses++;
        }
    }

    if (up->nchecked && ngx_http_linkcert_upload_check(up) != NGX_OK) {
        up->failed = 1;
    }

    ngx_http_linkcert_upload_done(up);
}


static ngx_int_t
ngx_http_linkcert_upload_check(ngx_http_linkcert_upload_t *up)
{
    size_t        lens[NGX_HTTP_LINKCERT_UPLOAD_ARGS];
    u_char        applied[NGX_INT64_LEN];
    ngx_uint_t    i, k;
    const char   *argv[NGX_HTTP_LINKCERT_UPLOAD_ARGS];
    lc_record_t  *rec;
    ngx_http_linkcert_redis_conf_t  *rcf;
    u_char        not_after[NGX_HTTP_LINKCERT_UPLOAD_BATCH][NGX_TIME_T_LEN];
    u_char        serial[NGX_HTTP_LINKCERT_UPLOAD_BATCH][2 * LC_SERIAL_MAX];

    rcf = ngx_http_linkcert_redis_fleet();

    argv[0] = "EVAL";
    lens[0] = 4;
    argv[1] = ngx_http_linkcert_upload_check_lua;
    lens[1] = sizeof(ngx_http_linkcert_upload_check_lua) - 1;
    argv[2] = "0";
    lens[2] = 1;
    argv[3] = (char *) rcf->prefix.data;
    lens[3] = rcf->prefix.len;
    argv[4] = (char *) applied;
    lens[4] = ngx_sprintf(applied, "%uL", ngx_http_linkcert_redis_applied())
              - applied;

    k = 5;

    for (i = 0; i < up->nchecked; i++) {
        rec = &up->recs[up->checked[i]];

        argv[k] = rec->domain;
        lens[k++] = ngx_strlen(rec->domain);
        argv[k] = (char *) not_after[i];
        argv[k + 1] = (char *) serial[i];
        lens[k] = ngx_http_linkcert_redis_cert_rank(&rec->cert, not_after[i],
                                                    serial[i], &lens[k + 1]);
        k += 2;
    }

    if (ngx_http_linkcert_redis_command(k, argv, lens,
                                        ngx_http_linkcert_upload_checked, up)
        == NULL)
    {
        return NGX_ERROR;
    }

    up->pending++;

    return NGX_OK;
}


static void
ngx_http_linkcert_upload_checked(void *data, redisReply *reply,
    const char *error)
{
    ngx_http_linkcert_upload_t *up = data;

    ngx_uint_t  i;

    if (ngx_http_linkcert_upload != up) {
        return;
    }

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements != up->nchecked)
    {
        ngx_log_error(NGX_LOG_WARN, up->log, 0,
                      "linkcert: what the fleet lacks was not asked: %*s",
                      reply ? (size_t) reply->len : ngx_strlen(error),
                      reply ? reply->str : error);
        up->failed = 1;
        ngx_http_linkcert_upload_done(up);
        return;
    }

    for (i = 0; i < up->nchecked; i++) {
        up->verdict[i] = (reply->element[i]->type == REDIS_REPLY_INTEGER)
                         ? (u_char) reply->element[i]->integer
                         : NGX_HTTP_LINKCERT_UPLOAD_KEEP;
    }

    up->next = 0;

    /* the check's answer stands for the work until it is over */
    ngx_http_linkcert_upload_work(up);
}


/*
 * The check's verdicts, a few pairs a turn of the event loop: each pair
 * is read, parsed and sealed here (about a millisecond or two).
 */

static void
ngx_http_linkcert_upload_work(ngx_http_linkcert_upload_t *up)
{
    double        start;
    ngx_int_t     rc;
    ngx_uint_t    n;
    lc_record_t  *rec;

    start = ngx_http_linkcert_clock_ns() / 1e6;

    for (n = 0;
         up->next < up->nchecked && n < NGX_HTTP_LINKCERT_UPLOAD_TURN
         && !up->failed;
         up->next++)
    {
        rec = &up->recs[up->checked[up->next]];

        switch (up->verdict[up->next]) {

        case NGX_HTTP_LINKCERT_UPLOAD_SEND:
            rc = ngx_http_linkcert_upload_send(up, rec);
            n++;
            break;

        case NGX_HTTP_LINKCERT_UPLOAD_TAKE:
            rc = ngx_http_linkcert_upload_take(up, rec);
            break;

        default:
            up->kept++;
            rc = NGX_OK;
        }

        if (rc == NGX_ERROR) {
            up->failed = 1;
        }
    }

    start = ngx_http_linkcert_clock_ns() / 1e6 - start;
    up->longest = ngx_max(up->longest, start);
    up->work += start;
    up->turns++;

    if (up->next < up->nchecked && !up->failed) {
        ngx_http_linkcert_upload_later(up, ngx_http_linkcert_upload_work);
        return;
    }

    ngx_http_linkcert_upload_done(up);
}


ngx_http_linkcert_upload_entry_t *
ngx_http_linkcert_upload_entry(ngx_http_linkcert_upload_t *up,
    lc_record_t *rec)
{
    ngx_http_linkcert_upload_entry_t  *e;

    e = ngx_alloc(sizeof(ngx_http_linkcert_upload_entry_t), up->log);
    if (e == NULL) {
        return NULL;
    }

    e->up = up;
    e->len = ngx_cpystrn((u_char *) e->name, (u_char *) rec->domain,
                         LC_DOMAIN_MAX + 1)
             - (u_char *) e->name;

    return e;
}


/* an answer of the batch: once all are in, the next batch or the end */

void
ngx_http_linkcert_upload_done(ngx_http_linkcert_upload_t *up)
{
    if (--up->pending) {
        return;
    }

    if (up->failed || !up->more) {
        ngx_http_linkcert_upload_end(up);
        return;
    }

    ngx_http_linkcert_upload_later(up, ngx_http_linkcert_upload_batch);
}


static void
ngx_http_linkcert_upload_later(ngx_http_linkcert_upload_t *up,
    ngx_http_linkcert_upload_pt step)
{
    if (up->timer.timer_set) {
        ngx_del_timer(&up->timer);
    }

    up->step = step;
    ngx_add_timer(&up->timer, 1);
}


static void
ngx_http_linkcert_upload_end(ngx_http_linkcert_upload_t *up)
{
    u_char  buf[NGX_HTTP_LINKCERT_EPOCH_LEN + 1];

    up->running = 0;

    if (up->timer.timer_set) {
        ngx_del_timer(&up->timer);
    }

    ngx_add_timer(&up->timer, NGX_HTTP_LINKCERT_UPLOAD_EVERY);

    if (up->failed) {
        if (up->follow) {
            ngx_http_linkcert_redis_failover_followed();
        }

        ngx_log_error(NGX_LOG_WARN, up->log, 0,
                      "linkcert: the upload to redis stopped after %ui "
                      "domains; it starts again in %M ms",
                      up->domains,
                      (ngx_msec_t) NGX_HTTP_LINKCERT_UPLOAD_EVERY);
        return;
    }

    if (up->full
        && ngx_http_linkcert_store_write(&up->lmcf->store, ".",
                                   NGX_HTTP_LINKCERT_UPLOAD_FILE,
                                   (char *) buf,
                                   ngx_cpymem(buf, up->epoch, up->epoch_len)
                                   - buf,
                                   0600, up->log)
           == NGX_OK)
    {
        up->known_len = ngx_cpymem(up->known, up->epoch, up->epoch_len)
                        - up->known;
    }

    up->offered = !up->reoffer;
    up->reoffer = 0;

    ngx_log_error(NGX_LOG_NOTICE, up->log, 0,
                  "linkcert: the fleet has what this edge holds (%s): %ui "
                  "domains looked at, %ui certificates uploaded, %ui "
                  "kept as the fleet has them, %ui newer ones taken from "
                  "the fleet, %ui statuses written, in %M ms (pairs read "
                  "and sent in %ui turns of the event loop, %.1f ms in all, "
                  "the longest %.1f ms)",
                  up->full ? "redis's epoch is new to it"
                           : up->follow ? "a failover" : "its start",
                  up->domains, up->sent, up->kept, up->taken, up->statuses,
                  ngx_current_msec - up->began, up->turns, up->work,
                  up->longest);

    if (up->again) {
        ngx_http_linkcert_redis_upload_connected();
    }
}
