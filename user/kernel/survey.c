// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "budget.h"
#include "collect.h"
#include "privs.h"
#include "survey.h"
#include "tcpclose.skel.h"

static __u32 inode_of(const char *path)
{
	struct stat st;

	return stat(path, &st) ? 0 : (__u32)st.st_ino;
}

/* path opened only if it is a network namespace (never a FIFO, a device,
 * a planted file: tc_netns_open) of inode ino, judged on what was opened,
 * not on the name: the fd to setns into, or -1. */
static int open_netns(const char *path, __u32 ino)
{
	char err[32];
	struct stat st;
	int fd = tc_netns_open(path, err, sizeof(err));

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || (__u32)st.st_ino != ino) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The netns with inode ino: named ones first, then any process's; its fd. */
static int find_netns(__u32 ino)
{
	static const char *const dirs[] = { "/var/run/netns", "/run/netns" };
	char path[300];
	struct dirent *d;
	int fd = -1;
	DIR *dir;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]) && fd < 0; i++) {
		if (!(dir = opendir(dirs[i])))
			continue;
		while (fd < 0 && (d = readdir(dir)))
			if (d->d_name[0] != '.') {
				snprintf(path, sizeof(path), "%s/%s", dirs[i], d->d_name);
				fd = open_netns(path, ino);
			}
		closedir(dir);
	}
	if (fd >= 0 || !(dir = opendir("/proc")))
		return fd;
	while (fd < 0 && (d = readdir(dir)))
		if (d->d_name[0] >= '1' && d->d_name[0] <= '9') {
			snprintf(path, sizeof(path), "/proc/%s/ns/net", d->d_name);
			fd = open_netns(path, ino);
		}
	closedir(dir);
	return fd;
}

int tc_read_sysctl(const char *name, char *buf, size_t len)
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

static int sysctl_int(const char *name, int dflt)
{
	char buf[64];

	return tc_read_sysctl(name, buf, sizeof(buf)) ? dflt : atoi(buf);
}

/* Everything read inside the netns: sysctls, then the sockets. */
/* The kernel's own counter, of the netns this thread is in now. */
static long long netstat_value(const char *group, const char *name)
{
	static char buf[16384];
	FILE *f = fopen("/proc/self/net/netstat", "re");
	size_t n;

	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	return tc_netstat_value(buf, group, name);
}

static int survey_here(const struct tc_tracer *t, struct tc_netns_info *ni,
		       struct tc_portrec **recs, size_t *nrecs)
{
	char buf[4096];
	size_t cap = 0;
	long reserved;
	int iter;
	struct bpf_link *link;

	if (tc_read_sysctl("ip_local_port_range", buf, sizeof(buf)) ||
	    tc_parse_port_range(buf, &ni->port_lo, &ni->port_hi))
		return -1;
	reserved = tc_read_sysctl("ip_local_reserved_ports", buf, sizeof(buf)) ? 0 :
		   tc_reserved_in(buf, ni->port_lo, ni->port_hi);
	ni->usable = tc_usable_ports(ni->port_lo, ni->port_hi, reserved > 0 ? (__u32)reserved : 0);
	ni->tw_reuse = sysctl_int("tcp_tw_reuse", -1);
	ni->max_tw_buckets = sysctl_int("tcp_max_tw_buckets", -1);
	ni->fin_timeout = sysctl_int("tcp_fin_timeout", -1);
	ni->tw_recycle = sysctl_int("tcp_tw_recycle", -1);
	ni->tw_overflow_mib = netstat_value("TcpExt", "TCPTimeWaitOverflow");
	ni->found = 1;

	if (!t->survey)
		return 0;
	link = bpf_program__attach_iter(t->skel->progs.tc_iter_ports, NULL);
	if (!link)
		return 0;
	iter = bpf_iter_create(bpf_link__fd(link));
	ssize_t n = 1;

	while (iter >= 0 && n > 0) {
		if (*nrecs == cap) {
			size_t ncap = cap ? cap * 2 : 1024;
			struct tc_portrec *r = realloc(*recs, ncap * sizeof(*r));

			if (!r)
				break;
			*recs = r;
			cap = ncap;
		}
		/* the iterator hands out whole records per read */
		n = read(iter, *recs + *nrecs, (cap - *nrecs) * sizeof(**recs));
		if (n > 0)
			*nrecs += (size_t)n / sizeof(**recs);
	}
	ni->listed = iter >= 0 && n == 0;
	if (iter >= 0)
		close(iter);
	bpf_link__destroy(link);
	for (size_t i = 0; i < *nrecs; i++) {
		ni->sockets++;
		ni->time_wait += (*recs)[i].state == TC_TIME_WAIT;
	}
	return 0;
}

static int survey_netns(const struct tc_tracer *t, const char *given, struct tc_netns_info *ni,
			struct tc_portrec **recs, size_t *nrecs)
{
	int self, target = -1, ret;

	if (inode_of("/proc/self/ns/net") == ni->ino)
		return survey_here(t, ni, recs, nrecs);
	if (given)
		target = open_netns(given, ni->ino);
	if (target < 0 && (target = find_netns(ni->ino)) < 0)
		return -1;	/* gone, or only reachable through a socket */
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0 || setns(target, CLONE_NEWNET)) {
		if (self >= 0)
			close(self);
		if (target >= 0)
			close(target);
		return -1;
	}
	ret = survey_here(t, ni, recs, nrecs);
	if (setns(self, CLONE_NEWNET)) {
		fprintf(stderr, "tcpclose: error: cannot return to own netns: %s\n", strerror(errno));
		exit(1);
	}
	close(self);
	close(target);
	return ret;
}

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
		r.ret = survey_netns(t, given, &r.ni, &recs, &n);
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

/* survey_netns() through the helper. */
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

/* One netns, through the privileged helper when there is one. */
static int survey_one(const struct tc_tracer *t, const char *given, struct tc_netns_info *ni,
		      struct tc_portrec **recs, size_t *nrecs)
{
	return t->surveyor_fd >= 0 ? survey_remote(t, given, ni, recs, nrecs) :
				     survey_netns(t, given, ni, recs, nrecs);
}

/* Fills m->netns (one slot per netns of a client row) and the ports of
 * the client rows; with raw, also hands back what each netns gave. The
 * budgets come after the sweep: the closes it charges (unseen) are
 * attempts toward their destinations too. */
int tc_survey_raw(const struct tc_tracer *t, const char *netns_path, struct tc_model *m,
		  struct tc_netns_raw **raw, size_t *nraw)
{
	struct tc_sweep sw = { 0 };
	struct tc_netns_raw *got;
	size_t *slot, ngot = 0;
	__u64 *att = NULL;
	int err = 0;

	if (raw) {
		*raw = NULL;
		*nraw = 0;
	}
	if (tc_budget_netns_slots(m))
		return -ENOMEM;
	got = calloc(m->nnetns ? m->nnetns : 1, sizeof(*got));
	slot = calloc(m->nnetns ? m->nnetns : 1, sizeof(*slot));
	if (!got || !slot) {
		free(got);
		free(slot);
		return -ENOMEM;
	}
	/* Records to sweep: read before the sockets are listed (sweep.h). */
	if (t->survey && !t->no_sweep && tc_sweep_read(t, &sw))
		err = -ENOMEM;
	for (size_t k = 0; !err && k < m->nnetns; k++) {
		struct tc_netns_info *ni = &m->netns[k];
		struct tc_portrec *recs = NULL;
		size_t nrecs = 0;

		if (survey_one(t, netns_path, ni, &recs, &nrecs) || !ni->found) {
			free(recs);
			continue;
		}
		if (ni->listed && tc_sweep_judge(&sw, ni->ino, recs, nrecs) < 0)
			err = -ENOMEM;
		slot[ngot] = k;
		got[ngot].ino = ni->ino;
		got[ngot].recs = recs;
		got[ngot++].nrecs = nrecs;
	}
	/* The netns of records but of no client row (servers): listed only
	 * for the sweep. */
	for (__u32 ino; !err && (ino = tc_sweep_next_netns(&sw, m));) {
		struct tc_netns_info ni = { .ino = ino };
		struct tc_portrec *recs = NULL;
		size_t nrecs = 0;

		if (!survey_one(t, netns_path, &ni, &recs, &nrecs) && ni.found && ni.listed && tc_sweep_judge(&sw, ni.ino, recs, nrecs) < 0)
			err = -ENOMEM;
		free(recs);
	}
	if (!err)
		err = tc_sweep_finish(t, &sw, m);
	tc_sweep_free(&sw);
	if (!err && !(att = tc_dest_attempts(m)))
		err = -ENOMEM;
	for (size_t i = 0; i < ngot; i++) {
		if (!err)
			tc_budget_apply(m, &m->netns[slot[i]], got[i].recs, got[i].nrecs, t->survey, att);
		if (!raw || err)
			free(got[i].recs);
	}
	if (raw && !err) {
		*raw = got;
		*nraw = ngot;
	} else {
		free(got);
	}
	free(slot);
	free(att);
	return err;
}

int tc_survey(const struct tc_tracer *t, const char *netns_path, struct tc_model *m)
{
	return tc_survey_raw(t, netns_path, m, NULL, NULL);
}
