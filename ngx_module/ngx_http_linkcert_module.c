
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: per-SNI certificates for tracking domains, with a status API.
 *
 * This file holds the module, its directives' table, its configuration
 * and hooks; the directives' handlers are in ngx_http_linkcert_conf.c,
 * _conf_dns.c and _conf_acme.c; the table, the store, the handshake and
 * the API live in their own files.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <libpsl.h>

#include "ngx_http_linkcert.h"
#include "ngx_http_linkcert_redis.h"
#include "ngx_http_linkcert_state.h"


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

    { ngx_string("linkcert_redis"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_linkcert_redis,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("linkcert_redis_key"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_linkcert_redis_key,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("linkcert_edge"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_linkcert_edge,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
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

    ngx_conf_init_uint_value(lmcf->cache_size, 0);      /* from the zone */
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

    if (ngx_http_linkcert_keygen_conf(cf, lmcf) != NGX_OK
        || ngx_http_linkcert_redis_init_conf(cf, lmcf) != NGX_OK
        || ngx_http_linkcert_store_check_conf(cf, lmcf) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    lmcf->state = ngx_http_linkcert_state_local(cf, lmcf);

    if (lmcf->state && lmcf->redis) {
        lmcf->state = ngx_http_linkcert_state_redis(cf, lmcf, lmcf->state);
    }

    if (lmcf->state == NULL) {
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
        || ngx_http_linkcert_store_init_process(cycle) != NGX_OK
        || ngx_http_linkcert_store_check_init_process(cycle) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_linkcert_worker_init_process(cycle) != NGX_OK
        || ngx_http_linkcert_redis_sentinel_init_process(cycle) != NGX_OK
        || ngx_http_linkcert_redis_init_process(cycle) != NGX_OK
        || ngx_http_linkcert_redis_cert_init_process(cycle) != NGX_OK
        || ngx_http_linkcert_redis_due_init_process(cycle) != NGX_OK)
    {
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
    ngx_http_linkcert_worker_exit_process(cycle);
    ngx_http_linkcert_store_check_exit_process(cycle);
    ngx_http_linkcert_webhook_exit_process(cycle);
    ngx_http_linkcert_hold_exit_process(cycle);
    ngx_http_linkcert_ssl_exit_process(cycle);
    ngx_http_linkcert_redis_cert_exit_process(cycle);
    ngx_http_linkcert_redis_due_exit_process(cycle);
    ngx_http_linkcert_redis_exit_process(cycle);
    ngx_http_linkcert_redis_sentinel_exit_process(cycle);
}
