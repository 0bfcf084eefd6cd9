// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * closer: N TCP connections over loopback with a known close order, made by
 * two forked processes of known pid (comm "tc-server" and "tc-client").
 *
 *   closer MODE FAMILY PORT N [CLIENT_PORT]
 *     MODE    client-first | server-first | client-reset | server-reset |
 *             simultaneous | half-close | unread-reset | refused |
 *             data-after-shutdown | data-after-close | linger2 | linger2-close |
 *             fin-then-reset | memory | orphan-stuck
 *             (client-reset, server-reset: close() with SO_LINGER 0;
 *             unread-reset: the server's close() finds a request byte
 *             it never read, and resets)
 *             (half-close: the client closes first and the server holds
 *             its end open HALF_CLOSE_HOLD_S seconds after the last one)
 *             (the server resets for the client's data after its FIN:
 *             data-after-shutdown after shutdown(SHUT_RDWR), data-after-close
 *             after close(), which needs the netns's tcp_fin_timeout over 60
 *             s, or the orphan is a timewait socket when the data comes;
 *             linger2: TCP_LINGER2 -1, close() in FIN_WAIT2 resets at once
 *             (TcpExtTCPAbortOnLinger); linger2-close: the same close() in
 *             ESTABLISHED, reset when the ACK of its FIN comes
 *             (TcpExtTCPAbortOnData); fin-then-reset: the client closes
 *             first, the server answers with SO_LINGER 0: the client's
 *             orphan gets a reset in FIN_WAIT2 (a full socket there only
 *             with tcp_fin_timeout over 60 s); memory: client-first, whose
 *             server takes a reset as the end too (the client's close() may
 *             find too many orphans: the kernel resets); orphan-stuck: the
 *             server drops everything once the reply is out (a socket
 *             filter), so the client's close() leaves an orphan in
 *             FIN_WAIT1 retransmitting its FIN; the server holds on
 *             CLOSER_HOLD_S (4) seconds, or until the file named by
 *             CLOSER_RELEASE exists, then lets traffic in and closes)
 *             (the FIN by shutdown(): simultaneous's two sides and
 *             server-first's client, from CLOSE_WAIT; every other FIN by
 *             close())
 *     FAMILY  4 (127.0.0.1) | 6 (::1) | mapped (server on [::], client 127.0.0.1)
 *
 *     CLIENT_PORT  bind every client socket to this source port, pausing
 *                  a few ms between connections (4-tuple reuse scenarios)
 * Prints one JSON line: {"mode":..,"server_pid":..,"client_pid":..,"ok":N,"errors":N}
 * and exits non-zero when any connection did not go as the mode says.
 * Every socket call has a 5 s timeout and each process an alarm, so a wedged
 * kernel or test cannot hang CI.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

enum mode { CLIENT_FIRST, SERVER_FIRST, CLIENT_RESET, SERVER_RESET, SIMULTANEOUS, HALF_CLOSE,
	    UNREAD_RESET, REFUSED, DATA_AFTER_SHUTDOWN, DATA_AFTER_CLOSE, LINGER2, LINGER2_CLOSE,
	    FIN_THEN_RESET, MEMORY, ORPHAN_STUCK };
static const char *const mode_names[] = { "client-first", "server-first", "client-reset",
					  "server-reset", "simultaneous", "half-close",
					  "unread-reset", "refused", "data-after-shutdown",
					  "data-after-close", "linger2", "linger2-close",
					  "fin-then-reset", "memory", "orphan-stuck" };

/* half-close: how long the server keeps its ends open after the last EOF,
 * so that the client's orphans outlive tcp_fin_timeout in FIN_WAIT2
 * (CLOSER_HOLD_S in the environment: longer, for orphans parked on
 * purpose). */
#define HALF_CLOSE_HOLD_S 4

static enum mode mode;
static int family;		/* AF_INET / AF_INET6 of the client */
static int mapped;		/* server listens on [::] dual-stack */
static int port, nconn, client_port;

static void die(const char *what)
{
	fprintf(stderr, "closer: %s: %s\n", what, strerror(errno));
	exit(3);
}

static void timeouts(int fd)
{
	struct timeval tv = { .tv_sec = 5 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static void linger0_close(int fd)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)))
		die("SO_LINGER");
	close(fd);
}

static socklen_t addr_of(struct sockaddr_storage *ss, int fam, int any)
{
	memset(ss, 0, sizeof(*ss));
	if (fam == AF_INET6) {
		struct sockaddr_in6 *a = (void *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		a->sin6_addr = any ? in6addr_any : in6addr_loopback;
		return sizeof(*a);
	}
	struct sockaddr_in *a = (void *)ss;

	a->sin_family = AF_INET;
	a->sin_port = htons(port);
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sizeof(*a);
}

/* 1 if the next read says the peer closed (EOF), 2 if it reset, 0 else. */
static int wait_end(int fd)
{
	char c;
	ssize_t n = read(fd, &c, 1);

	if (n == 0)
		return 1;
	if (n < 0 && (errno == ECONNRESET || errno == EPIPE))
		return 2;
	return 0;
}

static int read1(int fd)
{
	char c;

	return read(fd, &c, 1) == 1 ? 0 : -1;
}

static int write1(int fd, char c)
{
	return write(fd, &c, 1) == 1 ? 0 : -1;
}

/* Fill the peer's (small) receive window so our FIN has to queue. */
static int fill_window(int fd)
{
	static char buf[65536];
	int fl = fcntl(fd, F_GETFL);
	long total = 0;

	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	for (int i = 0; i < 100000; i++) {
		ssize_t n = write(fd, buf, sizeof(buf));

		if (n < 0) {
			if (errno == EAGAIN)
				break;
			return -1;
		}
		total += n;
	}
	fcntl(fd, F_SETFL, fl);
	return total > 0 ? 0 : -1;
}

/* TCP_INFO's state (TCP_CLOSE 7, TCP_FIN_WAIT2 5): wait for it, bounded. */
static int wait_state(int fd, int state)
{
	for (int i = 0; i < 2000; i++) {
		struct tcp_info ti;
		socklen_t len = sizeof(ti);

		if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
			return -1;
		if (ti.tcpi_state == state)
			return 0;
		usleep(1000);
	}
	return -1;
}

static int linger2_off(int fd)
{
	int v = -1;	/* no FIN_WAIT2 for its orphan: a reset instead */

	return setsockopt(fd, IPPROTO_TCP, TCP_LINGER2, &v, sizeof(v));
}

/* The socket's TCP takes nothing in: a classic filter returning 0 drops
 * every segment before TCP sees it (SO_DETACH_FILTER undoes it). */
static int drop_all(int fd)
{
	struct sock_filter ret0[] = { { BPF_RET | BPF_K, 0, 0, 0 } };
	struct sock_fprog prog = { .len = 1, .filter = ret0 };

	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
}

/* orphan-stuck's server ends, held until the end */
static int held[1024], nheld;

static int drain(int fd)
{
	static char buf[65536];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	return n == 0 ? 0 : -1;
}

/* One accepted connection, per mode. ctl: socketpair to the client. */
static int serve_one(int c, int ctl)
{
	switch (mode) {
	case CLIENT_FIRST:
		if (read1(c) || write1(c, 'r'))
			return -1;
		return wait_end(c) == 1 ? (close(c), 0) : -1;
	case HALF_CLOSE:	/* server_main closes it, later */
		if (read1(c) || write1(c, 'r'))
			return -1;
		return wait_end(c) == 1 ? 0 : -1;
	case SERVER_FIRST:
		if (read1(c) || write1(c, 'r'))
			return -1;
		close(c);
		return 0;
	case CLIENT_RESET:
		if (read1(c) || write1(c, 'r'))
			return -1;
		return wait_end(c) == 2 ? (close(c), 0) : -1;
	case SERVER_RESET:
		if (read1(c) || write1(c, 'r') || read1(c))	/* 'k': reply seen */
			return -1;
		linger0_close(c);
		return 0;
	case UNREAD_RESET:	/* 'q' read, its 'x' not: close() resets */
		if (read1(c) || write1(c, 'r'))
			return -1;
		close(c);
		return 0;
	case DATA_AFTER_SHUTDOWN:	/* the client's 'x' after our FIN: reset */
		if (read1(c) || write1(c, 'r') || shutdown(c, SHUT_RDWR) || read1(ctl))
			return -1;
		close(c);
		return 0;
	case DATA_AFTER_CLOSE:
		if (read1(c) || write1(c, 'r'))
			return -1;
		close(c);
		return 0;
	case LINGER2:	/* close() in FIN_WAIT2: reset at once */
		if (linger2_off(c) || read1(c) || write1(c, 'r') || shutdown(c, SHUT_WR) ||
		    wait_state(c, 5))
			return -1;
		close(c);
		return 0;
	case LINGER2_CLOSE:
		if (linger2_off(c) || read1(c) || write1(c, 'r'))
			return -1;
		close(c);
		return 0;
	case FIN_THEN_RESET:
		if (read1(c) || write1(c, 'r') || wait_end(c) != 1)
			return -1;
		linger0_close(c);
		return 0;
	case MEMORY:
		if (read1(c) || write1(c, 'r') || !wait_end(c))
			return -1;
		close(c);
		return 0;
	case ORPHAN_STUCK:	/* reply, then hear nothing: the client's FIN is lost */
		if (read1(c) || write1(c, 'r') || drop_all(c) || write1(ctl, 'f') ||
		    nheld >= (int)(sizeof(held) / sizeof(held[0])))
			return -1;
		held[nheld++] = c;
		return 0;
	case SIMULTANEOUS:
		/* The client's data + FIN are stuck behind our full window; our
		 * FIN reaches it in FIN_WAIT1. Only then do we read. */
		if (read1(ctl))
			return -1;
		if (shutdown(c, SHUT_WR) || write1(ctl, 's'))
			return -1;
		if (drain(c))
			return -1;
		close(c);
		return 0;
	default:
		return -1;
	}
}

static int client_one(int ctl)
{
	struct sockaddr_storage ss;
	socklen_t len = addr_of(&ss, family, 0);
	int fd = socket(family, SOCK_STREAM, 0);

	if (fd < 0)
		die("socket");
	timeouts(fd);
	if (client_port) {
		struct sockaddr_storage cs;
		int one = 1, saved = port;

		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		port = client_port;
		len = addr_of(&cs, family, 0);
		port = saved;
		if (bind(fd, (void *)&cs, len))
			die("bind client port");
		/* a new ISN/timestamp, so the SYN may take over the peer's TIME_WAIT */
		usleep(5000);
	}
	if (mode == SIMULTANEOUS) {
		int small = 4096;	/* queue kilobytes, not megabytes, behind the FIN */

		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	}
	if (connect(fd, (void *)&ss, len)) {
		int refused = errno == ECONNREFUSED;

		close(fd);
		return mode == REFUSED && refused ? 0 : -1;
	}
	if (mode == REFUSED)
		return close(fd), -1;

	switch (mode) {
	case CLIENT_FIRST:
	case HALF_CLOSE:
	case FIN_THEN_RESET:
	case MEMORY:
		if (write1(fd, 'q') || read1(fd))
			break;
		close(fd);
		return 0;
	case SERVER_FIRST:	/* our FIN from CLOSE_WAIT by shutdown(), then close() */
		if (write1(fd, 'q') || read1(fd) || wait_end(fd) != 1 || shutdown(fd, SHUT_WR))
			break;
		close(fd);
		return 0;
	case CLIENT_RESET:
		if (write1(fd, 'q') || read1(fd))
			break;
		linger0_close(fd);
		return 0;
	case SERVER_RESET:
		if (write1(fd, 'q') || read1(fd) || write1(fd, 'k') || wait_end(fd) != 2)
			break;
		close(fd);
		return 0;
	case UNREAD_RESET:	/* one segment, so 'x' is queued before the server reads */
		if (write(fd, "qx", 2) != 2 || read1(fd) || wait_end(fd) != 2)
			break;
		close(fd);
		return 0;
	case DATA_AFTER_SHUTDOWN:	/* after the server's FIN, data: it resets */
	case DATA_AFTER_CLOSE:
		if (write1(fd, 'q') || read1(fd) || wait_end(fd) != 1 || write1(fd, 'x') ||
		    wait_state(fd, 7))
			break;
		if (mode == DATA_AFTER_SHUTDOWN && write1(ctl, 'd'))
			break;
		close(fd);
		return 0;
	case ORPHAN_STUCK:	/* close() once the server hears nothing */
		if (write1(fd, 'q') || read1(fd) || read1(ctl))
			break;
		close(fd);
		return 0;
	case LINGER2:	/* the server's reset ends it in CLOSE_WAIT */
	case LINGER2_CLOSE:
		if (write1(fd, 'q') || read1(fd) || wait_end(fd) != 1 || wait_state(fd, 7))
			break;
		close(fd);
		return 0;
	case SIMULTANEOUS:
		if (fill_window(fd) || shutdown(fd, SHUT_WR) || write1(ctl, 'g') || read1(ctl))
			break;
		if (wait_end(fd) != 1)	/* the server's FIN came first */
			break;
		close(fd);
		return 0;
	default:
		break;
	}
	close(fd);
	return -1;
}

static int listener(void)
{
	struct sockaddr_storage ss;
	int lfam = mapped ? AF_INET6 : family, one = 1, zero = 0;
	socklen_t len = addr_of(&ss, lfam, mapped);
	int fd = socket(lfam, SOCK_STREAM, 0);

	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (mapped && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)))
		die("IPV6_V6ONLY");
	if (mode == SIMULTANEOUS) {
		int small = 4096;	/* inherited by accepted sockets */

		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	}
	if (bind(fd, (void *)&ss, len) || listen(fd, 128))
		die("bind/listen");
	return fd;
}

static pid_t spawn(const char *name, int (*fn)(int, int), int a, int b)
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (pid == 0) {
		prctl(PR_SET_NAME, name);
		alarm(120);
		_exit(fn(a, b));
	}
	return pid;
}

static int server_main(int lfd, int ctl)
{
	int errors = 0;

	for (int i = 0; i < nconn; i++) {
		int c = accept(lfd, NULL, NULL);

		if (c < 0)
			die("accept");
		timeouts(c);
		if (serve_one(c, ctl))	/* half-close: c stays open until exit */
			errors++;
	}
	if (mode == HALF_CLOSE || mode == ORPHAN_STUCK) {	/* exit closes them */
		const char *h = getenv("CLOSER_HOLD_S"), *rel = getenv("CLOSER_RELEASE");
		int s = h ? atoi(h) : HALF_CLOSE_HOLD_S;

		if (s <= 0 || s > 100)
			s = HALF_CLOSE_HOLD_S;
		for (int i = 0; i < s * 10 && !(rel && !access(rel, F_OK)); i++)
			usleep(100000);	/* held; earlier once that file exists */
	}
	for (int i = 0; i < nheld; i++) {	/* hear again, then close */
		int zero = 0;

		setsockopt(held[i], SOL_SOCKET, SO_DETACH_FILTER, &zero, sizeof(zero));
		close(held[i]);
	}
	return errors ? 1 : 0;
}

static int client_main(int ctl, int unused)
{
	int errors = 0;

	for (int i = 0; i < nconn; i++)
		if (client_one(ctl))
			errors++;
	if (errors)
		fprintf(stderr, "closer: %s: %d of %d client connections failed\n",
			mode_names[mode], errors, nconn);
	return errors ? 1 : 0;
}

int main(int argc, char **argv)
{
	int ctl[2], lfd = -1, st, ok = 1;
	pid_t server = 0, client;

	if (argc != 5 && argc != 6) {
		fprintf(stderr, "usage: closer MODE 4|6|mapped PORT N [CLIENT_PORT]\n");
		return 2;
	}
	mode = (enum mode)-1;
	for (int i = 0; i <= ORPHAN_STUCK; i++)
		if (!strcmp(argv[1], mode_names[i]))
			mode = (enum mode)i;
	if ((int)mode < 0) {
		fprintf(stderr, "closer: unknown mode %s\n", argv[1]);
		return 2;
	}
	family = !strcmp(argv[2], "6") ? AF_INET6 : AF_INET;
	mapped = !strcmp(argv[2], "mapped");
	port = atoi(argv[3]);
	nconn = atoi(argv[4]);
	client_port = argc == 6 ? atoi(argv[5]) : 0;
	if (port <= 0 || port > 65535 || nconn <= 0 || nconn > 100000) {
		fprintf(stderr, "closer: bad port or count\n");
		return 2;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, ctl))
		die("socketpair");
	timeouts(ctl[0]);
	timeouts(ctl[1]);
	if (mode != REFUSED) {
		lfd = listener();
		server = spawn("tc-server", server_main, lfd, ctl[0]);
		close(lfd);
	}
	client = spawn("tc-client", client_main, ctl[1], 0);
	if (waitpid(client, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		ok = 0;
	if (server && (waitpid(server, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)))
		ok = 0;
	printf("{\"mode\":\"%s\",\"family\":\"%s\",\"port\":%d,\"n\":%d,"
	       "\"server_pid\":%d,\"client_pid\":%d,\"ok\":%s}\n", mode_names[mode], argv[2],
	       port, nconn, (int)server, (int)client, ok ? "true" : "false");
	return ok ? 0 : 1;
}
