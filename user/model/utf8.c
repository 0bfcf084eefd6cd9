// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <string.h>
#include "utf8.h"

/* Length of the well-formed UTF-8 sequence at s (RFC 3629), or 0. */
static size_t seq_len(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0];
	size_t n;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (n > avail)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	/* overlongs, surrogates and > U+10FFFF */
	if (c == 0xe0 && s[1] < 0xa0)
		return 0;
	if (c == 0xed && s[1] > 0x9f)
		return 0;
	if (c == 0xf0 && s[1] < 0x90)
		return 0;
	if (c == 0xf4 && s[1] > 0x8f)
		return 0;
	return n;
}

/* A control character at c (n bytes, well-formed): C0, DEL, or C1
 * (U+0080..U+009F: C2 80..C2 9F; U+009B is CSI to many terminals). */
static bool is_control(const unsigned char *c, size_t n)
{
	return (n == 1 && (*c < 0x20 || *c == 0x7f)) || (n == 2 && c[0] == 0xc2 && c[1] <= 0x9f);
}

/* What JSON needs (controls: false; its writer escapes them) and what a
 * terminal needs (controls: true), one pass: a byte that starts no
 * well-formed sequence becomes U+FFFD, a control character '?'. */
static void copy_valid(char *dst, const char *src, size_t srclen, bool controls)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t len = 0, o = 0;

	while (len < srclen && s[len])
		len++;
	for (size_t i = 0; i < len;) {
		size_t n = seq_len(s + i, len - i);

		if (!n) {
			memcpy(dst + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		} else if (controls && is_control(s + i, n)) {
			dst[o++] = '?';
			i += n;
		} else {
			memcpy(dst + o, s + i, n);
			o += n;
			i += n;
		}
	}
	dst[o] = '\0';
}

void tc_utf8_sanitize(char *dst, const char *src, size_t srclen)
{
	copy_valid(dst, src, srclen, false);
}

void tc_printable(char *dst, const char *src, size_t srclen)
{
	copy_valid(dst, src, srclen, true);
}

bool tc_utf8_printable(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t i = 0; i < len;) {
		size_t n = u[i] ? seq_len(u + i, len - i) : 0;

		if (!n || is_control(u + i, n))
			return false;
		i += n;
	}
	return true;
}

void tc_utf8_cut(char *dst, size_t dstsize, const char *src)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t len = 0, o = 0;

	if (!dstsize)
		return;
	while (s[len])
		len++;
	for (size_t i = 0; i < len;) {
		size_t n = seq_len(s + i, len - i);
		const unsigned char *c = s + i;

		size_t w = n;

		if (!n) {
			c = (const unsigned char *)"\xef\xbf\xbd";
			w = 3;
		} else if (is_control(c, n)) {
			c = (const unsigned char *)"?";
			w = 1;
		}
		if (o + w >= dstsize)
			break;
		for (size_t k = 0; k < w; k++)
			dst[o++] = (char)c[k];
		i += n ? n : 1;
	}
	dst[o] = '\0';
}

const char *tc_term_str(char *dst, size_t dstsize, const char *src, const char *dflt)
{
	tc_utf8_cut(dst, dstsize, src ? src : dflt);
	return dst;
}
