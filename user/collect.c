// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "collect.h"
#include "names.h"
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

static __u64 count_keys(int fd, size_t key_size)
{
	char key[64], next[64];
	void *prev = NULL;
	__u64 n = 0;

	if (key_size > sizeof(key))
		return 0;
	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, key_size);
		prev = key;
		n++;
	}
	return n;
}

int tc_collect(const struct tc_tracer *t, struct tc_model *m)
{
	struct tcpclose_bpf *s = t->skel;
	int ncpu = libbpf_num_possible_cpus();
	struct tc_proc_key pk, *pprev = NULL;
	struct tc_peer_key rk, *rprev = NULL;
	struct tc_counts c;
	void *vals;
	int fd, err = 0;

	if (ncpu <= 0)
		return ncpu;
	tc_model_reset_rows(m);
	m->attach = tc_attach_name(t->attach);
	m->state_hook = t->state_hook;
	m->owner_hook = t->owner_hook;

	vals = calloc((size_t)ncpu, PCPU_STRIDE(sizeof(struct tc_counts)));
	if (!vals)
		return -ENOMEM;
	err = read_percpu_sum(bpf_map__fd(s->maps.totals), 0, vals,
			      PCPU_STRIDE(sizeof(struct tc_counts)), ncpu, add_counts,
			      &m->totals);
	for (__u32 i = 0; !err && i < TC_STAT_MAX; i++)
		err = read_percpu_sum(bpf_map__fd(s->maps.stats), i, vals, sizeof(__u64),
				      ncpu, add_u64, &m->health.stat[i]);
	free(vals);
	if (err)
		return err;

	/* Rows may be evicted between next_key and lookup: skip those. */
	fd = bpf_map__fd(s->maps.procs);
	while (!bpf_map_get_next_key(fd, pprev, &pk)) {
		if (!bpf_map_lookup_elem(fd, &pk, &c) && tc_model_add_proc(m, &pk, &c))
			return -ENOMEM;
		pprev = &pk;
	}
	fd = bpf_map__fd(s->maps.peers);
	while (!bpf_map_get_next_key(fd, rprev, &rk)) {
		if (!bpf_map_lookup_elem(fd, &rk, &c) && tc_model_add_peer(m, &rk, &c))
			return -ENOMEM;
		rprev = &rk;
	}
	m->health.socks_live = count_keys(bpf_map__fd(s->maps.socks), sizeof(__u64));
	tc_model_finish_health(m);
	tc_model_sort(m);
	return 0;
}
