// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The sweep's kernel half (user/model/sweep.h): user space judged a socket record
 * lost (its socket is gone, its CLOSE never ran) and asks, through
 * BPF_PROG_TEST_RUN, for it to be charged here, where the rows are added to
 * with the very same code and atomics as at a CLOSE seen (agg.bpf.h), and
 * where recording gets its event in stream order. Runs on demand, never as
 * a hook.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "tw.bpf.h"
#include "socktab.bpf.h"

/* The record being charged: too large for the stack beside the rows' keys,
 * and the context cannot be handed on by pointer (the verifier refuses
 * derived context pointers). Per-CPU: test runs pin the CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tc_sock);
} sweep_rec SEC(".maps");

SEC("syscall")
int tc_sweep_charge(struct tc_sweep_arg *a)
{
	__u32 idx = TC_STAT_SWEPT, zero = 0, slot = a->slot;
	struct tc_sock *s = bpf_map_lookup_elem(&socks, &slot);
	struct tc_sock *rec = bpf_map_lookup_elem(&sweep_rec, &zero);
	__u64 *n;
	int born;

	a->res = TC_SWR_GONE;
	/* Only the record judged, not a new socket's at the address (checked
	 * before the take: a live socket's record must not look busy to its
	 * own programs); and only the one who takes it charges it (its CLOSE
	 * may run now). Taken, it is checked again: a new socket's birth may
	 * have come between. */
	if (!s || !rec || s->start_ns != a->start_ns || !tc_sock_take(slot, a->key))
		return 0;
	if (s->start_ns != a->start_ns) {
		tc_sock_release(slot, a->key);
		return 0;
	}
	*rec = *s;
	tc_sock_release(slot, 0);
	/* Its stay: by the birth seen (the substate it began in), else by the
	 * timewait socket the survey found at its tuple (the substate now). A
	 * stay over before this survey is known by its birth only. */
	born = tc_unseen_born(rec);
	if (!born && a->tw) {
		rec->flags |= TC_SF_TIMEWAIT;
		if (a->tw == TC_TIME_WAIT)
			rec->flags |= TC_SF_FIN_IN;
	}
	a->res = tc_charge_unseen(rec, bpf_ktime_get_ns(), true);
	if (a->res == TC_SWR_CHARGED && tw_hooks)
		tc_unseen_over(rec, born, bpf_ktime_get_ns());
	n = bpf_map_lookup_elem(&stats, &idx);
	if (n)
		__sync_fetch_and_add(n, 1);
	a->rec = *rec;
	return 0;
}
