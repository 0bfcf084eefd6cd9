// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Resets that no socket of ours owns: the kernel's answer to a segment for
 * a port nobody listens on or a connection it no longer knows (NO_SOCKET),
 * and those a timewait socket sends. No process: they are counted by the
 * port the segment came to and the address that sent it.
 *
 * tcp_send_reset carries the kernel's reason since 6.10 and fires for these
 * only since then (before, only for full sockets: docs/kernel-survey-causes.md);
 * user space loads this program only where enum sk_rst_reason exists. It
 * runs once per reset sent, nowhere else.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "maps.bpf.h"
#include "core.bpf.h"

/* The segment being answered: who sent it, to which of our ports. Its
 * headers are in place (tcp_v4_rcv/tcp_v6_rcv pulled them). */
static __always_inline int tc_rst_key(const struct sk_buff *skb, struct tc_nosock_key *k)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 nh = BPF_CORE_READ(skb, network_header);
	__u16 th = BPF_CORE_READ(skb, transport_header);
	struct tcphdr t;
	__u8 ver;

	if (bpf_probe_read_kernel(&t, sizeof(t), head + th) ||
	    bpf_probe_read_kernel(&ver, 1, head + nh))
		return -1;
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

/* sk is NULL for NO_SOCKET, though the prototype does not say so: it is
 * never read here, the reason tells the kinds apart. */
SEC("tp_btf/tcp_send_reset")
int BPF_PROG(tc_rst_nosock, const struct sock *sk, const struct sk_buff *skb, int reason)
{
	struct tc_nosock_key k = {};
	struct tc_nosock_totals *tot;
	__u64 one = 1, *n;
	__u32 zero = 0;

	if (reason == bpf_core_enum_value(enum sk_rst_reason, SK_RST_REASON_NO_SOCKET))
		k.reason = TC_NR_NO_SOCKET;
	else if (reason == bpf_core_enum_value(enum sk_rst_reason, SK_RST_REASON_TCP_TIMEWAIT_SOCKET))
		k.reason = TC_NR_TIME_WAIT;
	else
		return 0;	/* a socket of ours: its close tells (state.bpf.c) */
	if (!skb || tc_rst_key(skb, &k))
		return 0;
	if (target_netns && k.netns != target_netns)
		return 0;
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
			return 0;
		}
		e->type = TC_EV_NOSOCK;
		e->pad = 0;
		e->ts_ns = bpf_ktime_get_ns();
		e->key = k;
		bpf_ringbuf_submit(e, bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes ?
				      BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
	}
	return 0;
}
