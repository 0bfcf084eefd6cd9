// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* doctor's verdict, as text for people and JSON for scripts. */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include "diagnose.h"
#include "names.h"
#include "utf8.h"

static const char *const sev_names[] = { "info", "warning", "critical" };
static const char *const sev_upper[] = { "INFO", "WARNING", "CRITICAL" };

/* The numbers a healthy verdict rests on. */
struct summary {
	__u64 closed, by_peer, tw_entered, tw_now, eaddrnotavail, overflow;
	double max_util;
	char max_util_dest[160];
};

static void summarise(const struct tc_model *m, struct summary *s)
{
	memset(s, 0, sizeof(*s));
	s->closed = m->totals.closed;
	s->by_peer = m->totals.kind[TC_CK_REMOTE_FIRST];
	s->tw_entered = m->totals.tw.entered;
	s->eaddrnotavail = m->totals.conn.port_exhausted + m->totals.conn.bind_conflict;
	s->overflow = m->totals.tw.overflow;
	for (size_t i = 0; i < m->nnetns; i++)
		s->tw_now += m->netns[i].time_wait;
	s->max_util = -1;
	for (size_t i = 0; i < m->npeers; i++) {
		const struct tc_peer_row *r = &m->peers[i];
		char l[64], d[72];

		if (!r->ports.known || r->ports.utilisation <= s->max_util)
			continue;
		s->max_util = r->ports.utilisation;
		tc_addr_str(r->key.tuple.family, r->key.tuple.laddr, l, sizeof(l));
		tc_endpoint_str(r->key.tuple.family, r->key.tuple.raddr, r->key.tuple.rport, d, sizeof(d));
		snprintf(s->max_util_dest, sizeof(s->max_util_dest), "%s -> %s", l, d);
	}
}

void tc_render_doctor_text(FILE *out, const struct tc_model *m, const struct tc_finding *f, int n)
{
	struct summary s;
	int status = tc_doctor_status(f, n);
	char hook[256], t[3][TC_FINDING_TEXT];

	summarise(m, &s);
	fprintf(out, "tcpclose doctor: watched %.1f s with %s: %" PRIu64 " sockets closed "
		"(%" PRIu64 " closed first by the peer), %" PRIu64 " entered TIME_WAIT, %" PRIu64
		" in TIME_WAIT now, %" PRIu64 " EADDRNOTAVAIL, %" PRIu64 " TIME_WAIT overflows\n",
		m->duration_s, tc_term_str(hook, sizeof(hook), m->state_hook, "?"), (uint64_t)s.closed,
		(uint64_t)s.by_peer, (uint64_t)s.tw_entered, (uint64_t)s.tw_now,
		(uint64_t)s.eaddrnotavail, (uint64_t)s.overflow);
	if (s.max_util >= 0)
		fprintf(out, "busiest destination for ports: %s, %.0f%% of its ephemeral ports in use\n",
			s.max_util_dest, 100 * s.max_util);
	if (!m->port_hook)
		fprintf(out, "(port-search retries unavailable here: this kernel/mode has no fentry or "
			"kprobe on __inet_check_established)\n");
	for (int i = 0; i < n; i++) {
		/* names in them (comm) are printable already: this is the net */
		fprintf(out, "\n%-8s  %s\n", sev_upper[f[i].severity],
			tc_term_str(t[0], sizeof(t[0]), f[i].title, ""));
		fprintf(out, "  evidence: %s\n  fix:      %s\n",
			tc_term_str(t[1], sizeof(t[1]), f[i].evidence, ""),
			tc_term_str(t[2], sizeof(t[2]), f[i].fix, ""));
	}
	if (status == 0)
		fprintf(out, "\nverdict: nothing wrong%s (exit 0)\n",
			n ? " (information only)" : "");
	else
		fprintf(out, "\nverdict: %s (exit %d)\n", status == 3 ? "critical" : "warning", status);
	fflush(out);
}

int tc_render_doctor_json(FILE *out, const struct tc_model *m, const struct tc_finding *f, int n)
{
	json_object *root = json_object_new_object(), *arr = json_object_new_array();
	json_object *sum = json_object_new_object();
	int status = tc_doctor_status(f, n), ret;
	struct summary s;

	summarise(m, &s);
	json_object_object_add(root, "verdict", json_object_new_string(
		status == 3 ? "critical" : status == 2 ? "warning" : "healthy"));
	json_object_object_add(root, "exit_status", json_object_new_int(status));
	json_object_object_add(root, "duration_s", json_object_new_double(m->duration_s));
	json_object_object_add(sum, "closed", json_object_new_uint64(s.closed));
	json_object_object_add(sum, "closed_first_by_peer", json_object_new_uint64(s.by_peer));
	json_object_object_add(sum, "time_wait_entered", json_object_new_uint64(s.tw_entered));
	json_object_object_add(sum, "time_wait_now", json_object_new_uint64(s.tw_now));
	json_object_object_add(sum, "eaddrnotavail", json_object_new_uint64(s.eaddrnotavail));
	json_object_object_add(sum, "time_wait_overflow", json_object_new_uint64(s.overflow));
	json_object_object_add(sum, "max_port_utilisation",
			       s.max_util >= 0 ? json_object_new_double(s.max_util) : NULL);
	json_object_object_add(sum, "port_retries_available", json_object_new_boolean(m->port_hook != NULL));
	json_object_object_add(root, "summary", sum);
	for (int i = 0; i < n; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "severity", json_object_new_string(sev_names[f[i].severity]));
		json_object_object_add(o, "id", json_object_new_string(f[i].id));
		json_object_object_add(o, "title", json_object_new_string(f[i].title));
		json_object_object_add(o, "evidence", json_object_new_string(f[i].evidence));
		json_object_object_add(o, "fix", json_object_new_string(f[i].fix));
		json_object_array_add(arr, o);
	}
	json_object_object_add(root, "findings", arr);
	ret = fprintf(out, "%s\n", json_object_to_json_string_ext(root,
		JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)) < 0 ? -1 : 0;
	fflush(out);
	json_object_put(root);
	return ret;
}
