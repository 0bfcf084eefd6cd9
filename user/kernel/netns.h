/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Network namespaces by path or by inode, and the one way this thread
 * enters one and comes back (the timewait snapshot at start, the survey).
 * A path is opened only once it is proven a netns: never a FIFO, a device
 * or a planted file.
 */
#ifndef TCPCLOSE_NETNS_H
#define TCPCLOSE_NETNS_H

#include <stddef.h>
#include <linux/types.h>

/* Inode of a network namespace file; -1 with err if PATH is not one. */
int tc_netns_inode(const char *path, __u32 *ino, char *err, size_t errlen);
/* An fd of the network namespace at path (O_RDONLY, for setns), or -1 with
 * a one-line reason: the path must be an nsfs file of a network namespace,
 * checked through O_PATH before it is opened (a FIFO, a device, a regular
 * file is never opened). */
int tc_netns_open(const char *path, char *err, size_t errlen);
/* tc_netns_open(), and the netns must be the one of inode ino: fd or -1. */
int tc_netns_open_ino(const char *path, __u32 ino);
/* The netns of inode ino, found (named ones, then any process's): fd or -1. */
int tc_netns_find(__u32 ino);

/* This thread into the netns of fd target: 0 with *self the way back, or
 * -1 (errno set) still where it was. */
int tc_netns_enter(int target, int *self);
/* Back through self (closed then); exits if that fails. */
void tc_netns_leave(int self);

#endif
