// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * porthog: runs connect() out of ephemeral ports toward one destination, on
 * purpose, with every outcome known. Three processes: "tc-hogsrv" accepts
 * and holds everything on 127.0.0.1:PORT; "tc-hog" opens HOLD connections
 * and keeps them; then "tc-late" tries N more connects and counts how each
 * failed.
 *
 *   porthog range PORT HOLD N         tc-hog takes HOLD ephemeral ports (a
 *                                     netns's whole range, say); tc-late's
 *                                     connects find none (EADDRNOTAVAIL)
 *   porthog bind PORT HOLD N SPORT    tc-hog holds SPORT->PORT; tc-late binds
 *                                     SPORT (SO_REUSEADDR) before each
 *                                     connect: the 4-tuple is taken
 *
 * Prints {"hog_pid":..,"late_pid":..,"held":H,"attempts":N,
 *         "eaddrnotavail":E,"other_errors":O} and exits 0 when it ran.
 * Socket calls time out after 5 s; each process has an alarm.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_HOLD 4096

static int port, hold, n, sport, bind_mode;

static void die(const char *what)
{
	fprintf(stderr, "porthog: %s: %s\n", what, strerror(errno));
	exit(3);
}

static struct sockaddr_in addr(int p)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(p) };

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static void timeouts(int fd)
{
	struct timeval tv = { .tv_sec = 5 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* A connect() from SPORT (bind mode) or an ephemeral port; -errno on failure. */
static int connect_one(int *out)
{
	struct sockaddr_in d = addr(port);
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (fd < 0)
		die("socket");
	timeouts(fd);
	if (bind_mode) {
		struct sockaddr_in s = addr(sport);

		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (void *)&s, sizeof(s)))
			die("bind SPORT");
	}
	if (connect(fd, (void *)&d, sizeof(d))) {
		int e = errno;

		close(fd);
		return -e;
	}
	*out = fd;
	return 0;
}

/* Accepts until the parent's end of ctl closes; holds every connection. */
static int server(int lfd, int ctl)
{
	struct pollfd p[2] = { { .fd = lfd, .events = POLLIN }, { .fd = ctl, .events = POLLIN } };
	int nheld = 0;

	for (int rounds = 0; rounds < 100000; rounds++) {
		if (poll(p, 2, 5000) <= 0)
			return 1;
		if (p[1].revents) {
			/*
			 * done: exit closes everything. A connection still in the
			 * accept queue would be reset when lfd closes, and a reset
			 * takes the client's TIME_WAIT away (seen under TCG), so
			 * take whatever is queued first.
			 */
			int fl = fcntl(lfd, F_GETFL);

			if (fl >= 0 && !fcntl(lfd, F_SETFL, fl | O_NONBLOCK))
				for (int i = 0; i < MAX_HOLD * 2 && accept(lfd, NULL, NULL) >= 0; i++)
					;
			return 0;
		}
		if (p[0].revents & POLLIN) {
			int c = accept(lfd, NULL, NULL);

			if (c >= 0 && nheld < MAX_HOLD * 2)
				nheld++;	/* c stays open until exit */
			else if (c >= 0)
				close(c);
		}
	}
	return 1;
}

static pid_t spawn(const char *name)
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (pid == 0) {
		prctl(PR_SET_NAME, name);
		alarm(120);
	}
	return pid;
}

int main(int argc, char **argv)
{
	int srv_ctl[2], hog_ctl[2], late_pipe[2], lfd, one = 1, st, ok = 1;
	struct sockaddr_in l;
	pid_t srv, hog, late;
	char c;

	if (argc < 5 || (strcmp(argv[1], "range") && strcmp(argv[1], "bind")) ||
	    (!strcmp(argv[1], "bind") && argc != 6)) {
		fprintf(stderr, "usage: porthog range PORT HOLD N | porthog bind PORT HOLD N SPORT\n");
		return 2;
	}
	bind_mode = !strcmp(argv[1], "bind");
	port = atoi(argv[2]);
	hold = atoi(argv[3]);
	n = atoi(argv[4]);
	sport = bind_mode ? atoi(argv[5]) : 0;
	if (port <= 0 || port > 65535 || hold < 1 || hold > MAX_HOLD || n < 1 || n > 100000 ||
	    (bind_mode && (sport <= 0 || sport > 65535 || hold != 1))) {
		fprintf(stderr, "porthog: bad arguments (bind mode holds exactly 1)\n");
		return 2;
	}
	l = addr(port);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0)
		die("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (void *)&l, sizeof(l)) || listen(lfd, 4096))
		die("bind/listen");
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, srv_ctl) || socketpair(AF_UNIX, SOCK_STREAM, 0, hog_ctl) ||
	    pipe(late_pipe))
		die("socketpair");

	if ((srv = spawn("tc-hogsrv")) == 0) {
		/* only its own ends: the others' EOFs must not wait for it */
		close(srv_ctl[0]);
		close(hog_ctl[0]);
		close(hog_ctl[1]);
		close(late_pipe[0]);
		close(late_pipe[1]);
		_exit(server(lfd, srv_ctl[1]));
	}
	close(srv_ctl[1]);
	close(lfd);

	/* tc-hog: takes its ports, says how many, holds them until told. */
	if ((hog = spawn("tc-hog")) == 0) {
		static int fds[MAX_HOLD];
		int got = 0;

		close(hog_ctl[0]);
		close(late_pipe[0]);
		close(late_pipe[1]);
		for (int i = 0; i < hold; i++)
			if (!connect_one(&fds[got]))
				got++;
		if (write(hog_ctl[1], &got, sizeof(got)) != sizeof(got))
			_exit(1);
		(void)!read(hog_ctl[1], &c, 1);	/* until the parent is done */
		_exit(0);
	}
	close(hog_ctl[1]);
	int held = 0;

	if (read(hog_ctl[0], &held, sizeof(held)) != sizeof(held))
		die("hog");

	/* tc-late: every connect from here should fail. */
	if ((late = spawn("tc-late")) == 0) {
		int counts[2] = { 0, 0 }, fd;

		for (int i = 0; i < n; i++) {
			int r = connect_one(&fd);

			if (r == -EADDRNOTAVAIL)
				counts[0]++;
			else if (r)
				counts[1]++;
			else
				close(fd), counts[1]++;	/* it should not have fit */
		}
		if (write(late_pipe[1], counts, sizeof(counts)) != sizeof(counts))
			_exit(1);
		_exit(0);
	}
	close(late_pipe[1]);
	int counts[2] = { 0, 0 };

	if (read(late_pipe[0], counts, sizeof(counts)) != sizeof(counts))
		ok = 0;
	if (waitpid(late, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		ok = 0, fprintf(stderr, "porthog: tc-late failed\n");
	close(hog_ctl[0]);	/* hog lets go */
	if (waitpid(hog, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		ok = 0, fprintf(stderr, "porthog: tc-hog failed\n");
	close(srv_ctl[0]);
	if (waitpid(srv, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		ok = 0, fprintf(stderr, "porthog: tc-hogsrv failed (%d)\n", st);
	printf("{\"mode\":\"%s\",\"hog_pid\":%d,\"late_pid\":%d,\"server_pid\":%d,\"held\":%d,"
	       "\"attempts\":%d,\"eaddrnotavail\":%d,\"other_errors\":%d,\"ok\":%s}\n", argv[1],
	       (int)hog, (int)late, (int)srv, held, n, counts[0], counts[1], ok ? "true" : "false");
	return ok ? 0 : 1;
}
