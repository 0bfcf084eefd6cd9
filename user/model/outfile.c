// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "outfile.h"

const char *tc_outfile_dir(const char *path, char *buf, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(buf, len, ".");
	else if (slash == path)
		snprintf(buf, len, "/");
	else
		snprintf(buf, len, "%.*s", (int)(slash - path), path);
	return buf;
}

FILE *tc_outfile_open(const char *path, char *tmp, size_t tmplen)
{
	FILE *f;
	int fd, e;

	if (snprintf(tmp, tmplen, "%s.XXXXXX", path) >= (int)tmplen) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	fd = mkostemp(tmp, O_CLOEXEC);	/* O_EXCL, mode 0600 */
	if (fd < 0)
		return NULL;
	f = fdopen(fd, "w");
	if (!f) {
		e = errno;
		close(fd);
		unlink(tmp);
		errno = e;
	}
	return f;
}

int tc_outfile_commit(FILE *f, const char *tmp, const char *path, mode_t mode)
{
	if (fflush(f) || fchmod(fileno(f), mode) || fsync(fileno(f)) || rename(tmp, path)) {
		int e = errno ? errno : EIO;

		unlink(tmp);
		return -e;
	}
	return 0;
}

void tc_outfile_abort(FILE *f, const char *tmp)
{
	int e = errno;

	fclose(f);
	unlink(tmp);
	errno = e;
}
