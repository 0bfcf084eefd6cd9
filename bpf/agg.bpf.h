/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Adding to the three levels at once: totals (per-CPU, plain adds), the
 * process row and the peer row (shared LRU rows, atomic adds).
 */
#ifndef TCPCLOSE_AGG_BPF_H
#define TCPCLOSE_AGG_BPF_H

#include "maps.bpf.h"
#include "closestate.h"
#include "rowmath.h"
#include "owner.bpf.h"


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

/* Account a timewait event to totals and to the rows of rk (the closing
 * socket's, or the connecting one's for a reuse hit). */

static __always_inline void tc_tw_bump2(const struct tc_peer_key *rk, int ev, int arg,
					__s64 dur_ms, int ev2)
{
	struct tc_counts *c;
	__u32 zero = 0;

	if (record_events) {
		struct tc_tw_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

		if (e) {
			e->type = TC_EV_TW;
			e->arg = arg;
			e->ts_ns = bpf_ktime_get_ns();
			e->dur_ms = dur_ms;
			e->row = *rk;
			e->ev = ev;
			e->ev2 = ev2;
			bpf_ringbuf_submit(e, bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >=
					      wakeup_bytes ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
		} else {
			tc_stat_inc(TC_STAT_RB_LOST);
		}
	}

	c = bpf_map_lookup_elem(&totals, &zero);
	if (c) {
		tc_twc_apply(c, ev, arg, dur_ms, false);
		if (ev2 >= 0)
			tc_twc_apply(c, ev2, 0, -1, false);
	}
	c = tc_row(&procs, &rk->proc, TC_STAT_PROC_INSERTS);
	if (c) {
		tc_twc_apply(c, ev, arg, dur_ms, true);
		if (ev2 >= 0)
			tc_twc_apply(c, ev2, 0, -1, true);
	}
	c = tc_row(&peers, rk, TC_STAT_PEER_INSERTS);
	if (c) {
		tc_twc_apply(c, ev, arg, dur_ms, true);
		if (ev2 >= 0)
			tc_twc_apply(c, ev2, 0, -1, true);
	}
}

/* ev2: a second event for the same rows (one lookup each), or -1. */
static __always_inline void tc_tw_bump(const struct tc_peer_key *rk, int ev, int arg,
				       __s64 dur_ms)
{
	tc_tw_bump2(rk, ev, arg, dur_ms, -1);
}

/* trace/record: a record per closed socket. */

/* The ring-buffer record of a closed socket: what its close added to the
 * rows, so `trace` can print it and a recording can rebuild the rows. */
static __always_inline void tc_emit_close(const struct tc_sock *s, __u64 now,
					  const struct tc_closed *x)
{
	struct tc_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	__u64 flags;

	if (!e) {
		tc_stat_inc(TC_STAT_RB_LOST);
		return;
	}
	e->type = TC_EV_CLOSE;
	e->cause = s->cause;
	e->pad0 = 0;
	e->idle_s = x->idle_s;
	e->ts_ns = now;
	e->lifetime_ns = x->lifetime_ns;
	e->bytes_in = x->bytes_in;
	e->bytes_out = x->bytes_out;
	e->path = s->path;
	e->tuple = s->tuple;
	e->owner = s->owner;
	e->segs_in = x->segs_in;
	e->segs_out = x->segs_out;
	e->netns = s->netns;
	e->role = s->role;
	e->kind = s->kind;
	e->path_len = s->path_len;
	e->flags = s->flags;
	e->err = s->err;
	e->retries = s->retries;
	e->reuse_refused = s->reuse_refused;
	e->connfail = s->connfail;
	e->oldstate = x->oldstate;
	flags = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes ?
		BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
	bpf_ringbuf_submit(e, flags);
}

/*
 * A timeout's idle time to a row, as the record holds it. Read from the
 * record (map memory, which the verifier does not follow) right where it is
 * added: its branch leaves nothing behind, so the paths after it merge
 * again. Carried on the stack from the cause's branches, it doubled every
 * path through the rest of the close, past the 1M instructions 6.1's and
 * 6.12's verifiers allow.
 */
static __always_inline void tc_idle_of(struct tc_counts *c, const struct tc_sock *s, bool atomic)
{
	__u32 v = s->idle1;

	if (v)
		tc_idle_apply(c, (__u16)(v - 1), atomic);
}

/*
 * A closed socket to totals, its process row and its peer row (rk, for
 * the caller's timewait record), and its event. At its CLOSE (state.bpf.c)
 * or, for one a reset of ours may follow, when the reset came or user
 * space found none did (pending.bpf.c). A caller that can interrupt the
 * state handler on its CPU, or be preempted, adds atomically, to totals[1].
 */
static __always_inline void tc_charge_closed(const struct tc_sock *s, const struct tc_closed *x,
					     __u64 now, struct tc_peer_key *rk, bool atomic_totals)
{
	struct tc_delta d = {};
	struct tc_proc_key pk;
	struct tc_counts *c;
	__u32 tk = atomic_totals;	/* totals[1]: see maps.bpf.h */

	tc_close_delta(&d, x);
	c = bpf_map_lookup_elem(&totals, &tk);
	if (c) {
		tc_close_apply(c, &d, x, port_hooks, atomic_totals);
		tc_idle_of(c, s, atomic_totals);
	}
	tc_row_keys(&pk, rk, &s->owner, &s->tuple, s->netns, s->role);
	c = tc_row(&procs, &pk, TC_STAT_PROC_INSERTS);
	if (c) {
		tc_close_apply(c, &d, x, port_hooks, true);
		tc_idle_of(c, s, true);
	}
	c = tc_row(&peers, rk, TC_STAT_PEER_INSERTS);
	if (c) {
		tc_close_apply(c, &d, x, port_hooks, true);
		tc_idle_of(c, s, true);
	}
	if (emit_events)
		tc_emit_close(s, now, x);
}

/*
 * A socket that ended without its CLOSE reaching us (the kernel skipped the
 * run): its record goes to totals and rows as kind TC_CK_UNSEEN, so that
 * per row closes seen + unseen == sockets followed. Its timewait socket,
 * when the caller found one (TC_SF_TIMEWAIT in s), is followed from here,
 * its length unknown. A caller that a state program can interrupt on its
 * CPU (sweep.bpf.c, sleepable) adds atomically, to totals[1].
 */
static __always_inline int tc_charge_unseen(struct tc_sock *s, __u64 now, bool atomic_totals)
{
	struct tc_proc_key pk;
	struct tc_peer_key rk;
	struct tc_counts *c;
	__u32 tk = atomic_totals;	/* totals[1]: see maps.bpf.h */

	if (!tc_owner_matches(&s->owner)) {
		tc_stat_inc(TC_STAT_FILTERED);
		return TC_SWR_FILTERED;
	}
	s->kind = TC_CK_UNSEEN;
	c = bpf_map_lookup_elem(&totals, &tk);
	if (c)
		tc_unseen_apply(c, s, port_hooks, atomic_totals);
	tc_row_keys(&pk, &rk, &s->owner, &s->tuple, s->netns, s->role);
	c = tc_row(&procs, &pk, TC_STAT_PROC_INSERTS);
	if (c)
		tc_unseen_apply(c, s, port_hooks, true);
	c = tc_row(&peers, &rk, TC_STAT_PEER_INSERTS);
	if (c)
		tc_unseen_apply(c, s, port_hooks, true);
	if ((s->flags & TC_SF_TIMEWAIT) && tw_hooks) {
		struct tc_tw tw = { .row = rk };	/* start 0: length unknown */
		struct tc_tw_key tk = { .tuple = s->tuple, .netns = s->netns };

		if (bpf_map_update_elem(&tws, &tk, &tw, BPF_NOEXIST))
			tc_stat_inc(TC_STAT_TW_INSERT_FAIL);
	}
	if (emit_events) {
		struct tc_closed x = {};	/* nothing measured: no bytes, no state left */

		tc_emit_close(s, now, &x);
	}
	return TC_SWR_CHARGED;
}

#endif /* TCPCLOSE_AGG_BPF_H */
