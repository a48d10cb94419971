/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: a JSON helper shared by the unit tests.  Include it after
 * <cmocka.h>; header only, so no test lists another source in
 * scripts/unit.
 */

#ifndef T_JSON_KEYS_H
#define T_JSON_KEYS_H

#include <stdio.h>
#include <jansson.h>


/* the keys of a JSON object, in order, joined by commas */

static inline void
t_json_keys(json_t *obj, char *buf, size_t size)
{
    void    *it;
    size_t   used;

    used = 0;
    buf[0] = '\0';

    for (it = json_object_iter(obj); it; it = json_object_iter_next(obj, it))
    {
        used += snprintf(buf + used, size - used, "%s%s", used ? "," : "",
                         json_object_iter_key(it));
        assert_true(used < size);
    }
}

#endif /* T_JSON_KEYS_H */
