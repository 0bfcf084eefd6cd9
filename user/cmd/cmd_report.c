// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* report: aggregate in the kernel, read the maps at the end (and every -i). */
#include <stdio.h>
#include "cmds.h"
#include "collect.h"
#include "recfile.h"
#include "render.h"
#include "start.h"
#include "sample.h"
#include "tracer.h"

static int emit(const struct tc_opts *o, struct tc_model *m)
{
	if (o->json)
		return tc_render_json(stdout, m);
	tc_render_text(stdout, m, o->top);
	return ferror(stdout) ? -1 : 0;
}

int tc_model_from(const char *path, struct tc_recording *r, struct tc_model *m)
{
	char err[512];

	tc_model_init(m);
	if (tc_rec_read(path, r, err, sizeof(err))) {
		tc_err("%s", err);
		return 1;
	}
	if (!r->trailer || r->truncated)
		fprintf(stderr, "tcpclose: warning: %s ends early (the recorder was killed): the rows "
			"of its %llu events, without duration, health or port survey\n", path,
			(unsigned long long)r->frames);
	if (tc_rec_model(r, m)) {
		tc_err("out of memory");
		tc_rec_free(r);
		return 1;
	}
	return 0;
}

static int report_from(const struct tc_opts *o)
{
	struct tc_recording r;
	struct tc_model m;
	int ret;

	if (tc_model_from(o->from, &r, &m))
		return 1;
	ret = emit(o, &m) ? 1 : 0;
	tc_model_free(&m);
	tc_rec_free(&r);
	return ret;
}

int tc_cmd_report(const struct tc_opts *o)
{
	struct tc_tracer t;
	struct tc_model m;
	double start, next_tick, now;
	int ret = 0;

	if (o->from)
		return report_from(o);
	if (tc_start_attached(&t, o, TC_NEED_SURVEY))
		return 1;
	tc_model_init(&m);
	start = tc_now_s();
	next_tick = start + o->interval_s;
	fprintf(stderr, "tcpclose: tracing TCP closes with %s; Ctrl-C to stop\n", t.state_hook);

	while (!tc_stop) {
		now = tc_now_s();
		if (o->duration_s > 0 && now - start >= o->duration_s)
			break;
		if (o->interval_s > 0 && now >= next_tick) {
			if (tc_sample(&t, o->netns_path, now - start, &m)) {
				ret = 1;
				goto out;
			}
			if (emit(o, &m))
				goto out;	/* stdout gone (EPIPE): nobody to report to */
			if (!o->json)
				fputc('\n', stdout);
			next_tick += o->interval_s;
		}
		tc_nap(0.2);
	}

	if (tc_sample(&t, o->netns_path, tc_now_s() - start, &m) || emit(o, &m))
		ret = 1;
out:
	tc_tracer_stop(&t);
	tc_model_free(&m);
	return ret;
}
