// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "budget.h"

static struct tc_netns_info *netns_slot(struct tc_model *m, __u32 ino)
{
	struct tc_netns_info *n;

	for (size_t i = 0; i < m->nnetns; i++)
		if (m->netns[i].ino == ino)
			return &m->netns[i];
	n = realloc(m->netns, (m->nnetns + 1) * sizeof(*n));
	if (!n)
		return NULL;
	m->netns = n;
	n = &m->netns[m->nnetns++];
	memset(n, 0, sizeof(*n));
	n->ino = ino;
	return n;
}

static int peer_dest_cmp(const void *a, const void *b, void *ctx)
{
	const struct tc_peer_row *p = ctx;
	const struct tc_peer_key *x = &p[*(const size_t *)a].key, *y = &p[*(const size_t *)b].key;
	int c;

	if (x->netns != y->netns)
		return x->netns < y->netns ? -1 : 1;
	if (x->tuple.family != y->tuple.family)
		return x->tuple.family < y->tuple.family ? -1 : 1;
	if (x->tuple.rport != y->tuple.rport)
		return x->tuple.rport < y->tuple.rport ? -1 : 1;
	if ((c = memcmp(x->tuple.laddr, y->tuple.laddr, TC_ADDR_LEN)))
		return c;
	return memcmp(x->tuple.raddr, y->tuple.raddr, TC_ADDR_LEN);
}

/*
 * The budget is the destination's, whoever connects: every process's
 * connects toward it spend it. att[i]: the connects toward client row i's
 * destination (tc_same_dest), by sorting rather than comparing every pair.
 */
__u64 *tc_dest_attempts(const struct tc_model *m)
{
	__u64 *att = calloc(m->npeers ? m->npeers : 1, sizeof(*att));
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
		__u64 sum = 0;

		while (e < n && tc_same_dest(&m->peers[idx[g]].key, &m->peers[idx[e]].key))
			sum += m->peers[idx[e++]].c.conn.attempts;
		for (; g < e; g++)
			att[idx[g]] = sum;
	}
	free(idx);
	return att;
}

int tc_budget_netns_slots(struct tc_model *m)
{
	for (size_t i = 0; i < m->npeers; i++)
		if (m->peers[i].key.role == TC_ROLE_CLIENT && !netns_slot(m, m->peers[i].key.netns))
			return -ENOMEM;
	return 0;
}

void tc_budget_apply(struct tc_model *m, const struct tc_netns_info *ni, struct tc_portrec *recs,
		     size_t nrecs, int known, const __u64 *att)
{
	tc_sort_recs(recs, nrecs);
	for (size_t i = 0; i < m->npeers; i++) {
		struct tc_peer_row *r = &m->peers[i];
		struct tc_ports *p = &r->ports;

		if (r->key.role != TC_ROLE_CLIENT || r->key.netns != ni->ino)
			continue;
		p->known = known;
		p->range = ni->usable;
		tc_count_dest_sorted(recs, nrecs, &r->key.tuple, ni->port_lo, ni->port_hi,
				     &p->in_use, &p->time_wait);
		p->utilisation = p->range ? (double)p->in_use / p->range : 1.0;
		p->rate = m->duration_s > 0 ? (double)att[i] / m->duration_s : 0;
		p->tw_len_s = TC_TIMEWAIT_LEN_S;
		p->exhaustion_s = tc_exhaustion_s(p->range, p->in_use, p->time_wait, p->rate,
						  p->tw_len_s,
						  tc_tw_reusable(ni->tw_reuse, r->key.tuple.family,
								 r->key.tuple.raddr));
	}
}
