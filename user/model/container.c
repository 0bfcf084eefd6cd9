// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdbool.h>
#include <string.h>
#include "container.h"

static bool is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* A component (s, n) ends with suffix: its length without it, else -1. */
static long strip(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n >= k && !memcmp(s + n - k, suffix, k) ? (long)(n - k) : -1;
}

static bool starts(const char *s, size_t n, const char *prefix)
{
	size_t k = strlen(prefix);

	return n >= k && !memcmp(s, prefix, k);
}

/*
 * One component naming a container: docker-ID.scope, cri-containerd-ID.scope,
 * crio-ID.scope, libpod-ID.scope (systemd driver; the same without .scope
 * under cgroupfs for containerd and CRI-O), or a bare ID below /docker/ or a
 * kubepods pod (cgroupfs driver).
 */
static bool container_of(const char *s, size_t n, const char *parent, size_t pn, bool in_pod,
			 struct tc_container *c)
{
	static const struct {
		const char *prefix, *runtime;
	} forms[] = {
		{ "docker-", "docker" }, { "cri-containerd-", "containerd" },
		{ "crio-", "crio" }, { "libpod-", "podman" },
	};
	long m = strip(s, n, ".scope");
	size_t len = m >= 0 ? (size_t)m : n;

	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		size_t k = strlen(forms[i].prefix);

		if (starts(s, len, forms[i].prefix) && len - k == TC_CONTAINER_ID_LEN &&
		    is_hex(s + k, TC_CONTAINER_ID_LEN)) {
			memcpy(c->id, s + k, TC_CONTAINER_ID_LEN);
			c->id[TC_CONTAINER_ID_LEN] = '\0';
			c->runtime = forms[i].runtime;
			return true;
		}
	}
	if (n == TC_CONTAINER_ID_LEN && is_hex(s, n) &&
	    (in_pod || (pn == 6 && !memcmp(parent, "docker", 6)))) {
		memcpy(c->id, s, n);
		c->id[n] = '\0';
		c->runtime = in_pod ? NULL : "docker";
		return true;
	}
	return false;
}

/* A pod's UID as the kubelet wrote it into a name (dashes, or the systemd
 * driver's underscores): into c->pod_uid with dashes. */
static bool pod_uid(const char *s, size_t n, struct tc_container *c)
{
	if (n == 32 && is_hex(s, n)) {	/* a static pod: its manifest's hash */
		memcpy(c->pod_uid, s, n);
		c->pod_uid[n] = '\0';
		return true;
	}
	if (n != TC_POD_UID_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' && s[i] != '_' : !is_hex(s + i, 1))
			return false;
		c->pod_uid[i] = dash ? '-' : s[i];
	}
	c->pod_uid[n] = '\0';
	return true;
}

static const char *const qos_name[] = { "guaranteed", "burstable", "besteffort" };

/*
 * One component naming a pod. systemd driver: [PREFIX-]kubepods-pod<UID>.slice
 * (guaranteed), [PREFIX-]kubepods-burstable-pod<UID>.slice,
 * [PREFIX-]kubepods-besteffort-pod<UID>.slice. cgroupfs driver: pod<UID> below
 * kubepods/ (guaranteed) or kubepods/burstable/, kubepods/besteffort/.
 */
static bool pod_of(const char *s, size_t n, const char *parent, size_t pn, const char *grand,
		   size_t gn, struct tc_container *c)
{
	long m = strip(s, n, ".slice");

	if (m >= 0) {
		const char *k = NULL;

		for (const char *p = s; p + 9 <= s + m; p++)	/* the last "kubepods-" */
			if (!memcmp(p, "kubepods-", 9))
				k = p + 9;
		if (!k)
			return false;
		for (int q = 0; q < 3; q++) {
			const char *p = k;
			size_t rest = (size_t)(s + m - k);

			if (q) {
				size_t ql = strlen(qos_name[q]);

				if (rest < ql + 1 || memcmp(p, qos_name[q], ql) || p[ql] != '-')
					continue;
				p += ql + 1;
				rest -= ql + 1;
			}
			if (starts(p, rest, "pod") && pod_uid(p + 3, rest - 3, c)) {
				c->qos = qos_name[q];
				return true;
			}
		}
		return false;
	}
	if (!starts(s, n, "pod") || !pod_uid(s + 3, n - 3, c))
		return false;
	if (pn == 8 && !memcmp(parent, "kubepods", 8)) {
		c->qos = qos_name[0];
		return true;
	}
	for (int q = 1; q < 3; q++)
		if (gn == 8 && !memcmp(grand, "kubepods", 8) && pn == strlen(qos_name[q]) &&
		    !memcmp(parent, qos_name[q], pn)) {
			c->qos = qos_name[q];
			return true;
		}
	c->pod_uid[0] = '\0';
	return false;
}

int tc_container_parse(const char *path, struct tc_container *c)
{
	const char *parent = "", *grand = "";
	size_t pn = 0, gn = 0;
	struct tc_container found = { 0 };

	memset(c, 0, sizeof(*c));
	if (!path)
		return 0;
	for (const char *s = path; *s;) {
		size_t n = strcspn(s, "/");
		struct tc_container t = found;

		if (n) {
			if (pod_of(s, n, parent, pn, grand, gn, &t)) {
				memcpy(found.pod_uid, t.pod_uid, sizeof(found.pod_uid));
				found.qos = t.qos;
			} else if (container_of(s, n, parent, pn, found.pod_uid[0], &t)) {
				memcpy(found.id, t.id, sizeof(found.id));
				found.runtime = t.runtime;
			}
			grand = parent, gn = pn;
			parent = s, pn = n;
		}
		s += n;
		if (*s == '/')
			s++;
	}
	if (!found.id[0] && !found.pod_uid[0])
		return 0;
	*c = found;
	return 1;
}
