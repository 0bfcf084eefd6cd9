/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Command line: pure parsing into tc_opts, no side effects. */
#ifndef TCPCLOSE_ARGS_H
#define TCPCLOSE_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include "tcpclose.h"

enum tc_cmd {
	TC_CMD_REPORT = 0,
	TC_CMD_TRACE,
	TC_CMD_DOCTOR,
	TC_CMD_TOP,
	TC_CMD_EXPORT,
	TC_CMD_RECORD,
	TC_CMD_HELP,
	TC_CMD_VERSION,
};

struct tc_opts {
	enum tc_cmd cmd;
	double duration_s;	/* 0: until Ctrl-C */
	double interval_s;	/* report: also print every interval; 0: only at the end */
	bool json;
	bool verbose;
	__u32 pid;		/* 0: every process */
	char comm[TC_COMM_LEN];	/* "": every comm */
	const char *netns_path;	/* NULL: every netns */
	int attach;		/* enum tc_attach */
	unsigned top;		/* text rows per table */
	__u32 max_sockets;	/* socket-record map size */
	__u32 max_peers;
	__u32 max_procs;
	__u32 max_timewait;	/* timewait-stay map size */
	bool prog_stats;	/* measure the tracer's own BPF programs (run time) */
	const char *cgroup_path;	/* --cgroup: NULL for every cgroup */
	int sort;		/* top: enum tc_top_sort */
	const char *listen;	/* export: "ADDR:PORT" to serve /metrics on, or NULL */
	const char *textfile;	/* export: node_exporter textfile path, or NULL */
	bool keep_caps;		/* --keep-caps: do not drop privileges after attaching */
	const char *user;	/* --user: who the process is once attached; NULL: nobody,
				 * or with --textfile the owner of its directory */
	bool light;		/* --light: no hook that runs for every timer/syscall of the host */
	const char *output;	/* record: -o FILE */
	const char *from;	/* report/doctor: --from FILE, a recording instead of the kernel */
};

/* top's sort columns, also its column order. */
enum tc_top_sort {
	TC_SORT_CLOSED = 0,
	TC_SORT_LOCAL,		/* local-first closes */
	TC_SORT_REMOTE,
	TC_SORT_RESET,
	TC_SORT_TW_NOW,
	TC_SORT_TW_RATE,
	TC_SORT_REUSE,
	TC_SORT_RETRIES,
	TC_SORT_EADDRNOTAVAIL,
	TC_SORT_PORTS,		/* port utilisation (peers) */
	TC_SORT_MAX,
};
const char *tc_sort_name(int sort);
int tc_sort_parse(const char *s);	/* -1 when unknown */

/*
 * Returns 0 on success, -1 on a usage error with a one-line message in err.
 * argv[1] is the subcommand; without one the command is top (refreshed
 * every 2 s unless -i says otherwise).
 */
/* A command by name (NULL: none such). */
struct tc_command {
	const char *name;
	enum tc_cmd cmd;
};
const struct tc_command *tc_command_find(const char *name);
const char *tc_command_name(enum tc_cmd cmd);

int tc_parse_args(int argc, char **argv, struct tc_opts *o, char *err, size_t errlen);
const char *tc_usage(void);
/* "[ADDR]:PORT", "[v6addr]:PORT": the address (127.0.0.1 when empty) and
 * port; -1 when malformed. addr may be NULL to only check. */
int tc_parse_listen(const char *s, char *addr, size_t addrlen, unsigned *port);

#endif
