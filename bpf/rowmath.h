/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What one event adds to a row of counts: a closed socket, its connect()
 * side, a timewait event. Included by the BPF programs (atomic adds on
 * shared rows, plain ones on per-CPU totals) and by user space, which
 * rebuilds the rows from a recording (replay.c) with the very same code.
 */
#ifndef TCPCLOSE_ROWMATH_H
#define TCPCLOSE_ROWMATH_H

#ifndef __VMLINUX_H__
#include <stdbool.h>
#endif
#include "closestate.h"

#define TC_ROW_ADD(atomic, field, v) \
	do { if (atomic) __sync_fetch_and_add(&(field), (v)); else (field) += (v); } while (0)

/* The rows a closed socket adds to: its process, and its peer, where client
 * sockets fold the ephemeral local port and server sockets the remote one. */
TC_INLINE void tc_row_keys(struct tc_proc_key *pk, struct tc_peer_key *rk,
			   const struct tc_owner *o, const struct tc_tuple *t, __u32 netns,
			   __u8 role)
{
	__builtin_memset(pk, 0, sizeof(*pk));
	pk->cgroup_id = o->cgroup_id;
	pk->tgid = o->tgid;
	__builtin_memcpy(pk->comm, o->comm, TC_COMM_LEN);
	__builtin_memset(rk, 0, sizeof(*rk));
	rk->proc = *pk;
	rk->tuple = *t;
	rk->netns = netns;
	rk->role = role;
	if (role == TC_ROLE_CLIENT)
		rk->tuple.lport = 0;	/* ephemeral */
	else if (role == TC_ROLE_SERVER)
		rk->tuple.rport = 0;
}

/* What one closed socket adds to a row (small: it lives on the BPF stack). */
struct tc_delta {
	__u64 bytes_in, bytes_out, segs_in, segs_out, lifetime_ns;
	__u8 one_exchange, fin_then_reset, timewait, cause, fin_shutdown;
};

TC_INLINE void tc_add(struct tc_counts *c, const struct tc_delta *d, int kind, bool atomic)
{
	TC_ROW_ADD(atomic, c->closed, 1);
	if (kind >= 0 && kind < TC_CK_MAX)
		TC_ROW_ADD(atomic, c->kind[kind], 1);
	TC_ROW_ADD(atomic, c->bytes_in, d->bytes_in);
	TC_ROW_ADD(atomic, c->bytes_out, d->bytes_out);
	TC_ROW_ADD(atomic, c->segs_in, d->segs_in);
	TC_ROW_ADD(atomic, c->segs_out, d->segs_out);
	TC_ROW_ADD(atomic, c->lifetime_ns, d->lifetime_ns);
	if (d->one_exchange)
		TC_ROW_ADD(atomic, c->one_exchange, 1);
	if (d->fin_then_reset)
		TC_ROW_ADD(atomic, c->fin_then_reset, 1);
	if (d->fin_shutdown)
		TC_ROW_ADD(atomic, c->fin_shutdown, 1);
	if (d->timewait)
		TC_ROW_ADD(atomic, c->timewait, 1);
	if (d->cause > TC_CAUSE_NONE && d->cause < TC_CAUSE_MAX)
		TC_ROW_ADD(atomic, c->cause[d->cause], 1);
}

/* A timeout's idle time (tc_idle_wanted), to a row: apart from tc_add, as
 * the state handler reads it from the socket's record (state.bpf.c). */
TC_INLINE void tc_idle_apply(struct tc_counts *c, __u16 idle_s, bool atomic)
{
	TC_ROW_ADD(atomic, c->idle_count, 1);
	TC_ROW_ADD(atomic, c->idle_sum_s, idle_s);
	/* a lost race only under-reports max by one concurrent timeout */
	if (idle_s > c->idle_max_s)
		c->idle_max_s = idle_s;
}

/* A client socket's connect() side, once per socket at its close. Port
 * retry counts exist only where the port search is hooked. */
TC_INLINE void tc_conn_apply(struct tc_conncounts *c, __u8 connfail, __u32 retries,
			     __u32 reuse_refused, bool port_hooks, bool atomic)
{
	TC_ROW_ADD(atomic, c->attempts, 1);
	if (connfail == TC_CF_PORT_EXHAUSTED)
		TC_ROW_ADD(atomic, c->port_exhausted, 1);
	else if (connfail == TC_CF_BIND_CONFLICT)
		TC_ROW_ADD(atomic, c->bind_conflict, 1);
	else if (connfail == TC_CF_OTHER)
		TC_ROW_ADD(atomic, c->other_failed, 1);
	if (port_hooks) {
		__u32 slot = tc_retry_slot(retries);

		if (retries)
			TC_ROW_ADD(atomic, c->port_retries, retries);
		if (reuse_refused)
			TC_ROW_ADD(atomic, c->reuse_refused, reuse_refused);
		if (slot < TC_RETRY_HIST)
			TC_ROW_ADD(atomic, c->retry_hist[slot], 1);
	}
}

/* What happened to a timewait socket (tc_tw_bump2, struct tc_tw_event). */
enum tc_twv {
	TC_TWV_ENTER = 0,	/* arg: 1 if it began in the FIN_WAIT2 substate */
	TC_TWV_END,		/* arg: enum tc_tw_end; dur_ms: its length, or -1 unknown */
	TC_TWV_OVERFLOW,
	TC_TWV_PREEXISTING,
	TC_TWV_REUSE_HIT,
	TC_TWV_FIN_TIMEOUT,	/* (as ev2 of an expiry) it expired in the FIN_WAIT2
				 * substate: TC_CAUSE_FIN_WAIT2 */
};

/* log2 bucket of a length in ms: [0,1) -> 0, [1,2) -> 1, [2,4) -> 2, ... */
TC_INLINE __u32 tc_log2_slot(__u64 ms)
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

TC_INLINE void tc_tw_apply(struct tc_twcounts *t, int ev, int arg, __s64 dur_ms, bool atomic)
{
	switch (ev) {
	case TC_TWV_ENTER:
		TC_ROW_ADD(atomic, t->entered, 1);
		if (arg)
			TC_ROW_ADD(atomic, t->fin_wait2, 1);
		break;
	case TC_TWV_END:
		if (arg >= 0 && arg < TC_TWE_MAX)
			TC_ROW_ADD(atomic, t->ended[arg], 1);
		if (dur_ms >= 0) {
			/* unsigned from here: 0..INT64_MAX, so ms + 1 cannot wrap */
			__u64 ms = (__u64)dur_ms;
			__u32 slot = tc_log2_slot(ms);

			TC_ROW_ADD(atomic, t->dur_count, 1);
			TC_ROW_ADD(atomic, t->dur_sum_ms, ms);
			if (slot < TC_TW_HIST)
				TC_ROW_ADD(atomic, t->hist[slot], 1);
			/* a lost race only under-reports max by one concurrent stay */
			if (ms > t->dur_max_ms)
				t->dur_max_ms = ms;
			if (!t->dur_min_ms1 || ms + 1 < t->dur_min_ms1)
				t->dur_min_ms1 = ms + 1;
		}
		break;
	case TC_TWV_OVERFLOW:
		TC_ROW_ADD(atomic, t->overflow, 1);
		break;
	case TC_TWV_PREEXISTING:
		TC_ROW_ADD(atomic, t->preexisting, 1);
		break;
	case TC_TWV_REUSE_HIT:
		TC_ROW_ADD(atomic, t->reuse_hits, 1);
		break;
	}
}

/* A timewait event to a row: its stay counts, or a FIN_WAIT2 timeout's
 * cause. */
TC_INLINE void tc_twc_apply(struct tc_counts *c, int ev, int arg, __s64 dur_ms, bool atomic)
{
	if (ev == TC_TWV_FIN_TIMEOUT)
		TC_ROW_ADD(atomic, c->cause[TC_CAUSE_FIN_WAIT2], 1);
	else
		tc_tw_apply(&c->tw, ev, arg, dur_ms, atomic);
}

/*
 * One closed socket, as the kernel saw it at ->CLOSE (state.bpf.c) and as
 * a recording keeps it (replay.c): what it adds to each of its rows.
 */
struct tc_closed {
	__u64 bytes_in, bytes_out, lifetime_ns;
	__u32 segs_in, segs_out, retries, reuse_refused;
	__u8 kind, role, oldstate, flags, connfail, cause;
	__u16 err;
	__u16 idle_s;	/* a timeout's idle time (tc_idle_wanted, tc_idle_apply) */
};

/*
 * A close a reset of ours may follow (tc_rst_may_follow), held until the
 * reset says why or user space finds none came (pending.bpf.c): the record
 * as classified at ->CLOSE and what it adds, charged once, by whoever takes
 * it out of the pending table.
 */
struct tc_pend {
	__u64 now;		/* the CLOSE (bpf_ktime_get_ns): the event's time */
	struct tc_closed x;
	struct tc_sock rec;
	__u8 linger2_neg;	/* TCP_LINGER2 < 0 (an orphan leaving FIN_WAIT2) */
	__u8 pad[3];
	__u32 write_seq;	/* its send sequence: which socket at the address it was */
};

/* The reset follows its close in the same call chain: microseconds, or
 * more where that chain is process context and preempted (data processed
 * from the socket's backlog). A reset later than this is not its own; user
 * space settles what waited this long (tracer.c). */
#define TC_PEND_RST_NS (100ULL * 1000 * 1000)

/* A pending close: its socket's address and the time of its CLOSE. The
 * address alone would not do: the next socket there may close (and wait
 * for its reset) before the first is settled. */
struct tc_pend_key {
	__u64 addr;
	__u64 now;
};

/* The settle program's argument (BPF_PROG_TEST_RUN): charge the close
 * pending at key as it was classified; res 1 if this call charged it. */
struct tc_pend_arg {
	struct tc_pend_key key;
	__u32 res;
	__u32 pad;
};

TC_INLINE void tc_close_delta(struct tc_delta *d, const struct tc_closed *x)
{
	d->bytes_in = x->bytes_in;
	d->bytes_out = x->bytes_out;
	d->segs_in = x->segs_in;
	d->segs_out = x->segs_out;
	d->lifetime_ns = x->lifetime_ns;
	d->one_exchange = x->kind != TC_CK_NEVER_ESTABLISHED &&
			  tc_is_one_exchange(x->segs_in, x->segs_out);
	d->fin_then_reset = tc_fin_then_reset(x->kind, x->oldstate, x->err, x->cause);
	d->timewait = !!(x->flags & TC_SF_TIMEWAIT);
	d->cause = x->cause;
	d->fin_shutdown = !!(x->flags & TC_SF_FIN_SHUTDOWN);
}

/* The row adds of one close: the close, its connect() side (clients), and
 * the timewait socket it left (or the one the full table refused). */
TC_INLINE void tc_close_apply(struct tc_counts *c, const struct tc_delta *d,
			      const struct tc_closed *x, bool port_hooks, bool atomic)
{
	tc_add(c, d, x->kind, atomic);
	if (x->role == TC_ROLE_CLIENT)
		tc_conn_apply(&c->conn, x->connfail, x->retries, x->reuse_refused, port_hooks,
			      atomic);
	if (x->flags & TC_SF_TIMEWAIT)	/* the FIN_WAIT2 substate: no FIN from the peer */
		tc_tw_apply(&c->tw, TC_TWV_ENTER, !(x->flags & TC_SF_FIN_IN), 0, atomic);
	else if (x->flags & TC_SF_OVERFLOW)
		tc_tw_apply(&c->tw, TC_TWV_OVERFLOW, 0, 0, atomic);
}

/*
 * A close the kernel never ran our program for (TC_CK_UNSEEN): what the
 * socket record knows goes to the row, nothing it does not. The attempt,
 * its port retries, and a timewait socket found at its tuple (then TC_SF_TIMEWAIT
 * is set, TC_SF_FIN_IN for the TIME_WAIT substate); no bytes, segments or
 * lifetime (renderers average lifetimes over the closes seen).
 */
TC_INLINE void tc_unseen_apply(struct tc_counts *c, const struct tc_sock *s, bool port_hooks,
			       bool atomic)
{
	/* A close like any other, of nothing: only the stay flags it knows. */
	struct tc_closed x = { .kind = TC_CK_UNSEEN, .role = s->role, .connfail = s->connfail,
			       .retries = s->retries, .reuse_refused = s->reuse_refused,
			       .flags = s->flags & (TC_SF_TIMEWAIT | TC_SF_FIN_IN) };
	struct tc_delta d = { 0 };

	d.timewait = !!(x.flags & TC_SF_TIMEWAIT);
	tc_close_apply(c, &d, &x, port_hooks, atomic);
}

#endif /* TCPCLOSE_ROWMATH_H */
