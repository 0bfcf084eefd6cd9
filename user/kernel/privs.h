/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Least privilege once attached. Reading maps and ring buffers through fds
 * already open needs no capability since 5.19 (kernel.unprivileged_bpf_disabled
 * blocks only map creation and program loads); before that the bpf() syscall
 * itself wants CAP_BPF while it is set. A throwaway child finds out. Entering other netns for the port
 * survey needs CAP_SYS_ADMIN: a small helper forked before the drop keeps
 * it and does only that (surveyor.c), so the process that parses and prints
 * holds nothing. A leaf: the order of attach, helper and drop is start.c's.
 */
#ifndef TCPCLOSE_PRIVS_H
#define TCPCLOSE_PRIVS_H

#include <stddef.h>
#include <sys/types.h>
#include "args.h"

/* Who the attached process becomes and the one capability it may keep
 * (-1: none), decided while files can still be read. */
struct tc_privs_plan {
	uid_t uid;
	gid_t gid;
	int keep;
};

/* The plan for o (not for --keep-caps: the caller skips the drop then);
 * probe_fd, a map of the tracer, is read by a throwaway child without
 * capabilities. 0, or -1 with a one-line reason. */
int tc_privs_plan(const struct tc_opts *o, int probe_fd, struct tc_privs_plan *p,
		  char *err, size_t errlen);
/* The plan carried out, then the seccomp allow-list: 0, or -1 with a
 * one-line reason (nothing dropped then is an error too: a tracer that says
 * it is safe must be). */
int tc_privs_apply(const struct tc_privs_plan *p, char *err, size_t errlen);

/* What tc_privs_apply() makes of this process (user, no capabilities),
 * without the seccomp filter: for a throwaway child that tries, before
 * anything is loaded, what the attached process will be able to do. */
int tc_privs_become(const struct tc_opts *o, char *err, size_t errlen);

/* In the survey helper: only what the survey needs, nothing else. */
int tc_privs_surveyor(void);

#endif
