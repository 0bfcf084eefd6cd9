// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Human tables: the busiest rows first, cut to --top. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "names.h"
#include "closestate.h"
#include "render.h"
#include "utf8.h"

#define COMM_BUF (TC_COMM_LEN * 3 + 1)

static void counts_header(FILE *f)
{
	fprintf(f, "%8s %8s %8s %6s %7s %7s %7s %7s %6s %8s %7s %9s\n", "CLOSED", "LOCAL1ST",
		"REMOTE1ST", "SIMUL", "RST_TX", "RST_RX", "NO_EST", "TIMEOUT", "UNSEEN",
		"TIMEWAIT", "1XCHG", "AVG_MS");
}

static void counts_cols(FILE *f, const struct tc_counts *c)
{
	fprintf(f, "%8" PRIu64 " %8" PRIu64 " %9" PRIu64 " %6" PRIu64 " %7" PRIu64
		" %7" PRIu64 " %7" PRIu64 " %7" PRIu64 " %6" PRIu64 " %8" PRIu64 " %7" PRIu64
		" %9.1f\n",
		(uint64_t)c->closed, (uint64_t)c->kind[TC_CK_LOCAL_FIRST],
		(uint64_t)c->kind[TC_CK_REMOTE_FIRST], (uint64_t)c->kind[TC_CK_SIMULTANEOUS],
		(uint64_t)c->kind[TC_CK_RESET_SENT], (uint64_t)c->kind[TC_CK_RESET_RECEIVED],
		(uint64_t)c->kind[TC_CK_NEVER_ESTABLISHED], (uint64_t)c->kind[TC_CK_TIMEOUT],
		(uint64_t)c->kind[TC_CK_UNSEEN], (uint64_t)c->timewait, (uint64_t)c->one_exchange, tc_counts_avg_lifetime_ms(c));
}

static void peer_endpoint(const struct tc_peer_key *k, char *buf, size_t size)
{
	const struct tc_tuple *t = &k->tuple;
	char l[64], r[64];

	/* The side that is aggregated over shows as *: the ephemeral port. */
	tc_addr_str(t->family, t->laddr, l, sizeof(l));
	tc_addr_str(t->family, t->raddr, r, sizeof(r));
	if (k->role == TC_ROLE_CLIENT)
		snprintf(buf, size, "%s -> %s", l,
			 tc_endpoint_str(t->family, t->raddr, t->rport, r, sizeof(r)));
	else if (k->role == TC_ROLE_SERVER)
		snprintf(buf, size, "%s <- %s",
			 tc_endpoint_str(t->family, t->laddr, t->lport, l, sizeof(l)), r);
	else {
		char le[72], re[72];

		snprintf(buf, size, "%s - %s",
			 tc_endpoint_str(t->family, t->laddr, t->lport, le, sizeof(le)),
			 tc_endpoint_str(t->family, t->raddr, t->rport, re, sizeof(re)));
	}
}

/* bcc-style log2 bars. */
static void tw_histogram(FILE *f, const struct tc_twcounts *t)
{
	__u64 top = 0;
	int last = -1;

	for (int i = 0; i < TC_TW_HIST; i++) {
		if (t->hist[i] > top)
			top = t->hist[i];
		if (t->hist[i])
			last = i;
	}
	if (last < 0)
		return;
	fprintf(f, "%22s : %-8s %s\n", "TIME_WAIT length, ms", "count", "distribution");
	for (int i = 0; i <= last; i++) {
		char bar[41];
		int n = (int)(t->hist[i] * 40 / top);
		double lo, hi;

		tc_hist_bounds(i, &lo, &hi);
		memset(bar, '*', (size_t)n);
		bar[n] = '\0';
		fprintf(f, "%10.0f -> %-9.0f : %-8" PRIu64 " |%-40s|\n", lo, hi - 1,
			(uint64_t)t->hist[i], bar);
	}
}

static void tw_cols_header(FILE *f)
{
	fprintf(f, "%8s %8s %8s %8s %8s %8s %8s %8s %9s %9s %9s\n", "ENTERED", "FW2", "EXPIRED",
		"REUSED", "SYN_RCY", "KILLED", "OVERFLOW", "ACTIVE", "P50_MS", "P99_MS", "MAX_MS");
}

static void tw_cols(FILE *f, const struct tc_twcounts *t, const struct tc_model *m)
{
	char e[4][24], ovf[24], act[24], q[3][24];
	double p50 = tc_hist_quantile(t->hist, TC_TW_HIST, 0.5, tc_tw_min(t), t->dur_max_ms);
	double p99 = tc_hist_quantile(t->hist, TC_TW_HIST, 0.99, tc_tw_min(t), t->dur_max_ms);

	for (int i = 0; i < 4; i++)
		snprintf(e[i], sizeof(e[i]), m->tw_hook ? "%" PRIu64 : "-", (uint64_t)t->ended[i]);
	snprintf(ovf, sizeof(ovf), m->tw_hook ? "%" PRIu64 : "-", (uint64_t)t->overflow);
	snprintf(act, sizeof(act), m->tw_hook && m->tw_snapshot ? "%" PRId64 : "-",
		 (int64_t)tc_tw_active(t));
	snprintf(q[0], sizeof(q[0]), p50 >= 0 ? "%.0f" : "-", p50);
	snprintf(q[1], sizeof(q[1]), p99 >= 0 ? "%.0f" : "-", p99);
	snprintf(q[2], sizeof(q[2]), t->dur_count ? "%" PRIu64 : "-", (uint64_t)t->dur_max_ms);
	fprintf(f, "%8" PRIu64 " %8" PRIu64 " %8s %8s %8s %8s %8s %8s %9s %9s %9s\n",
		(uint64_t)t->entered, (uint64_t)t->fin_wait2, e[0], e[1], e[2], e[3],
		ovf, act, q[0], q[1], q[2]);
}

static bool tw_any(const struct tc_twcounts *t)
{
	return t->entered || t->preexisting || t->overflow || t->reuse_hits;
}

/* TIME_WAIT: where it piles up, how long it stays, how it ends. */
static void render_time_wait(FILE *f, const struct tc_model *m, unsigned top)
{
	char comm[COMM_BUF], ep[200];
	unsigned shown = 0;

	fprintf(f, "\nTIME_WAIT%s\n%-30s", m->tw_hook ? "" :
		" (ends and lengths unavailable with this kernel/mode: shown as -)", "");
	tw_cols_header(f);
	fprintf(f, "%-30s", "all");
	tw_cols(f, &m->totals.tw, m);
	if (m->totals.tw.reuse_hits)
		fprintf(f, "tw_reuse hits (connect side): %" PRIu64 "\n", (uint64_t)m->totals.tw.reuse_hits);
	for (size_t i = 0; i < m->npeers && shown < top; i++) {
		const struct tc_peer_row *r = &m->peers[i];

		if (!tw_any(&r->c.tw))
			continue;
		if (!shown++) {
			fprintf(f, "%-7s %-15s %-46s ", "PID", "COMM", "LOCAL -> REMOTE");
			tw_cols_header(f);
		}
		tc_printable(comm, r->key.proc.comm, TC_COMM_LEN);
		peer_endpoint(&r->key, ep, sizeof(ep));
		fprintf(f, "%-7u %-15s %-46s ", r->key.proc.tgid, comm, ep);
		tw_cols(f, &r->c.tw, m);
	}
	tw_histogram(f, &m->totals.tw);
}

static bool cause_any(const struct tc_counts *c)
{
	for (int i = TC_CAUSE_NONE + 1; i < TC_CAUSE_MAX; i++)
		if (c->cause[i])
			return true;
	return false;
}

static void cause_row(FILE *f, const char *pid, const char *comm, const struct tc_counts *c,
		      bool idle)
{
	char rst[160], tmo[260], rx[160];
	bool r = tc_cause_list(rst, sizeof(rst), c->cause, TC_CAUSE_UNREAD_DATA,
			       TC_CAUSE_FIRST_TIMEOUT),
	     t = tc_cause_list(tmo, sizeof(tmo), c->cause, TC_CAUSE_FIRST_TIMEOUT,
			       TC_CAUSE_FIRST_RECEIVED),
	     x = tc_cause_list(rx, sizeof(rx), c->cause, TC_CAUSE_FIRST_RECEIVED, TC_CAUSE_MAX);

	/* how long the peer had been silent: a middlebox's idle timeout, or a
	 * peer that died mid-transfer */
	if (t && idle && c->idle_count) {
		size_t n = strlen(tmo);

		snprintf(tmo + n, sizeof(tmo) - n, "; peer silent avg %.1f s",
			 (double)c->idle_sum_s / (double)c->idle_count);
		n = strlen(tmo);
		if (c->idle_max_s)
			snprintf(tmo + n, sizeof(tmo) - n, ", max %llu s",
				 (unsigned long long)c->idle_max_s);
	}
	if (r || t || x)
		fprintf(f, "%-7s %-22s %-36s %-36s %s\n", pid, comm, r ? rst : "-", t ? tmo : "-",
			x ? rx : "-");
}

/* Why sockets ended abortively: the resets we sent, the timeouts. */
static void render_causes(FILE *f, const struct tc_model *m, unsigned top)
{
	char comm[COMM_BUF], pid[16];
	unsigned shown = 0;

	fprintf(f, "\nWHY (resets sent by a process still holding the socket, timeouts, resets "
		"received)\n%-7s %-22s %-36s %-36s %s\n", "PID", "COMM", "RESETS SENT, BY CAUSE",
		"TIMEOUTS, BY CAUSE", "RESETS RECEIVED, BY STATE");
	cause_row(f, "", "all", &m->totals, m->idle);
	for (size_t i = 0; i < m->nprocs && shown < top; i++) {
		const struct tc_proc_row *r = &m->procs[i];

		if (!cause_any(&r->c))
			continue;
		shown++;
		tc_printable(comm, r->key.comm, TC_COMM_LEN);
		snprintf(pid, sizeof(pid), "%u", r->key.tgid);
		cause_row(f, pid, r->key.tgid ? comm : "[unknown]", &r->c, m->idle);
	}
}

/* The connecting side: failures, rejected ports, each destination's budget. */
static void render_connect(FILE *f, const struct tc_model *m, unsigned top)
{
	const struct tc_conncounts *t = &m->totals.conn;
	char comm[COMM_BUF], ep[200], retries[24], budget[40], util[16], rate[16], exh[16];
	unsigned shown = 0;

	snprintf(retries, sizeof(retries), m->port_hook ? "%" PRIu64 : "-", (uint64_t)t->port_retries);
	fprintf(f, "\nCONNECT: %" PRIu64 " attempts, %" PRIu64 " EADDRNOTAVAIL (%" PRIu64
		" no free port, %" PRIu64 " bind() conflicts), %s ports rejected%s\n",
		(uint64_t)t->attempts, (uint64_t)(t->port_exhausted + t->bind_conflict),
		(uint64_t)t->port_exhausted, (uint64_t)t->bind_conflict, retries,
		m->port_hook ? "" : " (port search not hooked on this kernel/mode)");
	for (size_t i = 0; i < m->npeers && shown < top; i++) {
		const struct tc_peer_row *r = &m->peers[i];
		const struct tc_ports *p = &r->ports;

		if (r->key.role != TC_ROLE_CLIENT || !r->c.conn.attempts)
			continue;
		if (!shown++)
			fprintf(f, "%-7s %-15s %-40s %8s %8s %8s %8s %13s %6s %8s %9s\n", "PID", "COMM",
				"LOCAL -> REMOTE", "ATTEMPTS", "ADDRFAIL", "RETRIES", "REUSED",
				"PORTS/RANGE", "UTIL", "RATE/s", "EXHAUST_S");
		tc_printable(comm, r->key.proc.comm, TC_COMM_LEN);
		peer_endpoint(&r->key, ep, sizeof(ep));
		snprintf(retries, sizeof(retries), m->port_hook ? "%" PRIu64 : "-",
			 (uint64_t)r->c.conn.port_retries);
		snprintf(budget, sizeof(budget), p->known ? "%u/%u" : "-", p->in_use, p->range);
		snprintf(util, sizeof(util), p->known ? "%.0f%%" : "-", 100 * p->utilisation);
		snprintf(rate, sizeof(rate), p->known ? "%.1f" : "-", p->rate);
		if (!p->known || p->exhaustion_s < 0)
			snprintf(exh, sizeof(exh), "-");
		else
			snprintf(exh, sizeof(exh), "%.0f", p->exhaustion_s);
		fprintf(f, "%-7u %-15s %-40s %8" PRIu64 " %8" PRIu64 " %8s %8" PRIu64
			" %13s %6s %8s %9s\n", r->key.proc.tgid, comm, ep,
			(uint64_t)r->c.conn.attempts,
			(uint64_t)(r->c.conn.port_exhausted + r->c.conn.bind_conflict), retries,
			(uint64_t)r->c.tw.reuse_hits, budget, util, rate, exh);
	}
}

/* Resets the kernel sent for no socket of ours: no process, a port. */
static void render_nosock(FILE *f, const struct tc_model *m, unsigned top)
{
	__u64 other = tc_model_nosock_other(m);
	char addr[64];

	fprintf(f, "\nRESETS FOR NO SOCKET (no process: segments to a port nobody listens on or to a "
		"connection already gone; from TIME_WAIT): %" PRIu64 " no socket, %" PRIu64
		" time_wait\n%-12s %-6s %-40s %-10s %8s\n",
		(uint64_t)m->nosock_total[TC_NR_NO_SOCKET], (uint64_t)m->nosock_total[TC_NR_TIME_WAIT],
		"NETNS", "PORT", "REMOTE", "REASON", "RESETS");
	for (size_t i = 0; i < m->nnosocks && i < top; i++) {
		const struct tc_nosock_row *r = &m->nosocks[i];

		fprintf(f, "%-12u %-6u %-40s %-10s %8" PRIu64 "\n", r->key.netns, r->key.lport,
			tc_addr_str(r->key.family, r->key.raddr, addr, sizeof(addr)),
			tc_nosock_reason_name(r->key.reason), (uint64_t)r->resets);
	}
	if (m->nnosocks > top)
		fprintf(f, "... %zu more (see --json or -n)\n", m->nnosocks - top);
	if (other)
		fprintf(f, "%-12s %-6s %-40s %-10s %8" PRIu64 "\n", "other", "", "[rows evicted]", "",
			(uint64_t)other);
}

/* tcpclose's own cost, --prog-stats: what each hook ran and took. */
static void render_progs(FILE *f, const struct tc_model *m)
{
	__u64 runs = 0, ns = 0;

	fprintf(f, "\nBPF PROGRAMS (run time measured while tracing)\n%-24s %12s %14s %10s\n",
		"PROGRAM", "RUNS", "TOTAL_NS", "NS/RUN");
	for (int i = 0; i < m->nprogs; i++) {
		const struct tc_prog_stat *p = &m->progs[i];
		char name[sizeof(p->name)];

		fprintf(f, "%-24s %12" PRIu64 " %14" PRIu64 " %10.0f\n",
			tc_term_str(name, sizeof(name), p->name, "?"),
			(uint64_t)p->runs, (uint64_t)p->run_ns,
			p->runs ? (double)p->run_ns / (double)p->runs : 0.0);
		runs += p->runs;
		ns += p->run_ns;
	}
	fprintf(f, "%-24s %12" PRIu64 " %14" PRIu64 " %10.0f\n", "all", (uint64_t)runs,
		(uint64_t)ns, runs ? (double)ns / (double)runs : 0.0);
	if (m->totals.closed)
		fprintf(f, "per closed socket: %.1f runs, %.0f ns\n",
			(double)runs / (double)m->totals.closed, (double)ns / (double)m->totals.closed);
}

/*
 * A table's lines. Where its rows outnumber --top, the rows of one name (one
 * cgroup; for peers also one role, endpoint and netns) become one line: a
 * forking server's per-connection processes, PostgreSQL's backends or
 * Apache's prefork children, would each take a line of one close and push
 * everything else off. --json keeps every row. A line holds where its rows
 * are, not their counts: those (800 bytes a row) are summed only for the
 * lines printed, so a table of a million rows costs 40 bytes a row here.
 */
struct line {
	size_t first;	/* the busiest of its rows: its name, endpoint, pid */
	size_t at, n;	/* its rows: ix[at] .. ix[at + n - 1] */
	__u64 closed;	/* theirs, summed: the order of the lines */
};

struct lines {
	const struct tc_model *m;
	const struct tc_counts *(*counts)(const struct tc_model *, size_t);
	size_t *ix;	/* the rows by name; NULL: not folded, line i is row i */
	struct line *l;
	size_t n;
};

/* Two rows of one name (indices into the model's procs or peers). */
static int proc_name_cmp(const struct tc_model *m, size_t a, size_t b)
{
	const struct tc_proc_key *x = &m->procs[a].key, *y = &m->procs[b].key;
	int c = memcmp(x->comm, y->comm, TC_COMM_LEN);

	if (!c && x->cgroup_id != y->cgroup_id)
		c = x->cgroup_id < y->cgroup_id ? -1 : 1;
	return c;
}

static int peer_name_cmp(const struct tc_model *m, size_t a, size_t b)
{
	const struct tc_peer_key *x = &m->peers[a].key, *y = &m->peers[b].key;
	int c = memcmp(x->proc.comm, y->proc.comm, TC_COMM_LEN);

	if (!c && x->proc.cgroup_id != y->proc.cgroup_id)
		c = x->proc.cgroup_id < y->proc.cgroup_id ? -1 : 1;
	if (!c && x->role != y->role)
		c = x->role < y->role ? -1 : 1;
	if (!c && x->netns != y->netns)
		c = x->netns < y->netns ? -1 : 1;
	return c ? c : memcmp(&x->tuple, &y->tuple, sizeof(x->tuple));
}

/* qsort's context: by name, then in the model's order (busiest first) */
static const struct tc_model *fold_m;
static int (*fold_cmp)(const struct tc_model *, size_t, size_t);

static int cmp_by_name(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = fold_cmp(fold_m, x, y);

	return c ? c : (x > y) - (x < y);
}

static int cmp_line_busy(const void *a, const void *b)
{
	const struct line *x = a, *y = b;

	if (x->closed != y->closed)
		return x->closed > y->closed ? -1 : 1;
	return (x->first > y->first) - (x->first < y->first);
}

static const struct tc_counts *proc_counts(const struct tc_model *m, size_t i)
{
	return &m->procs[i].c;
}

static const struct tc_counts *peer_counts(const struct tc_model *m, size_t i)
{
	return &m->peers[i].c;
}

/* The lines of a table of n rows: folded by name where n is over top, the
 * busiest first; else (or out of memory) a line per row. */
static void fold_lines(struct lines *t, const struct tc_model *m, size_t n, unsigned top,
		       int (*name_cmp)(const struct tc_model *, size_t, size_t),
		       const struct tc_counts *(*counts)(const struct tc_model *, size_t))
{
	size_t k = 0;

	*t = (struct lines){ .m = m, .counts = counts, .n = n };
	if (n <= top)
		return;
	t->ix = malloc(n * sizeof(*t->ix));
	t->l = malloc(n * sizeof(*t->l));
	if (!t->ix || !t->l) {
		free(t->ix);
		free(t->l);
		t->ix = NULL;
		t->l = NULL;
		return;
	}
	for (size_t i = 0; i < n; i++)
		t->ix[i] = i;
	fold_m = m;
	fold_cmp = name_cmp;
	qsort(t->ix, n, sizeof(*t->ix), cmp_by_name);
	for (size_t i = 0; i < n; i++) {
		if (!k || name_cmp(m, t->l[k - 1].first, t->ix[i]))
			t->l[k++] = (struct line){ .first = t->ix[i], .at = i };
		t->l[k - 1].n++;
		t->l[k - 1].closed += counts(m, t->ix[i])->closed;
	}
	qsort(t->l, k, sizeof(*t->l), cmp_line_busy);
	t->n = k;
}

/* Line i: returns its busiest row; *n its rows, *c their counts summed. */
static size_t line_get(const struct lines *t, size_t i, size_t *n, struct tc_counts *c)
{
	const struct line *l = t->l ? &t->l[i] : NULL;

	if (!l) {
		*n = 1;
		*c = *t->counts(t->m, i);
		return i;
	}
	memset(c, 0, sizeof(*c));
	for (size_t k = 0; k < l->n; k++)
		tc_counts_add(c, t->counts(t->m, t->ix[l->at + k]));
	*n = l->n;
	return l->first;
}

static void lines_free(struct lines *t)
{
	free(t->ix);
	free(t->l);
}

/* The PID column of a line: its pid, or how many processes it folds. */
static const char *pid_col(char *buf, size_t len, __u32 tgid, size_t n)
{
	if (n > 1)
		snprintf(buf, len, "(%zu)", n);
	else
		snprintf(buf, len, "%" PRIu32, tgid);
	return buf;
}

void tc_render_text(FILE *f, const struct tc_model *m, unsigned top)
{
	const struct tc_health *h = &m->health;
	char comm[COMM_BUF], ep[200], attach[256], hook[256], pid[24];
	size_t i, n;
	struct tc_counts other, c;
	struct lines lines;
	bool folded = false;

	/* a recording's strings: printable, whatever the file said */
	fprintf(f, "tcpclose: %.1f s, %s (%s)\n", m->duration_s,
		tc_term_str(attach, sizeof(attach), m->attach, "?"),
		tc_term_str(hook, sizeof(hook), m->state_hook, "?"));
	fprintf(f, "\nTOTAL (per local socket: a loopback connection counts twice)\n");
	fprintf(f, "%-30s", "");
	counts_header(f);
	fprintf(f, "%-30s", "all");
	counts_cols(f, &m->totals);
	if (m->fin_by && m->totals.fin_shutdown)
		fprintf(f, "%" PRIu64 " of them sent their FIN by shutdown(), the process still holding "
			"the socket (a half-close); the other FINs came from close() or exit\n",
			(uint64_t)m->totals.fin_shutdown);

	fprintf(f, "\nPROCESSES (%zu)\n%-7s %-22s", m->nprocs, "PID", "COMM");
	counts_header(f);
	fold_lines(&lines, m, m->nprocs, top, proc_name_cmp, proc_counts);
	for (i = 0; i < lines.n && i < top; i++) {
		const struct tc_proc_row *r = &m->procs[line_get(&lines, i, &n, &c)];

		tc_printable(comm, r->key.comm, TC_COMM_LEN);
		fprintf(f, "%-7s %-22s", pid_col(pid, sizeof(pid), r->key.tgid, n),
			r->key.tgid ? comm : "[unknown]");
		counts_cols(f, &c);
		folded |= n > 1;
	}
	if (lines.n > top)
		fprintf(f, "... %zu more (see --json or -n)\n", lines.n - top);
	lines_free(&lines);
	if (m->health.procs_evicted) {
		char lbl[64];

		tc_model_other(m, 0, &other);
		snprintf(lbl, sizeof(lbl), "[%" PRIu64 " evicted]", (uint64_t)m->health.procs_evicted);
		fprintf(f, "%-7s %-22s", "other", lbl);
		counts_cols(f, &other);
	}

	fprintf(f, "\nPEERS (%zu)\n%-7s %-15s %-6s %-46s ", m->npeers, "PID", "COMM",
		"ROLE", "LOCAL -> REMOTE");
	counts_header(f);
	fold_lines(&lines, m, m->npeers, top, peer_name_cmp, peer_counts);
	for (i = 0; i < lines.n && i < top; i++) {
		const struct tc_peer_row *r = &m->peers[line_get(&lines, i, &n, &c)];

		tc_printable(comm, r->key.proc.comm, TC_COMM_LEN);
		peer_endpoint(&r->key, ep, sizeof(ep));
		fprintf(f, "%-7s %-15s %-6s %-46s ", pid_col(pid, sizeof(pid), r->key.proc.tgid, n),
			comm, tc_role_name(r->key.role), ep);
		counts_cols(f, &c);
		folded |= n > 1;
	}
	if (lines.n > top)
		fprintf(f, "... %zu more (see --json or -n)\n", lines.n - top);
	lines_free(&lines);
	if (m->health.peers_evicted) {
		char lbl[64];

		tc_model_other(m, 1, &other);
		snprintf(lbl, sizeof(lbl), "[%" PRIu64 " rows evicted by --max-peers]",
			 (uint64_t)m->health.peers_evicted);
		fprintf(f, "%-7s %-15s %-6s %-46s ", "other", "", "", lbl);
		counts_cols(f, &other);
	}
	if (folded)
		fprintf(f, "(N) for a PID: the rows of N processes of one name, folded into one line "
			"(more rows than -n; a forking server's, one per connection); --json lists each\n");

	if (m->causes && cause_any(&m->totals))
		render_causes(f, m, top);
	if (tw_any(&m->totals.tw))
		render_time_wait(f, m, top);
	if (m->totals.conn.attempts)
		render_connect(f, m, top);
	if (m->reset_hook && tc_model_nosock_total(m))
		render_nosock(f, m, top);

	if (m->prog_stats)
		render_progs(f, m);

	if (h->missed_runs)
		fprintf(f, "\nWARNING: the kernel skipped %" PRIu64 " BPF program runs (recursion guard, "
			"e.g. fentry/kprobe on PREEMPT_RT): counts above are short; try --attach tracepoint\n",
			(uint64_t)h->missed_runs);
	if (h->closes_unseen)
		fprintf(f, "\nWARNING: %" PRIu64 " sockets ended without their close reaching the tracer "
			"(the kernel skipped those runs; found afterwards): they are the UNSEEN closes, "
			"whose kind, bytes and lifetime are unknown\n",
			(uint64_t)h->closes_unseen);
	if (h->socks_evicted || h->procs_evicted || h->peers_evicted || h->events_lost ||
	    h->stat[TC_STAT_SOCK_UNTRACKED] || h->stat[TC_STAT_AGG_FAIL])
		fprintf(f, "\nnote: %" PRIu64 " sockets were open before tracing started; "
			"evicted: %" PRIu64 " sockets, %" PRIu64 " process rows, %" PRIu64
			" peer rows (totals keep them); %" PRIu64 " events lost\n",
			(uint64_t)h->stat[TC_STAT_SOCK_UNTRACKED], (uint64_t)h->socks_evicted,
			(uint64_t)h->procs_evicted, (uint64_t)h->peers_evicted,
			(uint64_t)h->events_lost);
	if (h->tws_evicted)
		fprintf(f, "\nWARNING: %" PRIu64 " TIME_WAIT stays evicted by --max-timewait: their ends "
			"are not counted and the TIME_WAIT gauges over-count by that many\n",
			(uint64_t)h->tws_evicted);
	fflush(f);
}

void tc_event_text_header(FILE *f)
{
	fprintf(f, "%-10s %-7s %-15s %-6s %-24s %-24s %-17s %9s %9s %9s  %s\n", "TIME(s)",
		"PID", "COMM", "ROLE", "LOCAL", "REMOTE", "CLOSE", "LIFE_MS", "RX_B",
		"TX_B", "PATH");
}

void tc_event_text(FILE *f, const struct tc_event *e, double ts_s, bool idle)
{
	char comm[2 * COMM_BUF + 2], thread[COMM_BUF], l[72], r[72], path[TC_PATH_MAX * 16];
	char why[64] = "";
	const char *cause = tc_event_cause(e->cause);
	const struct tc_tuple *t = &e->tuple;

	tc_printable(comm, e->owner.comm, TC_COMM_LEN);
	/* the thread that did it, where it is named otherwise: java(http-nio-...) */
	if (e->owner.thread[0] && strncmp(e->owner.thread, e->owner.comm, TC_COMM_LEN)) {
		tc_printable(thread, e->owner.thread, TC_COMM_LEN);
		snprintf(comm + strlen(comm), sizeof(comm) - strlen(comm), "(%s)", thread);
	}
	/* the cause, and for a timeout of a connection that was up the peer's silence */
	if (cause && idle && tc_idle_wanted(e->cause, e->oldstate))
		snprintf(why, sizeof(why), " (%s, silent %u s)", cause, e->idle_s);
	else if (cause)
		snprintf(why, sizeof(why), " (%s)", cause);
	fprintf(f, "%-10.3f %-7u %-15s %-6s %-24s %-24s %-17s %9.3f %9" PRIu64 " %9" PRIu64
		"  %s%s\n", ts_s, e->owner.tgid, e->owner.tgid ? comm : "[unknown]",
		tc_role_name(e->role),
		tc_endpoint_str(t->family, t->laddr, t->lport, l, sizeof(l)),
		tc_endpoint_str(t->family, t->raddr, t->rport, r, sizeof(r)),
		tc_kind_name(e->kind), (double)e->lifetime_ns / 1e6,
		(uint64_t)e->bytes_in, (uint64_t)e->bytes_out,
		tc_path_str(e->path, e->path_len, path, sizeof(path)), why);
}
