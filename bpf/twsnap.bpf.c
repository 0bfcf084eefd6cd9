// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Timewait sockets that existed before we started, whichever path then
 * follows their end: one iter/tcp pass, run by user space inside the traced
 * netns (a tcp iterator sees the netns of the task that creates it).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "tw.bpf.h"

/* Set by user space before it reads the iterator: the netns's ephemeral
 * port range, to fold pre-existing sockets' ephemeral ports like live ones. */
__u32 iter_eph_lo = 32768, iter_eph_hi = 60999;

static __always_inline bool tc_ephemeral(__u16 port)
{
	return port >= iter_eph_lo && port <= iter_eph_hi;
}

/*
 * Timewait sockets that existed before we started: no process, no start
 * time. Their ends are still counted; their lengths are not (unknown).
 */
SEC("iter/tcp")
int tc_iter_tw(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct tc_tw rec = {};
	struct tc_tw_key k;

	if (!skc || skc->skc_state != TC_TIME_WAIT)
		return 0;
	tc_tw_key_of(skc, &k);
	if (bpf_map_lookup_elem(&tws, &k))
		return 0;	/* already followed live */
	rec.net = (__u64)BPF_CORE_READ(skc, skc_net.net);
	rec.row.tuple = k.tuple;
	rec.row.netns = k.netns;
	if (tc_ephemeral(k.tuple.lport) && !tc_ephemeral(k.tuple.rport)) {
		rec.row.role = TC_ROLE_CLIENT;
		rec.row.tuple.lport = 0;
	} else if (tc_ephemeral(k.tuple.rport) && !tc_ephemeral(k.tuple.lport)) {
		rec.row.role = TC_ROLE_SERVER;
		rec.row.tuple.rport = 0;
	}
	if (bpf_map_update_elem(&tws, &k, &rec, BPF_NOEXIST))
		return 0;
	tc_tw_bump(&rec.row, TC_TWV_PREEXISTING, 0, -1);
	return 0;
}
