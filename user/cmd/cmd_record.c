// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * record: the per-socket event stream into a file (recfile.h), drained like
 * trace's (no wakeup per event). At the end the programs are detached
 * first, so the maps and the stream stop at the same instant; then the
 * stays still pending, the port survey and the tracer's health go in, and
 * the live report is printed: `report --from FILE` must print the same.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "cmds.h"
#include "collect.h"
#include "names.h"
#include "start.h"
#include "recfile.h"
#include "render.h"
#include "rowmath.h"
#include "sample.h"
#include "survey.h"
#include "tracer.h"

struct rec_ctx {
	struct tc_rec_writer w;
	int err;
	__u64 closes, tw;
};

static int on_event(void *ctx, void *data, size_t size)
{
	struct rec_ctx *rc = ctx;
	__u32 type = size >= sizeof(__u32) ? *(const __u32 *)data : 0;

	if (type == TC_EV_CLOSE && size >= sizeof(struct tc_event)) {
		rc->closes++;
		rc->err = tc_rec_frame(&rc->w, TC_REC_CLOSE, data, sizeof(struct tc_event));
	} else if (type == TC_EV_TW && size >= sizeof(struct tc_tw_event)) {
		rc->tw++;
		rc->err = tc_rec_frame(&rc->w, TC_REC_TW, data, sizeof(struct tc_tw_event));
	} else if (type == TC_EV_NOSOCK && size >= sizeof(struct tc_nosock_event)) {
		rc->err = tc_rec_frame(&rc->w, TC_REC_NOSOCK, data, sizeof(struct tc_nosock_event));
	}
	return rc->err ? -1 : 0;
}

static void kill_frame(const struct tc_peer_key *row, __s64 dur, void *ctx)
{
	struct rec_ctx *rc = ctx;
	struct tc_tw_event e = { .type = TC_EV_TW, .arg = TC_TWE_KILLED, .dur_ms = dur,
				 .row = *row, .ev = TC_TWV_END, .ev2 = -1 };

	if (!rc->err)
		rc->err = tc_rec_frame(&rc->w, TC_REC_TW, &e, sizeof(e));
	rc->tw++;
}

static void sysctl_into(json_object *o, const char *name)
{
	char buf[128];

	if (tc_read_sysctl(name, buf, sizeof(buf)))
		return;
	buf[strcspn(buf, "\n")] = '\0';
	json_object_object_add(o, name, json_object_new_string(buf));
}

static json_object *header(const struct tc_tracer *t, const struct tc_opts *o)
{
	static const char *const sysctls[] = {
		"ip_local_port_range", "ip_local_reserved_ports", "tcp_tw_reuse",
		"tcp_tw_reuse_delay", "tcp_max_tw_buckets", "tcp_fin_timeout",
	};
	json_object *h = json_object_new_object(), *k = json_object_new_object(),
		    *f = json_object_new_object(), *s = json_object_new_object();
	char host[256] = "", when[64];
	struct utsname u;
	time_t now = time(NULL);
	struct tm tm;

	json_object_object_add(h, "tool", json_object_new_string("tcpclose " TCPCLOSE_VERSION));
	if (!uname(&u)) {
		json_object_object_add(k, "release", json_object_new_string(u.release));
		json_object_object_add(k, "version", json_object_new_string(u.version));
		json_object_object_add(k, "machine", json_object_new_string(u.machine));
	}
	json_object_object_add(h, "kernel", k);
	gethostname(host, sizeof(host) - 1);
	json_object_object_add(h, "hostname", json_object_new_string(host));
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_object_object_add(h, "started", json_object_new_string(when));
	json_object_object_add(h, "attach", json_object_new_string(tc_attach_name(t->attach)));
	json_object_object_add(h, "state_hook", json_object_new_string(t->state_hook));
	json_object_object_add(h, "owner_hook", t->owner_hook ? json_object_new_string(t->owner_hook) : NULL);
	json_object_object_add(h, "tw_hook", t->tw_hook ? json_object_new_string(t->tw_hook) : NULL);
	json_object_object_add(h, "port_hook", t->port_hook ? json_object_new_string(t->port_hook) : NULL);
	json_object_object_add(h, "reset_hook", t->reset_hook ? json_object_new_string(t->reset_hook) : NULL);
	/* present (null where not hooked): the causes numbered with the three a
	 * reset after the close tells (tcpclose.h); a name: told */
	json_object_object_add(h, "pend_hook", t->pend_hook ? json_object_new_string(t->pend_hook) : NULL);
	json_object_object_add(h, "port_hooks", json_object_new_boolean(t->port_hook != NULL));
	json_object_object_add(h, "tw_snapshot", json_object_new_boolean(t->tw_snapshot));
	json_object_object_add(h, "survey", json_object_new_boolean(t->survey));
	json_object_object_add(h, "causes", json_object_new_boolean(true));	/* tc_event.cause */
	json_object_object_add(h, "fin_shutdown", json_object_new_boolean(true));	/* TC_SF_FIN_SHUTDOWN */
	json_object_object_add(h, "timeout_idle", json_object_new_boolean(t->hz != 0));
	json_object_object_add(f, "pid", o->pid ? json_object_new_int64(o->pid) : NULL);
	json_object_object_add(f, "comm", o->comm[0] ? json_object_new_string(o->comm) : NULL);
	json_object_object_add(f, "cgroup", o->cgroup_path ? json_object_new_string(o->cgroup_path) : NULL);
	json_object_object_add(f, "netns", o->netns_path ? json_object_new_string(o->netns_path) : NULL);
	json_object_object_add(h, "filters", f);
	for (size_t i = 0; i < sizeof(sysctls) / sizeof(sysctls[0]); i++)
		sysctl_into(s, sysctls[i]);
	json_object_object_add(h, "sysctls", s);
	return h;
}

int tc_cmd_record(const struct tc_opts *o)
{
	struct rec_ctx rc = { 0 };
	struct ring_buffer *rb = NULL;
	struct tc_netns_raw *raw = NULL;
	struct tc_tracer t;
	struct tc_model m;
	json_object *h;
	size_t nraw = 0;
	char err[512];
	double start;
	int ret = 0;

	if (tc_tracer_start(&t, o, true, err, sizeof(err))) {
		tc_err("%s", err);
		return 1;
	}
	h = header(&t, o);
	if (tc_rec_create(&rc.w, o->output, h, err, sizeof(err))) {
		json_object_put(h);
		tc_err("%s", err);
		tc_tracer_stop(&t);
		return 1;
	}
	json_object_put(h);
	rb = tc_tracer_events(&t, on_event, &rc);
	if (!rb || tc_drop_attached(&t, o, TC_NEED_SURVEY, err, sizeof(err))) {
		tc_err("%s", rb ? err : "cannot open the ring buffer");
		ret = 1;
		goto out;
	}
	start = tc_now_s();
	fprintf(stderr, "tcpclose: tracing TCP closes with %s; recording to %s; Ctrl-C to stop\n",
		t.state_hook, o->output);
	while (!tc_stop && !rc.err) {
		if (o->duration_s > 0 && tc_now_s() - start >= o->duration_s)
			break;
		if (ring_buffer__poll(rb, 100) < 0 && !tc_stop)
			break;
		if (ring_buffer__consume(rb) < 0)
			break;
	}
	/* The closes the kernel skipped are found while attached (sweep.h);
	 * once detached, every socket closing would look like one. */
	tc_model_init(&m);
	if (tc_sample(&t, o->netns_path, tc_now_s() - start, &m)) {
		ret = 1;
		goto out_model;
	}
	tc_model_free(&m);
	/* Stop the world: from here the maps and the stream agree. */
	tc_tracer_detach(&t);
	ring_buffer__consume(rb);
	tc_model_init(&m);
	if (rc.err || tc_collect(&t, &m) || tc_pending_kills(&t, kill_frame, &rc)) {
		tc_err("%s", rc.err ? "cannot write the recording" : "reading the BPF maps failed");
		ret = 1;
		goto out_model;
	}
	m.duration_s = tc_now_s() - start;
	if (tc_survey_raw(&t, o->netns_path, &m, false, &raw, &nraw)) {
		tc_err("out of memory");
		ret = 1;
		goto out_model;
	}
	for (size_t i = 0; i < nraw; i++) {
		if (!rc.err && tc_rec_ports(&rc.w, raw[i].ino, raw[i].recs, raw[i].nrecs))
			rc.err = -1;
		free(raw[i].recs);
	}
	free(raw);
	if (rc.err || tc_rec_finish(&rc.w, &m)) {
		tc_err("cannot write %s: %s", o->output, strerror(errno));
		ret = 1;
		goto out_model;
	}
	fprintf(stderr, "tcpclose: recorded %llu closes and %llu timewait events to %s (%llu lost)\n",
		(unsigned long long)rc.closes, (unsigned long long)rc.tw, o->output,
		(unsigned long long)m.health.events_lost);
	if (o->json ? tc_render_json(stdout, &m) : (tc_render_text(stdout, &m, o->top), 0))
		ret = 1;
out_model:
	tc_model_free(&m);
out:
	if (rc.w.f)
		fclose(rc.w.f);
	ring_buffer__free(rb);
	tc_tracer_stop(&t);
	return ret;
}
