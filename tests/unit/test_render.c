// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Model, renderers and helpers, on hand-made models (no kernel). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <arpa/inet.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>
#include "closestate.h"
#include "model.h"
#include "names.h"
#include "diagnose.h"
#include "render.h"
#include "top.h"
#include "utf8.h"

static char *capture(void (*fn)(FILE *, const void *), const void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	fn(f, arg);
	fclose(f);
	return buf;
}

static void json_of_model(FILE *f, const void *m)
{
	assert_int_equal(tc_render_json(f, m), 0);
}

static void text_of_model(FILE *f, const void *m)
{
	tc_render_text(f, m, 20);
}

static void text_of_model_all(FILE *f, const void *m)
{
	tc_render_text(f, m, 100);
}

static struct tc_counts counts(__u64 local, __u64 remote, __u64 rst_rx)
{
	struct tc_counts c = { 0 };

	c.kind[TC_CK_LOCAL_FIRST] = local;
	c.kind[TC_CK_REMOTE_FIRST] = remote;
	c.kind[TC_CK_RESET_RECEIVED] = rst_rx;
	c.closed = local + remote + rst_rx;
	c.lifetime_ns = c.closed * 2000000;	/* 2 ms each */
	return c;
}

static void build(struct tc_model *m)
{
	struct tc_proc_key a = { .tgid = 100, .cgroup_id = 7 }, b = { .tgid = 200 };
	struct tc_peer_key pa = { 0 }, pb = { 0 };
	struct tc_counts ca = counts(3, 0, 1), cb = counts(0, 40, 0);

	tc_model_init(m);
	m->attach = "tracepoint";
	m->state_hook = "tp_btf/inet_sock_set_state";
	m->duration_s = 1.5;
	strcpy(a.comm, "small");
	/* quote, backslash, control char and an invalid UTF-8 byte */
	memcpy(b.comm, "q\"\\\x01\xff" "x", 7);
	assert_int_equal(tc_model_add_proc(m, &a, &ca), 0);
	assert_int_equal(tc_model_add_proc(m, &b, &cb), 0);
	tc_counts_add(&m->totals, &ca);
	tc_counts_add(&m->totals, &cb);

	pa.proc = a;
	pa.role = TC_ROLE_CLIENT;
	pa.tuple.family = AF_INET;
	inet_pton(AF_INET, "10.0.0.1", pa.tuple.laddr);
	inet_pton(AF_INET, "10.0.0.2", pa.tuple.raddr);
	pa.tuple.rport = 8080;
	pb.proc = b;
	pb.role = TC_ROLE_SERVER;
	pb.tuple.family = AF_INET6;
	inet_pton(AF_INET6, "::1", pb.tuple.laddr);
	inet_pton(AF_INET6, "fe80::2", pb.tuple.raddr);
	pb.tuple.lport = 443;
	assert_int_equal(tc_model_add_peer(m, &pa, &ca), 0);
	assert_int_equal(tc_model_add_peer(m, &pb, &cb), 0);
	m->health.stat[TC_STAT_SOCK_INSERTS] = 50;
	m->health.stat[TC_STAT_SOCK_DELETES] = 44;
	m->health.socks_live = 2;
	m->health.stat[TC_STAT_PROC_INSERTS] = 5;
	m->health.stat[TC_STAT_PEER_INSERTS] = 2;
	tc_model_finish_health(m);
	tc_model_sort(m);
}

static void test_sort_and_health(void **state)
{
	struct tc_model m;

	build(&m);
	assert_int_equal(m.procs[0].key.tgid, 200);	/* 40 closed beats 4 */
	assert_int_equal(m.peers[0].key.proc.tgid, 200);
	assert_int_equal(m.health.socks_evicted, 4);	/* 50 - 44 - 2 */
	assert_int_equal(m.health.procs_evicted, 3);
	assert_int_equal(m.health.peers_evicted, 0);
	assert_true(tc_counts_avg_lifetime_ms(&m.totals) > 1.999 &&
		    tc_counts_avg_lifetime_ms(&m.totals) < 2.001);
	tc_model_free(&m);
}

static json_object *get(json_object *o, const char *path)
{
	char buf[256], *save, *tok;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok && o; tok = strtok_r(NULL, ".", &save)) {
		if (*tok >= '0' && *tok <= '9')
			o = json_object_array_get_idx(o, (size_t)atoi(tok));
		else if (!json_object_object_get_ex(o, tok, &o))
			return NULL;
	}
	return o;
}

static void test_json_contract(void **state)
{
	struct tc_model m;
	json_object *root;
	char *out;

	build(&m);
	out = capture(json_of_model, &m);
	root = json_tokener_parse(out);
	assert_non_null(root);	/* valid JSON despite the comm bytes */
	assert_int_equal(json_object_get_int(get(root, "version")), 1);
	assert_string_equal(json_object_get_string(get(root, "attach")), "tracepoint");
	assert_true(json_object_get_double(get(root, "duration_s")) == 1.5);
	assert_int_equal(json_object_get_int64(get(root, "totals.closed")), 44);
	assert_int_equal(json_object_get_int64(get(root, "totals.close.remote_first")), 40);
	assert_int_equal(json_object_get_int64(get(root, "totals.close.reset_received")), 1);
	assert_int_equal(json_object_get_int64(get(root, "totals.close.never_established")), 0);
	assert_int_equal(json_object_get_int64(get(root, "processes.0.pid")), 200);
	/* The escaped comm decodes back to the original bytes, the invalid one as U+FFFD. */
	assert_string_equal(json_object_get_string(get(root, "processes.0.comm")),
			    "q\"\\\x01\xef\xbf\xbdx");
	assert_int_equal(json_object_get_int64(get(root, "processes.1.cgroup_id")), 7);
	assert_string_equal(json_object_get_string(get(root, "peers.0.role")), "server");
	assert_string_equal(json_object_get_string(get(root, "peers.0.family")), "ipv6");
	assert_string_equal(json_object_get_string(get(root, "peers.0.local_addr")), "::1");
	assert_int_equal(json_object_get_int(get(root, "peers.0.local_port")), 443);
	assert_int_equal(json_object_get_int(get(root, "peers.0.remote_port")), 0);
	assert_string_equal(json_object_get_string(get(root, "peers.1.remote_addr")), "10.0.0.2");
	assert_int_equal(json_object_get_int(get(root, "peers.1.local_port")), 0);
	assert_int_equal(json_object_get_int64(get(root, "tracer.evicted.sockets")), 4);
	assert_non_null(get(root, "hooks.state"));
	assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1);	/* one line */
	json_object_put(root);
	free(out);
	tc_model_free(&m);
}

/* Resets for no socket: null where not counted (never 0), else by reason,
 * each row, and what evicted rows held; the text section lists the rows. */
static void test_nosock(void **state)
{
	struct tc_nosock_key k = { .netns = 9, .lport = 7005, .family = AF_INET,
				   .raddr = { 127, 0, 0, 1 } };
	struct tc_model m;
	json_object *root;
	char *out;

	build(&m);
	out = capture(json_of_model, &m);
	root = json_tokener_parse(out);
	assert_non_null(root);
	assert_true(json_object_object_get_ex(root, "resets_no_socket", NULL));
	assert_null(get(root, "resets_no_socket"));
	assert_null(get(root, "hooks.reset"));
	json_object_put(root);
	free(out);

	m.reset_hook = "tp_btf/tcp_send_reset";
	m.nosock_total[TC_NR_NO_SOCKET] = 25;
	assert_int_equal(tc_model_add_nosock(&m, &k, 20), 0);
	out = capture(json_of_model, &m);
	root = json_tokener_parse(out);
	assert_non_null(root);
	assert_int_equal(json_object_get_int64(get(root, "resets_no_socket.no_socket")), 25);
	assert_int_equal(json_object_get_int64(get(root, "resets_no_socket.time_wait")), 0);
	assert_int_equal(json_object_get_int64(get(root, "resets_no_socket.other")), 5);
	assert_int_equal(json_object_get_int(get(root, "resets_no_socket.rows.0.local_port")), 7005);
	assert_string_equal(json_object_get_string(get(root, "resets_no_socket.rows.0.remote_addr")),
			    "127.0.0.1");
	assert_string_equal(json_object_get_string(get(root, "resets_no_socket.rows.0.reason")),
			    "no_socket");
	json_object_put(root);
	free(out);
	/* our FIN by shutdown(): null where not told (a recording made before) */
	root = json_tokener_parse(out = capture(json_of_model, &m));
	assert_true(json_object_object_get_ex(get(root, "totals"), "fin_by_shutdown", NULL));
	assert_null(get(root, "totals.fin_by_shutdown"));
	json_object_put(root);
	free(out);
	m.fin_by = 1;
	m.totals.fin_shutdown = 4;
	root = json_tokener_parse(out = capture(json_of_model, &m));
	assert_int_equal(json_object_get_int64(get(root, "totals.fin_by_shutdown")), 4);
	assert_int_equal(json_object_get_int64(get(root, "processes.0.fin_by_shutdown")), 0);
	json_object_put(root);
	free(out);
	out = capture(text_of_model, &m);
	assert_non_null(strstr(out, "4 of them sent their FIN by shutdown()"));
	assert_non_null(strstr(out, "RESETS FOR NO SOCKET"));
	assert_non_null(strstr(out, "7005   127.0.0.1"));
	assert_non_null(strstr(out, "[rows evicted]"));
	free(out);
	/* a timeout's idle time: null where HZ was unknown, else count, sum, max */
	root = json_tokener_parse(out = capture(json_of_model, &m));
	assert_true(json_object_object_get_ex(get(root, "totals"), "timeout_idle_s", NULL));
	assert_null(get(root, "totals.timeout_idle_s"));
	json_object_put(root);
	free(out);
	m.idle = 1;
	m.causes = 1;
	m.totals.cause[TC_CAUSE_KEEPALIVE] = 2;
	m.totals.idle_count = 2;
	m.totals.idle_sum_s = 701;
	m.totals.idle_max_s = 360;
	root = json_tokener_parse(out = capture(json_of_model, &m));
	assert_int_equal(json_object_get_int64(get(root, "totals.timeout_idle_s.count")), 2);
	assert_int_equal(json_object_get_int64(get(root, "totals.timeout_idle_s.sum")), 701);
	assert_int_equal(json_object_get_int64(get(root, "totals.timeout_idle_s.max")), 360);
	assert_int_equal(json_object_get_int64(get(root, "processes.0.timeout_idle_s.count")), 0);
	assert_null(get(root, "processes.0.timeout_idle_s.max"));	/* none: no maximum */
	json_object_put(root);
	free(out);
	out = capture(text_of_model, &m);
	assert_non_null(strstr(out, "keepalive 2; peer silent avg 350.5 s, max 360 s"));
	free(out);
	/* the causes a reset after the close tells: null each where our
	 * sockets' resets are not hooked, never 0; numbers where they are */
	root = json_tokener_parse(out = capture(json_of_model, &m));
	assert_true(json_object_object_get_ex(get(root, "totals.reset_cause"), "data_after_close", NULL));
	assert_null(get(root, "totals.reset_cause.data_after_close"));
	assert_null(get(root, "processes.0.reset_cause.memory"));
	assert_int_equal(json_object_get_int64(get(root, "totals.reset_cause.unread_data")), 0);
	assert_null(get(root, "hooks.own_reset"));
	assert_true(json_object_object_get_ex(get(root, "totals.timeout_cause"), "fin_wait2", NULL));
	assert_null(get(root, "totals.timeout_cause.fin_wait2"));	/* no timewait hooks */
	assert_int_equal(json_object_get_int64(get(root, "totals.timeout_cause.keepalive")), 2);
	json_object_put(root);
	free(out);
	m.pend_hook = "tp_btf/tcp_send_reset";
	m.fin_timeouts = 1;
	m.totals.cause[TC_CAUSE_FIN_WAIT2] = 6;
	m.pend_hook = "tp_btf/tcp_send_reset+syscall";
	m.totals.cause[TC_CAUSE_DATA_AFTER_CLOSE] = 3;
	root = json_tokener_parse(out = capture(json_of_model, &m));
	assert_int_equal(json_object_get_int64(get(root, "totals.reset_cause.data_after_close")), 3);
	assert_int_equal(json_object_get_int64(get(root, "processes.0.reset_cause.linger2")), 0);
	assert_int_equal(json_object_get_int64(get(root, "totals.timeout_cause.fin_wait2")), 6);
	assert_string_equal(json_object_get_string(get(root, "hooks.own_reset")),
			    "tp_btf/tcp_send_reset+syscall");
	json_object_put(root);
	free(out);
	out = capture(text_of_model, &m);
	assert_non_null(strstr(out, "data_after_close 3"));
	assert_non_null(strstr(out, "fin_wait2 6"));
	free(out);
	tc_model_free(&m);
}

static void test_text_report(void **state)
{
	struct tc_model m;
	char *out;

	build(&m);
	out = capture(text_of_model, &m);
	assert_non_null(strstr(out, "PROCESSES (2)"));
	assert_non_null(strstr(out, "10.0.0.1 -> 10.0.0.2:8080"));
	assert_non_null(strstr(out, "[::1]:443 <- fe80::2"));
	assert_non_null(strstr(out, "q\"\\?\xef\xbf\xbdx"));	/* control char shown as ? */
	assert_non_null(strstr(out, "evicted: 4 sockets"));
	/* busiest process first */
	assert_true(strstr(out, "200     q") < strstr(out, "100     small"));
	free(out);
	tc_model_free(&m);
}

/* A forking server's per-connection processes: over -n rows, one line per
 * name (summed, "(N)" for the pid); at or under it, a line per process. */
static void test_text_fold(void **state)
{
	struct tc_model m;
	struct tc_proc_key pk = { .tgid = 100, .comm = "pgbench" };
	struct tc_peer_key ck = { .proc = pk, .role = TC_ROLE_CLIENT, .netns = 7 };
	struct tc_counts one = counts(0, 1, 0), all = counts(30, 0, 0);
	char *out;

	(void)state;
	tc_model_init(&m);
	ck.tuple.family = AF_INET;
	ck.tuple.rport = 5432;
	assert_int_equal(tc_model_add_proc(&m, &pk, &all), 0);
	assert_int_equal(tc_model_add_peer(&m, &ck, &all), 0);
	for (__u32 i = 0; i < 30; i++) {
		struct tc_proc_key k = { .tgid = 200 + i, .comm = "postgres" };
		struct tc_peer_key sk = { .proc = k, .role = TC_ROLE_SERVER, .netns = 7 };

		sk.tuple.family = AF_INET;
		sk.tuple.lport = 5432;
		assert_int_equal(tc_model_add_proc(&m, &k, &one), 0);
		assert_int_equal(tc_model_add_peer(&m, &sk, &one), 0);
	}
	tc_model_sort(&m);
	out = capture(text_of_model, &m);	/* -n 20: 31 rows */
	assert_non_null(strstr(out, "PROCESSES (31)"));
	assert_non_null(strstr(out, "(30)    postgres                    30        0        30"));
	assert_non_null(strstr(out, "(30)    postgres        server"));
	assert_non_null(strstr(out, "100     pgbench                     30       30"));
	assert_null(strstr(out, "200     postgres"));
	assert_null(strstr(out, "more (see --json"));	/* two lines: all shown */
	assert_non_null(strstr(out, "(N) for a PID"));
	free(out);
	out = capture(text_of_model_all, &m);	/* -n 100: every process */
	assert_non_null(strstr(out, "200     postgres                     1        0         1"));
	assert_null(strstr(out, "(30)"));
	assert_null(strstr(out, "(N) for a PID"));
	free(out);
	tc_model_free(&m);
}

static void event_json(FILE *f, const void *e)
{
	assert_int_equal(tc_event_json(f, e, 1.25, true), 0);
}

static void event_text_idle(FILE *f, const void *e)
{
	tc_event_text(f, e, 1.25, true);
}

static void event_text_no_hz(FILE *f, const void *e)
{
	tc_event_text(f, e, 1.25, false);
}

static void test_event_json(void **state)
{
	struct tc_event e = { 0 };
	json_object *root;
	char *out;

	e.owner.tgid = 9;
	strcpy(e.owner.comm, "curl");
	e.role = TC_ROLE_CLIENT;
	e.kind = TC_CK_REMOTE_FIRST;
	e.tuple.family = AF_INET;
	inet_pton(AF_INET, "127.0.0.1", e.tuple.laddr);
	inet_pton(AF_INET, "127.0.0.1", e.tuple.raddr);
	e.tuple.lport = 40000;
	e.tuple.rport = 80;
	e.lifetime_ns = 1500000;
	e.path_len = 0;
	tc_path_push(&e.path, &e.path_len, TC_CLOSE);
	tc_path_push(&e.path, &e.path_len, TC_SYN_SENT);
	tc_path_push(&e.path, &e.path_len, TC_ESTABLISHED);
	out = capture(event_json, &e);
	root = json_tokener_parse(out);
	assert_non_null(root);
	assert_string_equal(json_object_get_string(get(root, "close")), "remote_first");
	assert_string_equal(json_object_get_string(get(root, "path")), "CLOSE>SYN_SENT>ESTABLISHED");
	assert_int_equal(json_object_get_int(get(root, "local_port")), 40000);
	assert_true(json_object_get_double(get(root, "lifetime_ms")) == 1.5);
	assert_true(json_object_object_get_ex(root, "idle_s", NULL));
	assert_null(get(root, "idle_s"));	/* no timeout */
	json_object_put(root);
	free(out);
	/* a keepalive timeout: the peer's silence, in JSON and in the text line */
	e.kind = TC_CK_TIMEOUT;
	e.cause = TC_CAUSE_KEEPALIVE;
	e.oldstate = TC_ESTABLISHED;
	e.idle_s = 351;
	root = json_tokener_parse(out = capture(event_json, &e));
	assert_int_equal(json_object_get_int(get(root, "idle_s")), 351);
	assert_string_equal(json_object_get_string(get(root, "cause")), "keepalive");
	json_object_put(root);
	free(out);
	out = capture(event_text_idle, &e);
	assert_non_null(strstr(out, " (keepalive, silent 351 s)\n"));
	free(out);
	out = capture(event_text_no_hz, &e);
	assert_non_null(strstr(out, " (keepalive)\n"));
	free(out);
}

static void test_utf8(void **state)
{
	char out[64];

	tc_utf8_sanitize(out, "plain", 16);
	assert_string_equal(out, "plain");
	tc_utf8_sanitize(out, "caf\xc3\xa9", 16);		/* valid 2-byte */
	assert_string_equal(out, "caf\xc3\xa9");
	tc_utf8_sanitize(out, "\xc3", 16);			/* truncated */
	assert_string_equal(out, "\xef\xbf\xbd");
	tc_utf8_sanitize(out, "\xc0\xaf", 16);			/* overlong '/' */
	assert_string_equal(out, "\xef\xbf\xbd\xef\xbf\xbd");
	tc_utf8_sanitize(out, "\xed\xa0\x80", 16);		/* surrogate */
	assert_string_equal(out, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	tc_utf8_sanitize(out, "0123456789abcdefXYZ", 16);	/* no NUL within 16 */
	assert_string_equal(out, "0123456789abcdef");
	tc_printable(out, "a\tb\x7f", 16);
	assert_string_equal(out, "a?b?");
	/* C1 controls too: U+009B is CSI to many terminals; U+00A0 is text */
	tc_printable(out, "\x1b[2J\xc2\x9b" "2J\xc2\x80\xc2\x9f\xc2\xa0\xff", 16);
	assert_string_equal(out, "?[2J?2J??\xc2\xa0\xef\xbf\xbd");
	assert_false(tc_utf8_printable("\xc2\x9b", 2));
	assert_false(tc_utf8_printable("a\xc2\x85", 3));
	assert_false(tc_utf8_printable("\x1b[2J", 4));
	assert_false(tc_utf8_printable("\xff", 1));
	assert_true(tc_utf8_printable("caf\xc3\xa9\xc2\xa0", 7));
	tc_utf8_cut(out, sizeof(out), "x\xc2\x9by\x1bz\xfe");
	assert_string_equal(out, "x?y?z\xef\xbf\xbd");
	assert_string_equal(tc_term_str(out, sizeof(out), NULL, "?"), "?");
}

/* What reaches a terminal: no ESC, no C1, no DEL, valid UTF-8. */
static void assert_terminal_safe(const char *s)
{
	size_t len = strlen(s);
	char *v = malloc(3 * len + 1);

	assert_non_null(v);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == 0x1b || *p == 0x7f || (*p < 0x20 && *p != '\n'))
			fail_msg("control byte 0x%02x in \"%s\"", *p, s);
		if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			fail_msg("C1 control in \"%s\"", s);
	}
	tc_utf8_sanitize(v, s, len);	/* unchanged: it was valid UTF-8 */
	assert_string_equal(v, s);
	free(v);
}

static void doctor_of_model(FILE *f, const void *m)
{
	struct tc_finding fd = { .severity = TC_SEV_WARNING, .id = "x" };

	strcpy(fd.title, "title \x1b[2J\xc2\x9b" "31m");
	strcpy(fd.evidence, "evidence \xff\x07");
	strcpy(fd.fix, "fix \x1b]0;pwned\x07");
	tc_render_doctor_text(f, m, &fd, 1);
}

static void top_of_model(FILE *f, const void *m)
{
	struct tc_top t;

	tc_top_init(&t);
	tc_render_top(f, &t, m, 1.0, 0, 20, "00:00:00");
	tc_top_free(&t);
}

#define E2 "\xc3\xa9\xc3\xa9"
#define E12 E2 E2 E2 E2 E2 E2
#define E14 E12 E2

/* Escape sequences in a recording's header strings, program names, comm
 * and cgroup paths: every text renderer prints them harmless; JSON stays
 * valid UTF-8 (json-c escapes the C0 ones). */
static void test_hostile_strings(void **state)
{
	struct tc_model m;
	char *out;
	/* top shows the last 33 bytes: they begin inside an e-acute */
	static const char cgroup[] = "/system.slice/\x1b[2J\xc2\x9b" "31m\xff/" E14 "\x1b[H.scop";
	json_object *root, *procs;

	build(&m);
	m.attach = "tracepoint\x1b[2J";
	m.state_hook = "tp\xc2\x9b" "2J\xff";
	m.prog_stats = 1;
	m.nprogs = 1;
	strcpy(m.progs[0].name, "prog\x1b[H\xc2\x9b\xfe");
	m.progs[0].runs = 1;
	memcpy(m.procs[0].key.comm, "\x1b[2J\xc2\x9b" "31m", 9);
	memcpy(m.peers[0].key.proc.comm, "\x1b[2J\xc2\x9b" "31m", 9);
	for (size_t i = 0; i < m.nprocs; i++)
		m.procs[i].cgroup = cgroup;

	out = capture(text_of_model, &m);
	assert_non_null(strstr(out, "tracepoint?[2J (tp?2J\xef\xbf\xbd)"));
	assert_non_null(strstr(out, "prog?[H?\xef\xbf\xbd"));
	assert_terminal_safe(out);
	free(out);
	out = capture(doctor_of_model, &m);
	assert_non_null(strstr(out, "title ?[2J?31m"));
	assert_terminal_safe(out);
	free(out);
	out = capture(top_of_model, &m);
	assert_non_null(strstr(out, " ..." E12 "?[H.scop "));	/* 12 whole ones */
	assert_terminal_safe(out);
	free(out);

	out = capture(json_of_model, &m);
	{
		size_t len = strlen(out);
		char *v = malloc(3 * len + 1);

		assert_non_null(v);
		tc_utf8_sanitize(v, out, len);
		assert_string_equal(v, out);	/* valid UTF-8 */
		free(v);
	}
	root = json_tokener_parse(out);
	assert_non_null(root);
	assert_true(json_object_object_get_ex(root, "processes", &procs));
	assert_non_null(strstr(json_object_get_string(json_object_object_get(
		json_object_array_get_idx(procs, 0), "cgroup")), "\x1b[2J\xc2\x9b" "31m\xef\xbf\xbd/"));
	json_object_put(root);
	free(out);
	tc_model_free(&m);
}

static void test_names(void **state)
{
	char buf[128];
	__u8 v6[16] = { [15] = 1 };

	assert_string_equal(tc_kind_name(TC_CK_SIMULTANEOUS), "simultaneous");
	assert_string_equal(tc_kind_name(TC_CK_NONE), "open");
	assert_int_equal(tc_attach_parse("kprobe"), TC_ATTACH_KPROBE);
	assert_int_equal(tc_attach_parse("KPROBE"), -1);
	assert_string_equal(tc_endpoint_str(AF_INET6, v6, 80, buf, sizeof(buf)), "[::1]:80");
	assert_string_equal(tc_path_str(0, 0, buf, sizeof(buf)), "");
}

/* A process in a pod's container and one not: "container" in the JSON (null
 * when the path names none), top's CONTAINER, POD and QOS columns. */
static void test_container_fields(void **state)
{
	static const char *const cg[] = {
		"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod"
		"8f3e5b2a_1c4d_4e6f_9a0b_7c2d1e3f4a5b.slice/cri-containerd-"
		"4f1b2c3d4e5f60718293a4b5c6d7e8f90123456789abcdef0123456789abcdef.scope",
		"/system.slice/nginx.service",
	};
	struct tc_model m;
	json_object *root;
	char *out;

	tc_model_init(&m);
	for (int i = 0; i < 2; i++) {
		struct tc_proc_key k = { .tgid = 40 + (__u32)i, .cgroup_id = 7 + (__u64)i };
		struct tc_counts c = { 0 };

		snprintf(k.comm, sizeof(k.comm), "w%d", i);
		c.closed = c.kind[TC_CK_LOCAL_FIRST] = 3 - (__u64)i;
		assert_int_equal(tc_model_add_proc(&m, &k, &c), 0);
		m.procs[m.nprocs - 1].cgroup = cg[i];
	}
	out = capture(json_of_model, &m);
	root = json_tokener_parse(out);
	assert_non_null(root);
	assert_string_equal(json_object_get_string(get(root, "processes.0.container.id")),
			    "4f1b2c3d4e5f60718293a4b5c6d7e8f90123456789abcdef0123456789abcdef");
	assert_string_equal(json_object_get_string(get(root, "processes.0.container.runtime")),
			    "containerd");
	assert_string_equal(json_object_get_string(get(root, "processes.0.container.pod_uid")),
			    "8f3e5b2a-1c4d-4e6f-9a0b-7c2d1e3f4a5b");
	assert_string_equal(json_object_get_string(get(root, "processes.0.container.qos_class")),
			    "besteffort");
	assert_null(get(root, "processes.1.container"));
	json_object_put(root);
	free(out);
	out = capture(top_of_model, &m);
	assert_non_null(strstr(out, " CGROUP                               CONTAINER    POD      QOS       "));
	assert_non_null(strstr(out, " 4f1b2c3d4e5f 8f3e5b2a besteffort "));
	assert_non_null(strstr(out, "/system.slice/nginx.service          -            -        -          "));
	free(out);
	tc_model_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sort_and_health),
		cmocka_unit_test(test_json_contract),
		cmocka_unit_test(test_text_report),
		cmocka_unit_test(test_text_fold),
		cmocka_unit_test(test_event_json),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_hostile_strings),
		cmocka_unit_test(test_container_fields),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_nosock),
	};
	return cmocka_run_group_tests_name("render", tests, NULL, NULL);
}
