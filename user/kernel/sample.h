/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef TCPCLOSE_SAMPLE_H
#define TCPCLOSE_SAMPLE_H

#include "model.h"
#include "tracer.h"

/*
 * One sample of the model, the one way every command takes it: the BPF
 * maps read (collect.c), the span it covers, then each network namespace
 * surveyed (survey.c, through surveyor.c), the port budgets computed and
 * the sweep that charges closes the kernel skipped run over the same
 * sockets. On failure the reason is said on stderr: -1.
 */
int tc_sample(const struct tc_tracer *t, const char *netns_path, double duration_s,
	      struct tc_model *m);

/* What one netns's survey gave, for a recording. */
struct tc_netns_raw {
	__u32 ino;
	struct tc_portrec *recs;
	size_t nrecs;
};
/* The survey step of tc_sample() alone (m collected already), also handing
 * back each surveyed netns's sockets (*raw: one per netns found; free each
 * recs, then *raw). No sweep once detached (sweep false): every socket
 * closing after the detach would look like a close the kernel skipped.
 * 0, or -ENOMEM. */
int tc_survey_raw(const struct tc_tracer *t, const char *netns_path, struct tc_model *m,
		  bool sweep, struct tc_netns_raw **raw, size_t *nraw);

#endif /* TCPCLOSE_SAMPLE_H */
