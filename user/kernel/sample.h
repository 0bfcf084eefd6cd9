/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef TCPCLOSE_SAMPLE_H
#define TCPCLOSE_SAMPLE_H

#include "model.h"
#include "tracer.h"

/*
 * One sample of the model, the one way every command takes it: the BPF
 * maps read (collect.c), the span it covers, then each network namespace
 * surveyed (survey.c: the port budgets, and the sweep that charges closes
 * the kernel skipped). On failure the reason is said on stderr: -1.
 */
int tc_sample(const struct tc_tracer *t, const char *netns_path, double duration_s,
	      struct tc_model *m);

#endif /* TCPCLOSE_SAMPLE_H */
