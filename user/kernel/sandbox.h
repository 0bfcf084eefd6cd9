/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The seccomp allow-list (libseccomp) of a process once attached: the main
 * process (maps, ring buffer, output, HTTP) and the survey helper (that,
 * plus setns). Loaded after the capability drop, with no_new_privs set.
 */
#ifndef TCPCLOSE_SANDBOX_H
#define TCPCLOSE_SANDBOX_H

#include <stddef.h>

enum { TC_SANDBOX_MAIN = 0, TC_SANDBOX_HELPER };

/* 0, or -1 with a one-line reason in err. */
int tc_sandbox(int role, char *err, size_t errlen);

#endif
