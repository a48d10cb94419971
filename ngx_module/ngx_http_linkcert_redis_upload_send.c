
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: one domain of the upload's pass (ngx_http_linkcert_redis_
 * upload.c): its pair as the store has it, sealed and sent to the fleet
 * by a script that compares again, or the fleet's newer one applied here.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert_redis.h"
#include "ngx_http_linkcert_table.h"
#include "ngx_http_linkcert_redis_upload.h"


static ngx_int_t ngx_http_linkcert_upload_script(
    ngx_http_linkcert_upload_entry_t *e, ngx_http_linkcert_file_t *chain,
    u_char *sealed, size_t sealed_len, u_char *info, size_t info_len,
    lc_cert_info_t *ci, lc_record_t *rec);
static void ngx_http_linkcert_upload_sent(void *data, redisReply *reply,
    const char *error);
static void ngx_http_linkcert_upload_taken(void *data, redisReply *reply,
    const char *error);


/*
 * A certificate uploaded, if it still wins: the change as an issuing
 * edge writes it (ngx_http_linkcert_redis_cert.c), with the status
 * object.  KEYS: seq, cert:<domain>, changes, status:<domain>, domains,
 * issuer:<the intermediates' name>; ARGV: the domain, the edge, the
 * chain or its leaf, the sealed key, the sealed info ('': none),
 * notAfter, serial, the status object, the last change this edge
 * applied, the intermediates' name ('': the whole chain) and PEM (written
 * again if Redis lost them).  The change's number, or 0: not written.
 */

static char  ngx_http_linkcert_upload_lua[] =
    NGX_HTTP_LINKCERT_REDIS_SEQ_LUA
    NGX_HTTP_LINKCERT_UPLOAD_WINS
    NGX_HTTP_LINKCERT_REDIS_PAIR_LUA
    "local cur = redis.call('HMGET', KEYS[2], "
    "                       " NGX_HTTP_LINKCERT_UPLOAD_CUR ") "
    "if wins(cur, ARGV[6], ARGV[7], tonumber(ARGV[9])) ~= 1 then "
    "  return 0 "
    "end "
    "local seq = next_seq(KEYS[1]) "
    "redis.call('DEL', KEYS[2]) "
    "redis.call('HSET', KEYS[2], 'seq', seq, 'edge', ARGV[2], "
    "           'key', ARGV[4], 'not_after', ARGV[6], 'serial', ARGV[7]) "
    "pair(KEYS[2], KEYS[6], ARGV[3], ARGV[10], ARGV[11]) "
    "if ARGV[5] ~= '' then "
    "  redis.call('HSET', KEYS[2], 'info', ARGV[5]) "
    "end "
    "redis.call('ZADD', KEYS[3], seq, ARGV[1]) "
    "redis.call('SET', KEYS[4], ARGV[8]) "
    "redis.call('ZADD', KEYS[5], 0, ARGV[1]) "
    "redis.call('PUBLISH', KEYS[3], seq .. ' ' .. ARGV[1]) "
    "return seq";


/*
 * The domain's pair as the store has it, to the fleet.  NGX_DECLINED:
 * not to be uploaded (gone since, expired; logged).
 */

ngx_int_t
ngx_http_linkcert_upload_send(ngx_http_linkcert_upload_t *up,
    lc_record_t *rec)
{
    u_char                            *sealed, info[LC_FLEET_INFO_SEALED];
    size_t                             info_len;
    ngx_int_t                          rc;
    lc_cert_info_t                     ci;
    ngx_http_linkcert_file_t           chain, key;
    ngx_http_linkcert_upload_entry_t  *e;
    ngx_http_linkcert_redis_conf_t    *rcf;

    rcf = ngx_http_linkcert_redis_fleet();

    e = ngx_http_linkcert_upload_entry(up, rec);
    if (e == NULL) {
        return NGX_ERROR;
    }

    rc = ngx_http_linkcert_redis_store_file(&up->lmcf->store,
                                            (u_char *) e->name, e->len,
                                            "fullchain.pem", &chain);
    if (rc != NGX_OK) {
        ngx_free(e);
        return NGX_DECLINED;            /* gone since, or logged */
    }

    rc = ngx_http_linkcert_redis_store_file(&up->lmcf->store,
                                            (u_char *) e->name, e->len,
                                            "privkey.pem", &key);
    if (rc != NGX_OK) {
        ngx_free(chain.data);
        ngx_free(e);
        return NGX_DECLINED;
    }

    sealed = ngx_alloc(key.len + LC_SEAL_OVERHEAD, up->log);

    info_len = ngx_http_linkcert_redis_cert_info(e->name, e->len,
                                                 (char *) key.data, key.len,
                                                 (char *) chain.data,
                                                 chain.len, info, &ci,
                                                 up->log);
    rc = NGX_ERROR;

    if (info_len == 0 || ci.not_after <= ngx_time()) {
        ngx_log_error(NGX_LOG_WARN, up->log, 0,
                      "linkcert: \"%s\" not uploaded to redis: its pair in "
                      "the store does not parse or has expired", e->name);
        rc = NGX_DECLINED;

    } else if (sealed
               && lc_seal(rcf->key, e->name, e->len, key.data, key.len,
                          sealed)
                  == 0)
    {
        rc = ngx_http_linkcert_upload_script(e, &chain, sealed,
                                             key.len + LC_SEAL_OVERHEAD,
                                             info, info_len, &ci, rec);
        e = (rc == NGX_OK) ? NULL : e;
    }

    ngx_explicit_memzero(key.data, key.len);
    ngx_free(key.data);
    ngx_free(chain.data);
    ngx_free(sealed);
    ngx_free(e);

    return rc;
}


static ngx_int_t
ngx_http_linkcert_upload_script(ngx_http_linkcert_upload_entry_t *e,
    ngx_http_linkcert_file_t *chain, u_char *sealed, size_t sealed_len,
    u_char *info, size_t info_len, lc_cert_info_t *ci, lc_record_t *rec)
{
    char                            *status;
    u_char                           seq[NGX_HTTP_LINKCERT_REDIS_KEY_MAX],
                                     record[NGX_HTTP_LINKCERT_REDIS_KEY_MAX],
                                     changes[NGX_HTTP_LINKCERT_REDIS_KEY_MAX],
                                     skey[NGX_HTTP_LINKCERT_REDIS_KEY_MAX],
                                     domains[NGX_HTTP_LINKCERT_REDIS_KEY_MAX],
                                     not_after[NGX_TIME_T_LEN],
                                     serial[2 * LC_SERIAL_MAX],
                                     applied[NGX_INT64_LEN];
    size_t                           lens[20], status_len;
    const char                      *argv[20];
    ngx_http_linkcert_redis_req_t   *req;
    ngx_http_linkcert_redis_pair_t   pair;
    ngx_http_linkcert_redis_conf_t  *rcf;

    rcf = ngx_http_linkcert_redis_fleet();

    ngx_http_linkcert_redis_issuer_split((char *) chain->data, chain->len,
                                         &pair);

    status = lc_json_dump(lc_status_full_json(rec), &status_len);
    if (status == NULL) {
        return NGX_ERROR;
    }

    argv[0] = "EVAL";
    lens[0] = 4;
    argv[1] = ngx_http_linkcert_upload_lua;
    lens[1] = sizeof(ngx_http_linkcert_upload_lua) - 1;
    argv[2] = "6";
    lens[2] = 1;
    argv[3] = (char *) seq;
    lens[3] = ngx_http_linkcert_redis_name(seq, "seq", NULL, 0);
    argv[4] = (char *) record;
    lens[4] = ngx_http_linkcert_redis_name(record, "cert:", e->name, e->len);
    argv[5] = (char *) changes;
    lens[5] = ngx_http_linkcert_redis_name(changes, "changes", NULL, 0);
    argv[6] = (char *) skey;
    lens[6] = ngx_http_linkcert_redis_name(skey, "status:", e->name, e->len);
    argv[7] = (char *) domains;
    lens[7] = ngx_http_linkcert_redis_name(domains, "domains", NULL, 0);
    argv[9] = e->name;
    lens[9] = e->len;
    argv[10] = (char *) rcf->edge.data;
    lens[10] = rcf->edge.len;
    argv[12] = (char *) sealed;
    lens[12] = sealed_len;
    argv[13] = (char *) info;
    lens[13] = info_len;
    argv[14] = (char *) not_after;
    argv[15] = (char *) serial;
    lens[14] = ngx_http_linkcert_redis_cert_rank(ci, not_after, serial,
                                                 &lens[15]);
    argv[16] = status;
    lens[16] = status_len;
    argv[17] = (char *) applied;
    lens[17] = ngx_sprintf(applied, "%uL", ngx_http_linkcert_redis_applied())
               - applied;
    ngx_http_linkcert_redis_issuer_argv(&pair, (char *) chain->data, argv,
                                        lens, 8, 11, 18);

    req = ngx_http_linkcert_redis_command(20, argv, lens,
                                          ngx_http_linkcert_upload_sent, e);
    free(status);

    if (req == NULL) {
        return NGX_ERROR;
    }

    e->up->pending++;

    return NGX_OK;
}


static void
ngx_http_linkcert_upload_sent(void *data, redisReply *reply,
    const char *error)
{
    ngx_http_linkcert_upload_entry_t *e = data;

    ngx_http_linkcert_upload_t  *up;

    up = e->up;

    if (ngx_http_linkcert_upload != up) {
        ngx_free(e);
        return;
    }

    if (reply && reply->type == REDIS_REPLY_INTEGER && reply->integer > 0) {
        ngx_log_error(NGX_LOG_NOTICE, up->log, 0,
                      "linkcert: \"%s\" uploaded to redis from this edge's "
                      "store, change %L", e->name, (int64_t) reply->integer);
        up->sent++;

    } else if (reply && reply->type == REDIS_REPLY_INTEGER) {
        up->kept++;                     /* a newer one came meanwhile */

    } else {
        ngx_log_error(NGX_LOG_WARN, up->log, 0,
                      "linkcert: \"%s\" not uploaded to redis: %*s", e->name,
                      reply ? (size_t) reply->len : ngx_strlen(error),
                      reply ? reply->str : error);
        up->failed = 1;
    }

    ngx_free(e);

    ngx_http_linkcert_upload_done(up);
}


/* the fleet's newer certificate of the domain, applied here */

ngx_int_t
ngx_http_linkcert_upload_take(ngx_http_linkcert_upload_t *up,
    lc_record_t *rec)
{
    ngx_http_linkcert_upload_entry_t *e;

    e = ngx_http_linkcert_upload_entry(up, rec);
    if (e == NULL) {
        return NGX_ERROR;
    }

    /* the record with the CA's intermediates */

    if (ngx_http_linkcert_redis_record_get(e->name, e->len,
                                           ngx_http_linkcert_upload_taken, e)
        != NGX_OK)
    {
        ngx_free(e);
        return NGX_ERROR;
    }

    up->pending++;

    return NGX_OK;
}


static void
ngx_http_linkcert_upload_taken(void *data, redisReply *reply,
    const char *error)
{
    ngx_http_linkcert_upload_entry_t *e = data;

    redisReply                  *seq;
    ngx_http_linkcert_upload_t  *up;

    up = e->up;

    if (ngx_http_linkcert_upload != up) {
        ngx_free(e);
        return;
    }

    seq = (reply && reply->type == REDIS_REPLY_ARRAY)
          ? ngx_http_linkcert_redis_field(reply, "seq") : NULL;

    if (seq) {
        ngx_log_error(NGX_LOG_NOTICE, up->log, 0,
                      "linkcert: \"%s\": the fleet's certificate is newer "
                      "than this edge's store's: the fleet's is applied",
                      e->name);
        (void) ngx_http_linkcert_redis_apply(up->lmcf, e->name, e->len,
                                (uint64_t) ngx_atoof((u_char *) seq->str,
                                                     seq->len),
                                reply, up->log);
        up->taken++;

    } else if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        up->failed = 1;
    }

    ngx_free(e);

    ngx_http_linkcert_upload_done(up);
}
