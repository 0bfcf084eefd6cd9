// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The floor of the overhead benchmark: the cheapest useful program on the
 * hook tcpclose's state path uses (a per-CPU count of TCP transitions).
 * What tcpclose costs above this is what its own work costs.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} transitions SEC(".maps");

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(floor_state, const struct sock *sk, int oldstate, int newstate)
{
	__u32 zero = 0;
	__u64 *n;

	if (sk->sk_protocol != IPPROTO_TCP)
		return 0;
	n = bpf_map_lookup_elem(&transitions, &zero);
	if (n)
		(*n)++;
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
