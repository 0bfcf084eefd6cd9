// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Owner of accepted sockets. A server socket's transitions up to its close
 * run in softirq, where current is whoever the packet interrupted (on
 * loopback: the client). accept() is the first moment the owning process
 * touches it. Three interchangeable hooks, one loaded: the return of
 * inet_csk_accept() (fexit or kretprobe: runs only on accept), or the
 * accept syscalls' exit (fd -> file -> socket -> sock).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "maps.bpf.h"
#include "owner.bpf.h"
#include "socktab.bpf.h"

static __always_inline int tc_accepted_sk(struct sock *sk)
{
	struct tc_sock *s;

	if (!sk)
		return 0;
	s = tc_sock_find(tc_sk_addr(sk, TC_SCRATCH_ACCEPT));
	if (!s)
		return 0;	/* not followed (filtered netns, or already closed) */
	tc_take_owner(s, sk, false);
	tc_stat_inc(TC_STAT_OWNER_ACCEPT);
	return 0;
}

/*
 * fd -> file -> socket -> sock. The task's own chain (files, fdtable) is
 * loaded directly from BTF pointers where the kernel has
 * bpf_get_current_task_btf() (5.11): three probe reads are left (the fd
 * array is indexed by a variable, file->private_data is a void *), not
 * seven, and this runs on every accept() of the host.
 */
static __always_inline int tc_accepted_fd(long fd)
{
	struct fdtable *fdt;
	struct file **fds, *file;
	struct socket *sock;
	struct sock *sk;

	if (fd < 0)
		return 0;
	if (bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_get_current_task_btf)) {
		struct task_struct *task = bpf_get_current_task_btf();
		struct files_struct *files = task->files;

		if (!files)
			return 0;
		fdt = files->fdt;
		if (!fdt || fd >= fdt->max_fds)
			return 0;
		fds = fdt->fd;
	} else {
		struct task_struct *task = (void *)bpf_get_current_task();

		fdt = BPF_CORE_READ(task, files, fdt);
		if (!fdt || fd >= BPF_CORE_READ(fdt, max_fds))
			return 0;
		fds = BPF_CORE_READ(fdt, fd);
	}
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file)
		return 0;
	sock = BPF_CORE_READ(file, private_data);
	sk = BPF_CORE_READ(sock, sk);
	return tc_accepted_sk(sk);
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int tc_exit_accept4(struct trace_event_raw_sys_exit *ctx)
{
	return tc_accepted_fd(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_accept")
int tc_exit_accept(struct trace_event_raw_sys_exit *ctx)
{
	return tc_accepted_fd(ctx->ret);
}

/* Only the return value is read: the arguments changed in 6.10. */
SEC("fexit/inet_csk_accept")
int BPF_PROG(tc_accept_fexit)
{
	__u64 ret = 0;

	if (bpf_get_func_ret(ctx, &ret))
		return 0;
	return tc_accepted_sk((struct sock *)ret);
}

SEC("kretprobe/inet_csk_accept")
int BPF_KRETPROBE(tc_accept_kretprobe, struct sock *sk)
{
	return tc_accepted_sk(sk);
}
