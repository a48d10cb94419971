
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * bench-fleet-fill: a store's domains as an edge of the fleet writes them
 * to Redis, in RESP on stdout for "redis-cli --pipe" (scripts/bench-fleet).
 *
 *     bench-fleet-fill <store-dir> <key-file> <prefix> <edge> [no-info]
 *                      [whole-chain] [extra=<pem-file>]
 *
 * For each <store>/domains/<name>/ (fullchain.pem, privkey.pem), the
 * i-th one read: what ngx_http_linkcert_redis_cert.c's script writes for
 * a certificate (HSET <prefix>cert:<name> seq i edge <edge> leaf <the
 * chain's leaf, PEM> issuer <the SHA-256 of the intermediates' PEM, hex>
 * key <the PEM key sealed with lc_seal() under the key file> info <the
 * pair's info, sealed: lc_fleet_info_seal(); not with "no-info", as an
 * older edge writes it>, and SET <prefix>issuer:<that hash> <the
 * intermediates' PEM> NX the first time a CA's intermediates are met;
 * with "whole-chain", chain <PEM> instead of leaf and issuer, as an
 * older edge writes it; ZADD <prefix>changes i <name>).  With extra=,
 * that PEM is put after each chain (another intermediate: a chain of
 * Let's Encrypt's size); what ngx_http_linkcert_redis_status.c
 * writes (SET <prefix>status:<name> <a full status object of an issued
 * domain>, ZADD <prefix>domains 0 <name>) and ngx_http_linkcert_redis_
 * due.c (ZADD <prefix>due <a time in the next 24 h> <name>); then SET
 * <prefix>seq <count>.  Prints the count on stderr.
 *
 * Build: cc -O2 -Isrc -o bench-fleet-fill bench-fleet-fill.c src/lc_seal.c
 *        src/lc_fleet_info.c src/lc_cert.c src/lc_cert_peek.c
 *        src/lc_chain.c src/lc_error.c -lcrypto
 */


#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lc_seal.h"
#include "lc_chain.h"
#include "lc_fleet_info.h"


#define FILL_FILE_MAX  65536
#define FILL_CAS       16           /* the CAs' intermediates written */


static size_t fill_read(const char *path, char *buf, size_t size);
static void fill_command(int argc, const char **argv, const size_t *lens);
static int fill_pair(const char **a, size_t *lens, const char *chain,
    size_t chain_len, const char *prefix, int whole);
static void fill_fail(const char *what, const char *detail);


int
main(int argc, char **argv)
{
    DIR             *dir;
    char             path[4096], chain[FILL_FILE_MAX], key[FILL_FILE_MAX],
                     hex[LC_SEAL_KEY_HEX + 64], seq[32], due[32],
                     status[2048], k1[512], k2[512];
    int              with_info, whole, i, npair;
    char             extra[FILL_FILE_MAX];
    size_t           extra_len;
    size_t           chain_len, key_len, hex_len, n, name_len, lens[14],
                     info_len;
    time_t           now;
    lc_cert_t       *cert;
    lc_error_t       err;
    const char      *a[14];
    unsigned char    fleet[LC_SEAL_KEY_LEN], sealed[FILL_FILE_MAX + 64],
                     info[LC_FLEET_INFO_SEALED];
    lc_cert_info_t   ci;
    struct dirent   *de;

    with_info = 1;
    whole = 0;
    extra_len = 0;

    for (i = 5; i < argc; i++) {
        if (strcmp(argv[i], "no-info") == 0) {
            with_info = 0;

        } else if (strcmp(argv[i], "whole-chain") == 0) {
            whole = 1;

        } else if (strncmp(argv[i], "extra=", 6) == 0) {
            extra_len = fill_read(argv[i] + 6, extra, sizeof(extra));

        } else {
            argc = 0;
        }
    }

    if (argc < 5) {
        fprintf(stderr, "usage: bench-fleet-fill <store> <key-file> "
                        "<prefix> <edge> [no-info] [whole-chain] "
                        "[extra=<pem-file>]\n");
        return 2;
    }

    hex_len = fill_read(argv[2], hex, sizeof(hex));

    while (hex_len && (hex[hex_len - 1] == '\n' || hex[hex_len - 1] == ' ')) {
        hex_len--;
    }

    if (lc_seal_key_parse(hex, hex_len, fleet) != 0) {
        fill_fail("not 64 hexadecimal characters", argv[2]);
    }

    snprintf(path, sizeof(path), "%s/domains", argv[1]);

    dir = opendir(path);
    if (dir == NULL) {
        fill_fail("cannot open", path);
    }

    now = time(NULL);
    n = 0;

    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.') {
            continue;
        }

        name_len = strlen(de->d_name);

        snprintf(path, sizeof(path), "%s/domains/%s/fullchain.pem", argv[1],
                 de->d_name);
        chain_len = fill_read(path, chain, sizeof(chain) - extra_len);
        memcpy(chain + chain_len, extra, extra_len);
        chain_len += extra_len;

        snprintf(path, sizeof(path), "%s/domains/%s/privkey.pem", argv[1],
                 de->d_name);
        key_len = fill_read(path, key, sizeof(key));

        if (lc_seal(fleet, de->d_name, name_len, (unsigned char *) key,
                    key_len, sealed)
            != 0)
        {
            fill_fail("sealing failed", de->d_name);
        }

        info_len = 0;

        if (with_info) {
            cert = lc_cert_parse(chain, chain_len, key, key_len, &err);

            if (cert == NULL || lc_cert_info(cert, &ci) != 0
                || lc_fleet_info_seal(fleet, de->d_name, name_len, &ci,
                                      chain, chain_len, key, key_len, info,
                                      &info_len)
                   != 0)
            {
                fill_fail("no info", de->d_name);
            }

            lc_cert_free(cert);
        }

        n++;
        snprintf(seq, sizeof(seq), "%zu", n);

        /* the certificate's change */

        a[0] = "HSET"; lens[0] = 4;
        a[1] = k1;
        lens[1] = snprintf(k1, sizeof(k1), "%scert:%s", argv[3], de->d_name);
        a[2] = "seq"; lens[2] = 3;
        a[3] = seq; lens[3] = strlen(seq);
        a[4] = "edge"; lens[4] = 4;
        a[5] = argv[4]; lens[5] = strlen(argv[4]);
        a[6] = "key"; lens[6] = 3;
        a[7] = (char *) sealed; lens[7] = key_len + LC_SEAL_OVERHEAD;
        a[8] = "info"; lens[8] = 4;
        a[9] = (char *) info; lens[9] = info_len;
        npair = fill_pair(&a[with_info ? 10 : 8], &lens[with_info ? 10 : 8],
                          chain, chain_len, argv[3], whole);
        fill_command((with_info ? 10 : 8) + npair, a, lens);

        a[0] = "ZADD"; lens[0] = 4;
        a[1] = k1;
        lens[1] = snprintf(k1, sizeof(k1), "%schanges", argv[3]);
        a[2] = seq; lens[2] = strlen(seq);
        a[3] = de->d_name; lens[3] = name_len;
        fill_command(4, a, lens);

        /* its status object, in the list */

        a[0] = "SET"; lens[0] = 3;
        a[1] = k1;
        lens[1] = snprintf(k1, sizeof(k1), "%sstatus:%s", argv[3],
                           de->d_name);
        a[2] = status;
        lens[2] = snprintf(status, sizeof(status),
            "{\"domain\":\"%s\",\"status\":\"issued\",\"stage\":\"issued\","
            "\"certificate\":{\"not_before\":\"2026-12-01T10:00:00Z\","
            "\"not_after\":\"2027-03-01T10:00:00Z\",\"serial\":"
            "\"4F2A9C0D81E3B7665D0C1A2B3C4D5E6F\",\"issuer\":"
            "\"linkcert bench CA\",\"sha256\":\"%064zx\"},\"dns\":"
            "{\"checked_at\":\"2026-12-07T10:00:00Z\",\"result\":"
            "\"verified\",\"cname\":[\"edge.crm.example\"],\"a\":[],"
            "\"aaaa\":[]},\"last_error\":null,\"next_attempt_at\":null,"
            "\"renew_at\":\"2027-01-30T10:00:00Z\",\"updated_at\":"
            "\"2026-12-01T11:00:00Z\",\"ca\":\"primary\"}\n",
            de->d_name, n);
        fill_command(3, a, lens);

        a[0] = "ZADD"; lens[0] = 4;
        a[1] = k2;
        lens[1] = snprintf(k2, sizeof(k2), "%sdomains", argv[3]);
        a[2] = "0"; lens[2] = 1;
        a[3] = de->d_name; lens[3] = name_len;
        fill_command(4, a, lens);

        /* its next re-check, spread over a day */

        a[1] = k2;
        lens[1] = snprintf(k2, sizeof(k2), "%sdue", argv[3]);
        a[2] = due;
        lens[2] = snprintf(due, sizeof(due), "%lld",
                           (long long) (now + 3600 + (n * 7919) % 86400));
        fill_command(4, a, lens);
    }

    closedir(dir);

    a[0] = "SET"; lens[0] = 3;
    a[1] = k1;
    lens[1] = snprintf(k1, sizeof(k1), "%sseq", argv[3]);
    a[2] = seq; lens[2] = snprintf(seq, sizeof(seq), "%zu", n);
    fill_command(3, a, lens);

    fprintf(stderr, "%zu\n", n);

    return 0;
}


/*
 * The record's pair, as ngx_http_linkcert_redis_issuer.c writes it: the
 * whole chain (whole, or no intermediates), or the leaf and the
 * intermediates' name, the intermediates written the first time they are
 * met.  Four arguments of HSET, or two.
 */

static int
fill_pair(const char **a, size_t *lens, const char *chain, size_t chain_len,
    const char *prefix, int whole)
{
    int           i;
    char          key[512];
    size_t        leaf_len;
    const char   *c[5];
    size_t        cl[5];
    static int    ncas;
    static char   cas[FILL_CAS][LC_CHAIN_ID_LEN];

    leaf_len = lc_chain_leaf_len(chain, chain_len);

    if (whole || leaf_len == chain_len) {
        a[0] = "chain"; lens[0] = 5;
        a[1] = chain; lens[1] = chain_len;
        return 2;
    }

    if (ncas == FILL_CAS
        || lc_chain_id(chain + leaf_len, chain_len - leaf_len, cas[ncas])
           != 0)
    {
        fill_fail("too many CAs", "");
    }

    for (i = 0; i < ncas; i++) {
        if (memcmp(cas[i], cas[ncas], LC_CHAIN_ID_LEN) == 0) {
            break;
        }
    }

    if (i == ncas) {
        c[0] = "SET"; cl[0] = 3;
        c[1] = key;
        cl[1] = snprintf(key, sizeof(key), "%sissuer:%.*s", prefix,
                         LC_CHAIN_ID_LEN, cas[i]);
        c[2] = chain + leaf_len; cl[2] = chain_len - leaf_len;
        c[3] = "NX"; cl[3] = 2;
        fill_command(4, c, cl);
        ncas++;
    }

    a[0] = "leaf"; lens[0] = 4;
    a[1] = chain; lens[1] = leaf_len;
    a[2] = "issuer"; lens[2] = 6;
    a[3] = cas[i]; lens[3] = LC_CHAIN_ID_LEN;

    return 4;
}


static size_t
fill_read(const char *path, char *buf, size_t size)
{
    FILE    *f;
    size_t   n;

    f = fopen(path, "r");
    if (f == NULL) {
        fill_fail("cannot open", path);
    }

    n = fread(buf, 1, size, f);

    if (ferror(f) || n == size) {
        fill_fail("cannot read (or too long)", path);
    }

    fclose(f);

    return n;
}


/* one command in RESP */

static void
fill_command(int argc, const char **argv, const size_t *lens)
{
    int  i;

    printf("*%d\r\n", argc);

    for (i = 0; i < argc; i++) {
        printf("$%zu\r\n", lens[i]);
        fwrite(argv[i], 1, lens[i], stdout);
        fputs("\r\n", stdout);
    }
}


static void
fill_fail(const char *what, const char *detail)
{
    fprintf(stderr, "bench-fleet-fill: %s: %s\n", what, detail);
    exit(1);
}
