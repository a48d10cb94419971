
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: worker 0's loop, the background work, and the DNS checks it
 * starts.
 *
 * Worker 0 alone verifies and orders.  Any worker's "Verify domain"
 * request only schedules the domain in the shared table; a cancelable
 * timer here polls the table every 100 ms and takes the domains that are
 * due: those being verified run the DNS rule of src/lc_verify.c with
 * c-ares queries, those being ordered go to the ACME driver.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <ares.h>

#include "ngx_http_linkcert.h"
#include "ngx_http_linkcert_redis.h"
#include "lc_dnsmsg.h"


#define NGX_HTTP_LINKCERT_POLL       100        /* ms */
#define NGX_HTTP_LINKCERT_JOBS_MAX   64
#define NGX_HTTP_LINKCERT_POLL_FAST  25         /* ms, on demand */
#define NGX_HTTP_LINKCERT_LEASE      300000     /* ms */


typedef struct {
    ngx_queue_t                     queue;
    lc_verify_t                     verify;
    lc_dns_answer_t                 answer;
    char                            qname[LC_DOMAIN_MAX + 1];
    lc_qtype_e                      qtype;
    uint32_t                        job_id;
} ngx_http_linkcert_job_t;


static void ngx_http_linkcert_worker_poll(ngx_event_t *ev);
static void ngx_http_linkcert_dns_check_step(ngx_http_linkcert_job_t *job);
static void ngx_http_linkcert_dns_check_answer(void *arg, int status,
    int timeouts, unsigned char *abuf, int alen);
static void ngx_http_linkcert_dns_check_done(ngx_http_linkcert_job_t *job);


static ngx_event_t                     ngx_http_linkcert_poll_ev;
static ngx_connection_t                ngx_http_linkcert_dumb;
static ngx_queue_t                     ngx_http_linkcert_jobs;
static ngx_msec_t                      ngx_http_linkcert_poll;
static ngx_uint_t                      ngx_http_linkcert_njobs;
static ngx_uint_t                      ngx_http_linkcert_polls;
static ngx_http_linkcert_main_conf_t  *ngx_http_linkcert_worker_conf;


ngx_int_t
ngx_http_linkcert_worker_init_process(ngx_cycle_t *cycle)
{
    ngx_http_linkcert_main_conf_t  *lmcf;

    lmcf = ngx_http_linkcert_worker0(cycle);

    if (lmcf == NULL || lmcf->verify == NULL) {
        return NGX_OK;
    }

    if (ngx_http_linkcert_dns_init(cycle, lmcf) != NGX_OK
        || ngx_http_linkcert_acme_init_process(cycle, lmcf) != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_queue_init(&ngx_http_linkcert_jobs);
    ngx_http_linkcert_ask_init(lmcf);
    ngx_http_linkcert_njobs = 0;
    ngx_http_linkcert_worker_conf = lmcf;

    /* a held handshake waits for this poll: on demand, it is frequent */

    ngx_http_linkcert_poll = lmcf->on_demand ? NGX_HTTP_LINKCERT_POLL_FAST
                                             : NGX_HTTP_LINKCERT_POLL;

    ngx_http_linkcert_timer_init(&ngx_http_linkcert_poll_ev,
                                 &ngx_http_linkcert_dumb, NULL,
                                 ngx_http_linkcert_worker_poll, cycle->log);

    ngx_add_timer(&ngx_http_linkcert_poll_ev, ngx_http_linkcert_poll);

    return NGX_OK;
}


/*
 * Jobs still waiting for DNS are answered with ARES_EDESTRUCTION and hand
 * their domain back to the table, for the next worker 0 to pick up.
 */

void
ngx_http_linkcert_worker_exit_process(ngx_cycle_t *cycle)
{
    if (ngx_http_linkcert_worker_conf == NULL) {
        return;
    }

    if (ngx_http_linkcert_poll_ev.timer_set) {
        ngx_del_timer(&ngx_http_linkcert_poll_ev);
    }

    /*
     * c-ares first (its pending lookups end), then the HTTPS requests
     * still open, then the ACME jobs, which hand their domains back.
     */

    ngx_http_linkcert_dns_exit();
    ngx_http_linkcert_fetch_cancel_all();
    ngx_http_linkcert_acme_exit_process();

    /* their requests are gone; names not decided yet are handed back */

    ngx_http_linkcert_ask_exit();

    ngx_http_linkcert_worker_conf = NULL;
}


/*
 * A name was just admitted on demand, or verified: if this is worker 0,
 * it does not wait for its next poll.
 */

void
ngx_http_linkcert_worker_kick(void)
{
    ngx_event_t  *ev;

    ev = &ngx_http_linkcert_poll_ev;

    if (ngx_http_linkcert_worker_conf == NULL || ev->posted) {
        return;
    }

    if (ev->timer_set) {
        ngx_del_timer(ev);
    }

    ngx_post_event(ev, &ngx_posted_events);
}


static void
ngx_http_linkcert_worker_poll(ngx_event_t *ev)
{
    char                           *name;
    ngx_int_t                       rc;
    ngx_uint_t                      i, n, waiting;
    ngx_http_linkcert_main_conf_t  *lmcf;

    static ngx_http_linkcert_due_t  due[NGX_HTTP_LINKCERT_JOBS_MAX];

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    lmcf = ngx_http_linkcert_worker_conf;

    /*
     * The ACME account is set up at once, not at the first order: renewal
     * checks need to know whether the CA has renewal information.
     */

    if (ngx_http_linkcert_polls == 0) {
        ngx_http_linkcert_acme_wanted();
    }

    /* domains held by a worker 0 that died are taken back */

    if (ngx_http_linkcert_polls++ % 100 == 0) {
        n = ngx_http_linkcert_table_recover(lmcf->shm_zone);

        if (n) {
            ngx_log_error(NGX_LOG_NOTICE, ev->log, 0,
                          "linkcert: %ui domains taken back from a worker "
                          "that died", n);
        }
    }

    n = ngx_http_linkcert_table_due(lmcf->shm_zone, NGX_HTTP_LINKCERT_LEASE,
                                    due, NGX_HTTP_LINKCERT_JOBS_MAX
                                         - ngx_http_linkcert_njobs,
                                    ngx_http_linkcert_acme_ready(),
                                    &waiting);

    if (waiting) {
        ngx_http_linkcert_acme_wanted();
    }

    for (i = 0; i < n; i++) {
        name = due[i].name;

        switch (due[i].action) {

        case LC_DO_ORDER:
            rc = ngx_http_linkcert_acme_order(name, due[i].job_id);
            break;

        case LC_DO_RENEW:
            rc = ngx_http_linkcert_acme_renew(name, due[i].job_id);
            break;

        default: /* LC_DO_ASK, LC_DO_VERIFY; in a fleet, admitted first */
            rc = ngx_http_linkcert_budgets_admit(name, due[i].job_id,
                                                 due[i].action, ev->log);
            if (rc != NGX_DECLINED) {
                break;
            }

            rc = (due[i].action == LC_DO_ASK)
                 ? ngx_http_linkcert_ask(name, due[i].job_id, ev->log)
                 : ngx_http_linkcert_dns_check_start(name, due[i].job_id,
                                                     ev->log);
            break;
        }

        if (rc != NGX_OK) {
            ngx_http_linkcert_table_release(lmcf->shm_zone, (u_char *) name,
                                            ngx_strlen(name), due[i].job_id);
        }
    }

    ngx_add_timer(ev, ngx_http_linkcert_poll);
}


ngx_int_t
ngx_http_linkcert_dns_check_start(const char *name, uint32_t job_id,
    ngx_log_t *log)
{
    ngx_http_linkcert_job_t  *job;

    job = ngx_alloc(sizeof(ngx_http_linkcert_job_t), log);
    if (job == NULL) {
        return NGX_ERROR;
    }

    lc_verify_init(&job->verify, ngx_http_linkcert_worker_conf->verify,
                   name);
    job->job_id = job_id;

    ngx_queue_insert_tail(&ngx_http_linkcert_jobs, &job->queue);
    ngx_http_linkcert_njobs++;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, log, 0,
                   "linkcert: verifying \"%s\"", name);

    ngx_http_linkcert_dns_check_step(job);

    return NGX_OK;
}


static void
ngx_http_linkcert_dns_check_step(ngx_http_linkcert_job_t *job)
{
    if (!lc_verify_next(&job->verify, job->qname, &job->qtype)) {
        ngx_http_linkcert_dns_check_done(job);
        return;
    }

    /* c-ares may call back at once: the job is not touched afterwards */

    if (ngx_http_linkcert_dns_query(job->qname, lc_qtype_to_ns(job->qtype),
                                    ngx_http_linkcert_dns_check_answer, job)
        != NGX_OK)
    {
        ngx_http_linkcert_dns_check_answer(job, ARES_ECANCELLED, 0, NULL, 0);
    }
}


static void
ngx_http_linkcert_dns_check_answer(void *arg, int status, int timeouts,
    unsigned char *abuf, int alen)
{
    ngx_http_linkcert_job_t *job = arg;

    ngx_http_linkcert_main_conf_t  *lmcf;

    lmcf = ngx_http_linkcert_worker_conf;

    if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) {
        if (lmcf) {
            ngx_http_linkcert_table_release(lmcf->shm_zone,
                                          (u_char *) job->verify.domain,
                                          ngx_strlen(job->verify.domain),
                                          job->job_id);
        }

        ngx_queue_remove(&job->queue);
        ngx_http_linkcert_njobs--;
        ngx_free(job);
        return;
    }

    lc_dns_answer_from_ares(status, abuf, alen, job->qname, job->qtype,
                            &job->answer);

    lc_verify_feed(&job->verify, &job->answer);

    ngx_http_linkcert_dns_check_step(job);
}


static void
ngx_http_linkcert_dns_check_done(ngx_http_linkcert_job_t *job)
{
    size_t                          len;
    ngx_uint_t                      order;
    ngx_http_linkcert_main_conf_t  *lmcf;
    char                            dns[LC_DNS_JSON_MAX];

    lmcf = ngx_http_linkcert_worker_conf;

    len = lc_verify_dns_json(&job->verify, ngx_time(), dns, sizeof(dns));

    order = 0;

    if (lmcf->acme_directory.len) {
        order = NGX_HTTP_LINKCERT_ORDER;

        order |= ngx_http_linkcert_acme_ari();
    }

    ngx_http_linkcert_table_verified(lmcf->shm_zone, &job->verify,
                                     job->job_id, (u_char *) dns, len, order,
                                     ngx_cycle->log);

    if (lmcf->on_demand) {
        ngx_http_linkcert_worker_kick();
    }

    ngx_queue_remove(&job->queue);
    ngx_http_linkcert_njobs--;
    ngx_free(job);
}


/*
 * A timer of the module's: its data is a dumb connection (nginx's debug
 * log reads a timer's data as a connection) whose data is the timer's
 * own; cancelable, so that a worker exits without waiting for it.
 */

void
ngx_http_linkcert_timer_init(ngx_event_t *ev, ngx_connection_t *dumb,
    void *data, ngx_event_handler_pt handler, ngx_log_t *log)
{
    dumb->fd = (ngx_socket_t) -1;
    dumb->data = data;

    ev->data = dumb;
    ev->handler = handler;
    ev->log = log;
    ev->cancelable = 1;
}
