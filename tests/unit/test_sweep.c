// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The sweep: which socket records lost their close (sweep.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>
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
	assert_int_equal(tc_sweep_take(&sw, 1, &young), 0);
	assert_int_equal(tc_sweep_take(&sw, 2, &portless), 0);
	assert_int_equal(tc_sweep_take(&sw, 3, &edge), 0);
	assert_int_equal(sw.n, 1);
	assert_int_equal(sw.c[0].key, 3);
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
	struct tc_sock a = rec(2000, NS_A, SEC, TC_SF_TUPLE);
	struct tc_sock tw = rec(2001, NS_A, SEC, TC_SF_TUPLE);
	struct tc_sock none = rec(2002, NS_A, SEC, TC_SF_TUPLE);
	struct tc_sock other = rec(2002, NS_B, SEC, TC_SF_TUPLE);

	(void)state;
	assert_int_equal(tc_sweep_take(&sw, 10, &a), 0);
	assert_int_equal(tc_sweep_take(&sw, 11, &tw), 0);
	assert_int_equal(tc_sweep_take(&sw, 12, &none), 0);
	assert_int_equal(tc_sweep_take(&sw, 13, &other), 0);
	assert_int_equal(tc_sweep_judge(&sw, NS_A, recs, 3), 2);
	assert_false(sw.c[0].gone);
	assert_true(sw.c[1].gone);
	assert_true(sw.c[2].gone);
	assert_false(sw.c[3].gone);	/* another netns: not judged by NS_A's list */
	/* judged again (a second listing): nothing new */
	assert_int_equal(tc_sweep_judge(&sw, NS_A, recs, 3), 0);
	/* the caller's list is left as it was */
	assert_int_equal(recs[0].tuple.lport, 2000);
	assert_int_equal(recs[2].tuple.lport, 2003);
	/* an empty netns: all of its records are gone */
	assert_int_equal(tc_sweep_judge(&sw, NS_B, NULL, 0), 1);
	tc_sweep_free(&sw);
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
	assert_int_equal(tc_sweep_take(&sw, 1, &r1), 0);
	assert_int_equal(tc_sweep_take(&sw, 2, &r2), 0);
	assert_int_equal(tc_sweep_take(&sw, 3, &r3), 0);
	assert_int_equal(tc_sweep_next_netns(&sw, &m), NS_B);	/* NS_A: the survey lists it */
	assert_int_equal(tc_sweep_next_netns(&sw, &m), 0);
	tc_sweep_free(&sw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_take_skips_young_and_portless),
		cmocka_unit_test(test_judge_gone_alive_and_timewait),
		cmocka_unit_test(test_next_netns_once_and_not_listed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
