/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The privileged survey helper: a child forked before the capabilities are
 * dropped that keeps what entering another netns needs and only answers
 * "survey netns ino" over a socket pair (its protocol is in surveyor.c).
 */
#ifndef TCPCLOSE_SURVEYOR_H
#define TCPCLOSE_SURVEYOR_H

#include <stddef.h>
#include "model.h"
#include "tracer.h"

/* Fork the helper (start.c, before the drop); the --netns path is the one
 * path it is ever given. 0, or -1 with a one-line reason. */
int tc_surveyor_start(struct tc_tracer *t, const char *netns_path, char *err, size_t errlen);
/* Close its socket and reap it (tc_tracer_stop); no-op when none runs. */
void tc_surveyor_stop(struct tc_tracer *t);

/* tc_survey_netns() of one netns, through the helper when there is one,
 * else in this process (--keep-caps). */
int tc_surveyor_survey(const struct tc_tracer *t, const char *given, struct tc_netns_info *ni,
		       struct tc_portrec **recs, size_t *nrecs);

#endif
