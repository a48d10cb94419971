
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: tests of the status vocabulary, its JSON rendering and of
 * lc_error.
 */


#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "lc_status.h"
#include "t_json_keys.h"


#define LC_T1  1790000000               /* 2026-09-21T14:13:20Z */


/* dumps json (taking it) and compares with expect, newline included */

#define lc_assert_dump(json, expect)                                          \
    do {                                                                      \
        char    *s_;                                                          \
        size_t   len_ = 0;                                                    \
                                                                              \
        s_ = lc_json_dump(json, &len_);                                       \
        assert_non_null(s_);                                                  \
        assert_string_equal(s_, expect);                                      \
        assert_int_equal(len_, strlen(expect));                               \
        free(s_);                                                             \
    } while (0)


/* the full JSON of rec (dumped) holds text */

#define lc_assert_full_has(rec, text)                                         \
    do {                                                                      \
        char  *s_;                                                            \
                                                                              \
        s_ = lc_json_dump(lc_status_full_json(rec), NULL);                    \
        assert_non_null(s_);                                                  \
        assert_non_null(strstr(s_, text));                                    \
        free(s_);                                                             \
    } while (0)


static void
lc_record_init(lc_record_t *rec, const char *domain)
{
    memset(rec, 0, sizeof(lc_record_t));
    (void) snprintf(rec->domain, sizeof(rec->domain), "%s", domain);
}


static void
lc_record_full(lc_record_t *rec)
{
    size_t  i;

    lc_record_init(rec, "links.acme.test");

    rec->status = LC_STATUS_ISSUED;
    rec->stage = LC_STAGE_RENEWING;

    rec->has_cert = 1;
    rec->cert.not_before = 1700000000;
    rec->cert.not_after = LC_T1;
    rec->cert.serial[0] = 0x03;
    rec->cert.serial[1] = 0xaf;
    rec->cert.serial[2] = 0x01;
    rec->cert.serial_len = 3;
    (void) snprintf(rec->cert.issuer, sizeof(rec->cert.issuer), "%s",
                    "LinkCert Test CA");

    for (i = 0; i < sizeof(rec->cert.sha256); i++) {
        rec->cert.sha256[i] = (unsigned char) i;
    }

    rec->has_error = 1;
    rec->error_at = LC_T1;
    lc_error_set(&rec->error, LC_ERR_ACME_REJECTED, "the CA said %s", "no");

    rec->next_attempt_at = LC_T1 + 60;
    rec->renew_at = 1785542400;                 /* 2026-08-01T00:00:00Z */
    rec->updated_at = LC_T1;
    rec->ca = "https://ca.test/directory";
}


static void
test_status_names(void **state)
{
    (void) state;

    assert_string_equal(lc_status_name(LC_STATUS_UNKNOWN), "unknown");
    assert_string_equal(lc_status_name(LC_STATUS_PENDING), "pending");
    assert_string_equal(lc_status_name(LC_STATUS_ISSUED), "issued");
    assert_string_equal(lc_status_name((lc_status_e) 3), "unknown");
    assert_string_equal(lc_status_name((lc_status_e) -1), "unknown");

    assert_string_equal(lc_stage_name(LC_STAGE_NONE), "none");
    assert_string_equal(lc_stage_name(LC_STAGE_VERIFYING), "verifying");
    assert_string_equal(lc_stage_name(LC_STAGE_ORDERING), "ordering");
    assert_string_equal(lc_stage_name(LC_STAGE_ISSUED), "issued");
    assert_string_equal(lc_stage_name(LC_STAGE_RENEWING), "renewing");
    assert_string_equal(lc_stage_name(LC_STAGE_FAILED), "failed");
    assert_string_equal(lc_stage_name((lc_stage_e) 6), "none");
    assert_string_equal(lc_stage_name((lc_stage_e) -1), "none");
}


static void
test_status_parse(void **state)
{
    lc_status_e  st;

    (void) state;

    st = LC_STATUS_ISSUED;
    assert_int_equal(lc_status_parse("unknown", 7, &st), 0);
    assert_int_equal(st, LC_STATUS_UNKNOWN);
    assert_int_equal(lc_status_parse("pending", 7, &st), 0);
    assert_int_equal(st, LC_STATUS_PENDING);
    assert_int_equal(lc_status_parse("issued", 6, &st), 0);
    assert_int_equal(st, LC_STATUS_ISSUED);

    /* not NUL-terminated: the length counts */
    assert_int_equal(lc_status_parse("pendingXX", 7, &st), 0);
    assert_int_equal(st, LC_STATUS_PENDING);

    st = LC_STATUS_PENDING;
    assert_int_equal(lc_status_parse("issued", 5, &st), -1);
    assert_int_equal(lc_status_parse("issuedx", 7, &st), -1);
    assert_int_equal(lc_status_parse("Issued", 6, &st), -1);
    assert_int_equal(lc_status_parse("none", 4, &st), -1);
    assert_int_equal(lc_status_parse("", 0, &st), -1);
    assert_int_equal(lc_status_parse(NULL, 0, &st), -1);
    assert_int_equal(lc_status_parse("issued\0", 7, &st), -1);
    assert_int_equal(st, LC_STATUS_PENDING);
}


static void
lc_assert_time(time_t t, const char *expect)
{
    char  buf[32];

    memset(buf, 'X', sizeof(buf));
    lc_time_rfc3339(t, buf);
    assert_string_equal(buf, expect);

    /* 21 bytes, not one more */
    assert_int_equal(buf[21], 'X');
}


static void
test_time_rfc3339(void **state)
{
    (void) state;

    lc_assert_time(0, "1970-01-01T00:00:00Z");
    lc_assert_time(LC_T1, "2026-09-21T14:13:20Z");
    lc_assert_time(1700000000, "2023-11-14T22:13:20Z");
    lc_assert_time(951782400, "2000-02-29T00:00:00Z");
    lc_assert_time(-1, "1969-12-31T23:59:59Z");
    lc_assert_time(2600000000, "2052-05-22T14:13:20Z");
    lc_assert_time(253402300799, "9999-12-31T23:59:59Z");

    /* four-digit years, clamped outside */
    lc_assert_time(-30610224000 - 86400, "0999-12-31T00:00:00Z");
    lc_assert_time(-62167219200, "0000-01-01T00:00:00Z");
    lc_assert_time(-62167219201, "0000-01-01T00:00:00Z");
    lc_assert_time(253402300800, "9999-12-31T23:59:59Z");
    lc_assert_time((time_t) INT64_MAX, "9999-12-31T23:59:59Z");
    lc_assert_time((time_t) INT64_MIN, "0000-01-01T00:00:00Z");
}


static void
test_public_without_cert(void **state)
{
    lc_record_t  rec;

    (void) state;

    lc_record_init(&rec, "links.acme.test");
    rec.status = LC_STATUS_PENDING;

    /* a record with everything but the certificate shows no more */
    rec.has_error = 1;
    lc_error_set(&rec.error, LC_ERR_DNS_MISMATCH, "CNAME points elsewhere");
    rec.updated_at = LC_T1;

    lc_assert_dump(lc_status_public_json(&rec),
                   "{\"domain\":\"links.acme.test\",\"status\":\"pending\","
                   "\"certificate\":null}\n");
}


static void
test_public_with_cert(void **state)
{
    lc_record_t  rec;

    (void) state;

    lc_record_full(&rec);

    lc_assert_dump(lc_status_public_json(&rec),
                   "{\"domain\":\"links.acme.test\",\"status\":\"issued\","
                   "\"certificate\":{\"not_before\":\"2023-11-14T22:13:20Z\","
                   "\"not_after\":\"2026-09-21T14:13:20Z\"}}\n");
}


static void
test_full(void **state)
{
    char          keys[256];
    char         *s;
    json_t       *obj, *v;
    size_t        len;
    lc_record_t   rec;
    json_error_t  error;

    (void) state;

    lc_record_full(&rec);

    lc_assert_dump(lc_status_full_json(&rec),
                   "{\"domain\":\"links.acme.test\",\"status\":\"issued\","
                   "\"stage\":\"renewing\","
                   "\"certificate\":{\"not_before\":\"2023-11-14T22:13:20Z\","
                   "\"not_after\":\"2026-09-21T14:13:20Z\","
                   "\"serial\":\"03AF01\","
                   "\"issuer\":\"LinkCert Test CA\","
                   "\"sha256\":\"000102030405060708090a0b0c0d0e0f"
                   "101112131415161718191a1b1c1d1e1f\"},"
                   "\"dns\":null,"
                   "\"last_error\":{\"at\":\"2026-09-21T14:13:20Z\","
                   "\"type\":\"acme_rejected\","
                   "\"detail\":\"the CA said no\",\"source\":\"acme\"},"
                   "\"next_attempt_at\":\"2026-09-21T14:14:20Z\","
                   "\"renew_at\":\"2026-08-01T00:00:00Z\","
                   "\"updated_at\":\"2026-09-21T14:13:20Z\","
                   "\"ca\":\"https://ca.test/directory\"}\n");

    /* and read back */

    s = lc_json_dump(lc_status_full_json(&rec), &len);
    assert_non_null(s);

    obj = json_loads(s, 0, &error);
    assert_non_null(obj);

    t_json_keys(obj, keys, sizeof(keys));
    assert_string_equal(keys, "domain,status,stage,certificate,dns,"
                              "last_error,next_attempt_at,renew_at,"
                              "updated_at,ca");

    t_json_keys(json_object_get(obj, "certificate"), keys, sizeof(keys));
    assert_string_equal(keys, "not_before,not_after,serial,issuer,sha256");

    t_json_keys(json_object_get(obj, "last_error"), keys, sizeof(keys));
    assert_string_equal(keys, "at,type,detail,source");

    v = json_object_get(json_object_get(obj, "certificate"), "sha256");
    assert_int_equal(json_string_length(v), 64);

    assert_true(json_is_null(json_object_get(obj, "dns")));

    json_decref(obj);
    free(s);
}


static void
test_full_nulls(void **state)
{
    lc_record_t  rec;

    (void) state;

    lc_record_init(&rec, "a.example");

    lc_assert_dump(lc_status_full_json(&rec),
                   "{\"domain\":\"a.example\",\"status\":\"unknown\","
                   "\"stage\":\"none\",\"certificate\":null,\"dns\":null,"
                   "\"last_error\":null,\"next_attempt_at\":null,"
                   "\"renew_at\":null,\"updated_at\":null,\"ca\":null}\n");

    /* an error recorded at an unknown time */
    rec.status = LC_STATUS_PENDING;
    rec.stage = LC_STAGE_FAILED;
    rec.has_error = 1;
    lc_error_set(&rec.error, LC_ERR_STORE_CORRUPT, "fullchain.pem is empty");

    lc_assert_dump(lc_status_full_json(&rec),
                   "{\"domain\":\"a.example\",\"status\":\"pending\","
                   "\"stage\":\"failed\",\"certificate\":null,\"dns\":null,"
                   "\"last_error\":{\"at\":null,\"type\":\"store_corrupt\","
                   "\"detail\":\"fullchain.pem is empty\","
                   "\"source\":\"store\"},"
                   "\"next_attempt_at\":null,\"renew_at\":null,"
                   "\"updated_at\":null,\"ca\":null}\n");
}


static void
t_set_dns(lc_record_t *rec, const char *text)
{
    rec->dns_len = strlen(text);
    assert_true(rec->dns_len <= sizeof(rec->dns));
    memcpy(rec->dns, text, rec->dns_len);
}


static void
test_full_dns(void **state)
{
    lc_record_t  rec;

    static const char  dns[] =
        "{\"verified\":true,\"checked_at\":\"2026-09-21T14:13:20Z\","
        "\"cname_chain\":[\"a.example\",\"edge.linkcert.net\"],"
        "\"addresses\":[],\"caa\":[{\"owner\":\"a.example\",\"flags\":0,"
        "\"tag\":\"issue\",\"value\":\"letsencrypt.org\"}],\"error\":null}";

    (void) state;

    lc_record_init(&rec, "a.example");

    /* the stored object as it is, not NUL-terminated */

    memset(rec.dns, 'X', sizeof(rec.dns));
    t_set_dns(&rec, dns);

    lc_assert_dump(lc_status_full_json(&rec),
                   "{\"domain\":\"a.example\",\"status\":\"unknown\","
                   "\"stage\":\"none\",\"certificate\":null,"
                   "\"dns\":{\"verified\":true,"
                   "\"checked_at\":\"2026-09-21T14:13:20Z\","
                   "\"cname_chain\":[\"a.example\",\"edge.linkcert.net\"],"
                   "\"addresses\":[],\"caa\":[{\"owner\":\"a.example\","
                   "\"flags\":0,\"tag\":\"issue\","
                   "\"value\":\"letsencrypt.org\"}],\"error\":null},"
                   "\"last_error\":null,\"next_attempt_at\":null,"
                   "\"renew_at\":null,\"updated_at\":null,\"ca\":null}\n");

    /* the text up to dns_len only */

    rec.dns_len = 2;
    memcpy(rec.dns, "{}garbage", 9);
    lc_assert_full_has(&rec, "\"dns\":{},\"last_error\"");

    /* never checked */

    rec.dns_len = 0;
    lc_assert_full_has(&rec, "\"dns\":null,\"last_error\"");

    /* not an object, or not JSON: null, the rest stays */

    t_set_dns(&rec, "[1,2]");
    lc_assert_full_has(&rec, "\"dns\":null,\"last_error\"");

    t_set_dns(&rec, "{\"verified\":tru");
    lc_assert_full_has(&rec, "\"dns\":null,\"last_error\"");

    t_set_dns(&rec, "{} {}");
    lc_assert_full_has(&rec, "\"dns\":null,\"last_error\"");

    /* a NUL inside */

    t_set_dns(&rec, "{\"a\":1} ");
    rec.dns[7] = '\0';
    lc_assert_full_has(&rec, "\"dns\":null,\"last_error\"");

    /* a length past the array is not read past it */

    memset(rec.dns, ' ', sizeof(rec.dns));
    memcpy(rec.dns, "{\"a\":1}", 7);
    rec.dns_len = sizeof(rec.dns) + 1000;
    lc_assert_full_has(&rec, "\"dns\":{\"a\":1},\"last_error\"");
}


static void
test_full_serials(void **state)
{
    lc_record_t  rec;

    (void) state;

    lc_record_full(&rec);

    /* a zero serial has no byte */
    rec.cert.serial_len = 0;
    lc_assert_full_has(&rec, "\"serial\":\"00\",");

    /* the longest */
    memset(rec.cert.serial, 0xfe, LC_SERIAL_MAX);
    rec.cert.serial[0] = 0x7a;
    rec.cert.serial_len = LC_SERIAL_MAX;
    lc_assert_full_has(&rec, "\"serial\":\"7AFEFEFEFEFEFEFEFEFEFEFEFEFEFEFE"
                             "FEFEFEFE\",");
}


static void
test_error_source(void **state)
{
    lc_error_t  err;

    (void) state;

    assert_string_equal(lc_error_source("dns_mismatch"), "dns");
    assert_string_equal(lc_error_source("dns_unreachable"), "dns");
    assert_string_equal(lc_error_source("caa_forbids"), "dns");
    assert_string_equal(lc_error_source("invalid_domain"), "dns");
    assert_string_equal(lc_error_source("acme_transport"), "acme");
    assert_string_equal(
        lc_error_source("urn:ietf:params:acme:error:unauthorized"), "acme");
    assert_string_equal(lc_error_source("store_key_mismatch"), "store");
    assert_string_equal(lc_error_source("removed"), "store");
    assert_string_equal(lc_error_source("order_budget"), "limit");
    assert_string_equal(lc_error_source("registered_domain_limit"), "limit");
    assert_string_equal(lc_error_source("validation_limit"), "limit");
    assert_string_equal(lc_error_source("duplicate_limit"), "limit");
    assert_string_equal(lc_error_source("ask_refused"), "ask");
    assert_string_equal(lc_error_source("no_acme_directory"), "config");
    assert_string_equal(lc_error_source("expired"), "certificate");

    /* whole words are not prefixes; unknown types are linkcert's own */
    assert_string_equal(lc_error_source("expired_soon"), "linkcert");
    assert_string_equal(lc_error_source("dns"), "linkcert");
    assert_string_equal(lc_error_source(""), "linkcert");
    assert_string_equal(lc_error_source(NULL), "linkcert");

    /* a type without its NUL is not read past */
    memset(err.type, 'x', sizeof(err.type));
    assert_string_equal(lc_error_source(err.type), "linkcert");
    memcpy(err.type, "expired", sizeof("expired") - 1);
    assert_string_equal(lc_error_source(err.type), "linkcert");
}


static void
test_escaping(void **state)
{
    char          *s;
    json_t        *obj, *err;
    size_t         len;
    lc_record_t    rec;
    json_error_t   error;

    static const char  domain[] = "a\"b\\c/d\n\t\x01\x1f\x7f";
    static const char  detail[] = "say \"hi\"\r\n\\ \b\f\x02 <script>";
    static const char  issuer[] = "Autorit\xc3\xa9 \"CA\"";

    (void) state;

    lc_record_full(&rec);
    (void) snprintf(rec.domain, sizeof(rec.domain), "%s", domain);
    lc_error_set_name(&rec.error, "type\"x", "%s", detail);
    (void) snprintf(rec.cert.issuer, sizeof(rec.cert.issuer), "%s", issuer);

    s = lc_json_dump(lc_status_full_json(&rec), &len);
    assert_non_null(s);
    assert_int_equal(len, strlen(s));
    assert_int_equal(s[len - 1], '\n');
    assert_null(memchr(s, '\n', len - 1));
    assert_non_null(strstr(s, "\\u0001"));
    assert_non_null(strstr(s, "a\\\"b\\\\c"));

    obj = json_loads(s, 0, &error);
    assert_non_null(obj);

    assert_string_equal(json_string_value(json_object_get(obj, "domain")),
                        domain);

    err = json_object_get(obj, "last_error");
    assert_string_equal(json_string_value(json_object_get(err, "type")),
                        "type\"x");
    assert_string_equal(json_string_value(json_object_get(err, "detail")),
                        detail);
    assert_string_equal(json_string_value(
                            json_object_get(json_object_get(obj,
                                                            "certificate"),
                                            "issuer")),
                        issuer);

    json_decref(obj);
    free(s);

    /* the public object too */
    s = lc_json_dump(lc_status_public_json(&rec), &len);
    assert_non_null(s);
    obj = json_loads(s, 0, &error);
    assert_non_null(obj);
    assert_string_equal(json_string_value(json_object_get(obj, "domain")),
                        domain);
    json_decref(obj);
    free(s);
}


static void
test_invalid_utf8(void **state)
{
    char          *s;
    json_t        *obj, *err;
    size_t         len;
    lc_record_t    rec;
    json_error_t   error;

    (void) state;

    /* bytes that are not UTF-8 do not cost the whole answer */

    lc_record_full(&rec);
    lc_error_set(&rec.error, LC_ERR_ACME_REJECTED,
                 "bad \xff\xfe byte \xc3\xa9");
    rec.cert.issuer[0] = (char) 0xc3;

    s = lc_json_dump(lc_status_full_json(&rec), &len);
    assert_non_null(s);

    obj = json_loads(s, 0, &error);
    assert_non_null(obj);

    err = json_object_get(obj, "last_error");
    assert_string_equal(json_string_value(json_object_get(err, "detail")),
                        "bad ?? byte ??");

    json_decref(obj);
    free(s);
}


static void
test_unterminated_fields(void **state)
{
    char          *s;
    json_t        *obj;
    size_t         len;
    lc_record_t    rec;
    json_error_t   error;

    (void) state;

    /* fixed-size fields without their NUL are not read past */

    lc_record_full(&rec);
    memset(rec.domain, 'a', sizeof(rec.domain));
    memset(rec.error.detail, 'd', sizeof(rec.error.detail));
    memset(rec.cert.issuer, 'i', sizeof(rec.cert.issuer));

    s = lc_json_dump(lc_status_full_json(&rec), &len);
    assert_non_null(s);

    obj = json_loads(s, 0, &error);
    assert_non_null(obj);
    assert_int_equal(json_string_length(json_object_get(obj, "domain")),
                     sizeof(rec.domain));
    assert_int_equal(json_string_length(
                         json_object_get(json_object_get(obj, "last_error"),
                                         "detail")),
                     sizeof(rec.error.detail));

    json_decref(obj);
    free(s);
}


static void
test_error_json(void **state)
{
    (void) state;

    lc_assert_dump(lc_error_json("not_found", "no such domain"),
                   "{\"error\":\"not_found\","
                   "\"detail\":\"no such domain\"}\n");

    lc_assert_dump(lc_error_json("bad_request", NULL),
                   "{\"error\":\"bad_request\",\"detail\":null}\n");

    lc_assert_dump(lc_error_json(NULL, "x"),
                   "{\"error\":\"\",\"detail\":\"x\"}\n");

    lc_assert_dump(lc_error_json("invalid_domain", "\"a_b.com\": bad\n"),
                   "{\"error\":\"invalid_domain\","
                   "\"detail\":\"\\\"a_b.com\\\": bad\\n\"}\n");
}


static void
test_dump(void **state)
{
    char    *s;
    json_t  *obj;
    size_t   len;

    (void) state;

    len = 99;
    assert_null(lc_json_dump(NULL, &len));
    assert_int_equal(len, 0);
    assert_null(lc_json_dump(NULL, NULL));

    /* the reference is taken */
    obj = json_object();
    assert_non_null(obj);
    assert_int_equal(json_object_set_new(obj, "z", json_integer(1)), 0);
    assert_int_equal(json_object_set_new(obj, "a", json_true()), 0);
    json_incref(obj);

    s = lc_json_dump(obj, &len);
    assert_non_null(s);
    assert_int_equal(obj->refcount, 1);
    assert_string_equal(s, "{\"z\":1,\"a\":true}\n");
    assert_int_equal(len, 17);

    free(s);
    json_decref(obj);

    /* an empty object */
    s = lc_json_dump(json_object(), &len);
    assert_non_null(s);
    assert_string_equal(s, "{}\n");
    assert_int_equal(len, 3);
    free(s);
}


static void
test_error_set(void **state)
{
    lc_error_t  err;

    (void) state;

    lc_error_set(&err, LC_ERR_STORE_CORRUPT, "%s holds %d certificates",
                 "fullchain.pem", 0);
    assert_string_equal(err.type, "store_corrupt");
    assert_string_equal(err.detail, "fullchain.pem holds 0 certificates");

    lc_error_clear(&err);
    assert_string_equal(err.type, "");
    assert_string_equal(err.detail, "");

    lc_error_set_name(&err, NULL, "%s", "x");
    assert_string_equal(err.type, "");
    assert_string_equal(err.detail, "x");

    lc_error_set_name(NULL, "a", "b");
    lc_error_clear(NULL);
}


static void
test_error_truncation(void **state)
{
    char        type[100], detail[300], expect[LC_ERROR_DETAIL_LEN];
    lc_error_t  err;

    (void) state;

    memset(type, 't', sizeof(type) - 1);
    type[sizeof(type) - 1] = '\0';
    memset(detail, 'd', sizeof(detail) - 1);
    detail[sizeof(detail) - 1] = '\0';

    lc_error_set_name(&err, type, "%s%s", detail, detail);
    assert_int_equal(strlen(err.type), LC_ERROR_TYPE_LEN - 1);
    assert_int_equal(strlen(err.detail), LC_ERROR_DETAIL_LEN - 1);

    /* an ACME URN fits */
    lc_error_set_name(&err, "urn:ietf:params:acme:error:rejectedIdentifier",
                      "x");
    assert_string_equal(err.type,
                        "urn:ietf:params:acme:error:rejectedIdentifier");

    /* exactly full */
    memset(detail, 'e', LC_ERROR_DETAIL_LEN - 1);
    detail[LC_ERROR_DETAIL_LEN - 1] = '\0';
    lc_error_set_name(&err, "t", "%s", detail);
    assert_string_equal(err.detail, detail);

    /* a two-byte character across the end is dropped whole */
    memset(detail, 'f', LC_ERROR_DETAIL_LEN - 2);
    memcpy(detail + LC_ERROR_DETAIL_LEN - 2, "\xc3\xa9", 3);
    lc_error_set_name(&err, "t", "%s", detail);
    memcpy(expect, detail, LC_ERROR_DETAIL_LEN - 2);
    expect[LC_ERROR_DETAIL_LEN - 2] = '\0';
    assert_string_equal(err.detail, expect);

    /* a three-byte one with two bytes in */
    memset(detail, 'g', LC_ERROR_DETAIL_LEN - 3);
    memcpy(detail + LC_ERROR_DETAIL_LEN - 3, "\xe2\x82\xac", 4);
    lc_error_set_name(&err, "t", "%s", detail);
    memcpy(expect, detail, LC_ERROR_DETAIL_LEN - 3);
    expect[LC_ERROR_DETAIL_LEN - 3] = '\0';
    assert_string_equal(err.detail, expect);

    /* a complete one at the very end stays */
    memset(detail, 'h', LC_ERROR_DETAIL_LEN - 3);
    memcpy(detail + LC_ERROR_DETAIL_LEN - 3, "\xc3\xa9xyz", 6);
    lc_error_set_name(&err, "t", "%s", detail);
    assert_int_equal(strlen(err.detail), LC_ERROR_DETAIL_LEN - 1);
    assert_memory_equal(err.detail + LC_ERROR_DETAIL_LEN - 3, "\xc3\xa9", 2);
}


int
main(void)
{
    int                      failed;
    const struct CMUnitTest  status_tests[] = {
        cmocka_unit_test(test_status_names),
        cmocka_unit_test(test_status_parse),
        cmocka_unit_test(test_time_rfc3339),
        cmocka_unit_test(test_public_without_cert),
        cmocka_unit_test(test_public_with_cert),
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_full_nulls),
        cmocka_unit_test(test_full_dns),
        cmocka_unit_test(test_full_serials),
        cmocka_unit_test(test_error_source),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_unterminated_fields),
        cmocka_unit_test(test_error_json),
        cmocka_unit_test(test_dump),
    };

    const struct CMUnitTest  error_tests[] = {
        cmocka_unit_test(test_error_set),
        cmocka_unit_test(test_error_truncation),
    };

    failed = cmocka_run_group_tests_name("lc_status", status_tests, NULL,
                                         NULL);
    failed += cmocka_run_group_tests_name("lc_error", error_tests, NULL,
                                          NULL);

    return failed;
}
