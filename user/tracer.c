// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "names.h"
#include "tracer.h"
#include "tcpclose.skel.h"

static bool verbose;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!verbose || level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
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

int tc_netns_inode(const char *path, __u32 *ino, char *err, size_t errlen)
{
	struct stat st;
	int fd, type;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "--netns %s: %s", path, strerror(errno));
		return -1;
	}
	type = ioctl(fd, NS_GET_NSTYPE);
	if (type != CLONE_NEWNET || fstat(fd, &st)) {
		snprintf(err, errlen, "--netns %s: not a network namespace", path);
		close(fd);
		return -1;
	}
	close(fd);
	*ino = (__u32)st.st_ino;
	return 0;
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

/* One way of hooking the state machine: programs to load, in order of cost. */
struct state_candidate {
	int attach;
	const char *hook;
	int nprogs;
	const char *progs[2];
};

static const struct state_candidate candidates[] = {
	{ TC_ATTACH_TRACEPOINT, "tp_btf/inet_sock_set_state", 1, { "tc_state_btf" } },
	{ TC_ATTACH_TRACEPOINT, "tracepoint/sock/inet_sock_set_state", 1, { "tc_state_tp" } },
	{ TC_ATTACH_FENTRY, "fentry/tcp_set_state+inet_sk_set_state", 2,
	  { "tc_state_fentry", "tc_state_fentry_inet" } },
	{ TC_ATTACH_KPROBE, "kprobe/tcp_set_state+inet_sk_set_state", 2,
	  { "tc_state_kprobe", "tc_state_kprobe_inet" } },
};

/* Owner capture at accept(): optional, degrade rather than fail. */
struct owner_candidate {
	int attach;		/* the mode it belongs to */
	const char *hook;
	int nprogs;
	const char *progs[2];
};

static const struct owner_candidate owner_candidates[] = {
	{ TC_ATTACH_FENTRY, "fexit/inet_csk_accept", 1, { "tc_accept_fexit" } },
	{ TC_ATTACH_KPROBE, "kretprobe/inet_csk_accept", 1, { "tc_accept_kretprobe" } },
	{ TC_ATTACH_TRACEPOINT, "tracepoint/syscalls/sys_exit_accept4+accept", 2,
	  { "tc_exit_accept4", "tc_exit_accept" } },
};
#define N_OWNER (int)(sizeof(owner_candidates) / sizeof(owner_candidates[0]))

/*
 * The order to try owner hooks in: cheapest first (fexit and kretprobe run
 * only on accept; syscall tracepoints put every task's syscalls on the slow
 * path), except that a forced --attach mode tries its own family first.
 */
static int owner_order(int attach, int order[N_OWNER])
{
	int n = 0;

	for (int i = 0; i < N_OWNER; i++)
		if (owner_candidates[i].attach == attach)
			order[n++] = i;
	for (int i = 0; i < N_OWNER; i++)
		if (owner_candidates[i].attach != attach)
			order[n++] = i;
	return n;
}

/* TIME_WAIT life: the timewait socket's own timer, and a start snapshot. */
static const char *const tw_progs[] = { "tc_timer_start", "tc_timer_cancel", "tc_timer_expire",
					 "tc_iter_tw" };
#define N_TW_PROGS (int)(sizeof(tw_progs) / sizeof(tw_progs[0]))

static bool in_list(const char *name, const char *const *list, int n)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(name, list[i]))
			return true;
	return false;
}

static int configure(struct tcpclose_bpf *skel, const struct tc_opts *o, __u32 netns,
		     bool events, const struct state_candidate *c,
		     const struct owner_candidate *oc, bool with_tw)
{
	struct bpf_program *p;
	int err;

	bpf_object__for_each_program(p, skel->obj) {
		const char *name = bpf_program__name(p);
		bool on = in_list(name, c->progs, c->nprogs) ||
			  (oc && in_list(name, oc->progs, oc->nprogs)) ||
			  (with_tw && in_list(name, tw_progs, N_TW_PROGS));

		bpf_program__set_autoload(p, on);
	}
	/* The iterator runs on demand (tc_tracer_snapshot), not as a hook. */
	bpf_program__set_autoattach(skel->progs.tc_iter_tw, false);
	skel->rodata->target_netns = netns;
	skel->rodata->target_tgid = o->pid;
	memcpy((char *)skel->rodata->target_comm, o->comm, TC_COMM_LEN);
	skel->rodata->emit_events = events;
	skel->rodata->tw_timers = with_tw;
	if ((err = bpf_map__set_max_entries(skel->maps.socks, o->max_sockets)) ||
	    (err = bpf_map__set_max_entries(skel->maps.peers, o->max_peers)) ||
	    (err = bpf_map__set_max_entries(skel->maps.procs, o->max_procs)))
		return err;
	/* No reader, no buffer: one page is the smallest ring the kernel takes. */
	if (!events)
		err = bpf_map__set_max_entries(skel->maps.events, (__u32)getpagesize());
	else
		skel->rodata->wakeup_bytes = bpf_map__max_entries(skel->maps.events) / 4;
	return err;
}

static int try_candidate(struct tc_tracer *t, const struct tc_opts *o, bool events,
			 const struct state_candidate *c, const struct owner_candidate *oc,
			 bool with_tw)
{
	struct tcpclose_bpf *skel;
	int err;

	skel = tcpclose_bpf__open();
	if (!skel)
		return -errno;
	err = configure(skel, o, t->netns_ino, events, c, oc, with_tw);
	if (!err)
		err = tcpclose_bpf__load(skel);
	if (!err)
		err = tcpclose_bpf__attach(skel);
	if (err) {
		vlog("%s + %s%s: %s", c->hook, oc ? oc->hook : "no accept() hook",
		     with_tw ? " + timewait timers" : "", strerror(-err));
		tcpclose_bpf__destroy(skel);
		return err;
	}
	t->skel = skel;
	t->attach = c->attach;
	t->state_hook = c->hook;
	t->owner_hook = oc ? oc->hook : NULL;
	t->tw_hook = with_tw ? "tp_btf/timer_start+timer_cancel+timer_expire_entry" : NULL;
	return 0;
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
		self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		target = open(netns_path, O_RDONLY | O_CLOEXEC);
		if (self < 0 || target < 0 || setns(target, CLONE_NEWNET))
			goto out;
	}
	read_port_range(&t->skel->data->iter_eph_lo, &t->skel->data->iter_eph_hi);
	link = bpf_program__attach_iter(t->skel->progs.tc_iter_tw, NULL);
	if (link)
		iter = bpf_iter_create(bpf_link__fd(link));
	if (netns_path && setns(self, CLONE_NEWNET)) {
		/* Cannot get back: better to stop than to trace from the wrong place. */
		fprintf(stderr, "tcpclose: error: cannot return to own netns: %s\n", strerror(errno));
		exit(1);
	}
	if (iter < 0)
		goto out;
	while (read(iter, buf, sizeof(buf)) > 0)
		;
	ret = 0;
out:
	if (iter >= 0)
		close(iter);
	bpf_link__destroy(link);
	if (self >= 0)
		close(self);
	if (target >= 0)
		close(target);
	return ret;
}

int tc_tracer_start(struct tc_tracer *t, const struct tc_opts *o, bool events,
		    char *err, size_t errlen)
{
	int last = 0;

	memset(t, 0, sizeof(*t));
	verbose = o->verbose;
	libbpf_set_print(libbpf_print);

	if (o->netns_path && tc_netns_inode(o->netns_path, &t->netns_ino, err, errlen))
		return -1;
	if (!have_bpf_privileges()) {
		snprintf(err, errlen, "need root, or CAP_BPF and CAP_PERFMON (try sudo)");
		return -1;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		snprintf(err, errlen, "this kernel exposes no BTF (/sys/kernel/btf/vmlinux: %s); "
			 "CONFIG_DEBUG_INFO_BTF=y is required", strerror(errno));
		return -1;
	}

	ensure_tracefs();

	/* Probe by doing: load and attach each candidate until one holds.
	 * A kernel without syscall tracepoints still gets the state machine. */
	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
		const struct state_candidate *c = &candidates[i];

		if (o->attach != TC_ATTACH_AUTO && o->attach != c->attach)
			continue;
		int order[N_OWNER], n = owner_order(o->attach, order);

		/* The optional hooks degrade one by one: accept() owner
		 * capture, then the timewait timers. */
		last = -EINVAL;
		for (int tw = 1; tw >= 0 && last; tw--) {
			for (int k = 0; k < n && last; k++)
				last = try_candidate(t, o, events, c, &owner_candidates[order[k]], tw);
			if (last)
				last = try_candidate(t, o, events, c, NULL, tw);
		}
		if (!last) {
			/* Pre-existing stays have no process: no -p/-c can match them. */
			if (o->pid || o->comm[0]) {
				t->tw_snapshot = false;
			} else if (t->tw_hook && snapshot_timewait(t, o->netns_path)) {
				vlog("timewait snapshot at start failed: %s; preexisting unavailable",
				     strerror(errno));
				t->tw_snapshot = false;
			} else {
				t->tw_snapshot = t->tw_hook != NULL;
			}
			vlog("attached %s (mode %s), accept() owner capture %s, timewait %s",
			     c->hook, tc_attach_name(c->attach),
			     t->owner_hook ? t->owner_hook : "unavailable",
			     t->tw_hook ? t->tw_hook : "unavailable");
			return 0;
		}
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

void tc_tracer_stop(struct tc_tracer *t)
{
	tcpclose_bpf__destroy(t->skel);
	t->skel = NULL;
}
