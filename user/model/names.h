/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Stable names of enums: they are part of the JSON contract. */
#ifndef TCPCLOSE_NAMES_H
#define TCPCLOSE_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include "tcpclose.h"

const char *tc_kind_name(int kind);
const char *tc_role_name(int role);
/* enum tc_nosock_reason: "no_socket", "time_wait". */
const char *tc_nosock_reason_name(int reason);
/* enum tc_cause: a reset cause below TC_CAUSE_FIRST_TIMEOUT, a timeout's from
 * it, from TC_CAUSE_FIRST_RECEIVED the state a received reset hit. */
const char *tc_cause_name(int cause);
/* What a closed socket's event says of its cause: a reset sent or a
 * timeout; NULL otherwise (a received reset's state is in its path). */
const char *tc_event_cause(int cause);
/* "unread_data 25, linger_zero 3": the causes in [from, to) counted in
 * cause[] (a row's), cut at size; returns whether there was any. */
bool tc_cause_list(char *buf, size_t size, const __u64 *cause, int from, int to);
const char *tc_state_name(int state);
const char *tc_attach_name(int attach);
int tc_attach_parse(const char *s);	/* -1 when unknown */
/* "SYN_SENT>ESTABLISHED>FIN_WAIT1>..." into buf; returns buf. */
char *tc_path_str(__u64 path, int len, char *buf, size_t size);
/* Address as text; IPv6 in brackets when with_port. */
char *tc_addr_str(int family, const __u8 *addr, char *buf, size_t size);
char *tc_endpoint_str(int family, const __u8 *addr, int port, char *buf, size_t size);

#endif
