/*
 * Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
 *
 * linkcert: what the files of the lifecycle core share (not an API).
 */

#ifndef LC_LIFECYCLE_INT_H
#define LC_LIFECYCLE_INT_H

#include "lc_lifecycle.h"


/* one transition being worked out */
typedef struct {
    lc_lifecycle_t               *rec;
    const lc_lifecycle_conf_t    *conf;
    const lc_lifecycle_event_t   *ev;
    lc_lifecycle_result_t        *res;
    lc_status_e                   old_status;   /* as the event came */
    lc_stage_e                    old_stage;
} lc_life_ctx_t;


/* lc_lifecycle_time.c: when the next work is due */

void lc_life_schedule(lc_life_ctx_t *c, uint64_t at);
void lc_life_schedule_in(lc_life_ctx_t *c, time_t delay);
void lc_life_schedule_order(lc_life_ctx_t *c);
void lc_life_schedule_issued(lc_life_ctx_t *c, time_t floor);
void lc_life_schedule_pass(lc_life_ctx_t *c, unsigned long issued);
time_t lc_life_renew_time(lc_life_ctx_t *c);
time_t lc_life_renewal(const lc_lifecycle_t *rec,
    const lc_lifecycle_conf_t *conf);


/* lc_lifecycle_renew.c: renewals and the CA's renewal information */

void lc_life_renew(lc_life_ctx_t *c);
void lc_life_ari(lc_life_ctx_t *c);
void lc_life_ari_failed(lc_life_ctx_t *c);


/* lc_lifecycle.c */

void lc_life_job_end(lc_life_ctx_t *c);

#endif /* LC_LIFECYCLE_INT_H */
