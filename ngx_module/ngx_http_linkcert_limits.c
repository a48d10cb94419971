
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the bounded memories of the table: the negative cache of
 * names refused on demand and why they were refused, and the
 * certificates a name had within a week (a reissue keeps under the CA's
 * duplicate-certificate limit).  What they decide is lc_limits.c's.
 *
 * Every function here is called with the zone locked.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert.h"


static ngx_http_linkcert_refusal_t *ngx_http_linkcert_refusal_slot(
    ngx_http_linkcert_sh_t *sh, uint64_t hash, ngx_uint_t create);


/* FNV-1a, 64 bits: the negative cache keeps hashes, not names */

uint64_t
ngx_http_linkcert_hash(u_char *name, size_t len)
{
    size_t    i;
    uint64_t  h;

    h = 0xcbf29ce484222325ULL;

    for (i = 0; i < len; i++) {
        h ^= name[i];
        h *= 0x100000001b3ULL;
    }

    return h;
}


/*
 * The negative cache: a fixed table, 4 slots probed per hash.  With
 * until == 0, looks the hash up (NGX_OK: refused until later); otherwise
 * remembers it until then, in its own slot, a free one, or the one that
 * ends first.
 */

ngx_int_t
ngx_http_linkcert_negative(ngx_http_linkcert_sh_t *sh, uint64_t hash,
    time_t now, time_t until)
{
    ngx_uint_t                     i, slot;
    ngx_http_linkcert_negative_t  *e, *victim;

    if (sh->negative == NULL) {
        return NGX_DECLINED;
    }

    victim = NULL;

    for (i = 0; i < 4; i++) {
        slot = (ngx_uint_t) (hash + i) & (NGX_HTTP_LINKCERT_NEGATIVE_SIZE - 1);
        e = &sh->negative[slot];

        if (e->hash == hash && e->until > now) {
            if (until) {
                e->until = until;
            }

            return NGX_OK;
        }

        if (victim == NULL || e->until < victim->until) {
            victim = e;
        }
    }

    if (until) {
        victim->hash = hash;
        victim->until = until;
    }

    return NGX_DECLINED;
}


/*
 * Why a name was refused on demand, for "GET ?domain=": a fixed table of
 * NGX_HTTP_LINKCERT_REFUSALS records beside the negative cache, 4 slots
 * probed per hash, the oldest replaced, so that random names never cost
 * more than that.
 */

void
ngx_http_linkcert_refusal_set(ngx_http_linkcert_sh_t *sh, uint64_t hash,
    time_t now, time_t until, time_t shown, const lc_error_t *err)
{
    ngx_http_linkcert_refusal_t  *r;

    r = ngx_http_linkcert_refusal_slot(sh, hash, 1);
    if (r == NULL) {
        return;
    }

    r->hash = hash;
    r->at = now;
    r->until = until;
    r->shown = ngx_max(until, shown);
    r->error = *err;
}


/* NGX_OK and a copy while the refusal is shown */

ngx_int_t
ngx_http_linkcert_refusal_get(ngx_http_linkcert_sh_t *sh, uint64_t hash,
    time_t now, ngx_http_linkcert_refusal_t *copy)
{
    ngx_http_linkcert_refusal_t  *r;

    r = ngx_http_linkcert_refusal_slot(sh, hash, 0);

    if (r == NULL || r->shown <= now) {
        return NGX_DECLINED;
    }

    *copy = *r;

    return NGX_OK;
}


void
ngx_http_linkcert_refusal_clear(ngx_http_linkcert_sh_t *sh, uint64_t hash)
{
    ngx_http_linkcert_refusal_t  *r;

    r = ngx_http_linkcert_refusal_slot(sh, hash, 0);

    if (r) {
        ngx_memzero(r, sizeof(ngx_http_linkcert_refusal_t));
    }
}


/* the hash's own slot; with create, else a free one or the oldest */

static ngx_http_linkcert_refusal_t *
ngx_http_linkcert_refusal_slot(ngx_http_linkcert_sh_t *sh, uint64_t hash,
    ngx_uint_t create)
{
    ngx_uint_t                    i, slot;
    ngx_http_linkcert_refusal_t  *r, *victim;

    if (sh->refusals == NULL || hash == 0) {
        return NULL;
    }

    victim = NULL;

    for (i = 0; i < 4; i++) {
        slot = (ngx_uint_t) (hash + i) & (NGX_HTTP_LINKCERT_REFUSALS - 1);
        r = &sh->refusals[slot];

        if (r->hash == hash) {
            return r;
        }

        if (victim == NULL || r->at < victim->at) {
            victim = r;
        }
    }

    return create ? victim : NULL;
}


/*
 * Certificates the name was issued within a week, counted from the first
 * of them (a fixed window, kept in the zone: it survives reloads, and a
 * restart counts the one in the store).
 */

void
ngx_http_linkcert_duplicate_add(ngx_http_linkcert_node_t *ln, time_t since)
{
    time_t    window;
    unsigned  count;

    window = ln->dup_window;
    count = ln->dup_count;

    lc_limits_duplicate_add(&window, &count, since);

    ln->dup_window = (uint32_t) window;
    ln->dup_count = (u_char) count;
}


/*
 * A reissue ("Verify domain" with reissue=1 for a domain with a
 * certificate) is a new order of the same name: within the duplicate
 * limit and, on demand, within the order budget, which it takes at once.
 * err says why not and *retry when it can be asked again.
 */

ngx_int_t
ngx_http_linkcert_reissue_allowed(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, time_t now, ngx_msec_t now_ms,
    lc_error_t *err, time_t *retry)
{
    ngx_http_linkcert_main_conf_t  *lmcf;

    lmcf = ctx->conf;

    *retry = lc_limits_reissue(ln->dup_window, ln->dup_count, now, err);

    /* in a fleet, the fleet's budget was asked before (redis_orphan.c) */

    if (*retry == 0 && lmcf->on_demand && lmcf->redis == NULL) {
        *retry = lc_limits_order_budget(&ctx->sh->order_tat, now_ms,
                                        lmcf->order_rate, err);
    }

    return *retry ? NGX_DECLINED : NGX_OK;
}
