
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * bench-handshake: a TLS handshake load generator.
 *
 *     bench-handshake [-c concurrency] [-d seconds] [-w seconds] [-e]
 *                     [-n names-file] [-p port] [-t tls1.3 | tls1.2]
 *     bench-handshake -1 -A ca-file -n names-file [-p port] [-T seconds]
 *                     [-t tls1.3 | tls1.2]
 *
 * Keeps "concurrency" connections to 127.0.0.1:port in flight, in one
 * thread, with non-blocking sockets and epoll.  Each connection is a
 * connect(), a full handshake (a new SSL each time, no session cache, no
 * tickets: nothing is ever resumed), then close(); the next one starts at
 * once.  The SNI names come round-robin from the names file (one name a
 * line; without -n no SNI is sent).  The server's certificate is not
 * verified, and no chain is built (OpenSSL still parses the certificates
 * and checks the handshake signature).
 *
 * The close is abortive (SO_LINGER 0: a RST, no TIME_WAIT), so that tens
 * of thousands of connections a run do not use up the ephemeral ports.
 *
 * The first "-w" seconds are a warm-up, not counted; then for "-d"
 * seconds every handshake that completes is counted, with its latency
 * (from the connect() to the end of the handshake).  Errors (connect or
 * handshake failures, and handshakes that take over 5 s) are counted over
 * the whole run, warm-up included; the first one is described on stderr.
 *
 * With -e (each name once) no connection is started once every name of
 * the names file was given one; the run ends when the last one ends (or
 * after the warm-up and "-d" seconds, whichever comes first), and the
 * rate is over the time it took: to fill a server's cache with every
 * name, however long the list.
 *
 * Prints one line:
 *
 *     handshakes=N rate=R/s p50_ms=X p99_ms=Y errors=E
 *
 * With -1 (one at a time, for on-demand issuance): one connection per
 * name of the names file, in order, each started when the previous one
 * ended, with blocking sockets; the chain the server presents must verify
 * against the CA file (-A, nothing else is trusted) and the leaf must be
 * valid for the name sent in SNI, or the handshake counts as failed.  The
 * time of each is from the connect() to the end of the handshake (the
 * server may hold it while it obtains the certificate); -T bounds it
 * (default 30 s).  Prints one line per name, then a summary:
 *
 *     name=NAME ms=X ok=1
 *     name=NAME ms=X ok=0 error=TEXT
 *     single names=N ok=K failed=F p50_ms=X p90_ms=Y max_ms=Z
 *
 * (percentiles by nearest rank over the handshakes that succeeded; 0 when
 * none did).
 *
 * Exits 0, 1 when there were errors, 2 on bad arguments or set-up
 * failures.
 *
 * Build: cc -O2 -o bench-handshake bench-handshake.c -lssl -lcrypto
 */


#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>


#define BH_CONC_MAX          10000
#define BH_SECONDS_MAX       86400
#define BH_NAME_MAX          253
#define BH_TIMEOUT_NS        (5 * 1000000000ULL)
#define BH_SCAN_NS           (100 * 1000000ULL)
#define BH_EVENTS            256
#define BH_SAMPLES_INIT      65536

#define BH_CONNECTING        1
#define BH_HANDSHAKING       2


typedef struct {
    int              fd;
    SSL             *ssl;
    int              state;
    uint32_t         events;            /* as registered with epoll */
    uint64_t         start;             /* ns, at connect() */
} bh_conn_t;


typedef struct {
    SSL_CTX             *ctx;
    int                  ep;
    struct sockaddr_in   addr;

    char               **names;
    size_t               nnames;
    size_t               next_name;
    int                  once;          /* -e: each name once */
    size_t               started;       /* connections started */

    uint64_t             measure_from;  /* ns: end of the warm-up */
    uint64_t             measure_to;    /* ns: end of the run */

    uint64_t             handshakes;
    uint64_t             errors;
    int                  described;     /* the first error is on stderr */

    uint32_t            *samples;       /* latencies in microseconds */
    size_t               nsamples;
    size_t               samples_cap;
} bh_t;


static void bh_usage(FILE *f);
static void bh_fail(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2), noreturn))
#endif
    ;
static unsigned long bh_number(const char *opt, const char *arg,
    unsigned long min, unsigned long max);
static void bh_read_names(bh_t *bh, const char *path);
static uint64_t bh_now(void);
static void bh_start(bh_t *bh, bh_conn_t *c);
static void bh_event(bh_t *bh, bh_conn_t *c);
static void bh_handshake(bh_t *bh, bh_conn_t *c);
static void bh_want(bh_t *bh, bh_conn_t *c, uint32_t events);
static void bh_done(bh_t *bh, bh_conn_t *c);
static void bh_error(bh_t *bh, bh_conn_t *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void bh_close(bh_conn_t *c);
static int bh_no_verify(X509_STORE_CTX *ctx, void *arg);
static int bh_cmp(const void *a, const void *b);
static double bh_percentile(bh_t *bh, double p);
static int bh_single(bh_t *bh, const char *ca_file, unsigned long timeout);
static int bh_single_one(bh_t *bh, const char *name, unsigned long timeout,
    char *err, size_t errlen);


int
main(int argc, char **argv)
{
    int                  o, n, i, timeout, version, single, busy;
    bh_t                 bh;
    double               seconds;
    uint64_t             now, end, next_scan, wait_until;
    bh_conn_t           *conns;
    const char          *names_path, *tls, *ca_file;
    unsigned long        conc, duration, warmup, port, single_timeout;
    struct epoll_event   events[BH_EVENTS];

    conc = 32;
    duration = 10;
    warmup = 2;
    port = 443;
    names_path = NULL;
    tls = "tls1.3";
    single = 0;
    ca_file = NULL;
    single_timeout = 30;

    memset(&bh, 0, sizeof(bh));

    while ((o = getopt(argc, argv, "1A:T:c:d:ew:n:p:t:h")) != -1) {
        switch (o) {

        case 'e':
            bh.once = 1;
            break;

        case '1':
            single = 1;
            break;

        case 'A':
            ca_file = optarg;
            break;

        case 'T':
            single_timeout = bh_number("-T", optarg, 1, 3600);
            break;

        case 'c':
            conc = bh_number("-c", optarg, 1, BH_CONC_MAX);
            break;

        case 'd':
            duration = bh_number("-d", optarg, 1, BH_SECONDS_MAX);
            break;

        case 'w':
            warmup = bh_number("-w", optarg, 0, BH_SECONDS_MAX);
            break;

        case 'n':
            names_path = optarg;
            break;

        case 'p':
            port = bh_number("-p", optarg, 1, 65535);
            break;

        case 't':
            tls = optarg;
            break;

        case 'h':
            bh_usage(stdout);
            return 0;

        default:
            bh_usage(stderr);
            return 2;
        }
    }

    if (optind != argc) {
        bh_usage(stderr);
        return 2;
    }

    if (strcmp(tls, "tls1.3") == 0) {
        version = TLS1_3_VERSION;

    } else if (strcmp(tls, "tls1.2") == 0) {
        version = TLS1_2_VERSION;

    } else {
        bh_fail("-t \"%s\": expected tls1.3 or tls1.2", tls);
    }

    if (names_path) {
        bh_read_names(&bh, names_path);
    }

    (void) signal(SIGPIPE, SIG_IGN);

    /* a client that never resumes: every handshake is a full one */

    bh.ctx = SSL_CTX_new(TLS_client_method());
    if (bh.ctx == NULL) {
        bh_fail("SSL_CTX_new() failed");
    }

    if (SSL_CTX_set_min_proto_version(bh.ctx, version) != 1
        || SSL_CTX_set_max_proto_version(bh.ctx, version) != 1)
    {
        bh_fail("cannot restrict the client to %s", tls);
    }

    SSL_CTX_set_options(bh.ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(bh.ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_verify(bh.ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_cert_verify_callback(bh.ctx, bh_no_verify, NULL);

    bh.addr.sin_family = AF_INET;
    bh.addr.sin_port = htons((uint16_t) port);
    bh.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    if (single) {
        if (ca_file == NULL || bh.nnames == 0) {
            bh_fail("-1 needs -A ca-file and -n names-file");
        }

        return bh_single(&bh, ca_file, single_timeout);
    }

    bh.samples_cap = BH_SAMPLES_INIT;
    bh.samples = malloc(bh.samples_cap * sizeof(uint32_t));
    conns = calloc(conc, sizeof(bh_conn_t));

    if (bh.samples == NULL || conns == NULL) {
        bh_fail("out of memory");
    }

    bh.ep = epoll_create1(EPOLL_CLOEXEC);
    if (bh.ep == -1) {
        bh_fail("epoll_create1() failed: %s", strerror(errno));
    }

    now = bh_now();
    bh.measure_from = now + warmup * 1000000000ULL;
    bh.measure_to = bh.measure_from + duration * 1000000000ULL;
    end = bh.measure_to;
    next_scan = now + BH_SCAN_NS;

    for (i = 0; i < (int) conc; i++) {
        conns[i].fd = -1;
    }

    for ( ;; ) {

        /* a connection that failed or finished is replaced here */

        busy = 0;

        for (i = 0; i < (int) conc; i++) {
            if (conns[i].fd == -1) {
                bh_start(&bh, &conns[i]);
            }

            busy |= (conns[i].fd != -1);
        }

        now = bh_now();

        if (now >= end || (bh.once && !busy)) {
            break;
        }

        if (now >= next_scan) {

            /* a handshake that hangs counts as an error */

            for (i = 0; i < (int) conc; i++) {
                if (conns[i].fd != -1
                    && now - conns[i].start > BH_TIMEOUT_NS)
                {
                    bh_error(&bh, &conns[i], "no handshake within 5 s");
                }
            }

            next_scan = now + BH_SCAN_NS;
        }

        wait_until = (next_scan < end) ? next_scan : end;
        timeout = (int) ((wait_until - now + 999999) / 1000000);

        n = epoll_wait(bh.ep, events, BH_EVENTS, timeout);

        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }

            bh_fail("epoll_wait() failed: %s", strerror(errno));
        }

        for (i = 0; i < n; i++) {
            bh_event(&bh, events[i].data.ptr);
        }
    }

    /* what is still in flight at the end is neither counted nor an error */

    for (i = 0; i < (int) conc; i++) {
        bh_close(&conns[i]);
    }

    qsort(bh.samples, bh.nsamples, sizeof(uint32_t), bh_cmp);

    seconds = (double) duration;

    if (bh.once && now < end && now > bh.measure_from) {
        seconds = (double) (now - bh.measure_from) / 1e9;
    }

    printf("handshakes=%llu rate=%.1f/s p50_ms=%.3f p99_ms=%.3f "
           "errors=%llu\n",
           (unsigned long long) bh.handshakes,
           (double) bh.handshakes / seconds,
           bh_percentile(&bh, 0.50), bh_percentile(&bh, 0.99),
           (unsigned long long) bh.errors);

    (void) fflush(stdout);

    SSL_CTX_free(bh.ctx);
    free(bh.samples);
    free(conns);
    (void) close(bh.ep);

    return bh.errors ? 1 : 0;
}


static void
bh_usage(FILE *f)
{
    fprintf(f,
        "usage: bench-handshake [-c concurrency] [-d seconds] [-w seconds]\n"
        "                       [-e] [-n names-file] [-p port] "
        "[-t tls1.3 | tls1.2]\n"
        "  -c  connections in flight (default 32)\n"
        "  -d  measured seconds (default 10)\n"
        "  -w  warm-up seconds, not counted (default 2)\n"
        "  -e  each name once, then stop (-d bounds it)\n"
        "  -n  SNI names, one a line, used round-robin (default: no SNI)\n"
        "  -p  port on 127.0.0.1 (default 443)\n"
        "  -t  tls1.3 (default) or tls1.2\n"
        "prints: handshakes=N rate=R/s p50_ms=X p99_ms=Y errors=E\n"
        "\n"
        "       bench-handshake -1 -A ca-file -n names-file [-p port] "
        "[-T seconds]\n"
        "  one verified handshake per name, one after another\n"
        "  -A  the only CA trusted (chain and name are verified)\n"
        "  -T  limit per handshake (default 30 s)\n"
        "prints: name=NAME ms=X ok=1|0 [error=TEXT] per name, then\n"
        "        single names=N ok=K failed=F p50_ms=X p90_ms=Y max_ms=Z\n");
}


static void
bh_fail(const char *fmt, ...)
{
    va_list  args;

    fprintf(stderr, "bench-handshake: ");

    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);

    fprintf(stderr, "\n");

    exit(2);
}


static unsigned long
bh_number(const char *opt, const char *arg, unsigned long min,
    unsigned long max)
{
    char           *end;
    unsigned long   n;

    errno = 0;
    n = strtoul(arg, &end, 10);

    if (errno || end == arg || *end != '\0' || arg[0] == '-'
        || n < min || n > max)
    {
        bh_fail("%s \"%s\": expected a number from %lu to %lu",
                opt, arg, min, max);
    }

    return n;
}


static void
bh_read_names(bh_t *bh, const char *path)
{
    FILE     *f;
    char     *name, **names;
    size_t    len, cap;
    char      line[BH_NAME_MAX + 3];

    f = fopen(path, "r");
    if (f == NULL) {
        bh_fail("cannot open \"%s\": %s", path, strerror(errno));
    }

    cap = 0;

    while (fgets(line, sizeof(line), f)) {
        len = strlen(line);

        if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
            bh_fail("\"%s\": a name longer than %d characters",
                    path, BH_NAME_MAX);
        }

        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'
                       || line[len - 1] == ' ' || line[len - 1] == '\t'))
        {
            len--;
        }

        if (len == 0) {
            continue;
        }

        if (bh->nnames == cap) {
            cap = cap ? cap * 2 : 1024;
            names = realloc(bh->names, cap * sizeof(char *));

            if (names == NULL) {
                bh_fail("out of memory");
            }

            bh->names = names;
        }

        name = strndup(line, len);
        if (name == NULL) {
            bh_fail("out of memory");
        }

        bh->names[bh->nnames++] = name;
    }

    if (ferror(f)) {
        bh_fail("cannot read \"%s\"", path);
    }

    (void) fclose(f);

    if (bh->nnames == 0) {
        bh_fail("\"%s\" has no names", path);
    }
}


static uint64_t
bh_now(void)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}


static void
bh_start(bh_t *bh, bh_conn_t *c)
{
    int                  one, rc;
    struct linger        lg;
    struct epoll_event   ev;

    /* -e: every name had its connection */

    if (bh->once && bh->started >= bh->nnames) {
        c->fd = -1;
        return;
    }

    bh->started++;

    c->start = bh_now();
    c->ssl = NULL;
    c->state = BH_CONNECTING;

    c->fd = socket(AF_INET, SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC, 0);
    if (c->fd == -1) {
        bh_fail("socket() failed: %s", strerror(errno));
    }

    one = 1;
    (void) setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    lg.l_onoff = 1;
    lg.l_linger = 0;
    (void) setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));

    rc = connect(c->fd, (struct sockaddr *) &bh->addr, sizeof(bh->addr));

    if (rc == -1 && errno != EINPROGRESS) {
        bh_error(bh, c, "connect() failed: %s", strerror(errno));
        return;
    }

    c->events = EPOLLOUT;

    ev.events = c->events;
    ev.data.ptr = c;

    if (epoll_ctl(bh->ep, EPOLL_CTL_ADD, c->fd, &ev) == -1) {
        bh_fail("epoll_ctl(ADD) failed: %s", strerror(errno));
    }
}


static void
bh_event(bh_t *bh, bh_conn_t *c)
{
    int          err;
    socklen_t    len;
    const char  *name;

    if (c->fd == -1) {
        return;
    }

    if (c->state == BH_HANDSHAKING) {
        bh_handshake(bh, c);
        return;
    }

    err = 0;
    len = sizeof(err);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1) {
        err = errno;
    }

    if (err) {
        bh_error(bh, c, "connect() failed: %s", strerror(err));
        return;
    }

    c->ssl = SSL_new(bh->ctx);
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
        bh_fail("SSL_new() failed");
    }

    if (bh->nnames) {
        name = bh->names[bh->next_name];
        bh->next_name = (bh->next_name + 1) % bh->nnames;

        if (SSL_set_tlsext_host_name(c->ssl, name) != 1) {
            bh_fail("SSL_set_tlsext_host_name(\"%s\") failed", name);
        }
    }

    SSL_set_connect_state(c->ssl);
    c->state = BH_HANDSHAKING;

    bh_handshake(bh, c);
}


static void
bh_handshake(bh_t *bh, bh_conn_t *c)
{
    int            rc, err;
    unsigned long  e;
    char           buf[256];

    ERR_clear_error();

    rc = SSL_do_handshake(c->ssl);

    if (rc == 1) {
        bh_done(bh, c);
        return;
    }

    err = SSL_get_error(c->ssl, rc);

    switch (err) {

    case SSL_ERROR_WANT_READ:
        bh_want(bh, c, EPOLLIN);
        return;

    case SSL_ERROR_WANT_WRITE:
        bh_want(bh, c, EPOLLOUT);
        return;

    case SSL_ERROR_SYSCALL:
        e = ERR_peek_error();

        if (e == 0) {
            bh_error(bh, c, "handshake: %s",
                     errno ? strerror(errno) : "the server closed");
            return;
        }

        break;

    default:
        e = ERR_peek_error();
        break;
    }

    ERR_error_string_n(e, buf, sizeof(buf));
    bh_error(bh, c, "handshake failed (SSL error %d): %s", err, buf);
}


static void
bh_want(bh_t *bh, bh_conn_t *c, uint32_t events)
{
    struct epoll_event  ev;

    if (c->events == events) {
        return;
    }

    c->events = events;

    ev.events = events;
    ev.data.ptr = c;

    if (epoll_ctl(bh->ep, EPOLL_CTL_MOD, c->fd, &ev) == -1) {
        bh_fail("epoll_ctl(MOD) failed: %s", strerror(errno));
    }
}


static void
bh_done(bh_t *bh, bh_conn_t *c)
{
    uint32_t  *samples;
    uint64_t   now, us;

    now = bh_now();

    if (now >= bh->measure_from && now < bh->measure_to) {
        bh->handshakes++;

        if (bh->nsamples == bh->samples_cap) {
            samples = realloc(bh->samples,
                              bh->samples_cap * 2 * sizeof(uint32_t));
            if (samples == NULL) {
                bh_fail("out of memory");
            }

            bh->samples = samples;
            bh->samples_cap *= 2;
        }

        us = (now - c->start) / 1000;
        bh->samples[bh->nsamples++] = (us > UINT32_MAX) ? UINT32_MAX
                                                        : (uint32_t) us;
    }

    bh_close(c);
    bh_start(bh, c);
}


static void
bh_error(bh_t *bh, bh_conn_t *c, const char *fmt, ...)
{
    va_list  args;

    bh->errors++;

    if (!bh->described) {
        bh->described = 1;

        fprintf(stderr, "bench-handshake: first error: ");

        va_start(args, fmt);
        vfprintf(stderr, fmt, args);
        va_end(args);

        fprintf(stderr, "\n");
    }

    bh_close(c);

    /* the main loop starts the next one; do not spin on a dead port */

    if (bh->errors % 1000 == 0) {
        (void) usleep(1000);
    }
}


static void
bh_close(bh_conn_t *c)
{
    if (c->ssl) {
        SSL_free(c->ssl);
        c->ssl = NULL;
    }

    if (c->fd != -1) {
        /* close() also takes the socket out of the epoll set */
        (void) close(c->fd);
        c->fd = -1;
    }
}


static int
bh_no_verify(X509_STORE_CTX *ctx, void *arg)
{
    /*
     * Nothing is verified: building the chain would only spend the
     * client's CPU, which limits the load it can offer.
     */

    return 1;
}


static int
bh_cmp(const void *a, const void *b)
{
    uint32_t  x, y;

    x = *(const uint32_t *) a;
    y = *(const uint32_t *) b;

    return (x > y) - (x < y);
}


static double
bh_percentile(bh_t *bh, double p)
{
    size_t  rank;

    if (bh->nsamples == 0) {
        return 0.0;
    }

    /* nearest rank, on sorted samples */

    rank = (size_t) (p * (double) bh->nsamples + 0.999999);

    if (rank == 0) {
        rank = 1;
    }

    if (rank > bh->nsamples) {
        rank = bh->nsamples;
    }

    return (double) bh->samples[rank - 1] / 1000.0;
}


/*
 * -1: one verified handshake per name, one after another.
 */

static int
bh_single(bh_t *bh, const char *ca_file, unsigned long timeout)
{
    size_t     i;
    uint32_t   max;
    uint64_t   t0, us;
    uint64_t   failed;
    char       err[256];

    SSL_CTX_set_cert_verify_callback(bh->ctx, NULL, NULL);
    SSL_CTX_set_verify(bh->ctx, SSL_VERIFY_PEER, NULL);

    if (SSL_CTX_load_verify_locations(bh->ctx, ca_file, NULL) != 1) {
        bh_fail("cannot load the CA file \"%s\"", ca_file);
    }

    bh->samples_cap = bh->nnames;
    bh->samples = malloc(bh->samples_cap * sizeof(uint32_t));
    if (bh->samples == NULL) {
        bh_fail("out of memory");
    }

    failed = 0;
    max = 0;

    for (i = 0; i < bh->nnames; i++) {
        t0 = bh_now();
        err[0] = '\0';

        if (bh_single_one(bh, bh->names[i], timeout, err, sizeof(err))
            == 0)
        {
            us = (bh_now() - t0) / 1000;
            bh->samples[bh->nsamples++] = (uint32_t) us;

            if (us > max) {
                max = (uint32_t) us;
            }

            printf("name=%s ms=%.3f ok=1\n", bh->names[i],
                   (double) us / 1000.0);

        } else {
            us = (bh_now() - t0) / 1000;
            failed++;
            printf("name=%s ms=%.3f ok=0 error=%s\n", bh->names[i],
                   (double) us / 1000.0, err);
        }

        (void) fflush(stdout);
    }

    qsort(bh->samples, bh->nsamples, sizeof(uint32_t), bh_cmp);

    printf("single names=%zu ok=%zu failed=%llu p50_ms=%.3f p90_ms=%.3f "
           "max_ms=%.3f\n",
           bh->nnames, bh->nsamples, (unsigned long long) failed,
           bh_percentile(bh, 0.50), bh_percentile(bh, 0.90),
           (double) max / 1000.0);

    (void) fflush(stdout);

    SSL_CTX_free(bh->ctx);

    return failed ? 1 : 0;
}


static int
bh_single_one(bh_t *bh, const char *name, unsigned long timeout, char *err,
    size_t errlen)
{
    int              fd, one, rc, e, ret;
    SSL             *ssl;
    long             vr;
    unsigned long    oe;
    char            *p;
    struct timeval   tv;
    char             buf[200];

    ret = -1;
    ssl = NULL;

    fd = socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, 0);
    if (fd == -1) {
        bh_fail("socket() failed: %s", strerror(errno));
    }

    one = 1;
    (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    tv.tv_sec = (time_t) timeout;
    tv.tv_usec = 0;
    (void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    (void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));

    if (connect(fd, (struct sockaddr *) &bh->addr, sizeof(bh->addr)) == -1) {
        snprintf(err, errlen, "connect():%s", strerror(errno));
        goto done;
    }

    ssl = SSL_new(bh->ctx);
    if (ssl == NULL || SSL_set_fd(ssl, fd) != 1
        || SSL_set_tlsext_host_name(ssl, name) != 1
        || SSL_set1_host(ssl, name) != 1)
    {
        bh_fail("cannot set up the SSL for \"%s\"", name);
    }

    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);

    ERR_clear_error();
    errno = 0;

    rc = SSL_connect(ssl);

    if (rc == 1) {
        ret = 0;
        goto done;
    }

    e = SSL_get_error(ssl, rc);
    vr = SSL_get_verify_result(ssl);
    oe = ERR_peek_error();

    if (vr != X509_V_OK) {
        snprintf(err, errlen, "verify:%s",
                 X509_verify_cert_error_string(vr));

    } else if (oe) {
        ERR_error_string_n(oe, buf, sizeof(buf));
        snprintf(err, errlen, "ssl:%s", buf);

    } else if (e == SSL_ERROR_SYSCALL
               && (errno == EAGAIN || errno == EWOULDBLOCK))
    {
        snprintf(err, errlen, "timeout:no handshake within %lu s", timeout);

    } else {
        snprintf(err, errlen, "handshake:%s",
                 errno ? strerror(errno) : "the server closed");
    }

    /* one token: the caller splits the line on spaces */

    for (p = err; *p; p++) {
        if (*p == ' ') {
            *p = '_';
        }
    }

done:

    if (ssl) {
        SSL_free(ssl);
    }

    (void) close(fd);

    return ret;
}
