/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The closes no reset of ours followed: charged from user space (settle.c). */
#ifndef TCPCLOSE_SETTLE_H
#define TCPCLOSE_SETTLE_H

#include "tracer.h"

/* Charge them, as classified at their CLOSE, before every read of the maps
 * (collect.c); attached, only those past the wait for a reset. */
void tc_tracer_settle(const struct tc_tracer *t);
/* A thread that settles every 100 ms: started after the privileges are
 * dropped (start.c), so that it runs with what the process kept. 0, or -1
 * with errno. Stopped by tc_settler_stop() (a no-op when none runs). */
int tc_settler_run(struct tc_tracer *t);
void tc_settler_stop(struct tc_tracer *t);

#endif
