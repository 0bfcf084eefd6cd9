// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* doctor: watch for -d seconds (10 by default), then a ranked verdict. */
#include <stdio.h>
#include "cmds.h"
#include "collect.h"
#include "diagnose.h"
#include "recfile.h"
#include "start.h"
#include "sample.h"
#include "tracer.h"

#define TC_DOC_MAX_FINDINGS 64

static int verdict(const struct tc_opts *o, const struct tc_model *m)
{
	static struct tc_finding f[TC_DOC_MAX_FINDINGS];
	int n = tc_diagnose(m, f, TC_DOC_MAX_FINDINGS);

	if (o->json)
		return tc_render_doctor_json(stdout, m, f, n) ? 1 : tc_doctor_status(f, n);
	tc_render_doctor_text(stdout, m, f, n);
	return ferror(stdout) ? 1 : tc_doctor_status(f, n);
}

int tc_cmd_doctor(const struct tc_opts *o)
{
	struct tc_tracer t;
	struct tc_model m;
	double start, dur = o->duration_s > 0 ? o->duration_s : 10;
	int ret;

	if (o->from) {
		struct tc_recording r;

		if (tc_model_from(o->from, &r, &m))
			return 1;
		ret = verdict(o, &m);
		tc_model_free(&m);
		tc_rec_free(&r);
		return ret;
	}
	if (tc_start_attached(&t, o, TC_NEED_SURVEY))
		return 1;
	tc_model_init(&m);
	start = tc_now_s();
	fprintf(stderr, "tcpclose: doctor watching for %.0f s with %s (Ctrl-C for the verdict now)\n",
		dur, t.state_hook);
	while (!tc_stop && tc_now_s() - start < dur)
		tc_nap(0.2);
	if (tc_sample(&t, o->netns_path, tc_now_s() - start, &m)) {
		ret = 1;
		goto out;
	}
	ret = verdict(o, &m);
out:
	tc_tracer_stop(&t);
	tc_model_free(&m);
	return ret;
}
