// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "ports.h"

int tc_parse_port_range(const char *s, __u32 *lo, __u32 *hi)
{
	unsigned a, b;

	if (!s || sscanf(s, "%u %u", &a, &b) != 2 || a > b || b > 65535)
		return -1;
	*lo = a;
	*hi = b;
	return 0;
}

long tc_reserved_in(const char *list, __u32 lo, __u32 hi)
{
	long n = 0;
	const char *p = list;

	while (p && *p && *p != '\n') {
		char *end;
		unsigned long a = strtoul(p, &end, 10), b = a;

		if (end == p)
			return -1;
		p = end;
		if (*p == '-') {
			b = strtoul(++p, &end, 10);
			if (end == p || b < a)
				return -1;
			p = end;
		}
		if (b >= lo && a <= hi)
			n += (long)((b < hi ? b : hi) - (a > lo ? a : lo) + 1);
		if (*p == ',')
			p++;
		else if (*p && *p != '\n')
			return -1;
	}
	return n;
}

__u32 tc_usable_ports(__u32 lo, __u32 hi, __u32 reserved_in_range)
{
	__u32 remaining = hi - lo + 1;

	if (remaining > 1)
		remaining &= ~1u;
	/* the odd port left out is the range's last; a reserved one there
	 * was not in `remaining` to begin with */
	if (reserved_in_range > remaining)
		return 0;
	return remaining - reserved_in_range;
}

bool tc_tw_reusable(int tw_reuse, int family, const __u8 *raddr)
{
	static const __u8 v6_loopback[16] = { [15] = 1 };

	if (tw_reuse == 1)
		return true;
	if (tw_reuse != 2)
		return false;
	if (family == AF_INET)
		return raddr[0] == 127;
	return !memcmp(raddr, v6_loopback, 16);
}

double tc_exhaustion_s(__u32 range, __u32 in_use, __u32 time_wait, double rate, double tw_len_s,
		       bool tw_reusable)
{
	double hold = tw_reusable ? TC_TW_REUSE_DELAY_S : tw_len_s;
	double tw = time_wait, busy = (double)in_use - tw, held, net;

	if (hold <= 0 || rate <= 0)
		return -1;
	if (tw_reusable && tw > rate * hold)
		tw = rate * hold;	/* older ones are free for the taking */
	if (busy + rate * hold <= (double)range)
		return -1;
	held = busy + tw;
	if (held >= (double)range)
		return 0;
	net = rate - tw / hold;
	if (net <= 0)
		return -1;
	return ((double)range - held) / net;
}

double tc_port_load(const struct tc_ports *p)
{
	double busy = (double)p->in_use - p->time_wait;
	double need = busy + p->rate * p->tw_share * p->hold_s;

	if (!p->range)
		return need > 0 ? 1e9 : 0;
	return need / p->range;
}

double tc_sustainable_rate(const struct tc_ports *p)
{
	double per = p->tw_share * p->hold_s, room = (double)p->range - ((double)p->in_use - p->time_wait);

	if (per <= 0)
		return -1;
	return room > 0 ? room / per : 0;
}

void tc_count_dest(const struct tc_portrec *recs, size_t n, const struct tc_tuple *dest,
		   __u32 lo, __u32 hi, __u32 *in_use, __u32 *time_wait)
{
	size_t alen = dest->family == AF_INET ? 4 : 16;

	*in_use = *time_wait = 0;
	for (size_t i = 0; i < n; i++) {
		const struct tc_tuple *t = &recs[i].tuple;

		if (t->family != dest->family || t->rport != dest->rport ||
		    t->lport < lo || t->lport > hi || memcmp(t->raddr, dest->raddr, alen) ||
		    memcmp(t->laddr, dest->laddr, alen))
			continue;
		(*in_use)++;
		if (recs[i].state == TC_TIME_WAIT)
			(*time_wait)++;
	}
}

/* Destination order: family, remote port, remote and local address (only
 * the family's bytes: the rest is not part of an IPv4 tuple). */
static int dest_cmp(const struct tc_tuple *a, const struct tc_tuple *b)
{
	size_t alen = a->family == AF_INET ? 4 : 16;
	int c;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if (a->rport != b->rport)
		return a->rport < b->rport ? -1 : 1;
	if ((c = memcmp(a->raddr, b->raddr, alen)))
		return c;
	return memcmp(a->laddr, b->laddr, alen);
}

static int rec_cmp(const void *a, const void *b)
{
	return dest_cmp(&((const struct tc_portrec *)a)->tuple, &((const struct tc_portrec *)b)->tuple);
}

void tc_sort_recs(struct tc_portrec *recs, size_t n)
{
	if (n > 1)
		qsort(recs, n, sizeof(*recs), rec_cmp);
}

void tc_count_dest_sorted(const struct tc_portrec *recs, size_t n, const struct tc_tuple *dest,
			  __u32 lo, __u32 hi, __u32 *in_use, __u32 *time_wait)
{
	size_t l = 0, h = n;

	*in_use = *time_wait = 0;
	while (l < h) {	/* the first rec not before dest */
		size_t mid = l + (h - l) / 2;

		if (dest_cmp(&recs[mid].tuple, dest) < 0)
			l = mid + 1;
		else
			h = mid;
	}
	for (; l < n && !dest_cmp(&recs[l].tuple, dest); l++) {
		if (recs[l].tuple.lport < lo || recs[l].tuple.lport > hi)
			continue;
		(*in_use)++;
		if (recs[l].state == TC_TIME_WAIT)
			(*time_wait)++;
	}
}

long long tc_netstat_value(const char *text, const char *group, const char *name)
{
	size_t glen = strlen(group), nlen = strlen(name);
	const char *l = text;

	while (l && *l) {
		const char *next = strchr(l, '\n'), *v, *n;
		int idx = 0, found = -1;

		if (strncmp(l, group, glen) || l[glen] != ':' || !next) {
			l = next ? next + 1 : NULL;
			continue;
		}
		/* names on this line, values on the next one with the same prefix */
		for (n = l + glen + 1; n < next; idx++) {
			while (*n == ' ')
				n++;
			if (n >= next)
				break;
			if (!strncmp(n, name, nlen) && (n[nlen] == ' ' || n + nlen == next))
				found = idx;
			while (n < next && *n != ' ')
				n++;
		}
		v = next + 1;
		if (found < 0 || strncmp(v, group, glen) || v[glen] != ':')
			return -1;
		v += glen + 1;
		for (idx = 0; idx < found; idx++) {
			while (*v == ' ')
				v++;
			while (*v && *v != ' ' && *v != '\n')
				v++;
		}
		{
			char *end;
			long long x = strtoll(v, &end, 10);

			return end == v ? -1 : x;
		}
	}
	return -1;
}
