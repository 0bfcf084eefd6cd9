// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tcpclose: who closed TCP connections first, per process and per peer. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "args.h"
#include "cmds.h"

volatile sig_atomic_t tc_stop;

static void on_signal(int sig)
{
	tc_stop = 1;
}

void tc_err(const char *fmt, ...)
{
	va_list ap;

	fputs("tcpclose: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

__u64 tc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

double tc_now_s(void)
{
	return (double)tc_now_ns() / 1e9;
}

void tc_nap(double max_s)
{
	struct timespec ts = { .tv_sec = (time_t)max_s,
			       .tv_nsec = (long)((max_s - (double)(time_t)max_s) * 1e9) };

	nanosleep(&ts, NULL);	/* EINTR on a signal: that is the point */
}

/* What runs each command. Their names are args.c's table: the parser is
 * pure code the unit tests link without the commands behind it. */
static const struct {
	enum tc_cmd cmd;
	int (*run)(const struct tc_opts *o);
} commands[] = {
	{ TC_CMD_REPORT, tc_cmd_report },
	{ TC_CMD_TRACE, tc_cmd_trace },
	{ TC_CMD_DOCTOR, tc_cmd_doctor },
	{ TC_CMD_TOP, tc_cmd_top },
	{ TC_CMD_EXPORT, tc_cmd_export },
	{ TC_CMD_RECORD, tc_cmd_record },
};

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct tc_opts o;
	char err[256];

	if (tc_parse_args(argc, argv, &o, err, sizeof(err))) {
		tc_err("%s", err);
		return 2;
	}
	if (o.cmd == TC_CMD_HELP) {
		fputs(tc_usage(), stdout);
		return 0;
	}
	if (o.cmd == TC_CMD_VERSION) {
		printf("tcpclose %s\n", TCPCLOSE_VERSION);
		return 0;
	}
	/* No SA_RESTART: a signal must cut the sleep or poll short. A hangup
	 * (the terminal or ssh session gone) ends like Ctrl-C: top's terminal
	 * restored, a recording finished, the final report. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (commands[i].cmd == o.cmd)
			return commands[i].run(&o);
	tc_err("command not implemented");
	return 2;
}
