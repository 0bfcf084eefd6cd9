/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The socket table: where a live socket's record is found from its struct
 * sock address (layout in tcpclose.h). Two-choice hashing into sets of
 * TC_SOCK_WAYS: a birth takes a free slot in the emptier of its two sets,
 * so the table fills evenly; a lookup reads at most two cache lines of
 * tags. Who ends a record (its CLOSE, the sweep, a birth finding it stale)
 * first marks its tag busy with a compare-and-swap: exactly one of them
 * charges it; a birth holds its new slot busy the same way while it writes
 * the record. Every access is a plain array access: no lock, no allocation,
 * no call (a BPF-to-BPF call costs more than the lookup itself here: every
 * return goes through the kernel's return thunk).
 */
#ifndef TCPCLOSE_SOCKTAB_BPF_H
#define TCPCLOSE_SOCKTAB_BPF_H

#include "maps.bpf.h"

/* The per-CPU scratch of the calling program (enum tc_scratch). */
static __always_inline struct tc_sock_scratch *tc_scratch(__u32 who)
{
	return bpf_map_lookup_elem(&sock_scratch, &who);
}

/* A socket's address as a number. Pointers typed by BTF (tp_btf, fentry)
 * allow no arithmetic, and hashing needs some; a value read back from map
 * memory is a plain scalar (storing it needs CAP_PERFMON, as tracing does).
 * Each program has its own scratch: another may interrupt it on this CPU
 * between the store and the load, itself never (the kernel skips re-entry). */
static __always_inline __u64 tc_sk_addr(const void *sk, __u32 who)
{
	struct tc_sock_scratch *x = tc_scratch(who);

	if (!x)
		return 0;
	x->addr = (__u64)sk;
	return *(volatile __u64 *)&x->addr;
}

/* The calling program's record slot on this CPU, past the table's. */
static __always_inline __u32 tc_scratch_slot(__u32 who)
{
	return sock_nsets * TC_SOCK_WAYS + bpf_get_smp_processor_id() * TC_SCRATCH_SLOTS + who;
}

/* The two sets of address a: multiplicative hashes of its significant bits
 * (struct sock is cache-line aligned), each scaled to the table. */
static __always_inline void tc_sock_sets(__u64 a, __u32 set[2])
{
	__u64 h1 = (a >> 6) * 0x9E3779B97F4A7C15ULL, h2 = (a >> 6) * 0xC2B2AE3D27D4EB4FULL;

	set[0] = (__u32)(((h1 >> 32) * sock_nsets) >> 32);
	set[1] = (__u32)(((h2 >> 32) * sock_nsets) >> 32);
}

/* 1 if the tag is taken. Branch-free on purpose: a branch per way would
 * give the verifier 2^16 paths through tc_sock_claim(). */
static __always_inline __u32 tc_tag_taken(__u64 tag)
{
	__u64 r;

	asm volatile("%[r] = %[t]; %[r] = -%[r]; %[r] |= %[t]; %[r] >>= 63"
		     : [r] "=&r"(r) : [t] "r"(tag));
	return (__u32)r;
}

/*
 * The record in slot, which it keeps in its own slot field: callers read
 * the slot from there, never from the lookup. Each way a lookup can end
 * gives the slot another constant, and the verifier would carry every one
 * of those states through the rest of the state handler (over its limit on
 * 6.12); read back from map memory it is one number it knows nothing about.
 */
static __always_inline struct tc_sock *tc_sock_at(__u32 slot)
{
	return bpf_map_lookup_elem(&socks, &slot);
}

static __always_inline struct tc_sock *tc_sock_own(__u32 slot)
{
	struct tc_sock *r = bpf_map_lookup_elem(&socks, &slot);

	if (r)
		r->slot = slot;
	return r;
}

/* The record of the socket at address a, or NULL; also while it is being
 * ended or written (busy), so that no caller takes a second slot for the
 * same socket meanwhile: tc_sock_take() tells. */
static __always_inline struct tc_sock *tc_sock_find(__u64 a)
{
	__u32 set[2];

	if (!a)
		return NULL;
	tc_sock_sets(a, set);
	for (int j = 0; j < 2; j++) {
		struct tc_sock_set *s = bpf_map_lookup_elem(&sock_sets, &set[j]);

		if (!s)
			return NULL;
		for (int w = 0; w < TC_SOCK_WAYS; w++)
			if ((s->tag[w] | TC_SOCK_BUSY) == (a | TC_SOCK_BUSY))
				return tc_sock_at(set[j] * TC_SOCK_WAYS + w);
	}
	return NULL;
}

/* A free slot for the socket at address a in the emptier of its sets, its
 * tag busy until the caller has written the record (keeping its slot field)
 * and calls tc_sock_release(slot, a): the sweep must not judge a record half
 * written. NULL when that set is full. */
static __always_inline struct tc_sock *tc_sock_claim(__u64 a)
{
	struct tc_sock_set *s0, *s1, *s;
	__u32 set[2], n0 = 0, n1 = 0, si;

	if (!a)
		return NULL;
	tc_sock_sets(a, set);
	s0 = bpf_map_lookup_elem(&sock_sets, &set[0]);
	s1 = bpf_map_lookup_elem(&sock_sets, &set[1]);
	if (!s0 || !s1)
		return NULL;
	for (int w = 0; w < TC_SOCK_WAYS; w++) {
		n0 += tc_tag_taken(s0->tag[w]);
		n1 += tc_tag_taken(s1->tag[w]);
	}
	s = s0;
	si = set[0];
	if (n1 < n0) {
		s = s1;
		si = set[1];
	}
	for (int w = 0; w < TC_SOCK_WAYS; w++)
		if (!s->tag[w] && !__sync_val_compare_and_swap(&s->tag[w], 0, a | TC_SOCK_BUSY))
			return tc_sock_own(si * TC_SOCK_WAYS + w);
	return NULL;
}

static __always_inline __u64 *tc_sock_tag(__u32 slot)
{
	__u32 si = slot / TC_SOCK_WAYS, w = slot % TC_SOCK_WAYS;
	struct tc_sock_set *s = bpf_map_lookup_elem(&sock_sets, &si);

	if (!s)
		return NULL;
	barrier_var(s);	/* no address taken before the check (6.1) */
	return &s->tag[w];
}

/* Makes the caller the one who ends the record of a in slot: false if
 * another got there first (or the slot holds another socket now). A scratch
 * slot (past the table) is its program's alone. */
static __always_inline bool tc_sock_take(__u32 slot, __u64 a)
{
	__u64 *tag;

	if (slot >= sock_nsets * TC_SOCK_WAYS)
		return true;
	tag = tc_sock_tag(slot);
	return tag && __sync_val_compare_and_swap(tag, a, a | TC_SOCK_BUSY) == a;
}

/* After tc_sock_take() or tc_sock_claim(): the slot free again (0), or the
 * record in use under its address (nothing for a scratch slot: no tag). */
static __always_inline void tc_sock_release(__u32 slot, __u64 keep)
{
	__u64 *tag = tc_sock_tag(slot);

	if (tag)	/* an exchange: a full barrier, our reads of the record done first */
		__sync_lock_test_and_set(tag, keep);
}

#endif /* TCPCLOSE_SOCKTAB_BPF_H */
