/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The close classification as a pure function of the TCP state transitions
 * one socket goes through. It is included by the BPF program and by the unit
 * tests, so the exact code that runs in the kernel is tested without one.
 */
#ifndef TCPCLOSE_CLOSESTATE_H
#define TCPCLOSE_CLOSESTATE_H

#include "tcpclose.h"

/* asm-generic errno values (x86_64, arm64, riscv): what tcp_reset() and
 * tcp_write_err() leave in sk->sk_err before the socket moves to CLOSE. */
#define TC_EPIPE        32
#define TC_ECONNABORTED 103
#define TC_ECONNRESET   104
#define TC_ECONNREFUSED 111

#ifndef TC_INLINE
#define TC_INLINE static inline __attribute__((always_inline))
#endif

/* Sockets we never account: listeners and idle sockets changing hands. */
TC_INLINE int tc_is_lifecycle(int oldstate, int newstate)
{
	if (oldstate == TC_LISTEN && newstate != TC_SYN_RECV)
		return 0;		/* listen()->close() */
	if (newstate == TC_LISTEN)
		return 0;
	if (oldstate == TC_CLOSE && newstate == TC_CLOSE)
		return 0;
	return 1;
}

TC_INLINE void tc_path_push(__u64 *path, __u8 *len, int state)
{
	if (*len >= TC_PATH_MAX)
		return;
	*path |= ((__u64)(state & 0xf)) << (4 * *len);
	(*len)++;
}

/*
 * An abortive move to CLOSE from a synchronised state: sk_err tells who
 * reset. tcp_reset() stores ECONNRESET (EPIPE in CLOSE_WAIT, ECONNREFUSED in
 * SYN_SENT) before tcp_done(); our own aborts (close() with SO_LINGER 0 or
 * unread data, shutdown via tcp_disconnect) leave 0, tcp_abort() (ss -K)
 * ECONNABORTED; anything else is tcp_write_err(): timeout or ICMP error.
 */
TC_INLINE int tc_abort_kind(int sk_err)
{
	switch (sk_err) {
	case TC_ECONNRESET:
	case TC_EPIPE:
	case TC_ECONNREFUSED:
		return TC_CK_RESET_RECEIVED;
	case 0:
	case TC_ECONNABORTED:
		return TC_CK_RESET_SENT;
	default:
		return TC_CK_TIMEOUT;
	}
}

/*
 * Feed one transition. Updates role and kind; returns 1 when the socket's
 * life ended with this transition (it reached CLOSE), else 0.
 * The first departure from ESTABLISHED decides who closed first; a later
 * FIN_WAIT1->CLOSING upgrades local_first to simultaneous.
 */
TC_INLINE int tc_classify(__u8 *role, __u8 *kind, int oldstate, int newstate,
			  int sk_err)
{
	if (newstate == TC_SYN_SENT)
		*role = TC_ROLE_CLIENT;
	else if (newstate == TC_SYN_RECV && oldstate == TC_LISTEN)
		*role = TC_ROLE_SERVER;
	else if (oldstate == TC_SYN_RECV && *role == TC_ROLE_UNKNOWN)
		*role = TC_ROLE_SERVER;	/* fentry/kprobe miss the clone */

	switch (newstate) {
	case TC_FIN_WAIT1:
		if (*kind == TC_CK_NONE)
			*kind = TC_CK_LOCAL_FIRST;
		return 0;
	case TC_CLOSE_WAIT:
		if (*kind == TC_CK_NONE)
			*kind = TC_CK_REMOTE_FIRST;
		return 0;
	case TC_CLOSING:
		*kind = TC_CK_SIMULTANEOUS;
		return 0;
	case TC_CLOSE:
		break;
	default:
		return 0;
	}

	if (*kind != TC_CK_NONE)
		return 1;
	switch (oldstate) {
	case TC_SYN_SENT:
	case TC_SYN_RECV:
		*kind = TC_CK_NEVER_ESTABLISHED;
		break;
	case TC_FIN_WAIT1:	/* seen mid-life: the state still tells */
	case TC_FIN_WAIT2:
		*kind = TC_CK_LOCAL_FIRST;
		break;
	case TC_CLOSING:
		*kind = TC_CK_SIMULTANEOUS;
		break;
	case TC_CLOSE_WAIT:
	case TC_LAST_ACK:
		*kind = TC_CK_REMOTE_FIRST;
		break;
	default:
		*kind = tc_abort_kind(sk_err);
		break;
	}
	return 1;
}

/*
 * A close that began with FINs but ended with a reset: the peer reset us
 * (sk_err), or we reset in CLOSE_WAIT (close() with unread data). Such a
 * socket never reaches TIME_WAIT even when it sent FIN first.
 */
TC_INLINE int tc_fin_then_reset(int kind, int oldstate, int sk_err)
{
	if (kind != TC_CK_LOCAL_FIRST && kind != TC_CK_REMOTE_FIRST &&
	    kind != TC_CK_SIMULTANEOUS)
		return 0;
	return tc_abort_kind(sk_err) == TC_CK_RESET_RECEIVED || oldstate == TC_CLOSE_WAIT;
}

/* Only a FIN_WAIT1/FIN_WAIT2/CLOSING socket can be turned into a timewait one. */
TC_INLINE int tc_timewait_candidate(int oldstate)
{
	return oldstate == TC_FIN_WAIT1 || oldstate == TC_FIN_WAIT2 || oldstate == TC_CLOSING;
}

/*
 * tcp_time_wait() found tcp_max_tw_buckets reached: the socket goes from a
 * FIN state straight to CLOSE, still hashed, with no error, and orphaned.
 * (A user abort after shutdown() is not orphaned yet; timeouts set sk_err.)
 */
TC_INLINE int tc_is_tw_overflow(int oldstate, int unhashed, int sk_err, int dead)
{
	return tc_timewait_candidate(oldstate) && !unhashed && !sk_err && dead;
}

/* One request and one reply: at most one data segment each way. */
TC_INLINE int tc_is_one_exchange(__u32 segs_in, __u32 segs_out)
{
	return segs_in <= 1 && segs_out <= 1;
}

/*
 * A connect() that failed before its SYN left: SYN_SENT straight to CLOSE
 * with nothing sent. No source port means __inet_hash_connect() found none
 * (EADDRNOTAVAIL, the range is used up toward that destination); a port
 * fixed by bind() (SOCK_BINDPORT_LOCK) means its 4-tuple was taken
 * (EADDRNOTAVAIL too); any other port was chosen and something later failed.
 */
TC_INLINE int tc_connect_failure(int oldstate, int newstate, __u32 segs_out, __u16 lport,
				 int port_bound)
{
	if (oldstate != TC_SYN_SENT || newstate != TC_CLOSE || segs_out)
		return TC_CF_NONE;
	if (!lport)
		return TC_CF_PORT_EXHAUSTED;
	return port_bound ? TC_CF_BIND_CONFLICT : TC_CF_OTHER;
}

/* log2 bucket of a retry count: 0 -> 0, 1 -> 1, 2-3 -> 2, 4-7 -> 3, ... */
TC_INLINE __u32 tc_retry_slot(__u32 n)
{
	__u32 slot = 0;

	while (n && slot < TC_RETRY_HIST - 1) {
		n >>= 1;
		slot++;
	}
	return slot;
}

#endif /* TCPCLOSE_CLOSESTATE_H */
