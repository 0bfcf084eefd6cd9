// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The one definition of every shared map, and the licence of the object. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#define TC_MAPS_DEFINE
#include "maps.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";
