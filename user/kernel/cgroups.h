/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * cgroup v2 ids (what the kernel attributes sockets to) and paths (what an
 * operator knows): the id of a cgroup is its directory's inode number.
 */
#ifndef TCPCLOSE_CGROUPS_H
#define TCPCLOSE_CGROUPS_H

#include <stddef.h>
#include <linux/types.h>

/* The path of cgroup id below the cgroup2 root ("/system.slice/x.service",
 * "/" for the root), or NULL when no such cgroup exists (any more). The
 * hierarchy is walked again at most once per tc_cgroups_round(). The
 * strings live until exit. */
const char *tc_cgroup_path(__u64 id);
void tc_cgroups_round(void);

/*
 * --cgroup PATH: a path under the cgroup2 mount or relative to its root
 * ("/system.slice/nginx.service"). Its id and level (the root is level 0,
 * as bpf_get_current_ancestor_cgroup_id counts). -1 with err otherwise.
 */
int tc_cgroup_lookup(const char *path, __u64 *id, int *level, char *err, size_t errlen);

#endif
