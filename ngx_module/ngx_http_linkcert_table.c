
/*
 * linkcert: the domain table in shared memory.
 *
 * Every access holds the zone's slab mutex: nginx's master releases it if
 * a worker dies holding it, which a lock of our own would not get.
 * Critical sections copy data in or out and do nothing else.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert.h"


static ngx_rbtree_key_t ngx_http_linkcert_key(u_char *name, size_t len);
static ngx_int_t ngx_http_linkcert_cmp(ngx_http_linkcert_node_t *ln,
    ngx_rbtree_key_t key, u_char *name, size_t len);
static void ngx_http_linkcert_rbtree_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_http_linkcert_node_t *ngx_http_linkcert_lookup(
    ngx_http_linkcert_sh_t *sh, u_char *name, size_t len);
static ngx_http_linkcert_node_t *ngx_http_linkcert_create(
    ngx_http_linkcert_zone_t *ctx, u_char *name, size_t len);
static void ngx_http_linkcert_set_status(ngx_http_linkcert_sh_t *sh,
    ngx_http_linkcert_node_t *ln, lc_status_e status, lc_stage_e stage);
static void ngx_http_linkcert_to_record(ngx_http_linkcert_node_t *ln,
    lc_record_t *rec);


ngx_int_t
ngx_http_linkcert_table_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_linkcert_zone_t  *octx = data;

    size_t                          len;
    ngx_http_linkcert_zone_t       *ctx;
    ngx_http_linkcert_main_conf_t  *lmcf;

    ctx = shm_zone->data;
    lmcf = ctx->conf;

    if (octx) {
        ctx->sh = octx->sh;
        ctx->shpool = octx->shpool;

    } else {
        ctx->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

        if (shm_zone->shm.exists) {
            ctx->sh = ctx->shpool->data;

        } else {
            ctx->sh = ngx_slab_alloc(ctx->shpool,
                                     sizeof(ngx_http_linkcert_sh_t));
            if (ctx->sh == NULL) {
                return NGX_ERROR;
            }

            ngx_memzero(ctx->sh, sizeof(ngx_http_linkcert_sh_t));

            ctx->shpool->data = ctx->sh;

            ngx_rbtree_init(&ctx->sh->rbtree, &ctx->sh->sentinel,
                            ngx_http_linkcert_rbtree_insert_value);

            len = sizeof(" in linkcert_zone \"\"") + shm_zone->shm.name.len;

            ctx->shpool->log_ctx = ngx_slab_alloc(ctx->shpool, len);
            if (ctx->shpool->log_ctx == NULL) {
                return NGX_ERROR;
            }

            ngx_sprintf(ctx->shpool->log_ctx, " in linkcert_zone \"%V\"%Z",
                        &shm_zone->shm.name);

            /* a full zone is reported by the table itself, once a minute */
            ctx->shpool->log_nomem = 0;
        }
    }

    /* the module may be mapped elsewhere after a reload */
    ctx->sh->rbtree.insert = ngx_http_linkcert_rbtree_insert_value;

    if (!lmcf->enabled) {
        return NGX_OK;
    }

    if (ngx_http_linkcert_store_prepare(ctx->cycle, &lmcf->store,
                                        shm_zone->shm.log)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_linkcert_store_load(shm_zone, &lmcf->store,
                                        shm_zone->shm.log);
}


ngx_int_t
ngx_http_linkcert_table_get(ngx_shm_zone_t *shm_zone, u_char *name,
    size_t len, lc_record_t *rec)
{
    ngx_http_linkcert_zone_t  *ctx;
    ngx_http_linkcert_node_t  *ln;

    ctx = shm_zone->data;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    ln = ngx_http_linkcert_lookup(ctx->sh, name, len);

    if (ln) {
        ngx_http_linkcert_to_record(ln, rec);
    }

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    if (ln == NULL) {
        ngx_memzero(rec, sizeof(lc_record_t));
        ngx_memcpy(rec->domain, name, len);
        rec->status = LC_STATUS_UNKNOWN;
        rec->stage = LC_STAGE_NONE;
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * The handshake's question: is there a certificate to serve for this name
 * now, and of which generation.
 */

ngx_int_t
ngx_http_linkcert_table_serving(ngx_shm_zone_t *shm_zone, u_char *name,
    size_t len, time_t now, uint32_t *generation)
{
    ngx_int_t                  rc;
    ngx_http_linkcert_zone_t  *ctx;
    ngx_http_linkcert_node_t  *ln;

    ctx = shm_zone->data;
    rc = NGX_DECLINED;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    ln = ngx_http_linkcert_lookup(ctx->sh, name, len);

    if (ln
        && ln->status == LC_STATUS_ISSUED
        && now >= ln->not_before
        && now < ln->not_after)
    {
        *generation = ln->generation;
        rc = NGX_OK;
    }

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    return rc;
}


ngx_int_t
ngx_http_linkcert_table_page(ngx_shm_zone_t *shm_zone, ngx_str_t *after,
    ngx_int_t status, ngx_uint_t limit, lc_record_t *recs, ngx_uint_t *n,
    ngx_uint_t *more)
{
    ngx_rbtree_key_t           key;
    ngx_rbtree_node_t         *node, *sentinel, *start;
    ngx_http_linkcert_sh_t    *sh;
    ngx_http_linkcert_zone_t  *ctx;
    ngx_http_linkcert_node_t  *ln;

    ctx = shm_zone->data;
    sh = ctx->sh;

    *n = 0;
    *more = 0;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    sentinel = sh->rbtree.sentinel;
    node = sh->rbtree.root;
    start = NULL;

    if (node != sentinel) {

        if (after->len == 0) {
            start = ngx_rbtree_min(node, sentinel);

        } else {
            /* the smallest name greater than "after" */

            key = ngx_http_linkcert_key(after->data, after->len);

            while (node != sentinel) {
                ln = (ngx_http_linkcert_node_t *) node;

                if (ngx_http_linkcert_cmp(ln, key, after->data, after->len)
                    > 0)
                {
                    start = node;
                    node = node->left;

                } else {
                    node = node->right;
                }
            }
        }
    }

    for (node = start; node; node = ngx_rbtree_next(&sh->rbtree, node)) {
        ln = (ngx_http_linkcert_node_t *) node;

        if (status != -1 && ln->status != status) {
            continue;
        }

        if (*n == limit) {
            *more = 1;
            break;
        }

        ngx_http_linkcert_to_record(ln, &recs[(*n)++]);
    }

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    return NGX_OK;
}


uint32_t
ngx_http_linkcert_table_begin_scan(ngx_shm_zone_t *shm_zone)
{
    uint32_t                   scan;
    ngx_http_linkcert_zone_t  *ctx;

    ctx = shm_zone->data;

    ngx_shmtx_lock(&ctx->shpool->mutex);
    scan = ++ctx->sh->scan;
    ngx_shmtx_unlock(&ctx->shpool->mutex);

    return scan;
}


/*
 * A store directory whose files did not change since they were last
 * loaded: mark it seen and skip parsing.  NGX_DECLINED means it must be
 * (re)loaded.
 */

ngx_int_t
ngx_http_linkcert_table_seen(ngx_shm_zone_t *shm_zone, u_char *name,
    size_t len, uint64_t stamp, uint32_t scan)
{
    ngx_int_t                  rc;
    ngx_http_linkcert_zone_t  *ctx;
    ngx_http_linkcert_node_t  *ln;

    ctx = shm_zone->data;
    rc = NGX_DECLINED;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    ln = ngx_http_linkcert_lookup(ctx->sh, name, len);

    if (ln && ln->store_stamp == stamp && stamp != 0) {
        ln->scan = scan;
        rc = NGX_OK;
    }

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    return rc;
}


ngx_int_t
ngx_http_linkcert_table_loaded(ngx_shm_zone_t *shm_zone, u_char *name,
    size_t len, ngx_http_linkcert_loaded_t *loaded, uint32_t scan)
{
    time_t                     now;
    ngx_http_linkcert_zone_t  *ctx;
    ngx_http_linkcert_node_t  *ln;

    ctx = shm_zone->data;
    now = ngx_time();

    ngx_shmtx_lock(&ctx->shpool->mutex);

    ln = ngx_http_linkcert_lookup(ctx->sh, name, len);

    if (ln == NULL) {
        ln = ngx_http_linkcert_create(ctx, name, len);

        if (ln == NULL) {
            ngx_shmtx_unlock(&ctx->shpool->mutex);
            return NGX_DECLINED;
        }
    }

    ln->store_stamp = loaded->stamp;
    ln->scan = scan;
    ln->updated_at = now;

    if (loaded->ok) {
        if (ln->status != LC_STATUS_ISSUED
            || ngx_memcmp(ln->sha256, loaded->info.sha256, 32) != 0)
        {
            ln->generation++;
        }

        ln->not_before = loaded->info.not_before;
        ln->not_after = loaded->info.not_after;
        ngx_memcpy(ln->sha256, loaded->info.sha256, 32);
        ngx_memcpy(ln->serial, loaded->info.serial, loaded->info.serial_len);
        ln->serial_len = (u_char) loaded->info.serial_len;
        ngx_memcpy(ln->issuer, loaded->info.issuer, LC_ISSUER_LEN);

        ngx_http_linkcert_set_status(ctx->sh, ln, LC_STATUS_ISSUED,
                                     LC_STAGE_ISSUED);
        lc_error_clear(&ln->error);
        ln->error_at = 0;
        ln->next_attempt_at = 0;

    } else {
        ngx_http_linkcert_set_status(ctx->sh, ln, LC_STATUS_UNKNOWN,
                                     LC_STAGE_FAILED);
        ln->serial_len = 0;
        ln->not_before = 0;
        ln->not_after = 0;
        ln->error = loaded->error;
        ln->error_at = now;
    }

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    return NGX_OK;
}


/*
 * Issued domains whose files were not found by this scan stop being
 * served: the store is the source of truth for certificates.
 */

ngx_uint_t
ngx_http_linkcert_table_end_scan(ngx_shm_zone_t *shm_zone, uint32_t scan)
{
    time_t                     now;
    ngx_uint_t                 n;
    ngx_rbtree_node_t         *node;
    ngx_http_linkcert_sh_t    *sh;
    ngx_http_linkcert_zone_t  *ctx;
    ngx_http_linkcert_node_t  *ln;

    ctx = shm_zone->data;
    sh = ctx->sh;
    now = ngx_time();
    n = 0;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    if (sh->rbtree.root != sh->rbtree.sentinel) {

        for (node = ngx_rbtree_min(sh->rbtree.root, sh->rbtree.sentinel);
             node;
             node = ngx_rbtree_next(&sh->rbtree, node))
        {
            ln = (ngx_http_linkcert_node_t *) node;

            if (ln->scan == scan || ln->store_stamp == 0) {
                continue;
            }

            ln->store_stamp = 0;
            ln->updated_at = now;
            ln->error_at = now;
            ngx_http_linkcert_set_status(sh, ln, LC_STATUS_UNKNOWN,
                                         LC_STAGE_FAILED);
            lc_error_set(&ln->error, "store_unreadable",
                         "the certificate files are gone from the store");
            n++;
        }
    }

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    return n;
}


static ngx_rbtree_key_t
ngx_http_linkcert_key(u_char *name, size_t len)
{
    size_t            i;
    ngx_rbtree_key_t  key;

    key = 0;

    for (i = 0; i < sizeof(ngx_rbtree_key_t); i++) {
        key = (key << 8) | (i < len ? name[i] : 0);
    }

    return key;
}


static ngx_int_t
ngx_http_linkcert_cmp(ngx_http_linkcert_node_t *ln, ngx_rbtree_key_t key,
    u_char *name, size_t len)
{
    if (ln->node.key != key) {
        return ln->node.key < key ? -1 : 1;
    }

    return ngx_memn2cmp(ln->name, name, ln->name_len, len);
}


static void
ngx_http_linkcert_rbtree_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t         **p;
    ngx_http_linkcert_node_t   *ln;

    ln = (ngx_http_linkcert_node_t *) node;

    for ( ;; ) {

        p = (ngx_http_linkcert_cmp((ngx_http_linkcert_node_t *) temp,
                                   node->key, ln->name, ln->name_len) > 0)
            ? &temp->left : &temp->right;

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


static ngx_http_linkcert_node_t *
ngx_http_linkcert_lookup(ngx_http_linkcert_sh_t *sh, u_char *name,
    size_t len)
{
    ngx_int_t                  rc;
    ngx_rbtree_key_t           key;
    ngx_rbtree_node_t         *node, *sentinel;
    ngx_http_linkcert_node_t  *ln;

    key = ngx_http_linkcert_key(name, len);

    node = sh->rbtree.root;
    sentinel = sh->rbtree.sentinel;

    while (node != sentinel) {
        ln = (ngx_http_linkcert_node_t *) node;

        rc = ngx_http_linkcert_cmp(ln, key, name, len);

        if (rc == 0) {
            return ln;
        }

        node = (rc > 0) ? node->left : node->right;
    }

    return NULL;
}


static ngx_http_linkcert_node_t *
ngx_http_linkcert_create(ngx_http_linkcert_zone_t *ctx, u_char *name,
    size_t len)
{
    time_t                     now;
    size_t                     size;
    ngx_http_linkcert_node_t  *ln;

    size = offsetof(ngx_http_linkcert_node_t, name) + len + 1;

    ln = ngx_slab_alloc_locked(ctx->shpool, size);

    if (ln == NULL) {
        now = ngx_time();

        if (now - ctx->sh->full_logged >= 60) {
            ctx->sh->full_logged = now;
            ngx_log_error(NGX_LOG_ERR, ctx->cycle->log, 0,
                          "the zone is full%s: \"%*s\" and further new "
                          "domains are not added (logged once a minute)",
                          ctx->shpool->log_ctx, len, name);
        }

        return NULL;
    }

    ngx_memzero(ln, size);

    ln->node.key = ngx_http_linkcert_key(name, len);
    ln->name_len = (u_char) len;
    ngx_memcpy(ln->name, name, len);

    ln->status = LC_STATUS_UNKNOWN;
    ln->stage = LC_STAGE_NONE;
    ctx->sh->count[LC_STATUS_UNKNOWN]++;

    ngx_rbtree_insert(&ctx->sh->rbtree, &ln->node);

    return ln;
}


static void
ngx_http_linkcert_set_status(ngx_http_linkcert_sh_t *sh,
    ngx_http_linkcert_node_t *ln, lc_status_e status, lc_stage_e stage)
{
    sh->count[ln->status]--;
    sh->count[status]++;

    ln->status = status;
    ln->stage = stage;
}


static void
ngx_http_linkcert_to_record(ngx_http_linkcert_node_t *ln, lc_record_t *rec)
{
    ngx_memcpy(rec->domain, ln->name, ln->name_len);
    rec->domain[ln->name_len] = '\0';

    rec->status = ln->status;
    rec->stage = ln->stage;

    rec->has_cert = (ln->not_after != 0);

    if (rec->has_cert) {
        rec->cert.not_before = ln->not_before;
        rec->cert.not_after = ln->not_after;
        ngx_memcpy(rec->cert.sha256, ln->sha256, 32);
        ngx_memcpy(rec->cert.serial, ln->serial, ln->serial_len);
        rec->cert.serial_len = ln->serial_len;
        ngx_memcpy(rec->cert.issuer, ln->issuer, LC_ISSUER_LEN);
    }

    rec->has_error = (ln->error.type[0] != '\0');

    if (rec->has_error) {
        rec->error = ln->error;
        rec->error_at = ln->error_at;
    }

    rec->next_attempt_at = ln->next_attempt_at;
    rec->updated_at = ln->updated_at;
}
