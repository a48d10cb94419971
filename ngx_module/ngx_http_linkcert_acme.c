
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the ACME driver in worker 0.
 *
 * It runs the machines of src/lc_acme.c: one for the account of each CA
 * (ngx_http_linkcert_acme_account.c), one per order or renewal check
 * (ngx_http_linkcert_acme_renew.c).  The machines say what to send; this
 * file sends it with the HTTPS client, feeds the answers back, waits on
 * cancelable timers, publishes HTTP-01 key authorizations, picks the CA
 * of each order, and at the end has the certificate saved
 * (ngx_http_linkcert_acme_order.c) and the domain marked issued.  What it
 * keeps (keys, orders, certificates, leases, key authorizations) goes
 * through the state boundary (ngx_http_linkcert_state.h), whose writes
 * may answer later.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert.h"
#include "ngx_http_linkcert_state.h"
#include "ngx_http_linkcert_redis.h"
#include "ngx_http_linkcert_acme.h"


static ngx_http_linkcert_acme_ca_t *ngx_http_linkcert_acme_pick(
    const char *domain, uint32_t job_id);
static ngx_uint_t ngx_http_linkcert_acme_outcome(
    ngx_http_linkcert_acme_job_t *job, lc_failover_outcome_e outcome);
static void ngx_http_linkcert_acme_leased(void *data, ngx_int_t rc,
    uint64_t fence);
static ngx_int_t ngx_http_linkcert_acme_begin(
    ngx_http_linkcert_acme_job_t *job);
static ngx_int_t ngx_http_linkcert_acme_claim(
    ngx_http_linkcert_acme_job_t *job);
static void ngx_http_linkcert_acme_budgeted(void *data, ngx_int_t rc,
    const lc_error_t *err, time_t wait);
static void ngx_http_linkcert_acme_published(void *data, ngx_int_t rc,
    uint64_t value);
static void ngx_http_linkcert_acme_key_made(void *data, EVP_PKEY *key);
static void ngx_http_linkcert_acme_wake(ngx_event_t *ev);
static void ngx_http_linkcert_acme_response(void *data,
    lc_http_response_t *res, const char *error);
static void ngx_http_linkcert_acme_count(lc_http_response_t *res);
static void ngx_http_linkcert_acme_done(ngx_http_linkcert_acme_job_t *job);
static void ngx_http_linkcert_acme_failed(ngx_http_linkcert_acme_job_t *job);


ngx_http_linkcert_acme_t  *ngx_http_linkcert_acme;


ngx_int_t
ngx_http_linkcert_acme_init_process(ngx_cycle_t *cycle,
    ngx_http_linkcert_main_conf_t *lmcf)
{
    char                      **contact;
    ngx_uint_t                  i;
    ngx_http_linkcert_acme_t   *acme;

    if (lmcf->acme_directory.len == 0) {
        return NGX_OK;
    }

    acme = ngx_pcalloc(cycle->pool, sizeof(ngx_http_linkcert_acme_t));
    if (acme == NULL) {
        return NGX_ERROR;
    }

    acme->conf = lmcf;
    acme->state = lmcf->state;
    acme->log = cycle->log;
    ngx_queue_init(&acme->orders);

    /* nginx's debug log reads a timer's data as a connection */
    acme->dumb.fd = (ngx_socket_t) -1;

    if (lmcf->acme_contacts) {
        contact = lmcf->acme_contacts->elts;

        for (i = 0; i < lmcf->acme_contacts->nelts && i < 8; i++) {
            acme->contacts[i] = contact[i];
        }
    }

    if (ngx_http_linkcert_acme_ca_init(acme, 0, &lmcf->acme_directory,
                                       &lmcf->acme_eab_kid,
                                       &lmcf->acme_eab_key, cycle->log)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (lmcf->acme_backup.len
        && ngx_http_linkcert_acme_ca_init(acme, 1, &lmcf->acme_backup,
                                          &lmcf->acme_backup_eab_kid,
                                          &lmcf->acme_backup_eab_key,
                                          cycle->log)
           != NGX_OK)
    {
        EVP_PKEY_free(acme->ca[0].account.key);
        return NGX_ERROR;
    }

    ngx_http_linkcert_acme = acme;

    return NGX_OK;
}


void
ngx_http_linkcert_acme_exit_process(void)
{
    ngx_queue_t                   *q;
    ngx_http_linkcert_acme_t      *acme;
    ngx_http_linkcert_acme_job_t  *job;

    acme = ngx_http_linkcert_acme;

    if (acme == NULL) {
        return;
    }

    /*
     * Unfinished orders go back to the table for the next worker 0, which
     * resumes them from their saved order; their challenge stays
     * published (it expires in an hour) for a validation under way.
     */

    while (!ngx_queue_empty(&acme->orders)) {
        q = ngx_queue_head(&acme->orders);
        job = ngx_queue_data(q, ngx_http_linkcert_acme_job_t, queue);

        ngx_http_linkcert_acme_release(job);
        job->token[0] = '\0';
        ngx_http_linkcert_acme_free(job);
    }

    ngx_http_linkcert_acme = NULL;
}


ngx_int_t
ngx_http_linkcert_acme_order(const char *domain, uint32_t job_id)
{
    return ngx_http_linkcert_acme_order_replacing(domain, job_id, NULL);
}


/*
 * A new order at the CA the domain's orders go to now; "replaces" is
 * sent to the primary only, the CA that answered about the certificate.
 */

ngx_int_t
ngx_http_linkcert_acme_order_replacing(const char *domain, uint32_t job_id,
    const char *replaces)
{
    time_t                        retry;
    ngx_http_linkcert_acme_t     *acme;
    ngx_http_linkcert_acme_ca_t  *ca;

    acme = ngx_http_linkcert_acme;
    ca = ngx_http_linkcert_acme_pick(domain, job_id);

    if (!ca->ready) {
        ngx_http_linkcert_acme_wanted();

        retry = ca->account_retry.timer_set
                ? (time_t) ((ca->account_retry.timer.key - ngx_current_msec)
                            / 1000)
                : 0;

        ngx_http_linkcert_table_order_failed(acme->conf->shm_zone,
                                             (u_char *) domain,
                                             ngx_strlen(domain), job_id,
                                             &ca->account_error,
                                             NGX_HTTP_LINKCERT_NO_ACCOUNT,
                                             retry,
                                             acme->log);
        return NGX_OK;
    }

    return ngx_http_linkcert_acme_start(LC_ACME_ORDER, ca, domain, job_id,
                                        ca->index == 0 ? replaces : NULL)
           ? NGX_OK : NGX_ERROR;
}


/*
 * The CA of the domain's next order (lc_failover.h); a CA whose account
 * cannot be set up is unreachable: the other one takes its orders.
 */

static ngx_http_linkcert_acme_ca_t *
ngx_http_linkcert_acme_pick(const char *domain, uint32_t job_id)
{
    ngx_uint_t                    next;
    ngx_http_linkcert_plan_t      plan;
    ngx_http_linkcert_acme_t     *acme;
    ngx_http_linkcert_acme_ca_t  *ca, *other;

    acme = ngx_http_linkcert_acme;
    next = 0;

    if (acme->ncas > 1
        && ngx_http_linkcert_table_plan(acme->conf->shm_zone,
                                        (u_char *) domain, ngx_strlen(domain),
                                        job_id, &plan, 0)
           == NGX_OK
        && plan.failover.next < acme->ncas)
    {
        next = plan.failover.next;
    }

    ca = &acme->ca[next];

    if (!ca->ready && acme->ncas > 1) {
        other = &acme->ca[1 - next];

        if (other->ready) {
            ngx_log_error(NGX_LOG_NOTICE, acme->log, 0,
                          "linkcert: \"%s\" is ordered from \"%V\": the "
                          "account at \"%V\" is not set up (%s)", domain,
                          other->directory, ca->directory,
                          ca->account_error.detail);
            return other;
        }
    }

    return ca;
}


/*
 * An order at job->ca ended: counted for the domain's failover.  Returns
 * 1 when the next order should go to the backup now.
 */

static ngx_uint_t
ngx_http_linkcert_acme_outcome(ngx_http_linkcert_acme_job_t *job,
    lc_failover_outcome_e outcome)
{
    ngx_uint_t                 now;
    lc_failover_t             *f;
    ngx_http_linkcert_plan_t   plan;
    ngx_http_linkcert_acme_t  *acme;

    acme = ngx_http_linkcert_acme;
    f = &plan.failover;

    if (ngx_http_linkcert_table_plan(acme->conf->shm_zone,
                                     (u_char *) job->domain,
                                     ngx_strlen(job->domain), job->job_id,
                                     &plan, 0)
        != NGX_OK)
    {
        return 0;
    }

    now = lc_failover_result(f, (unsigned) job->ca->index, outcome,
                             (unsigned) acme->conf->acme_max_fails,
                             (unsigned) acme->ncas);

    (void) ngx_http_linkcert_table_plan(acme->conf->shm_zone,
                                        (u_char *) job->domain,
                                        ngx_strlen(job->domain), job->job_id,
                                        &plan, 1);

    if (outcome != LC_FAILOVER_ISSUED && f->next != job->ca->index) {
        ngx_log_error(NGX_LOG_NOTICE, acme->log, 0,
                      "linkcert: \"%s\": %s at \"%V\", the next order "
                      "goes to \"%V\"%s", job->domain,
                      outcome == LC_FAILOVER_UNREACHABLE
                      ? "no answer" : "failed orders",
                      job->ca->directory, acme->ca[f->next].directory,
                      now ? ", now" : "");
    }

    return now && acme->ca[f->next].ready;
}


/*
 * An order starts under the domain's lease; a renewal information job
 * and the account's setup need none.  NULL: the job could not start (the
 * caller gives the domain back).
 */

ngx_http_linkcert_acme_job_t *
ngx_http_linkcert_acme_start(lc_acme_kind_e kind,
    ngx_http_linkcert_acme_ca_t *ca, const char *domain, uint32_t job_id,
    const char *replaces)
{
    ngx_http_linkcert_acme_t      *acme;
    ngx_http_linkcert_acme_job_t  *job;

    acme = ngx_http_linkcert_acme;

    job = ngx_calloc(sizeof(ngx_http_linkcert_acme_job_t), acme->log);
    if (job == NULL) {
        return NULL;
    }

    job->kind = kind;
    job->job_id = job_id;
    job->lease.job_id = job_id;
    job->ca = ca;

    if (replaces) {
        ngx_cpystrn((u_char *) job->cert_id, (u_char *) replaces,
                    LC_ACME_CERT_ID_LEN);
    }

    job->timer.handler = ngx_http_linkcert_acme_wake;
    job->timer.data = job;
    job->timer.log = acme->log;
    job->timer.cancelable = 1;

    if (kind == LC_ACME_ACCOUNT) {
        job->machine = lc_acme_new(kind, &ca->account, NULL,
                                   (lc_acme_key_type_e) acme->conf->key_type,
                                   NULL);
        if (job->machine == NULL) {
            ngx_free(job);
            return NULL;
        }

        ca->account_job = job;
        ngx_http_linkcert_acme_step(job);
        return job;
    }

    ngx_cpystrn((u_char *) job->domain, (u_char *) domain, LC_DOMAIN_MAX + 1);
    ngx_queue_insert_tail(&acme->orders, &job->queue);
    acme->norders++;

    if (ngx_http_linkcert_acme_claim(job) != NGX_OK) {
        ngx_http_linkcert_acme_free(job);
        return NULL;
    }

    return job;
}


/*
 * An order's lease at the state boundary (in a fleet, one edge at a time
 * orders a domain), then the job sets out.
 */

static ngx_int_t
ngx_http_linkcert_acme_claim(ngx_http_linkcert_acme_job_t *job)
{
    ngx_int_t                  rc;
    ngx_http_linkcert_acme_t  *acme;

    acme = ngx_http_linkcert_acme;
    rc = NGX_OK;

    if (job->kind == LC_ACME_ORDER) {
        rc = acme->state->lease_take(acme->state, job->domain, job->job_id,
                                     &job->lease,
                                     ngx_http_linkcert_acme_leased, job,
                                     acme->log);
        if (rc == NGX_AGAIN) {
            return NGX_OK;
        }
    }

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_linkcert_acme_begin(job);
}


static void
ngx_http_linkcert_acme_leased(void *data, ngx_int_t rc, uint64_t fence)
{
    ngx_http_linkcert_acme_job_t  *job = data;

    job->lease.fence = fence;

    if (rc != NGX_OK && job->lease.error.type[0]) {
        ngx_http_linkcert_acme_not_leased(job);
        return;
    }

    /* the lease is ours: in a fleet, its budgets are asked next */

    if (rc == NGX_OK) {
        rc = ngx_http_linkcert_budgets_check(job->domain, job->job_id,
                                             ngx_http_linkcert_acme_budgeted,
                                             job, &job->budgets);
        if (rc == NGX_AGAIN) {
            return;
        }

        rc = (rc == NGX_DECLINED) ? NGX_OK : NGX_ERROR;
    }

    ngx_http_linkcert_acme_budgeted(job, rc, NULL, 0);
}


/*
 * The fleet's budgets said: an order within them begins; one they refuse
 * (err) is not placed, as a lease refused; err NULL and rc not NGX_OK:
 * the job cannot go on.
 */

static void
ngx_http_linkcert_acme_budgeted(void *data, ngx_int_t rc,
    const lc_error_t *err, time_t wait)
{
    ngx_http_linkcert_acme_job_t  *job = data;

    if (rc != NGX_OK && err) {
        job->lease.error = *err;
        job->lease.retry = wait;
        ngx_http_linkcert_acme_not_leased(job);
        return;
    }

    if (rc != NGX_OK || ngx_http_linkcert_acme_begin(job) != NGX_OK) {
        ngx_http_linkcert_acme_release(job);
        ngx_http_linkcert_acme_free(job);
    }
}


/*
 * The lease was refused (another edge of the fleet holds it, or took it
 * since: lease.error says which) or could not be asked for.  The job ends
 * without an order placed or a certificate stored; the domain is due
 * again when the lease says, neither counted as failed nor backed off.
 */

void
ngx_http_linkcert_acme_not_leased(ngx_http_linkcert_acme_job_t *job)
{
    ngx_http_linkcert_acme_t  *acme;

    acme = ngx_http_linkcert_acme;

    ngx_http_linkcert_table_order_failed(acme->conf->shm_zone,
                                         (u_char *) job->domain,
                                         ngx_strlen(job->domain), job->job_id,
                                         &job->lease.error,
                                         NGX_HTTP_LINKCERT_NO_ACCOUNT,
                                         job->lease.retry, acme->log);
    ngx_http_linkcert_acme_free(job);
}


/* a domain's job sets out; a saved order goes on at its own CA */

static ngx_int_t
ngx_http_linkcert_acme_begin(ngx_http_linkcert_acme_job_t *job)
{
    ngx_http_linkcert_plan_t      plan;
    ngx_http_linkcert_acme_t     *acme;
    ngx_http_linkcert_acme_ca_t  *ca;

    acme = ngx_http_linkcert_acme;
    ca = job->ca;

    job->machine = (job->kind == LC_ACME_ORDER)
                   ? ngx_http_linkcert_acme_resume(job, &ca) : NULL;
    job->ca = ca;

    if (job->machine == NULL) {
        job->machine = lc_acme_new(job->kind, &ca->account, job->domain,
                                   (lc_acme_key_type_e) acme->conf->key_type,
                                   job->cert_id[0] ? job->cert_id : NULL);
    }

    if (job->machine == NULL) {
        return NGX_ERROR;
    }

    /* the order starts when its key is made, off the event loop */

    if (lc_acme_wants_key(job->machine)) {
        job->keygen = ngx_http_linkcert_keygen(acme->conf,
                          (lc_acme_key_type_e) acme->conf->key_type,
                          ngx_http_linkcert_acme_key_made, job, acme->log);
        if (job->keygen) {
            return NGX_OK;
        }
    }

    /* the status shows the CA being tried */

    if (job->kind == LC_ACME_ORDER
        && ngx_http_linkcert_table_plan(acme->conf->shm_zone,
                                        (u_char *) job->domain,
                                        ngx_strlen(job->domain), job->job_id,
                                        &plan, 0)
           == NGX_OK)
    {
        plan.failover.last = (u_char) (ca->index + 1);
        (void) ngx_http_linkcert_table_plan(acme->conf->shm_zone,
                                            (u_char *) job->domain,
                                            ngx_strlen(job->domain),
                                            job->job_id, &plan, 1);
    }

    if (job->kind == LC_ACME_ORDER && ca->index) {
        ngx_log_error(NGX_LOG_NOTICE, acme->log, 0,
                      "linkcert: \"%s\" is ordered from the backup CA "
                      "\"%V\"", job->domain, ca->directory);
    }

    ngx_http_linkcert_acme_step(job);

    return NGX_OK;
}


static void
ngx_http_linkcert_acme_key_made(void *data, EVP_PKEY *key)
{
    ngx_http_linkcert_acme_job_t  *job = data;

    job->keygen = NULL;

    /* without a key, the machine makes one itself */

    if (key) {
        lc_acme_set_key(job->machine, key);
    }

    ngx_log_error(NGX_LOG_INFO, ngx_http_linkcert_acme->log, 0,
                  "linkcert: \"%s\": key made in a thread: %s",
                  job->domain, key ? "ok" : "failed, made in the event loop");

    ngx_http_linkcert_acme_step(job);
}


void
ngx_http_linkcert_acme_step(ngx_http_linkcert_acme_job_t *job)
{
    unsigned                   delay;
    ngx_int_t                  rc;
    lc_error_t                 err;
    const char                *token, *keyauth;
    lc_acme_request_t          req;
    lc_acme_response_t         res;
    ngx_http_linkcert_acme_t  *acme;

    acme = ngx_http_linkcert_acme;

    for ( ;; ) {
        ngx_memzero(&req, sizeof(lc_acme_request_t));

        switch (lc_acme_next(job->machine, ngx_time(), &req, &delay)) {

        case LC_ACME_SEND:

            rc = ngx_http_linkcert_acme_save(job);

            /* the request is built again once the order is kept */

            if (rc == NGX_AGAIN) {
                free(req.body);
                return;
            }

            if (rc != NGX_OK) {
                free(req.body);
                lc_error_set(&err, LC_ERR_STORE_WRITE,
                             "the order could not be saved to the store; "
                             "retried later");
                ngx_http_linkcert_acme_drop(job);
                ngx_http_linkcert_table_order_failed(acme->conf->shm_zone,
                                                     (u_char *) job->domain,
                                                     ngx_strlen(job->domain),
                                                     job->job_id, &err, 1, 0,
                                                     acme->log);
                ngx_http_linkcert_acme_free(job);
                return;
            }

            if (ngx_http_linkcert_fetch(acme->conf->acme_ssl, req.method,
                                        req.url, req.accept,
                                        req.content_type, req.body,
                                        req.body_len,
                                        ngx_http_linkcert_acme_response,
                                        job, acme->log)
                != NULL)
            {
                free(req.body);
                return;
            }

            free(req.body);

            ngx_memzero(&res, sizeof(lc_acme_response_t));
            lc_acme_feed(job->machine, &res);
            continue;

        case LC_ACME_WAIT:
            ngx_add_timer(&job->timer, delay);
            return;

        case LC_ACME_PUBLISH:

            /*
             * Published or not, the order goes on: a key authorization
             * that could not be published fails the validation, which
             * says why.
             */

            token = lc_acme_challenge(job->machine, &keyauth);

            ngx_cpystrn((u_char *) job->token, (u_char *) token,
                        LC_ACME_TOKEN_MAX);

            /* in a fleet, every edge can answer before the CA is told */

            if (acme->state->challenge_set(acme->state, job->domain, token,
                                           keyauth,
                                           ngx_http_linkcert_acme_published,
                                           job, acme->log)
                == NGX_AGAIN)
            {
                return;
            }

            continue;

        case LC_ACME_DONE:
            ngx_http_linkcert_acme_done(job);
            return;

        default: /* LC_ACME_FAILED */
            ngx_http_linkcert_acme_failed(job);
            return;
        }
    }
}


static void
ngx_http_linkcert_acme_published(void *data, ngx_int_t rc, uint64_t value)
{
    ngx_http_linkcert_acme_step(data);
}


static void
ngx_http_linkcert_acme_wake(ngx_event_t *ev)
{
    ngx_http_linkcert_acme_step(ev->data);
}


static void
ngx_http_linkcert_acme_response(void *data, lc_http_response_t *res,
    const char *error)
{
    ngx_http_linkcert_acme_job_t *job = data;

    lc_acme_response_t  ares;

    ngx_memzero(&ares, sizeof(lc_acme_response_t));

    ngx_http_linkcert_acme_count(res);

    if (res) {
        ares.status = lc_http_response_status(res);
        ares.nonce = lc_http_response_header(res, "Replay-Nonce");
        ares.location = lc_http_response_header(res, "Location");
        ares.retry_after = lc_http_response_header(res, "Retry-After");
        ares.content_type = lc_http_response_header(res, "Content-Type");
        ares.body = lc_http_response_body(res, &ares.body_len);

    } else if (ngx_http_linkcert_acme) {
        ares.error = error;

        ngx_log_error(NGX_LOG_WARN, ngx_http_linkcert_acme->log, 0,
                      "linkcert: ACME request for \"%s\" at \"%V\" "
                      "failed: %s",
                      job->kind != LC_ACME_ACCOUNT ? job->domain : "account",
                      job->ca->directory, error);
    }

    lc_acme_feed(job->machine, &ares);

    ngx_http_linkcert_acme_step(job);
}


/* every answer of the CA (or its absence), for the metrics */

static void
ngx_http_linkcert_acme_count(lc_http_response_t *res)
{
    int                         status;
    size_t                      len;
    const char                 *body;
    ngx_http_linkcert_stats_t  *st;

    if (ngx_http_linkcert_acme == NULL) {
        return;
    }

    st = ngx_http_linkcert_stats(ngx_http_linkcert_acme->conf->shm_zone);

    (void) ngx_atomic_fetch_add(&st->acme_requests, 1);

    status = res ? lc_http_response_status(res) : 0;

    if (status != 0 && status < 400) {
        return;
    }

    len = 0;
    body = res ? lc_http_response_body(res, &len) : NULL;

    (void) ngx_atomic_fetch_add(&st->acme_errors[
                                    lc_acme_problem(status, body, len)], 1);
}


static void
ngx_http_linkcert_acme_done(ngx_http_linkcert_acme_job_t *job)
{
    if (job->kind == LC_ACME_RENEWAL_INFO) {
        ngx_http_linkcert_acme_window(job);
        return;
    }

    if (job->kind == LC_ACME_ACCOUNT) {
        ngx_http_linkcert_acme_account_done(job);
        return;
    }

    /* the order is over whatever the store says: it is not resumed */

    ngx_http_linkcert_acme_drop(job);
    (void) ngx_http_linkcert_acme_outcome(job, LC_FAILOVER_ISSUED);

    ngx_http_linkcert_acme_store(job);
}


static void
ngx_http_linkcert_acme_failed(ngx_http_linkcert_acme_job_t *job)
{
    int                        transient;
    time_t                     retry_after;
    const lc_error_t          *err;
    lc_lifecycle_event_t       ev;
    lc_lifecycle_result_t      res;
    ngx_http_linkcert_acme_t  *acme;

    acme = ngx_http_linkcert_acme;

    err = lc_acme_error(job->machine, &transient, &retry_after);

    if (job->kind == LC_ACME_RENEWAL_INFO) {
        ngx_http_linkcert_acme_ari_failed(job, err, retry_after);
        return;
    }

    if (job->kind == LC_ACME_ACCOUNT) {
        ngx_http_linkcert_acme_account_failed(job, err, transient,
                                              retry_after);
        return;
    }

    /* an order another edge holds now is that edge's to end */

    if (ngx_http_linkcert_acme_still_leased(job) != NGX_OK) {
        return;
    }

    /* a failed order is over; the next attempt orders afresh */

    ngx_http_linkcert_acme_drop(job);

    /*
     * A CA that forgot the account: it is registered again and the order
     * starts over as soon as it is.
     */

    if (lc_lifecycle_account_lost(err)) {
        ngx_log_error(NGX_LOG_NOTICE, acme->log, 0,
                      "linkcert: the CA does not know the account %s any "
                      "more, registering again", job->ca->account.kid);

        job->ca->ready = 0;
        job->ca->account.kid[0] = '\0';

        ngx_http_linkcert_life_event(&ev, LC_EV_ORDER_FAILED);
        ev.error = err;

        (void) ngx_http_linkcert_table_job_event(acme->conf->shm_zone,
                                                 (u_char *) job->domain,
                                                 ngx_strlen(job->domain),
                                                 job->job_id, &ev, &res);
        ngx_http_linkcert_acme_free(job);
        return;
    }

    /* a primary that does not answer: the backup is asked at once */

    if (ngx_http_linkcert_acme_outcome(job,
                                       lc_acme_unreachable(job->machine)
                                       ? LC_FAILOVER_UNREACHABLE
                                       : LC_FAILOVER_FAILED))
    {
        if (ngx_http_linkcert_acme_start(LC_ACME_ORDER, &acme->ca[1],
                                         job->domain, job->job_id, NULL)
            == NULL)
        {
            ngx_http_linkcert_acme_release(job);
        }

        ngx_http_linkcert_acme_free(job);
        return;
    }

    if (!transient) {
        ngx_http_linkcert_budgets_failed(job->domain);
    }

    ngx_http_linkcert_table_order_failed(acme->conf->shm_zone,
                                         (u_char *) job->domain,
                                         ngx_strlen(job->domain), job->job_id,
                                         err, transient, retry_after,
                                         acme->log);

    ngx_http_linkcert_acme_free(job);
}


/* the job's domain goes back to the table, due now */

void
ngx_http_linkcert_acme_release(ngx_http_linkcert_acme_job_t *job)
{
    ngx_http_linkcert_state_t  *st;

    st = ngx_http_linkcert_acme->state;

    st->lease_release(st, job->domain, &job->lease);
}


void
ngx_http_linkcert_acme_free(ngx_http_linkcert_acme_job_t *job)
{
    ngx_http_linkcert_acme_t  *acme;

    acme = ngx_http_linkcert_acme;

    if (job->timer.timer_set) {
        ngx_del_timer(&job->timer);
    }

    if (job->timer.posted) {
        ngx_delete_posted_event(&job->timer);
    }

    if (job->keygen) {
        ngx_http_linkcert_keygen_cancel(job->keygen);
    }

    if (job->kind != LC_ACME_ACCOUNT && acme) {
        acme->state->lease_end(acme->state, job->domain, &job->lease);
    }

    ngx_http_linkcert_budgets_cancel(job->budgets);

    if (job->token[0] && acme) {
        acme->state->challenge_del(acme->state, job->token);
    }

    if (job->kind != LC_ACME_ACCOUNT && acme) {
        ngx_queue_remove(&job->queue);
        acme->norders--;
    }

    lc_acme_free(job->machine);

    if (job->account) {
        EVP_PKEY_free(job->account->key);
        ngx_free(job->account);
    }

    ngx_free(job);
}
