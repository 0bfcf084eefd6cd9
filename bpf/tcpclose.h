/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Every struct and enum shared between the BPF programs and user space.
 * Plain fixed-width types only: this header is compiled by clang -target bpf
 * (against vmlinux.h) and by gcc in user space and the unit tests.
 */
#ifndef TCPCLOSE_H
#define TCPCLOSE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define TC_COMM_LEN 16
#define TC_ADDR_LEN 16

/* Kernel TCP states (include/net/tcp_states.h); stable ABI, mirrored here so
 * user space and the pure logic need no kernel header. */
enum tc_tcp_state {
	TC_ESTABLISHED = 1,
	TC_SYN_SENT,
	TC_SYN_RECV,
	TC_FIN_WAIT1,
	TC_FIN_WAIT2,
	TC_TIME_WAIT,
	TC_CLOSE,
	TC_CLOSE_WAIT,
	TC_LAST_ACK,
	TC_LISTEN,
	TC_CLOSING,
	TC_NEW_SYN_RECV,
	TC_BOUND_INACTIVE,
	TC_STATE_MAX,
};

/* How a socket's life ended: who sent FIN first, or why there was no FIN. */
enum tc_close_kind {
	TC_CK_LOCAL_FIRST = 0,	/* ESTABLISHED->FIN_WAIT1: we sent FIN first */
	TC_CK_REMOTE_FIRST,	/* ESTABLISHED->CLOSE_WAIT: the peer did */
	TC_CK_SIMULTANEOUS,	/* FIN_WAIT1->CLOSING: both at once */
	TC_CK_RESET_SENT,	/* abortive close by us (SO_LINGER 0, unread data, ss -K) */
	TC_CK_RESET_RECEIVED,	/* the peer reset an established connection */
	TC_CK_NEVER_ESTABLISHED,/* connect failed: refused, timed out, aborted */
	TC_CK_TIMEOUT,		/* established, then retransmits/keepalive gave up */
	/* Ended, but the kernel skipped the program run of its CLOSE: found by
	 * the sweep or by a new socket at its address (tc_unseen_apply). */
	TC_CK_UNSEEN,
	TC_CK_MAX,
	TC_CK_NONE = 0xff,	/* still open, or not classified yet */
};

/*
 * Why a socket ended abortively, told at ->CLOSE from its own fields
 * (closestate.h, tc_close_cause): a reset we sent from a socket still held
 * by its process, a timeout in any state, or the state a received reset
 * hit; by the reset that follows a close (pending.bpf.c): the resets the
 * kernel sends for data after close(), TCP_LINGER2 < 0 and memory; and at
 * the end of a timewait socket that expired in the FIN_WAIT2 substate.
 * Recordings made before those four were told number the timeouts 3 lower
 * and the resets received 4 (replay.c maps them).
 */
enum tc_cause {
	TC_CAUSE_NONE = 0,	/* not an abort of ours, nor a timeout */
	TC_CAUSE_UNREAD_DATA,	/* close() tossed unread data (TcpExtTCPAbortOnClose) */
	TC_CAUSE_LINGER_ZERO,	/* close() with SO_LINGER 0 (counted in TcpExtTCPAbortOnData) */
	TC_CAUSE_KILLED,	/* tcp_abort(): ss -K, bpf_sock_destroy() (ECONNABORTED) */
	TC_CAUSE_RESET_OTHER,	/* tcp_disconnect() otherwise: connect(AF_UNSPEC), a
				 * listener closed before accept() took the child */
	TC_CAUSE_DATA_AFTER_CLOSE,/* new data came after close() or shutdown(SHUT_RD):
				 * the kernel resets (TcpExtTCPAbortOnData) */
	TC_CAUSE_LINGER2,	/* TCP_LINGER2 < 0: an orphan reset where it would
				 * wait in FIN_WAIT2 (TcpExtTCPAbortOnLinger, or
				 * ...OnData when the ACK of its FIN came after close()) */
	TC_CAUSE_MEMORY,	/* too many orphans or TCP memory short at close()
				 * (TcpExtTCPAbortOnMemory) */
	TC_CAUSE_SYN,		/* connect()'s SYN unanswered (tcp_syn_retries) */
	TC_CAUSE_RETRANSMITS,	/* data unacknowledged (tcp_retries2) */
	TC_CAUSE_ORPHAN,	/* ... after close() (tcp_orphan_retries) */
	TC_CAUSE_USER_TIMEOUT,	/* TCP_USER_TIMEOUT ran out */
	TC_CAUSE_KEEPALIVE,	/* keepalive probes unanswered */
	TC_CAUSE_ZERO_WINDOW,	/* zero-window probes unanswered */
	TC_CAUSE_TIMEOUT_OTHER,	/* a timeout none of the above (a TFO SYN-ACK) */
	TC_CAUSE_FIN_WAIT2,	/* an orphan's FIN_WAIT2 ran out (tcp_fin_timeout): the
				 * peer never sent its FIN. Counted when its timewait
				 * socket expires in that substate, with the timewait
				 * hooks; no abort, no reset, no kernel counter */
	TC_CAUSE_RX_ESTABLISHED,/* a reset received: in ESTABLISHED, */
	TC_CAUSE_RX_CLOSE_WAIT,	/* after the peer's FIN (EPIPE), */
	TC_CAUSE_RX_FIN_SENT,	/* after ours (FIN_WAIT1/2, CLOSING, LAST_ACK), */
	TC_CAUSE_RX_HANDSHAKE,	/* in the handshake (a connect refused, SYN_RECV) */
	TC_CAUSE_MAX,
};
#define TC_CAUSE_FIRST_TIMEOUT TC_CAUSE_SYN	/* .. TC_CAUSE_FIN_WAIT2, the last */
#define TC_CAUSE_FIRST_AFTER TC_CAUSE_DATA_AFTER_CLOSE	/* told by the reset after */
#define TC_CAUSE_N_AFTER 3
#define TC_CAUSE_FIRST_RECEIVED TC_CAUSE_RX_ESTABLISHED

enum tc_role {
	TC_ROLE_UNKNOWN = 0,	/* socket already open when tracing started */
	TC_ROLE_CLIENT,		/* we connected */
	TC_ROLE_SERVER,		/* we accepted */
};

/* Attach mode of the state-machine hook; chosen at run time by probing. */
enum tc_attach {
	TC_ATTACH_AUTO = 0,
	TC_ATTACH_FENTRY,
	TC_ATTACH_KPROBE,
	TC_ATTACH_TRACEPOINT,
};

/* Global counters (per-CPU array, index = enum tc_stat). */
enum tc_stat {
	/* Was "state changes seen": no longer counted, an add on every
	 * transition (the programs' run counts, --prog-stats, say it). The
	 * slot stays so recorded stat arrays keep their indexes. */
	TC_STAT_RETIRED0 = 0,
	TC_STAT_SOCK_INSERTS,		/* socket records created */
	TC_STAT_SOCK_DELETES,		/* socket records finished at CLOSE */
	TC_STAT_SOCK_UNTRACKED,		/* first seen mid-life (opened before start, or evicted) */
	TC_STAT_SOCK_INSERT_FAIL,	/* could not create a record */
	TC_STAT_PROC_INSERTS,		/* new per-process rows */
	TC_STAT_PEER_INSERTS,		/* new per-peer rows */
	TC_STAT_AGG_FAIL,		/* could not create an aggregation row */
	TC_STAT_RB_LOST,		/* trace events dropped: ring buffer full */
	TC_STAT_OWNER_ACCEPT,		/* owners captured at accept() */
	TC_STAT_OWNER_MISSING,		/* closed with no process-context owner seen */
	TC_STAT_FILTERED,		/* closed sockets dropped by -p/-c/--cgroup filters */
	TC_STAT_TW_UNKNOWN,		/* timewait timer events for sockets not followed */
	TC_STAT_TW_INSERT_FAIL,		/* could not create a timewait record */
	/* Closes never seen: the kernel skipped the runs (not always counted as
	 * missed: see README). A new socket found its address's old record ... */
	TC_STAT_STALE_AT_BIRTH,
	/* ... or the survey found the socket of a record gone (sweep.bpf.c,
	 * or user space where that cannot load). Both are charged to their
	 * rows as TC_CK_UNSEEN, a filtered owner's excepted. */
	TC_STAT_SWEPT,
	/* A close a reset of ours may follow (pending.bpf.c) that found the
	 * pending table full: charged at once, as a reset received or a FIN,
	 * without waiting for the reset. */
	TC_STAT_PEND_FULL,
	TC_STAT_MAX,
};

/* Addresses are normalised in the kernel: v4-mapped IPv6 becomes AF_INET. */
struct tc_tuple {
	__u8 laddr[TC_ADDR_LEN];
	__u8 raddr[TC_ADDR_LEN];
	__u16 lport;		/* host byte order */
	__u16 rport;
	__u16 family;		/* AF_INET or AF_INET6 */
	__u16 pad;
};

struct tc_owner {
	__u64 cgroup_id;
	__u32 tgid;
	__u32 in_cgroup;	/* --cgroup: taken in a task at or below it */
	char comm[TC_COMM_LEN];	/* the process's name (its thread group leader's), as ps says */
	char thread[TC_COMM_LEN]; /* the thread that did it (a pool's worker, often), events only */
};

/* Per-socket record, in the socket table while its socket lives. */
struct tc_sock {
	struct tc_tuple tuple;
	struct tc_owner owner;
	__u64 start_ns;		/* SYN_SENT / SYN_RECV, or first sighting */
	__u64 path;		/* state path, 4 bits a state, oldest in the low bits */
	__u32 netns;
	__u8 role;		/* enum tc_role */
	__u8 kind;		/* enum tc_close_kind, TC_CK_NONE until known */
	__u8 path_len;		/* states recorded in path (saturates at 16) */
	__u8 flags;		/* TC_SF_* */
	__u16 err;		/* sk_err at CLOSE */
	__u16 retries;		/* connect(): candidate ports rejected (saturates) */
	__u16 reuse_refused;	/* connect(): timewait 4-tuples it could not take */
	__u8 connfail;		/* enum tc_connect_fail */
	__u8 cause;		/* enum tc_cause, at CLOSE */
	__u32 slot;		/* its own slot in the socket table (socktab.bpf.h) */
	__u32 idle1;		/* at CLOSE: a timeout's idle seconds + 1 (tc_idle_wanted,
				 * HZ known), else 0 */
};

/* Why a connect() failed before its SYN left (SYN_SENT->CLOSE at once). */
enum tc_connect_fail {
	TC_CF_NONE = 0,
	TC_CF_PORT_EXHAUSTED,	/* EADDRNOTAVAIL: no ephemeral port fit (none chosen) */
	TC_CF_BIND_CONFLICT,	/* EADDRNOTAVAIL: bind() fixed the port; its 4-tuple was taken */
	TC_CF_OTHER,		/* a port was chosen, then something else failed */
};

/* log2 buckets of rejected ports per connect(): 0, 1, 2-3, 4-7, ... */
#define TC_RETRY_HIST 16

/* The connecting side of client rows. */
struct tc_conncounts {
	__u64 attempts;		/* sockets that entered SYN_SENT (closed since) */
	__u64 port_exhausted;
	__u64 bind_conflict;
	__u64 other_failed;
	__u64 port_retries;	/* candidate ports rejected (fentry/kprobe only) */
	__u64 reuse_refused;	/* ... of which timewait 4-tuples too young, or reuse off */
	__u64 retry_hist[TC_RETRY_HIST];
};

#define TC_SF_UNTRACKED   0x01	/* start of life not seen */
#define TC_SF_OWNER       0x02	/* owner captured in process context */
#define TC_SF_TUPLE       0x04	/* tuple complete (ports known) */
#define TC_SF_TIMEWAIT    0x08	/* a timewait socket took over at CLOSE */
#define TC_SF_FIN_IN      0x10	/* the peer's FIN arrived (SOCK_DONE) */
#define TC_SF_OVERFLOW    0x20	/* should have become timewait; the table was full */
#define TC_SF_FIN_SHUTDOWN 0x40	/* our FIN was sent by shutdown(), not close() */
#define TC_PATH_MAX       16

/* How a stay in TIME_WAIT (or the FIN_WAIT2 substate) ended. */
enum tc_tw_end {
	TC_TWE_EXPIRED = 0,	/* its timer ran out */
	TC_TWE_REUSED,		/* a connect() took its 4-tuple (tcp_tw_reuse) */
	TC_TWE_SYN_RECYCLED,	/* an incoming SYN for the 4-tuple replaced it */
	TC_TWE_KILLED,		/* RST, netns teardown, anything else */
	TC_TWE_MAX,
};

/* log2 buckets of milliseconds: [0,1), [1,2), [2,4), ... [2^22, inf) */
#define TC_TW_HIST 24

struct tc_twcounts {
	__u64 entered;		/* timewait sockets created (either substate) */
	__u64 fin_wait2;	/* ... of which began in the FIN_WAIT2 substate */
	__u64 ended[TC_TWE_MAX];
	__u64 overflow;		/* not created: tcp_max_tw_buckets was full */
	__u64 preexisting;	/* already in TIME_WAIT when tracing started */
	__u64 reuse_hits;	/* connect side: this row's connect()s took a timewait 4-tuple */
	__u64 dur_count;	/* stays whose start we saw, ended */
	__u64 dur_sum_ms;	/* ... their lengths added (Prometheus _sum) */
	__u64 dur_max_ms;
	__u64 dur_min_ms1;	/* shortest stay + 1 (0: none yet) */
	__u64 hist[TC_TW_HIST];
};

/* Aggregated counters: per-CPU values summed by user space. */
struct tc_counts {
	__u64 closed;
	__u64 kind[TC_CK_MAX];
	__u64 bytes_in;		/* payload received (FIN not counted) */
	__u64 bytes_out;	/* payload sent once (retransmissions not recounted) */
	__u64 segs_in;		/* data segments */
	__u64 segs_out;
	__u64 lifetime_ns;	/* sum over closed sockets */
	__u64 one_exchange;	/* <= 1 data segment each way: one request, one reply */
	__u64 fin_then_reset;	/* orderly close begun (FIN), ended by a reset */
	__u64 fin_shutdown;	/* our FIN sent by shutdown(), the socket still held (a
				 * half-close), not by close() */
	__u64 timewait;		/* left a timewait socket behind (TIME_WAIT or FIN_WAIT2) */
	__u64 cause[TC_CAUSE_MAX];	/* abortive closes by enum tc_cause ([0] unused) */
	/* Timeouts of a connection once established (tc_idle_wanted): how long
	 * the peer had been silent (nothing received, data or ACK) when the
	 * kernel gave up, in whole seconds. Counted only where the kernel's HZ
	 * is known (config setting jiffies_hz). */
	__u64 idle_count;
	__u64 idle_sum_s;
	__u64 idle_max_s;
	struct tc_twcounts tw;
	struct tc_conncounts conn;
};

struct tc_proc_key {
	__u64 cgroup_id;
	__u32 tgid;
	__u32 pad;
	char comm[TC_COMM_LEN];
};

/*
 * Client sockets aggregate by destination (the ephemeral local port is 0),
 * server sockets by (listening addr:port, client addr) (remote port is 0).
 */
struct tc_peer_key {
	struct tc_proc_key proc;
	struct tc_tuple tuple;
	__u32 netns;
	__u8 role;
	__u8 pad[3];
};

/* A live timewait socket: keyed by netns + 4-tuple, which the kernel keeps
 * unique among established and timewait sockets. */
struct tc_tw_key {
	struct tc_tuple tuple;
	__u32 netns;
	__u32 pad;
};

struct tc_tw {
	struct tc_peer_key row;	/* where its counts go: the closing socket's rows */
	__u64 start_ns;		/* 0: found at start, length unknown */
	__u64 net;		/* its struct net: tells a netns teardown (tw_func.bpf.c) */
};

/* A timewait timer cancelled in softirq: re-arm, SYN recycle or kill is
 * told by what follows on the same CPU (see tw_timer.bpf.c). */
struct tc_tw_pending {
	__u64 tw;		/* the inet_timewait_sock, 0 when empty */
	__u64 ts_ns;
	struct tc_tw_key key;
};

/* What a ring buffer record is: every record starts with its type. */
enum tc_ev_type {
	TC_EV_CLOSE = 1,	/* struct tc_event */
	TC_EV_TW,		/* struct tc_tw_event (record only) */
	TC_EV_NOSOCK = 4,	/* struct tc_nosock_event (record only; 3 is a recording's port survey) */
};

/*
 * A reset we sent that no socket of ours owns, so no process either: the
 * kernel's answer to a segment for which it has no socket (a port nobody
 * listens on, a connection it has already forgotten), or one a timewait
 * socket sends. Told by enum sk_rst_reason (6.10+: reset.bpf.c).
 */
enum tc_nosock_reason {
	TC_NR_NO_SOCKET = 0,	/* SK_RST_REASON_NO_SOCKET */
	TC_NR_TIME_WAIT,	/* SK_RST_REASON_TCP_TIMEWAIT_SOCKET */
	TC_NR_MAX,
};

/* Counted per netns, local port, remote address and reason. */
struct tc_nosock_key {
	__u8 raddr[TC_ADDR_LEN];	/* who was answered */
	__u32 netns;
	__u16 lport;		/* the port the segment came to (host byte order) */
	__u16 family;
	__u8 reason;		/* enum tc_nosock_reason */
	__u8 pad[7];
};

/* Totals by reason (per-CPU), which evicted rows leave untouched. */
struct tc_nosock_totals {
	__u64 resets[TC_NR_MAX];
};

/* One such reset, for `record` (the rows are rebuilt from these). */
struct tc_nosock_event {
	__u32 type;		/* TC_EV_NOSOCK */
	__u32 pad;
	__u64 ts_ns;
	struct tc_nosock_key key;
};

/* One closed socket, for `trace` and `record` (ring buffer): everything
 * its close added to the rows, so the rows can be rebuilt from events. */
struct tc_event {
	__u32 type;		/* TC_EV_CLOSE */
	__u8 cause;		/* enum tc_cause */
	__u8 pad0;
	__u16 idle_s;		/* a timeout: the peer silent this long (tc_counts.idle_*),
				 * saturated; 0 otherwise */
	__u64 ts_ns;		/* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u64 lifetime_ns;
	__u64 bytes_in;
	__u64 bytes_out;
	__u64 path;
	struct tc_tuple tuple;
	struct tc_owner owner;
	__u32 segs_in;
	__u32 segs_out;
	__u32 netns;
	__u8 role;
	__u8 kind;
	__u8 path_len;
	__u8 flags;
	__u16 err;		/* sk_err at CLOSE: ECONNRESET, ETIMEDOUT, ... or 0 */
	__u16 retries;		/* connect(): candidate ports rejected */
	__u16 reuse_refused;
	__u8 connfail;		/* enum tc_connect_fail */
	__u8 oldstate;		/* the state it left for CLOSE */
};

/* One timewait event as the rows got it (tc_tw_bump2): `record` only. */
struct tc_tw_event {
	__u32 type;		/* TC_EV_TW */
	__s32 arg;
	__u64 ts_ns;
	__s64 dur_ms;		/* its length, -1 unknown */
	struct tc_peer_key row;	/* the rows charged */
	__s32 ev;		/* enum tc_twv (rowmath.h) */
	__s32 ev2;		/* a second event for the same rows, or -1 */
};

/* One socket of a netns, from the port snapshot iterator (port_survey.bpf.c):
 * what holds ephemeral ports toward each destination right now. */
struct tc_portrec {
	struct tc_tuple tuple;	/* lport: the local port (0 when none yet) */
	__u8 state;		/* enum tc_tcp_state */
	__u8 substate;		/* TIME_WAIT: TC_TIME_WAIT or TC_FIN_WAIT2 (tw_substate) */
	__u8 pad[6];
};

/*
 * The sweep's request to the kernel (sweep.bpf.c, run by BPF_PROG_TEST_RUN):
 * charge the record at key, if it is still the one judged, to its rows as a
 * close never seen, and delete it. The kernel writes back what it charged.
 */
enum tc_sweep_res {
	TC_SWR_GONE = 0,	/* no record, or another socket's now: nothing done */
	TC_SWR_CHARGED,		/* rec charged to totals and rows, and deleted */
	TC_SWR_FILTERED,	/* deleted; -p/-c/--cgroup leave its owner out */
};

struct tc_sweep_arg {
	__u64 key;		/* in: its socket's address (the slot's tag) */
	__u64 start_ns;		/* in: the record judged */
	__u32 slot;		/* in: where it lies in the socket table */
	__u32 tw;		/* in: its tuple is in TIME_WAIT now: TC_TIME_WAIT or
				 * TC_FIN_WAIT2 (the substate), 0 none */
	__u32 res;		/* out: enum tc_sweep_res */
	__u32 pad;
	struct tc_sock rec;	/* out: the record as charged */
};

/*
 * The socket table (bpf/socktab.bpf.h): the records of live sockets, in
 * sets of TC_SOCK_WAYS slots. A socket's record lies in one of the two sets
 * its address hashes to; a set's tags (the struct sock addresses, 0 when
 * free) fill one cache line, and the records lie in a parallel array at
 * set * TC_SOCK_WAYS + way. User space maps the tags, to count and sweep
 * the records (user/model/socktab.h).
 */
#define TC_SOCK_WAYS 8
/* A tag with this bit set: the record is being ended by whoever set it
 * (its CLOSE, the sweep, a birth finding it stale); addresses are aligned. */
#define TC_SOCK_BUSY 1ULL

struct tc_sock_set {
	__u64 tag[TC_SOCK_WAYS];
};

/* The programs that may need a scratch record or address (maps.bpf.h), one
 * slot each per CPU: a program may interrupt another on its CPU, never
 * itself. */
enum tc_scratch {
	TC_SCRATCH_STATE = 0,	/* tcp_set_state / inet_sock_set_state */
	TC_SCRATCH_STATE_INET,	/* inet_sk_set_state (function hooks) */
	TC_SCRATCH_ACCEPT,
	TC_SCRATCH_RESET,	/* tcp_send_reset of a socket of ours (pending.bpf.c) */
	TC_SCRATCH_SLOTS,
};

#endif /* TCPCLOSE_H */
