/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A file written under a temporary name next to its final one, then renamed
 * over it: whatever was at the name (a file of another mode or owner, a
 * symlink planted there) is replaced, never written through, and a reader
 * never sees a half-made file appear in its place. Used by export
 * --textfile and record -o.
 */
#ifndef TCPCLOSE_OUTFILE_H
#define TCPCLOSE_OUTFILE_H

#include <stdio.h>
#include <sys/types.h>

/* The directory path is written in (where its temporary file goes), into
 * buf: "." for a bare name. Returns buf. */
const char *tc_outfile_dir(const char *path, char *buf, size_t len);
/* A new file "<path>.XXXXXX" (0600, O_CLOEXEC) in path's directory, its
 * name into tmp. NULL with errno set. */
FILE *tc_outfile_open(const char *path, char *tmp, size_t tmplen);
/* Flush, chmod to mode, fsync and rename tmp over path; f stays open (the
 * caller closes it, and may write on). 0, or -errno with tmp removed. */
int tc_outfile_commit(FILE *f, const char *tmp, const char *path, mode_t mode);
/* Close f and remove tmp: nothing is left behind. */
void tc_outfile_abort(FILE *f, const char *tmp);

#endif
