// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "budget.h"
#include "outfile.h"
#include "recfile.h"
#include "utf8.h"

#define ADD(o, k, v) json_object_object_add((o), (k), (v))
#define U64(v) json_object_new_uint64(v)

static json_object *sizes_obj(void)
{
	json_object *o = json_object_new_object();

	ADD(o, "event", U64(sizeof(struct tc_event)));
	ADD(o, "tw_event", U64(sizeof(struct tc_tw_event)));
	ADD(o, "portrec", U64(sizeof(struct tc_portrec)));
	ADD(o, "nosock_event", U64(sizeof(struct tc_nosock_event)));
	return o;
}

static const char *byte_order(void)
{
	const __u16 one = 1;

	return *(const __u8 *)&one ? "little" : "big";
}

/*
 * The file is made under a temporary name next to path (0600, O_EXCL) and,
 * once the header is in, renamed over path: a symlink planted there is
 * replaced, never followed, and an older file's mode does not survive. The
 * rename happens now, while the recorder still holds its capabilities (it
 * drops them before tracing: a directory writable only with them would
 * refuse a rename at the end), and the recording then grows in place, as a
 * killed recorder's file must stay readable (its rows, without the trailer).
 */
int tc_rec_create(struct tc_rec_writer *w, const char *path, json_object *header,
		  char *err, size_t errlen)
{
	char tmp[4096];
	const char *txt;
	__u32 v[2];
	int e;

	memset(w, 0, sizeof(*w));
	w->f = tc_outfile_open(path, tmp, sizeof(tmp));
	if (!w->f) {
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	ADD(header, "sizes", sizes_obj());
	ADD(header, "byte_order", json_object_new_string(byte_order()));
	txt = json_object_to_json_string_ext(header, JSON_C_TO_STRING_PLAIN);
	v[0] = TC_REC_VERSION;
	v[1] = (__u32)strlen(txt);
	if (fwrite(TC_REC_MAGIC, 1, 8, w->f) != 8 || fwrite(v, sizeof(v), 1, w->f) != 1 ||
	    fwrite(txt, 1, v[1], w->f) != v[1]) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		tc_outfile_abort(w->f, tmp);
		w->f = NULL;
		return -1;
	}
	e = tc_outfile_commit(w->f, tmp, path, 0600);
	if (e) {
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(-e));
		fclose(w->f);
		w->f = NULL;
		return -1;
	}
	return 0;
}

int tc_rec_frame(struct tc_rec_writer *w, __u32 type, const void *payload, __u32 len)
{
	__u32 h[2] = { type, len };

	if (fwrite(h, sizeof(h), 1, w->f) != 1 || (len && fwrite(payload, len, 1, w->f) != 1))
		return -1;
	w->frames++;
	return 0;
}

int tc_rec_ports(struct tc_rec_writer *w, __u32 netns, const struct tc_portrec *recs, size_t n)
{
	__u32 h[4] = { TC_REC_PORTS, (__u32)(8 + n * sizeof(*recs)), netns, 0 };

	if (fwrite(h, sizeof(h), 1, w->f) != 1 || (n && fwrite(recs, sizeof(*recs), n, w->f) != n))
		return -1;
	w->frames++;
	return 0;
}

static json_object *netns_info_obj(const struct tc_netns_info *n)
{
	json_object *o = json_object_new_object();

	ADD(o, "ino", U64(n->ino));
	ADD(o, "found", json_object_new_int(n->found));
	ADD(o, "port_lo", U64(n->port_lo));
	ADD(o, "port_hi", U64(n->port_hi));
	ADD(o, "usable", U64(n->usable));
	ADD(o, "tw_reuse", json_object_new_int(n->tw_reuse));
	ADD(o, "max_tw_buckets", json_object_new_int(n->max_tw_buckets));
	ADD(o, "fin_timeout", json_object_new_int(n->fin_timeout));
	ADD(o, "tw_recycle", json_object_new_int(n->tw_recycle));
	ADD(o, "tw_overflow_mib", json_object_new_int64(n->tw_overflow_mib));
	ADD(o, "time_wait", U64(n->time_wait));
	ADD(o, "sockets", U64(n->sockets));
	return o;
}

int tc_rec_finish(struct tc_rec_writer *w, const struct tc_model *m)
{
	const struct tc_health *h = &m->health;
	json_object *t = json_object_new_object(), *o = json_object_new_object(), *a;
	const char *txt;
	int ret;

	ADD(t, "duration_s", json_object_new_double(m->duration_s));
	a = json_object_new_array();
	for (int i = 0; i < TC_STAT_MAX; i++)
		json_object_array_add(a, U64(h->stat[i]));
	ADD(o, "stat", a);
	ADD(o, "socks_live", U64(h->socks_live));
	ADD(o, "socks_evicted", U64(h->socks_evicted));
	ADD(o, "procs_evicted", U64(h->procs_evicted));
	ADD(o, "peers_evicted", U64(h->peers_evicted));
	ADD(o, "events_lost", U64(h->events_lost));
	ADD(o, "missed_runs", U64(h->missed_runs));
	ADD(o, "closes_unseen", U64(h->closes_unseen));
	ADD(o, "rss_max_kib", U64(h->rss_max_kib));
	ADD(o, "maps_kib", U64(h->maps_kib));
	ADD(t, "health", o);
	ADD(t, "prog_stats", json_object_new_boolean(m->prog_stats));
	a = json_object_new_array();
	for (int i = 0; i < m->nprogs; i++) {
		o = json_object_new_object();
		ADD(o, "name", json_object_new_string(m->progs[i].name));
		ADD(o, "runs", U64(m->progs[i].runs));
		ADD(o, "run_ns", U64(m->progs[i].run_ns));
		json_object_array_add(a, o);
	}
	ADD(t, "programs", a);
	a = json_object_new_array();
	for (size_t i = 0; i < m->nnetns; i++)
		json_object_array_add(a, netns_info_obj(&m->netns[i]));
	ADD(t, "netns", a);
	o = json_object_new_object();
	for (size_t i = 0; i < m->nprocs; i++) {
		char id[24];

		if (!m->procs[i].cgroup)
			continue;
		snprintf(id, sizeof(id), "%llu", (unsigned long long)m->procs[i].key.cgroup_id);
		ADD(o, id, json_object_new_string(m->procs[i].cgroup));
	}
	ADD(t, "cgroups", o);
	txt = json_object_to_json_string_ext(t, JSON_C_TO_STRING_PLAIN);
	ret = tc_rec_frame(w, TC_REC_END, txt, (__u32)strlen(txt));
	json_object_put(t);
	if (fflush(w->f) || fsync(fileno(w->f)))
		ret = -1;
	if (fclose(w->f))
		ret = -1;
	w->f = NULL;
	return ret;
}

/* ---- reading: nothing in the file is trusted ------------------------------ */

static int fail(char *err, size_t errlen, const char *path, const char *why)
{
	snprintf(err, errlen, "%s: %s", path, why);
	return -1;
}

/* The kinds of value the format has. json_object_is_type(NULL, t) is true
 * only for json_type_null: a JSON null fails every one of these. */
static bool is_object(json_object *v) { return json_object_is_type(v, json_type_object); }
static bool is_array(json_object *v) { return json_object_is_type(v, json_type_array); }
static bool is_bool(json_object *v) { return json_object_is_type(v, json_type_boolean); }
static bool is_string(json_object *v) { return json_object_is_type(v, json_type_string); }

static bool is_int_in(json_object *v, long long lo, long long hi)
{
	long long x;

	if (!json_object_is_type(v, json_type_int))
		return false;
	x = json_object_get_int64(v);	/* above INT64_MAX: INT64_MAX */
	return x >= lo && x <= hi;
}

static bool is_count(json_object *v) { return is_int_in(v, 0, INT64_MAX); }
static bool is_u32(json_object *v) { return is_int_in(v, 0, UINT32_MAX); }
static bool is_cint(json_object *v) { return is_int_in(v, INT_MIN, INT_MAX); }
static bool is_i64(json_object *v) { return is_int_in(v, INT64_MIN, INT64_MAX); }

static bool is_duration(json_object *v)
{
	double d;

	if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
		return false;
	d = json_object_get_double(v);
	return isfinite(d) && d >= 0;
}

/* A hook's name: printed as it is, so printable UTF-8, and short. JSON null
 * is what the recorder writes for a hook this kernel lacks. */
static bool is_name(json_object *v)
{
	return !v || (is_string(v) && json_object_get_string_len(v) <= 255 &&
		      tc_utf8_printable(json_object_get_string(v),
					(size_t)json_object_get_string_len(v)));
}

/* k absent, or its value of the kind ok wants. */
static bool opt(json_object *o, const char *k, bool (*ok)(json_object *))
{
	json_object *v;

	return !json_object_object_get_ex(o, k, &v) || ok(v);
}

/* Every element of the array at k (when there is one) of the kind ok wants. */
static bool opt_each(json_object *o, const char *k, bool (*ok)(json_object *))
{
	json_object *a;

	if (!json_object_object_get_ex(o, k, &a))
		return true;
	if (!is_array(a))
		return false;
	for (size_t i = 0; i < json_object_array_length(a); i++)
		if (!ok(json_object_array_get_idx(a, i)))
			return false;
	return true;
}

static bool all_of(json_object *o, const char *const *keys, size_t n, bool (*ok)(json_object *))
{
	for (size_t i = 0; i < n; i++)
		if (!opt(o, keys[i], ok))
			return false;
	return true;
}

#define ALL(o, keys, ok) all_of((o), (keys), sizeof(keys) / sizeof(keys[0]), (ok))

static bool program_ok(json_object *p)
{
	static const char *const counts[] = { "runs", "run_ns" };

	return is_object(p) && opt(p, "name", is_string) && ALL(p, counts, is_count);
}

static bool netns_ok(json_object *n)
{
	static const char *const u32s[] = { "ino", "port_lo", "port_hi", "usable" };
	static const char *const ints[] = { "found", "tw_reuse", "max_tw_buckets", "fin_timeout",
					    "tw_recycle" };
	static const char *const counts[] = { "time_wait", "sockets" };

	return is_object(n) && ALL(n, u32s, is_u32) && ALL(n, ints, is_cint) &&
	       ALL(n, counts, is_count) && opt(n, "tw_overflow_mib", is_i64);
}

static bool cgroups_ok(json_object *o)
{
	if (!is_object(o))
		return false;
	json_object_object_foreach(o, k, v) {
		(void)k;
		if (!is_string(v))
			return false;
	}
	return true;
}

/* The first part of the header that is not what tcpclose writes, or NULL.
 * (tool, kernel, hostname, started, filters, sysctls: informative, unread.) */
static const char *header_bad(json_object *h)
{
	static const char *const hooks[] = { "attach", "state_hook", "owner_hook", "tw_hook",
					     "port_hook", "reset_hook", "pend_hook" };
	static const char *const flags[] = { "port_hooks", "tw_snapshot", "survey", "causes",
					     "fin_shutdown", "timeout_idle" };
	json_object *v;

	if (!is_object(h))
		return "not a JSON object";
	if (!json_object_object_get_ex(h, "sizes", &v) || !is_object(v))
		return "sizes";
	if (!json_object_object_get_ex(h, "byte_order", &v) || !is_string(v))
		return "byte_order";
	if (!ALL(h, hooks, is_name))
		return "hook names";
	if (!ALL(h, flags, is_bool))
		return "port_hooks, tw_snapshot, survey, causes, fin_shutdown, timeout_idle";
	return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

static __u32 ino_of(json_object *n)
{
	json_object *v;

	return json_object_object_get_ex(n, "ino", &v) && is_u32(v) ?
	       (__u32)json_object_get_uint64(v) : 0;
}

/* A netns listed twice in the trailer (tcpclose lists each once): what a
 * recording declares is bounded by what it holds, and one entry per netns
 * is what the model reads. The check sorts: n log n. */
static bool netns_twice(json_object *t)
{
	json_object *a = NULL;
	size_t n;
	__u32 *ino;
	bool twice = false;

	if (!json_object_object_get_ex(t, "netns", &a) || !is_array(a))
		return false;
	n = json_object_array_length(a);
	if (n < 2)
		return false;
	ino = malloc(n * sizeof(*ino));
	if (!ino)
		return true;
	for (size_t i = 0; i < n; i++)
		ino[i] = ino_of(json_object_array_get_idx(a, i));
	qsort(ino, n, sizeof(*ino), cmp_u32);
	for (size_t i = 1; i < n && !twice; i++)
		twice = ino[i] == ino[i - 1];
	free(ino);
	return twice;
}

static const char *trailer_bad(json_object *t)
{
	static const char *const health[] = { "socks_live", "socks_evicted", "procs_evicted",
					      "peers_evicted", "events_lost", "missed_runs",
					      "closes_unseen", "rss_max_kib", "maps_kib" };
	json_object *o;

	if (!is_object(t))
		return "not a JSON object";
	if (!opt(t, "duration_s", is_duration))
		return "duration_s";
	if (json_object_object_get_ex(t, "health", &o)) {
		if (!is_object(o) || !ALL(o, health, is_count))
			return "health";
		if (!opt_each(o, "stat", is_count))
			return "health.stat";
	}
	if (!opt(t, "prog_stats", is_bool))
		return "prog_stats";
	if (!opt_each(t, "programs", program_ok))
		return "programs";
	if (!opt_each(t, "netns", netns_ok) || netns_twice(t))
		return "netns";
	if (!opt(t, "cgroups", cgroups_ok))
		return "cgroups";
	return NULL;
}

static __u64 jsize(json_object *sizes, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(sizes, k, &v) && is_count(v) ?
	       (__u64)json_object_get_uint64(v) : 0;
}

/* The size a frame of this type has (any, up to 1 GiB, for the JSON and
 * the kinds this reader does not know). */
static bool frame_len_ok(__u32 type, __u32 len)
{
	switch (type) {
	case TC_REC_CLOSE:
		return len == sizeof(struct tc_event);
	case TC_REC_TW:
		return len == sizeof(struct tc_tw_event);
	case TC_REC_PORTS:
		return len >= 8 && (len - 8) % sizeof(struct tc_portrec) == 0;
	case TC_REC_NOSOCK:
		return len == sizeof(struct tc_nosock_event);
	default:
		return len <= (1u << 30);
	}
}

/* One frame of len bytes, all of them in the file (the caller checked). */
static int frame_read(FILE *f, struct tc_recording *r, __u32 type, __u32 len, char **buf,
		      size_t *cap)
{
	if (len > *cap) {
		char *n = realloc(*buf, len);

		if (!n)
			return -ENOMEM;
		*buf = n;
		*cap = len;
	}
	if (len && fread(*buf, len, 1, f) != 1) {
		r->truncated = 1;
		return 1;
	}
	switch (type) {
	case TC_REC_CLOSE:
		return tc_replay_close(&r->rp, (const struct tc_event *)*buf);
	case TC_REC_TW:
		return tc_replay_tw(&r->rp, (const struct tc_tw_event *)*buf);
	case TC_REC_NOSOCK:
		return tc_replay_nosock(&r->rp, (const struct tc_nosock_event *)*buf);
	case TC_REC_PORTS: {
		struct tc_netns_raw_rec *p;
		size_t n = (len - 8) / sizeof(struct tc_portrec);

		if (r->nports == r->cap_ports) {
			size_t nc = r->cap_ports ? 2 * r->cap_ports : 16;

			p = realloc(r->ports, nc * sizeof(*p));
			if (!p)
				return -ENOMEM;
			r->ports = p;
			r->cap_ports = nc;
		}
		p = &r->ports[r->nports];
		memcpy(&p->ino, *buf, sizeof(p->ino));
		p->nrecs = n;
		p->recs = malloc(n ? n * sizeof(*p->recs) : 1);
		if (!p->recs)
			return -ENOMEM;
		memcpy(p->recs, *buf + 8, n * sizeof(*p->recs));
		r->nports++;
		return 0;
	}
	case TC_REC_END: {
		json_tokener *tok = json_tokener_new();

		if (!tok)
			return -ENOMEM;
		r->trailer = json_tokener_parse_ex(tok, *buf, (int)len);
		json_tokener_free(tok);
		return r->trailer ? 0 : -1;
	}
	default:
		return 0;	/* a newer kind of frame: skipped */
	}
}

/* A regular file, opened without waiting on a FIFO's writer or a device. */
static FILE *open_regular(const char *path, char *err, size_t errlen, off_t *size)
{
	struct stat st;
	FILE *f;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: %s", path,
			 S_ISDIR(st.st_mode) ? "a directory, not a recording" :
			 "not a regular file (a recording is one)");
		close(fd);
		return NULL;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) || !(f = fdopen(fd, "r"))) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	*size = st.st_size;
	return f;
}

static int cmp_ports(const void *a, const void *b)
{
	return cmp_u32(&((const struct tc_netns_raw_rec *)a)->ino,
		       &((const struct tc_netns_raw_rec *)b)->ino);
}

/* Sorts the port surveys by netns (tc_rec_model looks them up): the
 * recorder writes one per netns, so a second one is damage. */
static bool ports_twice(struct tc_recording *r)
{
	if (r->nports > 1)
		qsort(r->ports, r->nports, sizeof(*r->ports), cmp_ports);
	for (size_t i = 1; i < r->nports; i++)
		if (r->ports[i].ino == r->ports[i - 1].ino)
			return true;
	return false;
}

int tc_rec_read(const char *path, struct tc_recording *r, char *err, size_t errlen)
{
	char magic[8], *hdr = NULL, *buf = NULL, why[160];
	json_object *sizes, *v;
	const char *bad;
	size_t cap = 0;
	__u32 vh[2], fh[2];
	off_t size, left;
	FILE *f;
	int ret = 0;

	memset(r, 0, sizeof(*r));
	f = open_regular(path, err, errlen, &size);
	if (!f)
		return -1;
	if (fread(magic, 8, 1, f) != 1 || memcmp(magic, TC_REC_MAGIC, 8) ||
	    fread(vh, sizeof(vh), 1, f) != 1) {
		fclose(f);
		return fail(err, errlen, path, "not a tcpclose recording");
	}
	if (vh[0] != TC_REC_VERSION) {
		fclose(f);
		snprintf(err, errlen, "%s: recording format %u, this tcpclose reads %u", path, vh[0],
			 TC_REC_VERSION);
		return -1;
	}
	left = size - 16;
	hdr = vh[1] < (1u << 20) && vh[1] <= left ? calloc(1, vh[1] + 1) : NULL;
	if (!hdr || fread(hdr, vh[1], 1, f) != 1 || !(r->header = json_tokener_parse(hdr))) {
		free(hdr);
		fclose(f);
		return fail(err, errlen, path, "the recording's header is damaged");
	}
	free(hdr);
	left -= vh[1];
	if ((bad = header_bad(r->header))) {
		fclose(f);
		tc_rec_free(r);
		snprintf(why, sizeof(why), "the recording's header is damaged (%s)", bad);
		return fail(err, errlen, path, why);
	}
	json_object_object_get_ex(r->header, "sizes", &sizes);
	json_object_object_get_ex(r->header, "byte_order", &v);
	if (jsize(sizes, "event") != sizeof(struct tc_event) ||
	    jsize(sizes, "tw_event") != sizeof(struct tc_tw_event) ||
	    jsize(sizes, "portrec") != sizeof(struct tc_portrec) ||
	    /* absent in recordings made before resets for no socket were told */
	    (json_object_object_get_ex(sizes, "nosock_event", NULL) &&
	     jsize(sizes, "nosock_event") != sizeof(struct tc_nosock_event)) ||
	    strcmp(json_object_get_string(v), byte_order())) {
		fclose(f);
		tc_rec_free(r);
		return fail(err, errlen, path,
			    "written by an incompatible tcpclose or architecture (event sizes, byte order)");
	}
	tc_replay_init(&r->rp, json_object_object_get_ex(r->header, "port_hooks", &v) &&
			       json_object_get_boolean(v));
	r->rp.nosock_ok = json_object_object_get_ex(r->header, "reset_hook", &v) && is_string(v);
	r->rp.idle = json_object_object_get_ex(r->header, "timeout_idle", &v) &&
		     json_object_get_boolean(v);
	/* Before the causes a reset after the close tells (and pend_hook in the
	 * header, null where not hooked), the later ones were numbered
	 * TC_CAUSE_N_AFTER lower (tcpclose.h). */
	r->rp.old_causes = !json_object_object_get_ex(r->header, "pend_hook", NULL);
	while (!r->trailer && left >= (off_t)sizeof(fh) && fread(fh, sizeof(fh), 1, f) == 1) {
		left -= sizeof(fh);
		if (!frame_len_ok(fh[0], fh[1])) {
			ret = -1;
			break;
		}
		if (fh[1] > left) {	/* cut short: checked before allocating */
			r->truncated = 1;
			break;
		}
		ret = frame_read(f, r, fh[0], fh[1], &buf, &cap);
		if (ret)
			break;
		left -= fh[1];
		r->frames++;
	}
	if (left > 0 && left < (off_t)sizeof(fh) && !r->trailer)
		r->truncated = 1;	/* a frame header cut short */
	free(buf);
	fclose(f);
	if (ret < 0) {
		tc_rec_free(r);
		return fail(err, errlen, path, ret == -ENOMEM ? "out of memory" :
			    ret == -EINVAL ? "the recording is damaged (a TIME_WAIT length out of range)" :
			    ret == -EPROTO ? "the recording is damaged (a reset for no socket it cannot hold)" :
			    "the recording is damaged (a frame of the wrong size)");
	}
	if (ports_twice(r)) {
		tc_rec_free(r);
		return fail(err, errlen, path,
			    "the recording is damaged (two port surveys of one netns)");
	}
	if (r->trailer && (bad = trailer_bad(r->trailer))) {
		tc_rec_free(r);
		snprintf(why, sizeof(why), "the recording's trailer is damaged (%s)", bad);
		return fail(err, errlen, path, why);
	}
	return 0;
}

/* The model's side: tc_rec_read() checked every kind, and these check it
 * again, so nothing here can meet a value of another type. */
static const char *hstr(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) && is_string(v) ?
	       json_object_get_string(v) : NULL;
}

static __u64 hu64(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) && is_count(v) ?
	       (__u64)json_object_get_uint64(v) : 0;
}

static long long hi64(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) && is_i64(v) ? json_object_get_int64(v) : 0;
}

static bool hbool(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) && is_bool(v) && json_object_get_boolean(v);
}

static json_object *harray(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) && is_array(v) ? v : NULL;
}

static void health_of(json_object *t, struct tc_model *m)
{
	struct tc_health *h = &m->health;
	json_object *o, *a;

	if (!json_object_object_get_ex(t, "health", &o) || !is_object(o))
		return;
	if ((a = harray(o, "stat")))
		for (size_t i = 0; i < TC_STAT_MAX && i < json_object_array_length(a); i++) {
			json_object *v = json_object_array_get_idx(a, i);

			h->stat[i] = is_count(v) ? json_object_get_uint64(v) : 0;
		}
	h->socks_live = hu64(o, "socks_live");
	h->socks_evicted = hu64(o, "socks_evicted");
	h->procs_evicted = hu64(o, "procs_evicted");
	h->peers_evicted = hu64(o, "peers_evicted");
	h->events_lost = hu64(o, "events_lost");
	h->missed_runs = hu64(o, "missed_runs");
	h->closes_unseen = hu64(o, "closes_unseen");
	h->rss_max_kib = hu64(o, "rss_max_kib");
	h->maps_kib = hu64(o, "maps_kib");
	m->prog_stats = hbool(t, "prog_stats");
	if ((a = harray(t, "programs")))
		for (size_t i = 0; i < json_object_array_length(a) && m->nprogs < TC_MAX_PROGS; i++) {
			json_object *p = json_object_array_get_idx(a, i);
			const char *name = hstr(p, "name");

			if (!is_object(p))
				continue;
			/* any bytes: printable, cut at a character's end */
			tc_utf8_cut(m->progs[m->nprogs].name, sizeof(m->progs[0].name),
				    name ? name : "?");
			m->progs[m->nprogs].runs = hu64(p, "runs");
			m->progs[m->nprogs++].run_ns = hu64(p, "run_ns");
		}
}

struct netns_entry {
	__u32 ino;
	json_object *o;
};

static int cmp_entry(const void *a, const void *b)
{
	return cmp_u32(&((const struct netns_entry *)a)->ino, &((const struct netns_entry *)b)->ino);
}

static void netns_from(struct tc_netns_info *ni, json_object *o)
{
	ni->found = (int)hi64(o, "found");
	ni->port_lo = (__u32)hu64(o, "port_lo");
	ni->port_hi = (__u32)hu64(o, "port_hi");
	ni->usable = (__u32)hu64(o, "usable");
	ni->tw_reuse = (int)hi64(o, "tw_reuse");
	ni->max_tw_buckets = (int)hi64(o, "max_tw_buckets");
	ni->fin_timeout = (int)hi64(o, "fin_timeout");
	ni->tw_recycle = (int)hi64(o, "tw_recycle");
	ni->tw_overflow_mib = hi64(o, "tw_overflow_mib");
	ni->time_wait = hu64(o, "time_wait");
	ni->sockets = hu64(o, "sockets");
}

/*
 * The survey as it was: each netns's sysctls, then its sockets' budget.
 * Every lookup is a binary search (the trailer's entries sorted here, the
 * port surveys by tc_rec_read, the client rows by netns), and each netns
 * costs its own rows: replay stays n log n in the recording's size.
 */
static int ports_of(json_object *t, struct tc_recording *r, struct tc_model *m, int known)
{
	struct netns_entry *ent = NULL;
	size_t nent = 0, nrows = 0, *rows = NULL;
	json_object *a;
	__u64 *att = NULL;
	int err = -ENOMEM;

	if (tc_budget_netns_slots(m))
		return -ENOMEM;
	if (!(a = harray(t, "netns")))
		return 0;
	ent = malloc((json_object_array_length(a) + 1) * sizeof(*ent));
	att = tc_dest_attempts(m);
	rows = tc_budget_rows(m, &nrows);
	if (!ent || !att || !rows)
		goto out;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *o = json_object_array_get_idx(a, i);

		if (is_object(o))
			ent[nent++] = (struct netns_entry){ ino_of(o), o };
	}
	qsort(ent, nent, sizeof(*ent), cmp_entry);	/* no two alike: trailer_bad() */
	for (size_t k = 0; k < m->nnetns; k++) {
		struct tc_netns_info *ni = &m->netns[k];
		struct netns_entry key = { .ino = ni->ino }, *e;
		struct tc_netns_raw_rec pk = { .ino = ni->ino }, *p;

		e = bsearch(&key, ent, nent, sizeof(*ent), cmp_entry);
		if (e)
			netns_from(ni, e->o);
		if (!ni->found)
			continue;
		p = r->nports ? bsearch(&pk, r->ports, r->nports, sizeof(*r->ports), cmp_ports) : NULL;
		if (p)
			tc_budget_apply_rows(m, ni, p->recs, p->nrecs, known, att, rows, nrows);
	}
	err = 0;
out:
	free(ent);
	free(att);
	free(rows);
	return err;
}

int tc_rec_model(struct tc_recording *r, struct tc_model *m)
{
	json_object *v, *cg;
	int known;

	tc_model_reset_rows(m);
	m->attach = hstr(r->header, "attach");
	m->state_hook = hstr(r->header, "state_hook");
	m->owner_hook = hstr(r->header, "owner_hook");
	m->tw_hook = hstr(r->header, "tw_hook");
	m->port_hook = hstr(r->header, "port_hook");
	m->reset_hook = hstr(r->header, "reset_hook");	/* absent before: null */
	m->pend_hook = hstr(r->header, "pend_hook");	/* ... */
	m->tw_snapshot = hbool(r->header, "tw_snapshot");
	m->causes = hbool(r->header, "causes");	/* absent before causes were told */
	m->fin_by = hbool(r->header, "fin_shutdown");	/* ... before TC_SF_FIN_SHUTDOWN */
	m->idle = hbool(r->header, "timeout_idle");	/* ... before idle times */
	/* FIN_WAIT2 timeouts came with the same numbering (old_causes) */
	m->fin_timeouts = m->tw_hook && !r->rp.old_causes;
	known = hbool(r->header, "survey");
	if (tc_replay_model(&r->rp, m))
		return -ENOMEM;
	if (!r->trailer)
		return 0;	/* killed: the rows, without the rest */
	if (json_object_object_get_ex(r->trailer, "duration_s", &v) && is_duration(v))
		m->duration_s = json_object_get_double(v);
	health_of(r->trailer, m);
	if (json_object_object_get_ex(r->trailer, "cgroups", &cg) && is_object(cg))
		for (size_t i = 0; i < m->nprocs; i++) {
			char id[24];

			snprintf(id, sizeof(id), "%llu", (unsigned long long)m->procs[i].key.cgroup_id);
			m->procs[i].cgroup = hstr(cg, id);
		}
	return ports_of(r->trailer, r, m, known);
}

void tc_rec_free(struct tc_recording *r)
{
	json_object_put(r->header);
	json_object_put(r->trailer);
	tc_replay_free(&r->rp);
	for (size_t i = 0; i < r->nports; i++)
		free(r->ports[i].recs);
	free(r->ports);
	memset(r, 0, sizeof(*r));
}
