/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Adding to the three levels at once: totals (per-CPU, plain adds), the
 * process row and the peer row (shared LRU rows, atomic adds).
 */
#ifndef TCPCLOSE_AGG_BPF_H
#define TCPCLOSE_AGG_BPF_H

#include "maps.bpf.h"
#include "closestate.h"

/* Filters, defined (and set by user space) in state.bpf.c. */
extern const volatile __u32 target_tgid;
extern const volatile char target_comm[TC_COMM_LEN];
extern const volatile __u64 target_cgroup;

/* -p / -c / --cgroup: is this owner one we report? */
static __always_inline int tc_owner_matches(const struct tc_owner *o)
{
	if (target_tgid && o->tgid != target_tgid)
		return 0;
	if (target_cgroup && !o->in_cgroup)
		return 0;
	if (!target_comm[0])
		return 1;
	for (int i = 0; i < TC_COMM_LEN; i++) {
		if (o->comm[i] != target_comm[i])
			return 0;
		if (!o->comm[i])
			return 1;
	}
	return 1;
}

/* What one closed socket adds to a row (small: it lives on the BPF stack). */
struct tc_delta {
	__u64 bytes_in, bytes_out, segs_in, segs_out, lifetime_ns;
	__u8 one_exchange, fin_then_reset, timewait;
};

static __always_inline void tc_add(struct tc_counts *c, const struct tc_delta *d,
				   int kind)
{
	__sync_fetch_and_add(&c->closed, 1);
	if (kind >= 0 && kind < TC_CK_MAX)
		__sync_fetch_and_add(&c->kind[kind], 1);
	__sync_fetch_and_add(&c->bytes_in, d->bytes_in);
	__sync_fetch_and_add(&c->bytes_out, d->bytes_out);
	__sync_fetch_and_add(&c->segs_in, d->segs_in);
	__sync_fetch_and_add(&c->segs_out, d->segs_out);
	__sync_fetch_and_add(&c->lifetime_ns, d->lifetime_ns);
	if (d->one_exchange)
		__sync_fetch_and_add(&c->one_exchange, 1);
	if (d->fin_then_reset)
		__sync_fetch_and_add(&c->fin_then_reset, 1);
	if (d->timewait)
		__sync_fetch_and_add(&c->timewait, 1);
}

/* Port retry counts exist only where the port search is hooked. */
extern const volatile bool port_hooks;

/* A client socket's connect() side, once per socket at its close. */
static __always_inline void tc_conn_add(struct tc_conncounts *c, const struct tc_sock *s,
					bool atomic)
{
#define CN_ADD(field, v) do { if (atomic) __sync_fetch_and_add(&(field), (v)); else (field) += (v); } while (0)
	CN_ADD(c->attempts, 1);
	if (s->connfail == TC_CF_PORT_EXHAUSTED)
		CN_ADD(c->port_exhausted, 1);
	else if (s->connfail == TC_CF_BIND_CONFLICT)
		CN_ADD(c->bind_conflict, 1);
	else if (s->connfail == TC_CF_OTHER)
		CN_ADD(c->other_failed, 1);
	if (port_hooks) {
		__u32 slot = tc_retry_slot(s->retries);

		if (s->retries)
			CN_ADD(c->port_retries, s->retries);
		if (s->reuse_refused)
			CN_ADD(c->reuse_refused, s->reuse_refused);
		if (slot < TC_RETRY_HIST)
			CN_ADD(c->retry_hist[slot], 1);
	}
#undef CN_ADD
}

/* Find or create an LRU row; creation races are fine (NOEXIST, re-lookup). */
static __always_inline struct tc_counts *tc_row(void *map, const void *key, __u32 ins_stat)
{
	static const struct tc_counts zero;
	struct tc_counts *c = bpf_map_lookup_elem(map, key);

	if (c)
		return c;
	if (bpf_map_update_elem(map, key, &zero, BPF_NOEXIST) == 0)
		tc_stat_inc(ins_stat);
	c = bpf_map_lookup_elem(map, key);
	if (!c)
		tc_stat_inc(TC_STAT_AGG_FAIL);
	return c;
}

/* What happened to a timewait socket, for tc_tw_bump(). */
enum tc_tw_event {
	TC_TWV_ENTER = 0,	/* arg: 1 if it began in the FIN_WAIT2 substate */
	TC_TWV_END,		/* arg: enum tc_tw_end; dur_ms: its length, or -1 unknown */
	TC_TWV_OVERFLOW,
	TC_TWV_PREEXISTING,
	TC_TWV_REUSE_HIT,
};

/* log2 bucket of a length in ms: [0,1) -> 0, [1,2) -> 1, [2,4) -> 2, ... */
static __always_inline __u32 tc_log2_slot(__u64 ms)
{
	__u32 slot = 0;

	if (!ms)
		return 0;
	if (ms >> 16) { ms >>= 16; slot += 16; }
	if (ms >> 8) { ms >>= 8; slot += 8; }
	if (ms >> 4) { ms >>= 4; slot += 4; }
	if (ms >> 2) { ms >>= 2; slot += 2; }
	if (ms >> 1) { slot += 1; }
	slot += 1;
	return slot < TC_TW_HIST ? slot : TC_TW_HIST - 1;
}

static __always_inline void tc_tw_apply(struct tc_twcounts *t, int ev, int arg, __s64 dur_ms,
					bool atomic)
{
#define TW_ADD(field, v) do { if (atomic) __sync_fetch_and_add(&(field), (v)); else (field) += (v); } while (0)
	switch (ev) {
	case TC_TWV_ENTER:
		TW_ADD(t->entered, 1);
		if (arg)
			TW_ADD(t->fin_wait2, 1);
		break;
	case TC_TWV_END:
		if (arg >= 0 && arg < TC_TWE_MAX)
			TW_ADD(t->ended[arg], 1);
		if (dur_ms >= 0) {
			__u32 slot = tc_log2_slot(dur_ms);

			TW_ADD(t->dur_count, 1);
			TW_ADD(t->dur_sum_ms, dur_ms);
			if (slot < TC_TW_HIST)
				TW_ADD(t->hist[slot], 1);
			/* a lost race only under-reports max by one concurrent stay */
			if ((__u64)dur_ms > t->dur_max_ms)
				t->dur_max_ms = dur_ms;
			if (!t->dur_min_ms1 || (__u64)dur_ms + 1 < t->dur_min_ms1)
				t->dur_min_ms1 = dur_ms + 1;
		}
		break;
	case TC_TWV_OVERFLOW:
		TW_ADD(t->overflow, 1);
		break;
	case TC_TWV_PREEXISTING:
		TW_ADD(t->preexisting, 1);
		break;
	case TC_TWV_REUSE_HIT:
		TW_ADD(t->reuse_hits, 1);
		break;
	}
#undef TW_ADD
}

/* Account a timewait event to totals and to the rows of rk (the closing
 * socket's, or the connecting one's for a reuse hit). */
static __always_inline void tc_tw_bump2(const struct tc_peer_key *rk, int ev, int arg,
					__s64 dur_ms, int ev2)
{
	struct tc_counts *c;
	__u32 zero = 0;

	c = bpf_map_lookup_elem(&totals, &zero);
	if (c) {
		tc_tw_apply(&c->tw, ev, arg, dur_ms, false);
		if (ev2 >= 0)
			tc_tw_apply(&c->tw, ev2, 0, -1, false);
	}
	c = tc_row(&procs, &rk->proc, TC_STAT_PROC_INSERTS);
	if (c) {
		tc_tw_apply(&c->tw, ev, arg, dur_ms, true);
		if (ev2 >= 0)
			tc_tw_apply(&c->tw, ev2, 0, -1, true);
	}
	c = tc_row(&peers, rk, TC_STAT_PEER_INSERTS);
	if (c) {
		tc_tw_apply(&c->tw, ev, arg, dur_ms, true);
		if (ev2 >= 0)
			tc_tw_apply(&c->tw, ev2, 0, -1, true);
	}
}

/* ev2: a second event for the same rows (one lookup each), or -1. */
static __always_inline void tc_tw_bump(const struct tc_peer_key *rk, int ev, int arg,
				       __s64 dur_ms)
{
	tc_tw_bump2(rk, ev, arg, dur_ms, -1);
}

#endif /* TCPCLOSE_AGG_BPF_H */
