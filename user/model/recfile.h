/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A recording (`tcpclose record -o FILE`): the per-socket event stream and
 * what the tables need besides, replayed by `report/doctor --from FILE` on
 * any machine into the same numbers as live.
 *
 *   "TCPCLREC" magic, __u32 format version, __u32 n, n bytes of JSON: the
 *   header (tool, kernel, host, start time, hooks, filters, sysctls, struct
 *   sizes and byte order, so a reader refuses what it cannot read);
 *   frames: __u32 type, __u32 length, payload:
 *     TC_REC_CLOSE  struct tc_event        a closed socket
 *     TC_REC_TW     struct tc_tw_event     a timewait event
 *     TC_REC_PORTS  __u32 netns, __u32 pad, struct tc_portrec[]  the port survey at the end
 *     TC_REC_NOSOCK struct tc_nosock_event a reset for no socket of ours (header
 *                   "reset_hook" set; recordings made before have none: null)
 *     TC_REC_END    JSON: duration, the tracer's health, the netns surveyed,
 *                   cgroup paths. Missing when the recorder was killed.
 * Fixed-size structs in the host's byte order: a recording moves between
 * machines of one architecture.
 */
#ifndef TCPCLOSE_RECFILE_H
#define TCPCLOSE_RECFILE_H

#include <stdio.h>
#include <json-c/json.h>
#include "model.h"
#include "replay.h"

#define TC_REC_MAGIC "TCPCLREC"
#define TC_REC_VERSION 1

enum tc_rec_type {
	TC_REC_CLOSE = TC_EV_CLOSE,
	TC_REC_TW = TC_EV_TW,
	TC_REC_PORTS = 3,
	TC_REC_NOSOCK = TC_EV_NOSOCK,
	TC_REC_END = 9,
};

struct tc_rec_writer {
	FILE *f;
	__u64 frames;
};

/* Creates path afresh (0600: it names hosts and processes; whatever was
 * there, a symlink included, is replaced, not written through: outfile.h)
 * and writes the header, to which the struct sizes and byte order are added. */
int tc_rec_create(struct tc_rec_writer *w, const char *path, json_object *header,
		  char *err, size_t errlen);
int tc_rec_frame(struct tc_rec_writer *w, __u32 type, const void *payload, __u32 len);
int tc_rec_ports(struct tc_rec_writer *w, __u32 netns, const struct tc_portrec *recs, size_t n);
/* The trailer from the model (health, netns, cgroup paths), then close. */
int tc_rec_finish(struct tc_rec_writer *w, const struct tc_model *m);

/* A recording read back. */
struct tc_recording {
	json_object *header, *trailer;	/* trailer NULL: the recorder was killed */
	struct tc_replay rp;
	struct tc_netns_raw_rec {
		__u32 ino;
		struct tc_portrec *recs;
		size_t nrecs;
	} *ports;
	size_t nports, cap_ports;	/* sorted by ino, one per netns */
	__u64 frames;
	int truncated;			/* the last frame was cut short */
};

/* -1 with a one-line reason when the file is not a recording we can read:
 * not a regular file, or anything in it, header, frames or trailer, not of
 * the format (every JSON value's type and range is checked here, so
 * tc_rec_model() uses only what fits). */
int tc_rec_read(const char *path, struct tc_recording *r, char *err, size_t errlen);
/* The model the live report would have printed at the recording's end. */
int tc_rec_model(struct tc_recording *r, struct tc_model *m);
void tc_rec_free(struct tc_recording *r);

#endif
