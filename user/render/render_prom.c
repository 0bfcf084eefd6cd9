// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "names.h"
#include "container.h"
#include "render_prom.h"
#include "utf8.h"

void tc_prom_init(struct tc_prom *st, unsigned top, const char *version)
{
	memset(st, 0, sizeof(*st));
	st->top = top;
	st->version = version;
}

void tc_prom_free(struct tc_prom *st)
{
	free(st->procs);
	free(st->peers);
	free(st->proc_base);
	free(st->peer_base);
	st->procs = NULL;
	st->peers = NULL;
	st->proc_base = st->peer_base = NULL;
	st->nprocs = st->npeers = 0;
}

/* Label values: made valid UTF-8 (a comm is any bytes a process chose, a
 * cgroup any directory name; the exposition says charset=utf-8 and one
 * invalid byte fails the whole scrape), then backslash, double quote and
 * newline are escaped. */
static void esc(FILE *f, const char *raw)
{
	char small[3 * 64 + 1], *buf = small;
	size_t len = strlen(raw);
	const char *s;

	if (3 * len + 1 > sizeof(small) && !(buf = malloc(3 * len + 1))) {
		fputs("?", f);	/* out of memory: a valid placeholder */
		return;
	}
	tc_utf8_sanitize(buf, raw, len);
	for (s = buf; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f), fputc(*s, f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
	if (buf != small)
		free(buf);
}

static void head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static __u64 sub0(__u64 a, __u64 b)
{
	return a > b ? a - b : 0;
}

/* ---- which series are shown -------------------------------------------- */

static struct tc_prom_peer peer_label(const struct tc_peer_key *k)
{
	struct tc_prom_peer p;

	memset(&p, 0, sizeof(p));
	p.netns = k->netns;
	p.role = k->role;
	p.family = k->tuple.family;
	p.port = k->role == TC_ROLE_SERVER ? k->tuple.lport : k->tuple.rport;
	memcpy(p.laddr, k->tuple.laddr, TC_ADDR_LEN);
	memcpy(p.raddr, k->tuple.raddr, TC_ADDR_LEN);
	return p;
}

struct peer_group {
	struct tc_prom_peer key;
	struct tc_counts c;
	struct tc_ports ports;
	int chosen;		/* 1 + its index in the chosen series, 0 not chosen */
};

struct proc_ref {
	const struct tc_proc_row *row;
	int chosen;		/* likewise */
};

static int cmp_group_key(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct tc_prom_peer));
}

static int cmp_group_busy(const void *pa, const void *pb)
{
	const struct peer_group *a = *(struct peer_group *const *)pa;
	const struct peer_group *b = *(struct peer_group *const *)pb;

	if (a->c.closed != b->c.closed)
		return a->c.closed < b->c.closed ? 1 : -1;
	return memcmp(&a->key, &b->key, sizeof(a->key));
}

static int cmp_proc_key(const void *a, const void *b)
{
	return memcmp(&((const struct proc_ref *)a)->row->key,
		      &((const struct proc_ref *)b)->row->key, sizeof(struct tc_proc_key));
}

static int cmp_proc_busy(const void *pa, const void *pb)
{
	const struct proc_ref *a = *(struct proc_ref *const *)pa;
	const struct proc_ref *b = *(struct proc_ref *const *)pb;

	if (a->row->c.closed != b->row->c.closed)
		return a->row->c.closed < b->row->c.closed ? 1 : -1;
	return memcmp(&a->row->key, &b->row->key, sizeof(a->row->key));
}

/* Rows of m merged by label set, sorted by key. */
static struct peer_group *group_peers(const struct tc_model *m, size_t *n)
{
	struct peer_group *g = calloc(m->npeers ? m->npeers : 1, sizeof(*g));
	size_t ng = 0;

	*n = 0;
	if (!g)
		return NULL;
	for (size_t i = 0; i < m->npeers; i++) {
		g[i].key = peer_label(&m->peers[i].key);
		g[i].c = m->peers[i].c;
		g[i].ports = m->peers[i].ports;
	}
	qsort(g, m->npeers, sizeof(*g), cmp_group_key);
	for (size_t i = 0; i < m->npeers; i++) {
		if (ng && !cmp_group_key(&g[ng - 1].key, &g[i].key)) {
			tc_counts_add(&g[ng - 1].c, &g[i].c);
			if (!g[ng - 1].ports.known)
				g[ng - 1].ports = g[i].ports;
			continue;
		}
		if (ng != i)
			g[ng] = g[i];
		ng++;
	}
	*n = ng;
	return g;
}

/* The counters "other" exposes, as pointers into a tc_counts. */
#define OTHER_FIELDS(c) \
	&(c)->closed, &(c)->kind[0], &(c)->kind[1], &(c)->kind[2], &(c)->kind[3], \
	&(c)->kind[4], &(c)->kind[5], &(c)->kind[6], &(c)->kind[7], &(c)->tw.entered, \
	&(c)->tw.reuse_hits, &(c)->tw.ended[0], &(c)->tw.ended[1], &(c)->tw.ended[2], \
	&(c)->tw.ended[3], &(c)->conn.attempts, &(c)->conn.port_exhausted, \
	&(c)->conn.bind_conflict, &(c)->conn.other_failed, &(c)->one_exchange, \
	&(c)->cause[1], &(c)->cause[2], &(c)->cause[3], &(c)->cause[4], &(c)->cause[5], \
	&(c)->cause[6], &(c)->cause[7], &(c)->cause[8], &(c)->cause[9], &(c)->cause[10], \
	&(c)->cause[11], &(c)->cause[12], &(c)->cause[13], &(c)->cause[14], &(c)->cause[15], \
	&(c)->cause[16], &(c)->cause[17], &(c)->cause[18], &(c)->cause[19], \
	&(c)->fin_shutdown, &(c)->idle_count, &(c)->idle_sum_s
_Static_assert(TC_CK_MAX == 8 && TC_TWE_MAX == 4 && TC_CAUSE_MAX == 20,
	       "OTHER_FIELDS lists every kind, end and cause");
#define NOTHER ((size_t)42)

/*
 * A series chosen after an exposition starts from what "other" exposed of
 * it: its counts then, as far as the "other" last exposed (*left, used up
 * series by series) can hold them. Those stay in "other", so that neither
 * "other" nor the new series ever goes down.
 */
static void take_base(struct tc_counts *base, const struct tc_counts *c, struct tc_counts *left)
{
	__u64 *b[] = { OTHER_FIELDS(base) }, *l[] = { OTHER_FIELDS(left) };
	const __u64 *v[] = { OTHER_FIELDS(c) };

	_Static_assert(sizeof(b) / sizeof(b[0]) == NOTHER, "NOTHER");
	memset(base, 0, sizeof(*base));
	for (size_t f = 0; f < NOTHER; f++) {
		*b[f] = *v[f] < *l[f] ? *v[f] : *l[f];
		*l[f] -= *b[f];
	}
}

/* Keep the series chosen before while their rows live; fill up to top with
 * the busiest of the rest. */
static int choose_peers(struct tc_prom *st, struct peer_group *g, size_t ng)
{
	struct tc_prom_peer *keep = malloc((st->top ? st->top : 1) * sizeof(*keep));
	struct tc_counts *base = calloc(st->top ? st->top : 1, sizeof(*base));
	struct tc_counts left = st->other_last[1];
	struct peer_group **busy;
	size_t nkeep = 0;

	if (!keep || !base)
		goto fail;
	for (size_t i = 0; i < st->npeers && nkeep < st->top; i++) {
		struct peer_group *hit = bsearch(&st->peers[i], g, ng, sizeof(*g), cmp_group_key);

		if (hit && !hit->chosen) {
			base[nkeep] = st->peer_base[i];
			keep[nkeep++] = hit->key;
			hit->chosen = (int)nkeep;
		}
	}
	busy = malloc((ng ? ng : 1) * sizeof(*busy));
	if (!busy)
		goto fail;
	for (size_t i = 0; i < ng; i++)
		busy[i] = &g[i];
	qsort(busy, ng, sizeof(*busy), cmp_group_busy);
	for (size_t i = 0; i < ng && nkeep < st->top; i++) {
		if (busy[i]->chosen || !busy[i]->c.closed)
			continue;
		take_base(&base[nkeep], &busy[i]->c, &left);
		keep[nkeep++] = busy[i]->key;
		busy[i]->chosen = (int)nkeep;
	}
	free(busy);
	free(st->peers);
	free(st->peer_base);
	st->peers = keep;
	st->peer_base = base;
	st->npeers = nkeep;
	return 0;
fail:
	free(keep);
	free(base);
	return -1;
}

static struct proc_ref *choose_procs(struct tc_prom *st, const struct tc_model *m)
{
	struct proc_ref *r = calloc(m->nprocs ? m->nprocs : 1, sizeof(*r));
	struct tc_proc_key *keep = malloc((st->top ? st->top : 1) * sizeof(*keep));
	struct tc_counts *base = calloc(st->top ? st->top : 1, sizeof(*base));
	struct tc_counts left = st->other_last[0];
	struct proc_ref **busy = malloc((m->nprocs ? m->nprocs : 1) * sizeof(*busy));
	size_t nkeep = 0;

	if (!r || !keep || !busy || !base) {
		free(r);
		free(keep);
		free(base);
		free(busy);
		return NULL;
	}
	for (size_t i = 0; i < m->nprocs; i++)
		r[i].row = &m->procs[i];
	qsort(r, m->nprocs, sizeof(*r), cmp_proc_key);
	for (size_t i = 0; i < st->nprocs && nkeep < st->top; i++) {
		struct tc_proc_row probe = { .key = st->procs[i] };
		struct proc_ref pr = { .row = &probe }, *hit;

		hit = bsearch(&pr, r, m->nprocs, sizeof(*r), cmp_proc_key);
		if (hit && !hit->chosen) {
			base[nkeep] = st->proc_base[i];
			keep[nkeep++] = hit->row->key;
			hit->chosen = (int)nkeep;
		}
	}
	for (size_t i = 0; i < m->nprocs; i++)
		busy[i] = &r[i];
	qsort(busy, m->nprocs, sizeof(*busy), cmp_proc_busy);
	for (size_t i = 0; i < m->nprocs && nkeep < st->top; i++) {
		if (busy[i]->chosen || !busy[i]->row->c.closed)
			continue;
		take_base(&base[nkeep], &busy[i]->row->c, &left);
		keep[nkeep++] = busy[i]->row->key;
		busy[i]->chosen = (int)nkeep;
	}
	free(busy);
	free(st->procs);
	free(st->proc_base);
	st->procs = keep;
	st->proc_base = base;
	st->nprocs = nkeep;
	return r;
}

/* ---- label sets -------------------------------------------------------- */

/* labels_fn: row is a struct tc_proc_row, NULL for "other". */
static void proc_labels(FILE *f, const void *row)
{
	const struct tc_proc_row *r = row;
	char comm[TC_COMM_LEN + 1];
	struct tc_container c;

	if (!r) {
		fputs("comm=\"other\",pid=\"\",cgroup=\"\"", f);
		return;
	}
	memcpy(comm, r->key.comm, TC_COMM_LEN);
	comm[TC_COMM_LEN] = '\0';
	fputs("comm=\"", f);
	esc(f, comm);
	fprintf(f, "\",pid=\"%" PRIu32 "\",cgroup=\"", r->key.tgid);
	if (r->cgroup)
		esc(f, r->cgroup);
	else
		fprintf(f, "%" PRIu64, (uint64_t)r->key.cgroup_id);
	fputc('"', f);
	/* what the path says (container.h); one value per cgroup label value,
	 * so no series more; left out when there is none */
	if (tc_container_parse(r->cgroup, &c)) {
		if (c.id[0])
			fprintf(f, ",container_id=\"%s\"", c.id);
		if (c.pod_uid[0])
			fprintf(f, ",pod_uid=\"%s\",qos_class=\"%s\"", c.pod_uid, c.qos);
	}
}

/* labels_fn: row is a struct tc_prom_peer, NULL for "other". */
static void peer_labels(FILE *f, const void *row)
{
	const struct tc_prom_peer *p = row;
	char l[80], r[80];

	if (!p) {
		fputs("role=\"other\",netns=\"\",local=\"\",remote=\"other\"", f);
		return;
	}
	if (p->role == TC_ROLE_SERVER) {
		tc_endpoint_str(p->family, p->laddr, p->port, l, sizeof(l));
		tc_addr_str(p->family, p->raddr, r, sizeof(r));
	} else {
		tc_addr_str(p->family, p->laddr, l, sizeof(l));
		tc_endpoint_str(p->family, p->raddr, p->port, r, sizeof(r));
	}
	fprintf(f, "role=\"%s\",netns=\"%" PRIu32 "\",local=\"", tc_role_name(p->role), p->netns);
	esc(f, l);
	fputs("\",remote=\"", f);
	esc(f, r);
	fputc('"', f);
}

/* ---- one family of series: totals, processes or peers ------------------ */

static const char *const kind_label[TC_CK_MAX] = {
	"local_first", "remote_first", "simultaneous", "reset_sent", "reset_received",
	"never_established", "timeout", "unseen",
};
static const char *const end_label[TC_TWE_MAX] = { "expired", "reused", "syn_recycled", "killed" };
static const char *const fail_label[] = { "port_exhausted", "bind_conflict", "other" };

typedef void (*labels_fn)(FILE *f, const void *row);

/* A series' counts and how to print its labels; row NULL: "other". */
struct series {
	const struct tc_counts *c;
	const void *row;
	const struct tc_counts *base;	/* its counts when chosen (fold_other) */
};

static void lab(FILE *f, labels_fn fn, const void *row, const char *extra)
{
	if (!fn && !extra)
		return;
	fputc('{', f);
	if (fn)
		fn(f, row);
	if (extra)
		fprintf(f, "%s%s", fn ? "," : "", extra);
	fputc('}', f);
}

static __u64 fails(const struct tc_conncounts *c, int i)
{
	return i == 0 ? c->port_exhausted : i == 1 ? c->bind_conflict : c->other_failed;
}

typedef __u64 (*get_fn)(const struct tc_counts *c, int j);

static __u64 get_kind(const struct tc_counts *c, int j) { return c->kind[j]; }
static __u64 get_reset_cause(const struct tc_counts *c, int j)
{
	return c->cause[TC_CAUSE_UNREAD_DATA + j];
}
static __u64 get_timeout_cause(const struct tc_counts *c, int j)
{
	return c->cause[TC_CAUSE_FIRST_TIMEOUT + j];
}
static __u64 get_received(const struct tc_counts *c, int j)
{
	return c->cause[TC_CAUSE_FIRST_RECEIVED + j];
}
static __u64 get_one_exchange(const struct tc_counts *c, int j) { return c->one_exchange; }
static __u64 get_fin_shutdown(const struct tc_counts *c, int j) { return c->fin_shutdown; }
static __u64 get_idle_count(const struct tc_counts *c, int j) { return c->idle_count; }
static __u64 get_idle_sum(const struct tc_counts *c, int j) { return c->idle_sum_s; }
static __u64 get_tw_entered(const struct tc_counts *c, int j) { return c->tw.entered; }
static __u64 get_reuse(const struct tc_counts *c, int j) { return c->tw.reuse_hits; }
static __u64 get_tw_ended(const struct tc_counts *c, int j) { return c->tw.ended[j]; }
static __u64 get_attempts(const struct tc_counts *c, int j) { return c->conn.attempts; }
static __u64 get_fails(const struct tc_counts *c, int j) { return fails(&c->conn, j); }

/* One counter family over the series given: tcpclose_<prefix><suffix>, with
 * an extra label `key` taking each of vals[0..nvals) (none when nvals is 0). */
static void family(FILE *f, const char *prefix, const char *suffix, const char *help,
		   labels_fn fn, const struct series *s, size_t n, const char *key,
		   const char *const *vals, int nvals, get_fn get)
{
	char name[96], extra[64];

	snprintf(name, sizeof(name), "tcpclose_%s%s", prefix, suffix);
	head(f, name, "counter", help);
	for (size_t i = 0; i < n; i++)
		for (int j = 0; j < (nvals ? nvals : 1); j++) {
			if (nvals)
				snprintf(extra, sizeof(extra), "%s=\"%s\"", key, vals[j]);
			fputs(name, f);
			lab(f, fn, s[i].row, nvals ? extra : NULL);
			fprintf(f, " %" PRIu64 "\n", (uint64_t)get(s[i].c, j));
		}
}

/* The row counters every level has, for the series given. */
static void row_counters(FILE *f, const char *prefix, labels_fn fn, const struct series *s,
			 size_t n, const struct tc_model *m, int with_conn)
{
	family(f, prefix, "closes_total",
	       "Closed TCP sockets, by who sent FIN first or why there was none.", fn, s, n,
	       "kind", kind_label, TC_CK_MAX, get_kind);
	if (m->causes) {
		const char *cause[TC_CAUSE_MAX];

		for (int i = 0; i < TC_CAUSE_MAX; i++)
			cause[i] = tc_cause_name(i);
		/* the causes a reset after the close tells last: absent untold */
		family(f, prefix, "resets_sent_total", "Resets our sockets sent, by cause.",
		       fn, s, n, "cause", cause + TC_CAUSE_UNREAD_DATA,
		       (m->pend_hook ? TC_CAUSE_FIRST_TIMEOUT : TC_CAUSE_FIRST_AFTER) -
		       TC_CAUSE_UNREAD_DATA, get_reset_cause);
		/* FIN_WAIT2 last: absent without the timewait hooks */
		family(f, prefix, "timeouts_total", "Sockets ended by a timeout, by cause.", fn, s, n,
		       "cause", cause + TC_CAUSE_FIRST_TIMEOUT,
		       (m->fin_timeouts ? TC_CAUSE_FIRST_RECEIVED : TC_CAUSE_FIN_WAIT2) -
		       TC_CAUSE_FIRST_TIMEOUT, get_timeout_cause);
		family(f, prefix, "resets_received_total",
		       "Sockets ended by a reset received, by the state it hit.", fn, s, n, "state",
		       cause + TC_CAUSE_FIRST_RECEIVED, TC_CAUSE_MAX - TC_CAUSE_FIRST_RECEIVED,
		       get_received);
	}
	if (m->idle) {	/* rate(seconds) / rate(count): the mean silence before a timeout */
		family(f, prefix, "timeouts_established_total",
		       "Timeouts of connections that were up (all causes but a SYN's), whose peer's "
		       "silence was measured.", fn, s, n, NULL, NULL, 0, get_idle_count);
		family(f, prefix, "timeout_idle_seconds_total",
		       "Seconds the peer had been silent when those connections timed out, added up.",
		       fn, s, n, NULL, NULL, 0, get_idle_sum);
	}
	if (m->fin_by)
		family(f, prefix, "closes_fin_by_shutdown_total",
		       "Closed sockets whose FIN we sent by shutdown() while the process held "
		       "the socket (a half-close), not by close().", fn, s, n, NULL, NULL, 0,
		       get_fin_shutdown);
	family(f, prefix, "closes_one_exchange_total",
	       "Closed sockets that carried one request and one reply (at most one data segment "
	       "each way).", fn, s, n, NULL, NULL, 0, get_one_exchange);
	family(f, prefix, "timewait_entered_total",
	       "TIME_WAIT sockets created (the FIN_WAIT2 substate included).", fn, s, n, NULL, NULL,
	       0, get_tw_entered);
	family(f, prefix, "timewait_reuse_hits_total",
	       "connect()s that took over a TIME_WAIT 4-tuple (tcp_tw_reuse).", fn, s, n, NULL, NULL,
	       0, get_reuse);
	if (m->tw_hook)
		family(f, prefix, "timewait_ended_total", "TIME_WAIT stays ended, by how.", fn, s, n,
		       "how", end_label, TC_TWE_MAX, get_tw_ended);
	if (!with_conn)
		return;
	family(f, prefix, "connect_attempts_total",
	       "Client sockets that entered SYN_SENT, counted at their close.", fn, s, n, NULL, NULL,
	       0, get_attempts);
	family(f, prefix, "connect_failures_total",
	       "connect()s that failed: port_exhausted is EADDRNOTAVAIL (no ephemeral port left).",
	       fn, s, n, "reason", fail_label, 3, get_fails);
}


/*
 * other = totals - what the shown series added since they were chosen, per
 * field, floored at 0, and never below the "other" last exposed (*last):
 * a counter. A series chosen later takes its counts from then on; what it
 * had was in "other" already, and stays there. So rates add up exactly:
 * rate(series) + rate(other) == rate(totals).
 */
static void fold_other(struct tc_counts *o, const struct tc_counts *tot, const struct series *s,
		       size_t n, struct tc_counts *last)
{
	struct tc_counts shown = { 0 };
	__u64 *sh[] = { OTHER_FIELDS(&shown) }, *out[] = { OTHER_FIELDS(o) },
	      *prev[] = { OTHER_FIELDS(last) };
	const __u64 *t[] = { OTHER_FIELDS(tot) };

	memset(o, 0, sizeof(*o));
	for (size_t i = 0; i < n; i++) {
		const __u64 *c[] = { OTHER_FIELDS(s[i].c) };
		const __u64 *b[] = { OTHER_FIELDS(s[i].base) };

		for (size_t f = 0; f < sizeof(sh) / sizeof(sh[0]); f++)
			*sh[f] += sub0(*c[f], *b[f]);
	}
	for (size_t f = 0; f < sizeof(sh) / sizeof(sh[0]); f++) {
		*out[f] = sub0(*t[f], *sh[f]);
		if (*out[f] < *prev[f])
			*out[f] = *prev[f];
		*prev[f] = *out[f];
	}
}

/* ---- the whole exposition ---------------------------------------------- */

static void histogram_tw(FILE *f, const struct tc_twcounts *t)
{
	const char *n = "tcpclose_timewait_duration_seconds";
	__u64 cum = 0;

	head(f, n, "histogram", "How long TIME_WAIT stays lasted, of those whose start was seen.");
	for (int i = 0; i < TC_TW_HIST - 1; i++) {
		cum += t->hist[i];
		/* slot i holds whole-ms lengths under 2^i ms */
		fprintf(f, "%s_bucket{le=\"%.3f\"} %" PRIu64 "\n", n, (double)(1ULL << i) / 1000.0,
			(uint64_t)cum);
	}
	cum += t->hist[TC_TW_HIST - 1];
	fprintf(f, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", n, (uint64_t)cum);
	fprintf(f, "%s_sum %.3f\n", n, (double)t->dur_sum_ms / 1000.0);
	fprintf(f, "%s_count %" PRIu64 "\n", n, (uint64_t)t->dur_count);
}

static void histogram_retries(FILE *f, const struct tc_conncounts *c)
{
	const char *n = "tcpclose_connect_port_retries";
	__u64 cum = 0;

	head(f, n, "histogram",
	     "Ports the kernel rejected before one fit, per connect() (port search hooked).");
	for (int i = 0; i < TC_RETRY_HIST - 1; i++) {
		cum += c->retry_hist[i];
		/* slot i: retries with i significant bits, up to 2^i - 1 */
		fprintf(f, "%s_bucket{le=\"%llu\"} %" PRIu64 "\n", n, (1ULL << i) - 1,
			(uint64_t)cum);
	}
	cum += c->retry_hist[TC_RETRY_HIST - 1];
	fprintf(f, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", n, (uint64_t)cum);
	fprintf(f, "%s_sum %" PRIu64 "\n", n, (uint64_t)c->port_retries);
	fprintf(f, "%s_count %" PRIu64 "\n", n, (uint64_t)cum);
}

static void port_gauges(FILE *f, const struct peer_group *g, size_t ng)
{
	static const struct {
		const char *name, *help;
	} gauges[] = {
		{ "tcpclose_peer_ports_in_use", "Local ports held toward this destination now." },
		{ "tcpclose_peer_ports_timewait", "... of which in TIME_WAIT." },
		{ "tcpclose_peer_ports_usable", "Ephemeral ports connect() can pick in its netns." },
		{ "tcpclose_peer_ports_utilisation_ratio", "Ports in use over usable ports." },
		{ "tcpclose_peer_ports_exhaustion_seconds",
		  "At the current connect rate, seconds until no port is left (absent: never)." },
	};

	for (size_t k = 0; k < sizeof(gauges) / sizeof(gauges[0]); k++) {
		head(f, gauges[k].name, "gauge", gauges[k].help);
		for (size_t i = 0; i < ng; i++) {
			const struct tc_ports *p = &g[i].ports;
			double v;

			if (!g[i].chosen || g[i].key.role != TC_ROLE_CLIENT || !p->known)
				continue;
			v = k == 0 ? p->in_use : k == 1 ? p->time_wait : k == 2 ? p->range :
			    k == 3 ? p->utilisation : p->exhaustion_s;
			if (k == 4 && (v < 0 || !isfinite(v)))
				continue;
			fputs(gauges[k].name, f);
			lab(f, peer_labels, &g[i].key, NULL);
			fprintf(f, " %.6g\n", v);
		}
	}
}

int tc_render_prom(FILE *f, const struct tc_model *m, struct tc_prom *st)
{
	struct series *ss = NULL, one = { .c = &m->totals };
	struct peer_group *g = NULL;
	struct proc_ref *pr = NULL;
	struct tc_counts other;
	size_t ng = 0, n = 0;
	int ret = -1;

	g = group_peers(m, &ng);
	if (!g || choose_peers(st, g, ng) || !(pr = choose_procs(st, m)))
		goto out;
	ss = calloc(st->top + 1, sizeof(*ss));
	if (!ss)
		goto out;

	head(f, "tcpclose_tracer_info", "gauge", "The tracer and the hooks it runs on.");
	fprintf(f, "tcpclose_tracer_info{version=\"%s\",attach=\"%s\",state_hook=\"%s\","
		"timewait_hook=\"%s\",port_hook=\"%s\",reset_hook=\"%s\"} 1\n",
		st->version ? st->version : "", m->attach ? m->attach : "",
		m->state_hook ? m->state_hook : "", m->tw_hook ? m->tw_hook : "",
		m->port_hook ? m->port_hook : "", m->reset_hook ? m->reset_hook : "");
	head(f, "tcpclose_tracer_duration_seconds", "gauge", "How long the tracer has run.");
	fprintf(f, "tcpclose_tracer_duration_seconds %.3f\n", m->duration_s);

	/* host-wide */
	row_counters(f, "", NULL, &one, 1, m, 1);
	if (m->tw_hook) {	/* without one, overflows cannot be told apart */
		head(f, "tcpclose_timewait_overflow_total", "counter",
		     "TIME_WAIT sockets not created: tcp_max_tw_buckets was full.");
		fprintf(f, "tcpclose_timewait_overflow_total %" PRIu64 "\n",
			(uint64_t)m->totals.tw.overflow);
	}
	if (m->tw_hook && m->tw_snapshot) {
		head(f, "tcpclose_timewait_sockets", "gauge", "TIME_WAIT sockets alive now.");
		fprintf(f, "tcpclose_timewait_sockets %" PRId64 "\n", (int64_t)tc_tw_active(&m->totals.tw));
	}
	if (m->tw_hook)
		histogram_tw(f, &m->totals.tw);
	if (m->port_hook)
		histogram_retries(f, &m->totals.conn);
	/* No process, and a port scan would make a series per port: by
	 * reason only (the ports are in report/doctor). */
	if (m->reset_hook) {
		head(f, "tcpclose_resets_no_socket_total", "counter",
		     "Resets the kernel sent for segments no socket owns (no_socket: a port nobody "
		     "listens on, a connection already gone) or from TIME_WAIT: no process.");
		for (int r = 0; r < TC_NR_MAX; r++)
			fprintf(f, "tcpclose_resets_no_socket_total{reason=\"%s\"} %" PRIu64 "\n",
				tc_nosock_reason_name(r), (uint64_t)m->nosock_total[r]);
	}

	/* per process: the chosen, then "other" */
	n = 0;
	for (size_t i = 0; i < m->nprocs; i++)
		if (pr[i].chosen) {
			ss[n].c = &pr[i].row->c;
			ss[n].base = &st->proc_base[pr[i].chosen - 1];
			ss[n++].row = pr[i].row;
		}
	fold_other(&other, &m->totals, ss, n, &st->other_last[0]);
	ss[n].c = &other;
	ss[n++].row = NULL;
	row_counters(f, "process_", proc_labels, ss, n, m, 0);

	/* per peer */
	n = 0;
	for (size_t i = 0; i < ng; i++)
		if (g[i].chosen) {
			ss[n].c = &g[i].c;
			ss[n].base = &st->peer_base[g[i].chosen - 1];
			ss[n++].row = &g[i].key;
		}
	fold_other(&other, &m->totals, ss, n, &st->other_last[1]);
	ss[n].c = &other;
	ss[n++].row = NULL;
	row_counters(f, "peer_", peer_labels, ss, n, m, 1);
	port_gauges(f, g, ng);

	head(f, "tcpclose_series_folded", "gauge",
	     "Rows folded into the \"other\" series now (label cardinality bound).");
	fprintf(f, "tcpclose_series_folded{table=\"processes\"} %zu\n", m->nprocs - st->nprocs);
	fprintf(f, "tcpclose_series_folded{table=\"peers\"} %zu\n", ng - st->npeers);
	head(f, "tcpclose_rows_evicted_total", "counter",
	     "Rows the kernel maps evicted (their counts stay in the totals and \"other\"); "
	     "sockets: births the socket table had no slot for.");
	fprintf(f, "tcpclose_rows_evicted_total{table=\"sockets\"} %" PRIu64 "\n",
		(uint64_t)m->health.socks_evicted);
	fprintf(f, "tcpclose_rows_evicted_total{table=\"processes\"} %" PRIu64 "\n",
		(uint64_t)m->health.procs_evicted);
	fprintf(f, "tcpclose_rows_evicted_total{table=\"peers\"} %" PRIu64 "\n",
		(uint64_t)m->health.peers_evicted);
	fprintf(f, "tcpclose_rows_evicted_total{table=\"timewait\"} %" PRIu64 "\n",
		(uint64_t)m->health.tws_evicted);
	head(f, "tcpclose_missed_runs_total", "counter",
	     "BPF program runs the kernel skipped (recursion guard): events not counted.");
	fprintf(f, "tcpclose_missed_runs_total %" PRIu64 "\n", (uint64_t)m->health.missed_runs);
	head(f, "tcpclose_closes_unseen_total", "counter",
	     "Sockets that ended without their close reaching the tracer (found afterwards).");
	fprintf(f, "tcpclose_closes_unseen_total %" PRIu64 "\n", (uint64_t)m->health.closes_unseen);
	head(f, "tcpclose_events_lost_total", "counter", "Trace events dropped: ring buffer full.");
	fprintf(f, "tcpclose_events_lost_total %" PRIu64 "\n", (uint64_t)m->health.events_lost);
	head(f, "tcpclose_tracer_memory_bytes", "gauge",
	     "The tracer's own memory: peak RSS and BPF maps.");
	fprintf(f, "tcpclose_tracer_memory_bytes{kind=\"rss_max\"} %" PRIu64 "\n",
		(uint64_t)m->health.rss_max_kib * 1024);
	fprintf(f, "tcpclose_tracer_memory_bytes{kind=\"maps\"} %" PRIu64 "\n",
		(uint64_t)m->health.maps_kib * 1024);
	ret = ferror(f) ? -1 : 0;
out:
	free(ss);
	free(g);
	free(pr);
	return ret;
}
