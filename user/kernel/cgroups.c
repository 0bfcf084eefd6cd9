// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <limits.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include "cgroups.h"
#include "utf8.h"

struct cg_entry {
	__u64 id;
	char *path;
};

static struct cg_entry *cg;
static size_t ncg, capcg, nsorted;	/* cg[0..nsorted) is sorted by id */
static bool walked;		/* this round */
/* Ids a walk did not find (cgroups deleted since): a row of one must not
 * make every later collection walk the hierarchy again. Bounded: when
 * full it starts over, costing one more walk. */
#define GONE_MAX 4096
static __u64 gone[GONE_MAX];
static size_t ngone;
static const char *root;
static size_t root_len;

/* The cgroup2 mount: /sys/fs/cgroup, or its "unified" part on hybrid hosts. */
static const char *cgroup2_root(void)
{
	static const char *const cand[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/unified" };
	struct statfs sf;

	for (size_t i = 0; i < sizeof(cand) / sizeof(cand[0]); i++)
		if (!statfs(cand[i], &sf) && sf.f_type == CGROUP2_SUPER_MAGIC)
			return cand[i];
	return NULL;
}

static int cmp_id(const void *a, const void *b)
{
	__u64 x = ((const struct cg_entry *)a)->id, y = ((const struct cg_entry *)b)->id;

	return x < y ? -1 : x > y;
}

static struct cg_entry *find(__u64 id)
{
	struct cg_entry k = { .id = id };

	return nsorted ? bsearch(&k, cg, nsorted, sizeof(*cg), cmp_id) : NULL;
}

/* Appends every cgroup not yet known; walk() sorts once at the end. */
static int visit(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	struct cg_entry *n;

	if (flag != FTW_D || find(st->st_ino))
		return 0;
	if (ncg == capcg) {
		size_t nc = capcg ? capcg * 2 : 256;

		if (!(n = realloc(cg, nc * sizeof(*cg))))
			return 1;
		cg = n;
		capcg = nc;
	}
	n = &cg[ncg];
	n->id = st->st_ino;
	/* a cgroup's name is any bytes but '/': kept as valid UTF-8 (a byte
	 * that is none becomes U+FFFD), as JSON and Prometheus labels need */
	path = path[root_len] ? path + root_len : "/";
	n->path = malloc(3 * strlen(path) + 1);
	if (!n->path)
		return 1;
	tc_utf8_sanitize(n->path, path, strlen(path));
	ncg++;
	return 0;
}

static void walk(void)
{
	if (!root && !(root = cgroup2_root()))
		return;
	root_len = strlen(root);
	/* find() during the walk sees only the sorted part: the ids known
	 * before it, each cgroup directory being visited once */
	nsorted = ncg;
	nftw(root, visit, 32, FTW_PHYS | FTW_MOUNT);
	qsort(cg, ncg, sizeof(*cg), cmp_id);
	nsorted = ncg;
}

void tc_cgroups_round(void)
{
	walked = false;
}

static bool known_gone(__u64 id)
{
	for (size_t i = 0; i < ngone; i++)
		if (gone[i] == id)
			return true;
	return false;
}

const char *tc_cgroup_path(__u64 id)
{
	struct cg_entry *e = find(id);

	if (!e && !walked && !known_gone(id)) {
		walked = true;
		walk();
		e = find(id);
		if (!e) {	/* only a walk just made proves it gone */
			if (ngone == GONE_MAX)
				ngone = 0;
			gone[ngone++] = id;
		}
	}
	return e ? e->path : NULL;
}

/*
 * PATH, relative to the cgroup2 mount (or under it in full), resolved as the
 * kernel would (realpath: "..", ".", symlinks): what it names must be a
 * directory of the cgroup2 hierarchy, at or below the mount. Its inode is
 * the cgroup id, its depth below the mount the level the BPF side compares.
 */
int tc_cgroup_lookup(const char *path, __u64 *id, int *level, char *err, size_t errlen)
{
	const char *r = cgroup2_root();
	char full[PATH_MAX + 2], res[PATH_MAX], rootres[PATH_MAX];
	struct statfs sf;
	struct stat st;
	size_t rl;
	int lv = 0;

	if (!r) {
		snprintf(err, errlen, "--cgroup: no cgroup v2 hierarchy mounted at /sys/fs/cgroup");
		return -1;
	}
	if (!realpath(r, rootres)) {
		snprintf(err, errlen, "--cgroup: %s: %s", r, strerror(errno));
		return -1;
	}
	rl = strlen(r);
	if (!strncmp(path, r, rl) && (path[rl] == '/' || !path[rl]))
		snprintf(full, sizeof(full), "%s", path);
	else
		snprintf(full, sizeof(full), "%s/%s", r, path[0] == '/' ? path + 1 : path);
	if (!realpath(full, res)) {
		snprintf(err, errlen, "--cgroup '%s': not a cgroup (%s)", path, strerror(errno));
		return -1;
	}
	rl = strlen(rootres);
	if (strncmp(res, rootres, rl) || (res[rl] != '/' && res[rl])) {
		snprintf(err, errlen, "--cgroup '%s': outside the cgroup v2 hierarchy (%s is %s)",
			 path, path, res);
		return -1;
	}
	if (stat(res, &st) || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "--cgroup '%s': not a cgroup (not a directory)", path);
		return -1;
	}
	if (statfs(res, &sf) || sf.f_type != CGROUP2_SUPER_MAGIC) {
		snprintf(err, errlen, "--cgroup '%s': not a cgroup v2 directory", path);
		return -1;
	}
	for (const char *c = res + rl; *c; c++)
		if (*c == '/' && c[1])
			lv++;
	*id = st.st_ino;
	*level = lv;
	return 0;
}
