
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: a Sentinel failover that lost the last writes loses nothing
 * the edges hold.  Redis replicates asynchronously: what the old master
 * acknowledged and had not yet sent to the replica promoted is not on the
 * new master, and the fleet's epoch, replicated long before, does not
 * tell.
 *
 * - When a worker follows a failover (the Sentinels name another master
 *   than the one it had, ngx_http_linkcert_redis_sentinel.c), worker 0
 *   makes, once it is connected to the new master, the pass it makes at
 *   its start (ngx_http_linkcert_redis_upload.c): every certificate it
 *   serves is checked against the master (pipelined in scripts, 128 a
 *   request), and only those the master lacks, or has older, are
 *   uploaded.  Every edge does so: what any of them holds goes back.
 *
 * - The fleet's sequence jumps ahead on a server that did not number the
 *   last changes (NGX_HTTP_LINKCERT_REDIS_SEQ_LUA): an edge that applied
 *   changes the new master lost (its redis.seq ahead of the master's
 *   sequence) would otherwise take the new master's next changes, given
 *   the same numbers, for ones it applied already, and never apply them.
 *   Worker 0's look at the sequence makes the jump too, so the edge does
 *   not read every change again from the first (as it does after Redis
 *   lost all its data).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert_redis.h"


/* KEYS[1] the sequence: its value, after the jump if it is due */

static char  ngx_http_linkcert_failover_seq_lua[] =
    NGX_HTTP_LINKCERT_REDIS_SEQ_LUA
    "rebase(KEYS[1]) "
    "return redis.call('GET', KEYS[1])";


/* this worker followed a failover that its pass has not checked yet */
static ngx_uint_t  ngx_http_linkcert_failover_due;


/* the Sentinels named another master: worker 0's next pass checks it */

void
ngx_http_linkcert_redis_failover_followed(void)
{
    ngx_http_linkcert_failover_due = 1;
}


/* worker 0: a failover to check (told once; again after a failed pass) */

ngx_uint_t
ngx_http_linkcert_redis_failover_take(void)
{
    ngx_uint_t  due;

    due = ngx_http_linkcert_failover_due;
    ngx_http_linkcert_failover_due = 0;

    return due;
}


/* the fleet's sequence, as worker 0 looks at it before reading changes */

ngx_int_t
ngx_http_linkcert_redis_seq_get(ngx_http_linkcert_redis_handler_pt handler,
    void *data)
{
    u_char       seq[NGX_HTTP_LINKCERT_REDIS_KEY_MAX];
    size_t       lens[4];
    const char  *argv[4];

    argv[0] = "EVAL";
    lens[0] = 4;
    argv[1] = ngx_http_linkcert_failover_seq_lua;
    lens[1] = sizeof(ngx_http_linkcert_failover_seq_lua) - 1;
    argv[2] = "1";
    lens[2] = 1;
    argv[3] = (char *) seq;
    lens[3] = ngx_http_linkcert_redis_name(seq, "seq", NULL, 0);

    return ngx_http_linkcert_redis_command(4, argv, lens, handler, data)
           ? NGX_OK : NGX_ERROR;
}
