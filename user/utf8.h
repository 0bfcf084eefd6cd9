/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef TCPCLOSE_UTF8_H
#define TCPCLOSE_UTF8_H
#include <stddef.h>

/*
 * Copy at most srclen bytes of src (stopping at NUL) into dst as valid
 * UTF-8: every byte that does not start a well-formed sequence becomes
 * U+FFFD. A comm is any 15 bytes a process chose; JSON must stay valid.
 * dst must hold 3 * srclen + 1 bytes.
 */
void tc_utf8_sanitize(char *dst, const char *src, size_t srclen);

/* For text output: also replaces control characters with '?'. */
void tc_printable(char *dst, const char *src, size_t srclen);

#endif
