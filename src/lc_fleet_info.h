/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: what the edge that wrote a certificate to the fleet learned
 * from parsing and checking it (lc_cert_info(): validity, sha256, serial,
 * issuer), carried in the record (its field "info"), so that the other
 * edges apply the change without parsing the pair again.
 *
 * The text, version 1:
 *     1 <not_before> <not_after> <sha256> <serial> <chain> <key> <issuer>
 * times in seconds since the epoch, <sha256> of the leaf's DER, <chain>
 * and <key> the SHA-256 of the PEM chain and of the PEM private key the
 * record holds, all in lowercase hex (<serial> "-" when empty), the
 * issuer to the end.  It is sealed (lc_seal) under the fleet's key with
 * "info:<domain>" as its label: it opens only with the fleet's key, for
 * that domain, and applies only to the very chain and key it was written
 * with.
 */

#ifndef LC_FLEET_INFO_H
#define LC_FLEET_INFO_H

#include <stddef.h>

#include "lc_cert.h"
#include "lc_seal.h"


#define LC_FLEET_INFO_MAX     512       /* the text, generous */
#define LC_FLEET_INFO_SEALED  (LC_FLEET_INFO_MAX + LC_SEAL_OVERHEAD)


/*
 * Seals info about chain and key (as PEM) for domain into out
 * (LC_FLEET_INFO_SEALED bytes), *out_len set; 0, or -1.
 */
int lc_fleet_info_seal(const unsigned char fleet[LC_SEAL_KEY_LEN],
    const char *domain, size_t domain_len, const lc_cert_info_t *info,
    const char *chain, size_t chain_len, const char *key, size_t key_len,
    unsigned char *out, size_t *out_len);

/*
 * Opens a sealed info for domain and checks that it was written with
 * this chain and key; 0 and info set, or -1 and *reason says why (does
 * not open, not a known version, malformed, another chain or key).
 */
int lc_fleet_info_open(const unsigned char fleet[LC_SEAL_KEY_LEN],
    const char *domain, size_t domain_len, const unsigned char *sealed,
    size_t sealed_len, const char *chain, size_t chain_len, const char *key,
    size_t key_len, lc_cert_info_t *info, const char **reason);

#endif /* LC_FLEET_INFO_H */
