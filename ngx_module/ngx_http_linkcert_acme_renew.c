
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: when an issued domain renews: at renew_at, or at a time in
 * the window the primary CA suggests (RFC 9773, renewal information).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert.h"
#include "ngx_http_linkcert_state.h"
#include "ngx_http_linkcert_redis.h"
#include "ngx_http_linkcert_acme.h"


/*
 * An issued domain whose DNS was just checked: renew it now, or ask the
 * CA's renewal information (RFC 9773, the primary's), or let it wait: the
 * lifecycle core decides (LC_EV_RENEW).  The new order "replaces" the old
 * certificate when the time came from the CA's window.
 */

ngx_int_t
ngx_http_linkcert_acme_renew(const char *domain, uint32_t job_id)
{
    size_t                         len;
    lc_lifecycle_event_t           ev;
    lc_lifecycle_result_t          res;
    ngx_http_linkcert_acme_t      *acme;
    ngx_http_linkcert_file_t       file;
    ngx_http_linkcert_acme_ca_t   *ca;
    ngx_http_linkcert_acme_job_t  *job;
    char                           cert_id[LC_ACME_CERT_ID_LEN];

    acme = ngx_http_linkcert_acme;
    ca = &acme->ca[0];
    len = ngx_strlen(domain);

    cert_id[0] = '\0';

    if (ca->ready && ca->account.renewal_info[0]) {

        if (acme->state->read_chain(acme->state, domain, &file) == NGX_OK) {
            if (lc_acme_cert_id((char *) file.data, file.len, cert_id,
                                sizeof(cert_id))
                != 0)
            {
                cert_id[0] = '\0';
            }

            ngx_free(file.data);
        }
    }

    ngx_http_linkcert_life_event(&ev, LC_EV_RENEW);
    ev.cert_id = (cert_id[0] != '\0');

    if (ngx_http_linkcert_table_job_event(acme->conf->shm_zone,
                                          (u_char *) domain, len, job_id,
                                          &ev, &res)
        != NGX_OK)
    {
        return ngx_http_linkcert_acme_order(domain, job_id);
    }

    switch (res.action) {

    case LC_DO_ASK_ARI:
        job = ngx_http_linkcert_acme_start(LC_ACME_RENEWAL_INFO, ca, domain,
                                           job_id, cert_id);
        return job ? NGX_OK : NGX_ERROR;

    case LC_DO_ORDER:
        return ngx_http_linkcert_acme_order_replacing(domain, job_id,
                                                      res.replaces
                                                      ? cert_id : NULL);

    default: /* not the time: it waits */
        return NGX_OK;
    }
}


/*
 * The CA's suggested window (RFC 9773): the lifecycle core picks the
 * renewal in it (LC_EV_ARI), now or planned for later.
 */

void
ngx_http_linkcert_acme_window(ngx_http_linkcert_acme_job_t *job)
{
    lc_lifecycle_event_t       ev;
    lc_lifecycle_result_t      res;
    ngx_http_linkcert_acme_t  *acme;

    acme = ngx_http_linkcert_acme;

    ngx_http_linkcert_life_event(&ev, LC_EV_ARI);
    ev.ok = (lc_acme_renewal_window(job->machine, &ev.start, &ev.end,
                                    &ev.retry_after)
             == 0);

    if (ngx_http_linkcert_table_job_event(acme->conf->shm_zone,
                                          (u_char *) job->domain,
                                          ngx_strlen(job->domain),
                                          job->job_id, &ev, &res)
        == NGX_OK
        && res.action == LC_DO_ORDER)
    {
        ngx_log_error(NGX_LOG_NOTICE, acme->log, 0,
                      "linkcert: \"%s\" renewal is due, replacing %s",
                      job->domain, job->cert_id);

        if (ngx_http_linkcert_acme_order_replacing(job->domain, job->job_id,
                                                   job->cert_id)
            != NGX_OK)
        {
            ngx_http_linkcert_acme_release(job);
        }
    }

    ngx_http_linkcert_acme_free(job);
}


/* no renewal information: renew_at alone decides */

void
ngx_http_linkcert_acme_ari_failed(ngx_http_linkcert_acme_job_t *job,
    const lc_error_t *err, time_t retry_after)
{
    lc_lifecycle_event_t       ev;
    lc_lifecycle_result_t      res;
    ngx_http_linkcert_acme_t  *acme;

    acme = ngx_http_linkcert_acme;

    ngx_log_error(NGX_LOG_WARN, acme->log, 0,
                  "linkcert: renewal information for \"%s\" not "
                  "available: %s (%s)", job->domain, err->detail, err->type);

    ngx_http_linkcert_life_event(&ev, LC_EV_ARI_FAILED);
    ev.retry_after = retry_after;

    if (ngx_http_linkcert_table_job_event(acme->conf->shm_zone,
                                          (u_char *) job->domain,
                                          ngx_strlen(job->domain),
                                          job->job_id, &ev, &res)
        == NGX_OK
        && res.action == LC_DO_ORDER
        && ngx_http_linkcert_acme_order(job->domain, job->job_id)
           != NGX_OK)
    {
        ngx_http_linkcert_acme_release(job);
    }

    ngx_http_linkcert_acme_free(job);
}
