// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The sweep: which socket records lost their close (sweep.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>
#include "replay.h"
#include "rowmath.h"
#include "sweep.h"

#define NS_A 4026531840u
#define NS_B 4026532000u
#define SEC 1000000000ULL

static struct tc_tuple tup(__u16 lport, __u16 rport)
{
	struct tc_tuple t;

	memset(&t, 0, sizeof(t));
	t.family = AF_INET;
	t.laddr[0] = 127, t.laddr[3] = 1;
	t.raddr[0] = 10, t.raddr[3] = 2;
	t.lport = lport;
	t.rport = rport;
	return t;
}

static struct tc_sock rec(__u16 lport, __u32 netns, __u64 start_ns, __u8 flags)
{
	struct tc_sock s;

	memset(&s, 0, sizeof(s));
	s.tuple = tup(lport, 80);
	s.netns = netns;
	s.start_ns = start_ns;
	s.flags = flags;
	return s;
}

static struct tc_portrec live(__u16 lport, __u8 state)
{
	struct tc_portrec r;

	memset(&r, 0, sizeof(r));
	r.tuple = tup(lport, 80);
	r.state = state;
	return r;
}

static void test_take_skips_young_and_portless(void **state)
{
	struct tc_sweep sw = { .before_ns = 100 * SEC };
	struct tc_sock young = rec(1000, NS_A, 100 * SEC - TC_SWEEP_MIN_AGE_NS + 1, TC_SF_TUPLE);
	struct tc_sock edge = rec(1001, NS_A, 100 * SEC - TC_SWEEP_MIN_AGE_NS, TC_SF_TUPLE);
	struct tc_sock portless = rec(0, NS_A, SEC, 0);

	(void)state;
	assert_int_equal(tc_sweep_take(&sw, 1, 1, &young), 0);
	assert_int_equal(tc_sweep_take(&sw, 2, 2, &portless), 0);
	assert_int_equal(tc_sweep_take(&sw, 3, 3, &edge), 0);
	assert_int_equal(sw.n, 1);
	assert_int_equal(sw.c[0].key, 3);
	assert_int_equal(sw.c[0].slot, 3);
	assert_int_equal(sw.c[0].start_ns, edge.start_ns);
	tc_sweep_free(&sw);
}

static void test_judge_gone_alive_and_timewait(void **state)
{
	struct tc_sweep sw = { .before_ns = 100 * SEC };
	struct tc_portrec recs[] = {
		live(2000, TC_FIN_WAIT1),	/* alive: stays */
		live(2001, TC_TIME_WAIT),	/* only its timewait socket: gone */
		live(2003, TC_ESTABLISHED),	/* no record: nothing to judge */
	};

	recs[1].substate = TC_FIN_WAIT2;	/* an orphan's timewait socket */
	struct tc_sock a = rec(2000, NS_A, SEC, TC_SF_TUPLE);
	struct tc_sock tw = rec(2001, NS_A, SEC, TC_SF_TUPLE);
	struct tc_sock none = rec(2002, NS_A, SEC, TC_SF_TUPLE);
	struct tc_sock other = rec(2002, NS_B, SEC, TC_SF_TUPLE);

	(void)state;
	assert_int_equal(tc_sweep_take(&sw, 10, 10, &a), 0);
	assert_int_equal(tc_sweep_take(&sw, 11, 11, &tw), 0);
	assert_int_equal(tc_sweep_take(&sw, 12, 12, &none), 0);
	assert_int_equal(tc_sweep_take(&sw, 13, 13, &other), 0);
	assert_int_equal(tc_sweep_judge(&sw, NS_A, recs, 3), 2);
	assert_false(sw.c[0].gone);
	assert_true(sw.c[1].gone);
	assert_true(sw.c[2].gone);
	assert_false(sw.c[3].gone);	/* another netns: not judged by NS_A's list */
	/* the gone ones: which left a timewait socket, in which substate */
	assert_int_equal(sw.c[1].tw, TC_FIN_WAIT2);
	assert_int_equal(sw.c[2].tw, 0);
	/* judged again (a second listing): nothing new */
	assert_int_equal(tc_sweep_judge(&sw, NS_A, recs, 3), 0);
	/* the caller's list is left as it was */
	assert_int_equal(recs[0].tuple.lport, 2000);
	assert_int_equal(recs[2].tuple.lport, 2003);
	/* an empty netns: all of its records are gone */
	assert_int_equal(tc_sweep_judge(&sw, NS_B, NULL, 0), 1);
	tc_sweep_free(&sw);
}

/* A second listing keeps gone only what it lacks too: a tcp iterator can
 * skip a live socket (sweep.h); what the first found alive stays alive. */
static void test_confirm_on_second_listing(void **state)
{
	struct tc_sweep sw = { .before_ns = 100 * SEC };
	struct tc_portrec first[] = { live(3002, TC_ESTABLISHED) };
	struct tc_portrec second[] = {
		live(3000, TC_ESTABLISHED),	/* skipped by the first: alive */
		live(3001, TC_TIME_WAIT),	/* gone, its stay begun meanwhile */
	};
	struct tc_sock skipped = rec(3000, NS_A, SEC, TC_SF_TUPLE);
	struct tc_sock closed = rec(3001, NS_A, SEC, TC_SF_TUPLE);
	struct tc_sock alive = rec(3002, NS_A, SEC, TC_SF_TUPLE);
	struct tc_sock other = rec(3000, NS_B, SEC, TC_SF_TUPLE);

	(void)state;
	second[1].substate = TC_TIME_WAIT;
	assert_int_equal(tc_sweep_take(&sw, 1, 1, &skipped), 0);
	assert_int_equal(tc_sweep_take(&sw, 2, 2, &closed), 0);
	assert_int_equal(tc_sweep_take(&sw, 3, 3, &alive), 0);
	assert_int_equal(tc_sweep_take(&sw, 4, 4, &other), 0);
	assert_int_equal(tc_sweep_judge(&sw, NS_A, first, 1), 2);
	assert_int_equal(tc_sweep_judge(&sw, NS_B, NULL, 0), 1);
	assert_int_equal(sw.c[1].tw, 0);
	/* NS_A listed again: the socket 3002 is missing from it now, but the
	 * first listing had it, so it is not judged again */
	assert_int_equal(tc_sweep_confirm(&sw, NS_A, second, 2), 1);
	assert_false(sw.c[0].gone);
	assert_true(sw.c[1].gone);
	assert_int_equal(sw.c[1].tw, TC_TIME_WAIT);
	assert_false(sw.c[2].gone);
	assert_true(sw.c[3].gone);	/* another netns: untouched */
	/* a stay the first listing saw, over by the second: still known */
	assert_int_equal(tc_sweep_confirm(&sw, NS_A, first, 1), 1);
	assert_int_equal(sw.c[1].tw, TC_TIME_WAIT);
	/* a second listing that lacks everything confirms every one gone */
	assert_int_equal(tc_sweep_confirm(&sw, NS_B, NULL, 0), 1);
	/* none of a netns whose second listing failed: only that netns's */
	tc_sweep_unjudge(&sw, NS_A);
	assert_false(sw.c[1].gone);
	assert_true(sw.c[3].gone);
	tc_sweep_free(&sw);
}

/* A timewait socket in the TIME_WAIT substate is told as such. */
static void test_judge_timewait_substate(void **state)
{
	struct tc_sweep sw = { .before_ns = 100 * SEC };
	struct tc_portrec recs[] = { live(2001, TC_TIME_WAIT) };
	struct tc_sock tw = rec(2001, NS_A, SEC, TC_SF_TUPLE);

	(void)state;
	recs[0].substate = TC_TIME_WAIT;
	assert_int_equal(tc_sweep_take(&sw, 11, 11, &tw), 0);
	assert_int_equal(tc_sweep_judge(&sw, NS_A, recs, 1), 1);
	assert_int_equal(sw.c[0].tw, TC_TIME_WAIT);
	tc_sweep_free(&sw);
}

/*
 * What an unseen close adds (rowmath.h, the kernel's own arithmetic), and
 * its replay from a recording's event: the attempt and its retries, the
 * timewait socket found, kind unseen; no bytes, lifetime or exchange.
 */
static void test_unseen_rows_and_replay(void **state)
{
	struct tc_sock s = rec(2001, NS_A, SEC, TC_SF_TUPLE | TC_SF_TIMEWAIT | TC_SF_FIN_IN);
	struct tc_event e = { .type = TC_EV_CLOSE, .kind = TC_CK_UNSEEN };
	struct tc_counts c = { 0 };
	struct tc_replay r;
	struct tc_model m;

	(void)state;
	s.role = TC_ROLE_CLIENT;
	s.retries = 3;
	s.owner.tgid = 42;
	strcpy(s.owner.comm, "cli");
	tc_unseen_apply(&c, &s, true, false);
	assert_int_equal(c.closed, 1);
	assert_int_equal(c.kind[TC_CK_UNSEEN], 1);
	assert_int_equal(c.conn.attempts, 1);
	assert_int_equal(c.conn.port_retries, 3);
	assert_int_equal(c.conn.retry_hist[tc_retry_slot(3)], 1);
	assert_int_equal(c.timewait, 1);
	assert_int_equal(c.tw.entered, 1);
	assert_int_equal(c.tw.fin_wait2, 0);	/* TIME_WAIT substate: FIN_IN */
	assert_int_equal(c.one_exchange + c.lifetime_ns + c.bytes_in + c.segs_out, 0);
	assert_true(tc_counts_avg_lifetime_ms(&c) == 0.0);

	e.tuple = s.tuple;
	e.owner = s.owner;
	e.netns = s.netns;
	e.role = s.role;
	e.flags = s.flags;
	e.retries = s.retries;
	tc_replay_init(&r, true);
	assert_int_equal(tc_replay_close(&r, &e), 0);
	tc_model_init(&m);
	assert_int_equal(tc_replay_model(&r, &m), 0);
	assert_memory_equal(&m.totals, &c, sizeof(c));
	assert_int_equal(m.nprocs, 1);
	assert_int_equal(m.npeers, 1);
	assert_memory_equal(&m.procs[0].c, &c, sizeof(c));
	assert_memory_equal(&m.peers[0].c, &c, sizeof(c));
	assert_int_equal(m.peers[0].key.tuple.lport, 0);	/* a client row: per destination */
	tc_model_free(&m);
	tc_replay_free(&r);
}

static void test_next_netns_once_and_not_listed(void **state)
{
	struct tc_sweep sw = { .before_ns = 100 * SEC };
	struct tc_netns_info listed = { .ino = NS_A };
	struct tc_model m;
	struct tc_sock r1 = rec(1, NS_A, SEC, TC_SF_TUPLE);
	struct tc_sock r2 = rec(2, NS_B, SEC, TC_SF_TUPLE);
	struct tc_sock r3 = rec(3, NS_B, SEC, TC_SF_TUPLE);

	(void)state;
	memset(&m, 0, sizeof(m));
	m.netns = &listed;
	m.nnetns = 1;
	assert_int_equal(tc_sweep_take(&sw, 1, 1, &r1), 0);
	assert_int_equal(tc_sweep_take(&sw, 2, 2, &r2), 0);
	assert_int_equal(tc_sweep_take(&sw, 3, 3, &r3), 0);
	assert_int_equal(tc_sweep_next_netns(&sw, &m), NS_B);	/* NS_A: the survey lists it */
	assert_int_equal(tc_sweep_next_netns(&sw, &m), 0);
	tc_sweep_free(&sw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_take_skips_young_and_portless),
		cmocka_unit_test(test_judge_gone_alive_and_timewait),
		cmocka_unit_test(test_judge_timewait_substate),
		cmocka_unit_test(test_confirm_on_second_listing),
		cmocka_unit_test(test_unseen_rows_and_replay),
		cmocka_unit_test(test_next_netns_once_and_not_listed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
