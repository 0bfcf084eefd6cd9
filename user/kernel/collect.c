// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cgroups.h"
#include "cmds.h"
#include "collect.h"
#include "names.h"
#include "rowmath.h"
#include "settle.h"
#include "tcpclose.skel.h"

static int read_percpu_sum(int fd, __u32 idx, void *vals, size_t elem, int ncpu,
			   void (*add)(void *dst, const void *src), void *out)
{
	if (bpf_map_lookup_elem(fd, &idx, vals))
		return -errno;
	for (int c = 0; c < ncpu; c++)
		add(out, (char *)vals + (size_t)c * elem);
	return 0;
}

static void add_counts(void *dst, const void *src)
{
	tc_counts_add(dst, src);
}

static void add_u64(void *dst, const void *src)
{
	*(__u64 *)dst += *(const __u64 *)src;
}

/* Per-CPU values are padded to 8 bytes each by the kernel. */
#define PCPU_STRIDE(sz) (((sz) + 7) & ~(size_t)7)

/* What walk_map() hands each entry of a map to. */
struct map_walk {
	int (*entry)(void *ctx, const void *key, const void *val);	/* nonzero: stop, with it */
	void (*restart)(void *ctx);	/* forget what entry() was given: the walk begins again */
	void *ctx;
	bool values;		/* the key-by-key walk looks each value up (else val is NULL) */
};

/*
 * Every entry of a hash map, to w->entry. In batches: a few syscalls for
 * thousands of entries (one pair per row made `top -i 1` cost a few % of a
 * core with 16k rows), and a walk by bucket that an LRU eviction cannot
 * send back to the start, as get_next_key does when the key it stands on
 * is gone. Kernels without batch ops (before 5.6), or a bucket larger than
 * a batch, get the key-by-key walk instead, from scratch. 0, the first
 * nonzero entry(), or -EINVAL / -ENOMEM.
 */
static int walk_map(int fd, size_t ksz, size_t vsz, const struct map_walk *w)
{
	enum { BATCH = 256 };
	char key[256], next[256];
	void *keys, *vals, *prev = NULL;
	__u32 in = 0, out = 0;
	int err = 0;

	if (ksz > sizeof(key))
		return -EINVAL;
	keys = malloc(BATCH * ksz);
	vals = malloc(BATCH * vsz);
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (bool first = true;; first = false) {
		__u32 cnt = BATCH;
		int r = bpf_map_lookup_batch(fd, first ? NULL : &in, &out, keys, vals, &cnt, NULL);

		if (r < 0 && errno != ENOENT)
			break;
		for (__u32 i = 0; i < cnt && !err; i++)
			err = w->entry(w->ctx, (char *)keys + i * ksz, (char *)vals + i * vsz);
		if (err || r < 0)	/* r < 0 here: ENOENT, every entry read */
			goto out;
		in = out;
	}
	w->restart(w->ctx);
	/* Entries may go between next_key and lookup: skip those. */
	while (!err && !bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, ksz);
		prev = key;
		if (!w->values)
			err = w->entry(w->ctx, key, NULL);
		else if (!bpf_map_lookup_elem(fd, key, vals))
			err = w->entry(w->ctx, key, vals);
	}
out:
	free(keys);
	free(vals);
	return err;
}

static int count_one(void *ctx, const void *key, const void *val)
{
	(*(__u64 *)ctx)++;
	return 0;
}

static void count_restart(void *ctx)
{
	*(__u64 *)ctx = 0;
}

/* The entries of a hash map (timewait stays); 0 if it cannot be walked. */
static __u64 count_entries(const struct bpf_map *map)
{
	__u64 n = 0;
	struct map_walk w = { .entry = count_one, .restart = count_restart, .ctx = &n };

	if (walk_map(bpf_map__fd(map), bpf_map__key_size(map), bpf_map__value_size(map), &w))
		return 0;
	return n;
}

/*
 * A timewait cancel that nothing has explained yet waits in a per-CPU slot
 * until the next one on that CPU (tw_timer.bpf.c). Whatever still waits now
 * was killed: each such stay, its rows and length (-1 unknown), to fn.
 */
int tc_pending_kills(const struct tc_tracer *t, void (*fn)(const struct tc_peer_key *row,
							  __s64 dur_ms, void *ctx), void *ctx)
{
	int ncpu = libbpf_num_possible_cpus();
	struct tc_tw_pending *p;
	__u32 zero = 0;
	struct tc_tw rec;

	if (!t->tw_hook || ncpu <= 0)
		return 0;
	p = calloc((size_t)ncpu, sizeof(*p));
	if (!p)
		return -ENOMEM;
	if (bpf_map_lookup_elem(bpf_map__fd(t->skel->maps.tw_pending), &zero, p)) {
		free(p);
		return 0;
	}
	for (int c = 0; c < ncpu; c++) {
		__s64 dur = -1;

		if (!p[c].tw || bpf_map_lookup_elem(bpf_map__fd(t->skel->maps.tws), &p[c].key, &rec))
			continue;
		if (rec.start_ns && p[c].ts_ns > rec.start_ns)
			dur = (__s64)((p[c].ts_ns - rec.start_ns) / 1000000);
		fn(&rec.row, dur, ctx);
	}
	free(p);
	return 0;
}

/* Count a pending kill in the model, where the kernel will once it moves on. */
static void kill_in_model(const struct tc_peer_key *row, __s64 dur, void *ctx)
{
	struct tc_model *m = ctx;
	struct tc_twcounts d = { 0 };
	struct tc_counts *c;

	/* the kernel's own arithmetic for the end of a stay (rowmath.h) */
	tc_tw_apply(&d, TC_TWV_END, TC_TWE_KILLED, dur, false);

	tc_twcounts_add(&m->totals.tw, &d);
	if ((c = tc_model_proc_counts(m, &row->proc)))
		tc_twcounts_add(&c->tw, &d);
	if ((c = tc_model_peer_counts(m, row)))
		tc_twcounts_add(&c->tw, &d);
}

/* What tracing costs in memory: the peak RSS, and the maps' (tracer.c,
 * read once at start: they are allocated then, whole). */
static void memory(const struct tc_tracer *t, struct tc_model *m)
{
	struct rusage ru;

	if (!getrusage(RUSAGE_SELF, &ru))
		m->health.rss_max_kib = (__u64)ru.ru_maxrss;
	m->health.maps_kib = t->maps_kib;
}

/*
 * Runs the kernel skipped: a program already active on this CPU is not
 * entered again (on PREEMPT_RT, where programs run preemptible, this loses
 * real events under load). Per program, since load: recursion_misses.
 */
static void prog_info(const struct tc_tracer *t, struct tc_model *m)
{
	struct bpf_program *p;

	m->health.missed_runs = 0;
	m->nprogs = 0;
	m->prog_stats = t->stats_fd >= 0;
	bpf_object__for_each_program(p, t->skel->obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(p);

		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		m->health.missed_runs += info.recursion_misses;
		/* The iterator runs once, at start, for us: not a hook's cost. */
		if (!m->prog_stats || m->nprogs == TC_MAX_PROGS ||
		    (bpf_program__type(p) == BPF_PROG_TYPE_TRACING &&
		     bpf_program__expected_attach_type(p) == BPF_TRACE_ITER))
			continue;
		snprintf(m->progs[m->nprogs].name, sizeof(m->progs[0].name), "%s",
			 bpf_program__name(p));
		m->progs[m->nprogs].runs = info.run_cnt;
		m->progs[m->nprogs].run_ns = info.run_time_ns;
		m->nprogs++;
	}
}

/* Every row of an aggregation map into the model (walk_map). */
struct rows_walk {
	struct tc_model *m;
	bool peers;
};

static int add_row(void *ctx, const void *key, const void *val)
{
	struct rows_walk *rw = ctx;

	if (rw->peers ? tc_model_add_peer(rw->m, key, val) : tc_model_add_proc(rw->m, key, val))
		return -ENOMEM;
	return 0;
}

static void rows_restart(void *ctx)
{
	struct rows_walk *rw = ctx;

	if (rw->peers)
		rw->m->npeers = 0;
	else
		rw->m->nprocs = 0;
}

static int read_rows(const struct bpf_map *map, bool peers, struct tc_model *m)
{
	struct rows_walk rw = { .m = m, .peers = peers };
	struct map_walk w = { .entry = add_row, .restart = rows_restart, .ctx = &rw,
			      .values = true };

	return walk_map(bpf_map__fd(map), peers ? sizeof(struct tc_peer_key) :
			sizeof(struct tc_proc_key), sizeof(struct tc_counts), &w);
}

/* Resets to no socket (reset.bpf.c): totals by reason, rows by port. */
static int add_nosock(void *ctx, const void *key, const void *val)
{
	return tc_model_add_nosock(ctx, key, *(const __u64 *)val) ? -ENOMEM : 0;
}

static void nosock_restart(void *ctx)
{
	((struct tc_model *)ctx)->nnosocks = 0;
}

static void add_nosock_totals(void *dst, const void *src)
{
	const struct tc_nosock_totals *s = src;
	__u64 *d = dst;

	for (int i = 0; i < TC_NR_MAX; i++)
		d[i] += s->resets[i];
}

static int read_nosocks(const struct tc_tracer *t, struct tc_model *m, int ncpu)
{
	struct map_walk w = { .entry = add_nosock, .restart = nosock_restart, .ctx = m,
			      .values = true };
	size_t stride = PCPU_STRIDE(sizeof(struct tc_nosock_totals));
	void *vals;
	int err;

	if (!t->reset_hook)
		return 0;
	vals = calloc((size_t)ncpu, stride);
	if (!vals)
		return -ENOMEM;
	err = read_percpu_sum(bpf_map__fd(t->skel->maps.nosock_totals), 0, vals, stride, ncpu,
			      add_nosock_totals, m->nosock_total);
	free(vals);
	if (err)
		return err;
	return walk_map(bpf_map__fd(t->skel->maps.nosocks), sizeof(struct tc_nosock_key),
			sizeof(__u64), &w);
}

int tc_collect(const struct tc_tracer *t, struct tc_model *m)
{
	struct tcpclose_bpf *s = t->skel;
	int ncpu = libbpf_num_possible_cpus();
	void *vals;
	int err = 0;

	if (ncpu <= 0)
		return ncpu;
	tc_tracer_settle(t);	/* the closes no reset followed, first */
	tc_model_reset_rows(m);
	m->attach = tc_attach_name(t->attach);
	m->state_hook = t->state_hook;
	m->owner_hook = t->owner_hook;
	m->tw_hook = t->tw_hook;
	m->port_hook = t->port_hook;
	m->reset_hook = t->reset_hook;
	m->tw_snapshot = t->tw_snapshot;
	m->causes = 1;	/* every state hook reads them at ->CLOSE */
	m->fin_by = 1;	/* ... and at our FIN */
	m->idle = t->hz != 0;	/* the kernel's config said its HZ */
	m->pend_hook = t->pend_hook;
	m->fin_timeouts = t->tw_hook != NULL;

	vals = calloc((size_t)ncpu, PCPU_STRIDE(sizeof(struct tc_counts)));
	if (!vals)
		return -ENOMEM;
	/* [0] the state handler's, [1] the atomic adds of the others */
	for (__u32 k = 0; !err && k < 2; k++)
		err = read_percpu_sum(bpf_map__fd(s->maps.totals), k, vals,
				      PCPU_STRIDE(sizeof(struct tc_counts)), ncpu, add_counts,
				      &m->totals);
	for (__u32 i = 0; !err && i < TC_STAT_MAX; i++)
		err = read_percpu_sum(bpf_map__fd(s->maps.stats), i, vals, sizeof(__u64),
				      ncpu, add_u64, &m->health.stat[i]);
	free(vals);
	if (err)
		return err;

	if ((err = read_rows(s->maps.procs, false, m)) || (err = read_rows(s->maps.peers, true, m)) ||
	    (err = read_nosocks(t, m, ncpu)))
		return err;
	tc_model_dedupe(m);	/* the no-socket rows too */
	if (tc_pending_kills(t, kill_in_model, m))
		return -ENOMEM;
	m->health.socks_live = tc_socktab_count(&t->socktab);
	m->health.tws_live = t->tw_hook ? count_entries(s->maps.tws) : 0;
	memory(t, m);
	prog_info(t, m);
	tc_model_finish_health(m);
	tc_model_sort(m);
	/* Paths from ids: the hierarchy is walked at most once per collection,
	 * and only when an id is new. */
	tc_cgroups_round();
	for (size_t i = 0; i < m->nprocs; i++)
		m->procs[i].cgroup = tc_cgroup_path(m->procs[i].key.cgroup_id);
	return 0;
}

/* Records of the socket table, a chunk of slots per syscall (socktab.h). */
static int read_socks(void *rctx, __u32 first, __u32 n, struct tc_sock *out)
{
	const struct tc_tracer *t = rctx;
	/* a batch begins after the key it is given: the slot before first */
	__u32 keys[TC_SOCKTAB_CHUNK], in = first - 1, next, cnt = n;
	int fd = bpf_map__fd(t->skel->maps.socks);

	if (n > TC_SOCKTAB_CHUNK)
		return -EINVAL;
	if (!bpf_map_lookup_batch(fd, first ? &in : NULL, &next, keys, out, &cnt, NULL) ||
	    errno == ENOENT)
		return cnt == n ? 0 : -EIO;
	/* No batch operations (before 5.6): a slot at a time. */
	for (__u32 i = 0; i < n; i++) {
		__u32 slot = first + i;

		if (bpf_map_lookup_elem(fd, &slot, &out[i]))
			return -errno;
	}
	return 0;
}

static int sweep_take(void *ctx, __u32 slot, __u64 addr, const struct tc_sock *rec)
{
	return tc_sweep_take(ctx, slot, addr, rec) ? -ENOMEM : 0;
}

/* The sweep's two ends (sweep.h), around a survey. The records are read
 * where the kernel keeps them (the mapped socket table). */
int tc_sweep_read(const struct tc_tracer *t, struct tc_sweep *sw)
{
	sw->before_ns = tc_now_ns();
	return tc_socktab_walk(&t->socktab, read_socks, (void *)t, sweep_take, sw);
}

/* Adds d to the model's row of key. A row the collection did not have is
 * taken from the map as it is now (d included) while the model has room
 * for it: in a full LRU map its insert evicted a row the model still
 * shows, so there d stays in the totals only ("other"), rows bounded. */
static int charge_row(const struct bpf_map *map, const void *key, const struct tc_counts *d,
		      struct tc_model *m, bool peers)
{
	size_t n = peers ? m->npeers : m->nprocs;
	struct tc_counts c, *row = peers ? tc_model_peer_counts(m, key) : tc_model_proc_counts(m, key);

	if (row) {
		tc_counts_add(row, d);
		return 0;
	}
	/* the kernel's insert of it (tc_row): an eviction where no row is added */
	m->health.stat[peers ? TC_STAT_PEER_INSERTS : TC_STAT_PROC_INSERTS]++;
	if (n >= bpf_map__max_entries(map) || bpf_map_lookup_elem(bpf_map__fd(map), key, &c))
		return 0;
	return peers ? tc_model_add_peer(m, key, &c) : tc_model_add_proc(m, key, &c);
}

/* What sweep.bpf.c just added to the maps, added to the model collected
 * before it with the kernel's own arithmetic (rowmath.h). */
static int unseen_in_model(const struct tc_tracer *t, struct tc_model *m,
			   const struct tc_sock *rec)
{
	struct tc_counts d = { 0 };
	struct tc_proc_key pk;
	struct tc_peer_key rk;

	tc_unseen_apply(&d, rec, t->port_hook != NULL, false);
	tc_counts_add(&m->totals, &d);
	tc_row_keys(&pk, &rk, &rec->owner, &rec->tuple, rec->netns, rec->role);
	if (charge_row(t->skel->maps.procs, &pk, &d, m, false) ||
	    charge_row(t->skel->maps.peers, &rk, &d, m, true))
		return -ENOMEM;
	return 0;
}

/*
 * Each record judged gone is charged by the kernel (sweep.bpf.c), which
 * deletes it only if it is still the record judged. Without that program
 * (before 5.14) the record is only deleted and counted here.
 */
static int sweep_charge(const struct tc_tracer *t, const struct tc_sweep_cand *c,
			struct tc_sweep_arg *a)
{
	LIBBPF_OPTS(bpf_test_run_opts, run, .ctx_in = a, .ctx_size_in = sizeof(*a));
	struct tc_sock cur;

	memset(a, 0, sizeof(*a));
	a->key = c->key;
	a->slot = c->slot;
	a->start_ns = c->start_ns;
	a->tw = c->tw;
	if (t->sweep_rows)
		return bpf_prog_test_run_opts(bpf_program__fd(t->skel->progs.tc_sweep_charge), &run) ?
		       -errno : 0;
	/* as sweep.bpf.c: the record judged, checked before and after the take */
	if (bpf_map_lookup_elem(bpf_map__fd(t->skel->maps.socks), &c->slot, &cur) ||
	    cur.start_ns != c->start_ns || !tc_socktab_take(&t->socktab, c->slot, c->key))
		return 0;
	if (bpf_map_lookup_elem(bpf_map__fd(t->skel->maps.socks), &c->slot, &cur) ||
	    cur.start_ns != c->start_ns) {
		tc_socktab_release(&t->socktab, c->slot, c->key);	/* a new socket's */
		return 0;
	}
	tc_socktab_release(&t->socktab, c->slot, 0);
	a->res = TC_SWR_FILTERED;	/* freed, charged nowhere */
	return 0;
}

int tc_sweep_finish(const struct tc_tracer *t, struct tc_sweep *sw, struct tc_model *m)
{
	int ncpu = libbpf_num_possible_cpus(), err = 0;
	bool charged = false;
	struct tc_sweep_arg a;
	__u64 n = 0;

	for (size_t i = 0; i < sw->n && !err; i++) {
		if (!sw->c[i].gone)
			continue;
		err = sweep_charge(t, &sw->c[i], &a);
		if (err || a.res == TC_SWR_GONE)
			continue;
		n++;
		if (a.res == TC_SWR_CHARGED) {
			err = unseen_in_model(t, m, &a.rec);
			charged = true;
		} else if (t->sweep_rows) {
			m->health.stat[TC_STAT_FILTERED]++;	/* as the kernel counted it */
		}
	}
	if (charged)
		tc_model_sort(m);
	if (!t->sweep_rows && n && ncpu > 0) {
		/* No program writes this slot: a plain read-modify-write is safe. */
		__u64 *vals = calloc((size_t)ncpu, sizeof(*vals));
		__u32 idx = TC_STAT_SWEPT;
		int fd = bpf_map__fd(t->skel->maps.stats);

		if (!vals)
			return -ENOMEM;
		if (!bpf_map_lookup_elem(fd, &idx, vals)) {
			vals[0] += n;
			bpf_map_update_elem(fd, &idx, vals, BPF_ANY);
		}
		free(vals);
	}
	m->health.stat[TC_STAT_SWEPT] += n;
	m->health.socks_live -= n < m->health.socks_live ? n : m->health.socks_live;
	tc_model_finish_health(m);
	return err;
}
