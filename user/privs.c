// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cap-ng.h>
#include "privs.h"
#include "survey.h"
#include "tcpclose.skel.h"

#ifndef CAP_BPF
#define CAP_BPF 39
#endif

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif

static int drop_to_set(const int *keep, int n)
{
	capng_clear(CAPNG_SELECT_BOTH);
	for (int i = 0; i < n; i++)
		if (keep[i] >= 0 &&
		    capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET,
				 (unsigned)keep[i]))
			return -1;
	/* capabilities and the bounding set; ambient ones go with the clear */
	if (capng_apply(CAPNG_SELECT_BOTH))
		return -1;
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

static int drop_to(int keep_cap)
{
	return drop_to_set(&keep_cap, 1);
}

int tc_privs_surveyor(void)
{
	/* setns, finding a netns through another process's /proc/PID/ns,
	 * reading protected paths there, and the socket iterator */
	static const int keep[] = { CAP_SYS_ADMIN, CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH,
				    CAP_BPF, CAP_PERFMON };

	return drop_to_set(keep, (int)(sizeof(keep) / sizeof(keep[0])));
}

/* Can a process without capabilities still read our maps? Asked in a
 * throwaway child: once dropped, nothing comes back. */
static int maps_readable_unprivileged(const struct tc_tracer *t)
{
	int fd = bpf_map__fd(t->skel->maps.totals), status;
	__u32 key = 0, next;
	pid_t pid = fork();

	if (pid < 0)
		return 0;
	if (pid == 0) {
		if (drop_to(-1))
			_exit(2);
		_exit(bpf_map_get_next_key(fd, &key, &next) && errno == EPERM ? 1 : 0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return 0;
	return WEXITSTATUS(status) == 0;
}

int tc_privs_drop(struct tc_tracer *t, const struct tc_opts *o, unsigned need,
		  char *err, size_t errlen)
{
	int keep = -1;

	if (o->keep_caps)
		return 0;
	if (!maps_readable_unprivileged(t)) {
		/* kernels before 5.19 with unprivileged BPF disabled */
		capng_get_caps_process();
		keep = capng_have_capability(CAPNG_EFFECTIVE, CAP_BPF) ? CAP_BPF : CAP_SYS_ADMIN;
	}
	if ((need & TC_NEED_SURVEY) && tc_surveyor_start(t, err, errlen))
		return -1;
	if (drop_to(keep)) {
		snprintf(err, errlen, "cannot drop capabilities after attaching: %s (--keep-caps to run anyway)",
			 strerror(errno));
		return -1;
	}
	return 0;
}

int tc_start_attached(struct tc_tracer *t, const struct tc_opts *o, unsigned need)
{
	char err[512];

	if (tc_tracer_start(t, o, false, err, sizeof(err))) {
		fprintf(stderr, "tcpclose: error: %s\n", err);
		return -1;
	}
	if (tc_privs_drop(t, o, need, err, sizeof(err))) {
		fprintf(stderr, "tcpclose: error: %s\n", err);
		tc_tracer_stop(t);
		return -1;
	}
	return 0;
}
