// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: a recording, as `report --from` and `doctor --from` read
 * it (tc_model_from() in cmd_report.c), then every renderer of the model.
 *
 *   tc_rec_read -> tc_rec_model -> text (-n 20 and -n 1), JSON, doctor text
 *   and JSON, Prometheus (two scrapes: the sticky series), top (two screens:
 *   the rates against the first)
 *
 * The input is written to a memfd, and the reader opens it by path
 * (/proc/self/fd/N, a regular file) as it opens a user's file. Checked,
 * whatever the bytes: nothing reads or writes out of bounds, leaks, or is
 * undefined (ASan, UBSan); a refused file gets a one-line reason; the JSON
 * renderers print one valid JSON document (UTF-8 validated); the text
 * renderers print no control characters but newline and tab (names from
 * the file must not reach a terminal as escape sequences).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "diagnose.h"
#include "recfile.h"
#include "render.h"
#include "render_prom.h"
#include "top.h"

#define MAX_FINDINGS 64

static int memfd = -1;
static char path[64];

static int setup(void)
{
	memfd = memfd_create("tcpclose-fuzz", MFD_CLOEXEC);
	if (memfd < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	return 0;
}

/* What a renderer printed: buf (NUL-terminated), len bytes. */
struct capture {
	char *buf;
	size_t len;
	FILE *f;
};

static FILE *cap_open(struct capture *c)
{
	c->buf = NULL;
	c->len = 0;
	c->f = open_memstream(&c->buf, &c->len);
	if (!c->f)
		abort();
	return c->f;
}

static void cap_close(struct capture *c)
{
	if (fclose(c->f))
		abort();
}

/* The output around byte at (its line and the ones either side), then abort. */
static void bad_output(const char *who, const char *why, const struct capture *c, size_t at)
{
	size_t from = at < 300 ? 0 : at - 300, to = c->len - at < 300 ? c->len : at + 300;

	fprintf(stderr, "fuzz_recording: %s: %s at byte %zu of %zu; output from byte %zu:\n",
		who, why, at, c->len, from);
	fwrite(c->buf + from, 1, to - from, stderr);
	fputc('\n', stderr);
	abort();
}

static void check_json(const char *who, struct capture *c)
{
	json_tokener *tok = json_tokener_new();
	json_object *o;
	size_t end;

	if (!tok)
		abort();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, c->buf, (int)c->len);
	end = json_tokener_get_parse_end(tok);
	if (!o || !json_object_is_type(o, json_type_object))
		bad_output(who, json_tokener_error_desc(json_tokener_get_error(tok)), c, end);
	while (end < c->len && (c->buf[end] == '\n' || c->buf[end] == ' '))
		end++;
	if (end != c->len)
		bad_output(who, "more than one JSON document", c, end);
	json_object_put(o);
	json_tokener_free(tok);
	free(c->buf);
}

static void check_text(const char *who, struct capture *c)
{
	for (size_t i = 0; i < c->len; i++) {
		unsigned char b = (unsigned char)c->buf[i];

		if ((b < 0x20 && b != '\n' && b != '\t') || b == 0x7f)
			bad_output(who, "a control character in the text", c, i);
	}
	free(c->buf);
}

/* Length of the well-formed UTF-8 sequence at s (RFC 3629), 0 if none. */
static size_t utf8_seq(const unsigned char *s, size_t left)
{
	size_t n;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n > left)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/*
 * Prometheus's exposition: valid UTF-8 (one bad byte fails the whole
 * scrape), no NUL, and every line a comment or a sample (a newline in a
 * label value is escaped, so none starts mid-value). Label values may hold
 * other control characters: the format allows them (render_prom.c's esc()).
 */
static void check_prom(const char *who, struct capture *c)
{
	const unsigned char *b = (const unsigned char *)c->buf;
	size_t n;

	if (c->len && b[c->len - 1] != '\n')
		bad_output(who, "no newline at the end", c, c->len - 1);
	for (size_t i = 0; i < c->len; i += n) {
		if ((i == 0 || b[i - 1] == '\n') && b[i] != '#' && b[i] != '_' && b[i] != ':' &&
		    !(b[i] >= 'a' && b[i] <= 'z') && !(b[i] >= 'A' && b[i] <= 'Z'))
			bad_output(who, "a line that is neither a comment nor a sample", c, i);
		if (!b[i])
			bad_output(who, "a NUL byte", c, i);
		if (!(n = utf8_seq(b + i, c->len - i)))
			bad_output(who, "invalid UTF-8", c, i);
	}
	free(c->buf);
}

static void render_all(struct tc_model *m)
{
	static struct tc_finding f[MAX_FINDINGS];
	struct tc_prom prom;
	struct tc_top top;
	struct capture c;
	int n;

	tc_render_text(cap_open(&c), m, 20);
	cap_close(&c);
	check_text("tc_render_text", &c);
	tc_render_text(cap_open(&c), m, 1);
	cap_close(&c);
	check_text("tc_render_text -n 1", &c);
	if (!tc_render_json(cap_open(&c), m)) {
		cap_close(&c);
		check_json("tc_render_json", &c);
	} else {
		cap_close(&c);
		free(c.buf);
	}

	n = tc_diagnose(m, f, MAX_FINDINGS);
	(void)tc_doctor_status(f, n);
	tc_render_doctor_text(cap_open(&c), m, f, n);
	cap_close(&c);
	check_text("tc_render_doctor_text", &c);
	if (!tc_render_doctor_json(cap_open(&c), m, f, n)) {
		cap_close(&c);
		check_json("tc_render_doctor_json", &c);
	} else {
		cap_close(&c);
		free(c.buf);
	}

	tc_prom_init(&prom, 3, "fuzz");
	for (int scrape = 0; scrape < 2; scrape++) {	/* the second: sticky series */
		tc_render_prom(cap_open(&c), m, &prom);
		cap_close(&c);
		check_prom("tc_render_prom", &c);
	}
	tc_prom_free(&prom);

	tc_top_init(&top);
	tc_render_top(cap_open(&c), &top, m, 1.0, TC_SORT_CLOSED, 20, "00:00:00");
	cap_close(&c);
	check_text("tc_render_top", &c);
	if (!tc_top_remember(&top, m)) {
		tc_render_top(cap_open(&c), &top, m, 0.5, TC_SORT_TW_NOW, 3, NULL);
		cap_close(&c);
		check_text("tc_render_top (rates)", &c);
	}
	tc_top_free(&top);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tc_recording r;
	struct tc_model m;
	char err[512];
	size_t done = 0;

	if (memfd < 0 && setup())
		abort();
	if (ftruncate(memfd, 0))
		abort();
	while (done < size) {
		ssize_t w = pwrite(memfd, data + done, size - done, (off_t)done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			abort();
		done += (size_t)w;
	}

	tc_model_init(&m);
	if (tc_rec_read(path, &r, err, sizeof(err))) {
		/* refused: one line naming the file, never empty */
		if (!err[0] || !memchr(err, '\0', sizeof(err)) || strchr(err, '\n'))
			abort();
		tc_model_free(&m);
		return 0;
	}
	if (!tc_rec_model(&r, &m))
		render_all(&m);
	tc_model_free(&m);
	tc_rec_free(&r);
	return 0;
}
