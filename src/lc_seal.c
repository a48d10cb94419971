/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: AES-256-GCM sealing with OpenSSL's EVP interface.
 */

#include <limits.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "lc_seal.h"


static int lc_seal_hex(int c);
static EVP_CIPHER_CTX *lc_seal_ctx(const unsigned char *key,
    const unsigned char *nonce, const char *label, size_t label_len,
    int enc);


int
lc_seal_key_parse(const char *hex, size_t len,
    unsigned char key[LC_SEAL_KEY_LEN])
{
    int     hi, lo;
    size_t  i;

    if (len != LC_SEAL_KEY_HEX) {
        return -1;
    }

    for (i = 0; i < LC_SEAL_KEY_LEN; i++) {
        hi = lc_seal_hex((unsigned char) hex[2 * i]);
        lo = lc_seal_hex((unsigned char) hex[2 * i + 1]);

        if (hi < 0 || lo < 0) {
            OPENSSL_cleanse(key, LC_SEAL_KEY_LEN);
            return -1;
        }

        key[i] = (unsigned char) (hi << 4 | lo);
    }

    return 0;
}


int
lc_seal(const unsigned char key[LC_SEAL_KEY_LEN], const char *label,
    size_t label_len, const unsigned char *in, size_t len,
    unsigned char *out)
{
    int              n, rc;
    unsigned char   *nonce, *ct;
    EVP_CIPHER_CTX  *ctx;

    if (len > INT_MAX - LC_SEAL_OVERHEAD) {
        return -1;
    }

    out[0] = LC_SEAL_V1;
    nonce = out + 1;
    ct = nonce + LC_SEAL_NONCE_LEN;

    if (RAND_bytes(nonce, LC_SEAL_NONCE_LEN) != 1) {
        return -1;
    }

    ctx = lc_seal_ctx(key, nonce, label, label_len, 1);
    if (ctx == NULL) {
        return -1;
    }

    rc = -1;

    if ((len == 0 || EVP_EncryptUpdate(ctx, ct, &n, in, (int) len) == 1)
        && EVP_EncryptFinal_ex(ctx, ct + len, &n) == 1
        && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, LC_SEAL_TAG_LEN,
                               ct + len)
           == 1)
    {
        rc = 0;
    }

    EVP_CIPHER_CTX_free(ctx);

    return rc;
}


int
lc_unseal(const unsigned char key[LC_SEAL_KEY_LEN], const char *label,
    size_t label_len, const unsigned char *in, size_t len,
    unsigned char *out, size_t *out_len)
{
    int                   n, rc;
    size_t                ct_len;
    unsigned char         tag[LC_SEAL_TAG_LEN];
    EVP_CIPHER_CTX       *ctx;
    const unsigned char  *ct;

    if (len < LC_SEAL_OVERHEAD || len > INT_MAX || in[0] != LC_SEAL_V1) {
        return -1;
    }

    ct = in + 1 + LC_SEAL_NONCE_LEN;
    ct_len = len - LC_SEAL_OVERHEAD;
    memcpy(tag, ct + ct_len, LC_SEAL_TAG_LEN);

    ctx = lc_seal_ctx(key, in + 1, label, label_len, 0);
    if (ctx == NULL) {
        return -1;
    }

    rc = -1;

    if ((ct_len == 0
         || EVP_DecryptUpdate(ctx, out, &n, ct, (int) ct_len) == 1)
        && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, LC_SEAL_TAG_LEN,
                               tag)
           == 1
        && EVP_DecryptFinal_ex(ctx, out + ct_len, &n) == 1)
    {
        *out_len = ct_len;
        rc = 0;

    } else {
        OPENSSL_cleanse(out, ct_len);
    }

    EVP_CIPHER_CTX_free(ctx);

    return rc;
}


/* a context set up for one seal or unseal, the label given as AAD */

static EVP_CIPHER_CTX *
lc_seal_ctx(const unsigned char *key, const unsigned char *nonce,
    const char *label, size_t label_len, int enc)
{
    int              n;
    EVP_CIPHER_CTX  *ctx;

    if (label_len > INT_MAX) {
        return NULL;
    }

    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) {
        return NULL;
    }

    if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc)
           != 1
        || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN,
                               LC_SEAL_NONCE_LEN, NULL)
           != 1
        || EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) != 1
        || (label_len
            && EVP_CipherUpdate(ctx, NULL, &n, (const unsigned char *) label,
                                (int) label_len)
               != 1))
    {
        EVP_CIPHER_CTX_free(ctx);
        return NULL;
    }

    return ctx;
}


static int
lc_seal_hex(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }

    return -1;
}
