// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "privs.h"
#include "survey.h"
#include "surveyor.h"
#include "tcpclose.skel.h"

/*
 * The surveyor: a child forked before the capabilities are dropped, that
 * keeps them and only answers "survey netns ino" over a socket pair. The
 * one path it takes from the parent, --netns, it is given at fork: a
 * request names an inode, and the helper finds that netns itself.
 * It holds no BPF link (all fds but its socket, stdio and the iterator
 * program are closed), so it can never keep anything attached, and it dies
 * with its parent (PR_SET_PDEATHSIG, or EOF on the socket).
 */
struct sv_req {
	__u32 ino;
};

struct sv_rep {
	int ret;
	struct tc_netns_info ni;
	__u64 nrecs;		/* then nrecs struct tc_portrec */
};

static int full_io(int fd, void *buf, size_t len, bool wr)
{
	char *p = buf;

	while (len) {
		ssize_t n = wr ? write(fd, p, len) : read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void close_all_but(int keep1, int keep2)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name);

		if (e->d_name[0] < '0' || e->d_name[0] > '9' || fd <= 2 || fd == keep1 ||
		    fd == keep2 || fd == dirfd(d))
			continue;
		close(fd);
	}
	closedir(d);
}

static void surveyor_main(const struct tc_tracer *t, const char *given, int sock)
{
	struct sv_req q;

	/* Stop signals are for the parent: it reports, surveying once more,
	 * then closes the socket and we see EOF. A TERM to the whole group
	 * (systemd's stop, kill -- -PGID) must not take us first; we still die
	 * with the parent (PR_SET_PDEATHSIG) however it ends. */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	close_all_but(sock, t->survey ? bpf_program__fd(t->skel->progs.tc_iter_ports) : -1);
	if (tc_privs_surveyor()) {
		fprintf(stderr, "tcpclose: error: survey helper: cannot narrow its capabilities\n");
		_exit(1);
	}
	while (!full_io(sock, &q, sizeof(q), false)) {
		struct tc_portrec *recs = NULL;
		struct sv_rep r;
		size_t n = 0;

		memset(&r, 0, sizeof(r));
		r.ni.ino = q.ino;
		r.ret = tc_survey_netns(t, given, &r.ni, &recs, &n);
		r.nrecs = r.ret ? 0 : n;
		if (full_io(sock, &r, sizeof(r), true) ||
		    (r.nrecs && full_io(sock, recs, n * sizeof(*recs), true)))
			_exit(1);
		free(recs);
	}
	_exit(0);
}

int tc_surveyor_start(struct tc_tracer *t, const char *netns_path, char *err, size_t errlen)
{
	pid_t parent = getpid(), pid;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		snprintf(err, errlen, "cannot create the survey helper's socket: %s", strerror(errno));
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "cannot fork the survey helper: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);	/* the parent is already gone */
		close(sv[0]);
		surveyor_main(t, netns_path, sv[1]);
	}
	close(sv[1]);
	t->surveyor_fd = sv[0];
	t->surveyor_pid = pid;
	return 0;
}

void tc_surveyor_stop(struct tc_tracer *t)
{
	if (t->surveyor_fd < 0)
		return;
	close(t->surveyor_fd);		/* EOF: it exits */
	waitpid(t->surveyor_pid, NULL, 0);
	t->surveyor_fd = -1;
	t->surveyor_pid = 0;
}

/* tc_survey_netns() through the helper. */
static int survey_remote(const struct tc_tracer *t, const char *given, struct tc_netns_info *ni,
			 struct tc_portrec **recs, size_t *nrecs)
{
	struct sv_req q;
	struct sv_rep r;

	memset(&q, 0, sizeof(q));
	q.ino = ni->ino;
	if (full_io(t->surveyor_fd, &q, sizeof(q), true) ||
	    full_io(t->surveyor_fd, &r, sizeof(r), false))
		return -1;
	if (r.nrecs) {
		*recs = malloc(r.nrecs * sizeof(**recs));
		if (!*recs) {
			/* drain, to keep the stream in step */
			struct tc_portrec sink;

			for (__u64 i = 0; i < r.nrecs; i++)
				if (full_io(t->surveyor_fd, &sink, sizeof(sink), false))
					return -1;
			return -1;
		}
		if (full_io(t->surveyor_fd, *recs, r.nrecs * sizeof(**recs), false))
			return -1;
	}
	*nrecs = r.nrecs;
	*ni = r.ni;
	return r.ret;
}

int tc_surveyor_survey(const struct tc_tracer *t, const char *given, struct tc_netns_info *ni,
		       struct tc_portrec **recs, size_t *nrecs)
{
	return t->surveyor_fd >= 0 ? survey_remote(t, given, ni, recs, nrecs) :
				     tc_survey_netns(t, given, ni, recs, nrecs);
}
