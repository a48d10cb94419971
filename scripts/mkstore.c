
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * mkstore: fills a linkcert store with test certificates, fast.
 *
 *     mkstore [-n N] [-p prefix] [-s suffix] [-c ca.pem] [-k] [-i] <store-dir>
 *
 * Makes one CA (ECDSA P-256, self-signed, CN "linkcert bench CA") and N
 * leaves (ECDSA P-256, SAN = the name, valid from an hour ago for 90
 * days, random 16-byte serial) for "<prefix><i>.<suffix>", i = 1..N, and
 * writes <store>/domains/<name>/fullchain.pem (leaf, then the CA) and
 * privkey.pem (0600).  All leaves share one key unless -k is given.  -c
 * writes the CA certificate to a file.  -i also writes the store's index
 * (<store>/linkcert.index, see ngx_module/ngx_http_linkcert_index.c): what
 * the module would learn by parsing each certificate, with the identity
 * of its files, so that nginx's first start with a large store reads
 * the index instead of parsing every certificate.
 *
 * One process, no fsync: it is for benchmarks and tests, not for keys
 * anybody relies on.  Build: cc -O2 -o mkstore mkstore.c -lcrypto
 */


#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>


#define MK_NAME_MAX      253            /* as lc_domain: no trailing dot */
#define MK_CN_MAX        64             /* ub-common-name */
#define MK_N_MAX         100000000UL
#define MK_N_DEFAULT     100
#define MK_BACKDATE      3600           /* seconds before now */
#define MK_LEAF_DAYS     90
#define MK_CA_DAYS       3650
#define MK_SERIAL_LEN    16
#define MK_PEM_MAX       16384          /* one leaf + the CA, as PEM */
#define MK_KEY_MAX       4096           /* one private key, as PEM */
#define MK_CA_CN         "linkcert bench CA"
#define MK_INDEX         "linkcert.index"


typedef struct {
    EVP_PKEY        *key;
    X509            *cert;
    X509_NAME       *name;
    unsigned char    pem[MK_PEM_MAX];   /* the CA certificate as PEM */
    size_t           pem_len;
} mk_ca_t;


typedef struct {
    X509            *x;                 /* reused for every leaf */
    EVP_PKEY_CTX    *keygen;
    EVP_PKEY        *key;               /* the current leaf key */
    unsigned char    key_pem[MK_KEY_MAX];
    size_t           key_pem_len;
} mk_leaf_t;


static void mk_usage(FILE *f);
static void mk_fail(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2), noreturn))
#endif
    ;
static void mk_ssl_fail(const char *what)
#if defined(__GNUC__)
    __attribute__((noreturn))
#endif
    ;
static const char *mk_check_name(const char *name, size_t len);
static void mk_make_ca(mk_ca_t *ca, time_t now);
static void mk_prepare_leaves(mk_leaf_t *leaf, mk_ca_t *ca, time_t now);
static void mk_new_leaf_key(mk_leaf_t *leaf);
static size_t mk_make_leaf(mk_leaf_t *leaf, mk_ca_t *ca, const char *name,
    size_t len, unsigned char *out, size_t size);
static void mk_add_ext(X509 *x, X509V3_CTX *v3, int nid, const char *value);
static size_t mk_pem(unsigned char *out, size_t size, const char *label,
    const unsigned char *der, size_t len);
static void mk_mkdir(int dirfd, const char *path, const char *shown);
static void mk_write(int dirfd, const char *path, const unsigned char *data,
    size_t len, mode_t mode, const char *shown);
static void mk_index_line(FILE *f, int dirfd, const char *name, X509 *x,
    const char *issuer, const char *shown);
static void mk_escape(char *out, size_t size, const char *s);


int
main(int argc, char **argv)
{
    int              c, dfd, new_keys, index;
    FILE            *idx;
    char            *end, *store, *ca_path;
    size_t           len, plen, slen, chain_len, dlen;
    time_t           now;
    mk_ca_t          ca;
    mk_leaf_t        leaf;
    const char      *prefix, *suffix, *reason;
    unsigned long    i, n, check[2];
    struct timespec  t0, t1;
    char             name[MK_NAME_MAX + 32];
    char             path[4096];
    char             index_tmp[4096];
    char             issuer[3 * sizeof(MK_CA_CN)];
    unsigned char    chain[MK_PEM_MAX];

    n = MK_N_DEFAULT;
    prefix = "d";
    suffix = "bench.test";
    ca_path = NULL;
    new_keys = 0;
    index = 0;
    idx = NULL;

    while ((c = getopt(argc, argv, "n:p:s:c:kih")) != -1) {
        switch (c) {

        case 'n':
            errno = 0;
            n = strtoul(optarg, &end, 10);

            if (errno || *end != '\0' || optarg[0] == '-' || n == 0
                || n > MK_N_MAX)
            {
                mk_fail("-n \"%s\": expected a number from 1 to %lu",
                        optarg, MK_N_MAX);
            }

            break;

        case 'p':
            prefix = optarg;
            break;

        case 's':
            suffix = optarg;
            break;

        case 'c':
            ca_path = optarg;
            break;

        case 'k':
            new_keys = 1;
            break;

        case 'i':
            index = 1;
            break;

        case 'h':
            mk_usage(stdout);
            return 0;

        default:
            mk_usage(stderr);
            return 1;
        }
    }

    if (argc - optind != 1) {
        mk_usage(stderr);
        return 1;
    }

    store = argv[optind];

    if (store[0] == '\0') {
        mk_fail("the store directory is an empty string");
    }

    /* the first and the longest name: the others differ only in digits */

    plen = strlen(prefix);
    slen = strlen(suffix);

    if (plen + slen > MK_NAME_MAX) {
        mk_fail("\"%s<i>.%s\" is longer than %d characters",
                prefix, suffix, MK_NAME_MAX);
    }

    check[0] = 1;
    check[1] = n;

    for (i = 0; i < 2; i++) {
        len = (size_t) snprintf(name, sizeof(name), "%s%lu.%s",
                                prefix, check[i], suffix);

        reason = mk_check_name(name, len);

        if (reason) {
            mk_fail("\"%s\" is not a normalised domain name: %s",
                    name, reason);
        }
    }

    (void) clock_gettime(CLOCK_MONOTONIC, &t0);

    now = time(NULL);

    mk_make_ca(&ca, now);
    mk_prepare_leaves(&leaf, &ca, now);
    mk_new_leaf_key(&leaf);

    if (ca_path) {
        mk_write(AT_FDCWD, ca_path, ca.pem, ca.pem_len, 0644, ca_path);
    }

    mk_mkdir(AT_FDCWD, store, store);

    dlen = (size_t) snprintf(path, sizeof(path), "%s/domains", store);

    if (dlen >= sizeof(path)) {
        mk_fail("\"%s\" is too long", store);
    }

    mk_mkdir(AT_FDCWD, path, path);

    dfd = open(path, O_RDONLY|O_DIRECTORY|O_CLOEXEC);
    if (dfd == -1) {
        mk_fail("open(\"%s\") failed: %s", path, strerror(errno));
    }

    if (index) {
        if ((size_t) snprintf(index_tmp, sizeof(index_tmp), "%s/" MK_INDEX
                              ".mkstore", store)
            >= sizeof(index_tmp))
        {
            mk_fail("\"%s\" is too long", store);
        }

        idx = fopen(index_tmp, "w");
        if (idx == NULL) {
            mk_fail("fopen(\"%s\") failed: %s", index_tmp, strerror(errno));
        }

        mk_escape(issuer, sizeof(issuer), MK_CA_CN);
    }

    /* "path" from here on is relative to dfd; errors show the full one */

    for (i = 1; i <= n; i++) {
        len = (size_t) snprintf(name, sizeof(name), "%s%lu.%s",
                                prefix, i, suffix);

        if (new_keys && i > 1) {
            mk_new_leaf_key(&leaf);
        }

        chain_len = mk_make_leaf(&leaf, &ca, name, len, chain, sizeof(chain));

        if (chain_len + ca.pem_len > sizeof(chain)) {
            mk_fail("the chain of \"%s\" is too large", name);
        }

        memcpy(chain + chain_len, ca.pem, ca.pem_len);
        chain_len += ca.pem_len;

        (void) snprintf(path, sizeof(path), "%s/domains/%s", store, name);
        mk_mkdir(dfd, name, path);

        (void) snprintf(path, sizeof(path), "%s/fullchain.pem", name);
        mk_write(dfd, path, chain, chain_len, 0644, store);

        (void) snprintf(path, sizeof(path), "%s/privkey.pem", name);
        mk_write(dfd, path, leaf.key_pem, leaf.key_pem_len, 0600, store);

        if (idx) {
            mk_index_line(idx, dfd, name, leaf.x, issuer, store);
        }
    }

    (void) close(dfd);

    if (idx) {
        (void) snprintf(path, sizeof(path), "%s/" MK_INDEX, store);

        if (fchmod(fileno(idx), 0600) == -1 || fclose(idx) == EOF
            || rename(index_tmp, path) == -1)
        {
            mk_fail("writing \"%s\" failed: %s", path, strerror(errno));
        }
    }

    (void) clock_gettime(CLOCK_MONOTONIC, &t1);

    printf("mkstore: %lu certificate%s (%s) in %s/domains, %.2f s\n",
           n, (n == 1) ? "" : "s",
           new_keys ? "one key each" : "one shared key", store,
           (double) (t1.tv_sec - t0.tv_sec)
           + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9);

    return 0;
}


static void
mk_usage(FILE *f)
{
    fprintf(f,
        "usage: mkstore [-n N] [-p prefix] [-s suffix] [-c ca.pem] [-k] "
        "[-i] <store-dir>\n"
        "\n"
        "  -n N       how many certificates (default %d): "
        "<prefix>1 .. <prefix>N\n"
        "  -p prefix  first part of the names (default \"d\")\n"
        "  -s suffix  domain after the number (default \"bench.test\")\n"
        "  -c file    also write the CA certificate (PEM) to file\n"
        "  -k         a new key for every leaf (default: one shared key)\n"
        "  -i         also write the store's index (<store-dir>/"
        MK_INDEX ")\n"
        "\n"
        "writes <store-dir>/domains/<prefix><i>.<suffix>/fullchain.pem and "
        "privkey.pem\n",
        MK_N_DEFAULT);
}


static void
mk_fail(const char *fmt, ...)
{
    va_list  args;

    fputs("mkstore: ", stderr);

    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);

    fputc('\n', stderr);

    exit(1);
}


/* the first OpenSSL error says why; the queue may hold more */

static void
mk_ssl_fail(const char *what)
{
    unsigned long  e;
    char           buf[256];

    e = ERR_get_error();

    if (e == 0) {
        mk_fail("%s failed", what);
    }

    ERR_error_string_n(e, buf, sizeof(buf));

    mk_fail("%s failed: %s", what, buf);
}


/*
 * The store takes only normalised names (see lc_domain.h): lowercase LDH
 * labels of 1-63 characters without a leading or trailing hyphen, at most
 * 253 characters, two labels or more, and not ending in a number.
 */

static const char *
mk_check_name(const char *name, size_t len)
{
    size_t       i, label, last;
    const char  *p;

    if (len == 0 || len > MK_NAME_MAX) {
        return "its length is not 1 to 253 characters";
    }

    label = 0;
    last = 0;

    for (i = 0; i <= len; i++) {

        if (i == len || name[i] == '.') {
            if (i == last) {
                return "it has an empty label";
            }

            if (i - last > 63) {
                return "it has a label longer than 63 characters";
            }

            if (name[last] == '-' || name[i - 1] == '-') {
                return "a label starts or ends with a hyphen";
            }

            label++;

            if (i < len) {
                last = i + 1;
            }

            continue;
        }

        if (!((name[i] >= 'a' && name[i] <= 'z')
              || (name[i] >= '0' && name[i] <= '9')
              || name[i] == '-'))
        {
            return "only a-z, 0-9, \"-\" and \".\" are allowed";
        }
    }

    if (label < 2) {
        return "it needs at least two labels";
    }

    /* as the WHATWG URL parser: a last label that is a number is an IP */

    p = name + last;

    if (p[0] == '0' && p[1] == 'x') {
        p += 2;

        while (p < name + len
               && ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
        {
            p++;
        }

    } else {
        while (p < name + len && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    if (p == name + len) {
        return "its last label is a number";
    }

    return NULL;
}


static void
mk_make_ca(mk_ca_t *ca, time_t now)
{
    int             len;
    unsigned char  *der, *p;
    X509V3_CTX      v3;

    ca->key = EVP_EC_gen("P-256");
    if (ca->key == NULL) {
        mk_ssl_fail("generating the CA key");
    }

    ca->cert = X509_new();
    ca->name = X509_NAME_new();

    if (ca->cert == NULL || ca->name == NULL) {
        mk_ssl_fail("X509_new()");
    }

    if (X509_NAME_add_entry_by_txt(ca->name, "CN", MBSTRING_ASC,
                                   (const unsigned char *) MK_CA_CN, -1, -1,
                                   0)
        != 1
        || X509_set_version(ca->cert, X509_VERSION_3) != 1
        || ASN1_INTEGER_set(X509_get_serialNumber(ca->cert), 1) != 1
        || X509_set_subject_name(ca->cert, ca->name) != 1
        || X509_set_issuer_name(ca->cert, ca->name) != 1
        || X509_time_adj_ex(X509_getm_notBefore(ca->cert), 0, -MK_BACKDATE,
                            &now)
           == NULL
        || X509_time_adj_ex(X509_getm_notAfter(ca->cert), MK_CA_DAYS, 0,
                            &now)
           == NULL
        || X509_set_pubkey(ca->cert, ca->key) != 1)
    {
        mk_ssl_fail("building the CA certificate");
    }

    X509V3_set_ctx(&v3, ca->cert, ca->cert, NULL, NULL, 0);

    mk_add_ext(ca->cert, &v3, NID_basic_constraints, "critical,CA:TRUE");
    mk_add_ext(ca->cert, &v3, NID_key_usage, "critical,keyCertSign,cRLSign");
    mk_add_ext(ca->cert, &v3, NID_subject_key_identifier, "hash");

    if (X509_sign(ca->cert, ca->key, EVP_sha256()) == 0) {
        mk_ssl_fail("signing the CA certificate");
    }

    len = i2d_X509(ca->cert, NULL);
    if (len <= 0) {
        mk_ssl_fail("encoding the CA certificate");
    }

    der = malloc(len);
    if (der == NULL) {
        mk_fail("out of memory");
    }

    p = der;
    (void) i2d_X509(ca->cert, &p);

    ca->pem_len = mk_pem(ca->pem, sizeof(ca->pem), "CERTIFICATE", der, len);

    free(der);
}


/*
 * One certificate is reused for all leaves: what they have in common
 * (issuer, validity, key, extensions other than the SAN) is set once, and
 * each leaf only changes the serial, the subject and the SAN.  Building
 * every leaf from scratch spent most of its time in OpenSSL 3's encoder
 * and decoder lookups (X509_set_pubkey) and in copying names.
 */

static void
mk_prepare_leaves(mk_leaf_t *leaf, mk_ca_t *ca, time_t now)
{
    int              i;
    X509            *x;
    X509V3_CTX       v3;
    X509_EXTENSION  *ext;

    static const struct {
        int          nid;
        const char  *value;
    } exts[] = {
        { NID_basic_constraints, "critical,CA:FALSE" },
        { NID_key_usage, "critical,digitalSignature" },
        { NID_ext_key_usage, "serverAuth" },
        { NID_authority_key_identifier, "keyid:always" }
    };

    x = X509_new();
    leaf->x = x;
    leaf->key = NULL;
    leaf->keygen = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);

    if (x == NULL || leaf->keygen == NULL
        || EVP_PKEY_keygen_init(leaf->keygen) != 1
        || EVP_PKEY_CTX_set_group_name(leaf->keygen, "P-256") != 1)
    {
        mk_ssl_fail("preparing the leaves");
    }

    if (X509_set_version(x, X509_VERSION_3) != 1
        || X509_set_issuer_name(x, ca->name) != 1
        || X509_time_adj_ex(X509_getm_notBefore(x), 0, -MK_BACKDATE, &now)
           == NULL
        || X509_time_adj_ex(X509_getm_notAfter(x), MK_LEAF_DAYS, 0, &now)
           == NULL)
    {
        mk_ssl_fail("preparing the leaves");
    }

    X509V3_set_ctx(&v3, ca->cert, x, NULL, NULL, 0);

    for (i = 0; i < (int) (sizeof(exts) / sizeof(exts[0])); i++) {
        ext = X509V3_EXT_conf_nid(NULL, &v3, exts[i].nid, exts[i].value);

        if (ext == NULL || X509_add_ext(x, ext, -1) != 1) {
            mk_ssl_fail(exts[i].value);
        }

        X509_EXTENSION_free(ext);
    }
}


static void
mk_new_leaf_key(mk_leaf_t *leaf)
{
    BIO   *bio;
    long   len;
    char  *data;

    EVP_PKEY_free(leaf->key);
    leaf->key = NULL;

    if (EVP_PKEY_keygen(leaf->keygen, &leaf->key) != 1) {
        mk_ssl_fail("generating a leaf key");
    }

    if (X509_set_pubkey(leaf->x, leaf->key) != 1) {
        mk_ssl_fail("setting a leaf public key");
    }

    bio = BIO_new(BIO_s_mem());

    if (bio == NULL
        || PEM_write_bio_PrivateKey(bio, leaf->key, NULL, NULL, 0, NULL,
                                    NULL)
           != 1)
    {
        mk_ssl_fail("encoding a leaf key");
    }

    len = BIO_get_mem_data(bio, &data);

    if (len <= 0 || (size_t) len > sizeof(leaf->key_pem)) {
        mk_fail("encoding a leaf key: unexpected length %ld", len);
    }

    memcpy(leaf->key_pem, data, len);
    leaf->key_pem_len = len;

    BIO_free(bio);
}


/* writes the leaf's PEM into out and returns its length */

static size_t
mk_make_leaf(mk_leaf_t *leaf, mk_ca_t *ca, const char *name, size_t len,
    unsigned char *out, size_t size)
{
    int              i, len_der, critical;
    X509            *x;
    X509_NAME       *subject;
    GENERAL_NAME    *gn;
    GENERAL_NAMES   *gens;
    unsigned char   *p;
    ASN1_IA5STRING  *ia5;
    unsigned char    serial[MK_SERIAL_LEN];
    unsigned char    der[MK_PEM_MAX / 2];

    x = leaf->x;

    /* positive, and exactly 16 bytes long once DER-encoded */

    if (RAND_bytes(serial, sizeof(serial)) != 1) {
        mk_ssl_fail("RAND_bytes()");
    }

    serial[0] &= 0x7f;

    if (serial[0] == 0) {
        serial[0] = 1;
    }

    if (ASN1_STRING_set(X509_get_serialNumber(x), serial, sizeof(serial))
        != 1)
    {
        mk_ssl_fail("setting the serial");
    }

    /* the CN is informational; a name over 64 characters goes without */

    subject = X509_get_subject_name(x);

    while (X509_NAME_entry_count(subject) > 0) {
        X509_NAME_ENTRY_free(X509_NAME_delete_entry(subject, 0));
    }

    critical = 1;

    if (len <= MK_CN_MAX) {
        if (X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                                       (const unsigned char *) name,
                                       (int) len, -1, 0)
            != 1)
        {
            mk_ssl_fail("setting the subject");
        }

        critical = 0;
    }

    i = X509_get_ext_by_NID(x, NID_subject_alt_name, -1);

    if (i >= 0) {
        X509_EXTENSION_free(X509_delete_ext(x, i));
    }

    gens = sk_GENERAL_NAME_new_null();
    gn = GENERAL_NAME_new();
    ia5 = ASN1_IA5STRING_new();

    if (gens == NULL || gn == NULL || ia5 == NULL
        || ASN1_STRING_set(ia5, name, (int) len) != 1)
    {
        mk_ssl_fail("setting the SAN");
    }

    GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);

    if (sk_GENERAL_NAME_push(gens, gn) == 0
        || X509_add1_ext_i2d(x, NID_subject_alt_name, gens, critical,
                             X509V3_ADD_DEFAULT)
           != 1)
    {
        mk_ssl_fail("setting the SAN");
    }

    GENERAL_NAMES_free(gens);

    /* X509_sign() marks the changed certificate for encoding again */

    if (X509_sign(x, ca->key, EVP_sha256()) == 0) {
        mk_ssl_fail("signing a leaf");
    }

    len_der = i2d_X509(x, NULL);

    if (len_der <= 0 || (size_t) len_der > sizeof(der)) {
        mk_ssl_fail("encoding a leaf");
    }

    p = der;
    (void) i2d_X509(x, &p);

    return mk_pem(out, size, "CERTIFICATE", der, len_der);
}


static void
mk_add_ext(X509 *x, X509V3_CTX *v3, int nid, const char *value)
{
    X509_EXTENSION  *ext;

    ext = X509V3_EXT_conf_nid(NULL, v3, nid, value);

    if (ext == NULL || X509_add_ext(x, ext, -1) != 1) {
        mk_ssl_fail(value);
    }

    X509_EXTENSION_free(ext);
}


/* PEM as OpenSSL writes it: base64 in lines of 64 characters */

static size_t
mk_pem(unsigned char *out, size_t size, const char *label,
    const unsigned char *der, size_t len)
{
    int             n;
    size_t          i, chunk, need;
    unsigned char  *p;

    need = 2 * (strlen(label) + sizeof("-----BEGIN -----\n"))
           + (len + 47) / 48 * 65;

    if (need > size) {
        mk_fail("PEM of %zu bytes does not fit in %zu", len, size);
    }

    p = out;
    p += sprintf((char *) p, "-----BEGIN %s-----\n", label);

    for (i = 0; i < len; i += 48) {
        chunk = (len - i < 48) ? len - i : 48;
        n = EVP_EncodeBlock(p, der + i, (int) chunk);
        p += n;
        *p++ = '\n';
    }

    p += sprintf((char *) p, "-----END %s-----\n", label);

    return p - out;
}


static void
mk_mkdir(int dirfd, const char *path, const char *shown)
{
    struct stat  st;

    if (mkdirat(dirfd, path, 0700) == 0) {
        return;
    }

    if (errno != EEXIST) {
        mk_fail("mkdir(\"%s\") failed: %s", shown, strerror(errno));
    }

    if (fstatat(dirfd, path, &st, 0) == -1 || !S_ISDIR(st.st_mode)) {
        mk_fail("\"%s\" exists and is not a directory", shown);
    }
}


/*
 * Plain write(2), no fsync.  "shown" prefixes a relative path in errors.
 * A key file that existed with other permissions gets 0600 all the same.
 */

static void
mk_write(int dirfd, const char *path, const unsigned char *data, size_t len,
    mode_t mode, const char *shown)
{
    int      fd;
    ssize_t  n;
    size_t   done;

    fd = openat(dirfd, path, O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, mode);

    if (fd == -1) {
        goto failed;
    }

    if ((mode & 077) == 0 && fchmod(fd, mode) == -1) {
        goto failed;
    }

    for (done = 0; done < len; done += n) {
        n = write(fd, data + done, len - done);

        if (n == -1) {
            if (errno == EINTR) {
                n = 0;
                continue;
            }

            goto failed;
        }
    }

    if (close(fd) == -1) {
        goto failed;
    }

    return;

failed:

    if (dirfd == AT_FDCWD || path[0] == '/') {
        mk_fail("writing \"%s\" failed: %s", path, strerror(errno));
    }

    mk_fail("writing \"%s/domains/%s\" failed: %s", shown, path,
            strerror(errno));
}


/*
 * The line ngx_http_linkcert_index_write() would write for a domain whose
 * files were just written: the stamp of its two files (as
 * ngx_http_linkcert_store_stamp() computes it), then what lc_cert_info()
 * takes from the leaf.
 */

static void
mk_index_line(FILE *f, int dirfd, const char *name, X509 *x,
    const char *issuer, const char *shown)
{
    int              i, len;
    BIGNUM          *bn;
    uint64_t         stamp;
    struct tm        tm;
    struct stat      st;
    time_t           t[2];
    unsigned int     dlen;
    const ASN1_TIME  *at[2];
    char             path[2 * MK_NAME_MAX + 64];
    unsigned char    buf[EVP_MAX_MD_SIZE];
    static const char  *files[] = { "fullchain.pem", "privkey.pem" };

    stamp = 14695981039346656037ULL;

    for (i = 0; i < 2; i++) {
        (void) snprintf(path, sizeof(path), "%s/%s", name, files[i]);

        if (fstatat(dirfd, path, &st, 0) == -1) {
            mk_fail("stat(\"%s/domains/%s\") failed: %s", shown, path,
                    strerror(errno));
        }

        stamp = (stamp ^ (uint64_t) st.st_ino) * 1099511628211ULL;
        stamp = (stamp ^ (uint64_t) st.st_size) * 1099511628211ULL;
        stamp = (stamp ^ (uint64_t) st.st_mtim.tv_sec) * 1099511628211ULL;
        stamp = (stamp ^ (uint64_t) st.st_mtim.tv_nsec) * 1099511628211ULL;
    }

    at[0] = X509_get0_notBefore(x);
    at[1] = X509_get0_notAfter(x);

    for (i = 0; i < 2; i++) {
        memset(&tm, 0, sizeof(struct tm));

        if (ASN1_TIME_to_tm(at[i], &tm) != 1) {
            mk_ssl_fail("reading a leaf's validity");
        }

        t[i] = timegm(&tm);
    }

    fprintf(f, "%s %016llx 1 %lld %lld ", name,
            (unsigned long long) (stamp ? stamp : 1), (long long) t[0],
            (long long) t[1]);

    if (X509_digest(x, EVP_sha256(), buf, &dlen) != 1) {
        mk_ssl_fail("X509_digest()");
    }

    for (i = 0; i < (int) dlen; i++) {
        fprintf(f, "%02x", buf[i]);
    }

    fputc(' ', f);

    bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);

    if (bn == NULL || (len = BN_bn2bin(bn, buf)) <= 0) {
        mk_ssl_fail("reading a leaf's serial");
    }

    BN_free(bn);

    for (i = 0; i < len; i++) {
        fprintf(f, "%02x", buf[i]);
    }

    if (fprintf(f, " %s - -\n", issuer) < 0) {
        mk_fail("writing the index failed: %s", strerror(errno));
    }
}


/* URI-escapes all but unreserved characters, as the index wants */

static void
mk_escape(char *out, size_t size, const char *s)
{
    size_t  n;

    for (n = 0; *s && n + 4 <= size; s++) {
        if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')
            || (*s >= '0' && *s <= '9') || strchr("-._~", *s))
        {
            out[n++] = *s;

        } else {
            n += (size_t) snprintf(out + n, size - n, "%%%02X",
                                   (unsigned char) *s);
        }
    }

    out[n] = '\0';
}
