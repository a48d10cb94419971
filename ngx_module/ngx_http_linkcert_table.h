
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the internals shared by the files of the domain table
 * (table.c, table_load.c, events.c, jobs.c, demand.c, http01.c).
 */


#ifndef _NGX_HTTP_LINKCERT_TABLE_H_INCLUDED_
#define _NGX_HTTP_LINKCERT_TABLE_H_INCLUDED_


/*
 * Walks over the whole table let other processes take the lock after
 * every NGX_HTTP_LINKCERT_WALK_STEP entries: with a million domains a
 * visit costs about 2 us (the zone is far larger than the CPU's caches),
 * so 1,024 in one hold took 2-3 ms.
 */

#define NGX_HTTP_LINKCERT_WALK_STEP  128

/* records copied in one hold by a page of the listing or of the index */
#define NGX_HTTP_LINKCERT_PAGE_STEP  64

/* NGX_OK: go on; NGX_AGAIN: go on after letting go of the lock; NGX_DONE:
   stop */
typedef ngx_int_t (*ngx_http_linkcert_visit_pt)(
    ngx_http_linkcert_zone_t *ctx, ngx_http_linkcert_node_t *ln, void *data);


/*
 * The names of one registered domain (eTLD+1), kept together so that the
 * registered-domain limit counts them without a walk of the table.
 */

typedef struct {
    ngx_str_node_t                 sn;           /* the registered domain */
    ngx_queue_t                    members;      /* of node_t, by kin */
    u_char                         name[1];
} ngx_http_linkcert_group_t;


#define ngx_http_linkcert_unlock(ctx)                                        \
    ngx_http_linkcert_unlock_in(ctx, __func__)

/* ngx_http_linkcert_table.c */

ngx_http_linkcert_node_t *ngx_http_linkcert_lookup(
    ngx_http_linkcert_sh_t *sh, u_char *name, size_t len);
ngx_http_linkcert_node_t *ngx_http_linkcert_create(
    ngx_http_linkcert_zone_t *ctx, u_char *name, size_t len, size_t reg);
void ngx_http_linkcert_notify(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, ngx_uint_t quiet);
void ngx_http_linkcert_to_record(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, lc_record_t *rec);
void ngx_http_linkcert_lock(ngx_http_linkcert_zone_t *ctx);
void ngx_http_linkcert_unlock_in(ngx_http_linkcert_zone_t *ctx,
    const char *where);
uint64_t ngx_http_linkcert_clock_ns(void);
ngx_msec_t ngx_http_linkcert_now_ms(void);
void ngx_http_linkcert_delete(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln);
u_char ngx_http_linkcert_issuer(ngx_http_linkcert_zone_t *ctx,
    const char *name);
void ngx_http_linkcert_walk(ngx_http_linkcert_zone_t *ctx,
    u_char *after, size_t len, ngx_http_linkcert_visit_pt visit, void *data);

/* ngx_http_linkcert_jobs.c */

void ngx_http_linkcert_unschedule(ngx_http_linkcert_sh_t *sh,
    ngx_http_linkcert_node_t *ln);
void ngx_http_linkcert_unlease(ngx_http_linkcert_sh_t *sh,
    ngx_http_linkcert_node_t *ln);
ngx_http_linkcert_node_t *ngx_http_linkcert_held(
    ngx_http_linkcert_zone_t *ctx, u_char *name, size_t len,
    uint32_t job_id);

/* ngx_http_linkcert_lifecycle.c, with the zone locked */

void ngx_http_linkcert_life_conf(ngx_http_linkcert_zone_t *ctx,
    lc_lifecycle_conf_t *conf);
void ngx_http_linkcert_life_read(ngx_http_linkcert_node_t *ln,
    lc_lifecycle_t *rec);
void ngx_http_linkcert_life_apply(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, lc_lifecycle_t *rec,
    lc_lifecycle_result_t *res, time_t now);
void ngx_http_linkcert_life_step(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, lc_lifecycle_event_t *ev,
    lc_lifecycle_result_t *res);

/* ngx_http_linkcert_redis_due.c, with the zone locked */

void ngx_http_linkcert_fleet_apply(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, lc_lifecycle_t *rec);
ngx_uint_t ngx_http_linkcert_fleet_park(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, time_t now);
void ngx_http_linkcert_fleet_forced(ngx_http_linkcert_node_t *ln);

/* ngx_http_linkcert_demand.c */

void ngx_http_linkcert_refuse(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, time_t ttl, const lc_error_t *err,
    ngx_log_t *log);
size_t ngx_http_linkcert_registrable(ngx_http_linkcert_zone_t *ctx,
    u_char *name, size_t len);
ngx_int_t ngx_http_linkcert_group_join(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, size_t reg);
void ngx_http_linkcert_group_leave(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln);
ngx_int_t ngx_http_linkcert_budget(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, lc_lifecycle_event_t *ev);
void ngx_http_linkcert_budget_take(ngx_http_linkcert_zone_t *ctx,
    lc_lifecycle_event_t *ev);


#endif /* _NGX_HTTP_LINKCERT_TABLE_H_INCLUDED_ */
