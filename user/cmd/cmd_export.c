// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * export: Prometheus metrics. /metrics is served by libmicrohttpd from its
 * own thread; each scrape collects afresh (at most once a second, so a
 * scrape storm costs one collection), the textfile is rewritten every -i.
 * Collection and rendering share one lock: the model is not thread-safe.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <microhttpd.h>
#include "cmds.h"
#include "collect.h"
#include "outfile.h"
#include "privs.h"
#include "start.h"
#include "render.h"
#include "render_prom.h"
#include "sample.h"
#include "tracer.h"

#define SCRAPE_MIN_AGE_S 1.0
/* Slow or idle clients (issue 16): one address holds at most HTTP_PER_IP
 * connections, so a host trickling requests cannot lock out the scrapers
 * of others; a connection idle for HTTP_TIMEOUT_S is closed, so an idle or
 * slow client frees its slot quickly; and HTTP_MAX_CONNS in all. */
#define HTTP_MAX_CONNS 256u
#define HTTP_PER_IP 8u
#define HTTP_TIMEOUT_S 3u

struct exporter {
	const struct tc_opts *o;
	struct tc_tracer *t;
	pthread_mutex_t lock;
	struct tc_model m;
	struct tc_prom prom;
	double start_s;
	char *body;		/* the last exposition */
	size_t len;
	double body_s;		/* when it was made; 0: never */
	unsigned long scrapes;
	unsigned long tf_failures;	/* textfile writes that failed */
	int tf_err;		/* the failure being reported (-errno, -1), 0: none */
};

/* The exporter's own health, after the exposition: the textfile failures. */
static void render_own(FILE *f, const struct exporter *e)
{
	const char *n = "tcpclose_textfile_write_failures_total";

	if (!e->o->textfile)
		return;
	fprintf(f, "# HELP %s Textfile rewrites that failed (the exporter logs and goes on).\n"
		"# TYPE %s counter\n%s %lu\n", n, n, n, e->tf_failures);
}

/* Under e->lock. */
static int refresh(struct exporter *e)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int ret;

	if (e->body_s && tc_now_s() - e->body_s < SCRAPE_MIN_AGE_S)
		return 0;
	if (tc_sample(e->t, e->o->netns_path, tc_now_s() - e->start_s, &e->m))
		return -1;
	f = open_memstream(&buf, &len);
	if (!f)
		return -1;
	ret = tc_render_prom(f, &e->m, &e->prom);
	render_own(f, e);
	if (fclose(f) || ret) {
		free(buf);
		return -1;
	}
	free(e->body);
	e->body = buf;
	e->len = len;
	e->body_s = tc_now_s();
	return 0;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
			     const char *body, size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body,
								 MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **state)
{
	static const char index_page[] =
		"tcpclose exporter: the metrics are at /metrics\n";
	static const char text[] = "text/plain; charset=utf-8";
	struct exporter *e = cls;
	enum MHD_Result ret;

	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, text, "GET only\n", 9);
	if (!strcmp(url, "/"))
		return reply(c, MHD_HTTP_OK, text, index_page, sizeof(index_page) - 1);
	if (strcmp(url, "/metrics"))
		return reply(c, MHD_HTTP_NOT_FOUND, text, "not found\n", 10);
	pthread_mutex_lock(&e->lock);
	if (refresh(e) || !e->body)
		ret = reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, text, "collection failed\n", 18);
	else
		ret = reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", e->body,
			    e->len);
	e->scrapes++;
	pthread_mutex_unlock(&e->lock);
	return ret;
}

/* A listening socket of our own: bind errors say what went wrong. */
static int listen_on(const char *spec, char *err, size_t errlen)
{
	struct sockaddr_storage ss = { 0 };
	char addr[64];
	unsigned port;
	socklen_t sl;
	int fd, one = 1;

	if (tc_parse_listen(spec, addr, sizeof(addr), &port)) {
		snprintf(err, errlen, "invalid --listen '%s'", spec);
		return -1;
	}
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *s6 = (void *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, addr, &s6->sin6_addr);
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (void *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, addr, &s4->sin_addr);
		sl = sizeof(*s4);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&ss, sl) || listen(fd, 64)) {
		snprintf(err, errlen, "cannot listen on %s port %u: %s", addr, port, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* node_exporter may read at any moment: write a temporary file next to
 * PATH (a name it ignores) and rename it over PATH. */
static int write_textfile(const char *path, const char *body, size_t len)
{
	char tmp[4096];
	FILE *f = tc_outfile_open(path, tmp, sizeof(tmp));
	int ret;

	if (!f)
		return -errno;
	if (fwrite(body, 1, len, f) != len) {
		ret = errno ? -errno : -EIO;
		tc_outfile_abort(f, tmp);
		return ret;
	}
	ret = tc_outfile_commit(f, tmp, path, 0644);
	fclose(f);	/* flushed and synced: nothing left to fail */
	return ret;
}

/* One rewrite. A failure is counted and said once per kind: the same one
 * again says nothing (it may last: a full disk, every -i), a change of
 * kind or the first success after failures says so. */
static int textfile_tick(struct exporter *e)
{
	int ret;

	pthread_mutex_lock(&e->lock);
	e->body_s = 0;		/* always fresh for the file */
	ret = refresh(e);
	if (!ret)
		ret = write_textfile(e->o->textfile, e->body, e->len);
	if (ret)
		e->tf_failures++;
	pthread_mutex_unlock(&e->lock);
	if (ret && ret != e->tf_err)
		tc_err("cannot write --textfile %s: %s%s", e->o->textfile,
		       ret == -1 ? "collection failed" : strerror(-ret),
		       e->tf_err ? "" : " (said once; counted in tcpclose_textfile_write_failures_total)");
	else if (!ret && e->tf_err)
		fprintf(stderr, "tcpclose: --textfile %s written again (%lu failed rewrites so far)\n",
			e->o->textfile, e->tf_failures);
	e->tf_err = ret;
	return ret;
}

/*
 * Before anything is loaded: can the textfile's directory take a new file
 * once the privileges are dropped? The attached process is --user (by
 * default the directory's owner) without capabilities, an ordinary user to
 * the file modes. Tried for real, by a child that becomes what the attached
 * process will be (tc_privs_become); the reason in one line.
 */
static int textfile_precheck(const struct tc_opts *o, char *err, size_t errlen)
{
	char dir[4096], tmp[4096];
	struct stat st;
	int status, e;
	pid_t pid;

	tc_outfile_dir(o->textfile, dir, sizeof(dir));
	if (stat(dir, &st)) {
		snprintf(err, errlen, "--textfile directory %s: %s", dir,
			 errno == ENOENT ? "does not exist" : strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "--textfile directory %s: not a directory", dir);
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return 0;	/* the first write will tell */
	if (pid == 0) {
		FILE *f;

		if (tc_privs_become(o, tmp, sizeof(tmp)))
			_exit(0);	/* cannot tell: the drop itself will say */
		f = tc_outfile_open(o->textfile, tmp, sizeof(tmp));
		if (!f)
			_exit(errno > 0 && errno < 256 ? errno : EIO);
		tc_outfile_abort(f, tmp);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || !(e = WEXITSTATUS(status)))
		return 0;
	if ((e == EACCES || e == EPERM) && !o->keep_caps)
		snprintf(err, errlen, "--textfile directory %s is not writable by --user %s once "
			 "attached (owner uid %u, mode %04o): give --user its owner, or use --keep-caps",
			 dir, o->user ? o->user : "(its owner)", (unsigned)st.st_uid,
			 (unsigned)(st.st_mode & 07777));
	else
		snprintf(err, errlen, "--textfile directory %s: cannot create a file there: %s", dir,
			 strerror(e));
	return -1;
}

int tc_cmd_export(const struct tc_opts *o)
{
	struct exporter e = { .o = o };
	struct MHD_Daemon *d = NULL;
	struct tc_tracer t;
	char err[4608];	/* a directory name and why */
	double next;
	int lfd = -1, ret = 0;

	/* The port and the directory first: neither should cost a BPF load. */
	if (o->textfile && textfile_precheck(o, err, sizeof(err))) {
		tc_err("%s", err);
		return 1;
	}
	if (o->listen && (lfd = listen_on(o->listen, err, sizeof(err))) < 0) {
		tc_err("%s", err);
		return 1;
	}
	if (tc_start_attached(&t, o, TC_NEED_SURVEY)) {
		if (lfd >= 0)
			close(lfd);
		return 1;
	}
	e.t = &t;
	pthread_mutex_init(&e.lock, NULL);
	tc_model_init(&e.m);
	tc_prom_init(&e.prom, o->top, TCPCLOSE_VERSION);
	e.start_s = tc_now_s();

	if (lfd >= 0) {
		d = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD, 0, NULL, NULL, on_request, &e,
				     MHD_OPTION_LISTEN_SOCKET, lfd,
				     MHD_OPTION_CONNECTION_LIMIT, HTTP_MAX_CONNS,
				     MHD_OPTION_PER_IP_CONNECTION_LIMIT, HTTP_PER_IP,
				     MHD_OPTION_CONNECTION_TIMEOUT, HTTP_TIMEOUT_S,
				     MHD_OPTION_END);
		if (!d) {
			tc_err("cannot start the HTTP server on %s", o->listen);
			close(lfd);
			ret = 1;
			goto out_model;
		}
	}
	if (o->textfile) {
		if (textfile_tick(&e)) {
			ret = 1;
			goto out_model;
		}
	}
	fprintf(stderr, "tcpclose: tracing TCP closes with %s;", t.state_hook);
	if (d)
		fprintf(stderr, " serving http://%s/metrics;", o->listen);
	if (o->textfile)
		fprintf(stderr, " writing %s every %g s;", o->textfile, o->interval_s);
	fputs(" Ctrl-C to stop\n", stderr);
	next = tc_now_s() + o->interval_s;
	while (!tc_stop) {
		double now = tc_now_s();

		if (o->duration_s > 0 && now - e.start_s >= o->duration_s)
			break;
		if (o->textfile && now >= next) {
			textfile_tick(&e);	/* a failure is said and counted: go on */
			next += o->interval_s;
			if (next < now)
				next = now + o->interval_s;	/* suspended: no burst */
		}
		tc_nap(0.2);
	}
	if (d)
		MHD_stop_daemon(d);	/* no scrape runs past here */
	d = NULL;
	/* The last word: the file keeps the final counts. */
	if (o->textfile && !ret && textfile_tick(&e))
		ret = 1;
	fprintf(stderr, "tcpclose: %lu scrapes served\n", e.scrapes);
out_model:
	if (d)
		MHD_stop_daemon(d);
	tc_prom_free(&e.prom);
	tc_model_free(&e.m);
	free(e.body);
	pthread_mutex_destroy(&e.lock);
	tc_tracer_stop(&t);
	return ret;
}
