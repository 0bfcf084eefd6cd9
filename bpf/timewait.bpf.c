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
 * (FIN_WAIT2 -> TIME_WAIT, or a retransmitted FIN), not an end.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "maps.bpf.h"
#include "core.bpf.h"
#include "agg.bpf.h"

extern const void tw_timer_handler __ksym __weak;
extern const void reqsk_timer_handler __ksym __weak;

/* A SYN recycle's request timer follows its cancel within microseconds. */
#define TC_RECYCLE_WINDOW_NS 2000000ULL

/* Set by user space before it reads the iterator: the netns's ephemeral
 * port range, to fold pre-existing sockets' ephemeral ports like live ones. */
__u32 iter_eph_lo = 32768, iter_eph_hi = 60999;

static __always_inline void *tc_container(struct timer_list *timer, __u32 off)
{
	return (void *)((char *)timer - off);
}

static __always_inline struct inet_timewait_sock *tc_tw_of(struct timer_list *timer)
{
	if (!&tw_timer_handler || BPF_CORE_READ(timer, function) != (void *)&tw_timer_handler)
		return NULL;
	return tc_container(timer, bpf_core_field_offset(struct inet_timewait_sock, tw_timer));
}

static __always_inline void tc_tw_key_of(const struct sock_common *skc, struct tc_tw_key *k)
{
	__builtin_memset(k, 0, sizeof(*k));
	tc_read_tuple_num(skc, &k->tuple);
	k->netns = BPF_CORE_READ(skc, skc_net.net, ns.inum);
}

static __always_inline void tc_tw_end(const struct tc_tw_key *k, int how, __u64 now)
{
	struct tc_tw *r = bpf_map_lookup_elem(&tws, k);
	struct tc_peer_key row;
	__s64 dur = -1;

	if (!r) {
		tc_stat_inc(TC_STAT_TW_UNKNOWN);
		return;
	}
	row = r->row;
	if (r->start_ns)
		dur = (now - r->start_ns) / 1000000;
	bpf_map_delete_elem(&tws, k);
	tc_tw_bump(&row, TC_TWV_END, how, dur);
}

/* A pending cancel that nothing explained: the socket was killed. */
static __always_inline void tc_flush_pending(struct tc_tw_pending *p)
{
	if (!p->tw)
		return;
	tc_tw_end(&p->key, TC_TWE_KILLED, p->ts_ns);
	p->tw = 0;
}

static __always_inline bool tc_key_eq(const struct tc_tw_key *a, const struct tc_tw_key *b)
{
	const __u64 *x = (const void *)a, *y = (const void *)b;

	_Static_assert(sizeof(*a) % 8 == 0, "tc_tw_key is compared in words");
#pragma unroll
	for (int i = 0; i < (int)(sizeof(*a) / 8); i++)
		if (x[i] != y[i])
			return false;
	return true;
}

/* Did the thread that is connecting right now take this 4-tuple? */
static __always_inline bool tc_reused_by_current(const struct tc_tw_key *k,
						 struct tc_peer_key *conn_row)
{
	__u64 tid = bpf_get_current_pid_tgid();
	__u64 *skp = bpf_map_lookup_elem(&connecting, &tid);
	struct tc_tw_key ck;
	struct tc_sock *s;
	struct sock *sk;

	if (!skp)
		return false;
	sk = (struct sock *)*skp;
	/* A reuse happens inside connect(), before the SYN leaves: a marker
	 * left by an earlier connect of this thread must not match a later
	 * kill (an RST, say) of that connection's own TIME_WAIT. */
	if (BPF_CORE_READ(sk, __sk_common.skc_state) != TC_SYN_SENT)
		return false;
	__builtin_memset(&ck, 0, sizeof(ck));
	tc_read_tuple(sk, &ck.tuple);
	ck.netns = tc_sk_netns(sk);
	if (!tc_key_eq(&ck, k))
		return false;
	/* The hit belongs to the connecting socket's own client row. */
	__builtin_memset(conn_row, 0, sizeof(*conn_row));
	s = bpf_map_lookup_elem(&socks, skp);
	if (s) {
		conn_row->proc.cgroup_id = s->owner.cgroup_id;
		conn_row->proc.tgid = s->owner.tgid;
		__builtin_memcpy(conn_row->proc.comm, s->owner.comm, TC_COMM_LEN);
	}
	conn_row->tuple = ck.tuple;
	conn_row->tuple.lport = 0;
	conn_row->netns = ck.netns;
	conn_row->role = TC_ROLE_CLIENT;
	return true;
}

SEC("tp_btf/timer_start")
int BPF_PROG(tc_timer_start, struct timer_list *timer)
{
	struct inet_timewait_sock *tw = tc_tw_of(timer);
	struct tc_tw_pending *p;
	__u32 zero = 0;
	void *fn;

	p = bpf_map_lookup_elem(&tw_pending, &zero);
	if (!p)
		return 0;
	if (tw && (__u64)tw == p->tw) {
		p->tw = 0;	/* re-armed, still alive */
		return 0;
	}
	if (tw) {	/* a new timewait socket; its full socket closes next */
		struct tc_tw_key k;
		__u64 v = (__u64)tw;

		tc_tw_key_of(&tw->__tw_common, &k);
		bpf_map_update_elem(&tw_born, &k, &v, BPF_ANY);
		return 0;
	}
	if (!p->tw)
		return 0;	/* the common case: nothing pending */
	fn = BPF_CORE_READ(timer, function);
	if (&reqsk_timer_handler && fn == (void *)&reqsk_timer_handler &&
	    bpf_ktime_get_ns() - p->ts_ns < TC_RECYCLE_WINDOW_NS) {
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
	struct tc_peer_key conn_row;
	struct tc_tw_pending *p;
	struct tc_tw_key k;
	__u32 zero = 0;

	if (!tw)
		return 0;
	p = bpf_map_lookup_elem(&tw_pending, &zero);
	if (!p)
		return 0;
	tc_flush_pending(p);
	tc_tw_key_of(&tw->__tw_common, &k);
	if (!bpf_map_lookup_elem(&tws, &k)) {
		tc_stat_inc(TC_STAT_TW_UNKNOWN);
		return 0;
	}
	if (tc_reused_by_current(&k, &conn_row)) {
		tc_tw_end(&k, TC_TWE_REUSED, bpf_ktime_get_ns());
		if (tc_owner_matches(conn_row.proc.tgid, conn_row.proc.comm))
			tc_tw_bump(&conn_row, TC_TWV_REUSE_HIT, 0, -1);
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
	struct tc_tw_key k;

	if (!tw)
		return 0;
	tc_tw_key_of(&tw->__tw_common, &k);
	tc_tw_end(&k, TC_TWE_EXPIRED, bpf_ktime_get_ns());
	return 0;
}

static __always_inline bool tc_ephemeral(__u16 port)
{
	return port >= iter_eph_lo && port <= iter_eph_hi;
}

/*
 * Timewait sockets that existed before we started: no process, no start
 * time. Their ends are still counted; their lengths are not (unknown).
 */
SEC("iter/tcp")
int tc_iter_tw(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct tc_tw rec = {};
	struct tc_tw_key k;

	if (!skc || skc->skc_state != TC_TIME_WAIT)
		return 0;
	tc_tw_key_of(skc, &k);
	if (bpf_map_lookup_elem(&tws, &k))
		return 0;	/* already followed live */
	rec.row.tuple = k.tuple;
	rec.row.netns = k.netns;
	if (tc_ephemeral(k.tuple.lport) && !tc_ephemeral(k.tuple.rport)) {
		rec.row.role = TC_ROLE_CLIENT;
		rec.row.tuple.lport = 0;
	} else if (tc_ephemeral(k.tuple.rport) && !tc_ephemeral(k.tuple.lport)) {
		rec.row.role = TC_ROLE_SERVER;
		rec.row.tuple.rport = 0;
	}
	if (bpf_map_update_elem(&tws, &k, &rec, BPF_NOEXIST))
		return 0;
	tc_tw_bump(&rec.row, TC_TWV_PREEXISTING, 0, -1);
	return 0;
}
