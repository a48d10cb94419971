/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the error types of the CA's answers, a fixed list, counted
 * in linkcert_acme_errors_total: the problem types of RFC 8555 section
 * 6.7 (and RFC 9773's alreadyReplaced) as the CA sends them, and three of
 * our own for an answer without a known problem type.
 */

#ifndef LC_ACME_PROBLEM_H
#define LC_ACME_PROBLEM_H

#include <stddef.h>


#define LC_ACME_PROBLEM_N  28

/* the last three: no problem type the list knows */
#define LC_ACME_PROBLEM_SERVER     (LC_ACME_PROBLEM_N - 3)  /* 5xx */
#define LC_ACME_PROBLEM_OTHER      (LC_ACME_PROBLEM_N - 2)
#define LC_ACME_PROBLEM_TRANSPORT  (LC_ACME_PROBLEM_N - 1)  /* no answer */


/*
 * The name of each type, as in last_error.type: the CA's URN, or for the
 * last three linkcert's acme_server, acme_other and acme_transport.
 */
const char *lc_acme_problem_name(size_t type);

/*
 * The type of an answer with an HTTP status of 400 or more: the problem
 * document's "type" if the list has it, else LC_ACME_PROBLEM_SERVER for a
 * 5xx and LC_ACME_PROBLEM_OTHER for the rest.  Status 0 (no answer):
 * LC_ACME_PROBLEM_TRANSPORT.  The body need not be JSON.
 */
size_t lc_acme_problem(int status, const char *body, size_t len);

#endif /* LC_ACME_PROBLEM_H */
