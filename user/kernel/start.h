/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * How a command starts, in the one safe order: the tracer attached with
 * every privilege, the survey helper forked while they are still held, then
 * this process reduced to reading what it holds (privs.c).
 */
#ifndef TCPCLOSE_START_H
#define TCPCLOSE_START_H

#include <stddef.h>
#include "args.h"
#include "tracer.h"

#define TC_NEED_SURVEY 0x1	/* the command surveys ports (report, top, doctor, export) */

/* The helper (need TC_NEED_SURVEY) then the drop, for a started tracer: 0,
 * or -1 with a one-line reason. --keep-caps: no-op (no helper either: the
 * survey runs in this process). */
int tc_drop_attached(struct tc_tracer *t, const struct tc_opts *o, unsigned need,
		     char *err, size_t errlen);

/* tc_tracer_start() (no events) then tc_drop_attached(): 0, or -1 with the
 * error printed and nothing left attached. */
int tc_start_attached(struct tc_tracer *t, const struct tc_opts *o, unsigned need);

#endif
