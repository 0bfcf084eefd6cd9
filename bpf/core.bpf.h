/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * CO-RE readers for struct sock and friends. Every read goes through
 * BPF_CORE_READ so the same object works from tp_btf/fentry (BTF pointers),
 * classic tracepoints and kprobes (plain kernel pointers).
 */
#ifndef TCPCLOSE_CORE_BPF_H
#define TCPCLOSE_CORE_BPF_H

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "tcpclose.h"

#define TC_AF_INET   2
#define TC_AF_INET6  10
#define TC_IPPROTO_TCP 6

/* Kernels before 5.15 have sock_cgroup_data as a union without ->cgroup. */
struct sock_cgroup_data___new {
	struct cgroup *cgroup;
};

static __always_inline __u32 tc_sk_netns(const struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
}

static __always_inline int tc_sk_is_tcp(const struct sock *sk)
{
	/* A bitfield before 5.6, a plain u16 since: the probed reader fits both. */
	return BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol) == TC_IPPROTO_TCP;
}

/* The cgroup the socket was charged to, right in any context; in process
 * context on kernels that lack the field, the current task's. */
static __always_inline __u64 tc_sk_cgroup(const struct sock *sk)
{
	struct sock_cgroup_data___new *scd = (void *)&sk->sk_cgrp_data;

	if (bpf_core_field_exists(scd->cgroup)) {
		struct cgroup *cg = BPF_CORE_READ(scd, cgroup);

		if (cg)
			return BPF_CORE_READ(cg, kn, id);
	}
	return bpf_get_current_cgroup_id();
}

static __always_inline void tc_v4mapped_fold(struct tc_tuple *t)
{
	__u32 *l = (__u32 *)t->laddr, *r = (__u32 *)t->raddr;
	__u32 mapped = bpf_htonl(0x0000ffff);

	if (l[0] || l[1] || l[2] != mapped || r[0] || r[1] || r[2] != mapped)
		return;
	l[0] = l[3];
	r[0] = r[3];
	l[1] = l[2] = l[3] = 0;
	r[1] = r[2] = r[3] = 0;
	t->family = TC_AF_INET;
}

/* skc_num reads 0 at ->CLOSE and before the port is chosen; inet_sport is
 * set by inet_hash_connect() and kept until the socket is freed. */
static __always_inline void tc_read_tuple(const struct sock *sk, struct tc_tuple *t)
{
	const struct inet_sock *inet = (const void *)sk;
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	t->family = family;
	t->lport = bpf_ntohs(BPF_CORE_READ(inet, inet_sport));
	t->rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (family == TC_AF_INET) {
		BPF_CORE_READ_INTO((__u32 *)t->laddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO((__u32 *)t->raddr, sk, __sk_common.skc_daddr);
	} else {
		BPF_CORE_READ_INTO(&t->laddr, sk,
				   __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&t->raddr, sk,
				   __sk_common.skc_v6_daddr.in6_u.u6_addr8);
		tc_v4mapped_fold(t);
	}
}

static __always_inline int tc_sk_err(const struct sock *sk)
{
	return BPF_CORE_READ(sk, sk_err);
}

/* Only call in process context, where current owns the socket. */
static __always_inline void tc_take_owner(struct tc_sock *s, const struct sock *sk)
{
	s->owner.tgid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(s->owner.comm, sizeof(s->owner.comm));
	s->owner.cgroup_id = tc_sk_cgroup(sk);
	s->flags |= TC_SF_OWNER;
}

#endif /* TCPCLOSE_CORE_BPF_H */
