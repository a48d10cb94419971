
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: a CA's intermediates kept once in Redis.  A certificate's
 * record (cert:<domain>) carries its leaf (field leaf) and the name of
 * its intermediates (field issuer: the SHA-256 of their PEM, hex), the
 * intermediates themselves in issuer:<that name>, a string written with
 * SET NX by the script that writes the record (so a record never names
 * intermediates Redis lacks).  The leaf followed by the intermediates is
 * the chain, byte for byte.  A record of an older edge carries the whole
 * chain (field chain), as does one of a chain without intermediates; an
 * older edge that reads a record of this layout finds no chain and skips
 * it as incomplete: it never serves a leaf without its intermediates.
 *
 * Each worker keeps the intermediates it has read in its memory, and
 * names them when it reads a record: Redis sends a record's
 * intermediates only when the worker does not hold them already, so a
 * catch-up of many domains of one CA reads them once.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert_redis.h"


/* a worker keeps the intermediates of that many CAs (one argument each) */
#define NGX_HTTP_LINKCERT_ISSUER_MAX    14

#define NGX_HTTP_LINKCERT_ISSUER_PEM    65536        /* at most, a CA's */
#define NGX_HTTP_LINKCERT_LAYOUT_FILE   "redis.layout"


typedef struct {
    u_char                          id[LC_CHAIN_ID_LEN];
    size_t                          len;
    u_char                         *pem;
} ngx_http_linkcert_issuer_t;


static ngx_int_t ngx_http_linkcert_issuer_pem(redisReply *record,
    redisReply *id, const char *name, ngx_str_t *pem, ngx_log_t *log);
static ngx_http_linkcert_issuer_t *ngx_http_linkcert_issuer_find(
    u_char *id);


static ngx_http_linkcert_issuer_t  ngx_http_linkcert_issuers[
                                       NGX_HTTP_LINKCERT_ISSUER_MAX];
static ngx_uint_t                  ngx_http_linkcert_nissuers;


/*
 * A domain's record (HGETALL) and, when it names intermediates that this
 * worker does not hold, their PEM as a field "issuer_pem" added to it.
 * KEYS[1] cert:<domain>; ARGV[1] the prefix, then the names of the
 * intermediates the worker holds.
 */

ngx_http_linkcert_redis_script_t  ngx_http_linkcert_record_lua = {
    NGX_HTTP_LINKCERT_REDIS_RECORD_LUA
    "return record(KEYS[1], ARGV[1], 2)\n",
    "1", ""
};


/* a domain's record with its intermediates: handler(data, reply, error) */

ngx_int_t
ngx_http_linkcert_redis_record_get(const char *name, size_t len,
    ngx_http_linkcert_redis_handler_pt handler, void *data)
{
    size_t                           lens[2 + NGX_HTTP_LINKCERT_ISSUER_MAX];
    ngx_uint_t                       i;
    const char                      *argv[2 + NGX_HTTP_LINKCERT_ISSUER_MAX];
    ngx_http_linkcert_redis_conf_t  *rcf;
    u_char                           key[NGX_HTTP_LINKCERT_REDIS_KEY_MAX];

    rcf = ngx_http_linkcert_redis_fleet();

    argv[0] = (char *) key;
    lens[0] = ngx_http_linkcert_redis_name(key, "cert:", name, len);
    argv[1] = (char *) rcf->prefix.data;
    lens[1] = rcf->prefix.len;

    for (i = 0; i < ngx_http_linkcert_nissuers; i++) {
        argv[2 + i] = (char *) ngx_http_linkcert_issuers[i].id;
        lens[2 + i] = LC_CHAIN_ID_LEN;
    }

    return ngx_http_linkcert_redis_eval(&ngx_http_linkcert_record_lua, 2 + i,
                                        argv, lens, handler, data)
           ? NGX_OK : NGX_ERROR;
}


/*
 * How a chain goes into a record: its leaf and its intermediates' name
 * and key, or (no intermediates) the whole chain.
 */

void
ngx_http_linkcert_redis_issuer_split(const char *chain, size_t len,
    ngx_http_linkcert_redis_pair_t *pair)
{
    ngx_http_linkcert_redis_conf_t  *rcf;

    rcf = ngx_http_linkcert_redis_fleet();

    pair->leaf_len = lc_chain_leaf_len(chain, len);
    pair->pem = chain + pair->leaf_len;
    pair->pem_len = len - pair->leaf_len;
    pair->id_len = 0;

    if (pair->pem_len == 0
        || lc_chain_id(pair->pem, pair->pem_len, (char *) pair->id) != 0)
    {
        pair->leaf_len = len;       /* the whole chain, as before */
        pair->pem_len = 0;

    } else {
        pair->id_len = LC_CHAIN_ID_LEN;
    }

    pair->key_len = ngx_snprintf(pair->key, NGX_HTTP_LINKCERT_REDIS_KEY_MAX,
                                 "%Vissuer:%*s", &rcf->prefix, pair->id_len,
                                 pair->id)
                    - pair->key;
}


/*
 * A pair's arguments of a script that writes it: the intermediates' key
 * at argv[key], the chain or its leaf at argv[leaf], the intermediates'
 * name and PEM at argv[id] and argv[id + 1].
 */

void
ngx_http_linkcert_redis_issuer_argv(ngx_http_linkcert_redis_pair_t *pair,
    const char *chain, const char **argv, size_t *lens, ngx_uint_t key,
    ngx_uint_t leaf, ngx_uint_t id)
{
    argv[key] = (char *) pair->key;
    lens[key] = pair->key_len;
    argv[leaf] = chain;
    lens[leaf] = pair->leaf_len;
    argv[id] = (char *) pair->id;
    lens[id] = pair->id_len;
    argv[id + 1] = pair->pem;
    lens[id + 1] = pair->pem_len;
}


/*
 * A record's chain: NGX_OK, its field chain (an older edge's layout, or
 * no intermediates); NGX_DONE, its leaf followed by its intermediates,
 * in chain->data to be freed with ngx_free(); NGX_DECLINED, incomplete
 * or its intermediates not in Redis (logged); NGX_ERROR, no memory.
 */

ngx_int_t
ngx_http_linkcert_redis_issuer_chain(redisReply *record, const char *name,
    ngx_str_t *chain, ngx_log_t *log)
{
    u_char      *p;
    ngx_int_t    rc;
    ngx_str_t    pem;
    redisReply  *field, *id;

    field = ngx_http_linkcert_redis_field(record, "chain");

    if (field) {
        chain->data = (u_char *) field->str;
        chain->len = field->len;
        return NGX_OK;
    }

    field = ngx_http_linkcert_redis_field(record, "leaf");
    id = ngx_http_linkcert_redis_field(record, "issuer");

    if (field == NULL || id == NULL) {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "linkcert: the fleet's record of \"%s\" is incomplete",
                      name);
        return NGX_DECLINED;
    }

    rc = ngx_http_linkcert_issuer_pem(record, id, name, &pem, log);
    if (rc != NGX_OK) {
        return rc;
    }

    p = ngx_alloc(field->len + pem.len, log);
    if (p == NULL) {
        return NGX_ERROR;
    }

    chain->data = p;
    chain->len = ngx_cpymem(ngx_cpymem(p, field->str, field->len), pem.data,
                            pem.len)
                 - p;

    return NGX_DONE;
}


/*
 * The intermediates a record names: held by this worker, or sent with
 * the record (checked against their name, then held).  NGX_DECLINED:
 * Redis does not have them (logged).
 */

static ngx_int_t
ngx_http_linkcert_issuer_pem(redisReply *record, redisReply *id,
    const char *name, ngx_str_t *pem, ngx_log_t *log)
{
    u_char                      hash[LC_CHAIN_ID_LEN];
    redisReply                 *sent;
    ngx_http_linkcert_issuer_t *is;

    if ((size_t) id->len == LC_CHAIN_ID_LEN) {
        is = ngx_http_linkcert_issuer_find((u_char *) id->str);

        if (is) {
            pem->data = is->pem;
            pem->len = is->len;
            return NGX_OK;
        }
    }

    sent = ngx_http_linkcert_redis_field(record, "issuer_pem");

    if (sent == NULL
        || (size_t) id->len != LC_CHAIN_ID_LEN
        || sent->len == 0
        || sent->len > NGX_HTTP_LINKCERT_ISSUER_PEM
        || lc_chain_id(sent->str, sent->len, (char *) hash) != 0
        || ngx_memcmp(hash, id->str, LC_CHAIN_ID_LEN) != 0)
    {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "linkcert: the fleet's record of \"%s\" names "
                      "intermediates \"%*s\" that redis does not hold%s: "
                      "not applied", name, ngx_min((size_t) id->len, 64),
                      id->str, sent ? " as named" : "");
        return NGX_DECLINED;
    }

    pem->data = (u_char *) sent->str;
    pem->len = sent->len;

    if (ngx_http_linkcert_nissuers == NGX_HTTP_LINKCERT_ISSUER_MAX) {
        return NGX_OK;              /* read with each record */
    }

    is = &ngx_http_linkcert_issuers[ngx_http_linkcert_nissuers];

    is->pem = ngx_alloc(sent->len, log);
    if (is->pem == NULL) {
        return NGX_OK;
    }

    ngx_memcpy(is->id, hash, LC_CHAIN_ID_LEN);
    ngx_memcpy(is->pem, sent->str, sent->len);
    is->len = sent->len;
    ngx_http_linkcert_nissuers++;

    ngx_log_error(NGX_LOG_INFO, log, 0,
                  "linkcert: the fleet's intermediates \"%*s\" (%uz bytes) "
                  "read from redis, kept by this worker (%ui kept)",
                  (size_t) LC_CHAIN_ID_LEN, hash, is->len,
                  ngx_http_linkcert_nissuers);

    return NGX_OK;
}


static ngx_http_linkcert_issuer_t *
ngx_http_linkcert_issuer_find(u_char *id)
{
    ngx_uint_t  i;

    for (i = 0; i < ngx_http_linkcert_nissuers; i++) {
        if (ngx_memcmp(ngx_http_linkcert_issuers[i].id, id, LC_CHAIN_ID_LEN)
            == 0)
        {
            return &ngx_http_linkcert_issuers[i];
        }
    }

    return NULL;
}


/*
 * worker 0, at its start, before it reads redis.seq: a store with a
 * redis.seq and no redis.layout was kept by an edge older than this
 * layout, which skipped the records of edges already upgraded (leaf and
 * intermediates apart): its redis.seq is removed, so that the fleet's
 * changes are read again from the first, once; then redis.layout is
 * written (a restart meanwhile reads from the first too).
 */

void
ngx_http_linkcert_redis_issuer_upgrade(ngx_str_t *store, ngx_log_t *log)
{
    ngx_uint_t       again;
    ngx_file_info_t  fi;
    u_char           path[NGX_MAX_PATH];

    ngx_snprintf(path, sizeof(path), "%V/" NGX_HTTP_LINKCERT_LAYOUT_FILE "%Z",
                 store);

    if (ngx_file_info(path, &fi) == 0) {
        return;
    }

    ngx_snprintf(path, sizeof(path), "%V/redis.seq%Z", store);

    again = (ngx_file_info(path, &fi) == 0);

    if (again) {
        ngx_log_error(NGX_LOG_NOTICE, log, 0,
                      "linkcert: this edge's store was kept by an older "
                      "edge: the fleet's changes are read again from the "
                      "first, once (the records of CAs' intermediates kept "
                      "once, which it skipped)");

        if (ngx_delete_file(path) == NGX_FILE_ERROR) {
            ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                          ngx_delete_file_n " \"%s\" failed", path);
            return;
        }
    }

    (void) ngx_http_linkcert_store_write(store, ".",
                                         NGX_HTTP_LINKCERT_LAYOUT_FILE,
                                         "issuers\n", 8, 0600, log);
}
