// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * hold: opens many loopback connections and keeps them, for the scale runs
 * (tools/bench/scale): a socket map of a million entries is only tested by
 * a million live sockets. Client and server sides are spread over as many
 * process pairs as the descriptor limit needs (root may lack
 * CAP_SYS_RESOURCE; the limit is not raised past its hard value). Destinations are spread over ADDRS addresses of
 * 127.0.0.0/8 so that one source address has ports enough.
 *
 *   hold -c CONNS [-a ADDRS] [-p PORT]
 *
 * Prints {"held":N,"errors":E,"seconds":S} once every connect has been
 * tried, then holds everything until its stdin closes (or 600 s pass), and
 * exits; the kernel closes the sockets.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 2000000	/* 4M sockets: 2 x 1M fds at most */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Root without CAP_SYS_RESOURCE cannot raise the hard limit: take what the
 * hard limit allows, and spread the sockets over processes that fit in it. */
static long fd_budget(void)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r))
		return -1;
	r.rlim_cur = r.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &r))
		return -1;
	return r.rlim_max == RLIM_INFINITY ? 1 << 20 : (long)r.rlim_max;
}

/* A server process: accepts up to max connections, keeps them until ctl
 * reads EOF (the parent is done). */
static int serve(int lfd, int ctl, long max)
{
	struct pollfd p[2] = { { .fd = lfd, .events = POLLIN }, { .fd = ctl, .events = POLLIN } };
	double t0 = now_s();
	long n = 0;

	while (now_s() - t0 < 900) {
		if (n >= max)
			p[0].fd = -1;	/* full: leave the rest to the others */
		if (poll(p, 2, 1000) < 0)
			return 1;
		if (p[1].revents)
			return 0;
		if (p[0].revents & POLLIN)
			for (int i = 0; i < 1024 && n < max && accept(lfd, NULL, NULL) >= 0; i++)
				n++;	/* kept open until exit */
	}
	return 1;
}

/* A client process: connects its share [first, first + count), reports
 * {held, errors} on res, keeps them until ctl reads EOF. */
static int connector(long first, long count, long addrs, int port, int res, int ctl)
{
	struct sockaddr_in d = { .sin_family = AF_INET, .sin_port = htons(port) };
	long out[2] = { 0, 0 };
	double t0 = now_s();
	char c;

	for (long i = first; i < first + count && now_s() - t0 < 600; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		/* 127.0.1.0 + i % ADDRS: every one of them is lo's */
		d.sin_addr.s_addr = htonl(0x7f000100u + (unsigned int)(i % addrs));
		if (fd < 0 || connect(fd, (void *)&d, sizeof(d))) {
			out[1]++;
			if (fd >= 0)
				close(fd);
			continue;
		}
		out[0]++;	/* kept open until exit */
	}
	if (write(res, out, sizeof(out)) != sizeof(out))
		return 1;
	(void)!read(ctl, &c, 1);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	long conns = 0, addrs = 1, held = 0, errs = 0, chunk, nproc;
	int port = 9995, one = 1, opt, lfd, ctl[2], res[2];
	double t0;
	char c;

	while ((opt = getopt(argc, argv, "c:a:p:")) != -1) {
		switch (opt) {
		case 'c': conns = atol(optarg); break;
		case 'a': addrs = atol(optarg); break;
		case 'p': port = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: hold -c CONNS [-a ADDRS] [-p PORT]\n");
			return 2;
		}
	}
	if (conns < 1 || conns > MAX_CONNS || addrs < 1 || addrs > 16000000 || port <= 0 || port > 65535) {
		fprintf(stderr, "hold: bad arguments (1 <= CONNS <= %d, 1 <= ADDRS <= 16000000)\n", MAX_CONNS);
		return 2;
	}
	chunk = fd_budget() - 64;
	if (chunk < 64) {
		fprintf(stderr, "hold: too few file descriptors per process\n");
		return 1;
	}
	nproc = (conns + chunk - 1) / chunk;
	chunk = (conns + nproc - 1) / nproc;
	signal(SIGPIPE, SIG_IGN);
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_ANY);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lfd < 0 || bind(lfd, (void *)&a, sizeof(a)) || listen(lfd, 65535)) {
		perror("hold: listen");
		return 1;
	}
	if (pipe(ctl) || pipe(res)) {
		perror("hold: pipe");
		return 1;
	}
	t0 = now_s();
	for (long i = 0; i < nproc; i++) {
		pid_t s = fork(), k;

		if (s == 0) {
			close(ctl[1]);
			_exit(serve(lfd, ctl[0], chunk));
		}
		k = s < 0 ? -1 : fork();
		if (k == 0) {
			close(ctl[1]);
			close(lfd);
			_exit(connector(i * chunk, i == nproc - 1 ? conns - i * chunk : chunk, addrs, port,
					res[1], ctl[0]));
		}
		if (s < 0 || k < 0) {
			perror("hold: fork");
			return 1;
		}
	}
	close(ctl[0]);
	close(res[1]);
	close(lfd);
	for (long i = 0; i < nproc; i++) {
		long r[2];

		if (read(res[0], r, sizeof(r)) != sizeof(r))
			break;
		held += r[0];
		errs += r[1];
	}
	printf("{\"held\":%ld,\"errors\":%ld,\"seconds\":%.2f,\"processes\":%ld}\n", held, errs,
	       now_s() - t0, nproc * 2);
	fflush(stdout);
	{
		struct pollfd p = { .fd = 0, .events = POLLIN };

		if (poll(&p, 1, 600000) > 0)
			(void)!read(0, &c, 1);
	}
	close(ctl[1]);	/* everyone lets go */
	while (wait(NULL) > 0)
		;
	return 0;
}
