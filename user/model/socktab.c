// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include "socktab.h"

static bool in_use(__u64 tag)
{
	return tag && !(tag & TC_SOCK_BUSY);
}

static __u64 *tag_of(const struct tc_socktab *t, __u32 slot)
{
	if (!t->sets || slot / TC_SOCK_WAYS >= t->nsets)
		return NULL;
	return &t->sets[slot / TC_SOCK_WAYS].tag[slot % TC_SOCK_WAYS];
}

__u64 tc_socktab_count(const struct tc_socktab *t)
{
	__u64 n = 0;

	for (__u32 s = 0; t->sets && s < t->nsets; s++)
		for (int w = 0; w < TC_SOCK_WAYS; w++)
			n += in_use(__atomic_load_n(&t->sets[s].tag[w], __ATOMIC_RELAXED));
	return n;
}

int tc_socktab_walk(const struct tc_socktab *t, tc_socktab_read_fn read, void *rctx,
		    int (*fn)(void *ctx, __u32 slot, __u64 addr, const struct tc_sock *rec),
		    void *ctx)
{
	const __u32 nslots = t->nsets * TC_SOCK_WAYS;
	struct tc_sock recs[TC_SOCKTAB_CHUNK];

	for (__u32 first = 0; t->sets && first < nslots; first += TC_SOCKTAB_CHUNK) {
		__u32 n = nslots - first < TC_SOCKTAB_CHUNK ? nslots - first : TC_SOCKTAB_CHUNK;
		__u64 tags[TC_SOCKTAB_CHUNK];
		bool any = false;

		for (__u32 i = 0; i < n; i++) {
			tags[i] = __atomic_load_n(tag_of(t, first + i), __ATOMIC_ACQUIRE);
			any |= in_use(tags[i]);
		}
		if (!any)
			continue;
		if (read(rctx, first, n, recs))
			return -EIO;
		for (__u32 i = 0; i < n; i++) {
			int err;

			if (in_use(tags[i]) && (err = fn(ctx, first + i, tags[i], &recs[i])))
				return err;
		}
	}
	return 0;
}

bool tc_socktab_take(const struct tc_socktab *t, __u32 slot, __u64 addr)
{
	__u64 *tag = tag_of(t, slot), expect = addr;

	return tag && in_use(addr) &&
	       __atomic_compare_exchange_n(tag, &expect, addr | TC_SOCK_BUSY, false,
					   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

void tc_socktab_release(const struct tc_socktab *t, __u32 slot, __u64 keep)
{
	__u64 *tag = tag_of(t, slot);

	if (tag)
		__atomic_store_n(tag, keep, __ATOMIC_SEQ_CST);
}
