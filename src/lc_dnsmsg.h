/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: DNS replies in, the status JSON's "dns" object out.
 *
 * lc_dns_answer_from_ares() turns the result of one ares_query() into the
 * lc_dns_answer_t that lc_verify_feed() wants; lc_verify_dns_json()
 * renders a finished run for the status API.  No I/O, no global state.
 */

#ifndef LC_DNSMSG_H
#define LC_DNSMSG_H

#include <stddef.h>
#include <time.h>

#include "lc_verify.h"


/*
 * Fills ans from what the ares_query() callback got: status is its c-ares
 * status, abuf and alen the raw reply (abuf may be NULL, alen 0).  qname
 * and type are those of the query.
 *
 * The status maps as ARES_SUCCESS and ARES_ENODATA: OK, ARES_ENOTFOUND:
 * NXDOMAIN, ARES_ESERVFAIL: SERVFAIL, ARES_EREFUSED: REFUSED,
 * ARES_ETIMEOUT and ARES_ECONNREFUSED: TIMEOUT, any other: ERROR; a
 * non-zero RCODE in the reply's header wins (the channel may have
 * ARES_FLAG_NOCHECKRESP): 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED, else ERROR.
 *
 * The answer section gives: cname, the target of the first CNAME record
 * owned by qname (any type of query); addrs, every A record for an A
 * query, every AAAA record for an AAAA query; caa, every CAA record for a
 * CAA query, tag and value as printable ASCII (other bytes become '?'),
 * truncated and NUL-terminated.  Addresses and CAA records are taken
 * whatever their owner: a recursive resolver puts those of the alias
 * target after the CNAME records, and for CAA that is the queried name's
 * set (RFC 8659).  Counts are clamped to the array sizes.  Records of a
 * class other than IN are ignored.  A malformed reply, or an ARES_SUCCESS
 * without one, gives ERROR and nothing else.
 */
void lc_dns_answer_from_ares(int status, const unsigned char *abuf,
    int alen, const char *qname, lc_qtype_e type, lc_dns_answer_t *ans);

/* The DNS type number of type (5, 1, 28, 257), or -1 for an unknown one. */
int lc_qtype_to_ns(lc_qtype_e type);

/*
 * The status JSON's "dns" object for a finished run, as compact JSON text
 * with a NUL in buf (size bytes, at least LC_DNS_JSON_MAX):
 *
 *   {"verified": bool, "checked_at": RFC 3339 UTC, "cname_chain": [D,
 *   hop, ...], "addresses": ["192.0.2.1", ...], "caa": [{"owner",
 *   "flags" (0 or 128), "tag", "value"}, ...], "error": null or {"type",
 *   "detail"}}
 *
 * error is set when the run is FAILED or TRANSIENT.  Strings are reduced
 * to printable ASCII.  When the text does not fit, entries are dropped
 * from the end of caa, then of addresses, then from the middle of
 * cname_chain (its first and last stay), and "truncated": true is added
 * at the end.  Returns the length of the text, or 0 (buf "" if size > 0)
 * when it cannot be built.
 */
size_t lc_verify_dns_json(const lc_verify_t *v, time_t checked_at,
    char *buf, size_t size);

#endif /* LC_DNSMSG_H */
