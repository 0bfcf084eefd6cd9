/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Container and Kubernetes pod labels from a cgroup v2 path, by the layouts
 * the runtimes and the kubelet make (docs/containers.md): pure, so a
 * recording's rows get exactly the labels they had live.
 */
#ifndef TCPCLOSE_CONTAINER_H
#define TCPCLOSE_CONTAINER_H

#define TC_CONTAINER_ID_LEN 64	/* docker, containerd, CRI-O, podman: 64 hex digits */
#define TC_POD_UID_LEN 36	/* 8-4-4-4-12 (a static pod's: 32 hex digits) */

struct tc_container {
	char id[TC_CONTAINER_ID_LEN + 1];	/* "" when no container is named */
	const char *runtime;			/* "docker", "containerd", "crio", "podman"; NULL unknown */
	char pod_uid[TC_POD_UID_LEN + 1];	/* "" outside a pod; dashes, as the API shows it */
	const char *qos;			/* "guaranteed", "burstable", "besteffort"; NULL outside a pod */
};

/* 1 when path (NULL: unknown) names a container or a pod, c filled; else 0
 * and c zeroed. The deepest container component wins (a container's own
 * nested cgroups keep its id). */
int tc_container_parse(const char *path, struct tc_container *c);

#endif
