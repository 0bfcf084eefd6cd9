/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The survey of one network namespace: entered, its sysctls and the
 * sockets that hold a local port read (portsnap). What is made of it (the
 * port budgets, the sweep) is sample.c's; who runs it (the privileged
 * helper, or this process) is surveyor.c's. */
#ifndef TCPCLOSE_SURVEY_H
#define TCPCLOSE_SURVEY_H

#include "model.h"
#include "tracer.h"

/* net.ipv4.NAME of this thread's netns into buf (NUL-terminated, newline
 * kept); 0, or -1 when unreadable. */
int tc_read_sysctl(const char *name, char *buf, size_t len);

/* The netns of ni->ino (given, the --netns path, tried first) entered from
 * this process: ni filled, its sockets in *recs (the caller frees them);
 * 0, or -1 when it cannot be entered. */
int tc_survey_netns(const struct tc_tracer *t, const char *given, struct tc_netns_info *ni,
		    struct tc_portrec **recs, size_t *nrecs);

#endif
