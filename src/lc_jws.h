/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: JSON Web Signatures as ACME uses them (RFC 7515, RFC 8555
 * section 6.2): base64url, the account key's JWK and its RFC 7638
 * thumbprint, ES256 flattened JWS and the HS256 external account binding.
 */

#ifndef LC_JWS_H
#define LC_JWS_H

#include <stddef.h>
#include <jansson.h>
#include <openssl/evp.h>


#define LC_JWS_THUMBPRINT_LEN  43       /* base64url of a SHA-256 */


/* base64url without padding, malloc()ed and NUL-terminated, or NULL */
char *lc_jws_b64url(const unsigned char *data, size_t len, size_t *out_len);

/* {"crv":"P-256","kty":"EC","x","y"}, or NULL if not a P-256 key */
json_t *lc_jws_jwk(EVP_PKEY *key);

/* RFC 7638 into out (at least LC_JWS_THUMBPRINT_LEN + 1); 0 or -1 */
int lc_jws_thumbprint(EVP_PKEY *key, char *out, size_t size);

/*
 * {"protected","payload","signature"} signed with ES256 by the P-256 key.
 * header holds nonce, url and jwk or kid; "alg" is added here.  payload
 * is len bytes; len 0 makes the empty payload of a POST-as-GET.
 */
json_t *lc_jws_es256(EVP_PKEY *key, json_t *header, const char *payload,
    size_t len);

/*
 * The externalAccountBinding of a newAccount payload (RFC 8555 section
 * 7.3.4): the account's JWK signed with HS256 by the CA-issued HMAC key.
 */
json_t *lc_jws_eab(EVP_PKEY *key, const char *kid,
    const unsigned char *hmac, size_t hmac_len, const char *url);

/*
 * Compact JSON text, malloc()ed (never jansson's allocator, so that the
 * caller may free() it), NUL-terminated, or NULL.
 */
char *lc_jws_dump(const json_t *json, size_t flags, size_t *len);

#endif /* LC_JWS_H */
