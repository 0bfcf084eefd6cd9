// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* TIME_WAIT arithmetic and rendering, on hand-made counts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "closestate.h"
#include "model.h"
#include "rowmath.h"
#include "render.h"

static void test_slots(void **state)
{
	/* same bucketing as the BPF side: bit length of the ms value */
	assert_int_equal(tc_log2_slot(0), 0);
	assert_int_equal(tc_log2_slot(1), 1);
	assert_int_equal(tc_log2_slot(3), 2);
	assert_int_equal(tc_log2_slot(4), 3);
	assert_int_equal(tc_log2_slot(61000), 16);	/* [32768, 65536) */
	assert_int_equal(tc_log2_slot(~0ULL), TC_TW_HIST - 1);
	double lo, hi;
	tc_hist_bounds(16, &lo, &hi);
	assert_true(lo == 32768 && hi == 65536);
}

static void test_quantiles(void **state)
{
	__u64 hist[TC_TW_HIST] = { 0 };

	assert_true(tc_hist_quantile(hist, TC_TW_HIST, 0.5, 0, 0) < 0);	/* empty */
	hist[16] = 10;	/* ten stays between 61000 and 61900 ms */
	double p50 = tc_hist_quantile(hist, TC_TW_HIST, 0.5, 61000, 61900);
	assert_true(p50 >= 61000 && p50 <= 61900);
	/* all of one length: no quantile may exceed the max seen */
	__u64 one[TC_TW_HIST] = { 0 };
	one[10] = 6;
	assert_true(tc_hist_quantile(one, TC_TW_HIST, 0.99, 1011, 1011) == 1011.0);
	assert_true(tc_hist_quantile(one, TC_TW_HIST, 0.5, 1011, 1011) == 1011.0);
	/* without min/max the bucket alone would say ~49 s */
	assert_true(tc_hist_quantile(hist, TC_TW_HIST, 0.5, 0, 0) < 50000);
	hist[3] = 90;	/* 90 short ones of 4-7 ms: p50 is short, p99 long */
	assert_true(tc_hist_quantile(hist, TC_TW_HIST, 0.5, 4, 61900) < 8);
	assert_true(tc_hist_quantile(hist, TC_TW_HIST, 0.99, 4, 61900) > 32768);
}

static void test_active_and_sum(void **state)
{
	struct tc_twcounts a = { .entered = 10, .preexisting = 5, .dur_max_ms = 7, .dur_min_ms1 = 3 };
	struct tc_twcounts b = { .entered = 1, .dur_max_ms = 9, .dur_min_ms1 = 5 };

	a.ended[TC_TWE_EXPIRED] = 4;
	a.ended[TC_TWE_REUSED] = 3;
	assert_int_equal(tc_tw_active(&a), 8);
	tc_twcounts_add(&a, &b);
	assert_int_equal(a.entered, 11);
	assert_int_equal(a.dur_max_ms, 9);
	assert_int_equal(tc_tw_min(&a), 2);
}

static void test_overflow_predicate(void **state)
{
	assert_true(tc_is_tw_overflow(TC_FIN_WAIT2, 0, 0, 1));
	assert_true(tc_is_tw_overflow(TC_CLOSING, 0, 0, 1));
	assert_false(tc_is_tw_overflow(TC_FIN_WAIT2, 1, 0, 1));	/* a timewait took over */
	assert_false(tc_is_tw_overflow(TC_FIN_WAIT2, 0, 104, 1));	/* reset */
	assert_false(tc_is_tw_overflow(TC_FIN_WAIT2, 0, 0, 0));	/* user abort, not orphaned */
	assert_false(tc_is_tw_overflow(TC_LAST_ACK, 0, 0, 1));	/* never timewait */
}

static char *render(const struct tc_model *m)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_int_equal(tc_render_json(f, m), 0);
	fclose(f);
	return buf;
}

static void test_json_unavailable_is_null(void **state)
{
	struct tc_model m;
	json_object *root, *tw, *v;
	char *out;

	tc_model_init(&m);
	m.attach = "tracepoint";
	m.totals.tw.entered = 3;
	/* no timer hooks, no snapshot: ends, lengths, gauge, reuse are unknown */
	out = render(&m);
	root = json_tokener_parse(out);
	assert_non_null(root);
	assert_true(json_object_object_get_ex(json_object_object_get(root, "totals"), "time_wait", &tw));
	assert_int_equal(json_object_get_int(json_object_object_get(tw, "entered")), 3);
	assert_true(json_object_object_get_ex(tw, "ended", &v) && v == NULL);
	assert_true(json_object_object_get_ex(tw, "active", &v) && v == NULL);
	assert_true(json_object_object_get_ex(tw, "duration_ms", &v) && v == NULL);
	assert_true(json_object_object_get_ex(json_object_object_get(json_object_object_get(root, "totals"),
				"connect"), "tw_reuse_hits", &v) && v == NULL);
	json_object_put(root);
	free(out);

	m.tw_hook = "tp_btf/timer_start";
	m.tw_snapshot = 1;
	out = render(&m);
	root = json_tokener_parse(out);
	tw = json_object_object_get(json_object_object_get(root, "totals"), "time_wait");
	assert_int_equal(json_object_get_int(json_object_object_get(tw, "active")), 3);
	assert_int_equal(json_object_array_length(json_object_object_get(
		json_object_object_get(tw, "duration_ms"), "hist")), TC_TW_HIST);
	json_object_put(root);
	free(out);
}

/*
 * The longest stay a __s64 can say (replay reads it from a file): no
 * signed overflow on the way (min is kept as ms + 1; `make unit-asan`
 * builds this with -fsanitize=undefined), and the numbers are the stay's.
 * Lengths of real stays come out as before.
 */
static void test_huge_stay(void **state)
{
	struct tc_twcounts t = { 0 };

	tc_tw_apply(&t, TC_TWV_END, TC_TWE_EXPIRED, INT64_MAX, false);
	assert_int_equal(t.dur_count, 1);
	assert_true(t.dur_max_ms == (__u64)INT64_MAX);
	assert_true(t.dur_min_ms1 == (__u64)INT64_MAX + 1);
	assert_true(tc_tw_min(&t) == (__u64)INT64_MAX);
	assert_int_equal(t.hist[TC_TW_HIST - 1], 1);
	assert_int_equal(t.ended[TC_TWE_EXPIRED], 1);
	tc_tw_apply(&t, TC_TWV_END, TC_TWE_EXPIRED, 60123, false);
	assert_true(tc_tw_min(&t) == 60123);
	assert_true(t.dur_max_ms == (__u64)INT64_MAX);
	assert_int_equal(t.hist[tc_log2_slot(60123)], 1);
	/* 0 ms is a length (min 0), -1 none */
	tc_tw_apply(&t, TC_TWV_END, TC_TWE_EXPIRED, 0, false);
	tc_tw_apply(&t, TC_TWV_END, TC_TWE_EXPIRED, -1, false);
	assert_int_equal(t.dur_count, 3);
	assert_true(tc_tw_min(&t) == 0);
	assert_int_equal(t.ended[TC_TWE_EXPIRED], 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slots),
		cmocka_unit_test(test_quantiles),
		cmocka_unit_test(test_active_and_sum),
		cmocka_unit_test(test_overflow_predicate),
		cmocka_unit_test(test_json_unavailable_is_null),
		cmocka_unit_test(test_huge_stay),
	};
	return cmocka_run_group_tests_name("timewait", tests, NULL, NULL);
}
