// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * threaded: one process ("tc-threads") whose threads are named otherwise,
 * as Java's, Go's or a thread-pool server's are: an acceptor thread
 * ("tc-acceptor"), a thread per connection ("tc-worker") that answers and
 * closes first, and a client thread ("tc-pool") that makes N connections
 * over loopback to it.
 *
 *   threaded PORT N
 * Prints {"pid":..,"ok":N,"errors":N} and exits non-zero on any error.
 * Every socket call has a 5 s timeout and the process an alarm.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static int port, n;
static int listener;
static int errors;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void fail(const char *what)
{
	pthread_mutex_lock(&lock);
	errors++;
	pthread_mutex_unlock(&lock);
	perror(what);
}

static void timeouts(int fd)
{
	struct timeval tv = { .tv_sec = 5 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Answers one byte, then closes first. */
static void *worker(void *arg)
{
	int fd = (int)(long)arg;
	char c;

	prctl(PR_SET_NAME, "tc-worker");
	timeouts(fd);
	if (read(fd, &c, 1) != 1 || write(fd, &c, 1) != 1)
		fail("worker");
	close(fd);
	return NULL;
}

static void *acceptor(void *arg)
{
	pthread_t *w = calloc((size_t)n, sizeof(*w));

	(void)arg;
	prctl(PR_SET_NAME, "tc-acceptor");
	for (int i = 0; i < n && w; i++) {
		int fd = accept(listener, NULL, NULL);

		if (fd < 0 || pthread_create(&w[i], NULL, worker, (void *)(long)fd)) {
			fail("accept");
			w[i] = 0;
			continue;
		}
	}
	for (int i = 0; i < n && w; i++)
		if (w[i])
			pthread_join(w[i], NULL);
	free(w);
	return NULL;
}

/* n connections, one at a time: a byte each way, the server's FIN, close. */
static void *pool(void *arg)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };

	(void)arg;
	prctl(PR_SET_NAME, "tc-pool");
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	for (int i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		char c = 'x';

		if (fd < 0) {
			fail("socket");
			continue;
		}
		timeouts(fd);
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) || write(fd, &c, 1) != 1 ||
		    read(fd, &c, 1) != 1 || read(fd, &c, 1) != 0)
			fail("client");
		close(fd);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	pthread_t acc, cli;
	int one = 1;

	if (argc != 3 || (port = atoi(argv[1])) <= 0 || (n = atoi(argv[2])) <= 0) {
		fprintf(stderr, "usage: threaded PORT N\n");
		return 2;
	}
	alarm(60);
	prctl(PR_SET_NAME, "tc-threads");
	a.sin_port = htons((unsigned short)port);
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	listener = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (listener < 0 || bind(listener, (struct sockaddr *)&a, sizeof(a)) || listen(listener, 64)) {
		perror("listen");
		return 1;
	}
	if (pthread_create(&acc, NULL, acceptor, NULL) || pthread_create(&cli, NULL, pool, NULL)) {
		perror("pthread_create");
		return 1;
	}
	pthread_join(cli, NULL);
	pthread_join(acc, NULL);
	close(listener);
	printf("{\"pid\":%d,\"ok\":%d,\"errors\":%d}\n", getpid(), n - errors, errors);
	return errors ? 1 : 0;
}
