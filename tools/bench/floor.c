// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * floor: attach the floor program (floor.bpf.c) until SIGINT/SIGTERM, then
 * print the transitions it counted. `make bench` runs it beside tcpclose
 * and bpftrace and reads its cost from the kernel's run-time stats.
 */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include "floor.skel.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

int main(void)
{
	struct floor_bpf *skel;
	int ncpu = libbpf_num_possible_cpus();
	unsigned long long sum = 0;
	__u32 zero = 0;

	if (ncpu < 1) {
		fprintf(stderr, "floor: cannot count CPUs\n");
		return 1;
	}
	unsigned long long per[ncpu];

	skel = floor_bpf__open_and_load();
	if (!skel || floor_bpf__attach(skel)) {
		fprintf(stderr, "floor: cannot load or attach (root? BTF?)\n");
		floor_bpf__destroy(skel);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	fprintf(stderr, "floor: attached\n");
	while (!stop)
		pause();
	if (!bpf_map_lookup_elem(bpf_map__fd(skel->maps.transitions), &zero, per))
		for (int i = 0; i < ncpu; i++)
			sum += per[i];
	printf("%llu\n", sum);
	floor_bpf__destroy(skel);
	return 0;
}
