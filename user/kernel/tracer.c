// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "names.h"
#include "tracer.h"
#include "cgroups.h"
#include "netns.h"
#include "settle.h"
#include "surveyor.h"
#include "kconfig.h"
#include "rowmath.h"
#include "tcpclose.skel.h"

static bool verbose;

/* The program libbpf last named in a failure: what to give up on next. */
static char failed_prog[64];

static void note_failed_prog(const char *msg)
{
	const char *p = strstr(msg, "prog '"), *q;

	if (!p || !strstr(msg, "fail"))
		return;
	p += strlen("prog '");
	q = strchr(p, '\'');
	if (q && (size_t)(q - p) < sizeof(failed_prog)) {
		memcpy(failed_prog, p, q - p);
		failed_prog[q - p] = '\0';
	}
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char msg[512];
	va_list copy;

	if (level == LIBBPF_DEBUG)
		return 0;
	va_copy(copy, ap);
	vsnprintf(msg, sizeof(msg), fmt, copy);	/* the start names the program */
	va_end(copy);
	if (level == LIBBPF_WARN)
		note_failed_prog(msg);
	return verbose ? vfprintf(stderr, fmt, ap) : 0;
}

static void vlog(const char *fmt, ...)
{
	va_list ap;

	if (!verbose)
		return;
	va_start(ap, fmt);
	fputs("tcpclose: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/*
 * Classic tracepoints (the accept() hooks) are resolved through tracefs.
 * Hosts that boot without it mounted get it mounted, as perf does; it stays
 * mounted (other tools may start using it), which -v says.
 */
static void ensure_tracefs(void)
{
	if (!access("/sys/kernel/tracing/events", F_OK) ||
	    !access("/sys/kernel/debug/tracing/events", F_OK))
		return;
	if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL))
		vlog("tracefs not mounted and mounting it failed (%s): accept() hooks unavailable",
		     strerror(errno));
	else
		vlog("mounted tracefs on /sys/kernel/tracing");
}

/* CAP_SYS_ADMIN, or CAP_BPF with CAP_PERFMON (5.8+), from CapEff. */
static bool have_bpf_privileges(void)
{
	unsigned long long eff = 0;
	char line[256];
	FILE *f;

	if (geteuid() == 0)
		return true;
	f = fopen("/proc/self/status", "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	return (eff & (1ULL << 21)) || ((eff & (1ULL << 39)) && (eff & (1ULL << 38)));
}

/* One way of hooking one concern: programs to load, one family each. */
struct hookset {
	int attach;		/* the family: enum tc_attach */
	const char *hook;
	const char *progs[12];	/* NULL-terminated */
};

#define NELEM(a) (int)(sizeof(a) / sizeof((a)[0]))

/* The state machine: required. tp_btf first, it is the cheapest. */
static const struct hookset state_sets[] = {
	{ TC_ATTACH_TRACEPOINT, "tp_btf/inet_sock_set_state", { "tc_state_btf" } },
	{ TC_ATTACH_TRACEPOINT, "tracepoint/sock/inet_sock_set_state", { "tc_state_tp" } },
	{ TC_ATTACH_FENTRY, "fentry/tcp_set_state+inet_sk_set_state",
	  { "tc_state_fentry", "tc_state_fentry_inet" } },
	{ TC_ATTACH_KPROBE, "kprobe/tcp_set_state+inet_sk_set_state",
	  { "tc_state_kprobe", "tc_state_kprobe_inet" } },
};

/* Owner capture at accept(): optional. fexit and kretprobe run only on
 * accept; syscall tracepoints put every task's syscalls on the slow path. */
static const struct hookset owner_sets[] = {
	{ TC_ATTACH_FENTRY, "fexit/inet_csk_accept", { "tc_accept_fexit" } },
	{ TC_ATTACH_KPROBE, "kretprobe/inet_csk_accept", { "tc_accept_kretprobe" } },
	{ TC_ATTACH_TRACEPOINT, "tracepoint/syscalls/sys_exit_accept4+accept",
	  { "tc_exit_accept4", "tc_exit_accept" } },
};

/* TIME_WAIT life: optional. The timewait functions run only when a
 * timewait socket is born or dies; the timer tracepoints run for every
 * kernel timer (docs/performance.md). Each comes with the start snapshot. */
static const struct hookset tw_sets[] = {
	{ TC_ATTACH_FENTRY,
	  "fentry/inet_twsk_hashdance*+tw_timer_handler+inet_twsk_deschedule_put"
	  "+fexit/tcp_twsk_unique+tcp_timewait_state_process+inet_twsk_purge",
	  { "tc_twf_born", "tc_twf_born_old", "tc_twf_expire", "tc_twf_unique", "tc_twf_state",
	    "tc_twf_gone", "tc_twf_purge", "tc_iter_tw" } },
	{ TC_ATTACH_KPROBE,
	  "kprobe/inet_twsk_hashdance*+tw_timer_handler+inet_twsk_deschedule_put"
	  "+kretprobe/tcp_twsk_unique+tcp_timewait_state_process+inet_twsk_purge",
	  { "tc_twk_born", "tc_twk_born_old", "tc_twk_expire", "tc_twk_unique_in", "tc_twk_unique",
	    "tc_twk_state_in", "tc_twk_state", "tc_twk_gone", "tc_twk_purge", "tc_iter_tw" } },
	{ TC_ATTACH_TRACEPOINT, "tp_btf/timer_start+timer_cancel+timer_expire_entry",
	  { "tc_timer_start", "tc_timer_cancel", "tc_timer_expire", "tc_iter_tw" } },
};

/* connect()'s port search: optional, and only function hooks reach it. */
static const struct hookset port_sets[] = {
	{ TC_ATTACH_FENTRY, "fexit/__inet_check_established+__inet6_check_established+tcp_twsk_unique",
	  { "tc_portf_check4", "tc_portf_check6", "tc_portf_twref" } },
	{ TC_ATTACH_KPROBE,
	  "kretprobe/__inet_check_established+__inet6_check_established+tcp_twsk_unique",
	  { "tc_portk_check4_in", "tc_portk_check4", "tc_portk_check6_in", "tc_portk_check6",
	    "tc_portk_twref_in", "tc_portk_twref" } },
};

/* Resets that answer no socket of ours: optional. The tracepoint fires for
 * them, with the kernel's reason, from 6.10; before, the function that
 * sends them is hooked (attach_best keeps to the one the kernel has). Each
 * runs once per reset sent. */
#define RESET_TP 0	/* reset_sets[RESET_TP]: 6.10+ only; the others before */
static const struct hookset reset_sets[] = {
	[RESET_TP] = { TC_ATTACH_TRACEPOINT, "tp_btf/tcp_send_reset", { "tc_rst_nosock" } },
	{ TC_ATTACH_FENTRY, "fentry/tcp_v4_send_reset+tcp_v6_send_reset",
	  { "tc_rstf_v4", "tc_rstf_v6" } },
	{ TC_ATTACH_FENTRY, "fentry/tcp_v4_send_reset", { "tc_rstf_v4" } },	/* no IPv6 */
	{ TC_ATTACH_KPROBE, "kprobe/tcp_v4_send_reset+tcp_v6_send_reset",
	  { "tc_rstk_v4", "tc_rstk_v6" } },
	{ TC_ATTACH_KPROBE, "kprobe/tcp_v4_send_reset", { "tc_rstk_v4" } },
};

/* The resets of our own sockets that tell why a close was abortive
 * (pending.bpf.c): optional. The tracepoint with the kernel's reason from
 * 6.10, without before (attach_best keeps to the one the kernel has); each
 * with the program user space settles the closes no reset followed with. */
#define PEND_REASON 0	/* pend_sets[PEND_REASON]: 6.10+ only; the other before */
static const struct hookset pend_sets[] = {
	[PEND_REASON] = { TC_ATTACH_TRACEPOINT, "tp_btf/tcp_send_reset+syscall",
			  { "tc_pend_rst", "tc_pend_settle" } },
	{ TC_ATTACH_TRACEPOINT, "tp_btf/tcp_send_reset+syscall",
	  { "tc_pend_rst_old", "tc_pend_settle" } },
};

/* The port survey of a netns (iter/tcp, run on demand): any kernel 5.9+.
 * With it the sweep, which charges the closes the kernel skipped to their
 * rows through a syscall program (5.14+); without one it only counts them. */
static const struct hookset survey_sets[] = {
	{ TC_ATTACH_AUTO, "iter/tcp+syscall", { "tc_iter_ports", "tc_sweep_charge" } },
	{ TC_ATTACH_AUTO, "iter/tcp", { "tc_iter_ports" } },
};

/*
 * The order to try a concern's sets in: as listed (cheapest first), except
 * that a forced --attach mode tries its own family first.
 */
static int set_order(const struct hookset *sets, int n, int attach, int *order)
{
	int k = 0;

	for (int i = 0; i < n; i++)
		if (sets[i].attach == attach)
			order[k++] = i;
	for (int i = 0; i < n; i++)
		if (sets[i].attach != attach)
			order[k++] = i;
	return k;
}

static bool in_set(const char *name, const struct hookset *h)
{
	if (!h)
		return false;
	for (int i = 0; i < NELEM(h->progs) && h->progs[i]; i++)
		if (!strcmp(name, h->progs[i]))
			return true;
	return false;
}

/* Whether the running kernel has a function of that name (its BTF says). */
static struct btf *vmlinux;

static bool kernel_has(const char *name, int kind)
{
	if (!vmlinux)
		vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux || libbpf_get_error(vmlinux)) {
		vmlinux = NULL;
		return false;
	}
	return btf__find_by_name_kind(vmlinux, name, kind) > 0;
}

static bool kernel_has_func(const char *name)
{
	return kernel_has(name, BTF_KIND_FUNC);
}

/* The optional concerns, each degrading on its own. */
enum { OPT_OWNER = 0, OPT_TW, OPT_PORTS, OPT_SURVEY, OPT_RESET, OPT_PEND, N_OPT };

static const struct {
	const struct hookset *sets;
	int n;
	const char *what;	/* for -v when none loads */
} optional[N_OPT] = {
	[OPT_OWNER] = { owner_sets, NELEM(owner_sets), "no accept() hook" },
	[OPT_TW] = { tw_sets, NELEM(tw_sets), "no timewait hooks" },
	[OPT_PORTS] = { port_sets, NELEM(port_sets), "no port-search hooks" },
	[OPT_SURVEY] = { survey_sets, NELEM(survey_sets), "no port survey" },
	[OPT_RESET] = { reset_sets, NELEM(reset_sets), "no reset hook" },
	[OPT_PEND] = { pend_sets, NELEM(pend_sets), "no hook on our sockets' resets" },
};

static int configure(struct tcpclose_bpf *skel, const struct tc_opts *o,
		     const struct tc_tracer *t, bool events, const struct hookset *c, const struct hookset *const *opt)
{
	const struct hookset *oc = opt[OPT_OWNER], *tc = opt[OPT_TW], *pc = opt[OPT_PORTS];
	const struct hookset *sc = opt[OPT_SURVEY], *rc = opt[OPT_RESET], *dc = opt[OPT_PEND];
	struct bpf_program *p;
	int err;

	bpf_object__for_each_program(p, skel->obj) {
		const char *name = bpf_program__name(p);

		bpf_program__set_autoload(p, in_set(name, c) || in_set(name, oc) || in_set(name, tc) ||
					     in_set(name, pc) || in_set(name, sc) || in_set(name, rc) ||
					     in_set(name, dc));
	}
	/* inet_twsk_hashdance() became inet_twsk_hashdance_schedule() in 6.10. */
	if (kernel_has_func("inet_twsk_hashdance_schedule")) {
		bpf_program__set_autoload(skel->progs.tc_twf_born_old, false);
		bpf_program__set_autoload(skel->progs.tc_twk_born_old, false);
	} else {
		bpf_program__set_autoload(skel->progs.tc_twf_born, false);
		bpf_program__set_autoload(skel->progs.tc_twk_born, false);
	}
	/* The iterator runs on demand (tc_tracer_snapshot), not as a hook. */
	bpf_program__set_autoattach(skel->progs.tc_iter_tw, false);
	bpf_program__set_autoattach(skel->progs.tc_iter_ports, false);
	bpf_program__set_autoattach(skel->progs.tc_sweep_charge, false);
	bpf_program__set_autoattach(skel->progs.tc_pend_settle, false);
	skel->rodata->target_netns = t->netns_ino;
	skel->rodata->target_cgroup = t->cgroup_id;
	skel->rodata->target_cgroup_level = (__u32)t->cgroup_level;
	skel->rodata->target_tgid = o->pid;
	memcpy((char *)skel->rodata->target_comm, o->comm, TC_COMM_LEN);
	skel->rodata->emit_events = events;
	/* record: timewait events too, and room for the start-up snapshot's */
	skel->rodata->record_events = events && o->cmd == TC_CMD_RECORD;
	skel->rodata->tw_hooks = tc != NULL;
	skel->rodata->tw_timer_path = tc && tc->attach == TC_ATTACH_TRACEPOINT;
	skel->rodata->port_hooks = pc != NULL;
	skel->rodata->jiffies_hz = t->hz;
	skel->rodata->defer_resets = dc != NULL;
	/* The socket table: --max-sockets slots in sets of TC_SOCK_WAYS. */
	skel->rodata->sock_nsets = (o->max_sockets + TC_SOCK_WAYS - 1) / TC_SOCK_WAYS;
	/* ... and past them a scratch record per CPU and program (maps.bpf.h) */
	if ((err = bpf_map__set_max_entries(skel->maps.sock_sets, skel->rodata->sock_nsets)) ||
	    (err = bpf_map__set_max_entries(skel->maps.socks,
					    skel->rodata->sock_nsets * TC_SOCK_WAYS +
					    (__u32)libbpf_num_possible_cpus() * TC_SCRATCH_SLOTS)) ||
	    (err = bpf_map__set_max_entries(skel->maps.peers, o->max_peers)) ||
	    (err = bpf_map__set_max_entries(skel->maps.procs, o->max_procs)) ||
	    (err = bpf_map__set_max_entries(skel->maps.tws, o->max_timewait)))
		return err;
	/* No reader, no buffer: one page is the smallest ring the kernel takes. */
	if (!events)
		err = bpf_map__set_max_entries(skel->maps.events, (__u32)getpagesize());
	else if (o->cmd == TC_CMD_RECORD && (err = bpf_map__set_max_entries(skel->maps.events, 32 << 20)))
		return err;
	if (events)
		skel->rodata->wakeup_bytes = bpf_map__max_entries(skel->maps.events) / 4;
	return err;
}

static int try_sets(struct tc_tracer *t, const struct tc_opts *o, bool events,
		    const struct hookset *c, const struct hookset *const *opt)
{
	struct tcpclose_bpf *skel;
	int err;

	failed_prog[0] = '\0';
	skel = tcpclose_bpf__open();
	if (!skel)
		return -errno;
	err = configure(skel, o, t, events, c, opt);
	if (!err)
		err = tcpclose_bpf__load(skel);
	if (!err)
		err = tcpclose_bpf__attach(skel);
	if (err) {
		if (verbose) {
			fprintf(stderr, "tcpclose: %s", c->hook);
			for (int k = 0; k < N_OPT; k++)
				fprintf(stderr, " + %s", opt[k] ? opt[k]->hook : optional[k].what);
			fprintf(stderr, ": %s%s%s\n", strerror(-err), failed_prog[0] ? " at " : "",
				failed_prog);
		}
		tcpclose_bpf__destroy(skel);
		return err;
	}
	t->skel = skel;
	t->attach = c->attach;
	t->state_hook = c->hook;
	t->owner_hook = opt[OPT_OWNER] ? opt[OPT_OWNER]->hook : NULL;
	t->tw_hook = opt[OPT_TW] ? opt[OPT_TW]->hook : NULL;
	t->tw_attach = opt[OPT_TW] ? opt[OPT_TW]->attach : TC_ATTACH_AUTO;
	t->port_hook = opt[OPT_PORTS] ? opt[OPT_PORTS]->hook : NULL;
	t->reset_hook = opt[OPT_RESET] ? opt[OPT_RESET]->hook : NULL;
	t->pend_hook = opt[OPT_PEND] ? opt[OPT_PEND]->hook : NULL;
	t->survey = opt[OPT_SURVEY] != NULL;
	t->sweep_rows = t->survey && in_set("tc_sweep_charge", opt[OPT_SURVEY]);
	return 0;
}

/* The first set in order that has not failed yet, or NULL. */
static const struct hookset *next_set(const struct hookset *sets, const int *order, int n,
				      const bool *failed)
{
	for (int i = 0; i < n; i++)
		if (!failed[order[i]])
			return &sets[order[i]];
	return NULL;
}

/*
 * Whether the kernel attaches a family at all, asked once and cheaply: a
 * whole try loads every program (seconds of verification), and a kernel
 * without trampolines or kprobes refuses them all the same way. fentry: a
 * two-instruction program at tcp_set_state, loaded and linked (lockdown and
 * missing trampolines fail here, as they would later). kprobes: the kprobe
 * PMU or tracefs's kprobe_events, which a kernel without CONFIG_KPROBE_EVENTS
 * lacks. On any doubt (no BTF to name the function), say yes: the real try
 * will tell.
 */
static bool family_attaches(int attach)
{
	if (attach == TC_ATTACH_KPROBE)
		return !access("/sys/bus/event_source/devices/kprobe/type", F_OK) ||
		       !access("/sys/kernel/tracing/kprobe_events", F_OK) ||
		       !access("/sys/kernel/debug/tracing/kprobe_events", F_OK);
	if (attach == TC_ATTACH_FENTRY) {
		const struct bpf_insn ret0[] = {
			{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
			{ .code = BPF_JMP | BPF_EXIT },
		};
		LIBBPF_OPTS(bpf_prog_load_opts, po, .expected_attach_type = BPF_TRACE_FENTRY);
		int id, prog, link;

		if (!kernel_has_func("tcp_set_state"))
			return true;
		id = btf__find_by_name_kind(vmlinux, "tcp_set_state", BTF_KIND_FUNC);
		po.attach_btf_id = (__u32)id;
		prog = bpf_prog_load(BPF_PROG_TYPE_TRACING, "tc_probe", "GPL", ret0, NELEM(ret0), &po);
		if (prog < 0)
			return false;
		link = bpf_link_create(prog, 0, BPF_TRACE_FENTRY, NULL);
		close(prog);
		if (link < 0)
			return false;
		close(link);
	}
	return true;
}

/*
 * Probe by doing: load and attach the best set of each concern; when that
 * fails, give up the set whose program failed (libbpf names it) and try
 * again. The optional concerns degrade one set at a time, so a kernel
 * without fentry or kprobes costs a few tries, not every combination.
 */
static int attach_best(struct tc_tracer *t, const struct tc_opts *o, bool events)
{
	int order[N_OPT][8], n[N_OPT], last = -EINVAL, max_tries = 1;
	bool failed[N_OPT][8] = { { 0 } }, works[TC_ATTACH_TRACEPOINT + 1];

	for (int a = 0; a < NELEM(works); a++)
		works[a] = family_attaches(a);
	for (int k = 0; k < N_OPT; k++) {
		n[k] = set_order(optional[k].sets, optional[k].n, o->attach, order[k]);
		max_tries += optional[k].n;
		for (int j = 0; j < optional[k].n; j++)
			if (!works[optional[k].sets[j].attach]) {
				failed[k][j] = true;
				vlog("%s: the kernel attaches no %s programs", optional[k].sets[j].hook,
				     tc_attach_name(optional[k].sets[j].attach));
			}
	}
	/* Resets answering no socket: the tracepoint where it has the reason
	 * (6.10+), the functions (with the older signature) before. They
	 * have no process, so no -p/-c/--cgroup can match them. */
	{
		bool reason = kernel_has("sk_rst_reason", BTF_KIND_ENUM);
		bool filtered = o->pid || o->comm[0] || o->cgroup_path;

		for (int j = 0; j < optional[OPT_RESET].n; j++)
			if (filtered || (j == RESET_TP) != reason)
				failed[OPT_RESET][j] = true;
		if (filtered)
			vlog("resets to no socket: not counted with a process filter (no process)");
		for (int j = 0; j < optional[OPT_PEND].n; j++)
			if ((j == PEND_REASON) != reason)
				failed[OPT_PEND][j] = true;
	}
	/* --light: the timer and syscall tracepoints run for every timer and
	 * every syscall of the host, not only TCP's; the function hooks of the
	 * same concerns run only when a socket is accepted or a timewait socket
	 * lives or dies, so they stay. */
	if (o->light) {
		for (int j = 0; j < optional[OPT_OWNER].n; j++)
			failed[OPT_OWNER][j] = optional[OPT_OWNER].sets[j].attach == TC_ATTACH_TRACEPOINT;
		for (int j = 0; j < optional[OPT_TW].n; j++)
			failed[OPT_TW][j] = optional[OPT_TW].sets[j].attach == TC_ATTACH_TRACEPOINT;
		vlog("--light: no timer or syscall tracepoints");
	}
	for (int i = 0; i < NELEM(state_sets); i++) {
		const struct hookset *c = &state_sets[i];

		if (o->attach != TC_ATTACH_AUTO ? o->attach != c->attach : !works[c->attach])
			continue;
		for (int tries = 0; tries < max_tries; tries++) {
			const struct hookset *opt[N_OPT];
			int shed = -1;

			for (int k = 0; k < N_OPT; k++)
				opt[k] = next_set(optional[k].sets, order[k], n[k], failed[k]);
			last = try_sets(t, o, events, c, opt);
			if (!last)
				return 0;
			if (in_set(failed_prog, c))
				break;
			for (int k = 0; k < N_OPT && shed < 0; k++)
				if (in_set(failed_prog, opt[k]))
					shed = k;
			for (int k = 0; k < N_OPT && shed < 0; k++)
				if (opt[k])	/* not told which: shed the optional ones in order */
					shed = k;
			if (shed < 0)
				break;
			failed[shed][opt[shed] - optional[shed].sets] = true;
			/* A refused program type (lockdown, no trampolines) is the
			 * kernel's answer for the whole family, not just this set. */
			if (last == -EPERM && opt[shed]->attach != TC_ATTACH_AUTO)
				for (int k = 0; k < N_OPT; k++)
					for (int j = 0; j < optional[k].n; j++)
						if (optional[k].sets[j].attach == opt[shed]->attach)
							failed[k][j] = true;
		}
	}
	return last;
}

/* ip_local_port_range of the netns we are in. */
static void read_port_range(__u32 *lo, __u32 *hi)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");

	if (f) {
		if (fscanf(f, "%u %u", lo, hi) != 2)
			*lo = 32768, *hi = 60999;
		fclose(f);
	}
}

/*
 * TIME_WAIT sockets that exist already: one pass of the iter/tcp program,
 * run inside the traced netns (a tcp iterator sees the netns of the task
 * that creates it). They get counted as "preexisting", with no process.
 */
static int snapshot_timewait(struct tc_tracer *t, const char *netns_path)
{
	int self = -1, target = -1, iter = -1, ret = -1;
	struct bpf_link *link = NULL;
	char buf[256];

	if (netns_path) {
		target = tc_netns_open(netns_path, buf, sizeof(buf));
		if (target < 0 || tc_netns_enter(target, &self))
			goto out;
	}
	read_port_range(&t->skel->data->iter_eph_lo, &t->skel->data->iter_eph_hi);
	link = bpf_program__attach_iter(t->skel->progs.tc_iter_tw, NULL);
	if (link)
		iter = bpf_iter_create(bpf_link__fd(link));
	if (netns_path)
		tc_netns_leave(self);
	if (iter < 0)
		goto out;
	while (read(iter, buf, sizeof(buf)) > 0)
		;
	ret = 0;
out:
	if (iter >= 0)
		close(iter);
	bpf_link__destroy(link);
	if (target >= 0)
		close(target);
	return ret;
}

/* Each map's memlock line in /proc/self/fdinfo (what the kernel charges
 * for it), at start: once the process runs as another user, /proc/self is
 * root's (no longer dumpable). */
static __u64 maps_kib(const struct tc_tracer *t)
{
	struct bpf_map *map;
	__u64 kib = 0;

	bpf_object__for_each_map(map, t->skel->obj) {
		unsigned long long memlock = 0;
		char path[64], line[128];
		FILE *f;

		snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", bpf_map__fd(map));
		f = fopen(path, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "memlock: %llu", &memlock) == 1)
				break;
		fclose(f);
		kib += memlock / 1024;
	}
	return kib;
}

/* An array map of ours (BPF_F_MMAPABLE), mapped shared; NULL on failure. */
static void *map_array(const struct bpf_map *map, size_t *len)
{
	size_t page = (size_t)getpagesize();
	void *p;

	*len = ((size_t)bpf_map__value_size(map) * bpf_map__max_entries(map) + page - 1) / page * page;
	p = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(map), 0);
	return p == MAP_FAILED ? NULL : p;
}

/* The socket table's tags, read in place: counting the records in use
 * costs no syscall, and the sweep's take is the kernel's compare-and-swap
 * (collect.c). 8 bytes a slot. */
static int map_socktab(struct tc_tracer *t)
{
	t->socktab.nsets = bpf_map__max_entries(t->skel->maps.sock_sets);
	t->socktab.sets = map_array(t->skel->maps.sock_sets, &t->socktab_len);
	return t->socktab.sets ? 0 : -errno;
}

static void unmap_socktab(struct tc_tracer *t)
{
	if (t->socktab.sets)
		munmap(t->socktab.sets, t->socktab_len);
	memset(&t->socktab, 0, sizeof(t->socktab));
}

int tc_tracer_start(struct tc_tracer *t, const struct tc_opts *o, bool events,
		    char *err, size_t errlen)
{
	int last = 0;

	memset(t, 0, sizeof(*t));
	t->stats_fd = -1;
	t->surveyor_fd = -1;
	verbose = o->verbose;
	libbpf_set_print(libbpf_print);

	if (o->netns_path && tc_netns_inode(o->netns_path, &t->netns_ino, err, errlen))
		return -1;
	if (o->cgroup_path &&
	    tc_cgroup_lookup(o->cgroup_path, &t->cgroup_id, &t->cgroup_level, err, errlen))
		return -1;
	if (!have_bpf_privileges()) {
		snprintf(err, errlen, "need root, or CAP_BPF and CAP_PERFMON (try sudo)");
		return -1;
	}
	t->hz = tc_kernel_hz();	/* before the sandbox: /boot or /proc */
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		snprintf(err, errlen, "this kernel exposes no BTF (/sys/kernel/btf/vmlinux: %s); "
			 "CONFIG_DEBUG_INFO_BTF=y is required", strerror(errno));
		return -1;
	}

	ensure_tracefs();

	last = attach_best(t, o, events);
	btf__free(vmlinux);	/* only needed to choose */
	vmlinux = NULL;
	if (!last && map_socktab(t)) {
		snprintf(err, errlen, "cannot map the socket table: %s", strerror(errno));
		tc_tracer_stop(t);
		return -1;
	}
	if (!last && o->prog_stats) {
		/* Counted only while this fd is open: the host-wide sysctl is
		 * neither needed nor touched, and nothing stays on after us. */
		t->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		if (t->stats_fd < 0) {
			snprintf(err, errlen, "--prog-stats: cannot enable BPF run-time stats: %s",
				 strerror(errno));
			tc_tracer_stop(t);
			return -1;
		}
	}
	if (!last) {
		t->maps_kib = maps_kib(t);
		/* Pre-existing stays have no process: no -p/-c can match them. */
		if (o->pid || o->comm[0] || o->cgroup_path) {
			t->tw_snapshot = false;
		} else if (t->tw_hook && (snapshot_timewait(t, o->netns_path) ||
					  /* A tcp iterator resumes a hash bucket by
					   * position: a socket going away elsewhere in the
					   * bucket between two of its batches (another
					   * netns's, torn down) makes it skip one. A
					   * second pass finds it; one followed already is
					   * not counted again (tw_snapshot.bpf.c). */
					  snapshot_timewait(t, o->netns_path))) {
			vlog("timewait snapshot at start failed: %s; preexisting unavailable",
			     strerror(errno));
			t->tw_snapshot = false;
		} else {
			t->tw_snapshot = t->tw_hook != NULL;
		}
		vlog("attached %s (mode %s), accept() owner capture %s, timewait %s, port search %s, "
		     "resets to no socket %s, our sockets' resets %s",
		     t->state_hook, tc_attach_name(t->attach),
		     t->owner_hook ? t->owner_hook : "unavailable",
		     t->tw_hook ? t->tw_hook : "unavailable",
		     t->port_hook ? t->port_hook : "unavailable",
		     t->reset_hook ? t->reset_hook : "unavailable",
		     t->pend_hook ? t->pend_hook : "unavailable");
		return 0;
	}
	if (last == -EPERM || last == -EACCES)
		snprintf(err, errlen, "kernel refused the BPF programs (%s) for --attach %s; "
			 "check lockdown and kernel.unprivileged_bpf_disabled, or try another mode",
			 strerror(-last), tc_attach_name(o->attach));
	else
		snprintf(err, errlen, "no usable hook for --attach %s on this kernel (last error: %s); "
			 "run with -v for details", tc_attach_name(o->attach),
			 strerror(last < 0 ? -last : EINVAL));
	return -1;
}

struct ring_buffer *tc_tracer_events(const struct tc_tracer *t, ring_buffer_sample_fn fn,
				     void *ctx)
{
	return ring_buffer__new(bpf_map__fd(t->skel->maps.events), fn, ctx, NULL);
}

void tc_tracer_detach(struct tc_tracer *t)
{
	tc_settler_stop(t);
	tcpclose_bpf__detach(t->skel);
	t->detached = true;
	tc_tracer_settle(t);	/* no reset can come now */
}

int tc_tracer_probe_fd(const struct tc_tracer *t)
{
	return bpf_map__fd(t->skel->maps.totals);
}

void tc_tracer_stop(struct tc_tracer *t)
{
	tc_settler_stop(t);
	tc_surveyor_stop(t);
	if (t->stats_fd >= 0)
		close(t->stats_fd);
	t->stats_fd = -1;
	unmap_socktab(t);
	tcpclose_bpf__destroy(t->skel);
	t->skel = NULL;
}
