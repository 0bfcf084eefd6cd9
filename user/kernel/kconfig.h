/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the running kernel was built with, from its config file: where
 * libbpf looks for __kconfig externs (/boot/config-RELEASE, else
 * /proc/config.gz), read here so that a host without either still loads
 * (libbpf fails the whole object when an extern cannot be resolved).
 */
#ifndef TCPCLOSE_KCONFIG_H
#define TCPCLOSE_KCONFIG_H

/* CONFIG_HZ: the jiffies a second; 0 when no config file says. */
unsigned int tc_kernel_hz(void);

#endif /* TCPCLOSE_KCONFIG_H */
