/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Maps -> model. The only place that reads aggregation maps. */
#ifndef TCPCLOSE_COLLECT_H
#define TCPCLOSE_COLLECT_H

#include "model.h"
#include "sweep.h"
#include "tracer.h"

/* Replace m's rows, totals and health with the maps' current contents. */
int tc_collect(const struct tc_tracer *t, struct tc_model *m);

/* Timewait stays killed but not yet counted by the kernel (see collect.c). */
int tc_pending_kills(const struct tc_tracer *t, void (*fn)(const struct tc_peer_key *row,
							  __s64 dur_ms, void *ctx), void *ctx);

/* The sweep (sweep.h): candidates before a survey, deletions after it. */
int tc_sweep_read(const struct tc_tracer *t, struct tc_sweep *sw);
int tc_sweep_finish(const struct tc_tracer *t, struct tc_sweep *sw, struct tc_model *m);

#endif
