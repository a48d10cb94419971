/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the grammar the HTTP client's request (lc_http_request.c) and
 * response (lc_http.c) share.  Not for the glue: lc_http.h is the
 * client's interface.
 */

#ifndef LC_HTTP_INT_H
#define LC_HTTP_INT_H

#include <stddef.h>


int lc_http_token(const char *s, size_t len);
int lc_http_field_value(const char *s);
int lc_http_prefix(const char *s, const char *prefix);


#endif /* LC_HTTP_INT_H */
