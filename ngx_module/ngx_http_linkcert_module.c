
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: per-SNI certificates for tracking domains, with a status API.
 *
 * This file holds the directives, the configuration and the module
 * hooks; the table, the store, the handshake and the API live in their
 * own files.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/sha.h>

#include <libpsl.h>

#include "ngx_http_linkcert.h"


#define NGX_HTTP_LINKCERT_MIN_ZONE   (8 * ngx_pagesize)


static void *ngx_http_linkcert_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_linkcert_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_linkcert_create_srv_conf(ngx_conf_t *cf);
static char *ngx_http_linkcert_merge_srv_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_linkcert_postconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_linkcert_handlers(ngx_conf_t *cf);
static ngx_int_t ngx_http_linkcert_api_check(ngx_conf_t *cf,
    ngx_http_linkcert_main_conf_t *lmcf);
static ngx_uint_t ngx_http_linkcert_plain_listener(ngx_conf_t *cf);
static ngx_int_t ngx_http_linkcert_on_demand_init(ngx_conf_t *cf,
    ngx_http_linkcert_main_conf_t *lmcf);
static void ngx_http_linkcert_psl_cleanup(void *data);
static ngx_int_t ngx_http_linkcert_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_linkcert_init_process(ngx_cycle_t *cycle);
static void ngx_http_linkcert_exit_process(ngx_cycle_t *cycle);

static char *ngx_http_linkcert_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void ngx_http_linkcert_zone_resized(ngx_conf_t *cf, ngx_str_t *name,
    size_t size);
static char *ngx_http_linkcert_api_key(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_linkcert_api(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_linkcert_cache_size(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static lc_verify_conf_t *ngx_http_linkcert_verify_conf(ngx_conf_t *cf,
    ngx_http_linkcert_main_conf_t *lmcf);
static char *ngx_http_linkcert_cname_target(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_linkcert_target_address(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_linkcert_caa_identity(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_linkcert_resolver(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_linkcert_store_dir(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_linkcert_acme_directory(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_linkcert_acme_contact(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_linkcert_acme_backup(ngx_conf_t *cf,
    ngx_http_linkcert_main_conf_t *lmcf);
static ngx_int_t ngx_http_linkcert_eab_key(ngx_conf_t *cf, const char *name,
    ngx_str_t *file, ngx_str_t *key);
static char *ngx_http_linkcert_acme_eab(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_linkcert_acme_ssl(ngx_conf_t *cf,
    ngx_http_linkcert_main_conf_t *lmcf);
static char *ngx_http_linkcert_suffixed(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_linkcert_slot(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_linkcert_positive_sec(ngx_conf_t *cf, void *post,
    void *data);


static ngx_conf_post_handler_pt  ngx_http_linkcert_positive_sec_p =
    ngx_http_linkcert_positive_sec;


static ngx_conf_enum_t  ngx_http_linkcert_key_types[] = {
    { ngx_string("ec256"), LC_ACME_KEY_EC256 },
    { ngx_string("rsa2048"), LC_ACME_KEY_RSA2048 },
    { ngx_null_string, 0 }
};


static ngx_conf_enum_t  ngx_http_linkcert_on_demand_modes[] = {
    { ngx_string("off"), 0 },
    { ngx_string("dns"), 1 },
    { ngx_null_string, 0 }
};


/*
 * One of nginx's own slots, whose errors are reported with the directive
 * and the value.
 */
typedef struct {
    char                        *(*set)(ngx_conf_t *cf,
                                        ngx_command_t *cmd, void *conf);
    void                          *post;
} ngx_http_linkcert_slot_t;


static ngx_http_linkcert_slot_t  ngx_http_linkcert_positive_sec_slot = {
    ngx_conf_set_sec_slot, &ngx_http_linkcert_positive_sec_p
};

static ngx_http_linkcert_slot_t  ngx_http_linkcert_msec_slot = {
    ngx_conf_set_msec_slot, NULL
};

static ngx_http_linkcert_slot_t  ngx_http_linkcert_num_slot = {
    ngx_conf_set_num_slot, NULL
};

static ngx_http_linkcert_slot_t  ngx_http_linkcert_key_type_slot = {
    ngx_conf_set_enum_slot, ngx_http_linkcert_key_types
};

static ngx_http_linkcert_slot_t  ngx_http_linkcert_on_demand_slot = {
    ngx_conf_set_enum_slot, ngx_http_linkcert_on_demand_modes
};


typedef struct {
    const char                    *suffix;
    ngx_int_t                      min;
    ngx_int_t                      max;
    const char                    *expected;
} ngx_http_linkcert_suffixed_t;


static ngx_http_linkcert_suffixed_t  ngx_http_linkcert_percent = {
    "%", 0, 99, "a percentage from 0% to 99%"
};

static ngx_http_linkcert_suffixed_t  ngx_http_linkcert_per_hour = {
    "/h", 1, 3600000, "a number of orders per hour such as \"100/h\" "
    "(1/h to 3600000/h)"
};


static ngx_command_t  ngx_http_linkcert_commands[] = {

    { ngx_string("linkcert"),
      NGX_HTTP_SRV_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_SRV_CONF_OFFSET,
      offsetof(ngx_http_linkcert_srv_conf_t, enable),
      NULL },

    { ngx_string("linkcert_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_linkcert_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("linkcert_store"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_linkcert_store_dir,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_linkcert_main_conf_t, store),
      NULL },

    { ngx_string("linkcert_api_key"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_linkcert_api_key,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("linkcert_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_linkcert_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("linkcert_api_public"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_SRV_CONF_OFFSET,
      offsetof(ngx_http_linkcert_srv_conf_t, api_public),
      NULL },

    { ngx_string("linkcert_cache_size"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_linkcert_cache_size,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("linkcert_cname_target"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_linkcert_cname_target,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("linkcert_target_address"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_linkcert_target_address,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("linkcert_caa_identity"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_linkcert_caa_identity,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("linkcert_resolver"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_linkcert_resolver,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("linkcert_acme_directory"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_linkcert_acme_directory,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("linkcert_acme_trusted_certificate"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_linkcert_main_conf_t, acme_trusted),
      NULL },

    { ngx_string("linkcert_acme_contact"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_linkcert_acme_contact,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("linkcert_acme_eab"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_linkcert_acme_eab,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("linkcert_renew_at"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_linkcert_suffixed,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_linkcert_main_conf_t, renew_at),
      &ngx_http_linkcert_percent },

    { ngx_string("linkcert_reverify_interval"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_linkcert_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_linkcert_main_conf_t, reverify_interval),
      &ngx_http_linkcert_positive_sec_slot },

    { ngx_string("linkcert_key_type"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_linkcert_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_linkcert_main_conf_t, key_type),
      &ngx_http_linkcert_key_type_slot },

    { ngx_string("linkcert_on_demand"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_linkcert_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_linkcert_main_conf_t, on_demand),
      &ngx_http_linkcert_on_demand_slot },

    { ngx_string("linkcert_ask"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_linkcert_main_conf_t, ask),
      NULL },

    { ngx_string("linkcert_hold"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_linkcert_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_linkcert_main_conf_t, hold),
      &ngx_http_linkcert_msec_slot },

    { ngx_string("linkcert_order_rate"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_linkcert_suffixed,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_linkcert_main_conf_t, order_rate),
      &ngx_http_linkcert_per_hour },

    { ngx_string("linkcert_registered_domain_limit"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_linkcert_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_linkcert_main_conf_t, domain_limit),
      &ngx_http_linkcert_num_slot },

    { ngx_string("linkcert_removed_keep"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_linkcert_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_linkcert_main_conf_t, removed_keep),
      &ngx_http_linkcert_positive_sec_slot },

    { ngx_string("linkcert_negative_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_linkcert_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_linkcert_main_conf_t, negative_ttl),
      &ngx_http_linkcert_positive_sec_slot },

    { ngx_string("linkcert_webhook"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE123,
      ngx_http_linkcert_webhook,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("linkcert_webhook_trusted_certificate"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_linkcert_main_conf_t, webhook_trusted),
      NULL },

    { ngx_string("linkcert_redirect_https"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_SRV_CONF_OFFSET,
      offsetof(ngx_http_linkcert_srv_conf_t, redirect_https),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_linkcert_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_linkcert_postconfiguration,   /* postconfiguration */

    ngx_http_linkcert_create_main_conf,    /* create main configuration */
    ngx_http_linkcert_init_main_conf,      /* init main configuration */

    ngx_http_linkcert_create_srv_conf,     /* create server configuration */
    ngx_http_linkcert_merge_srv_conf,      /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_linkcert_module = {
    NGX_MODULE_V1,
    &ngx_http_linkcert_module_ctx,         /* module context */
    ngx_http_linkcert_commands,            /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_http_linkcert_init_module,         /* init module */
    ngx_http_linkcert_init_process,        /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_linkcert_exit_process,        /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_http_linkcert_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_linkcert_main_conf_t  *lmcf;

    lmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_linkcert_main_conf_t));
    if (lmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     lmcf->shm_zone = NULL;
     *     lmcf->store = { 0, NULL };
     *     lmcf->api_key_file = { 0, NULL };
     *     lmcf->api_key_set = 0;
     *     lmcf->enabled = 0;
     */

    lmcf->cache_size = NGX_CONF_UNSET_UINT;
    lmcf->resolver_timeout = NGX_CONF_UNSET_MSEC;
    lmcf->resolver_attempts = NGX_CONF_UNSET_UINT;
    lmcf->key_type = NGX_CONF_UNSET_UINT;
    lmcf->renew_at = NGX_CONF_UNSET_UINT;
    lmcf->reverify_interval = NGX_CONF_UNSET;
    lmcf->on_demand = NGX_CONF_UNSET_UINT;
    lmcf->hold = NGX_CONF_UNSET_MSEC;
    lmcf->order_rate = NGX_CONF_UNSET_UINT;
    lmcf->domain_limit = NGX_CONF_UNSET_UINT;
    lmcf->negative_ttl = NGX_CONF_UNSET;
    lmcf->removed_keep = NGX_CONF_UNSET;
    lmcf->acme_max_fails = NGX_CONF_UNSET_UINT;

    return lmcf;
}


static char *
ngx_http_linkcert_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_linkcert_main_conf_t *lmcf = conf;

    ngx_conf_init_uint_value(lmcf->cache_size, 4096);
    ngx_conf_init_msec_value(lmcf->resolver_timeout, 5000);
    ngx_conf_init_uint_value(lmcf->resolver_attempts, 2);
    ngx_conf_init_uint_value(lmcf->key_type, LC_ACME_KEY_EC256);
    ngx_conf_init_uint_value(lmcf->renew_at, 67);
    ngx_conf_init_value(lmcf->reverify_interval, 86400);
    ngx_conf_init_uint_value(lmcf->on_demand, 0);
    ngx_conf_init_msec_value(lmcf->hold, 8000);
    ngx_conf_init_uint_value(lmcf->order_rate, 100);
    ngx_conf_init_uint_value(lmcf->domain_limit, 20);
    ngx_conf_init_value(lmcf->negative_ttl, 600);
    ngx_conf_init_value(lmcf->removed_keep, 30 * 86400);

    ngx_conf_init_uint_value(lmcf->acme_max_fails, LC_FAILOVER_MAX_FAILS);

    if (lmcf->acme_backup.len && lmcf->acme_directory.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"linkcert_acme_directory %V backup\" requires "
                           "a primary \"linkcert_acme_directory\" (a line "
                           "without \"backup\")", &lmcf->acme_backup);
        return NGX_CONF_ERROR;
    }

    /* no CA unless one is named: a first try spends no real limits */

    if (lmcf->acme_trusted.data == NULL) {
        ngx_str_set(&lmcf->acme_trusted,
                    "/etc/ssl/certs/ca-certificates.crt");
    }

    if (ngx_http_linkcert_keygen_conf(cf, lmcf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    /* the CAA identity alone does not make verification possible */

    if (lmcf->verify
        && lmcf->verify->ntargets == 0
        && lmcf->verify->naddrs == 0)
    {
        lmcf->verify = NULL;
    }

    if (lmcf->verify && lmcf->verify->caa_identity[0] == '\0') {
        ngx_cpystrn((u_char *) lmcf->verify->caa_identity,
                    (u_char *) "letsencrypt.org", LC_DOMAIN_MAX + 1);
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_linkcert_create_srv_conf(ngx_conf_t *cf)
{
    ngx_http_linkcert_srv_conf_t  *lscf;

    lscf = ngx_pcalloc(cf->pool, sizeof(ngx_http_linkcert_srv_conf_t));
    if (lscf == NULL) {
        return NULL;
    }

    lscf->enable = NGX_CONF_UNSET;
    lscf->redirect_https = NGX_CONF_UNSET;
    lscf->api_public = NGX_CONF_UNSET;

    return lscf;
}


static char *
ngx_http_linkcert_merge_srv_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_linkcert_srv_conf_t *prev = parent;
    ngx_http_linkcert_srv_conf_t *conf = child;

    ngx_http_linkcert_main_conf_t  *lmcf;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_value(conf->redirect_https, prev->redirect_https, 0);
    ngx_conf_merge_value(conf->api_public, prev->api_public, 1);

    if (conf->enable) {
        lmcf = ngx_http_conf_get_module_main_conf(cf,
                                                  ngx_http_linkcert_module);
        lmcf->enabled = 1;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_linkcert_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_linkcert_main_conf_t  *lmcf;

    lmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_linkcert_module);

    if (ngx_http_linkcert_api_check(cf, lmcf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (!lmcf->enabled) {
        return NGX_OK;
    }

    if (lmcf->shm_zone == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"linkcert on\" requires the \"linkcert_zone\" "
                           "directive in the http block");
        return NGX_ERROR;
    }

    if (lmcf->store.data == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"linkcert on\" requires the \"linkcert_store\" "
                           "directive in the http block");
        return NGX_ERROR;
    }

    if (lmcf->verify && lmcf->acme_directory.data == NULL) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "no \"linkcert_acme_directory\": domains are "
                           "verified but no certificate is ordered; set it "
                           "to Let's Encrypt's staging directory "
                           "https://acme-staging-v02.api.letsencrypt.org/"
                           "directory first, then to "
                           "https://acme-v02.api.letsencrypt.org/directory");
    }

    if (lmcf->verify && lmcf->acme_directory.len
        && !ngx_http_linkcert_plain_listener(cf))
    {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "no \"linkcert on\" server listens without "
                           "\"ssl\": the CA's HTTP-01 validations (port "
                           "80) cannot reach the edge and every order "
                           "will fail");
    }

    if (ngx_http_linkcert_ssl_init(cf, lmcf) != NGX_OK
        || ngx_http_linkcert_acme_ssl(cf, lmcf) != NGX_OK
        || ngx_http_linkcert_webhook_init(cf, lmcf) != NGX_OK
        || ngx_http_linkcert_on_demand_init(cf, lmcf) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_linkcert_handlers(cf);
}


/*
 * The HTTP-01 responder and plain-HTTP links answer in the post-read
 * phase, before any access rule; the public status API is marked there,
 * passes the rewrite phases untouched and answers in the precontent
 * phase, after the access phase (see ngx_http_linkcert_api.c).  Handlers
 * added last in a phase run first.
 */

static ngx_int_t
ngx_http_linkcert_handlers(ngx_conf_t *cf)
{
    ngx_uint_t                  i;
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    static struct {
        ngx_http_phases         phase;
        ngx_http_handler_pt     handler;
    } handlers[] = {
        { NGX_HTTP_POST_READ_PHASE, ngx_http_linkcert_early_handler },
        { NGX_HTTP_SERVER_REWRITE_PHASE, ngx_http_linkcert_api_rewrite },
        { NGX_HTTP_REWRITE_PHASE, ngx_http_linkcert_api_rewrite },
        { NGX_HTTP_PRECONTENT_PHASE, ngx_http_linkcert_api_public_handler }
    };

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    for (i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++) {
        h = ngx_array_push(&cmcf->phases[handlers[i].phase].handlers);
        if (h == NULL) {
            return NGX_ERROR;
        }

        *h = handlers[i].handler;
    }

    return NGX_OK;
}


/* a "linkcert_api" location needs the key and the table */

static ngx_int_t
ngx_http_linkcert_api_check(ngx_conf_t *cf,
    ngx_http_linkcert_main_conf_t *lmcf)
{
    if (lmcf->api_file == NULL) {
        return NGX_OK;
    }

    if (!lmcf->api_key_set) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"linkcert_api\" in %s:%ui requires the "
                           "\"linkcert_api_key\" directive in the http "
                           "block", lmcf->api_file, lmcf->api_line);
        return NGX_ERROR;
    }

    if (!lmcf->enabled) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"linkcert_api\" in %s:%ui requires a server "
                           "with \"linkcert on\"", lmcf->api_file,
                           lmcf->api_line);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* some "linkcert on" server has a plain-HTTP listener, for HTTP-01 */

static ngx_uint_t
ngx_http_linkcert_plain_listener(ngx_conf_t *cf)
{
    ngx_uint_t                     p, a, s;
    ngx_http_conf_port_t          *port;
    ngx_http_conf_addr_t          *addr;
    ngx_http_core_srv_conf_t     **server;
    ngx_http_core_main_conf_t     *cmcf;
    ngx_http_linkcert_srv_conf_t  *lscf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    if (cmcf->ports == NULL) {
        return 0;
    }

    port = cmcf->ports->elts;

    for (p = 0; p < cmcf->ports->nelts; p++) {
        addr = port[p].addrs.elts;

        for (a = 0; a < port[p].addrs.nelts; a++) {
#if (NGX_HTTP_SSL)
            if (addr[a].opt.ssl) {
                continue;
            }
#endif
            server = addr[a].servers.elts;

            for (s = 0; s < addr[a].servers.nelts; s++) {
                lscf = server[s]->ctx->srv_conf[
                                          ngx_http_linkcert_module.ctx_index];

                if (lscf->enable) {
                    return 1;
                }
            }
        }
    }

    return 0;
}


/*
 * On demand needs a way to verify (targets) and to issue (ACME); the
 * Public Suffix List is loaded here, in the master, for the
 * registered-domain limit.
 */

static ngx_int_t
ngx_http_linkcert_on_demand_init(ngx_conf_t *cf,
    ngx_http_linkcert_main_conf_t *lmcf)
{
    int                  https;
    unsigned             port;
    const char          *path;
    ngx_pool_cleanup_t  *cln;
    char                 host[256];

    if (lmcf->ask.len) {
        if (lc_http_url((char *) lmcf->ask.data, &https, host, sizeof(host),
                        &port, &path)
            != 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid \"linkcert_ask\" URL \"%V\": an "
                               "http:// or https:// URL is expected",
                               &lmcf->ask);
            return NGX_ERROR;
        }
    }

    if (!lmcf->on_demand) {
        return NGX_OK;
    }

    if (lmcf->verify == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"linkcert_on_demand dns\" requires "
                           "\"linkcert_cname_target\" or "
                           "\"linkcert_target_address\"");
        return NGX_ERROR;
    }

    if (lmcf->acme_directory.data == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"linkcert_on_demand dns\" requires "
                           "\"linkcert_acme_directory\"");
        return NGX_ERROR;
    }

    if (lmcf->acme_directory.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"linkcert_on_demand dns\" cannot be used with "
                           "\"linkcert_acme_directory off\"");
        return NGX_ERROR;
    }

    lmcf->psl = psl_latest(NULL);

    if (lmcf->psl == NULL) {
        lmcf->psl = (void *) psl_builtin();

        if (lmcf->psl == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"linkcert_on_demand dns\": no Public "
                               "Suffix List found (Debian: apt-get install "
                               "publicsuffix)");
            return NGX_ERROR;
        }

        return NGX_OK;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_linkcert_psl_cleanup;
    cln->data = lmcf->psl;

    return NGX_OK;
}


static void
ngx_http_linkcert_psl_cleanup(void *data)
{
    psl_free(data);
}


static ngx_int_t
ngx_http_linkcert_init_module(ngx_cycle_t *cycle)
{
    return ngx_http_linkcert_hold_init_module(cycle);
}


static ngx_int_t
ngx_http_linkcert_init_process(ngx_cycle_t *cycle)
{
    if (ngx_http_linkcert_ssl_init_process(cycle) != NGX_OK
        || ngx_http_linkcert_hold_init_process(cycle) != NGX_OK
        || ngx_http_linkcert_store_init_process(cycle) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_linkcert_verify_init_process(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_linkcert_webhook_init_process(cycle);
}


/* this process is worker 0 of an edge with "linkcert on": its conf */

ngx_http_linkcert_main_conf_t *
ngx_http_linkcert_worker0(ngx_cycle_t *cycle)
{
    ngx_http_linkcert_main_conf_t  *lmcf;

    if ((ngx_process != NGX_PROCESS_WORKER
         && ngx_process != NGX_PROCESS_SINGLE)
        || ngx_worker != 0)
    {
        return NULL;
    }

    lmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_linkcert_module);

    return (lmcf && lmcf->enabled) ? lmcf : NULL;
}


static void
ngx_http_linkcert_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_linkcert_verify_exit_process(cycle);
    ngx_http_linkcert_webhook_exit_process(cycle);
    ngx_http_linkcert_hold_exit_process(cycle);
    ngx_http_linkcert_ssl_exit_process(cycle);
}


static char *
ngx_http_linkcert_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_linkcert_main_conf_t *lmcf = conf;

    u_char                    *p;
    ssize_t                    size;
    ngx_str_t                 *value, name, s;
    ngx_http_linkcert_zone_t  *ctx;

    if (lmcf->shm_zone) {
        return "is duplicate";
    }

    value = cf->args->elts;

    p = (u_char *) ngx_strchr(value[1].data, ':');

    if (p == NULL || p == value[1].data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone \"%V\" in \"linkcert_zone\", "
                           "expected name:size", &value[1]);
        return NGX_CONF_ERROR;
    }

    name.data = value[1].data;
    name.len = p - value[1].data;

    s.data = p + 1;
    s.len = value[1].data + value[1].len - s.data;

    size = ngx_parse_size(&s);

    if (size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone size \"%V\" in \"linkcert_zone\"",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    if (size < (ssize_t) NGX_HTTP_LINKCERT_MIN_ZONE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is too small in \"linkcert_zone\", "
                           "at least %uzk is needed", &value[1],
                           (size_t) NGX_HTTP_LINKCERT_MIN_ZONE / 1024);
        return NGX_CONF_ERROR;
    }

    ctx = ngx_pcalloc(cf->pool, sizeof(ngx_http_linkcert_zone_t));
    if (ctx == NULL) {
        return NGX_CONF_ERROR;
    }

    ctx->conf = lmcf;
    ctx->cycle = cf->cycle;

    lmcf->shm_zone = ngx_shared_memory_add(cf, &name, size,
                                           &ngx_http_linkcert_module);
    if (lmcf->shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (lmcf->shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate zone \"%V\" in \"linkcert_zone\"",
                           &name);
        return NGX_CONF_ERROR;
    }

    lmcf->shm_zone->init = ngx_http_linkcert_table_init_zone;
    lmcf->shm_zone->data = ctx;

    ngx_http_linkcert_zone_resized(cf, &name, size);

    return NGX_CONF_OK;
}


/*
 * nginx makes a new zone when the size changes: the table is then loaded
 * from the store again, and work in progress starts over.  Say so.
 */

static void
ngx_http_linkcert_zone_resized(ngx_conf_t *cf, ngx_str_t *name, size_t size)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_shm_zone_t   *zone;

    if (cf->cycle->old_cycle == NULL
        || cf->cycle->old_cycle->shared_memory.part.elts == NULL)
    {
        return;
    }

    part = &cf->cycle->old_cycle->shared_memory.part;
    zone = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return;
            }

            part = part->next;
            zone = part->elts;
            i = 0;
        }

        if (zone[i].tag == &ngx_http_linkcert_module
            && zone[i].shm.name.len == name->len
            && ngx_strncmp(zone[i].shm.name.data, name->data, name->len) == 0
            && zone[i].shm.size != size)
        {
            ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                               "linkcert_zone \"%V\" changes size from %uzk "
                               "to %uzk: a new zone is made and loaded from "
                               "the store; verifications and orders in "
                               "progress start over", name,
                               zone[i].shm.size / 1024, size / 1024);
            return;
        }
    }
}


/*
 * Only the SHA-256 of the secret is kept: the secret itself never stays
 * in memory past this function and can therefore never be logged.
 */

static char *
ngx_http_linkcert_api_key(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_linkcert_main_conf_t *lmcf = conf;

    ngx_str_t  *value, secret;
    u_char      buf[4096];

    if (lmcf->api_key_set) {
        return "is duplicate";
    }

    value = cf->args->elts;
    lmcf->api_key_file = value[1];

    if (ngx_http_linkcert_read_secret(cf, "linkcert_api_key",
                                      &lmcf->api_key_file, buf, sizeof(buf),
                                      &secret)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    SHA256(secret.data, secret.len, lmcf->api_key_hash);
    ngx_explicit_memzero(buf, sizeof(buf));

    lmcf->api_key_set = 1;

    return NGX_CONF_OK;
}


/*
 * The location answers the keyed API in the content phase, below its
 * name: a prefix or exact location, so that the name is a path.
 */

static char *
ngx_http_linkcert_api(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t       *clcf;
    ngx_http_linkcert_main_conf_t  *lmcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler == ngx_http_linkcert_api_location_handler) {
        return "is duplicate";
    }

    if (clcf->named
#if (NGX_PCRE)
        || clcf->regex
#endif
        || clcf->name.len == 0 || clcf->name.data[0] != '/')
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"linkcert_api\" cannot be used in location "
                           "\"%V\": a prefix or exact location is needed, "
                           "such as \"location /linkcert/\"", &clcf->name);
        return NGX_CONF_ERROR;
    }

    clcf->handler = ngx_http_linkcert_api_location_handler;

    lmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_linkcert_module);

    if (lmcf->api_file == NULL) {
        lmcf->api_file = cf->conf_file->file.name.data;
        lmcf->api_line = cf->conf_file->line;
    }

    return NGX_CONF_OK;
}


/*
 * A secret in a file of its own: leading and trailing whitespace (the
 * final newline) is not part of it.  The caller wipes buf.
 */

ngx_int_t
ngx_http_linkcert_read_secret(ngx_conf_t *cf, const char *directive,
    ngx_str_t *file, u_char *buf, size_t size, ngx_str_t *secret)
{
    u_char           *start, *end;
    ssize_t           n;
    ngx_fd_t          fd;
    ngx_file_info_t   fi;

    if (ngx_conf_full_name(cf->cycle, file, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    fd = ngx_open_file(file->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"%s\": " ngx_open_file_n " \"%s\" failed",
                           directive, file->data);
        return NGX_ERROR;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR
        || ngx_file_size(&fi) >= (off_t) size)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%s\": \"%s\" is not a regular file under %uz "
                           "bytes", directive, file->data, size);
        (void) ngx_close_file(fd);
        return NGX_ERROR;
    }

    n = ngx_read_fd(fd, buf, size);
    (void) ngx_close_file(fd);

    if (n == -1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"%s\": " ngx_read_fd_n " \"%s\" failed",
                           directive, file->data);
        return NGX_ERROR;
    }

    start = buf;
    end = buf + n;

    while (start < end && isspace(*start)) {
        start++;
    }

    while (end > start && isspace(end[-1])) {
        end--;
    }

    if (start == end) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%s\": \"%s\" is empty", directive, file->data);
        return NGX_ERROR;
    }

    secret->data = start;
    secret->len = end - start;

    return NGX_OK;
}


static char *
ngx_http_linkcert_cache_size(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_linkcert_main_conf_t *lmcf = conf;

    ngx_int_t   n;
    ngx_str_t  *value;

    if (lmcf->cache_size != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    n = ngx_atoi(value[1].data, value[1].len);

    if (n == NGX_ERROR || n < 1 || n > 10000000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\" in \"linkcert_cache_size\" "
                           "directive, expected 1 to 10000000", &value[1]);
        return NGX_CONF_ERROR;
    }

    lmcf->cache_size = n;

    return NGX_CONF_OK;
}


static lc_verify_conf_t *
ngx_http_linkcert_verify_conf(ngx_conf_t *cf,
    ngx_http_linkcert_main_conf_t *lmcf)
{
    if (lmcf->verify == NULL) {
        lmcf->verify = ngx_pcalloc(cf->pool, sizeof(lc_verify_conf_t));
    }

    return lmcf->verify;
}


static char *
ngx_http_linkcert_cname_target(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    size_t             len;
    ngx_str_t         *value;
    ngx_uint_t         i;
    const char        *reason;
    lc_verify_conf_t  *vc;

    vc = ngx_http_linkcert_verify_conf(cf, conf);
    if (vc == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (vc->ntargets == LC_VERIFY_MAX_TARGETS) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "too many names in \"linkcert_cname_target\", "
                               "at most %d", LC_VERIFY_MAX_TARGETS);
            return NGX_CONF_ERROR;
        }

        if (lc_domain_normalize((char *) value[i].data, value[i].len,
                                vc->targets[vc->ntargets], &len, &reason)
            != 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid name \"%V\" in "
                               "\"linkcert_cname_target\": %s",
                               &value[i], reason);
            return NGX_CONF_ERROR;
        }

        vc->ntargets++;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_linkcert_target_address(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_str_t         *value;
    ngx_uint_t         i;
    lc_verify_conf_t  *vc;
    char               text[NGX_SOCKADDR_STRLEN];

    vc = ngx_http_linkcert_verify_conf(cf, conf);
    if (vc == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (vc->naddrs == LC_VERIFY_MAX_ADDRS) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "too many addresses in "
                               "\"linkcert_target_address\", at most %d",
                               LC_VERIFY_MAX_ADDRS);
            return NGX_CONF_ERROR;
        }

        if (value[i].len >= sizeof(text)) {
            goto invalid;
        }

        ngx_cpystrn((u_char *) text, value[i].data, value[i].len + 1);

        if (lc_addr_parse(text, &vc->addrs[vc->naddrs]) != 0) {
            goto invalid;
        }

        vc->naddrs++;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid address \"%V\" in "
                       "\"linkcert_target_address\", expected an IPv4 or "
                       "IPv6 address", &value[i]);
    return NGX_CONF_ERROR;
}


static char *
ngx_http_linkcert_caa_identity(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    size_t             len;
    ngx_str_t         *value;
    const char        *reason;
    lc_verify_conf_t  *vc;

    vc = ngx_http_linkcert_verify_conf(cf, conf);
    if (vc == NULL) {
        return NGX_CONF_ERROR;
    }

    if (vc->caa_identity[0]) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (lc_domain_normalize((char *) value[1].data, value[1].len,
                            vc->caa_identity, &len, &reason)
        != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid name \"%V\" in "
                           "\"linkcert_caa_identity\": %s",
                           &value[1], reason);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * linkcert_resolver address[:port] ... [timeout=time] [attempts=n];
 * the addresses become the "ip:port,..." list that c-ares takes.
 */

static char *
ngx_http_linkcert_resolver(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_linkcert_main_conf_t *lmcf = conf;

    u_char     *p, *last;
    ngx_int_t   n;
    ngx_str_t  *value, s;
    ngx_uint_t  i;
    ngx_url_t   u;

    if (lmcf->resolver.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    p = ngx_pnalloc(cf->pool, cf->args->nelts * (NGX_SOCKADDR_STRLEN + 1));
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    lmcf->resolver.data = p;
    last = p;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "timeout=", 8) == 0) {
            s.len = value[i].len - 8;
            s.data = value[i].data + 8;

            lmcf->resolver_timeout = ngx_parse_time(&s, 0);

            if (lmcf->resolver_timeout == (ngx_msec_t) NGX_ERROR
                || lmcf->resolver_timeout == 0)
            {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "attempts=", 9) == 0) {
            n = ngx_atoi(value[i].data + 9, value[i].len - 9);

            if (n < 1 || n > 10) {
                goto invalid;
            }

            lmcf->resolver_attempts = n;
            continue;
        }

        ngx_memzero(&u, sizeof(ngx_url_t));

        u.url = value[i];
        u.default_port = 53;
        u.no_resolve = 1;

        if (ngx_parse_url(cf->pool, &u) != NGX_OK
            || (u.no_port == 0 && u.port == 0))
        {
            goto invalid;
        }

        /* finding the DNS servers must not need DNS */

        if (u.naddrs == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid value \"%V\" in "
                               "\"linkcert_resolver\": an IP address is "
                               "required, not a name", &value[i]);
            return NGX_CONF_ERROR;
        }

        if (last != p) {
            *last++ = ',';
        }

        last += ngx_sock_ntop(u.addrs[0].sockaddr, u.addrs[0].socklen, last,
                              NGX_SOCKADDR_STRLEN, 1);
    }

    if (last == p) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"linkcert_resolver\" needs at least one "
                           "address");
        return NGX_CONF_ERROR;
    }

    *last = '\0';
    lmcf->resolver.len = last - p;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid value \"%V\" in \"linkcert_resolver\"",
                       &value[i]);
    return NGX_CONF_ERROR;
}


/*
 * The client context for the ACME server: its certificate chain and host
 * name are always verified, against linkcert_acme_trusted_certificate.
 * Only an edge that can verify domains ever orders.
 */

static ngx_int_t
ngx_http_linkcert_acme_ssl(ngx_conf_t *cf,
    ngx_http_linkcert_main_conf_t *lmcf)
{
    if (lmcf->verify == NULL || lmcf->acme_directory.len == 0) {
        return NGX_OK;
    }

    lmcf->acme_ssl = ngx_http_linkcert_client_ssl(cf, &lmcf->acme_trusted);

    return (lmcf->acme_ssl == NULL) ? NGX_ERROR : NGX_OK;
}


/* a client context that verifies servers against the CAs in trusted */

ngx_ssl_t *
ngx_http_linkcert_client_ssl(ngx_conf_t *cf, ngx_str_t *trusted)
{
    ngx_ssl_t           *ssl;
    ngx_pool_cleanup_t  *cln;

    ssl = ngx_pcalloc(cf->pool, sizeof(ngx_ssl_t));
    if (ssl == NULL) {
        return NULL;
    }

    ssl->log = cf->log;

    if (ngx_ssl_create(ssl, NGX_SSL_TLSv1_2|NGX_SSL_TLSv1_3, NULL)
        != NGX_OK)
    {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        ngx_ssl_cleanup_ctx(ssl);
        return NULL;
    }

    cln->handler = ngx_ssl_cleanup_ctx;
    cln->data = ssl;

    if (ngx_ssl_trusted_certificate(cf, ssl, trusted, 10) != NGX_OK) {
        return NULL;
    }

    return ssl;
}


/*
 * linkcert_store path: checked here, where the file and line are known.
 * The directory itself is created by the master at start (nginx -t
 * creates nothing): here its parent must exist, or the store must be a
 * directory already.
 */

static char *
ngx_http_linkcert_store_dir(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_linkcert_main_conf_t *lmcf = conf;

    u_char           *p, *slash, *parent;
    ngx_str_t        *value;
    ngx_file_info_t   fi;

    if (lmcf->store.data) {
        return "is duplicate";
    }

    value = cf->args->elts;
    lmcf->store = value[1];
    lmcf->store_file = cf->conf_file->file.name.data;
    lmcf->store_line = cf->conf_file->line;

    if (ngx_conf_full_name(cf->cycle, &lmcf->store, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    /* used with system calls: no trailing "/", NUL-terminated */

    while (lmcf->store.len > 1
           && lmcf->store.data[lmcf->store.len - 1] == '/')
    {
        lmcf->store.len--;
    }

    if (lmcf->store.len + sizeof("/domains//fullchain.pem") + LC_DOMAIN_MAX
        > NGX_MAX_PATH)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"linkcert_store\" path \"%V\" is too long",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    p = ngx_pnalloc(cf->pool, lmcf->store.len + 1);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_cpystrn(p, lmcf->store.data, lmcf->store.len + 1);
    lmcf->store.data = p;

    if (ngx_file_info(p, &fi) != NGX_FILE_ERROR) {

        if (!ngx_is_dir(&fi)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"linkcert_store\" \"%s\" is not a "
                               "directory", p);
            return NGX_CONF_ERROR;
        }

        return NGX_CONF_OK;
    }

    if (ngx_errno != NGX_ENOENT) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"linkcert_store\" \"%s\": "
                           ngx_file_info_n " failed", p);
        return NGX_CONF_ERROR;
    }

    /* missing: made at start, in a directory that must exist */

    slash = (u_char *) strrchr((char *) p, '/');

    if (slash == NULL || slash == p) {
        return NGX_CONF_OK;
    }

    parent = ngx_pnalloc(cf->temp_pool, slash - p + 1);
    if (parent == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_cpystrn(parent, p, slash - p + 1);

    if (ngx_file_info(parent, &fi) == NGX_FILE_ERROR || !ngx_is_dir(&fi)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"linkcert_store\" \"%s\": its parent "
                           "directory \"%s\" does not exist", p, parent);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * linkcert_acme_directory url | off;
 * linkcert_acme_directory url backup [max_fails=n] [eab_kid=kid
 *     eab_key=file];
 */

static char *
ngx_http_linkcert_acme_directory(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_linkcert_main_conf_t *lmcf = conf;

    int          https;
    unsigned     port;
    ngx_str_t   *value;
    const char  *path;
    char         host[256];

    value = cf->args->elts;

    if (cf->args->nelts > 6) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid number of arguments in "
                           "\"linkcert_acme_directory\" \"%V\"",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    if (cf->args->nelts > 2 || ngx_strcmp(value[1].data, "off") != 0) {

        if (lc_http_url((char *) value[1].data, &https, host, sizeof(host),
                        &port, &path)
            != 0
            || !https)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid URL \"%V\" in "
                               "\"linkcert_acme_directory\", expected "
                               "https://host[:port]/path or off", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    if (cf->args->nelts > 2) {
        return ngx_http_linkcert_acme_backup(cf, lmcf);
    }

    if (lmcf->acme_directory.data) {
        return "is duplicate";
    }

    if (ngx_strcmp(value[1].data, "off") == 0) {
        ngx_str_set(&lmcf->acme_directory, "");
        return NGX_CONF_OK;
    }

    if (lmcf->acme_backup.len
        && ngx_strcmp(value[1].data, lmcf->acme_backup.data) == 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"linkcert_acme_directory\" \"%V\" is "
                           "already the backup", &value[1]);
        return NGX_CONF_ERROR;
    }

    lmcf->acme_directory = value[1];

    return NGX_CONF_OK;
}


/* the second CA: orders fail over to it (see lc_failover.h) */

static char *
ngx_http_linkcert_acme_backup(ngx_conf_t *cf,
    ngx_http_linkcert_main_conf_t *lmcf)
{
    ngx_int_t    n;
    ngx_str_t   *value, kid, file;
    ngx_uint_t   i;

    value = cf->args->elts;

    if (ngx_strcmp(value[2].data, "backup") != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\" in "
                           "\"linkcert_acme_directory\", expected "
                           "\"backup\"", &value[2]);
        return NGX_CONF_ERROR;
    }

    if (lmcf->acme_backup.data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"linkcert_acme_directory %V backup\": there is "
                           "a backup already, \"%V\"", &value[1],
                           &lmcf->acme_backup);
        return NGX_CONF_ERROR;
    }

    if (lmcf->acme_directory.len
        && ngx_strcmp(value[1].data, lmcf->acme_directory.data) == 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"linkcert_acme_directory\" \"%V\" is "
                           "already the primary", &value[1]);
        return NGX_CONF_ERROR;
    }

    ngx_str_null(&kid);
    ngx_str_null(&file);

    for (i = 3; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "max_fails=", 10) == 0) {
            n = ngx_atoi(value[i].data + 10, value[i].len - 10);

            if (n < 1 || n > 100) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid value \"%V\" in "
                                   "\"linkcert_acme_directory\", expected "
                                   "max_fails=1..100", &value[i]);
                return NGX_CONF_ERROR;
            }

            lmcf->acme_max_fails = (ngx_uint_t) n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "eab_kid=", 8) == 0
            && value[i].len > 8)
        {
            kid.data = value[i].data + 8;
            kid.len = value[i].len - 8;
            continue;
        }

        if (ngx_strncmp(value[i].data, "eab_key=", 8) == 0
            && value[i].len > 8)
        {
            file.data = value[i].data + 8;
            file.len = value[i].len - 8;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\" in "
                           "\"linkcert_acme_directory\", expected "
                           "max_fails=, eab_kid= or eab_key=", &value[i]);
        return NGX_CONF_ERROR;
    }

    if ((kid.len == 0) != (file.len == 0)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"linkcert_acme_directory %V backup\" needs "
                           "both eab_kid= and eab_key=, or neither",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    if (file.len
        && ngx_http_linkcert_eab_key(cf, "linkcert_acme_directory", &file,
                                     &lmcf->acme_backup_eab_key)
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    lmcf->acme_backup_eab_kid = kid;
    lmcf->acme_backup = value[1];

    return NGX_CONF_OK;
}


static char *
ngx_http_linkcert_acme_contact(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_linkcert_main_conf_t *lmcf = conf;

    char       **contact;
    ngx_str_t   *value;
    ngx_uint_t   i;

    if (lmcf->acme_contacts) {
        return "is duplicate";
    }

    if (cf->args->nelts > 9) {
        return "takes at most 8 URIs";
    }

    lmcf->acme_contacts = ngx_array_create(cf->pool, cf->args->nelts,
                                           sizeof(char *));
    if (lmcf->acme_contacts == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strlchr(value[i].data, value[i].data + value[i].len, ':')
            == NULL)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid URI \"%V\" in "
                               "\"linkcert_acme_contact\", expected e.g. "
                               "mailto:ops@example.com", &value[i]);
            return NGX_CONF_ERROR;
        }

        contact = ngx_array_push(lmcf->acme_contacts);
        if (contact == NULL) {
            return NGX_CONF_ERROR;
        }

        *contact = (char *) value[i].data;
    }

    return NGX_CONF_OK;
}


/* linkcert_acme_eab kid file: the file holds the base64url HMAC key */

static char *
ngx_http_linkcert_acme_eab(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_linkcert_main_conf_t *lmcf = conf;

    ngx_str_t  *value;

    if (lmcf->acme_eab_kid.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_http_linkcert_eab_key(cf, "linkcert_acme_eab", &value[2],
                                  &lmcf->acme_eab_key)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    lmcf->acme_eab_kid = value[1];

    return NGX_CONF_OK;
}


/* an EAB HMAC key: base64url in a file, decoded into key */

static ngx_int_t
ngx_http_linkcert_eab_key(ngx_conf_t *cf, const char *name, ngx_str_t *file,
    ngx_str_t *key)
{
    ngx_str_t  src;
    u_char     buf[1024];

    if (ngx_http_linkcert_read_secret(cf, name, file, buf, sizeof(buf), &src)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    key->data = ngx_pnalloc(cf->pool, ngx_base64_decoded_length(src.len));
    if (key->data == NULL) {
        ngx_explicit_memzero(buf, sizeof(buf));
        return NGX_ERROR;
    }

    if (ngx_decode_base64url(key, &src) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%s\": \"%s\" does not hold a base64url HMAC "
                           "key", name, file->data);
        ngx_explicit_memzero(buf, sizeof(buf));
        return NGX_ERROR;
    }

    ngx_explicit_memzero(buf, sizeof(buf));

    return NGX_OK;
}


static char *
ngx_http_linkcert_positive_sec(ngx_conf_t *cf, void *post, void *data)
{
    time_t  *sp = data;

    if (*sp <= 0) {
        return "must be at least 1s";
    }

    return NGX_CONF_OK;
}



/*
 * A number with its unit: "linkcert_renew_at 67%" (0% renews at the next
 * check), "linkcert_order_rate 100/h".
 */

static char *
ngx_http_linkcert_suffixed(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_linkcert_suffixed_t  *sf = cmd->post;

    size_t       len;
    ngx_int_t    n;
    ngx_str_t   *value;
    ngx_uint_t  *np;

    np = (ngx_uint_t *) ((char *) conf + cmd->offset);

    if (*np != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;
    len = ngx_strlen(sf->suffix);
    n = NGX_ERROR;

    if (value[1].len > len
        && ngx_strcmp(value[1].data + value[1].len - len, sf->suffix) == 0)
    {
        n = ngx_atoi(value[1].data, value[1].len - len);
    }

    if (n == NGX_ERROR || n < sf->min || n > sf->max) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\" in \"%V\", expected %s",
                           &value[1], &cmd->name, sf->expected);
        return NGX_CONF_ERROR;
    }

    *np = n;

    return NGX_CONF_OK;
}


static char *
ngx_http_linkcert_slot(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_linkcert_slot_t  *slot = cmd->post;

    char             *rv;
    u_char           *p, *last;
    ngx_str_t        *value;
    ngx_command_t     inner;
    ngx_conf_enum_t  *e;
    u_char            allowed[128];

    value = cf->args->elts;

    /* nginx's enum slot would log a line of its own, without the name */

    if (slot->set == ngx_conf_set_enum_slot) {
        for (e = slot->post; e->name.len; e++) {
            if (e->name.len == value[1].len
                && ngx_strcasecmp(e->name.data, value[1].data) == 0)
            {
                break;
            }
        }

        if (e->name.len == 0) {

            /* the allowed values, as "a", "b" or "c" */

            p = allowed;
            last = allowed + sizeof(allowed);

            for (e = slot->post; e->name.len; e++) {
                p = ngx_slprintf(p, last, "%s\"%V\"",
                                 (e == slot->post) ? ""
                                 : (e[1].name.len ? ", " : " or "),
                                 &e->name);
            }

            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid value \"%V\" in \"%V\", expected %*s",
                               &value[1], &cmd->name, p - allowed, allowed);
            return NGX_CONF_ERROR;
        }
    }

    inner = *cmd;
    inner.post = slot->post;

    rv = slot->set(cf, &inner, conf);

    if (rv == NGX_CONF_OK
        || (rv != NGX_CONF_ERROR && ngx_strcmp(rv, "is duplicate") == 0))
    {
        return rv;
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid value \"%V\" in \"%V\"%s%s",
                       &value[1], &cmd->name,
                       (rv == NGX_CONF_ERROR) ? "" : ": ",
                       (rv == NGX_CONF_ERROR) ? "" : rv);

    return NGX_CONF_ERROR;
}
