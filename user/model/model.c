// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdlib.h>
#include <string.h>
#include "model.h"

void tc_model_init(struct tc_model *m)
{
	memset(m, 0, sizeof(*m));
}

void tc_model_free(struct tc_model *m)
{
	free(m->procs);
	free(m->peers);
	free(m->netns);
	free(m->nosocks);
	m->procs = NULL;
	m->peers = NULL;
	m->netns = NULL;
	m->nosocks = NULL;
	m->nnetns = 0;
	m->nprocs = m->npeers = m->cap_procs = m->cap_peers = 0;
	m->nnosocks = m->cap_nosocks = 0;
}

void tc_model_reset_rows(struct tc_model *m)
{
	m->nprocs = 0;
	m->npeers = 0;
	free(m->netns);
	m->netns = NULL;
	m->nnetns = 0;
	m->nnosocks = 0;
	memset(m->nosock_total, 0, sizeof(m->nosock_total));
	memset(&m->totals, 0, sizeof(m->totals));
	memset(&m->health, 0, sizeof(m->health));
}

static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t ncap;
	void *p;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 64;
	while (ncap < need)
		ncap *= 2;
	p = realloc(*arr, ncap * elem);
	if (!p)
		return -1;
	*arr = p;
	*cap = ncap;
	return 0;
}

int tc_model_add_proc(struct tc_model *m, const struct tc_proc_key *k,
		      const struct tc_counts *c)
{
	if (grow((void **)&m->procs, &m->cap_procs, m->nprocs + 1, sizeof(*m->procs)))
		return -1;
	m->procs[m->nprocs].key = *k;
	m->procs[m->nprocs].c = *c;
	m->procs[m->nprocs].cgroup = NULL;
	m->nprocs++;
	return 0;
}

int tc_model_add_peer(struct tc_model *m, const struct tc_peer_key *k,
		      const struct tc_counts *c)
{
	if (grow((void **)&m->peers, &m->cap_peers, m->npeers + 1, sizeof(*m->peers)))
		return -1;
	m->peers[m->npeers].key = *k;
	m->peers[m->npeers].c = *c;
	memset(&m->peers[m->npeers].ports, 0, sizeof(m->peers[m->npeers].ports));
	m->npeers++;
	return 0;
}

int tc_model_add_nosock(struct tc_model *m, const struct tc_nosock_key *k, __u64 resets)
{
	if (grow((void **)&m->nosocks, &m->cap_nosocks, m->nnosocks + 1, sizeof(*m->nosocks)))
		return -1;
	m->nosocks[m->nnosocks].key = *k;
	m->nosocks[m->nnosocks].resets = resets;
	m->nnosocks++;
	return 0;
}

__u64 tc_model_nosock_total(const struct tc_model *m)
{
	__u64 n = 0;

	for (int r = 0; r < TC_NR_MAX; r++)
		n += m->nosock_total[r];
	return n;
}

__u64 tc_model_nosock_other(const struct tc_model *m)
{
	__u64 rows = 0, total = tc_model_nosock_total(m);

	for (size_t i = 0; i < m->nnosocks; i++)
		rows += m->nosocks[i].resets;
	return total > rows ? total - rows : 0;
}

struct tc_counts *tc_model_proc_counts(struct tc_model *m, const struct tc_proc_key *k)
{
	for (size_t i = 0; i < m->nprocs; i++)
		if (!memcmp(&m->procs[i].key, k, sizeof(*k)))
			return &m->procs[i].c;
	return NULL;
}

struct tc_counts *tc_model_peer_counts(struct tc_model *m, const struct tc_peer_key *k)
{
	for (size_t i = 0; i < m->npeers; i++)
		if (!memcmp(&m->peers[i].key, k, sizeof(*k)))
			return &m->peers[i].c;
	return NULL;
}

static int cmp_u64_desc(__u64 a, __u64 b)
{
	return a < b ? 1 : a > b ? -1 : 0;
}

static int cmp_proc(const void *pa, const void *pb)
{
	const struct tc_proc_row *a = pa, *b = pb;
	int r = cmp_u64_desc(a->c.closed, b->c.closed);

	return r ? r : memcmp(&a->key, &b->key, sizeof(a->key));
}

static int cmp_peer(const void *pa, const void *pb)
{
	const struct tc_peer_row *a = pa, *b = pb;
	int r = cmp_u64_desc(a->c.closed, b->c.closed);

	return r ? r : memcmp(&a->key, &b->key, sizeof(a->key));
}

static int cmp_proc_key(const void *pa, const void *pb)
{
	const struct tc_proc_row *a = pa, *b = pb;

	return memcmp(&a->key, &b->key, sizeof(a->key));
}

static int cmp_peer_key(const void *pa, const void *pb)
{
	const struct tc_peer_row *a = pa, *b = pb;

	return memcmp(&a->key, &b->key, sizeof(a->key));
}

/* Sorts by key, then keeps the copy that counted most of each run. */
static size_t dedupe(void *rows, size_t n, size_t sz, int (*cmp)(const void *, const void *),
		     __u64 (*count)(const void *row))
{
	char *r = rows;
	size_t out = 0;

	if (n < 2)
		return n;
	qsort(rows, n, sz, cmp);
	for (size_t i = 0; i < n; i++) {
		char *dst = out ? r + (out - 1) * sz : r;

		if (out && !cmp(dst, r + i * sz)) {
			if (count(r + i * sz) > count(dst))
				memcpy(dst, r + i * sz, sz);
			continue;
		}
		if (out != i)
			memcpy(r + out * sz, r + i * sz, sz);
		out++;
	}
	return out;
}

static __u64 proc_closed(const void *row)
{
	return ((const struct tc_proc_row *)row)->c.closed;
}

static __u64 peer_closed(const void *row)
{
	return ((const struct tc_peer_row *)row)->c.closed;
}

static __u64 nosock_resets(const void *row)
{
	return ((const struct tc_nosock_row *)row)->resets;
}

static int cmp_nosock_key(const void *pa, const void *pb)
{
	const struct tc_nosock_row *a = pa, *b = pb;

	return memcmp(&a->key, &b->key, sizeof(a->key));
}

void tc_model_dedupe(struct tc_model *m)
{
	m->nprocs = dedupe(m->procs, m->nprocs, sizeof(*m->procs), cmp_proc_key, proc_closed);
	m->npeers = dedupe(m->peers, m->npeers, sizeof(*m->peers), cmp_peer_key, peer_closed);
	m->nnosocks = dedupe(m->nosocks, m->nnosocks, sizeof(*m->nosocks), cmp_nosock_key,
			     nosock_resets);
}

static int cmp_nosock(const void *pa, const void *pb)
{
	const struct tc_nosock_row *a = pa, *b = pb;
	int r = cmp_u64_desc(a->resets, b->resets);

	return r ? r : memcmp(&a->key, &b->key, sizeof(a->key));
}

void tc_model_sort(struct tc_model *m)
{
	if (m->nprocs)
		qsort(m->procs, m->nprocs, sizeof(*m->procs), cmp_proc);
	if (m->npeers)
		qsort(m->peers, m->npeers, sizeof(*m->peers), cmp_peer);
	if (m->nnosocks)
		qsort(m->nosocks, m->nnosocks, sizeof(*m->nosocks), cmp_nosock);
}

static __u64 sub_floor0(__u64 a, __u64 b)
{
	return a > b ? a - b : 0;
}

_Static_assert(sizeof(struct tc_counts) % sizeof(__u64) == 0, "tc_counts: u64 words only");

void tc_model_other(const struct tc_model *m, int peers, struct tc_counts *out)
{
	struct tc_counts sum = { 0 };
	const __u64 *t = (const __u64 *)&m->totals, *r = (const __u64 *)&sum;
	__u64 *o = (__u64 *)out;

	if (peers)
		for (size_t i = 0; i < m->npeers; i++)
			tc_counts_add(&sum, &m->peers[i].c);
	else
		for (size_t i = 0; i < m->nprocs; i++)
			tc_counts_add(&sum, &m->procs[i].c);
	for (size_t i = 0; i < sizeof(*out) / sizeof(__u64); i++)
		o[i] = sub_floor0(t[i], r[i]);
	out->tw.dur_max_ms = 0;
	out->tw.dur_min_ms1 = 0;
	out->idle_max_s = 0;	/* a maximum does not subtract: unknown (renderers) */
}

void tc_model_finish_health(struct tc_model *m)
{
	struct tc_health *h = &m->health;

	h->closes_unseen = h->stat[TC_STAT_STALE_AT_BIRTH] + h->stat[TC_STAT_SWEPT];
	/* Sockets born while both of their sets in the table were full
	 * (followed from their CLOSE, as if joined mid-life), and records
	 * that ended otherwise than at CLOSE or as unseen ones (none, by
	 * design: kept as the check that nothing is lost uncounted). */
	h->socks_evicted = h->stat[TC_STAT_SOCK_INSERT_FAIL] +
			   sub_floor0(h->stat[TC_STAT_SOCK_INSERTS],
				      h->stat[TC_STAT_SOCK_DELETES] + h->socks_live +
				      h->closes_unseen);
	h->procs_evicted = sub_floor0(h->stat[TC_STAT_PROC_INSERTS], m->nprocs);
	h->peers_evicted = sub_floor0(h->stat[TC_STAT_PEER_INSERTS], m->npeers);
	/* every stay entered (or found at start) has a record until its end */
	h->tws_evicted = 0;
	if (m->tw_hook) {
		__u64 ended = 0;

		for (int i = 0; i < TC_TWE_MAX; i++)
			ended += m->totals.tw.ended[i];
		h->tws_evicted = sub_floor0(m->totals.tw.entered + m->totals.tw.preexisting,
					    ended + h->tws_live);
	}
	h->events_lost = h->stat[TC_STAT_RB_LOST];
}

void tc_twcounts_add(struct tc_twcounts *dst, const struct tc_twcounts *src)
{
	dst->entered += src->entered;
	dst->fin_wait2 += src->fin_wait2;
	for (int i = 0; i < TC_TWE_MAX; i++)
		dst->ended[i] += src->ended[i];
	dst->overflow += src->overflow;
	dst->preexisting += src->preexisting;
	dst->reuse_hits += src->reuse_hits;
	dst->dur_count += src->dur_count;
	dst->dur_sum_ms += src->dur_sum_ms;
	if (src->dur_max_ms > dst->dur_max_ms)
		dst->dur_max_ms = src->dur_max_ms;
	if (src->dur_min_ms1 && (!dst->dur_min_ms1 || src->dur_min_ms1 < dst->dur_min_ms1))
		dst->dur_min_ms1 = src->dur_min_ms1;
	for (int i = 0; i < TC_TW_HIST; i++)
		dst->hist[i] += src->hist[i];
}

__s64 tc_tw_active(const struct tc_twcounts *t)
{
	__s64 n = (__s64)(t->entered + t->preexisting);

	for (int i = 0; i < TC_TWE_MAX; i++)
		n -= (__s64)t->ended[i];
	return n;
}

void tc_hist_bounds(int slot, double *lo, double *hi)
{
	*lo = slot ? (double)(1ULL << (slot - 1)) : 0.0;
	*hi = (double)(1ULL << slot);
}

double tc_hist_quantile(const __u64 *hist, int n, double q, __u64 min, __u64 max)
{
	__u64 total = 0, seen = 0;
	double want, lo, hi, r;

	for (int i = 0; i < n; i++)
		total += hist[i];
	if (!total)
		return -1;
	want = q * (double)total;
	for (int i = 0; i < n; i++) {
		if (!hist[i] || (double)(seen + hist[i]) < want) {
			seen += hist[i];
			continue;
		}
		/* linear within the bucket, narrowed to what was seen */
		tc_hist_bounds(i, &lo, &hi);
		if ((double)min > lo)
			lo = (double)min;
		if (max && (double)max + 1 < hi)
			hi = (double)max + 1;
		if (hi < lo)
			hi = lo;
		r = lo + (hi - lo) * ((want - (double)seen) / (double)hist[i]);
		/* lengths are whole ms, truncated: never say more than the max seen */
		return max && r > (double)max ? (double)max : r;
	}
	return (double)max;
}

int tc_dest_cmp(const struct tc_peer_key *x, const struct tc_peer_key *y)
{
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

bool tc_same_dest(const struct tc_peer_key *a, const struct tc_peer_key *b)
{
	return a->role == TC_ROLE_CLIENT && b->role == TC_ROLE_CLIENT && a->netns == b->netns &&
	       a->tuple.family == b->tuple.family && a->tuple.rport == b->tuple.rport &&
	       !memcmp(a->tuple.laddr, b->tuple.laddr, TC_ADDR_LEN) &&
	       !memcmp(a->tuple.raddr, b->tuple.raddr, TC_ADDR_LEN);
}

void tc_counts_add(struct tc_counts *dst, const struct tc_counts *src)
{
	dst->closed += src->closed;
	for (int i = 0; i < TC_CK_MAX; i++)
		dst->kind[i] += src->kind[i];
	dst->bytes_in += src->bytes_in;
	dst->bytes_out += src->bytes_out;
	dst->segs_in += src->segs_in;
	dst->segs_out += src->segs_out;
	dst->lifetime_ns += src->lifetime_ns;
	dst->one_exchange += src->one_exchange;
	dst->fin_then_reset += src->fin_then_reset;
	dst->fin_shutdown += src->fin_shutdown;
	dst->timewait += src->timewait;
	for (int i = 0; i < TC_CAUSE_MAX; i++)
		dst->cause[i] += src->cause[i];
	dst->idle_count += src->idle_count;
	dst->idle_sum_s += src->idle_sum_s;
	if (src->idle_max_s > dst->idle_max_s)
		dst->idle_max_s = src->idle_max_s;
	tc_twcounts_add(&dst->tw, &src->tw);
	tc_conncounts_add(&dst->conn, &src->conn);
}

void tc_conncounts_add(struct tc_conncounts *dst, const struct tc_conncounts *src)
{
	dst->attempts += src->attempts;
	dst->port_exhausted += src->port_exhausted;
	dst->bind_conflict += src->bind_conflict;
	dst->other_failed += src->other_failed;
	dst->port_retries += src->port_retries;
	dst->reuse_refused += src->reuse_refused;
	for (int i = 0; i < TC_RETRY_HIST; i++)
		dst->retry_hist[i] += src->retry_hist[i];
}

/* Over the closes seen: an unseen one's lifetime is not known. */
double tc_counts_avg_lifetime_ms(const struct tc_counts *c)
{
	__u64 n = c->closed - (c->kind[TC_CK_UNSEEN] < c->closed ? c->kind[TC_CK_UNSEEN] : c->closed);

	return n ? (double)c->lifetime_ns / (double)n / 1e6 : 0.0;
}
