// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The in-kernel classifier (bpf/closestate.h), fed whole state paths. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "closestate.h"

struct path_case {
	const char *name;
	int states[8];		/* 0-terminated; states[0] is the first old state */
	int sk_err;		/* at the final CLOSE */
	int role, kind;
};

#define S(x) TC_##x
static const struct path_case cases[] = {
	{ "client, we close first", { S(CLOSE), S(SYN_SENT), S(ESTABLISHED), S(FIN_WAIT1), S(FIN_WAIT2), S(CLOSE) },
	  0, TC_ROLE_CLIENT, TC_CK_LOCAL_FIRST },
	{ "server, peer closes first", { S(LISTEN), S(SYN_RECV), S(ESTABLISHED), S(CLOSE_WAIT), S(LAST_ACK), S(CLOSE) },
	  0, TC_ROLE_SERVER, TC_CK_REMOTE_FIRST },
	{ "simultaneous", { S(CLOSE), S(SYN_SENT), S(ESTABLISHED), S(FIN_WAIT1), S(CLOSING), S(CLOSE) },
	  0, TC_ROLE_CLIENT, TC_CK_SIMULTANEOUS },
	{ "SO_LINGER 0 close", { S(CLOSE), S(SYN_SENT), S(ESTABLISHED), S(CLOSE) },
	  0, TC_ROLE_CLIENT, TC_CK_RESET_SENT },
	{ "ss -K", { S(LISTEN), S(SYN_RECV), S(ESTABLISHED), S(CLOSE) },
	  TC_ECONNABORTED, TC_ROLE_SERVER, TC_CK_RESET_SENT },
	{ "peer reset", { S(LISTEN), S(SYN_RECV), S(ESTABLISHED), S(CLOSE) },
	  TC_ECONNRESET, TC_ROLE_SERVER, TC_CK_RESET_RECEIVED },
	{ "retransmits exhausted", { S(CLOSE), S(SYN_SENT), S(ESTABLISHED), S(CLOSE) },
	  110 /* ETIMEDOUT */, TC_ROLE_CLIENT, TC_CK_TIMEOUT },
	{ "connect refused", { S(CLOSE), S(SYN_SENT), S(CLOSE) },
	  TC_ECONNREFUSED, TC_ROLE_CLIENT, TC_CK_NEVER_ESTABLISHED },
	{ "connect timed out", { S(CLOSE), S(SYN_SENT), S(CLOSE) },
	  110, TC_ROLE_CLIENT, TC_CK_NEVER_ESTABLISHED },
	{ "FIN then reset by peer keeps local_first", { S(CLOSE), S(SYN_SENT), S(ESTABLISHED), S(FIN_WAIT1), S(CLOSE) },
	  TC_ECONNRESET, TC_ROLE_CLIENT, TC_CK_LOCAL_FIRST },
	{ "CLOSE_WAIT then our reset keeps remote_first", { S(CLOSE), S(SYN_SENT), S(ESTABLISHED), S(CLOSE_WAIT), S(CLOSE) },
	  0, TC_ROLE_CLIENT, TC_CK_REMOTE_FIRST },
	{ "fentry: clone unseen, server from SYN_RECV", { S(SYN_RECV), S(ESTABLISHED), S(FIN_WAIT1), S(FIN_WAIT2), S(CLOSE) },
	  0, TC_ROLE_SERVER, TC_CK_LOCAL_FIRST },
	{ "joined mid-life in FIN_WAIT2", { S(FIN_WAIT2), S(CLOSE) },
	  0, TC_ROLE_UNKNOWN, TC_CK_LOCAL_FIRST },
	{ "joined mid-life in LAST_ACK", { S(LAST_ACK), S(CLOSE) },
	  0, TC_ROLE_UNKNOWN, TC_CK_REMOTE_FIRST },
	{ "joined mid-life in CLOSING", { S(CLOSING), S(CLOSE) },
	  0, TC_ROLE_UNKNOWN, TC_CK_SIMULTANEOUS },
	{ "joined mid-life in ESTABLISHED, reset", { S(ESTABLISHED), S(CLOSE) },
	  TC_ECONNRESET, TC_ROLE_UNKNOWN, TC_CK_RESET_RECEIVED },
	{ "a timeout whose soft error was an ICMP port unreachable", { S(ESTABLISHED), S(CLOSE) },
	  TC_ECONNREFUSED, TC_ROLE_UNKNOWN, TC_CK_TIMEOUT },
};

static void test_paths(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct path_case *c = &cases[i];
		__u8 role = TC_ROLE_UNKNOWN, kind = TC_CK_NONE;
		int done = 0, n = 0;

		while (c->states[n + 1]) {
			int old = c->states[n], new = c->states[n + 1];

			assert_false(done);	/* nothing after the end */
			done = tc_classify(&role, &kind, old, new, new == TC_CLOSE ? c->sk_err : 0);
			n++;
		}
		if (!done || role != c->role || kind != c->kind)
			fail_msg("%s: done %d role %d (want %d) kind %d (want %d)", c->name,
				 done, role, c->role, kind, c->kind);
	}
}

static void test_open_socket_not_final(void **state)
{
	__u8 role = 0, kind = TC_CK_NONE;

	assert_int_equal(tc_classify(&role, &kind, TC_CLOSE, TC_SYN_SENT, 0), 0);
	assert_int_equal(tc_classify(&role, &kind, TC_SYN_SENT, TC_ESTABLISHED, 0), 0);
	assert_int_equal(tc_classify(&role, &kind, TC_ESTABLISHED, TC_CLOSE_WAIT, 0), 0);
	assert_int_equal(tc_classify(&role, &kind, TC_CLOSE_WAIT, TC_LAST_ACK, 0), 0);
	/* Decided at the end only, from the state it leaves. */
	assert_int_equal(kind, TC_CK_NONE);
	assert_int_equal(tc_classify(&role, &kind, TC_LAST_ACK, TC_CLOSE, 0), 1);
	assert_int_equal(kind, TC_CK_REMOTE_FIRST);
}

/* Fed only the transitions tc_state_work asks for, every path classifies
 * as when fed all of them: the ones left out carry nothing. */
static void test_work_only(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct path_case *c = &cases[i];
		__u8 role = TC_ROLE_UNKNOWN, kind = TC_CK_NONE;
		int done = 0, n = 0, seen = 0;

		while (c->states[n + 1]) {
			int old = c->states[n], new = c->states[n + 1];

			/* the first sighting of a socket joined mid-life is
			 * always fed (it makes the record) */
			if (!seen || tc_state_work(old, new) != TC_WORK_NONE)
				done = tc_classify(&role, &kind, old, new,
						   new == TC_CLOSE ? c->sk_err : 0);
			seen = 1;
			n++;
		}
		if (!done || role != c->role || kind != c->kind)
			fail_msg("%s: done %d role %d (want %d) kind %d (want %d)", c->name,
				 done, role, c->role, kind, c->kind);
	}
	assert_int_equal(tc_state_work(TC_SYN_RECV, TC_ESTABLISHED), TC_WORK_NONE);
	assert_int_equal(tc_state_work(TC_ESTABLISHED, TC_CLOSE_WAIT), TC_WORK_NONE);
	assert_int_equal(tc_state_work(TC_FIN_WAIT1, TC_FIN_WAIT2), TC_WORK_NONE);
	assert_int_equal(tc_state_work(TC_FIN_WAIT1, TC_CLOSING), TC_WORK_NONE);
	assert_int_equal(tc_state_work(TC_CLOSE, TC_SYN_SENT), TC_WORK_BIRTH);
	assert_int_equal(tc_state_work(TC_LISTEN, TC_SYN_RECV), TC_WORK_BIRTH);
	assert_int_equal(tc_state_work(TC_SYN_SENT, TC_ESTABLISHED), TC_WORK_PORTS);
	assert_int_equal(tc_state_work(TC_ESTABLISHED, TC_FIN_WAIT1), TC_WORK_OWNER);
	assert_int_equal(tc_state_work(TC_CLOSE_WAIT, TC_LAST_ACK), TC_WORK_OWNER);
	assert_int_equal(tc_state_work(TC_FIN_WAIT2, TC_CLOSE), TC_WORK_END);
}

/* The rebuilt path of a socket born under our eyes is the one it took. */
static void test_path_rebuild(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct path_case *c = &cases[i];
		__u64 real = 0, built;
		__u8 rlen = 0, blen;
		int n = 0;

		if (c->states[0] != TC_CLOSE && c->states[0] != TC_LISTEN)
			continue;	/* joined mid-life: keeps what it saw */
		while (c->states[n])
			tc_path_push(&real, &rlen, c->states[n++]);
		tc_path_rebuild(&built, &blen, c->role, c->states[n - 2]);
		if (built != real || blen != rlen)
			fail_msg("%s: rebuilt %llx/%u, took %llx/%u", c->name,
				 (unsigned long long)built, blen, (unsigned long long)real, rlen);
	}
}

static void test_lifecycle_filter(void **state)
{
	assert_false(tc_is_lifecycle(TC_CLOSE, TC_LISTEN));
	assert_false(tc_is_lifecycle(TC_LISTEN, TC_CLOSE));
	assert_false(tc_is_lifecycle(TC_CLOSE, TC_CLOSE));
	assert_true(tc_is_lifecycle(TC_LISTEN, TC_SYN_RECV));
	assert_true(tc_is_lifecycle(TC_CLOSE, TC_SYN_SENT));
	assert_true(tc_is_lifecycle(TC_ESTABLISHED, TC_CLOSE));
}

static void test_path_saturates(void **state)
{
	__u64 path = 0;
	__u8 len = 0;

	for (int i = 0; i < 20; i++)
		tc_path_push(&path, &len, (i % 11) + 1);
	assert_int_equal(len, TC_PATH_MAX);
	assert_int_equal(path & 0xf, 1);
	assert_int_equal((path >> 60) & 0xf, (15 % 11) + 1);
}

static void test_fin_then_reset(void **state)
{
	/* FIN sent, then the peer reset us: no TIME_WAIT will follow. */
	assert_true(tc_fin_then_reset(TC_CK_LOCAL_FIRST, TC_FIN_WAIT2, TC_ECONNRESET, TC_CAUSE_NONE));
	/* Peer's FIN, then close() with unread data: we reset from CLOSE_WAIT. */
	assert_true(tc_fin_then_reset(TC_CK_REMOTE_FIRST, TC_CLOSE_WAIT, 0, TC_CAUSE_NONE));
	assert_true(tc_fin_then_reset(TC_CK_REMOTE_FIRST, TC_CLOSE_WAIT, TC_EPIPE, TC_CAUSE_NONE));
	/* Orderly ends. */
	assert_false(tc_fin_then_reset(TC_CK_LOCAL_FIRST, TC_FIN_WAIT2, 0, TC_CAUSE_NONE));
	assert_false(tc_fin_then_reset(TC_CK_REMOTE_FIRST, TC_LAST_ACK, 0, TC_CAUSE_NONE));
	assert_false(tc_fin_then_reset(TC_CK_SIMULTANEOUS, TC_CLOSING, 0, TC_CAUSE_NONE));
	/* Resets without a FIN are their own kinds, not this. */
	assert_false(tc_fin_then_reset(TC_CK_RESET_RECEIVED, TC_ESTABLISHED, TC_ECONNRESET, TC_CAUSE_NONE));
	assert_false(tc_fin_then_reset(TC_CK_NEVER_ESTABLISHED, TC_SYN_SENT, TC_ECONNREFUSED, TC_CAUSE_NONE));
	/* SO_LINGER 0 after shutdown(): our reset after our FIN */
	assert_true(tc_fin_then_reset(TC_CK_LOCAL_FIRST, TC_FIN_WAIT1, 0, TC_CAUSE_LINGER_ZERO));
	assert_false(tc_fin_then_reset(TC_CK_LOCAL_FIRST, TC_FIN_WAIT1, 0, TC_CAUSE_ORPHAN));
	/* a timeout's soft error ECONNREFUSED (ICMP) after our FIN: no reset */
	assert_false(tc_fin_then_reset(TC_CK_LOCAL_FIRST, TC_FIN_WAIT1, TC_ECONNREFUSED, TC_CAUSE_NONE));
}

/* Which closes read the cause fields at all (the rest stay at the floor). */
static void test_cause_wanted(void **state)
{
	(void)state;
	/* aborts by a process still holding the socket */
	assert_true(tc_cause_wanted(TC_ESTABLISHED, 0, 0, 0));
	assert_true(tc_cause_wanted(TC_CLOSE_WAIT, 0, 0, 0));
	assert_true(tc_cause_wanted(TC_FIN_WAIT1, 0, 0, 0));
	assert_true(tc_cause_wanted(TC_FIN_WAIT2, 0, 0, 0));
	/* orderly ends, hand-overs and orphans: no read */
	assert_false(tc_cause_wanted(TC_LAST_ACK, 0, 1, 0));
	assert_false(tc_cause_wanted(TC_FIN_WAIT2, 0, 1, 1));
	assert_false(tc_cause_wanted(TC_FIN_WAIT2, 0, 0, 1));
	assert_false(tc_cause_wanted(TC_FIN_WAIT1, 0, 1, 0));
	assert_false(tc_cause_wanted(TC_SYN_SENT, 0, 0, 0));
	/* resets received: no cause of ours */
	assert_false(tc_cause_wanted(TC_ESTABLISHED, TC_ECONNRESET, 0, 0));
	assert_false(tc_cause_wanted(TC_CLOSE_WAIT, TC_EPIPE, 0, 0));
	assert_false(tc_cause_wanted(TC_SYN_SENT, TC_ECONNREFUSED, 0, 0));
	/* a held half-closed socket's end: read, then told (tc_close_cause) */
	assert_true(tc_cause_wanted(TC_LAST_ACK, 0, 0, 0));
	assert_true(tc_cause_wanted(TC_CLOSING, 0, 0, 0));
	/* the soft error of a timeout is no received reset (ICMP port unreachable) */
	assert_true(tc_cause_wanted(TC_ESTABLISHED, TC_ECONNREFUSED, 0, 0));
	assert_true(tc_cause_wanted(TC_FIN_WAIT1, TC_EPIPE, 0, 0));
	/* timeouts in any state, ss -K even of an orphan */
	assert_true(tc_cause_wanted(TC_SYN_SENT, TC_ETIMEDOUT, 0, 0));
	assert_true(tc_cause_wanted(TC_LAST_ACK, TC_ETIMEDOUT, 1, 0));
	assert_true(tc_cause_wanted(TC_FIN_WAIT1, TC_ECONNABORTED, 1, 0));
}

/* A received reset, by the state it hit: from sk_err and the old state alone. */
static void test_received_cause(void **state)
{
	(void)state;
	assert_int_equal(tc_received_cause(TC_ESTABLISHED, TC_ECONNRESET), TC_CAUSE_RX_ESTABLISHED);
	assert_int_equal(tc_received_cause(TC_CLOSE_WAIT, TC_EPIPE), TC_CAUSE_RX_CLOSE_WAIT);
	assert_int_equal(tc_received_cause(TC_FIN_WAIT1, TC_ECONNRESET), TC_CAUSE_RX_FIN_SENT);
	assert_int_equal(tc_received_cause(TC_FIN_WAIT2, TC_ECONNRESET), TC_CAUSE_RX_FIN_SENT);
	assert_int_equal(tc_received_cause(TC_LAST_ACK, TC_ECONNRESET), TC_CAUSE_RX_FIN_SENT);
	assert_int_equal(tc_received_cause(TC_SYN_SENT, TC_ECONNREFUSED), TC_CAUSE_RX_HANDSHAKE);
	assert_int_equal(tc_received_cause(TC_SYN_RECV, TC_ECONNRESET), TC_CAUSE_RX_HANDSHAKE);
	/* not a reset received: no error, a timeout, ss -K, a soft error that
	 * only tcp_reset() would leave in another state */
	assert_int_equal(tc_received_cause(TC_ESTABLISHED, 0), TC_CAUSE_NONE);
	assert_int_equal(tc_received_cause(TC_ESTABLISHED, TC_ECONNREFUSED), TC_CAUSE_NONE);
	assert_int_equal(tc_received_cause(TC_FIN_WAIT1, TC_EPIPE), TC_CAUSE_NONE);
	assert_int_equal(tc_received_cause(TC_ESTABLISHED, TC_ETIMEDOUT), TC_CAUSE_NONE);
	assert_int_equal(tc_received_cause(TC_ESTABLISHED, TC_ECONNABORTED), TC_CAUSE_NONE);
}

static int cause(struct tc_cause_in c)
{
	return tc_close_cause(&c);
}

static void test_close_cause(void **state)
{
	const struct tc_cause_in closed = { .oldstate = TC_ESTABLISHED, .shutdown = TC_SHUTDOWN_MASK };
	struct tc_cause_in c;

	(void)state;
	/* close() with unread data; the FIN's sequence number alone is none */
	c = closed, c.unread = 5;
	assert_int_equal(cause(c), TC_CAUSE_UNREAD_DATA);
	c.linger_zero = 1;	/* unread data is looked at first, as in __tcp_close() */
	assert_int_equal(cause(c), TC_CAUSE_UNREAD_DATA);
	c = closed, c.oldstate = TC_CLOSE_WAIT, c.fin_in = 1, c.unread = 1;
	assert_int_equal(cause(c), TC_CAUSE_RESET_OTHER);
	c.unread = 2;
	assert_int_equal(cause(c), TC_CAUSE_UNREAD_DATA);
	c = closed, c.linger_zero = 1;
	assert_int_equal(cause(c), TC_CAUSE_LINGER_ZERO);
	/* tcp_disconnect() without close(): connect(AF_UNSPEC), a forgotten child */
	c = closed, c.shutdown = 0, c.linger_zero = 1, c.unread = 9;
	assert_int_equal(cause(c), TC_CAUSE_RESET_OTHER);
	/* ss -K: a reset only where tcp_need_reset() */
	c = closed, c.err = TC_ECONNABORTED, c.unread = 9;
	assert_int_equal(cause(c), TC_CAUSE_KILLED);
	c.oldstate = TC_LAST_ACK;
	assert_int_equal(cause(c), TC_CAUSE_NONE);
	/* TCP_REPAIR closes without a reset */
	c = closed, c.unread = 5, c.repair = 1;
	assert_int_equal(cause(c), TC_CAUSE_NONE);
	/* a half-closed socket still held: the peer's FIN in and all acknowledged is
	 * an orderly end (LAST_ACK's last ACK, a refused timewait hand-over) ... */
	c = closed, c.oldstate = TC_LAST_ACK, c.fin_in = 1;
	assert_int_equal(cause(c), TC_CAUSE_NONE);
	c.oldstate = TC_FIN_WAIT2;
	assert_int_equal(cause(c), TC_CAUSE_NONE);
	/* ... with our FIN unacknowledged, close() aborted it */
	c.oldstate = TC_LAST_ACK, c.unacked = 1, c.unread = 3;
	assert_int_equal(cause(c), TC_CAUSE_UNREAD_DATA);
	c.oldstate = TC_CLOSING, c.unread = 1, c.linger_zero = 1;
	assert_int_equal(cause(c), TC_CAUSE_LINGER_ZERO);
	/* FIN_WAIT2 before the peer's FIN: SO_LINGER 0 resets */
	c = closed, c.oldstate = TC_FIN_WAIT2, c.linger_zero = 1;
	assert_int_equal(cause(c), TC_CAUSE_LINGER_ZERO);

	/* timeouts: ETIMEDOUT, or the soft error met while retrying */
	c = (struct tc_cause_in){ .oldstate = TC_ESTABLISHED, .err = TC_ETIMEDOUT, .retransmits = 15 };
	assert_int_equal(cause(c), TC_CAUSE_RETRANSMITS);
	c.err = 113, c.err_soft = 113;	/* EHOSTUNREACH, soft */
	assert_int_equal(cause(c), TC_CAUSE_RETRANSMITS);
	c.err_soft = 0;			/* a hard ICMP error: no timeout */
	assert_int_equal(cause(c), TC_CAUSE_NONE);
	c.err = TC_ETIMEDOUT, c.user_timeout = 3000;
	assert_int_equal(cause(c), TC_CAUSE_USER_TIMEOUT);
	c.user_timeout = 0, c.dead = 1, c.oldstate = TC_FIN_WAIT1;
	assert_int_equal(cause(c), TC_CAUSE_ORPHAN);
	c = (struct tc_cause_in){ .oldstate = TC_ESTABLISHED, .err = TC_ETIMEDOUT, .probes_out = 3,
				  .keepopen = 1 };
	assert_int_equal(cause(c), TC_CAUSE_KEEPALIVE);
	c.keepopen = 0;
	assert_int_equal(cause(c), TC_CAUSE_ZERO_WINDOW);
	c.probes_out = 0;
	assert_int_equal(cause(c), TC_CAUSE_TIMEOUT_OTHER);
	/* a SYN: its own count, unless TCP_USER_TIMEOUT ran out first */
	c = (struct tc_cause_in){ .oldstate = TC_SYN_SENT, .err = TC_ETIMEDOUT, .retransmits = 6,
				  .syn_limit = 6 };
	assert_int_equal(cause(c), TC_CAUSE_SYN);
	c.user_timeout = 100000;
	assert_int_equal(cause(c), TC_CAUSE_SYN);
	c.retransmits = 2;
	assert_int_equal(cause(c), TC_CAUSE_USER_TIMEOUT);
	c = (struct tc_cause_in){ .oldstate = TC_SYN_RECV, .err = TC_ETIMEDOUT, .retransmits = 5 };
	assert_int_equal(cause(c), TC_CAUSE_TIMEOUT_OTHER);
}

/* The branch-free bucket == the plain loop it replaced, everywhere. */
static __u32 slot_by_loop(__u32 n)
{
	__u32 slot = 0;

	while (n && slot < TC_RETRY_HIST - 1) {
		n >>= 1;
		slot++;
	}
	return slot;
}

/* Which closes wait for the reset after them (pending.bpf.c). */
static void test_rst_may_follow(void **state)
{
	(void)state;
	/* tcp_reset() for data after our FIN: RCV_SHUTDOWN is ours only there */
	assert_int_equal(tc_rst_may_follow(TC_FIN_WAIT1, TC_ECONNRESET, 0, 0), TC_RF_IF_RCV_SHUT);
	assert_int_equal(tc_rst_may_follow(TC_FIN_WAIT2, TC_ECONNRESET, 1, 0), TC_RF_IF_RCV_SHUT);
	/* after the peer's FIN RCV_SHUTDOWN is the peer's: a reset received */
	assert_int_equal(tc_rst_may_follow(TC_CLOSE_WAIT, TC_EPIPE, 0, 0), TC_RF_NO);
	assert_int_equal(tc_rst_may_follow(TC_LAST_ACK, TC_ECONNRESET, 1, 0), TC_RF_NO);
	assert_int_equal(tc_rst_may_follow(TC_ESTABLISHED, TC_ECONNRESET, 0, 0), TC_RF_NO);
	/* timeouts and ss -K tell their own cause */
	assert_int_equal(tc_rst_may_follow(TC_FIN_WAIT1, TC_ETIMEDOUT, 1, 0), TC_RF_NO);
	assert_int_equal(tc_rst_may_follow(TC_FIN_WAIT2, TC_ECONNABORTED, 1, 0), TC_RF_NO);
	/* an orphan's end from a FIN state with no timewait socket */
	assert_int_equal(tc_rst_may_follow(TC_FIN_WAIT2, 0, 1, 0), TC_RF_YES);
	assert_int_equal(tc_rst_may_follow(TC_FIN_WAIT1, 0, 1, 0), TC_RF_YES);
	assert_int_equal(tc_rst_may_follow(TC_CLOSING, 0, 1, 0), TC_RF_YES);
	assert_int_equal(tc_rst_may_follow(TC_LAST_ACK, 0, 1, 0), TC_RF_IF_UNACKED);
	assert_int_equal(tc_rst_may_follow(TC_FIN_WAIT2, 0, 1, 1), TC_RF_NO);	/* timewait */
	assert_int_equal(tc_rst_may_follow(TC_FIN_WAIT2, 0, 0, 0), TC_RF_NO);	/* still held */
	assert_int_equal(tc_rst_may_follow(TC_ESTABLISHED, 0, 1, 0), TC_RF_NO);
	assert_int_equal(tc_rst_may_follow(TC_SYN_SENT, 0, 1, 0), TC_RF_NO);
}

/* What the reset that follows says. */
static void test_rst_cause(void **state)
{
	(void)state;
	/* 6.10+: the kernel's reason */
	assert_int_equal(tc_rst_cause(TC_RK_DATA, TC_ECONNRESET, 0), TC_CAUSE_DATA_AFTER_CLOSE);
	assert_int_equal(tc_rst_cause(TC_RK_DATA, 0, 0), TC_CAUSE_DATA_AFTER_CLOSE);
	assert_int_equal(tc_rst_cause(TC_RK_DATA, 0, 1), TC_CAUSE_LINGER2);	/* ACK after close() */
	assert_int_equal(tc_rst_cause(TC_RK_LINGER, 0, 1), TC_CAUSE_LINGER2);
	assert_int_equal(tc_rst_cause(TC_RK_MEMORY, 0, 0), TC_CAUSE_MEMORY);
	/* after tcp_reset() only data after close can follow */
	assert_int_equal(tc_rst_cause(TC_RK_MEMORY, TC_ECONNRESET, 0), TC_CAUSE_NONE);
	assert_int_equal(tc_rst_cause(TC_RK_LINGER, TC_ECONNRESET, 0), TC_CAUSE_NONE);
	assert_int_equal(tc_rst_cause(TC_RK_ACTIVE, TC_ECONNRESET, 0), TC_CAUSE_NONE);
	/* before 6.10: answered a segment, or sent on its own */
	assert_int_equal(tc_rst_cause(TC_RK_PASSIVE, TC_ECONNRESET, 0), TC_CAUSE_DATA_AFTER_CLOSE);
	assert_int_equal(tc_rst_cause(TC_RK_PASSIVE, 0, 0), TC_CAUSE_DATA_AFTER_CLOSE);
	assert_int_equal(tc_rst_cause(TC_RK_PASSIVE, 0, 1), TC_CAUSE_LINGER2);
	assert_int_equal(tc_rst_cause(TC_RK_ACTIVE, 0, 1), TC_CAUSE_LINGER2);
	assert_int_equal(tc_rst_cause(TC_RK_ACTIVE, 0, 0), TC_CAUSE_MEMORY);
	assert_int_equal(tc_rst_cause(TC_RK_NONE, 0, 0), TC_CAUSE_NONE);
	/* each is a reset sent after a FIN: fin_then_reset */
	assert_true(tc_fin_then_reset(TC_CK_LOCAL_FIRST, TC_FIN_WAIT2, 0, TC_CAUSE_LINGER2));
	assert_true(tc_fin_then_reset(TC_CK_LOCAL_FIRST, TC_FIN_WAIT2, 0, TC_CAUSE_MEMORY));
	assert_false(tc_fin_then_reset(TC_CK_LOCAL_FIRST, TC_FIN_WAIT2, 0, TC_CAUSE_NONE));
}

static void test_retry_slot(void **state)
{
	for (__u32 n = 0; n < 70000; n++)
		assert_int_equal(tc_retry_slot(n), slot_by_loop(n));
	for (int b = 0; b < 32; b++) {
		__u32 p = 1u << b;

		assert_int_equal(tc_retry_slot(p), slot_by_loop(p));
		assert_int_equal(tc_retry_slot(p - 1), slot_by_loop(p - 1));
		assert_int_equal(tc_retry_slot(p + 1), slot_by_loop(p + 1));
	}
	assert_int_equal(tc_retry_slot(0xffffffffu), TC_RETRY_HIST - 1);
	assert_int_equal(tc_retry_slot(5), 3);
}

/* A timeout's idle time: only for a connection that was up. */
static void test_idle_wanted(void **state)
{
	assert_true(tc_idle_wanted(TC_CAUSE_KEEPALIVE, TC_ESTABLISHED));
	assert_true(tc_idle_wanted(TC_CAUSE_RETRANSMITS, TC_CLOSE_WAIT));
	assert_true(tc_idle_wanted(TC_CAUSE_ORPHAN, TC_FIN_WAIT1));
	assert_true(tc_idle_wanted(TC_CAUSE_TIMEOUT_OTHER, TC_ESTABLISHED));
	assert_false(tc_idle_wanted(TC_CAUSE_SYN, TC_SYN_SENT));
	assert_false(tc_idle_wanted(TC_CAUSE_USER_TIMEOUT, TC_SYN_SENT));
	assert_false(tc_idle_wanted(TC_CAUSE_TIMEOUT_OTHER, TC_SYN_RECV));
	assert_false(tc_idle_wanted(TC_CAUSE_UNREAD_DATA, TC_ESTABLISHED));
	assert_false(tc_idle_wanted(TC_CAUSE_RX_ESTABLISHED, TC_ESTABLISHED));
	assert_false(tc_idle_wanted(TC_CAUSE_NONE, TC_ESTABLISHED));
}

static void test_one_exchange(void **state)
{
	assert_true(tc_is_one_exchange(1, 1));
	assert_true(tc_is_one_exchange(0, 1));
	assert_false(tc_is_one_exchange(2, 1));
	assert_false(tc_is_one_exchange(1, 5));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_open_socket_not_final),
		cmocka_unit_test(test_work_only),
		cmocka_unit_test(test_path_rebuild),
		cmocka_unit_test(test_lifecycle_filter),
		cmocka_unit_test(test_path_saturates),
		cmocka_unit_test(test_fin_then_reset),
		cmocka_unit_test(test_one_exchange),
		cmocka_unit_test(test_retry_slot),
		cmocka_unit_test(test_idle_wanted),
		cmocka_unit_test(test_cause_wanted),
		cmocka_unit_test(test_close_cause),
		cmocka_unit_test(test_received_cause),
		cmocka_unit_test(test_rst_may_follow),
		cmocka_unit_test(test_rst_cause),
	};
	return cmocka_run_group_tests_name("closestate", tests, NULL, NULL);
}
