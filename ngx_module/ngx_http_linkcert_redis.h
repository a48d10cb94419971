
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: several edges on one Redis ("linkcert_redis"): the
 * configuration, the client in each worker's event loop, and what the
 * fleet keeps there.
 */


#ifndef _NGX_HTTP_LINKCERT_REDIS_H_INCLUDED_
#define _NGX_HTTP_LINKCERT_REDIS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <hiredis/hiredis.h>

#include "lc_seal.h"
#include "lc_chain.h"
#include "ngx_http_linkcert.h"
#include "ngx_http_linkcert_state.h"


typedef struct ngx_http_linkcert_redis_conf_s {
    ngx_addr_t                     addr;         /* the server, no name */
    ngx_array_t                   *sentinels;    /* of ngx_addr_t */
    ngx_str_t                      sentinel;     /* the master's name */
    ngx_str_t                      password;     /* empty: no AUTH */
    ngx_str_t                      sentinel_password;    /* the same */
    ngx_uint_t                     db;
    ngx_str_t                      prefix;       /* of every key */
    ngx_msec_t                     timeout;      /* of every request */
    ngx_msec_t                     lease;        /* of a domain's job */
    ngx_str_t                      edge;         /* linkcert_edge */
    u_char                         key[LC_SEAL_KEY_LEN];
    ngx_flag_t                     key_set;      /* linkcert_redis_key */
    u_char                        *file;         /* where linkcert_redis */
    ngx_uint_t                     line;         /*   was */
} ngx_http_linkcert_redis_conf_t;


/* ngx_http_linkcert_redis_conf.c: the directives */

char *ngx_http_linkcert_redis(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_linkcert_redis_key(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_linkcert_edge(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_linkcert_redis_init_conf(ngx_conf_t *cf,
    ngx_http_linkcert_main_conf_t *lmcf);


/* ngx_http_linkcert_redis.c and _redis_conn.c: the client */

/* a Lua script, loaded on every connection, run with EVALSHA */
typedef struct {
    const char                    *text;
    const char                    *nkeys;        /* "1" */
    char                           sha[41];      /* hex SHA-1 of text */
} ngx_http_linkcert_redis_script_t;

/* every script of the fleet, NULL-terminated (ngx_http_linkcert_lease.c) */
extern ngx_http_linkcert_redis_script_t  *ngx_http_linkcert_redis_scripts[];

typedef struct ngx_http_linkcert_redis_req_s  ngx_http_linkcert_redis_req_t;

/* reply is NULL and error says why when there is none (the reply may be
 * a Redis error: REDIS_REPLY_ERROR); the reply is freed after the call */
typedef void (*ngx_http_linkcert_redis_handler_pt)(void *data,
    redisReply *reply, const char *error);

/* a connection: this worker's for commands, worker 0's subscriber */
typedef struct ngx_http_linkcert_redis_conn_s  ngx_http_linkcert_redis_conn_t;

/* connected and set up (again: after a loss) */
typedef void (*ngx_http_linkcert_redis_ready_pt)(void *data,
    ngx_uint_t again);

/* a subscriber's message (freed after the call) */
typedef void (*ngx_http_linkcert_redis_push_pt)(void *data,
    redisReply *reply);

/* a bare connection was closed (not by its owner): why */
typedef void (*ngx_http_linkcert_redis_closed_pt)(void *data,
    const char *reason);

ngx_int_t ngx_http_linkcert_redis_init_process(ngx_cycle_t *cycle);
void ngx_http_linkcert_redis_exit_process(ngx_cycle_t *cycle);
ngx_http_linkcert_redis_req_t *ngx_http_linkcert_redis_command(int argc,
    const char **argv, const size_t *argvlen,
    ngx_http_linkcert_redis_handler_pt handler, void *data);
ngx_http_linkcert_redis_req_t *ngx_http_linkcert_redis_eval(
    ngx_http_linkcert_redis_script_t *script, int argc, const char **argv,
    const size_t *argvlen, ngx_http_linkcert_redis_handler_pt handler,
    void *data);
void ngx_http_linkcert_redis_cancel(ngx_http_linkcert_redis_req_t *req);
ngx_http_linkcert_redis_conn_t *ngx_http_linkcert_redis_conn_create(
    ngx_cycle_t *cycle, ngx_http_linkcert_redis_conf_t *conf,
    const char *role, ngx_http_linkcert_redis_ready_pt ready,
    ngx_http_linkcert_redis_push_pt push, void *data);
ngx_http_linkcert_redis_conn_t *ngx_http_linkcert_redis_conn_bare(
    ngx_cycle_t *cycle, ngx_http_linkcert_redis_conf_t *conf,
    ngx_http_linkcert_redis_closed_pt closed,
    ngx_http_linkcert_redis_push_pt push, void *data);
void ngx_http_linkcert_redis_conn_start(ngx_http_linkcert_redis_conn_t *conn);
void ngx_http_linkcert_redis_conn_open(ngx_http_linkcert_redis_conn_t *conn,
    ngx_addr_t *addr);
void ngx_http_linkcert_redis_conn_free(ngx_http_linkcert_redis_conn_t *conn);
ngx_http_linkcert_redis_req_t *ngx_http_linkcert_redis_conn_command(
    ngx_http_linkcert_redis_conn_t *conn, int argc, const char **argv,
    const size_t *argvlen, ngx_http_linkcert_redis_handler_pt handler,
    void *data);
ngx_uint_t ngx_http_linkcert_redis_conn_ready(
    ngx_http_linkcert_redis_conn_t *conn);
ngx_str_t *ngx_http_linkcert_redis_conn_name(
    ngx_http_linkcert_redis_conn_t *conn);
void ngx_http_linkcert_redis_conn_close(ngx_http_linkcert_redis_conn_t *conn,
    const char *reason);
ngx_http_linkcert_redis_conf_t *ngx_http_linkcert_redis_fleet(void);
ngx_addr_t *ngx_http_linkcert_redis_connect_to(
    ngx_http_linkcert_redis_conn_t *conn,
    ngx_http_linkcert_redis_conf_t *conf);
ngx_uint_t ngx_http_linkcert_redis_connected(void);
ngx_uint_t ngx_http_linkcert_redis_away(void);


/* ngx_http_linkcert_redis_challenge.c: HTTP-01 across the fleet */

ngx_int_t ngx_http_linkcert_redis_challenge_set(const char *domain,
    const char *token, const char *key_authorization,
    ngx_http_linkcert_state_handler_pt handler, void *data);
void ngx_http_linkcert_redis_challenge_del(const char *token);
ngx_int_t ngx_http_linkcert_redis_challenge_get(ngx_http_request_t *r,
    ngx_str_t *domain, ngx_str_t *token, u_char *buf, size_t *len);


/* ngx_http_linkcert_lease.c: one edge at a time on a domain's order */

typedef struct ngx_http_linkcert_lease_s  ngx_http_linkcert_lease_t;

/*
 * A job that found the lease another edge's (held, or taken during its
 * order) asks again in s (or when the holder's runs out, if sooner).
 */
#define NGX_HTTP_LINKCERT_LEASE_WAIT   1

ngx_int_t ngx_http_linkcert_lease_take(const char *domain,
    ngx_http_linkcert_state_lease_t *lease,
    ngx_http_linkcert_state_handler_pt handler, void *data);
void ngx_http_linkcert_lease_release(ngx_http_linkcert_state_lease_t *lease);
ngx_uint_t ngx_http_linkcert_lease_held(
    ngx_http_linkcert_state_lease_t *lease);
time_t ngx_http_linkcert_lease_retry(void);
u_char *ngx_http_linkcert_lease_value(
    ngx_http_linkcert_state_lease_t *lease, size_t *len);


/* ngx_http_linkcert_redis_order.c: the order being worked on, kept */

typedef struct {
    u_char                        *saved;        /* lc_acme_save()'s */
    size_t                         saved_len;
    u_char                        *account_key;  /* PEM */
    size_t                         account_key_len;
    char                           kid[LC_ACME_URL_MAX];
} ngx_http_linkcert_redis_order_rec_t;

/* rec: the order read (NULL when there is none), or NULL after a write */
typedef void (*ngx_http_linkcert_redis_order_handler_pt)(void *data,
    ngx_int_t rc, ngx_http_linkcert_redis_order_rec_t *rec);

typedef struct {
    ngx_http_linkcert_redis_req_t            *req;   /* in flight */
    ngx_http_linkcert_redis_order_handler_pt  handler;
    void                                     *data;
    const char                               *domain;
} ngx_http_linkcert_redis_order_t;

ngx_int_t ngx_http_linkcert_redis_order_put(ngx_http_linkcert_redis_order_t *o,
    ngx_http_linkcert_state_lease_t *lease, const char *saved, size_t len,
    lc_acme_account_t *acct);
ngx_int_t ngx_http_linkcert_redis_order_get(
    ngx_http_linkcert_redis_order_t *o);
void ngx_http_linkcert_redis_order_del(const char *domain,
    ngx_http_linkcert_state_lease_t *lease);
void ngx_http_linkcert_redis_order_cancel(ngx_http_linkcert_redis_order_t *o);


/* ngx_http_linkcert_budgets.c: the fleet's budgets */

typedef struct ngx_http_linkcert_budgets_s  ngx_http_linkcert_budgets_t;

/* rc: NGX_OK counted; NGX_DECLINED a limit (err, wait s); NGX_ERROR no
 * answer from Redis (err, wait s) */
typedef void (*ngx_http_linkcert_budgets_handler_pt)(void *data,
    ngx_int_t rc, const lc_error_t *err, time_t wait);

extern ngx_http_linkcert_redis_script_t  ngx_http_linkcert_budgets_lua;
extern ngx_http_linkcert_redis_script_t  ngx_http_linkcert_budgets_failed_lua;
extern ngx_http_linkcert_redis_script_t  ngx_http_linkcert_budgets_admit_lua;
extern ngx_http_linkcert_redis_script_t  ngx_http_linkcert_budgets_reissue_lua;

ngx_int_t ngx_http_linkcert_budgets_check(const char *domain,
    uint32_t job_id, ngx_http_linkcert_budgets_handler_pt handler,
    void *data, ngx_http_linkcert_budgets_t **b);
void ngx_http_linkcert_budgets_cancel(ngx_http_linkcert_budgets_t *b);
void ngx_http_linkcert_budgets_failed(const char *domain);
ngx_int_t ngx_http_linkcert_budgets_admit(const char *name, uint32_t job_id,
    lc_lifecycle_action_e action, ngx_log_t *log);


/* ngx_http_linkcert_acme_account.c: the fleet's ACME account key */

extern ngx_http_linkcert_redis_script_t  ngx_http_linkcert_account_lua;


/*
 * ngx_http_linkcert_redis_failover.c: a failover that lost the last writes
 * loses nothing the edges hold.
 *
 * The fleet's sequence (<prefix>seq) never gives a number twice, even
 * after a server took over that had not all the changes numbered before
 * (a replica promoted, a restart): every script that numbers a change,
 * and worker 0's look at the sequence, first makes the numbers jump ahead
 * if the server is another one than the one that numbered the last (its
 * replication ID, INFO replication's master_replid, new at each promotion
 * and start; kept in <prefix>seq:server by the first change a server
 * numbers: a look alone keeps nothing).  k: the sequence's key.  A
 * server that refuses INFO (an ACL, rename-command) numbers on without
 * the jump.  The jump's end is kept (<prefix>seq:floor): a domain's
 * fencing token (<prefix>fence:<domain>, f) given on the new server is
 * past it, so past every token the old server gave, even one the new
 * server never had (a lease lost with the old master).
 */

#define NGX_HTTP_LINKCERT_REDIS_SEQ_JUMP  "1048576"

#define NGX_HTTP_LINKCERT_REDIS_SEQ_LUA                                      \
    "local function rebase(k, numbering) "                                   \
    "  local info = redis.pcall('INFO', 'replication') "                     \
    "  if type(info) ~= 'string' then return end "                           \
    "  local id = string.match(info, 'master_replid:(%x+)') "                \
    "  local was = redis.call('GET', k .. ':server') "                       \
    "  if not id or was == id or not (was or numbering) then return end "    \
    "  if was then "                                                         \
    "    redis.call('SET', k .. ':floor', redis.call('INCRBY', k, "          \
    "               " NGX_HTTP_LINKCERT_REDIS_SEQ_JUMP ")) "                 \
    "  end "                                                                 \
    "  redis.call('SET', k .. ':server', id) "                               \
    "end "                                                                   \
    "local function next_seq(k) "                                            \
    "  rebase(k, true) "                                                     \
    "  return redis.call('INCR', k) "                                        \
    "end "                                                                   \
    "local function next_fence(f, k) "                                       \
    "  rebase(k) "                                                           \
    "  local n = redis.call('INCR', f) "                                     \
    "  local floor = tonumber(redis.call('GET', k .. ':floor') or '0') "     \
    "  if n <= floor then "                                                  \
    "    n = floor + 1 "                                                     \
    "    redis.call('SET', f, n) "                                           \
    "  end "                                                                 \
    "  return n "                                                            \
    "end "

void ngx_http_linkcert_redis_failover_followed(void);
ngx_uint_t ngx_http_linkcert_redis_failover_take(void);
ngx_int_t ngx_http_linkcert_redis_seq_get(
    ngx_http_linkcert_redis_handler_pt handler, void *data);


/* ngx_http_linkcert_redis_cert.c: certificates across the fleet */

/* a key's room: the prefix, a kind ("status:"), a domain */
#define NGX_HTTP_LINKCERT_REDIS_KEY_MAX  (64 + sizeof("status:")             \
                                          + LC_DOMAIN_MAX)

size_t ngx_http_linkcert_redis_name(u_char *buf, const char *what,
    const char *name, size_t len);
redisReply *ngx_http_linkcert_redis_field(redisReply *reply,
    const char *field);

/* how a record of the fleet is applied */
#define NGX_HTTP_LINKCERT_APPLY_EAGER  0     /* written, then served */
#define NGX_HTTP_LINKCERT_APPLY_LAZY   1     /* served, written later */
#define NGX_HTTP_LINKCERT_APPLY_FILL   2     /* written, served already */

/* a change of the fleet, as it is applied on this edge */
typedef struct ngx_http_linkcert_redis_change_s
    ngx_http_linkcert_redis_change_t;

/* a FILL's files written in a thread (the record's NGX_AGAIN): rc */
typedef void (*ngx_http_linkcert_redis_written_pt)(
    ngx_http_linkcert_redis_change_t *e, ngx_int_t rc);

struct ngx_http_linkcert_redis_change_s {
    void                          *data;         /* the reader's */
    ngx_http_linkcert_redis_written_pt  written; /* NULL: written here */
    ngx_uint_t                     mode;         /* NGX_HTTP_LINKCERT_APPLY_ */
    uint64_t                       seq;
    size_t                         len;
    char                           name[LC_DOMAIN_MAX + 1];
};

ngx_int_t ngx_http_linkcert_redis_cert_put(
    ngx_http_linkcert_main_conf_t *lmcf, const char *name, const char *key,
    size_t key_len, const char *chain, size_t chain_len, uint64_t fence,
    ngx_http_linkcert_state_handler_pt handler, void *data, ngx_log_t *log);
ngx_int_t ngx_http_linkcert_redis_cert_remove(u_char *name, size_t len,
    ngx_http_linkcert_state_handler_pt handler, void *data, ngx_log_t *log);
size_t ngx_http_linkcert_redis_cert_info(const char *name, size_t name_len,
    const char *key, size_t key_len, const char *chain, size_t chain_len,
    u_char *out, lc_cert_info_t *info, ngx_log_t *log);
size_t ngx_http_linkcert_redis_cert_rank(lc_cert_info_t *ci,
    u_char *not_after, u_char *serial, size_t *serial_len);
ngx_int_t ngx_http_linkcert_redis_cert_init_process(ngx_cycle_t *cycle);
void ngx_http_linkcert_redis_cert_exit_process(ngx_cycle_t *cycle);
void ngx_http_linkcert_redis_cert_changed(void);
ngx_int_t ngx_http_linkcert_redis_apply(ngx_http_linkcert_main_conf_t *lmcf,
    const char *name, size_t len, uint64_t seq, redisReply *record,
    ngx_log_t *log);
uint64_t ngx_http_linkcert_redis_applied(void);
void ngx_http_linkcert_redis_reread(void);


/* ngx_http_linkcert_redis_issuer.c: a CA's intermediates kept once */

/*
 * A record with its intermediates, in a script: record(key, prefix,
 * first) is HGETALL key, and if the record names intermediates (field
 * issuer) that are not among ARGV[first..], their PEM added as a field
 * issuer_pem.
 */
#define NGX_HTTP_LINKCERT_REDIS_RECORD_LUA                                   \
    "local function record(k, prefix, first) "                               \
    "  local r = redis.call('HGETALL', k) "                                  \
    "  for i = 1, #r, 2 do "                                                 \
    "    if r[i] == 'issuer' then "                                          \
    "      for j = first, #ARGV do "                                         \
    "        if ARGV[j] == r[i + 1] then return r end "                      \
    "      end "                                                             \
    "      local pem = redis.call('GET', prefix .. 'issuer:' .. r[i + 1]) "  \
    "      if pem then r[#r + 1] = 'issuer_pem' r[#r + 1] = pem end "        \
    "      return r "                                                        \
    "    end "                                                               \
    "  end "                                                                 \
    "  return r "                                                            \
    "end "

/*
 * A record's pair written in a script: pair(record, intermediates' key,
 * chain, name, PEM) writes the whole chain (name '': no intermediates),
 * or the leaf and the intermediates' name, the intermediates with SET NX.
 */
#define NGX_HTTP_LINKCERT_REDIS_PAIR_LUA                                     \
    "local function pair(k, ikey, chain, id, pem) "                          \
    "  if id == '' then "                                                    \
    "    redis.call('HSET', k, 'chain', chain) "                             \
    "    return "                                                            \
    "  end "                                                                 \
    "  redis.call('SET', ikey, pem, 'NX') "                                  \
    "  redis.call('HSET', k, 'leaf', chain, 'issuer', id) "                  \
    "end "

/* a chain as a record carries it: chain[0, leaf_len) and pem, named id */
typedef struct {
    size_t                         leaf_len;     /* of the chain, written */
    const char                    *pem;          /* the intermediates */
    size_t                         pem_len;      /* 0: none */
    u_char                         id[LC_CHAIN_ID_LEN];
    size_t                         id_len;       /* 0: none */
    u_char                         key[NGX_HTTP_LINKCERT_REDIS_KEY_MAX];
    size_t                         key_len;      /* <prefix>issuer:<id> */
} ngx_http_linkcert_redis_pair_t;

extern ngx_http_linkcert_redis_script_t  ngx_http_linkcert_record_lua;

ngx_int_t ngx_http_linkcert_redis_record_get(const char *name, size_t len,
    ngx_http_linkcert_redis_handler_pt handler, void *data);
void ngx_http_linkcert_redis_issuer_split(const char *chain, size_t len,
    ngx_http_linkcert_redis_pair_t *pair);
void ngx_http_linkcert_redis_issuer_argv(ngx_http_linkcert_redis_pair_t *pair,
    const char *chain, const char **argv, size_t *lens, ngx_uint_t key,
    ngx_uint_t leaf, ngx_uint_t id);
ngx_int_t ngx_http_linkcert_redis_issuer_chain(redisReply *record,
    const char *name, ngx_str_t *chain, ngx_log_t *log);
void ngx_http_linkcert_redis_issuer_upgrade(ngx_str_t *store,
    ngx_log_t *log);


/* ngx_http_linkcert_redis_record.c: one record applied on this edge */

ngx_int_t ngx_http_linkcert_redis_record_apply(
    ngx_http_linkcert_main_conf_t *lmcf, ngx_http_linkcert_redis_change_t *e,
    redisReply *reply, ngx_uint_t again, ngx_log_t *log);
ngx_int_t ngx_http_linkcert_redis_apply_fill(
    ngx_http_linkcert_main_conf_t *lmcf, ngx_http_linkcert_redis_change_t *e,
    redisReply *record, ngx_log_t *log);
ngx_int_t ngx_http_linkcert_redis_record_serve(
    ngx_http_linkcert_main_conf_t *lmcf, ngx_http_linkcert_redis_change_t *e,
    lc_cert_info_t *info, ngx_uint_t same, ngx_int_t carried, ngx_log_t *log);


/* ngx_http_linkcert_redis_lazy.c: a lazy catch-up's files, the sync */

ngx_int_t ngx_http_linkcert_redis_lazy_fetch(
    ngx_http_linkcert_main_conf_t *lmcf, u_char *name, size_t len);
ngx_uint_t ngx_http_linkcert_redis_lazy_fetching(u_char *name, size_t len);
ngx_msec_t ngx_http_linkcert_redis_lazy_hold(void);
ngx_int_t ngx_http_linkcert_redis_lazy_write(
    ngx_http_linkcert_main_conf_t *lmcf, ngx_http_linkcert_redis_change_t *e,
    u_char *key, size_t key_len, ngx_str_t *chain, lc_cert_info_t *info,
    ngx_int_t carried, ngx_log_t *log);
ngx_int_t ngx_http_linkcert_redis_lazy_sync(
    ngx_http_linkcert_main_conf_t *lmcf, uint64_t value,
    ngx_http_linkcert_state_handler_pt handler, void *data, ngx_log_t *log);


/* ngx_http_linkcert_redis_pending.c: changes written when Redis is back */

ngx_int_t ngx_http_linkcert_redis_pending_init_process(ngx_cycle_t *cycle);
void ngx_http_linkcert_redis_pending_exit_process(ngx_cycle_t *cycle);
void ngx_http_linkcert_redis_pending_add(const char *name, uint64_t fence,
    ngx_uint_t away, ngx_log_t *log);
void ngx_http_linkcert_redis_pending_flush(void);
ngx_uint_t ngx_http_linkcert_redis_pending_has(const char *name);
ngx_int_t ngx_http_linkcert_redis_store_file(ngx_str_t *store, u_char *name,
    size_t len, const char *what, ngx_http_linkcert_file_t *file);


/* ngx_http_linkcert_redis_upload.c: what this edge holds, to the fleet */

ngx_int_t ngx_http_linkcert_redis_upload_init_process(ngx_cycle_t *cycle);
void ngx_http_linkcert_redis_upload_exit_process(ngx_cycle_t *cycle);
void ngx_http_linkcert_redis_upload_connected(void);
void ngx_http_linkcert_redis_upload_offer(void);


/* ngx_http_linkcert_redis_status.c: one status everywhere */

/* the status API's answer of a JSON object (taken) */
typedef ngx_int_t (*ngx_http_linkcert_status_send_pt)(ngx_http_request_t *r,
    ngx_uint_t status, json_t *json);

void ngx_http_linkcert_redis_status_put(lc_record_t *rec);
void ngx_http_linkcert_redis_status_hold(ngx_uint_t hold);
ngx_int_t ngx_http_linkcert_redis_status_get(ngx_http_request_t *r,
    lc_record_t *rec, ngx_uint_t public,
    ngx_http_linkcert_status_send_pt send);
ngx_int_t ngx_http_linkcert_redis_status_delete(ngx_http_request_t *r,
    u_char *name, size_t len, ngx_http_linkcert_status_send_pt send);


/* ngx_http_linkcert_redis_delete.c: DELETE answered once Redis has it */

ngx_int_t ngx_http_linkcert_redis_delete_object(ngx_http_request_t *r,
    u_char *name, size_t len, const char *object, size_t object_len);


/* ngx_http_linkcert_redis_domains.c: /domains the same on every edge */

/* the edge's own page of /domains (the API's) */
typedef ngx_int_t (*ngx_http_linkcert_domains_local_pt)(
    ngx_http_request_t *r, ngx_str_t *after, ngx_int_t status,
    ngx_uint_t limit);

ngx_int_t ngx_http_linkcert_redis_domains(ngx_http_request_t *r,
    ngx_str_t *after, ngx_int_t status, ngx_uint_t limit,
    ngx_http_linkcert_domains_local_pt local);


/* ngx_http_linkcert_redis_sub.c: worker 0's subscription to the changes */

ngx_int_t ngx_http_linkcert_redis_sub_init_process(ngx_cycle_t *cycle);
void ngx_http_linkcert_redis_sub_exit_process(ngx_cycle_t *cycle);


/* ngx_http_linkcert_redis_sentinel.c: the master named by Sentinels */

ngx_int_t ngx_http_linkcert_redis_sentinel_init_process(ngx_cycle_t *cycle);
void ngx_http_linkcert_redis_sentinel_exit_process(ngx_cycle_t *cycle);
ngx_addr_t *ngx_http_linkcert_redis_sentinel_pick(
    ngx_http_linkcert_redis_conn_t *conn);


/* ngx_http_linkcert_redis_due.c: renewals and re-checks spread over the
 * fleet (and ngx_http_linkcert_table.h) */

ngx_int_t ngx_http_linkcert_redis_due_init_process(ngx_cycle_t *cycle);
void ngx_http_linkcert_redis_due_exit_process(ngx_cycle_t *cycle);
void ngx_http_linkcert_redis_fleet_forget(u_char *name, size_t len);


/* ngx_http_linkcert_redis_orphan.c: orders left by a dead edge taken
 * over; the fleet's order budget at a reissue's POST */

/* the POST goes on (the API's) */
typedef ngx_int_t (*ngx_http_linkcert_reissue_pt)(ngx_http_request_t *r,
    char *name, size_t len, ngx_uint_t reissue);

void ngx_http_linkcert_redis_orphans_claim(
    ngx_http_linkcert_main_conf_t *lmcf, ngx_log_t *log);
ngx_int_t ngx_http_linkcert_redis_reissue(ngx_http_request_t *r, char *name,
    size_t len, ngx_http_linkcert_reissue_pt post);


#endif /* _NGX_HTTP_LINKCERT_REDIS_H_INCLUDED_ */
