/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the keys and certificates of an ACME order, in memory: the
 * certificate's new key, its CSR, and the check of the chain the CA
 * returns.  The account key functions of lc_acme.h and its
 * lc_acme_cert_id() (ARI) live here too.
 */

#ifndef LC_ACME_KEY_H
#define LC_ACME_KEY_H

#include <stddef.h>
#include <openssl/evp.h>

#include "lc_acme.h"


/* A new key for a certificate, or NULL. */
EVP_PKEY *lc_acme_key_new(lc_acme_key_type_e type);

/* A private key from PEM (no password), or NULL. */
EVP_PKEY *lc_acme_key_load(const char *pem, size_t len);

/* The private key as unencrypted PKCS#8 PEM, malloc()ed, or NULL. */
char *lc_acme_key_pem(EVP_PKEY *key, size_t *len);

/*
 * The CSR for one DNS name signed by key, as base64url DER (malloc()ed),
 * ready for the finalize payload, or NULL.
 */
char *lc_acme_csr(EVP_PKEY *key, const char *domain);

/*
 * Whether pem (len bytes) holds one or more certificates, all readable,
 * the first of which carries key's public key.  Returns 0, or -1 with
 * *reason set to a static sentence.
 */
int lc_acme_chain_check(const char *pem, size_t len, EVP_PKEY *key,
    const char **reason);

#endif /* LC_ACME_KEY_H */
