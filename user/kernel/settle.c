// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The closes a reset of ours may follow (pending.bpf.c) wait in the kernel's
 * pending table; those no reset followed are charged here, as classified at
 * their CLOSE, by a test run of the settle program per entry.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cmds.h"
#include "settle.h"
#include "rowmath.h"
#include "tcpclose.skel.h"

/* A close pending this long got no reset of its own (pending.bpf.c). */
#define SETTLE_AGE_NS TC_PEND_RST_NS

/* Charge the pending closes at least min_age_ns old; how many are younger.
 * One caller at a time (the settling thread, a sample: the exporter's is
 * another thread): a test run of the sleepable settle program can be
 * preempted, and another's on its CPU would reuse its per-CPU copy. */
static pthread_mutex_t settle_lock = PTHREAD_MUTEX_INITIALIZER;

static int settle_older_locked(const struct tc_tracer *t, __u64 min_age_ns)
{
	int fd = bpf_map__fd(t->skel->maps.pending);
	int prog = bpf_program__fd(t->skel->progs.tc_pend_settle);
	__u32 max = bpf_map__max_entries(t->skel->maps.pending), n = 0;
	struct tc_pend_key *keys = calloc(max, sizeof(*keys)), key;
	__u64 now = tc_now_ns();
	int young = 0;

	if (!keys)
		return 0;
	/* Keys first: the kernel deletes entries while we walk. */
	for (void *prev = NULL; n < max && !bpf_map_get_next_key(fd, prev, &key); prev = &keys[n - 1])
		keys[n++] = key;
	for (__u32 i = 0; i < n; i++) {
		struct tc_pend_arg a = { .key = keys[i] };
		LIBBPF_OPTS(bpf_test_run_opts, ro, .ctx_in = &a, .ctx_size_in = sizeof(a));

		/* (a close after our clock read is younger than any age) */
		if (min_age_ns && (keys[i].now > now || now - keys[i].now < min_age_ns))
			young++;
		else
			bpf_prog_test_run_opts(prog, &ro);	/* gone meanwhile: res 0 */
	}
	free(keys);
	return young;
}

static int settle_older(const struct tc_tracer *t, __u64 min_age_ns)
{
	int young;

	pthread_mutex_lock(&settle_lock);
	young = settle_older_locked(t, min_age_ns);
	pthread_mutex_unlock(&settle_lock);
	return young;
}

void tc_tracer_settle(const struct tc_tracer *t)
{
	if (!t->pend_hook)
		return;
	/* Attached, a close younger than that may still get its reset. */
	if (t->detached) {
		settle_older(t, 0);
		return;
	}
	/* a few rounds: what closed just before a last sample counts in it */
	for (int round = 0; settle_older(t, SETTLE_AGE_NS) && round < 3; round++) {
		struct timespec ts = { 0, (long)SETTLE_AGE_NS };

		nanosleep(&ts, NULL);	/* then settle again */
	}
}

/*
 * The closes no reset followed are charged every 100 ms by a thread of
 * their own, whatever the command does meanwhile (a report that samples
 * only at its end, an exporter nobody scrapes): a pending close must not
 * wait long (it holds its address: the next socket there would not wait)
 * nor fill the table. Signals stay with the main thread. Started once the
 * process has dropped what it need not keep (start.c): a thread has its
 * own credentials and seccomp filter, and inherits them.
 */
static void *settler_main(void *arg)
{
	struct tc_tracer *t = arg;
	const struct timespec tick = { 0, 100 * 1000 * 1000 };

	while (!__atomic_load_n(&t->settler_stop, __ATOMIC_ACQUIRE)) {
		nanosleep(&tick, NULL);
		settle_older(t, SETTLE_AGE_NS);
	}
	return NULL;
}

int tc_settler_run(struct tc_tracer *t)
{
	sigset_t all, old;
	int err;

	if (!t->pend_hook || t->settler_on)
		return 0;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	t->settler_stop = 0;
	err = pthread_create(&t->settler, NULL, settler_main, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		errno = err;
		return -1;
	}
	t->settler_on = true;
	return 0;
}

void tc_settler_stop(struct tc_tracer *t)
{
	if (!t->settler_on)
		return;
	__atomic_store_n(&t->settler_stop, 1, __ATOMIC_RELEASE);
	pthread_join(t->settler, NULL);
	t->settler_on = false;
}
