/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The port budget of each client row from what a netns survey gave (its
 * sysctls and sockets): pure, so a recording is computed exactly as live.
 */
#ifndef TCPCLOSE_BUDGET_H
#define TCPCLOSE_BUDGET_H

#include "model.h"

/* One slot in m->netns per netns of a client row; 0 or -ENOMEM. */
int tc_budget_netns_slots(struct tc_model *m);
/* Per client row i of n rows (m->npeers): att[i] the connects toward its
 * destination by every process of the netns (one port budget, whoever
 * connects), att[n + i] their closes that had a port (not EADDRNOTAVAIL),
 * att[2n + i] those that left a timewait socket on this side. Caller frees. */
__u64 *tc_dest_attempts(const struct tc_model *m);
/* The ports of ni's client rows from its sockets (recs, sorted here). */
void tc_budget_apply(struct tc_model *m, const struct tc_netns_info *ni, struct tc_portrec *recs,
		     size_t nrecs, int known, const __u64 *att);
/* The same for many netns: rows from tc_budget_rows() (the client rows by
 * netns; caller frees) make each netns cost its own rows, not all of them. */
size_t *tc_budget_rows(const struct tc_model *m, size_t *n);
void tc_budget_apply_rows(struct tc_model *m, const struct tc_netns_info *ni,
			  struct tc_portrec *recs, size_t nrecs, int known, const __u64 *att,
			  const size_t *rows, size_t nrows);

#endif
