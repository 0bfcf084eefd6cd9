/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Least privilege once attached. Reading maps and ring buffers through fds
 * already open needs no capability since 5.19 (kernel.unprivileged_bpf_disabled
 * blocks only map creation and program loads); before that the bpf() syscall
 * itself wants CAP_BPF while it is set. A throwaway child finds out. Entering other netns for the port
 * survey needs CAP_SYS_ADMIN: a small helper forked before the drop keeps
 * it and does only that (survey.c), so the process that parses and prints
 * holds nothing.
 */
#ifndef TCPCLOSE_PRIVS_H
#define TCPCLOSE_PRIVS_H

#include <stddef.h>
#include "args.h"
#include "tracer.h"

#define TC_NEED_SURVEY 0x1	/* the command surveys ports (report, top, doctor, export) */

/* 0, or -1 with a one-line reason (nothing dropped then is an error too:
 * a tracer that says it is safe must be). --keep-caps: no-op. */
int tc_privs_drop(struct tc_tracer *t, const struct tc_opts *o, unsigned need,
		  char *err, size_t errlen);

/* tc_tracer_start() (no events) then tc_privs_drop(): 0, or -1 with the
 * error printed and nothing left attached. */
int tc_start_attached(struct tc_tracer *t, const struct tc_opts *o, unsigned need);

/* What tc_privs_drop() makes of this process (user, no capabilities),
 * without the seccomp filter: for a throwaway child that tries, before
 * anything is loaded, what the attached process will be able to do. */
int tc_privs_become(const struct tc_opts *o, char *err, size_t errlen);

/* In the survey helper: only what the survey needs, nothing else. */
int tc_privs_surveyor(void);

#endif
