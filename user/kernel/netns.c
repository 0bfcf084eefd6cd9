// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include "netns.h"

/*
 * The path is looked at before anything opens it: an O_PATH descriptor
 * (no open() of the file itself: a FIFO does not block, a device such as
 * /dev/watchdog is not armed), on which the filesystem must be nsfs; only
 * then that very inode is opened for reading, through /proc/self/fd.
 */
int tc_netns_open(const char *path, char *err, size_t errlen)
{
	char self[64];
	struct statfs sf;
	struct stat st;
	int pfd, fd, type;

	pfd = open(path, O_PATH | O_CLOEXEC);
	if (pfd < 0) {
		snprintf(err, errlen, "--netns %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstatfs(pfd, &sf) || fstat(pfd, &st) || sf.f_type != NSFS_MAGIC ||
	    !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "--netns %s: not a network namespace (%s)", path,
			 S_ISDIR(st.st_mode) ? "a directory" : S_ISFIFO(st.st_mode) ? "a FIFO" :
			 S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device" :
			 S_ISSOCK(st.st_mode) ? "a socket" : "not an nsfs file");
		close(pfd);
		return -1;
	}
	snprintf(self, sizeof(self), "/proc/self/fd/%d", pfd);
	fd = open(self, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	close(pfd);
	if (fd < 0) {
		snprintf(err, errlen, "--netns %s: %s", path, strerror(errno));
		return -1;
	}
	type = ioctl(fd, NS_GET_NSTYPE);
	if (type != CLONE_NEWNET) {
		snprintf(err, errlen, "--netns %s: not a network namespace (%s)", path,
			 type < 0 ? "not a namespace" : "another kind of namespace");
		close(fd);
		return -1;
	}
	return fd;
}

int tc_netns_inode(const char *path, __u32 *ino, char *err, size_t errlen)
{
	struct stat st;
	int fd = tc_netns_open(path, err, errlen);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st)) {
		snprintf(err, errlen, "--netns %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	*ino = (__u32)st.st_ino;
	return 0;
}

/* path opened only if it is a network namespace (never a FIFO, a device,
 * a planted file: tc_netns_open) of inode ino, judged on what was opened,
 * not on the name: the fd to setns into, or -1. */
int tc_netns_open_ino(const char *path, __u32 ino)
{
	char err[32];
	struct stat st;
	int fd = tc_netns_open(path, err, sizeof(err));

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || (__u32)st.st_ino != ino) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The netns with inode ino: named ones first, then any process's; its fd. */
int tc_netns_find(__u32 ino)
{
	static const char *const dirs[] = { "/var/run/netns", "/run/netns" };
	char path[300];
	struct dirent *d;
	int fd = -1;
	DIR *dir;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]) && fd < 0; i++) {
		if (!(dir = opendir(dirs[i])))
			continue;
		while (fd < 0 && (d = readdir(dir)))
			if (d->d_name[0] != '.') {
				snprintf(path, sizeof(path), "%s/%s", dirs[i], d->d_name);
				fd = tc_netns_open_ino(path, ino);
			}
		closedir(dir);
	}
	if (fd >= 0 || !(dir = opendir("/proc")))
		return fd;
	while (fd < 0 && (d = readdir(dir)))
		if (d->d_name[0] >= '1' && d->d_name[0] <= '9') {
			snprintf(path, sizeof(path), "/proc/%s/ns/net", d->d_name);
			fd = tc_netns_open_ino(path, ino);
		}
	closedir(dir);
	return fd;
}

int tc_netns_enter(int target, int *self)
{
	*self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (*self < 0)
		return -1;
	if (setns(target, CLONE_NEWNET)) {
		int e = errno;

		close(*self);
		*self = -1;
		errno = e;
		return -1;
	}
	return 0;
}

void tc_netns_leave(int self)
{
	if (setns(self, CLONE_NEWNET)) {
		/* Cannot get back: better to stop than to go on from the wrong place. */
		fprintf(stderr, "tcpclose: error: cannot return to own netns: %s\n", strerror(errno));
		exit(1);
	}
	close(self);
}
