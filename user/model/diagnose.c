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
	__u64 timeouts[TC_CAUSE_MAX];	/* the timeout causes' counts (aborts: not FIN_WAIT2's) */
	__u64 idle_count, idle_sum_s, idle_max_s;	/* ... their peers' silence */
	const size_t *rows;	/* its rows in m->peers, busiest first (rows are sorted) */
	size_t nrows;
};

/* What a row's process did toward a destination, for naming it in the
 * evidence of a finding about that: only processes that did it are named. */
enum did {
	DID_FAIL,		/* connect() failed with EADDRNOTAVAIL */
	DID_CONNECT,		/* connected */
	DID_REMOTE_FIRST,	/* had connections closed first by the peer */
	DID_LOCAL_FIRST,	/* closed connections first */
	DID_TIMEOUT,		/* had connections time out */
};

/*
 * Lookups over the rows, built once per verdict so that a model of many
 * rows (a recording of 40k peers) costs n log n, not a scan per row:
 * client rows grouped by destination, server rows by what they accept,
 * the netns by inode. Each index breaks ties by row position, so every
 * answer is the one the rows' order gave the scans these replace.
 */
struct index {
	size_t *dest;	/* client rows by destination, then position */
	size_t ndest;
	size_t *srv;	/* server rows by (netns, family, lport, laddr, raddr), then position */
	size_t nsrv;
	size_t *ns;	/* m->netns by inode, then position */
	const struct tc_model *m;
};

static int cmp_pos(size_t a, size_t b)
{
	return a < b ? -1 : a > b;
}

static int by_dest(const void *a, const void *b, void *ctx)
{
	const struct tc_peer_row *p = ctx;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = tc_dest_cmp(&p[x].key, &p[y].key);

	return c ? c : cmp_pos(x, y);
}

/* A server row's accepting side, in the terms of a client row toward it:
 * (netns, family, the port it listens on, its address, the client's). */
struct srv_key {
	__u32 netns;
	__u16 family, port;
	const __u8 *laddr, *raddr;
};

static struct srv_key srv_of_server(const struct tc_peer_key *k)
{
	return (struct srv_key){ k->netns, k->tuple.family, k->tuple.lport, k->tuple.laddr,
				 k->tuple.raddr };
}

static struct srv_key srv_of_client(const struct tc_peer_key *c)
{
	return (struct srv_key){ c->netns, c->tuple.family, c->tuple.rport, c->tuple.raddr,
				 c->tuple.laddr };
}

static int srv_cmp(const struct srv_key *x, const struct srv_key *y)
{
	int c;

	if (x->netns != y->netns)
		return x->netns < y->netns ? -1 : 1;
	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	if ((c = memcmp(x->laddr, y->laddr, TC_ADDR_LEN)))
		return c;
	return memcmp(x->raddr, y->raddr, TC_ADDR_LEN);
}

static int by_srv(const void *a, const void *b, void *ctx)
{
	const struct tc_peer_row *p = ctx;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	struct srv_key kx = srv_of_server(&p[x].key), ky = srv_of_server(&p[y].key);
	int c = srv_cmp(&kx, &ky);

	return c ? c : cmp_pos(x, y);
}

static int by_ino(const void *a, const void *b, void *ctx)
{
	const struct tc_netns_info *n = ctx;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	if (n[x].ino != n[y].ino)
		return n[x].ino < n[y].ino ? -1 : 1;
	return cmp_pos(x, y);
}

static void index_free(struct index *ix)
{
	free(ix->dest);
	free(ix->srv);
	free(ix->ns);
	memset(ix, 0, sizeof(*ix));
}

/* -1 when out of memory (nothing to judge by then). */
static int index_build(struct index *ix, const struct tc_model *m)
{
	size_t np = m->npeers ? m->npeers : 1;

	memset(ix, 0, sizeof(*ix));
	ix->m = m;
	ix->dest = malloc(np * sizeof(*ix->dest));
	ix->srv = malloc(np * sizeof(*ix->srv));
	ix->ns = malloc((m->nnetns ? m->nnetns : 1) * sizeof(*ix->ns));
	if (!ix->dest || !ix->srv || !ix->ns) {
		index_free(ix);
		return -1;
	}
	for (size_t i = 0; i < m->npeers; i++) {
		if (m->peers[i].key.role == TC_ROLE_CLIENT)
			ix->dest[ix->ndest++] = i;
		else if (m->peers[i].key.role == TC_ROLE_SERVER)
			ix->srv[ix->nsrv++] = i;
	}
	for (size_t i = 0; i < m->nnetns; i++)
		ix->ns[i] = i;
	qsort_r(ix->dest, ix->ndest, sizeof(*ix->dest), by_dest, m->peers);
	qsort_r(ix->srv, ix->nsrv, sizeof(*ix->srv), by_srv, m->peers);
	qsort_r(ix->ns, m->nnetns, sizeof(*ix->ns), by_ino, m->netns);
	return 0;
}

/* The first netns entry (in m->netns order) with inode ino: its position
 * in ix->ns, or ix->m->nnetns when there is none. */
static size_t ns_lower(const struct index *ix, __u32 ino)
{
	size_t lo = 0, hi = ix->m->nnetns;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ix->m->netns[ix->ns[mid]].ino < ino)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Everything the client rows of one destination (ix->dest[g..e)) add up to. */
static void gather(const struct tc_model *m, const size_t *rows, size_t n, struct dest *d)
{
	memset(d, 0, sizeof(*d));
	d->first = &m->peers[rows[0]];
	d->rows = rows;
	d->nrows = n;
	for (size_t i = 0; i < n; i++) {
		const struct tc_peer_row *r = &m->peers[rows[i]];

		d->closed += r->c.closed;
		d->local_first += r->c.kind[TC_CK_LOCAL_FIRST];
		d->remote_first += r->c.kind[TC_CK_REMOTE_FIRST];
		d->one_exchange += r->c.one_exchange;
		d->attempts += r->c.conn.attempts;
		d->exhausted += r->c.conn.port_exhausted;
		d->bind_conflict += r->c.conn.bind_conflict;
		d->retries += r->c.conn.port_retries;
		d->reuse_hits += r->c.tw.reuse_hits;
		for (int k = TC_CAUSE_FIRST_TIMEOUT; k < TC_CAUSE_FIN_WAIT2; k++)
			d->timeouts[k] += r->c.cause[k];
		d->idle_count += r->c.idle_count;
		d->idle_sum_s += r->c.idle_sum_s;
		if (r->c.idle_max_s > d->idle_max_s)
			d->idle_max_s = r->c.idle_max_s;
	}
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

/* pid 0 is no process: the sockets of it were open before tcpclose
 * started and no process-context moment of theirs was seen. */
static bool did(const struct tc_peer_row *r, enum did what)
{
	const struct tc_counts *c = &r->c;

	if (!r->key.proc.tgid)
		return false;
	switch (what) {
	case DID_FAIL:
		return c->conn.port_exhausted + c->conn.bind_conflict > 0;
	case DID_CONNECT:
		return c->conn.attempts > 0;
	case DID_REMOTE_FIRST:
		return c->kind[TC_CK_REMOTE_FIRST] > 0;
	case DID_LOCAL_FIRST:
		return c->kind[TC_CK_LOCAL_FIRST] > 0;
	case DID_TIMEOUT:
		for (int k = TC_CAUSE_FIRST_TIMEOUT; k < TC_CAUSE_FIN_WAIT2; k++)
			if (c->cause[k])
				return true;
		return false;
	}
	return false;
}

/* A row's process, for naming processes by their name: "php-fpm8.2 (16
 * processes)" rather than one pid of sixteen workers. */
struct pname {
	const char *comm;
	__u32 tgid;
	size_t order;	/* its row's rank, busiest first */
	size_t nproc;	/* after pnames_str(): distinct pids of that name */
};

static int pname_cmp(const void *a, const void *b)
{
	const struct pname *x = a, *y = b;
	int c = strncmp(x->comm, y->comm, TC_COMM_LEN);

	if (c)
		return c;
	if (x->tgid != y->tgid)
		return x->tgid < y->tgid ? -1 : 1;
	return cmp_pos(x->order, y->order);
}

static int pname_by_order(const void *a, const void *b)
{
	return cmp_pos(((const struct pname *)a)->order, ((const struct pname *)b)->order);
}

/*
 * The processes of n rows by name, the name of the busiest row first, at
 * most `max` names (then "and N more"): "nginx (pid 12)" for one process of
 * that name, "php-fpm8.2 (16 processes)" for several. Sorts and rewrites
 * `p` (the caller's, one entry per row): p[0] is then the first name.
 * Returns how many names there were.
 */
static size_t pnames_str(struct pname *p, size_t n, size_t max, char *buf, size_t len)
{
	size_t ng = 0, off = 0;

	buf[0] = '\0';
	qsort(p, n, sizeof(*p), pname_cmp);
	for (size_t i = 0; i < n;) {	/* one entry per name, at its busiest row */
		size_t e = i, nproc = 0, best = i;

		for (; e < n && !strncmp(p[e].comm, p[i].comm, TC_COMM_LEN); e++) {
			nproc += e == i || p[e].tgid != p[e - 1].tgid;
			if (p[e].order < p[best].order)
				best = e;
		}
		p[ng] = p[best];
		p[ng++].nproc = nproc;
		i = e;
	}
	qsort(p, ng, sizeof(*p), pname_by_order);
	for (size_t g = 0; g < ng && g < max && off < len; g++) {
		char comm[TC_COMM_LEN * 4 + 1];

		tc_printable(comm, p[g].comm, TC_COMM_LEN);
		if (p[g].nproc > 1)
			off += (size_t)snprintf(buf + off, len - off, "%s%s (%zu processes)",
						g ? ", " : "", comm, p[g].nproc);
		else
			off += (size_t)snprintf(buf + off, len - off, "%s%s (pid %u)", g ? ", " : "",
						comm, p[g].tgid);
	}
	if (ng > max && off < len)
		snprintf(buf + off, len - off, " and %zu more", ng - max);
	return ng;
}

/* The processes of a destination's rows that did `what`, by name. */
static void procs_str(const struct tc_model *m, const struct dest *d, enum did what, char *buf,
		      size_t len)
{
	struct pname *p = malloc((d->nrows ? d->nrows : 1) * sizeof(*p));
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; p && i < d->nrows; i++) {
		const struct tc_peer_row *r = &m->peers[d->rows[i]];

		if (did(r, what))
			p[n++] = (struct pname){ r->key.proc.comm, r->key.proc.tgid, i, 0 };
	}
	if (!n || !pnames_str(p, n, 3, buf, len))
		snprintf(buf, len, "processes not seen (sockets older than tcpclose)");
	free(p);
}

/* The accepting side of a destination on this host, if it is here: the
 * server rows whose listening address:port is the destination, of a process
 * seen closing; returns the busiest (the first of equals) or NULL, and in
 * up (when not NULL) the processes of its name: "php-fpm8.2 (16 processes)". */
static const struct tc_peer_row *server_of(const struct index *ix, const struct tc_peer_key *c,
					   char *up, size_t uplen)
{
	const struct tc_peer_row *p = ix->m->peers, *best = NULL;
	struct srv_key want = srv_of_client(c);
	size_t lo = 0, hi = ix->nsrv, first;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct srv_key k = srv_of_server(&p[ix->srv[mid]].key);

		if (srv_cmp(&k, &want) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (first = lo; lo < ix->nsrv; lo++) {
		const struct tc_peer_row *r = &p[ix->srv[lo]];
		struct srv_key k = srv_of_server(&r->key);

		if (srv_cmp(&k, &want))
			break;
		if (!r->key.proc.tgid || !r->c.closed)	/* no process seen closing */
			continue;
		if (!best || r->c.closed > best->c.closed)
			best = r;
	}
	if (best && up) {	/* every process of the busiest one's name */
		struct pname *pn = malloc((lo - first) * sizeof(*pn));
		size_t n = 0;

		for (size_t i = first; pn && i < lo; i++) {
			const struct tc_peer_row *r = &p[ix->srv[i]];

			if (r->key.proc.tgid && r->c.closed &&
			    !strncmp(r->key.proc.comm, best->key.proc.comm, TC_COMM_LEN))
				pn[n++] = (struct pname){ r->key.proc.comm, r->key.proc.tgid,
							  r == best ? 0 : 1 + i, 0 };
		}
		if (!n || !pnames_str(pn, n, 1, up, uplen))
			proc_str(&best->key.proc, up, uplen);
		free(pn);
	}
	return best;
}

/* The first netns entry of inode ino that was read, or NULL. */
static const struct tc_netns_info *netns_of(const struct index *ix, __u32 ino)
{
	const struct tc_model *m = ix->m;

	for (size_t k = ns_lower(ix, ino); k < m->nnetns && m->netns[ix->ns[k]].ino == ino; k++)
		if (m->netns[ix->ns[k]].found)
			return &m->netns[ix->ns[k]];
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

static int count_id(const struct out *o, const char *id)
{
	int n = 0;

	for (int i = 0; i < o->n; i++)
		n += !strcmp(o->f[i].id, id);
	return n;
}

static void put(char *dst, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst, TC_FINDING_TEXT, fmt, ap);
	va_end(ap);
}

/* put()'s, at the end of what dst holds */
static void put_more(char *dst, const char *fmt, ...)
{
	size_t n = strnlen(dst, TC_FINDING_TEXT);
	va_list ap;

	if (n + 1 >= TC_FINDING_TEXT)
		return;
	va_start(ap, fmt);
	vsnprintf(dst + n, TC_FINDING_TEXT - n, fmt, ap);
	va_end(ap);
}

static double pct(__u64 a, __u64 b)
{
	return b ? 100.0 * (double)a / (double)b : 0.0;
}

/* A destination's port budget in words: what is held now, and the rate
 * the range sustains given who holds the TIME_WAIT and tcp_tw_reuse. */
static void budget_str(const struct tc_ports *p, char *buf, size_t len)
{
	double sus = tc_sustainable_rate(p);
	int off;

	off = snprintf(buf, len, "; ports toward it: %u of %u in use (%.0f%%), %u in TIME_WAIT; "
		       "%.1f new connections/s vs. ", p->in_use, p->range, 100 * p->utilisation,
		       p->time_wait, p->rate);
	if (off < 0 || (size_t)off >= len)
		return;
	if (sus < 0) {
		snprintf(buf + off, len - off, "no limit: none left its TIME_WAIT on this side "
			 "(the peer closes first and holds it)");
		return;
	}
	off += snprintf(buf + off, len - off, "a sustainable %.1f/s (%u ports / %.0f s", sus,
			p->range, p->hold_s);
	if ((size_t)off >= len)
		return;
	if (p->hold_s < p->tw_len_s)
		off += snprintf(buf + off, len - off, ", tcp_tw_reuse");
	if ((size_t)off < len && p->tw_share < 1)	/* 0.24 %, not 0 %, when it is small */
		off += snprintf(buf + off, len - off, p->tw_share >= 0.1 ? ", %.0f%% of "
				"connections leaving their TIME_WAIT on this side" : ", %.2g%% of "
				"connections leaving their TIME_WAIT on this side", 100 * p->tw_share);
	if ((size_t)off < len)
		snprintf(buf + off, len - off, ")");
}

/* comm begins with prefix (comm need not be NUL-terminated). */
static bool comm_is(const char *comm, const char *prefix)
{
	size_t n = strlen(prefix);

	return n <= TC_COMM_LEN && !strncmp(comm, prefix, n);
}

/* comm is name, not only begins with it (postgres, not postgres_export). */
static bool comm_eq(const char *comm, const char *name)
{
	return comm_is(comm, name) && strnlen(comm, TC_COMM_LEN) == strlen(name);
}

/*
 * The servers whose clients pool connections rather than keep one alive,
 * known by the server's process name when it runs here, else by its
 * well-known port (then said as a guess): how their clients stop opening
 * one connection per transaction or command.
 */
static const struct {
	const char *comm, *name;
	__u16 port;
	const char *pool;
} pooled[] = {
	{ "postgres", "PostgreSQL", 5432, "pool connections (PgBouncer in transaction mode, or the "
	  "application's own pool) instead of one per transaction: each new one also forks a "
	  "PostgreSQL backend" },
	{ "redis-server", "Redis", 6379, "keep connections open (one per worker: phpredis "
	  "pconnect(), the client library's pool) instead of one per command" },
	{ "mysqld", "MySQL", 3306, "pool connections (the driver's pool, ProxySQL, PDO "
	  "persistent connections) instead of one per query" },
	{ "mariadbd", "MariaDB", 3306, "pool connections (the driver's pool, ProxySQL, PDO "
	  "persistent connections) instead of one per query" },
};

/* The first clause of a fix for churn toward d: the server's own pooling
 * advice where it is one of those, the generic one otherwise. */
static void reuse_advice(char *buf, size_t len, const struct index *ix, const struct dest *d)
{
	const struct tc_peer_row *s = server_of(ix, &d->first->key, NULL, 0);
	const size_t n = sizeof(pooled) / sizeof(pooled[0]);

	for (size_t i = 0; s && i < n; i++)
		if (comm_eq(s->key.proc.comm, pooled[i].comm)) {
			snprintf(buf, len, "%s: %s", pooled[i].name, pooled[i].pool);
			return;
		}
	for (size_t i = 0; !s && i < n; i++)
		if (d->first->key.tuple.rport == pooled[i].port) {
			snprintf(buf, len, "if port %u is %s's: %s", pooled[i].port, pooled[i].name,
				 pooled[i].pool);
			return;
		}
	snprintf(buf, len, "reuse connections (keepalive / a connection pool) instead of one per "
		 "request");
}

/* The fixes for a destination running out of ports, most effective first;
 * tcp_tw_reuse only where the TIME_WAIT sockets are on this (connecting) side. */
static void exhaustion_fix(char *fix, const struct index *ix, const struct dest *d,
			   const struct tc_netns_info *ni)
{
	bool tw_here = d->first->ports.time_wait > 0 || d->local_first > d->remote_first;
	char range[64] = "", reuse[256];

	if (ni)
		snprintf(range, sizeof(range), " (now %u-%u)", ni->port_lo, ni->port_hi);
	reuse_advice(reuse, sizeof(reuse), ix, d);
	put(fix, "%s; "
	    "widen net.ipv4.ip_local_port_range%s%s; spread over more source IPs or destination "
	    "addresses (the budget is per destination); tcp_tw_recycle is no option (removed in "
	    "Linux 4.12) and tcp_fin_timeout does not shorten TIME_WAIT", reuse, range,
	    tw_here && (!ni || ni->tw_reuse != 1) ?
		"; this side holds the TIME_WAIT sockets, so net.ipv4.tcp_tw_reuse=1 lets connect() "
		"take ones older than 1 s" : "");
}

/* The busiest row of a destination whose process did `what`, or NULL. */
static const struct tc_peer_row *first_did(const struct tc_model *m, const struct dest *d,
					   enum did what)
{
	for (size_t i = 0; i < d->nrows; i++)
		if (did(&m->peers[d->rows[i]], what))
			return &m->peers[d->rows[i]];
	return NULL;
}

/*
 * keepalive_defeated's fix is the proxy's own: the client process's name
 * says which proxy (or language runtime) it is, the upstream's whether it
 * speaks FastCGI (php-fpm). Anything else gets the generic fix.
 */
static void keepalive_fix(char *fix, const char *proxy, const char *upstream)
{
	static const char tail[] = "; then check the upstream's keepalive timeout and "
				   "requests-per-connection limit";
	bool fcgi = upstream && comm_is(upstream, "php-fpm");
	const char *p = proxy ? proxy : "";

	if (comm_is(p, "nginx") && fcgi)
		put(fix, "nginx -> php-fpm (FastCGI): 'fastcgi_keep_conn on;' next to fastcgi_pass, "
		    "and fastcgi_pass to an upstream block with 'keepalive N;' (php-fpm keeps a "
		    "connection for as long as nginx asks it to)%s", tail);
	else if (comm_is(p, "nginx"))
		put(fix, "nginx: 'keepalive N;' in the upstream block, 'proxy_http_version 1.1;' and "
		    "'proxy_set_header Connection \"\";' - a map that turns an empty Upgrade into "
		    "'close' defeats it; FastCGI: 'fastcgi_keep_conn on;' and 'keepalive N;'%s", tail);
	else if (comm_is(p, "haproxy"))
		put(fix, "HAProxy: 'option http-keep-alive' (the default) instead of 'option "
		    "http-server-close' or 'option httpclose' in the backend and defaults sections, "
		    "and 'http-reuse safe' (not 'never'); a backend answering 'Connection: close' "
		    "defeats it too%s", tail);
	else if (comm_is(p, "envoy"))
		put(fix, "Envoy: drop 'max_requests_per_connection: 1' from the cluster's HTTP "
		    "protocol options (common_http_protocol_options), keep its idle_timeout under "
		    "the upstream's keepalive timeout, and make the upstream stop answering "
		    "'Connection: close'%s", tail);
	else if (comm_is(p, "apache2") || comm_is(p, "httpd"))
		put(fix, "Apache mod_proxy: remove 'SetEnv proxy-nokeepalive 1', "
		    "'force-proxy-request-1.0' and 'disablereuse=On' (ProxyPass, BalancerMember)%s%s",
		    fcgi ? "; mod_proxy_fcgi to php-fpm: 'enablereuse=on' on the fcgi:// ProxyPass "
			   "or its <Proxy> block" : "; for mod_proxy_fcgi add 'enablereuse=on'", tail);
	else if (comm_is(p, "php"))
		put(fix, "PHP code calling out: one connection per call is a new curl handle (or "
		    "Guzzle client) per request: keep one curl handle per worker and reuse it, "
		    "or a client object shared across calls; send no 'Connection: close'%s", tail);
	else if (comm_is(p, "python") || comm_is(p, "java") || comm_is(p, "node") ||
		 comm_is(p, "ruby") || comm_is(p, "perl") || comm_is(p, "dotnet"))
		put(fix, "an HTTP client without a pool: share one client object across requests "
		    "(Python requests.Session or httpx.Client, one Java HttpClient, Node "
		    "http.Agent({keepAlive: true}), Ruby Net::HTTP.start over many requests) "
		    "instead of one per request, and send no 'Connection: close'%s", tail);
	else if (fcgi)
		put(fix, "FastCGI: the web server must ask php-fpm to keep connections (nginx "
		    "'fastcgi_keep_conn on;' with upstream 'keepalive N;', Apache mod_proxy_fcgi "
		    "'enablereuse=on')%s", tail);
	else
		put(fix, "make the client keep connections open: HTTP/1.1 without "
		    "'Connection: close' toward the upstream, from a connection pool reused across "
		    "requests (the proxy's upstream keepalive, the HTTP client's pool)%s", tail);
}

static void rule_dest(const struct index *ix, const struct dest *d, struct out *o)
{
	const struct tc_ports *p = &d->first->ports;
	const struct tc_netns_info *ni = netns_of(ix, d->first->key.netns);
	char dst[160], procs[220], budget[320] = "";
	struct tc_finding *f;
	bool failing = d->exhausted + d->bind_conflict > 0;

	dest_str(&d->first->key, dst, sizeof(dst));
	if (p->known)
		budget_str(p, budget, sizeof(budget));

	if (failing && (f = add(o, TC_SEV_CRITICAL, "eaddrnotavail"))) {
		procs_str(ix->m, d, DID_FAIL, procs, sizeof(procs));
		snprintf(f->title, sizeof(f->title), "connect() to %s failed %llu times with "
			 "EADDRNOTAVAIL", dst, (unsigned long long)(d->exhausted + d->bind_conflict));
		put(f->evidence, "by %s: %llu found no free ephemeral port, %llu bind()-fixed ports "
		    "whose 4-tuple was taken, of %llu connects%s", procs,
		    (unsigned long long)d->exhausted, (unsigned long long)d->bind_conflict,
		    (unsigned long long)d->attempts, budget);
		if (d->exhausted)
			exhaustion_fix(f->fix, ix, d, ni);
		else
			put(f->fix, "do not bind() a fixed source port before connect(): bind the address "
			    "with IP_BIND_ADDRESS_NO_PORT (or not at all) and let connect() choose the "
			    "port per destination; SO_REUSEADDR does not make a taken 4-tuple free");
	}

	bool ports_found = failing;
	double load = p->known ? tc_port_load(p) : 0;
	/* near the sustainable rate, under or over it: a warning either way */
	bool at_limit = load >= 1 - TC_DOC_LOAD_MARGIN && load < 1 + TC_DOC_LOAD_MARGIN;

	if (!failing && p->known && p->rate > 0 &&
	    ((p->exhaustion_s >= 0 && p->exhaustion_s < TC_DOC_HORIZON_S) || at_limit ||
	     p->utilisation >= TC_DOC_UTIL_WARN)) {
		bool soon = (!at_limit && p->exhaustion_s >= 0 && p->exhaustion_s < TC_DOC_SOON_S) ||
			    p->utilisation >= TC_DOC_UTIL_CRIT;

		ports_found = true;
		if ((f = add(o, soon ? TC_SEV_CRITICAL : TC_SEV_WARNING, "port_exhaustion"))) {
			if (at_limit && p->utilisation < TC_DOC_UTIL_WARN)
				snprintf(f->title, sizeof(f->title), "ephemeral ports toward %s are at "
					 "their limit: this rate would hold %.0f%% of them", dst,
					 100 * load);
			else if (p->exhaustion_s >= 0)
				snprintf(f->title, sizeof(f->title), "ephemeral ports toward %s run out in "
					 "about %.0f s at this rate", dst, p->exhaustion_s);
			else
				snprintf(f->title, sizeof(f->title), "%.0f%% of the ephemeral ports toward "
					 "%s are in use", 100 * p->utilisation, dst);
			procs_str(ix->m, d, DID_CONNECT, procs, sizeof(procs));
			put(f->evidence, "connecting: %s%s", procs, budget);
			exhaustion_fix(f->fix, ix, d, ni);
		}
	}

	if (d->closed >= TC_DOC_MIN_CLOSES &&
	    pct(d->remote_first, d->closed) > 100 * TC_DOC_CLOSER_SHARE &&
	    pct(d->one_exchange, d->closed) >= 100 * TC_DOC_PATTERN_SHARE &&
	    (f = add(o, TC_SEV_WARNING, "keepalive_defeated"))) {
		char up[96] = "the upstream";
		const struct tc_peer_row *s = server_of(ix, &d->first->key, up, sizeof(up)), *px;

		procs_str(ix->m, d, DID_REMOTE_FIRST, procs, sizeof(procs));
		snprintf(f->title, sizeof(f->title), "%s closes first after one request: keepalive to "
			 "%s is defeated", up, dst);
		put(f->evidence, "%.0f%% of %llu connections from %s were closed first by the upstream, "
		    "%.0f%% carried one request and one reply; every one leaves a TIME_WAIT on the "
		    "upstream%s%s", pct(d->remote_first, d->closed), (unsigned long long)d->closed,
		    procs, pct(d->one_exchange, d->closed), s ? " host (here)" : "'s side", budget);
		px = first_did(ix->m, d, DID_REMOTE_FIRST);
		keepalive_fix(f->fix, px ? px->key.proc.comm : NULL, s ? s->key.proc.comm : NULL);
	}

	/* the port finding says it already, with the same fix first */
	if (!ports_found && d->closed >= TC_DOC_MIN_CLOSES &&
	    pct(d->local_first, d->closed) > 100 * TC_DOC_CLOSER_SHARE &&
	    pct(d->one_exchange, d->closed) >= 100 * TC_DOC_PATTERN_SHARE &&
	    (f = add(o, TC_SEV_INFO, "short_connections"))) {
		char reuse[256];

		procs_str(ix->m, d, DID_LOCAL_FIRST, procs, sizeof(procs));
		snprintf(f->title, sizeof(f->title), "one connection per request to %s, closed first "
			 "by this side", dst);
		put(f->evidence, "%s: %.0f%% of %llu connections closed here first after one request "
		    "and one reply; each leaves a TIME_WAIT holding a local port for 60 s%s", procs,
		    pct(d->local_first, d->closed), (unsigned long long)d->closed, budget);
		reuse_advice(reuse, sizeof(reuse), ix, d);
		put(f->fix, "%s; where that cannot change, net.ipv4.tcp_tw_reuse=1 lets connect() "
		    "take this side's TIME_WAIT 4-tuples", reuse);
	}
}

/* A process that ends this share of its closed ones with one cause of reset. */
static struct tc_finding *reset_share(struct out *o, const struct tc_proc_row *r, __u64 n,
				      __u64 closed, const char *id, char *p, size_t plen)
{
	struct tc_finding *f;

	/* pid 0 gathers the unseen sockets of any number of processes */
	if (!r->key.tgid || closed < TC_DOC_MIN_CLOSES ||
	    pct(n, closed) < 100 * TC_DOC_RESET_SHARE || !(f = add(o, TC_SEV_WARNING, id)))
		return NULL;
	proc_str(&r->key, p, plen);
	return f;
}

/* The resets the kernel sends right after a close (pending.bpf.c). */
static const struct {
	int cause;
	const char *id, *title, *evidence, *fix;
} after[] = {
	{ TC_CAUSE_DATA_AFTER_CLOSE, "data_after_close",
	  "has peers that keep sending after it closed: the kernel resets them",
	  "met new data after close() or shutdown(SHUT_RD), which the kernel answers with RST "
	  "(TcpExtTCPAbortOnData): the peer gets ECONNRESET and what it sent is lost",
	  "the two sides disagree on where the conversation ends: a client pipelining past a "
	  "'Connection: close' reply, a server closing before the whole request (a body) came, a "
	  "last message nobody reads. Read to the peer's EOF before close() (a lingering close), "
	  "or have the peer stop first" },
	{ TC_CAUSE_LINGER2, "linger2_resets",
	  "resets instead of waiting in FIN_WAIT2 (TCP_LINGER2 < 0)",
	  "were reset by the kernel because the socket has TCP_LINGER2 below 0 "
	  "(TcpExtTCPAbortOnLinger, or ...OnData when the ACK of its FIN came after close()): "
	  "the peer gets ECONNRESET and loses what it had not read",
	  "drop TCP_LINGER2 (or set it to 0 or more) so orphans finish their close; to bound "
	  "FIN_WAIT2, lower net.ipv4.tcp_fin_timeout instead" },
};

/*
 * HAProxy closes the server connections it no longer needs with SO_LINGER 0
 * on purpose: idle pooled ones (a purge, a reload, its stop) and, under
 * 'option http-server-close', one whose server had not closed after a
 * complete response. Nothing is in flight on them and neither side keeps a
 * TIME_WAIT: no loss to warn about. Those are the resets of its client
 * rows; its frontends' ('option nolinger') still count.
 */
static void by_design_resets(const struct tc_model *m, const struct tc_proc_row *r,
			     __u64 *l0, __u64 *rst, __u64 *closed)
{
	if (!comm_eq(r->key.comm, "haproxy"))
		return;
	for (size_t i = 0; i < m->npeers; i++) {
		const struct tc_peer_row *x = &m->peers[i];
		__u64 a = x->c.cause[TC_CAUSE_LINGER_ZERO], b = x->c.kind[TC_CK_RESET_SENT];

		if (x->key.role != TC_ROLE_CLIENT || memcmp(&x->key.proc, &r->key, sizeof(r->key)))
			continue;
		*l0 -= a < *l0 ? a : *l0;
		*rst -= b < *rst ? b : *rst;
		*closed -= x->c.closed < *closed ? x->c.closed : *closed;
	}
}

static void rule_resets(const struct tc_model *m, struct out *o)
{
	for (size_t i = 0; i < m->nprocs; i++) {
		const struct tc_proc_row *r = &m->procs[i];
		__u64 rst = r->c.kind[TC_CK_RESET_SENT], unread = r->c.cause[TC_CAUSE_UNREAD_DATA],
		      l0 = r->c.cause[TC_CAUSE_LINGER_ZERO], closed = r->c.closed;
		struct tc_finding *f;
		char p[80];

		if (m->causes && (f = reset_share(o, r, unread, r->c.closed, "unread_resets", p, sizeof(p)))) {
			snprintf(f->title, sizeof(f->title), "%s resets connections by closing them "
				 "with data unread", p);
			put(f->evidence, "%llu of %llu closes (%.0f%%) found bytes from the peer not "
			    "yet read, so the kernel sent RST, not FIN (TcpExtTCPAbortOnClose): the "
			    "peer gets ECONNRESET and may lose the reply it was reading",
			    (unsigned long long)unread, (unsigned long long)r->c.closed,
			    pct(unread, r->c.closed));
			put(f->fix, "read what the peer sent before close(), or shutdown(SHUT_WR) and "
			    "read to EOF first (a lingering close: nginx's lingering_close, on by "
			    "default); a server that answers before reading the whole request (a "
			    "body, a pipelined request) resets the client that is still sending");
		}
		for (size_t k = 0; m->pend_hook && k < sizeof(after) / sizeof(after[0]); k++) {
			__u64 n = r->c.cause[after[k].cause];

			if (!(f = reset_share(o, r, n, r->c.closed, after[k].id, p, sizeof(p))))
				continue;
			snprintf(f->title, sizeof(f->title), "%s %s", p, after[k].title);
			put(f->evidence, "%llu of %llu closes (%.0f%%) %s", (unsigned long long)n,
			    (unsigned long long)r->c.closed, pct(n, r->c.closed), after[k].evidence);
			put(f->fix, "%s", after[k].fix);
		}
		by_design_resets(m, r, &l0, &rst, &closed);
		if (m->causes) {
			if (!(f = reset_share(o, r, l0, closed, "linger_resets", p, sizeof(p))))
				continue;
			rst = l0;
		} else if (!(f = reset_share(o, r, rst, closed, "linger_resets", p, sizeof(p)))) {
			continue;
		}
		snprintf(f->title, sizeof(f->title), "%s ends most connections with a reset", p);
		put(f->evidence, "%llu of %llu closes (%.0f%%) sent RST instead of FIN: %s%s",
		    (unsigned long long)rst, (unsigned long long)closed, pct(rst, closed),
		    m->causes ? "SO_LINGER with timeout 0 (counted in TcpExtTCPAbortOnData)" :
		    "SO_LINGER with timeout 0, or closing with unread data",
		    closed < r->c.closed ? " (its connections to servers aside: HAProxy resets "
		    "those it no longer needs by design)" : "");
		put(f->fix, "close orderly: a reset dodges TIME_WAIT only by throwing away data in "
		    "flight and handing the peer ECONNRESET; if TIME_WAIT is the worry, reuse "
		    "connections instead (or tcp_tw_reuse on the connecting side)");
	}
}

/* Connections toward one destination that died of timeouts: what the
 * kernel gave up on says where to look. At most TC_DOC_MAX_TIMEOUTS
 * destinations get a finding of their own (a host with many dead
 * destinations must not crowd out the rest of the verdict). */
static void rule_timeouts(const struct index *ix, const struct dest *d, struct out *o)
{
	static const char *const fix[] = {
		[TC_CAUSE_SYN] = "nothing answers the SYN: the destination is down, a firewall drops "
			"it, or its listen queue overflows (TcpExtListenOverflows there)",
		[TC_CAUSE_KEEPALIVE] = "idle connections were dropped on the way: a NAT, load "
			"balancer or firewall forgot the flow (or the peer vanished); send keepalives "
			"more often than the middlebox's idle timeout, or close idle connections first",
	};
	__u64 n = 0, top = 0;
	int why = TC_CAUSE_RETRANSMITS;
	struct tc_finding *f;
	char dst[200], procs[200], list[240];

	if (!ix->m->causes)
		return;
	for (int k = TC_CAUSE_FIRST_TIMEOUT; k < TC_CAUSE_FIN_WAIT2; k++) {
		n += d->timeouts[k];
		if (d->timeouts[k] > top)
			top = d->timeouts[k], why = k;
	}
	if (n < TC_DOC_MIN_TIMEOUTS || count_id(o, "timeouts") >= TC_DOC_MAX_TIMEOUTS ||
	    !(f = add(o, TC_SEV_WARNING, "timeouts")))
		return;
	dest_str(&d->first->key, dst, sizeof(dst));
	procs_str(ix->m, d, DID_TIMEOUT, procs, sizeof(procs));
	tc_cause_list(list, sizeof(list), d->timeouts, TC_CAUSE_FIRST_TIMEOUT, TC_CAUSE_FIN_WAIT2);
	snprintf(f->title, sizeof(f->title), "%llu connections to %s timed out",
		 (unsigned long long)n, dst);
	put(f->evidence, "%s; timeouts by cause: %s, of %llu closes (TcpExtTCPAbortOnTimeout "
	    "counts them host-wide)", procs, list, (unsigned long long)d->closed);
	/* The silence before the end tells a middlebox's idle timeout (always
	 * about the same, and round: 300 s, 350 s, 3600 s) from a peer that
	 * died while data was in flight. */
	if (ix->m->idle && d->idle_count)
		put_more(f->evidence, "; the peer had been silent %.1f s on average (at most %llu s) "
		    "when the kernel gave up", (double)d->idle_sum_s / (double)d->idle_count,
		    (unsigned long long)d->idle_max_s);
	put(f->fix, "%s", why < (int)(sizeof(fix) / sizeof(fix[0])) && fix[why] ? fix[why] :
	    "data went unacknowledged until the retry limit: the peer or the path is dead "
	    "(host down, a route or firewall change); tcp_retries2 or TCP_USER_TIMEOUT "
	    "only decide how long that takes to show");
}

/* The no-socket rows of one netns and port together, busiest sender first. */
static int by_port(const void *pa, const void *pb, void *ctx)
{
	const struct tc_nosock_row *a = (const struct tc_nosock_row *)ctx + *(const size_t *)pa;
	const struct tc_nosock_row *b = (const struct tc_nosock_row *)ctx + *(const size_t *)pb;

	if (a->key.netns != b->key.netns)
		return a->key.netns < b->key.netns ? -1 : 1;
	if (a->key.lport != b->key.lport)
		return a->key.lport < b->key.lport ? -1 : 1;
	return a->resets < b->resets ? 1 : a->resets > b->resets ? -1 :
	       memcmp(&a->key, &b->key, sizeof(a->key));
}

/* One port's rows: ix[from, to), their sum. */
struct port_group {
	size_t from, to;
	__u64 sum;
};

static int by_sum(const void *pa, const void *pb)
{
	const struct port_group *a = pa, *b = pb;

	return a->sum < b->sum ? 1 : a->sum > b->sum ? -1 : (a->from > b->from) - (a->from < b->from);
}

static void nosock_finding(const struct tc_model *m, const size_t *ix, const struct port_group *g,
			   struct tc_finding *f)
{
	const struct tc_nosock_row *first = &m->nosocks[ix[g->from]];
	size_t senders = g->to - g->from, off = 0;
	char top[200] = "", a[64];

	for (size_t k = g->from; k < g->to && k < g->from + 3 && off < sizeof(top); k++) {
		const struct tc_nosock_row *r = &m->nosocks[ix[k]];

		off += (size_t)snprintf(top + off, sizeof(top) - off, "%s%s %llu", off ? ", " : "",
					tc_addr_str(r->key.family, r->key.raddr, a, sizeof(a)),
					(unsigned long long)r->resets);
	}
	snprintf(f->title, sizeof(f->title), "%llu resets sent for port %u (netns %u), "
		 "where no socket is: connections refused, or segments of ones already "
		 "gone", (unsigned long long)g->sum, first->key.lport, first->key.netns);
	put(f->evidence, "the kernel answered %llu segments to port %u with a reset (no "
	    "socket: SK_RST_REASON_NO_SOCKET, counted in TcpOutRsts), from %zu address%s "
	    "(%s%s); no process of this host owns them",
	    (unsigned long long)g->sum, first->key.lport, senders, senders == 1 ? "" : "es",
	    top, senders > 3 ? ", ..." : "");
	put(f->fix, "clients connect to a port no service listens on: the service is down "
	    "or restarting (ss -ltn 'sport = :%u'; a restart should keep the listening "
	    "socket or drain clients first), or the clients point at the wrong place (a "
	    "stale endpoint in their configuration, DNS or service discovery, a health "
	    "check on the wrong port); many ports from one address is a scan",
	    first->key.lport);
}

/*
 * Segments to a port where nothing listens, in bulk: the kernel answers each
 * with a reset and no process ever sees them, so no row of ours holds them
 * (reset.bpf.c counts them by port). Clients hitting a service that is down
 * or restarting, or pointed at the wrong place. The busiest ports first.
 */
static void rule_nosock(const struct tc_model *m, struct out *o)
{
	struct port_group *g;
	size_t *ix, n = 0, ng = 0;

	if (!m->reset_hook || m->nosock_total[TC_NR_NO_SOCKET] < TC_DOC_MIN_NOSOCK)
		return;
	ix = malloc((m->nnosocks ? m->nnosocks : 1) * sizeof(*ix));
	g = malloc((m->nnosocks ? m->nnosocks : 1) * sizeof(*g));
	if (!ix || !g)
		goto out;
	for (size_t i = 0; i < m->nnosocks; i++)
		if (m->nosocks[i].key.reason == TC_NR_NO_SOCKET)
			ix[n++] = i;
	qsort_r(ix, n, sizeof(*ix), by_port, m->nosocks);
	for (size_t s = 0, e; s < n; s = e) {
		const struct tc_nosock_row *first = &m->nosocks[ix[s]];
		__u64 sum = 0;

		for (e = s; e < n && m->nosocks[ix[e]].key.netns == first->key.netns &&
			    m->nosocks[ix[e]].key.lport == first->key.lport; e++)
			sum += m->nosocks[ix[e]].resets;
		if (sum >= TC_DOC_MIN_NOSOCK)
			g[ng++] = (struct port_group){ s, e, sum };
	}
	qsort(g, ng, sizeof(*g), by_sum);
	for (size_t k = 0; k < ng && k < TC_DOC_MAX_NOSOCK; k++) {
		struct tc_finding *f = add(o, TC_SEV_WARNING, "no_socket_resets");

		if (f)
			nosock_finding(m, ix, &g[k], f);
	}
out:
	free(ix);
	free(g);
}

/*
 * A FIN_WAIT socket aborted because data came after close() (TcpExtTCPAbortOnData)
 * also goes to CLOSE orphaned, error-free and without a timewait socket:
 * the tracer cannot tell it from an overflow. The kernel's own counter can:
 * when every netns with overflow rows was read and its counter is 0, none
 * happened.
 */
static bool overflow_disproved(const struct index *ix)
{
	const struct tc_model *m = ix->m;
	bool any = false;

	for (size_t i = 0; i < m->npeers; i++) {
		const struct tc_netns_info *n = NULL;
		__u32 ino = m->peers[i].key.netns;

		if (!m->peers[i].c.tw.overflow)
			continue;
		/* the last entry of that inode */
		for (size_t k = ns_lower(ix, ino); k < m->nnetns && m->netns[ix->ns[k]].ino == ino; k++)
			n = &m->netns[ix->ns[k]];
		if (!n || !n->found || n->tw_overflow_mib != 0)
			return false;
		any = true;
	}
	return any;
}

static void rule_overflow(const struct index *ix, struct out *o)
{
	const struct tc_model *m = ix->m;
	const struct tc_twcounts *t = &m->totals.tw;
	struct tc_finding *f;
	char lim[200] = "";
	size_t off = 0;

	if (!t->overflow || overflow_disproved(ix) || !(f = add(o, TC_SEV_WARNING, "tw_overflow")))
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
		/* 1 is someone's choice; 2, loopback only, is the kernel's default */
		if (n->tw_reuse == 1 && tw_server >= TC_DOC_MIN_CLOSES && tw_server > tw_client &&
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

/* Groups (their start in ix->dest) by the position of their first row. */
static int by_first_row(const void *a, const void *b, void *ctx)
{
	const size_t *dest = ctx;

	return cmp_pos(dest[*(const size_t *)a], dest[*(const size_t *)b]);
}

int tc_diagnose(const struct tc_model *m, struct tc_finding *out, int max)
{
	struct out o = { .f = out, .n = 0, .max = max };
	struct index ix;
	size_t *first, ngroups = 0;

	if (index_build(&ix, m))
		return 0;
	/* the destinations in the order of their first (busiest) row */
	first = malloc((ix.ndest ? ix.ndest : 1) * sizeof(*first));
	if (!first) {
		index_free(&ix);
		return 0;
	}
	for (size_t g = 0; g < ix.ndest; g++)
		if (!g || !tc_same_dest(&m->peers[ix.dest[g]].key, &m->peers[ix.dest[g - 1]].key))
			first[ngroups++] = g;
	qsort_r(first, ngroups, sizeof(*first), by_first_row, ix.dest);
	for (size_t k = 0; k < ngroups; k++) {
		size_t g = first[k], e = g + 1;
		struct dest d;

		while (e < ix.ndest && tc_same_dest(&m->peers[ix.dest[e]].key, &m->peers[ix.dest[g]].key))
			e++;
		gather(m, ix.dest + g, e - g, &d);
		rule_dest(&ix, &d, &o);
		rule_timeouts(&ix, &d, &o);
	}
	free(first);
	rule_resets(m, &o);
	rule_nosock(m, &o);
	rule_overflow(&ix, &o);
	rule_sysctls(m, &o);
	index_free(&ix);
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
