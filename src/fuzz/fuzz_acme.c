/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: libFuzzer target for the ACME machines (lc_acme.c), driven
 * by a CA that answers with arbitrary statuses, headers and bodies.
 *
 * The input is text: its first byte picks the machine ('o' an order, 'r'
 * a renewal information query, anything else the account; upper case:
 * the account holds a nonce already and an order replaces a certificate),
 * then come the CA's answers, separated by lines "%%":
 *
 *     o
 *     201
 *     Replay-Nonce: oFvnlFP1wIhRlYS2jTaXbA
 *     Location: https://ca.test/my-order/1
 *
 *     {"status": "pending", ...}
 *     %%
 *     200
 *     ...
 *
 * a status (0: no answer), header lines up to an empty line (Replay-Nonce,
 * Location, Retry-After and Content-Type are passed on), and the body.
 * Each SEND of the machine is answered by the next answer, until the
 * machine ends or the answers run out.
 *
 * Besides what the sanitizers find, a crash is a broken promise of
 * lc_acme.h: an action outside the enum; a SEND whose method is not GET,
 * HEAD or POST, whose URL is not an unbroken http(s) URL within
 * LC_ACME_URL_MAX, or whose body is missing from a POST (or its length
 * wrong) or present in a GET; a WAIT outside 1 ms to 60 s; a PUBLISH
 * without a base64url token shorter than LC_ACME_TOKEN_MAX and its key
 * authorization, token "." thumbprint; a DONE without its result (the
 * account URL, the chain and key, the renewal window with start < end);
 * a FAILED without an error type, or with a type or detail that is not
 * printable ASCII, or that does not stay FAILED; an account whose nonce is
 * not base64url or whose strings overrun their arrays; a machine that
 * neither sends nor ends; an OpenSSL error left in the queue (nginx's SSL
 * code would read it as its own).
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/err.h>

#include "lc_acme.h"
#include "lc_fuzz.h"


#define LC_FUZZ_NOW      1700000000
#define LC_FUZZ_DOMAIN   "links.acme.test"
#define LC_FUZZ_CA       "https://ca.test:14000"
#define LC_FUZZ_CERT_ID  "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"
#define LC_FUZZ_SEP      "\n%%\n"
#define LC_FUZZ_IDLE     8              /* actions in a row without SEND */


typedef struct {
    char                *text;          /* the answer, NULs put in */
    char                *body;          /* an exact copy, or NULL */
    lc_acme_response_t   res;
} lc_fuzz_answer_t;


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static lc_acme_account_t *lc_fuzz_account(void);
static lc_acme_action_e lc_fuzz_next(lc_acme_t *m, lc_acme_account_t *acct,
    time_t *now, lc_acme_request_t *req);
static void lc_fuzz_request(const lc_acme_request_t *req);
static void lc_fuzz_final(lc_acme_t *m, lc_acme_kind_e kind,
    lc_acme_account_t *acct, lc_acme_action_e action);
static void lc_fuzz_parse(const uint8_t *data, size_t size,
    lc_fuzz_answer_t *a);
static void lc_fuzz_account_check(const lc_acme_account_t *acct);
static void lc_fuzz_url(const char *url, size_t size, int empty);
static int lc_fuzz_b64url(const char *s, size_t max);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t              n;
    time_t              now;
    lc_acme_t          *m;
    lc_acme_kind_e      kind;
    const uint8_t      *end, *sep;
    lc_fuzz_answer_t    a;
    lc_acme_action_e    action;
    lc_acme_request_t   req;
    lc_acme_account_t   acct;

    if (size == 0) {
        return 0;
    }

    acct = *lc_fuzz_account();

    switch (data[0] | 0x20) {

    case 'o':
        kind = LC_ACME_ORDER;
        break;

    case 'r':
        kind = LC_ACME_RENEWAL_INFO;
        break;

    default:
        kind = LC_ACME_ACCOUNT;
        break;
    }

    if ((data[0] & 0x20) == 0) {
        strcpy(acct.nonce, "oFvnlFP1wIhRlYS2jTaXbA-0");
    }

    m = lc_acme_new(kind, &acct, LC_FUZZ_DOMAIN, LC_ACME_KEY_EC256,
                    (kind == LC_ACME_ORDER && data[0] == 'o')
                    ? NULL : LC_FUZZ_CERT_ID);
    if (m == NULL) {
        abort();
    }

    /* after the first line */

    end = data + size;
    sep = memchr(data, '\n', size);
    data = (sep != NULL) ? sep + 1 : end;

    now = LC_FUZZ_NOW;
    memset(&req, 0, sizeof(req));

    for ( ;; ) {
        action = lc_fuzz_next(m, &acct, &now, &req);

        if (action != LC_ACME_SEND || data >= end) {
            break;
        }

        sep = memmem(data, (size_t) (end - data), LC_FUZZ_SEP,
                     sizeof(LC_FUZZ_SEP) - 1);
        n = (sep != NULL) ? (size_t) (sep - data) : (size_t) (end - data);

        lc_fuzz_parse(data, n, &a);
        data += n;

        if (sep != NULL) {
            data += sizeof(LC_FUZZ_SEP) - 1;
        }

        lc_acme_feed(m, &a.res);

        free(a.text);
        free(a.body);

        if (ERR_peek_error() != 0) {
            abort();
        }

        lc_fuzz_account_check(&acct);
        now += 1;
    }

    free(req.body);

    lc_fuzz_final(m, kind, &acct, action);

    lc_acme_free(m);

    if (ERR_peek_error() != 0) {
        abort();
    }

    return 0;
}


/*
 * The account every machine starts from: one P-256 key for the whole
 * run, its thumbprint, and the URLs of a directory read and an account
 * registered (the account machine reads and registers them again).
 */

static lc_acme_account_t *
lc_fuzz_account(void)
{
    EVP_PKEY                  *key;
    static lc_acme_account_t   acct;

    if (acct.key != NULL) {
        return &acct;
    }

    key = lc_acme_account_key_new();

    if (key == NULL
        || lc_acme_account_init(&acct, key, LC_FUZZ_CA "/dir") != 0)
    {
        abort();
    }

    strcpy(acct.new_nonce, LC_FUZZ_CA "/nonce-plz");
    strcpy(acct.new_account, LC_FUZZ_CA "/sign-me-up");
    strcpy(acct.new_order, LC_FUZZ_CA "/order-plz");
    strcpy(acct.renewal_info, LC_FUZZ_CA "/renewalInfo");
    strcpy(acct.kid, LC_FUZZ_CA "/my-account/1");

    ERR_clear_error();

    return &acct;
}


/* lc_acme_next() until it sends or ends, each action checked */

static lc_acme_action_e
lc_fuzz_next(lc_acme_t *m, lc_acme_account_t *acct, time_t *now,
    lc_acme_request_t *req)
{
    size_t            len, tlen;
    unsigned          i, delay;
    const char       *token, *keyauth;
    lc_acme_action_e  action;

    for (i = 0; i < LC_FUZZ_IDLE; i++) {

        /* the glue frees the body of the last request */

        free(req->body);
        memset(req, 0x7f, sizeof(lc_acme_request_t));
        req->body = NULL;

        delay = 0;
        action = lc_acme_next(m, *now, req, &delay);

        if (ERR_peek_error() != 0) {
            abort();
        }

        switch (action) {

        case LC_ACME_SEND:
            lc_fuzz_request(req);
            return action;

        case LC_ACME_WAIT:
            if (delay < 1 || delay > 60000) {
                abort();
            }

            *now += delay / 1000;
            break;

        case LC_ACME_PUBLISH:
            token = lc_acme_challenge(m, &keyauth);

            if (token == NULL || keyauth == NULL
                || !lc_fuzz_b64url(token, LC_ACME_TOKEN_MAX - 1))
            {
                abort();
            }

            tlen = strlen(token);
            len = strnlen(keyauth, LC_ACME_KEYAUTH_MAX);

            if (len == LC_ACME_KEYAUTH_MAX
                || len != tlen + 1 + strlen(acct->thumbprint)
                || memcmp(keyauth, token, tlen) != 0
                || keyauth[tlen] != '.'
                || strcmp(keyauth + tlen + 1, acct->thumbprint) != 0)
            {
                abort();
            }

            break;

        case LC_ACME_DONE:
        case LC_ACME_FAILED:
            return action;

        default:
            abort();
        }
    }

    /* neither sends nor ends: the glue would spin */

    abort();
}


static void
lc_fuzz_request(const lc_acme_request_t *req)
{
    if (req->method == NULL) {
        abort();
    }

    lc_fuzz_url(req->url, sizeof(req->url), 0);

    if (strcmp(req->method, "POST") == 0) {
        if (req->content_type == NULL
            || strcmp(req->content_type, "application/jose+json") != 0
            || req->body == NULL || req->body_len == 0
            || strlen(req->body) != req->body_len)
        {
            abort();
        }

    } else if (strcmp(req->method, "GET") == 0
               || strcmp(req->method, "HEAD") == 0)
    {
        if (req->body != NULL || req->body_len != 0) {
            abort();
        }

    } else {
        abort();
    }
}


/* what DONE and FAILED promise, and that they stay */

static void
lc_fuzz_final(lc_acme_t *m, lc_acme_kind_e kind, lc_acme_account_t *acct,
    lc_acme_action_e action)
{
    int                 transient;
    time_t              start, end, retry_after, now;
    size_t              chain_len, key_len;
    const char         *chain, *key;
    const lc_error_t   *err;
    lc_acme_request_t   req;

    if (action == LC_ACME_FAILED) {
        transient = -1;
        retry_after = -1;
        err = lc_acme_error(m, &transient, &retry_after);

        if (err == NULL || (transient != 0 && transient != 1)
            || retry_after < 0)
        {
            abort();
        }

        if (lc_fuzz_text(err->type, sizeof(err->type), 1) == 0
            || lc_fuzz_text(err->detail, sizeof(err->detail), 1) == 0)
        {
            abort();
        }

    } else if (action == LC_ACME_DONE) {

        switch (kind) {

        case LC_ACME_ACCOUNT:
            lc_fuzz_url(acct->kid, sizeof(acct->kid), 0);
            break;

        case LC_ACME_ORDER:
            if (lc_acme_result(m, &chain, &chain_len, &key, &key_len) != 0
                || chain_len == 0 || key_len == 0)
            {
                abort();
            }

            break;

        default:
            if (lc_acme_renewal_window(m, &start, &end, &retry_after) != 0
                || start >= end || retry_after < 0)
            {
                abort();
            }

            break;
        }

    } else {
        return;
    }

    /* an ended machine stays so, and ignores what it is fed */

    now = LC_FUZZ_NOW;
    memset(&req, 0, sizeof(req));

    lc_acme_feed(m, NULL);

    if (lc_fuzz_next(m, acct, &now, &req) != action) {
        abort();
    }
}


/* an answer: "status\n", header lines, an empty line, the body */

static void
lc_fuzz_parse(const uint8_t *data, size_t size, lc_fuzz_answer_t *a)
{
    char        *p, *end, *line, *eol, *colon, *value;
    size_t       n;
    const char  *name;

    memset(a, 0, sizeof(lc_fuzz_answer_t));

    a->text = malloc(size + 1);
    if (a->text == NULL) {
        abort();
    }

    memcpy(a->text, data, size);
    a->text[size] = '\0';

    p = a->text;
    end = a->text + size;

    for (n = 0; n < 4 && p < end && *p >= '0' && *p <= '9'; n++, p++) {
        a->res.status = a->res.status * 10 + (*p - '0');
    }

    if (a->res.status == 0) {
        a->res.error = "connection reset by the fuzzer";
    }

    eol = memchr(p, '\n', (size_t) (end - p));
    p = (eol != NULL) ? eol + 1 : end;

    while (p < end) {
        line = p;
        eol = memchr(p, '\n', (size_t) (end - p));

        if (eol == NULL) {
            eol = end;
        }

        p = (eol < end) ? eol + 1 : end;

        if (eol > line && eol[-1] == '\r') {
            eol--;
        }

        if (eol == line) {

            /* the body, an exact copy */

            n = (size_t) (end - p);
            a->body = lc_fuzz_copy(p, n);
            a->res.body = a->body;
            a->res.body_len = n;
            break;
        }

        *eol = '\0';

        colon = strchr(line, ':');
        if (colon == NULL) {
            continue;
        }

        *colon = '\0';
        name = line;
        value = colon + 1;

        while (*value == ' ') {
            value++;
        }

        if (strcasecmp(name, "Replay-Nonce") == 0) {
            a->res.nonce = value;

        } else if (strcasecmp(name, "Location") == 0) {
            a->res.location = value;

        } else if (strcasecmp(name, "Retry-After") == 0) {
            a->res.retry_after = value;

        } else if (strcasecmp(name, "Content-Type") == 0) {
            a->res.content_type = value;
        }
    }
}


static void
lc_fuzz_account_check(const lc_acme_account_t *acct)
{
    size_t  len;

    lc_fuzz_url(acct->directory, sizeof(acct->directory), 0);
    lc_fuzz_url(acct->new_nonce, sizeof(acct->new_nonce), 1);
    lc_fuzz_url(acct->new_account, sizeof(acct->new_account), 1);
    lc_fuzz_url(acct->new_order, sizeof(acct->new_order), 1);
    lc_fuzz_url(acct->renewal_info, sizeof(acct->renewal_info), 1);
    lc_fuzz_url(acct->kid, sizeof(acct->kid), 1);

    len = lc_fuzz_text(acct->nonce, sizeof(acct->nonce), 0);

    if (len != 0 && !lc_fuzz_b64url(acct->nonce, sizeof(acct->nonce))) {
        abort();
    }
}


/* an http(s) URL of visible ASCII within size bytes, or "" if allowed */

static void
lc_fuzz_url(const char *url, size_t size, int empty)
{
    size_t  i, len;

    len = lc_fuzz_text(url, size, 0);

    if (len == 0 && empty) {
        return;
    }

    if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)
    {
        abort();
    }

    for (i = 0; i < len; i++) {
        if ((unsigned char) url[i] <= 0x20 || (unsigned char) url[i] >= 0x7f)
        {
            abort();
        }
    }
}


/* 1 to max characters of the base64url alphabet */

static int
lc_fuzz_b64url(const char *s, size_t max)
{
    size_t  i;

    if (s[0] == '\0') {
        return 0;
    }

    for (i = 0; s[i] != '\0'; i++) {
        if (i == max
            || !((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z')
                 || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'
                 || s[i] == '_'))
        {
            return 0;
        }
    }

    return 1;
}
