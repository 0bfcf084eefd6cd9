/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Maps shared by every *.bpf.c. maps.bpf.c defines them (TC_MAPS_DEFINE), and
 * the settings of config.bpf.h; the other objects see extern declarations
 * that the BPF linker resolves.
 * Sizes here are defaults: user space resizes them before load.
 */
#ifndef TCPCLOSE_MAPS_BPF_H
#define TCPCLOSE_MAPS_BPF_H

#include "tcpclose.h"
#include "config.bpf.h"
#include "rowmath.h"

#ifdef TC_MAPS_DEFINE
#define TC_MAP
#else
#define TC_MAP extern
#endif

/* The socket table (tcpclose.h, socktab.bpf.h): tags by set, records by
 * slot. Arrays, not a hash: a record is found with no lock, no allocation
 * and one cache line of tags (docs/performance.md). A record whose CLOSE
 * never ran is found by the sweep, which frees its slot. */
TC_MAP struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct tc_sock_set);
} sock_sets SEC(".maps");

TC_MAP struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16384 * TC_SOCK_WAYS + 64 * TC_SCRATCH_SLOTS);	/* + scratch (below) */
	__type(key, __u32);
	__type(value, struct tc_sock);
} socks SEC(".maps");

/* Per CPU and per program: a socket address made a number (socktab.bpf.h).
 * A program is never re-entered on its CPU, but may interrupt another. The
 * record of a socket first seen at its CLOSE lies at the end of socks, in a
 * slot per CPU and program past the table's (tc_scratch_slot): the same
 * map as every other record, or the verifier would carry each state twice. */
struct tc_sock_scratch {
	__u64 addr;
};

TC_MAP struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TC_SCRATCH_SLOTS);
	__type(key, __u32);
	__type(value, struct tc_sock_scratch);
} sock_scratch SEC(".maps");

/* Aggregation rows: processes and peers come and go, so LRU as well. */
TC_MAP struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct tc_proc_key);
	__type(value, struct tc_counts);
} procs SEC(".maps");

TC_MAP struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct tc_peer_key);
	__type(value, struct tc_counts);
} peers SEC(".maps");

/* Totals never lose anything to eviction: per-CPU, no atomics, in [0] (the
 * state handler's). What another program adds to the same counters, one
 * that can interrupt the state handler on its CPU or be preempted (a reset
 * in softirq, the sweep, the settling), goes to [1] with atomics: a plain
 * add interrupted between its load and its store would lose it. User space
 * adds both. */
TC_MAP struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct tc_counts);
} totals SEC(".maps");

TC_MAP struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TC_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/* Closed-socket events for `trace`; nothing is written unless emit_events. */
TC_MAP struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} events SEC(".maps");

/* Live timewait sockets; LRU: a stay whose end we miss must not pin a slot. */
TC_MAP struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 262144);
	__type(key, struct tc_tw_key);
	__type(value, struct tc_tw);
} tws SEC(".maps");

/* Timewait timers just started, by 4-tuple: proof, at the full socket's
 * ->CLOSE a moment later, that a timewait socket really took over. */
TC_MAP struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct tc_tw_key);
	__type(value, __u64);
} tw_born SEC(".maps");

/* The socket each thread last connect()ed: tells a tw_reuse apart. Task
 * storage: found through the task itself, and gone with it. */
TC_MAP struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} connecting SEC(".maps");

TC_MAP struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tc_tw_pending);
} tw_pending SEC(".maps");

/* Resets answering no socket of ours (reset.bpf.c): by port and sender,
 * LRU (a port scan would fill it), and their totals. */
TC_MAP struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct tc_nosock_key);
	__type(value, __u64);
} nosocks SEC(".maps");

TC_MAP struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tc_nosock_totals);
} nosock_totals SEC(".maps");

/* Closes a reset of ours may follow (pending.bpf.c), by socket address and
 * time: held microseconds when the reset comes, until user space's next
 * look (100 ms) when none does. A hash, not LRU: an entry is a close not
 * yet counted. Full, a close is charged at once as it looks
 * (TC_STAT_PEND_FULL). */
TC_MAP struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct tc_pend_key);
	__type(value, struct tc_pend);
} pending SEC(".maps");

/* The latest pending close of each address: where its reset finds it. LRU:
 * one lost leaves its close to user space, as one no reset followed. */
TC_MAP struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u64);
} pend_last SEC(".maps");

/* An orphan the kernel reset for memory from its own timer, before it
 * ended (tcp_out_of_resources): its send sequence, and when. Its CLOSE,
 * a moment later, looks like any orphan's end; this tells it. LRU: one
 * unclaimed (the CLOSE not ours to count) must not stay. */
struct tc_rst_mark {
	__u64 ts_ns;
	__u32 write_seq;
	__u32 pad;
};

TC_MAP struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, struct tc_rst_mark);
} rst_before SEC(".maps");

/* A pending close being built or charged: too large for the stack. One
 * per CPU and program (enum tc_pend_scratch): they interrupt each other. */
enum tc_pend_scratch { TC_PS_STATE = 0, TC_PS_RESET, TC_PS_SETTLE, TC_PS_MAX };

TC_MAP struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TC_PS_MAX);
	__type(key, __u32);
	__type(value, struct tc_pend);
} pend_scratch SEC(".maps");

static __always_inline void tc_stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		(*v)++;
}

#endif /* TCPCLOSE_MAPS_BPF_H */
