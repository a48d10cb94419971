
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: one record of the fleet applied on this edge.
 *
 * A certificate's record (ngx_http_linkcert_redis_cert.c writes it) is
 * opened with linkcert_redis_key, its info taken from the record (or the
 * pair parsed and checked), and the pair written into the store and put
 * into the zone; or only put into the zone (a lazy catch-up: the zone
 * serves it, its files come later); or only written (the files of such a
 * domain: the filler, a handshake's fetch).  A removal's record takes
 * the domain out.  The changes are read, and these called, by
 * ngx_http_linkcert_redis_apply.c; a handshake's fetch by
 * ngx_http_linkcert_redis_lazy.c.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert_redis.h"
#include "lc_fleet_info.h"


typedef ngx_http_linkcert_redis_change_t  ngx_http_linkcert_sync_entry_t;


static ngx_int_t ngx_http_linkcert_sync_lazy(
    ngx_http_linkcert_sync_entry_t *e, lc_record_t *rec, ngx_uint_t same,
    ngx_uint_t again);
static ngx_uint_t ngx_http_linkcert_redis_record_later(
    ngx_http_linkcert_main_conf_t *lmcf, ngx_http_linkcert_sync_entry_t *e,
    redisReply *reply, redisReply *edge, ngx_log_t *log);
static ngx_uint_t ngx_http_linkcert_redis_record_mine(
    ngx_http_linkcert_main_conf_t *lmcf, ngx_http_linkcert_sync_entry_t *e,
    redisReply *reply);
static ngx_int_t ngx_http_linkcert_sync_store(
    ngx_http_linkcert_main_conf_t *lmcf, ngx_http_linkcert_sync_entry_t *e,
    ngx_str_t *chain, redisReply *key, redisReply *info, ngx_uint_t again,
    ngx_log_t *log);
static ngx_int_t ngx_http_linkcert_sync_check(
    ngx_http_linkcert_sync_entry_t *e, ngx_str_t *chain, u_char *plain,
    size_t len, redisReply *info, lc_cert_info_t *out, ngx_log_t *log);


/*
 * A record the fleet sent back (the refusal of this edge's late write):
 * applied as a change read from the fleet is, even if this edge serves
 * that certificate already.
 */

ngx_int_t
ngx_http_linkcert_redis_apply(ngx_http_linkcert_main_conf_t *lmcf,
    const char *name, size_t len, uint64_t seq, redisReply *record,
    ngx_log_t *log)
{
    ngx_http_linkcert_sync_entry_t  e;

    ngx_memzero(&e, sizeof(ngx_http_linkcert_sync_entry_t));
    ngx_memcpy(e.name, name, len);
    e.len = len;
    e.seq = seq;

    return ngx_http_linkcert_redis_record_apply(lmcf, &e, record, 1, log);
}


/*
 * The files of a domain the zone serves from a lazy catch-up, from its
 * record (a handshake's fetch in any worker; the filler's batches call
 * record_apply): written if the zone still has that very certificate
 * without its files, else nothing.  NGX_AGAIN: written in a thread,
 * e->written(e, rc) is called when that is over (e kept until then).
 */

ngx_int_t
ngx_http_linkcert_redis_apply_fill(ngx_http_linkcert_main_conf_t *lmcf,
    ngx_http_linkcert_redis_change_t *e, redisReply *record, ngx_log_t *log)
{
    redisReply  *seq;

    e->mode = NGX_HTTP_LINKCERT_APPLY_FILL;

    seq = ngx_http_linkcert_redis_field(record, "seq");
    if (seq) {
        e->seq = (uint64_t) ngx_atoof((u_char *) seq->str, seq->len);
    }

    return ngx_http_linkcert_redis_record_apply(lmcf, e, record, 0, log);
}


/*
 * NGX_OK: applied, or nothing to apply (this edge's own change, the same
 * certificate, unless again: a record sent back or asked for, applied even
 * if it is this edge's own); NGX_DECLINED: a record that cannot be
 * applied, skipped (logged); NGX_ERROR: to be tried again (the store
 * could not be written).
 */

ngx_int_t
ngx_http_linkcert_redis_record_apply(ngx_http_linkcert_main_conf_t *lmcf,
    ngx_http_linkcert_sync_entry_t *e, redisReply *reply, ngx_uint_t again,
    ngx_log_t *log)
{
    ngx_int_t                        rc;
    ngx_str_t                        chain;
    ngx_uint_t                       composed;
    redisReply                      *edge, *key, *info;
    ngx_http_linkcert_redis_conf_t  *rcf;
    static lc_record_t               rec;

    rcf = ngx_http_linkcert_redis_fleet();

    edge = ngx_http_linkcert_redis_field(reply, "edge");

    if (edge == NULL) {
        return NGX_DECLINED;        /* gone since: a later change says */
    }

    /* the filler writes what the zone has: a removal was applied there */

    if (e->mode == NGX_HTTP_LINKCERT_APPLY_FILL
        && ngx_http_linkcert_redis_field(reply, "removed"))
    {
        return NGX_OK;
    }

    if (!again
        && e->mode != NGX_HTTP_LINKCERT_APPLY_FILL
        && (size_t) edge->len == rcf->edge.len
        && ngx_strncmp(edge->str, rcf->edge.data, rcf->edge.len) == 0
        && ngx_http_linkcert_redis_record_mine(lmcf, e, reply))
    {
        return NGX_OK;
    }

    if (ngx_http_linkcert_redis_field(reply, "removed")) {

        if (!again
            && ngx_http_linkcert_redis_record_later(lmcf, e, reply, edge, log))
        {
            return NGX_OK;
        }

        if (ngx_http_linkcert_table_remove(lmcf->shm_zone,
                                           (u_char *) e->name, e->len, &rec)
            == NGX_OK)
        {
            ngx_log_error(NGX_LOG_NOTICE, log, 0,
                          "linkcert: \"%s\" %s/%s -> removed by edge "
                          "\"%*s\"", e->name, lc_status_name(rec.status),
                          lc_stage_name(rec.stage), (size_t) edge->len,
                          edge->str);
        }

        (void) ngx_http_linkcert_store_remove(&lmcf->store,
                                              (u_char *) e->name, e->len,
                                              log);
        return NGX_OK;
    }

    key = ngx_http_linkcert_redis_field(reply, "key");

    if (key == NULL || (size_t) key->len <= LC_SEAL_OVERHEAD) {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "linkcert: the fleet's record of \"%s\" is incomplete",
                      e->name);
        return NGX_DECLINED;
    }

    /* the whole chain, or its leaf and the CA's intermediates (logged) */

    rc = ngx_http_linkcert_redis_issuer_chain(reply, e->name, &chain, log);

    if (rc == NGX_DECLINED || rc == NGX_ERROR) {
        return rc;
    }

    info = ngx_http_linkcert_redis_field(reply, "info");

    composed = (rc == NGX_DONE);

    rc = ngx_http_linkcert_sync_store(lmcf, e, &chain, key, info, again, log);

    if (composed) {
        ngx_free(chain.data);       /* a thread writing it has its copy */
    }

    return rc;
}


/*
 * This edge's own change has nothing to apply here when the edge knows
 * the domain (its zone has it, or a change of it waits for Redis) or the
 * change is a removal.  An edge back with an empty store under the same
 * name (a server rebuilt) knows nothing of it: it applies its own former
 * certificates as any other edge's.
 */

static ngx_uint_t
ngx_http_linkcert_redis_record_mine(ngx_http_linkcert_main_conf_t *lmcf,
    ngx_http_linkcert_sync_entry_t *e, redisReply *reply)
{
    static lc_record_t  rec;

    return ngx_http_linkcert_redis_field(reply, "removed") != NULL
           || ngx_http_linkcert_table_get(lmcf->shm_zone, (u_char *) e->name,
                                          e->len, &rec)
              == NGX_OK
           || ngx_http_linkcert_redis_pending_has(e->name);
}


/*
 * A removal written before this edge answered the CRM's "Verify domain"
 * of the domain (a DELETE on another edge, then a POST here before the
 * removal was applied): the POST, the CRM's last word, stands.  The
 * domain is kept, and its certificate, if this edge serves one, written
 * to the fleet again (as a change Redis missed is), so that every edge
 * serves it again.  Compared by the clocks (ms): Redis's when the removal
 * was written, this edge's when the POST was answered.  Not for a record
 * sent back (this edge's write refused by the removal's fence): the
 * removal wins there.
 */

static ngx_uint_t
ngx_http_linkcert_redis_record_later(ngx_http_linkcert_main_conf_t *lmcf,
    ngx_http_linkcert_sync_entry_t *e, redisReply *reply, redisReply *edge,
    ngx_log_t *log)
{
    redisReply         *at;
    static lc_record_t  rec;

    at = ngx_http_linkcert_redis_field(reply, "at");

    if (at == NULL) {
        return 0;
    }

    if (!ngx_http_linkcert_table_posted_since(lmcf->shm_zone,
                                              (u_char *) e->name, e->len,
                                              (uint64_t) ngx_atoof(
                                                  (u_char *) at->str,
                                                  at->len),
                                              &rec))
    {
        return 0;
    }

    ngx_log_error(NGX_LOG_NOTICE, log, 0,
                  "linkcert: \"%s\" %s/%s kept: POSTed here after its "
                  "removal by edge \"%*s\"%s", e->name,
                  lc_status_name(rec.status), lc_stage_name(rec.stage),
                  (size_t) edge->len, edge->str,
                  rec.has_cert ? ", its certificate written to the fleet "
                                  "again" : "");

    if (rec.has_cert) {
        ngx_http_linkcert_redis_pending_add(e->name, 0, 0, log);
        ngx_http_linkcert_redis_pending_flush();
    }

    return 1;
}


static ngx_int_t
ngx_http_linkcert_sync_store(ngx_http_linkcert_main_conf_t *lmcf,
    ngx_http_linkcert_sync_entry_t *e, ngx_str_t *chain, redisReply *key,
    redisReply *info, ngx_uint_t again, ngx_log_t *log)
{
    size_t                           len;
    u_char                          *plain;
    ngx_int_t                        rc, carried;
    ngx_uint_t                       same;
    ngx_http_linkcert_loaded_t       loaded;
    ngx_http_linkcert_redis_conf_t  *rcf;
    static lc_record_t               rec;

    rcf = ngx_http_linkcert_redis_fleet();

    plain = ngx_alloc(key->len, log);
    if (plain == NULL) {
        return NGX_ERROR;
    }

    if (lc_unseal(rcf->key, e->name, e->len, (unsigned char *) key->str,
                  key->len, plain, &len)
        != 0)
    {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "linkcert: the fleet's key of \"%s\" does not open "
                      "with linkcert_redis_key: not the same key file on "
                      "every edge?", e->name);
        ngx_free(plain);
        return NGX_DECLINED;
    }

    rc = NGX_DECLINED;

    ngx_memzero(&loaded, sizeof(ngx_http_linkcert_loaded_t));

    carried = ngx_http_linkcert_sync_check(e, chain, plain, len, info,
                                           &loaded.info, log);
    if (carried == NGX_ERROR) {
        goto done;
    }

    /* this edge has it already: its files are not written again */

    same = (ngx_http_linkcert_table_get(lmcf->shm_zone, (u_char *) e->name,
                                        e->len, &rec)
            == NGX_OK
            && rec.has_cert
            && ngx_memcmp(rec.cert.sha256, loaded.info.sha256, 32) == 0);

    rc = ngx_http_linkcert_sync_lazy(e, &rec, same, again);

    if (rc == NGX_OK) {
        goto done;
    }

    if (rc == NGX_AGAIN && e->written) {

        /* the files of a lazy domain, written in a thread if there is one */

        rc = ngx_http_linkcert_redis_lazy_write(lmcf, e, plain, len, chain,
                                                &loaded.info, carried, log);
        if (rc != NGX_DECLINED) {
            goto done;
        }

        rc = NGX_AGAIN;
    }

    /* a batch's pairs are synced together (sync_next), a refusal's now */

    if (rc == NGX_AGAIN
        && ngx_http_linkcert_store_publish(&lmcf->store, e->name,
                                           (char *) plain, len,
                                           (char *) chain->data, chain->len,
                                           again, log)
           != NGX_OK)
    {
        rc = NGX_ERROR;
        goto done;
    }

    rc = ngx_http_linkcert_redis_record_serve(lmcf, e, &loaded.info, same,
                                              carried, log);

done:

    ngx_explicit_memzero(plain, key->len);
    ngx_free(plain);

    return rc;
}


/*
 * The pair (written, or not for a lazy catch-up) goes into the zone as the
 * loader puts one: NGX_OK, or NGX_DECLINED when there is no room.
 */

ngx_int_t
ngx_http_linkcert_redis_record_serve(ngx_http_linkcert_main_conf_t *lmcf,
    ngx_http_linkcert_redis_change_t *e, lc_cert_info_t *info,
    ngx_uint_t same, ngx_int_t carried, ngx_log_t *log)
{
    ngx_int_t                   rc;
    ngx_uint_t                  level;
    ngx_http_linkcert_loaded_t  loaded;

    ngx_memzero(&loaded, sizeof(ngx_http_linkcert_loaded_t));

    loaded.ok = 1;
    loaded.fleet = 1;
    loaded.info = *info;
    loaded.stamp = (e->mode == NGX_HTTP_LINKCERT_APPLY_LAZY)
                   ? 0
                   : ngx_http_linkcert_store_domain_stamp(&lmcf->store,
                                                          e->name);

    /* the fleet has its status object already (the issuing edge's) */
    ngx_http_linkcert_redis_status_hold(1);
    rc = ngx_http_linkcert_table_loaded(lmcf->shm_zone,
                                        (u_char *) e->name, e->len, &loaded,
                                        0);
    ngx_http_linkcert_redis_status_hold(0);

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "linkcert: the fleet's certificate of \"%s\" stored "
                      "but not served: no room in the zone", e->name);
        return NGX_DECLINED;
    }

    level = (e->mode == NGX_HTTP_LINKCERT_APPLY_FILL) ? NGX_LOG_INFO
                                                      : NGX_LOG_NOTICE;

    ngx_log_error(level, log, 0,
                  "linkcert: \"%s\" certificate from the fleet (change "
                  "%uL) %s (%s)", e->name, e->seq,
                  e->mode == NGX_HTTP_LINKCERT_APPLY_FILL
                      ? "stored, served already"
                      : e->mode == NGX_HTTP_LINKCERT_APPLY_LAZY
                          ? "served, its files written later"
                          : same ? "served" : "stored and served",
                  carried == NGX_OK ? "its info carried" : "parsed");

    return NGX_OK;
}


/*
 * What becomes of a pair: NGX_AGAIN, written into the store and put into
 * the zone; NGX_DONE, put into the zone only (a lazy catch-up's, its
 * files written later); NGX_OK, nothing (the zone has it, with its files
 * or, for the filler, without them and they are not its business).
 */

static ngx_int_t
ngx_http_linkcert_sync_lazy(ngx_http_linkcert_sync_entry_t *e,
    lc_record_t *rec, ngx_uint_t same, ngx_uint_t again)
{
    ngx_uint_t  lazy;

    lazy = same && rec->store_stamp == 0;      /* served, files not yet */

    switch (e->mode) {

    case NGX_HTTP_LINKCERT_APPLY_FILL:
        return lazy ? NGX_AGAIN : NGX_OK;

    case NGX_HTTP_LINKCERT_APPLY_LAZY:
        return (same && !again) ? NGX_OK : NGX_DONE;

    default:
        if (same && !lazy) {
            return again ? NGX_DONE : NGX_OK;
        }

        return NGX_AGAIN;
    }
}


/*
 * The pair's info: carried by the record (written by the edge that
 * parsed and checked the pair, sealed, for this very chain and key, and
 * valid now), NGX_OK; else the pair parsed and checked here as the loader
 * does, NGX_DECLINED; NGX_ERROR: not to be served (logged).  A handshake
 * that loads the pair parses and checks it in any case (the store's
 * cache miss), so a chain that does not hold is never served.
 */

static ngx_int_t
ngx_http_linkcert_sync_check(ngx_http_linkcert_sync_entry_t *e,
    ngx_str_t *chain, u_char *plain, size_t len, redisReply *info,
    lc_cert_info_t *out, ngx_log_t *log)
{
    time_t                           now;
    lc_cert_t                       *cert;
    lc_error_t                       err;
    const char                      *reason;
    ngx_http_linkcert_redis_conf_t  *rcf;

    rcf = ngx_http_linkcert_redis_fleet();
    now = ngx_time();

    if (info) {
        if (lc_fleet_info_open(rcf->key, e->name, e->len,
                               (unsigned char *) info->str, info->len,
                               (char *) chain->data, chain->len,
                               (char *) plain, len,
                               out, &reason)
            != 0)
        {
            ngx_log_error(NGX_LOG_WARN, log, 0,
                          "linkcert: the fleet's info of \"%s\" (change "
                          "%uL) not used: %s; the pair is parsed and "
                          "checked", e->name, e->seq, reason);

        } else if (now >= out->not_before && now <= out->not_after) {
            return NGX_OK;
        }
    }

    cert = lc_cert_parse((char *) chain->data, chain->len, (char *) plain,
                         len, &err);

    if (cert == NULL
        || lc_cert_check(cert, e->name, now, &err) != 0
        || lc_cert_info(cert, out) != 0)
    {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "linkcert: the fleet's certificate of \"%s\" not "
                      "served: %s (%s)", e->name, err.detail, err.type);
        lc_cert_free(cert);
        return NGX_ERROR;
    }

    lc_cert_free(cert);

    return NGX_DECLINED;
}
