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
 * Ports with a listener, by netns: the iterator lists the listeners before
 * any other socket, so every one is here by the first timewait socket. A
 * timewait socket on a listening port is the server's; one towards a port
 * listening in its own netns (loopback) is the client's. That tells the
 * sides apart where the port range cannot: a range widened to 1024-65535
 * holds the servers' ports too, and then every pre-existing stay would be a
 * row of its own (unknown role, both ports kept), crowding out real rows.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);	/* netns << 16 | port */
	__type(value, __u8);
} listening SEC(".maps");

static __always_inline bool tc_listening(__u32 netns, __u16 port)
{
	__u64 k = (__u64)netns << 16 | port;

	return bpf_map_lookup_elem(&listening, &k) != NULL;
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

	if (!skc)
		return 0;
	if (skc->skc_state == TC_LISTEN) {
		__u64 lk = (__u64)BPF_CORE_READ(skc, skc_net.net, ns.inum) << 16 | skc->skc_num;
		__u8 one = 1;

		bpf_map_update_elem(&listening, &lk, &one, BPF_ANY);	/* full: the range decides */
		return 0;
	}
	if (skc->skc_state != TC_TIME_WAIT)
		return 0;
	tc_tw_key_of(skc, &k);
	if (bpf_map_lookup_elem(&tws, &k))
		return 0;	/* already followed live */
	rec.net = (__u64)BPF_CORE_READ(skc, skc_net.net);
	rec.row.tuple = k.tuple;
	rec.row.netns = k.netns;
	if (tc_listening(k.netns, k.tuple.lport)) {
		rec.row.role = TC_ROLE_SERVER;
		rec.row.tuple.rport = 0;
	} else if (tc_listening(k.netns, k.tuple.rport) ||
		   (tc_ephemeral(k.tuple.lport) && !tc_ephemeral(k.tuple.rport))) {
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
