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

/*
 * One field: a plain load where ptr is a BTF pointer (tp_btf and fentry
 * arguments: the verifier makes such loads safe, and they cost a
 * nanosecond), a bpf_probe_read_kernel() elsewhere (classic tracepoints,
 * kprobes). `direct` is a constant at every call site, so each program keeps
 * only its own kind of read. Both relocate with CO-RE.
 */
#define TC_R(direct, ptr, field) ((direct) ? (ptr)->field : BPF_CORE_READ(ptr, field))
/* The same for a field that is, or once was, a bitfield. */
#define TC_RB(direct, ptr, field) \
	((direct) ? BPF_CORE_READ_BITFIELD(ptr, field) : BPF_CORE_READ_BITFIELD_PROBED(ptr, field))

/* The tcp_sock around a full socket. For a BTF pointer the verifier must
 * be told (bpf_skc_to_tcp_sock, NULL if not one) before it allows direct
 * loads past struct sock; a probe read just needs the address. */
static __always_inline const struct tcp_sock *tc_tcp_sk(const struct sock *sk, bool direct)
{
	if (direct)
		return bpf_skc_to_tcp_sock((void *)sk);
	return (const struct tcp_sock *)sk;
}

/* Kernels before 5.15 have sock_cgroup_data as a union without ->cgroup. */
struct sock_cgroup_data___new {
	struct cgroup *cgroup;
} __attribute__((preserve_access_index));

/* sk_flags lived in struct sock until it moved into sock_common (6.x). */
struct sock___flags_old {
	unsigned long sk_flags;
} __attribute__((preserve_access_index));

static __always_inline unsigned long tc_sk_flags(const struct sock *sk, bool direct)
{
	const struct sock_common *skc = (const void *)sk;

	if (bpf_core_field_exists(skc->skc_flags))
		return TC_R(direct, skc, skc_flags);
	return TC_R(direct, (const struct sock___flags_old *)sk, sk_flags);
}

static __always_inline __u32 tc_sk_netns(const struct sock *sk, bool direct)
{
	struct net *net = TC_R(direct, sk, __sk_common.skc_net.net);

	return TC_R(direct, net, ns.inum);
}

static __always_inline int tc_sk_is_tcp(const struct sock *sk, bool direct)
{
	/* A bitfield before 5.6, a plain u16 since: both readers fit both. */
	return TC_RB(direct, sk, sk_protocol) == TC_IPPROTO_TCP;
}

/* The cgroup the socket was charged to, right in any context; in process
 * context on kernels that lack the field, the current task's. */
static __always_inline __u64 tc_sk_cgroup(const struct sock *sk, bool direct)
{
	struct sock_cgroup_data___new *scd = (void *)&sk->sk_cgrp_data;

	if (bpf_core_field_exists(scd->cgroup)) {
		struct cgroup *cg = TC_R(direct, scd, cgroup);

		if (cg) {
			struct kernfs_node *kn = TC_R(direct, cg, kn);

			return TC_R(direct, kn, id);
		}
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

/* Addresses and remote port from the sock_common every socket kind has. */
static __always_inline void tc_read_tuple_skc(const struct sock_common *skc, __u16 lport,
					      struct tc_tuple *t, bool direct)
{
	__u16 family = TC_R(direct, skc, skc_family);

	t->family = family;
	t->lport = lport;
	t->rport = bpf_ntohs(TC_R(direct, skc, skc_dport));
	if (family == TC_AF_INET) {
		*(__u32 *)t->laddr = TC_R(direct, skc, skc_rcv_saddr);
		*(__u32 *)t->raddr = TC_R(direct, skc, skc_daddr);
	} else if (direct) {
		const __u32 *l = skc->skc_v6_rcv_saddr.in6_u.u6_addr32;
		const __u32 *r = skc->skc_v6_daddr.in6_u.u6_addr32;
		__u32 *lt = (__u32 *)t->laddr, *rt = (__u32 *)t->raddr;

		lt[0] = l[0], lt[1] = l[1], lt[2] = l[2], lt[3] = l[3];
		rt[0] = r[0], rt[1] = r[1], rt[2] = r[2], rt[3] = r[3];
		tc_v4mapped_fold(t);
	} else {
		BPF_CORE_READ_INTO(&t->laddr, skc, skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&t->raddr, skc, skc_v6_daddr.in6_u.u6_addr8);
		tc_v4mapped_fold(t);
	}
}

/* Full sockets: skc_num reads 0 at ->CLOSE and before the port is chosen;
 * inet_sport is set by inet_hash_connect() and kept until the socket is freed. */
static __always_inline void tc_read_tuple(const struct sock *sk, const struct tcp_sock *tp,
					  struct tc_tuple *t, bool direct)
{
	tc_read_tuple_skc(&sk->__sk_common,
			  bpf_ntohs(TC_R(direct, tp, inet_conn.icsk_inet.inet_sport)), t, direct);
}

/* Timewait and request sockets keep the local port in skc_num. */
static __always_inline void tc_read_tuple_num(const struct sock_common *skc, struct tc_tuple *t)
{
	tc_read_tuple_skc(skc, BPF_CORE_READ(skc, skc_num), t, false);
}

/*
 * The head of a sock_common holds what a timewait key needs: IPv4
 * addresses, ports, family, state and net, in its first 56 bytes on every
 * kernel we load on. Sockets reached by container_of (timewait, request) or
 * kept as numbers allow only probe reads, and one read of the head costs
 * about what one field costs: field by field, a key took seven (issue 14).
 * A field past the head (never, where CO-RE says otherwise) is read alone.
 */
struct tc_skc_head {
	__u64 w[7];
};

#define TC_HEAD(h, skc, type, field) ({					\
	type __v;								\
	__u32 __o = bpf_core_field_offset(struct sock_common, field);		\
	if (__o + sizeof(__v) <= sizeof(*(h)))					\
		__builtin_memcpy(&__v, (const char *)(h) + __o, sizeof(__v));	\
	else									\
		__v = BPF_CORE_READ(skc, field);				\
	__v;									\
})

/* A socket's netns + 4-tuple (local port from skc_num) and its state,
 * or -1 when it cannot be read. */
static __always_inline int tc_skc_key(const struct sock_common *skc, struct tc_tuple *t,
				      __u32 *netns)
{
	struct tc_skc_head h;
	struct net *net;
	__u16 family;

	if (bpf_probe_read_kernel(&h, sizeof(h), skc))
		return -1;
	family = TC_HEAD(&h, skc, __u16, skc_family);
	t->family = family;
	t->lport = TC_HEAD(&h, skc, __u16, skc_num);
	t->rport = bpf_ntohs(TC_HEAD(&h, skc, __u16, skc_dport));
	if (family == TC_AF_INET) {
		*(__u32 *)t->laddr = TC_HEAD(&h, skc, __u32, skc_rcv_saddr);
		*(__u32 *)t->raddr = TC_HEAD(&h, skc, __u32, skc_daddr);
	} else {
		BPF_CORE_READ_INTO(&t->laddr, skc, skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&t->raddr, skc, skc_v6_daddr.in6_u.u6_addr8);
		tc_v4mapped_fold(t);
	}
	net = TC_HEAD(&h, skc, struct net *, skc_net.net);
	*netns = BPF_CORE_READ(net, ns.inum);
	return TC_HEAD(&h, skc, __u8, skc_state);
}

static __always_inline bool tc_sk_flag(const struct sock *sk, int bit, bool direct)
{
	return tc_sk_flags(sk, direct) & (1UL << bit);
}

/*
 * tcp_time_wait() swaps the new timewait socket into the established hash
 * (inet_twsk_hashdance) before tcp_done() moves the full socket to CLOSE;
 * every other way to CLOSE unhashes after the state change. So a socket
 * already unhashed at ->CLOSE has been replaced by a timewait socket.
 */
/* Without the timer hooks only; it cannot tell a tcp_max_tw_buckets overflow
 * (on 6.18 that socket reads unhashed too). */
static __always_inline int tc_sk_unhashed(const struct sock *sk, bool direct)
{
	return TC_R(direct, sk, __sk_common.skc_nulls_node.pprev) == NULL;
}

static __always_inline __u32 tc_sk_segs_out(const struct tcp_sock *tp, bool direct)
{
	return TC_R(direct, tp, segs_out);
}

/* bind() fixed the local port (SOCK_BINDPORT_LOCK). sk_userlocks is a u8
 * now and was a 4-bit bitfield before 5.x: the bitfield readers handle both. */
#define TC_SOCK_BINDPORT_LOCK 8
static __always_inline int tc_sk_port_bound(const struct sock *sk, bool direct)
{
	return TC_RB(direct, sk, sk_userlocks) & TC_SOCK_BINDPORT_LOCK;
}

static __always_inline int tc_sk_err(const struct sock *sk, bool direct)
{
	return TC_R(direct, sk, sk_err);
}

/*
 * Payload bytes. bytes_received counts the FIN's sequence number too, and
 * bytes_acked the client's SYN and our FIN; tcp_fin() sets SOCK_DONE before
 * the socket can reach CLOSE, so the FIN is taken off when it arrived.
 * bytes_sent (4.19+) counts payload only, retransmissions included.
 */
static __always_inline __u64 tc_payload_in(const struct sock *sk, const struct tcp_sock *tp,
					    bool direct)
{
	__u64 n = TC_R(direct, tp, bytes_received);

	if (n && tc_sk_flag(sk, bpf_core_enum_value(enum sock_flags, SOCK_DONE), direct))
		n--;
	return n;
}

static __always_inline __u64 tc_payload_out(const struct tcp_sock *tp, bool direct)
{
	if (bpf_core_field_exists(tp->bytes_sent) && bpf_core_field_exists(tp->bytes_retrans)) {
		__u64 sent = TC_R(direct, tp, bytes_sent);
		__u64 retrans = TC_R(direct, tp, bytes_retrans);

		return sent > retrans ? sent - retrans : 0;
	}
	return TC_R(direct, tp, bytes_acked);
}

#endif /* TCPCLOSE_CORE_BPF_H */
