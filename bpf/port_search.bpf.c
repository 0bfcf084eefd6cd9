// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The ephemeral port search of connect(), for kernels with fentry or
 * kprobes (no tracepoint or timer runs inside that loop).
 *
 * __inet_hash_connect() walks candidate ports; each one already in use by
 * some socket goes to the established check, __inet_check_established() or
 * __inet6_check_established() (called through a function pointer, so never
 * inlined). A non-zero return rejects the candidate: its 4-tuple is taken.
 * A timewait owner of the 4-tuple is asked first, tcp_twsk_unique(): 0
 * means its TIME_WAIT may not be taken over (too young, or tcp_tw_reuse
 * off). Both are counted on the connecting socket's record and added to
 * its rows when it closes (state.bpf.c). 6.13+ may check one candidate
 * twice (a lockless pass, then a locked one), but rejects it only once.
 *
 * tw_func.bpf.c hooks tcp_twsk_unique() too (a take-over allowed: the
 * stay's end). Deliberately a program each: the two concerns degrade on
 * their own (ports by fentry while the timewait functions fall back to
 * kprobes, or either alone), and one shared program would have to know
 * which of its copies runs which job. The cost is one extra run per
 * timewait socket a connect() asks about.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "socktab.bpf.h"

static __always_inline void tc_port_rejected(__u64 sk, bool tw_refused)
{
	struct tc_sock *s = tc_sock_find(sk);

	if (!s)
		return;
	if (!tw_refused) {
		if (s->retries < 0xffff)
			s->retries++;
	} else if (s->reuse_refused < 0xffff) {
		s->reuse_refused++;
	}
}

/* The connecting socket is the second argument of both checks; the
 * argument lists grew in 6.13, the return value is read by helper. */
static __always_inline int tc_check_ret(void *ctx)
{
	__u64 sk = 0, ret = 0;

	if (bpf_get_func_arg(ctx, 1, &sk) || bpf_get_func_ret(ctx, &ret))
		return 0;
	if ((int)ret)
		tc_port_rejected(sk, false);
	return 0;
}

SEC("fexit/__inet_check_established")
int BPF_PROG(tc_portf_check4)
{
	return tc_check_ret(ctx);
}

SEC("fexit/__inet6_check_established")
int BPF_PROG(tc_portf_check6)
{
	return tc_check_ret(ctx);
}

SEC("fexit/tcp_twsk_unique")
int BPF_PROG(tc_portf_twref)
{
	__u64 sk = 0, ret = 0;

	if (bpf_get_func_arg(ctx, 0, &sk) || bpf_get_func_ret(ctx, &ret))
		return 0;
	if (!(int)ret)
		tc_port_rejected(sk, true);
	return 0;
}

/*
 * kprobes: the connecting socket kept per CPU from entry to return. The
 * search runs with bottom halves off (nothing else on this CPU enters it
 * meanwhile), and the check and the timewait question nest, so each has
 * its own slot.
 */
enum { TC_PSLOT_CHECK = 0, TC_PSLOT_TWREF, TC_PSLOT_MAX };

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TC_PSLOT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} port_args SEC(".maps");

static __always_inline void tc_pkeep(__u32 slot, __u64 sk)
{
	__u64 *v = bpf_map_lookup_elem(&port_args, &slot);

	if (v)
		*v = sk;
}

static __always_inline __u64 tc_ptake(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&port_args, &slot), sk;

	if (!v)
		return 0;
	sk = *v;
	*v = 0;
	return sk;
}

SEC("kprobe/__inet_check_established")
int BPF_KPROBE(tc_portk_check4_in, void *death_row, struct sock *sk)
{
	tc_pkeep(TC_PSLOT_CHECK, (__u64)sk);
	return 0;
}

SEC("kprobe/__inet6_check_established")
int BPF_KPROBE(tc_portk_check6_in, void *death_row, struct sock *sk)
{
	tc_pkeep(TC_PSLOT_CHECK, (__u64)sk);
	return 0;
}

static __always_inline int tc_check_kret(int ret)
{
	__u64 sk = tc_ptake(TC_PSLOT_CHECK);

	if (sk && ret)
		tc_port_rejected(sk, false);
	return 0;
}

SEC("kretprobe/__inet_check_established")
int BPF_KRETPROBE(tc_portk_check4, int ret)
{
	return tc_check_kret(ret);
}

SEC("kretprobe/__inet6_check_established")
int BPF_KRETPROBE(tc_portk_check6, int ret)
{
	return tc_check_kret(ret);
}

SEC("kprobe/tcp_twsk_unique")
int BPF_KPROBE(tc_portk_twref_in, struct sock *sk)
{
	tc_pkeep(TC_PSLOT_TWREF, (__u64)sk);
	return 0;
}

SEC("kretprobe/tcp_twsk_unique")
int BPF_KRETPROBE(tc_portk_twref, int ret)
{
	__u64 sk = tc_ptake(TC_PSLOT_TWREF);

	if (sk && !ret)
		tc_port_rejected(sk, true);
	return 0;
}
