// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The life of timewait sockets through the kernel's timewait functions, for
 * kernels with fentry or kprobes. Unlike the timer tracepoints these run
 * only when a timewait socket is born or dies, not for every kernel timer.
 *
 *   inet_twsk_hashdance()          born: hashed in place of the full socket
 *   (6.10+: ..._schedule())        (tw_born, for state.bpf.c's ->CLOSE; a
 *                                  tcp_max_tw_buckets overflow never gets
 *                                  here: ->CLOSE sees "no tw_born"). Not
 *                                  inet_twsk_alloc(): IPv6 addresses are
 *                                  copied in only after it returns.
 *   tw_timer_handler()             expired
 *   tcp_twsk_unique() returns 1    connect() takes the 4-tuple: reused
 *   tcp_timewait_state_process()   a SYN for the 4-tuple: syn_recycled
 *     returns TCP_TW_SYN
 *   inet_twsk_deschedule_put()     the end of every stay that is not an
 *                                  expiry: reused or syn_recycled when one of
 *                                  the two marks above names this socket,
 *                                  killed (RST) otherwise
 *   inet_twsk_purge() returns      netns teardown: killed, every stay whose
 *                                  netns is dying. Purge calls
 *                                  inet_twsk_deschedule_put() from the same
 *                                  file, where the compiler inlines it: the
 *                                  hook above never sees those.
 *
 * Both the reuse (connect, bottom halves off) and the SYN (softirq) run to
 * their deschedule on the CPU that set the mark, so a per-CPU mark is enough;
 * its age bound only guards against one that nothing consumed (a SYN with
 * no listener leaves the timewait socket alive).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "tw.bpf.h"

#define TC_MARK_MAX_AGE_NS 10000000ULL

/* Arguments kept from a kprobe for its kretprobe (which sees only the return). */
enum { TC_ARGS_UNIQUE = 0, TC_ARGS_STATE_PROCESS, TC_ARGS_MAX };

struct tc_fn_args {
	__u64 a0, a1;
};

struct tc_tw_mark {
	__u64 tw;	/* the inet_timewait_sock about to end, 0 when empty */
	__u64 sk;	/* the connecting socket, for a reuse */
	__u64 ts_ns;
	__u32 how;	/* enum tc_tw_end */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TC_ARGS_MAX);
	__type(key, __u32);
	__type(value, struct tc_fn_args);
} tw_fn_args SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tc_tw_mark);
} tw_mark SEC(".maps");

/* tw_born, with the substate it began in (tw.bpf.h). */
static __always_inline void tc_born(struct inet_timewait_sock *tw)
{
	if (tw)
		tc_tw_born(tw);
}

static __always_inline void tc_mark(__u64 tw, __u64 sk, __u32 how)
{
	struct tc_tw_mark *m;
	__u32 zero = 0;

	m = bpf_map_lookup_elem(&tw_mark, &zero);
	if (!m)
		return;
	m->tw = tw;
	m->sk = sk;
	m->how = how;
	m->ts_ns = bpf_ktime_get_ns();
}

static __always_inline void tc_gone(struct inet_timewait_sock *tw)
{
	__u64 now = bpf_ktime_get_ns();
	__u32 how = TC_TWE_KILLED, zero = 0;
	struct tc_tw_mark *m;
	struct tc_tw_key k;
	__u64 conn_sk = 0;

	m = bpf_map_lookup_elem(&tw_mark, &zero);
	if (m && m->tw == (__u64)tw && now - m->ts_ns < TC_MARK_MAX_AGE_NS) {
		how = m->how;
		conn_sk = m->sk;
	}
	if (m)
		m->tw = 0;
	tc_tw_key_of(&tw->__tw_common, &k);
	/* a hit counts where its stay was followed, as on the timer path */
	if (how == TC_TWE_REUSED)
		tc_tw_end_reused(&k, conn_sk, now, NULL);
	else
		tc_tw_end(&k, how, now);
}

static __always_inline void tc_unique_ret(__u64 sk, __u64 sktw, long ret)
{
	/* sktw is a timewait socket here: __inet_check_established only asks
	 * for those; 1 = the connect may take it over. */
	if (ret == 1)
		tc_mark(sktw, sk, TC_TWE_REUSED);
}

static __always_inline void tc_state_process_ret(__u64 tw, long ret)
{
	if (ret == bpf_core_enum_value(enum tcp_tw_status, TCP_TW_SYN))
		tc_mark(tw, 0, TC_TWE_SYN_RECYCLED);
}

/* net->ns's reference count was renamed in 6.18 (count -> __ns_ref). */
struct ns_common___old {
	refcount_t count;
} __attribute__((preserve_access_index));

struct net___old {
	struct ns_common___old ns;
} __attribute__((preserve_access_index));

static __always_inline int tc_net_refs(const struct net *net)
{
	if (bpf_core_field_exists(net->ns.__ns_ref))
		return BPF_CORE_READ(net, ns.__ns_ref.refs.counter);
	return BPF_CORE_READ((const struct net___old *)net, ns.count.refs.counter);
}

/* After a purge: the stays of every netns without references are over. */
static long tc_purged(struct bpf_map *map, struct tc_tw_key *k, struct tc_tw *r, void *now)
{
	struct tc_peer_key row;
	__s64 dur = -1;

	if (!r->net || tc_net_refs((const struct net *)r->net) != 0)
		return 0;
	row = r->row;
	if (r->start_ns)
		dur = (*(__u64 *)now - r->start_ns) / 1000000;
	bpf_map_delete_elem(map, k);
	tc_tw_bump(&row, TC_TWV_END, TC_TWE_KILLED, dur);
	return 0;
}

static __always_inline void tc_purge_done(void)
{
	__u64 now = bpf_ktime_get_ns();

	bpf_for_each_map_elem(&tws, tc_purged, &now, 0);
}

/* fentry / fexit. Returns are read with bpf_get_func_ret(): the argument
 * lists of tcp_timewait_state_process() grew in 6.10. */

/* One of each pair is loaded: user space asks the kernel's BTF which exists. */
SEC("fentry/inet_twsk_hashdance_schedule")
int BPF_PROG(tc_twf_born, struct inet_timewait_sock *tw)
{
	tc_born(tw);
	return 0;
}

SEC("fentry/inet_twsk_hashdance")
int BPF_PROG(tc_twf_born_old, struct inet_timewait_sock *tw)
{
	tc_born(tw);
	return 0;
}

SEC("fentry/tw_timer_handler")
int BPF_PROG(tc_twf_expire, struct timer_list *t)
{
	tc_tw_expired(tc_tw_of_timer(t));
	return 0;
}

SEC("fexit/tcp_twsk_unique")
int BPF_PROG(tc_twf_unique)
{
	__u64 sk = 0, sktw = 0, ret = 0;

	if (bpf_get_func_arg(ctx, 0, &sk) || bpf_get_func_arg(ctx, 1, &sktw) ||
	    bpf_get_func_ret(ctx, &ret))
		return 0;
	tc_unique_ret(sk, sktw, (int)ret);
	return 0;
}

SEC("fexit/tcp_timewait_state_process")
int BPF_PROG(tc_twf_state)
{
	__u64 tw = 0, ret = 0;

	if (bpf_get_func_arg(ctx, 0, &tw) || bpf_get_func_ret(ctx, &ret))
		return 0;
	tc_state_process_ret(tw, (int)ret);
	return 0;
}

SEC("fentry/inet_twsk_deschedule_put")
int BPF_PROG(tc_twf_gone, struct inet_timewait_sock *tw)
{
	tc_gone(tw);
	return 0;
}

SEC("fexit/inet_twsk_purge")
int BPF_PROG(tc_twf_purge)
{
	tc_purge_done();
	return 0;
}

/* kprobes: the same, with the arguments a kretprobe needs kept per CPU. */

static __always_inline void tc_keep_args(__u32 which, __u64 a0, __u64 a1)
{
	struct tc_fn_args *a = bpf_map_lookup_elem(&tw_fn_args, &which);

	if (a) {
		a->a0 = a0;
		a->a1 = a1;
	}
}

static __always_inline struct tc_fn_args *tc_kept_args(__u32 which)
{
	return bpf_map_lookup_elem(&tw_fn_args, &which);
}

SEC("kprobe/inet_twsk_hashdance_schedule")
int BPF_KPROBE(tc_twk_born, struct inet_timewait_sock *tw)
{
	tc_born(tw);
	return 0;
}

SEC("kprobe/inet_twsk_hashdance")
int BPF_KPROBE(tc_twk_born_old, struct inet_timewait_sock *tw)
{
	tc_born(tw);
	return 0;
}

SEC("kprobe/tw_timer_handler")
int BPF_KPROBE(tc_twk_expire, struct timer_list *t)
{
	tc_tw_expired(tc_tw_of_timer(t));
	return 0;
}

SEC("kprobe/tcp_twsk_unique")
int BPF_KPROBE(tc_twk_unique_in, struct sock *sk, struct sock *sktw)
{
	tc_keep_args(TC_ARGS_UNIQUE, (__u64)sk, (__u64)sktw);
	return 0;
}

SEC("kretprobe/tcp_twsk_unique")
int BPF_KRETPROBE(tc_twk_unique, int ret)
{
	struct tc_fn_args *a = tc_kept_args(TC_ARGS_UNIQUE);

	if (a && a->a1) {
		tc_unique_ret(a->a0, a->a1, ret);
		a->a1 = 0;
	}
	return 0;
}

SEC("kprobe/tcp_timewait_state_process")
int BPF_KPROBE(tc_twk_state_in, struct inet_timewait_sock *tw)
{
	tc_keep_args(TC_ARGS_STATE_PROCESS, (__u64)tw, 0);
	return 0;
}

SEC("kretprobe/tcp_timewait_state_process")
int BPF_KRETPROBE(tc_twk_state, int ret)
{
	struct tc_fn_args *a = tc_kept_args(TC_ARGS_STATE_PROCESS);

	if (a && a->a0) {
		tc_state_process_ret(a->a0, ret);
		a->a0 = 0;
	}
	return 0;
}

SEC("kprobe/inet_twsk_deschedule_put")
int BPF_KPROBE(tc_twk_gone, struct inet_timewait_sock *tw)
{
	tc_gone(tw);
	return 0;
}

SEC("kretprobe/inet_twsk_purge")
int BPF_KRETPROBE(tc_twk_purge)
{
	tc_purge_done();
	return 0;
}
