// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * churn: loopback connection churn at saturation, the benchmark's load.
 * T client threads each loop: connect, send 1 byte, read 1 byte, close;
 * a server thread per client thread accepts and answers. Who closes first
 * is chosen (client: TIME_WAIT on the client side, the proxy case; server:
 * on the server side). Runs for SECONDS and prints one JSON line:
 *   {"threads":T,"seconds":S,"connections":N,"per_s":F,"errors":E}
 *
 *   churn [-t THREADS] [-d SECONDS] [-p PORT] [-n COUNT] [-s]
 *         (-s: the server closes first; -n: stop after COUNT connections)
 *
 * Meant for its own netns with a wide ip_local_port_range and tcp_tw_reuse
 * (loopback default 2), so ports never run out at ~20k connections/s.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64

static int port = 9990, server_first;
static double seconds = 3;
static atomic_int stop, clients_done;
static atomic_ulong done, errors, total;
static unsigned long limit;	/* -n: stop after this many connections (0: none) */
static int lfd;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A lost exchange is an error, not a thread stuck for the rest of the run. */
static void read_timeout(int fd)
{
	struct timeval tv = { .tv_sec = 2 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

static void *server(void *arg)
{
	(void)arg;
	/* until every client is done: a connection still queued would hang it */
	while (!atomic_load(&clients_done)) {
		char c;
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			continue;	/* the listener is shut down at the end */
		read_timeout(fd);
		if (read(fd, &c, 1) == 1 && write(fd, &c, 1) == 1 && !server_first)
			(void)!read(fd, &c, 1);	/* the client's FIN */
		close(fd);
	}
	return NULL;
}

static void *client(void *arg)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	unsigned long n = 0, e = 0;

	(void)arg;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	while (!atomic_load(&stop)) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		char c = 'q';

		if (fd < 0) {
			e++;
			continue;
		}
		read_timeout(fd);
		if (connect(fd, (void *)&a, sizeof(a)) || write(fd, &c, 1) != 1 ||
		    read(fd, &c, 1) != 1) {
			e++;
			close(fd);
			continue;
		}
		if (server_first)
			(void)!read(fd, &c, 1);	/* the server's FIN */
		close(fd);
		n++;
		if (limit && atomic_fetch_add(&total, 1) + 1 >= limit)
			atomic_store(&stop, 1);
	}
	atomic_fetch_add(&done, n);
	atomic_fetch_add(&errors, e);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t cl[MAX_THREADS], sv[MAX_THREADS];
	struct sockaddr_in a = { .sin_family = AF_INET };
	int threads = 8, one = 1, opt;
	double t0, t1;

	while ((opt = getopt(argc, argv, "t:d:p:n:s")) != -1) {
		switch (opt) {
		case 't': threads = atoi(optarg); break;
		case 'd': seconds = atof(optarg); break;
		case 'p': port = atoi(optarg); break;
		case 'n': limit = strtoul(optarg, NULL, 10); break;
		case 's': server_first = 1; break;
		default:
			fprintf(stderr, "usage: churn [-t THREADS] [-d SECONDS] [-p PORT] [-n COUNT] [-s]\n");
			return 2;
		}
	}
	if (threads < 1 || threads > MAX_THREADS || seconds <= 0 || seconds > 3600 ||
	    port <= 0 || port > 65535) {
		fprintf(stderr, "churn: bad arguments\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lfd < 0 || bind(lfd, (void *)&a, sizeof(a)) || listen(lfd, 4096)) {
		perror("churn: listen");
		return 1;
	}
	for (int i = 0; i < threads; i++)
		pthread_create(&sv[i], NULL, server, NULL);
	t0 = now_s();
	for (int i = 0; i < threads; i++)
		pthread_create(&cl[i], NULL, client, NULL);
	while (now_s() - t0 < seconds && !atomic_load(&stop))
		usleep(10000);
	atomic_store(&stop, 1);
	for (int i = 0; i < threads; i++)
		pthread_join(cl[i], NULL);
	t1 = now_s();
	atomic_store(&clients_done, 1);
	shutdown(lfd, SHUT_RDWR);	/* wakes the servers blocked in accept() */
	for (int i = 0; i < threads; i++)
		pthread_join(sv[i], NULL);
	printf("{\"threads\":%d,\"seconds\":%.3f,\"connections\":%lu,\"per_s\":%.1f,\"errors\":%lu}\n",
	       threads, t1 - t0, atomic_load(&done), (double)atomic_load(&done) / (t1 - t0),
	       atomic_load(&errors));
	return 0;
}
