// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Container and pod labels from real-world cgroup v2 paths (container.h). */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "container.h"

#define ID "4f1b2c3d4e5f60718293a4b5c6d7e8f90123456789abcdef0123456789abcdef"
#define UID "8f3e5b2a-1c4d-4e6f-9a0b-7c2d1e3f4a5b"
#define UID_ "8f3e5b2a_1c4d_4e6f_9a0b_7c2d1e3f4a5b"

struct want {
	const char *path, *id, *runtime, *pod, *qos;
};

static void check(const struct want *w)
{
	struct tc_container c;
	int r = tc_container_parse(w->path, &c);

	bool ok = r == (w->id || w->pod) && !strcmp(c.id, w->id ? w->id : "") &&
		  !strcmp(c.pod_uid, w->pod ? w->pod : "") &&
		  (w->runtime ? c.runtime && !strcmp(c.runtime, w->runtime) : !c.runtime) &&
		  (w->qos ? c.qos && !strcmp(c.qos, w->qos) : !c.qos);

	if (!ok)	/* which path, then what differs */
		print_message("path %s\n", w->path ? w->path : "(null)");
	assert_int_equal(r, w->id || w->pod);
	assert_string_equal(c.id, w->id ? w->id : "");
	if (w->runtime)
		assert_string_equal(c.runtime, w->runtime);
	else
		assert_null(c.runtime);
	assert_string_equal(c.pod_uid, w->pod ? w->pod : "");
	if (w->qos)
		assert_string_equal(c.qos, w->qos);
	else
		assert_null(c.qos);
}

static void run(const struct want *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		check(&w[i]);
}

/* docker, podman, containerd and CRI-O outside Kubernetes */
static void test_plain_runtimes(void **state)
{
	static const struct want w[] = {
		/* docker, systemd cgroup driver (Debian, Ubuntu, Fedora defaults) */
		{ "/system.slice/docker-" ID ".scope", ID, "docker", NULL, NULL },
		/* a container running systemd: its own cgroups below its scope */
		{ "/system.slice/docker-" ID ".scope/init.scope", ID, "docker", NULL, NULL },
		{ "/system.slice/docker-" ID ".scope/system.slice/nginx.service", ID, "docker", NULL, NULL },
		/* docker, cgroupfs driver */
		{ "/docker/" ID, ID, "docker", NULL, NULL },
		/* podman, root and rootless */
		{ "/machine.slice/libpod-" ID ".scope", ID, "podman", NULL, NULL },
		{ "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID ".scope/container",
		  ID, "podman", NULL, NULL },
		/* a containerd or CRI-O scope outside kubepods */
		{ "/system.slice/cri-containerd-" ID ".scope", ID, "containerd", NULL, NULL },
		{ "/machine.slice/crio-" ID ".scope", ID, "crio", NULL, NULL },
	};

	run(w, sizeof(w) / sizeof(w[0]));
}

/* the kubelet with the systemd cgroup driver (kubeadm's default since 1.22) */
static void test_kubepods_systemd(void **state)
{
	static const struct want w[] = {
		{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
		  ".slice/cri-containerd-" ID ".scope", ID, "containerd", UID, "burstable" },
		{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_
		  ".slice/crio-" ID ".scope", ID, "crio", UID, "besteffort" },
		/* guaranteed pods sit right below kubepods.slice */
		{ "/kubepods.slice/kubepods-pod" UID_ ".slice/docker-" ID ".scope", ID, "docker", UID,
		  "guaranteed" },
		/* the pod's own slice: a pod, no container */
		{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_ ".slice",
		  NULL, NULL, UID, "burstable" },
		/* a static pod: its UID is the manifest's hash */
		{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
		  "0123456789abcdef0123456789abcdef.slice/cri-containerd-" ID ".scope", ID,
		  "containerd", "0123456789abcdef0123456789abcdef", "burstable" },
		/* kind / k3s-in-docker: the kubelet's slices have a prefix */
		{ "/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/"
		  "kubelet-kubepods-besteffort-pod" UID_ ".slice/cri-containerd-" ID ".scope", ID,
		  "containerd", UID, "besteffort" },
		/* CRI-O's conmon is not the container */
		{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
		  ".slice/crio-conmon-" ID ".scope", NULL, NULL, UID, "burstable" },
		/* the QoS slices alone name no pod */
		{ "/kubepods.slice/kubepods-burstable.slice", NULL, NULL, NULL, NULL },
	};

	run(w, sizeof(w) / sizeof(w[0]));
}

/* the kubelet with the cgroupfs driver: the runtime is not in the path */
static void test_kubepods_cgroupfs(void **state)
{
	static const struct want w[] = {
		{ "/kubepods/burstable/pod" UID "/" ID, ID, NULL, UID, "burstable" },
		{ "/kubepods/besteffort/pod" UID "/" ID, ID, NULL, UID, "besteffort" },
		{ "/kubepods/pod" UID "/" ID, ID, NULL, UID, "guaranteed" },
		/* CRI-O with cgroupfs names its scopes */
		{ "/kubepods/burstable/pod" UID "/crio-" ID, ID, "crio", UID, "burstable" },
		/* below a node container (kind with cgroupfs) */
		{ "/docker/" ID "/kubepods/burstable/pod" UID "/" ID, ID, NULL, UID, "burstable" },
		{ "/kubepods/burstable/pod" UID, NULL, NULL, UID, "burstable" },
	};

	run(w, sizeof(w) / sizeof(w[0]));
}

/* what must not be taken for a container or a pod */
static void test_not_containers(void **state)
{
	static const struct want w[] = {
		{ NULL, NULL, NULL, NULL, NULL },
		{ "", NULL, NULL, NULL, NULL },
		{ "/", NULL, NULL, NULL, NULL },
		{ "/system.slice/nginx.service", NULL, NULL, NULL, NULL },
		{ "/user.slice/user-1000.slice/session-3.scope", NULL, NULL, NULL, NULL },
		{ "/system.slice/docker.service", NULL, NULL, NULL, NULL },
		/* a 64-hex name outside /docker/ and kubepods: no runtime makes it */
		{ "/" ID, NULL, NULL, NULL, NULL },
		{ "/system.slice/" ID ".scope", NULL, NULL, NULL, NULL },
		/* ids of the wrong length or case, a truncated scope */
		{ "/system.slice/docker-" "4f1b2c3d" ".scope", NULL, NULL, NULL, NULL },
		{ "/system.slice/docker-4F1B2C3D4E5F60718293A4B5C6D7E8F90123456789ABCDEF0123456789ABCDEF.scope",
		  NULL, NULL, NULL, NULL },
		{ "/system.slice/docker-" ID "0.scope", NULL, NULL, NULL, NULL },
		/* pod<UID> outside kubepods, a malformed UID, a QoS that is none */
		{ "/pods/pod" UID, NULL, NULL, NULL, NULL },
		{ "/kubepods/burstable/pod8f3e5b2a-1c4d-4e6f-9a0b", NULL, NULL, NULL, NULL },
		{ "/kubepods.slice/kubepods-premium.slice/kubepods-premium-pod" UID_ ".slice",
		  NULL, NULL, NULL, NULL },
		{ "/kubepods/premium/pod" UID, NULL, NULL, NULL, NULL },
		/* any bytes a recording's path may hold */
		{ "//docker//\xff\xfe/kubepods-pod.slice/kubepods-.slice/pod", NULL, NULL, NULL, NULL },
	};

	run(w, sizeof(w) / sizeof(w[0]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_runtimes),
		cmocka_unit_test(test_kubepods_systemd),
		cmocka_unit_test(test_kubepods_cgroupfs),
		cmocka_unit_test(test_not_containers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
