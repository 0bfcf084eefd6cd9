// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <search.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "budget.h"

/* tsearch(3) keys: the inode itself, in the pointer. */
static int cmp_ino(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;

	return x < y ? -1 : x > y;
}

static void no_free(void *p)
{
	(void)p;
}

static int peer_dest_cmp(const void *a, const void *b, void *ctx)
{
	const struct tc_peer_row *p = ctx;

	return tc_dest_cmp(&p[*(const size_t *)a].key, &p[*(const size_t *)b].key);
}

/*
 * The budget is the destination's, whoever connects: every process's
 * connects toward it spend it. att[i]: the connects toward client row i's
 * destination (tc_same_dest), by sorting rather than comparing every pair.
 */
__u64 *tc_dest_attempts(const struct tc_model *m)
{
	size_t np = m->npeers;
	__u64 *att = calloc(np ? 3 * np : 1, sizeof(*att));
	size_t *idx = malloc((m->npeers ? m->npeers : 1) * sizeof(*idx)), n = 0;

	if (!att || !idx) {
		free(att);
		free(idx);
		return NULL;
	}
	for (size_t i = 0; i < m->npeers; i++)
		if (m->peers[i].key.role == TC_ROLE_CLIENT)
			idx[n++] = i;
	qsort_r(idx, n, sizeof(*idx), peer_dest_cmp, m->peers);
	for (size_t g = 0; g < n;) {
		size_t e = g;
		__u64 sum = 0, closed = 0, tw = 0;

		while (e < n && tc_same_dest(&m->peers[idx[g]].key, &m->peers[idx[e]].key)) {
			const struct tc_counts *c = &m->peers[idx[e++]].c;
			__u64 failed = c->conn.port_exhausted + c->conn.bind_conflict;

			sum += c->conn.attempts;
			closed += c->closed > failed ? c->closed - failed : 0;
			tw += c->timewait;
		}
		for (; g < e; g++) {
			att[idx[g]] = sum;
			att[np + idx[g]] = closed;
			att[2 * np + idx[g]] = tw;
		}
	}
	free(idx);
	return att;
}

/* Appended in the order the rows name them (busiest first), each once:
 * a tree of the inodes seen keeps that n log n for any number of netns. */
int tc_budget_netns_slots(struct tc_model *m)
{
	struct tc_netns_info *n;
	void *seen = NULL;
	size_t add = 0;
	int err = 0;

	for (size_t i = 0; i < m->nnetns; i++)
		if (!tsearch((void *)(uintptr_t)m->netns[i].ino, &seen, cmp_ino))
			goto nomem;
	for (size_t i = 0; i < m->npeers; i++)
		add += m->peers[i].key.role == TC_ROLE_CLIENT;
	if (!add)
		goto out;
	n = realloc(m->netns, (m->nnetns + add) * sizeof(*n));
	if (!n)
		goto nomem;
	m->netns = n;
	for (size_t i = 0; i < m->npeers; i++) {
		void *key = (void *)(uintptr_t)m->peers[i].key.netns;

		if (m->peers[i].key.role != TC_ROLE_CLIENT || tfind(key, &seen, cmp_ino))
			continue;
		if (!tsearch(key, &seen, cmp_ino))
			goto nomem;
		memset(&m->netns[m->nnetns], 0, sizeof(m->netns[0]));
		m->netns[m->nnetns++].ino = m->peers[i].key.netns;
	}
	goto out;
nomem:
	err = -ENOMEM;
out:
	tdestroy(seen, no_free);
	return err;
}

/* The ports of client row i of netns ni. */
static void apply_row(struct tc_model *m, size_t i, const struct tc_netns_info *ni,
		      const struct tc_portrec *recs, size_t nrecs, int known, const __u64 *att)
{
	struct tc_peer_row *r = &m->peers[i];
	struct tc_ports *p = &r->ports;
	__u64 closed, tw;
	bool reusable;

	p->known = known;
	p->range = ni->usable;
	tc_count_dest_sorted(recs, nrecs, &r->key.tuple, ni->port_lo, ni->port_hi,
			     &p->in_use, &p->time_wait);
	p->utilisation = p->range ? (double)p->in_use / p->range : 1.0;
	p->rate = m->duration_s > 0 ? (double)att[i] / m->duration_s : 0;
	p->tw_len_s = TC_TIMEWAIT_LEN_S;
	/* a port is held by the side that holds the TIME_WAIT: where the peer
	 * closes first, this side's port is free when the socket closes */
	closed = att[m->npeers + i];
	tw = att[2 * m->npeers + i];
	p->tw_share = !closed ? 1.0 : tw >= closed ? 1.0 : (double)tw / (double)closed;
	reusable = tc_tw_reusable(ni->tw_reuse, r->key.tuple.family, r->key.tuple.raddr);
	p->hold_s = reusable ? TC_TW_REUSE_DELAY_S : p->tw_len_s;
	p->exhaustion_s = tc_exhaustion_s(p->range, p->in_use, p->time_wait, p->rate * p->tw_share,
					  p->tw_len_s, reusable);
}

void tc_budget_apply(struct tc_model *m, const struct tc_netns_info *ni, struct tc_portrec *recs,
		     size_t nrecs, int known, const __u64 *att)
{
	tc_sort_recs(recs, nrecs);
	for (size_t i = 0; i < m->npeers; i++)
		if (m->peers[i].key.role == TC_ROLE_CLIENT && m->peers[i].key.netns == ni->ino)
			apply_row(m, i, ni, recs, nrecs, known, att);
}

static int by_netns(const void *a, const void *b, void *ctx)
{
	const struct tc_peer_row *p = ctx;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	if (p[x].key.netns != p[y].key.netns)
		return p[x].key.netns < p[y].key.netns ? -1 : 1;
	return x < y ? -1 : x > y;
}

size_t *tc_budget_rows(const struct tc_model *m, size_t *n)
{
	size_t *rows = malloc((m->npeers ? m->npeers : 1) * sizeof(*rows));

	*n = 0;
	if (!rows)
		return NULL;
	for (size_t i = 0; i < m->npeers; i++)
		if (m->peers[i].key.role == TC_ROLE_CLIENT)
			rows[(*n)++] = i;
	qsort_r(rows, *n, sizeof(*rows), by_netns, m->peers);
	return rows;
}

void tc_budget_apply_rows(struct tc_model *m, const struct tc_netns_info *ni,
			  struct tc_portrec *recs, size_t nrecs, int known, const __u64 *att,
			  const size_t *rows, size_t nrows)
{
	size_t lo = 0, hi = nrows;

	tc_sort_recs(recs, nrecs);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->peers[rows[mid]].key.netns < ni->ino)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < nrows && m->peers[rows[lo]].key.netns == ni->ino; lo++)
		apply_row(m, rows[lo], ni, recs, nrecs, known, att);
}
