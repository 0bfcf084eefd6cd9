// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "args.h"

static char err[256];
static struct tc_opts o;

#define PARSE(...) ({ char *av[] = { "tcpclose", __VA_ARGS__, NULL }; \
	err[0] = 0; tc_parse_args((int)(sizeof(av) / sizeof(av[0])) - 1, av, &o, err, sizeof(err)); })

static void test_bare_is_top(void **state)
{
	char *av[] = { "tcpclose", NULL };

	assert_int_equal(tc_parse_args(1, av, &o, err, sizeof(err)), 0);
	assert_int_equal(o.cmd, TC_CMD_TOP);
	assert_true(o.interval_s == 2);
	assert_int_equal(o.sort, TC_SORT_CLOSED);
	assert_true(o.duration_s == 0);
	assert_int_equal(o.attach, TC_ATTACH_AUTO);
	assert_int_equal(o.top, 20);
}

static void test_report_options(void **state)
{
	assert_int_equal(PARSE("report", "-d", "2.5", "--json", "-p", "42", "-c", "nginx",
			       "--netns", "/var/run/netns/x", "--attach", "tracepoint",
			       "-v", "-n", "7", "--max-sockets", "2048"), 0);
	assert_int_equal(o.cmd, TC_CMD_REPORT);
	assert_true(o.duration_s == 2.5);
	assert_true(o.json);
	assert_int_equal(o.pid, 42);
	assert_string_equal(o.comm, "nginx");
	assert_string_equal(o.netns_path, "/var/run/netns/x");
	assert_int_equal(o.attach, TC_ATTACH_TRACEPOINT);
	assert_true(o.verbose);
	assert_int_equal(o.top, 7);
	assert_int_equal(o.max_sockets, 2048);
	assert_true(o.interval_s == 0);	/* only the bare command defaults -i */
}

static void test_top_export_cgroup(void **state)
{
	char addr[64];
	unsigned port;

	assert_int_equal(PARSE("top", "-s", "tw", "-i", "5"), 0);
	assert_int_equal(o.cmd, TC_CMD_TOP);
	assert_int_equal(o.sort, TC_SORT_TW_NOW);
	assert_true(o.interval_s == 5);
	assert_int_equal(PARSE("top", "--sort", "bogus"), -1);
	assert_non_null(strstr(err, "invalid sort column 'bogus'"));
	assert_int_equal(PARSE("report", "-s", "tw"), -1);
	assert_non_null(strstr(err, "--sort is for top"));

	assert_int_equal(PARSE("export", "--listen", ":9862"), 0);
	assert_int_equal(o.cmd, TC_CMD_EXPORT);
	assert_true(o.interval_s == 15);
	assert_int_equal(tc_parse_listen(o.listen, addr, sizeof(addr), &port), 0);
	assert_string_equal(addr, "127.0.0.1");	/* loopback unless asked */
	assert_int_equal(port, 9862);
	assert_int_equal(tc_parse_listen("[::1]:80", addr, sizeof(addr), &port), 0);
	assert_string_equal(addr, "::1");
	assert_int_equal(tc_parse_listen("0.0.0.0:1", addr, sizeof(addr), &port), 0);
	assert_string_equal(addr, "0.0.0.0");
	assert_int_equal(tc_parse_listen("localhost:80", NULL, 0, NULL), -1);
	assert_int_equal(tc_parse_listen("1.2.3.4:0", NULL, 0, NULL), -1);
	assert_int_equal(tc_parse_listen("1.2.3.4:65536", NULL, 0, NULL), -1);
	assert_int_equal(tc_parse_listen("1.2.3.4", NULL, 0, NULL), -1);
	assert_int_equal(PARSE("export"), -1);
	assert_non_null(strstr(err, "export needs --listen"));
	assert_int_equal(PARSE("export", "--textfile", "/tmp/x.txt"), -1);
	assert_non_null(strstr(err, "*.prom"));
	assert_int_equal(PARSE("export", "--textfile", "/tmp/x.prom", "-i", "3"), 0);
	assert_true(o.interval_s == 3);
	assert_int_equal(PARSE("report", "--listen", ":80"), -1);
	assert_non_null(strstr(err, "are for export"));

	assert_int_equal(PARSE("report", "--cgroup", "/system.slice", "--keep-caps"), 0);
	assert_string_equal(o.cgroup_path, "/system.slice");
	assert_true(o.keep_caps);
	assert_int_equal(PARSE("report", "--cgroup", ""), -1);

	assert_int_equal(PARSE("record", "-o", "/tmp/x.tcrec", "-d", "5"), 0);
	assert_int_equal(o.cmd, TC_CMD_RECORD);
	assert_string_equal(o.output, "/tmp/x.tcrec");
	assert_int_equal(PARSE("record"), -1);
	assert_non_null(strstr(err, "record needs -o FILE"));
	assert_int_equal(PARSE("report", "-o", "x"), -1);
	assert_int_equal(PARSE("doctor", "--from", "x.tcrec", "--json"), 0);
	assert_string_equal(o.from, "x.tcrec");
	assert_int_equal(PARSE("trace", "--from", "x"), -1);
	assert_non_null(strstr(err, "--from is for report and doctor"));
	assert_int_equal(PARSE("report", "--from", "x", "-c", "nginx"), -1);
	assert_non_null(strstr(err, "no filters"));
	assert_int_equal(PARSE("report", "--from", "x", "--light"), -1);
	assert_non_null(strstr(err, "--light"));
	assert_int_equal(PARSE("top", "--light"), 0);
	assert_true(o.light);
	assert_int_equal(PARSE("report"), 0);
	assert_false(o.light);
}

static void test_trace_and_help(void **state)
{
	assert_int_equal(PARSE("trace", "--json"), 0);
	assert_int_equal(o.cmd, TC_CMD_TRACE);
	assert_true(o.json);
	assert_int_equal(PARSE("--help"), 0);
	assert_int_equal(o.cmd, TC_CMD_HELP);
	assert_int_equal(PARSE("help"), 0);
	assert_int_equal(o.cmd, TC_CMD_HELP);
	assert_non_null(strstr(tc_usage(), "EXAMPLES"));
}

static void test_errors(void **state)
{
	static const struct { const char *a[4]; const char *msg; } bad[] = {
		{ { "frobnicate" }, "unknown command 'frobnicate'" },
		{ { "report", "--bogus" }, "unknown option '--bogus'" },
		{ { "report", "-x" }, "unknown option '-x'" },
		{ { "report", "-d" }, "needs a value" },
		{ { "report", "-d", "abc" }, "invalid duration 'abc'" },
		{ { "report", "-d", "-1" }, "invalid duration '-1'" },
		{ { "report", "-d", "0" }, "invalid duration '0'" },
		{ { "report", "-d", "inf" }, "invalid duration 'inf'" },
		{ { "report", "-p", "0" }, "invalid pid '0'" },
		{ { "report", "-p", "12x" }, "invalid pid '12x'" },
		{ { "report", "-p", "-5" }, "invalid pid '-5'" },
		{ { "report", "-p", "99999999999" }, "invalid pid" },
		{ { "report", "-c", "a-name-longer-than-15" }, "invalid comm" },
		{ { "report", "--attach", "uprobe" }, "invalid attach mode 'uprobe'" },
		{ { "report", "--max-sockets", "10" }, "invalid --max-sockets" },
		{ { "report", "stray" }, "unexpected argument 'stray'" },
		{ { "trace", "-i", "1" }, "--interval is for report" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *av[6] = { "tcpclose" };
		int n = 1;

		for (int k = 0; k < 4 && bad[i].a[k]; k++)
			av[n++] = (char *)bad[i].a[k];
		err[0] = 0;
		if (tc_parse_args(n, av, &o, err, sizeof(err)) != -1 || !strstr(err, bad[i].msg))
			fail_msg("case %zu: want error containing \"%s\", got \"%s\"", i,
				 bad[i].msg, err);
		assert_null(strchr(err, '\n'));	/* one line */
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bare_is_top),
		cmocka_unit_test(test_top_export_cgroup),
		cmocka_unit_test(test_report_options),
		cmocka_unit_test(test_trace_and_help),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests_name("args", tests, NULL, NULL);
}
