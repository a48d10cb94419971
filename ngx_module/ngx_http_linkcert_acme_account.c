
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the ACME account at each CA (the primary, and the backup if
 * one is configured).  Its key is made once and kept through the state
 * boundary; the account is set up when orders first wait for it, and
 * its setup is tried again after a failure.
 *
 * In a fleet the account is the fleet's: before its setup, the edge
 * offers its key to Redis, sealed under linkcert_redis_key, in
 * <prefix>account:<SHA-256 of the directory URL, hex>; the first offer
 * is kept (SET NX) and every edge sets up the account with the key
 * Redis holds, so that the CA sees one key, one account.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert.h"
#include "ngx_http_linkcert_state.h"
#include "ngx_http_linkcert_redis.h"
#include "ngx_http_linkcert_acme.h"


#define NGX_HTTP_LINKCERT_ACCOUNT_KEY  "account.key"


static ngx_uint_t ngx_http_linkcert_acme_settled(
    ngx_http_linkcert_acme_ca_t *ca);
static EVP_PKEY *ngx_http_linkcert_acme_account_key(
    ngx_http_linkcert_acme_t *acme, ngx_http_linkcert_acme_ca_t *ca,
    ngx_log_t *log);
static void ngx_http_linkcert_acme_account_retry(ngx_event_t *ev);
static ngx_int_t ngx_http_linkcert_acme_account_share(
    ngx_http_linkcert_acme_ca_t *ca);
static void ngx_http_linkcert_acme_account_shared(void *data,
    redisReply *reply, const char *error);
static ngx_int_t ngx_http_linkcert_acme_account_open(
    ngx_http_linkcert_acme_ca_t *ca, redisReply *reply, lc_error_t *err);
static void ngx_http_linkcert_acme_account_unshared(
    ngx_http_linkcert_acme_ca_t *ca, const lc_error_t *err);


/*
 * KEYS[1] the fleet's account key; ARGV[1] this edge's, sealed: kept if
 * there is none yet.  The key Redis holds.
 */

ngx_http_linkcert_redis_script_t  ngx_http_linkcert_account_lua = {
    "redis.call('set', KEYS[1], ARGV[1], 'NX')\n"
    "return redis.call('get', KEYS[1])\n",
    "1", ""
};


/* a CA's account: its key, contacts and External Account Binding */

ngx_int_t
ngx_http_linkcert_acme_ca_init(ngx_http_linkcert_acme_t *acme,
    ngx_uint_t index, ngx_str_t *directory, ngx_str_t *eab_kid,
    ngx_str_t *eab_key, ngx_log_t *log)
{
    EVP_PKEY                     *key;
    ngx_http_linkcert_acme_ca_t  *ca;

    ca = &acme->ca[index];
    ca->index = index;
    ca->directory = directory;

    key = ngx_http_linkcert_acme_account_key(acme, ca, log);
    if (key == NULL) {
        return NGX_ERROR;
    }

    if (lc_acme_account_init(&ca->account, key, (char *) directory->data)
        != 0)
    {
        ngx_log_error(NGX_LOG_EMERG, log, 0,
                      "linkcert: cannot use the ACME account key of \"%V\"",
                      directory);
        EVP_PKEY_free(key);
        return NGX_ERROR;
    }

    if (acme->contacts[0]) {
        ca->account.contacts = acme->contacts;
    }

    if (eab_kid->len) {
        ca->account.eab_kid = (char *) eab_kid->data;
        ca->account.eab_hmac = eab_key->data;
        ca->account.eab_hmac_len = eab_key->len;
    }

    ca->account_retry.data = &acme->dumb;
    ca->account_retry.handler = ngx_http_linkcert_acme_account_retry;
    ca->account_retry.log = log;
    ca->account_retry.cancelable = 1;

    acme->ncas = index + 1;

    return NGX_OK;
}


/*
 * How many orders may start now.  While an account is being set up, none:
 * an order must not go elsewhere only because its CA's account is not
 * ready yet (a saved order would be placed again at the other CA).  While
 * a setup is failing, orders are taken: they go to the other CA, or fail
 * at once with the account's error, so that each domain shows it.
 */

ngx_uint_t
ngx_http_linkcert_acme_ready(void)
{
    ngx_uint_t                 i;
    ngx_http_linkcert_acme_t  *acme;

    acme = ngx_http_linkcert_acme;

    if (acme == NULL) {
        return 0;
    }

    for (i = 0; i < acme->ncas; i++) {
        if (!ngx_http_linkcert_acme_settled(&acme->ca[i])) {
            return 0;
        }
    }

    return NGX_HTTP_LINKCERT_ORDERS_MAX - acme->norders;
}


/* the account is ready, or its setup failed and waits for a retry */

static ngx_uint_t
ngx_http_linkcert_acme_settled(ngx_http_linkcert_acme_ca_t *ca)
{
    return ca->account_job == NULL && ca->account_req == NULL
           && (ca->ready || ca->account_retry.timer_set);
}


/*
 * What a renewal check can expect of the primary CA: renewal information
 * (RFC 9773), or not known yet while the account is being set up; after
 * a failed setup, nothing: renew_at alone decides.
 */

ngx_uint_t
ngx_http_linkcert_acme_ari(void)
{
    ngx_http_linkcert_acme_t     *acme;
    ngx_http_linkcert_acme_ca_t  *ca;

    acme = ngx_http_linkcert_acme;

    if (acme == NULL) {
        return 0;
    }

    ca = &acme->ca[0];

    if (ca->ready) {
        return ca->account.renewal_info[0] ? NGX_HTTP_LINKCERT_ARI : 0;
    }

    return (ca->account_job || ca->account_req || ca->account_failures == 0)
           ? NGX_HTTP_LINKCERT_ACCOUNT : 0;
}


/* orders are waiting: the first time, the accounts are set up */

void
ngx_http_linkcert_acme_wanted(void)
{
    ngx_uint_t                    i;
    ngx_http_linkcert_acme_t     *acme;
    ngx_http_linkcert_acme_ca_t  *ca;

    acme = ngx_http_linkcert_acme;

    if (acme == NULL) {
        return;
    }

    for (i = 0; i < acme->ncas; i++) {
        ca = &acme->ca[i];

        if (ca->ready || ca->account_job || ca->account_req
            || ca->account_retry.timer_set)
        {
            continue;
        }

        /* in a fleet, the fleet's key first */

        if (!ca->account_shared && ngx_http_linkcert_redis_fleet()) {
            (void) ngx_http_linkcert_acme_account_share(ca);
            continue;
        }

        (void) ngx_http_linkcert_acme_start(LC_ACME_ACCOUNT, ca, NULL, 0,
                                            NULL);
    }
}


/*
 * The account key is created once and kept: the CA knows the account by
 * it, across restarts.  The primary's key is account.key; the backup's is
 * named by the CA's host (and port), so that another backup CA gets an
 * account of its own.
 */

static EVP_PKEY *
ngx_http_linkcert_acme_account_key(ngx_http_linkcert_acme_t *acme,
    ngx_http_linkcert_acme_ca_t *ca, ngx_log_t *log)
{
    int                         https;
    char                       *pem;
    size_t                      len;
    unsigned                    port;
    EVP_PKEY                   *key;
    ngx_int_t                   rc;
    lc_error_t                  err;
    ngx_uint_t                  tries;
    const char                 *p;
    ngx_http_linkcert_file_t    file;
    ngx_http_linkcert_state_t  *st;
    char                        host[256];
    u_char                      name[sizeof("backup-.key") + 256 + 6];

    st = acme->state;

    if (ca->index == 0) {
        ngx_sprintf(name, NGX_HTTP_LINKCERT_ACCOUNT_KEY "%Z");

    } else if (lc_http_url((char *) ca->directory->data, &https, host,
                           sizeof(host), &port, &p)
               != 0)
    {
        return NULL;

    } else if (port == 443) {
        ngx_sprintf(name, "backup-%s.key%Z", host);

    } else {
        ngx_sprintf(name, "backup-%s-%ud.key%Z", host, port);
    }

    /* made by someone else between the read and the create: read again */

    for (tries = 0; tries < 2; tries++) {
        rc = st->account_read(st, (char *) name, &file, &err);

        if (rc == NGX_OK) {
            key = lc_acme_account_key_load((char *) file.data, file.len);

            ngx_explicit_memzero(file.data, file.len);
            ngx_free(file.data);

            if (key == NULL) {
                ngx_log_error(NGX_LOG_EMERG, log, 0,
                              "linkcert: the ACME account key \"%s\" holds "
                              "no usable P-256 key (left untouched)", name);
            }

            return key;
        }

        if (rc != NGX_DECLINED) {
            ngx_log_error(NGX_LOG_EMERG, log, 0,
                          "linkcert: the ACME account key \"%s\": %s",
                          name, err.detail);
            return NULL;
        }

        key = lc_acme_account_key_new();
        if (key == NULL) {
            return NULL;
        }

        pem = lc_acme_account_key_pem(key, &len);

        rc = pem ? st->account_create(st, (char *) name, pem, len, log)
                 : NGX_ERROR;

        if (pem) {
            ngx_explicit_memzero(pem, len);
            free(pem);
        }

        if (rc == NGX_OK) {
            ngx_log_error(NGX_LOG_NOTICE, log, 0,
                          "linkcert: created the ACME account key \"%s\" "
                          "for \"%V\"", name, ca->directory);
            return key;
        }

        EVP_PKEY_free(key);

        if (rc != NGX_DECLINED) {
            return NULL;
        }
    }

    return NULL;
}


void
ngx_http_linkcert_acme_account_done(ngx_http_linkcert_acme_job_t *job)
{
    ngx_log_error(NGX_LOG_NOTICE, ngx_http_linkcert_acme->log, 0,
                  "linkcert: ACME account ready: %s", job->ca->account.kid);

    job->ca->ready = 1;
    job->ca->account_failures = 0;
    job->ca->account_job = NULL;
    ngx_http_linkcert_acme_free(job);
}


/*
 * A failed setup is tried again later (lc_lifecycle_account_retry());
 * meanwhile the CA's orders fail with its error, or go to the other CA.
 */

void
ngx_http_linkcert_acme_account_failed(ngx_http_linkcert_acme_job_t *job,
    const lc_error_t *err, int transient, time_t retry_after)
{
    time_t                        delay;
    ngx_http_linkcert_acme_ca_t  *ca;

    ca = job->ca;
    ca->account_failures++;
    delay = lc_lifecycle_account_retry((unsigned) ca->account_failures,
                                       transient, retry_after);

    lc_error_set_name(&ca->account_error, err->type,
                      "the ACME account could not be set up: %s",
                      err->detail);

    ngx_log_error(NGX_LOG_ERR, ngx_http_linkcert_acme->log, 0,
                  "linkcert: ACME account setup at \"%V\" failed: %s "
                  "(%s), retrying in %T s",
                  ca->directory, err->detail, err->type, delay);

    ngx_add_timer(&ca->account_retry, (ngx_msec_t) delay * 1000);

    ca->account_job = NULL;
    ngx_http_linkcert_acme_free(job);
}


static void
ngx_http_linkcert_acme_account_retry(ngx_event_t *ev)
{
    ngx_http_linkcert_acme_wanted();
}


/*
 * The fleet's account key: this edge's offered, sealed (never in the
 * clear), the one Redis keeps taken.  NGX_OK: asked; otherwise the
 * setup waits for a retry as a failed one does.
 */

static ngx_int_t
ngx_http_linkcert_acme_account_share(ngx_http_linkcert_acme_ca_t *ca)
{
    char                            *pem;
    size_t                           len, lens[2];
    u_char                          *sealed;
    const char                      *argv[2];
    lc_error_t                       err;
    ngx_http_linkcert_redis_conf_t  *rcf;
    u_char                           hash[SHA256_DIGEST_LENGTH],
                                     name[2 * SHA256_DIGEST_LENGTH + 1],
                                     key[NGX_HTTP_LINKCERT_REDIS_KEY_MAX];

    rcf = ngx_http_linkcert_redis_fleet();
    sealed = NULL;

    pem = lc_acme_account_key_pem(ca->account.key, &len);

    if (pem) {
        sealed = ngx_alloc(len + LC_SEAL_OVERHEAD, ngx_cycle->log);

        if (sealed
            && lc_seal(rcf->key, (char *) ca->directory->data,
                       ca->directory->len, (u_char *) pem, len, sealed)
               != 0)
        {
            ngx_free(sealed);
            sealed = NULL;
        }

        ngx_explicit_memzero(pem, len);
        free(pem);
    }

    if (sealed == NULL) {
        lc_error_set(&err, LC_ERR_ENGINE_UNREACHABLE, "the ACME account key "
                     "could not be sealed for the fleet");
        ngx_http_linkcert_acme_account_unshared(ca, &err);
        return NGX_ERROR;
    }

    SHA256(ca->directory->data, ca->directory->len, hash);
    *ngx_hex_dump(name, hash, sizeof(hash)) = '\0';

    argv[0] = (char *) key;
    lens[0] = ngx_http_linkcert_redis_name(key, "account:", (char *) name,
                                           2 * SHA256_DIGEST_LENGTH);
    argv[1] = (char *) sealed;
    lens[1] = len + LC_SEAL_OVERHEAD;

    ca->account_req = ngx_http_linkcert_redis_eval(
                          &ngx_http_linkcert_account_lua, 2, argv, lens,
                          ngx_http_linkcert_acme_account_shared, ca);
    ngx_free(sealed);

    if (ca->account_req == NULL) {
        lc_error_set(&err, LC_ERR_ENGINE_UNREACHABLE, "Redis did not answer: "
                     "the fleet's ACME account key is not known");
        ngx_http_linkcert_acme_account_unshared(ca, &err);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_linkcert_acme_account_shared(void *data, redisReply *reply,
    const char *error)
{
    ngx_http_linkcert_acme_ca_t *ca = data;

    lc_error_t  err;

    if (ngx_http_linkcert_acme == NULL) {
        return;
    }

    ca->account_req = NULL;

    if (reply == NULL || reply->type != REDIS_REPLY_STRING) {
        lc_error_set(&err, LC_ERR_ENGINE_UNREACHABLE, "Redis did not answer: "
                     "the fleet's ACME account key is not known (%s)",
                     reply && reply->type == REDIS_REPLY_ERROR
                     ? reply->str : (error ? error : "no key"));
        ngx_http_linkcert_acme_account_unshared(ca, &err);
        return;
    }

    if (ngx_http_linkcert_acme_account_open(ca, reply, &err) != NGX_OK) {
        ngx_http_linkcert_acme_account_unshared(ca, &err);
        return;
    }

    ca->account_shared = 1;

    (void) ngx_http_linkcert_acme_start(LC_ACME_ACCOUNT, ca, NULL, 0, NULL);
}


/* the sealed key Redis holds becomes the CA's account key */

static ngx_int_t
ngx_http_linkcert_acme_account_open(ngx_http_linkcert_acme_ca_t *ca,
    redisReply *reply, lc_error_t *err)
{
    u_char                          *pem;
    size_t                           len;
    EVP_PKEY                        *key, *old;
    ngx_http_linkcert_redis_conf_t  *rcf;

    rcf = ngx_http_linkcert_redis_fleet();

    if (rcf == NULL || reply->len < LC_SEAL_OVERHEAD) {
        lc_error_set(err, LC_ERR_ENGINE_UNREACHABLE, "the fleet's ACME "
                     "account key in Redis is not a sealed key");
        return NGX_ERROR;
    }

    pem = ngx_alloc(reply->len, ngx_cycle->log);
    if (pem == NULL) {
        lc_error_set(err, LC_ERR_ENGINE_UNREACHABLE, "no memory");
        return NGX_ERROR;
    }

    key = NULL;

    if (lc_unseal(rcf->key, (char *) ca->directory->data, ca->directory->len,
                  (u_char *) reply->str, reply->len, pem, &len)
        == 0)
    {
        key = lc_acme_account_key_load((char *) pem, len);
        ngx_explicit_memzero(pem, len);
    }

    ngx_free(pem);

    if (key == NULL) {
        lc_error_set(err, LC_ERR_ENGINE_UNREACHABLE, "the fleet's ACME "
                     "account key does not open with linkcert_redis_key");
        return NGX_ERROR;
    }

    if (EVP_PKEY_eq(key, ca->account.key) == 1) {
        ngx_log_error(NGX_LOG_NOTICE, ngx_http_linkcert_acme->log, 0,
                      "linkcert: the ACME account key for \"%V\" is the "
                      "fleet's (this edge's)", ca->directory);
        EVP_PKEY_free(key);
        return NGX_OK;
    }

    old = ca->account.key;

    if (lc_acme_account_init(&ca->account, key, (char *) ca->directory->data)
        != 0)
    {
        ca->account.key = old;
        EVP_PKEY_free(key);
        lc_error_set(err, LC_ERR_ENGINE_UNREACHABLE, "the fleet's ACME "
                     "account key cannot be used");
        return NGX_ERROR;
    }

    EVP_PKEY_free(old);

    ngx_log_error(NGX_LOG_NOTICE, ngx_http_linkcert_acme->log, 0,
                  "linkcert: the ACME account key for \"%V\" is the "
                  "fleet's (another edge's)", ca->directory);

    return NGX_OK;
}


/* no key from the fleet: orders wait, the setup is tried again soon */

static void
ngx_http_linkcert_acme_account_unshared(ngx_http_linkcert_acme_ca_t *ca,
    const lc_error_t *err)
{
    time_t  delay;

    ca->account_failures++;
    delay = lc_lifecycle_account_retry((unsigned) ca->account_failures, 1,
                                       0);
    ca->account_error = *err;

    ngx_log_error(NGX_LOG_ERR, ngx_http_linkcert_acme->log, 0,
                  "linkcert: ACME account setup at \"%V\" failed: %s "
                  "(%s), retrying in %T s",
                  ca->directory, err->detail, err->type, delay);

    ngx_add_timer(&ca->account_retry, (ngx_msec_t) delay * 1000);
}
