// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "names.h"
#include "container.h"
#include "top.h"
#include "utf8.h"

void tc_top_init(struct tc_top *t)
{
	memset(t, 0, sizeof(*t));
}

void tc_top_free(struct tc_top *t)
{
	free(t->procs);
	free(t->peers);
	tc_top_init(t);
}

static int cmp_proc(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct tc_proc_key));	/* key first in both */
}

static int cmp_peer(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct tc_peer_key));
}

int tc_top_remember(struct tc_top *t, const struct tc_model *m)
{
	struct tc_top_prev_proc *pp = malloc((m->nprocs ? m->nprocs : 1) * sizeof(*pp));
	struct tc_top_prev_peer *rp = malloc((m->npeers ? m->npeers : 1) * sizeof(*rp));

	if (!pp || !rp) {
		free(pp);
		free(rp);
		return -1;
	}
	for (size_t i = 0; i < m->nprocs; i++) {
		pp[i].key = m->procs[i].key;
		pp[i].c = m->procs[i].c;
	}
	for (size_t i = 0; i < m->npeers; i++) {
		rp[i].key = m->peers[i].key;
		rp[i].c = m->peers[i].c;
	}
	qsort(pp, m->nprocs, sizeof(*pp), cmp_proc);
	qsort(rp, m->npeers, sizeof(*rp), cmp_peer);
	free(t->procs);
	free(t->peers);
	t->procs = pp;
	t->nprocs = m->nprocs;
	t->peers = rp;
	t->npeers = m->npeers;
	t->totals = m->totals;
	memcpy(t->nosock, m->nosock_total, sizeof(t->nosock));
	t->have_prev = 1;
	return 0;
}

/* cur - prev; a row that shrank was evicted and begun again: all of it is new. */
static double d(__u64 cur, __u64 prev)
{
	return cur >= prev ? (double)(cur - prev) : (double)cur;
}

static void fill(struct tc_top_line *l, const struct tc_counts *c, const struct tc_counts *p,
		 double dt, const struct tc_model *m)
{
	static const struct tc_counts zero;

	if (!p)
		p = &zero;
	if (dt <= 0)
		dt = 1;
	l->v[TC_SORT_CLOSED] = d(c->closed, p->closed) / dt;
	l->v[TC_SORT_LOCAL] = d(c->kind[TC_CK_LOCAL_FIRST], p->kind[TC_CK_LOCAL_FIRST]) / dt;
	l->v[TC_SORT_REMOTE] = d(c->kind[TC_CK_REMOTE_FIRST], p->kind[TC_CK_REMOTE_FIRST]) / dt;
	l->v[TC_SORT_RESET] = (d(c->kind[TC_CK_RESET_SENT], p->kind[TC_CK_RESET_SENT]) +
			       d(c->kind[TC_CK_RESET_RECEIVED], p->kind[TC_CK_RESET_RECEIVED])) / dt;
	l->v[TC_SORT_TW_NOW] = (double)tc_tw_active(&c->tw);
	l->v[TC_SORT_TW_RATE] = d(c->tw.entered, p->tw.entered) / dt;
	l->v[TC_SORT_REUSE] = d(c->tw.reuse_hits, p->tw.reuse_hits) / dt;
	l->v[TC_SORT_RETRIES] = d(c->conn.port_retries, p->conn.port_retries) / dt;
	l->v[TC_SORT_EADDRNOTAVAIL] = d(c->conn.port_exhausted, p->conn.port_exhausted) / dt;
	for (int i = 0; i < TC_SORT_MAX; i++)
		l->have[i] = 1;
	l->have[TC_SORT_TW_NOW] = m->tw_hook != NULL;
	l->have[TC_SORT_RETRIES] = m->port_hook != NULL;
	l->have[TC_SORT_PORTS] = 0;
}

static int sort_col;

static int cmp_line(const void *pa, const void *pb)
{
	const struct tc_top_line *a = pa, *b = pb;
	double x = a->have[sort_col] ? a->v[sort_col] : -1;
	double y = b->have[sort_col] ? b->v[sort_col] : -1;

	if (x != y)
		return x < y ? 1 : -1;
	if (a->v[TC_SORT_CLOSED] != b->v[TC_SORT_CLOSED])
		return a->v[TC_SORT_CLOSED] < b->v[TC_SORT_CLOSED] ? 1 : -1;
	if (a->proc && b->proc)
		return memcmp(&a->proc->key, &b->proc->key, sizeof(a->proc->key));
	if (a->peer && b->peer)
		return memcmp(&a->peer->key, &b->peer->key, sizeof(a->peer->key));
	return 0;
}

int tc_top_lines(const struct tc_top *t, const struct tc_model *m, int peers, double dt_s,
		 int sort, struct tc_top_line **out, size_t *n)
{
	size_t rows = peers ? m->npeers : m->nprocs;
	struct tc_top_line *l = calloc(rows ? rows : 1, sizeof(*l));

	*out = NULL;
	*n = 0;
	if (!l)
		return -1;
	for (size_t i = 0; i < rows; i++) {
		if (peers) {
			const struct tc_peer_row *r = &m->peers[i];
			const struct tc_top_prev_peer *p = t->have_prev ?
				bsearch(&r->key, t->peers, t->npeers, sizeof(*t->peers), cmp_peer) : NULL;

			fill(&l[i], &r->c, p ? &p->c : NULL, dt_s, m);
			l[i].peer = r;
			if (r->key.role == TC_ROLE_CLIENT && r->ports.known) {
				l[i].v[TC_SORT_PORTS] = r->ports.utilisation * 100.0;
				l[i].have[TC_SORT_PORTS] = 1;
			}
		} else {
			const struct tc_proc_row *r = &m->procs[i];
			const struct tc_top_prev_proc *p = t->have_prev ?
				bsearch(&r->key, t->procs, t->nprocs, sizeof(*t->procs), cmp_proc) : NULL;

			fill(&l[i], &r->c, p ? &p->c : NULL, dt_s, m);
			l[i].proc = r;
		}
	}
	sort_col = sort >= 0 && sort < TC_SORT_MAX ? sort : TC_SORT_CLOSED;
	qsort(l, rows, sizeof(*l), cmp_line);
	*out = l;
	*n = rows;
	return 0;
}

static const char *const col_head[TC_SORT_MAX] = {
	"CLOSE/s", "LOCAL/s", "REMOTE/s", "RESET/s", "TW_NOW", "TW/s", "REUSE/s", "RETRY/s",
	"EADDR/s", "PORTS%",
};

static void cols_header(FILE *f, int sort)
{
	for (int i = 0; i < TC_SORT_MAX; i++) {
		char h[16];

		/* the sort column is marked, as top(1) does */
		snprintf(h, sizeof(h), "%s%s", i == sort ? "*" : "", col_head[i]);
		fprintf(f, " %9s", h);
	}
	fputc('\n', f);
}

static void cols(FILE *f, const struct tc_top_line *l)
{
	for (int i = 0; i < TC_SORT_MAX; i++) {
		if (!l->have[i])
			fprintf(f, " %9s", "-");
		else if (i == TC_SORT_TW_NOW)
			fprintf(f, " %9.0f", l->v[i]);
		else
			fprintf(f, " %9.1f", l->v[i]);
	}
	fputc('\n', f);
}

static void table(FILE *f, const struct tc_top *t, const struct tc_model *m, int peers,
		  double dt_s, int sort, unsigned rows)
{
	struct tc_top_line *l;
	size_t n;

	if (tc_top_lines(t, m, peers, dt_s, sort, &l, &n)) {
		fputs("(out of memory)\n", f);
		return;
	}
	if (peers)
		fprintf(f, "%-6s %-16s %-38s", "ROLE", "COMM", "PEER");
	else
		fprintf(f, "%-8s %-16s %-36s %-12s %-8s %-10s", "PID", "COMM", "CGROUP", "CONTAINER",
			"POD", "QOS");
	cols_header(f, sort);
	for (size_t i = 0; i < n && i < rows; i++) {
		char comm[TC_COMM_LEN * 3 + 1], ep[160], cg[40 * 3];

		if (peers) {
			const struct tc_peer_key *k = &l[i].peer->key;
			char a[64], b[72];

			tc_printable(comm, k->proc.comm, TC_COMM_LEN);
			if (k->role == TC_ROLE_SERVER)
				snprintf(ep, sizeof(ep), "%s <- %s",
					 tc_endpoint_str(k->tuple.family, k->tuple.laddr, k->tuple.lport,
							 b, sizeof(b)),
					 tc_addr_str(k->tuple.family, k->tuple.raddr, a, sizeof(a)));
			else
				snprintf(ep, sizeof(ep), "-> %s",
					 tc_endpoint_str(k->tuple.family, k->tuple.raddr, k->tuple.rport,
							 b, sizeof(b)));
			fprintf(f, "%-6.6s %-16s %-38.38s", tc_role_name(k->role), comm, ep);
		} else {
			const struct tc_proc_row *r = l[i].proc;
			const char *p = r->cgroup;
			struct tc_container ct;
			size_t len;

			tc_printable(comm, r->key.comm, TC_COMM_LEN);
			if (!r->key.tgid) {	/* found at start: no process seen */
				snprintf(comm, sizeof(comm), "[unknown]");
				snprintf(cg, sizeof(cg), "-");
			} else if (p) {
				/* the end of a path says the most; any bytes a cgroup's
				 * name has reach the terminal printable, cut at a
				 * character's start */
				const char *tail = p;

				len = strlen(p);
				if (len > 36) {
					tail = p + len - 33;
					while (tail > p && ((unsigned char)*tail & 0xc0) == 0x80)
						tail++;
					memcpy(cg, "...", 3);
				}
				tc_printable(cg + (tail != p ? 3 : 0), tail, 36);
			} else {
				snprintf(cg, sizeof(cg), "%" PRIu64, (uint64_t)r->key.cgroup_id);
			}
			/* container.h: the short id docker ps shows, the pod
			 * UID's first group */
			tc_container_parse(r->cgroup, &ct);
			fprintf(f, "%-8" PRIu32 " %-16s %-36s %-12.12s %-8.8s %-10s", r->key.tgid, comm,
				cg, ct.id[0] ? ct.id : "-", ct.pod_uid[0] ? ct.pod_uid : "-",
				ct.qos ? ct.qos : "-");
		}
		cols(f, &l[i]);
	}
	if (n > rows)
		fprintf(f, "(%zu more)\n", n - rows);
	free(l);
}

void tc_render_top(FILE *f, const struct tc_top *t, const struct tc_model *m, double dt_s,
		   int sort, unsigned rows, const char *clock)
{
	struct tc_top_line all;

	fill(&all, &m->totals, t->have_prev ? &t->totals : NULL, dt_s, m);
	char hook[256];

	fprintf(f, "tcpclose top - %s, every %.1f s, sort %s, %s\n", clock ? clock : "", dt_s,
		tc_sort_name(sort), tc_term_str(hook, sizeof(hook), m->state_hook, ""));
	char now[32] = "?";

	if (m->tw_hook && m->tw_snapshot)
		snprintf(now, sizeof(now), "%" PRId64, (int64_t)tc_tw_active(&m->totals.tw));
	fprintf(f, "closes %.1f/s (local first %.1f, remote first %.1f, reset %.1f); "
		"TIME_WAIT now %s, entered %.1f/s, reuse hits %.1f/s; EADDRNOTAVAIL %.1f/s\n",
		all.v[TC_SORT_CLOSED], all.v[TC_SORT_LOCAL], all.v[TC_SORT_REMOTE],
		all.v[TC_SORT_RESET], now, all.v[TC_SORT_TW_RATE], all.v[TC_SORT_REUSE],
		all.v[TC_SORT_EADDRNOTAVAIL]);
	if (m->causes && t->have_prev) {	/* why, this interval: only what happened */
		char why[400];
		size_t off = 0;

		for (int i = TC_CAUSE_NONE + 1; i < TC_CAUSE_MAX && off < sizeof(why); i++) {
			double r = d(m->totals.cause[i], t->totals.cause[i]) / dt_s;

			if (r > 0)
				off += (size_t)snprintf(why + off, sizeof(why) - off, "%s%s%s %.1f",
							off ? ", " : "",
							i >= TC_CAUSE_FIRST_RECEIVED ? "reset received in " : "",
							tc_cause_name(i), r);
		}
		/* and the resets no socket of ours owns: no process, no row */
		for (int i = 0; m->reset_hook && i < TC_NR_MAX && off < sizeof(why); i++) {
			double r = d(m->nosock_total[i], t->nosock[i]) / dt_s;

			if (r > 0)
				off += (size_t)snprintf(why + off, sizeof(why) - off,
							"%sreset for %s %.1f", off ? ", " : "",
							i == TC_NR_NO_SOCKET ? "no socket" : "time_wait",
							r);
		}
		if (off)
			fprintf(f, "why/s: %s\n", why);
	}
	if (m->health.closes_unseen || m->health.missed_runs)
		fprintf(f, "not seen: %" PRIu64 " closes, %" PRIu64 " skipped runs\n",
			(uint64_t)m->health.closes_unseen, (uint64_t)m->health.missed_runs);
	if (m->health.events_lost || m->health.socks_evicted || m->health.peers_evicted ||
	    m->health.procs_evicted)
		fprintf(f, "evicted: sockets %" PRIu64 ", processes %" PRIu64 ", peers %" PRIu64 "\n",
			(uint64_t)m->health.socks_evicted, (uint64_t)m->health.procs_evicted,
			(uint64_t)m->health.peers_evicted);
	fputc('\n', f);
	table(f, t, m, 0, dt_s, sort, rows);
	fputc('\n', f);
	table(f, t, m, 1, dt_s, sort, rows);
}
