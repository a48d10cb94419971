
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: what an order keeps through the state boundary: its progress,
 * saved before each request and resumed by the next worker 0, and at the
 * end its certificate, saved under the domain's lease.  In a fleet the
 * boundary keeps the progress in Redis too, the request waiting until it
 * has, and gives the next lease holder the order to resume, with the
 * account it was placed with (lease.taken).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert.h"
#include "ngx_http_linkcert_state.h"
#include "ngx_http_linkcert_acme.h"


static ngx_http_linkcert_acme_ca_t *ngx_http_linkcert_acme_saved_ca(
    const char *saved, size_t len, char *directory, size_t size);
static void ngx_http_linkcert_acme_order_account(
    ngx_http_linkcert_acme_job_t *job, ngx_http_linkcert_acme_ca_t *ca);
static void ngx_http_linkcert_acme_kept(void *data, ngx_int_t rc,
    uint64_t value);
static void ngx_http_linkcert_acme_stop(ngx_http_linkcert_acme_job_t *job);
static void ngx_http_linkcert_acme_saved(void *data, ngx_int_t rc,
    uint64_t version);
static void ngx_http_linkcert_acme_unsaved(ngx_http_linkcert_acme_job_t *job,
    lc_error_t *err);


/*
 * The saved order: the one an ORDER job is working on, and its
 * certificate key once it finalizes, so that a new worker 0 (after a
 * reload, a restart or a crash) goes on with the same order instead of
 * placing a second one.  In a fleet, an order taken over from another
 * edge goes on under the account it was placed with (job->account).
 */

lc_acme_t *
ngx_http_linkcert_acme_resume(ngx_http_linkcert_acme_job_t *job,
    ngx_http_linkcert_acme_ca_t **ca)
{
    lc_acme_t                    *m;
    lc_error_t                    err;
    const char                   *domain;
    ngx_http_linkcert_acme_t     *acme;
    ngx_http_linkcert_file_t      file;
    ngx_http_linkcert_acme_ca_t  *saved;
    char                          directory[LC_ACME_URL_MAX];

    acme = ngx_http_linkcert_acme;
    domain = job->domain;

    if (acme->state->order_read(acme->state, domain, &file) != NGX_OK) {
        return NULL;
    }

    saved = ngx_http_linkcert_acme_saved_ca((char *) file.data, file.len,
                                            directory, sizeof(directory));

    if (saved == NULL || !saved->ready) {
        ngx_log_error(NGX_LOG_WARN, acme->log, 0,
                      "linkcert: the saved order of \"%s\" is an order of "
                      "\"%s\", %s; a new order is placed", domain, directory,
                      saved ? "whose account is not set up"
                            : "no longer configured");
        ngx_explicit_memzero(file.data, file.len);
        ngx_free(file.data);
        return NULL;
    }

    ngx_http_linkcert_acme_order_account(job, saved);

    m = lc_acme_resume(job->account ? job->account : &saved->account, domain,
                       (lc_acme_key_type_e) acme->conf->key_type,
                       (char *) file.data, file.len);

    ngx_explicit_memzero(file.data, file.len);
    ngx_free(file.data);

    if (m == NULL) {
        return NULL;
    }

    /* a machine that failed at once says why */

    err = *lc_acme_error(m, NULL, NULL);

    if (err.type[0] != '\0') {
        ngx_log_error(NGX_LOG_WARN, acme->log, 0,
                      "linkcert: the saved order of \"%s\": %s, a new order "
                      "is placed", domain, err.detail);
        lc_acme_free(m);
        return NULL;
    }

    ngx_log_error(NGX_LOG_NOTICE, acme->log, 0,
                  "linkcert: \"%s\" resumes its order at \"%V\"", domain,
                  saved->directory);

    *ca = saved;

    return m;
}


/* the CA whose order a saved text is; a text that names none: the primary's */

static ngx_http_linkcert_acme_ca_t *
ngx_http_linkcert_acme_saved_ca(const char *saved, size_t len,
    char *directory, size_t size)
{
    ngx_int_t                     rc;
    ngx_uint_t                    i;
    ngx_http_linkcert_acme_t     *acme;
    ngx_http_linkcert_acme_ca_t  *ca;

    acme = ngx_http_linkcert_acme;

    rc = lc_acme_saved_directory(saved, len, directory, size);
    ca = (rc == 0) ? NULL : &acme->ca[0];

    for (i = 0; rc == 0 && i < acme->ncas; i++) {
        if (ngx_strcmp(directory, acme->ca[i].directory->data) == 0) {
            ca = &acme->ca[i];
        }
    }

    return ca;
}


/*
 * An order placed under another account than this edge's (each edge has
 * its own until they share one) goes on under that account: its key and
 * URL came with the order.
 */

static void
ngx_http_linkcert_acme_order_account(ngx_http_linkcert_acme_job_t *job,
    ngx_http_linkcert_acme_ca_t *ca)
{
    EVP_PKEY                           *key;
    lc_acme_account_t                  *acct, tmp;
    ngx_http_linkcert_acme_t           *acme;
    ngx_http_linkcert_state_account_t  *rec;

    acme = ngx_http_linkcert_acme;
    rec = job->lease.taken;

    if (rec == NULL || ngx_strcmp(ca->account.kid, rec->kid) == 0) {
        return;
    }

    key = lc_acme_account_key_load((char *) rec->key, rec->key_len);

    if (key == NULL
        || lc_acme_account_init(&tmp, key, ca->account.directory) != 0)
    {
        ngx_log_error(NGX_LOG_WARN, acme->log, 0,
                      "linkcert: the account key of the order of \"%s\" "
                      "cannot be used", job->domain);
        EVP_PKEY_free(key);
        return;
    }

    acct = ngx_alloc(sizeof(lc_acme_account_t), acme->log);
    if (acct == NULL) {
        EVP_PKEY_free(key);
        return;
    }

    /* the CA's URLs, the order's account; its own nonces */

    *acct = ca->account;
    acct->key = key;
    ngx_memcpy(acct->thumbprint, tmp.thumbprint, sizeof(acct->thumbprint));
    ngx_cpystrn((u_char *) acct->kid, (u_char *) rec->kid,
                sizeof(acct->kid));
    acct->nonce[0] = '\0';

    if (job->account) {
        EVP_PKEY_free(job->account->key);
        ngx_free(job->account);
    }

    job->account = acct;

    ngx_log_error(NGX_LOG_NOTICE, acme->log, 0,
                  "linkcert: \"%s\": its order goes on under account %s, "
                  "the one it was placed with", job->domain, acct->kid);
}


/*
 * The order's progress, saved before the request that follows.  In a
 * fleet the boundary keeps it in Redis too, and NGX_AGAIN says that the
 * job goes on (ngx_http_linkcert_acme_step()) once it has, or has
 * stopped.
 */

ngx_int_t
ngx_http_linkcert_acme_save(ngx_http_linkcert_acme_job_t *job)
{
    char                      *saved;
    size_t                     len;
    ngx_int_t                  rc;
    ngx_http_linkcert_acme_t  *acme;

    acme = ngx_http_linkcert_acme;

    if (ngx_http_linkcert_acme_still_leased(job) != NGX_OK) {
        return NGX_AGAIN;
    }

    saved = lc_acme_save(job->machine, &len);
    if (saved == NULL) {
        return NGX_OK;
    }

    rc = acme->state->order_write(acme->state, &job->lease, job->domain,
                                  saved, len,
                                  job->account ? job->account
                                               : &job->ca->account,
                                  ngx_http_linkcert_acme_kept, job,
                                  acme->log);

    lc_acme_saved_free(saved, len);

    if (rc == NGX_DECLINED) {
        ngx_http_linkcert_acme_stop(job);
        return NGX_AGAIN;
    }

    return rc;
}


static void
ngx_http_linkcert_acme_kept(void *data, ngx_int_t rc, uint64_t value)
{
    ngx_http_linkcert_acme_job_t *job = data;

    if (rc == NGX_OK) {
        ngx_http_linkcert_acme_step(job);
        return;
    }

    ngx_http_linkcert_acme_stop(job);
}


/*
 * In a fleet, an order whose lease this edge lost (it expired before it
 * was renewed: the edge was stopped, cut off or slow) is the next
 * holder's: NGX_DECLINED, and the job has stopped.
 */

ngx_int_t
ngx_http_linkcert_acme_still_leased(ngx_http_linkcert_acme_job_t *job)
{
    if (!job->lease.lost) {
        return NGX_OK;
    }

    ngx_http_linkcert_acme_stop(job);

    return NGX_DECLINED;
}


/*
 * The order not kept (its lease lost): it goes on at the edge that
 * holds the lease now, which answers its challenge too and ends it, or
 * waits for this edge's next lease.  Neither counted nor backed off.
 */

static void
ngx_http_linkcert_acme_stop(ngx_http_linkcert_acme_job_t *job)
{
    job->token[0] = '\0';

    if (job->lease.error.type[0] == '\0') {
        lc_error_set(&job->lease.error, LC_ERR_FLEET_BUSY, "another edge of "
                     "the fleet is ordering it: this edge's lease ran out");
        job->lease.retry = ngx_max(job->lease.retry, 1);
    }

    ngx_http_linkcert_acme_not_leased(job);
}


void
ngx_http_linkcert_acme_drop(ngx_http_linkcert_acme_job_t *job)
{
    ngx_http_linkcert_acme_t  *acme;

    acme = ngx_http_linkcert_acme;

    if (job->kind == LC_ACME_ORDER) {
        acme->state->order_drop(acme->state, &job->lease, job->domain,
                                acme->log);
    }
}


/* the new certificate checked, then saved as a pair under the lease */

void
ngx_http_linkcert_acme_store(ngx_http_linkcert_acme_job_t *job)
{
    size_t                      chain_len, key_len;
    uint64_t                    version;
    ngx_int_t                   rc;
    lc_cert_t                  *cert;
    lc_error_t                  err;
    const char                 *chain, *key;
    ngx_http_linkcert_acme_t   *acme;
    ngx_http_linkcert_state_t  *st;

    acme = ngx_http_linkcert_acme;
    st = acme->state;

    if (lc_acme_result(job->machine, &chain, &chain_len, &key, &key_len)
        != 0)
    {
        lc_error_set(&err, LC_ERR_ACME_PROTOCOL, "the CA sent no certificate");
        ngx_http_linkcert_acme_unsaved(job, &err);
        return;
    }

    cert = lc_cert_parse(chain, chain_len, key, key_len, &err);

    if (cert == NULL
        || lc_cert_check(cert, job->domain, ngx_time(), &err) != 0
        || lc_cert_info(cert, &job->info) != 0)
    {
        lc_cert_free(cert);
        ngx_http_linkcert_acme_unsaved(job, &err);
        return;
    }

    lc_cert_free(cert);

    version = 0;

    /* in a fleet, the other edges get it too */

    rc = st->save(st, &job->lease, job->domain, key, key_len, chain,
                  chain_len, &version, ngx_http_linkcert_acme_saved, job,
                  acme->log);

    if (rc != NGX_AGAIN) {
        ngx_http_linkcert_acme_saved(job, rc, version);
    }
}


static void
ngx_http_linkcert_acme_saved(void *data, ngx_int_t rc, uint64_t version)
{
    ngx_http_linkcert_acme_job_t *job = data;

    lc_error_t                 err;
    ngx_http_linkcert_acme_t  *acme;

    acme = ngx_http_linkcert_acme;

    if (rc == NGX_OK) {
        ngx_http_linkcert_table_issued(acme->conf->shm_zone,
                                       (u_char *) job->domain,
                                       ngx_strlen(job->domain), job->job_id,
                                       &job->info, version, acme->log);
        ngx_http_linkcert_acme_free(job);
        return;
    }

    /* another edge took the lease since: the fleet's certificate stays */

    if (rc == NGX_DECLINED && job->lease.error.type[0]) {
        ngx_http_linkcert_acme_not_leased(job);
        return;
    }

    /* a domain removed meanwhile does not come back */

    if (rc == NGX_DECLINED) {
        lc_error_set(&err, LC_ERR_REMOVED, "the domain was removed");

    } else {
        lc_error_set(&err, LC_ERR_STORE_WRITE,
                     "the certificate could not be written to the store; "
                     "retried later");
    }

    ngx_http_linkcert_acme_unsaved(job, &err);
}


/* the order is over, its certificate not saved: tried again later */

static void
ngx_http_linkcert_acme_unsaved(ngx_http_linkcert_acme_job_t *job,
    lc_error_t *err)
{
    ngx_http_linkcert_acme_t  *acme;

    acme = ngx_http_linkcert_acme;

    ngx_http_linkcert_table_order_failed(acme->conf->shm_zone,
                                         (u_char *) job->domain,
                                         ngx_strlen(job->domain), job->job_id,
                                         err, 1, 0, acme->log);
    ngx_http_linkcert_acme_free(job);
}
