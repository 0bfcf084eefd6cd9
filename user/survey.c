// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "survey.h"
#include "tcpclose.skel.h"

static __u32 inode_of(const char *path)
{
	struct stat st;

	return stat(path, &st) ? 0 : (__u32)st.st_ino;
}

/* A path to the netns with inode ino: named ones first, then any process's. */
static int find_netns(__u32 ino, char *path, size_t len)
{
	static const char *const dirs[] = { "/var/run/netns", "/run/netns" };
	struct dirent *d;
	DIR *dir;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (!(dir = opendir(dirs[i])))
			continue;
		while ((d = readdir(dir))) {
			if (d->d_name[0] == '.')
				continue;
			snprintf(path, len, "%s/%s", dirs[i], d->d_name);
			if (inode_of(path) == ino) {
				closedir(dir);
				return 0;
			}
		}
		closedir(dir);
	}
	if (!(dir = opendir("/proc")))
		return -1;
	while ((d = readdir(dir))) {
		if (d->d_name[0] < '1' || d->d_name[0] > '9')
			continue;
		snprintf(path, len, "/proc/%s/ns/net", d->d_name);
		if (inode_of(path) == ino) {
			closedir(dir);
			return 0;
		}
	}
	closedir(dir);
	return -1;
}

static int read_sysctl(const char *name, char *buf, size_t len)
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

	return read_sysctl(name, buf, sizeof(buf)) ? dflt : atoi(buf);
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

	if (read_sysctl("ip_local_port_range", buf, sizeof(buf)) ||
	    tc_parse_port_range(buf, &ni->port_lo, &ni->port_hi))
		return -1;
	reserved = read_sysctl("ip_local_reserved_ports", buf, sizeof(buf)) ? 0 :
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
	for (ssize_t n = 1; iter >= 0 && n > 0;) {
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
	char path[300];
	int self, target, ret;

	if (inode_of("/proc/self/ns/net") == ni->ino)
		return survey_here(t, ni, recs, nrecs);
	if (given && inode_of(given) == ni->ino)
		snprintf(path, sizeof(path), "%s", given);
	else if (find_netns(ni->ino, path, sizeof(path)))
		return -1;	/* gone, or only reachable through a socket */
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	target = open(path, O_RDONLY | O_CLOEXEC);
	if (self < 0 || target < 0 || setns(target, CLONE_NEWNET)) {
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

static struct tc_netns_info *netns_slot(struct tc_model *m, __u32 ino)
{
	struct tc_netns_info *n;

	for (size_t i = 0; i < m->nnetns; i++)
		if (m->netns[i].ino == ino)
			return &m->netns[i];
	n = realloc(m->netns, (m->nnetns + 1) * sizeof(*n));
	if (!n)
		return NULL;
	m->netns = n;
	n = &m->netns[m->nnetns++];
	memset(n, 0, sizeof(*n));
	n->ino = ino;
	return n;
}

static int peer_dest_cmp(const void *a, const void *b, void *ctx)
{
	const struct tc_peer_row *p = ctx;
	const struct tc_peer_key *x = &p[*(const size_t *)a].key, *y = &p[*(const size_t *)b].key;
	int c;

	if (x->netns != y->netns)
		return x->netns < y->netns ? -1 : 1;
	if (x->tuple.family != y->tuple.family)
		return x->tuple.family < y->tuple.family ? -1 : 1;
	if (x->tuple.rport != y->tuple.rport)
		return x->tuple.rport < y->tuple.rport ? -1 : 1;
	if ((c = memcmp(x->tuple.laddr, y->tuple.laddr, TC_ADDR_LEN)))
		return c;
	return memcmp(x->tuple.raddr, y->tuple.raddr, TC_ADDR_LEN);
}

/*
 * The budget is the destination's, whoever connects: every process's
 * connects toward it spend it. att[i]: the connects toward client row i's
 * destination (tc_same_dest), by sorting rather than comparing every pair.
 */
static __u64 *dest_attempts(const struct tc_model *m)
{
	__u64 *att = calloc(m->npeers ? m->npeers : 1, sizeof(*att));
	size_t *idx = malloc((m->npeers ? m->npeers : 1) * sizeof(*idx)), n = 0;

	if (!att || !idx) {
		free(att);
		free(idx);
		return NULL;
	}
	for (size_t i = 0; i < m->npeers; i++)
		if (m->peers[i].key.role == TC_ROLE_CLIENT)
			idx[n++] = i;
	qsort_r(idx, n, sizeof(*idx), peer_dest_cmp, m->peers);
	for (size_t g = 0; g < n;) {
		size_t e = g;
		__u64 sum = 0;

		while (e < n && tc_same_dest(&m->peers[idx[g]].key, &m->peers[idx[e]].key))
			sum += m->peers[idx[e++]].c.conn.attempts;
		for (; g < e; g++)
			att[idx[g]] = sum;
	}
	free(idx);
	return att;
}

int tc_survey(const struct tc_tracer *t, const char *netns_path, struct tc_model *m)
{
	__u64 *att;

	for (size_t i = 0; i < m->npeers; i++)
		if (m->peers[i].key.role == TC_ROLE_CLIENT && !netns_slot(m, m->peers[i].key.netns))
			return -ENOMEM;

	att = dest_attempts(m);
	if (!att)
		return -ENOMEM;
	for (size_t k = 0; k < m->nnetns; k++) {
		struct tc_netns_info *ni = &m->netns[k];
		struct tc_portrec *recs = NULL;
		size_t nrecs = 0;

		if (survey_netns(t, netns_path, ni, &recs, &nrecs) || !ni->found) {
			free(recs);
			continue;
		}
		tc_sort_recs(recs, nrecs);
		for (size_t i = 0; i < m->npeers; i++) {
			struct tc_peer_row *r = &m->peers[i];
			struct tc_ports *p = &r->ports;

			if (r->key.role != TC_ROLE_CLIENT || r->key.netns != ni->ino)
				continue;
			p->known = t->survey;
			p->range = ni->usable;
			tc_count_dest_sorted(recs, nrecs, &r->key.tuple, ni->port_lo, ni->port_hi,
					     &p->in_use, &p->time_wait);
			p->utilisation = p->range ? (double)p->in_use / p->range : 1.0;
			p->rate = m->duration_s > 0 ? (double)att[i] / m->duration_s : 0;
			p->tw_len_s = TC_TIMEWAIT_LEN_S;
			p->exhaustion_s = tc_exhaustion_s(p->range, p->in_use, p->time_wait, p->rate,
							  p->tw_len_s,
							  tc_tw_reusable(ni->tw_reuse, r->key.tuple.family,
									 r->key.tuple.raddr));
		}
		free(recs);
	}
	free(att);
	return 0;
}
