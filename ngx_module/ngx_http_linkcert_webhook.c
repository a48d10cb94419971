
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: webhooks, each change of a domain's status (or a new error
 * type) POSTed to the CRM.
 *
 * Whichever process changes a domain puts the event, with the domain's
 * object as it is then, into a ring in the zone (the table is locked; the
 * ring never blocks it: when it is full the event is lost and counted).
 * Worker 0 takes the events every 100 ms into the store, one file each,
 * <store>/webhooks/<sequence>.json, written atomically, and delivers them
 * from there: in order per domain (a domain's next event waits for the
 * 2xx of the one before), up to 4 domains at once, until a 2xx, with a
 * backoff of 1 s doubling up to 10 minutes, for 24 hours.  A delivered
 * event's file is removed.  After a restart the new worker 0 reads the
 * directory again; after a reload the new worker 0 writes its pid into
 * the ring's owner and the old one stops taking and sending.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <dirent.h>
#include <openssl/rand.h>

#include "ngx_http_linkcert.h"
#include "lc_webhook.h"


#define NGX_HTTP_LINKCERT_WEBHOOK_POLL      100       /* ms */
#define NGX_HTTP_LINKCERT_WEBHOOK_MAX       10000     /* events stored */
#define NGX_HTTP_LINKCERT_WEBHOOK_KEEP      86400     /* s */
#define NGX_HTTP_LINKCERT_WEBHOOK_BACKOFF   600       /* s, at most */
#define NGX_HTTP_LINKCERT_WEBHOOK_PARALLEL  4         /* domains at once */
#define NGX_HTTP_LINKCERT_WEBHOOK_WAIT      2000      /* ms, for a taker */
#define NGX_HTTP_LINKCERT_WEBHOOK_TAKE      128       /* events per poll */
#define NGX_HTTP_LINKCERT_WEBHOOK_SIZE      65536     /* an event file */
#define NGX_HTTP_LINKCERT_WEBHOOK_NAME_LEN  (16 + sizeof(".json") - 1)

/* a drop's reason: delivered, the event's file removed, not counted */
#define NGX_HTTP_LINKCERT_WEBHOOK_SENT      NGX_HTTP_LINKCERT_DROPPED_N


/* an event in the ring, in the zone */
typedef struct {
    lc_record_t                     rec;
    time_t                          at;
    lc_status_e                     previous;
} ngx_http_linkcert_webhook_slot_t;


/* an event in the store, as worker 0 knows it */
typedef struct {
    ngx_queue_t                     queue;       /* by sequence */
    uint64_t                        seq;
    uint32_t                        domain;      /* CRC32 of the name */
    time_t                          created;
    time_t                          next;        /* the next attempt */
    ngx_uint_t                      attempts;    /* failed ones */
    ngx_uint_t                      sending;
} ngx_http_linkcert_webhook_ev_t;


static ngx_int_t ngx_http_linkcert_webhook_list(u_char *path,
    uint64_t **list, ngx_uint_t *np);
static void ngx_http_linkcert_webhook_poll(ngx_event_t *ev);
static ngx_uint_t ngx_http_linkcert_webhook_owner(void);
static ngx_int_t ngx_http_linkcert_webhook_load(void);
static int ngx_libc_cdecl ngx_http_linkcert_webhook_cmp(const void *a,
    const void *b);
static void ngx_http_linkcert_webhook_take(ngx_uint_t max);
static ngx_int_t ngx_http_linkcert_webhook_store(
    ngx_http_linkcert_webhook_slot_t *slot);
static ngx_http_linkcert_webhook_ev_t *ngx_http_linkcert_webhook_add(
    uint64_t seq, const char *domain, time_t created);
static void ngx_http_linkcert_webhook_pass(void);
static void ngx_http_linkcert_webhook_send(
    ngx_http_linkcert_webhook_ev_t *ev);
static void ngx_http_linkcert_webhook_done(void *data,
    lc_http_response_t *res, const char *error);
static void ngx_http_linkcert_webhook_failed(
    ngx_http_linkcert_webhook_ev_t *ev, const char *why);
static void ngx_http_linkcert_webhook_drop(
    ngx_http_linkcert_webhook_ev_t *ev, ngx_uint_t reason);
static void ngx_http_linkcert_webhook_path(uint64_t seq, u_char *path);
static ngx_int_t ngx_http_linkcert_webhook_read(uint64_t seq, u_char *path,
    ngx_http_linkcert_file_t *file, lc_error_t *err);
static void ngx_http_linkcert_webhook_count(void);


static ngx_http_linkcert_main_conf_t     *ngx_http_linkcert_webhook_lmcf;
static ngx_http_linkcert_webhook_ring_t  *ngx_http_linkcert_webhook_ring;
static ngx_slab_pool_t                   *ngx_http_linkcert_webhook_shpool;
static ngx_http_linkcert_stats_t         *ngx_http_linkcert_webhook_stats;
static ngx_event_t                        ngx_http_linkcert_webhook_ev;
static ngx_connection_t                   ngx_http_linkcert_webhook_dumb;
static ngx_queue_t                        ngx_http_linkcert_webhook_events;
static ngx_uint_t                         ngx_http_linkcert_webhook_n;
static ngx_uint_t                         ngx_http_linkcert_webhook_sending;
static ngx_uint_t                         ngx_http_linkcert_webhook_loaded;
static ngx_msec_t                         ngx_http_linkcert_webhook_waited;
static uint64_t                           ngx_http_linkcert_webhook_seq;
static time_t                             ngx_http_linkcert_webhook_due;
static ngx_atomic_uint_t                  ngx_http_linkcert_webhook_lost;


/*
 * Any process, the table locked: the event goes into the ring.  The slot
 * is taken from the zone and freed by worker 0.
 */

void
ngx_http_linkcert_webhook_event(ngx_http_linkcert_zone_t *ctx,
    lc_record_t *rec, lc_status_e previous)
{
    ngx_http_linkcert_webhook_ring_t  *ring;
    ngx_http_linkcert_webhook_slot_t  *slot;

    ring = &ctx->sh->webhook;

    slot = (ring->head - ring->tail < NGX_HTTP_LINKCERT_WEBHOOK_RING)
           ? ngx_slab_alloc_locked(ctx->shpool,
                                   sizeof(ngx_http_linkcert_webhook_slot_t))
           : NULL;

    if (slot == NULL) {
        (void) ngx_atomic_fetch_add(&ring->lost, 1);
        (void) ngx_atomic_fetch_add(
            &ctx->sh->stats.webhook_dropped[NGX_HTTP_LINKCERT_DROPPED_FULL], 1);
        return;
    }

    ngx_memcpy(&slot->rec, rec, sizeof(lc_record_t));
    slot->at = ngx_time();
    slot->previous = previous;

    ring->slots[ring->head % NGX_HTTP_LINKCERT_WEBHOOK_RING] = slot;
    ring->head++;
}


/* for the metrics: events not delivered yet, in the store and the ring */

ngx_uint_t
ngx_http_linkcert_webhook_queued(ngx_shm_zone_t *shm_zone)
{
    ngx_http_linkcert_sh_t    *sh;
    ngx_http_linkcert_zone_t  *ctx;

    ctx = shm_zone->data;
    sh = ctx->sh;

    return sh->stats.webhook_queued + (sh->webhook.head - sh->webhook.tail);
}


ngx_int_t
ngx_http_linkcert_webhook_init_process(ngx_cycle_t *cycle)
{
    ngx_http_linkcert_zone_t       *ctx;
    ngx_http_linkcert_main_conf_t  *lmcf;

    lmcf = ngx_http_linkcert_worker0(cycle);

    if (lmcf == NULL || lmcf->webhook == NULL) {
        return NGX_OK;
    }

    ctx = lmcf->shm_zone->data;

    ngx_http_linkcert_webhook_lmcf = lmcf;
    ngx_http_linkcert_webhook_ring = &ctx->sh->webhook;
    ngx_http_linkcert_webhook_shpool = ctx->shpool;
    ngx_http_linkcert_webhook_stats = &ctx->sh->stats;

    ngx_queue_init(&ngx_http_linkcert_webhook_events);
    ngx_http_linkcert_webhook_n = 0;
    ngx_http_linkcert_webhook_sending = 0;
    ngx_http_linkcert_webhook_loaded = 0;
    ngx_http_linkcert_webhook_waited = 0;
    ngx_http_linkcert_webhook_seq = 0;
    ngx_http_linkcert_webhook_due = 0;

    /* from now on, a worker 0 of an older cycle leaves the ring alone */

    ngx_shmtx_lock(&ctx->shpool->mutex);
    ngx_http_linkcert_webhook_ring->owner = ngx_pid;
    ngx_shmtx_unlock(&ctx->shpool->mutex);

    ngx_http_linkcert_webhook_lost = ngx_http_linkcert_webhook_ring->lost;

    ngx_http_linkcert_timer_init(&ngx_http_linkcert_webhook_ev,
                                 &ngx_http_linkcert_webhook_dumb, NULL,
                                 ngx_http_linkcert_webhook_poll, cycle->log);

    ngx_add_timer(&ngx_http_linkcert_webhook_ev,
                  NGX_HTTP_LINKCERT_WEBHOOK_POLL);

    return NGX_OK;
}


/*
 * Events still in the ring go to the store, for the next worker 0; those
 * being sent stay there too and are sent again (at least once).
 */

void
ngx_http_linkcert_webhook_exit_process(ngx_cycle_t *cycle)
{
    if (ngx_http_linkcert_webhook_lmcf == NULL) {
        return;
    }

    if (ngx_http_linkcert_webhook_ev.timer_set) {
        ngx_del_timer(&ngx_http_linkcert_webhook_ev);
    }

    if (ngx_http_linkcert_webhook_loaded) {
        ngx_http_linkcert_webhook_take(0);
    }

    ngx_http_linkcert_fetch_cancel_all();

    ngx_http_linkcert_webhook_lmcf = NULL;
}


static void
ngx_http_linkcert_webhook_poll(ngx_event_t *ev)
{
    ngx_atomic_uint_t  lost;

    if (ngx_exiting || ngx_terminate || ngx_quit
        || !ngx_http_linkcert_webhook_owner())
    {
        return;
    }

    if (!ngx_http_linkcert_webhook_loaded) {

        /* an older worker 0 may still be writing what it took */

        if (ngx_http_linkcert_webhook_ring->taking
            && ngx_http_linkcert_webhook_ring->taking != ngx_pid
            && ngx_http_linkcert_webhook_waited
               < NGX_HTTP_LINKCERT_WEBHOOK_WAIT)
        {
            ngx_http_linkcert_webhook_waited += NGX_HTTP_LINKCERT_WEBHOOK_POLL;
            ngx_add_timer(ev, NGX_HTTP_LINKCERT_WEBHOOK_POLL);
            return;
        }

        if (ngx_http_linkcert_webhook_load() != NGX_OK) {
            ngx_add_timer(ev, 1000);
            return;
        }

        ngx_http_linkcert_webhook_loaded = 1;
    }

    lost = ngx_http_linkcert_webhook_ring->lost;

    if (lost != ngx_http_linkcert_webhook_lost) {
        ngx_log_error(NGX_LOG_ERR, ev->log, 0,
                      "linkcert: %uA webhook events were lost: no room "
                      "for them in the zone",
                      lost - ngx_http_linkcert_webhook_lost);
        ngx_http_linkcert_webhook_lost = lost;
    }

    ngx_http_linkcert_webhook_take(NGX_HTTP_LINKCERT_WEBHOOK_TAKE);

    if (ngx_time() >= ngx_http_linkcert_webhook_due) {
        ngx_http_linkcert_webhook_pass();
    }

    ngx_add_timer(ev, NGX_HTTP_LINKCERT_WEBHOOK_POLL);
}


static ngx_uint_t
ngx_http_linkcert_webhook_owner(void)
{
    return ngx_http_linkcert_webhook_ring->owner == ngx_pid;
}


/* the events in the store, oldest first: at start, or after a reload */

static ngx_int_t
ngx_http_linkcert_webhook_load(void)
{
    time_t                           created;
    uint64_t                        *seqs;
    ngx_int_t                        rc;
    ngx_uint_t                       n, i;
    struct stat                      st;
    lc_error_t                       err;
    ngx_http_linkcert_file_t         file;
    ngx_http_linkcert_webhook_ev_t  *ev;
    u_char                           path[NGX_MAX_PATH];
    char                             domain[LC_DOMAIN_MAX + 1];

    rc = ngx_http_linkcert_webhook_list(path, &seqs, &n);

    if (rc != NGX_OK) {
        return (rc == NGX_DECLINED) ? NGX_OK : NGX_ERROR;
    }

    for (i = 0; i < n; i++) {
        if (ngx_http_linkcert_webhook_read(seqs[i], path, &file, &err)
            != NGX_OK
            || lc_webhook_event_domain((char *) file.data, file.len, domain)
               != 0
            || stat((char *) path, &st) == -1)
        {
            ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                          "linkcert: \"%s\" is not a webhook event, left "
                          "alone", path);
            ngx_free(file.data);
            continue;
        }

        ngx_free(file.data);

        created = st.st_mtime;
        ev = ngx_http_linkcert_webhook_add(seqs[i], domain, created);

        if (ev == NULL) {
            break;
        }
    }

    if (n) {
        ngx_http_linkcert_webhook_seq = seqs[n - 1];

        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "linkcert: %ui webhook events to deliver from the "
                      "store", ngx_http_linkcert_webhook_n);
    }

    free(seqs);

    ngx_http_linkcert_webhook_count();

    return NGX_OK;
}


/*
 * The sequence numbers of the events in <store>/webhooks/, in order: a
 * malloc()ed array.  NGX_DECLINED: there is no such directory.
 */

static ngx_int_t
ngx_http_linkcert_webhook_list(u_char *path, uint64_t **list, ngx_uint_t *np)
{
    DIR            *dir;
    uint64_t       *seqs, *more;
    ngx_uint_t      n, i, size;
    struct dirent  *de;

    ngx_sprintf(path, "%V/webhooks%Z",
                &ngx_http_linkcert_webhook_lmcf->store);

    dir = opendir((char *) path);

    if (dir == NULL) {
        if (ngx_errno == NGX_ENOENT) {
            return NGX_DECLINED;
        }

        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, ngx_errno,
                      "linkcert: opendir(\"%s\") failed, webhook events "
                      "wait", path);
        return NGX_ERROR;
    }

    n = 0;
    size = 64;
    seqs = ngx_alloc(size * sizeof(uint64_t), ngx_cycle->log);

    while (seqs && (de = readdir(dir)) != NULL) {

        if (ngx_strlen(de->d_name) != NGX_HTTP_LINKCERT_WEBHOOK_NAME_LEN
            || ngx_strcmp(de->d_name + 16, ".json") != 0)
        {
            continue;
        }

        for (i = 0; i < 16 && isdigit((u_char) de->d_name[i]); i++) {
            /* void */
        }

        if (i < 16) {
            continue;
        }

        if (n == size) {
            size *= 2;
            more = realloc(seqs, size * sizeof(uint64_t));

            if (more == NULL) {
                free(seqs);
            }

            seqs = more;

            if (seqs == NULL) {
                break;
            }
        }

        seqs[n++] = strtoull(de->d_name, NULL, 10);
    }

    (void) closedir(dir);

    if (seqs == NULL) {
        return NGX_ERROR;
    }

    ngx_qsort(seqs, n, sizeof(uint64_t), ngx_http_linkcert_webhook_cmp);

    *list = seqs;
    *np = n;

    return NGX_OK;
}


static int ngx_libc_cdecl
ngx_http_linkcert_webhook_cmp(const void *a, const void *b)
{
    uint64_t  x, y;

    x = *(const uint64_t *) a;
    y = *(const uint64_t *) b;

    return (x > y) - (x < y);
}


/*
 * The ring into the store, oldest first.  A poll takes a bounded number,
 * so that worker 0 is not held up long by a burst (the ring holds the
 * rest); at exit, max is 0: all of them.
 */

static void
ngx_http_linkcert_webhook_take(ngx_uint_t max)
{
    ngx_int_t                          rc;
    ngx_uint_t                         n;
    ngx_slab_pool_t                   *shpool;
    ngx_http_linkcert_webhook_ring_t  *ring;
    ngx_http_linkcert_webhook_slot_t  *slot;

    ring = ngx_http_linkcert_webhook_ring;
    shpool = ngx_http_linkcert_webhook_shpool;

    for (n = 0; max == 0 || n < max; n++) {
        ngx_shmtx_lock(&shpool->mutex);

        if (ring->owner != ngx_pid || ring->head == ring->tail) {
            ngx_shmtx_unlock(&shpool->mutex);
            return;
        }

        /* other processes only add at the head: the slot stays */

        slot = ring->slots[ring->tail % NGX_HTTP_LINKCERT_WEBHOOK_RING];
        ring->taking = ngx_pid;

        ngx_shmtx_unlock(&shpool->mutex);

        rc = ngx_http_linkcert_webhook_store(slot);

        ngx_shmtx_lock(&shpool->mutex);

        ring->taking = 0;

        if (rc != NGX_ERROR) {
            ring->slots[ring->tail % NGX_HTTP_LINKCERT_WEBHOOK_RING] = NULL;
            ring->tail++;
            ngx_slab_free_locked(shpool, slot);
        }

        ngx_shmtx_unlock(&shpool->mutex);

        if (rc == NGX_ERROR) {
            return;
        }
    }
}


/* NGX_ERROR: not stored, tried again later; NGX_DECLINED: lost */

static ngx_int_t
ngx_http_linkcert_webhook_store(ngx_http_linkcert_webhook_slot_t *slot)
{
    char                            *body;
    size_t                           len;
    ngx_queue_t                     *q;
    ngx_http_linkcert_webhook_ev_t  *ev;
    u_char                           id[16];
    char                             hex[LC_WEBHOOK_ID_LEN + 1];
    char                             name[NGX_HTTP_LINKCERT_WEBHOOK_NAME_LEN
                                          + 1];

    if (RAND_bytes(id, sizeof(id)) != 1) {
        return NGX_ERROR;
    }

    *ngx_hex_dump((u_char *) hex, id, sizeof(id)) = '\0';

    body = lc_webhook_event(hex, slot->at, &slot->rec, slot->previous, &len);

    if (body == NULL) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                      "linkcert: the webhook event of \"%s\" cannot be "
                      "made, lost", slot->rec.domain);
        (void) ngx_atomic_fetch_add(
                      &ngx_http_linkcert_webhook_stats
                          ->webhook_dropped[NGX_HTTP_LINKCERT_DROPPED_FULL],
                      1);
        return NGX_DECLINED;
    }

    /* the queue is full: the oldest event not being sent makes room */

    if (ngx_http_linkcert_webhook_n >= NGX_HTTP_LINKCERT_WEBHOOK_MAX) {

        for (q = ngx_queue_head(&ngx_http_linkcert_webhook_events);
             q != ngx_queue_sentinel(&ngx_http_linkcert_webhook_events);
             q = ngx_queue_next(q))
        {
            ev = ngx_queue_data(q, ngx_http_linkcert_webhook_ev_t, queue);

            if (!ev->sending) {
                ngx_http_linkcert_webhook_drop(ev,
                                               NGX_HTTP_LINKCERT_DROPPED_FULL);
                break;
            }
        }
    }

    ngx_sprintf((u_char *) name, "%016uL.json%Z",
                ngx_http_linkcert_webhook_seq + 1);

    if (ngx_http_linkcert_store_replace(&ngx_http_linkcert_webhook_lmcf->store,
                                        "webhooks", name, body, len, 0600, 0,
                                        ngx_cycle->log)
        != NGX_OK)
    {
        free(body);
        return NGX_ERROR;
    }

    free(body);

    ngx_http_linkcert_webhook_seq++;

    /* stored: taken from the ring whatever happens next */

    if (ngx_http_linkcert_webhook_add(ngx_http_linkcert_webhook_seq,
                                      slot->rec.domain, slot->at)
        == NULL)
    {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                      "linkcert: webhook event %016uL is sent after the "
                      "next restart: out of memory",
                      ngx_http_linkcert_webhook_seq);
    }

    ngx_http_linkcert_webhook_due = 0;

    return NGX_OK;
}


static ngx_http_linkcert_webhook_ev_t *
ngx_http_linkcert_webhook_add(uint64_t seq, const char *domain,
    time_t created)
{
    ngx_http_linkcert_webhook_ev_t  *ev;

    ev = ngx_calloc(sizeof(ngx_http_linkcert_webhook_ev_t), ngx_cycle->log);
    if (ev == NULL) {
        return NULL;
    }

    ev->seq = seq;
    ev->domain = ngx_crc32_short((u_char *) domain, ngx_strlen(domain));
    ev->created = created;

    ngx_queue_insert_tail(&ngx_http_linkcert_webhook_events, &ev->queue);
    ngx_http_linkcert_webhook_n++;
    ngx_http_linkcert_webhook_count();

    return ev;
}


/*
 * Each domain's oldest event is sent when its time has come; the later
 * ones of that domain wait for it.  A domain is known by a hash of its
 * name: two domains of the same hash only wait for each other.
 */

static void
ngx_http_linkcert_webhook_pass(void)
{
    time_t                           now;
    uint32_t                        *seen;
    ngx_uint_t                       i, size;
    ngx_queue_t                     *q, *next;
    ngx_http_linkcert_webhook_ev_t  *ev;

    now = ngx_time();
    ngx_http_linkcert_webhook_due = now + NGX_HTTP_LINKCERT_WEBHOOK_BACKOFF;

    if (ngx_http_linkcert_webhook_n == 0) {
        return;
    }

    /* the domains met so far: an open-addressed set, twice as large */

    size = 2 * ngx_http_linkcert_webhook_n;
    seen = ngx_calloc(size * sizeof(uint32_t), ngx_cycle->log);

    if (seen == NULL) {
        ngx_http_linkcert_webhook_due = now + 1;
        return;
    }

    for (q = ngx_queue_head(&ngx_http_linkcert_webhook_events);
         q != ngx_queue_sentinel(&ngx_http_linkcert_webhook_events);
         q = next)
    {
        next = ngx_queue_next(q);
        ev = ngx_queue_data(q, ngx_http_linkcert_webhook_ev_t, queue);

        /* 0 marks a free cell: the hash 0 is counted as 1 */

        for (i = (ev->domain | 1) % size;
             seen[i] && seen[i] != (ev->domain | 1);
             i = (i + 1) % size)
        {
            /* void */
        }

        if (seen[i]) {
            continue;
        }

        /* the domain's next event is its oldest then */

        if (!ev->sending && ev->attempts
            && now - ev->created >= NGX_HTTP_LINKCERT_WEBHOOK_KEEP)
        {
            ngx_http_linkcert_webhook_drop(ev,
                                            NGX_HTTP_LINKCERT_DROPPED_EXPIRED);
            continue;
        }

        seen[i] = ev->domain | 1;

        if (ev->sending) {
            continue;
        }

        if (ev->next > now) {
            if (ev->next < ngx_http_linkcert_webhook_due) {
                ngx_http_linkcert_webhook_due = ev->next;
            }

            continue;
        }

        if (ngx_http_linkcert_webhook_sending
            >= NGX_HTTP_LINKCERT_WEBHOOK_PARALLEL)
        {
            ngx_http_linkcert_webhook_due = now;
            break;
        }

        ngx_http_linkcert_webhook_send(ev);
    }

    ngx_free(seen);
}


static void
ngx_http_linkcert_webhook_send(ngx_http_linkcert_webhook_ev_t *ev)
{
    char                              *request, *name, *value;
    size_t                             len;
    ngx_err_t                          err;
    lc_error_t                         error;
    ngx_http_linkcert_file_t           file;
    ngx_http_linkcert_webhook_conf_t  *wh;
    u_char                             path[NGX_MAX_PATH];
    char                               sig[LC_WEBHOOK_SIGNATURE_LEN];

    wh = ngx_http_linkcert_webhook_lmcf->webhook;

    if (ngx_http_linkcert_webhook_read(ev->seq, path, &file, &error)
        != NGX_OK)
    {
        err = ngx_errno;

        /* delivered by another worker 0 meanwhile (a reload) */

        if (err == NGX_ENOENT) {
            ngx_http_linkcert_webhook_drop(ev, NGX_HTTP_LINKCERT_WEBHOOK_SENT);
            return;
        }

        ngx_http_linkcert_webhook_failed(ev, error.detail);
        return;
    }

    name = NULL;
    value = NULL;

    if (wh->secret.len) {
        if (lc_webhook_sign(wh->secret.data, wh->secret.len,
                            (long long) ngx_time(), (char *) file.data,
                            file.len, sig)
            != 0)
        {
            ngx_free(file.data);
            ngx_http_linkcert_webhook_failed(ev, "cannot sign");
            return;
        }

        name = "Linkcert-Signature";
        value = sig;
    }

    request = lc_http_request_header("POST", (char *) wh->url.data, NULL,
                                     "application/json", name, value,
                                     (char *) file.data, file.len, &len);
    ngx_free(file.data);

    if (request == NULL
        || ngx_http_linkcert_fetch_send(wh->ssl, (char *) wh->url.data,
                                        request, len, 0, wh->timeout,
                                        ngx_http_linkcert_webhook_done, ev,
                                        ngx_cycle->log)
           == NULL)
    {
        ngx_http_linkcert_webhook_failed(ev, "cannot send");
        return;
    }

    ev->sending = 1;
    ngx_http_linkcert_webhook_sending++;
}


static void
ngx_http_linkcert_webhook_done(void *data, lc_http_response_t *res,
    const char *error)
{
    ngx_http_linkcert_webhook_ev_t *ev = data;

    int                              status;
    ngx_queue_t                     *q;
    ngx_http_linkcert_webhook_ev_t  *other;
    u_char                           path[NGX_MAX_PATH];
    char                             why[64];

    ev->sending = 0;
    ngx_http_linkcert_webhook_sending--;

    status = res ? lc_http_response_status(res) : 0;

    if (status < 200 || status > 299) {
        if (res) {
            ngx_sprintf((u_char *) why, "HTTP status %d%Z", status);
            error = why;
        }

        ngx_http_linkcert_webhook_failed(ev, error);
        return;
    }

    ngx_http_linkcert_webhook_path(ev->seq, path);

    if (unlink((char *) path) == -1 && ngx_errno != NGX_ENOENT) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, ngx_errno,
                      "linkcert: unlink(\"%s\") failed, the webhook event "
                      "may be sent again", path);
    }

    (void) ngx_atomic_fetch_add(
               &ngx_http_linkcert_webhook_stats
                   ->webhook[NGX_HTTP_LINKCERT_WEBHOOK_DELIVERED], 1);

    ngx_http_linkcert_webhook_drop(ev, NGX_HTTP_LINKCERT_WEBHOOK_SENT);

    /* the receiver is back: the events waiting for it are sent now */

    for (q = ngx_queue_head(&ngx_http_linkcert_webhook_events);
         q != ngx_queue_sentinel(&ngx_http_linkcert_webhook_events);
         q = ngx_queue_next(q))
    {
        other = ngx_queue_data(q, ngx_http_linkcert_webhook_ev_t, queue);
        other->next = 0;
    }

    ngx_http_linkcert_webhook_due = 0;

    /* the domain's next event, or another domain's, goes at once */

    if (!ngx_exiting && !ngx_terminate && !ngx_quit
        && ngx_http_linkcert_webhook_owner())
    {
        ngx_http_linkcert_webhook_pass();
    }
}


static void
ngx_http_linkcert_webhook_failed(ngx_http_linkcert_webhook_ev_t *ev,
    const char *why)
{
    time_t  delay;

    (void) ngx_atomic_fetch_add(
               &ngx_http_linkcert_webhook_stats
                   ->webhook[NGX_HTTP_LINKCERT_WEBHOOK_FAILED], 1);

    ev->attempts++;

    delay = (ev->attempts > 10) ? NGX_HTTP_LINKCERT_WEBHOOK_BACKOFF
            : ngx_min((time_t) 1 << (ev->attempts - 1),
                      NGX_HTTP_LINKCERT_WEBHOOK_BACKOFF);

    ev->next = ngx_time() + delay;

    if (ev->next < ngx_http_linkcert_webhook_due) {
        ngx_http_linkcert_webhook_due = ev->next;
    }

    ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                  "linkcert: webhook event %016uL not delivered to \"%V\" "
                  "(attempt %ui): %s; next attempt in %T s",
                  ev->seq, &ngx_http_linkcert_webhook_lmcf->webhook->url,
                  ev->attempts, why ? why : "no response", delay);
}


/* reason: an ngx_http_linkcert_dropped_e, or WEBHOOK_SENT (delivered) */

static void
ngx_http_linkcert_webhook_drop(ngx_http_linkcert_webhook_ev_t *ev,
    ngx_uint_t reason)
{
    u_char  path[NGX_MAX_PATH];

    if (reason < NGX_HTTP_LINKCERT_DROPPED_N) {
        ngx_http_linkcert_webhook_path(ev->seq, path);
        (void) unlink((char *) path);

        (void) ngx_atomic_fetch_add(
                    &ngx_http_linkcert_webhook_stats->webhook_dropped[reason],
                    1);

        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "linkcert: webhook event %016uL dropped: %s",
                      ev->seq,
                      reason == NGX_HTTP_LINKCERT_DROPPED_FULL
                      ? "the queue is full (10000 events)"
                      : "not delivered within 24 h");
    }

    ngx_queue_remove(&ev->queue);
    ngx_free(ev);

    ngx_http_linkcert_webhook_n--;
    ngx_http_linkcert_webhook_count();
}


/* the gauge is the owner's: an older worker 0 finishing its sends is not */

static void
ngx_http_linkcert_webhook_count(void)
{
    if (ngx_http_linkcert_webhook_owner()) {
        ngx_http_linkcert_webhook_stats->webhook_queued =
                                                  ngx_http_linkcert_webhook_n;
    }
}


static void
ngx_http_linkcert_webhook_path(uint64_t seq, u_char *path)
{
    ngx_sprintf(path, "%V/webhooks/%016uL.json%Z",
                &ngx_http_linkcert_webhook_lmcf->store, seq);
}


/* an event's file into file (ngx_free() its data); its path into path */

static ngx_int_t
ngx_http_linkcert_webhook_read(uint64_t seq, u_char *path,
    ngx_http_linkcert_file_t *file, lc_error_t *err)
{
    ngx_http_linkcert_webhook_path(seq, path);

    return ngx_http_linkcert_store_read_file(path, file, err,
                                             "webhook event",
                                             NGX_HTTP_LINKCERT_WEBHOOK_SIZE);
}
