
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: shared declarations of the nginx glue.
 */


#ifndef _NGX_HTTP_LINKCERT_H_INCLUDED_
#define _NGX_HTTP_LINKCERT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "lc_domain.h"
#include "lc_error.h"
#include "lc_cert.h"
#include "lc_status.h"
#include "lc_verify.h"
#include "lc_http.h"
#include "lc_acme.h"
#include "lc_acme_problem.h"
#include "lc_failover.h"
#include "lc_lifecycle.h"
#include "lc_metrics.h"
#include "lc_limits.h"


#define NGX_HTTP_LINKCERT_KEY_HASH_LEN  32
#define NGX_HTTP_LINKCERT_LEASES        128
#define NGX_HTTP_LINKCERT_ISSUERS       255
#define NGX_HTTP_LINKCERT_HOLD_BUCKETS  LC_METRICS_HOLD_BUCKETS
#define NGX_HTTP_LINKCERT_HOLD_LE       LC_METRICS_HOLD_LE   /* ms */
#define NGX_HTTP_LINKCERT_WEBHOOK_RING  1024    /* events on their way to
                                                   worker 0 */


/* the counters' enums: the core's (lc_metrics.h), which renders them */

/* what an on-demand name met at the gates */
typedef enum {
    NGX_HTTP_LINKCERT_DEMAND_ADMITTED = LC_METRICS_DEMAND_ADMITTED,
    NGX_HTTP_LINKCERT_DEMAND_NEGATIVE = LC_METRICS_DEMAND_NEGATIVE,
    NGX_HTTP_LINKCERT_DEMAND_RATE = LC_METRICS_DEMAND_RATE,
    NGX_HTTP_LINKCERT_DEMAND_ASK = LC_METRICS_DEMAND_ASK,
    NGX_HTTP_LINKCERT_DEMAND_DNS = LC_METRICS_DEMAND_DNS,
    NGX_HTTP_LINKCERT_DEMAND_FULL = LC_METRICS_DEMAND_FULL,
    NGX_HTTP_LINKCERT_DEMAND_N = LC_METRICS_DEMAND_N
} ngx_http_linkcert_demand_e;


/* an order's result, counted by orders[] and origins[][] */
typedef enum {
    NGX_HTTP_LINKCERT_ORDER_ISSUED = LC_METRICS_ORDER_ISSUED,
    NGX_HTTP_LINKCERT_ORDER_FAILED = LC_METRICS_ORDER_FAILED,
    NGX_HTTP_LINKCERT_ORDER_TRANSIENT = LC_METRICS_ORDER_TRANSIENT,
    NGX_HTTP_LINKCERT_ORDER_N = LC_METRICS_ORDER_N
} ngx_http_linkcert_order_result_e;


/* a DNS verification's result */
typedef enum {
    NGX_HTTP_LINKCERT_DNS_VERIFIED = LC_METRICS_DNS_VERIFIED,
    NGX_HTTP_LINKCERT_DNS_FAILED = LC_METRICS_DNS_FAILED,
    NGX_HTTP_LINKCERT_DNS_TRANSIENT = LC_METRICS_DNS_TRANSIENT,
    NGX_HTTP_LINKCERT_DNS_N = LC_METRICS_DNS_N
} ngx_http_linkcert_dns_result_e;


/* a handshake on a linkcert server, by the certificate presented */
typedef enum {
    NGX_HTTP_LINKCERT_HANDSHAKE_CERTIFICATE = LC_METRICS_HANDSHAKE_CERTIFICATE,
    NGX_HTTP_LINKCERT_HANDSHAKE_FALLBACK = LC_METRICS_HANDSHAKE_FALLBACK,
    NGX_HTTP_LINKCERT_HANDSHAKE_HELD = LC_METRICS_HANDSHAKE_HELD,
    NGX_HTTP_LINKCERT_HANDSHAKE_N = LC_METRICS_HANDSHAKE_N
} ngx_http_linkcert_handshake_e;


/* a webhook POST's result, each attempt */
typedef enum {
    NGX_HTTP_LINKCERT_WEBHOOK_DELIVERED = LC_METRICS_WEBHOOK_DELIVERED,
    NGX_HTTP_LINKCERT_WEBHOOK_FAILED = LC_METRICS_WEBHOOK_FAILED,
    NGX_HTTP_LINKCERT_WEBHOOK_RESULTS = LC_METRICS_WEBHOOK_N
} ngx_http_linkcert_webhook_result_e;


/* why a webhook event was given up */
typedef enum {
    NGX_HTTP_LINKCERT_DROPPED_EXPIRED = LC_METRICS_DROPPED_EXPIRED,
    NGX_HTTP_LINKCERT_DROPPED_FULL = LC_METRICS_DROPPED_FULL,
    NGX_HTTP_LINKCERT_DROPPED_N = LC_METRICS_DROPPED_N
} ngx_http_linkcert_dropped_e;


/* counters for the metrics; atomics, updated outside the zone's lock */
typedef struct {
    ngx_atomic_t                   orders[NGX_HTTP_LINKCERT_ORDER_N];
    ngx_atomic_t                   dns[NGX_HTTP_LINKCERT_DNS_N];
    ngx_atomic_t                   handshakes[NGX_HTTP_LINKCERT_HANDSHAKE_N];
    ngx_atomic_t                   cache[LC_METRICS_CACHE_N];
    ngx_atomic_t                   cache_entries;  /* all workers */
    ngx_atomic_t                   cache_size;     /* each worker's limit */
    ngx_atomic_t                   hold[NGX_HTTP_LINKCERT_HOLD_BUCKETS];
    ngx_atomic_t                   hold_ms;        /* sum of holds */
    ngx_atomic_t                   demand[NGX_HTTP_LINKCERT_DEMAND_N];
    ngx_atomic_t                   renewals;
    ngx_atomic_t                   last_renewal;   /* time */
    ngx_atomic_t                   webhook_queued; /* in the store */
    ngx_atomic_t                   webhook[NGX_HTTP_LINKCERT_WEBHOOK_RESULTS];
    ngx_atomic_t                   webhook_dropped[NGX_HTTP_LINKCERT_DROPPED_N];
    ngx_atomic_t                   origins[LC_ORIGIN_N]
                                          [NGX_HTTP_LINKCERT_ORDER_N];
    ngx_atomic_t                   zone_full;      /* new domains refused */
    ngx_atomic_t                   hold_timeouts;
    ngx_atomic_t                   acme_requests;
    ngx_atomic_t                   acme_errors[LC_ACME_PROBLEM_N];

    /* the zone's lock: updated under it */
    uint64_t                       lock_holds;
    uint64_t                       lock_held_ns;   /* sum */
    uint64_t                       lock_max_ns;
} ngx_http_linkcert_stats_t;


/*
 * Webhook events on their way from any process to worker 0, which moves
 * them into the store: each slot an ngx_http_linkcert_webhook_slot_t in
 * the zone.  Only the owner takes them.
 */
typedef struct {
    void                          *slots[NGX_HTTP_LINKCERT_WEBHOOK_RING];
    ngx_uint_t                     head;         /* the next one written */
    ngx_uint_t                     tail;         /* the next one taken */
    ngx_pid_t                      owner;        /* the worker 0 that
                                                    delivers */
    ngx_pid_t                      taking;       /* a taker between the
                                                    ring and the store */
    ngx_atomic_t                   lost;         /* no room in the ring */
} ngx_http_linkcert_webhook_ring_t;


/*
 * One domain in the shared zone.  The tree is ordered by name (node.key
 * holds the first bytes of the name, big-endian, so comparing keys first
 * keeps that order); the name follows the structure.
 */
typedef struct {
    ngx_rbtree_node_t              node;
    ngx_rbtree_node_t              due;          /* key: msec of next work */
    ngx_queue_t                    kin;          /* the names of its */
    void                          *group;        /*   registered domain */
    u_char                        *dns;          /* the "dns" JSON text */
    uint64_t                       store_stamp;

    /*
     * The fields are ordered by size, so that an entry with a name of up
     * to 80 characters takes 512 bytes of the zone.  Times are seconds
     * since the epoch in 32 bits (until 2106).
     */

    uint32_t                       not_before;
    uint32_t                       not_after;
    uint32_t                       updated_at;
    uint32_t                       next_attempt_at;
    uint32_t                       error_at;
    uint32_t                       forced_at;    /* last "Verify domain" */
    uint32_t                       posted_ms;    /* the last "Verify domain"
                                                    answered: ms since the
                                                    epoch, its low 32 bits
                                                    (a removal from the
                                                    fleet written before it
                                                    does not undo it) */
    uint32_t                       renew_ari;    /* the CA's window: when
                                                    to renew; 0: none */
    uint32_t                       ari_at;       /* when to ask the CA's
                                                    renewal information
                                                    again; 0: at the next
                                                    check */
    uint32_t                       val_window;   /* first failed validation */
    uint32_t                       dup_window;   /* certificates within the
                                                    week from this: */
    uint32_t                       generation;   /* zone-wide, never
                                                    repeated */
    uint32_t                       job_id;       /* the job that holds it */
    uint32_t                       scan;
    uint32_t                       note_error;   /* CRC32 of the last error
                                                    type notified; 0: none */

    uint16_t                       dns_len;

    u_char                         dup_count;    /*   dup_window's count */
    u_char                         attempts;     /* transient failures */
    u_char                         busy;         /* a job holds it */
    u_char                         val_failures; /* in the hour below */
    u_char                         lease;        /* slot + 1, 0: none */
    u_char                         candidate;    /* on demand, before DNS */
    u_char                         repass;       /* a pass came while busy */
    u_char                         note_status;  /* the last one notified */
    u_char                         origin;       /* of the next order */
    lc_failover_t                  failover;     /* which CA orders */
    u_char                         moved;        /* the DNS points elsewhere:
                                                    unknown, its valid
                                                    certificate still served */
    u_char                         reissue;      /* a new key is ordered
                                                    once the DNS passes */
    u_char                         status;
    u_char                         stage;
    u_char                         serial_len;
    u_char                         name_len;
    u_char                         issuer;       /* its name in the zone's
                                                    issuers, + 1; 0: none */
    u_char                         fleet;        /* its re-check or renewal
                                                    is this edge's: claimed
                                                    from the fleet, or
                                                    forced by the CRM */

    u_char                         sha256[32];
    u_char                         serial[LC_SERIAL_MAX];
    lc_error_t                     error;

    u_char                         name[1];
} ngx_http_linkcert_node_t;


/* a name refused by an on-demand gate: a hash of the name, and until when */
typedef struct {
    uint64_t                       hash;
    time_t                         until;
} ngx_http_linkcert_negative_t;

#define NGX_HTTP_LINKCERT_NEGATIVE_SIZE  4096


/* why a name was refused on demand, shown by the status API for a while */
typedef struct {
    uint64_t                       hash;         /* of the name; 0: free */
    time_t                         at;
    time_t                         until;        /* tried again from then */
    time_t                         shown;        /* answered until then */
    lc_error_t                     error;
} ngx_http_linkcert_refusal_t;

#define NGX_HTTP_LINKCERT_REFUSALS       256    /* a power of 2 */


typedef struct {
    ngx_rbtree_t                   rbtree;
    ngx_rbtree_node_t              sentinel;
    ngx_rbtree_t                   due;          /* entries with work */
    ngx_rbtree_node_t              due_sentinel;
    ngx_rbtree_t                   challenges;   /* HTTP-01 tokens */
    ngx_rbtree_node_t              challenges_sentinel;
    ngx_rbtree_t                   groups;       /* by registered domain */
    ngx_rbtree_node_t              groups_sentinel;
    char                         (*issuers)[LC_ISSUER_LEN];
    ngx_uint_t                     nissuers;     /* names of issuers, each
                                                    once, for the entries */

    /* the domains worker 0 works on, and which process holds each */
    void                          *leased[NGX_HTTP_LINKCERT_LEASES];
    ngx_pid_t                      leased_pid[NGX_HTTP_LINKCERT_LEASES];

    ngx_http_linkcert_stats_t      stats;
    ngx_uint_t                     count[LC_STATUS_N];

    /* on demand */
    ngx_atomic_t                   changes;      /* a status changed */
    ngx_uint_t                     candidates;   /* names in the DNS gate */
    uint64_t                       admit_tat;    /* rate of new names */
    uint64_t                       order_tat;    /* order budget */
    ngx_http_linkcert_negative_t  *negative;     /* refused names */
    uint32_t                       scan;
    uint32_t                       generation;   /* the last one given */
    uint32_t                       jobs;         /* the last job_id given */
    time_t                         full_logged;

    ngx_http_linkcert_webhook_ring_t  webhook;
    ngx_http_linkcert_refusal_t   *refusals;     /* why, for the API */
} ngx_http_linkcert_sh_t;


typedef struct {
    ngx_http_linkcert_sh_t        *sh;
    ngx_slab_pool_t               *shpool;
    void                          *conf;         /* the main conf */
    ngx_cycle_t                   *cycle;        /* the one being loaded */
    uint64_t                       locked_at;    /* ns, by this process */
} ngx_http_linkcert_zone_t;


/* ngx_http_linkcert_state.h */
typedef struct ngx_http_linkcert_state_s  ngx_http_linkcert_state_t;


typedef struct {
    ngx_str_t                      url;          /* NUL-terminated */
    ngx_str_t                      secret;       /* empty: not signed */
    ngx_msec_t                     timeout;
    ngx_ssl_t                     *ssl;          /* https:// */
} ngx_http_linkcert_webhook_conf_t;


typedef struct {
    ngx_shm_zone_t                *shm_zone;
    ngx_str_t                      store;        /* NUL-terminated */
    ngx_str_t                      api_key_file;
    u_char                         api_key_hash[NGX_HTTP_LINKCERT_KEY_HASH_LEN];
    ngx_flag_t                     api_key_set;
    u_char                        *api_file;     /* where the first */
    ngx_uint_t                     api_line;     /*   linkcert_api is */
    ngx_uint_t                     cache_size;   /* 0: from the zone */
    ngx_flag_t                     enabled;      /* a server has it on */

    lc_verify_conf_t              *verify;       /* targets, CAA identity */
    ngx_str_t                      resolver;     /* "ip:port,..." for c-ares */
    ngx_msec_t                     resolver_timeout;
    ngx_uint_t                     resolver_attempts;
    ngx_uint_t                     renew_at;        /* percent */
    time_t                         reverify_interval;

    ngx_str_t                      acme_directory;  /* "": no ACME */
    ngx_str_t                      acme_trusted;
    ngx_array_t                   *acme_contacts;   /* of char * */
    ngx_str_t                      acme_eab_kid;
    ngx_str_t                      acme_eab_key;    /* decoded HMAC key */
    ngx_str_t                      acme_backup;     /* "": none */
    ngx_str_t                      acme_backup_eab_kid;
    ngx_str_t                      acme_backup_eab_key;
    ngx_uint_t                     acme_max_fails;
    ngx_uint_t                     key_type;        /* lc_acme_key_type_e */
    ngx_ssl_t                     *acme_ssl;        /* client context */
#if (NGX_THREADS)
    ngx_thread_pool_t             *keygen_pool;     /* for RSA keys, the
                                                       fleet's store sync */
#endif

    ngx_uint_t                     on_demand;       /* off, dns */
    ngx_str_t                      ask;             /* URL, NUL-terminated */
    ngx_msec_t                     hold;
    ngx_uint_t                     order_rate;      /* per hour */
    ngx_uint_t                     domain_limit;    /* per registered
                                                       domain, 7 days */
    time_t                         negative_ttl;
    time_t                         removed_keep; /* removed/ entries */
    ngx_http_linkcert_webhook_conf_t  *webhook;  /* NULL: none */
    ngx_str_t                      webhook_trusted;
    u_char                        *store_file;   /* where linkcert_store */
    ngx_uint_t                     store_line;   /*   was set */
    void                          *psl;             /* psl_ctx_t */
    struct ngx_http_linkcert_redis_conf_s  *redis;  /* NULL: no fleet
                                                       (redis.h) */
    ngx_http_linkcert_state_t     *state;        /* the state boundary */
} ngx_http_linkcert_main_conf_t;


typedef struct {
    ngx_flag_t                     enable;
    ngx_flag_t                     redirect_https;
    ngx_flag_t                     api_public;
} ngx_http_linkcert_srv_conf_t;


#define NGX_HTTP_LINKCERT_FILE_MAX  (1024 * 1024)

/* a store file read for the handshake path or the loader */
typedef struct {
    u_char                        *data;
    size_t                         len;
} ngx_http_linkcert_file_t;


/* the loader's view: what the store says about one domain */
typedef struct {
    uint64_t                       stamp;
    ngx_int_t                      ok;
    lc_cert_info_t                 info;
    lc_error_t                     error;
    ngx_uint_t                     fleet;      /* another edge's pair */
} ngx_http_linkcert_loaded_t;


/* a domain of the store's check: its files' stamp, as listed or known */
typedef struct {
    uint64_t                       stamp;
    u_char                        *name;
    size_t                         len;
    ngx_uint_t                     changed;
} ngx_http_linkcert_mark_t;


/* certificates served that expire within 7 days, by cause */
typedef struct {
    ngx_uint_t                     all;
    ngx_uint_t                     dns_moved;    /* the customer left */
    ngx_uint_t                     renewal;      /* still issued: its
                                                    renewal is failing */
} ngx_http_linkcert_expiring_t;


/* what a "Verify domain" request did: the core's lc_lifecycle_post_e */
typedef enum {
    NGX_HTTP_LINKCERT_POST_STARTED = LC_POST_STARTED,
    NGX_HTTP_LINKCERT_POST_RECHECK = LC_POST_RECHECK,
    NGX_HTTP_LINKCERT_POST_REISSUE = LC_POST_REISSUE,
    NGX_HTTP_LINKCERT_POST_BUSY = LC_POST_BUSY,
    NGX_HTTP_LINKCERT_POST_TOO_SOON = LC_POST_TOO_SOON,
    NGX_HTTP_LINKCERT_POST_REFUSED = LC_POST_REFUSED,
    NGX_HTTP_LINKCERT_POST_FULL            /* no room in the zone */
} ngx_http_linkcert_post_e;

/* what worker 0 can do after a verification (lc_lifecycle.h) */
#define NGX_HTTP_LINKCERT_ORDER    LC_LIFECYCLE_ACME
#define NGX_HTTP_LINKCERT_ARI      LC_LIFECYCLE_ARI
#define NGX_HTTP_LINKCERT_ACCOUNT  LC_LIFECYCLE_ACCOUNT


/* transient: 0 no, 1 yes, or not placed (lc_lifecycle.h): */
#define NGX_HTTP_LINKCERT_NO_ACCOUNT  LC_LIFECYCLE_NO_ACCOUNT


typedef struct {
    lc_failover_t                  failover;     /* which CA orders */
} ngx_http_linkcert_plan_t;


typedef struct {
    char                           name[LC_DOMAIN_MAX + 1];
    lc_lifecycle_action_e          action;       /* verify, ask, order or
                                                    renew */
    uint32_t                       job_id;       /* the job's claim */
} ngx_http_linkcert_due_t;


/* what an SNI or Host name seen by a worker means for on-demand issuance */
typedef enum {
    NGX_HTTP_LINKCERT_NAME_SERVED = 0,     /* issued: nothing to do */
    NGX_HTTP_LINKCERT_NAME_WAIT,           /* being verified or ordered */
    NGX_HTTP_LINKCERT_NAME_NEW,            /* admitted now: to verify */
    NGX_HTTP_LINKCERT_NAME_NO              /* not now: refused, failed,
                                              or waiting for later */
} ngx_http_linkcert_name_e;


typedef struct ngx_http_linkcert_fetch_s  ngx_http_linkcert_fetch_t;


/* res is NULL and error says why when there is no complete response */
typedef void (*ngx_http_linkcert_fetch_handler_pt)(void *data,
    lc_http_response_t *res, const char *error);


typedef struct ngx_http_linkcert_keygen_s  ngx_http_linkcert_keygen_t;


/* key is NULL when it could not be made */
typedef void (*ngx_http_linkcert_keygen_handler_pt)(void *data,
    EVP_PKEY *key);


typedef struct ngx_http_linkcert_index_s  ngx_http_linkcert_index_t;
typedef struct ngx_http_linkcert_index_out_s  ngx_http_linkcert_index_out_t;


/* the domains of the store, listed by the loader */
typedef struct {
    void                          *dir;          /* DIR * */
    u_char                         path[NGX_MAX_PATH];
} ngx_http_linkcert_store_list_t;


extern ngx_module_t  ngx_http_linkcert_module;


/* ngx_http_linkcert_loader.c */

ngx_int_t ngx_http_linkcert_loader_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
ngx_int_t ngx_http_linkcert_loader_one(ngx_shm_zone_t *shm_zone,
    ngx_str_t *store, int domains, u_char *name, size_t len, ngx_log_t *log);
ngx_int_t ngx_http_linkcert_loader_pair(ngx_str_t *store, u_char *name,
    size_t len, ngx_http_linkcert_file_t *files,
    ngx_http_linkcert_loaded_t *loaded, ngx_log_t *log);
ngx_int_t ngx_http_linkcert_loader_files(ngx_str_t *store, u_char *name,
    size_t len, ngx_http_linkcert_file_t *files);
void ngx_http_linkcert_loader_files_free(ngx_http_linkcert_file_t *files);
void ngx_http_linkcert_loader_indexed(ngx_http_linkcert_loaded_t *loaded);


/* ngx_http_linkcert_loader_index.c */

ngx_int_t ngx_http_linkcert_loader_trust(ngx_shm_zone_t *shm_zone,
    ngx_str_t *store, ngx_log_t *log);


/* ngx_http_linkcert_store_check.c */

ngx_int_t ngx_http_linkcert_store_check_conf(ngx_conf_t *cf,
    ngx_http_linkcert_main_conf_t *lmcf);
ngx_int_t ngx_http_linkcert_store_check_init_process(ngx_cycle_t *cycle);
void ngx_http_linkcert_store_check_exit_process(ngx_cycle_t *cycle);


/* ngx_http_linkcert_table.c */

ngx_int_t ngx_http_linkcert_table_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
ngx_int_t ngx_http_linkcert_table_get(ngx_shm_zone_t *shm_zone,
    u_char *name, size_t len, lc_record_t *rec);
ngx_int_t ngx_http_linkcert_table_serving(ngx_shm_zone_t *shm_zone,
    u_char *name, size_t len, time_t now, uint32_t *generation);
ngx_int_t ngx_http_linkcert_table_page(ngx_shm_zone_t *shm_zone,
    ngx_str_t *after, ngx_int_t status, ngx_uint_t limit,
    lc_record_t *recs, ngx_uint_t *n, ngx_uint_t *more);
ngx_int_t ngx_http_linkcert_table_remove(ngx_shm_zone_t *shm_zone,
    u_char *name, size_t len, lc_record_t *rec);

void ngx_http_linkcert_table_counts(ngx_shm_zone_t *shm_zone, time_t now,
    ngx_uint_t *by_status, ngx_http_linkcert_expiring_t *expiring,
    time_t *earliest);
ngx_http_linkcert_stats_t *ngx_http_linkcert_stats(ngx_shm_zone_t *shm_zone);
ngx_atomic_uint_t ngx_http_linkcert_table_changes(ngx_shm_zone_t *shm_zone);


/* ngx_http_linkcert_table_load.c */

uint32_t ngx_http_linkcert_table_begin_scan(ngx_shm_zone_t *shm_zone);
ngx_int_t ngx_http_linkcert_table_seen(ngx_shm_zone_t *shm_zone,
    u_char *name, size_t len, uint64_t stamp, uint32_t scan);
ngx_int_t ngx_http_linkcert_table_loaded(ngx_shm_zone_t *shm_zone,
    u_char *name, size_t len, ngx_http_linkcert_loaded_t *loaded,
    uint32_t scan);
ngx_uint_t ngx_http_linkcert_table_end_scan(ngx_shm_zone_t *shm_zone,
    uint32_t scan);
ngx_uint_t ngx_http_linkcert_table_renew_pass(ngx_shm_zone_t *shm_zone);
void ngx_http_linkcert_table_mark(ngx_shm_zone_t *shm_zone,
    ngx_http_linkcert_mark_t *marks, ngx_uint_t n, uint32_t scan);
ngx_int_t ngx_http_linkcert_table_unseen(ngx_shm_zone_t *shm_zone,
    uint32_t scan, u_char *after, ngx_http_linkcert_mark_t *marks,
    ngx_uint_t max, ngx_uint_t *n);
void ngx_http_linkcert_table_gone(ngx_shm_zone_t *shm_zone, u_char *name,
    size_t len, uint64_t stamp);


/* ngx_http_linkcert_events.c */

/* what a POST asks for (table_post's ask) */
#define NGX_HTTP_LINKCERT_ASK_REISSUE   0x01    /* reissue=1 */
#define NGX_HTTP_LINKCERT_ASK_CLAIMED   0x02    /* the fleet's claim */

ngx_http_linkcert_post_e ngx_http_linkcert_table_post(
    ngx_shm_zone_t *shm_zone, u_char *name, size_t len, ngx_uint_t ask,
    lc_record_t *rec, time_t *retry_after, lc_error_t *refused);

ngx_uint_t ngx_http_linkcert_table_posted_since(ngx_shm_zone_t *shm_zone,
    u_char *name, size_t len, uint64_t at, lc_record_t *rec);
void ngx_http_linkcert_table_verified(ngx_shm_zone_t *shm_zone,
    lc_verify_t *v, uint32_t job_id, u_char *dns, size_t dns_len,
    ngx_uint_t order, ngx_log_t *log);
void ngx_http_linkcert_table_issued(ngx_shm_zone_t *shm_zone, u_char *name,
    size_t len, uint32_t job_id, lc_cert_info_t *info, uint64_t stamp,
    ngx_log_t *log);
void ngx_http_linkcert_table_order_failed(ngx_shm_zone_t *shm_zone,
    u_char *name, size_t len, uint32_t job_id, const lc_error_t *err,
    ngx_uint_t transient, time_t retry_after, ngx_log_t *log);

ngx_int_t ngx_http_linkcert_table_plan(ngx_shm_zone_t *shm_zone,
    u_char *name, size_t len, uint32_t job_id,
    ngx_http_linkcert_plan_t *plan, ngx_uint_t write);


/* ngx_http_linkcert_jobs.c */

ngx_uint_t ngx_http_linkcert_table_due(ngx_shm_zone_t *shm_zone,
    ngx_msec_t lease, ngx_http_linkcert_due_t *due, ngx_uint_t max,
    ngx_uint_t orders, ngx_uint_t *waiting);
void ngx_http_linkcert_table_release(ngx_shm_zone_t *shm_zone,
    u_char *name, size_t len, uint32_t job_id);
ngx_int_t ngx_http_linkcert_table_held(ngx_shm_zone_t *shm_zone,
    u_char *name, size_t len, uint32_t job_id);
ngx_uint_t ngx_http_linkcert_table_recover(ngx_shm_zone_t *shm_zone);


/* ngx_http_linkcert_demand.c */

ngx_http_linkcert_name_e ngx_http_linkcert_table_demand(
    ngx_shm_zone_t *shm_zone, u_char *name, size_t len, ngx_uint_t admit);
void ngx_http_linkcert_table_refused(ngx_shm_zone_t *shm_zone,
    u_char *name, size_t len, uint32_t job_id, ngx_uint_t answered,
    const lc_error_t *err, ngx_log_t *log);
ngx_int_t ngx_http_linkcert_table_budgets(ngx_shm_zone_t *shm_zone,
    u_char *name, size_t len, uint32_t job_id, ngx_uint_t *budgets,
    ngx_uint_t *candidate, u_char *reg, size_t *reg_len);
void ngx_http_linkcert_table_unadmit(ngx_shm_zone_t *shm_zone, u_char *name,
    size_t len, uint32_t job_id);


/* ngx_http_linkcert_lifecycle.c */

ngx_int_t ngx_http_linkcert_table_job_event(ngx_shm_zone_t *shm_zone,
    u_char *name, size_t len, uint32_t job_id, lc_lifecycle_event_t *ev,
    lc_lifecycle_result_t *res);
void ngx_http_linkcert_life_event(lc_lifecycle_event_t *ev,
    lc_lifecycle_event_e type);


/* ngx_http_linkcert_http01.c */

ngx_int_t ngx_http_linkcert_challenge_set(ngx_shm_zone_t *shm_zone,
    const char *domain, const char *token, const char *key_authorization);
void ngx_http_linkcert_challenge_del(ngx_shm_zone_t *shm_zone,
    const char *token);
ngx_int_t ngx_http_linkcert_challenge_get(ngx_shm_zone_t *shm_zone,
    ngx_str_t *domain, ngx_str_t *token, u_char *buf, size_t *len);


/* ngx_http_linkcert_limits.c, with the zone locked */

uint64_t ngx_http_linkcert_hash(u_char *name, size_t len);
ngx_int_t ngx_http_linkcert_negative(ngx_http_linkcert_sh_t *sh,
    uint64_t hash, time_t now, time_t until);
void ngx_http_linkcert_refusal_set(ngx_http_linkcert_sh_t *sh,
    uint64_t hash, time_t now, time_t until, time_t shown,
    const lc_error_t *err);
ngx_int_t ngx_http_linkcert_refusal_get(ngx_http_linkcert_sh_t *sh,
    uint64_t hash, time_t now, ngx_http_linkcert_refusal_t *copy);
void ngx_http_linkcert_refusal_clear(ngx_http_linkcert_sh_t *sh,
    uint64_t hash);
void ngx_http_linkcert_duplicate_add(ngx_http_linkcert_node_t *ln,
    time_t since);
ngx_int_t ngx_http_linkcert_reissue_allowed(ngx_http_linkcert_zone_t *ctx,
    ngx_http_linkcert_node_t *ln, time_t now, ngx_msec_t now_ms,
    lc_error_t *err, time_t *retry);


/* ngx_http_linkcert_store.c */

ngx_int_t ngx_http_linkcert_store_prepare(ngx_cycle_t *cycle,
    ngx_str_t *store, ngx_log_t *log);
ngx_int_t ngx_http_linkcert_store_list_open(
    ngx_http_linkcert_store_list_t *list, ngx_str_t *store, ngx_log_t *log);
ngx_int_t ngx_http_linkcert_store_list_next(
    ngx_http_linkcert_store_list_t *list, char *name, size_t *len,
    ngx_log_t *log);
int ngx_http_linkcert_store_list_fd(ngx_http_linkcert_store_list_t *list);
void ngx_http_linkcert_store_list_close(ngx_http_linkcert_store_list_t *list);
u_char *ngx_http_linkcert_store_path(u_char *buf, ngx_str_t *store,
    u_char *name, size_t len, const char *file);
uint64_t ngx_http_linkcert_store_stamp(u_char *dir, lc_error_t *err);
uint64_t ngx_http_linkcert_store_stamp_at(int fd, u_char *dir,
    lc_error_t *err);
ngx_uint_t ngx_http_linkcert_store_unpublished(u_char *dir);
lc_cert_t *ngx_http_linkcert_store_read_cert(ngx_str_t *store,
    u_char *name, size_t len, ngx_log_t *log, lc_error_t *err);
ngx_int_t ngx_http_linkcert_store_read_file(u_char *path,
    ngx_http_linkcert_file_t *file, lc_error_t *err, const char *what,
    size_t max);
ngx_int_t ngx_http_linkcert_store_write(ngx_str_t *store, const char *dir,
    const char *file, const char *data, size_t len, ngx_uint_t mode,
    ngx_log_t *log);
ngx_int_t ngx_http_linkcert_store_replace(ngx_str_t *store, const char *dir,
    const char *file, const char *data, size_t len, ngx_uint_t mode,
    ngx_uint_t sync, ngx_log_t *log);
ngx_int_t ngx_http_linkcert_store_create(ngx_str_t *store, const char *dir,
    const char *file, const char *data, size_t len, ngx_uint_t mode,
    ngx_log_t *log);
ngx_int_t ngx_http_linkcert_store_init_process(ngx_cycle_t *cycle);
ngx_http_linkcert_main_conf_t *ngx_http_linkcert_worker0(ngx_cycle_t *cycle);
ngx_int_t ngx_http_linkcert_store_give(ngx_core_conf_t *ccf, u_char *path,
    ngx_log_t *log);
ngx_int_t ngx_http_linkcert_store_publish(ngx_str_t *store, const char *name,
    const char *key, size_t key_len, const char *chain, size_t chain_len,
    ngx_uint_t sync, ngx_log_t *log);
void ngx_http_linkcert_store_sync_all(ngx_str_t *store, ngx_log_t *log);
uint64_t ngx_http_linkcert_store_domain_stamp(ngx_str_t *store,
    const char *name);
ngx_int_t ngx_http_linkcert_store_remove(ngx_str_t *store, u_char *name,
    size_t len, ngx_log_t *log);


/* ngx_http_linkcert_dns.c */

ngx_int_t ngx_http_linkcert_dns_init(ngx_cycle_t *cycle,
    ngx_http_linkcert_main_conf_t *lmcf);
void ngx_http_linkcert_dns_exit(void);
ngx_int_t ngx_http_linkcert_dns_query(const char *name, int type,
    void (*callback)(void *arg, int status, int timeouts,
    unsigned char *abuf, int alen), void *arg);

ngx_int_t ngx_http_linkcert_dns_resolve(const char *host,
    void (*callback)(void *arg, int status, int timeouts,
    struct hostent *hostent), void *arg);


/* ngx_http_linkcert_client.c */

ngx_http_linkcert_fetch_t *ngx_http_linkcert_fetch(ngx_ssl_t *ssl,
    const char *method, const char *url, const char *accept,
    const char *content_type, const char *body, size_t body_len,
    ngx_http_linkcert_fetch_handler_pt handler, void *data, ngx_log_t *log);
ngx_http_linkcert_fetch_t *ngx_http_linkcert_fetch_send(ngx_ssl_t *ssl,
    const char *url, char *request, size_t request_len, ngx_uint_t head,
    ngx_msec_t timeout, ngx_http_linkcert_fetch_handler_pt handler,
    void *data, ngx_log_t *log);
void ngx_http_linkcert_fetch_cancel_all(void);
ngx_err_t ngx_http_linkcert_connect_error(ngx_connection_t *c,
    ngx_uint_t level, ngx_str_t *name);


/* ngx_http_linkcert_worker.c */

void ngx_http_linkcert_timer_init(ngx_event_t *ev, ngx_connection_t *dumb,
    void *data, ngx_event_handler_pt handler, ngx_log_t *log);
ngx_int_t ngx_http_linkcert_worker_init_process(ngx_cycle_t *cycle);
void ngx_http_linkcert_worker_exit_process(ngx_cycle_t *cycle);
void ngx_http_linkcert_worker_kick(void);
ngx_int_t ngx_http_linkcert_dns_check_start(const char *name,
    uint32_t job_id, ngx_log_t *log);


/* ngx_http_linkcert_ask.c */

void ngx_http_linkcert_ask_init(ngx_http_linkcert_main_conf_t *lmcf);
void ngx_http_linkcert_ask_exit(void);
ngx_int_t ngx_http_linkcert_ask(const char *name, uint32_t job_id,
    ngx_log_t *log);


/* ngx_http_linkcert_acme.c */

ngx_int_t ngx_http_linkcert_acme_init_process(ngx_cycle_t *cycle,
    ngx_http_linkcert_main_conf_t *lmcf);
ngx_uint_t ngx_http_linkcert_acme_ready(void);
ngx_uint_t ngx_http_linkcert_acme_ari(void);
void ngx_http_linkcert_acme_wanted(void);
ngx_int_t ngx_http_linkcert_acme_order(const char *domain, uint32_t job_id);
ngx_int_t ngx_http_linkcert_acme_renew(const char *domain, uint32_t job_id);
void ngx_http_linkcert_acme_exit_process(void);

/* keygen.c: certificate keys made in a thread pool */

ngx_int_t ngx_http_linkcert_keygen_conf(ngx_conf_t *cf,
    ngx_http_linkcert_main_conf_t *lmcf);

/* NULL: no thread for it; the caller makes the key in the event loop */
ngx_http_linkcert_keygen_t *ngx_http_linkcert_keygen(
    ngx_http_linkcert_main_conf_t *lmcf, lc_acme_key_type_e type,
    ngx_http_linkcert_keygen_handler_pt handler, void *data, ngx_log_t *log);
void ngx_http_linkcert_keygen_cancel(ngx_http_linkcert_keygen_t *kg);


/* ngx_http_linkcert_index.c */

ngx_http_linkcert_index_t *ngx_http_linkcert_index_read(ngx_str_t *store,
    ngx_pool_t *pool, ngx_log_t *log);
ngx_int_t ngx_http_linkcert_index_lookup(ngx_http_linkcert_index_t *idx,
    u_char *name, size_t len, ngx_http_linkcert_loaded_t *loaded);
void ngx_http_linkcert_index_free(ngx_http_linkcert_index_t *idx);
ngx_http_linkcert_index_out_t *ngx_http_linkcert_index_begin(
    ngx_uint_t domains, ngx_log_t *log);
void ngx_http_linkcert_index_add(ngx_http_linkcert_index_out_t *out,
    lc_record_t *rec);
ngx_int_t ngx_http_linkcert_index_commit(ngx_http_linkcert_index_out_t *out,
    ngx_str_t *store, ngx_core_conf_t *ccf, ngx_log_t *log);
ngx_http_linkcert_index_t *ngx_http_linkcert_index_open(ngx_str_t *store,
    ngx_log_t *log);
ngx_int_t ngx_http_linkcert_index_next(ngx_http_linkcert_index_t *idx,
    u_char **name, size_t *len, ngx_http_linkcert_loaded_t *loaded);
void ngx_http_linkcert_index_close(ngx_http_linkcert_index_t *idx);
ngx_uint_t ngx_http_linkcert_index_lines(ngx_http_linkcert_index_t *idx);
void ngx_http_linkcert_index_changed(ngx_str_t *store, const char *name,
    size_t len);
ngx_rbtree_t *ngx_http_linkcert_index_journal(ngx_str_t *store,
    ngx_pool_t *pool, ngx_log_t *log);
void ngx_http_linkcert_index_rotate(ngx_str_t *store);
void ngx_http_linkcert_index_drop(ngx_str_t *store, ngx_uint_t all);
void ngx_http_linkcert_index_cancel(ngx_http_linkcert_index_out_t *out);
ngx_uint_t ngx_http_linkcert_index_current(ngx_str_t *store);


/* ngx_http_linkcert_ssl.c */

ngx_int_t ngx_http_linkcert_ssl_init(ngx_conf_t *cf,
    ngx_http_linkcert_main_conf_t *lmcf);
ngx_int_t ngx_http_linkcert_ssl_init_process(ngx_cycle_t *cycle);
void ngx_http_linkcert_ssl_exit_process(ngx_cycle_t *cycle);


/* ngx_http_linkcert_hold.c */

ngx_int_t ngx_http_linkcert_hold_init_module(ngx_cycle_t *cycle);
ngx_int_t ngx_http_linkcert_hold_init_process(ngx_cycle_t *cycle);
void ngx_http_linkcert_hold_exit_process(ngx_cycle_t *cycle);
void ngx_http_linkcert_hold_wake(void);


/* ngx_http_linkcert_webhook.c */

void ngx_http_linkcert_webhook_event(ngx_http_linkcert_zone_t *ctx,
    lc_record_t *rec, lc_status_e previous);
ngx_uint_t ngx_http_linkcert_webhook_queued(ngx_shm_zone_t *shm_zone);
ngx_int_t ngx_http_linkcert_webhook_init_process(ngx_cycle_t *cycle);
void ngx_http_linkcert_webhook_exit_process(ngx_cycle_t *cycle);


/* ngx_http_linkcert_conf.c */

/*
 * One of nginx's own slots, whose errors are reported with the directive
 * and the value.
 */
typedef struct {
    char                        *(*set)(ngx_conf_t *cf,
                                        ngx_command_t *cmd, void *conf);
    void                          *post;
} ngx_http_linkcert_slot_t;


typedef struct {
    const char                    *suffix;
    ngx_int_t                      min;
    ngx_int_t                      max;
    const char                    *expected;
} ngx_http_linkcert_suffixed_t;


char *ngx_http_linkcert_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_linkcert_api_key(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_linkcert_api(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_linkcert_cache_size(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_linkcert_store_dir(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_linkcert_suffixed(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_linkcert_slot(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_linkcert_positive_sec(ngx_conf_t *cf, void *post,
    void *data);
ngx_int_t ngx_http_linkcert_read_secret(ngx_conf_t *cf,
    const char *directive, ngx_str_t *file, u_char *buf, size_t size,
    ngx_str_t *secret);


/* ngx_http_linkcert_conf_dns.c */

char *ngx_http_linkcert_cname_target(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
char *ngx_http_linkcert_target_address(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
char *ngx_http_linkcert_caa_identity(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
char *ngx_http_linkcert_resolver(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


/* ngx_http_linkcert_conf_acme.c */

char *ngx_http_linkcert_acme_directory(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
char *ngx_http_linkcert_acme_contact(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
char *ngx_http_linkcert_acme_eab(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_linkcert_acme_ssl(ngx_conf_t *cf,
    ngx_http_linkcert_main_conf_t *lmcf);
ngx_ssl_t *ngx_http_linkcert_client_ssl(ngx_conf_t *cf, ngx_str_t *trusted);


/* ngx_http_linkcert_conf_webhook.c */

char *ngx_http_linkcert_webhook(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_linkcert_webhook_init(ngx_conf_t *cf,
    ngx_http_linkcert_main_conf_t *lmcf);


/* ngx_http_linkcert_early.c */

ngx_int_t ngx_http_linkcert_early_handler(ngx_http_request_t *r);


/* ngx_http_linkcert_api.c */

ngx_uint_t ngx_http_linkcert_api_path(ngx_http_request_t *r);
ngx_int_t ngx_http_linkcert_api_mark(ngx_http_request_t *r);
ngx_int_t ngx_http_linkcert_api_rewrite(ngx_http_request_t *r);
ngx_int_t ngx_http_linkcert_api_public_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_linkcert_api_location_handler(ngx_http_request_t *r);


/* ngx_http_linkcert_api_answer.c */

ngx_int_t ngx_http_linkcert_send(ngx_http_request_t *r, ngx_uint_t status,
    u_char *data, size_t len, const char *type);


/* ngx_http_linkcert_metrics.c */

ngx_int_t ngx_http_linkcert_metrics(ngx_http_request_t *r,
    ngx_http_linkcert_main_conf_t *lmcf, ngx_str_t *text);

#endif /* _NGX_HTTP_LINKCERT_H_INCLUDED_ */
