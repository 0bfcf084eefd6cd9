// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <getopt.h>
#include <arpa/inet.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "args.h"
#include "names.h"

#define PID_MAX_LIMIT 4194304	/* kernel's upper bound for pid_max */

static const char usage[] =
"USAGE\n"
"  tcpclose [COMMAND] [OPTIONS]\n"
"\n"
"COMMANDS\n"
"  top       live table of processes and peers, redrawn every -i SECONDS\n"
"            (default 2; bare tcpclose). Keys: s/S sort column, q quit\n"
"  report    trace for -d SECONDS (or until Ctrl-C), then print totals,\n"
"            a per-process and a per-peer table\n"
"  trace     one line per closed socket as it happens\n"
"  doctor    watch for -d SECONDS (default 10), then a verdict ranked by\n"
"            severity, each finding with its numbers and a fix. Exit status:\n"
"            0 nothing wrong, 2 warnings, 3 something critical, 1 could not run\n"
"  export    Prometheus metrics: serve /metrics (--listen) and/or write a\n"
"            node_exporter textfile every -i SECONDS (--textfile)\n"
"  record    keep the per-socket event stream in -o FILE (until -d or Ctrl-C),\n"
"            then print the report; report/doctor --from FILE rebuild it anywhere\n"
"  help      this text (also -h, --help after any command)\n"
"  version   the version: tcpclose VERSION\n"
"\n"
"OPTIONS\n"
"  -d, --duration SECONDS   stop after SECONDS\n"
"  -i, --interval SECONDS   report: also print the tables every SECONDS;\n"
"                           top: refresh; export: textfile rewrite (default 15)\n"
"  -j, --json               JSON (report, doctor, record) or JSON Lines (trace)\n"
"  -o, --output FILE        record: the recording to write\n"
"      --from FILE          report, doctor: read a recording, not the kernel\n"
"  -p, --pid PID            only sockets owned by process PID\n"
"  -c, --comm COMM          only sockets owned by processes named COMM\n"
"      --cgroup PATH        only sockets of tasks in cgroup PATH or below it\n"
"                           (/sys/fs/cgroup/... or /system.slice/...)\n"
"      --netns PATH         only sockets in that network namespace\n"
"                           (e.g. /var/run/netns/NAME, /proc/PID/ns/net)\n"
"  -s, --sort COLUMN        top: closed|local|remote|reset|tw|tw_rate|reuse|\n"
"                           retries|eaddrnotavail|ports (default closed)\n"
"      --listen [ADDR]:PORT export: serve /metrics there (ADDR defaults to 127.0.0.1)\n"
"      --textfile PATH      export: write PATH (*.prom) atomically every -i\n"
"      --attach MODE        auto|fentry|kprobe|tracepoint (default auto)\n"
"      --light              skip the hooks that run for every timer or syscall of\n"
"                           the host (tracepoint-only kernels' TIME_WAIT and accept()\n"
"                           hooks): cheaper, without TIME_WAIT ends and reuse hits\n"
"  -n, --top N              rows per table (text, top) and series per table\n"
"                           (export; the rest fold into \"other\") (default 20)\n"
"      --max-sockets N      live sockets followed at once (default 131072)\n"
"      --max-peers N        per-peer rows kept (default 16384)\n"
"      --max-procs N        per-process rows kept (default 4096)\n"
"      --max-timewait N     TIME_WAIT stays followed at once (default 262144)\n"
"      --prog-stats         measure tcpclose's own BPF programs while it runs\n"
"                           (runs and ns per run; kernel.bpf_stats for this run only)\n"
"      --keep-caps          keep every capability after attaching (default: drop\n"
"                           all the command no longer needs)\n"
"      --user USER          run as USER once attached (default nobody, or with\n"
"                           --textfile the owner of its directory; root: stay\n"
"                           uid 0, still without capabilities)\n"
"  -v, --verbose            say which hooks were tried and chosen\n"
"  -h, --help\n"
"\n"
"EXAMPLES\n"
"  sudo tcpclose                           live view, busiest first\n"
"  sudo tcpclose top -s tw -i 5            sorted by TIME_WAIT sockets now\n"
"  sudo tcpclose report -d 30              who closed first, per process and peer\n"
"  sudo tcpclose report -d 10 --json -c nginx\n"
"  sudo tcpclose trace --netns /var/run/netns/web\n"
"  sudo tcpclose doctor -d 30              what is wrong, and what to change\n"
"  sudo tcpclose export --listen :9862     Prometheus scrapes 127.0.0.1:9862/metrics\n"
"  sudo tcpclose export --textfile /var/lib/prometheus/node-exporter/tcpclose.prom\n"
"  sudo tcpclose report --cgroup /system.slice/nginx.service\n"
"  sudo tcpclose record -d 60 -o incident.tcrec; tcpclose doctor --from incident.tcrec\n";

static const char *const sort_names[TC_SORT_MAX] = {
	"closed", "local", "remote", "reset", "tw", "tw_rate", "reuse", "retries",
	"eaddrnotavail", "ports",
};

const char *tc_sort_name(int sort)
{
	return sort >= 0 && sort < TC_SORT_MAX ? sort_names[sort] : "?";
}

int tc_sort_parse(const char *s)
{
	for (int i = 0; i < TC_SORT_MAX; i++)
		if (!strcmp(s, sort_names[i]))
			return i;
	return -1;
}

static int parse_uint(const char *s, unsigned long min, unsigned long max,
		      unsigned long *out);

int tc_parse_listen(const char *s, char *addr, size_t addrlen, unsigned *port)
{
	unsigned char bin[16];
	char a[64];
	const char *colon = strrchr(s, ':');
	unsigned long p;
	size_t n;

	if (!colon || parse_uint(colon + 1, 1, 65535, &p))
		return -1;
	n = (size_t)(colon - s);
	if (n && s[0] == '[') {		/* [v6]:port */
		if (n < 3 || s[n - 1] != ']')
			return -1;
		s++;
		n -= 2;
	}
	if (n >= sizeof(a))
		return -1;
	memcpy(a, s, n);
	a[n] = '\0';
	if (n && inet_pton(AF_INET, a, bin) != 1 && inet_pton(AF_INET6, a, bin) != 1)
		return -1;	/* a numeric address: no resolver in a tracer */
	if (addr) {
		if (n + 1 > addrlen)
			return -1;
		if (n)
			memcpy(addr, s, n);
		else
			strcpy(addr, "127.0.0.1"), n = 9;	/* never every interface unasked */
		addr[n] = '\0';
	}
	if (port)
		*port = (unsigned)p;
	return 0;
}

const char *tc_usage(void)
{
	return usage;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v <= 0 || v > 31536000)
		return -1;
	*out = v;
	return 0;
}

static int parse_uint(const char *s, unsigned long min, unsigned long max,
		      unsigned long *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

enum { OPT_NETNS = 256, OPT_ATTACH, OPT_MAX_SOCKETS, OPT_MAX_PEERS, OPT_MAX_PROCS,
       OPT_MAX_TIMEWAIT,
       OPT_PROG_STATS, OPT_CGROUP, OPT_LISTEN, OPT_TEXTFILE, OPT_KEEP_CAPS, OPT_USER, OPT_FROM,
       OPT_LIGHT, OPT_MAX };

static const struct option long_opts[] = {
	{ "duration", required_argument, NULL, 'd' },
	{ "interval", required_argument, NULL, 'i' },
	{ "json", no_argument, NULL, 'j' },
	{ "pid", required_argument, NULL, 'p' },
	{ "comm", required_argument, NULL, 'c' },
	{ "netns", required_argument, NULL, OPT_NETNS },
	{ "attach", required_argument, NULL, OPT_ATTACH },
	{ "top", required_argument, NULL, 'n' },
	{ "max-sockets", required_argument, NULL, OPT_MAX_SOCKETS },
	{ "max-peers", required_argument, NULL, OPT_MAX_PEERS },
	{ "max-procs", required_argument, NULL, OPT_MAX_PROCS },
	{ "max-timewait", required_argument, NULL, OPT_MAX_TIMEWAIT },
	{ "prog-stats", no_argument, NULL, OPT_PROG_STATS },
	{ "cgroup", required_argument, NULL, OPT_CGROUP },
	{ "sort", required_argument, NULL, 's' },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "textfile", required_argument, NULL, OPT_TEXTFILE },
	{ "keep-caps", no_argument, NULL, OPT_KEEP_CAPS },
	{ "user", required_argument, NULL, OPT_USER },
	{ "output", required_argument, NULL, 'o' },
	{ "from", required_argument, NULL, OPT_FROM },
	{ "light", no_argument, NULL, OPT_LIGHT },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Every command by name: the one list the parser, --help's check
 * (test_options.sh) and main()'s dispatch (by enum) go by. */
static const struct tc_command commands[] = {
	{ "report", TC_CMD_REPORT },
	{ "trace", TC_CMD_TRACE },
	{ "doctor", TC_CMD_DOCTOR },
	{ "top", TC_CMD_TOP },
	{ "export", TC_CMD_EXPORT },
	{ "record", TC_CMD_RECORD },
	{ "help", TC_CMD_HELP },
	{ "version", TC_CMD_VERSION },
};

const struct tc_command *tc_command_find(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(name, commands[i].name))
			return &commands[i];
	return NULL;
}

const char *tc_command_name(enum tc_cmd cmd)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (commands[i].cmd == cmd)
			return commands[i].name;
	return "?";
}

#define CMD(c) (1u << TC_CMD_##c)

/* Options that only some commands take: given to another, the message. */
static const struct {
	int opt;
	unsigned cmds;
	const char *msg;
} only_for[] = {
	{ OPT_LISTEN, CMD(EXPORT), "--listen and --textfile are for export" },
	{ OPT_TEXTFILE, CMD(EXPORT), "--listen and --textfile are for export" },
	{ 'o', CMD(RECORD), "-o is for record" },
	{ OPT_FROM, CMD(REPORT) | CMD(DOCTOR), "--from is for report and doctor" },
	{ 'i', CMD(REPORT) | CMD(TOP) | CMD(EXPORT), "--interval is for report, not %s" },
	{ 's', CMD(TOP), "--sort is for top" },
};

/* What one command needs or implies, once every option is read. */
static int check_rules(struct tc_opts *o, const unsigned char *seen, char *err, size_t errlen)
{
	for (size_t i = 0; i < sizeof(only_for) / sizeof(only_for[0]); i++)
		if (seen[only_for[i].opt] && !(only_for[i].cmds & (1u << o->cmd)))
			return fail(err, errlen, only_for[i].msg, tc_command_name(o->cmd));
	switch (o->cmd) {
	case TC_CMD_TOP:
		if (o->interval_s == 0)
			o->interval_s = 2;
		break;
	case TC_CMD_EXPORT:
		if (!o->listen && !o->textfile)
			return fail(err, errlen, "export needs --listen ADDR:PORT and/or --textfile PATH");
		if (o->interval_s == 0)
			o->interval_s = 15;
		break;
	case TC_CMD_RECORD:
		if (!o->output)
			return fail(err, errlen, "record needs -o FILE");
		break;
	default:
		break;
	}
	if (o->from && (o->pid || o->comm[0] || o->cgroup_path || o->netns_path ||
			o->interval_s > 0 || o->duration_s > 0 || o->prog_stats || o->light))
		return fail(err, errlen, "--from replays a recording as it was: no filters, -d, -i, --light or --prog-stats");
	return 0;
}

/* The table sizes: each bounded, each a field of struct tc_opts. */
static const struct {
	int opt;
	const char *name;
	unsigned long lo, hi;
	size_t field;
} limits[] = {
	{ OPT_MAX_SOCKETS, "--max-sockets", 1024, 1u << 26, offsetof(struct tc_opts, max_sockets) },
	{ OPT_MAX_PEERS, "--max-peers", 64, 1u << 24, offsetof(struct tc_opts, max_peers) },
	{ OPT_MAX_PROCS, "--max-procs", 64, 1u << 22, offsetof(struct tc_opts, max_procs) },
	{ OPT_MAX_TIMEWAIT, "--max-timewait", 64, 1u << 24, offsetof(struct tc_opts, max_timewait) },
};

/* The options that name a file or directory: any non-empty path. */
static const struct {
	int opt;
	const char *name;
	size_t field;
} paths[] = {
	{ OPT_NETNS, "--netns", offsetof(struct tc_opts, netns_path) },
	{ OPT_CGROUP, "--cgroup", offsetof(struct tc_opts, cgroup_path) },
	{ 'o', "-o", offsetof(struct tc_opts, output) },
	{ OPT_FROM, "--from", offsetof(struct tc_opts, from) },
};

/* One option and its value into o: 0, or -1 with the message in err. */
static int set_option(struct tc_opts *o, int c, const char *arg, char *err, size_t errlen)
{
	unsigned long u;

	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		if (limits[i].opt != c)
			continue;
		if (parse_uint(arg, limits[i].lo, limits[i].hi, &u))
			return fail(err, errlen, "invalid %s '%s': %lu..%lu", limits[i].name, arg,
				    limits[i].lo, limits[i].hi);
		*(__u32 *)((char *)o + limits[i].field) = (__u32)u;
		return 0;
	}
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		if (paths[i].opt != c)
			continue;
		if (!*arg)
			return fail(err, errlen, "empty %s path", paths[i].name);
		*(const char **)((char *)o + paths[i].field) = arg;
		return 0;
	}
	switch (c) {
	case 'd':
		if (parse_seconds(arg, &o->duration_s))
			return fail(err, errlen, "invalid duration '%s': want seconds > 0", arg);
		break;
	case 'i':
		if (parse_seconds(arg, &o->interval_s))
			return fail(err, errlen, "invalid interval '%s': want seconds > 0", arg);
		break;
	case 'j':
		o->json = true;
		break;
	case 'p':
		if (parse_uint(arg, 1, PID_MAX_LIMIT, &u))
			return fail(err, errlen, "invalid pid '%s'", arg);
		o->pid = (__u32)u;
		break;
	case 'c':
		if (!*arg || strlen(arg) >= TC_COMM_LEN)
			return fail(err, errlen, "invalid comm '%s': 1 to %d bytes",
				    arg, TC_COMM_LEN - 1);
		strcpy(o->comm, arg);
		break;
	case 'n':
		if (parse_uint(arg, 1, 1000000, &u))
			return fail(err, errlen, "invalid row count '%s'", arg);
		o->top = (unsigned)u;
		break;
	case OPT_ATTACH:
		o->attach = tc_attach_parse(arg);
		if (o->attach < 0)
			return fail(err, errlen, "invalid attach mode '%s': auto|fentry|kprobe|tracepoint",
				    arg);
		break;
	case 's':
		o->sort = tc_sort_parse(arg);
		if (o->sort < 0)
			return fail(err, errlen, "invalid sort column '%s' (see tcpclose help)", arg);
		break;
	case OPT_LISTEN:
		if (tc_parse_listen(arg, NULL, 0, NULL))
			return fail(err, errlen, "invalid --listen '%s': want [ADDR]:PORT", arg);
		o->listen = arg;
		break;
	case OPT_TEXTFILE: {
		size_t n = strlen(arg);

		if (n < 6 || strcmp(arg + n - 5, ".prom"))
			return fail(err, errlen, "invalid --textfile '%s': node_exporter reads only *.prom",
				    arg);
		o->textfile = arg;
		break;
	}
	case OPT_KEEP_CAPS:
		o->keep_caps = true;
		break;
	case OPT_USER:
		if (!*arg || strlen(arg) > 64)
			return fail(err, errlen, "invalid --user '%s': a user name or uid", arg);
		o->user = arg;
		break;
	case OPT_PROG_STATS:
		o->prog_stats = true;
		break;
	case OPT_LIGHT:
		o->light = true;
		break;
	case 'v':
		o->verbose = true;
		break;
	default:	/* in long_opts or the short list, but not handled here */
		return fail(err, errlen, "unknown option (try 'tcpclose help')");
	}
	return 0;
}

int tc_parse_args(int argc, char **argv, struct tc_opts *o, char *err, size_t errlen)
{
	unsigned char seen[OPT_MAX] = { 0 };
	int c, first = 1;

	memset(o, 0, sizeof(*o));
	o->cmd = TC_CMD_REPORT;
	o->top = 20;
	o->max_sockets = 131072;
	o->max_peers = 16384;
	o->max_procs = 4096;
	o->max_timewait = 262144;
	o->attach = TC_ATTACH_AUTO;

	if (argc > 1 && argv[1][0] != '-') {
		const struct tc_command *cmd = tc_command_find(argv[1]);

		if (!cmd)
			return fail(err, errlen, "unknown command '%s' (try 'tcpclose help')", argv[1]);
		o->cmd = cmd->cmd;
		first = 2;
	} else {
		o->cmd = TC_CMD_TOP;	/* the default view: live */
	}

	optind = 0;	/* full re-initialisation, so tests may parse repeatedly */
	opterr = 0;
	while ((c = getopt_long(argc - first + 1, argv + first - 1, ":d:i:jp:c:n:s:o:vh",
				long_opts, NULL)) != -1) {
		if (c == 'h') {
			o->cmd = TC_CMD_HELP;
			return 0;
		}
		if (c == ':')
			return fail(err, errlen, "option '%s' needs a value", argv[first - 1 + optind - 1]);
		if (c == '?' || c <= 0 || c >= OPT_MAX)
			return fail(err, errlen, "unknown option '%s' (try 'tcpclose help')",
				    argv[first - 1 + optind - 1]);
		seen[c] = 1;
		if (set_option(o, c, optarg, err, errlen))
			return -1;
	}
	if (optind < argc - first + 1)
		return fail(err, errlen, "unexpected argument '%s'", argv[first - 1 + optind]);
	return check_rules(o, seen, err, errlen);
}
