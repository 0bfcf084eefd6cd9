// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The resets that tell why a socket of ours ended where its fields at
 * ->CLOSE cannot: new data after close() or shutdown(SHUT_RD), TCP_LINGER2
 * < 0, memory (docs/counting.md). The state handler holds such a close in
 * the pending table (tc_rst_may_follow), by address and time, and notes it
 * as its address's latest (pend_last); the reset the kernel sends right
 * after it, in the same call chain, finds it there and charges it with the
 * cause it tells.
 * When none comes (a reset really received, a full tcp_max_tw_buckets),
 * user space has it charged as it was classified at its next look
 * (tc_pend_settle). Whoever deletes the entry charges it: exactly once, and
 * every counter only ever grows.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "maps.bpf.h"
#include "core.bpf.h"
#include "agg.bpf.h"
#include "socktab.bpf.h"

/* Take the entry at key out of the table into this program's scratch:
 * NULL when another program or user space took it first. */
static __always_inline struct tc_pend *tc_pend_take(const struct tc_pend_key *key,
						    const struct tc_pend *p, __u32 idx)
{
	struct tc_pend *c = bpf_map_lookup_elem(&pend_scratch, &idx);

	if (!c)
		return NULL;
	*c = *p;	/* before the delete: the element is reused after it */
	if (bpf_map_delete_elem(&pending, key))
		return NULL;
	return c;
}

/*
 * A reset before the socket's end: an orphan's own timer found memory short
 * or too many orphans (tcp_out_of_resources: the reset, then tcp_done()).
 * Marked here for its CLOSE (state.bpf.c), which follows in the same call.
 * Without the kernel's reason, an active reset of an orphan still in
 * FIN_WAIT1, CLOSING or LAST_ACK is that one (the keepalive timer's kill of
 * an orphan is in FIN_WAIT2; ss -K leaves its own error).
 */
static __always_inline int tc_rst_before(const struct sock *sk, __u64 addr, int rk)
{
	int st = sk->__sk_common.skc_state;
	struct tc_rst_mark m = {};
	const struct tcp_sock *tp;

	if (rk == TC_RK_ACTIVE) {
		if (!(tc_sk_flags(sk, true) &
		      (1UL << bpf_core_enum_value(enum sock_flags, SOCK_DEAD))) ||
		    (st != TC_FIN_WAIT1 && st != TC_CLOSING && st != TC_LAST_ACK))
			return 0;
	} else if (rk != TC_RK_MEMORY) {
		return 0;
	}
	tp = bpf_skc_to_tcp_sock((void *)sk);
	if (!tp)
		return 0;
	m.ts_ns = bpf_ktime_get_ns();
	m.write_seq = tp->write_seq;
	bpf_map_update_elem(&rst_before, &addr, &m, BPF_ANY);
	return 0;
}

/* A reset of sk: if its close is pending and the reset names a cause for
 * it, charge the close with that cause. */
static __always_inline int tc_pend_reset(const struct sock *sk, int rk)
{
	struct tc_pend_key key = { .addr = tc_sk_addr(sk, TC_SCRATCH_RESET) };
	const struct tcp_sock *tp;
	struct tc_peer_key row;
	struct tc_pend *p, *c;
	__u64 *last;
	int cause;

	if (!sk || !key.addr)	/* 6.18 types sk as maybe NULL (NO_SOCKET's) */
		return 0;
	if (sk->__sk_common.skc_state != TC_CLOSE)
		return tc_rst_before(sk, key.addr, rk);
	last = bpf_map_lookup_elem(&pend_last, &key.addr);
	if (!last)
		return 0;
	key.now = *last;
	p = bpf_map_lookup_elem(&pending, &key);
	if (!p)
		return 0;
	cause = tc_rst_cause(rk, p->x.err, p->linger2_neg);
	if (cause == TC_CAUSE_NONE || bpf_ktime_get_ns() - p->now > TC_PEND_RST_NS ||
	    bpf_ntohs(sk->__sk_common.skc_dport) != p->rec.tuple.rport)	/* (CLOSE cleared
									 * the local one) */
		return 0;
	/* The same socket, not the next one at its address whose close did
	 * not wait (filtered, another netns, ...): its send sequence, which
	 * neither a reset nor the CLOSE moves. */
	tp = bpf_skc_to_tcp_sock((void *)sk);
	if (!tp || tp->write_seq != p->write_seq)
		return 0;
	c = tc_pend_take(&key, p, TC_PS_RESET);
	if (!c)
		return 0;
	tc_reset_told(&c->rec.cause, &c->rec.flags, cause);	/* (the record, its event) */
	tc_reset_told(&c->x.cause, &c->x.flags, cause);		/* (what the rows add) */
	tc_charge_closed(&c->rec, &c->x, c->now, &row, true);
	return 0;
}

/* 6.10+: the kernel's reason says which reset it is. */
SEC("tp_btf/tcp_send_reset")
int BPF_PROG(tc_pend_rst, const struct sock *sk, const struct sk_buff *skb, int reason)
{
	int rk;

	if (reason == bpf_core_enum_value(enum sk_rst_reason, SK_RST_REASON_TCP_ABORT_ON_DATA))
		rk = TC_RK_DATA;
	else if (reason == bpf_core_enum_value(enum sk_rst_reason, SK_RST_REASON_TCP_ABORT_ON_LINGER))
		rk = TC_RK_LINGER;
	else if (reason == bpf_core_enum_value(enum sk_rst_reason, SK_RST_REASON_TCP_ABORT_ON_MEMORY))
		rk = TC_RK_MEMORY;
	else
		return 0;
	return tc_pend_reset(sk, rk);	/* these come from full sockets: sk is set */
}

/*
 * Before 6.10 the tracepoint fires for full sockets only, with no reason:
 * an answer to a segment (tcp_v4/v6_send_reset) has one, a reset sent on
 * its own (tcp_send_active_reset) none. The segment as a number: a verifier
 * that trusts the argument would drop the test.
 */
SEC("tp_btf/tcp_send_reset")
int BPF_PROG(tc_pend_rst_old, const struct sock *sk, const struct sk_buff *skb)
{
	__u64 skbv = 0;

	bpf_probe_read_kernel(&skbv, sizeof(skbv), &ctx[1]);
	return tc_pend_reset(sk, skbv ? TC_RK_PASSIVE : TC_RK_ACTIVE);
}

/* User space's (BPF_PROG_TEST_RUN): no reset came for the close at key in
 * its time; charge it as classified at its CLOSE. */
SEC("syscall")
int tc_pend_settle(struct tc_pend_arg *a)
{
	struct tc_pend_key key = a->key;
	struct tc_pend *p = bpf_map_lookup_elem(&pending, &key), *c;
	struct tc_peer_key row;

	a->res = 0;
	if (!p)
		return 0;
	c = tc_pend_take(&key, p, TC_PS_SETTLE);
	if (!c)
		return 0;
	tc_charge_closed(&c->rec, &c->x, c->now, &row, true);
	a->res = 1;
	return 0;
}
