
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the check of the store after a start or a reload, by worker 0,
 * off its event loop.
 *
 * The master no longer looks at the store when it trusts the index at a
 * start, nor at a reload that keeps the zone (ngx_http_linkcert_loader.c):
 * what was changed by hand meanwhile (a pair imported, replaced or
 * removed) is found here, seconds later.  In a thread of nginx's
 * "default" pool, the store is listed and each domain's two files
 * fstatat()ed (their stamp); in the event loop, a batch a turn, each
 * stamp is compared with the table's (the zone locked for 32 at a time);
 * the files of the pairs that differ are read in a thread, then parsed
 * as the loader does, a few a turn (the parsers' caches are the event
 * loop's), and put into the table (a corrupt pair is reported, never
 * deleted); the domains the listing did not see are looked at again
 * and, their files gone, no longer served.  Then the index is written
 * anew (its records paged from the table a page a turn, the file in a
 * thread) when anything changed or the index's journal names domains;
 * the same every hour after, if the journal names domains, so that the
 * next start reads only about an hour's changes again.  Pairs put into
 * the table are offered to the fleet again.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert.h"
#include "ngx_http_linkcert_redis.h"


#define NGX_HTTP_LINKCERT_CHECK_HOLD    32      /* names in one hold */
#define NGX_HTTP_LINKCERT_CHECK_TURN    256     /* names compared a turn */
#define NGX_HTTP_LINKCERT_CHECK_BUDGET  1000000 /* ns of CPU, or a turn */
#define NGX_HTTP_LINKCERT_CHECK_APPLY   8       /* pairs parsed a turn */
#define NGX_HTTP_LINKCERT_CHECK_WALKS   16      /* walk steps a turn */
#define NGX_HTTP_LINKCERT_CHECK_PAGE    128     /* index records a turn */
#define NGX_HTTP_LINKCERT_CHECK_EVERY   3600000 /* ms, the index again */


typedef struct ngx_http_linkcert_check_s  ngx_http_linkcert_check_t;

/* the pass's next step, in the event loop */
typedef void (*ngx_http_linkcert_check_pt)(ngx_http_linkcert_check_t *ck);


/* a domain listed: its name in names[], its files' stamp */
typedef struct {
    uint64_t                       stamp;
    uint32_t                       name;
    u_char                         len;
} ngx_http_linkcert_check_entry_t;


struct ngx_http_linkcert_check_s {
    ngx_http_linkcert_main_conf_t  *lmcf;
    ngx_log_t                      *log;
    ngx_event_t                     timer;
    ngx_connection_t                dumb;
    ngx_http_linkcert_check_pt      step;
    ngx_thread_task_t              *task;
    void                          (*work)(ngx_http_linkcert_check_t *ck);
    ngx_uint_t                      periodic;    /* the index only */
    ngx_uint_t                      domains;     /* listed last time */

    /* the listing, made in a thread */
    ngx_http_linkcert_check_entry_t  *entries;
    ngx_uint_t                      n;
    ngx_uint_t                      nalloc;
    u_char                         *names;
    size_t                          names_len;
    size_t                          names_size;
    ngx_uint_t                      failed;

    uint32_t                        scan;
    ngx_uint_t                      next;

    /*
     * The entries whose stamps differ, and their files read in a thread
     * (files[2 * i], NULL data: not read); the pairs are parsed in the
     * event loop, whose caches the parsers use.
     */
    ngx_uint_t                     *changed;
    ngx_uint_t                      nchanged;
    ngx_http_linkcert_loaded_t     *loaded;
    ngx_http_linkcert_file_t       *files;

    u_char                          after[LC_DOMAIN_MAX + 1];

    ngx_http_linkcert_index_out_t  *out;
    lc_record_t                    *recs;
    ngx_int_t                       committed;

    /* the figures */
    ngx_uint_t                      unpublished;
    ngx_uint_t                      read;
    ngx_uint_t                      corrupt;
    ngx_uint_t                      gone;
    ngx_uint_t                      full;
    ngx_msec_t                      began;
    ngx_msec_t                      listed;
    ngx_uint_t                      turns;
    uint64_t                        longest;     /* ns of CPU, a turn's */
};


static void ngx_http_linkcert_check_tick(ngx_event_t *ev);
static uint64_t ngx_http_linkcert_check_cpu_ns(void);
static void ngx_http_linkcert_check_later(ngx_http_linkcert_check_t *ck,
    ngx_http_linkcert_check_pt step);
static void ngx_http_linkcert_check_thread(ngx_http_linkcert_check_t *ck,
    void (*work)(ngx_http_linkcert_check_t *ck),
    ngx_http_linkcert_check_pt then);
#if (NGX_THREADS)
static void ngx_http_linkcert_check_handler(void *data, ngx_log_t *log);
static void ngx_http_linkcert_check_done(ngx_event_t *ev);
#endif
static void ngx_http_linkcert_check_list(ngx_http_linkcert_check_t *ck);
static int ngx_libc_cdecl ngx_http_linkcert_check_cmp(const void *one,
    const void *two);
static ngx_int_t ngx_http_linkcert_check_add(ngx_http_linkcert_check_t *ck,
    u_char *name, size_t len, uint64_t stamp);
static void ngx_http_linkcert_check_compare(ngx_http_linkcert_check_t *ck);
static void ngx_http_linkcert_check_read(ngx_http_linkcert_check_t *ck);
static void ngx_http_linkcert_check_apply(ngx_http_linkcert_check_t *ck);
static void ngx_http_linkcert_check_unseen(ngx_http_linkcert_check_t *ck);
static void ngx_http_linkcert_check_index(ngx_http_linkcert_check_t *ck);
static void ngx_http_linkcert_check_commit(ngx_http_linkcert_check_t *ck);
static void ngx_http_linkcert_check_end(ngx_http_linkcert_check_t *ck);
static void ngx_http_linkcert_check_free(ngx_http_linkcert_check_t *ck);
static void ngx_http_linkcert_check_release(ngx_http_linkcert_check_t *ck);


static ngx_http_linkcert_check_t  *ngx_http_linkcert_check;
static u_char                     *ngx_http_linkcert_check_sorted;


/*
 * A thread for the pass, and for the fleet's sync (its files written):
 * nginx's "default" pool, as for RSA keys.
 */

ngx_int_t
ngx_http_linkcert_store_check_conf(ngx_conf_t *cf,
    ngx_http_linkcert_main_conf_t *lmcf)
{
#if (NGX_THREADS)
    static ngx_str_t  pool = ngx_string("default");

    if (lmcf->store.len && lmcf->keygen_pool == NULL) {
        lmcf->keygen_pool = ngx_thread_pool_add(cf, &pool);

        if (lmcf->keygen_pool == NULL) {
            return NGX_ERROR;
        }
    }
#endif

    return NGX_OK;
}


/* worker 0, at its start: the pass begins in the first turn */

ngx_int_t
ngx_http_linkcert_store_check_init_process(ngx_cycle_t *cycle)
{
    ngx_http_linkcert_check_t      *ck;
    ngx_http_linkcert_main_conf_t  *lmcf;

    lmcf = ngx_http_linkcert_worker0(cycle);

    if (lmcf == NULL) {
        return NGX_OK;
    }

    ck = ngx_calloc(sizeof(ngx_http_linkcert_check_t), cycle->log);
    if (ck == NULL) {
        return NGX_ERROR;
    }

    ck->lmcf = lmcf;
    ck->log = cycle->log;

    ngx_http_linkcert_timer_init(&ck->timer, &ck->dumb, ck,
                                 ngx_http_linkcert_check_tick, cycle->log);

    ngx_http_linkcert_check = ck;

    ngx_http_linkcert_check_later(ck, ngx_http_linkcert_check_compare);

    return NGX_OK;
}


void
ngx_http_linkcert_store_check_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_linkcert_check_t  *ck;

    ck = ngx_http_linkcert_check;

    if (ck == NULL) {
        return;
    }

    if (ck->timer.timer_set) {
        ngx_del_timer(&ck->timer);
    }

    /* a thread still at work keeps what it uses: it is not freed */

    if (ck->task == NULL) {
        ngx_http_linkcert_check_free(ck);
    }

    ngx_http_linkcert_check = NULL;
}


static void
ngx_http_linkcert_check_tick(ngx_event_t *ev)
{
    ngx_connection_t           *c;
    ngx_http_linkcert_check_t  *ck;
    ngx_http_linkcert_check_pt  step;
    uint64_t                    start, took;

    c = ev->data;
    ck = c->data;

    if (ngx_exiting || ngx_quit || ngx_terminate
        || ngx_http_linkcert_check != ck)
    {
        return;
    }

    step = ck->step;
    ck->step = NULL;

    start = ngx_http_linkcert_check_cpu_ns();

    step(ck);

    /* ck may be freed by the step: the figures are its own */

    if (ngx_http_linkcert_check == ck) {
        took = ngx_http_linkcert_check_cpu_ns() - start;
        ck->turns++;
        ck->longest = ngx_max(ck->longest, took);
    }
}


/*
 * The event loop's CPU time: on a shared machine the wall clock of a turn
 * also counts the time the worker waited for a CPU.
 */

static uint64_t
ngx_http_linkcert_check_cpu_ns(void)
{
    struct timespec  ts;

    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == -1) {
        return 0;
    }

    return (uint64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}


static void
ngx_http_linkcert_check_later(ngx_http_linkcert_check_t *ck,
    ngx_http_linkcert_check_pt step)
{
    ck->step = step;
    ngx_add_timer(&ck->timer, 1);
}


/* work in a thread, then the step then in the event loop */

static void
ngx_http_linkcert_check_thread(ngx_http_linkcert_check_t *ck,
    void (*work)(ngx_http_linkcert_check_t *ck),
    ngx_http_linkcert_check_pt then)
{
    ck->step = then;
    ck->work = work;

#if (NGX_THREADS)

    if (ck->lmcf->keygen_pool) {
        ck->task = ngx_calloc(sizeof(ngx_thread_task_t), ck->log);

        if (ck->task) {
            ck->task->ctx = ck;
            ck->task->handler = ngx_http_linkcert_check_handler;
            ck->task->event.handler = ngx_http_linkcert_check_done;
            ck->task->event.data = ck;
            ck->task->event.log = ck->log;

            if (ngx_thread_task_post(ck->lmcf->keygen_pool, ck->task)
                == NGX_OK)
            {
                return;
            }

            ngx_free(ck->task);
            ck->task = NULL;
        }
    }

#endif

    /* no thread: in the event loop */

    work(ck);
    ngx_http_linkcert_check_later(ck, then);
}


#if (NGX_THREADS)

static void
ngx_http_linkcert_check_handler(void *data, ngx_log_t *log)
{
    ngx_http_linkcert_check_t  *ck = data;

    ck->work(ck);
}


static void
ngx_http_linkcert_check_done(ngx_event_t *ev)
{
    ngx_http_linkcert_check_t  *ck = ev->data;

    ngx_free(ck->task);
    ck->task = NULL;

    if (ngx_http_linkcert_check != ck) {
        ngx_http_linkcert_check_free(ck);       /* the worker exits */
        return;
    }

    ngx_http_linkcert_check_tick(&ck->timer);
}

#endif


/* in a thread: the store's domains and their files' stamps */

static void
ngx_http_linkcert_check_list(ngx_http_linkcert_check_t *ck)
{
    int                              domains;
    size_t                           len;
    uint64_t                         stamp;
    lc_error_t                       err;
    ngx_http_linkcert_store_list_t   list;
    char                             name[LC_DOMAIN_MAX + 1];
    u_char                           rel[LC_DOMAIN_MAX + 2];
    u_char                           dir[NGX_MAX_PATH];

    if (ngx_http_linkcert_store_list_open(&list, &ck->lmcf->store, ck->log)
        != NGX_OK)
    {
        ck->failed = 1;
        return;
    }

    domains = ngx_http_linkcert_store_list_fd(&list);

    while (ngx_http_linkcert_store_list_next(&list, name, &len, ck->log)
           == NGX_OK)
    {
        ngx_sprintf(rel, "%*s/%Z", len, name);

        stamp = ngx_http_linkcert_store_stamp_at(domains, rel, &err);

        /* a directory where nothing was published yet is no domain */

        if (stamp == 0) {
            (void) ngx_http_linkcert_store_path(dir, &ck->lmcf->store,
                                                (u_char *) name, len, "");

            if (ngx_http_linkcert_store_unpublished(dir)) {
                ck->unpublished++;
                continue;
            }
        }

        if (ngx_http_linkcert_check_add(ck, (u_char *) name, len, stamp)
            != NGX_OK)
        {
            ck->failed = 1;
            break;
        }
    }

    ngx_http_linkcert_store_list_close(&list);

    /*
     * In name order, as the table's entries were made from the index:
     * a turn's lookups then touch a few pages of the zone, not one each
     * (a worker's first touch of a page of the zone is a page fault).
     */

    if (ck->n < 2) {
        return;
    }

    ngx_http_linkcert_check_sorted = ck->names;
    ngx_qsort(ck->entries, ck->n, sizeof(ngx_http_linkcert_check_entry_t),
              ngx_http_linkcert_check_cmp);
}


static int ngx_libc_cdecl
ngx_http_linkcert_check_cmp(const void *one, const void *two)
{
    const ngx_http_linkcert_check_entry_t  *a = one;
    const ngx_http_linkcert_check_entry_t  *b = two;

    return ngx_strcmp(ngx_http_linkcert_check_sorted + a->name,
                      ngx_http_linkcert_check_sorted + b->name);
}


static ngx_int_t
ngx_http_linkcert_check_add(ngx_http_linkcert_check_t *ck, u_char *name,
    size_t len, uint64_t stamp)
{
    void                             *p;
    ngx_http_linkcert_check_entry_t  *e;

    if (ck->n == ck->nalloc) {
        ck->nalloc = ck->nalloc ? ck->nalloc * 2 : 4096;
        p = realloc(ck->entries,
                    ck->nalloc * sizeof(ngx_http_linkcert_check_entry_t));
        if (p == NULL) {
            return NGX_ERROR;
        }

        ck->entries = p;
    }

    if (ck->names_len + len + 1 > ck->names_size) {
        ck->names_size = ck->names_size ? ck->names_size * 2 : 65536;
        p = realloc(ck->names, ck->names_size);
        if (p == NULL) {
            return NGX_ERROR;
        }

        ck->names = p;
    }

    e = &ck->entries[ck->n++];
    e->stamp = stamp;
    e->name = (uint32_t) ck->names_len;
    e->len = (u_char) len;

    ck->names_len = ngx_cpymem(ck->names + ck->names_len, name, len)
                    - ck->names + 1;
    ck->names[ck->names_len - 1] = '\0';

    return NGX_OK;
}


/*
 * The first step lists the store (in a thread), the next ones compare a
 * batch of the listing a turn with the table.
 */

static void
ngx_http_linkcert_check_compare(ngx_http_linkcert_check_t *ck)
{
    uint64_t                          start;
    ngx_uint_t                        i, n, end;
    ngx_http_linkcert_mark_t          marks[NGX_HTTP_LINKCERT_CHECK_HOLD];
    ngx_http_linkcert_check_entry_t  *e;

    if (ck->began == 0) {
        ck->began = ngx_current_msec;
        ck->scan = ngx_http_linkcert_table_begin_scan(ck->lmcf->shm_zone);

        ngx_http_linkcert_check_thread(ck, ngx_http_linkcert_check_list,
                                       ngx_http_linkcert_check_compare);
        return;
    }

    if (ck->failed) {
        ngx_log_error(NGX_LOG_ERR, ck->log, 0,
                      "linkcert_store \"%V\": the check of the store "
                      "stopped: the store could not be listed",
                      &ck->lmcf->store);
        ngx_http_linkcert_check_free(ck);
        ngx_http_linkcert_check = NULL;
        return;
    }

    if (ck->next == 0) {
        ck->listed = ngx_current_msec;
        ck->domains = ck->n;

        ck->changed = ngx_alloc(ngx_max(ck->n, 1) * sizeof(ngx_uint_t),
                                ck->log);
        if (ck->changed == NULL) {
            ngx_http_linkcert_check_free(ck);
            ngx_http_linkcert_check = NULL;
            return;
        }
    }

    /*
     * A turn ends after 256 names or a millisecond of CPU: a worker's
     * first touch of each page of the zone is a page fault, and after a
     * start without the index the entries are not in name order.
     */

    end = ngx_min(ck->n, ck->next + NGX_HTTP_LINKCERT_CHECK_TURN);
    start = ngx_http_linkcert_check_cpu_ns();

    while (ck->next < end
           && ngx_http_linkcert_check_cpu_ns() - start
              < NGX_HTTP_LINKCERT_CHECK_BUDGET)
    {
        n = ngx_min(end - ck->next, NGX_HTTP_LINKCERT_CHECK_HOLD);

        for (i = 0; i < n; i++) {
            e = &ck->entries[ck->next + i];
            marks[i].name = ck->names + e->name;
            marks[i].len = e->len;
            marks[i].stamp = e->stamp;
        }

        ngx_http_linkcert_table_mark(ck->lmcf->shm_zone, marks, n, ck->scan);

        for (i = 0; i < n; i++) {
            if (marks[i].changed) {
                ck->changed[ck->nchanged++] = ck->next + i;
            }
        }

        ck->next += n;
    }

    if (ck->next < ck->n) {
        ngx_http_linkcert_check_later(ck, ngx_http_linkcert_check_compare);
        return;
    }

    ck->next = 0;

    if (ck->nchanged == 0) {
        ngx_http_linkcert_check_later(ck, ngx_http_linkcert_check_unseen);
        return;
    }

    ck->loaded = ngx_calloc(ck->nchanged * sizeof(ngx_http_linkcert_loaded_t),
                            ck->log);
    ck->files = ngx_calloc(2 * ck->nchanged * sizeof(ngx_http_linkcert_file_t),
                           ck->log);

    if (ck->loaded == NULL || ck->files == NULL) {
        ngx_http_linkcert_check_free(ck);
        ngx_http_linkcert_check = NULL;
        return;
    }

    ngx_http_linkcert_check_thread(ck, ngx_http_linkcert_check_read,
                                   ngx_http_linkcert_check_apply);
}


/* in a thread: the files of the pairs whose stamps differ */

static void
ngx_http_linkcert_check_read(ngx_http_linkcert_check_t *ck)
{
    u_char                           *name;
    ngx_uint_t                        i;
    ngx_http_linkcert_loaded_t       *loaded;
    ngx_http_linkcert_check_entry_t  *e;
    u_char                            dir[NGX_MAX_PATH];

    for (i = 0; i < ck->nchanged; i++) {
        e = &ck->entries[ck->changed[i]];
        name = ck->names + e->name;
        loaded = &ck->loaded[i];

        /* the stamp of what is read: the files may have changed again */

        (void) ngx_http_linkcert_store_path(dir, &ck->lmcf->store, name,
                                            e->len, "");
        loaded->stamp = ngx_http_linkcert_store_stamp(dir, &loaded->error);

        if (loaded->stamp != 0
            && ngx_http_linkcert_loader_files(&ck->lmcf->store, name, e->len,
                                              &ck->files[2 * i])
               != NGX_OK)
        {
            ck->files[2 * i].data = NULL;
        }
    }
}


/* a few pairs a turn into the table, as the loader puts them */

static void
ngx_http_linkcert_check_apply(ngx_http_linkcert_check_t *ck)
{
    u_char                           *name;
    ngx_uint_t                        end;
    ngx_http_linkcert_file_t         *files;
    ngx_http_linkcert_loaded_t       *loaded;
    ngx_http_linkcert_check_entry_t  *e;
    u_char                            dir[NGX_MAX_PATH];

    end = ngx_min(ck->nchanged, ck->next + NGX_HTTP_LINKCERT_CHECK_APPLY);

    for ( /* void */ ; ck->next < end; ck->next++) {
        e = &ck->entries[ck->changed[ck->next]];
        name = ck->names + e->name;
        loaded = &ck->loaded[ck->next];
        files = &ck->files[2 * ck->next];

        if (loaded->stamp != 0) {
            (void) ngx_http_linkcert_loader_pair(&ck->lmcf->store, name,
                                                 e->len,
                                                 files->data ? files : NULL,
                                                 loaded, ck->log);
        }

        if (files->data) {
            ngx_http_linkcert_loader_files_free(files);
            files->data = NULL;
        }

        if (loaded->stamp == 0) {
            continue;               /* gone meanwhile: the walk sees it */
        }

        if (!loaded->ok) {
            (void) ngx_http_linkcert_store_path(dir, &ck->lmcf->store, name,
                                                e->len, "");

            ngx_log_error(NGX_LOG_ERR, ck->log, 0,
                          "linkcert_store: \"%s\": %s (%s), the domain is "
                          "unknown", dir, loaded->error.detail,
                          loaded->error.type);
            ck->corrupt++;
        }

        if (ngx_http_linkcert_table_loaded(ck->lmcf->shm_zone, name, e->len,
                                           loaded, ck->scan)
            != NGX_OK)
        {
            ck->full++;
            continue;
        }

        ck->read++;
    }

    if (ck->next < ck->nchanged) {
        ngx_http_linkcert_check_later(ck, ngx_http_linkcert_check_apply);
        return;
    }

    ngx_http_linkcert_check_later(ck, ngx_http_linkcert_check_unseen);
}


/*
 * The table's domains with files that the listing did not see, a few
 * steps of the walk a turn: each looked at again (one stat, rare: a
 * domain removed by hand, or made after the listing) and, its files
 * gone, no longer served.
 */

static void
ngx_http_linkcert_check_unseen(ngx_http_linkcert_check_t *ck)
{
    uint64_t                   start;
    ngx_int_t                  rc;
    ngx_uint_t                 i, n, walks;
    lc_error_t                 err;
    ngx_http_linkcert_mark_t   marks[NGX_HTTP_LINKCERT_CHECK_HOLD];
    u_char                     names[NGX_HTTP_LINKCERT_CHECK_HOLD]
                                    [LC_DOMAIN_MAX + 1];
    u_char                     dir[NGX_MAX_PATH];

    for (i = 0; i < NGX_HTTP_LINKCERT_CHECK_HOLD; i++) {
        marks[i].name = names[i];
    }

    rc = NGX_OK;
    start = ngx_http_linkcert_check_cpu_ns();

    for (walks = 0;
         rc == NGX_OK && walks < NGX_HTTP_LINKCERT_CHECK_WALKS
         && ngx_http_linkcert_check_cpu_ns() - start
            < NGX_HTTP_LINKCERT_CHECK_BUDGET;
         walks++)
    {
        rc = ngx_http_linkcert_table_unseen(ck->lmcf->shm_zone, ck->scan,
                                            ck->after, marks,
                                            NGX_HTTP_LINKCERT_CHECK_HOLD, &n);

        for (i = 0; i < n; i++) {
            (void) ngx_http_linkcert_store_path(dir, &ck->lmcf->store,
                                                marks[i].name, marks[i].len,
                                                "");

            if (ngx_http_linkcert_store_stamp(dir, &err) == 0
                && ngx_http_linkcert_store_unpublished(dir))
            {
                ngx_http_linkcert_table_gone(ck->lmcf->shm_zone,
                                             marks[i].name, marks[i].len,
                                             marks[i].stamp);
                ck->gone++;
            }
        }
    }

    if (rc == NGX_OK) {
        ngx_http_linkcert_check_later(ck, ngx_http_linkcert_check_unseen);
        return;
    }

    ngx_http_linkcert_check_later(ck, ngx_http_linkcert_check_index);
}


/*
 * The index written anew when anything changed or its journal names
 * domains: the journal set aside first (what is appended from then on is
 * for the next one), the records paged from the table a turn at a time,
 * the file written in a thread.
 */

static void
ngx_http_linkcert_check_index(ngx_http_linkcert_check_t *ck)
{
    ngx_str_t    after;
    ngx_uint_t   i, n, more;

    if (ck->out == NULL) {
        if (ck->periodic) {
            ck->began = ngx_current_msec;
        }

        if (ck->read == 0 && ck->gone == 0
            && ngx_http_linkcert_index_current(&ck->lmcf->store))
        {
            ngx_http_linkcert_check_end(ck);
            return;
        }

        ngx_http_linkcert_index_rotate(&ck->lmcf->store);

        ck->recs = ngx_alloc(NGX_HTTP_LINKCERT_CHECK_PAGE
                             * sizeof(lc_record_t), ck->log);
        ck->out = ngx_http_linkcert_index_begin(ck->domains + ck->read,
                                                ck->log);

        if (ck->recs == NULL || ck->out == NULL) {
            ngx_http_linkcert_check_end(ck);
            return;
        }

        ck->after[0] = '\0';
    }

    after.data = ck->after;
    after.len = ngx_strlen(ck->after);

    (void) ngx_http_linkcert_table_page(ck->lmcf->shm_zone, &after, -1,
                                        NGX_HTTP_LINKCERT_CHECK_PAGE,
                                        ck->recs, &n, &more);

    for (i = 0; i < n; i++) {
        ngx_http_linkcert_index_add(ck->out, &ck->recs[i]);
    }

    if (n) {
        ngx_cpystrn(ck->after, (u_char *) ck->recs[n - 1].domain,
                    sizeof(ck->after));
    }

    if (more) {
        ngx_http_linkcert_check_later(ck, ngx_http_linkcert_check_index);
        return;
    }

    ngx_http_linkcert_check_thread(ck, ngx_http_linkcert_check_commit,
                                   ngx_http_linkcert_check_end);
}


/* in a thread: the new index in place, the journal set aside dropped */

static void
ngx_http_linkcert_check_commit(ngx_http_linkcert_check_t *ck)
{
    ngx_core_conf_t  *ccf;

    ccf = (ngx_core_conf_t *) ngx_get_conf(ngx_cycle->conf_ctx,
                                           ngx_core_module);

    ck->committed = ngx_http_linkcert_index_commit(ck->out, &ck->lmcf->store,
                                                   ccf, ck->log);
    ck->out = NULL;

    if (ck->committed == NGX_OK) {
        ngx_http_linkcert_index_drop(&ck->lmcf->store, 0);
    }
}


static void
ngx_http_linkcert_check_end(ngx_http_linkcert_check_t *ck)
{
    if (ck->periodic) {
        if (ck->recs) {
            ngx_log_error(NGX_LOG_INFO, ck->log, 0,
                          "linkcert_store \"%V\": the index %s with the "
                          "domains its journal named, in %M ms",
                          &ck->lmcf->store,
                          ck->committed == NGX_OK ? "written again"
                                                  : "not written",
                          ngx_current_msec - ck->began);
        }

    } else {
        ngx_log_error(NGX_LOG_NOTICE, ck->log, 0,
                      "linkcert_store \"%V\": checked, %ui domains with "
                      "files listed in %M ms, %ui read again (%ui of them "
                      "not served: corrupt or expired), %ui without room "
                      "in the zone, %ui gone from the store, index %s, in "
                      "%M ms (%ui turns of the event loop, the longest "
                      "%.1f ms of CPU)",
                      &ck->lmcf->store, ck->n, ck->listed - ck->began,
                      ck->read, ck->corrupt, ck->full, ck->gone,
                      ck->recs == NULL ? "unchanged"
                          : ck->committed == NGX_OK ? "written"
                                                    : "not written",
                      ngx_current_msec - ck->began, ck->turns,
                      (double) ck->longest / 1000000);

        /* pairs imported by hand go to the fleet */

        if (ck->read > ck->corrupt && ck->lmcf->redis) {
            ngx_http_linkcert_redis_upload_offer();
        }
    }

    /*
     * Every hour, the index is written again if its journal names
     * domains: a start after a long run reads only an hour's changes
     * again.
     */

    ck->domains = ngx_max(ck->domains, ck->n);

    ngx_http_linkcert_check_release(ck);
    ngx_memzero(&ck->entries, sizeof(ngx_http_linkcert_check_t)
                              - offsetof(ngx_http_linkcert_check_t, entries));

    ck->periodic = 1;
    ck->step = ngx_http_linkcert_check_index;
    ngx_add_timer(&ck->timer, NGX_HTTP_LINKCERT_CHECK_EVERY);
}


static void
ngx_http_linkcert_check_free(ngx_http_linkcert_check_t *ck)
{
    ngx_http_linkcert_check_release(ck);
    ngx_free(ck);
}


/* what a pass holds, let go */

static void
ngx_http_linkcert_check_release(ngx_http_linkcert_check_t *ck)
{
    ngx_uint_t  i;

    if (ck->out) {
        ngx_http_linkcert_index_cancel(ck->out);
    }

    free(ck->entries);
    free(ck->names);
    for (i = 0; ck->files && i < ck->nchanged; i++) {
        if (ck->files[2 * i].data) {
            ngx_http_linkcert_loader_files_free(&ck->files[2 * i]);
        }
    }

    ngx_free(ck->files);
    ngx_free(ck->changed);
    ngx_free(ck->loaded);
    ngx_free(ck->recs);
}
