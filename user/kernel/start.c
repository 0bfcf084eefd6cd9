// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "privs.h"
#include "settle.h"
#include "start.h"
#include "surveyor.h"

/* The settling thread (settle.c), last: it inherits what was dropped. */
static int settler(struct tc_tracer *t, char *err, size_t errlen)
{
	if (!tc_settler_run(t))
		return 0;
	snprintf(err, errlen, "cannot start the settling thread: %s", strerror(errno));
	return -1;
}

int tc_drop_attached(struct tc_tracer *t, const struct tc_opts *o, unsigned need,
		     char *err, size_t errlen)
{
	struct tc_privs_plan p;

	if (o->keep_caps)
		return settler(t, err, errlen);
	/* The user is looked up and the probe child run before the helper
	 * forks, so that a wrong --user fails with no helper to reap. */
	if (tc_privs_plan(o, tc_tracer_probe_fd(t), &p, err, errlen))
		return -1;
	if ((need & TC_NEED_SURVEY) && tc_surveyor_start(t, o->netns_path, err, errlen))
		return -1;
	if (tc_privs_apply(&p, err, errlen))
		return -1;
	return settler(t, err, errlen);
}

int tc_start_attached(struct tc_tracer *t, const struct tc_opts *o, unsigned need)
{
	char err[512];

	if (tc_tracer_start(t, o, false, err, sizeof(err))) {
		fprintf(stderr, "tcpclose: error: %s\n", err);
		return -1;
	}
	if (tc_drop_attached(t, o, need, err, sizeof(err))) {
		fprintf(stderr, "tcpclose: error: %s\n", err);
		tc_tracer_stop(t);
		return -1;
	}
	return 0;
}
