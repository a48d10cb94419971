/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: sealing secrets (private keys) before they leave the edge
 * for shared storage: AES-256-GCM under the fleet's key, a random 96-bit
 * nonce per seal, and a label (where the secret belongs, e.g. the
 * domain's name) authenticated with it, so that a sealed key moved to
 * another domain's slot does not open.
 *
 * A sealed blob: version (1 byte, LC_SEAL_V1), nonce (12), ciphertext
 * (as long as the plaintext), GCM tag (16).
 */

#ifndef LC_SEAL_H
#define LC_SEAL_H

#include <stddef.h>


#define LC_SEAL_KEY_LEN     32
#define LC_SEAL_KEY_HEX     64          /* the key file's characters */
#define LC_SEAL_V1          1
#define LC_SEAL_NONCE_LEN   12
#define LC_SEAL_TAG_LEN     16
#define LC_SEAL_OVERHEAD    (1 + LC_SEAL_NONCE_LEN + LC_SEAL_TAG_LEN)


/* 64 hexadecimal characters into 32 bytes; -1 if not exactly that */
int lc_seal_key_parse(const char *hex, size_t len,
    unsigned char key[LC_SEAL_KEY_LEN]);

/*
 * Seals len bytes of in into out (len + LC_SEAL_OVERHEAD bytes); 0, or
 * -1 (no randomness, OpenSSL failed).
 */
int lc_seal(const unsigned char key[LC_SEAL_KEY_LEN], const char *label,
    size_t label_len, const unsigned char *in, size_t len,
    unsigned char *out);

/*
 * Opens a sealed blob of len bytes into out (len - LC_SEAL_OVERHEAD
 * bytes), *out_len set; -1 if it is not a blob of a known version, or
 * the key, the label or any byte differ.
 */
int lc_unseal(const unsigned char key[LC_SEAL_KEY_LEN], const char *label,
    size_t label_len, const unsigned char *in, size_t len,
    unsigned char *out, size_t *out_len);

#endif /* LC_SEAL_H */
