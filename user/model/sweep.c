// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "sweep.h"

int tc_sweep_take(struct tc_sweep *sw, __u32 slot, __u64 key, const struct tc_sock *rec)
{
	struct tc_sweep_cand *c;

	if (!(rec->flags & TC_SF_TUPLE) || rec->start_ns + TC_SWEEP_MIN_AGE_NS > sw->before_ns)
		return 0;
	if (sw->n == sw->cap) {
		size_t cap = sw->cap ? sw->cap * 2 : 256;

		c = realloc(sw->c, cap * sizeof(*c));
		if (!c)
			return -ENOMEM;
		sw->c = c;
		sw->cap = cap;
	}
	c = &sw->c[sw->n++];
	memset(c, 0, sizeof(*c));
	c->key = key;
	c->slot = slot;
	c->start_ns = rec->start_ns;
	c->tuple = rec->tuple;
	c->netns = rec->netns;
	return 0;
}

__u32 tc_sweep_next_netns(struct tc_sweep *sw, const struct tc_model *m)
{
	for (size_t i = 0; i < sw->n; i++) {
		__u32 ino = sw->c[i].netns;
		bool listed = false;

		if (sw->c[i].judged)
			continue;
		for (size_t k = 0; k < m->nnetns && !listed; k++)
			listed = m->netns[k].ino == ino;
		for (size_t j = i; j < sw->n; j++)
			if (sw->c[j].netns == ino)
				sw->c[j].judged = 1;
		if (!listed)
			return ino;
	}
	return 0;
}

_Static_assert(offsetof(struct tc_portrec, tuple) == 0, "tuple_cmp sorts tc_portrec too");

static int tuple_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct tc_tuple));
}

/* judge: marks gone the candidates not yet gone that recs lacks; confirm:
 * keeps gone only those recs lacks too. */
static long judge(struct tc_sweep *sw, __u32 netns, const struct tc_portrec *recs, size_t nrecs,
		  bool confirm)
{
	struct tc_tuple *live = malloc((nrecs ? nrecs : 1) * sizeof(*live));
	struct tc_portrec *tw = malloc((nrecs ? nrecs : 1) * sizeof(*tw));
	size_t nlive = 0, ntw = 0;
	long gone = 0;

	if (!live || !tw) {
		free(live);
		free(tw);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nrecs; i++)
		if (recs[i].state != TC_TIME_WAIT)
			live[nlive++] = recs[i].tuple;
		else
			tw[ntw++] = recs[i];
	/* the tuple comes first in a tc_portrec: one comparison for both */
	qsort(live, nlive, sizeof(*live), tuple_cmp);
	qsort(tw, ntw, sizeof(*tw), tuple_cmp);
	for (size_t i = 0; i < sw->n; i++) {
		struct tc_sweep_cand *c = &sw->c[i];
		const struct tc_portrec *t;

		if (c->netns != netns || c->gone != confirm)
			continue;
		if (bsearch(&c->tuple, live, nlive, sizeof(*live), tuple_cmp)) {
			c->gone = 0;
			continue;
		}
		c->gone = 1;
		t = bsearch(&c->tuple, tw, ntw, sizeof(*tw), tuple_cmp);
		/* (a stay the first listing saw may have ended before the second) */
		if (t)
			c->tw = t->substate == TC_FIN_WAIT2 ? TC_FIN_WAIT2 : TC_TIME_WAIT;
		else if (!confirm)
			c->tw = 0;
		gone++;
	}
	free(live);
	free(tw);
	return gone;
}

long tc_sweep_judge(struct tc_sweep *sw, __u32 netns, const struct tc_portrec *recs,
		    size_t nrecs)
{
	return judge(sw, netns, recs, nrecs, false);
}

long tc_sweep_confirm(struct tc_sweep *sw, __u32 netns, const struct tc_portrec *recs,
		      size_t nrecs)
{
	return judge(sw, netns, recs, nrecs, true);
}

void tc_sweep_unjudge(struct tc_sweep *sw, __u32 netns)
{
	for (size_t i = 0; i < sw->n; i++)
		if (sw->c[i].netns == netns)
			sw->c[i].gone = 0;
}

void tc_sweep_free(struct tc_sweep *sw)
{
	free(sw->c);
	memset(sw, 0, sizeof(*sw));
}
