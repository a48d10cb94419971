
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: certificates across the fleet.  An edge that stores a
 * domain's certificate (issued or renewed by its ACME driver), or removes
 * a domain (DELETE), writes a change to Redis in one script: the next
 * number of the fleet's sequence, the domain's record, the domain in the
 * sorted set of changes with that number as its score, and a message on
 * the changes channel.  The private key goes sealed (lc_seal, under
 * linkcert_redis_key, the domain's name as its label), never in clear.
 * A certificate's change is fenced by the lease it was ordered under:
 * the script refuses it, writing nothing, when the domain's fence has
 * grown past the lease's (another edge took the lease since, or the
 * domain was DELETEd since: a removal grows the fence too), and sends
 * back the fleet's record, which this edge then applies.
 *
 * Worker 0 of every edge applies the others' changes: see
 * ngx_http_linkcert_redis_apply.c.
 *
 * In Redis, under the prefix:
 *     seq               the fleet's sequence of changes (INCR)
 *     changes           sorted set: domain -> the number of its last change
 *     cert:<domain>     hash: seq, edge, and leaf + issuer (the name of
 *                       the CA's intermediates, ngx_http_linkcert_redis_
 *                       issuer.c) or chain (no intermediates), key
 *                       (sealed) + info (sealed, lc_fleet_info.h); or
 *                       removed = 1 and at (when it was written: ms,
 *                       Redis's clock)
 *     issuer:<name>     the intermediates' PEM, written once (SET NX)
 *     status:<domain>   deleted with a removal (ngx_http_linkcert_redis_
 *                       status.c)
 *     fence:<domain>    the fencing tokens (ngx_http_linkcert_lease.c),
 *                       grown by a removal
 * and the channel <prefix>changes: "<seq> <domain>".
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert_redis.h"
#include "lc_domain.h"
#include "lc_fleet_info.h"


/* a change on its way to Redis */
typedef struct {
    ngx_http_linkcert_main_conf_t      *lmcf;
    ngx_http_linkcert_state_handler_pt  handler;     /* NULL: none waits */
    void                               *data;
    uint64_t                            fence;
    ngx_uint_t                          held;        /* a request waits:
                                                        nothing kept for
                                                        later */
    size_t                              len;
    char                                name[LC_DOMAIN_MAX + 1];
} ngx_http_linkcert_change_t;


static ngx_int_t ngx_http_linkcert_redis_cert_send(
    ngx_http_linkcert_change_t *ch, const char *chain, size_t chain_len,
    const u_char *sealed, size_t sealed_len, const u_char *info,
    size_t info_len, lc_cert_info_t *ci, ngx_log_t *log);
static void ngx_http_linkcert_redis_cert_sent(void *data, redisReply *reply,
    const char *error);
static void ngx_http_linkcert_redis_cert_stale(ngx_http_linkcert_change_t *ch,
    redisReply *reply);


/*
 * The fence first, then INCR, the record, ZADD, PUBLISH: one change, all
 * or nothing; a removal grows the fence, so that an order under way on
 * any edge cannot store the domain again.  KEYS: seq, cert:<domain>,
 * changes, status:<domain>, fence:<domain>, issuer:<the intermediates'
 * name>; ARGV: the domain, the edge, the chain or its leaf ('' for a
 * removal), the sealed key, the lease's fence ('': not fenced), the
 * sealed info ('': none), its notAfter and serial in clear ('': none;
 * ngx_http_linkcert_redis_upload.c compares certificates by them), the
 * intermediates' name ('': the whole chain) and PEM, the prefix.  The
 * change's number, or {the fence now, the record with its
 * intermediates} when refused.
 */

static char  ngx_http_linkcert_redis_cert_script[] =
    NGX_HTTP_LINKCERT_REDIS_SEQ_LUA
    NGX_HTTP_LINKCERT_REDIS_RECORD_LUA
    NGX_HTTP_LINKCERT_REDIS_PAIR_LUA
    "if ARGV[5] ~= '' then "
    "  local fence = tonumber(redis.call('GET', KEYS[5]) or '0') "
    "  if fence > tonumber(ARGV[5]) then "
    "    return {fence, record(KEYS[2], ARGV[11], #ARGV + 1)} "
    "  end "
    "end "
    "local seq = next_seq(KEYS[1]) "
    "redis.call('DEL', KEYS[2]) "
    "if ARGV[3] == '' then "
    "  local t = redis.call('TIME') "
    "  redis.call('HSET', KEYS[2], 'seq', seq, 'edge', ARGV[2], "
    "             'removed', '1', 'at', t[1] .. string.format('%03d', "
    "             math.floor(tonumber(t[2]) / 1000))) "
    "  redis.call('DEL', KEYS[4]) "
    "  next_fence(KEYS[5], KEYS[1]) "
    "else "
    "  redis.call('HSET', KEYS[2], 'seq', seq, 'edge', ARGV[2], "
    "             'key', ARGV[4]) "
    "  pair(KEYS[2], KEYS[6], ARGV[3], ARGV[9], ARGV[10]) "
    "  if ARGV[6] ~= '' then "
    "    redis.call('HSET', KEYS[2], 'info', ARGV[6]) "
    "  end "
    "  if ARGV[7] ~= '' then "
    "    redis.call('HSET', KEYS[2], 'not_after', ARGV[7], "
    "               'serial', ARGV[8]) "
    "  end "
    "end "
    "redis.call('ZADD', KEYS[3], seq, ARGV[1]) "
    "redis.call('PUBLISH', KEYS[3], seq .. ' ' .. ARGV[1]) "
    "return seq";




/*
 * A domain's new pair goes to the fleet, fenced by the lease it was
 * ordered under.  NGX_AGAIN: the handler follows with NGX_OK and the
 * change's number; NGX_DECLINED and the fence now, nothing written (a
 * lease was taken since), the fleet's record applied here once the
 * handler returns; NGX_ERROR, not written (logged).  NGX_ERROR at once:
 * not sent (logged), the handler is not called.
 */

ngx_int_t
ngx_http_linkcert_redis_cert_put(ngx_http_linkcert_main_conf_t *lmcf,
    const char *name, const char *key, size_t key_len, const char *chain,
    size_t chain_len, uint64_t fence,
    ngx_http_linkcert_state_handler_pt handler, void *data, ngx_log_t *log)
{
    u_char                          *sealed, info[LC_FLEET_INFO_SEALED];
    size_t                           info_len;
    ngx_int_t                        rc;
    lc_cert_info_t                   ci;
    ngx_http_linkcert_change_t      *ch;
    ngx_http_linkcert_redis_conf_t  *rcf;

    rcf = ngx_http_linkcert_redis_fleet();

    ch = ngx_calloc(sizeof(ngx_http_linkcert_change_t), log);
    sealed = ngx_alloc(key_len + LC_SEAL_OVERHEAD, log);

    if (rcf == NULL || ch == NULL || sealed == NULL) {
        ngx_free(ch);
        ngx_free(sealed);
        return NGX_ERROR;
    }

    ch->lmcf = lmcf;
    ch->handler = handler;
    ch->data = data;
    ch->fence = fence;
    ch->len = ngx_cpystrn((u_char *) ch->name, (u_char *) name,
                          LC_DOMAIN_MAX + 1)
              - (u_char *) ch->name;

    if (lc_seal(rcf->key, name, ch->len, (const unsigned char *) key,
                key_len, sealed)
        != 0)
    {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "linkcert: \"%s\" not sent to redis: sealing its key "
                      "failed", name);
        ngx_free(ch);
        ngx_free(sealed);
        return NGX_ERROR;
    }

    info_len = ngx_http_linkcert_redis_cert_info(name, ch->len, key, key_len,
                                                 chain, chain_len, info, &ci,
                                                 log);

    rc = ngx_http_linkcert_redis_cert_send(ch, chain, chain_len, sealed,
                                           key_len + LC_SEAL_OVERHEAD, info,
                                           info_len, &ci, log);
    ngx_free(sealed);

    return rc;
}


/*
 * DELETE: every edge removes the domain; not fenced.  With a handler (a
 * DELETE waiting, ngx_http_linkcert_redis_delete.c), NGX_AGAIN: the
 * handler follows with NGX_OK and the change's number, or NGX_ERROR (not
 * written, nothing kept for later); NGX_ERROR at once: not sent, the
 * handler is not called.  Without one, a removal Redis did not answer
 * is kept in redis-pending/ and written later.
 */

ngx_int_t
ngx_http_linkcert_redis_cert_remove(u_char *name, size_t len,
    ngx_http_linkcert_state_handler_pt handler, void *data, ngx_log_t *log)
{
    ngx_http_linkcert_change_t  *ch;

    if (ngx_http_linkcert_redis_fleet() == NULL || len > LC_DOMAIN_MAX) {
        return NGX_ERROR;
    }

    ch = ngx_calloc(sizeof(ngx_http_linkcert_change_t), log);
    if (ch == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(ch->name, name, len);
    ch->len = len;
    ch->handler = handler;
    ch->data = data;
    ch->held = (handler != NULL);

    return ngx_http_linkcert_redis_cert_send(ch, "", 0, (u_char *) "", 0,
                                             (u_char *) "", 0, NULL, log);
}


/*
 * What the other edges need to serve the pair without parsing it: its
 * info, sealed (lc_fleet_info.h), and in info the pair's (zeroed if it
 * does not parse).  The pair was checked before it was stored here; 0 (no
 * info: the others parse it) if it does not parse.
 */

size_t
ngx_http_linkcert_redis_cert_info(const char *name, size_t name_len,
    const char *key, size_t key_len, const char *chain, size_t chain_len,
    u_char *out, lc_cert_info_t *info, ngx_log_t *log)
{
    size_t                           len;
    lc_cert_t                       *cert;
    lc_error_t                       err;
    ngx_http_linkcert_redis_conf_t  *rcf;

    rcf = ngx_http_linkcert_redis_fleet();

    cert = lc_cert_parse(chain, chain_len, key, key_len, &err);

    if (cert == NULL
        || lc_cert_info(cert, info) != 0
        || lc_fleet_info_seal(rcf->key, name, name_len, info, chain,
                              chain_len, key, key_len, out, &len)
           != 0)
    {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "linkcert: \"%s\" sent to redis without its info: the "
                      "other edges parse the pair", name);
        ngx_memzero(info, sizeof(lc_cert_info_t));
        len = 0;
    }

    lc_cert_free(cert);

    return len;
}


/* NGX_AGAIN: sent, ch is the answer's; NGX_ERROR: not sent, ch freed */

static ngx_int_t
ngx_http_linkcert_redis_cert_send(ngx_http_linkcert_change_t *ch,
    const char *chain, size_t chain_len, const u_char *sealed,
    size_t sealed_len, const u_char *info, size_t info_len,
    lc_cert_info_t *ci, ngx_log_t *log)
{
    u_char                           seq[NGX_HTTP_LINKCERT_REDIS_KEY_MAX],
                                     record[NGX_HTTP_LINKCERT_REDIS_KEY_MAX],
                                     changes[NGX_HTTP_LINKCERT_REDIS_KEY_MAX],
                                     status[NGX_HTTP_LINKCERT_REDIS_KEY_MAX],
                                     fence[NGX_HTTP_LINKCERT_REDIS_KEY_MAX],
                                     token[NGX_INT64_LEN],
                                     not_after[NGX_TIME_T_LEN],
                                     serial[2 * LC_SERIAL_MAX];
    size_t                           lens[20];
    const char                      *argv[20];
    ngx_http_linkcert_redis_pair_t   pair;
    ngx_http_linkcert_redis_conf_t  *rcf;

    rcf = ngx_http_linkcert_redis_fleet();

    /* the CA's intermediates kept once, the record with the leaf only */
    ngx_http_linkcert_redis_issuer_split(chain, chain_len, &pair);

    argv[0] = "EVAL";
    lens[0] = 4;
    argv[1] = ngx_http_linkcert_redis_cert_script;
    lens[1] = sizeof(ngx_http_linkcert_redis_cert_script) - 1;
    argv[2] = "6";
    lens[2] = 1;
    argv[3] = (char *) seq;
    lens[3] = ngx_http_linkcert_redis_name(seq, "seq", NULL, 0);
    argv[4] = (char *) record;
    lens[4] = ngx_http_linkcert_redis_name(record, "cert:", ch->name,
                                           ch->len);
    argv[5] = (char *) changes;
    lens[5] = ngx_http_linkcert_redis_name(changes, "changes", NULL, 0);
    argv[6] = (char *) status;
    lens[6] = ngx_http_linkcert_redis_name(status, "status:", ch->name,
                                           ch->len);
    argv[7] = (char *) fence;
    lens[7] = ngx_http_linkcert_redis_name(fence, "fence:", ch->name,
                                           ch->len);
    argv[9] = ch->name;
    lens[9] = ch->len;
    argv[10] = (char *) rcf->edge.data;
    lens[10] = rcf->edge.len;
    argv[12] = (char *) sealed;
    lens[12] = sealed_len;
    argv[13] = (char *) token;
    lens[13] = ch->fence ? (size_t) (ngx_sprintf(token, "%uL", ch->fence)
                                     - token)
                         : 0;
    argv[14] = (char *) info;
    lens[14] = info_len;
    argv[15] = (char *) not_after;
    argv[16] = (char *) serial;
    lens[15] = ngx_http_linkcert_redis_cert_rank(ci, not_after, serial,
                                                 &lens[16]);
    ngx_http_linkcert_redis_issuer_argv(&pair, chain, argv, lens, 8, 11, 17);
    argv[19] = (char *) rcf->prefix.data;
    lens[19] = rcf->prefix.len;

    if (ngx_http_linkcert_redis_command(20, argv, lens,
                                        ngx_http_linkcert_redis_cert_sent,
                                        ch)
        == NULL)
    {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "linkcert: \"%s\" not sent to redis: no room",
                      ch->name);

        if (!ch->held) {
            ngx_http_linkcert_redis_pending_add(ch->name, ch->fence, 1, log);
        }

        ngx_free(ch);
        return NGX_ERROR;
    }

    return NGX_AGAIN;
}


static void
ngx_http_linkcert_redis_cert_sent(void *data, redisReply *reply,
    const char *error)
{
    ngx_http_linkcert_change_t *ch = data;

    ngx_int_t  rc;
    uint64_t   value;

    value = 0;

    if (reply && reply->type == REDIS_REPLY_INTEGER) {
        ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                      "linkcert: \"%s\" sent to redis, change %L", ch->name,
                      (int64_t) reply->integer);
        rc = NGX_OK;
        value = (uint64_t) reply->integer;

    } else if (reply && reply->type == REDIS_REPLY_ARRAY
               && reply->elements == 2
               && reply->element[0]->type == REDIS_REPLY_INTEGER
               && reply->element[1]->type == REDIS_REPLY_ARRAY)
    {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "linkcert: \"%s\": this edge's late write was "
                      "rejected: another edge took the domain's lease since "
                      "(stale fence %uL, now %L); not published, the "
                      "fleet's certificate stays", ch->name, ch->fence,
                      (int64_t) reply->element[0]->integer);
        rc = NGX_DECLINED;
        value = (uint64_t) reply->element[0]->integer;

    } else {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "linkcert: \"%s\" not sent to redis: %*s", ch->name,
                      reply && reply->type == REDIS_REPLY_ERROR
                      ? (size_t) reply->len : ngx_strlen(error ? error : ""),
                      reply && reply->type == REDIS_REPLY_ERROR
                      ? reply->str : (error ? error : "unexpected answer"));
        rc = NGX_ERROR;

        /* no answer: written when Redis is back, fenced as now */

        if (reply == NULL && !ch->held) {
            ngx_http_linkcert_redis_pending_add(ch->name, ch->fence, 1,
                                                ngx_cycle->log);
        }
    }

    if (ch->handler) {
        ch->handler(ch->data, rc, value);
    }

    if (rc == NGX_DECLINED) {
        ngx_http_linkcert_redis_cert_stale(ch, reply->element[1]);
    }

    ngx_free(ch);
}


/*
 * The domain on this edge follows what the fleet has: the record the
 * refusal sent back is applied as a change read from the fleet is, even
 * if this edge serves that certificate already (its table is told again:
 * the refused job's end is not the domain's state).
 */

static void
ngx_http_linkcert_redis_cert_stale(ngx_http_linkcert_change_t *ch,
    redisReply *record)
{
    redisReply  *seq;

    seq = ngx_http_linkcert_redis_field(record, "seq");

    if (seq == NULL) {
        return;                     /* none yet: the lease holder's comes */
    }

    (void) ngx_http_linkcert_redis_apply(ch->lmcf, ch->name, ch->len,
                            (uint64_t) ngx_atoof((u_char *) seq->str,
                                                 seq->len),
                            record, ngx_cycle->log);
}


/*
 * What the fleet orders a domain's certificates by
 * (ngx_http_linkcert_redis_upload.c): the notAfter (seconds since the
 * epoch) and the serial (hex, lowercase, no leading zero) into not_after
 * and serial; the length of not_after, 0 without a pair's info.
 */

size_t
ngx_http_linkcert_redis_cert_rank(lc_cert_info_t *ci, u_char *not_after,
    u_char *serial, size_t *serial_len)
{
    u_char  *p, *end, hex[2 * LC_SERIAL_MAX];

    *serial_len = 0;

    if (ci == NULL || ci->not_after == 0) {
        return 0;
    }

    end = ngx_hex_dump(hex, ci->serial, ci->serial_len);

    for (p = hex; p + 1 < end && *p == '0'; p++) { /* void */ }

    if (p == end) {
        *serial = '0';
        *serial_len = 1;

    } else {
        *serial_len = ngx_cpymem(serial, p, end - p) - serial;
    }

    return ngx_sprintf(not_after, "%T", ci->not_after) - not_after;
}


/* a key of the fleet: <prefix><what><name> */

size_t
ngx_http_linkcert_redis_name(u_char *buf, const char *what, const char *name,
    size_t len)
{
    ngx_http_linkcert_redis_conf_t  *rcf;

    rcf = ngx_http_linkcert_redis_fleet();

    return ngx_snprintf(buf, NGX_HTTP_LINKCERT_REDIS_KEY_MAX, "%V%s%*s",
                        &rcf->prefix, what, len, name)
           - buf;
}


/* a field of HGETALL's answer (field, value, field, value...) */

redisReply *
ngx_http_linkcert_redis_field(redisReply *reply, const char *field)
{
    size_t  i, len;

    len = ngx_strlen(field);

    for (i = 0; i + 1 < reply->elements; i += 2) {
        if (reply->element[i]->type == REDIS_REPLY_STRING
            && (size_t) reply->element[i]->len == len
            && ngx_strncmp(reply->element[i]->str, field, len) == 0
            && reply->element[i + 1]->type == REDIS_REPLY_STRING)
        {
            return reply->element[i + 1];
        }
    }

    return NULL;
}
