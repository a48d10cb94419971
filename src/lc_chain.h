
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: a PEM chain as the fleet keeps it in Redis: its leaf, and
 * the intermediates that follow it (one copy for every domain of a CA),
 * named by the SHA-256 of their PEM.  The leaf and the intermediates
 * together are the chain, byte for byte.
 */


#ifndef LC_CHAIN_H
#define LC_CHAIN_H


#include <stddef.h>


/* hex of a SHA-256, without the terminating NUL */
#define LC_CHAIN_ID_LEN  64


/*
 * The length of the chain's leaf: up to the "-----BEGIN" of the next
 * certificate, the blank between them the leaf's; len when nothing
 * follows the leaf (or no leaf is found).
 */
size_t lc_chain_leaf_len(const char *chain, size_t len);

/* the intermediates' name: the SHA-256 of their PEM, hex, lowercase */
int lc_chain_id(const char *pem, size_t len, char id[LC_CHAIN_ID_LEN]);


#endif /* LC_CHAIN_H */
