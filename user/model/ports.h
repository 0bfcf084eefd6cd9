/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The ephemeral port budget toward one destination, as pure arithmetic over
 * numbers read elsewhere (sysctls, the port survey, the rows): unit-tested.
 */
#ifndef TCPCLOSE_PORTS_H
#define TCPCLOSE_PORTS_H

#include <stdbool.h>
#include <stddef.h>
#include "tcpclose.h"

/* TCP_TIMEWAIT_LEN: fixed in the kernel, not a sysctl. */
#define TC_TIMEWAIT_LEN_S 60.0
/* tcp_tw_reuse waits this long before a TIME_WAIT 4-tuple may be reused
 * (6.18 makes it net.ipv4.tcp_tw_reuse_delay, default 1000 ms). */
#define TC_TW_REUSE_DELAY_S 1.0

/* "32768\t60999" -> 0, or -1 if unreadable. */
int tc_parse_port_range(const char *s, __u32 *lo, __u32 *hi);
/* How many of ip_local_reserved_ports ("8080,9000-9010") fall in [lo, hi];
 * -1 on a malformed list. */
long tc_reserved_in(const char *list, __u32 lo, __u32 hi);
/* Ports connect() can pick: the range, made even as __inet_hash_connect()
 * does (remaining &= ~1), less the reserved ones in it. */
__u32 tc_usable_ports(__u32 lo, __u32 hi, __u32 reserved_in_range);
/* tcp_tw_reuse = 1 everywhere, 2 (the default) toward loopback only. */
bool tc_tw_reusable(int tw_reuse, int family, const __u8 *raddr);

struct tc_ports {
	int known;		/* the netns could be surveyed */
	__u32 range;		/* usable ephemeral ports */
	__u32 in_use;		/* sockets holding one toward this destination now */
	__u32 time_wait;	/* ... of which in TIME_WAIT */
	double utilisation;	/* in_use / range */
	double rate;		/* new connections per second to this destination, all
				 * processes of the netns (this window) */
	double tw_len_s;	/* how long a TIME_WAIT holds its port here */
	double tw_share;	/* of those connections, the share that left their
				 * TIME_WAIT on this side (the peer holds the others' and
				 * this side's port is free at close); 1 before any closed */
	double hold_s;		/* how long each of those holds its port: tw_len_s, or
				 * TC_TW_REUSE_DELAY_S where tcp_tw_reuse applies */
	double exhaustion_s;	/* at this rate, seconds until none is left; <0: never */
};

/* The share of the range the steady state at this rate holds:
 * ((in_use - time_wait) + rate * tw_share * hold_s) / range (> 1: it runs out). */
double tc_port_load(const struct tc_ports *p);
/* The rate of new connections at which that is 1; < 0 when no rate is too
 * much (this side holds no TIME_WAIT). */
double tc_sustainable_rate(const struct tc_ports *p);

/*
 * Seconds until no port is left toward one destination if connections that
 * leave their TIME_WAIT on this side keep coming at `rate` (new connections
 * times tw_share: where the peer closes first, the peer holds the TIME_WAIT
 * and this side's port is free at close), each port then held for tw_len_s (or
 * only TC_TW_REUSE_DELAY_S when tcp_tw_reuse applies). The steady state
 * holds (in_use - time_wait) + rate * hold ports; at or under range that is
 * never (-1). Otherwise ports fill at rate minus the expiry of today's
 * TIME_WAIT sockets (time_wait / hold, ages taken as uniform): from empty,
 * range / rate, the seed's 28232 ports / 470 per second.
 */
double tc_exhaustion_s(__u32 range, __u32 in_use, __u32 time_wait, double rate, double tw_len_s,
		       bool tw_reusable);

/* Count surveyed sockets toward (family, laddr, raddr, rport) on a local
 * port in [lo, hi]: in_use, and of those in TIME_WAIT. */
void tc_count_dest(const struct tc_portrec *recs, size_t n, const struct tc_tuple *dest,
		   __u32 lo, __u32 hi, __u32 *in_use, __u32 *time_wait);

/* The same count over recs sorted by tc_sort_recs(): a binary search and
 * the run of that destination, so 100k destinations over 200k sockets
 * take a moment instead of minutes. */
/* One counter of /proc/net/netstat text ("TcpExt: names" then "TcpExt:
 * values"): its value, or -1 when absent or malformed. */
long long tc_netstat_value(const char *text, const char *group, const char *name);

void tc_sort_recs(struct tc_portrec *recs, size_t n);
void tc_count_dest_sorted(const struct tc_portrec *recs, size_t n, const struct tc_tuple *dest,
			  __u32 lo, __u32 hi, __u32 *in_use, __u32 *time_wait);

#endif
