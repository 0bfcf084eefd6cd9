// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * timeouter: N loopback connections that all die of one kind of timeout,
 * made by two forked processes of known pid (comm "tc-server", and
 * "tc-client" with a thread per connection). Once they are up (or, for
 * syn, before) blackhole.bpf.c drops the port's segments on this
 * namespace's lo, both ways.
 *
 *   timeouter PORT N MODE...   (each MODE on its own port, PORT + i, at once)
 *     keepalive     SO_KEEPALIVE: idle 1 s, probes 1 s apart, 2 of them
 *     retransmits   one byte sent into the hole; the namespace's
 *                   tcp_retries2 bounds it (the test sets 2: ~1.4 s)
 *     user-timeout  the same under TCP_USER_TIMEOUT 500 ms
 *     syn           connect() into the hole with TCP_SYNCNT 1 (the test
 *                   sets tcp_syn_linear_timeouts 0 where it exists)
 *
 * Prints per MODE {"mode":..,"port":..,"n":..,"server_pid":..,"client_pid":..,"ok":..};
 * ok when every client socket ended in ETIMEDOUT. Then the hole closes and
 * the server closes its ends (their peers are gone: they are reset).
 * The XDP link goes with this process; every process has an alarm.
 */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "blackhole.skel.h"

enum mode { KEEPALIVE, RETRANSMITS, USER_TIMEOUT, SYN };
static const char *const mode_names[] = { "keepalive", "retransmits", "user-timeout", "syn" };

#define MAX_CONN 64

static enum mode mode;
static int port, nconn;
static int ready_pipe[2], go_pipe[2], done_pipe[2];

static void die(const char *what)
{
	fprintf(stderr, "timeouter: %s: %s\n", what, strerror(errno));
	exit(3);
}

static struct sockaddr_in addr(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	return a;
}

static int opt(int fd, int level, int name, int v)
{
	return setsockopt(fd, level, name, &v, sizeof(v));
}

/* One connection: 0 when it ended in ETIMEDOUT, as the mode says. */
static void *client_one(void *arg)
{
	struct sockaddr_in a = addr();
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	char c = 'q';
	long ok = 0;

	(void)arg;
	if (fd < 0)
		return (void *)-1L;
	if (mode == SYN) {
		if (opt(fd, IPPROTO_TCP, TCP_SYNCNT, 1))
			goto out;
		ok = connect(fd, (void *)&a, sizeof(a)) && errno == ETIMEDOUT;
		goto out;
	}
	if ((mode == KEEPALIVE &&
	     (opt(fd, SOL_SOCKET, SO_KEEPALIVE, 1) || opt(fd, IPPROTO_TCP, TCP_KEEPIDLE, 1) ||
	      opt(fd, IPPROTO_TCP, TCP_KEEPINTVL, 1) || opt(fd, IPPROTO_TCP, TCP_KEEPCNT, 2))) ||
	    (mode == USER_TIMEOUT && opt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, 500)))
		goto out;
	if (connect(fd, (void *)&a, sizeof(a)) || write(fd, &c, 1) != 1 || read(fd, &c, 1) != 1)
		goto out;
	/* up: tell the coordinator, wait for the hole */
	if (write(ready_pipe[1], &c, 1) != 1 || read(go_pipe[0], &c, 1) != 1)
		goto out;
	if (mode != KEEPALIVE && write(fd, &c, 1) != 1)
		goto out;
	ok = read(fd, &c, 1) < 0 && errno == ETIMEDOUT;
out:
	close(fd);
	return (void *)(ok ? 0L : -1L);
}

static int client_main(void)
{
	pthread_t th[MAX_CONN];
	int bad = 0;

	for (int i = 0; i < nconn; i++)
		if (pthread_create(&th[i], NULL, client_one, NULL))
			die("pthread_create");
	for (int i = 0; i < nconn; i++) {
		void *r;

		pthread_join(th[i], &r);
		bad += r != NULL;
	}
	if (bad)
		fprintf(stderr, "timeouter: %s: %d of %d connections did not time out\n",
			mode_names[mode], bad, nconn);
	return bad ? 1 : 0;
}

/* Accepts and answers; holds its ends until told the clients are done. */
static int server_main(int lfd)
{
	int fds[MAX_CONN], n = 0;
	char c;

	close(ready_pipe[1]);	/* a client that dies must end the coordinator's wait */
	for (; mode != SYN && n < nconn; n++) {
		fds[n] = accept(lfd, NULL, NULL);
		if (fds[n] < 0 || read(fds[n], &c, 1) != 1 || write(fds[n], &c, 1) != 1)
			return 1;
	}
	if (read(done_pipe[0], &c, 1) != 1)
		return 1;
	for (int i = 0; i < n; i++)
		close(fds[i]);
	return 0;
}

static pid_t spawn(const char *name, int (*fn)(int), int arg)
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (pid == 0) {
		prctl(PR_SET_NAME, name);
		alarm(60);
		_exit(fn(arg));
	}
	return pid;
}

static int client_entry(int unused)
{
	(void)unused;
	return client_main();
}

static int hole(struct blackhole_bpf *skel, __u32 on)
{
	__u32 k = (__u32)port;

	return bpf_map__update_elem(skel->maps.drop_port, &k, sizeof(k), &on, sizeof(on), 0);
}

/* One MODE on port: its two processes, the hole opened between. */
static int run_mode(struct blackhole_bpf *skel)
{
	struct sockaddr_in a = addr();
	int lfd, one = 1, st, ok = 1;
	pid_t server, client;
	char c = 'g';

	if (pipe(ready_pipe) || pipe(go_pipe) || pipe(done_pipe))
		die("pipe");
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (void *)&a, sizeof(a)) || listen(lfd, 128))
		die("listen");
	if (mode == SYN && hole(skel, 1))
		die("open the hole");
	server = spawn("tc-server", server_main, lfd);
	close(lfd);
	client = spawn("tc-client", client_entry, 0);
	close(ready_pipe[1]);
	if (mode != SYN) {
		for (int i = 0; i < nconn; i++)
			if (read(ready_pipe[0], &c, 1) != 1)
				die("wait for the connections");
		if (hole(skel, 1))
			die("open the hole");
		for (int i = 0; i < nconn; i++)
			if (write(go_pipe[1], &c, 1) != 1)
				die("go");
	}
	if (waitpid(client, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		ok = 0;
	if (hole(skel, 0) || write(done_pipe[1], &c, 1) != 1)
		die("close the hole");
	if (waitpid(server, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		ok = 0;
	printf("{\"mode\":\"%s\",\"port\":%d,\"n\":%d,\"server_pid\":%d,\"client_pid\":%d,"
	       "\"ok\":%s}\n", mode_names[mode], port, nconn, (int)server, (int)client,
	       ok ? "true" : "false");
	fflush(stdout);
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct blackhole_bpf *skel;
	struct bpf_link *link;
	int base, ifindex, st, bad = 0, nmodes = argc - 3;
	pid_t kids[8];

	base = argc > 3 ? atoi(argv[1]) : 0;
	nconn = argc > 3 ? atoi(argv[2]) : 0;
	if (argc < 4 || nmodes > 8 || base <= 0 || base + nmodes > 65536 || nconn <= 0 ||
	    nconn > MAX_CONN) {
		fprintf(stderr, "usage: timeouter PORT N keepalive|retransmits|user-timeout|syn...\n");
		return 2;
	}
	for (int m = 0; m < nmodes; m++) {
		int found = 0;

		for (int i = 0; i <= SYN; i++)
			found |= !strcmp(argv[3 + m], mode_names[i]);
		if (!found) {
			fprintf(stderr, "timeouter: unknown mode %s\n", argv[3 + m]);
			return 2;
		}
	}
	alarm(90);
	ifindex = (int)if_nametoindex("lo");
	skel = blackhole_bpf__open_and_load();
	if (!ifindex || !skel)
		die("load blackhole.bpf.c");
	link = bpf_program__attach_xdp(skel->progs.blackhole, ifindex);
	if (!link)
		die("attach XDP to lo");
	for (int m = 0; m < nmodes; m++) {
		kids[m] = fork();
		if (kids[m] < 0)
			die("fork");
		if (kids[m] == 0) {
			for (int i = 0; i <= SYN; i++)
				if (!strcmp(argv[3 + m], mode_names[i]))
					mode = (enum mode)i;
			port = base + m;
			_exit(run_mode(skel));
		}
	}
	for (int m = 0; m < nmodes; m++)
		if (waitpid(kids[m], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
			bad++;
	bpf_link__destroy(link);
	blackhole_bpf__destroy(skel);
	return bad ? 1 : 0;
}
