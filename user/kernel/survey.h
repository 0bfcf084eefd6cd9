/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The port survey: each client row's netns entered, its sysctls and sockets
 * read, the port budget of each destination computed (ports.h). */
#ifndef TCPCLOSE_SURVEY_H
#define TCPCLOSE_SURVEY_H

#include "model.h"
#include "tracer.h"

/* Fills m->netns and the ports of client peer rows; 0, or -ENOMEM. A netns
 * that cannot be entered leaves its rows' ports unknown. */
int tc_survey(const struct tc_tracer *t, const char *netns_path, struct tc_model *m);

/* net.ipv4.NAME of this thread's netns into buf (NUL-terminated, newline
 * kept); 0, or -1 when unreadable. */
int tc_read_sysctl(const char *name, char *buf, size_t len);

/* What one netns's survey gave, for a recording. */
struct tc_netns_raw {
	__u32 ino;
	struct tc_portrec *recs;
	size_t nrecs;
};
/* tc_survey(), also handing back each surveyed netns's sockets (*raw: one
 * per netns found; free each recs, then *raw). */
int tc_survey_raw(const struct tc_tracer *t, const char *netns_path, struct tc_model *m,
		  struct tc_netns_raw **raw, size_t *nraw);

/* Fork the privileged survey helper (privs.c); tc_survey() then asks it. */
int tc_surveyor_start(struct tc_tracer *t, const char *netns_path, char *err, size_t errlen);
void tc_surveyor_stop(struct tc_tracer *t);

#endif
