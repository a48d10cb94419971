/*
 * linkcert: a short, bounded error: a machine-readable type and a
 * sentence for a support agent.
 */

#ifndef LC_ERROR_H
#define LC_ERROR_H

#include <stdarg.h>


#define LC_ERROR_TYPE_LEN    56         /* incl. NUL; fits ACME URNs */
#define LC_ERROR_DETAIL_LEN  120        /* incl. NUL */


typedef struct {
    char  type[LC_ERROR_TYPE_LEN];
    char  detail[LC_ERROR_DETAIL_LEN];
} lc_error_t;


/* Sets type and a printf-style detail, both truncated to fit. */
void lc_error_set(lc_error_t *err, const char *type, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

void lc_error_clear(lc_error_t *err);

#endif /* LC_ERROR_H */
