// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * top: the tables as rates, redrawn in place on a terminal (keys: s/S sort
 * column, q quit), plain periodic blocks when piped. On exit the report of
 * everything gathered is printed, as with report.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include "cmds.h"
#include "collect.h"
#include "start.h"
#include "render.h"
#include "top.h"
#include "sample.h"
#include "tracer.h"

static struct termios saved_tio;
static int tio_saved;

static void restore_tty(void)
{
	if (tio_saved)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
	tio_saved = 0;
}

/* Keys without Enter and without echo, for as long as we run. */
static void raw_keys(void)
{
	struct termios t;

	if (tcgetattr(STDIN_FILENO, &saved_tio))
		return;
	t = saved_tio;
	t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	t.c_cc[VMIN] = 0;
	t.c_cc[VTIME] = 0;
	if (!tcsetattr(STDIN_FILENO, TCSANOW, &t)) {
		tio_saved = 1;
		atexit(restore_tty);
	}
}

/* Wait up to s seconds for a key; 0 when none (or a signal). */
static int wait_key(double s, int keys)
{
	struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
	char c;

	if (!keys) {
		tc_nap(s);
		return 0;
	}
	if (poll(&p, 1, (int)(s * 1000)) == 1 && read(STDIN_FILENO, &c, 1) == 1)
		return (unsigned char)c;
	return 0;
}

static void clock_str(char *buf, size_t len)
{
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(buf, len, "%H:%M:%S", &tm);
}

static int draw(const struct tc_opts *o, const struct tc_top *top, const struct tc_model *m,
		double dt, int sort, int tty)
{
	char clk[16];

	clock_str(clk, sizeof(clk));
	if (tty)
		fputs("\033[H\033[2J", stdout);	/* home, clear: redraw in place */
	tc_render_top(stdout, top, m, dt, sort, o->top, clk);
	if (!tty)
		fputc('\n', stdout);
	fflush(stdout);
	return ferror(stdout) ? -1 : 0;
}


int tc_cmd_top(const struct tc_opts *o)
{
	int tty = isatty(STDOUT_FILENO), keys = tty && isatty(STDIN_FILENO);
	struct tc_top top;
	struct tc_tracer t;
	struct tc_model m;
	double start, last, next;
	int sort = o->sort, ret = 0, drawn = 0;

	if (tc_start_attached(&t, o, TC_NEED_SURVEY))
		return 1;
	tc_model_init(&m);
	tc_top_init(&top);
	if (keys)
		raw_keys();
	if (!tty)
		fprintf(stderr, "tcpclose: tracing TCP closes with %s; Ctrl-C to stop\n",
			t.state_hook);
	start = last = tc_now_s();
	next = start + o->interval_s;

	while (!tc_stop) {
		double now = tc_now_s();
		int k;

		if (o->duration_s > 0 && now - start >= o->duration_s)
			break;
		if (now >= next) {
			if (tc_sample(&t, o->netns_path, now - start, &m)) {
				ret = 1;
				break;
			}
			if (draw(o, &top, &m, now - last, sort, tty))
				break;	/* stdout gone */
			drawn = 1;
			if (tc_top_remember(&top, &m)) {
				tc_err("out of memory");
				ret = 1;
				break;
			}
			last = now;
			next += o->interval_s;
			if (next < now)
				next = now + o->interval_s;	/* suspended: do not catch up */
			continue;
		}
		k = wait_key(next - now < 0.2 ? next - now : 0.2, keys);
		if (k == 'q' || k == 'Q')
			break;
		if (k == 's' || k == 'S' || k == '<' || k == '>') {
			sort = (sort + (k == 's' || k == '>' ? 1 : TC_SORT_MAX - 1)) % TC_SORT_MAX;
			if (!drawn)
				continue;	/* the first screen will have it */
			/* at once, in the new order: the rates since the last tick */
			if (!tc_sample(&t, o->netns_path, tc_now_s() - start, &m))
				draw(o, &top, &m, tc_now_s() - last, sort, tty);
		}
	}
	restore_tty();

	/* What was gathered, as report prints it. */
	if (!ret && !tc_sample(&t, o->netns_path, tc_now_s() - start, &m)) {
		if (tty)
			fputc('\n', stdout);
		tc_render_text(stdout, &m, o->top);
	}
	tc_top_free(&top);
	tc_model_free(&m);
	tc_tracer_stop(&t);
	return ret;
}
