/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * top: rates between two collections of the model, per process and per
 * peer, sorted by a chosen column. Pure: the terminal is cmd_top.c's.
 */
#ifndef TCPCLOSE_TOP_H
#define TCPCLOSE_TOP_H

#include <stdio.h>
#include "args.h"
#include "model.h"

struct tc_top_prev_proc {
	struct tc_proc_key key;
	struct tc_counts c;
};

struct tc_top_prev_peer {
	struct tc_peer_key key;
	struct tc_counts c;
};

/* The previous collection's counts, sorted by key. */
struct tc_top {
	struct tc_top_prev_proc *procs;
	size_t nprocs;
	struct tc_top_prev_peer *peers;
	size_t npeers;
	struct tc_counts totals;
	__u64 nosock[TC_NR_MAX];	/* resets for no socket, by reason */
	int have_prev;
};

/* One row of the view: values per enum tc_top_sort column. */
struct tc_top_line {
	double v[TC_SORT_MAX];
	unsigned char have[TC_SORT_MAX];	/* 0: shown as - (not measured here) */
	const struct tc_proc_row *proc;		/* process table */
	const struct tc_peer_row *peer;		/* peer table */
};

void tc_top_init(struct tc_top *t);
void tc_top_free(struct tc_top *t);
/*
 * Lines for m's processes (peers = 0) or peers (1): per-second rates over
 * dt_s since the previous tc_top_remember() (since start when none), sorted
 * by column `sort` descending. Caller frees *out.
 */
int tc_top_lines(const struct tc_top *t, const struct tc_model *m, int peers, double dt_s,
		 int sort, struct tc_top_line **out, size_t *n);
/* Keep m's counts for the next tc_top_lines(). */
int tc_top_remember(struct tc_top *t, const struct tc_model *m);
/* One screen: a header, then both tables cut to rows lines each. */
void tc_render_top(FILE *f, const struct tc_top *t, const struct tc_model *m, double dt_s,
		   int sort, unsigned rows, const char *clock);

#endif
