// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "diagnose.h"
#include "names.h"
#include "utf8.h"

/* Everything the client rows of one destination add up to. */
struct dest {
	const struct tc_peer_row *first;	/* key and ports of the destination */
	__u64 closed, local_first, remote_first, one_exchange, attempts;
	__u64 exhausted, bind_conflict, retries, reuse_hits;
	const struct tc_peer_row *procs[3];	/* busiest first (rows are sorted) */
	int nprocs;
};

static void gather(const struct tc_model *m, size_t first, struct dest *d)
{
	memset(d, 0, sizeof(*d));
	d->first = &m->peers[first];
	for (size_t i = first; i < m->npeers; i++) {
		const struct tc_peer_row *r = &m->peers[i];

		if (!tc_same_dest(&r->key, &d->first->key))
			continue;
		d->closed += r->c.closed;
		d->local_first += r->c.kind[TC_CK_LOCAL_FIRST];
		d->remote_first += r->c.kind[TC_CK_REMOTE_FIRST];
		d->one_exchange += r->c.one_exchange;
		d->attempts += r->c.conn.attempts;
		d->exhausted += r->c.conn.port_exhausted;
		d->bind_conflict += r->c.conn.bind_conflict;
		d->retries += r->c.conn.port_retries;
		d->reuse_hits += r->c.tw.reuse_hits;
		if (d->nprocs < 3)
			d->procs[d->nprocs++] = r;
	}
}

static bool seen_before(const struct tc_model *m, size_t i)
{
	for (size_t k = 0; k < i; k++)
		if (tc_same_dest(&m->peers[k].key, &m->peers[i].key))
			return true;
	return false;
}

static void dest_str(const struct tc_peer_key *k, char *buf, size_t len)
{
	char l[64], r[72];

	tc_addr_str(k->tuple.family, k->tuple.laddr, l, sizeof(l));
	tc_endpoint_str(k->tuple.family, k->tuple.raddr, k->tuple.rport, r, sizeof(r));
	snprintf(buf, len, "%s -> %s", l, r);
}

static void proc_str(const struct tc_proc_key *p, char *buf, size_t len)
{
	char comm[TC_COMM_LEN * 4 + 1];

	if (!p->tgid) {
		snprintf(buf, len, "[unknown process]");
		return;
	}
	tc_printable(comm, p->comm, TC_COMM_LEN);
	snprintf(buf, len, "%s (pid %u)", comm, p->tgid);
}

static void procs_str(const struct dest *d, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < d->nprocs && off < len; i++) {
		char p[96];

		proc_str(&d->procs[i]->key.proc, p, sizeof(p));
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ", " : "", p);
	}
}

/* The accepting side of a destination on this host, if it is here: the
 * server row whose listening address:port is the destination. */
static const struct tc_peer_row *server_of(const struct tc_model *m, const struct tc_peer_key *c)
{
	const struct tc_peer_row *best = NULL;

	for (size_t i = 0; i < m->npeers; i++) {
		const struct tc_peer_key *k = &m->peers[i].key;

		if (k->role != TC_ROLE_SERVER || k->netns != c->netns ||
		    k->tuple.family != c->tuple.family || k->tuple.lport != c->tuple.rport ||
		    memcmp(k->tuple.laddr, c->tuple.raddr, TC_ADDR_LEN) ||
		    memcmp(k->tuple.raddr, c->tuple.laddr, TC_ADDR_LEN))
			continue;
		if (!best || m->peers[i].c.closed > best->c.closed)
			best = &m->peers[i];
	}
	return best;
}

static const struct tc_netns_info *netns_of(const struct tc_model *m, __u32 ino)
{
	for (size_t i = 0; i < m->nnetns; i++)
		if (m->netns[i].ino == ino && m->netns[i].found)
			return &m->netns[i];
	return NULL;
}

struct out {
	struct tc_finding *f;
	int n, max;
};

static struct tc_finding *add(struct out *o, int sev, const char *id)
{
	struct tc_finding *f;

	if (o->n >= o->max)
		return NULL;
	f = &o->f[o->n++];
	memset(f, 0, sizeof(*f));
	f->severity = sev;
	f->id = id;
	return f;
}

static void put(char *dst, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst, TC_FINDING_TEXT, fmt, ap);
	va_end(ap);
}

static double pct(__u64 a, __u64 b)
{
	return b ? 100.0 * (double)a / (double)b : 0.0;
}

/* The fixes for a destination running out of ports, most effective first;
 * tcp_tw_reuse only where the TIME_WAIT sockets are on this (connecting) side. */
static void exhaustion_fix(char *fix, const struct dest *d, const struct tc_netns_info *ni)
{
	bool tw_here = d->first->ports.time_wait > 0 || d->local_first > d->remote_first;
	char range[64] = "";

	if (ni)
		snprintf(range, sizeof(range), " (now %u-%u)", ni->port_lo, ni->port_hi);
	put(fix, "reuse connections (keepalive / a connection pool) instead of one per request; "
	    "widen net.ipv4.ip_local_port_range%s%s; spread over more source IPs or destination "
	    "addresses (the budget is per destination); tcp_tw_recycle is no option (removed in "
	    "Linux 4.12) and tcp_fin_timeout does not shorten TIME_WAIT", range,
	    tw_here && (!ni || ni->tw_reuse != 1) ?
		"; this side holds the TIME_WAIT sockets, so net.ipv4.tcp_tw_reuse=1 lets connect() "
		"take ones older than 1 s" : "");
}

static void rule_dest(const struct tc_model *m, const struct dest *d, struct out *o)
{
	const struct tc_ports *p = &d->first->ports;
	const struct tc_netns_info *ni = netns_of(m, d->first->key.netns);
	char dst[160], procs[220], budget[200] = "";
	struct tc_finding *f;
	bool failing = d->exhausted + d->bind_conflict > 0;

	dest_str(&d->first->key, dst, sizeof(dst));
	procs_str(d, procs, sizeof(procs));
	if (p->known)
		snprintf(budget, sizeof(budget), "; ports toward it: %u of %u in use (%.0f%%), %u in "
			 "TIME_WAIT; %.1f new connections/s vs. a sustainable %.1f/s (%u ports / %.0f s)",
			 p->in_use, p->range, 100 * p->utilisation, p->time_wait, p->rate,
			 p->tw_len_s > 0 ? p->range / p->tw_len_s : 0, p->range, p->tw_len_s);

	if (failing && (f = add(o, TC_SEV_CRITICAL, "eaddrnotavail"))) {
		snprintf(f->title, sizeof(f->title), "connect() to %s failed %llu times with "
			 "EADDRNOTAVAIL", dst, (unsigned long long)(d->exhausted + d->bind_conflict));
		put(f->evidence, "by %s: %llu found no free ephemeral port, %llu bind()-fixed ports "
		    "whose 4-tuple was taken, of %llu connects%s", procs,
		    (unsigned long long)d->exhausted, (unsigned long long)d->bind_conflict,
		    (unsigned long long)d->attempts, budget);
		if (d->exhausted)
			exhaustion_fix(f->fix, d, ni);
		else
			put(f->fix, "do not bind() a fixed source port before connect(): bind the address "
			    "with IP_BIND_ADDRESS_NO_PORT (or not at all) and let connect() choose the "
			    "port per destination; SO_REUSEADDR does not make a taken 4-tuple free");
	}

	bool ports_found = failing;

	if (!failing && p->known && p->rate > 0 &&
	    ((p->exhaustion_s >= 0 && p->exhaustion_s < TC_DOC_HORIZON_S) ||
	     p->utilisation >= TC_DOC_UTIL_WARN)) {
		bool soon = (p->exhaustion_s >= 0 && p->exhaustion_s < TC_DOC_SOON_S) ||
			    p->utilisation >= TC_DOC_UTIL_CRIT;

		ports_found = true;
		if ((f = add(o, soon ? TC_SEV_CRITICAL : TC_SEV_WARNING, "port_exhaustion"))) {
			if (p->exhaustion_s >= 0)
				snprintf(f->title, sizeof(f->title), "ephemeral ports toward %s run out in "
					 "about %.0f s at this rate", dst, p->exhaustion_s);
			else
				snprintf(f->title, sizeof(f->title), "%.0f%% of the ephemeral ports toward "
					 "%s are in use", 100 * p->utilisation, dst);
			put(f->evidence, "connecting: %s%s", procs, budget);
			exhaustion_fix(f->fix, d, ni);
		}
	}

	if (d->closed >= TC_DOC_MIN_CLOSES &&
	    pct(d->remote_first, d->closed) > 100 * TC_DOC_CLOSER_SHARE &&
	    pct(d->one_exchange, d->closed) >= 100 * TC_DOC_PATTERN_SHARE &&
	    (f = add(o, TC_SEV_WARNING, "keepalive_defeated"))) {
		const struct tc_peer_row *s = server_of(m, &d->first->key);
		char up[96] = "the upstream";

		if (s)
			proc_str(&s->key.proc, up, sizeof(up));
		snprintf(f->title, sizeof(f->title), "%s closes first after one request: keepalive to "
			 "%s is defeated", up, dst);
		put(f->evidence, "%.0f%% of %llu connections from %s were closed first by the upstream, "
		    "%.0f%% carried one request and one reply; every one leaves a TIME_WAIT on the "
		    "upstream%s%s", pct(d->remote_first, d->closed), (unsigned long long)d->closed,
		    procs, pct(d->one_exchange, d->closed), s ? " host (here)" : "'s side", budget);
		put(f->fix, "make the client keep connections open: HTTP/1.1 without "
		    "'Connection: close' toward the upstream (nginx: 'keepalive N;' in the upstream block, "
		    "'proxy_http_version 1.1;' and 'proxy_set_header Connection \"\";' - a map that "
		    "turns an empty Upgrade into 'close' defeats it; FastCGI: 'fastcgi_keep_conn on;' "
		    "and a keepalive-capable FastCGI server); check the upstream's keepalive_timeout "
		    "and keepalive_requests");
	}

	/* the port finding says it already, with the same fix first */
	if (!ports_found && d->closed >= TC_DOC_MIN_CLOSES &&
	    pct(d->local_first, d->closed) > 100 * TC_DOC_CLOSER_SHARE &&
	    pct(d->one_exchange, d->closed) >= 100 * TC_DOC_PATTERN_SHARE &&
	    (f = add(o, TC_SEV_INFO, "short_connections"))) {
		snprintf(f->title, sizeof(f->title), "one connection per request to %s, closed first "
			 "by this side", dst);
		put(f->evidence, "%s: %.0f%% of %llu connections closed here first after one request "
		    "and one reply; each leaves a TIME_WAIT holding a local port for 60 s%s", procs,
		    pct(d->local_first, d->closed), (unsigned long long)d->closed, budget);
		put(f->fix, "reuse connections (keepalive, a pool); where that cannot change, "
		    "net.ipv4.tcp_tw_reuse=1 lets connect() take this side's TIME_WAIT 4-tuples");
	}
}

static void rule_resets(const struct tc_model *m, struct out *o)
{
	for (size_t i = 0; i < m->nprocs; i++) {
		const struct tc_proc_row *r = &m->procs[i];
		__u64 rst = r->c.kind[TC_CK_RESET_SENT];
		struct tc_finding *f;
		char p[80];

		if (r->c.closed < TC_DOC_MIN_CLOSES ||
		    pct(rst, r->c.closed) < 100 * TC_DOC_RESET_SHARE ||
		    !(f = add(o, TC_SEV_WARNING, "linger_resets")))
			continue;
		proc_str(&r->key, p, sizeof(p));
		snprintf(f->title, sizeof(f->title), "%s ends most connections with a reset", p);
		put(f->evidence, "%llu of %llu closes (%.0f%%) sent RST instead of FIN: SO_LINGER with "
		    "timeout 0, or closing with unread data", (unsigned long long)rst,
		    (unsigned long long)r->c.closed, pct(rst, r->c.closed));
		put(f->fix, "close orderly: a reset dodges TIME_WAIT only by throwing away data in "
		    "flight and handing the peer ECONNRESET; if TIME_WAIT is the worry, reuse "
		    "connections instead (or tcp_tw_reuse on the connecting side)");
	}
}

/*
 * A FIN_WAIT socket aborted because data came after close() (TcpExtTCPAbortOnData)
 * also goes to CLOSE orphaned, error-free and without a timewait socket:
 * the tracer cannot tell it from an overflow. The kernel's own counter can:
 * when every netns with overflow rows was read and its counter is 0, none
 * happened.
 */
static bool overflow_disproved(const struct tc_model *m)
{
	bool any = false;

	for (size_t i = 0; i < m->npeers; i++) {
		const struct tc_netns_info *n = NULL;

		if (!m->peers[i].c.tw.overflow)
			continue;
		for (size_t k = 0; k < m->nnetns; k++)
			if (m->netns[k].ino == m->peers[i].key.netns)
				n = &m->netns[k];
		if (!n || !n->found || n->tw_overflow_mib != 0)
			return false;
		any = true;
	}
	return any;
}

static void rule_overflow(const struct tc_model *m, struct out *o)
{
	const struct tc_twcounts *t = &m->totals.tw;
	struct tc_finding *f;
	char lim[200] = "";
	size_t off = 0;

	if (!t->overflow || overflow_disproved(m) || !(f = add(o, TC_SEV_WARNING, "tw_overflow")))
		return;
	for (size_t i = 0; i < m->nnetns && off < sizeof(lim); i++)
		if (m->netns[i].found)
			off += (size_t)snprintf(lim + off, sizeof(lim) - off,
						"%snetns %u: tcp_max_tw_buckets %d, %llu in TIME_WAIT now",
						off ? "; " : " (", m->netns[i].ino,
						m->netns[i].max_tw_buckets,
						(unsigned long long)m->netns[i].time_wait);
	if (off && off < sizeof(lim) - 1)
		strcat(lim, ")");
	snprintf(f->title, sizeof(f->title), "%llu closing sockets skipped TIME_WAIT: "
		 "tcp_max_tw_buckets was full", (unsigned long long)t->overflow);
	put(f->evidence, "the kernel logged \"TCP: time wait bucket table overflow\" for each; %llu "
	    "entered TIME_WAIT normally%s", (unsigned long long)t->entered, lim);
	put(f->fix, "this is not a way to get rid of TIME_WAIT: without it a late segment of the "
	    "old connection can be taken for the new one on the same 4-tuple, or answered with a "
	    "reset; raise net.ipv4.tcp_max_tw_buckets (a timewait socket is a few hundred bytes) "
	    "and cut the churn that fills it (keepalive)");
}

static void rule_sysctls(const struct tc_model *m, struct out *o)
{
	__u64 tw_server = 0, tw_client = 0;
	struct tc_finding *f;

	for (size_t i = 0; i < m->npeers; i++) {
		if (m->peers[i].key.role == TC_ROLE_SERVER)
			tw_server += m->peers[i].c.timewait;
		else if (m->peers[i].key.role == TC_ROLE_CLIENT)
			tw_client += m->peers[i].c.timewait;
	}
	for (size_t i = 0; i < m->nnetns; i++) {
		const struct tc_netns_info *n = &m->netns[i];

		if (!n->found)
			continue;
		if (n->fin_timeout >= 0 && n->fin_timeout != 60 && m->totals.tw.entered &&
		    (f = add(o, TC_SEV_INFO, "fin_timeout_myth"))) {
			snprintf(f->title, sizeof(f->title), "netns %u: tcp_fin_timeout=%d does not "
				 "shorten TIME_WAIT", n->ino, n->fin_timeout);
			put(f->evidence, "TIME_WAIT lasts a fixed 60 s (TCP_TIMEWAIT_LEN); "
			    "tcp_fin_timeout bounds only orphaned sockets in FIN_WAIT2 (%llu of the %llu "
			    "timewait sockets seen)", (unsigned long long)m->totals.tw.fin_wait2,
			    (unsigned long long)m->totals.tw.entered);
			put(f->fix, "nothing to change for TIME_WAIT; see the port and keepalive findings");
		}
		if (n->tw_recycle > 0 && (f = add(o, TC_SEV_WARNING, "tw_recycle"))) {
			snprintf(f->title, sizeof(f->title), "netns %u: tcp_tw_recycle is on", n->ino);
			put(f->evidence, "it drops SYNs from clients behind NAT whose timestamps go "
			    "backwards; it was removed in Linux 4.12 for that reason");
			put(f->fix, "set net.ipv4.tcp_tw_recycle=0; use tcp_tw_reuse on connecting hosts");
		}
		if (n->tw_reuse >= 1 && tw_server >= TC_DOC_MIN_CLOSES && tw_server > tw_client &&
		    (f = add(o, TC_SEV_INFO, "tw_reuse_server_side"))) {
			snprintf(f->title, sizeof(f->title), "netns %u: tcp_tw_reuse=%d cannot help the "
				 "TIME_WAIT sockets here", n->ino, n->tw_reuse);
			put(f->evidence, "%llu of the TIME_WAIT sockets are on accepted connections (this "
			    "host's servers close first), %llu on connected ones; tcp_tw_reuse is "
			    "consulted only by connect()", (unsigned long long)tw_server,
			    (unsigned long long)tw_client);
			put(f->fix, "let the clients close first or keep connections open (keepalive); "
			    "server-side TIME_WAIT costs memory, not ports, unless it overflows");
		}
	}
}

static int by_severity(const void *a, const void *b)
{
	return ((const struct tc_finding *)b)->severity - ((const struct tc_finding *)a)->severity;
}

int tc_diagnose(const struct tc_model *m, struct tc_finding *out, int max)
{
	struct out o = { .f = out, .n = 0, .max = max };

	for (size_t i = 0; i < m->npeers; i++) {
		struct dest d;

		if (m->peers[i].key.role != TC_ROLE_CLIENT || seen_before(m, i))
			continue;
		gather(m, i, &d);
		rule_dest(m, &d, &o);
	}
	rule_resets(m, &o);
	rule_overflow(m, &o);
	rule_sysctls(m, &o);
	/* stable: equal severities keep the order the rules found them in */
	for (int i = 1; i < o.n; i++)
		for (int k = i; k > 0 && by_severity(&out[k - 1], &out[k]) > 0; k--) {
			struct tc_finding t = out[k];

			out[k] = out[k - 1];
			out[k - 1] = t;
		}
	return o.n;
}

int tc_worst(const struct tc_finding *f, int n)
{
	int w = -1;

	for (int i = 0; i < n; i++)
		if (f[i].severity > w)
			w = f[i].severity;
	return w;
}

int tc_doctor_status(const struct tc_finding *f, int n)
{
	int w = tc_worst(f, n);

	return w == TC_SEV_CRITICAL ? 3 : w == TC_SEV_WARNING ? 2 : 0;
}
