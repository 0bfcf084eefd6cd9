// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The sockets of one netns as they are now, for the port budget: one
 * record per TCP socket that holds a local port (listeners excepted), read
 * by user space from the iterator's file. Run inside the netns to survey
 * (a tcp iterator sees the netns of the task that creates it); user space
 * groups them by destination and keeps the ephemeral ones.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "core.bpf.h"

SEC("iter/tcp")
int tc_iter_ports(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct tc_portrec rec = {};

	if (!skc)
		return 0;
	rec.state = skc->skc_state;
	if (rec.state == TC_LISTEN || rec.state == TC_NEW_SYN_RECV)
		return 0;
	tc_read_tuple_num(skc, &rec.tuple);
	if (!rec.tuple.lport)
		return 0;
	if (rec.state == TC_TIME_WAIT) {
		/* the sweep charges a lost close's timewait socket by substate */
		struct tcp_timewait_sock *tw = bpf_skc_to_tcp_timewait_sock(skc);

		if (tw)
			rec.substate = tw->tw_sk.tw_substate;
	}
	bpf_seq_write(ctx->meta->seq, &rec, sizeof(rec));
	return 0;
}
