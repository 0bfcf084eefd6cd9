// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cap-ng.h>
#include "outfile.h"
#include "privs.h"
#include "sandbox.h"

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

int tc_privs_surveyor(void)
{
	/* setns, finding a netns through another process's /proc/PID/ns,
	 * reading protected paths there, and the socket iterator */
	static const int keep[] = { CAP_SYS_ADMIN, CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH,
				    CAP_BPF, CAP_PERFMON };
	char err[128];

	if (drop_to_set(keep, (int)(sizeof(keep) / sizeof(keep[0]))))
		return -1;
	if (tc_sandbox(TC_SANDBOX_HELPER, err, sizeof(err))) {
		fprintf(stderr, "tcpclose: error: survey helper: %s\n", err);
		return -1;
	}
	return 0;
}

/* --user: a name or a number, looked up while files can still be read.
 * Without it: the owner of --textfile's directory (who can write there,
 * and nothing more is needed), else nobody. */
static int resolve_user(const struct tc_opts *o, uid_t *uid, gid_t *gid, char *err,
			size_t errlen)
{
	const char *user = o->user ? o->user : "nobody";
	struct passwd *pw;
	char *end;
	unsigned long n;

	if (!o->user && o->textfile) {
		char dir[4096];
		struct stat st;

		if (!stat(tc_outfile_dir(o->textfile, dir, sizeof(dir)), &st)) {
			*uid = st.st_uid;
			*gid = st.st_gid;
			return 0;
		}
	}
	n = strtoul(user, &end, 10);
	pw = *end || end == user ? getpwnam(user) : getpwuid((uid_t)n);
	if (pw) {
		*uid = pw->pw_uid;
		*gid = pw->pw_gid;
		return 0;
	}
	if (!*end && end != user && n < 0xffffffffUL) {	/* a uid without a passwd entry */
		*uid = (uid_t)n;
		*gid = (gid_t)n;
		return 0;
	}
	snprintf(err, errlen, "--user %s: no such user (--user root stays uid 0)", user);
	return -1;
}

/*
 * Capabilities down to keep_cap (-1: none), the bounding set emptied, as
 * uid/gid (no supplementary groups) unless uid is 0, then no_new_privs.
 */
static int drop_as(int keep_cap, uid_t uid, gid_t gid)
{
	capng_clear(CAPNG_SELECT_BOTH);
	if (keep_cap >= 0 &&
	    capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET,
			 (unsigned)keep_cap))
		return -1;
	if (uid == 0) {
		if (capng_apply(CAPNG_SELECT_BOTH))
			return -1;
	} else if (capng_change_id((int)uid, (int)gid, CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING)) {
		return -1;
	}
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

/* Can a process without capabilities still read our maps? Asked in a
 * throwaway child: once dropped, nothing comes back. */
static int maps_readable_unprivileged(int fd)
{
	int status;
	__u32 key = 0, next;
	pid_t pid = fork();

	if (pid < 0)
		return 0;
	if (pid == 0) {
		if (drop_as(-1, 0, 0))
			_exit(2);
		_exit(bpf_map_get_next_key(fd, &key, &next) && errno == EPERM ? 1 : 0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return 0;
	return WEXITSTATUS(status) == 0;
}

int tc_privs_become(const struct tc_opts *o, char *err, size_t errlen)
{
	uid_t uid = 0;
	gid_t gid = 0;

	if (o->keep_caps)
		return 0;
	if (resolve_user(o, &uid, &gid, err, errlen))
		return -1;
	if (drop_as(-1, uid, gid)) {
		snprintf(err, errlen, "cannot become uid %u: %s", (unsigned)uid, strerror(errno));
		return -1;
	}
	return 0;
}

int tc_privs_plan(const struct tc_opts *o, int probe_fd, struct tc_privs_plan *p,
		  char *err, size_t errlen)
{
	p->uid = 0;
	p->gid = 0;
	p->keep = -1;
	if (resolve_user(o, &p->uid, &p->gid, err, errlen))
		return -1;
	if (!maps_readable_unprivileged(probe_fd)) {
		/* kernels before 5.19 with unprivileged BPF disabled */
		capng_get_caps_process();
		p->keep = capng_have_capability(CAPNG_EFFECTIVE, CAP_BPF) ? CAP_BPF : CAP_SYS_ADMIN;
	}
	return 0;
}

int tc_privs_apply(const struct tc_privs_plan *p, char *err, size_t errlen)
{
	if (drop_as(p->keep, p->uid, p->gid)) {
		snprintf(err, errlen, "cannot drop privileges to uid %u after attaching: %s "
			 "(--keep-caps to run anyway)", (unsigned)p->uid, strerror(errno));
		return -1;
	}
	return tc_sandbox(TC_SANDBOX_MAIN, err, errlen);
}
