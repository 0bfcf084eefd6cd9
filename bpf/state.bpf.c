// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The TCP state machine: one handler behind four interchangeable hooks
 * (tp_btf, classic tracepoint, fentry, kprobe), of which user space loads
 * exactly one family. Sockets are followed from SYN_SENT/SYN_RECV to CLOSE,
 * classified by closestate.h, and added up in the kernel per process and
 * per peer; `trace` additionally gets one ring-buffer record per socket.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "maps.bpf.h"
#include "core.bpf.h"
#include "closestate.h"
#include "agg.bpf.h"
#include "owner.bpf.h"
#include "tw.bpf.h"
#include "socktab.bpf.h"

/*
 * A timeout's idle time: how long the peer had been silent when the kernel
 * gave up, as tcp_keepalive_timer() measures it (the later of the last
 * segment received and the last ACK), in seconds of the kernel's HZ.
 */
static __always_inline __u16 tc_idle_s(const struct tcp_sock *tp, bool direct)
{
	const struct inet_connection_sock *icsk = &tp->inet_conn;
	__u32 now = (__u32)bpf_jiffies64();	/* tcp_jiffies32 */
	__u32 a = now - TC_R(direct, tp, rcv_tstamp);
	__u32 b = now - TC_R(direct, icsk, icsk_ack.lrcvtime);
	__u32 hz = jiffies_hz, s;

	if (!hz)
		return 0;
	s = (a < b ? a : b) / hz;
	return s > 0xffff ? 0xffff : s;
}

/* What a closed socket adds to its rows, read from it at its CLOSE. */
static __always_inline void tc_close_fill(struct tc_closed *x, const struct sock *sk,
					  const struct tcp_sock *tp, const struct tc_sock *s,
					  __u64 now, int oldstate, bool direct)
{
	x->segs_in = TC_R(direct, tp, data_segs_in);
	x->segs_out = TC_R(direct, tp, data_segs_out);
	x->bytes_in = tc_payload_in(sk, tp, direct);
	x->bytes_out = tc_payload_out(tp, direct);
	x->lifetime_ns = now - s->start_ns;
	x->kind = s->kind;
	x->role = s->role;
	x->oldstate = oldstate;
	x->flags = s->flags;
	x->err = s->err;
	x->connfail = s->connfail;
	x->cause = s->cause;
	x->retries = s->retries;
	x->reuse_refused = s->reuse_refused;
	x->idle_s = s->idle1 ? s->idle1 - 1 : 0;
}

static __always_inline void tc_finish(const struct sock *sk, const struct tcp_sock *tp,
				      struct tc_sock *s, __u64 now, int oldstate, bool direct)
{
	struct tc_closed x = {};
	struct tc_peer_key rk;

	tc_close_fill(&x, sk, tp, s, now, oldstate, direct);
	tc_charge_closed(s, &x, now, &rk, false);
	/* Its timewait socket inherits the rows; the timewait hooks end the
	 * stay (without them, --light, nothing would: no record to keep). */
	if ((s->flags & TC_SF_TIMEWAIT) && tw_hooks) {
		struct tc_tw tw = { .row = rk, .start_ns = now,
				    .net = (__u64)TC_R(direct, sk, __sk_common.skc_net.net) };
		struct tc_tw_key tk = { .tuple = s->tuple, .netns = s->netns };

		if (bpf_map_update_elem(&tws, &tk, &tw, BPF_ANY))
			tc_stat_inc(TC_STAT_TW_INSERT_FAIL);
	}
}

/*
 * A close a reset of ours may follow (tc_rst_may_follow) waits for it in
 * the pending table, classified and measured as it is now: the reset's
 * program charges it with the cause it tells, user space as it is when
 * none came (pending.bpf.c). False: charge it now (not such a close; its
 * reset came before it, memory's from an orphan's timer: the cause set
 * here; or the table full).
 */
static __always_inline bool tc_pend_put(const struct sock *sk, const struct tcp_sock *tp,
					struct tc_sock *s, __u64 addr, __u64 now,
					int oldstate, int dead, bool direct)
{
	int need = tc_rst_may_follow(oldstate, s->err, dead, s->flags & TC_SF_TIMEWAIT);
	__u32 idx = TC_PS_STATE, seq;
	struct tc_pend_key key;
	struct tc_pend *p;

	if (need == TC_RF_NO)
		return false;
	seq = TC_R(direct, tp, write_seq);	/* which socket it is, to its reset */
	if (need == TC_RF_IF_RCV_SHUT) {
		if (!(TC_RB(direct, sk, sk_shutdown) & 1))	/* RCV_SHUTDOWN */
			return false;
	} else if (need == TC_RF_IF_UNACKED && TC_R(direct, tp, snd_una) == seq) {
		return false;
	}
	if (!s->err) {	/* an orphan: did its own timer reset it for memory just now? */
		struct tc_rst_mark *m = bpf_map_lookup_elem(&rst_before, &addr);

		if (m && now - m->ts_ns <= TC_PEND_RST_NS && m->write_seq == seq) {
			bpf_map_delete_elem(&rst_before, &addr);
			tc_reset_told(&s->cause, &s->flags, TC_CAUSE_MEMORY);
			return false;	/* charged now, told */
		}
	}
	p = bpf_map_lookup_elem(&pend_scratch, &idx);
	if (!p)
		return false;
	tc_close_fill(&p->x, sk, tp, s, now, oldstate, direct);
	p->now = now;
	p->rec = *s;
	p->linger2_neg = !s->err && oldstate == TC_FIN_WAIT2 && TC_R(direct, tp, linger2) < 0;
	p->write_seq = seq;
	key.addr = addr;
	key.now = now;
	if (bpf_map_update_elem(&pending, &key, p, BPF_NOEXIST)) {
		tc_stat_inc(TC_STAT_PEND_FULL);
		return false;
	}
	bpf_map_update_elem(&pend_last, &addr, &now, BPF_ANY);
	return true;
}

/* The fields tc_close_cause() weighs, read only for the closes that can
 * have a cause (tc_cause_wanted: aborts and timeouts). */
static __always_inline __u8 tc_read_cause(const struct sock *sk, const struct tcp_sock *tp,
					  int oldstate, int err, unsigned long skf, bool direct)
{
	const struct inet_connection_sock *icsk = &tp->inet_conn;
	struct tc_cause_in c = {
		.err = err, .oldstate = oldstate,
		.err_soft = TC_R(direct, sk, sk_err_soft),
		.dead = !!(skf & (1UL << bpf_core_enum_value(enum sock_flags, SOCK_DEAD))),
		.fin_in = !!(skf & (1UL << bpf_core_enum_value(enum sock_flags, SOCK_DONE))),
		.keepopen = !!(skf & (1UL << bpf_core_enum_value(enum sock_flags, SOCK_KEEPOPEN))),
		.retransmits = TC_R(direct, icsk, icsk_retransmits),
		.probes_out = TC_R(direct, icsk, icsk_probes_out),
		.user_timeout = TC_R(direct, icsk, icsk_user_timeout),
	};

	if (!err) {
		c.shutdown = TC_RB(direct, sk, sk_shutdown);
		c.unread = TC_R(direct, tp, rcv_nxt) - TC_R(direct, tp, copied_seq);
		c.linger_zero = (skf & (1UL << bpf_core_enum_value(enum sock_flags, SOCK_LINGER))) &&
				!TC_R(direct, sk, sk_lingertime);
		c.unacked = TC_R(direct, tp, snd_una) != TC_R(direct, tp, write_seq);
		c.repair = TC_RB(direct, tp, repair);
	} else if (oldstate == TC_SYN_SENT) {
		struct net *net = TC_R(direct, sk, __sk_common.skc_net.net);

		c.syn_limit = TC_R(direct, icsk, icsk_syn_retries);
		if (!c.syn_limit)
			c.syn_limit = TC_R(direct, net, ipv4.sysctl_tcp_syn_retries);
		if (bpf_core_field_exists(net->ipv4.sysctl_tcp_syn_linear_timeouts))
			c.syn_limit += TC_R(direct, net, ipv4.sysctl_tcp_syn_linear_timeouts);
	}
	return tc_close_cause(&c);
}

/* struct file's count before 6.13 (then a biased file_ref_t, f_ref). */
struct file___fcount {
	atomic_long_t f_count;
} __attribute__((preserve_access_index));

/*
 * Our FIN (->FIN_WAIT1, ->LAST_ACK: always in process context): sent by
 * shutdown(), the process still holding the socket's file (a half-close),
 * or by close() or the process's exit: the last reference to the file is
 * gone, and its release is what closes the socket (sk_shutdown cannot
 * tell: shutdown(SHUT_RDWR) sets it as close() does).
 */
static __always_inline bool tc_fin_by_shutdown(const struct sock *sk, bool direct)
{
	struct socket *so = TC_R(direct, sk, sk_socket);
	struct file *f;

	if (!so)
		return false;
	f = TC_R(direct, so, file);
	if (!f)
		return false;
	if (bpf_core_field_exists(f->f_ref))	/* alive: 0 (one ref) and up; released: < 0 */
		return (long)TC_R(direct, f, f_ref.refcnt.counter) >= 0;
	return TC_R(direct, (struct file___fcount *)f, f_count.counter) > 0;
}

/* A socket's first sighting is its start unless we joined mid-life. */
static __always_inline int tc_is_birth(int oldstate, int newstate)
{
	return tc_state_work(oldstate, newstate) == TC_WORK_BIRTH ||
	       oldstate == TC_SYN_RECV;	/* a child whose clone was not seen */
}

/* A new record: at a birth, or at the first sighting of a socket joined
 * mid-life (then flagged untracked). Returns its start time. */
static __always_inline __u64 tc_record_init(struct tc_sock *r, const struct sock *sk, int oldstate,
					    int newstate, int work, __u32 netns, bool direct)
{
	__u32 slot = r->slot;	/* the table's, not the record's to clear */
	const struct tcp_sock *tp;

	__builtin_memset(r, 0, sizeof(*r));
	r->slot = slot;
	r->kind = TC_CK_NONE;
	r->start_ns = bpf_ktime_get_ns();
	r->netns = netns;
	if (!tc_is_birth(oldstate, newstate))
		r->flags |= TC_SF_UNTRACKED;
	tc_path_push(&r->path, &r->path_len, oldstate);
	tc_classify(&r->role, &r->kind, oldstate, newstate, 0);
	if (newstate == TC_CLOSE)
		return r->start_ns;	/* the end reads the rest */
	tc_path_push(&r->path, &r->path_len, newstate);
	if (work == TC_WORK_OWNER || newstate == TC_SYN_SENT)
		tc_take_owner(r, sk, direct);
	if (work == TC_WORK_OWNER && tc_fin_by_shutdown(sk, direct))
		r->flags |= TC_SF_FIN_SHUTDOWN;
	tp = tc_tcp_sk(sk, direct);
	if (tp)
		tc_read_tuple(sk, tp, &r->tuple, direct);
	if (r->tuple.lport && r->tuple.rport)
		r->flags |= TC_SF_TUPLE;
	if (tw_timer_path && newstate == TC_SYN_SENT) {
		__u64 *c = bpf_task_storage_get(&connecting, bpf_get_current_task_btf(), NULL,
						BPF_LOCAL_STORAGE_GET_F_CREATE);

		if (c)
			*c = (__u64)sk;
	}
	return r->start_ns;
}

/*
 * Only the edges of a socket's life do work (tc_state_work): its birth, the
 * moment its client port is known, a close()/shutdown() that may name its
 * owner, and ->CLOSE, where the state it leaves and its own fields tell how
 * it closed. Every other transition returns before any map access.
 */
static __always_inline int tc_handle_state(const struct sock *sk, int oldstate, int newstate,
					   bool direct, __u32 who)
{
	const struct tcp_sock *tp = NULL;
	__u64 addr, now = 0;
	unsigned long skf;
	struct tc_sock *s;
	__u32 netns;
	int work, dead;

	if (!tc_is_lifecycle(oldstate, newstate))
		return 0;
	work = tc_state_work(oldstate, newstate);
	if (work == TC_WORK_NONE)
		return 0;
	netns = tc_sk_netns(sk, direct);
	if (target_netns && netns != target_netns)
		return 0;
	addr = direct ? tc_sk_addr(sk, who) : (__u64)sk;
	s = tc_sock_find(addr);
	/* A birth finding a record: an earlier socket at this address ended
	 * without its CLOSE reaching us. Charge what it knew, start afresh. */
	if (s && work == TC_WORK_BIRTH) {
		if (tc_sock_take(s->slot, addr)) {
			/* Its TIME_WAIT, if its timewait socket's birth was seen (no
			 * ->CLOSE took it from tw_born): the address is reused within
			 * milliseconds, the stay is usually not over (issue 21). */
			int born = tw_hooks ? tc_unseen_born(s) : 0;
			__u64 t = bpf_ktime_get_ns();

			tc_stat_inc(TC_STAT_STALE_AT_BIRTH);
			if (tc_charge_unseen(s, t, false) == TC_SWR_CHARGED)
				tc_unseen_over(s, born, t);
			tc_sock_release(s->slot, 0);
		}
		s = NULL;
	}
	if (!s) {
		/* Mid-life sockets are taken up where they can still be told
		 * apart: a close()/shutdown() or their end. */
		if (work == TC_WORK_PORTS)
			return 0;
		if (newstate == TC_CLOSE) {
			/* First seen at its end: no slot of the table, its
			 * program's scratch one. */
			s = tc_sock_own(tc_scratch_slot(who));
			if (!s)
				return 0;
		} else {
			s = tc_sock_claim(addr);
			if (!s) {
				/* Both its sets full: followed from its CLOSE, if at all. */
				if (work == TC_WORK_BIRTH)
					tc_stat_inc(TC_STAT_SOCK_INSERT_FAIL);
				return 0;
			}
		}
		now = tc_record_init(s, sk, oldstate, newstate, work, netns, direct);
		if (s->flags & TC_SF_UNTRACKED)
			tc_stat_inc(TC_STAT_SOCK_UNTRACKED);
		tc_stat_inc(TC_STAT_SOCK_INSERTS);
		if (newstate != TC_CLOSE) {
			tc_sock_release(s->slot, addr);	/* written: in use */
			return 0;
		}
	} else if (work == TC_WORK_OWNER) {
		/* The closer is the owner (a socket handed to another process
		 * is charged to the one that closes it); the same process
		 * only renames the thread, which only events show. */
		tc_path_push(&s->path, &s->path_len, newstate);
		if (tc_fin_by_shutdown(sk, direct))
			s->flags |= TC_SF_FIN_SHUTDOWN;
		if (!(s->flags & TC_SF_OWNER) ||
		    (__u32)(bpf_get_current_pid_tgid() >> 32) != s->owner.tgid)
			tc_take_owner(s, sk, direct);
		else if (emit_events)
			bpf_get_current_comm(s->owner.thread, sizeof(s->owner.thread));
	}

	/* The client's port, known since connect() hashed it (or it failed). */
	if (!(s->flags & TC_SF_TUPLE)) {
		tp = tc_tcp_sk(sk, direct);
		if (!tp)
			return 0;
		tc_read_tuple(sk, tp, &s->tuple, direct);
		if (s->tuple.lport && s->tuple.rport)
			s->flags |= TC_SF_TUPLE;
	}
	if (work != TC_WORK_END)
		return 0;
	/* Ours to end, unless the sweep has just judged it lost. */
	if (!tc_sock_take(s->slot, addr))
		return 0;

	if (!tp)
		tp = tc_tcp_sk(sk, direct);
	if (!tp) {	/* left to the sweep, as a CLOSE never seen */
		tc_sock_release(s->slot, addr);
		return 0;
	}
	s->err = tc_sk_err(sk, direct);
	if (oldstate == TC_SYN_SENT)
		s->connfail = tc_connect_failure(oldstate, newstate, tc_sk_segs_out(tp, direct),
						 s->tuple.lport, tc_sk_port_bound(sk, direct));
	skf = tc_sk_flags(sk, direct);
	if (skf & (1UL << bpf_core_enum_value(enum sock_flags, SOCK_DONE)))
		s->flags |= TC_SF_FIN_IN;
	dead = !!(skf & (1UL << bpf_core_enum_value(enum sock_flags, SOCK_DEAD)));
	if (tc_timewait_candidate(oldstate)) {
		int took_over;

		if (tw_hooks) {
			/* Exact: its timewait socket was just born (timer start,
			 * or inet_twsk_alloc() returning it). */
			struct tc_tw_key tk = { .tuple = s->tuple, .netns = s->netns };

			took_over = !bpf_map_delete_elem(&tw_born, &tk);	/* one walk, not two */
		} else {
			took_over = tc_sk_unhashed(sk, direct);
		}
		if (took_over)
			s->flags |= TC_SF_TIMEWAIT;
		else if (tc_is_tw_overflow(oldstate, 0, s->err, dead))
			s->flags |= TC_SF_OVERFLOW;
	}
	tc_classify(&s->role, &s->kind, oldstate, newstate, s->err);
	if (tc_cause_wanted(oldstate, s->err, dead, s->flags & (TC_SF_TIMEWAIT | TC_SF_OVERFLOW)))
		s->cause = tc_read_cause(sk, tp, oldstate, s->err, skf, direct);
	else
		s->cause = tc_received_cause(oldstate, s->err);
	s->idle1 = 0;
	if (jiffies_hz && tc_idle_wanted(s->cause, oldstate))
		s->idle1 = (__u32)tc_idle_s(tp, direct) + 1;
	if (emit_events) {
		if (s->flags & TC_SF_UNTRACKED)
			tc_path_push(&s->path, &s->path_len, newstate);
		else
			tc_path_rebuild(&s->path, &s->path_len, s->role, oldstate);
	}
	if (!now)
		now = bpf_ktime_get_ns();
	if (!(s->flags & TC_SF_OWNER))
		tc_stat_inc(TC_STAT_OWNER_MISSING);
	if (!tc_owner_matches(&s->owner))
		tc_stat_inc(TC_STAT_FILTERED);
	else if (!defer_resets || !tc_pend_put(sk, tp, s, addr, now, oldstate, dead, direct))
		tc_finish(sk, tp, s, now, oldstate, direct);
	tc_sock_release(s->slot, 0);
	tc_stat_inc(TC_STAT_SOCK_DELETES);
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tc_state_btf, const struct sock *sk, int oldstate, int newstate)
{
	if (!tc_sk_is_tcp(sk, true))
		return 0;
	return tc_handle_state(sk, oldstate, newstate, true, TC_SCRATCH_STATE);
}

SEC("tracepoint/sock/inet_sock_set_state")
int tc_state_tp(struct trace_event_raw_inet_sock_set_state *ctx)
{
	if (ctx->protocol != TC_IPPROTO_TCP)
		return 0;
	return tc_handle_state(ctx->skaddr, ctx->oldstate, ctx->newstate, false, TC_SCRATCH_STATE);
}

/*
 * The function hooks: tcp_set_state() covers every transition but the
 * LISTEN->SYN_RECV of a new child, which inet_sk_set_state() makes. The
 * state still held at entry is the old one.
 */
static __always_inline int tc_state_fn(const struct sock *sk, int newstate, bool direct,
				       __u32 who)
{
	if (!tc_sk_is_tcp(sk, direct))
		return 0;
	return tc_handle_state(sk, TC_R(direct, sk, __sk_common.skc_state), newstate, direct, who);
}

SEC("fentry/tcp_set_state")
int BPF_PROG(tc_state_fentry, struct sock *sk, int state)
{
	return tc_state_fn(sk, state, true, TC_SCRATCH_STATE);
}

SEC("fentry/inet_sk_set_state")
int BPF_PROG(tc_state_fentry_inet, struct sock *sk, int state)
{
	return tc_state_fn(sk, state, true, TC_SCRATCH_STATE_INET);
}

SEC("kprobe/tcp_set_state")
int BPF_KPROBE(tc_state_kprobe, struct sock *sk, int state)
{
	return tc_state_fn(sk, state, false, TC_SCRATCH_STATE);
}

SEC("kprobe/inet_sk_set_state")
int BPF_KPROBE(tc_state_kprobe_inet, struct sock *sk, int state)
{
	return tc_state_fn(sk, state, false, TC_SCRATCH_STATE_INET);
}
