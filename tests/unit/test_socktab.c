// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The socket table as user space reads it (socktab.h): which slots count as
 * records in use, what a walk hands out, and the take/release protocol the
 * sweep shares with the kernel (only one ender). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "socktab.h"

#define NSETS 4

static struct tc_sock_set sets[NSETS];
static struct tc_sock recs[NSETS * TC_SOCK_WAYS];
static const struct tc_socktab tab = { .sets = sets, .nsets = NSETS };
static int reads;

static int read_recs(void *rctx, __u32 first, __u32 n, struct tc_sock *out)
{
	reads++;
	memcpy(out, (struct tc_sock *)rctx + first, n * sizeof(*out));
	return 0;
}

static int setup(void **state)
{
	memset(sets, 0, sizeof(sets));
	memset(recs, 0, sizeof(recs));
	reads = 0;
	return 0;
}

static void put(__u32 slot, __u64 tag, __u64 start_ns)
{
	sets[slot / TC_SOCK_WAYS].tag[slot % TC_SOCK_WAYS] = tag;
	recs[slot].start_ns = start_ns;
}

struct seen {
	__u32 slot[8];
	__u64 addr[8], start[8];
	int n, stop_at;
};

static int collect(void *ctx, __u32 slot, __u64 addr, const struct tc_sock *rec)
{
	struct seen *s = ctx;

	if (s->n == s->stop_at)
		return 7;
	s->slot[s->n] = slot;
	s->addr[s->n] = addr;
	s->start[s->n++] = rec->start_ns;
	return 0;
}

/* Free (0) and busy (being ended) slots are not records in use. */
static void test_count_and_walk(void **state)
{
	struct seen s = { .stop_at = -1 };

	put(0, 0xffff888000001000ULL, 11);
	put(9, 0xffff888000002000ULL | TC_SOCK_BUSY, 12);
	put(31, 0xffff888000003000ULL, 13);
	assert_int_equal(tc_socktab_count(&tab), 2);
	assert_int_equal(tc_socktab_walk(&tab, read_recs, recs, collect, &s), 0);
	assert_int_equal(reads, 1);	/* the table is one chunk */
	assert_int_equal(s.n, 2);
	assert_int_equal(s.slot[0], 0);
	assert_int_equal(s.addr[0], 0xffff888000001000ULL);
	assert_int_equal(s.start[0], 11);
	assert_int_equal(s.slot[1], 31);
	assert_int_equal(s.start[1], 13);
	/* fn's first nonzero stops the walk and is returned */
	memset(&s, 0, sizeof(s));
	s.stop_at = 1;
	assert_int_equal(tc_socktab_walk(&tab, read_recs, recs, collect, &s), 7);
	assert_int_equal(s.n, 1);
}

/* An empty table reads nothing. */
static void test_walk_empty(void **state)
{
	struct seen s = { .stop_at = -1 };

	assert_int_equal(tc_socktab_walk(&tab, read_recs, recs, collect, &s), 0);
	assert_int_equal(reads, 0);
	assert_int_equal(s.n, 0);
}

/* Exactly one ender: a take succeeds once, only for the tag it names, and
 * release frees the slot or puts the record back. */
static void test_take_release(void **state)
{
	const __u64 a = 0xffff888000004000ULL;

	put(5, a, 1);
	assert_false(tc_socktab_take(&tab, 5, a + 0x40));	/* another socket's */
	assert_true(tc_socktab_take(&tab, 5, a));
	assert_false(tc_socktab_take(&tab, 5, a));	/* already taken */
	assert_int_equal(tc_socktab_count(&tab), 0);
	tc_socktab_release(&tab, 5, a);		/* kept: in use again */
	assert_int_equal(tc_socktab_count(&tab), 1);
	assert_true(tc_socktab_take(&tab, 5, a));
	tc_socktab_release(&tab, 5, 0);
	assert_int_equal(sets[0].tag[5], 0);
	assert_false(tc_socktab_take(&tab, 5, 0));	/* a free slot is nobody's */
	assert_false(tc_socktab_take(&tab, NSETS * TC_SOCK_WAYS, a));	/* out of the table */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_count_and_walk, setup),
		cmocka_unit_test_setup(test_walk_empty, setup),
		cmocka_unit_test_setup(test_take_release, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
