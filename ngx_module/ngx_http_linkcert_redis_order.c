
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the order being worked on, kept in Redis, so that the edge
 * that takes a domain's lease after its holder died goes on with the
 * same ACME order instead of placing a second one.
 *
 * The lease holder writes the order each time its saved text changes
 * (lc_acme_save(): the CA, the order's URL and the certificate's key),
 * and the request that follows waits until Redis has it; a write is
 * refused unless the writer still holds the domain's lease.  With it
 * goes the ACME account the order belongs to (its URL and key): until
 * the edges share one account, the next holder goes on under the
 * order's own.  Both texts hold a private key: they are sealed (lc_seal,
 * under linkcert_redis_key), the order's with the domain's name as its
 * label, the account's key with the account's URL.  The next holder
 * reads the record when it has taken the lease; the holder deletes it
 * (if it still holds the lease) when the order ends.
 *
 * In Redis, under the prefix:
 *     order:<domain>   hash: edge, account (the account's URL), order
 *                      (sealed), account_key (sealed); expires after
 *                      7 days, an order's life at Let's Encrypt
 *     orders           sorted set: each domain with an order kept,
 *                      scored by the end of its lease when it was
 *                      written (ms, Redis's clock), written and removed
 *                      with the order in the same script; read by
 *                      ngx_http_linkcert_redis_orphan.c
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert_redis.h"


#define NGX_HTTP_LINKCERT_ORDER_TTL    "604800000"       /* ms: 7 days */


static void ngx_http_linkcert_redis_order_written(void *data,
    redisReply *reply, const char *error);
static void ngx_http_linkcert_redis_order_read(void *data, redisReply *reply,
    const char *error);
static ngx_int_t ngx_http_linkcert_redis_order_open(
    ngx_http_linkcert_redis_order_t *o, redisReply *reply,
    ngx_http_linkcert_redis_order_rec_t *rec);
static u_char *ngx_http_linkcert_redis_order_unseal(redisReply *sealed,
    const char *label, size_t label_len, size_t *len);
static void ngx_http_linkcert_redis_order_deleted(void *data,
    redisReply *reply, const char *error);
static ngx_http_linkcert_redis_req_t *ngx_http_linkcert_redis_order_eval(
    const char *script, size_t script_len, const char *domain,
    u_char *value, size_t value_len, int argc, const char **argv,
    size_t *lens, ngx_http_linkcert_redis_handler_pt handler, void *data);


/*
 * KEYS[1] the lease, KEYS[2] the order, KEYS[3] the set of orders under
 * way (ngx_http_linkcert_redis_orphan.c); ARGV[1] the lease's value,
 * ARGV[2] the domain, then the fields.  1 when written (the domain in
 * the set, scored by its lease's end on Redis's clock), 0 when the
 * lease is not the writer's.
 */

static char  ngx_http_linkcert_redis_order_put_lua[] =
    "if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end "
    "redis.call('del', KEYS[2]) "
    "redis.call('hset', KEYS[2], 'edge', ARGV[3], 'account', ARGV[4], "
    "           'order', ARGV[5], 'account_key', ARGV[6]) "
    "redis.call('pexpire', KEYS[2], ARGV[7]) "
    "local t = redis.call('time') "
    "redis.call('zadd', KEYS[3], tonumber(t[1]) * 1000 "
    "           + math.floor(tonumber(t[2]) / 1000) "
    "           + redis.call('pttl', KEYS[1]), ARGV[2]) "
    "return 1";

static char  ngx_http_linkcert_redis_order_del_lua[] =
    "if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end "
    "redis.call('zrem', KEYS[3], ARGV[2]) "
    "return redis.call('del', KEYS[2])";


/*
 * The order's saved text and its account, written under the lease.
 * NGX_DECLINED: no fleet or no lease, nothing to wait for; NGX_AGAIN:
 * o->handler is called with NGX_OK (written), NGX_DECLINED (the lease is
 * no longer this edge's) or NGX_ERROR (no answer); NGX_ERROR: not sent.
 */

ngx_int_t
ngx_http_linkcert_redis_order_put(ngx_http_linkcert_redis_order_t *o,
    ngx_http_linkcert_state_lease_t *lease, const char *saved, size_t len,
    lc_acme_account_t *acct)
{
    char                            *pem;
    u_char                          *value, *sealed, *sealed_key;
    size_t                           lens[13], pem_len, value_len, kid_len;
    ngx_int_t                        rc;
    const char                      *argv[13];
    ngx_http_linkcert_redis_conf_t  *rcf;

    rcf = ngx_http_linkcert_redis_fleet();
    value = ngx_http_linkcert_lease_value(lease, &value_len);

    if (rcf == NULL || value == NULL) {
        return NGX_DECLINED;
    }

    pem = lc_acme_account_key_pem(acct->key, &pem_len);
    if (pem == NULL) {
        return NGX_ERROR;
    }

    rc = NGX_ERROR;
    kid_len = ngx_strlen(acct->kid);

    sealed = ngx_alloc(len + LC_SEAL_OVERHEAD, ngx_cycle->log);
    sealed_key = ngx_alloc(pem_len + LC_SEAL_OVERHEAD, ngx_cycle->log);

    if (sealed == NULL || sealed_key == NULL
        || lc_seal(rcf->key, o->domain, ngx_strlen(o->domain),
                   (const u_char *) saved, len, sealed)
           != 0
        || lc_seal(rcf->key, acct->kid, kid_len, (const u_char *) pem,
                   pem_len, sealed_key)
           != 0)
    {
        goto done;
    }

    argv[8] = (char *) rcf->edge.data;
    lens[8] = rcf->edge.len;
    argv[9] = acct->kid;
    lens[9] = kid_len;
    argv[10] = (char *) sealed;
    lens[10] = len + LC_SEAL_OVERHEAD;
    argv[11] = (char *) sealed_key;
    lens[11] = pem_len + LC_SEAL_OVERHEAD;
    argv[12] = NGX_HTTP_LINKCERT_ORDER_TTL;
    lens[12] = sizeof(NGX_HTTP_LINKCERT_ORDER_TTL) - 1;

    o->req = ngx_http_linkcert_redis_order_eval(
                 ngx_http_linkcert_redis_order_put_lua,
                 sizeof(ngx_http_linkcert_redis_order_put_lua) - 1,
                 o->domain, value, value_len, 13, argv, lens,
                 ngx_http_linkcert_redis_order_written, o);

    rc = o->req ? NGX_AGAIN : NGX_ERROR;

done:

    OPENSSL_cleanse(pem, pem_len);
    free(pem);

    if (sealed) {
        ngx_free(sealed);
    }

    if (sealed_key) {
        ngx_free(sealed_key);
    }

    if (rc == NGX_ERROR) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "linkcert: the order of \"%s\" not sent to redis",
                      o->domain);
    }

    return rc;
}


static void
ngx_http_linkcert_redis_order_written(void *data, redisReply *reply,
    const char *error)
{
    ngx_http_linkcert_redis_order_t *o = data;

    o->req = NULL;

    if (reply && reply->type == REDIS_REPLY_INTEGER) {

        if (reply->integer == 1) {
            o->handler(o->data, NGX_OK, NULL);
            return;
        }

        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "linkcert: the order of \"%s\" not written to redis: "
                      "this edge no longer holds its lease", o->domain);
        o->handler(o->data, NGX_DECLINED, NULL);
        return;
    }

    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                  "linkcert: the order of \"%s\" not written to redis: %*s",
                  o->domain,
                  reply ? (size_t) reply->len : ngx_strlen(error),
                  reply ? reply->str : error);

    o->handler(o->data, NGX_ERROR, NULL);
}


/*
 * The order kept for the domain, read by a new holder of its lease.
 * NGX_DECLINED: no fleet; NGX_AGAIN: o->handler is called with NGX_OK
 * and the record opened, or NULL when there is none (or it does not
 * open: logged), or NGX_ERROR (no answer); NGX_ERROR: not sent.
 */

ngx_int_t
ngx_http_linkcert_redis_order_get(ngx_http_linkcert_redis_order_t *o)
{
    u_char       key[NGX_HTTP_LINKCERT_REDIS_KEY_MAX];
    size_t       lens[2];
    const char  *argv[2];

    if (ngx_http_linkcert_redis_fleet() == NULL) {
        return NGX_DECLINED;
    }

    argv[0] = "HGETALL";
    lens[0] = 7;
    argv[1] = (char *) key;
    lens[1] = ngx_http_linkcert_redis_name(key, "order:", o->domain,
                                           ngx_strlen(o->domain));

    o->req = ngx_http_linkcert_redis_command(2, argv, lens,
                                           ngx_http_linkcert_redis_order_read,
                                           o);

    return o->req ? NGX_AGAIN : NGX_ERROR;
}


static void
ngx_http_linkcert_redis_order_read(void *data, redisReply *reply,
    const char *error)
{
    ngx_http_linkcert_redis_order_t *o = data;

    ngx_int_t                            rc;
    ngx_http_linkcert_redis_order_rec_t  rec;

    o->req = NULL;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "linkcert: the order of \"%s\" not read from redis: "
                      "%*s", o->domain,
                      reply ? (size_t) reply->len : ngx_strlen(error),
                      reply ? reply->str : error);
        o->handler(o->data, NGX_ERROR, NULL);
        return;
    }

    ngx_memzero(&rec, sizeof(ngx_http_linkcert_redis_order_rec_t));

    rc = ngx_http_linkcert_redis_order_open(o, reply, &rec);

    o->handler(o->data, NGX_OK, rc == NGX_OK ? &rec : NULL);

    if (rec.saved) {
        ngx_explicit_memzero(rec.saved, rec.saved_len);
        ngx_free(rec.saved);
    }

    if (rec.account_key) {
        ngx_explicit_memzero(rec.account_key, rec.account_key_len);
        ngx_free(rec.account_key);
    }
}


static ngx_int_t
ngx_http_linkcert_redis_order_open(ngx_http_linkcert_redis_order_t *o,
    redisReply *reply, ngx_http_linkcert_redis_order_rec_t *rec)
{
    redisReply  *edge, *kid, *order, *key;

    edge = ngx_http_linkcert_redis_field(reply, "edge");
    kid = ngx_http_linkcert_redis_field(reply, "account");
    order = ngx_http_linkcert_redis_field(reply, "order");
    key = ngx_http_linkcert_redis_field(reply, "account_key");

    if (order == NULL) {
        return NGX_DECLINED;
    }

    if (edge == NULL || kid == NULL || key == NULL
        || kid->len == 0 || kid->len >= LC_ACME_URL_MAX)
    {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "linkcert: the order of \"%s\" in redis is "
                      "incomplete: not resumed", o->domain);
        return NGX_DECLINED;
    }

    rec->saved = ngx_http_linkcert_redis_order_unseal(order, o->domain,
                                                      ngx_strlen(o->domain),
                                                      &rec->saved_len);
    rec->account_key = ngx_http_linkcert_redis_order_unseal(key, kid->str,
                                                   (size_t) kid->len,
                                                   &rec->account_key_len);

    if (rec->saved == NULL || rec->account_key == NULL) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "linkcert: the order of \"%s\" in redis does not open "
                      "with linkcert_redis_key: not the same key file on "
                      "every edge?  Not resumed", o->domain);
        return NGX_DECLINED;
    }

    ngx_memcpy(rec->kid, kid->str, kid->len);
    rec->kid[kid->len] = '\0';

    ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                  "linkcert: \"%s\" has an order kept in redis by edge "
                  "\"%*s\", account %s", o->domain, (size_t) edge->len,
                  edge->str, rec->kid);

    return NGX_OK;
}


static u_char *
ngx_http_linkcert_redis_order_unseal(redisReply *sealed, const char *label,
    size_t label_len, size_t *len)
{
    u_char                          *plain;
    ngx_http_linkcert_redis_conf_t  *rcf;

    rcf = ngx_http_linkcert_redis_fleet();

    if (rcf == NULL || (size_t) sealed->len <= LC_SEAL_OVERHEAD) {
        return NULL;
    }

    plain = ngx_alloc(sealed->len, ngx_cycle->log);
    if (plain == NULL) {
        return NULL;
    }

    if (lc_unseal(rcf->key, label, label_len, (u_char *) sealed->str,
                  sealed->len, plain, len)
        != 0)
    {
        ngx_free(plain);
        return NULL;
    }

    return plain;
}


/* the order has ended: its record goes, if this edge holds the lease */

void
ngx_http_linkcert_redis_order_del(const char *domain,
    ngx_http_linkcert_state_lease_t *lease)
{
    u_char                          *value;
    size_t                           lens[8], value_len;
    const char                      *argv[8];

    value = ngx_http_linkcert_lease_value(lease, &value_len);

    if (ngx_http_linkcert_redis_fleet() == NULL || value == NULL) {
        return;
    }

    (void) ngx_http_linkcert_redis_order_eval(
               ngx_http_linkcert_redis_order_del_lua,
               sizeof(ngx_http_linkcert_redis_order_del_lua) - 1, domain,
               value, value_len, 8, argv, lens,
               ngx_http_linkcert_redis_order_deleted, NULL);
}


static void
ngx_http_linkcert_redis_order_deleted(void *data, redisReply *reply,
    const char *error)
{
    if (reply && reply->type == REDIS_REPLY_INTEGER) {
        return;
    }

    ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                  "linkcert: an order was not deleted from redis (it "
                  "expires): %*s",
                  reply ? (size_t) reply->len : ngx_strlen(error),
                  reply ? reply->str : error);
}


void
ngx_http_linkcert_redis_order_cancel(ngx_http_linkcert_redis_order_t *o)
{
    if (o->req) {
        ngx_http_linkcert_redis_cancel(o->req);
        o->req = NULL;
    }
}


/*
 * EVAL of one of the scripts above: KEYS <prefix>lease:<domain>,
 * <prefix>order:<domain> and <prefix>orders, ARGV[1] the lease's value
 * and ARGV[2] the domain (argv[0..7]), then the caller's argv[8..].
 */

static ngx_http_linkcert_redis_req_t *
ngx_http_linkcert_redis_order_eval(const char *script, size_t script_len,
    const char *domain, u_char *value, size_t value_len, int argc,
    const char **argv, size_t *lens,
    ngx_http_linkcert_redis_handler_pt handler, void *data)
{
    u_char  lease[NGX_HTTP_LINKCERT_REDIS_KEY_MAX],
            order[NGX_HTTP_LINKCERT_REDIS_KEY_MAX],
            orders[NGX_HTTP_LINKCERT_REDIS_KEY_MAX];
    size_t  len;

    len = ngx_strlen(domain);

    argv[0] = "EVAL";
    lens[0] = 4;
    argv[1] = script;
    lens[1] = script_len;
    argv[2] = "3";
    lens[2] = 1;
    argv[3] = (char *) lease;
    lens[3] = ngx_http_linkcert_redis_name(lease, "lease:", domain, len);
    argv[4] = (char *) order;
    lens[4] = ngx_http_linkcert_redis_name(order, "order:", domain, len);
    argv[5] = (char *) orders;
    lens[5] = ngx_http_linkcert_redis_name(orders, "orders", NULL, 0);
    argv[6] = (char *) value;
    lens[6] = value_len;
    argv[7] = domain;
    lens[7] = len;

    return ngx_http_linkcert_redis_command(argc, argv, lens, handler, data);
}
