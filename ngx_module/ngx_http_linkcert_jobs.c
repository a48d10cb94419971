
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the job scheduler: the due tree, the leases worker 0 holds on
 * the domains it works on, and their recovery when a process dies.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert.h"
#include "ngx_http_linkcert_table.h"


static void ngx_http_linkcert_expired_log(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, lc_status_e old_status,
    lc_stage_e old_stage);
static ngx_int_t ngx_http_linkcert_lease(ngx_http_linkcert_sh_t *sh,
    ngx_http_linkcert_node_t *ln);


/*
 * Takes up to max entries whose time has come.  Each is leased: if the
 * worker running it dies, the entry is due again when the lease ends.
 */

ngx_uint_t
ngx_http_linkcert_table_due(ngx_shm_zone_t *shm_zone, ngx_msec_t lease,
    ngx_http_linkcert_due_t *due, ngx_uint_t max, ngx_uint_t orders,
    ngx_uint_t *waiting)
{
    ngx_uint_t                 n;
    lc_stage_e                 old_stage;
    lc_status_e                old_status;
    lc_lifecycle_t             rec;
    ngx_rbtree_node_t         *node, *next;
    lc_lifecycle_conf_t        conf;
    lc_lifecycle_event_t       ev;
    lc_lifecycle_result_t      res;
    ngx_http_linkcert_sh_t    *sh;
    ngx_http_linkcert_zone_t  *ctx;
    ngx_http_linkcert_node_t  *ln;

    ctx = shm_zone->data;
    sh = ctx->sh;
    n = 0;
    *waiting = 0;

    ngx_http_linkcert_life_conf(ctx, &conf);
    ngx_http_linkcert_life_event(&ev, LC_EV_DUE);
    ev.lease = lease;

    ngx_http_linkcert_lock(ctx);

    node = (sh->due.root == sh->due.sentinel)
           ? NULL : ngx_rbtree_min(sh->due.root, sh->due.sentinel);

    while (n < max && node) {

        if ((ngx_msec_int_t) (node->key - ev.now_ms) > 0) {
            break;
        }

        next = ngx_rbtree_next(&sh->due, node);

        ln = (ngx_http_linkcert_node_t *)
                 ((u_char *) node - offsetof(ngx_http_linkcert_node_t, due));

        node = next;

        /* a served domain's re-check or renewal: the fleet's claim */

        if (ngx_http_linkcert_fleet_park(ctx, ln, ev.now)) {
            continue;
        }

        old_status = ln->status;
        old_stage = ln->stage;

        ev.orders = (orders != 0);
        ngx_http_linkcert_life_read(ln, &rec);
        lc_lifecycle_step(&rec, &conf, &ev, &res);

        if (res.action == LC_DO_NONE) {
            /* expired */
            ngx_http_linkcert_life_apply(ctx, ln, &rec, &res, ev.now);
            ngx_http_linkcert_expired_log(ctx, ln, old_status, old_stage);
            continue;
        }

        /* orders wait for a free slot and a ready ACME account */

        if (res.action == LC_DO_WAIT) {
            (*waiting)++;
            continue;
        }

        if (res.flags & LC_LIFE_BUDGET_TAKE) {
            ngx_http_linkcert_budget_take(ctx, &ev);

        } else if ((res.flags & LC_LIFE_BUDGET)
                   && ngx_http_linkcert_budget(ctx, ln, &ev) != NGX_OK)
        {
            continue;
        }

        if (res.action == LC_DO_ORDER || res.action == LC_DO_RENEW) {
            orders--;
        }

        if (ngx_http_linkcert_lease(sh, ln) != NGX_OK) {
            break;
        }

        ngx_http_linkcert_life_apply(ctx, ln, &rec, &res, ev.now);

        ngx_memcpy(due[n].name, ln->name, ln->name_len);
        due[n].name[ln->name_len] = '\0';
        due[n].action = res.action;
        due[n].job_id = ln->job_id;
        n++;
    }

    ngx_http_linkcert_unlock(ctx);

    return n;
}


/* a job that could not finish (the worker is exiting): due again now */

void
ngx_http_linkcert_table_release(ngx_shm_zone_t *shm_zone, u_char *name,
    size_t len, uint32_t job_id)
{
    lc_lifecycle_event_t       ev;
    lc_lifecycle_result_t      res;
    ngx_http_linkcert_zone_t  *ctx;
    ngx_http_linkcert_node_t  *ln;

    ctx = shm_zone->data;

    ngx_http_linkcert_lock(ctx);

    ln = ngx_http_linkcert_held(ctx, name, len, job_id);

    if (ln) {
        ngx_http_linkcert_life_event(&ev, LC_EV_LEASE_LOST);
        ngx_http_linkcert_life_step(ctx, ln, &ev, &res);
    }

    ngx_http_linkcert_unlock(ctx);
}


void
ngx_http_linkcert_unschedule(ngx_http_linkcert_sh_t *sh,
    ngx_http_linkcert_node_t *ln)
{
    if (ln->due.key) {
        ngx_rbtree_delete(&sh->due, &ln->due);
        ln->due.key = 0;
    }
}


/*
 * A domain worker 0 works on holds a slot naming the process: if that
 * process dies, ngx_http_linkcert_table_recover() hands the domain back.
 */

static ngx_int_t
ngx_http_linkcert_lease(ngx_http_linkcert_sh_t *sh,
    ngx_http_linkcert_node_t *ln)
{
    ngx_uint_t  i;

    for (i = 0; i < NGX_HTTP_LINKCERT_LEASES; i++) {
        if (sh->leased[i] == NULL) {
            sh->leased[i] = ln;
            sh->leased_pid[i] = ngx_pid;
            ln->lease = (u_char) (i + 1);
            ln->busy = 1;

            /* the job's claim: never 0, not repeated for 2^32 jobs */

            if (++sh->jobs == 0) {
                sh->jobs = 1;
            }

            ln->job_id = sh->jobs;

            return NGX_OK;
        }
    }

    return NGX_BUSY;
}


void
ngx_http_linkcert_unlease(ngx_http_linkcert_sh_t *sh,
    ngx_http_linkcert_node_t *ln)
{
    if (ln->lease) {
        sh->leased[ln->lease - 1] = NULL;
        ln->lease = 0;
    }

    ln->busy = 0;
}


/* worker 0, now and then: domains held by a process that died */

ngx_uint_t
ngx_http_linkcert_table_recover(ngx_shm_zone_t *shm_zone)
{
    ngx_pid_t                  dead[NGX_HTTP_LINKCERT_LEASES];
    ngx_uint_t                 i, n;
    lc_lifecycle_event_t       ev;
    lc_lifecycle_result_t      res;
    ngx_http_linkcert_sh_t    *sh;
    ngx_http_linkcert_zone_t  *ctx;
    ngx_http_linkcert_node_t  *ln;

    ctx = shm_zone->data;
    sh = ctx->sh;
    n = 0;

    /* the holders are copied, then asked after without the lock */

    ngx_http_linkcert_lock(ctx);

    for (i = 0; i < NGX_HTTP_LINKCERT_LEASES; i++) {
        dead[i] = (sh->leased[i] && sh->leased_pid[i] != ngx_pid)
                  ? sh->leased_pid[i] : 0;
    }

    ngx_http_linkcert_unlock(ctx);

    for (i = 0; i < NGX_HTTP_LINKCERT_LEASES; i++) {
        if (dead[i] == 0) {
            continue;
        }

        if (kill(dead[i], 0) == 0 || ngx_errno != NGX_ESRCH) {
            dead[i] = 0;
            continue;
        }

        n++;
    }

    if (n == 0) {
        return 0;
    }

    n = 0;

    ngx_http_linkcert_lock(ctx);

    for (i = 0; i < NGX_HTTP_LINKCERT_LEASES; i++) {
        ln = sh->leased[i];

        if (dead[i] == 0 || ln == NULL || sh->leased_pid[i] != dead[i]) {
            continue;
        }

        ngx_http_linkcert_life_event(&ev, LC_EV_LEASE_LOST);
        ngx_http_linkcert_life_step(ctx, ln, &ev, &res);
        n++;
    }

    ngx_http_linkcert_unlock(ctx);

    return n;
}


/*
 * The entry a job holds, with the zone locked: NULL if its domain was
 * deleted (and perhaps added again) meanwhile, or taken back after a
 * timeout.
 */

ngx_http_linkcert_node_t *
ngx_http_linkcert_held(ngx_http_linkcert_zone_t *ctx, u_char *name,
    size_t len, uint32_t job_id)
{
    ngx_http_linkcert_node_t  *ln;

    ln = ngx_http_linkcert_lookup(ctx->sh, name, len);

    if (ln == NULL || !ln->busy || ln->job_id != job_id) {
        return NULL;
    }

    return ln;
}


/* expired without a successor: never served again, the customer acts */

static void
ngx_http_linkcert_expired_log(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, lc_status_e old_status,
    lc_stage_e old_stage)
{
    char  at[32];

    lc_time_rfc3339(ln->not_after, at);

    ngx_log_error(NGX_LOG_NOTICE, ctx->cycle->log, 0,
                  "linkcert: \"%*s\" %s/%s -> unknown/failed: the "
                  "certificate expired on %s", (size_t) ln->name_len,
                  ln->name, lc_status_name(old_status),
                  lc_stage_name(old_stage), at);
}
