/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the error types of the CA's answers (see lc_acme_problem.h).
 */

#include <string.h>

#include <jansson.h>

#include "lc_acme_problem.h"
#include "lc_error.h"


#define LC_URN  "urn:ietf:params:acme:error:"


/* the CA's own problem types; the last three are linkcert's (lc_error.c) */

static const char *const  lc_acme_problem_urns[LC_ACME_PROBLEM_SERVER] = {
    LC_URN "accountDoesNotExist",
    LC_URN "alreadyReplaced",
    LC_URN "alreadyRevoked",
    LC_URN "badCSR",
    LC_URN "badNonce",
    LC_URN "badPublicKey",
    LC_URN "badRevocationReason",
    LC_URN "badSignatureAlgorithm",
    LC_URN "caa",
    LC_URN "compound",
    LC_URN "connection",
    LC_URN "dns",
    LC_URN "externalAccountRequired",
    LC_URN "incorrectResponse",
    LC_URN "invalidContact",
    LC_URN "malformed",
    LC_URN "orderNotReady",
    LC_URN "rateLimited",
    LC_URN "rejectedIdentifier",
    LC_URN "serverInternal",
    LC_URN "tls",
    LC_URN "unauthorized",
    LC_URN "unsupportedContact",
    LC_URN "unsupportedIdentifier",
    LC_URN "userActionRequired"
};


const char *
lc_acme_problem_name(size_t type)
{
    switch (type) {

    case LC_ACME_PROBLEM_SERVER:
        return lc_error_name(LC_ERR_ACME_SERVER);

    case LC_ACME_PROBLEM_OTHER:
        return lc_error_name(LC_ERR_ACME_OTHER);

    case LC_ACME_PROBLEM_TRANSPORT:
        return lc_error_name(LC_ERR_ACME_TRANSPORT);

    default:
        return (type < LC_ACME_PROBLEM_SERVER) ? lc_acme_problem_urns[type]
                                               : "";
    }
}


size_t
lc_acme_problem(int status, const char *body, size_t len)
{
    size_t       i, found;
    json_t      *json;
    const char  *type;

    if (status == 0) {
        return LC_ACME_PROBLEM_TRANSPORT;
    }

    found = (status >= 500) ? LC_ACME_PROBLEM_SERVER : LC_ACME_PROBLEM_OTHER;

    json = (body != NULL && len != 0) ? json_loadb(body, len, 0, NULL)
                                      : NULL;
    type = json_string_value(json_object_get(json, "type"));

    for (i = 0; type != NULL && i < LC_ACME_PROBLEM_SERVER; i++) {
        if (strcmp(type, lc_acme_problem_urns[i]) == 0) {
            found = i;
            break;
        }
    }

    json_decref(json);

    return found;
}
