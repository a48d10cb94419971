
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the state boundary.
 *
 * What outlives a process or is shared beyond one edge goes through this
 * table of operations, as mod_md's md_store_t: a domain's certificate
 * pair, the order being worked on, the ACME account keys, HTTP-01 key
 * authorizations, and the lease that says which process works on a
 * domain.  The ACME driver and the API call these operations and never
 * name a path or a file of the store.
 *
 * The shared zone's domain table (ngx_http_linkcert_table.c) is each
 * edge's working view of the domains' lifecycle (status, stage, retries,
 * failover, due times) and stays behind its own functions: the same for
 * every implementation.  The boundary is what an implementation makes
 * durable or shares.
 *
 * Two implementations.  "local" (ngx_http_linkcert_state_local.c): the
 * directory store (README's "The store") and the shared zone, one
 * machine.  "redis" (ngx_http_linkcert_state_redis.c), with
 * linkcert_redis: the fleet's, which keeps the local one underneath as
 * its copy and delegates to it, and adds what the edges share: the
 * lease in Redis, a save's fenced change, a removal's change, the HTTP-01
 * key authorizations, the order kept for a takeover
 * (ngx_http_linkcert_redis_order.c: written by order_write, deleted by
 * order_drop, read by lease_take).  The ACME driver and the API call
 * only the table.  One fleet operation stays beside it: the HTTP-01
 * responder asks Redis itself (ngx_http_linkcert_redis_challenge_get())
 * when challenge_get does not know a token, since that waits on the
 * network (an HTTP-01 request, unlike a handshake, can) and reads here
 * never do.
 *
 *
 * The contract
 * ------------
 *
 * Processes.  Every operation is called from a worker's (or the
 * master's) event loop, never from a thread.  Who calls what:
 *
 *     read_cert                   any worker (a handshake's cache miss)
 *     read_chain                  worker 0 (a renewal's ARI identifier)
 *     challenge_get               any worker (an HTTP-01 request)
 *     remove                      any worker (DELETE of the API)
 *     save, lease_*, challenge_set, challenge_del, order_*, account_*
 *                                 worker 0 only: the ACME driver
 *
 * Two kinds of operations.
 *
 *   Reads are synchronous and never go over the network: they answer
 *   from what this machine holds (a handshake cannot wait on a round
 *   trip).  An implementation that shares state keeps a local copy
 *   current (it writes the pairs and tokens it is told about into it)
 *   and reads from that copy.
 *
 *   Writes that may go over the network take a handler and data.  They
 *   return:
 *       NGX_AGAIN     under way: handler(data, rc, value) is called once,
 *                     later, from the event loop, with the final rc;
 *       anything else the final result, at once; the handler is not
 *                     called.
 *   So the caller writes its continuation once and calls it itself when
 *   rc != NGX_AGAIN.  The caller keeps data alive until the handler runs;
 *   at process exit an implementation drops its pending operations
 *   without calling their handlers (nothing is left to resume).  The
 *   local implementation always answers at once.
 *
 * Results.  NGX_OK: done.  NGX_DECLINED: refused for a reason the
 * operation names (a stale fence, a name taken, nothing there).
 * NGX_ERROR: failed (disk full, no answer); the implementation has
 * logged why, the caller says what it means for the domain.
 *
 * Leases and fences.  A domain is worked on by one process at a time,
 * under a lease.  lease_take gives a fence, a number that grows each time
 * the domain is leased; a save carries it and is refused (NGX_DECLINED)
 * when another lease was taken since, or the domain is gone: a process
 * that lost its lease (stopped, partitioned, too slow) cannot overwrite
 * a newer certificate.  A refusal because of another holder sets
 * lease->error (fleet_busy, saying who or which fences) and lease->retry
 * (when to try again), for lease_take and save alike; a refusal without
 * lease->error means the domain is gone.  Every job whose lease_take was
 * called ends with lease_end (after lease_release, it does nothing).
 * An implementation that learns a lease lost (a renewal found another
 * holder) sets lease->lost and lease->retry: the holder stops at its
 * next step, before the fence would refuse it.
 *
 * Locally the lease is the zone's claim that ngx_http_linkcert_table_
 * due() hands worker 0 (its job_id is the fence).  The fleet's is the
 * zone's claim and a key in Redis set with NX and an expiry, whose
 * fencing token (a counter per domain in Redis) is the fence; the
 * implementation renews it itself while it is held and deletes it on
 * release if it still holds it.  Its save is refused inside Redis, by
 * the script that writes the change, when the domain's counter has grown
 * past the lease's fence; the local save follows only a change Redis
 * took, so a stale certificate reaches neither the fleet nor the store.
 *
 * Loading.  The zone is filled from the directory store by the loader
 * (ngx_http_linkcert_loader.c, in the master, at start and reload),
 * which is the local implementation's own: an implementation that
 * shares state keeps that directory current as its local copy, so the
 * loader needs no operation of this table.
 *
 * Atomicity.  A save publishes the key and the chain together: a reader
 * sees the old pair or the new one, never half of each, after a crash at
 * any point or a full disk (the old pair then stays).  A save is
 * published to every process that serves the domain; the value given
 * back identifies the new version (locally the files' stamp, which the
 * table keeps and the index compares; remotely a sequence number).
 */


#ifndef _NGX_HTTP_LINKCERT_STATE_H_INCLUDED_
#define _NGX_HTTP_LINKCERT_STATE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_linkcert.h"


/* rc: the final result; value: what the operation gives back */
typedef void (*ngx_http_linkcert_state_handler_pt)(void *data, ngx_int_t rc,
    uint64_t value);


/* an order taken over from another edge: the account it was placed with */
typedef struct {
    u_char                        *key;          /* PEM, wiped when freed */
    size_t                         key_len;
    char                           kid[LC_ACME_URL_MAX];
} ngx_http_linkcert_state_account_t;


/* a domain's lease, held by the process that took it */
typedef struct {
    uint32_t                       job_id;       /* the zone's claim */
    uint64_t                       fence;        /* grows with each lease */
    uint64_t                       fleet_seq;    /* taken: the change of the
                                                    fleet's certificate of
                                                    another edge, or 0 */
    void                          *held;         /* the implementation's */
    void                          *op;           /* the implementation's:
                                                    an order's read or
                                                    write under way */
    ngx_http_linkcert_state_account_t  *taken;   /* set by lease_take: the
                                                    order is another
                                                    edge's */
    ngx_uint_t                     lost;         /* known lost since */
    time_t                         retry;        /* refused: ask again in s */
    lc_error_t                     error;        /* refused: why */
} ngx_http_linkcert_state_lease_t;


struct ngx_http_linkcert_state_s {
    const char                    *name;         /* "local" */
    void                          *data;         /* the implementation's */

    /*
     * A domain's pair, parsed and checked (lc_cert_check()) for serving;
     * NULL and err set when there is none usable.  err->type
     * "store_unreadable" means it may be read at a later try.
     */
    lc_cert_t  *(*read_cert)(ngx_http_linkcert_state_t *st, u_char *name,
                   size_t len, lc_error_t *err, ngx_log_t *log);

    /*
     * A domain's chain as saved (PEM, leaf first), for the certificate's
     * ARI identifier: NGX_OK and file->data to ngx_free(), or
     * NGX_DECLINED when there is none.
     */
    ngx_int_t   (*read_chain)(ngx_http_linkcert_state_t *st,
                   const char *name, ngx_http_linkcert_file_t *file);

    /*
     * Publishes a new pair of the domain atomically, fenced by lease.
     * The pair's new version goes into *version when the answer is at
     * once, else to the handler's value.  NGX_DECLINED: the lease is
     * stale (lease->error set) or the domain is gone; nothing was
     * written.
     */
    ngx_int_t   (*save)(ngx_http_linkcert_state_t *st,
                   ngx_http_linkcert_state_lease_t *lease, const char *name,
                   const char *key, size_t key_len, const char *chain,
                   size_t chain_len, uint64_t *version,
                   ngx_http_linkcert_state_handler_pt h, void *data,
                   ngx_log_t *log);

    /*
     * The domain's pair leaves the set that is served and is kept aside
     * (locally in removed/ for linkcert_removed_keep).  The caller has
     * already taken the domain out of its table and does not wait: the
     * implementation logs a failure.
     */
    void        (*remove)(ngx_http_linkcert_state_t *st, u_char *name,
                   size_t len, ngx_log_t *log);

    /*
     * The lease of a domain that ngx_http_linkcert_table_due() handed to
     * this process under job_id.  lease->fence is set when the answer
     * is at once, else given as the handler's value.  NGX_DECLINED:
     * another process holds it; NGX_ERROR: it could not be asked for
     * (lease->error set when it is worth telling the domain's status).
     */
    ngx_int_t   (*lease_take)(ngx_http_linkcert_state_t *st,
                   const char *name, uint32_t job_id,
                   ngx_http_linkcert_state_lease_t *lease,
                   ngx_http_linkcert_state_handler_pt h, void *data,
                   ngx_log_t *log);

    /*
     * The domain is given back to the table under lease->job_id, due
     * again now, and the lease itself is let go if one was taken.
     * Nothing to wait for.
     */
    void        (*lease_release)(ngx_http_linkcert_state_t *st,
                   const char *name, ngx_http_linkcert_state_lease_t *lease);

    /*
     * The job is over, the table told how (issued, failed) or the domain
     * given back: the lease is let go if one was taken and is still held.
     * Called once for every job whose lease_take was called, whatever
     * it answered; a second call does nothing.
     */
    void        (*lease_end)(ngx_http_linkcert_state_t *st,
                   const char *name, ngx_http_linkcert_state_lease_t *lease);

    /*
     * An HTTP-01 key authorization, answered by every process (and every
     * edge sharing the state) until it is deleted or an hour has passed.
     * NGX_ERROR: no room; the validation will fail and say so.
     */
    ngx_int_t   (*challenge_set)(ngx_http_linkcert_state_t *st,
                   const char *domain, const char *token,
                   const char *key_authorization,
                   ngx_http_linkcert_state_handler_pt h, void *data,
                   ngx_log_t *log);
    void        (*challenge_del)(ngx_http_linkcert_state_t *st,
                   const char *token);

    /* as ngx_http_linkcert_challenge_get(): NGX_OK with buf, *len set */
    ngx_int_t   (*challenge_get)(ngx_http_linkcert_state_t *st,
                   ngx_str_t *domain, ngx_str_t *token, u_char *buf,
                   size_t *len);

    /*
     * The order a lease holder is working on (lc_acme_save()'s text), so
     * that its next holder resumes it rather than placing another.
     * order_read is synchronous and local: NGX_OK and file->data to wipe
     * and ngx_free(), or NGX_DECLINED when there is none.  order_write
     * keeps it, with the account it is placed with, under the lease:
     * the request that follows waits for NGX_OK (at once or from the
     * handler); NGX_DECLINED: the lease is lost (lease->error set), the
     * job stops; NGX_ERROR at once: not written.  order_drop forgets it
     * (the order ended).  lease_take makes the order its former holder
     * kept the one order_read gives (or none), lease->taken saying under
     * which account when it is another edge's.  An operation under way
     * is dropped by lease_release and lease_end, its handler not called.
     */
    ngx_int_t   (*order_read)(ngx_http_linkcert_state_t *st,
                   const char *name, ngx_http_linkcert_file_t *file);
    ngx_int_t   (*order_write)(ngx_http_linkcert_state_t *st,
                   ngx_http_linkcert_state_lease_t *lease, const char *name,
                   const char *data, size_t len, lc_acme_account_t *account,
                   ngx_http_linkcert_state_handler_pt h, void *hdata,
                   ngx_log_t *log);
    void        (*order_drop)(ngx_http_linkcert_state_t *st,
                   ngx_http_linkcert_state_lease_t *lease, const char *name,
                   ngx_log_t *log);

    /*
     * An ACME account's private key (PEM) by name (account.key,
     * backup-<host>.key).  account_read: NGX_OK and file->data to wipe
     * and ngx_free(); NGX_DECLINED when there is none yet; NGX_ERROR with
     * err set.  account_create stores a new one only if there is none:
     * NGX_DECLINED when another process or edge made one first (read it
     * again).  Called when worker 0 starts, before any order.
     */
    ngx_int_t   (*account_read)(ngx_http_linkcert_state_t *st,
                   const char *name, ngx_http_linkcert_file_t *file,
                   lc_error_t *err);
    ngx_int_t   (*account_create)(ngx_http_linkcert_state_t *st,
                   const char *name, const char *pem, size_t len,
                   ngx_log_t *log);
};


/* ngx_http_linkcert_state_local.c */

ngx_http_linkcert_state_t *ngx_http_linkcert_state_local(ngx_conf_t *cf,
    ngx_http_linkcert_main_conf_t *lmcf);


/* ngx_http_linkcert_state_redis.c */

ngx_http_linkcert_state_t *ngx_http_linkcert_state_redis(ngx_conf_t *cf,
    ngx_http_linkcert_main_conf_t *lmcf, ngx_http_linkcert_state_t *local);


#endif /* _NGX_HTTP_LINKCERT_STATE_H_INCLUDED_ */
