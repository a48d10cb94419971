
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the certificate store on disk.
 *
 *     <store>/domains/<domain>/fullchain.pem   leaf first, then the chain
 *     <store>/domains/<domain>/privkey.pem     mode 0600
 *
 * The loader (ngx_http_linkcert_loader.c) lists and reads it in the
 * master when the zone is set up (start, reload, "nginx -t"); workers
 * read one domain's files on a cache miss.  Files are only ever replaced
 * whole (a new pair is published by renames).  The store knows nothing
 * of the zone's table; the rest of the module reaches it through the
 * state boundary (ngx_http_linkcert_state_local.c).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_linkcert.h"


/* a domain's two files */
static const char  *ngx_http_linkcert_store_files[] = {
    "fullchain.pem", "privkey.pem"
};


static ngx_int_t ngx_http_linkcert_store_mkdir(ngx_core_conf_t *ccf,
    u_char *path, ngx_log_t *log);
static ngx_int_t ngx_http_linkcert_store_stage(u_char *dpath,
    const char *file, const char *data, size_t len, ngx_uint_t mode,
    ngx_uint_t sync, u_char *tmp, ngx_log_t *log);
static void ngx_http_linkcert_store_sync_dir(u_char *dpath);
static ngx_uint_t ngx_http_linkcert_store_pair(u_char *chain_path,
    u_char *key_path);


ngx_int_t
ngx_http_linkcert_store_prepare(ngx_cycle_t *cycle, ngx_str_t *store,
    ngx_log_t *log)
{
    ngx_int_t         rc;
    ngx_core_conf_t  *ccf;
    u_char            path[NGX_MAX_PATH];

    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);

    rc = ngx_http_linkcert_store_mkdir(ccf, store->data, log);

    if (rc != NGX_OK) {
        return rc;
    }

    ngx_sprintf(path, "%V/domains%Z", store);

    return ngx_http_linkcert_store_mkdir(ccf, path, log);
}


/*
 * What the master (root) makes in the store belongs to the worker user:
 * workers write certificates into it and read private keys from it.
 */

ngx_int_t
ngx_http_linkcert_store_give(ngx_core_conf_t *ccf, u_char *path,
    ngx_log_t *log)
{
    if (geteuid() == 0
        && ccf->user != (ngx_uid_t) NGX_CONF_UNSET_UINT
        && chown((char *) path, ccf->user, ccf->group) == -1)
    {
        ngx_log_error(NGX_LOG_EMERG, log, ngx_errno,
                      "linkcert_store: chown(\"%s\", %d) failed",
                      path, ccf->user);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* creates a directory of the store if missing, for the worker user */

static ngx_int_t
ngx_http_linkcert_store_mkdir(ngx_core_conf_t *ccf, u_char *path,
    ngx_log_t *log)
{
    ngx_file_info_t  fi;

    if (ngx_file_info(path, &fi) == NGX_FILE_ERROR) {

        if (ngx_errno != NGX_ENOENT) {
            ngx_log_error(NGX_LOG_EMERG, log, ngx_errno,
                          "linkcert_store: " ngx_file_info_n " \"%s\" failed",
                          path);
            return NGX_ERROR;
        }

        /* nginx -t creates nothing: the master does, at start */

        if (ngx_test_config) {
            return NGX_DECLINED;
        }

        if (ngx_create_dir(path, 0700) == NGX_FILE_ERROR) {
            ngx_log_error(NGX_LOG_EMERG, log, ngx_errno,
                          "linkcert_store: " ngx_create_dir_n " \"%s\" failed",
                          path);
            return NGX_ERROR;
        }

        return ngx_http_linkcert_store_give(ccf, path, log);
    }

    if (!ngx_is_dir(&fi)) {
        ngx_log_error(NGX_LOG_EMERG, log, NGX_ENOTDIR,
                      "linkcert_store: \"%s\" is not a directory", path);
        return NGX_ERROR;
    }

    if (access((char *) path, R_OK|W_OK|X_OK) == -1) {
        ngx_log_error(NGX_LOG_EMERG, log, ngx_errno,
                      "linkcert_store: \"%s\" is not writable", path);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * The names of the domains of the store, one at a time: the directories
 * of <store>/domains whose name is a normalised domain name.
 */

ngx_int_t
ngx_http_linkcert_store_list_open(ngx_http_linkcert_store_list_t *list,
    ngx_str_t *store, ngx_log_t *log)
{
    ngx_sprintf(list->path, "%V/domains%Z", store);

    list->dir = opendir((char *) list->path);

    if (list->dir == NULL) {
        ngx_log_error(NGX_LOG_EMERG, log, ngx_errno,
                      "linkcert_store: opendir(\"%s\") failed", list->path);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* NGX_OK: the next name in name (NUL-terminated); NGX_DONE: no more */

ngx_int_t
ngx_http_linkcert_store_list_next(ngx_http_linkcert_store_list_t *list,
    char *name, size_t *len, ngx_log_t *log)
{
    ngx_err_t       err;
    const char     *reason;
    struct dirent  *de;

    for ( ;; ) {
        ngx_set_errno(0);

        de = readdir(list->dir);

        if (de == NULL) {
            err = ngx_errno;

            if (err) {
                ngx_log_error(NGX_LOG_ERR, log, err,
                              "linkcert_store: readdir(\"%s\") failed",
                              list->path);
            }

            return NGX_DONE;
        }

        if (de->d_name[0] == '.') {
            continue;
        }

        *len = ngx_strlen(de->d_name);

        if (lc_domain_normalize(de->d_name, *len, name, len, &reason) != 0
            || ngx_strcmp(name, de->d_name) != 0)
        {
            ngx_log_error(NGX_LOG_WARN, log, 0,
                          "linkcert_store: \"%s/%s\" ignored: the directory "
                          "name is not a normalised domain name",
                          list->path, de->d_name);
            continue;
        }

        return NGX_OK;
    }
}


/* the opened <store>/domains, for the stamps relative to it */

int
ngx_http_linkcert_store_list_fd(ngx_http_linkcert_store_list_t *list)
{
    return dirfd((DIR *) list->dir);
}


void
ngx_http_linkcert_store_list_close(ngx_http_linkcert_store_list_t *list)
{
    closedir(list->dir);
}


/* neither fullchain.pem nor privkey.pem exists in the domain's directory */

ngx_uint_t
ngx_http_linkcert_store_unpublished(u_char *dir)
{
    ngx_uint_t        i;
    ngx_file_info_t   fi;
    u_char            path[NGX_MAX_PATH];

    for (i = 0; i < 2; i++) {
        ngx_sprintf(path, "%s%s%Z", dir, ngx_http_linkcert_store_files[i]);

        if (ngx_file_info(path, &fi) != NGX_FILE_ERROR
            || ngx_errno != NGX_ENOENT)
        {
            return 0;
        }
    }

    return 1;
}


/*
 * Reads, parses and checks one domain's files.  Used by the loader and by
 * a worker's cache miss at the handshake.
 */

lc_cert_t *
ngx_http_linkcert_store_read_cert(ngx_str_t *store, u_char *name,
    size_t len, ngx_log_t *log, lc_error_t *err)
{
    lc_cert_t                 *cert;
    lc_error_t                 old;
    ngx_http_linkcert_file_t   chain, key;
    u_char                     path[NGX_MAX_PATH];

    cert = NULL;
    key.data = NULL;

    (void) ngx_http_linkcert_store_path(path, store, name, len,
                                        "fullchain.pem");

    if (ngx_http_linkcert_store_read_file(path, &chain, err, "fullchain.pem",
                                          NGX_HTTP_LINKCERT_FILE_MAX)
        != NGX_OK)
    {
        return NULL;
    }

    (void) ngx_http_linkcert_store_path(path, store, name, len,
                                        "privkey.pem");

    if (ngx_http_linkcert_store_read_file(path, &key, err, "privkey.pem",
                                          NGX_HTTP_LINKCERT_FILE_MAX)
        != NGX_OK)
    {
        goto done;
    }

    cert = lc_cert_parse((char *) chain.data, chain.len,
                         (char *) key.data, key.len, err);

    if (cert && lc_cert_check(cert, (char *) name, ngx_time(), err) != 0) {
        lc_cert_free(cert);
        cert = NULL;
    }

    /*
     * A renewal that stopped between writing the new key and the new
     * chain left the old key as privkey.pem.old: the old pair still holds.
     */

    if (cert == NULL && lc_error_is(err, LC_ERR_STORE_KEY_MISMATCH)) {
        ngx_explicit_memzero(key.data, key.len);
        ngx_free(key.data);
        key.data = NULL;

        (void) ngx_http_linkcert_store_path(path, store, name, len,
                                            "privkey.pem.old");

        if (ngx_http_linkcert_store_read_file(path, &key, &old,
                                              "privkey.pem.old",
                                              NGX_HTTP_LINKCERT_FILE_MAX)
            == NGX_OK)
        {
            cert = lc_cert_parse((char *) chain.data, chain.len,
                                 (char *) key.data, key.len, &old);

            if (cert
                && lc_cert_check(cert, (char *) name, ngx_time(), &old) != 0)
            {
                lc_cert_free(cert);
                cert = NULL;
            }
        }
    }

done:

    ngx_free(chain.data);

    if (key.data) {
        ngx_explicit_memzero(key.data, key.len);
        ngx_free(key.data);
    }

    return cert;
}


/*
 * Identifies the files' current versions without reading them, so that a
 * reload does not parse unchanged certificates again.  Returns 0 and sets
 * err when a file is missing.  dir ends in a slash.
 */

uint64_t
ngx_http_linkcert_store_stamp(u_char *dir, lc_error_t *err)
{
    return ngx_http_linkcert_store_stamp_at(AT_FDCWD, dir, err);
}


/*
 * The same, dir relative to the opened directory fd ("name/" relative to
 * <store>/domains when the loader walks the store): each fstatat() walks
 * two components instead of the whole absolute path.
 */

uint64_t
ngx_http_linkcert_store_stamp_at(int fd, u_char *dir, lc_error_t *err)
{
    uint64_t          stamp;
    ngx_uint_t        i;
    ngx_file_info_t   fi;
    u_char            path[NGX_MAX_PATH];

    stamp = 14695981039346656037ULL;

    for (i = 0; i < 2; i++) {
        ngx_sprintf(path, "%s%s%Z", dir, ngx_http_linkcert_store_files[i]);

        if (fstatat(fd, (char *) path, &fi, 0) == -1) {
            lc_error_set(err, LC_ERR_STORE_UNREADABLE, "%s: %s",
                         ngx_http_linkcert_store_files[i],
                         strerror(ngx_errno));
            return 0;
        }

        stamp = (stamp ^ (uint64_t) fi.st_ino) * 1099511628211ULL;
        stamp = (stamp ^ (uint64_t) fi.st_size) * 1099511628211ULL;
        stamp = (stamp ^ (uint64_t) fi.st_mtim.tv_sec) * 1099511628211ULL;
        stamp = (stamp ^ (uint64_t) fi.st_mtim.tv_nsec) * 1099511628211ULL;
    }

    return stamp ? stamp : 1;
}


ngx_int_t
ngx_http_linkcert_store_read_file(u_char *path,
    ngx_http_linkcert_file_t *file, lc_error_t *err, const char *what,
    size_t max)
{
    ssize_t          n;
    ngx_fd_t         fd;
    ngx_err_t        e;
    ngx_file_info_t  fi;

    file->data = NULL;
    file->len = 0;

    fd = ngx_open_file(path, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (fd == NGX_INVALID_FILE) {
        e = ngx_errno;
        lc_error_set(err, LC_ERR_STORE_UNREADABLE, "%s: %s", what, strerror(e));
        ngx_set_errno(e);
        return NGX_ERROR;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        e = ngx_errno;
        lc_error_set(err, LC_ERR_STORE_UNREADABLE, "%s: %s", what, strerror(e));
        goto failed;
    }

    if (!ngx_is_file(&fi) || ngx_file_size(&fi) > (off_t) max) {
        lc_error_set(err, LC_ERR_STORE_UNREADABLE,
                     "%s is not a regular file or too large", what);
        goto failed;
    }

    file->len = ngx_file_size(&fi);

    /* one more byte: an empty file still gets a buffer */

    file->data = ngx_alloc(file->len + 1, ngx_cycle->log);
    if (file->data == NULL) {
        lc_error_set(err, LC_ERR_STORE_UNREADABLE, "%s: out of memory", what);
        goto failed;
    }

    n = ngx_read_fd(fd, file->data, file->len);

    if (n != (ssize_t) file->len) {
        lc_error_set(err, LC_ERR_STORE_UNREADABLE, "%s: short read", what);
        ngx_free(file->data);
        file->data = NULL;
        goto failed;
    }

    (void) ngx_close_file(fd);

    return NGX_OK;

failed:

    (void) ngx_close_file(fd);

    return NGX_ERROR;
}


/* <store>/domains/<name>/<file>; file "": the directory, with a slash */

u_char *
ngx_http_linkcert_store_path(u_char *buf, ngx_str_t *store, u_char *name,
    size_t len, const char *file)
{
    return ngx_sprintf(buf, "%V/domains/%*s/%s%Z", store, len, name, file);
}


/*
 * Atomic replacement of <store>/<dir>/<file>: a temporary file in the same
 * directory, fsync, rename, fsync of the directory.  A crash or a full
 * disk at any point leaves the old complete file or the new one.
 */

ngx_int_t
ngx_http_linkcert_store_write(ngx_str_t *store, const char *dir,
    const char *file, const char *data, size_t len, ngx_uint_t mode,
    ngx_log_t *log)
{
    return ngx_http_linkcert_store_replace(store, dir, file, data, len, mode,
                                           1, log);
}


/*
 * sync 0: without the fsync()s, still whole or absent after a crash of
 * nginx, but a crash of the machine may lose it.  For files written
 * often, where two fsync()s each would hold the worker up (webhook
 * events).
 */

ngx_int_t
ngx_http_linkcert_store_replace(ngx_str_t *store, const char *dir,
    const char *file, const char *data, size_t len, ngx_uint_t mode,
    ngx_uint_t sync, ngx_log_t *log)
{
    u_char  path[NGX_MAX_PATH], tmp[NGX_MAX_PATH], dpath[NGX_MAX_PATH];

    ngx_sprintf(dpath, "%V/%s%Z", store, dir);
    ngx_sprintf(path, "%V/%s/%s%Z", store, dir, file);

    if (ngx_http_linkcert_store_stage(dpath, file, data, len, mode, sync,
                                      tmp, log)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (rename((char *) tmp, (char *) path) == -1) {
        ngx_log_error(NGX_LOG_ERR, log, ngx_errno,
                      "linkcert: rename(\"%s\", \"%s\") failed, "
                      "the old file is kept", tmp, path);
        (void) unlink((char *) tmp);
        return NGX_ERROR;
    }

    if (sync) {
        ngx_http_linkcert_store_sync_dir(dpath);
    }

    return NGX_OK;
}


/*
 * Creates <store>/<dir>/<file> whole, only if it does not exist:
 * NGX_DECLINED when it does (made meanwhile by someone else).
 */

ngx_int_t
ngx_http_linkcert_store_create(ngx_str_t *store, const char *dir,
    const char *file, const char *data, size_t len, ngx_uint_t mode,
    ngx_log_t *log)
{
    ngx_err_t  err;
    u_char     path[NGX_MAX_PATH], tmp[NGX_MAX_PATH], dpath[NGX_MAX_PATH];

    ngx_sprintf(dpath, "%V/%s%Z", store, dir);
    ngx_sprintf(path, "%V/%s/%s%Z", store, dir, file);

    if (ngx_http_linkcert_store_stage(dpath, file, data, len, mode, 1, tmp,
                                      log)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    err = (link((char *) tmp, (char *) path) == -1) ? ngx_errno : 0;

    (void) unlink((char *) tmp);

    if (err == NGX_EEXIST) {
        return NGX_DECLINED;
    }

    if (err) {
        ngx_log_error(NGX_LOG_ERR, log, err,
                      "linkcert: link(\"%s\", \"%s\") failed", tmp, path);
        return NGX_ERROR;
    }

    ngx_http_linkcert_store_sync_dir(dpath);

    return NGX_OK;
}


/*
 * A domain's new key and chain, published as a pair.  Both are written in
 * full under temporary names first, so a full disk or a failed write
 * leaves the published pair untouched, however many attempts fail.  Then
 * the key that matches the published chain is kept as privkey.pem.old,
 * the two files are renamed into place, and privkey.pem.old goes: a crash
 * between the two renames leaves the old chain with its key in
 * privkey.pem.old, which the loader falls back to.  sync 0: without the
 * fsync()s (many pairs written at once, then
 * ngx_http_linkcert_store_sync_all()).
 */

ngx_int_t
ngx_http_linkcert_store_publish(ngx_str_t *store, const char *name,
    const char *key, size_t key_len, const char *chain, size_t chain_len,
    ngx_uint_t sync, ngx_log_t *log)
{
    u_char  dpath[NGX_MAX_PATH], key_path[NGX_MAX_PATH],
            key_tmp[NGX_MAX_PATH], chain_path[NGX_MAX_PATH],
            chain_tmp[NGX_MAX_PATH], old[NGX_MAX_PATH];

    ngx_sprintf(dpath, "%V/domains/%s%Z", store, name);
    ngx_sprintf(key_path, "%s/privkey.pem%Z", dpath);
    ngx_sprintf(old, "%s/privkey.pem.old%Z", dpath);
    ngx_sprintf(chain_path, "%s/fullchain.pem%Z", dpath);

    if (ngx_http_linkcert_store_stage(dpath, "privkey.pem", key, key_len,
                                      0600, sync, key_tmp, log)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_linkcert_store_stage(dpath, "fullchain.pem", chain,
                                      chain_len, 0644, sync, chain_tmp, log)
        != NGX_OK)
    {
        (void) unlink((char *) key_tmp);
        return NGX_ERROR;
    }

    /* the index's journal first: a start then reads this pair again */
    ngx_http_linkcert_index_changed(store, name, ngx_strlen(name));

    /*
     * privkey.pem.old exists only if an earlier publication stopped
     * half-way: it is kept if it is the published chain's key.
     */

    if (ngx_http_linkcert_store_pair(chain_path, old)
        && !ngx_http_linkcert_store_pair(chain_path, key_path))
    {
        ngx_log_error(NGX_LOG_NOTICE, log, 0,
                      "linkcert: \"%s\" keeps the key of its published "
                      "certificate", old);

    } else {
        (void) unlink((char *) old);

        if (link((char *) key_path, (char *) old) == -1
            && ngx_errno != NGX_ENOENT)
        {
            ngx_log_error(NGX_LOG_ERR, log, ngx_errno,
                          "linkcert: link(\"%s\", \"%s\") failed",
                          key_path, old);
            goto failed;
        }
    }

    if (rename((char *) key_tmp, (char *) key_path) == -1) {
        ngx_log_error(NGX_LOG_ERR, log, ngx_errno,
                      "linkcert: rename(\"%s\", \"%s\") failed",
                      key_tmp, key_path);
        goto failed;
    }

    if (rename((char *) chain_tmp, (char *) chain_path) == -1) {
        ngx_log_error(NGX_LOG_ERR, log, ngx_errno,
                      "linkcert: rename(\"%s\", \"%s\") failed",
                      chain_tmp, chain_path);
        goto failed;
    }

    if (sync) {
        ngx_http_linkcert_store_sync_dir(dpath);
    }

    (void) unlink((char *) old);

    if (sync) {
        ngx_http_linkcert_store_sync_dir(dpath);
    }

    return NGX_OK;

failed:

    (void) unlink((char *) key_tmp);
    (void) unlink((char *) chain_tmp);

    return NGX_ERROR;
}


/*
 * Writes data in full to a new temporary file of dpath (created if
 * missing) named after file, synced if sync; its path goes into tmp.
 * Nothing is left behind on failure.
 */

static ngx_int_t
ngx_http_linkcert_store_stage(u_char *dpath, const char *file,
    const char *data, size_t len, ngx_uint_t mode, ngx_uint_t sync,
    u_char *tmp, ngx_log_t *log)
{
    int        fd;
    size_t     done;
    ssize_t    n;

    ngx_sprintf(tmp, "%s/.%s.XXXXXX%Z", dpath, file);

    if (mkdir((char *) dpath, 0700) == -1 && ngx_errno != NGX_EEXIST) {
        ngx_log_error(NGX_LOG_ERR, log, ngx_errno,
                      "linkcert: mkdir(\"%s\") failed", dpath);
        return NGX_ERROR;
    }

    fd = mkstemp((char *) tmp);
    if (fd == -1) {
        ngx_log_error(NGX_LOG_ERR, log, ngx_errno,
                      "linkcert: mkstemp(\"%s\") failed", tmp);
        return NGX_ERROR;
    }

    for (done = 0; done < len; done += n) {
        n = write(fd, data + done, len - done);

        if (n == -1) {
            if (ngx_errno == NGX_EINTR) {
                n = 0;
                continue;
            }

            goto failed;
        }
    }

    if (fchmod(fd, (mode_t) mode) == -1 || (sync && fsync(fd) == -1)) {
        goto failed;
    }

    if (close(fd) == -1) {
        fd = -1;
        goto failed;
    }

    return NGX_OK;

failed:

    ngx_log_error(NGX_LOG_ERR, log, ngx_errno,
                  "linkcert: writing \"%s\" failed, the published file "
                  "is kept", tmp);

    if (fd != -1) {
        (void) close(fd);
    }

    (void) unlink((char *) tmp);

    return NGX_ERROR;
}


static void
ngx_http_linkcert_store_sync_dir(u_char *dpath)
{
    int  dfd;

    dfd = open((char *) dpath, O_RDONLY|O_DIRECTORY);

    if (dfd != -1) {
        (void) fsync(dfd);
        (void) close(dfd);
    }
}


/* what was written without fsync() reaches the disk: one syncfs() */

void
ngx_http_linkcert_store_sync_all(ngx_str_t *store, ngx_log_t *log)
{
    int     fd;
    u_char  path[NGX_MAX_PATH];

    ngx_sprintf(path, "%V%Z", store);

    fd = open((char *) path, O_RDONLY|O_DIRECTORY);

    if (fd == -1 || syncfs(fd) == -1) {
        ngx_log_error(NGX_LOG_ERR, log, ngx_errno,
                      "linkcert: syncfs(\"%s\") failed", path);
    }

    if (fd != -1) {
        (void) close(fd);
    }
}


/* the files at chain_path and key_path can be read and are a pair */

static ngx_uint_t
ngx_http_linkcert_store_pair(u_char *chain_path, u_char *key_path)
{
    lc_cert_t                 *cert;
    lc_error_t                 err;
    ngx_http_linkcert_file_t   chain, key;

    if (ngx_http_linkcert_store_read_file(chain_path, &chain, &err,
                                          "fullchain.pem",
                                          NGX_HTTP_LINKCERT_FILE_MAX)
        != NGX_OK)
    {
        return 0;
    }

    cert = NULL;

    if (ngx_http_linkcert_store_read_file(key_path, &key, &err, "privkey.pem",
                                          NGX_HTTP_LINKCERT_FILE_MAX)
        == NGX_OK)
    {
        cert = lc_cert_parse((char *) chain.data, chain.len,
                             (char *) key.data, key.len, &err);

        ngx_explicit_memzero(key.data, key.len);
        ngx_free(key.data);
    }

    ngx_free(chain.data);

    if (cert == NULL) {
        return 0;
    }

    lc_cert_free(cert);

    return 1;
}


uint64_t
ngx_http_linkcert_store_domain_stamp(ngx_str_t *store, const char *name)
{
    lc_error_t  err;
    u_char      dir[NGX_MAX_PATH];

    (void) ngx_http_linkcert_store_path(dir, store, (u_char *) name,
                                        ngx_strlen(name), "");

    return ngx_http_linkcert_store_stamp(dir, &err);
}
