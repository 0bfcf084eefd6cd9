/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The load-time settings, all in one place. User space writes them into
 * the skeleton's .rodata before load (user/kernel/tracer.c); being constants then,
 * the verifier drops the code a setting turns off. maps.bpf.c defines them
 * (TC_MAPS_DEFINE); every other object sees extern declarations that the
 * BPF linker resolves, like the maps'.
 */
#ifndef TCPCLOSE_CONFIG_BPF_H
#define TCPCLOSE_CONFIG_BPF_H

#include "tcpclose.h"

#ifdef TC_MAPS_DEFINE
#define TC_SETTING(type, name, init) const volatile type name = init
#else
#define TC_SETTING(type, name, init) extern const volatile type name
#endif

/* Filters: 0 (empty) means every netns, process, name, cgroup. */
TC_SETTING(__u32, target_netns, 0);
TC_SETTING(__u32, target_tgid, 0);
TC_SETTING(char, target_comm[TC_COMM_LEN], {});
/* --cgroup: its id and depth; the owner's task must be at or below it. */
TC_SETTING(__u64, target_cgroup, 0);
TC_SETTING(__u32, target_cgroup_level, 0);

/* trace/record: a record per closed socket on the ring buffer. */
TC_SETTING(bool, emit_events, false);
/* record: timewait events too, so every row can be rebuilt. */
TC_SETTING(bool, record_events, false);
/* Wake the reader only when this much is queued; it polls on a timer too,
 * so a burst never costs one wakeup per event. */
TC_SETTING(__u64, wakeup_bytes, 1 << 20);

/* A timewait path is loaded (timers or functions): tw_born is filled and
 * stays are followed to their end. */
TC_SETTING(bool, tw_hooks, false);
/* TIME_WAIT through the timer tracepoints: a reuse is told by the thread's
 * connecting socket, which only that path needs recorded. */
TC_SETTING(bool, tw_timer_path, false);
/* Sets in the socket table (sock_sets' size): --max-sockets / TC_SOCK_WAYS. */
TC_SETTING(__u32, sock_nsets, 16384);
/* The port search is hooked (port_search.bpf.c): retries are counted. */
TC_SETTING(bool, port_hooks, false);
/* The kernel's HZ (its config), to tell a timeout's idle time in seconds
 * from jiffies; 0 unknown: no idle times counted. */
TC_SETTING(__u32, jiffies_hz, 0);
/* The resets of our own sockets are hooked (pending.bpf.c) and user space
 * settles what they leave: the closes one may follow wait for it. */
TC_SETTING(bool, defer_resets, false);

#endif /* TCPCLOSE_CONFIG_BPF_H */
