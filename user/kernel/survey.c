// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "netns.h"
#include "ports.h"
#include "survey.h"
#include "tcpclose.skel.h"

static __u32 inode_of(const char *path)
{
	struct stat st;

	return stat(path, &st) ? 0 : (__u32)st.st_ino;
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

int tc_survey_netns(const struct tc_tracer *t, const char *given, struct tc_netns_info *ni,
		    struct tc_portrec **recs, size_t *nrecs)
{
	int self, target = -1, ret;

	if (inode_of("/proc/self/ns/net") == ni->ino)
		return survey_here(t, ni, recs, nrecs);
	if (given)
		target = tc_netns_open_ino(given, ni->ino);
	if (target < 0 && (target = tc_netns_find(ni->ino)) < 0)
		return -1;	/* gone, or only reachable through a socket */
	if (tc_netns_enter(target, &self)) {
		close(target);
		return -1;
	}
	ret = survey_here(t, ni, recs, nrecs);
	tc_netns_leave(self);
	close(target);
	return ret;
}
