// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Replay (the rows as a pure function of events) and the recording format. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "recfile.h"
#include "render.h"
#include "utf8.h"
#include "replay.h"
#include "rowmath.h"

static struct tc_event client_close(__u32 pid, __u16 lport, __u8 flags)
{
	struct tc_event e = { .type = TC_EV_CLOSE };

	e.owner.tgid = pid;
	strcpy(e.owner.comm, "cli");
	e.tuple.family = AF_INET;
	inet_pton(AF_INET, "127.0.0.1", e.tuple.laddr);
	inet_pton(AF_INET, "127.0.0.2", e.tuple.raddr);
	e.tuple.lport = lport;
	e.tuple.rport = 80;
	e.netns = 7;
	e.role = TC_ROLE_CLIENT;
	e.kind = TC_CK_LOCAL_FIRST;
	e.oldstate = TC_FIN_WAIT2;
	e.flags = flags;
	e.segs_in = e.segs_out = 1;
	e.bytes_in = 10;
	e.bytes_out = 20;
	e.lifetime_ns = 3000000;
	e.retries = 5;
	return e;
}

static void test_close_adds_like_the_kernel(void **state)
{
	struct tc_replay r;
	struct tc_model m;
	struct tc_event e1 = client_close(10, 40000, TC_SF_TIMEWAIT | TC_SF_FIN_IN);
	struct tc_event e2 = client_close(10, 40001, TC_SF_TIMEWAIT);	/* orphan: FIN_WAIT2 substate */

	tc_replay_init(&r, false);
	assert_int_equal(tc_replay_close(&r, &e1), 0);
	assert_int_equal(tc_replay_close(&r, &e2), 0);
	tc_model_init(&m);
	assert_int_equal(tc_replay_model(&r, &m), 0);
	assert_int_equal(m.totals.closed, 2);
	assert_int_equal(m.totals.kind[TC_CK_LOCAL_FIRST], 2);
	assert_int_equal(m.totals.one_exchange, 2);
	assert_int_equal(m.totals.timewait, 2);
	assert_int_equal(m.totals.tw.entered, 2);
	assert_int_equal(m.totals.tw.fin_wait2, 1);
	assert_int_equal(m.totals.bytes_out, 40);
	assert_int_equal(m.totals.conn.attempts, 2);
	/* retries are only counted where the port search was hooked */
	assert_int_equal(m.totals.conn.port_retries, 0);
	/* one process, one destination: the ephemeral port folded away */
	assert_int_equal(m.nprocs, 1);
	assert_int_equal(m.npeers, 1);
	assert_int_equal(m.peers[0].key.tuple.lport, 0);
	assert_int_equal(m.peers[0].key.tuple.rport, 80);
	assert_int_equal(m.peers[0].c.closed, 2);
	tc_model_free(&m);
	tc_replay_free(&r);

	tc_replay_init(&r, true);
	assert_int_equal(tc_replay_close(&r, &e1), 0);
	tc_model_init(&m);
	assert_int_equal(tc_replay_model(&r, &m), 0);
	assert_int_equal(m.totals.conn.port_retries, 5);
	assert_int_equal(m.totals.conn.retry_hist[tc_retry_slot(5)], 1);
	tc_model_free(&m);
	tc_replay_free(&r);

	/* a timeout's idle time counts where the recorder knew HZ, and only for
	 * a connection that was up (not a SYN never answered) */
	e1.kind = TC_CK_TIMEOUT;
	e1.flags = 0;
	e1.oldstate = TC_ESTABLISHED;
	e1.cause = TC_CAUSE_KEEPALIVE;
	e1.idle_s = 350;
	e2 = e1;
	e2.oldstate = TC_SYN_SENT;
	e2.cause = TC_CAUSE_SYN;
	e2.idle_s = 0;
	for (int known = 0; known < 2; known++) {
		tc_replay_init(&r, false);
		r.idle = known;
		assert_int_equal(tc_replay_close(&r, &e1), 0);
		assert_int_equal(tc_replay_close(&r, &e1), 0);
		assert_int_equal(tc_replay_close(&r, &e2), 0);
		tc_model_init(&m);
		assert_int_equal(tc_replay_model(&r, &m), 0);
		assert_int_equal(m.totals.cause[TC_CAUSE_KEEPALIVE], 2);
		assert_int_equal(m.totals.idle_count, known ? 2 : 0);
		assert_int_equal(m.totals.idle_sum_s, known ? 700 : 0);
		assert_int_equal(m.peers[0].c.idle_max_s, known ? 350 : 0);
		tc_model_free(&m);
		tc_replay_free(&r);
	}
}

static void test_tw_events(void **state)
{
	struct tc_replay r;
	struct tc_model m;
	struct tc_tw_event end = { .type = TC_EV_TW, .ev = TC_TWV_END, .arg = TC_TWE_REUSED,
				   .dur_ms = 1500, .ev2 = TC_TWV_REUSE_HIT };
	struct tc_tw_event pre = { .type = TC_EV_TW, .ev = TC_TWV_PREEXISTING, .dur_ms = -1,
				   .ev2 = -1 };

	end.row.proc.tgid = 10;
	end.row.role = TC_ROLE_CLIENT;
	tc_replay_init(&r, false);
	assert_int_equal(tc_replay_tw(&r, &end), 0);
	assert_int_equal(tc_replay_tw(&r, &pre), 0);
	tc_model_init(&m);
	assert_int_equal(tc_replay_model(&r, &m), 0);
	assert_int_equal(m.totals.tw.ended[TC_TWE_REUSED], 1);
	assert_int_equal(m.totals.tw.reuse_hits, 1);
	assert_int_equal(m.totals.tw.dur_count, 1);
	assert_int_equal(m.totals.tw.dur_sum_ms, 1500);
	assert_int_equal(m.totals.tw.hist[tc_log2_slot(1500)], 1);
	assert_int_equal(m.totals.tw.dur_max_ms, 1500);
	assert_int_equal(m.totals.tw.preexisting, 1);
	assert_int_equal(m.npeers, 2);	/* the stay's row, the pre-existing (ownerless) one */
	assert_int_equal(m.totals.cause[TC_CAUSE_FIN_WAIT2], 0);
	tc_model_free(&m);
	tc_replay_free(&r);

	/* an expiry in the FIN_WAIT2 substate: the stay's end and its timeout */
	end.arg = TC_TWE_EXPIRED;
	end.ev2 = TC_TWV_FIN_TIMEOUT;
	tc_replay_init(&r, false);
	assert_int_equal(tc_replay_tw(&r, &end), 0);
	tc_model_init(&m);
	assert_int_equal(tc_replay_model(&r, &m), 0);
	assert_int_equal(m.totals.tw.ended[TC_TWE_EXPIRED], 1);
	assert_int_equal(m.totals.tw.reuse_hits, 0);
	assert_int_equal(m.totals.cause[TC_CAUSE_FIN_WAIT2], 1);
	assert_int_equal(m.peers[0].c.cause[TC_CAUSE_FIN_WAIT2], 1);
	tc_model_free(&m);
	tc_replay_free(&r);
}

static char path[] = "/tmp/tcpclose-unit-XXXXXX";

static void write_recording(int with_trailer)
{
	struct tc_rec_writer w;
	struct tc_model m;
	json_object *h = json_object_new_object();
	struct tc_event e = client_close(10, 40000, TC_SF_TIMEWAIT | TC_SF_FIN_IN);
	struct tc_portrec pr[3] = { 0 };
	char err[256];
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	json_object_object_add(h, "attach", json_object_new_string("tracepoint"));
	json_object_object_add(h, "state_hook", json_object_new_string("tp_btf/inet_sock_set_state"));
	json_object_object_add(h, "survey", json_object_new_boolean(1));
	assert_int_equal(tc_rec_create(&w, path, h, err, sizeof(err)), 0);
	json_object_put(h);
	assert_int_equal(tc_rec_frame(&w, TC_REC_CLOSE, &e, sizeof(e)), 0);
	e.tuple.lport = 40001;
	assert_int_equal(tc_rec_frame(&w, TC_REC_CLOSE, &e, sizeof(e)), 0);
	/* the survey: two sockets toward the destination, one in TIME_WAIT */
	for (int i = 0; i < 3; i++) {
		pr[i].tuple = e.tuple;
		pr[i].tuple.lport = (__u16)(40000 + i);
		pr[i].state = i ? TC_TIME_WAIT : TC_ESTABLISHED;
	}
	pr[2].tuple.rport = 81;		/* another destination */
	assert_int_equal(tc_rec_ports(&w, 7, pr, 3), 0);
	if (!with_trailer) {
		fclose(w.f);
		return;
	}
	tc_model_init(&m);
	m.duration_s = 2.0;
	m.health.missed_runs = 3;
	m.netns = calloc(1, sizeof(*m.netns));
	m.nnetns = 1;
	m.netns[0] = (struct tc_netns_info){ .ino = 7, .found = 1, .port_lo = 40000,
					     .port_hi = 40003, .usable = 4, .tw_reuse = 2 };
	assert_int_equal(tc_rec_finish(&w, &m), 0);
	tc_model_free(&m);
}

static void test_round_trip(void **state)
{
	struct tc_recording r;
	struct tc_model m;
	char err[256];

	write_recording(1);
	assert_int_equal(tc_rec_read(path, &r, err, sizeof(err)), 0);
	assert_non_null(r.trailer);
	tc_model_init(&m);
	assert_int_equal(tc_rec_model(&r, &m), 0);
	assert_string_equal(m.attach, "tracepoint");
	assert_true(m.duration_s == 2.0);
	assert_int_equal(m.health.missed_runs, 3);
	assert_int_equal(m.totals.closed, 2);
	assert_int_equal(m.npeers, 1);
	/* the port budget from the recorded survey, as live */
	assert_true(m.peers[0].ports.known);
	assert_int_equal(m.peers[0].ports.range, 4);
	assert_int_equal(m.peers[0].ports.in_use, 2);
	assert_int_equal(m.peers[0].ports.time_wait, 1);
	assert_true(m.peers[0].ports.rate == 1.0);	/* 2 connects in 2 s */
	tc_model_free(&m);
	tc_rec_free(&r);
	unlink(path);
	strcpy(path + strlen(path) - 6, "XXXXXX");
}

static void test_killed_recorder_and_bad_files(void **state)
{
	struct tc_recording r;
	struct tc_model m;
	char err[256];
	FILE *f;

	write_recording(0);	/* no trailer: the recorder was killed */
	assert_int_equal(tc_rec_read(path, &r, err, sizeof(err)), 0);
	assert_null(r.trailer);
	tc_model_init(&m);
	assert_int_equal(tc_rec_model(&r, &m), 0);
	assert_int_equal(m.totals.closed, 2);	/* the rows of its events */
	tc_model_free(&m);
	tc_rec_free(&r);

	f = fopen(path, "r+");
	fwrite("NOTAREC!", 1, 8, f);
	fclose(f);
	assert_int_equal(tc_rec_read(path, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a tcpclose recording"));

	f = fopen(path, "w");
	fwrite(TC_REC_MAGIC, 1, 8, f);
	fwrite((__u32[]){ 99, 2 }, 8, 1, f);
	fwrite("{}", 1, 2, f);
	fclose(f);
	assert_int_equal(tc_rec_read(path, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "recording format 99"));

	f = fopen(path, "w");
	fwrite(TC_REC_MAGIC, 1, 8, f);
	fwrite((__u32[]){ TC_REC_VERSION, 44 }, 8, 1, f);
	fwrite("{\"sizes\":{\"event\":1},\"byte_order\":\"little\"}", 1, 44, f);
	fclose(f);
	assert_int_equal(tc_rec_read(path, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "incompatible"));
	unlink(path);
}

/* ---- crafted files: the reader refuses what is not of the format, in one
 * line, and never crashes (issue 16) ---- */

static void tmp_path(char *p, size_t len)
{
	int fd;

	snprintf(p, len, "/tmp/tcpclose-unit-XXXXXX");
	fd = mkstemp(p);
	assert_true(fd >= 0);
	close(fd);
}

static const char *host_order(void)
{
	const __u16 one = 1;

	return *(const __u8 *)&one ? "little" : "big";
}

/* A header of this build's sizes and byte order, with extra JSON members. */
static void good_header(char *buf, size_t len, const char *extra)
{
	snprintf(buf, len, "{\"sizes\":{\"event\":%zu,\"tw_event\":%zu,\"portrec\":%zu},"
		 "\"byte_order\":\"%s\",\"attach\":\"tracepoint\"%s%s}", sizeof(struct tc_event),
		 sizeof(struct tc_tw_event), sizeof(struct tc_portrec), host_order(),
		 extra[0] ? "," : "", extra);
}

/* magic, version, the header as given, then raw bytes (frames). */
static void write_raw(const char *p, const char *header, const void *frames, size_t flen)
{
	FILE *f = fopen(p, "w");
	__u32 v[2] = { TC_REC_VERSION, (__u32)strlen(header) };

	assert_non_null(f);
	fwrite(TC_REC_MAGIC, 1, 8, f);
	fwrite(v, sizeof(v), 1, f);
	fwrite(header, 1, v[1], f);
	if (flen)
		fwrite(frames, 1, flen, f);
	fclose(f);
}

/* A good header, one close, an empty port survey of its netns (7), the
 * trailer given. */
static void write_with_trailer(const char *p, const char *trailer)
{
	struct tc_event e = client_close(10, 40000, TC_SF_TIMEWAIT | TC_SF_FIN_IN);
	size_t tl = strlen(trailer), n = 0;
	char hdr[512], *frames = malloc(32 + sizeof(e) + tl);
	__u32 fh[2] = { TC_REC_CLOSE, sizeof(e) };

	assert_non_null(frames);
	good_header(hdr, sizeof(hdr), "\"survey\":true");
	memcpy(frames + n, fh, 8);
	memcpy(frames + n + 8, &e, sizeof(e));
	n += 8 + sizeof(e);
	memcpy(frames + n, (__u32[]){ TC_REC_PORTS, 8, 7, 0 }, 16);
	n += 16;
	fh[0] = TC_REC_END;
	fh[1] = (__u32)tl;
	memcpy(frames + n, fh, 8);
	memcpy(frames + n + 8, trailer, tl);
	write_raw(p, hdr, frames, n + 8 + tl);
	free(frames);
}

static void expect_refused(const char *p, const char *why)
{
	struct tc_recording r;
	char err[256] = "";

	if (tc_rec_read(p, &r, err, sizeof(err)) != -1)
		fail_msg("%s: read, expected refused (%s)", p, why);
	if (!strstr(err, why))
		fail_msg("expected \"%s\" in \"%s\"", why, err);
	assert_null(strchr(err, '\n'));
}

static void test_crafted_headers(void **state)
{
	static const struct { const char *extra, *why; } bad[] = {
		{ "\"byte_order\":null", "header is damaged (byte_order)" },
		{ "\"byte_order\":5", "header is damaged (byte_order)" },
		{ "\"sizes\":[1,2,3]", "header is damaged (sizes)" },
		{ "\"sizes\":null", "header is damaged (sizes)" },
		{ "\"port_hooks\":\"yes\"", "header is damaged (port_hooks" },
		{ "\"survey\":{}", "header is damaged (port_hooks" },
		{ "\"tw_hook\":7", "header is damaged (hook names)" },
		{ "\"state_hook\":\"a\\u001b]0;owned\\u0007\"", "header is damaged (hook names)" },
		{ "\"attach\":\"\\u00ff\\u0000x\"", "header is damaged (hook names)" },
		/* C1: U+009B is CSI to many terminals, raw or escaped */
		{ "\"state_hook\":\"a\\u009b2Jb\"", "header is damaged (hook names)" },
		{ "\"owner_hook\":\"a\xc2\x9b" "2Jb\"", "header is damaged (hook names)" },
	};
	char p[64], hdr[512];

	tmp_path(p, sizeof(p));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* json-c keeps the last of two members of one name */
		good_header(hdr, sizeof(hdr), bad[i].extra);
		write_raw(p, hdr, NULL, 0);
		expect_refused(p, bad[i].why);
	}
	write_raw(p, "[1,2]", NULL, 0);
	expect_refused(p, "header is damaged (not a JSON object)");
	write_raw(p, "\"byte_order\"", NULL, 0);
	expect_refused(p, "header is damaged");
	unlink(p);
}

static void test_crafted_trailers(void **state)
{
	static const struct { const char *trailer, *why; } bad[] = {
		{ "{\"health\":{\"stat\":{\"a\":1}}}", "trailer is damaged (health.stat)" },
		{ "{\"health\":{\"stat\":[1,\"2\"]}}", "trailer is damaged (health.stat)" },
		{ "{\"health\":{\"stat\":[1,-2]}}", "trailer is damaged (health.stat)" },
		{ "{\"health\":[1]}", "trailer is damaged (health)" },
		{ "{\"health\":{\"events_lost\":null}}", "trailer is damaged (health)" },
		{ "{\"programs\":\"x\"}", "trailer is damaged (programs)" },
		{ "{\"programs\":[5]}", "trailer is damaged (programs)" },
		{ "{\"programs\":[{\"name\":7}]}", "trailer is damaged (programs)" },
		{ "{\"programs\":[{\"name\":\"p\",\"runs\":1.5}]}", "trailer is damaged (programs)" },
		{ "{\"netns\":5}", "trailer is damaged (netns)" },
		{ "{\"netns\":[null]}", "trailer is damaged (netns)" },
		{ "{\"netns\":[{\"ino\":\"7\"}]}", "trailer is damaged (netns)" },
		{ "{\"netns\":[{\"ino\":7,\"port_lo\":4294967296}]}", "trailer is damaged (netns)" },
		{ "{\"netns\":[{\"ino\":7,\"found\":9999999999}]}", "trailer is damaged (netns)" },
		/* one entry per netns: a trailer declares no more than that */
		{ "{\"netns\":[{\"ino\":7},{\"ino\":8},{\"ino\":7}]}", "trailer is damaged (netns)" },
		{ "{\"cgroups\":[1]}", "trailer is damaged (cgroups)" },
		{ "{\"cgroups\":{\"1\":5}}", "trailer is damaged (cgroups)" },
		{ "{\"duration_s\":NaN}", "trailer is damaged (duration_s)" },
		{ "{\"duration_s\":-Infinity}", "trailer is damaged (duration_s)" },
		{ "{\"duration_s\":-1}", "trailer is damaged (duration_s)" },
		{ "{\"duration_s\":\"2\"}", "trailer is damaged (duration_s)" },
		{ "{\"prog_stats\":1}", "trailer is damaged (prog_stats)" },
		{ "[]", "trailer is damaged (not a JSON object)" },
	};
	char p[64];

	tmp_path(p, sizeof(p));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_with_trailer(p, bad[i].trailer);
		expect_refused(p, bad[i].why);
	}
	unlink(p);
}

/* What is of the format but odd: read, and what reaches the output is sane. */
static void test_untrusted_strings_and_numbers(void **state)
{
	struct tc_recording r;
	struct tc_model m;
	char p[64], err[256], *out = NULL, trailer[512];
	size_t outlen = 0;
	FILE *f;

	tmp_path(p, sizeof(p));
	/* a program name of 40 two-byte characters, one of control bytes */
	strcpy(trailer, "{\"duration_s\":1e-320,\"health\":{},\"prog_stats\":true,\"programs\":[{\"name\":\"");
	for (int i = 0; i < 40; i++)
		strcat(trailer, "\xc3\xa9");
	strcat(trailer, "\",\"runs\":1},{\"name\":\"a\\u001bb\\u0000c\"}],"
			"\"netns\":[{\"ino\":7,\"found\":1,\"port_lo\":40000,\"port_hi\":40003,"
			"\"usable\":4}]}");
	write_with_trailer(p, trailer);
	assert_int_equal(tc_rec_read(p, &r, err, sizeof(err)), 0);
	tc_model_init(&m);
	assert_int_equal(tc_rec_model(&r, &m), 0);
	assert_int_equal(m.nprogs, 2);
	/* cut to the buffer at a character's end: 15 whole characters */
	assert_int_equal(strlen(m.progs[0].name), 30);
	assert_true(tc_utf8_printable(m.progs[0].name, strlen(m.progs[0].name)));
	assert_string_equal(m.progs[1].name, "a?b");
	/* 1 connect in 1e-320 s: a rate that is not finite is null, never inf */
	f = open_memstream(&out, &outlen);
	assert_int_equal(tc_render_json(f, &m), 0);
	fclose(f);
	assert_null(strstr(out, "inf"));
	assert_null(strstr(out, "nan"));
	assert_non_null(strstr(out, "\"rate_per_s\":null"));
	free(out);
	tc_model_free(&m);
	tc_rec_free(&r);
	unlink(p);
}

/* A frame longer than the rest of the file is not allocated: 1 GiB claimed
 * in a file of 100 bytes, under an address-space limit that 1 GiB exceeds. */
static void test_frame_larger_than_the_file(void **state)
{
	struct tc_recording r;
	struct rlimit old, lim;
	char p[64], hdr[512], frames[108] = { 0 };
	char err[256];
	long pages = 0;
	FILE *statm = fopen("/proc/self/statm", "r");
	int ret;

	assert_non_null(statm);
	assert_int_equal(fscanf(statm, "%ld", &pages), 1);
	fclose(statm);
	tmp_path(p, sizeof(p));
	good_header(hdr, sizeof(hdr), "");

	/* a close frame has one size: anything else is damage */
	memcpy(frames, (__u32[]){ TC_REC_CLOSE, 1u << 30 }, 8);
	write_raw(p, hdr, frames, sizeof(frames));
	expect_refused(p, "a frame of the wrong size");

	/* a trailer cut short (the recorder killed while writing it) */
	memcpy(frames, (__u32[]){ TC_REC_END, 1u << 30 }, 8);
	write_raw(p, hdr, frames, sizeof(frames));
	assert_int_equal(getrlimit(RLIMIT_AS, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + (512u << 20);
	assert_int_equal(setrlimit(RLIMIT_AS, &lim), 0);
	ret = tc_rec_read(p, &r, err, sizeof(err));
	assert_int_equal(setrlimit(RLIMIT_AS, &old), 0);
	if (ret)
		fail_msg("%s", err);
	assert_true(r.truncated);
	assert_null(r.trailer);
	tc_rec_free(&r);

	/* a header longer than the file */
	memcpy(frames, TC_REC_MAGIC, 8);
	memcpy(frames + 8, (__u32[]){ TC_REC_VERSION, 1000 }, 8);
	{
		FILE *f = fopen(p, "w");

		fwrite(frames, 1, 100, f);
		fclose(f);
	}
	expect_refused(p, "header is damaged");
	unlink(p);
}

/* --from on a FIFO (or anything but a regular file) must not wait for a
 * writer: refused at once. */
static void test_not_a_regular_file(void **state)
{
	char p[64];

	tmp_path(p, sizeof(p));
	unlink(p);
	assert_int_equal(mkfifo(p, 0600), 0);
	alarm(5);	/* a hang ends the test */
	expect_refused(p, "not a regular file");
	alarm(0);
	unlink(p);
	expect_refused("/tmp", "a directory");
	expect_refused("/dev/null", "not a regular file");
}

/* record -o: a symlink planted at the path is replaced, not followed; a file
 * there of another mode ends 0600 like a new one. */
static void test_create_replaces_not_follows(void **state)
{
	struct tc_rec_writer w;
	struct tc_model m;
	struct stat st;
	char dir[] = "/tmp/tcpclose-unit-dir-XXXXXX", victim[96], target[96], buf[32] = "";
	char err[256];
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	snprintf(target, sizeof(target), "%s/rec", dir);
	f = fopen(victim, "w");
	fputs("precious\n", f);
	fclose(f);
	chmod(victim, 0644);
	assert_int_equal(symlink(victim, target), 0);
	for (int round = 0; round < 2; round++) {	/* a symlink, then a 0644 file */
		json_object *h = json_object_new_object();

		if (round) {
			unlink(target);
			f = fopen(target, "w");
			fputs("old\n", f);
			fclose(f);
			chmod(target, 0644);
		}
		assert_int_equal(tc_rec_create(&w, target, h, err, sizeof(err)), 0);
		json_object_put(h);
		tc_model_init(&m);
		assert_int_equal(tc_rec_finish(&w, &m), 0);
		tc_model_free(&m);
		assert_int_equal(lstat(target, &st), 0);
		assert_true(S_ISREG(st.st_mode));
		assert_int_equal(st.st_mode & 07777, 0600);
	}
	f = fopen(victim, "r");
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "precious\n");
	assert_int_equal(stat(victim, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	unlink(target);
	unlink(victim);
	assert_int_equal(rmdir(dir), 0);	/* and no temporary file left */
}

/*
 * 60000 netns, each with a client row, a trailer entry and a port survey:
 * every row gets its own netns's budget. Looking each netns up by a scan
 * of every entry, survey and row (as tc_rec_model did) took minutes here;
 * now it is n log n. A second survey of one netns is refused.
 */
static void test_many_netns(void **state)
{
	enum { N = 60000 };
	struct tc_rec_writer w;
	struct tc_recording r;
	struct tc_model m;
	json_object *h = json_object_new_object();
	char p[64], err[256];

	tmp_path(p, sizeof(p));
	json_object_object_add(h, "attach", json_object_new_string("tracepoint"));
	json_object_object_add(h, "survey", json_object_new_boolean(1));
	assert_int_equal(tc_rec_create(&w, p, h, err, sizeof(err)), 0);
	json_object_put(h);
	tc_model_init(&m);
	m.duration_s = 1.0;
	m.netns = calloc(N, sizeof(*m.netns));
	assert_non_null(m.netns);
	m.nnetns = N;
	for (__u32 i = 0; i < N; i++) {
		struct tc_event e = client_close(10, 40000, 0);
		struct tc_portrec pr[2] = { 0 };

		e.netns = 100000 + i;
		assert_int_equal(tc_rec_frame(&w, TC_REC_CLOSE, &e, sizeof(e)), 0);
		/* i + 1 ports usable; one in use toward the row's destination,
		 * and one only in the even netns */
		for (int k = 0; k < 2; k++) {
			pr[k].tuple = e.tuple;
			pr[k].tuple.lport = (__u16)(40000 + k);
			pr[k].state = TC_ESTABLISHED;
		}
		assert_int_equal(tc_rec_ports(&w, e.netns, pr, i % 2 ? 1 : 2), 0);
		/* the trailer in the other order than the rows and surveys */
		m.netns[N - 1 - i] = (struct tc_netns_info){ .ino = e.netns, .found = 1,
			.port_lo = 40000, .port_hi = 40000 + i, .usable = i + 1 };
	}
	assert_int_equal(tc_rec_finish(&w, &m), 0);
	tc_model_free(&m);

	assert_int_equal(tc_rec_read(p, &r, err, sizeof(err)), 0);
	tc_model_init(&m);
	assert_int_equal(tc_rec_model(&r, &m), 0);
	assert_int_equal(m.npeers, N);
	assert_int_equal(m.nnetns, N);
	for (size_t k = 0; k < m.npeers; k++) {
		const struct tc_peer_row *row = &m.peers[k];
		__u32 i = row->key.netns - 100000;

		assert_true(row->ports.known);
		assert_int_equal(row->ports.range, i + 1);
		/* the ports in [40000, 40000 + i]: the second only from i = 1 */
		assert_int_equal(row->ports.in_use, i % 2 || !i ? 1 : 2);
	}
	tc_model_free(&m);
	tc_rec_free(&r);

	/* the recorder writes one survey per netns: two is damage */
	{
		__u32 two[8] = { TC_REC_PORTS, 8, 7, 0, TC_REC_PORTS, 8, 7, 0 };
		char hdr[512];

		good_header(hdr, sizeof(hdr), "\"survey\":true");
		write_raw(p, hdr, two, sizeof(two));
		expect_refused(p, "two port surveys of one netns");
	}
	unlink(p);
}

/* Resets for no socket replay to the kernel's totals and rows (reset.bpf.c):
 * one row per port, sender and reason; what no recorder with the hook wrote
 * (a reason or family unknown, padding, no hook in the header) is refused,
 * by replay and by the reader, in one line. */
static void test_nosock_events(void **state)
{
	struct tc_nosock_event e = { .type = TC_EV_NOSOCK };
	struct tc_replay r;
	struct tc_model m;
	char p[64], hdr[512], frames[8 + sizeof(e)];
	__u32 fh[2] = { TC_REC_NOSOCK, sizeof(e) };

	tc_replay_init(&r, false);
	e.key.family = AF_INET;
	e.key.raddr[0] = 10, e.key.raddr[3] = 7;
	e.key.lport = 8080;
	e.key.netns = 42;
	assert_int_equal(tc_replay_nosock(&r, &e), -EPROTO);	/* the header had no hook */
	r.nosock_ok = true;
	e.key.family = 1;
	assert_int_equal(tc_replay_nosock(&r, &e), -EPROTO);
	e.key.family = AF_INET;
	e.key.pad[6] = 1;
	assert_int_equal(tc_replay_nosock(&r, &e), -EPROTO);
	e.key.pad[6] = 0;
	for (int i = 0; i < 3; i++)
		assert_int_equal(tc_replay_nosock(&r, &e), 0);
	e.key.lport = 9090;
	assert_int_equal(tc_replay_nosock(&r, &e), 0);
	e.key.reason = TC_NR_TIME_WAIT;
	assert_int_equal(tc_replay_nosock(&r, &e), 0);
	e.key.reason = TC_NR_MAX;
	assert_int_equal(tc_replay_nosock(&r, &e), -EPROTO);
	tc_model_init(&m);
	assert_int_equal(tc_replay_model(&r, &m), 0);
	assert_int_equal(m.nosock_total[TC_NR_NO_SOCKET], 4);
	assert_int_equal(m.nosock_total[TC_NR_TIME_WAIT], 1);
	assert_int_equal(m.nnosocks, 3);
	assert_int_equal(m.nosocks[0].key.lport, 8080);	/* busiest first */
	assert_int_equal(m.nosocks[0].resets, 3);
	tc_model_free(&m);
	tc_replay_free(&r);

	tmp_path(p, sizeof(p));
	good_header(hdr, sizeof(hdr), "\"survey\":true,\"reset_hook\":\"tp_btf/tcp_send_reset\"");
	memcpy(frames, fh, 8);
	memcpy(frames + 8, &e, sizeof(e));
	write_raw(p, hdr, frames, sizeof(frames));
	expect_refused(p, "a reset for no socket it cannot hold");
	e.key.reason = TC_NR_NO_SOCKET;	/* good, but a header without the hook */
	good_header(hdr, sizeof(hdr), "\"survey\":true");
	memcpy(frames + 8, &e, sizeof(e));
	write_raw(p, hdr, frames, sizeof(frames));
	expect_refused(p, "a reset for no socket it cannot hold");
	unlink(p);
}

/* A TIME_WAIT length no kernel measured: refused, by replay and by the
 * reader, in one line; -1 (unknown) and real lengths replay. */
static void test_tw_length_out_of_range(void **state)
{
	struct tc_replay r;
	struct tc_tw_event e = { .type = TC_EV_TW, .ev = TC_TWV_END, .arg = TC_TWE_EXPIRED,
				 .ev2 = -1 };
	char p[64], hdr[512], frames[8 + sizeof(e)];
	__u32 fh[2] = { TC_REC_TW, sizeof(e) };
	static const __s64 bad[] = { INT64_MAX, TC_REPLAY_TW_MAX_MS + 1, -2, INT64_MIN };

	tc_replay_init(&r, false);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		e.dur_ms = bad[i];
		assert_int_equal(tc_replay_tw(&r, &e), -EINVAL);
	}
	e.dur_ms = -1;
	assert_int_equal(tc_replay_tw(&r, &e), 0);
	e.dur_ms = TC_REPLAY_TW_MAX_MS;
	assert_int_equal(tc_replay_tw(&r, &e), 0);
	assert_true(r.totals.tw.dur_max_ms == TC_REPLAY_TW_MAX_MS);
	assert_int_equal(r.totals.tw.dur_count, 1);
	tc_replay_free(&r);

	tmp_path(p, sizeof(p));
	good_header(hdr, sizeof(hdr), "\"survey\":true");
	e.dur_ms = INT64_MAX;
	memcpy(frames, fh, 8);
	memcpy(frames + 8, &e, sizeof(e));
	write_raw(p, hdr, frames, sizeof(frames));
	expect_refused(p, "a TIME_WAIT length out of range");
	unlink(p);
}

/*
 * The causes a reset after the close tells came in between the reset causes
 * and the timeouts: a recording made before them numbers every later cause
 * TC_CAUSE_N_AFTER lower, and has no pend_hook in its header. Its causes
 * read as they were; those three are null there (not told), as live where
 * our sockets' resets cannot be hooked; told, numbers.
 */
static void test_causes_numbered_before(void **state)
{
	static const struct { const char *extra; int recorded, counted, told; } cases[] = {
		{ "\"causes\":true", 5, TC_CAUSE_SYN, 0 },	/* old: 5 was syn */
		{ "\"causes\":true", 11, TC_CAUSE_TIMEOUT_OTHER, 0 },
		{ "\"causes\":true", 12, TC_CAUSE_RX_ESTABLISHED, 0 },	/* FIN_WAIT2 came before */
		{ "\"causes\":true", 15, TC_CAUSE_RX_HANDSHAKE, 0 },
		{ "\"causes\":true", 1, TC_CAUSE_UNREAD_DATA, 0 },
		{ "\"causes\":true,\"pend_hook\":null", TC_CAUSE_SYN, TC_CAUSE_SYN, 0 },
		{ "\"causes\":true,\"pend_hook\":\"tp_btf/tcp_send_reset\"", TC_CAUSE_LINGER2,
		  TC_CAUSE_LINGER2, 1 },
	};
	char p[64], hdr[512], frames[8 + sizeof(struct tc_event)];
	__u32 fh[2] = { TC_REC_CLOSE, sizeof(struct tc_event) };

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tc_event e = client_close(10, 40000, 0);
		struct tc_recording r;
		struct tc_model m;
		char err[256];

		e.cause = (__u8)cases[i].recorded;
		tmp_path(p, sizeof(p));
		good_header(hdr, sizeof(hdr), cases[i].extra);
		memcpy(frames, fh, 8);
		memcpy(frames + 8, &e, sizeof(e));
		write_raw(p, hdr, frames, sizeof(frames));
		assert_int_equal(tc_rec_read(p, &r, err, sizeof(err)), 0);
		tc_model_init(&m);
		assert_int_equal(tc_rec_model(&r, &m), 0);
		if (m.totals.cause[cases[i].counted] != 1)
			fail_msg("case %zu: cause %d not counted as %d", i, cases[i].recorded,
				 cases[i].counted);
		assert_int_equal(m.pend_hook != NULL, cases[i].told);
		tc_model_free(&m);
		tc_rec_free(&r);
		unlink(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_close_adds_like_the_kernel),
		cmocka_unit_test(test_tw_events),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_killed_recorder_and_bad_files),
		cmocka_unit_test(test_crafted_headers),
		cmocka_unit_test(test_crafted_trailers),
		cmocka_unit_test(test_untrusted_strings_and_numbers),
		cmocka_unit_test(test_frame_larger_than_the_file),
		cmocka_unit_test(test_not_a_regular_file),
		cmocka_unit_test(test_create_replaces_not_follows),
		cmocka_unit_test(test_many_netns),
		cmocka_unit_test(test_tw_length_out_of_range),
		cmocka_unit_test(test_nosock_events),
		cmocka_unit_test(test_causes_numbered_before),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
