/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef TCPCLOSE_UTF8_H
#define TCPCLOSE_UTF8_H
#include <stdbool.h>
#include <stddef.h>

/*
 * Copy at most srclen bytes of src (stopping at NUL) into dst as valid
 * UTF-8: every byte that does not start a well-formed sequence becomes
 * U+FFFD. A comm is any 15 bytes a process chose; JSON must stay valid.
 * dst must hold 3 * srclen + 1 bytes.
 */
void tc_utf8_sanitize(char *dst, const char *src, size_t srclen);

/* For text output (a terminal): also replaces each control character, C0
 * (below U+0020), DEL and C1 (U+0080..U+009F: U+009B is a CSI to many
 * terminals), with '?'. Same dst size. */
void tc_printable(char *dst, const char *src, size_t srclen);

/* len bytes of s are well-formed UTF-8 without NUL or control characters
 * (C0, DEL, C1): a name from an untrusted file that can go to a terminal
 * as it is. */
bool tc_utf8_printable(const char *s, size_t len);

/* src (NUL-terminated) into dst of dstsize bytes with tc_printable's rules,
 * cut to fit at a character boundary, never inside a sequence. */
void tc_utf8_cut(char *dst, size_t dstsize, const char *src);

/* A string from an untrusted source (a recording, a kernel name) for a
 * terminal: src, or dflt when NULL, through tc_utf8_cut into dst. */
const char *tc_term_str(char *dst, size_t dstsize, const char *src, const char *dflt);

#endif
