/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Prometheus text exposition (format 0.0.4) of the model. Label cardinality
 * is bounded: at most `top` process and `top` peer series, chosen once and
 * kept while their rows live (so each stays a monotonic counter); every
 * other row is folded into one "other" series, computed as totals minus the
 * series shown, so nothing is dropped and evicted rows still count.
 */
#ifndef TCPCLOSE_RENDER_PROM_H
#define TCPCLOSE_RENDER_PROM_H

#include <stdio.h>
#include "model.h"

/* What a peer series is labelled by: rows of different processes toward
 * the same endpoint share it (Prometheus forbids duplicate label sets). */
struct tc_prom_peer {
	__u32 netns;
	__u8 role;
	__u8 pad;
	__u16 family;
	__u16 port;		/* remote port (client) or local port (server) */
	__u16 pad2;
	__u8 laddr[TC_ADDR_LEN];
	__u8 raddr[TC_ADDR_LEN];
};

struct tc_prom {
	unsigned top;			/* series per table, besides "other" */
	struct tc_proc_key *procs;	/* chosen process series */
	struct tc_counts *proc_base;	/* ... what "other" had shown of them when chosen */
	size_t nprocs;
	struct tc_prom_peer *peers;	/* chosen peer series */
	struct tc_counts *peer_base;
	size_t npeers;
	struct tc_counts other_last[2];	/* "other" as last exposed: processes, peers */
	const char *version;
};

void tc_prom_init(struct tc_prom *st, unsigned top, const char *version);
void tc_prom_free(struct tc_prom *st);
/* Render m (sorted or not). Updates the chosen series. -1 on a write or
 * allocation failure. */
int tc_render_prom(FILE *f, const struct tc_model *m, struct tc_prom *st);

#endif
