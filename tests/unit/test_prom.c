// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Prometheus exposition and the top view, on hand-made models. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>
#include "model.h"
#include "render_prom.h"
#include "top.h"

/* A client row of process pid toward 10.0.0.<host>:80 with `closed` local-first closes. */
static void add_peer(struct tc_model *m, __u32 pid, int host, __u64 closed)
{
	struct tc_peer_key k = { 0 };
	struct tc_counts c = { 0 };

	k.proc.tgid = pid;
	snprintf(k.proc.comm, sizeof(k.proc.comm), "p%u", pid);
	k.role = TC_ROLE_CLIENT;
	k.netns = 4026531840u;
	k.tuple.family = AF_INET;
	k.tuple.rport = 80;
	inet_pton(AF_INET, "10.1.1.1", k.tuple.laddr);
	k.tuple.raddr[0] = 10;
	k.tuple.raddr[3] = (__u8)host;
	c.closed = c.kind[TC_CK_LOCAL_FIRST] = closed;
	c.conn.attempts = closed;
	assert_int_equal(tc_model_add_peer(m, &k, &c), 0);
	tc_counts_add(&m->totals, &c);
}

static char *render(const struct tc_model *m, struct tc_prom *st)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_int_equal(tc_render_prom(f, m, st), 0);
	fclose(f);
	return buf;
}

/* The value of the sample whose line starts with `series ` (exact labels). */
static double sample(const char *text, const char *series)
{
	size_t n = strlen(series);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, series, n) && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	fail_msg("no sample %s", series);
	return -1;
}

static int count_prefix(const char *text, const char *prefix)
{
	int n = 0;
	size_t len = strlen(prefix);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		n += !strncmp(p, prefix, len);
	return n;
}

#define PEER(h) "tcpclose_peer_closes_total{role=\"client\",netns=\"4026531840\",local=\"10.1.1.1\"," \
		"remote=\"10.0.0." #h ":80\",kind=\"local_first\"}"
#define OTHER "tcpclose_peer_closes_total{role=\"other\",netns=\"\",local=\"\",remote=\"other\"," \
		"kind=\"local_first\"}"

static void test_top_n_other_and_sticky(void **state)
{
	struct tc_model m;
	struct tc_prom st;
	char *out;

	tc_model_init(&m);
	tc_prom_init(&st, 3, "test");
	for (int h = 1; h <= 10; h++)
		add_peer(&m, 100 + h, h, (__u64)h * 10);	/* host 10 busiest */
	out = render(&m, &st);
	/* three series and "other" per kind */
	assert_int_equal(count_prefix(out, "tcpclose_peer_closes_total{role=\"client\""), 3 * TC_CK_MAX);
	assert_true(sample(out, PEER(10)) == 100);
	assert_true(sample(out, PEER(8)) == 80);
	/* the rest, folded: 10+20+...+70 = 280, exactly totals - shown */
	assert_true(sample(out, OTHER) == 280);
	assert_true(sample(out, "tcpclose_series_folded{table=\"peers\"}") == 7);
	free(out);

	/* host 1 becomes the busiest: the chosen series stay (monotonic
	 * counters), its growth goes to "other" */
	m.peers[0].c.closed += 1000;
	m.peers[0].c.kind[TC_CK_LOCAL_FIRST] += 1000;
	m.totals.closed += 1000;
	m.totals.kind[TC_CK_LOCAL_FIRST] += 1000;
	out = render(&m, &st);
	assert_true(sample(out, PEER(10)) == 100);
	assert_true(sample(out, OTHER) == 1280);
	assert_int_equal(count_prefix(out, PEER(1)), 0);
	free(out);

	/* the row behind a chosen series is gone (evicted): the busiest of the
	 * rest takes its place, the evicted counts stay in "other" */
	m.npeers--;	/* drops the last added: host 10 */
	out = render(&m, &st);
	assert_int_equal(count_prefix(out, PEER(10)), 0);
	assert_true(sample(out, PEER(1)) == 1010);
	/* "other" is a counter: host 1's 1010 were in it already and stay;
	 * host 10's 100 come back to it. totals - (host 9, 8, and host 1
	 * since chosen) */
	assert_true(sample(out, OTHER) == 1550 - 90 - 80 - 0);
	free(out);
	/* from now on host 1's growth is its series' alone: "other" is flat,
	 * and series + other grow exactly as the totals */
	m.peers[0].c.closed += 5;
	m.peers[0].c.kind[TC_CK_LOCAL_FIRST] += 5;
	m.totals.closed += 5;
	m.totals.kind[TC_CK_LOCAL_FIRST] += 5;
	out = render(&m, &st);
	assert_true(sample(out, PEER(1)) == 1015);
	assert_true(sample(out, OTHER) == 1380);
	free(out);
	tc_prom_free(&st);
	tc_model_free(&m);
}

static void test_rows_of_one_endpoint_merge(void **state)
{
	struct tc_model m;
	struct tc_prom st;
	char *out;

	tc_model_init(&m);
	tc_prom_init(&st, 5, "test");
	add_peer(&m, 1, 7, 5);
	add_peer(&m, 2, 7, 6);	/* another process, same destination */
	out = render(&m, &st);
	/* one label set, the sum: Prometheus rejects duplicate series */
	assert_int_equal(count_prefix(out, PEER(7)), 1);
	assert_true(sample(out, PEER(7)) == 11);
	assert_true(sample(out, OTHER) == 0);
	/* no process rows (evicted, say): all of the totals are "other" */
	assert_true(sample(out, "tcpclose_process_closes_total{comm=\"other\",pid=\"\",cgroup=\"\","
			   "kind=\"local_first\"}") == 11);
	free(out);
	tc_prom_free(&st);
	tc_model_free(&m);
}

static void test_histogram_and_escaping(void **state)
{
	struct tc_model m;
	struct tc_prom st;
	struct tc_proc_key k = { .tgid = 9 };
	struct tc_counts c = { 0 };
	char *out;

	tc_model_init(&m);
	tc_prom_init(&st, 5, "test");
	m.tw_hook = "tp_btf/timer_start";
	/* stays of 0 ms, 3 ms and 60000 ms */
	m.totals.tw.hist[0] = 1;
	m.totals.tw.hist[2] = 1;
	m.totals.tw.hist[16] = 1;
	m.totals.tw.dur_count = 3;
	m.totals.tw.dur_sum_ms = 60003;
	memcpy(k.comm, "a\"b\\c", 6);
	c.closed = c.kind[TC_CK_REMOTE_FIRST] = 2;
	assert_int_equal(tc_model_add_proc(&m, &k, &c), 0);
	m.procs[0].cgroup = "/system.slice/x.service";
	tc_counts_add(&m.totals, &c);
	out = render(&m, &st);
	assert_true(sample(out, "tcpclose_timewait_duration_seconds_bucket{le=\"0.001\"}") == 1);
	assert_true(sample(out, "tcpclose_timewait_duration_seconds_bucket{le=\"0.002\"}") == 1);
	assert_true(sample(out, "tcpclose_timewait_duration_seconds_bucket{le=\"0.004\"}") == 2);
	assert_true(sample(out, "tcpclose_timewait_duration_seconds_bucket{le=\"32.768\"}") == 2);
	assert_true(sample(out, "tcpclose_timewait_duration_seconds_bucket{le=\"65.536\"}") == 3);
	assert_true(sample(out, "tcpclose_timewait_duration_seconds_bucket{le=\"+Inf\"}") == 3);
	assert_true(sample(out, "tcpclose_timewait_duration_seconds_count") == 3);
	assert_true(sample(out, "tcpclose_timewait_duration_seconds_sum") == 60.003);
	assert_true(sample(out, "tcpclose_process_closes_total{comm=\"a\\\"b\\\\c\",pid=\"9\","
			   "cgroup=\"/system.slice/x.service\",kind=\"remote_first\"}") == 2);
	/* no port search hook: no retries histogram at all */
	assert_null(strstr(out, "tcpclose_connect_port_retries"));
	free(out);
	tc_prom_free(&st);
	tc_model_free(&m);
}

/* Causes by label, at every level, and "other" keeps the evicted rows'
 * causes; none at all for a recording made before causes were told. */
static void test_causes(void **state)
{
	struct tc_model m;
	struct tc_prom st;
	struct tc_proc_key k = { .tgid = 7 };
	struct tc_counts c = { 0 };
	char *out;

	(void)state;
	tc_model_init(&m);
	tc_prom_init(&st, 5, "test");
	strcpy(k.comm, "web");
	c.closed = c.kind[TC_CK_RESET_SENT] = 3;
	c.cause[TC_CAUSE_UNREAD_DATA] = 3;
	assert_int_equal(tc_model_add_proc(&m, &k, &c), 0);
	tc_counts_add(&m.totals, &c);
	m.totals.cause[TC_CAUSE_KEEPALIVE] = 4;	/* in an evicted row */
	out = render(&m, &st);
	assert_null(strstr(out, "tcpclose_resets_sent_total"));
	free(out);
	m.causes = 1;
	out = render(&m, &st);
	assert_true(sample(out, "tcpclose_resets_sent_total{cause=\"unread_data\"}") == 3);
	assert_true(sample(out, "tcpclose_resets_sent_total{cause=\"reset_other\"}") == 0);
	assert_true(sample(out, "tcpclose_timeouts_total{cause=\"keepalive\"}") == 4);
	assert_int_equal(count_prefix(out, "tcpclose_timeouts_total{"), 7);	/* no fin_wait2 */
	assert_true(sample(out, "tcpclose_resets_received_total{state=\"handshake\"}") == 0);
	assert_int_equal(count_prefix(out, "tcpclose_resets_received_total{"), 4);
	/* the causes a reset after the close tells: absent where not hooked */
	assert_int_equal(count_prefix(out, "tcpclose_resets_sent_total{"), 4);
	assert_null(strstr(out, "cause=\"data_after_close\""));
	assert_true(sample(out, "tcpclose_process_resets_sent_total{comm=\"web\",pid=\"7\","
			   "cgroup=\"0\",cause=\"unread_data\"}") == 3);
	assert_non_null(strstr(out, "tcpclose_process_timeouts_total{comm=\"other\""));
	assert_null(strstr(out, "tcpclose_resets_no_socket_total"));	/* not counted */
	assert_null(strstr(out, "tcpclose_closes_fin_by_shutdown_total"));	/* not told */
	free(out);
	m.pend_hook = "tp_btf/tcp_send_reset";
	m.fin_timeouts = 1;
	m.procs[0].c.cause[TC_CAUSE_LINGER2] = 1;
	m.totals.cause[TC_CAUSE_LINGER2] = 1;
	out = render(&m, &st);
	assert_int_equal(count_prefix(out, "tcpclose_resets_sent_total{"), 7);
	assert_int_equal(count_prefix(out, "tcpclose_timeouts_total{"), 8);
	assert_true(sample(out, "tcpclose_timeouts_total{cause=\"fin_wait2\"}") == 0);
	assert_true(sample(out, "tcpclose_resets_sent_total{cause=\"linger2\"}") == 1);
	assert_true(sample(out, "tcpclose_resets_sent_total{cause=\"memory\"}") == 0);
	assert_true(sample(out, "tcpclose_process_resets_sent_total{comm=\"web\",pid=\"7\","
			   "cgroup=\"0\",cause=\"linger2\"}") == 1);
	free(out);
	/* our FIN by shutdown(): the row's, and what an evicted row had in other */
	m.fin_by = 1;
	m.procs[0].c.fin_shutdown = 2;
	m.totals.fin_shutdown = 5;
	out = render(&m, &st);
	assert_true(sample(out, "tcpclose_closes_fin_by_shutdown_total") == 5);
	assert_true(sample(out, "tcpclose_process_closes_fin_by_shutdown_total{comm=\"web\",pid=\"7\","
			   "cgroup=\"0\"}") == 2);
	assert_true(sample(out, "tcpclose_process_closes_fin_by_shutdown_total{comm=\"other\",pid=\"\","
			   "cgroup=\"\"}") == 3);
	assert_null(strstr(out, "tcpclose_timeout_idle_seconds_total"));	/* HZ unknown */
	free(out);
	/* a timeout's idle time: its count and seconds, the evicted rows' in other */
	m.idle = 1;
	m.procs[0].c.idle_count = 1;
	m.procs[0].c.idle_sum_s = 350;
	m.totals.idle_count = 3;
	m.totals.idle_sum_s = 1000;
	out = render(&m, &st);
	assert_true(sample(out, "tcpclose_timeouts_established_total") == 3);
	assert_true(sample(out, "tcpclose_timeout_idle_seconds_total") == 1000);
	assert_true(sample(out, "tcpclose_process_timeout_idle_seconds_total{comm=\"web\",pid=\"7\","
			   "cgroup=\"0\"}") == 350);
	assert_true(sample(out, "tcpclose_process_timeout_idle_seconds_total{comm=\"other\",pid=\"\","
			   "cgroup=\"\"}") == 650);
	assert_true(sample(out, "tcpclose_process_timeouts_established_total{comm=\"other\",pid=\"\","
			   "cgroup=\"\"}") == 2);
	free(out);
	m.idle = 0;
	/* resets for no socket: by reason only, where they are counted */
	m.reset_hook = "tp_btf/tcp_send_reset";
	m.nosock_total[TC_NR_NO_SOCKET] = 17;
	out = render(&m, &st);
	assert_true(sample(out, "tcpclose_resets_no_socket_total{reason=\"no_socket\"}") == 17);
	assert_true(sample(out, "tcpclose_resets_no_socket_total{reason=\"time_wait\"}") == 0);
	assert_non_null(strstr(out, "reset_hook=\"tp_btf/tcp_send_reset\"} 1"));
	free(out);
	tc_prom_free(&st);
	tc_model_free(&m);
}

/* Is every byte of s[0..len) part of a well-formed UTF-8 sequence? */
static int valid_utf8(const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		unsigned char c = s[i];
		size_t n = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 :
			   c >= 0xf0 && c <= 0xf4 ? 4 : 0;

		if (!n || i + n > len)
			return 0;
		for (size_t k = 1; k < n; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
		i += n;
	}
	return 1;
}

/* A comm is any bytes a process chose, a cgroup any directory name: the
 * exposition is served as charset=utf-8 and Prometheus rejects the whole
 * scrape on one invalid byte, so label values are made valid (U+FFFD). */
static void test_labels_are_valid_utf8(void **state)
{
	struct tc_model m;
	struct tc_prom st;
	struct tc_proc_key k = { .tgid = 7 };
	struct tc_counts c = { 0 };
	char *out;

	tc_model_init(&m);
	tc_prom_init(&st, 5, "test");
	memcpy(k.comm, "\xff\xfe" "ok\xc3", 6);	/* a cut sequence at the end too */
	c.closed = c.kind[TC_CK_LOCAL_FIRST] = 3;
	assert_int_equal(tc_model_add_proc(&m, &k, &c), 0);
	m.procs[0].cgroup = "/x\xe9y\\\"z";	/* Latin-1 e-acute, then escapes */
	tc_counts_add(&m.totals, &c);
	out = render(&m, &st);
	assert_true(valid_utf8((const unsigned char *)out, strlen(out)));
	assert_true(sample(out, "tcpclose_process_closes_total{comm=\"\xef\xbf\xbd\xef\xbf\xbd"
			   "ok\xef\xbf\xbd\",pid=\"7\",cgroup=\"/x\xef\xbf\xbdy\\\\\\\"z\","
			   "kind=\"local_first\"}") == 3);
	free(out);
	tc_prom_free(&st);
	tc_model_free(&m);
}

static void test_top_rates_and_sort(void **state)
{
	struct tc_model m;
	struct tc_top t;
	struct tc_top_line *l;
	size_t n;

	tc_model_init(&m);
	tc_top_init(&t);
	add_peer(&m, 1, 1, 10);
	add_peer(&m, 2, 2, 100);
	assert_int_equal(tc_top_remember(&t, &m), 0);
	/* 2 s later: host 1 did 40 more, host 2 none; host 2's row was also
	 * evicted and begun again with 4 (less than before: all of it is new) */
	m.peers[0].c.closed = m.peers[0].c.kind[TC_CK_LOCAL_FIRST] = 50;
	m.peers[1].c.closed = m.peers[1].c.kind[TC_CK_LOCAL_FIRST] = 4;
	assert_int_equal(tc_top_lines(&t, &m, 1, 2.0, TC_SORT_CLOSED, &l, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(l[0].peer->key.proc.tgid, 1);
	assert_true(l[0].v[TC_SORT_CLOSED] == 20.0);
	assert_true(l[0].v[TC_SORT_LOCAL] == 20.0);
	assert_true(l[1].v[TC_SORT_CLOSED] == 2.0);
	assert_false(l[0].have[TC_SORT_RETRIES]);	/* no port hook in this model */
	free(l);
	/* sorted by port utilisation: only surveyed client rows have one */
	m.peers[1].ports.known = 1;
	m.peers[1].ports.utilisation = 0.5;
	assert_int_equal(tc_top_lines(&t, &m, 1, 2.0, TC_SORT_PORTS, &l, &n), 0);
	assert_int_equal(l[0].peer->key.proc.tgid, 2);
	assert_true(l[0].v[TC_SORT_PORTS] == 50.0);
	assert_false(l[1].have[TC_SORT_PORTS]);
	free(l);
	/* the header's why/s: the causes of this interval only */
	{
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);

		m.causes = 1;
		m.totals.cause[TC_CAUSE_KEEPALIVE] = 6;
		t.totals.cause[TC_CAUSE_KEEPALIVE] = 2;
		m.totals.cause[TC_CAUSE_RX_FIN_SENT] = 2;
		m.totals.cause[TC_CAUSE_SYN] = t.totals.cause[TC_CAUSE_SYN] = 9;
		m.reset_hook = "tp_btf/tcp_send_reset";
		m.nosock_total[TC_NR_NO_SOCKET] = 30;
		t.nosock[TC_NR_NO_SOCKET] = 6;
		tc_render_top(f, &t, &m, 2.0, TC_SORT_CLOSED, 10, "12:00:00");
		fclose(f);
		assert_non_null(strstr(buf, "why/s: keepalive 2.0, reset received in fin_sent 1.0, "
				       "reset for no socket 12.0\n"));
		free(buf);
	}
	tc_top_free(&t);
	tc_model_free(&m);
}

static void test_model_other_is_totals_minus_rows(void **state)
{
	struct tc_model m;
	struct tc_counts o;

	tc_model_init(&m);
	add_peer(&m, 1, 1, 4);
	add_peer(&m, 2, 2, 3);
	/* a row the kernel evicted: in the totals only */
	m.totals.closed += 5;
	m.totals.kind[TC_CK_REMOTE_FIRST] += 5;
	m.totals.tw.dur_max_ms = 900;
	tc_model_other(&m, 1, &o);
	assert_int_equal(o.closed, 5);
	assert_int_equal(o.kind[TC_CK_REMOTE_FIRST], 5);
	assert_int_equal(o.kind[TC_CK_LOCAL_FIRST], 0);
	assert_int_equal(o.conn.attempts, 0);
	assert_int_equal(o.tw.dur_max_ms, 0);	/* not subtractable: unknown */
	/* no process rows at all: everything is other */
	tc_model_other(&m, 0, &o);
	assert_int_equal(o.closed, 12);
	tc_model_free(&m);
}

/* Container and pod labels on process series, from the cgroup path
 * (container.h); one-exchange closes per level, "other" included. */
static void test_container_labels_and_one_exchange(void **state)
{
	static const char *const cg[] = {
		"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
		"8f3e5b2a_1c4d_4e6f_9a0b_7c2d1e3f4a5b.slice/cri-containerd-"
		"4f1b2c3d4e5f60718293a4b5c6d7e8f90123456789abcdef0123456789abcdef.scope",
		"/system.slice/docker-"
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope",
		"/system.slice/nginx.service",
	};
	struct tc_model m;
	struct tc_prom st;
	char *out;

	tc_model_init(&m);
	tc_prom_init(&st, 3, "t");
	for (int i = 0; i < 3; i++) {
		struct tc_proc_key k = { .tgid = 10 + (__u32)i, .cgroup_id = 100 + (__u64)i };
		struct tc_counts c = { 0 };

		snprintf(k.comm, sizeof(k.comm), "w%d", i);
		c.closed = c.kind[TC_CK_REMOTE_FIRST] = 4;
		c.one_exchange = (__u64)i + 1;
		assert_int_equal(tc_model_add_proc(&m, &k, &c), 0);
		m.procs[m.nprocs - 1].cgroup = cg[i];
		tc_counts_add(&m.totals, &c);
	}
	m.totals.one_exchange += 7;	/* an evicted row's: in "other" */
	out = render(&m, &st);
	assert_true(sample(out, "tcpclose_process_closes_one_exchange_total{comm=\"w0\",pid=\"10\","
			   "cgroup=\"" "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
			   "8f3e5b2a_1c4d_4e6f_9a0b_7c2d1e3f4a5b.slice/cri-containerd-"
			   "4f1b2c3d4e5f60718293a4b5c6d7e8f90123456789abcdef0123456789abcdef.scope\","
			   "container_id=\"4f1b2c3d4e5f60718293a4b5c6d7e8f90123456789abcdef0123456789abcdef\","
			   "pod_uid=\"8f3e5b2a-1c4d-4e6f-9a0b-7c2d1e3f4a5b\",qos_class=\"burstable\"}") == 1);
	assert_true(sample(out, "tcpclose_process_closes_total{comm=\"w1\",pid=\"11\",cgroup=\""
			   "/system.slice/docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
			   ".scope\",container_id=\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\","
			   "kind=\"remote_first\"}") == 4);
	/* not a container's: the labels it always had */
	assert_true(sample(out, "tcpclose_process_closes_one_exchange_total{comm=\"w2\",pid=\"12\","
			   "cgroup=\"/system.slice/nginx.service\"}") == 3);
	assert_true(sample(out, "tcpclose_process_closes_one_exchange_total{comm=\"other\",pid=\"\","
			   "cgroup=\"\"}") == 7);
	assert_true(sample(out, "tcpclose_closes_one_exchange_total") == 13);
	free(out);
	tc_prom_free(&st);
	tc_model_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_top_n_other_and_sticky),
		cmocka_unit_test(test_rows_of_one_endpoint_merge),
		cmocka_unit_test(test_histogram_and_escaping),
		cmocka_unit_test(test_causes),
		cmocka_unit_test(test_labels_are_valid_utf8),
		cmocka_unit_test(test_top_rates_and_sort),
		cmocka_unit_test(test_model_other_is_totals_minus_rows),
		cmocka_unit_test(test_container_labels_and_one_exchange),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
