// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * blackhole (timeouter.c): drops the TCP segments of chosen ports on a
 * namespace's loopback, both ways, silently: what a dead peer or a
 * middlebox that forgot the flow looks like, so connections time out.
 * Generic XDP: lo has no driver mode, and qdiscs (netem) may not be built.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD

/* port (host order) -> nonzero: drop */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u32);
} drop_port SEC(".maps");

static __always_inline int dropped(__u16 port)
{
	__u32 k = port, *v = bpf_map_lookup_elem(&drop_port, &k);

	return v && *v;
}

SEC("xdp")
int blackhole(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct tcphdr *th;

	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > end || ip->protocol != IPPROTO_TCP)
			return XDP_PASS;
		th = (void *)ip + ip->ihl * 4;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end || ip6->nexthdr != IPPROTO_TCP)
			return XDP_PASS;
		th = (void *)(ip6 + 1);
	} else {
		return XDP_PASS;
	}
	if ((void *)(th + 1) > end)
		return XDP_PASS;
	if (dropped(bpf_ntohs(th->source)) || dropped(bpf_ntohs(th->dest)))
		return XDP_DROP;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
