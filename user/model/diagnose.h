/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * `tcpclose doctor`: a verdict over the model (rows, port budgets, netns
 * sysctls), as a pure function so every rule is unit-tested without a kernel.
 */
#ifndef TCPCLOSE_DIAGNOSE_H
#define TCPCLOSE_DIAGNOSE_H

#include <stdio.h>
#include "model.h"

enum tc_severity {
	TC_SEV_INFO = 0,	/* worth knowing; nothing to fix */
	TC_SEV_WARNING,		/* will hurt at this rate, or hurts others */
	TC_SEV_CRITICAL,	/* failing now */
};

#define TC_FINDING_TEXT 640

struct tc_finding {
	int severity;		/* enum tc_severity */
	const char *id;		/* stable name, e.g. "port_exhaustion" */
	char title[400];
	char evidence[TC_FINDING_TEXT];
	char fix[TC_FINDING_TEXT];
};

/* The thresholds, in one place (docs/counting.md, "doctor: the rules"). */
#define TC_DOC_MIN_CLOSES	20	/* fewer closes than this: too few to judge a pattern */
#define TC_DOC_PATTERN_SHARE	0.8	/* "nearly every connection" */
/* Who closes first in most one-exchange connections owns the pattern: a
 * client that sees "Connection: close" and closes as soon as it has read
 * the reply wins that race now and then (a quarter of them in a TCG VM). */
#define TC_DOC_CLOSER_SHARE	0.5
#define TC_DOC_UTIL_WARN	0.5	/* ports in use toward one destination */
#define TC_DOC_UTIL_CRIT	0.9
#define TC_DOC_HORIZON_S	600.0	/* exhaustion sooner than this is a warning */
#define TC_DOC_SOON_S		60.0	/* ... and sooner than this, critical */
/* The rate is a window's average and who wins a close race varies: within
 * this share of the sustainable rate (the steady state holding 90-110 % of
 * the range) a port forecast is a warning, "at the limit", both under and
 * over it, so that runs near the threshold agree; critical takes more. */
#define TC_DOC_LOAD_MARGIN	0.1
#define TC_DOC_RESET_SHARE	0.5	/* a process closing this share with RST */
#define TC_DOC_MIN_TIMEOUTS	3	/* connections to one destination timed out */
#define TC_DOC_MAX_TIMEOUTS	5	/* destinations with a timeouts finding of their own */
#define TC_DOC_MIN_NOSOCK	20	/* resets for no socket to one port (in a run) */
#define TC_DOC_MAX_NOSOCK	5	/* ports with a no_socket_resets finding of their own */

/* Findings, most severe first; returns how many (at most max). */
int tc_diagnose(const struct tc_model *m, struct tc_finding *out, int max);
/* The worst severity among findings, or -1 for none. */
int tc_worst(const struct tc_finding *f, int n);

/* Exit status of doctor: 0 nothing wrong (information only), 2 warnings,
 * 3 something critical; 1 stays "could not run". */
int tc_doctor_status(const struct tc_finding *f, int n);

void tc_render_doctor_text(FILE *out, const struct tc_model *m, const struct tc_finding *f, int n);
int tc_render_doctor_json(FILE *out, const struct tc_model *m, const struct tc_finding *f, int n);

#endif
