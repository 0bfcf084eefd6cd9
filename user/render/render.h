/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* One renderer per format; each reads only the model or an event. */
#ifndef TCPCLOSE_RENDER_H
#define TCPCLOSE_RENDER_H

#include <stdbool.h>
#include <stdio.h>
#include "model.h"

#define TC_JSON_VERSION 1

void tc_render_text(FILE *f, const struct tc_model *m, unsigned top);
int tc_render_json(FILE *f, const struct tc_model *m);

/* trace: ts_s is seconds since the tracer started. */
void tc_event_text_header(FILE *f);
void tc_event_text(FILE *f, const struct tc_event *e, double ts_s, bool idle);
/* idle: the recorder knew the kernel's HZ (a timeout's idle_s means something) */
int tc_event_json(FILE *f, const struct tc_event *e, double ts_s, bool idle);

#endif
