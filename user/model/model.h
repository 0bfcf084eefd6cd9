/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The plain data model every renderer reads: filled by collect.c from the
 * maps (or by tests by hand), never by a renderer.
 */
#ifndef TCPCLOSE_MODEL_H
#define TCPCLOSE_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include "tcpclose.h"
#include "ports.h"

struct tc_proc_row {
	struct tc_proc_key key;
	struct tc_counts c;
	const char *cgroup;	/* its cgroup v2 path, NULL when unknown (cgroups.c owns it) */
};

struct tc_peer_row {
	struct tc_peer_key key;
	struct tc_counts c;
	struct tc_ports ports;	/* client rows, when their netns was surveyed */
};

/* Resets we sent for no socket of ours (reset.bpf.c): no process, so by
 * netns, local port, remote address and reason. */
struct tc_nosock_row {
	struct tc_nosock_key key;
	__u64 resets;
};

/* What a netns's sysctls say about ports and TIME_WAIT (read inside it). */
struct tc_netns_info {
	__u32 ino;
	int found;		/* entered and read; else the rest is unknown */
	__u32 port_lo, port_hi;
	__u32 usable;		/* tc_usable_ports() */
	int tw_reuse;		/* net.ipv4.tcp_tw_reuse */
	int max_tw_buckets;	/* net.ipv4.tcp_max_tw_buckets */
	int fin_timeout;	/* net.ipv4.tcp_fin_timeout */
	int tw_recycle;		/* net.ipv4.tcp_tw_recycle; -1: gone (4.12+) */
	long long tw_overflow_mib; /* TcpExtTCPTimeWaitOverflow since the netns began; -1 unread */
	__u64 time_wait;	/* TIME_WAIT sockets in it now (all destinations) */
	__u64 sockets;		/* sockets holding a local port now */
	int listed;		/* every socket was read (the iterator ran to its end) */
};

/* What the tracer itself saw go wrong or get dropped. */
struct tc_health {
	__u64 stat[TC_STAT_MAX];
	__u64 socks_live;	/* records still open at collection */
	__u64 socks_evicted;	/* births the full socket table had no slot for */
	__u64 procs_evicted;	/* process rows evicted (their counts stay in totals) */
	__u64 peers_evicted;
	__u64 tws_live;		/* timewait stays followed at collection (tw hooks only) */
	__u64 tws_evicted;	/* ... evicted by --max-timewait: their ends never counted */
	__u64 events_lost;	/* ring buffer full (trace only) */
	__u64 missed_runs;	/* program runs the kernel skipped (recursion guard) */
	__u64 closes_unseen;	/* sockets that ended without their CLOSE reaching us */
	__u64 rss_max_kib;	/* tcpclose's own peak RSS, at collection */
	__u64 maps_kib;		/* memory of its BPF maps (the kernel's memlock figures) */
};

/* One of tcpclose's own BPF programs, with --prog-stats. */
#define TC_MAX_PROGS 16
struct tc_prog_stat {
	char name[32];
	__u64 runs;
	__u64 run_ns;
};

struct tc_model {
	const char *attach;		/* "tracepoint" | "fentry" | "kprobe" */
	const char *state_hook;		/* e.g. "tp_btf/inet_sock_set_state" */
	const char *owner_hook;		/* NULL when accept() is not hooked */
	const char *tw_hook;		/* NULL: TIME_WAIT ends and lengths unavailable */
	const char *port_hook;		/* NULL: port-search retries unavailable */
	const char *reset_hook;		/* NULL: resets to no socket not counted (null) */
	int tw_snapshot;		/* pre-existing TIME_WAIT sockets counted */
	int causes;			/* closes carry their cause (a recording may not) */
	int fin_by;			/* ... and whether shutdown() sent our FIN (same) */
	int idle;			/* timeouts carry their idle time (the kernel's HZ known) */
	const char *pend_hook;		/* NULL: our sockets' resets not hooked (pending.bpf.c),
					 * so the causes they tell (data after close, TCP_LINGER2,
					 * memory) are not counted */
	int fin_timeouts;		/* FIN_WAIT2 timeouts are counted (the timewait hooks,
					 * and a recording made since) */
	double duration_s;
	struct tc_counts totals;
	struct tc_health health;
	int prog_stats;			/* progs[] measured (kernel bpf_stats were on) */
	int nprogs;
	struct tc_prog_stat progs[TC_MAX_PROGS];
	struct tc_proc_row *procs;
	size_t nprocs, cap_procs;
	struct tc_peer_row *peers;
	size_t npeers, cap_peers;
	struct tc_netns_info *netns;	/* the netns of client rows, surveyed */
	size_t nnetns;
	/* reset_hook: every such reset by reason (exact), and by port and
	 * sender (the rows an LRU map still held; the rest is "other"). */
	__u64 nosock_total[TC_NR_MAX];
	struct tc_nosock_row *nosocks;
	size_t nnosocks, cap_nosocks;
};

void tc_model_init(struct tc_model *m);
void tc_model_free(struct tc_model *m);
void tc_model_reset_rows(struct tc_model *m);
int tc_model_add_proc(struct tc_model *m, const struct tc_proc_key *k,
		      const struct tc_counts *c);
int tc_model_add_peer(struct tc_model *m, const struct tc_peer_key *k,
		      const struct tc_counts *c);
int tc_model_add_nosock(struct tc_model *m, const struct tc_nosock_key *k, __u64 resets);
/* Resets for no socket in all (every reason), and what evicted rows held of them. */
__u64 tc_model_nosock_total(const struct tc_model *m);
__u64 tc_model_nosock_other(const struct tc_model *m);
/* The counts of the row of key, or NULL when the model has none. */
struct tc_counts *tc_model_proc_counts(struct tc_model *m, const struct tc_proc_key *k);
struct tc_counts *tc_model_peer_counts(struct tc_model *m, const struct tc_peer_key *k);
/* One row per key: a key-by-key map walk restarts from the first key when
 * an LRU evicts the key it stands on, reading rows twice. Of two copies the
 * one read later has counted more (counters only grow): it is kept. */
void tc_model_dedupe(struct tc_model *m);
/* Busiest first (closed desc; resets for no-socket rows), ties broken by a
 * stable key order. */
void tc_model_sort(struct tc_model *m);
/* Two client rows toward the same destination (netns, local address,
 * remote address:port): one port budget, whichever process connects. */
bool tc_same_dest(const struct tc_peer_key *a, const struct tc_peer_key *b);
/* An order of destinations (netns, family, remote port, addresses) that
 * groups the rows tc_same_dest() joins; roles are not compared. */
int tc_dest_cmp(const struct tc_peer_key *a, const struct tc_peer_key *b);
/*
 * What the rows do not hold: totals minus the sum of the process rows
 * (peers = 0) or of the peer rows (1), per counter, floored at 0: the
 * closes of rows the kernel evicted, folded into one "other" row. Lengths'
 * min and max cannot be subtracted: 0 (unknown) there.
 */
void tc_model_other(const struct tc_model *m, int peers, struct tc_counts *out);
/* Derive the eviction counts from inserts, deletes and live rows. */
void tc_model_finish_health(struct tc_model *m);

void tc_counts_add(struct tc_counts *dst, const struct tc_counts *src);
void tc_twcounts_add(struct tc_twcounts *dst, const struct tc_twcounts *src);
void tc_conncounts_add(struct tc_conncounts *dst, const struct tc_conncounts *src);
/* TIME_WAIT sockets alive now: entered + preexisting - ended. */
__s64 tc_tw_active(const struct tc_twcounts *t);
static inline __u64 tc_tw_min(const struct tc_twcounts *t)
{
	return t->dur_min_ms1 ? t->dur_min_ms1 - 1 : 0;
}

/* Histogram slot i covers [lo, hi) milliseconds. */
void tc_hist_bounds(int slot, double *lo, double *hi);
/* q-quantile (0..1) of a log2 histogram, interpolated within the bucket
 * narrowed to the smallest and largest value seen; -1 when empty. */
double tc_hist_quantile(const __u64 *hist, int n, double q, __u64 min, __u64 max);
double tc_counts_avg_lifetime_ms(const struct tc_counts *c);

#endif
