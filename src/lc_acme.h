/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: an RFC 8555 ACME client as a state machine, without I/O.
 *
 * The glue asks for the next request (lc_acme_next()), sends it over
 * HTTPS, and feeds the response back (lc_acme_feed()), until the machine
 * is done.  The machine never touches the network, the disk or a clock:
 * times come in as arguments, keys and files go out as PEM in memory.
 *
 * One lc_acme_account_t (key, directory, account URL) is shared by all
 * orders of a worker.  The account is set up by a machine of its own kind
 * (LC_ACME_ACCOUNT) before any order machine (LC_ACME_ORDER) runs.  A
 * third kind (LC_ACME_RENEWAL_INFO) asks the CA when to renew a
 * certificate (ARI, RFC 9773); it needs the directory read, not the
 * account.
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
#define LC_ACME_ARI_INTERVAL  (12 * 3600)  /* renewal information asked */
#define LC_ACME_ARI_MAX       86400        /* the longest Retry-After kept */
#define LC_ACME_CERT_ID_LEN  256        /* an ARI id, incl. NUL: room for
                                           any real AKI and serial */

/*
 * badNonce answers retried in a row: CAs may reject any share of good
 * nonces (Pebble rejects 5% by default, tests ask 90%), and a retry costs
 * one round trip.
 */
#define LC_ACME_NONCE_RETRIES  100


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
    const char          *error;             /* status 0: why, or NULL */
} lc_acme_response_t;


typedef enum {
    LC_ACME_SEND = 0,      /* send *req, then lc_acme_feed() */
    LC_ACME_WAIT,          /* call lc_acme_next() again after *delay ms */
    LC_ACME_PUBLISH,       /* publish the HTTP-01 key authorization
                              (lc_acme_challenge()), then lc_acme_next() */
    LC_ACME_DONE,          /* account ready, certificate in
                              lc_acme_result(), or window in
                              lc_acme_renewal_window() */
    LC_ACME_FAILED         /* see lc_acme_error() */
} lc_acme_action_e;


typedef enum {
    LC_ACME_ACCOUNT = 0,
    LC_ACME_ORDER,
    LC_ACME_RENEWAL_INFO
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
 * The ARI certificate identifier (RFC 9773 section 4.1) of the first
 * certificate of chain_pem: base64url of its Authority Key Identifier's
 * keyIdentifier, ".", base64url of the content octets of its DER serial
 * number (with the leading 0x00 DER keeps for a high bit), as a string in
 * id.  LC_ACME_CERT_ID_LEN is enough for real certificates.  Returns 0,
 * or -1: no readable certificate, no AKI keyIdentifier, size too small.
 */
int lc_acme_cert_id(const char *chain_pem, size_t len, char *id,
    size_t size);

/*
 * A machine.  ORDER: domain is the normalised name, key_type the type of
 * the certificate's new key, replaces the ARI id of the certificate being
 * renewed (or NULL), sent as the newOrder's "replaces".  RENEWAL_INFO:
 * replaces is the ARI id to ask about (required); domain and key_type are
 * not used.  An id is accepted as lc_acme_cert_id() makes it: base64url,
 * ".", base64url, shorter than LC_ACME_CERT_ID_LEN.  Returns NULL on
 * allocation failure.
 */
lc_acme_t *lc_acme_new(lc_acme_kind_e kind, lc_acme_account_t *acct,
    const char *domain, lc_acme_key_type_e key_type, const char *replaces);
void lc_acme_free(lc_acme_t *m);

/*
 * An ORDER machine's order, to be kept so that another process can go on
 * with it (lc_acme_resume): a JSON text of the domain, the order URL and,
 * once the machine is about to finalize, the certificate's key, with the
 * account's directory URL (whose order it is).  After
 * lc_acme_next() returned SEND, returns that text (malloc()ed, *len
 * bytes, to free with lc_acme_saved_free()) if it changed since the last
 * call, and NULL otherwise: the caller keeps it before the request is
 * sent, so that the key of a finalized order is never lost.
 */
char *lc_acme_save(lc_acme_t *m, size_t *len);
void lc_acme_saved_free(char *saved, size_t len);

/*
 * An ORDER machine that goes on with a saved order of domain: it fetches
 * the order and continues from its status (authorizations, finalize with
 * the saved key, the certificate).  A text that is not a saved order of
 * domain, or one of another directory than acct's, gives a FAILED machine
 * (acme_internal); NULL on allocation failure.
 */
lc_acme_t *lc_acme_resume(lc_acme_account_t *acct, const char *domain,
    lc_acme_key_type_e key_type, const char *saved, size_t len);

/*
 * Whether an ORDER machine still has to make the certificate's key (it
 * makes it itself when finalizing, unless the caller gives one first).
 * A caller that makes keys elsewhere (an RSA key costs tens to hundreds
 * of milliseconds) gives it with lc_acme_set_key(), which takes
 * ownership.
 */
int lc_acme_wants_key(lc_acme_t *m);
void lc_acme_set_key(lc_acme_t *m, EVP_PKEY *key);

/*
 * The next step.  now is the wall clock (seconds) for Retry-After
 * arithmetic.  SEND fills *req; WAIT sets *delay_ms (Retry-After clamped
 * to 1..60 s; without one, 50 ms doubling up to 5 s).
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

/*
 * After FAILED: 1 when the CA did not answer (refused, timeout, TLS) or
 * answered with HTTP 5xx, at any step; 0 otherwise.
 */
int lc_acme_unreachable(lc_acme_t *m);

/*
 * The directory URL of the CA a text of lc_acme_save() belongs to, into
 * directory (size bytes).  Returns 0, 1 for a text that names none (saved
 * by a version that had one CA), -1 for a text that is not JSON or a URL
 * too long.
 */
int lc_acme_saved_directory(const char *saved, size_t len, char *directory,
    size_t size);

/*
 * When to ask for a certificate's renewal information again, after an
 * answer (or a failure) at now with the CA's Retry-After in seconds (0:
 * none): LC_ACME_ARI_INTERVAL later, or the Retry-After when it is
 * longer, up to LC_ACME_ARI_MAX.
 */
time_t lc_acme_ari_next(time_t now, time_t retry_after);

/*
 * After DONE for RENEWAL_INFO: the CA's suggested renewal window (start <
 * end, seconds since the epoch) and the answer's Retry-After in seconds
 * from the now of the last lc_acme_next() (0: none), when to ask again;
 * RFC 9773 section 4.3.3 suggests clamping it, e.g. to 1 min .. 1 day.
 * Returns 0, or -1 for another machine or state.
 */
int lc_acme_renewal_window(lc_acme_t *m, time_t *start, time_t *end,
    time_t *retry_after);

#endif /* LC_ACME_H */
