/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: the CA of a domain's next order (see lc_failover.h).
 */

#include "lc_failover.h"


int
lc_failover_result(lc_failover_t *f, unsigned ca,
    lc_failover_outcome_e outcome, unsigned max_fails, unsigned ncas)
{
    if (ca >= ncas) {
        ca = 0;
    }

    f->last = (unsigned char) (ca + 1);

    if (outcome == LC_FAILOVER_ISSUED) {
        f->next = 0;
        f->failures = 0;
        return 0;
    }

    /* an order that went elsewhere than planned counts where it went */

    if (f->next != ca) {
        f->next = (unsigned char) ca;
        f->failures = 0;
    }

    if (f->failures < 255) {
        f->failures++;
    }

    if (ncas < 2
        || (outcome != LC_FAILOVER_UNREACHABLE && f->failures < max_fails))
    {
        return 0;
    }

    f->next = (unsigned char) ((ca + 1) % ncas);
    f->failures = 0;

    return ca == 0 && outcome == LC_FAILOVER_UNREACHABLE;
}
