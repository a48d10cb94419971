
/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: tests of the webhook's event body and signature.  The
 * expected HMACs were computed apart from this code, with
 *   printf '%s' '<t>.<body>' | openssl dgst -sha256 -hmac '<secret>'
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

#include "lc_webhook.h"
#include "t_json_keys.h"


#define LC_T1  1790000000               /* 2026-09-21T14:13:20Z */


static void
test_sign_vector(void **state)
{
    char         sig[LC_WEBHOOK_SIGNATURE_LEN];
    const char  *body = "{\"id\":\"x\"}";

    (void) state;

    assert_int_equal(lc_webhook_sign((unsigned char *) "whsec_test", 10,
                                     LC_T1, body, strlen(body), sig), 0);
    assert_string_equal(sig, "t=1790000000,v1=67533a13d71e2eb77b03c01b4fe12"
                             "5052bbf1417cff15203550ad39a75c4995b");
}


static void
test_sign_empty_body(void **state)
{
    char  sig[LC_WEBHOOK_SIGNATURE_LEN];

    (void) state;

    assert_int_equal(lc_webhook_sign((unsigned char *) "k", 1, 0, "", 0,
                                     sig), 0);
    assert_string_equal(sig, "t=0,v1=6b4a4b8b3c40f1e8f53a3d36682e5f99f7ad2"
                             "ac1df1c93dfe336f329167641e7");
}


static void
test_sign_depends_on_all(void **state)
{
    char  a[LC_WEBHOOK_SIGNATURE_LEN], b[LC_WEBHOOK_SIGNATURE_LEN];

    (void) state;

    assert_int_equal(lc_webhook_sign((unsigned char *) "s", 1, 5, "ab", 2,
                                     a), 0);

    /* another body, time or secret: another MAC */

    assert_int_equal(lc_webhook_sign((unsigned char *) "s", 1, 5, "ac", 2,
                                     b), 0);
    assert_string_not_equal(a + 4, b + 4);

    assert_int_equal(lc_webhook_sign((unsigned char *) "s", 1, 6, "ab", 2,
                                     b), 0);
    assert_string_not_equal(a + 4, b + 4);

    assert_int_equal(lc_webhook_sign((unsigned char *) "t", 1, 5, "ab", 2,
                                     b), 0);
    assert_string_not_equal(a, b);

    assert_int_equal(lc_webhook_sign((unsigned char *) "s", 1, -1, "ab", 2,
                                     b), -1);
}


static void
test_event(void **state)
{
    char         *body, keys[256];
    size_t        len;
    json_t       *ev, *object;
    lc_record_t   rec;
    char          domain[LC_DOMAIN_MAX + 1];

    (void) state;

    memset(&rec, 0, sizeof(lc_record_t));
    strcpy(rec.domain, "links.acme.test");
    rec.status = LC_STATUS_ISSUED;
    rec.stage = LC_STAGE_ISSUED;
    rec.updated_at = LC_T1;

    body = lc_webhook_event("0123456789abcdef0123456789abcdef", LC_T1, &rec,
                            LC_STATUS_PENDING, &len);
    assert_non_null(body);
    assert_int_equal(len, strlen(body));
    assert_int_equal(body[len - 1], '\n');

    ev = json_loadb(body, len, 0, NULL);
    assert_non_null(ev);

    t_json_keys(ev, keys, sizeof(keys));
    assert_string_equal(keys, "id,type,at,domain,status,previous_status,"
                              "object");

    assert_string_equal(json_string_value(json_object_get(ev, "id")),
                        "0123456789abcdef0123456789abcdef");
    assert_string_equal(json_string_value(json_object_get(ev, "type")),
                        "domain.status");
    assert_string_equal(json_string_value(json_object_get(ev, "at")),
                        "2026-09-21T14:13:20Z");
    assert_string_equal(json_string_value(json_object_get(ev, "domain")),
                        "links.acme.test");
    assert_string_equal(json_string_value(json_object_get(ev, "status")),
                        "issued");
    assert_string_equal(json_string_value(json_object_get(ev,
                                                        "previous_status")),
                        "pending");

    /* the object is the one GET ?domain= answers */

    object = lc_status_full_json(&rec);
    assert_true(json_equal(json_object_get(ev, "object"), object));
    json_decref(object);
    json_decref(ev);

    assert_int_equal(lc_webhook_event_domain(body, len, domain), 0);
    assert_string_equal(domain, "links.acme.test");

    free(body);
}


static void
test_event_domain_bad(void **state)
{
    char  domain[LC_DOMAIN_MAX + 1];

    (void) state;

    assert_int_equal(lc_webhook_event_domain("{", 1, domain), -1);
    assert_int_equal(lc_webhook_event_domain("{}", 2, domain), -1);
    assert_int_equal(lc_webhook_event_domain("{\"domain\":1}", 12, domain),
                     -1);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_sign_vector),
        cmocka_unit_test(test_sign_empty_body),
        cmocka_unit_test(test_sign_depends_on_all),
        cmocka_unit_test(test_event),
        cmocka_unit_test(test_event_domain_bad),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
