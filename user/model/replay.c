// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "replay.h"
#include "rowmath.h"

struct proc_node {
	struct tc_proc_key key;
	struct tc_counts c;
};

struct peer_node {
	struct tc_peer_key key;
	struct tc_counts c;
};

struct nosock_node {
	struct tc_nosock_key key;
	__u64 resets;
};

static int cmp_proc(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct tc_proc_key));	/* the key comes first */
}

static int cmp_peer(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct tc_peer_key));
}

static int cmp_nosock(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct tc_nosock_key));
}

void tc_replay_init(struct tc_replay *r, bool port_hooks)
{
	memset(r, 0, sizeof(*r));
	r->port_hooks = port_hooks;
}

void tc_replay_free(struct tc_replay *r)
{
	tdestroy(r->procs, free);
	tdestroy(r->peers, free);
	tdestroy(r->nosocks, free);
	r->procs = r->peers = r->nosocks = NULL;
	r->nprocs = r->npeers = 0;
}

/* The row of key, created empty when new (tc_row in the kernel). */
static struct tc_counts *row(void **root, size_t *n, const void *key, size_t keylen,
			     size_t nodelen, int (*cmp)(const void *, const void *))
{
	void *node = calloc(1, nodelen), **found;

	if (!node)
		return NULL;
	memcpy(node, key, keylen);
	found = tsearch(node, root, cmp);
	if (!found) {
		free(node);
		return NULL;
	}
	if (*found != node)
		free(node);
	else
		(*n)++;
	return (struct tc_counts *)((char *)*found + keylen);
}

static struct tc_counts *proc_row(struct tc_replay *r, const struct tc_proc_key *k)
{
	return row(&r->procs, &r->nprocs, k, sizeof(*k), sizeof(struct proc_node), cmp_proc);
}

static struct tc_counts *peer_row(struct tc_replay *r, const struct tc_peer_key *k)
{
	return row(&r->peers, &r->npeers, k, sizeof(*k), sizeof(struct peer_node), cmp_peer);
}

/* The three levels a close adds to: totals, its process, its peer. */
static int close_rows(struct tc_replay *r, const struct tc_event *e, struct tc_counts *rows[3])
{
	struct tc_proc_key pk;
	struct tc_peer_key rk;

	tc_row_keys(&pk, &rk, &e->owner, &e->tuple, e->netns, e->role);
	rows[0] = &r->totals;
	rows[1] = proc_row(r, &pk);
	rows[2] = peer_row(r, &rk);
	return rows[1] && rows[2] ? 0 : -ENOMEM;
}

/* As tc_charge_unseen() in agg.bpf.h: a close the kernel skipped. */
static int replay_unseen(struct tc_replay *r, const struct tc_event *e)
{
	struct tc_sock s = { .tuple = e->tuple, .owner = e->owner, .netns = e->netns,
			     .role = e->role, .kind = e->kind, .flags = e->flags,
			     .retries = e->retries, .reuse_refused = e->reuse_refused,
			     .connfail = e->connfail };
	struct tc_counts *rows[3];

	if (close_rows(r, e, rows))
		return -ENOMEM;
	for (int i = 0; i < 3; i++)
		tc_unseen_apply(rows[i], &s, r->port_hooks, false);
	r->events++;
	return 0;
}

int tc_replay_cause(const struct tc_replay *r, int cause)
{
	if (!r->old_causes || cause < TC_CAUSE_FIRST_AFTER)
		return cause;
	/* then the three told by the reset after, and FIN_WAIT2 before the
	 * resets received */
	return cause + TC_CAUSE_N_AFTER < TC_CAUSE_FIN_WAIT2 ? cause + TC_CAUSE_N_AFTER :
	       cause + TC_CAUSE_N_AFTER + 1;
}

/* The very adds tc_finish() in state.bpf.c makes (rowmath.h), to totals,
 * process and peer. */
int tc_replay_close(struct tc_replay *r, const struct tc_event *e)
{
	int cause = tc_replay_cause(r, e->cause);
	struct tc_closed x = {
		.bytes_in = e->bytes_in, .bytes_out = e->bytes_out, .lifetime_ns = e->lifetime_ns,
		.segs_in = e->segs_in, .segs_out = e->segs_out, .retries = e->retries,
		.reuse_refused = e->reuse_refused, .kind = e->kind, .role = e->role,
		.oldstate = e->oldstate, .flags = e->flags, .connfail = e->connfail, .err = e->err,
		.cause = (__u8)(cause > 0xff ? 0xff : cause), .idle_s = e->idle_s,	/* none past MAX */
	};
	struct tc_counts *rows[3];
	struct tc_delta d = { 0 };

	if (e->kind == TC_CK_UNSEEN)
		return replay_unseen(r, e);
	tc_close_delta(&d, &x);
	if (close_rows(r, e, rows))
		return -ENOMEM;
	for (int i = 0; i < 3; i++)
		tc_close_apply(rows[i], &d, &x, r->port_hooks, false);
	if (r->idle && tc_idle_wanted(cause, e->oldstate))	/* as tc_finish, last */
		for (int i = 0; i < 3; i++)
			tc_idle_apply(rows[i], e->idle_s, false);
	r->events++;
	return 0;
}

/* As tc_tw_bump2() in agg.bpf.h. A length the kernel cannot have measured
 * (below -1, "unknown", or over TC_REPLAY_TW_MAX_MS) is refused. */
int tc_replay_tw(struct tc_replay *r, const struct tc_tw_event *e)
{
	struct tc_counts *rows[3];

	if (e->dur_ms < -1 || e->dur_ms > TC_REPLAY_TW_MAX_MS)
		return -EINVAL;
	rows[0] = &r->totals;
	rows[1] = proc_row(r, &e->row.proc);
	rows[2] = peer_row(r, &e->row);
	if (!rows[1] || !rows[2])
		return -ENOMEM;
	for (int i = 0; i < 3; i++) {
		tc_twc_apply(rows[i], e->ev, e->arg, e->dur_ms, false);
		if (e->ev2 >= 0)
			tc_twc_apply(rows[i], e->ev2, 0, -1, false);
	}
	r->events++;
	return 0;
}

/* As reset.bpf.c: the total by reason, the row by port and sender. */
int tc_replay_nosock(struct tc_replay *r, const struct tc_nosock_event *e)
{
	struct nosock_node *n, **found;

	static const __u8 zero[sizeof(e->key.pad)];

	/* what reset.bpf.c writes, no other: rows match on every byte */
	if (e->key.reason >= TC_NR_MAX || !r->nosock_ok ||
	    (e->key.family != AF_INET && e->key.family != AF_INET6) ||
	    memcmp(e->key.pad, zero, sizeof(zero)))
		return -EPROTO;
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->key = e->key;
	found = tsearch(n, &r->nosocks, cmp_nosock);
	if (!found) {
		free(n);
		return -ENOMEM;
	}
	if (*found != n)
		free(n);
	(*found)->resets++;
	r->nosock_total[e->key.reason]++;
	r->events++;
	return 0;
}

struct walk_ctx {
	struct tc_model *m;
	int err;
};

static void add_proc(const void *nodep, VISIT which, void *arg)
{
	const struct proc_node *n = *(const struct proc_node *const *)nodep;
	struct walk_ctx *w = arg;

	if ((which == postorder || which == leaf) && !w->err)
		w->err = tc_model_add_proc(w->m, &n->key, &n->c);
}

static void add_peer(const void *nodep, VISIT which, void *arg)
{
	const struct peer_node *n = *(const struct peer_node *const *)nodep;
	struct walk_ctx *w = arg;

	if ((which == postorder || which == leaf) && !w->err)
		w->err = tc_model_add_peer(w->m, &n->key, &n->c);
}

static void add_nosock(const void *nodep, VISIT which, void *arg)
{
	const struct nosock_node *n = *(const struct nosock_node *const *)nodep;
	struct walk_ctx *w = arg;

	if ((which == postorder || which == leaf) && !w->err)
		w->err = tc_model_add_nosock(w->m, &n->key, n->resets);
}

int tc_replay_model(const struct tc_replay *r, struct tc_model *m)
{
	struct walk_ctx w = { .m = m };

	m->nprocs = m->npeers = m->nnosocks = 0;
	m->totals = r->totals;
	memcpy(m->nosock_total, r->nosock_total, sizeof(m->nosock_total));
	twalk_r(r->procs, add_proc, &w);
	twalk_r(r->peers, add_peer, &w);
	twalk_r(r->nosocks, add_nosock, &w);
	if (w.err)
		return -ENOMEM;
	tc_model_sort(m);
	return 0;
}
