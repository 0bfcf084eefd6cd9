/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Closes the kernel never showed us. A socket record is freed by the
 * program run of its CLOSE, before the socket leaves the hash; so a record
 * whose socket the survey no longer finds lost that run. The kernel skips
 * runs without always counting them (README, limits): this finds them.
 */
#ifndef TCPCLOSE_SWEEP_H
#define TCPCLOSE_SWEEP_H

#include <stddef.h>
#include "model.h"

/* Records younger than this are left alone: a new child socket has its
 * record a moment before it is hashed. */
#define TC_SWEEP_MIN_AGE_NS 200000000ULL

struct tc_sweep_cand {
	__u64 key;		/* its socket's address (the slot's tag) */
	__u32 slot;		/* where it lies in the socket table */
	__u64 start_ns;		/* tells the record apart from a later one at the key */
	struct tc_tuple tuple;
	__u32 netns;
	int gone;		/* tc_sweep_judge: not among the netns' sockets */
	__u32 tw;		/* ... and its tuple in TIME_WAIT: TC_TIME_WAIT or
				 * TC_FIN_WAIT2 (the substate); 0 none */
	int judged;		/* its netns was listed, or handed out */
};

struct tc_sweep {
	struct tc_sweep_cand *c;
	size_t n, cap;
	__u64 before_ns;	/* only records started before this were taken */
};

/* Take rec (the socket at key, in slot) as a candidate if it is old enough
 * and its ports are known. */
int tc_sweep_take(struct tc_sweep *sw, __u32 slot, __u64 key, const struct tc_sock *rec);
/* A netns with candidates still unjudged and not among m's netns (which the
 * survey lists anyway); 0 when none is left. Its candidates count as judged
 * from then on, so each netns is handed out once. */
__u32 tc_sweep_next_netns(struct tc_sweep *sw, const struct tc_model *m);
/* Marks gone the candidates of netns whose socket is not among recs (the
 * survey of netns, taken after the candidates' start). A timewait socket
 * with the tuple does not count: the full socket is gone, and that socket
 * took its place (tw). Sorts copies, not recs. Returns the number marked,
 * or -ENOMEM. */
long tc_sweep_judge(struct tc_sweep *sw, __u32 netns, const struct tc_portrec *recs,
		    size_t nrecs);
/* A second listing of netns, taken after the one judged: keeps gone only
 * the candidates it lacks too (their timewait socket as it finds it). A
 * tcp iterator resumes a hash bucket by position, so a socket going away
 * in the bucket between two of its batches (in any netns: the hash is the
 * host's) makes it skip a live one; a record judged on one listing would
 * be charged a close its socket has not made, and counted again at its
 * real CLOSE. Returns the number still gone, or -ENOMEM. */
long tc_sweep_confirm(struct tc_sweep *sw, __u32 netns, const struct tc_portrec *recs,
		      size_t nrecs);
/* No candidate of netns gone (its second listing failed: the next sweep
 * judges them again). */
void tc_sweep_unjudge(struct tc_sweep *sw, __u32 netns);
void tc_sweep_free(struct tc_sweep *sw);

#endif
