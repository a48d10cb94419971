
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: HTTP-01 key authorizations, keyed by token.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert.h"
#include "ngx_http_linkcert_table.h"


/*
 * HTTP-01 key authorizations, keyed by token, answered by any worker for
 * the domain they were issued for.  An entry left by a dead order
 * expires after an hour.
 */

typedef struct {
    ngx_str_node_t                 sn;           /* token */
    time_t                         expires;
    size_t                         domain_len;
    size_t                         keyauth_len;
    u_char                         data[1];      /* token domain keyauth */
} ngx_http_linkcert_challenge_t;


ngx_int_t
ngx_http_linkcert_challenge_set(ngx_shm_zone_t *shm_zone,
    const char *domain, const char *token, const char *key_authorization)
{
    size_t                          tlen, dlen, klen;
    u_char                         *p;
    uint32_t                        hash;
    ngx_str_t                       key;
    ngx_http_linkcert_zone_t       *ctx;
    ngx_http_linkcert_challenge_t  *ch;

    ctx = shm_zone->data;

    tlen = ngx_strlen(token);
    dlen = ngx_strlen(domain);
    klen = ngx_strlen(key_authorization);

    key.data = (u_char *) token;
    key.len = tlen;
    hash = ngx_crc32_short(key.data, key.len);

    ngx_http_linkcert_lock(ctx);

    ch = (ngx_http_linkcert_challenge_t *)
             ngx_str_rbtree_lookup(&ctx->sh->challenges, &key, hash);

    if (ch) {
        ngx_rbtree_delete(&ctx->sh->challenges, &ch->sn.node);
        ngx_slab_free_locked(ctx->shpool, ch);
    }

    ch = ngx_slab_alloc_locked(ctx->shpool,
                               offsetof(ngx_http_linkcert_challenge_t, data)
                               + tlen + dlen + klen);
    if (ch == NULL) {
        ngx_http_linkcert_unlock(ctx);
        return NGX_ERROR;
    }

    p = ngx_cpymem(ch->data, token, tlen);
    p = ngx_cpymem(p, domain, dlen);
    ngx_memcpy(p, key_authorization, klen);

    ch->sn.node.key = hash;
    ch->sn.str.data = ch->data;
    ch->sn.str.len = tlen;
    ch->domain_len = dlen;
    ch->keyauth_len = klen;
    ch->expires = ngx_time() + 3600;

    ngx_rbtree_insert(&ctx->sh->challenges, &ch->sn.node);

    ngx_http_linkcert_unlock(ctx);

    return NGX_OK;
}


void
ngx_http_linkcert_challenge_del(ngx_shm_zone_t *shm_zone, const char *token)
{
    ngx_str_t                       key;
    ngx_http_linkcert_zone_t       *ctx;
    ngx_http_linkcert_challenge_t  *ch;

    ctx = shm_zone->data;

    key.data = (u_char *) token;
    key.len = ngx_strlen(token);

    ngx_http_linkcert_lock(ctx);

    ch = (ngx_http_linkcert_challenge_t *)
             ngx_str_rbtree_lookup(&ctx->sh->challenges, &key,
                                   ngx_crc32_short(key.data, key.len));

    if (ch) {
        ngx_rbtree_delete(&ctx->sh->challenges, &ch->sn.node);
        ngx_slab_free_locked(ctx->shpool, ch);
    }

    ngx_http_linkcert_unlock(ctx);
}


/* copies the key authorization (at most *len bytes) if token and domain
 * match a live challenge */

ngx_int_t
ngx_http_linkcert_challenge_get(ngx_shm_zone_t *shm_zone, ngx_str_t *domain,
    ngx_str_t *token, u_char *buf, size_t *len)
{
    ngx_int_t                       rc;
    ngx_http_linkcert_zone_t       *ctx;
    ngx_http_linkcert_challenge_t  *ch;

    ctx = shm_zone->data;
    rc = NGX_DECLINED;

    ngx_http_linkcert_lock(ctx);

    ch = (ngx_http_linkcert_challenge_t *)
             ngx_str_rbtree_lookup(&ctx->sh->challenges, token,
                                   ngx_crc32_short(token->data, token->len));

    if (ch
        && ch->expires > ngx_time()
        && ch->domain_len == domain->len
        && ngx_memcmp(ch->data + ch->sn.str.len, domain->data, domain->len)
           == 0
        && ch->keyauth_len <= *len)
    {
        ngx_memcpy(buf, ch->data + ch->sn.str.len + ch->domain_len,
                   ch->keyauth_len);
        *len = ch->keyauth_len;
        rc = NGX_OK;
    }

    ngx_http_linkcert_unlock(ctx);

    return rc;
}
