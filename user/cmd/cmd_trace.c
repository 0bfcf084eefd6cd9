// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * trace: one line per closed socket. The kernel submits without waking us
 * (unless the ring fills past a quarter) and we drain it on a short timer:
 * one wakeup per batch, not per event.
 */
#include <inttypes.h>
#include <stdio.h>
#include <bpf/libbpf.h>
#include "cmds.h"
#include "collect.h"
#include "start.h"
#include "render.h"
#include "tracer.h"

struct trace_ctx {
	const struct tc_opts *o;
	double start_s;
	__u64 printed;
	int out_err;
	bool idle;	/* the kernel's HZ is known: timeouts carry idle_s */
};

static int on_event(void *ctx, void *data, size_t size)
{
	struct trace_ctx *tc = ctx;
	const struct tc_event *e = data;
	double ts = (double)e->ts_ns / 1e9 - tc->start_s;

	if (size < sizeof(*e) || e->type != TC_EV_CLOSE)
		return 0;
	if (tc->o->json)
		tc->out_err = tc_event_json(stdout, e, ts, tc->idle);
	else
		tc_event_text(stdout, e, ts, tc->idle);
	if (tc->out_err || ferror(stdout))
		return -1;	/* stops the consume loop: stdout is gone */
	tc->printed++;
	return 0;
}

int tc_cmd_trace(const struct tc_opts *o)
{
	struct trace_ctx ctx = { .o = o };
	struct ring_buffer *rb = NULL;
	struct tc_tracer t;
	struct tc_model m;
	char err[512];
	int ret = 0;

	if (tc_tracer_start(&t, o, true, err, sizeof(err))) {
		tc_err("%s", err);
		return 1;
	}
	ctx.idle = t.hz != 0;
	rb = tc_tracer_events(&t, on_event, &ctx);
	if (!rb) {
		tc_err("cannot open the ring buffer");
		tc_tracer_stop(&t);
		return 1;
	}
	if (tc_drop_attached(&t, o, 0, err, sizeof(err))) {
		tc_err("%s", err);
		ring_buffer__free(rb);
		tc_tracer_stop(&t);
		return 1;
	}
	ctx.start_s = tc_now_s();
	fprintf(stderr, "tcpclose: tracing TCP closes with %s; Ctrl-C to stop\n", t.state_hook);
	if (!o->json)
		tc_event_text_header(stdout);

	while (!tc_stop) {
		if (o->duration_s > 0 && tc_now_s() - ctx.start_s >= o->duration_s)
			break;
		/* poll() returns on a forced wakeup; consume() drains what
		 * arrived without one. */
		if (ring_buffer__poll(rb, 100) < 0 && !tc_stop)
			break;
		if (ring_buffer__consume(rb) < 0)
			break;
		fflush(stdout);
	}
	tc_tracer_detach(&t);	/* and the closes still waiting for a reset charged */
	ring_buffer__consume(rb);
	fflush(stdout);
	if (ctx.out_err || ferror(stdout))
		ret = 1;

	tc_model_init(&m);
	if (!tc_collect(&t, &m))
		fprintf(stderr, "tcpclose: %" PRIu64 " closed sockets printed, %" PRIu64
			" lost (ring buffer full)\n", (uint64_t)ctx.printed,
			(uint64_t)m.health.events_lost);
	tc_model_free(&m);
	ring_buffer__free(rb);
	tc_tracer_stop(&t);
	return ret;
}
