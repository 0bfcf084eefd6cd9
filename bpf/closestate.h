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
#define TC_ETIMEDOUT    110
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
 * sk_err as tcp_reset() leaves it for the state the reset hit: ECONNREFUSED
 * in SYN_SENT, EPIPE in CLOSE_WAIT, ECONNRESET elsewhere. The same errno in
 * another state is no reset: tcp_write_err() stores the soft error a timeout
 * met (an ICMP port unreachable, ECONNREFUSED, while retransmitting).
 */
TC_INLINE int tc_is_reset_err(int oldstate, int sk_err)
{
	switch (oldstate) {
	case TC_SYN_SENT:
		return sk_err == TC_ECONNREFUSED;
	case TC_CLOSE_WAIT:
		return sk_err == TC_EPIPE;
	default:
		return sk_err == TC_ECONNRESET;
	}
}

/*
 * An abortive move to CLOSE from a synchronised state: sk_err tells who
 * reset (tc_is_reset_err); our own aborts (close() with SO_LINGER 0 or
 * unread data, shutdown via tcp_disconnect) leave 0, tcp_abort() (ss -K)
 * ECONNABORTED; anything else is tcp_write_err(): timeout or ICMP error.
 */
TC_INLINE int tc_abort_kind(int oldstate, int sk_err)
{
	if (tc_is_reset_err(oldstate, sk_err))
		return TC_CK_RESET_RECEIVED;
	if (!sk_err || sk_err == TC_ECONNABORTED)
		return TC_CK_RESET_SENT;
	return TC_CK_TIMEOUT;
}

/*
 * Who closed first, told at ->CLOSE from the state it leaves: each closing
 * state has one way in. FIN_WAIT1/FIN_WAIT2 (or their timewait socket) were
 * reached by our FIN first, CLOSE_WAIT/LAST_ACK by the peer's, CLOSING by
 * both crossing; a move from ESTABLISHED is an abort, told by sk_err. So
 * the transitions in between need no work (tc_state_work).
 */
TC_INLINE int tc_close_kind(int oldstate, int sk_err)
{
	switch (oldstate) {
	case TC_SYN_SENT:
	case TC_SYN_RECV:
		return TC_CK_NEVER_ESTABLISHED;
	case TC_FIN_WAIT1:
	case TC_FIN_WAIT2:
		return TC_CK_LOCAL_FIRST;
	case TC_CLOSING:
		return TC_CK_SIMULTANEOUS;
	case TC_CLOSE_WAIT:
	case TC_LAST_ACK:
		return TC_CK_REMOTE_FIRST;
	default:
		return tc_abort_kind(oldstate, sk_err);
	}
}

/*
 * Feed one transition (those tc_state_work asks for, or all of them: the
 * others change nothing). Updates role and kind; returns 1 when the
 * socket's life ended with this transition (it reached CLOSE), else 0.
 */
TC_INLINE int tc_classify(__u8 *role, __u8 *kind, int oldstate, int newstate,
			  int sk_err)
{
	if (newstate == TC_SYN_SENT)
		*role = TC_ROLE_CLIENT;
	else if (newstate == TC_SYN_RECV && oldstate == TC_LISTEN)
		*role = TC_ROLE_SERVER;
	else if (oldstate == TC_SYN_RECV && *role == TC_ROLE_UNKNOWN)
		*role = TC_ROLE_SERVER;	/* first seen leaving SYN_RECV */

	if (newstate != TC_CLOSE)
		return 0;
	*kind = tc_close_kind(oldstate, sk_err);
	return 1;
}

/* What a transition asks of the state handler (tc_state_work). */
enum tc_work {
	TC_WORK_NONE = 0,	/* nothing: return at the floor's cost */
	TC_WORK_BIRTH,		/* connect() or a listener's new child: a record */
	TC_WORK_PORTS,		/* a client's local port is known now */
	TC_WORK_OWNER,		/* close()/shutdown() in process context: owner if missing */
	TC_WORK_END,		/* ->CLOSE: classify and add to the rows */
};

/*
 * The transitions that need the socket's record; every other one (SYN_RECV
 * ->ESTABLISHED, ESTABLISHED->CLOSE_WAIT, FIN_WAIT1->FIN_WAIT2/CLOSING, ...)
 * changes nothing tc_close_kind cannot tell at the end, and costs no map
 * access. tc_is_lifecycle() has already left out listeners.
 */
TC_INLINE int tc_state_work(int oldstate, int newstate)
{
	if (newstate == TC_CLOSE)
		return TC_WORK_END;
	if ((oldstate == TC_CLOSE && newstate == TC_SYN_SENT) ||
	    (oldstate == TC_LISTEN && newstate == TC_SYN_RECV))
		return TC_WORK_BIRTH;
	if (oldstate == TC_SYN_SENT && newstate == TC_ESTABLISHED)
		return TC_WORK_PORTS;
	if (newstate == TC_FIN_WAIT1 || newstate == TC_LAST_ACK)
		return TC_WORK_OWNER;
	return TC_WORK_NONE;
}

/*
 * The state path of a socket whose birth was seen, rebuilt at ->CLOSE for
 * trace and record: the states between the birth and the one CLOSE leaves
 * each have one way in (ESTABLISHED, then FIN_WAIT1 before FIN_WAIT2 or
 * CLOSING, CLOSE_WAIT before LAST_ACK). A socket joined mid-life keeps the
 * states it was seen in.
 */
TC_INLINE void tc_path_rebuild(__u64 *path, __u8 *len, __u8 role, int oldstate)
{
	*path = 0;
	*len = 0;
	if (role == TC_ROLE_CLIENT) {
		tc_path_push(path, len, TC_CLOSE);
		tc_path_push(path, len, TC_SYN_SENT);
	} else {
		tc_path_push(path, len, TC_LISTEN);
		tc_path_push(path, len, TC_SYN_RECV);
	}
	if (oldstate != TC_SYN_SENT && oldstate != TC_SYN_RECV)
		tc_path_push(path, len, TC_ESTABLISHED);
	if (oldstate == TC_FIN_WAIT2 || oldstate == TC_CLOSING)
		tc_path_push(path, len, TC_FIN_WAIT1);
	else if (oldstate == TC_LAST_ACK)
		tc_path_push(path, len, TC_CLOSE_WAIT);
	if (oldstate != TC_SYN_SENT && oldstate != TC_SYN_RECV && oldstate != TC_ESTABLISHED)
		tc_path_push(path, len, oldstate);
	tc_path_push(path, len, TC_CLOSE);
}

/*
 * A close that began with FINs but ended with a reset: the peer reset us
 * (sk_err), we reset in CLOSE_WAIT (close() with unread data), or a reset
 * cause says we did after a FIN (SO_LINGER 0 after shutdown(), say). Such a
 * socket never reaches TIME_WAIT even when it sent FIN first.
 */
TC_INLINE int tc_fin_then_reset(int kind, int oldstate, int sk_err, int cause)
{
	if (kind != TC_CK_LOCAL_FIRST && kind != TC_CK_REMOTE_FIRST &&
	    kind != TC_CK_SIMULTANEOUS)
		return 0;
	return tc_is_reset_err(oldstate, sk_err) || oldstate == TC_CLOSE_WAIT ||
	       (cause >= TC_CAUSE_UNREAD_DATA && cause < TC_CAUSE_FIRST_TIMEOUT);
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

/* What tc_close_cause() reads of a socket at ->CLOSE; state.bpf.c fills
 * it only for the closes tc_cause_wanted() lets through. */
struct tc_cause_in {
	__u32 unread;		/* rcv_nxt - copied_seq: bytes (and a FIN) not read */
	__u32 user_timeout;	/* icsk_user_timeout (TCP_USER_TIMEOUT, ms) */
	__u16 err, err_soft;	/* sk_err, sk_err_soft */
	__u8 oldstate;
	__u8 dead;		/* SOCK_DEAD: orphaned by close() */
	__u8 fin_in;		/* SOCK_DONE: the peer's FIN is in (one sequence number) */
	__u8 shutdown;		/* sk_shutdown: close() sets both directions first */
	__u8 linger_zero;	/* SOCK_LINGER with sk_lingertime 0 */
	__u8 keepopen;		/* SOCK_KEEPOPEN */
	__u8 retransmits;	/* icsk_retransmits: kept until snd_una moves */
	__u8 probes_out;	/* icsk_probes_out: keepalive or zero-window probes */
	__u8 syn_limit;		/* SYN_SENT: the retransmits a SYN gets (tcp_syn_retries,
				 * or TCP_SYNCNT, + tcp_syn_linear_timeouts on 6.5+) */
	__u8 unacked;		/* snd_una != write_seq: sent data or our FIN unacknowledged */
	__u8 repair;		/* TCP_REPAIR (CRIU): closed without a reset */
};

/*
 * A timeout whose idle time means something: the connection was
 * established, so "how long the peer had been silent" says whether a
 * middlebox dropped an idle flow or the peer died mid-transfer. A SYN, or a
 * SYN-ACK, never heard back has no idle time of its own.
 */
TC_INLINE int tc_idle_wanted(int cause, int oldstate)
{
	return cause >= TC_CAUSE_FIRST_TIMEOUT && cause < TC_CAUSE_FIRST_RECEIVED &&
	       cause != TC_CAUSE_SYN && oldstate != TC_SYN_SENT && oldstate != TC_SYN_RECV;
}

/* tcp_need_reset(): the states whose abort sends a reset */
TC_INLINE int tc_need_reset(int state)
{
	return state == TC_ESTABLISHED || state == TC_CLOSE_WAIT || state == TC_FIN_WAIT1 ||
	       state == TC_FIN_WAIT2 || state == TC_SYN_RECV;
}

#define TC_SHUTDOWN_MASK 3

/* A reset received, by the state it hit: sk_err from tcp_reset(), which
 * tcpclose already read. (Data arriving after shutdown(SHUT_RD) makes the
 * kernel reset the peer through tcp_reset() too: it reads the same.) */
TC_INLINE int tc_received_cause(int oldstate, int err)
{
	if (!tc_is_reset_err(oldstate, err))
		return TC_CAUSE_NONE;
	switch (oldstate) {
	case TC_ESTABLISHED:
		return TC_CAUSE_RX_ESTABLISHED;
	case TC_CLOSE_WAIT:
		return TC_CAUSE_RX_CLOSE_WAIT;
	case TC_SYN_SENT:
	case TC_SYN_RECV:
		return TC_CAUSE_RX_HANDSHAKE;
	default:
		return TC_CAUSE_RX_FIN_SENT;
	}
}

/*
 * Whether a close needs more fields read for its cause (tc_close_cause),
 * from what the handler reads anyway (sk_err, SOCK_DEAD, the timewait
 * hand-over): a timeout, ss -K, or the end of a socket its process still
 * held in a synchronised state (an abort, unless tc_close_cause finds the
 * orderly end of a half-closed one). Orphans' ends, timewait hand-overs and
 * resets received (tc_received_cause) take no further read.
 */
TC_INLINE int tc_cause_wanted(int oldstate, int err, int dead, int handed_over)
{
	if (err == TC_ECONNABORTED)
		return 1;
	if (err)	/* a timeout, or an ICMP hard error (tc_close_cause) */
		return !tc_is_reset_err(oldstate, err);
	if (dead || handed_over)
		return 0;
	return oldstate == TC_ESTABLISHED || oldstate == TC_CLOSE_WAIT ||
	       oldstate == TC_FIN_WAIT1 || oldstate == TC_FIN_WAIT2 ||
	       oldstate == TC_CLOSING || oldstate == TC_LAST_ACK;
}

/*
 * The cause of a close tc_cause_wanted() let through, as the kernel decided
 * it (net/ipv4/tcp.c __tcp_close(), tcp_timer.c tcp_write_timeout(),
 * tcp_keepalive_timer(); docs/kernel-survey-causes.md):
 * - sk_err ECONNABORTED: tcp_abort() (ss -K), a reset where tcp_need_reset();
 * - another sk_err: tcp_write_err() leaves ETIMEDOUT or the soft error
 *   met while retrying (anything else is an ICMP hard error: no cause).
 *   TCP_USER_TIMEOUT, when set, bounds retransmissions in place of
 *   tcp_retries2 and tcp_orphan_retries; a SYN is also bounded by its count;
 *   probes without retransmissions are keepalive's or the persist timer's;
 * - no sk_err, still held: no reset in TCP_REPAIR, nor when a half-closed
 *   socket ended in order (the peer's FIN in and everything acknowledged:
 *   LAST_ACK's last ACK, or tcp_max_tw_buckets refusing its timewait
 *   socket); else close() set sk_shutdown to both directions, then reset
 *   for unread data (the FIN's sequence number is no data) before SO_LINGER
 *   0 is looked at; any other tcp_disconnect() is "other".
 */
TC_INLINE int tc_close_cause(const struct tc_cause_in *c)
{
	if (c->err == TC_ECONNABORTED)
		return tc_need_reset(c->oldstate) ? TC_CAUSE_KILLED : TC_CAUSE_NONE;
	if (c->err) {
		if (c->err != TC_ETIMEDOUT && !(c->err_soft && c->err == c->err_soft))
			return TC_CAUSE_NONE;
		if (c->oldstate == TC_SYN_SENT)
			return c->user_timeout && c->retransmits < c->syn_limit ?
				TC_CAUSE_USER_TIMEOUT : TC_CAUSE_SYN;
		if (c->oldstate == TC_SYN_RECV)
			return TC_CAUSE_TIMEOUT_OTHER;
		if (c->retransmits)
			return c->user_timeout ? TC_CAUSE_USER_TIMEOUT :
			       c->dead ? TC_CAUSE_ORPHAN : TC_CAUSE_RETRANSMITS;
		if (c->probes_out)
			return c->keepopen ? TC_CAUSE_KEEPALIVE : TC_CAUSE_ZERO_WINDOW;
		return TC_CAUSE_TIMEOUT_OTHER;
	}
	if (c->repair || (c->oldstate != TC_ESTABLISHED && c->oldstate != TC_CLOSE_WAIT &&
			  c->fin_in && !c->unacked))
		return TC_CAUSE_NONE;
	if (c->shutdown != TC_SHUTDOWN_MASK)
		return TC_CAUSE_RESET_OTHER;
	if (c->unread > (c->fin_in ? 1u : 0u))
		return TC_CAUSE_UNREAD_DATA;
	if (c->linger_zero)
		return TC_CAUSE_LINGER_ZERO;
	return TC_CAUSE_RESET_OTHER;
}

/*
 * Whether a reset of ours may follow this close and tell its cause, which
 * the socket's fields at ->CLOSE cannot (docs/kernel-survey-causes.md §3):
 * - new data after close() or shutdown(SHUT_RD): tcp_reset() ends the
 *   socket as a reset received would (sk_err ECONNRESET), then the kernel
 *   resets the peer. Only from FIN_WAIT1/2, where RCV_SHUTDOWN in
 *   sk_shutdown is ours, not the peer's FIN (TC_RF_IF_RCV_SHUT: the caller
 *   reads it). (In CLOSE_WAIT, CLOSING and LAST_ACK the kernel resets only
 *   for a segment that overlaps what it already has and goes past it,
 *   which no TCP sends after its FIN: not waited for.)
 * - an orphan ending with no error from a FIN state, no timewait socket
 *   taking over: the segment that acknowledged its FIN carried more data,
 *   TCP_LINGER2 < 0, memory at close() - or a full tcp_max_tw_buckets,
 *   after which no reset comes. LAST_ACK only with something unacknowledged
 *   (TC_RF_IF_UNACKED): its orderly end is the last ACK.
 * A timeout, ss -K, or a close of a socket still held is told already.
 */
enum tc_rst_follow {
	TC_RF_NO = 0,
	TC_RF_IF_RCV_SHUT,
	TC_RF_IF_UNACKED,
	TC_RF_YES,
};

TC_INLINE int tc_rst_may_follow(int oldstate, int err, int dead, int timewait)
{
	if (timewait)
		return TC_RF_NO;
	if (err)
		return tc_is_reset_err(oldstate, err) &&
		       (oldstate == TC_FIN_WAIT1 || oldstate == TC_FIN_WAIT2) ?
		       TC_RF_IF_RCV_SHUT : TC_RF_NO;
	if (!dead)
		return TC_RF_NO;
	if (oldstate == TC_LAST_ACK)
		return TC_RF_IF_UNACKED;
	return oldstate == TC_FIN_WAIT1 || oldstate == TC_FIN_WAIT2 || oldstate == TC_CLOSING ?
	       TC_RF_YES : TC_RF_NO;
}

/* What the reset after such a close tells: the kernel's reason (6.10+), or
 * before it whether the reset answered a segment or went out on its own. */
enum tc_rst_kind {
	TC_RK_NONE = 0,
	TC_RK_DATA,	/* SK_RST_REASON_TCP_ABORT_ON_DATA */
	TC_RK_LINGER,	/* SK_RST_REASON_TCP_ABORT_ON_LINGER */
	TC_RK_MEMORY,	/* SK_RST_REASON_TCP_ABORT_ON_MEMORY */
	TC_RK_PASSIVE,	/* no reason: an answer to a segment (tcp_v4/v6_send_reset) */
	TC_RK_ACTIVE,	/* no reason: sent on its own (tcp_send_active_reset) */
};

/*
 * The cause a pending close gets from the reset that follows it (err and
 * linger2_neg as at ->CLOSE), or TC_CAUSE_NONE: not one of those resets.
 * Data after close() is the only one that can follow a reset-shaped end
 * (tcp_reset()). An orphan with TCP_LINGER2 < 0 is reset for it, whichever
 * counter the kernel picks: TcpExtTCPAbortOnLinger when close() found it in
 * FIN_WAIT2, ...OnData when the ACK of its FIN came after close() (the
 * reason then says ABORT_ON_DATA). Without a reason an active reset after
 * an orphan's end is memory's: the only other one there is TCP_LINGER2's.
 */
TC_INLINE int tc_rst_cause(int rk, int err, int linger2_neg)
{
	if (rk == TC_RK_DATA || rk == TC_RK_PASSIVE)
		return linger2_neg && !err ? TC_CAUSE_LINGER2 : TC_CAUSE_DATA_AFTER_CLOSE;
	if (err)
		return TC_CAUSE_NONE;
	if (rk == TC_RK_LINGER)
		return TC_CAUSE_LINGER2;
	if (rk == TC_RK_MEMORY)
		return TC_CAUSE_MEMORY;
	if (rk == TC_RK_ACTIVE)
		return linger2_neg ? TC_CAUSE_LINGER2 : TC_CAUSE_MEMORY;
	return TC_CAUSE_NONE;
}

/* A reset of its own told why a socket ended (tc_rst_cause, or memory's
 * reset before an orphan's end): that is its cause, and no timewait socket
 * was refused it, as its end alone looked (TC_SF_OVERFLOW): it was reset. */
TC_INLINE void tc_reset_told(__u8 *cause, __u8 *flags, int told)
{
	*cause = (__u8)told;
	*flags &= (__u8)~TC_SF_OVERFLOW;
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

/*
 * log2 bucket of a retry count: 0 -> 0, 1 -> 1, 2-3 -> 2, 4-7 -> 3, ...,
 * the last bucket holding the rest: n's bit length, capped. Without a
 * branch or loop, so the verifier follows one path whatever the count: a
 * loop made a state per bucket, and everything after it (the other rows,
 * the timewait hand-over, the event) was verified once per bucket, which
 * 6.1/6.12's verifiers could not finish within 1M instructions.
 */
TC_INLINE __u32 tc_retry_slot(__u32 n)
{
	__s32 over;

	n |= n >> 1;	/* every bit below the highest set */
	n |= n >> 2;
	n |= n >> 4;
	n |= n >> 8;
	n |= n >> 16;
	n = n - ((n >> 1) & 0x55555555);	/* ... counted: the bit length */
	n = (n & 0x33333333) + ((n >> 2) & 0x33333333);
	n = (n + (n >> 4)) & 0x0f0f0f0f;
	n = (n + (n >> 8) + (n >> 16) + (n >> 24)) & 0x3f;
	over = (__s32)n - (TC_RETRY_HIST - 1);	/* > 0: past the last bucket */
	return n - (__u32)(over & ~(over >> 31));
}

#endif /* TCPCLOSE_CLOSESTATE_H */
