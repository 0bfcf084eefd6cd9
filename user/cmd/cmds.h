/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef TCPCLOSE_CMDS_H
#define TCPCLOSE_CMDS_H

#include <signal.h>
#include <linux/types.h>
#include "args.h"

#define TCPCLOSE_VERSION "0.2.0"

/* Set by SIGINT/SIGTERM: commands finish and print what they gathered. */
extern volatile sig_atomic_t tc_stop;

/* CLOCK_MONOTONIC, the clock of bpf_ktime_get_ns() */
__u64 tc_now_ns(void);
double tc_now_s(void);
/* Sleep up to max_s seconds; returns early on a signal. */
void tc_nap(double max_s);
void tc_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int tc_cmd_report(const struct tc_opts *o);
int tc_cmd_trace(const struct tc_opts *o);
int tc_cmd_doctor(const struct tc_opts *o);
int tc_cmd_top(const struct tc_opts *o);
int tc_cmd_export(const struct tc_opts *o);
int tc_cmd_record(const struct tc_opts *o);
/* report/doctor --from: the model of a recording; 0, or 1 with the error said. */
struct tc_model;
struct tc_recording;
int tc_model_from(const char *path, struct tc_recording *r, struct tc_model *m);

#endif
