// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "cmds.h"
#include "collect.h"
#include "sample.h"
#include "survey.h"

int tc_sample(const struct tc_tracer *t, const char *netns_path, double duration_s,
	      struct tc_model *m)
{
	if (tc_collect(t, m)) {
		tc_err("reading the BPF maps failed");
		return -1;
	}
	m->duration_s = duration_s;
	if (tc_survey(t, netns_path, m)) {
		tc_err("out of memory");
		return -1;
	}
	return 0;
}
