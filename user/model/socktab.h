/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The kernel's socket table (bpf/tcpclose.h, bpf/socktab.bpf.h) as user
 * space sees it: the tags mapped (user/kernel/tracer.c) and read in place,
 * the records read through the caller (a batch of slots at a time, only
 * where a slot is in use: mapped, they would count in our RSS as we touch
 * them). Pure: the unit tests hand it arrays of their own.
 */
#ifndef TCPCLOSE_SOCKTAB_H
#define TCPCLOSE_SOCKTAB_H

#include <stdbool.h>
#include <stddef.h>
#include "tcpclose.h"

struct tc_socktab {
	struct tc_sock_set *sets;	/* nsets tag lines */
	__u32 nsets;
};

/* Slots read per call of a reader: the records of slots first .. first + n - 1
 * into out; nonzero on failure. */
#define TC_SOCKTAB_CHUNK 256
typedef int (*tc_socktab_read_fn)(void *rctx, __u32 first, __u32 n, struct tc_sock *out);

/* Records in use: tagged, not being ended. */
__u64 tc_socktab_count(const struct tc_socktab *t);
/* Each record in use, as read (the kernel may be writing it), to fn with its
 * slot and socket address; stops at, and returns, fn's first nonzero (or
 * -EIO if a read fails). */
int tc_socktab_walk(const struct tc_socktab *t, tc_socktab_read_fn read, void *rctx,
		    int (*fn)(void *ctx, __u32 slot, __u64 addr, const struct tc_sock *rec),
		    void *ctx);
/* The kernel's tc_sock_take() / tc_sock_release(), for the sweep where no
 * BPF program can run it (kernels without syscall programs). */
bool tc_socktab_take(const struct tc_socktab *t, __u32 slot, __u64 addr);
void tc_socktab_release(const struct tc_socktab *t, __u32 slot, __u64 keep);

#endif
