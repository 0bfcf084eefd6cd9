// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <seccomp.h>
#include "sandbox.h"

/*
 * What every tcpclose process does once attached: memory, time, signals,
 * threads (libmicrohttpd), and I/O on what it holds or may open.
 */
static const char *const base_calls[] = {
	/* memory and threads */
	"brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "futex", "set_robust_list",
	"get_robust_list", "rseq", "clone", "clone3", "sched_yield", "sched_getaffinity",
	"gettid", "getpid", "getppid", "getuid", "geteuid", "getgid", "getegid", "getrandom",
	"prlimit64", "getrusage", "uname", "membarrier", "set_tid_address",
	/* time */
	"clock_gettime", "clock_nanosleep", "nanosleep", "gettimeofday", "time", "clock_getres",
	/* signals and ending */
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "rt_sigtimedwait",
	"kill", "tgkill", "wait4", "waitid", "exit", "exit_group", "restart_syscall",
	/* I/O on descriptors */
	"read", "write", "readv", "writev", "pread64", "pwrite64", "lseek", "close", "dup",
	"dup2", "dup3", "fcntl", "ioctl", "fsync", "fdatasync", "ftruncate", "pipe", "pipe2",
	"poll", "ppoll", "select", "pselect6", "epoll_create", "epoll_create1", "epoll_ctl",
	"epoll_wait", "epoll_pwait", "epoll_pwait2", "eventfd", "eventfd2",
	/* files: reports, recordings, textfiles, cgroup paths, /proc/self */
	"openat", "open", "fstat", "newfstatat", "stat", "lstat", "statx", "fstatfs", "statfs",
	"getdents64", "readlink", "readlinkat", "access", "faccessat", "faccessat2",
	"rename", "renameat", "renameat2", "unlink", "unlinkat", "fchmod", "umask", "getcwd",
	/* the maps, programs and ring buffer it holds (and test runs of the sweep) */
	"bpf",
	/* sockets: the helper's socket pair, the exporter's HTTP */
	"socket", "bind", "listen", "accept", "accept4", "connect", "shutdown", "getsockname",
	"getpeername", "setsockopt", "getsockopt", "sendto", "recvfrom", "sendmsg", "recvmsg",
	"socketpair", "prctl",
};

/* The survey helper also enters network namespaces (that is its job). */
static const char *const helper_calls[] = { "setns" };

static int allow(scmp_filter_ctx ctx, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int nr = seccomp_syscall_resolve_name(names[i]);

		/* a name this architecture lacks (open, stat on arm64) */
		if (nr == __NR_SCMP_ERROR)
			continue;
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0))
			return -1;
	}
	return 0;
}

int tc_sandbox(int role, char *err, size_t errlen)
{
	scmp_filter_ctx ctx;
	int rc = -1;

	/* Anything else fails with EPERM (an error the caller reports) rather
	 * than killing the process: a report still prints, a scrape still
	 * answers. Never allowed: exec, ptrace, mount, module and key calls,
	 * process_vm_*, and in the main process setns/unshare. */
	ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	if (!ctx) {
		snprintf(err, errlen, "cannot set up the seccomp filter");
		return -1;
	}
	if (allow(ctx, base_calls, sizeof(base_calls) / sizeof(base_calls[0])) ||
	    (role == TC_SANDBOX_HELPER &&
	     allow(ctx, helper_calls, sizeof(helper_calls) / sizeof(helper_calls[0]))))
		snprintf(err, errlen, "cannot build the seccomp filter");
	else if ((rc = seccomp_load(ctx)))
		snprintf(err, errlen, "cannot load the seccomp filter: %s", strerror(-rc));
	seccomp_release(ctx);
	return rc ? -1 : 0;
}
