// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pipeliner: an HTTP client that sends more than the server reads. Each of
 * N connections carries, in one write (one segment on loopback, so it is
 * all queued before the server reads any), a request with "Connection:
 * close" and BYTES more bytes, as a client pipelining its next request
 * would; then it reads the reply to the end.
 *
 *   pipeliner PORT N [BYTES]    (BYTES 16384 by default)
 *
 * A server that closes with those bytes unread resets the connection
 * (TcpExtTCPAbortOnClose); one that lingers (nginx's lingering_close) reads
 * them away and closes with a FIN. Prints {"n":N,"eof":E,"reset":R}.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: tcpclose\r\nConnection: close\r\n\r\n";
	int port = argc > 2 ? atoi(argv[1]) : 0, n = argc > 2 ? atoi(argv[2]) : 0;
	long extra = argc > 3 ? atol(argv[3]) : 16384;
	int eof = 0, reset = 0;
	size_t len;
	char *buf;

	if (argc < 3 || argc > 4 || port <= 0 || port > 65535 || n <= 0 || n > 10000 ||
	    extra < 0 || extra > 60000) {
		fprintf(stderr, "usage: pipeliner PORT N [BYTES <= 60000]\n");
		return 2;
	}
	len = sizeof(req) - 1 + (size_t)extra;
	buf = malloc(len);
	if (!buf)
		return 3;
	memcpy(buf, req, sizeof(req) - 1);
	memset(buf + sizeof(req) - 1, 'x', (size_t)extra);
	alarm(60);
	for (int i = 0; i < n; i++) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port),
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		struct timeval tv = { .tv_sec = 5 };
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		char r[4096];
		ssize_t got;

		if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
		    connect(fd, (void *)&a, sizeof(a)) || write(fd, buf, len) != (ssize_t)len) {
			fprintf(stderr, "pipeliner: connection %d: %s\n", i, strerror(errno));
			return 1;
		}
		while ((got = read(fd, r, sizeof(r))) > 0)
			;
		if (got == 0)
			eof++;
		else if (errno == ECONNRESET)
			reset++;
		close(fd);
	}
	printf("{\"n\":%d,\"eof\":%d,\"reset\":%d}\n", n, eof, reset);
	return eof + reset == n ? 0 : 1;
}
