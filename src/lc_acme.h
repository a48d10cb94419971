/*
 * linkcert: an RFC 8555 ACME client as a state machine, without I/O.
 *
 * The glue asks for the next request (lc_acme_next()), sends it over
 * HTTPS, and feeds the response back (lc_acme_feed()), until the machine
 * is done.  The machine never touches the network, the disk or a clock:
 * times come in as arguments, keys and files go out as PEM in memory.
 *
 * One lc_acme_account_t (key, directory, account URL) is shared by all
 * orders of a worker.  The account is set up by a machine of its own kind
 * (LC_ACME_ACCOUNT) before any order machine (LC_ACME_ORDER) runs.
 */

#ifndef LC_ACME_H
#define LC_ACME_H

#include <stddef.h>
#include <time.h>
#include <openssl/evp.h>

#include "lc_domain.h"
#include "lc_error.h"


#define LC_ACME_URL_MAX      1024
#define LC_ACME_NONCE_MAX    128
#define LC_ACME_TOKEN_MAX    128
#define LC_ACME_KEYAUTH_MAX  (LC_ACME_TOKEN_MAX + 64)
#define LC_ACME_NONCE_RETRIES  5


typedef enum {
    LC_ACME_KEY_EC256 = 0,
    LC_ACME_KEY_RSA2048
} lc_acme_key_type_e;


/* shared by all orders; filled by the account machine */
typedef struct {
    EVP_PKEY            *key;               /* ES256 (P-256) account key */
    char                 thumbprint[64];    /* RFC 7638, base64url */
    char                 directory[LC_ACME_URL_MAX];
    char                 new_nonce[LC_ACME_URL_MAX];
    char                 new_account[LC_ACME_URL_MAX];
    char                 new_order[LC_ACME_URL_MAX];
    char                 renewal_info[LC_ACME_URL_MAX];  /* "" if none */
    char                 kid[LC_ACME_URL_MAX];           /* "" until set */
    char                 nonce[LC_ACME_NONCE_MAX];       /* "" if none */
    const char         **contacts;          /* NULL-terminated, or NULL */
    const char          *eab_kid;           /* NULL: no EAB */
    const unsigned char *eab_hmac;          /* the decoded HMAC key */
    size_t               eab_hmac_len;
} lc_acme_account_t;


typedef struct {
    const char          *method;            /* "GET", "HEAD" or "POST" */
    const char          *accept;            /* Accept header, or NULL */
    const char          *content_type;      /* Content-Type header, or
                                               NULL; POSTs carry
                                               application/jose+json */
    char                 url[LC_ACME_URL_MAX];
    char                *body;              /* malloc()ed JWS, or NULL;
                                               the glue frees it */
    size_t               body_len;
} lc_acme_request_t;


typedef struct {
    int                  status;            /* HTTP status; 0: no answer */
    const char          *nonce;             /* Replay-Nonce, or NULL */
    const char          *location;          /* Location, or NULL */
    const char          *retry_after;       /* Retry-After as sent, or NULL */
    const char          *content_type;      /* or NULL */
    const char          *body;
    size_t               body_len;
} lc_acme_response_t;


typedef enum {
    LC_ACME_SEND = 0,      /* send *req, then lc_acme_feed() */
    LC_ACME_WAIT,          /* call lc_acme_next() again after *delay ms */
    LC_ACME_PUBLISH,       /* publish the HTTP-01 key authorization
                              (lc_acme_challenge()), then lc_acme_next() */
    LC_ACME_DONE,          /* account ready, or certificate in
                              lc_acme_result() */
    LC_ACME_FAILED         /* see lc_acme_error() */
} lc_acme_action_e;


typedef enum {
    LC_ACME_ACCOUNT = 0,
    LC_ACME_ORDER
} lc_acme_kind_e;


typedef struct lc_acme_s  lc_acme_t;


/*
 * Account key: generates a new P-256 key (lc_acme_account_key_new) or
 * loads one from PEM; lc_acme_account_key_pem() gives the PEM to store.
 * lc_acme_account_init() computes the thumbprint.  Returns 0 or -1.
 */
EVP_PKEY *lc_acme_account_key_new(void);
EVP_PKEY *lc_acme_account_key_load(const char *pem, size_t len);
char *lc_acme_account_key_pem(EVP_PKEY *key, size_t *len);   /* malloc */
int lc_acme_account_init(lc_acme_account_t *acct, EVP_PKEY *key,
    const char *directory);

/*
 * A machine.  ORDER: domain is the normalised name, key_type the type of
 * the certificate's new key, replaces the ARI id of the certificate being
 * renewed (or NULL).  Returns NULL on allocation failure.
 */
lc_acme_t *lc_acme_new(lc_acme_kind_e kind, lc_acme_account_t *acct,
    const char *domain, lc_acme_key_type_e key_type, const char *replaces);
void lc_acme_free(lc_acme_t *m);

/*
 * The next step.  now is the wall clock (seconds) for Retry-After
 * arithmetic.  SEND fills *req; WAIT sets *delay_ms (Retry-After clamped
 * to 1..60 s, or 1 s, growing slowly without one).
 */
lc_acme_action_e lc_acme_next(lc_acme_t *m, time_t now,
    lc_acme_request_t *req, unsigned *delay_ms);

/* The response to the last SEND (status 0: no response, transport error). */
void lc_acme_feed(lc_acme_t *m, const lc_acme_response_t *res);

/* After PUBLISH: the token and the key authorization to serve. */
const char *lc_acme_challenge(lc_acme_t *m, const char **key_authorization);

/*
 * After DONE for an order: the chain as sent by the CA (leaf first) and
 * the new private key, both PEM, owned by the machine.
 */
int lc_acme_result(lc_acme_t *m, const char **chain, size_t *chain_len,
    const char **key, size_t *key_len);

/*
 * After FAILED: the error (type: the ACME problem type, e.g.
 * "urn:ietf:params:acme:error:unauthorized", or "acme_transport",
 * "acme_protocol"; detail sanitised), whether it is transient (worth a
 * retry with backoff) and the CA's Retry-After in seconds (0: none).
 */
const lc_error_t *lc_acme_error(lc_acme_t *m, int *transient,
    time_t *retry_after);

#endif /* LC_ACME_H */
