// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <zlib.h>
#include "kconfig.h"

unsigned int tc_kernel_hz(void)
{
	struct utsname u;
	char line[256];
	gzFile f = NULL;
	long hz = 0;

	if (!uname(&u)) {
		char path[sizeof(u.release) + 16];

		snprintf(path, sizeof(path), "/boot/config-%s", u.release);
		f = gzopen(path, "r");	/* a plain file reads as it is */
	}
	if (!f)
		f = gzopen("/proc/config.gz", "r");
	if (!f)
		return 0;
	while (gzgets(f, line, sizeof(line)))
		if (!strncmp(line, "CONFIG_HZ=", 10)) {
			hz = strtol(line + 10, NULL, 10);
			break;
		}
	gzclose(f);
	/* the kernel's Kconfig allows 100 to 1000; anything else is no HZ */
	return hz >= 100 && hz <= 1000 ? (unsigned int)hz : 0;
}
