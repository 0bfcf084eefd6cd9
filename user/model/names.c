// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include "names.h"

static const char *const kind_names[TC_CK_MAX] = {
	[TC_CK_LOCAL_FIRST] = "local_first",
	[TC_CK_REMOTE_FIRST] = "remote_first",
	[TC_CK_SIMULTANEOUS] = "simultaneous",
	[TC_CK_RESET_SENT] = "reset_sent",
	[TC_CK_RESET_RECEIVED] = "reset_received",
	[TC_CK_NEVER_ESTABLISHED] = "never_established",
	[TC_CK_TIMEOUT] = "timeout",
	[TC_CK_UNSEEN] = "unseen",
};

static const char *const cause_names[TC_CAUSE_MAX] = {
	[TC_CAUSE_NONE] = "none",
	[TC_CAUSE_UNREAD_DATA] = "unread_data",
	[TC_CAUSE_LINGER_ZERO] = "linger_zero",
	[TC_CAUSE_KILLED] = "killed",
	[TC_CAUSE_RESET_OTHER] = "reset_other",
	[TC_CAUSE_DATA_AFTER_CLOSE] = "data_after_close",
	[TC_CAUSE_LINGER2] = "linger2",
	[TC_CAUSE_MEMORY] = "memory",
	[TC_CAUSE_SYN] = "syn",
	[TC_CAUSE_RETRANSMITS] = "retransmits",
	[TC_CAUSE_ORPHAN] = "orphan",
	[TC_CAUSE_USER_TIMEOUT] = "user_timeout",
	[TC_CAUSE_KEEPALIVE] = "keepalive",
	[TC_CAUSE_ZERO_WINDOW] = "zero_window",
	[TC_CAUSE_TIMEOUT_OTHER] = "timeout_other",
	[TC_CAUSE_FIN_WAIT2] = "fin_wait2",
	[TC_CAUSE_RX_ESTABLISHED] = "established",
	[TC_CAUSE_RX_CLOSE_WAIT] = "close_wait",
	[TC_CAUSE_RX_FIN_SENT] = "fin_sent",
	[TC_CAUSE_RX_HANDSHAKE] = "handshake",
};

static const char *const state_names[TC_STATE_MAX] = {
	[TC_ESTABLISHED] = "ESTABLISHED", [TC_SYN_SENT] = "SYN_SENT",
	[TC_SYN_RECV] = "SYN_RECV", [TC_FIN_WAIT1] = "FIN_WAIT1",
	[TC_FIN_WAIT2] = "FIN_WAIT2", [TC_TIME_WAIT] = "TIME_WAIT",
	[TC_CLOSE] = "CLOSE", [TC_CLOSE_WAIT] = "CLOSE_WAIT",
	[TC_LAST_ACK] = "LAST_ACK", [TC_LISTEN] = "LISTEN",
	[TC_CLOSING] = "CLOSING", [TC_NEW_SYN_RECV] = "NEW_SYN_RECV",
	[TC_BOUND_INACTIVE] = "BOUND_INACTIVE",
};

static const char *const attach_names[] = {
	[TC_ATTACH_AUTO] = "auto", [TC_ATTACH_FENTRY] = "fentry",
	[TC_ATTACH_KPROBE] = "kprobe", [TC_ATTACH_TRACEPOINT] = "tracepoint",
};

const char *tc_kind_name(int kind)
{
	return kind >= 0 && kind < TC_CK_MAX ? kind_names[kind] : "open";
}

const char *tc_cause_name(int cause)
{
	return cause >= 0 && cause < TC_CAUSE_MAX ? cause_names[cause] : "none";
}

const char *tc_event_cause(int cause)
{
	return cause > TC_CAUSE_NONE && cause < TC_CAUSE_FIRST_RECEIVED ? cause_names[cause] : NULL;
}

bool tc_cause_list(char *buf, size_t size, const __u64 *cause, int from, int to)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int i = from; i < to && i < TC_CAUSE_MAX && n < size; i++)
		if (cause[i])
			n += (size_t)snprintf(buf + n, size - n, "%s%s %llu", n ? ", " : "",
					      cause_names[i], (unsigned long long)cause[i]);
	return n > 0;
}

const char *tc_role_name(int role)
{
	switch (role) {
	case TC_ROLE_CLIENT: return "client";
	case TC_ROLE_SERVER: return "server";
	default: return "unknown";
	}
}

const char *tc_nosock_reason_name(int reason)
{
	switch (reason) {
	case TC_NR_NO_SOCKET: return "no_socket";
	case TC_NR_TIME_WAIT: return "time_wait";
	default: return "?";
	}
}

const char *tc_state_name(int state)
{
	if (state > 0 && state < TC_STATE_MAX && state_names[state])
		return state_names[state];
	return "?";
}

const char *tc_attach_name(int attach)
{
	if (attach >= 0 && attach <= TC_ATTACH_TRACEPOINT)
		return attach_names[attach];
	return "?";
}

int tc_attach_parse(const char *s)
{
	for (int i = 0; i <= TC_ATTACH_TRACEPOINT; i++)
		if (!strcmp(s, attach_names[i]))
			return i;
	return -1;
}

char *tc_path_str(__u64 path, int len, char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < len && i < TC_PATH_MAX && off < size; i++) {
		int n = snprintf(buf + off, size - off, "%s%s", i ? ">" : "",
				 tc_state_name((path >> (4 * i)) & 0xf));
		if (n < 0)
			break;
		off += (size_t)n;
	}
	return buf;
}

char *tc_addr_str(int family, const __u8 *addr, char *buf, size_t size)
{
	if (!inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, addr, buf, size))
		snprintf(buf, size, "?");
	return buf;
}

char *tc_endpoint_str(int family, const __u8 *addr, int port, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];

	tc_addr_str(family, addr, a, sizeof(a));
	if (family == AF_INET6)
		snprintf(buf, size, "[%s]:%d", a, port);
	else
		snprintf(buf, size, "%s:%d", a, port);
	return buf;
}
