// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The life of timewait sockets, seen through their own timer. It works on
 * kernels with tracepoints only: every kernel timer passes these hooks, and
 * the first thing each does is compare timer->function with tw_timer_handler.
 *
 * A stay starts when state.bpf.c sees the full socket replaced at ->CLOSE
 * (it records the rows to charge, keyed by netns + 4-tuple). It ends:
 *   expired       timer_expire_entry of its timer;
 *   reused        timer_cancel inside the connect() that took its 4-tuple:
 *                 the connecting thread's socket has the very same tuple
 *                 (a SYN recycle in softirq on that thread would concern the
 *                 peer's, mirrored, tuple);
 *   syn_recycled  timer_cancel in packet processing followed, on this CPU,
 *                 by the request-socket timer of a SYN for the same tuple;
 *   killed        any other cancel (RST, netns teardown).
 * A cancel immediately followed by a start of the same timer is a re-arm
 * (FIN_WAIT2 -> TIME_WAIT, or a retransmitted FIN), not an end: the same
 * timewait socket (its 4-tuple too) within one __mod_timer() call. Not the
 * same address alone: timewait sockets are reused from their slab at once
 * (SLAB_TYPESAFE_BY_RCU), so after a kill the next one born on this CPU
 * often has the killed one's address, and taking its birth for a re-arm
 * lost the stay (one short against TcpExtTW; issue 21). An expiry's own
 * cancel (the wheel detaches the timer first) is no kill pending either.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "tw.bpf.h"

extern const void tw_timer_handler __ksym __weak;
extern const void reqsk_timer_handler __ksym __weak;

/* A SYN recycle's request timer follows its cancel within microseconds, as
 * a re-arm's start follows its cancel (TCG: tens of them). */
#define TC_RECYCLE_WINDOW_NS 2000000ULL
#define TC_REARM_WINDOW_NS 2000000ULL

/* timer is a tp_btf argument: a plain load, the cheapest filter there is. */
static __always_inline struct inet_timewait_sock *tc_tw_of(struct timer_list *timer)
{
	if (!&tw_timer_handler || timer->function != (void *)&tw_timer_handler)
		return NULL;
	return tc_tw_of_timer(timer);
}

/* A pending cancel that nothing explained: the socket was killed. */
static __always_inline void tc_flush_pending(struct tc_tw_pending *p)
{
	if (!p->tw)
		return;
	tc_tw_end(&p->key, TC_TWE_KILLED, p->ts_ns);
	p->tw = 0;
}

/* The socket the current thread is connecting, if it just took this 4-tuple. */
static __always_inline __u64 tc_reused_by_current(const struct tc_tw_key *k)
{
	__u64 *skp = bpf_task_storage_get(&connecting, bpf_get_current_task_btf(), NULL, 0);
	struct tc_tw_key ck;
	struct sock *sk;

	if (!skp)
		return 0;
	sk = (struct sock *)*skp;
	/* A reuse happens inside connect(), before the SYN leaves, and after
	 * the port is set (skc_num too): a marker left by an earlier connect
	 * of this thread must not match a later kill (an RST, say) of that
	 * connection's own TIME_WAIT. */
	if (tc_tw_key_of(&sk->__sk_common, &ck) != TC_SYN_SENT)
		return 0;
	return tc_key_eq(&ck, k) ? *skp : 0;
}

SEC("tp_btf/timer_start")
int BPF_PROG(tc_timer_start, struct timer_list *timer)
{
	struct inet_timewait_sock *tw = tc_tw_of(timer);
	struct tc_tw_pending *p;
	void *fn = timer->function;
	__u32 zero = 0;

	/* Most timers are neither kind this needs: leave before any lookup. */
	if (!tw && (!&reqsk_timer_handler || fn != (void *)&reqsk_timer_handler))
		return 0;
	p = bpf_map_lookup_elem(&tw_pending, &zero);
	if (!p)
		return 0;
	if (tw) {
		if ((__u64)tw == p->tw) {
			struct tc_tw_key k;

			tc_tw_key_of(&tw->__tw_common, &k);
			if (tc_key_eq(&k, &p->key) &&
			    bpf_ktime_get_ns() - p->ts_ns < TC_REARM_WINDOW_NS) {
				p->tw = 0;	/* re-armed, still alive */
				return 0;
			}
			tc_flush_pending(p);	/* killed; a new one at its address */
		}
		tc_tw_born(tw);	/* a new timewait socket; its full socket closes next */
		return 0;
	}
	if (!p->tw)
		return 0;	/* the common case: nothing pending */
	if (bpf_ktime_get_ns() - p->ts_ns < TC_RECYCLE_WINDOW_NS) {	/* a request timer */
		struct request_sock *req = tc_container(timer,
			bpf_core_field_offset(struct request_sock, rsk_timer));
		struct tc_tw_key k;

		tc_tw_key_of(&req->__req_common, &k);
		if (tc_key_eq(&k, &p->key)) {
			tc_tw_end(&p->key, TC_TWE_SYN_RECYCLED, p->ts_ns);
			p->tw = 0;
		}
	}
	return 0;
}

SEC("tp_btf/timer_cancel")
int BPF_PROG(tc_timer_cancel, struct timer_list *timer)
{
	struct inet_timewait_sock *tw = tc_tw_of(timer);
	struct tc_tw_pending *p;
	struct tc_tw_key k;
	struct tc_tw *r;
	__u64 conn_sk;
	__u32 zero = 0;

	if (!tw)
		return 0;
	p = bpf_map_lookup_elem(&tw_pending, &zero);
	if (!p)
		return 0;
	tc_flush_pending(p);
	tc_tw_key_of(&tw->__tw_common, &k);
	r = bpf_map_lookup_elem(&tws, &k);
	if (!r) {
		tc_stat_inc(TC_STAT_TW_UNKNOWN);
		/* a stay whose close is still to be charged: killed, unless
		 * its expiry or a re-arm's start says otherwise next */
		tc_born_over(&k, TC_TWE_KILLED);
		return 0;
	}
	conn_sk = tc_reused_by_current(&k);
	if (conn_sk) {
		tc_tw_end_reused(&k, conn_sk, bpf_ktime_get_ns(), r);
		return 0;
	}
	p->tw = (__u64)tw;
	p->ts_ns = bpf_ktime_get_ns();
	p->key = k;
	return 0;
}

SEC("tp_btf/timer_expire_entry")
int BPF_PROG(tc_timer_expire, struct timer_list *timer)
{
	struct inet_timewait_sock *tw = tc_tw_of(timer);
	struct tc_tw_pending *p;
	__u32 zero = 0;

	if (!tw)
		return 0;
	/* the cancel just before this was the wheel's detach: no kill */
	p = bpf_map_lookup_elem(&tw_pending, &zero);
	if (p && p->tw == (__u64)tw)
		p->tw = 0;
	tc_tw_expired(tw);
	return 0;
}
