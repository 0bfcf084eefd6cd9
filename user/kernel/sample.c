// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include "budget.h"
#include "cmds.h"
#include "collect.h"
#include "sample.h"
#include "surveyor.h"

/* The sweep's judgement of one listed netns: a record its socket is not
 * among recs lost its close, if a second listing lacks it too (taken only
 * then: rare). Unconfirmed (that listing failed): none gone, a later
 * sweep judges again. */
static int sweep_judge(const struct tc_tracer *t, const char *netns_path, struct tc_sweep *sw,
		       __u32 ino, const struct tc_portrec *recs, size_t nrecs)
{
	struct tc_netns_info again = { .ino = ino };
	struct tc_portrec *recs2 = NULL;
	size_t nrecs2 = 0;
	long gone = tc_sweep_judge(sw, ino, recs, nrecs);

	if (gone > 0) {
		if (!tc_surveyor_survey(t, netns_path, &again, &recs2, &nrecs2) && again.found &&
		    again.listed)
			gone = tc_sweep_confirm(sw, ino, recs2, nrecs2);
		else
			tc_sweep_unjudge(sw, ino);
		free(recs2);
	}
	return gone < 0 ? -ENOMEM : 0;
}

/* Fills m->netns (one slot per netns of a client row) and the ports of
 * the client rows; with raw, also hands back what each netns gave. The
 * budgets come after the sweep: the closes it charges (unseen) are
 * attempts toward their destinations too. */
int tc_survey_raw(const struct tc_tracer *t, const char *netns_path, struct tc_model *m,
		  bool sweep, struct tc_netns_raw **raw, size_t *nraw)
{
	struct tc_sweep sw = { 0 };
	struct tc_netns_raw *got;
	size_t *slot, ngot = 0;
	__u64 *att = NULL;
	int err = 0;

	if (raw) {
		*raw = NULL;
		*nraw = 0;
	}
	if (tc_budget_netns_slots(m))
		return -ENOMEM;
	got = calloc(m->nnetns ? m->nnetns : 1, sizeof(*got));
	slot = calloc(m->nnetns ? m->nnetns : 1, sizeof(*slot));
	if (!got || !slot) {
		free(got);
		free(slot);
		return -ENOMEM;
	}
	/* Records to sweep: read before the sockets are listed (sweep.h). */
	if (t->survey && sweep && tc_sweep_read(t, &sw))
		err = -ENOMEM;
	for (size_t k = 0; !err && k < m->nnetns; k++) {
		struct tc_netns_info *ni = &m->netns[k];
		struct tc_portrec *recs = NULL;
		size_t nrecs = 0;

		if (tc_surveyor_survey(t, netns_path, ni, &recs, &nrecs) || !ni->found) {
			free(recs);
			continue;
		}
		if (ni->listed && sw.n)
			err = sweep_judge(t, netns_path, &sw, ni->ino, recs, nrecs);
		slot[ngot] = k;
		got[ngot].ino = ni->ino;
		got[ngot].recs = recs;
		got[ngot++].nrecs = nrecs;
	}
	/* The netns of records but of no client row (servers): listed only
	 * for the sweep. */
	for (__u32 ino; !err && (ino = tc_sweep_next_netns(&sw, m));) {
		struct tc_netns_info ni = { .ino = ino };
		struct tc_portrec *recs = NULL;
		size_t nrecs = 0;

		if (!tc_surveyor_survey(t, netns_path, &ni, &recs, &nrecs) && ni.found && ni.listed)
			err = sweep_judge(t, netns_path, &sw, ni.ino, recs, nrecs);
		free(recs);
	}
	if (!err)
		err = tc_sweep_finish(t, &sw, m);
	tc_sweep_free(&sw);
	if (!err && !(att = tc_dest_attempts(m)))
		err = -ENOMEM;
	for (size_t i = 0; i < ngot; i++) {
		if (!err)
			tc_budget_apply(m, &m->netns[slot[i]], got[i].recs, got[i].nrecs, t->survey, att);
		if (!raw || err)
			free(got[i].recs);
	}
	if (raw && !err) {
		*raw = got;
		*nraw = ngot;
	} else {
		free(got);
	}
	free(slot);
	free(att);
	return err;
}

int tc_sample(const struct tc_tracer *t, const char *netns_path, double duration_s,
	      struct tc_model *m)
{
	if (tc_collect(t, m)) {
		tc_err("reading the BPF maps failed");
		return -1;
	}
	m->duration_s = duration_s;
	if (tc_survey_raw(t, netns_path, m, true, NULL, NULL)) {
		tc_err("out of memory");
		return -1;
	}
	return 0;
}
