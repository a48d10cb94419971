
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the ACME driver's own declarations, shared by its files:
 *
 *     ngx_http_linkcert_acme.c           the jobs: start, step, end
 *     ngx_http_linkcert_acme_account.c   each CA's account
 *     ngx_http_linkcert_acme_order.c     an order saved, resumed, and its
 *                                        certificate saved
 *     ngx_http_linkcert_acme_renew.c     when an issued domain renews
 */


#ifndef _NGX_HTTP_LINKCERT_ACME_H_INCLUDED_
#define _NGX_HTTP_LINKCERT_ACME_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_linkcert.h"
#include "ngx_http_linkcert_state.h"
#include "ngx_http_linkcert_redis.h"


#define NGX_HTTP_LINKCERT_ORDERS_MAX   16


typedef struct ngx_http_linkcert_acme_ca_s  ngx_http_linkcert_acme_ca_t;

typedef struct {
    ngx_queue_t                     queue;
    lc_acme_t                      *machine;
    lc_acme_kind_e                  kind;
    ngx_http_linkcert_acme_ca_t    *ca;
    ngx_event_t                     timer;
    char                            domain[LC_DOMAIN_MAX + 1];
    char                            token[LC_ACME_TOKEN_MAX];
    char                            cert_id[LC_ACME_CERT_ID_LEN];
    uint32_t                        job_id;      /* the domain's claim */
    ngx_http_linkcert_state_lease_t lease;       /* an order's, fenced */
    ngx_http_linkcert_keygen_t     *keygen;      /* its key, being made */
    ngx_http_linkcert_budgets_t    *budgets;     /* in a fleet: the order's
                                                    budgets being asked */
    lc_acme_account_t              *account;     /* an order taken over:
                                                    the account it is of */
    lc_cert_info_t                  info;        /* the certificate being
                                                    saved */
} ngx_http_linkcert_acme_job_t;


/* a CA: its directory and the account there */

struct ngx_http_linkcert_acme_ca_s {
    ngx_str_t                      *directory;
    ngx_uint_t                      index;       /* 0: primary, 1: backup */
    lc_acme_account_t               account;
    ngx_uint_t                      ready;
    ngx_http_linkcert_acme_job_t   *account_job;
    ngx_event_t                     account_retry;
    ngx_uint_t                      account_failures;
    lc_error_t                      account_error;
    ngx_http_linkcert_redis_req_t  *account_req; /* in a fleet: its key
                                                    being shared */
    ngx_uint_t                      account_shared; /* the fleet's key */
};


typedef struct {
    ngx_http_linkcert_main_conf_t  *conf;
    ngx_http_linkcert_state_t      *state;
    ngx_http_linkcert_acme_ca_t     ca[LC_FAILOVER_CAS];
    ngx_uint_t                      ncas;
    ngx_queue_t                     orders;
    ngx_uint_t                      norders;
    const char                     *contacts[9];
    ngx_log_t                      *log;
    ngx_connection_t                dumb;
} ngx_http_linkcert_acme_t;


extern ngx_http_linkcert_acme_t  *ngx_http_linkcert_acme;


/* ngx_http_linkcert_acme.c */

ngx_http_linkcert_acme_job_t *ngx_http_linkcert_acme_start(
    lc_acme_kind_e kind, ngx_http_linkcert_acme_ca_t *ca, const char *domain,
    uint32_t job_id, const char *replaces);
ngx_int_t ngx_http_linkcert_acme_order_replacing(const char *domain,
    uint32_t job_id, const char *replaces);
void ngx_http_linkcert_acme_step(ngx_http_linkcert_acme_job_t *job);
void ngx_http_linkcert_acme_release(ngx_http_linkcert_acme_job_t *job);
void ngx_http_linkcert_acme_not_leased(ngx_http_linkcert_acme_job_t *job);
void ngx_http_linkcert_acme_free(ngx_http_linkcert_acme_job_t *job);


/* ngx_http_linkcert_acme_account.c */

ngx_int_t ngx_http_linkcert_acme_ca_init(ngx_http_linkcert_acme_t *acme,
    ngx_uint_t index, ngx_str_t *directory, ngx_str_t *eab_kid,
    ngx_str_t *eab_key, ngx_log_t *log);
void ngx_http_linkcert_acme_account_done(ngx_http_linkcert_acme_job_t *job);
void ngx_http_linkcert_acme_account_failed(ngx_http_linkcert_acme_job_t *job,
    const lc_error_t *err, int transient, time_t retry_after);


/* ngx_http_linkcert_acme_order.c */

lc_acme_t *ngx_http_linkcert_acme_resume(ngx_http_linkcert_acme_job_t *job,
    ngx_http_linkcert_acme_ca_t **ca);
ngx_int_t ngx_http_linkcert_acme_save(ngx_http_linkcert_acme_job_t *job);
ngx_int_t ngx_http_linkcert_acme_still_leased(
    ngx_http_linkcert_acme_job_t *job);
void ngx_http_linkcert_acme_drop(ngx_http_linkcert_acme_job_t *job);
void ngx_http_linkcert_acme_store(ngx_http_linkcert_acme_job_t *job);


/* ngx_http_linkcert_acme_renew.c */

void ngx_http_linkcert_acme_window(ngx_http_linkcert_acme_job_t *job);
void ngx_http_linkcert_acme_ari_failed(ngx_http_linkcert_acme_job_t *job,
    const lc_error_t *err, time_t retry_after);


#endif /* _NGX_HTTP_LINKCERT_ACME_H_INCLUDED_ */
