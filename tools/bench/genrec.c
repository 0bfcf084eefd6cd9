// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * genrec OUT PEERS [NETNS]: a synthetic recording (user/model/recfile.h format)
 * for tools/bench/scale's replay phase: PEERS client closes, each toward a
 * destination of its own (so PEERS peer rows and destinations), spread over
 * NETNS network namespaces (default 1), each with its port survey and its
 * trailer entry. Every 50th destination closes 30 times, remote first after
 * one exchange, toward a server row of this host: doctor has work to do.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tcpclose.h"

#define REC_MAGIC "TCPCLREC"
#define REC_VERSION 1
#define REC_PORTS 3
#define REC_END 9

static FILE *out;

static void frame(__u32 type, const void *p, __u32 len)
{
	__u32 h[2] = { type, len };

	if (fwrite(h, sizeof(h), 1, out) != 1 || (len && fwrite(p, len, 1, out) != 1)) {
		perror("genrec: write");
		exit(1);
	}
}

static void dest(struct tc_tuple *t, unsigned i)
{
	memset(t, 0, sizeof(*t));
	t->family = AF_INET;
	t->laddr[0] = 10;
	t->laddr[3] = 1;
	t->raddr[0] = 10;
	t->raddr[1] = (__u8)(i >> 16);
	t->raddr[2] = (__u8)(i >> 8);
	t->raddr[3] = (__u8)i;
	t->rport = (__u16)(1000 + i % 50000);
}

int main(int argc, char **argv)
{
	const __u16 one = 1;
	unsigned peers, nns;
	char hdr[1024];
	__u32 v[2];

	if (argc < 3 || !(peers = (unsigned)strtoul(argv[2], NULL, 10))) {
		fprintf(stderr, "usage: genrec OUT PEERS [NETNS]\n");
		return 2;
	}
	nns = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 1;
	if (!nns || nns > peers)
		nns = nns ? peers : 1;
	out = fopen(argv[1], "w");
	if (!out) {
		perror(argv[1]);
		return 1;
	}
	snprintf(hdr, sizeof(hdr), "{\"tool\":\"genrec\",\"attach\":\"tracepoint\","
		 "\"state_hook\":\"tp_btf/inet_sock_set_state\",\"owner_hook\":null,\"tw_hook\":null,"
		 "\"port_hook\":null,\"port_hooks\":false,\"tw_snapshot\":false,\"survey\":true,"
		 "\"sizes\":{\"event\":%zu,\"tw_event\":%zu,\"portrec\":%zu},\"byte_order\":\"%s\"}",
		 sizeof(struct tc_event), sizeof(struct tc_tw_event), sizeof(struct tc_portrec),
		 *(const __u8 *)&one ? "little" : "big");
	v[0] = REC_VERSION;
	v[1] = (__u32)strlen(hdr);
	fwrite(REC_MAGIC, 1, 8, out);
	fwrite(v, sizeof(v), 1, out);
	fwrite(hdr, 1, v[1], out);

	for (unsigned i = 0; i < peers; i++) {
		struct tc_event e = { .type = TC_EV_CLOSE };
		int busy = i % 50 == 0, n = busy ? 30 : 1;

		dest(&e.tuple, i);
		e.owner.tgid = 1000 + i % 7;
		snprintf(e.owner.comm, sizeof(e.owner.comm), "client%u", i % 7);
		e.netns = 4026540000u + i % nns;
		e.role = TC_ROLE_CLIENT;
		e.kind = busy ? TC_CK_REMOTE_FIRST : TC_CK_LOCAL_FIRST;
		e.segs_in = e.segs_out = 1;
		e.lifetime_ns = 1000000;
		for (int k = 0; k < n; k++) {
			e.tuple.lport = (__u16)(32768 + k);
			frame(TC_EV_CLOSE, &e, sizeof(e));
		}
		if (busy) {	/* its server, here */
			struct tc_tuple t = e.tuple;

			e.tuple.lport = t.rport;
			e.tuple.rport = 32768;
			memcpy(e.tuple.laddr, t.raddr, sizeof(t.raddr));
			memcpy(e.tuple.raddr, t.laddr, sizeof(t.laddr));
			e.role = TC_ROLE_SERVER;
			e.kind = TC_CK_LOCAL_FIRST;
			snprintf(e.owner.comm, sizeof(e.owner.comm), "server");
			e.owner.tgid = 2000;
			frame(TC_EV_CLOSE, &e, sizeof(e));
		}
	}
	/* the survey: one socket per destination, in its netns */
	for (unsigned ns = 0; ns < nns; ns++) {
		unsigned n = 0;
		struct tc_portrec *r = calloc(peers / nns + 2, sizeof(*r));
		__u32 h[4] = { REC_PORTS, 0, 4026540000u + ns, 0 };

		if (!r)
			return 1;
		for (unsigned i = ns; i < peers; i += nns) {
			dest(&r[n].tuple, i);
			r[n].tuple.lport = 40000;
			r[n++].state = TC_ESTABLISHED;
		}
		h[1] = (__u32)(8 + n * sizeof(*r));
		fwrite(h, sizeof(h), 1, out);
		fwrite(r, sizeof(*r), n, out);
		free(r);
	}
	/* the trailer */
	{
		size_t cap = 256 + (size_t)nns * 200, len;
		char *t = malloc(cap);

		if (!t)
			return 1;
		len = (size_t)snprintf(t, cap, "{\"duration_s\":10.0,\"health\":{},\"netns\":[");
		for (unsigned ns = 0; ns < nns; ns++)
			len += (size_t)snprintf(t + len, cap - len,
				"%s{\"ino\":%u,\"found\":1,\"port_lo\":32768,\"port_hi\":60999,"
				"\"usable\":28232,\"tw_reuse\":2,\"max_tw_buckets\":262144,"
				"\"fin_timeout\":60,\"tw_recycle\":-1,\"tw_overflow_mib\":0,"
				"\"time_wait\":0,\"sockets\":%u}", ns ? "," : "", 4026540000u + ns,
				peers / nns);
		len += (size_t)snprintf(t + len, cap - len, "],\"cgroups\":{}}");
		frame(REC_END, t, (__u32)len);
		free(t);
	}
	if (fclose(out)) {
		perror("genrec: close");
		return 1;
	}
	return 0;
}
