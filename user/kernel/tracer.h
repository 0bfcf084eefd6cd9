/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The tracer's life: check, probe, open, configure, load, attach, detach. */
#ifndef TCPCLOSE_TRACER_H
#define TCPCLOSE_TRACER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <bpf/libbpf.h>
#include "args.h"
#include "socktab.h"

struct tcpclose_bpf;

struct tc_tracer {
	struct tcpclose_bpf *skel;
	int attach;			/* resolved enum tc_attach */
	const char *state_hook;		/* "tp_btf/inet_sock_set_state", ... */
	const char *owner_hook;		/* NULL if accept() could not be hooked */
	const char *tw_hook;		/* NULL if timewait timers could not be hooked */
	const char *port_hook;		/* NULL: connect()'s port search not hooked */
	const char *reset_hook;		/* NULL: resets answering no socket not counted */
	const char *pend_hook;		/* NULL: our sockets' resets not hooked: the causes
					 * they tell (pending.bpf.c) not counted */
	bool detached;			/* tc_tracer_detach() ran */
	pthread_t settler;		/* charges the closes no reset followed (settle.c) */
	bool settler_on;
	int settler_stop;
	bool survey;			/* the port survey iterator loaded */
	bool sweep_rows;		/* the sweep charges rows (sweep.bpf.c loaded) */
	int tw_attach;			/* family of the timewait hooks (enum tc_attach) */
	bool tw_snapshot;		/* pre-existing timewait sockets were counted */
	unsigned int hz;		/* the kernel's HZ: timeouts' idle times; 0 unknown */
	__u32 netns_ino;
	int stats_fd;			/* BPF_ENABLE_STATS: run time counted while open; -1 */
	__u64 maps_kib;			/* the maps' memory, as the kernel charges it */
	__u64 cgroup_id;		/* --cgroup, 0 for every cgroup */
	int cgroup_level;
	int surveyor_fd;		/* the privileged survey helper (surveyor.c); -1: in-process */
	int surveyor_pid;
	struct tc_socktab socktab;	/* the socket table, mapped (tracer.c) */
	size_t socktab_len;
};

/*
 * Everything up to attached programs. On failure returns -1 with a one-line
 * reason in err and nothing left attached or loaded.
 */
int tc_tracer_start(struct tc_tracer *t, const struct tc_opts *o, bool events,
		    char *err, size_t errlen);
void tc_tracer_stop(struct tc_tracer *t);

/* What commands ask of a started tracer, so none of them needs the
 * skeleton: a reader of the event ring buffer (trace, record; NULL with
 * errno on failure), the programs detached (record: from then on the maps
 * and the stream agree), and a map fd to probe access with (start.c). */
struct ring_buffer *tc_tracer_events(const struct tc_tracer *t, ring_buffer_sample_fn fn,
				     void *ctx);
void tc_tracer_detach(struct tc_tracer *t);
int tc_tracer_probe_fd(const struct tc_tracer *t);
#endif
