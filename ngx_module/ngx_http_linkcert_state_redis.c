
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the state boundary's fleet implementation ("linkcert_redis").
 *
 * The local implementation stays underneath, as this edge's copy: reads
 * and the account keys are its own, and every write goes to it too.
 * What the fleet shares goes to Redis besides:
 *
 *     lease_take      the zone's claim, then the domain's lease in Redis
 *                     (ngx_http_linkcert_lease.c), whose fencing token is
 *                     the lease's fence; renewed by the lease itself
 *     lease_release,  the lease in Redis let go (compare-and-delete) and,
 *     lease_end       for a release, the domain given back to the table
 *     save            the change to Redis first, fenced by the lease
 *                     (ngx_http_linkcert_redis_cert.c), then the local
 *                     save: a stale certificate never reaches the store
 *     remove          the local removal, then the removal's change
 *     challenge_set   the zone, then Redis, answered once Redis has it
 *     challenge_del   both
 *     lease_take      (after the lease) the order its former holder kept
 *                     in Redis becomes the local saved order, or none
 *     order_write     the local file, then the order kept in Redis under
 *                     the lease (ngx_http_linkcert_redis_order.c),
 *                     answered once Redis has it
 *     order_drop      both
 *
 * A save refused in Redis (another edge took the lease since) answers
 * NGX_DECLINED with lease->error saying so, and this edge then applies
 * the fleet's record (the change's answer carries it).  A save Redis did
 * not answer is made locally if the lease is still held as far as this
 * edge knows (the change is not written to the fleet: logged), refused
 * otherwise.
 *
 * The HTTP-01 responder's question to Redis for a token the zone does
 * not know waits on the network, which challenge_get never does: the
 * responder asks it itself (ngx_http_linkcert_redis_challenge_get()).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert.h"
#include "ngx_http_linkcert_state.h"
#include "ngx_http_linkcert_redis.h"


typedef struct {
    ngx_http_linkcert_main_conf_t      *lmcf;
    ngx_http_linkcert_state_t          *local;
} ngx_http_linkcert_fleet_t;


/* an order read from Redis (lease_take) or written (order_write) */
typedef struct {
    ngx_http_linkcert_state_t          *st;
    ngx_http_linkcert_state_lease_t    *lease;
    ngx_http_linkcert_state_handler_pt  handler;
    void                               *data;
    ngx_log_t                          *log;
    uint64_t                            fence;
    ngx_http_linkcert_redis_order_t     order;
    char                                name[LC_DOMAIN_MAX + 1];
} ngx_http_linkcert_fleet_op_t;


/* a save waiting for Redis */
typedef struct {
    ngx_http_linkcert_state_t          *st;
    ngx_http_linkcert_state_lease_t    *lease;
    ngx_http_linkcert_state_handler_pt  handler;
    void                               *data;
    ngx_log_t                          *log;
    size_t                              key_len;
    size_t                              chain_len;
    u_char                             *key;
    u_char                             *chain;
    char                                name[LC_DOMAIN_MAX + 1];
} ngx_http_linkcert_fleet_save_t;


static lc_cert_t *ngx_http_linkcert_fleet_read_cert(
    ngx_http_linkcert_state_t *st, u_char *name, size_t len, lc_error_t *err,
    ngx_log_t *log);
static ngx_int_t ngx_http_linkcert_fleet_read_chain(
    ngx_http_linkcert_state_t *st, const char *name,
    ngx_http_linkcert_file_t *file);
static ngx_int_t ngx_http_linkcert_fleet_save(ngx_http_linkcert_state_t *st,
    ngx_http_linkcert_state_lease_t *lease, const char *name, const char *key,
    size_t key_len, const char *chain, size_t chain_len, uint64_t *version,
    ngx_http_linkcert_state_handler_pt h, void *data, ngx_log_t *log);
static void ngx_http_linkcert_fleet_sent(void *data, ngx_int_t rc,
    uint64_t value);
static ngx_int_t ngx_http_linkcert_fleet_saved(
    ngx_http_linkcert_fleet_save_t *s, ngx_int_t rc, uint64_t value,
    uint64_t *version);
static void ngx_http_linkcert_fleet_save_free(
    ngx_http_linkcert_fleet_save_t *s);
static void ngx_http_linkcert_fleet_remove(ngx_http_linkcert_state_t *st,
    u_char *name, size_t len, ngx_log_t *log);
static ngx_int_t ngx_http_linkcert_fleet_lease_take(
    ngx_http_linkcert_state_t *st, const char *name, uint32_t job_id,
    ngx_http_linkcert_state_lease_t *lease,
    ngx_http_linkcert_state_handler_pt h, void *data, ngx_log_t *log);
static void ngx_http_linkcert_fleet_lease_release(
    ngx_http_linkcert_state_t *st, const char *name,
    ngx_http_linkcert_state_lease_t *lease);
static void ngx_http_linkcert_fleet_lease_end(ngx_http_linkcert_state_t *st,
    const char *name, ngx_http_linkcert_state_lease_t *lease);
static ngx_int_t ngx_http_linkcert_fleet_challenge_set(
    ngx_http_linkcert_state_t *st, const char *domain, const char *token,
    const char *key_authorization, ngx_http_linkcert_state_handler_pt h,
    void *data, ngx_log_t *log);
static void ngx_http_linkcert_fleet_challenge_del(
    ngx_http_linkcert_state_t *st, const char *token);
static ngx_int_t ngx_http_linkcert_fleet_challenge_get(
    ngx_http_linkcert_state_t *st, ngx_str_t *domain, ngx_str_t *token,
    u_char *buf, size_t *len);
static ngx_int_t ngx_http_linkcert_fleet_order_read(
    ngx_http_linkcert_state_t *st, const char *name,
    ngx_http_linkcert_file_t *file);
static ngx_int_t ngx_http_linkcert_fleet_order_write(
    ngx_http_linkcert_state_t *st, ngx_http_linkcert_state_lease_t *lease,
    const char *name, const char *data, size_t len,
    lc_acme_account_t *account, ngx_http_linkcert_state_handler_pt h,
    void *hdata, ngx_log_t *log);
static void ngx_http_linkcert_fleet_order_kept(void *data, ngx_int_t rc,
    ngx_http_linkcert_redis_order_rec_t *rec);
static ngx_int_t ngx_http_linkcert_fleet_unkept(
    ngx_http_linkcert_state_lease_t *lease, const char *name, ngx_int_t rc,
    ngx_log_t *log);
static void ngx_http_linkcert_fleet_order_drop(ngx_http_linkcert_state_t *st,
    ngx_http_linkcert_state_lease_t *lease, const char *name, ngx_log_t *log);
static void ngx_http_linkcert_fleet_leased(void *data, ngx_int_t rc,
    uint64_t fence);
static ngx_uint_t ngx_http_linkcert_fleet_needless(
    ngx_http_linkcert_fleet_op_t *op);
static ngx_uint_t ngx_http_linkcert_fleet_superseded(
    ngx_http_linkcert_fleet_op_t *op);
static void ngx_http_linkcert_fleet_order_got(void *data, ngx_int_t rc,
    ngx_http_linkcert_redis_order_rec_t *rec);
static ngx_int_t ngx_http_linkcert_fleet_taken(
    ngx_http_linkcert_fleet_op_t *op, ngx_http_linkcert_redis_order_rec_t *rec);
static ngx_http_linkcert_fleet_op_t *ngx_http_linkcert_fleet_op(
    ngx_http_linkcert_state_t *st, ngx_http_linkcert_state_lease_t *lease,
    const char *name, ngx_http_linkcert_state_handler_pt h, void *data,
    ngx_log_t *log);
static void ngx_http_linkcert_fleet_op_done(ngx_http_linkcert_fleet_op_t *op,
    ngx_int_t rc);
static void ngx_http_linkcert_fleet_op_drop(
    ngx_http_linkcert_state_lease_t *lease);
static ngx_int_t ngx_http_linkcert_fleet_account_read(
    ngx_http_linkcert_state_t *st, const char *name,
    ngx_http_linkcert_file_t *file, lc_error_t *err);
static ngx_int_t ngx_http_linkcert_fleet_account_create(
    ngx_http_linkcert_state_t *st, const char *name, const char *pem,
    size_t len, ngx_log_t *log);


#define ngx_http_linkcert_fleet_local(st)                                    \
    (((ngx_http_linkcert_fleet_t *) (st)->data)->local)


ngx_http_linkcert_state_t *
ngx_http_linkcert_state_redis(ngx_conf_t *cf,
    ngx_http_linkcert_main_conf_t *lmcf, ngx_http_linkcert_state_t *local)
{
    ngx_http_linkcert_state_t  *st;
    ngx_http_linkcert_fleet_t  *fleet;

    st = ngx_pcalloc(cf->pool, sizeof(ngx_http_linkcert_state_t));
    fleet = ngx_pcalloc(cf->pool, sizeof(ngx_http_linkcert_fleet_t));

    if (st == NULL || fleet == NULL) {
        return NULL;
    }

    fleet->lmcf = lmcf;
    fleet->local = local;

    st->name = "redis";
    st->data = fleet;

    st->read_cert = ngx_http_linkcert_fleet_read_cert;
    st->read_chain = ngx_http_linkcert_fleet_read_chain;
    st->save = ngx_http_linkcert_fleet_save;
    st->remove = ngx_http_linkcert_fleet_remove;
    st->lease_take = ngx_http_linkcert_fleet_lease_take;
    st->lease_release = ngx_http_linkcert_fleet_lease_release;
    st->lease_end = ngx_http_linkcert_fleet_lease_end;
    st->challenge_set = ngx_http_linkcert_fleet_challenge_set;
    st->challenge_del = ngx_http_linkcert_fleet_challenge_del;
    st->challenge_get = ngx_http_linkcert_fleet_challenge_get;
    st->order_read = ngx_http_linkcert_fleet_order_read;
    st->order_write = ngx_http_linkcert_fleet_order_write;
    st->order_drop = ngx_http_linkcert_fleet_order_drop;
    st->account_read = ngx_http_linkcert_fleet_account_read;
    st->account_create = ngx_http_linkcert_fleet_account_create;

    return st;
}


static lc_cert_t *
ngx_http_linkcert_fleet_read_cert(ngx_http_linkcert_state_t *st,
    u_char *name, size_t len, lc_error_t *err, ngx_log_t *log)
{
    ngx_http_linkcert_state_t  *local = ngx_http_linkcert_fleet_local(st);

    return local->read_cert(local, name, len, err, log);
}


static ngx_int_t
ngx_http_linkcert_fleet_read_chain(ngx_http_linkcert_state_t *st,
    const char *name, ngx_http_linkcert_file_t *file)
{
    ngx_http_linkcert_state_t  *local = ngx_http_linkcert_fleet_local(st);

    return local->read_chain(local, name, file);
}


/*
 * The change to Redis first, fenced; the local save once Redis took it.
 * A process without the fleet's connection (none: a worker that is not
 * worker 0 never saves) saves locally.
 */

static ngx_int_t
ngx_http_linkcert_fleet_save(ngx_http_linkcert_state_t *st,
    ngx_http_linkcert_state_lease_t *lease, const char *name, const char *key,
    size_t key_len, const char *chain, size_t chain_len, uint64_t *version,
    ngx_http_linkcert_state_handler_pt h, void *data, ngx_log_t *log)
{
    ngx_int_t                        rc;
    ngx_http_linkcert_fleet_t       *fleet;
    ngx_http_linkcert_state_t       *local;
    ngx_http_linkcert_fleet_save_t  *s;

    fleet = st->data;
    local = fleet->local;

    if (ngx_http_linkcert_redis_fleet() == NULL) {
        return local->save(local, lease, name, key, key_len, chain,
                           chain_len, version, h, data, log);
    }

    /* a domain removed meanwhile goes to no one */

    if (ngx_http_linkcert_table_held(fleet->lmcf->shm_zone, (u_char *) name,
                                     ngx_strlen(name), lease->job_id)
        != NGX_OK)
    {
        return NGX_DECLINED;
    }

    s = ngx_calloc(sizeof(ngx_http_linkcert_fleet_save_t), log);
    if (s == NULL) {
        return NGX_ERROR;
    }

    s->key = ngx_alloc(key_len, log);
    s->chain = ngx_alloc(chain_len, log);

    if (s->key == NULL || s->chain == NULL) {
        ngx_http_linkcert_fleet_save_free(s);
        return NGX_ERROR;
    }

    s->st = st;
    s->lease = lease;
    s->handler = h;
    s->data = data;
    s->log = log;
    s->key_len = key_len;
    s->chain_len = chain_len;
    ngx_memcpy(s->key, key, key_len);
    ngx_memcpy(s->chain, chain, chain_len);
    ngx_cpystrn((u_char *) s->name, (u_char *) name, LC_DOMAIN_MAX + 1);

    rc = ngx_http_linkcert_redis_cert_put(fleet->lmcf, name, key, key_len,
                                          chain, chain_len,
                                          lease->held ? lease->fence : 0,
                                          ngx_http_linkcert_fleet_sent, s,
                                          log);
    if (rc == NGX_AGAIN) {
        return NGX_AGAIN;
    }

    /* not sent (logged): as if Redis had not answered */

    rc = ngx_http_linkcert_fleet_saved(s, NGX_ERROR, 0, version);

    ngx_http_linkcert_fleet_save_free(s);

    return rc;
}


static void
ngx_http_linkcert_fleet_sent(void *data, ngx_int_t rc, uint64_t value)
{
    ngx_http_linkcert_fleet_save_t *s = data;

    uint64_t  version;

    version = 0;

    rc = ngx_http_linkcert_fleet_saved(s, rc, value, &version);

    s->handler(s->data, rc, version);

    ngx_http_linkcert_fleet_save_free(s);
}


/*
 * What Redis said decides the local save: taken (the change is the
 * fleet's latest), or no answer while the lease is still this edge's as
 * far as it knows, the pair is saved locally; refused, or no answer once
 * the lease was lost, nothing is written (lease->error says why).
 *
 * Refused by the fence (another edge took the lease, or a DELETE
 * removed the domain, since this edge's lease), the job asks again in a
 * second, as one that finds the lease held.  That is safe: the record
 * the refusal sends back (the fleet's latest: the other edge's
 * certificate, or the removal) is applied here in the same turn, right
 * after this (ngx_http_linkcert_redis_cert_stale()), so the domain is
 * served and not due, or gone; with no record yet, the lease is another
 * edge's, waited for a second at a time; and a lease taken while the
 * fleet has a change this edge has not applied places no order
 * (ngx_http_linkcert_fleet_needless()).  Waiting a whole lease saved no
 * order; it only left the domain pending that long.
 */

static ngx_int_t
ngx_http_linkcert_fleet_saved(ngx_http_linkcert_fleet_save_t *s,
    ngx_int_t rc, uint64_t value, uint64_t *version)
{
    ngx_http_linkcert_state_t        *local;
    ngx_http_linkcert_redis_conf_t   *rcf;
    ngx_http_linkcert_state_lease_t  *lease;

    lease = s->lease;
    local = ngx_http_linkcert_fleet_local(s->st);
    rcf = ngx_http_linkcert_redis_fleet();

    lease->retry = rcf ? (time_t) ngx_max(rcf->lease / 1000, 1) : 1;

    if (rc == NGX_DECLINED) {
        lc_error_set(&lease->error, LC_ERR_FLEET_BUSY, "another edge took "
                     "the lease during this edge's order (stale fence %llu, "
                     "now %llu): its certificate was not stored",
                     (unsigned long long) lease->fence,
                     (unsigned long long) value);
        lease->retry = NGX_HTTP_LINKCERT_LEASE_WAIT;
        return NGX_DECLINED;
    }

    if (rc == NGX_ERROR && lease->held
        && !ngx_http_linkcert_lease_held(lease))
    {
        ngx_log_error(NGX_LOG_ERR, s->log, 0,
                      "linkcert: \"%s\": the lease was lost and redis did "
                      "not answer: the certificate is not stored", s->name);
        lc_error_set(&lease->error, LC_ERR_FLEET_BUSY, "the lease was lost "
                     "and Redis did not answer: this edge's certificate was "
                     "not stored");
        return NGX_DECLINED;
    }

    return local->save(local, lease, s->name, (char *) s->key, s->key_len,
                       (char *) s->chain, s->chain_len, version, NULL, NULL,
                       s->log);
}


static void
ngx_http_linkcert_fleet_save_free(ngx_http_linkcert_fleet_save_t *s)
{
    if (s->key) {
        ngx_explicit_memzero(s->key, s->key_len);
        ngx_free(s->key);
    }

    ngx_free(s->chain);
    ngx_free(s);
}


/*
 * DELETE: here; Redis has the removal already (the DELETE waited for it,
 * ngx_http_linkcert_redis_delete.c), and every edge follows it.
 */

static void
ngx_http_linkcert_fleet_remove(ngx_http_linkcert_state_t *st, u_char *name,
    size_t len, ngx_log_t *log)
{
    ngx_http_linkcert_state_t  *local = ngx_http_linkcert_fleet_local(st);

    local->remove(local, name, len, log);
}


/*
 * The zone's claim (the local lease), then the fleet's: its fencing
 * token is the lease's fence.
 */

static ngx_int_t
ngx_http_linkcert_fleet_lease_take(ngx_http_linkcert_state_t *st,
    const char *name, uint32_t job_id, ngx_http_linkcert_state_lease_t *lease,
    ngx_http_linkcert_state_handler_pt h, void *data, ngx_log_t *log)
{
    ngx_int_t                   rc;
    ngx_http_linkcert_state_t  *local = ngx_http_linkcert_fleet_local(st);

    ngx_http_linkcert_fleet_op_t  *op;

    rc = local->lease_take(local, name, job_id, lease, NULL, NULL, log);

    if (rc != NGX_OK || ngx_http_linkcert_redis_fleet() == NULL) {
        return rc;
    }

    op = ngx_http_linkcert_fleet_op(st, lease, name, h, data, log);
    if (op == NULL) {
        return NGX_ERROR;
    }

    rc = ngx_http_linkcert_lease_take(name, lease,
                                      ngx_http_linkcert_fleet_leased, op);
    if (rc != NGX_AGAIN) {
        ngx_http_linkcert_fleet_op_drop(lease);
    }

    return rc;
}


/*
 * The lease taken: the order its former holder kept in Redis (each of
 * its requests waited until Redis had it) becomes this edge's saved
 * order.  None there, an order saved here is one that ended since on
 * another edge (or whose first write did not reach Redis, before the CA
 * saw a key): it is dropped, not resumed.
 */

static void
ngx_http_linkcert_fleet_leased(void *data, ngx_int_t rc, uint64_t fence)
{
    ngx_http_linkcert_fleet_op_t *op = data;

    op->fence = fence;

    if (rc == NGX_OK && ngx_http_linkcert_fleet_needless(op)) {
        rc = NGX_DECLINED;
    }

    if (rc == NGX_OK) {
        op->order.handler = ngx_http_linkcert_fleet_order_got;

        rc = ngx_http_linkcert_redis_order_get(&op->order);

        if (rc == NGX_AGAIN) {
            return;
        }

        if (rc == NGX_ERROR) {
            ngx_http_linkcert_fleet_order_got(op, NGX_ERROR, NULL);
            return;
        }

        rc = NGX_OK;                    /* no fleet here */
    }

    ngx_http_linkcert_fleet_op_done(op, rc);
}


/*
 * The lease taken while the fleet holds a certificate of the domain
 * that another edge wrote and this edge has not applied yet (its change
 * came as the lease was freed, or is still being read), or applied only
 * since this job decided to order (the zone says issued/issued again):
 * the order is needless.  The lease is let go, the fleet's changes are
 * read now, and the job asks again in a second: by then the certificate
 * is applied (the domain is served and not due, a reissue asked for
 * fulfilled by it: lc_lifecycle.c), or, if it is due still, the next
 * lease finds the change applied and orders.
 */

static ngx_uint_t
ngx_http_linkcert_fleet_needless(ngx_http_linkcert_fleet_op_t *op)
{
    uint64_t  applied;

    applied = ngx_http_linkcert_redis_applied();

    if (op->lease->fleet_seq == 0
        || ngx_http_linkcert_worker0((ngx_cycle_t *) ngx_cycle) == NULL)
    {
        return 0;
    }

    if (op->lease->fleet_seq > applied) {
        ngx_log_error(NGX_LOG_NOTICE, op->log, 0,
                      "linkcert: \"%s\": the fleet has a certificate of it "
                      "(change %uL) that this edge has not applied yet (it "
                      "has up to change %uL): applied instead of ordered",
                      op->name, op->lease->fleet_seq, applied);

    } else if (ngx_http_linkcert_fleet_superseded(op)) {
        ngx_log_error(NGX_LOG_NOTICE, op->log, 0,
                      "linkcert: \"%s\": the fleet has a certificate of it "
                      "(change %uL) that this edge applied since it decided "
                      "to order: not ordered", op->name,
                      op->lease->fleet_seq);

    } else {
        return 0;
    }

    lc_error_set(&op->lease->error, LC_ERR_FLEET_BUSY, "the fleet has a "
                 "certificate of it from another edge (change %llu), "
                 "being applied here", (unsigned long long)
                 op->lease->fleet_seq);
    op->lease->retry = NGX_HTTP_LINKCERT_LEASE_WAIT;

    ngx_http_linkcert_lease_release(op->lease);
    ngx_http_linkcert_redis_cert_changed();

    return 1;
}


/*
 * An order is decided while the domain is ordering or renewing; the
 * fleet's certificate applied meanwhile makes it issued/issued again.
 */

static ngx_uint_t
ngx_http_linkcert_fleet_superseded(ngx_http_linkcert_fleet_op_t *op)
{
    ngx_http_linkcert_fleet_t  *fleet;
    static lc_record_t          rec;

    fleet = op->st->data;

    return ngx_http_linkcert_table_get(fleet->lmcf->shm_zone,
                                       (u_char *) op->name,
                                       ngx_strlen(op->name), &rec)
           == NGX_OK
           && rec.status == LC_STATUS_ISSUED
           && rec.stage == LC_STAGE_ISSUED;
}


static void
ngx_http_linkcert_fleet_order_got(void *data, ngx_int_t rc,
    ngx_http_linkcert_redis_order_rec_t *rec)
{
    ngx_http_linkcert_fleet_op_t *op = data;

    ngx_http_linkcert_state_t  *local = ngx_http_linkcert_fleet_local(op->st);

    if (rc == NGX_OK && rec == NULL) {
        local->order_drop(local, NULL, op->name, op->log);

    } else if (rc == NGX_OK) {
        rc = ngx_http_linkcert_fleet_taken(op, rec);

    } else {
        lc_error_set(&op->lease->error, LC_ERR_ENGINE_UNREACHABLE, "Redis "
                     "did not answer: the order kept there was not read");
        op->lease->retry = ngx_http_linkcert_lease_retry();
    }

    ngx_http_linkcert_fleet_op_done(op, rc);
}


/* the order read from Redis, saved here, and the account it is of */

static ngx_int_t
ngx_http_linkcert_fleet_taken(ngx_http_linkcert_fleet_op_t *op,
    ngx_http_linkcert_redis_order_rec_t *rec)
{
    ngx_http_linkcert_state_t          *local;
    ngx_http_linkcert_state_account_t  *acct;

    local = ngx_http_linkcert_fleet_local(op->st);

    if (local->order_write(local, NULL, op->name, (char *) rec->saved,
                           rec->saved_len, NULL, NULL, NULL, op->log)
        != NGX_OK)
    {
        lc_error_set(&op->lease->error, LC_ERR_STORE_WRITE, "the order kept "
                     "in Redis could not be saved to the store");
        op->lease->retry = ngx_http_linkcert_lease_retry();
        return NGX_ERROR;
    }

    acct = ngx_calloc(sizeof(ngx_http_linkcert_state_account_t), op->log);
    if (acct == NULL) {
        return NGX_OK;
    }

    acct->key = ngx_alloc(rec->account_key_len, op->log);
    if (acct->key == NULL) {
        ngx_free(acct);
        return NGX_OK;
    }

    ngx_memcpy(acct->key, rec->account_key, rec->account_key_len);
    acct->key_len = rec->account_key_len;
    ngx_cpystrn((u_char *) acct->kid, (u_char *) rec->kid,
                sizeof(acct->kid));

    op->lease->taken = acct;

    return NGX_OK;
}


static void
ngx_http_linkcert_fleet_lease_release(ngx_http_linkcert_state_t *st,
    const char *name, ngx_http_linkcert_state_lease_t *lease)
{
    ngx_http_linkcert_state_t  *local = ngx_http_linkcert_fleet_local(st);

    ngx_http_linkcert_fleet_op_drop(lease);
    ngx_http_linkcert_lease_release(lease);

    local->lease_release(local, name, lease);
}


static void
ngx_http_linkcert_fleet_lease_end(ngx_http_linkcert_state_t *st,
    const char *name, ngx_http_linkcert_state_lease_t *lease)
{
    ngx_http_linkcert_state_t  *local = ngx_http_linkcert_fleet_local(st);

    ngx_http_linkcert_fleet_op_drop(lease);
    ngx_http_linkcert_lease_release(lease);

    local->lease_end(local, name, lease);
}


/* the zone first (this edge answers at once), then the fleet's */

static ngx_int_t
ngx_http_linkcert_fleet_challenge_set(ngx_http_linkcert_state_t *st,
    const char *domain, const char *token, const char *key_authorization,
    ngx_http_linkcert_state_handler_pt h, void *data, ngx_log_t *log)
{
    ngx_int_t                   rc;
    ngx_http_linkcert_state_t  *local = ngx_http_linkcert_fleet_local(st);

    rc = local->challenge_set(local, domain, token, key_authorization, NULL,
                              NULL, log);
    if (rc != NGX_OK) {
        return rc;
    }

    return ngx_http_linkcert_redis_challenge_set(domain, token,
                                                 key_authorization, h, data);
}


static void
ngx_http_linkcert_fleet_challenge_del(ngx_http_linkcert_state_t *st,
    const char *token)
{
    ngx_http_linkcert_state_t  *local = ngx_http_linkcert_fleet_local(st);

    local->challenge_del(local, token);

    ngx_http_linkcert_redis_challenge_del(token);
}


static ngx_int_t
ngx_http_linkcert_fleet_challenge_get(ngx_http_linkcert_state_t *st,
    ngx_str_t *domain, ngx_str_t *token, u_char *buf, size_t *len)
{
    ngx_http_linkcert_state_t  *local = ngx_http_linkcert_fleet_local(st);

    return local->challenge_get(local, domain, token, buf, len);
}


static ngx_int_t
ngx_http_linkcert_fleet_order_read(ngx_http_linkcert_state_t *st,
    const char *name, ngx_http_linkcert_file_t *file)
{
    ngx_http_linkcert_state_t  *local = ngx_http_linkcert_fleet_local(st);

    return local->order_read(local, name, file);
}


/*
 * Here, then in Redis under the lease; the request that follows waits
 * for Redis.  Redis not answering, the order goes on while this edge
 * holds the lease as far as it knows (as a save does), not kept for a
 * takeover: an edge that took the lease meanwhile resumes the order as
 * Redis last had it, and this edge's certificate is refused by the fence.
 */

static ngx_int_t
ngx_http_linkcert_fleet_order_write(ngx_http_linkcert_state_t *st,
    ngx_http_linkcert_state_lease_t *lease, const char *name,
    const char *data, size_t len, lc_acme_account_t *account,
    ngx_http_linkcert_state_handler_pt h, void *hdata, ngx_log_t *log)
{
    ngx_int_t                      rc;
    ngx_http_linkcert_fleet_op_t  *op;
    ngx_http_linkcert_state_t     *local = ngx_http_linkcert_fleet_local(st);

    rc = local->order_write(local, NULL, name, data, len, NULL, NULL, NULL,
                            log);

    if (rc != NGX_OK || lease == NULL || account == NULL) {
        return rc;
    }

    op = ngx_http_linkcert_fleet_op(st, lease, name, h, hdata, log);
    if (op == NULL) {
        return NGX_ERROR;
    }

    op->order.handler = ngx_http_linkcert_fleet_order_kept;

    rc = ngx_http_linkcert_redis_order_put(&op->order, lease, data, len,
                                           account);
    if (rc == NGX_AGAIN) {
        return NGX_AGAIN;
    }

    ngx_http_linkcert_fleet_op_drop(lease);

    if (rc == NGX_DECLINED) {
        return NGX_OK;                  /* no fleet here, or no lease */
    }

    return ngx_http_linkcert_fleet_unkept(lease, name, rc, log);
}


static void
ngx_http_linkcert_fleet_order_kept(void *data, ngx_int_t rc,
    ngx_http_linkcert_redis_order_rec_t *rec)
{
    ngx_http_linkcert_fleet_op_t *op = data;

    if (rc != NGX_OK) {
        rc = ngx_http_linkcert_fleet_unkept(op->lease, op->name, rc, op->log);
    }

    ngx_http_linkcert_fleet_op_done(op, rc);
}


/*
 * Not kept: with no answer (NGX_ERROR), the order goes on while the lease
 * is held as far as this edge knows; refused, the lease is another's.
 */

static ngx_int_t
ngx_http_linkcert_fleet_unkept(ngx_http_linkcert_state_lease_t *lease,
    const char *name, ngx_int_t rc, ngx_log_t *log)
{
    if (rc == NGX_ERROR && ngx_http_linkcert_lease_held(lease)) {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "linkcert: \"%s\": its order goes on without being "
                      "kept in redis, while this edge holds the lease",
                      name);
        return NGX_OK;
    }

    lc_error_set(&lease->error, LC_ERR_FLEET_BUSY, "another edge of the "
                 "fleet is ordering it: this edge's lease ran out");
    lease->retry = NGX_HTTP_LINKCERT_LEASE_WAIT;

    return NGX_DECLINED;
}


/* the order ended: here, and in Redis if this edge holds the lease */

static void
ngx_http_linkcert_fleet_order_drop(ngx_http_linkcert_state_t *st,
    ngx_http_linkcert_state_lease_t *lease, const char *name, ngx_log_t *log)
{
    ngx_http_linkcert_state_t  *local = ngx_http_linkcert_fleet_local(st);

    local->order_drop(local, NULL, name, log);

    if (lease) {
        ngx_http_linkcert_redis_order_del(name, lease);
    }
}


static ngx_http_linkcert_fleet_op_t *
ngx_http_linkcert_fleet_op(ngx_http_linkcert_state_t *st,
    ngx_http_linkcert_state_lease_t *lease, const char *name,
    ngx_http_linkcert_state_handler_pt h, void *data, ngx_log_t *log)
{
    ngx_http_linkcert_fleet_op_t  *op;

    op = ngx_calloc(sizeof(ngx_http_linkcert_fleet_op_t), log);
    if (op == NULL) {
        return NULL;
    }

    op->st = st;
    op->lease = lease;
    op->handler = h;
    op->data = data;
    op->log = log;
    ngx_cpystrn((u_char *) op->name, (u_char *) name, LC_DOMAIN_MAX + 1);
    op->order.domain = op->name;
    op->order.data = op;

    lease->op = op;

    return op;
}


/* the operation answered: freed, then its caller told */

static void
ngx_http_linkcert_fleet_op_done(ngx_http_linkcert_fleet_op_t *op,
    ngx_int_t rc)
{
    void                                *data;
    uint64_t                             fence;
    ngx_http_linkcert_state_handler_pt   handler;

    handler = op->handler;
    data = op->data;
    fence = op->fence;

    op->lease->op = NULL;
    ngx_free(op);

    handler(data, rc, fence);
}


/* an operation under way dropped (the job ended), and an account taken */

static void
ngx_http_linkcert_fleet_op_drop(ngx_http_linkcert_state_lease_t *lease)
{
    ngx_http_linkcert_fleet_op_t  *op;

    op = lease->op;

    if (op) {
        ngx_http_linkcert_redis_order_cancel(&op->order);
        lease->op = NULL;
        ngx_free(op);
    }

    if (lease->taken) {
        ngx_explicit_memzero(lease->taken->key, lease->taken->key_len);
        ngx_free(lease->taken->key);
        ngx_free(lease->taken);
        lease->taken = NULL;
    }
}


static ngx_int_t
ngx_http_linkcert_fleet_account_read(ngx_http_linkcert_state_t *st,
    const char *name, ngx_http_linkcert_file_t *file, lc_error_t *err)
{
    ngx_http_linkcert_state_t  *local = ngx_http_linkcert_fleet_local(st);

    return local->account_read(local, name, file, err);
}


static ngx_int_t
ngx_http_linkcert_fleet_account_create(ngx_http_linkcert_state_t *st,
    const char *name, const char *pem, size_t len, ngx_log_t *log)
{
    ngx_http_linkcert_state_t  *local = ngx_http_linkcert_fleet_local(st);

    return local->account_create(local, name, pem, len, log);
}
