// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Resets that no socket of ours owns: the kernel's answer to a segment for
 * a port nobody listens on or a connection it no longer knows (NO_SOCKET),
 * and those a timewait socket sends. No process: they are counted by the
 * port the segment came to and the address that sent it.
 *
 * tcp_send_reset carries the kernel's reason since 6.10 and fires for these
 * only since then (before, only for full sockets: docs/kernel-survey-causes.md).
 * Before 6.10 the function that sends them, tcp_v4/v6_send_reset(), is
 * hooked instead (fentry or kprobe): a NULL socket is NO_SOCKET, a timewait
 * one TIME_WAIT, and its early returns (no reset for a reset, none for a
 * segment not routed to this host) are mirrored so that what is counted is
 * what went out. Either way the program runs once per reset, nowhere else.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "maps.bpf.h"
#include "core.bpf.h"

/* The segment being answered: who sent it, to which of our ports, and
 * whether it was a reset itself. Its headers are in place (tcp_v4_rcv and
 * tcp_v6_rcv pulled them). */
static __always_inline int tc_rst_key(const struct sk_buff *skb, struct tc_nosock_key *k,
				      bool *rst)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 nh = BPF_CORE_READ(skb, network_header);
	__u16 th = BPF_CORE_READ(skb, transport_header);
	struct tcphdr t;
	__u8 ver;

	if (bpf_probe_read_kernel(&t, sizeof(t), head + th) ||
	    bpf_probe_read_kernel(&ver, 1, head + nh))
		return -1;
	*rst = t.rst;
	k->lport = bpf_ntohs(t.dest);
	if (ver >> 4 == 4) {
		struct iphdr ip;

		if (bpf_probe_read_kernel(&ip, sizeof(ip), head + nh))
			return -1;
		k->family = TC_AF_INET;
		__builtin_memcpy(k->raddr, &ip.saddr, 4);
	} else {
		struct ipv6hdr ip6;
		struct tc_tuple t6 = {};

		if (bpf_probe_read_kernel(&ip6, sizeof(ip6), head + nh))
			return -1;
		__builtin_memcpy(t6.raddr, &ip6.saddr, TC_ADDR_LEN);
		__builtin_memcpy(t6.laddr, &ip6.daddr, TC_ADDR_LEN);
		t6.family = TC_AF_INET6;
		tc_v4mapped_fold(&t6);
		k->family = t6.family;
		__builtin_memcpy(k->raddr, t6.raddr, TC_ADDR_LEN);
	}
	k->netns = BPF_CORE_READ(skb, dev, nd_net.net, ns.inum);
	return 0;
}

/* One reset for no socket: its total, its row, and for `record` an event. */
static __always_inline void tc_rst_count(const struct tc_nosock_key *kp)
{
	struct tc_nosock_key k = *kp;
	struct tc_nosock_totals *tot;
	__u64 one = 1, *n;
	__u32 zero = 0;

	if (target_netns && k.netns != target_netns)
		return;
	tot = bpf_map_lookup_elem(&nosock_totals, &zero);
	if (tot && k.reason < TC_NR_MAX)
		tot->resets[k.reason]++;
	n = bpf_map_lookup_elem(&nosocks, &k);
	if (n)
		__sync_fetch_and_add(n, 1);
	else if (bpf_map_update_elem(&nosocks, &k, &one, BPF_NOEXIST) &&
		 (n = bpf_map_lookup_elem(&nosocks, &k)))
		__sync_fetch_and_add(n, 1);	/* another CPU made it first */
	if (record_events) {
		struct tc_nosock_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

		if (!e) {
			tc_stat_inc(TC_STAT_RB_LOST);
			return;
		}
		e->type = TC_EV_NOSOCK;
		e->pad = 0;
		e->ts_ns = bpf_ktime_get_ns();
		e->key = k;
		bpf_ringbuf_submit(e, bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes ?
				      BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
	}
}

/* 6.10+: sk is NULL for NO_SOCKET, though the prototype does not say so: it
 * is never read here, the kernel's reason tells the kinds apart. */
SEC("tp_btf/tcp_send_reset")
int BPF_PROG(tc_rst_nosock, const struct sock *sk, const struct sk_buff *skb, int reason)
{
	struct tc_nosock_key k = {};
	bool rst;

	if (reason == bpf_core_enum_value(enum sk_rst_reason, SK_RST_REASON_NO_SOCKET))
		k.reason = TC_NR_NO_SOCKET;
	else if (reason == bpf_core_enum_value(enum sk_rst_reason, SK_RST_REASON_TCP_TIMEWAIT_SOCKET))
		k.reason = TC_NR_TIME_WAIT;
	else
		return 0;	/* a socket of ours: its close tells (state.bpf.c) */
	if (!skb || tc_rst_key(skb, &k, &rst))
		return 0;
	tc_rst_count(&k);
	return 0;
}

/* The segment was routed to this host (the check the kernel makes, for a
 * NULL socket only, before it answers). */
static __always_inline bool tc_dst_local(const struct sk_buff *skb, bool v6)
{
	unsigned long dst = BPF_CORE_READ(skb, _skb_refdst) & ~1UL;	/* SKB_DST_PTRMASK */

	if (!dst)
		return false;
	if (v6)
		return BPF_CORE_READ((struct rt6_info *)dst, rt6i_flags) & 0x80000000U;	/* RTF_LOCAL */
	return BPF_CORE_READ((struct rtable *)dst, rt_type) == 2;	/* RTN_LOCAL */
}

/*
 * Before 6.10: tcp_v4/v6_send_reset(sk, skb). skv is the socket as a number
 * (NULL is the point: a verifier that trusts the argument would drop the
 * test); a full socket's reset is its own close's business.
 */
static __always_inline int tc_rst_fn(__u64 skv, const struct sk_buff *skb, bool v6)
{
	struct tc_nosock_key k = {};
	bool rst;

	if (skv) {
		if (BPF_CORE_READ((struct sock_common *)skv, skc_state) != TC_TIME_WAIT)
			return 0;
		k.reason = TC_NR_TIME_WAIT;
	} else {
		k.reason = TC_NR_NO_SOCKET;
	}
	if (tc_rst_key(skb, &k, &rst) || rst)	/* never a reset for a reset */
		return 0;
	if (!skv && !tc_dst_local(skb, v6))
		return 0;
	tc_rst_count(&k);
	return 0;
}

static __always_inline __u64 tc_arg0(const __u64 *ctx)
{
	__u64 v = 0;

	bpf_probe_read_kernel(&v, sizeof(v), &ctx[0]);
	return v;
}

SEC("fentry/tcp_v4_send_reset")
int BPF_PROG(tc_rstf_v4, const struct sock *sk, struct sk_buff *skb)
{
	return tc_rst_fn(tc_arg0(ctx), skb, false);
}

SEC("fentry/tcp_v6_send_reset")
int BPF_PROG(tc_rstf_v6, const struct sock *sk, struct sk_buff *skb)
{
	return tc_rst_fn(tc_arg0(ctx), skb, true);
}

SEC("kprobe/tcp_v4_send_reset")
int BPF_KPROBE(tc_rstk_v4, const struct sock *sk, struct sk_buff *skb)
{
	return tc_rst_fn((__u64)sk, skb, false);
}

SEC("kprobe/tcp_v6_send_reset")
int BPF_KPROBE(tc_rstk_v6, const struct sock *sk, struct sk_buff *skb)
{
	return tc_rst_fn((__u64)sk, skb, true);
}
