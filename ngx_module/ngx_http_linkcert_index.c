
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the store's index, <store>/linkcert.index.
 *
 * Parsing a certificate and its key costs OpenSSL 3.0 close to a
 * millisecond, so a cold start with 100,000 domains would take minutes.
 * After each load the master writes what it learnt of every domain
 * (the loader, ngx_http_linkcert_loader.c, gives it the table's records),
 * with the identity of its files (inode, size, mtime); the next start
 * trusts a line whose files did not change and parses only the rest.
 * The index is the module's own file, rewritten atomically; a missing or
 * damaged one only costs time.
 *
 * A line:  name stamp ok not_before not_after sha256 serial issuer
 *          error_type error_detail   (strings URI-escaped, "-" for none)
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert.h"


#define NGX_HTTP_LINKCERT_INDEX       "linkcert.index"
#define NGX_HTTP_LINKCERT_INDEX_MAX   (512 * 1024 * 1024)
#define NGX_HTTP_LINKCERT_JOURNAL     "linkcert.index.changed"


typedef struct {
    ngx_str_node_t                 sn;
    u_char                        *fields;     /* after the name */
} ngx_http_linkcert_index_line_t;


struct ngx_http_linkcert_index_s {
    ngx_rbtree_t                   rbtree;
    ngx_rbtree_node_t              sentinel;
    u_char                        *data;
    u_char                        *p;          /* read a line at a time */
    u_char                        *last;
};


struct ngx_http_linkcert_index_out_s {
    u_char                        *buf;
    u_char                        *p;
    size_t                         size;
    ngx_uint_t                     failed;      /* out of memory */
    ngx_log_t                     *log;
};


static ngx_int_t ngx_http_linkcert_index_parse(u_char *p,
    ngx_http_linkcert_loaded_t *loaded);
static u_char *ngx_http_linkcert_index_field(u_char **p);
static ngx_int_t ngx_http_linkcert_index_hex(u_char *hex, u_char *out,
    size_t max, size_t *len);
static u_char *ngx_http_linkcert_index_string(u_char *p, u_char *last,
    const char *s);
static void ngx_http_linkcert_index_unescape(u_char *field, char *out,
    size_t size);


ngx_http_linkcert_index_t *
ngx_http_linkcert_index_read(ngx_str_t *store, ngx_pool_t *pool,
    ngx_log_t *log)
{
    u_char                          *p, *eol, *name, *last;
    ngx_http_linkcert_index_t       *idx;
    ngx_http_linkcert_index_line_t  *line;

    idx = ngx_http_linkcert_index_open(store, log);
    if (idx == NULL) {
        return NULL;
    }

    ngx_rbtree_init(&idx->rbtree, &idx->sentinel,
                    ngx_str_rbtree_insert_value);

    p = idx->data;
    last = idx->last;

    while (p < last) {
        eol = ngx_strlchr(p, last, '\n');
        if (eol == NULL) {
            break;      /* a torn last line is ignored */
        }

        *eol = '\0';

        name = p;
        p = (u_char *) ngx_strchr(name, ' ');

        if (p) {
            *p++ = '\0';

            line = ngx_palloc(pool, sizeof(ngx_http_linkcert_index_line_t));
            if (line == NULL) {
                break;
            }

            line->sn.str.data = name;
            line->sn.str.len = p - 1 - name;
            line->sn.node.key = ngx_crc32_short(name, line->sn.str.len);
            line->fields = p;

            ngx_rbtree_insert(&idx->rbtree, &line->sn.node);
        }

        p = eol + 1;
    }

    return idx;
}


void
ngx_http_linkcert_index_free(ngx_http_linkcert_index_t *idx)
{
    if (idx) {
        ngx_http_linkcert_index_close(idx);
    }
}


/*
 * What the index says about a domain whose files have this stamp;
 * NGX_DECLINED when it says nothing usable.
 */

ngx_int_t
ngx_http_linkcert_index_lookup(ngx_http_linkcert_index_t *idx, u_char *name,
    size_t len, ngx_http_linkcert_loaded_t *loaded)
{
    u_char                          *fields;
    uint64_t                         stamp;
    ngx_str_t                        key;
    ngx_http_linkcert_index_line_t  *line;

    if (idx == NULL) {
        return NGX_DECLINED;
    }

    key.data = name;
    key.len = len;

    line = (ngx_http_linkcert_index_line_t *)
               ngx_str_rbtree_lookup(&idx->rbtree, &key,
                                     ngx_crc32_short(name, len));
    if (line == NULL) {
        return NGX_DECLINED;
    }

    /* a line is read once: its fields are cut in place */

    fields = line->fields;
    line->fields = (u_char *) "";

    stamp = loaded->stamp;

    if (ngx_http_linkcert_index_parse(fields, loaded) != NGX_OK
        || loaded->stamp != stamp)
    {
        loaded->stamp = stamp;
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * The index read a line at a time, as it is, for a start that trusts it
 * (ngx_http_linkcert_loader_index.c): no tree, no copy.
 */

ngx_http_linkcert_index_t *
ngx_http_linkcert_index_open(ngx_str_t *store, ngx_log_t *log)
{
    lc_error_t                  err;
    ngx_http_linkcert_file_t    file;
    ngx_http_linkcert_index_t  *idx;
    u_char                      path[NGX_MAX_PATH];

    ngx_sprintf(path, "%V/" NGX_HTTP_LINKCERT_INDEX "%Z", store);

    if (ngx_http_linkcert_store_read_file(path, &file, &err, "index",
                                          NGX_HTTP_LINKCERT_INDEX_MAX)
        != NGX_OK)
    {
        if (ngx_errno != NGX_ENOENT) {
            ngx_log_error(NGX_LOG_WARN, log, 0,
                          "linkcert_store: \"%s\" not used: %s",
                          path, err.detail);
        }

        return NULL;
    }

    idx = ngx_alloc(sizeof(ngx_http_linkcert_index_t), log);
    if (idx == NULL) {
        ngx_free(file.data);
        return NULL;
    }

    idx->data = file.data;
    idx->p = file.data;
    idx->last = file.data + file.len;

    return idx;
}


/*
 * The next line: NGX_OK, its name and what it says (its stamp included);
 * NGX_DECLINED, a damaged line; NGX_DONE, no more.
 */

ngx_int_t
ngx_http_linkcert_index_next(ngx_http_linkcert_index_t *idx, u_char **name,
    size_t *len, ngx_http_linkcert_loaded_t *loaded)
{
    u_char  *p, *eol;

    eol = ngx_strlchr(idx->p, idx->last, '\n');
    if (eol == NULL) {
        return NGX_DONE;        /* a torn last line is ignored */
    }

    *eol = '\0';
    *name = idx->p;
    idx->p = eol + 1;

    p = (u_char *) ngx_strchr(*name, ' ');
    if (p == NULL) {
        return NGX_DECLINED;
    }

    *p++ = '\0';
    *len = p - 1 - *name;

    ngx_memzero(loaded, sizeof(ngx_http_linkcert_loaded_t));

    return ngx_http_linkcert_index_parse(p, loaded);
}


/* the lines left to read */

ngx_uint_t
ngx_http_linkcert_index_lines(ngx_http_linkcert_index_t *idx)
{
    u_char      *p;
    ngx_uint_t   n;

    n = 0;

    for (p = idx->p;
         (p = memchr(p, '\n', idx->last - p)) != NULL;
         p++)
    {
        n++;
    }

    return n;
}


void
ngx_http_linkcert_index_close(ngx_http_linkcert_index_t *idx)
{
    ngx_free(idx->data);
    ngx_free(idx);
}


/* a line's fields after the name, cut in place; the stamp into loaded */

static ngx_int_t
ngx_http_linkcert_index_parse(u_char *p, ngx_http_linkcert_loaded_t *loaded)
{
    u_char      *f[9];
    size_t       n;
    ngx_int_t    d;
    ngx_uint_t   i;

    for (i = 0; i < 9; i++) {
        f[i] = ngx_http_linkcert_index_field(&p);

        if (f[i] == NULL) {
            return NGX_DECLINED;
        }
    }

    if (ngx_strlen(f[0]) != 16) {
        return NGX_DECLINED;
    }

    loaded->stamp = 0;

    for (i = 0; i < 16; i++) {
        d = ngx_hextoi(f[0] + i, 1);

        if (d == NGX_ERROR) {
            return NGX_DECLINED;
        }

        loaded->stamp = (loaded->stamp << 4) | (uint64_t) d;
    }

    if (f[1][0] == '1') {
        loaded->ok = 1;
        loaded->info.not_before = ngx_atotm(f[2], ngx_strlen(f[2]));
        loaded->info.not_after = ngx_atotm(f[3], ngx_strlen(f[3]));

        if (loaded->info.not_before == NGX_ERROR
            || loaded->info.not_after == NGX_ERROR
            || ngx_http_linkcert_index_hex(f[4], loaded->info.sha256, 32, &n)
               != NGX_OK
            || n != 32
            || ngx_http_linkcert_index_hex(f[5], loaded->info.serial,
                                           LC_SERIAL_MAX,
                                           &loaded->info.serial_len)
               != NGX_OK)
        {
            return NGX_DECLINED;
        }

        ngx_http_linkcert_index_unescape(f[6], loaded->info.issuer,
                                         LC_ISSUER_LEN);
        return NGX_OK;
    }

    ngx_http_linkcert_index_unescape(f[7], loaded->error.type,
                                     LC_ERROR_TYPE_LEN);
    ngx_http_linkcert_index_unescape(f[8], loaded->error.detail,
                                     LC_ERROR_DETAIL_LEN);

    return NGX_OK;
}


/*
 * A new index is built in memory, a domain at a time, then written whole
 * (atomically) in place of the old one.  domains: how many are expected.
 */

ngx_http_linkcert_index_out_t *
ngx_http_linkcert_index_begin(ngx_uint_t domains, ngx_log_t *log)
{
    ngx_http_linkcert_index_out_t  *out;

    out = ngx_alloc(sizeof(ngx_http_linkcert_index_out_t), log);
    if (out == NULL) {
        return NULL;
    }

    /*
     * Room for the domains expected, at once: a buffer doubled later is
     * copied whole, a stall of the event loop when a worker builds it.
     */

    out->size = ngx_max(1024 * 1024, domains * 256);
    out->buf = ngx_alloc(out->size, log);

    if (out->buf == NULL) {
        ngx_free(out);
        return NULL;
    }

    out->p = out->buf;
    out->failed = 0;
    out->log = log;

    return out;
}


/* out NULL (its begin failed) is ignored: the commit then fails */

void
ngx_http_linkcert_index_add(ngx_http_linkcert_index_out_t *out,
    lc_record_t *rec)
{
    u_char      *p, *last, *nbuf;
    ngx_uint_t   ok;

    if (out == NULL || out->failed) {
        return;
    }

    /* time-dependent failures are checked again at each load */

    if (rec->store_stamp == 0
        || lc_error_is(&rec->error, LC_ERR_STORE_EXPIRED)
        || lc_error_is(&rec->error, LC_ERR_STORE_NOT_YET_VALID))
    {
        return;
    }

    /* the longest line fits in 2k: names, hex and bounded text */

    if ((size_t) (out->buf + out->size - out->p) < 2048) {
        nbuf = ngx_alloc(out->size * 2, out->log);
        if (nbuf == NULL) {
            out->failed = 1;
            return;
        }

        out->p = ngx_cpymem(nbuf, out->buf, out->p - out->buf);
        ngx_free(out->buf);
        out->buf = nbuf;
        out->size *= 2;
    }

    p = out->p;
    last = out->buf + out->size;

    /* a certificate kept while the DNS points elsewhere is valid */

    ok = (rec->status == LC_STATUS_ISSUED || rec->moved);

    p = ngx_slprintf(p, last, "%s %016uxL %d ", rec->domain,
                     (uint64_t) rec->store_stamp, (int) ok);

    if (ok) {
        p = ngx_slprintf(p, last, "%T %T ", rec->cert.not_before,
                         rec->cert.not_after);
        p = ngx_hex_dump(p, rec->cert.sha256, 32);
        *p++ = ' ';
        p = ngx_hex_dump(p, rec->cert.serial, rec->cert.serial_len);
        *p++ = ' ';
        p = ngx_http_linkcert_index_string(p, last, rec->cert.issuer);
        p = ngx_slprintf(p, last, " - -\n");

    } else {
        p = ngx_slprintf(p, last, "- - - - - ");
        p = ngx_http_linkcert_index_string(p, last, rec->error.type);
        *p++ = ' ';
        p = ngx_http_linkcert_index_string(p, last, rec->error.detail);
        *p++ = '\n';
    }

    out->p = p;
}


/*
 * Writes the index and frees out.  Written by the master: the worker
 * user's, as the rest of the store.
 */

ngx_int_t
ngx_http_linkcert_index_commit(ngx_http_linkcert_index_out_t *out,
    ngx_str_t *store, ngx_core_conf_t *ccf, ngx_log_t *log)
{
    ngx_int_t  rc;
    u_char     path[NGX_MAX_PATH];

    if (out == NULL) {
        return NGX_ERROR;
    }

    rc = NGX_ERROR;

    if (!out->failed) {
        rc = ngx_http_linkcert_store_write(store, ".", NGX_HTTP_LINKCERT_INDEX,
                                           (char *) out->buf,
                                           out->p - out->buf, 0600, log);
    }

    if (rc == NGX_OK) {
        ngx_sprintf(path, "%V/" NGX_HTTP_LINKCERT_INDEX "%Z", store);
        rc = ngx_http_linkcert_store_give(ccf, path, log);
    }

    ngx_http_linkcert_index_cancel(out);

    return rc;
}


/* a new index given up: nothing written */

void
ngx_http_linkcert_index_cancel(ngx_http_linkcert_index_out_t *out)
{
    ngx_free(out->buf);
    ngx_free(out);
}


/* the index exists and no journal names a domain changed since */

ngx_uint_t
ngx_http_linkcert_index_current(ngx_str_t *store)
{
    ngx_uint_t  i;
    u_char      path[NGX_MAX_PATH];

    for (i = 0; i < 3; i++) {
        ngx_sprintf(path, "%V/%s%Z", store,
                    i == 0 ? NGX_HTTP_LINKCERT_INDEX
                           : i == 1 ? NGX_HTTP_LINKCERT_JOURNAL
                                    : NGX_HTTP_LINKCERT_JOURNAL ".old");

        if ((access((char *) path, F_OK) == 0) != (i == 0)) {
            return 0;
        }
    }

    return 1;
}


static u_char *
ngx_http_linkcert_index_field(u_char **p)
{
    u_char  *start;

    start = *p;

    if (*start == '\0') {
        return NULL;
    }

    while (**p && **p != ' ') {
        (*p)++;
    }

    if (**p == ' ') {
        *(*p)++ = '\0';
    }

    return start;
}


static ngx_int_t
ngx_http_linkcert_index_hex(u_char *hex, u_char *out, size_t max,
    size_t *len)
{
    size_t     n;
    ngx_int_t  b;

    n = ngx_strlen(hex);

    if (n % 2 || n / 2 > max) {
        return NGX_ERROR;
    }

    for (*len = 0; *len < n / 2; (*len)++) {
        b = ngx_hextoi(hex + 2 * *len, 2);

        if (b == NGX_ERROR) {
            return NGX_ERROR;
        }

        out[*len] = (u_char) b;
    }

    return NGX_OK;
}


static u_char *
ngx_http_linkcert_index_string(u_char *p, u_char *last, const char *s)
{
    size_t  len;

    len = ngx_strlen(s);

    if (len == 0) {
        *p++ = '-';
        return p;
    }

    /* escaped, a string is at most three times as long: it fits */

    return (u_char *) ngx_escape_uri(p, (u_char *) s, len,
                                     NGX_ESCAPE_URI_COMPONENT);
}


static void
ngx_http_linkcert_index_unescape(u_char *field, char *out, size_t size)
{
    u_char  *dst, *src;
    size_t   len;

    out[0] = '\0';

    if (ngx_strcmp(field, "-") == 0) {
        return;
    }

    len = ngx_strlen(field);

    /* unescaping never grows a string, and fields end in a NUL */

    dst = field;
    src = field;
    ngx_unescape_uri(&dst, &src, len, 0);
    *dst = '\0';

    ngx_cpystrn((u_char *) out, field, size);
}


/*
 * The index's journal: the names whose files this edge changed (a pair
 * published, a domain removed) since the index was written, a line each,
 * appended before the change, from any process or thread.  A start that
 * trusts the index reads these domains' files again; the pass that
 * writes the index anew (ngx_http_linkcert_store_check.c) first sets the
 * journal aside ("rotate"), and drops it once the new index is in place.
 * Appends that fail only cost the trust: the pass after the start finds
 * the change in seconds.
 */

void
ngx_http_linkcert_index_changed(ngx_str_t *store, const char *name,
    size_t len)
{
    int     fd;
    u_char  line[LC_DOMAIN_MAX + 2];
    u_char  path[NGX_MAX_PATH];

    ngx_sprintf(path, "%V/" NGX_HTTP_LINKCERT_JOURNAL "%Z", store);

    fd = open((char *) path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
              0600);
    if (fd == -1) {
        return;
    }

    len = ngx_min(len, LC_DOMAIN_MAX);

    (void) ngx_cpymem(line, name, len);
    line[len] = '\n';

    /* one write of a line with O_APPEND: whole, between others' lines */
    (void) write(fd, line, len + 1);
    (void) close(fd);
}


/* the journal's names (both files) in a tree of pool; NULL: none */

ngx_rbtree_t *
ngx_http_linkcert_index_journal(ngx_str_t *store, ngx_pool_t *pool,
    ngx_log_t *log)
{
    u_char                    *p, *eol, *last;
    ngx_uint_t                 i;
    lc_error_t                 err;
    ngx_rbtree_t              *tree;
    ngx_str_node_t            *sn;
    ngx_rbtree_node_t         *sentinel;
    ngx_http_linkcert_file_t   file;
    u_char                     path[NGX_MAX_PATH];

    tree = NULL;

    for (i = 0; i < 2; i++) {
        ngx_sprintf(path, "%V/" NGX_HTTP_LINKCERT_JOURNAL "%s%Z", store,
                    i ? ".old" : "");

        if (ngx_http_linkcert_store_read_file(path, &file, &err, "journal",
                                              NGX_HTTP_LINKCERT_INDEX_MAX)
            != NGX_OK)
        {
            continue;
        }

        if (tree == NULL) {
            tree = ngx_palloc(pool, sizeof(ngx_rbtree_t));
            sentinel = ngx_palloc(pool, sizeof(ngx_rbtree_node_t));

            if (tree == NULL || sentinel == NULL) {
                ngx_free(file.data);
                return NULL;
            }

            ngx_rbtree_init(tree, sentinel, ngx_str_rbtree_insert_value);
        }

        last = file.data + file.len;

        for (p = file.data; p < last; p = eol + 1) {
            eol = ngx_strlchr(p, last, '\n');
            if (eol == NULL) {
                break;
            }

            if (eol == p
                || ngx_str_rbtree_lookup(tree,
                                         &(ngx_str_t) { eol - p, p },
                                         ngx_crc32_short(p, eol - p))
                   != NULL)
            {
                continue;
            }

            sn = ngx_palloc(pool, sizeof(ngx_str_node_t));
            if (sn == NULL) {
                break;
            }

            sn->str.len = eol - p;
            sn->str.data = ngx_pnalloc(pool, sn->str.len + 1);

            if (sn->str.data == NULL) {
                break;
            }

            ngx_memcpy(sn->str.data, p, sn->str.len);
            sn->str.data[sn->str.len] = '\0';
            sn->node.key = ngx_crc32_short(p, sn->str.len);

            ngx_rbtree_insert(tree, &sn->node);
        }

        ngx_free(file.data);
    }

    return tree;
}


/*
 * The journal set aside before a new index is built: what is appended
 * from then on is kept for the next one.  An older one set aside by a
 * pass that did not finish stays, and the current one with it.
 */

void
ngx_http_linkcert_index_rotate(ngx_str_t *store)
{
    u_char  path[NGX_MAX_PATH], old[NGX_MAX_PATH];

    ngx_sprintf(path, "%V/" NGX_HTTP_LINKCERT_JOURNAL "%Z", store);
    ngx_sprintf(old, "%V/" NGX_HTTP_LINKCERT_JOURNAL ".old%Z", store);

    if (access((char *) old, F_OK) == -1 && ngx_errno == NGX_ENOENT) {
        (void) rename((char *) path, (char *) old);
    }
}


/* the new index is in place: the journal set aside goes (all: both) */

void
ngx_http_linkcert_index_drop(ngx_str_t *store, ngx_uint_t all)
{
    u_char  path[NGX_MAX_PATH];

    ngx_sprintf(path, "%V/" NGX_HTTP_LINKCERT_JOURNAL ".old%Z", store);
    (void) unlink((char *) path);

    if (all) {
        ngx_sprintf(path, "%V/" NGX_HTTP_LINKCERT_JOURNAL "%Z", store);
        (void) unlink((char *) path);
    }
}
