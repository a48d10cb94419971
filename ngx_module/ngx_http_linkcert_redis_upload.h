
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the upload of what this edge holds to the fleet, shared by
 * its pass (ngx_http_linkcert_redis_upload.c) and the sending of one
 * domain's pair (ngx_http_linkcert_redis_upload_send.c).
 */


#ifndef _NGX_HTTP_LINKCERT_REDIS_UPLOAD_H_INCLUDED_
#define _NGX_HTTP_LINKCERT_REDIS_UPLOAD_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_linkcert_redis.h"
#include "lc_fleet_info.h"


#define NGX_HTTP_LINKCERT_UPLOAD_BATCH   128
#define NGX_HTTP_LINKCERT_UPLOAD_TURN    16          /* pairs a turn */
#define NGX_HTTP_LINKCERT_UPLOAD_EVERY   5000        /* ms, the epoch */
#define NGX_HTTP_LINKCERT_UPLOAD_FILE    "redis.epoch"
#define NGX_HTTP_LINKCERT_EPOCH_LEN      32          /* hex */


/*
 * Which of two certificates of a domain the fleet keeps: 1 this edge's
 * (none in the fleet, an older one, or a removal this edge has applied:
 * seq <= applied), 2 the fleet's newer one, 0 the same or the fleet's
 * to keep (a removal this edge has not applied yet; a record of an older
 * edge, without notAfter).  cur: HMGET seq removed not_after serial.
 */

#define NGX_HTTP_LINKCERT_UPLOAD_WINS                                        \
    "local function wins(cur, na, serial, applied) "                         \
    "  if not cur[1] then return 1 end "                                     \
    "  if cur[2] then "                                                      \
    "    if tonumber(cur[1]) > applied then return 0 end "                   \
    "    return 1 "                                                          \
    "  end "                                                                 \
    "  if not cur[3] then return 0 end "                                     \
    "  local a, b = tonumber(na), tonumber(cur[3]) "                         \
    "  if a ~= b then if a > b then return 1 end return 2 end "              \
    "  local t = cur[4] or '' "                                              \
    "  if #serial ~= #t then "                                               \
    "    if #serial > #t then return 1 end return 2 "                        \
    "  end "                                                                 \
    "  if serial > t then return 1 end "                                     \
    "  if serial < t then return 2 end "                                     \
    "  return 0 "                                                            \
    "end "

#define NGX_HTTP_LINKCERT_UPLOAD_CUR                                         \
    "'seq', 'removed', 'not_after', 'serial'"


typedef struct ngx_http_linkcert_upload_s  ngx_http_linkcert_upload_t;

/* the pass's next step, in the next turn of the event loop */
typedef void (*ngx_http_linkcert_upload_pt)(ngx_http_linkcert_upload_t *up);

struct ngx_http_linkcert_upload_s {
    ngx_http_linkcert_main_conf_t  *lmcf;
    ngx_log_t                      *log;
    ngx_event_t                     timer;

    u_char                          known[NGX_HTTP_LINKCERT_EPOCH_LEN];
    size_t                          known_len;   /* 0: none kept */
    u_char                          epoch[NGX_HTTP_LINKCERT_EPOCH_LEN];
    size_t                          epoch_len;   /* the fleet's, asked */

    ngx_uint_t                      offered;     /* a pass since start */
    ngx_uint_t                      reoffer;     /* asked during a pass */
    ngx_uint_t                      running;
    ngx_http_linkcert_upload_pt     step;
    ngx_uint_t                      again;       /* connected meanwhile */
    ngx_uint_t                      full;        /* after a loss */
    ngx_uint_t                      follow;      /* after a failover */
    ngx_uint_t                      failed;
    ngx_uint_t                      pending;     /* answers awaited */

    /* the batch under way */
    lc_record_t                    *recs;
    ngx_uint_t                      n;
    ngx_uint_t                      more;
    ngx_uint_t                      checked[NGX_HTTP_LINKCERT_UPLOAD_BATCH];
    ngx_uint_t                      nchecked;
    u_char                          verdict[NGX_HTTP_LINKCERT_UPLOAD_BATCH];
    ngx_uint_t                      next;        /* in checked[] */
    u_char                          after[LC_DOMAIN_MAX + 1];
    size_t                          after_len;

    /* the pass's figures */
    ngx_uint_t                      domains;
    ngx_uint_t                      sent;
    ngx_uint_t                      kept;
    ngx_uint_t                      taken;
    ngx_uint_t                      statuses;
    ngx_msec_t                      began;
    double                          longest;     /* ms, a turn's work */
    double                          work;        /* ms, all turns' */
    ngx_uint_t                      turns;
};


/* a domain's request under way */
typedef struct {
    ngx_http_linkcert_upload_t     *up;
    size_t                          len;
    char                            name[LC_DOMAIN_MAX + 1];
} ngx_http_linkcert_upload_entry_t;


extern ngx_http_linkcert_upload_t  *ngx_http_linkcert_upload;


ngx_int_t ngx_http_linkcert_upload_send(ngx_http_linkcert_upload_t *up,
    lc_record_t *rec);
ngx_int_t ngx_http_linkcert_upload_take(ngx_http_linkcert_upload_t *up,
    lc_record_t *rec);
ngx_http_linkcert_upload_entry_t *ngx_http_linkcert_upload_entry(
    ngx_http_linkcert_upload_t *up, lc_record_t *rec);
void ngx_http_linkcert_upload_done(ngx_http_linkcert_upload_t *up);


#endif /* _NGX_HTTP_LINKCERT_REDIS_UPLOAD_H_INCLUDED_ */
