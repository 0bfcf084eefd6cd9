/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Who owns a socket, and whether they are reported: the owner is taken in
 * process context (connect(), accept(), close()/shutdown()), where current
 * is the socket's process; -p / -c / --cgroup are checked at the close.
 */
#ifndef TCPCLOSE_OWNER_BPF_H
#define TCPCLOSE_OWNER_BPF_H

#include "config.bpf.h"
#include "core.bpf.h"

/* Only call in process context, where current owns the socket. */
static __always_inline void tc_take_owner(struct tc_sock *s, const struct sock *sk, bool direct)
{
	struct task_struct *task = (void *)bpf_get_current_task();

	s->owner.tgid = bpf_get_current_pid_tgid() >> 32;
	/* Rows and -c go by the process's name, as ps, pidof and top show it:
	 * a thread's own (Java's "http-nio-8080-exec-1") is kept beside it. */
	if (direct || bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_get_current_task_btf)) {
		/* Both names load as two words each from the BTF task, no
		 * helper (any program type, where the kernel has the helper):
		 * the kernel keeps comm NUL-padded (strscpy_pad), so the
		 * copy is the same bytes a string read would give. */
		const struct task_struct *cur = bpf_get_current_task_btf();
		const __u64 *lead = (const __u64 *)cur->group_leader->comm;
		const __u64 *own = (const __u64 *)cur->comm;
		__u64 *c = (__u64 *)s->owner.comm, *t = (__u64 *)s->owner.thread;

		_Static_assert(sizeof(s->owner.comm) == 16 && sizeof(cur->comm) == 16,
			       "comm is two words");
		c[0] = lead[0];
		c[1] = lead[1];
		t[0] = own[0];
		t[1] = own[1];
	} else {
		if (BPF_CORE_READ_STR_INTO(&s->owner.comm, task, group_leader, comm) < 0)
			bpf_get_current_comm(s->owner.comm, sizeof(s->owner.comm));
		bpf_get_current_comm(s->owner.thread, sizeof(s->owner.thread));
	}
	s->owner.cgroup_id = tc_sk_cgroup(sk, direct);
	/* The task's ancestor at that depth is the cgroup itself exactly when
	 * the task is in it or below it (containers nest). */
	if (target_cgroup)
		s->owner.in_cgroup =
			bpf_get_current_ancestor_cgroup_id(target_cgroup_level) == target_cgroup;
	s->flags |= TC_SF_OWNER;
}

/* -p / -c / --cgroup: is this owner one we report? */
static __always_inline int tc_owner_matches(const struct tc_owner *o)
{
	if (target_tgid && o->tgid != target_tgid)
		return 0;
	if (target_cgroup && !o->in_cgroup)
		return 0;
	if (!target_comm[0])
		return 1;
	for (int i = 0; i < TC_COMM_LEN; i++) {
		if (o->comm[i] != target_comm[i])
			return 0;
		if (!o->comm[i])
			return 1;
	}
	return 1;
}

#endif /* TCPCLOSE_OWNER_BPF_H */
