// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The model's rows: one per key, whatever the map walk read twice. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "model.h"

static void add_peer(struct tc_model *m, __u32 pid, __u16 rport, __u64 closed)
{
	struct tc_peer_key k;
	struct tc_counts c;

	memset(&k, 0, sizeof(k));
	memset(&c, 0, sizeof(c));
	k.proc.tgid = pid;
	k.tuple.rport = rport;
	c.closed = closed;
	assert_int_equal(tc_model_add_peer(m, &k, &c), 0);
}

static void add_proc(struct tc_model *m, __u32 pid, __u64 closed)
{
	struct tc_proc_key k;
	struct tc_counts c;

	memset(&k, 0, sizeof(k));
	memset(&c, 0, sizeof(c));
	k.tgid = pid;
	c.closed = closed;
	assert_int_equal(tc_model_add_proc(m, &k, &c), 0);
}

/* A walk restarted after an eviction read rows 1 and 2 again, later. */
static void test_dedupe_keeps_one_row_per_key_the_latest(void **state)
{
	struct tc_model m;
	__u64 sum = 0;

	(void)state;
	tc_model_init(&m);
	add_peer(&m, 1, 80, 5);
	add_peer(&m, 2, 80, 7);
	add_peer(&m, 3, 443, 1);
	add_peer(&m, 1, 80, 6);		/* read again, one more close since */
	add_peer(&m, 2, 80, 7);
	add_peer(&m, 1, 443, 2);	/* another destination: its own row */
	add_proc(&m, 9, 3);
	add_proc(&m, 9, 4);
	add_proc(&m, 8, 1);
	tc_model_dedupe(&m);
	assert_int_equal(m.npeers, 4);
	assert_int_equal(m.nprocs, 2);
	for (size_t i = 0; i < m.npeers; i++) {
		sum += m.peers[i].c.closed;
		for (size_t j = i + 1; j < m.npeers; j++)
			assert_memory_not_equal(&m.peers[i].key, &m.peers[j].key,
						sizeof(m.peers[i].key));
	}
	assert_int_equal(sum, 6 + 7 + 1 + 2);
	assert_int_equal(m.procs[0].c.closed + m.procs[1].c.closed, 4 + 1);
	tc_model_free(&m);
}

static void test_dedupe_small_tables(void **state)
{
	struct tc_model m;

	(void)state;
	tc_model_init(&m);
	tc_model_dedupe(&m);
	assert_int_equal(m.npeers + m.nprocs, 0);
	add_proc(&m, 1, 1);
	tc_model_dedupe(&m);
	assert_int_equal(m.nprocs, 1);
	tc_model_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dedupe_keeps_one_row_per_key_the_latest),
		cmocka_unit_test(test_dedupe_small_tables),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
