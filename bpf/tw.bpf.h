/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What both TIME_WAIT paths share (timer tracepoints in tw_timer.bpf.c,
 * timewait functions in tw_func.bpf.c): the key of a stay, its end, and the
 * connecting row a tw_reuse hit is charged to. Keeping them here is what
 * makes the two paths give the same numbers.
 */
#ifndef TCPCLOSE_TW_BPF_H
#define TCPCLOSE_TW_BPF_H

#include "maps.bpf.h"
#include "core.bpf.h"
#include "agg.bpf.h"
#include "socktab.bpf.h"

static __always_inline void *tc_container(void *member, __u32 off)
{
	return (void *)((char *)member - off);
}

static __always_inline struct inet_timewait_sock *tc_tw_of_timer(struct timer_list *timer)
{
	return tc_container(timer, bpf_core_field_offset(struct inet_timewait_sock, tw_timer));
}

static __always_inline int tc_tw_key_of(const struct sock_common *skc, struct tc_tw_key *k)
{
	__builtin_memset(k, 0, sizeof(*k));
	return tc_skc_key(skc, &k->tuple, &k->netns);
}

/*
 * tw_born's value: the new timewait socket, its low bit set when it began in
 * the FIN_WAIT2 substate (an orphan's, before the peer's FIN). The ->CLOSE
 * that follows (state.bpf.c) only asks whether it is there; a close the
 * kernel skipped asks for the substate too (tc_unseen_born).
 */
#define TC_BORN_FW2 1ULL

static __always_inline void tc_tw_born(struct inet_timewait_sock *tw)
{
	struct tc_tw_key k;
	__u64 v = (__u64)tw;

	tc_tw_key_of(&tw->__tw_common, &k);
	/* --netns: another netns's ->CLOSE is never looked at, nothing would
	 * take its birth, and births left behind crowd this LRU map until a
	 * fresh one is evicted before its ->CLOSE (a busy host's other netns) */
	if (target_netns && k.netns != target_netns)
		return;
	if (BPF_CORE_READ(tw, tw_substate) == TC_FIN_WAIT2)
		v += TC_BORN_FW2;	/* not |=: the verifier refuses bit operations on a pointer */
	bpf_map_update_elem(&tw_born, &k, &v, BPF_ANY);
}

/*
 * A stay whose full socket's ->CLOSE never reached us ends: its birth, still
 * in tw_born (no ->CLOSE took it), says so for the charge to come, with how
 * (the last end seen wins: an expiry's detach-cancel comes first; a re-arm's
 * start records the birth again). A small number no pointer is.
 */
#define TC_BORN_OVER 16ULL

static __always_inline void tc_born_over(const struct tc_tw_key *k, int how)
{
	__u64 *v = bpf_map_lookup_elem(&tw_born, k);

	if (v)
		*v = TC_BORN_OVER + ((__u64)how << 1) + (*v & TC_BORN_FW2);
}

/*
 * A socket whose ->CLOSE never reached us (the kernel skipped that run, as
 * it does for a program nested in itself on one CPU): its timewait socket's
 * birth, when seen, is still in tw_born under its 4-tuple. Then the socket
 * did enter TIME_WAIT: its record gets the flags tc_charge_unseen() charges
 * the stay by, and the birth is taken. 0 when no birth was seen; 1 when the
 * stay goes on; 2 + how it ended when it is over already (the caller ends
 * it after the charge: tc_unseen_over).
 */
static __always_inline int tc_unseen_born(struct tc_sock *s)
{
	struct tc_tw_key k;
	__u64 *v, val;

	__builtin_memset(&k, 0, sizeof(k));
	k.tuple = s->tuple;
	k.netns = s->netns;
	v = bpf_map_lookup_elem(&tw_born, &k);
	if (!v)
		return 0;
	val = *v;
	s->flags |= TC_SF_TIMEWAIT;
	if (!(val & TC_BORN_FW2))
		s->flags |= TC_SF_FIN_IN;
	bpf_map_delete_elem(&tw_born, &k);
	if (val >= TC_BORN_OVER && val < TC_BORN_OVER + 2 * TC_TWE_MAX)
		return 2 + (int)((val - TC_BORN_OVER) >> 1);
	return 1;
}

/* Equal keys, compared a word at a time (unrolled: the size is a constant). */
#define TC_WORDS_EQ(a, b) ({							\
	const __u64 *__x = (const void *)(a), *__y = (const void *)(b);		\
	bool __eq = true;							\
	_Static_assert(sizeof(*(a)) % 8 == 0, "keys are compared in words");	\
	_Pragma("unroll")							\
	for (int __i = 0; __i < (int)(sizeof(*(a)) / 8); __i++)			\
		if (__x[__i] != __y[__i])					\
			__eq = false;						\
	__eq;									\
})

static __always_inline bool tc_key_eq(const struct tc_tw_key *a, const struct tc_tw_key *b)
{
	return TC_WORDS_EQ(a, b);
}

static __always_inline bool tc_row_eq(const struct tc_peer_key *a, const struct tc_peer_key *b)
{
	return TC_WORDS_EQ(a, b);
}

/* Take the stay keyed k out of tws (found: its record, when the caller has
 * just looked it up): the rows it is charged to and its length in ms (-1
 * unknown). False, counted, when it is not followed. */
static __always_inline bool tc_tw_take(const struct tc_tw_key *k, __u64 now,
				       struct tc_peer_key *row, __s64 *dur, struct tc_tw *found)
{
	struct tc_tw *r = found ? found : bpf_map_lookup_elem(&tws, k);

	if (!r) {
		tc_stat_inc(TC_STAT_TW_UNKNOWN);
		return false;
	}
	*row = r->row;
	*dur = r->start_ns ? (__s64)((now - r->start_ns) / 1000000) : -1;
	/* Whoever deletes it ends it: an expiry on another CPU may have come
	 * between the lookup and here (what was copied is then not ours). */
	if (bpf_map_delete_elem(&tws, k)) {
		tc_stat_inc(TC_STAT_TW_UNKNOWN);
		return false;
	}
	return true;
}

/* End the stay keyed k, once: the first end seen wins, later ones (a kill
 * racing the expiry on another CPU) find no record and are counted apart,
 * as are stays never followed (another netns, a filtered process): false. */
static __always_inline bool tc_tw_end2(const struct tc_tw_key *k, int how, __u64 now, int ev2)
{
	struct tc_peer_key row;
	__s64 dur;

	if (!tc_tw_take(k, now, &row, &dur, NULL)) {
		tc_born_over(k, how);	/* a stay whose close is still to be charged */
		return false;
	}
	tc_tw_bump2(&row, TC_TWV_END, how, dur, ev2);
	return true;
}

static __always_inline bool tc_tw_end(const struct tc_tw_key *k, int how, __u64 now)
{
	return tc_tw_end2(k, how, now, -1);
}

/* Its timer ran out: tw_timer_handler, however it is hooked. Still in the
 * FIN_WAIT2 substate (the peer's FIN would have moved it to TIME_WAIT): the
 * orphan's tcp_fin_timeout ran out, a timeout of its own. */
static __always_inline void tc_tw_expired(struct inet_timewait_sock *tw)
{
	struct tc_tw_key k;

	tc_tw_key_of(&tw->__tw_common, &k);
	tc_tw_end2(&k, TC_TWE_EXPIRED, bpf_ktime_get_ns(),
		   BPF_CORE_READ(tw, tw_substate) == TC_FIN_WAIT2 ? TC_TWV_FIN_TIMEOUT : -1);
}

/*
 * A tw_reuse hit, seen from the connecting side: the connecting socket's
 * process and the destination (the 4-tuple it took over, port folded as
 * on every client row). False when that process is filtered out.
 */
static __always_inline bool tc_reuse_row(struct tc_peer_key *row, const struct tc_tw_key *k,
					 __u64 connecting_sk)
{
	struct tc_owner nobody = {};	/* on the stack: a static const here breaks the BPF linker's .rodata */
	struct tc_sock *s;

	__builtin_memset(row, 0, sizeof(*row));
	s = tc_sock_find(connecting_sk);
	if (s) {
		row->proc.cgroup_id = s->owner.cgroup_id;
		row->proc.tgid = s->owner.tgid;
		__builtin_memcpy(row->proc.comm, s->owner.comm, TC_COMM_LEN);
	}
	row->tuple = k->tuple;
	row->tuple.lport = 0;
	row->netns = k->netns;
	row->role = TC_ROLE_CLIENT;
	return tc_owner_matches(s ? &s->owner : &nobody);
}

/*
 * The stay keyed k ended because connecting_sk took its 4-tuple: a reused
 * end for the closing socket's rows and a reuse hit for the connecting
 * one's. A client reconnecting to the same destination (the usual case)
 * owns both, and then each row is looked up once.
 */
static __always_inline bool tc_tw_end_reused(const struct tc_tw_key *k, __u64 connecting_sk,
					     __u64 now, struct tc_tw *found)
{
	struct tc_peer_key row, hit;
	bool hit_ok;
	__s64 dur;

	if (!tc_tw_take(k, now, &row, &dur, found)) {
		tc_born_over(k, TC_TWE_REUSED);
		return false;
	}
	hit_ok = tc_reuse_row(&hit, k, connecting_sk);
	if (hit_ok && tc_row_eq(&row, &hit)) {
		tc_tw_bump2(&row, TC_TWV_END, TC_TWE_REUSED, dur, TC_TWV_REUSE_HIT);
		return true;
	}
	tc_tw_bump(&row, TC_TWV_END, TC_TWE_REUSED, dur);
	if (hit_ok)
		tc_tw_bump(&hit, TC_TWV_REUSE_HIT, 0, -1);
	return true;
}

/* After tc_charge_unseen(): end at once a stay tc_unseen_born() found over. */
static __always_inline void tc_unseen_over(const struct tc_sock *s, int born, __u64 now)
{
	struct tc_tw_key k;
	int how;

	if (born < 2)
		return;
	/* a constant per end kind: the verifier then knows the index bounded */
	switch (born - 2) {
	case TC_TWE_EXPIRED: how = TC_TWE_EXPIRED; break;
	case TC_TWE_REUSED: how = TC_TWE_REUSED; break;
	case TC_TWE_SYN_RECYCLED: how = TC_TWE_SYN_RECYCLED; break;
	default: how = TC_TWE_KILLED; break;
	}
	__builtin_memset(&k, 0, sizeof(k));
	k.tuple = s->tuple;
	k.netns = s->netns;
	tc_tw_end(&k, how, now);
}

#endif /* TCPCLOSE_TW_BPF_H */
