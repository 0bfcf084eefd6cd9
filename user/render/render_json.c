// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The JSON contract (README "JSON contract"): names are stable, fields may be
 * added. json-c does the escaping; comm bytes are made valid UTF-8 first.
 */
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "names.h"
#include "container.h"
#include "closestate.h"
#include "render.h"
#include "utf8.h"

/* JSON has no nan or inf: a value that is not finite (a rate over a
 * duration too small to divide by) is null, as one not measured is. */
static json_object *jdouble(double v, int prec)
{
	char buf[64];

	if (!isfinite(v))
		return NULL;
	snprintf(buf, sizeof(buf), "%.*f", prec, v);
	return json_object_new_double_s(v, buf);
}

static json_object *jstr_comm(const char *comm)
{
	char buf[TC_COMM_LEN * 3 + 1];

	tc_utf8_sanitize(buf, comm, TC_COMM_LEN);
	return json_object_new_string(buf);
}

/* Any string as valid UTF-8 (a cgroup path from a recording is any bytes). */
static json_object *jstr_utf8(const char *s)
{
	size_t len = strlen(s);
	char *buf = malloc(3 * len + 1);
	json_object *o;

	if (!buf)
		return NULL;
	tc_utf8_sanitize(buf, s, len);
	o = json_object_new_string(buf);
	free(buf);
	return o;
}

static json_object *jaddr(int family, const __u8 *addr)
{
	char buf[64];

	return json_object_new_string(tc_addr_str(family, addr, buf, sizeof(buf)));
}

#define ADD(o, k, v) json_object_object_add(o, k, v)
#define U64(v) json_object_new_uint64(v)
/* A number only where this kernel/mode observes it: never a false zero. */
#define OPT(ok, v) ((ok) ? (v) : NULL)

static json_object *close_obj(const struct tc_counts *c)
{
	json_object *o = json_object_new_object();

	for (int k = 0; k < TC_CK_MAX; k++)
		ADD(o, tc_kind_name(k), U64(c->kind[k]));
	return o;
}

/* Abortive closes by cause, [from, to): resets sent, timeouts, resets
 * received. Unknown (a recording made before causes were told): null; the
 * causes a reset after the close tells, where its hook is missing, and
 * FIN_WAIT2 timeouts without the timewait hooks: each null. */
static json_object *cause_obj(const struct tc_counts *c, const struct tc_model *m, int from,
			      int to)
{
	json_object *o;

	if (!m->causes)
		return NULL;
	o = json_object_new_object();
	for (int i = from; i < to; i++) {
		bool after = i >= TC_CAUSE_FIRST_AFTER && i < TC_CAUSE_FIRST_AFTER + TC_CAUSE_N_AFTER;

		ADD(o, tc_cause_name(i), OPT(after ? m->pend_hook != NULL : i == TC_CAUSE_FIN_WAIT2 ?
					     m->fin_timeouts : 1, U64(c->cause[i])));
	}
	return o;
}

static const char *const tw_end_names[TC_TWE_MAX] = {
	[TC_TWE_EXPIRED] = "expired", [TC_TWE_REUSED] = "reused",
	[TC_TWE_SYN_RECYCLED] = "syn_recycled", [TC_TWE_KILLED] = "killed",
};


/* "container": what the cgroup path says (container.h), null when nothing. */
static json_object *container_obj(const char *cgroup)
{
	struct tc_container c;
	json_object *o;

	if (!tc_container_parse(cgroup, &c))
		return NULL;
	o = json_object_new_object();
	ADD(o, "id", c.id[0] ? json_object_new_string(c.id) : NULL);
	ADD(o, "runtime", c.runtime ? json_object_new_string(c.runtime) : NULL);
	ADD(o, "pod_uid", c.pod_uid[0] ? json_object_new_string(c.pod_uid) : NULL);
	ADD(o, "qos_class", c.qos ? json_object_new_string(c.qos) : NULL);
	return o;
}

static json_object *jquant(const struct tc_twcounts *t, double q)
{
	double v = tc_hist_quantile(t->hist, TC_TW_HIST, q, tc_tw_min(t), t->dur_max_ms);

	return v < 0 ? NULL : jdouble(v, 1);
}

static json_object *time_wait_obj(const struct tc_twcounts *t, const struct tc_model *m)
{
	json_object *o = json_object_new_object(), *ended = NULL, *dur = NULL;
	bool ends = m->tw_hook != NULL;

	if (ends) {
		json_object *hist = json_object_new_array();

		ended = json_object_new_object();
		for (int i = 0; i < TC_TWE_MAX; i++)
			ADD(ended, tw_end_names[i], U64(t->ended[i]));
		dur = json_object_new_object();
		ADD(dur, "count", U64(t->dur_count));
		ADD(dur, "sum", U64(t->dur_sum_ms));
		ADD(dur, "p50", jquant(t, 0.50));
		ADD(dur, "p99", jquant(t, 0.99));
		ADD(dur, "max", t->dur_count ? jdouble((double)t->dur_max_ms, 1) : NULL);
		for (int i = 0; i < TC_TW_HIST; i++)
			json_object_array_add(hist, U64(t->hist[i]));
		ADD(dur, "hist", hist);
	}
	ADD(o, "entered", U64(t->entered));
	ADD(o, "fin_wait2", U64(t->fin_wait2));
	ADD(o, "ended", ended);
	/* Without a timewait hook an overflowed socket cannot be told from one
	 * that entered (on 6.18 both read unhashed at ->CLOSE): unknown. */
	ADD(o, "overflow", OPT(ends, U64(t->overflow)));
	ADD(o, "preexisting", OPT(m->tw_snapshot, U64(t->preexisting)));
	ADD(o, "active", OPT(ends && m->tw_snapshot, json_object_new_int64(tc_tw_active(t))));
	ADD(o, "duration_ms", dur);
	return o;
}

/* Timeouts of established connections: how long the peer had been silent
 * when the kernel gave up (whole seconds each). null where the kernel's HZ
 * was unknown (no config file) or a recording predates them; max null for
 * none, and for the evicted rows' share (a maximum does not subtract). */
static json_object *idle_obj(const struct tc_counts *c, const struct tc_model *m)
{
	json_object *o;

	if (!m->idle)
		return NULL;
	o = json_object_new_object();
	ADD(o, "count", U64(c->idle_count));
	ADD(o, "sum", U64(c->idle_sum_s));
	/* max 0 beside a sum: the evicted rows' share (tc_model_other) */
	ADD(o, "max", c->idle_count && (c->idle_max_s || !c->idle_sum_s) ? U64(c->idle_max_s) : NULL);
	return o;
}

/* The fields every level shares. */
static void add_counts(json_object *o, const struct tc_counts *c, const struct tc_model *m)
{
	json_object *conn = json_object_new_object();

	ADD(o, "closed", U64(c->closed));
	ADD(o, "close", close_obj(c));
	ADD(o, "bytes_in", U64(c->bytes_in));
	ADD(o, "bytes_out", U64(c->bytes_out));
	ADD(o, "segs_in", U64(c->segs_in));
	ADD(o, "segs_out", U64(c->segs_out));
	ADD(o, "one_exchange", U64(c->one_exchange));
	ADD(o, "fin_then_reset", U64(c->fin_then_reset));
	ADD(o, "fin_by_shutdown", OPT(m->fin_by, U64(c->fin_shutdown)));
	ADD(o, "reset_cause", cause_obj(c, m, TC_CAUSE_UNREAD_DATA, TC_CAUSE_FIRST_TIMEOUT));
	ADD(o, "timeout_cause", cause_obj(c, m, TC_CAUSE_FIRST_TIMEOUT, TC_CAUSE_FIRST_RECEIVED));
	ADD(o, "reset_received_in", cause_obj(c, m, TC_CAUSE_FIRST_RECEIVED, TC_CAUSE_MAX));
	ADD(o, "timeout_idle_s", idle_obj(c, m));
	ADD(o, "timewait", U64(c->timewait));
	ADD(o, "avg_lifetime_ms", jdouble(tc_counts_avg_lifetime_ms(c), 3));
	ADD(o, "time_wait", time_wait_obj(&c->tw, m));
	ADD(conn, "attempts", U64(c->conn.attempts));
	ADD(conn, "tw_reuse_hits", OPT(m->tw_hook, U64(c->tw.reuse_hits)));
	ADD(conn, "port_retries", OPT(m->port_hook, U64(c->conn.port_retries)));
	ADD(conn, "tw_reuse_refused", OPT(m->port_hook, U64(c->conn.reuse_refused)));
	if (m->port_hook) {
		json_object *hist = json_object_new_array();

		for (int i = 0; i < TC_RETRY_HIST; i++)
			json_object_array_add(hist, U64(c->conn.retry_hist[i]));
		ADD(conn, "retries_hist", hist);
	} else {
		ADD(conn, "retries_hist", NULL);
	}
	ADD(conn, "eaddrnotavail", U64(c->conn.port_exhausted + c->conn.bind_conflict));
	ADD(conn, "port_exhausted", U64(c->conn.port_exhausted));
	ADD(conn, "bind_conflict", U64(c->conn.bind_conflict));
	ADD(conn, "other_failed", U64(c->conn.other_failed));
	ADD(o, "connect", conn);
}

static void add_proc(json_object *o, const struct tc_proc_key *k)
{
	ADD(o, "pid", json_object_new_int64(k->tgid));
	ADD(o, "comm", jstr_comm(k->comm));
	ADD(o, "cgroup_id", U64(k->cgroup_id));
}

/* The closes of rows the kernel evicted (totals minus the rows), one row each
 * for the process and the peer tables: nothing is lost, only folded. */
static json_object *other_obj(const struct tc_model *m)
{
	json_object *o = json_object_new_object();
	struct tc_counts c;

	for (int peers = 0; peers <= 1; peers++) {
		json_object *r = json_object_new_object();

		ADD(r, "rows_evicted", U64(peers ? m->health.peers_evicted : m->health.procs_evicted));
		tc_model_other(m, peers, &c);
		add_counts(r, &c, m);
		ADD(o, peers ? "peers" : "processes", r);
	}
	return o;
}

static json_object *tracer_obj(const struct tc_model *m)
{
	const struct tc_health *h = &m->health;
	json_object *o = json_object_new_object(), *ev = json_object_new_object();

	ADD(o, "sockets_followed", U64(h->stat[TC_STAT_SOCK_INSERTS]));
	ADD(o, "sockets_open", U64(h->socks_live));
	ADD(o, "untracked", U64(h->stat[TC_STAT_SOCK_UNTRACKED]));
	ADD(o, "owner_from_accept", U64(h->stat[TC_STAT_OWNER_ACCEPT]));
	ADD(o, "owner_missing", U64(h->stat[TC_STAT_OWNER_MISSING]));
	ADD(o, "filtered", U64(h->stat[TC_STAT_FILTERED]));
	/* a socket refused a slot is in evicted.sockets */
	ADD(o, "insert_failed", U64(h->stat[TC_STAT_AGG_FAIL] + h->stat[TC_STAT_TW_INSERT_FAIL]));
	ADD(o, "timewait_unknown", U64(h->stat[TC_STAT_TW_UNKNOWN]));
	/* closes a reset may follow, charged at once as they looked
	 * (pending.bpf.c): the table was full */
	ADD(o, "pending_full", U64(h->stat[TC_STAT_PEND_FULL]));
	ADD(ev, "sockets", U64(h->socks_evicted));
	ADD(ev, "processes", U64(h->procs_evicted));
	ADD(ev, "peers", U64(h->peers_evicted));
	ADD(ev, "timewait", U64(h->tws_evicted));
	ADD(o, "evicted", ev);
	ADD(o, "events_lost", U64(h->events_lost));
	ADD(o, "missed_runs", U64(h->missed_runs));
	ADD(o, "closes_unseen", U64(h->closes_unseen));
	{
		json_object *mem = json_object_new_object();

		ADD(mem, "rss_max_kib", U64(h->rss_max_kib));
		ADD(mem, "maps_kib", U64(h->maps_kib));
		ADD(o, "memory", mem);
	}
	/* null without --prog-stats: the kernel counts nothing then */
	if (m->prog_stats) {
		json_object *progs = json_object_new_array();

		for (int i = 0; i < m->nprogs; i++) {
			json_object *p = json_object_new_object();

			ADD(p, "name", jstr_utf8(m->progs[i].name));
			ADD(p, "runs", U64(m->progs[i].runs));
			ADD(p, "run_ns", U64(m->progs[i].run_ns));
			json_object_array_add(progs, p);
		}
		ADD(o, "programs", progs);
	} else {
		ADD(o, "programs", NULL);
	}
	return o;
}

/* A client row's port budget; null where its netns could not be surveyed. */
static json_object *ports_obj(const struct tc_ports *p)
{
	json_object *o;

	if (!p->known)
		return NULL;
	o = json_object_new_object();
	ADD(o, "range", U64(p->range));
	ADD(o, "in_use", U64(p->in_use));
	ADD(o, "time_wait", U64(p->time_wait));
	ADD(o, "utilisation", jdouble(p->utilisation, 4));
	ADD(o, "rate_per_s", jdouble(p->rate, 2));
	ADD(o, "time_wait_len_s", jdouble(p->tw_len_s, 1));
	ADD(o, "exhaustion_s", p->exhaustion_s < 0 ? NULL : jdouble(p->exhaustion_s, 1));
	return o;
}

static json_object *jint_or_null(int v)
{
	return v < 0 ? NULL : json_object_new_int(v);
}

static json_object *netns_arr(const struct tc_model *m)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < m->nnetns; i++) {
		const struct tc_netns_info *n = &m->netns[i];
		json_object *o = json_object_new_object();

		ADD(o, "netns", U64(n->ino));
		ADD(o, "surveyed", json_object_new_boolean(n->found));
		if (n->found) {
			json_object *range = json_object_new_array();

			json_object_array_add(range, U64(n->port_lo));
			json_object_array_add(range, U64(n->port_hi));
			ADD(o, "ip_local_port_range", range);
			ADD(o, "usable_ports", U64(n->usable));
			ADD(o, "tcp_tw_reuse", jint_or_null(n->tw_reuse));
			ADD(o, "tcp_max_tw_buckets", jint_or_null(n->max_tw_buckets));
			ADD(o, "tcp_fin_timeout", jint_or_null(n->fin_timeout));
			ADD(o, "time_wait_now", U64(n->time_wait));
			ADD(o, "tw_overflow_kernel", n->tw_overflow_mib < 0 ? NULL :
			    json_object_new_int64(n->tw_overflow_mib));
		}
		json_object_array_add(a, o);
	}
	return a;
}

/*
 * Resets we sent for no socket of ours, which have no process: by reason
 * (exact), by local port and sender (rows; what an evicted row held is in
 * "other"). Null where not counted (before 6.10, a process filter).
 */
static json_object *nosock_obj(const struct tc_model *m)
{
	json_object *o, *a;

	if (!m->reset_hook)
		return NULL;
	o = json_object_new_object();
	a = json_object_new_array();
	for (int r = 0; r < TC_NR_MAX; r++)
		ADD(o, tc_nosock_reason_name(r), U64(m->nosock_total[r]));
	for (size_t i = 0; i < m->nnosocks; i++) {
		const struct tc_nosock_row *n = &m->nosocks[i];
		json_object *r = json_object_new_object();

		ADD(r, "netns", U64(n->key.netns));
		ADD(r, "family", json_object_new_string(n->key.family == AF_INET6 ? "ipv6" : "ipv4"));
		ADD(r, "local_port", json_object_new_int(n->key.lport));
		ADD(r, "remote_addr", jaddr(n->key.family, n->key.raddr));
		ADD(r, "reason", json_object_new_string(tc_nosock_reason_name(n->key.reason)));
		ADD(r, "resets", U64(n->resets));
		json_object_array_add(a, r);
	}
	ADD(o, "rows", a);
	ADD(o, "other", U64(tc_model_nosock_other(m)));
	return o;
}

int tc_render_json(FILE *f, const struct tc_model *m)
{
	json_object *head = json_object_new_object(), *hooks = json_object_new_object();
	json_object *totals = json_object_new_object(), *tail = json_object_new_object();
	const int fl = JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE;
	const char *txt;
	int bad = 0;

	/*
	 * Streamed: the rows are built, printed and freed one at a time, so a
	 * report of 200k peers costs one row of memory, not gigabytes of json-c
	 * objects. The bytes are those of one json-c object printed whole.
	 */
	ADD(head, "version", json_object_new_int(TC_JSON_VERSION));
	/* names a recording gave (it checked them): valid UTF-8 all the same */
	ADD(head, "attach", jstr_utf8(m->attach ? m->attach : "none"));
	ADD(hooks, "state", m->state_hook ? jstr_utf8(m->state_hook) : NULL);
	ADD(hooks, "owner", m->owner_hook ? jstr_utf8(m->owner_hook) : NULL);
	ADD(hooks, "time_wait", m->tw_hook ? jstr_utf8(m->tw_hook) : NULL);
	ADD(hooks, "port_search", m->port_hook ? jstr_utf8(m->port_hook) : NULL);
	ADD(hooks, "reset", m->reset_hook ? jstr_utf8(m->reset_hook) : NULL);
	ADD(hooks, "own_reset", m->pend_hook ? jstr_utf8(m->pend_hook) : NULL);
	ADD(head, "hooks", hooks);
	ADD(head, "duration_s", jdouble(m->duration_s, 3));
	add_counts(totals, &m->totals, m);
	ADD(head, "totals", totals);
	txt = json_object_to_json_string_ext(head, fl);
	bad |= fprintf(f, "%.*s,\"processes\":[", (int)strlen(txt) - 1, txt) < 0;
	json_object_put(head);

	for (size_t i = 0; i < m->nprocs && !bad; i++) {
		json_object *o = json_object_new_object();

		add_proc(o, &m->procs[i].key);
		ADD(o, "cgroup", m->procs[i].cgroup ? jstr_utf8(m->procs[i].cgroup) : NULL);
		ADD(o, "container", container_obj(m->procs[i].cgroup));
		add_counts(o, &m->procs[i].c, m);
		bad |= fprintf(f, "%s%s", i ? "," : "", json_object_to_json_string_ext(o, fl)) < 0;
		json_object_put(o);
	}
	bad |= fputs("],\"peers\":[", f) < 0;

	for (size_t i = 0; i < m->npeers && !bad; i++) {
		const struct tc_peer_key *k = &m->peers[i].key;
		json_object *o = json_object_new_object();

		add_proc(o, &k->proc);
		ADD(o, "netns", U64(k->netns));
		ADD(o, "role", json_object_new_string(tc_role_name(k->role)));
		ADD(o, "family", json_object_new_string(k->tuple.family == AF_INET6 ? "ipv6" : "ipv4"));
		ADD(o, "local_addr", jaddr(k->tuple.family, k->tuple.laddr));
		ADD(o, "local_port", json_object_new_int(k->tuple.lport));
		ADD(o, "remote_addr", jaddr(k->tuple.family, k->tuple.raddr));
		ADD(o, "remote_port", json_object_new_int(k->tuple.rport));
		add_counts(o, &m->peers[i].c, m);
		if (k->role == TC_ROLE_CLIENT)
			ADD(o, "ports", ports_obj(&m->peers[i].ports));
		bad |= fprintf(f, "%s%s", i ? "," : "", json_object_to_json_string_ext(o, fl)) < 0;
		json_object_put(o);
	}

	ADD(tail, "other", other_obj(m));
	ADD(tail, "resets_no_socket", nosock_obj(m));
	ADD(tail, "netns", netns_arr(m));
	ADD(tail, "tracer", tracer_obj(m));
	txt = json_object_to_json_string_ext(tail, fl);
	bad |= fprintf(f, "],%s\n", txt + 1) < 0;
	json_object_put(tail);
	fflush(f);
	return bad ? -1 : 0;
}

int tc_event_json(FILE *f, const struct tc_event *e, double ts_s, bool idle)
{
	json_object *o = json_object_new_object();
	char path[TC_PATH_MAX * 16];
	int ret;

	ADD(o, "ts_s", jdouble(ts_s, 6));
	ADD(o, "pid", json_object_new_int64(e->owner.tgid));
	ADD(o, "comm", jstr_comm(e->owner.comm));
	ADD(o, "thread", jstr_comm(e->owner.thread));
	ADD(o, "cgroup_id", U64(e->owner.cgroup_id));
	ADD(o, "netns", U64(e->netns));
	ADD(o, "role", json_object_new_string(tc_role_name(e->role)));
	ADD(o, "family", json_object_new_string(e->tuple.family == AF_INET6 ? "ipv6" : "ipv4"));
	ADD(o, "local_addr", jaddr(e->tuple.family, e->tuple.laddr));
	ADD(o, "local_port", json_object_new_int(e->tuple.lport));
	ADD(o, "remote_addr", jaddr(e->tuple.family, e->tuple.raddr));
	ADD(o, "remote_port", json_object_new_int(e->tuple.rport));
	ADD(o, "close", json_object_new_string(tc_kind_name(e->kind)));
	ADD(o, "lifetime_ms", jdouble((double)e->lifetime_ns / 1e6, 3));
	ADD(o, "bytes_in", U64(e->bytes_in));
	ADD(o, "bytes_out", U64(e->bytes_out));
	ADD(o, "segs_in", U64(e->segs_in));
	ADD(o, "segs_out", U64(e->segs_out));
	ADD(o, "path", json_object_new_string(tc_path_str(e->path, e->path_len, path, sizeof(path))));
	ADD(o, "cause", tc_event_cause(e->cause) ? json_object_new_string(tc_event_cause(e->cause)) :
						   NULL);
	/* a timeout of a connection that was up: how long the peer had been silent */
	ADD(o, "idle_s", idle && tc_idle_wanted(e->cause, e->oldstate) ? U64(e->idle_s) : NULL);
	ADD(o, "error", e->err ? json_object_new_string(strerrorname_np(e->err) ?: "?") : NULL);
	ADD(o, "timewait", json_object_new_boolean(!!(e->flags & TC_SF_TIMEWAIT)));
	ADD(o, "untracked", json_object_new_boolean(!!(e->flags & TC_SF_UNTRACKED)));
	ADD(o, "owner_known", json_object_new_boolean(!!(e->flags & TC_SF_OWNER)));
	ret = fprintf(f, "%s\n", json_object_to_json_string_ext(o,
		JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)) < 0 ? -1 : 0;
	json_object_put(o);
	return ret;
}
