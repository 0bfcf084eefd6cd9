/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The rows rebuilt from events, as the kernel builds them from the same
 * events (rowmath.h is shared): a recording replays to the live numbers.
 * Rows are not bounded here: a recording whose live rows were evicted by
 * the kernel replays to more rows than the live report had (the evicted
 * ones are in the live report's "other").
 */
#ifndef TCPCLOSE_REPLAY_H
#define TCPCLOSE_REPLAY_H

#include <stdbool.h>
#include "model.h"

struct tc_replay {
	bool port_hooks;	/* the port search was hooked: retries count */
	bool idle;		/* the recorder knew HZ: timeouts' idle times count */
	bool old_causes;	/* recorded before TC_CAUSE_DATA_AFTER_CLOSE and the two after
				 * it: the causes from there on are numbered lower */
	struct tc_counts totals;
	void *procs, *peers;	/* tsearch(3) trees of rows */
	size_t nprocs, npeers;
	bool nosock_ok;			/* the recorder counted resets for no socket */
	__u64 nosock_total[TC_NR_MAX];	/* ... (reset.bpf.c) */
	void *nosocks;			/* ... by port and sender: a tree */
	__u64 events;
};

void tc_replay_init(struct tc_replay *r, bool port_hooks);
void tc_replay_free(struct tc_replay *r);
/* 0, or -ENOMEM. */
int tc_replay_close(struct tc_replay *r, const struct tc_event *e);
/* An event's cause as numbered now (old_causes: as recorded before). */
int tc_replay_cause(const struct tc_replay *r, int cause);
/* The longest TIME_WAIT stay a recording may hold: a year (they last 60 s;
 * a peer re-sending its FIN restarts that, never for a year). */
#define TC_REPLAY_TW_MAX_MS (365LL * 24 * 3600 * 1000)
/* 0, -ENOMEM, or -EINVAL: dur_ms neither -1 nor 0..TC_REPLAY_TW_MAX_MS. */
int tc_replay_tw(struct tc_replay *r, const struct tc_tw_event *e);
/* A reset for no socket of ours. 0, -ENOMEM, or -EPROTO (not what a recorder
 * with its hook writes: a reason or family unknown, padding not zero, or no
 * such hook in the header: nosock_ok). */
int tc_replay_nosock(struct tc_replay *r, const struct tc_nosock_event *e);
/* The totals and rows into m (its rows replaced, then sorted). */
int tc_replay_model(const struct tc_replay *r, struct tc_model *m);

#endif
