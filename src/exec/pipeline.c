/*
 * pipeline.c — a pipeline's cache (see pipeline.h).
 */
#include "exec/pipeline.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "artifacts/artifacts.h"
#include "k8s/kspec.h"
#include "store/experiment.h"
#include "store/trials.h"
#include "util/clock.h"
#include "util/fsutil.h"
#include "util/hash.h"

/* ---- keys ------------------------------------------------------------------ */

static void put_str(struct tc_sha256 *h, const char *s)
{
	tc_sha256_update(h, s ? s : "", strlen(s ? s : "") + 1);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* path's content into h: a file's bytes, a directory's entries by name
 * (each name, then its content).  0, or -1 with errno. */
static int put_tree(struct tc_sha256 *h, const char *path, int depth)
{
	struct stat sb;

	if (depth > 64) {
		errno = ELOOP;
		return -1;
	}
	if (stat(path, &sb) != 0)
		return -1;
	if (S_ISDIR(sb.st_mode)) {
		DIR *d = opendir(path);
		struct dirent *e;
		char **names = NULL;
		size_t n = 0, cap = 0;
		int rc = 0;

		if (!d)
			return -1;
		while ((e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			if (n == cap) {
				char **nn = realloc(names, (cap = cap ? 2 * cap : 16) *
								   sizeof(*nn));

				if (!nn) {
					rc = -1;
					break;
				}
				names = nn;
			}
			if (!(names[n] = strdup(e->d_name))) {
				rc = -1;
				break;
			}
			n++;
		}
		closedir(d);
		if (!rc)
			qsort(names, n, sizeof(*names), name_cmp);
		put_str(h, "dir");
		for (size_t i = 0; i < n; i++) {
			char sub[PATH_MAX];

			if (!rc) {
				snprintf(sub, sizeof(sub), "%s/%s", path, names[i]);
				put_str(h, names[i]);
				rc = put_tree(h, sub, depth + 1);
			}
			free(names[i]);
		}
		free(names);
		return rc;
	}
	{
		char buf[1 << 16];
		ssize_t r;
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			return -1;
		put_str(h, "file");
		while ((r = read(fd, buf, sizeof(buf))) > 0)
			tc_sha256_update(h, buf, (size_t)r);
		close(fd);
		return r < 0 ? -1 : 0;
	}
}

/* A job the job being keyed needs: its id and its key. */
struct needed {
	char id[16];
	char key[65];
};

static int needed_by_id(const void *a, const void *b)
{
	return strcmp(((const struct needed *)a)->id,
		      ((const struct needed *)b)->id);
}

static int needed_by_key(const void *a, const void *b)
{
	return strcmp(((const struct needed *)a)->key,
		      ((const struct needed *)b)->key);
}

/* text (a command or env, as stored) into h with the directory of every
 * needed job written as its key: what {{needs.S}} and {{trial_dir}} expand
 * to differs between experiments, what those jobs made does not; its own
 * directory (self's) is "@self".  nd is sorted by id. */
static void put_swapped(struct tc_sha256 *h, const char *text, const char *root,
			const char *self, const struct needed *nd, size_t nn)
{
	size_t lr = strlen(root);
	const char *p = text ? text : "", *q;

	while ((q = strstr(p, root))) {
		struct needed k, *hit;

		snprintf(k.id, sizeof(k.id), "%.12s", q + lr);
		if (strlen(k.id) == 12 && self && !strcmp(k.id, self)) {
			/* its own directory ({{trial_dir}}) */
			tc_sha256_update(h, p, (size_t)(q - p));
			tc_sha256_update(h, "@self", 5);
			p = q + lr + 12;
			continue;
		}
		hit = strlen(k.id) == 12
			      ? bsearch(&k, nd, nn, sizeof(*nd), needed_by_id)
			      : NULL;
		if (!hit) {
			tc_sha256_update(h, p, (size_t)(q - p) + lr);
			p = q + lr;
			continue;
		}
		tc_sha256_update(h, p, (size_t)(q - p));
		tc_sha256_update(h, "@", 1);
		tc_sha256_update(h, hit->key, strlen(hit->key));
		p = q + lr + 12;
	}
	put_str(h, p);
}

/* The key of job jb with the jobs it needs (nd, sorted by id): 0 and key,
 * or 1 with *missing naming an input that is not there (malloc'd). */
static int job_key(const struct tc_sched *s, const char *workdir,
		   const struct tc_job *jb, const struct needed *nd, size_t nn,
		   char key[65], char **missing)
{
	static const char hex[] = "0123456789abcdef";
	struct tc_sha256 h;
	unsigned char md[32];
	json_t *in = jb->inputs ? json_loads(jb->inputs, 0, NULL) : NULL;
	const struct tc_kspec *ks = s->spec->k8s;
	struct needed *bykey = nn ? malloc(nn * sizeof(*bykey)) : NULL;
	char *root = tc_trial_dir(s->j, "");
	size_t i;
	json_t *p;

	*missing = NULL;
	tc_sha256_init(&h);
	put_str(&h, "trainctl job key 2");
	put_swapped(&h, jb->command, root ? root : "\n", jb->id, nd, nn);
	put_swapped(&h, jb->env, root ? root : "\n", jb->id, nd, nn);
	free(root);
	put_str(&h, ks && ks->image.text ? ks->image.text : "");
	/* the needed keys as a set */
	if (bykey) {
		memcpy(bykey, nd, nn * sizeof(*bykey));
		qsort(bykey, nn, sizeof(*bykey), needed_by_key);
	}
	for (i = 0; i < nn; i++)
		put_str(&h, bykey ? bykey[i].key : nd[i].key);
	free(bykey);
	put_str(&h, "inputs");
	json_array_foreach(in, i, p) {
		const char *path = json_string_value(p);
		char full[PATH_MAX];

		if (!path)
			continue;
		put_str(&h, path);
		if (s->trial_dir && s->trial_dir[0])
			continue; /* on another machine: by path */
		if (path[0] == '/')
			snprintf(full, sizeof(full), "%s", path);
		else
			snprintf(full, sizeof(full), "%s/%s", workdir, path);
		if (put_tree(&h, full, 0) != 0) {
			*missing = strdup(path);
			break;
		}
	}
	json_decref(in);
	tc_sha256_final(&h, md);
	for (i = 0; i < 32; i++) {
		key[2 * i] = hex[md[i] >> 4];
		key[2 * i + 1] = hex[md[i] & 15];
	}
	key[64] = '\0';
	return *missing ? 1 : 0;
}

/* ---- copying a cached job's outputs ---------------------------------------- */

static int copy_file(const char *from, const char *to)
{
	char buf[1 << 16];
	ssize_t r;
	int in, out, rc = 0;

	unlink(to);
	if (link(from, to) == 0)
		return 0;
	if ((in = open(from, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if ((out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
		close(in);
		return -1;
	}
	while ((r = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)r) != r) {
			rc = -1;
			break;
		}
	if (r < 0 || close(out) != 0)
		rc = -1;
	close(in);
	return rc;
}

static int copy_tree(const char *from, const char *to, int depth)
{
	struct stat sb;
	DIR *d;
	struct dirent *e;
	int rc = 0;

	if (depth > 64 || stat(from, &sb) != 0)
		return -1;
	if (!S_ISDIR(sb.st_mode))
		return copy_file(from, to);
	if (mkdir(to, 0755) != 0 && errno != EEXIST)
		return -1;
	if (!(d = opendir(from)))
		return -1;
	while (!rc && (e = readdir(d))) {
		char a[PATH_MAX], b[PATH_MAX];

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (snprintf(a, sizeof(a), "%s/%s", from, e->d_name) >=
			    (int)sizeof(a) ||
		    snprintf(b, sizeof(b), "%s/%s", to, e->d_name) >=
			    (int)sizeof(b)) {
			errno = ENAMETOOLONG;
			rc = -1;
			break;
		}
		rc = copy_tree(a, b, depth + 1);
	}
	closedir(d);
	return rc;
}

/* The declared outputs of the job src into job id's directory: 0 when
 * copied, 1 when one cannot be (the job then runs), < 0 on an error. */
static int copy_outputs(struct tc_sched *s, const struct tc_stage *st,
			const char *id, const char *src)
{
	char *from = tc_trial_dir(s->j, src), *to = tc_trial_dir(s->j, id);
	int rc = 0;

	if (!from || !to) {
		rc = tc_error_set(s->err, TC_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (tc_mkdir_p(to, 0755) != 0) {
		rc = tc_error_set(s->err, TC_ERR_IO, "cannot create %s: %s", to,
				  strerror(errno));
		goto out;
	}
	for (size_t k = 0; k < st->noutputs; k++) {
		char a[PATH_MAX], b[PATH_MAX], *slash;

		snprintf(a, sizeof(a), "%s/%s", from, st->outputs[k].text);
		snprintf(b, sizeof(b), "%s/%s", to, st->outputs[k].text);
		if ((slash = strrchr(b, '/')) && slash > b + strlen(to)) {
			*slash = '\0';
			tc_mkdir_p(b, 0755);
			*slash = '/';
		}
		if (copy_tree(a, b, 0) != 0) {
			rc = 1; /* gone (gc, rm): the job runs instead */
			break;
		}
	}
out:
	free(from);
	free(to);
	return rc;
}

/* ---- the next job ------------------------------------------------------------ */

struct keylist {
	struct needed *a;
	size_t n, cap;
	int nomem;
};

static void add_key(void *ctx, const char *id, const char *key)
{
	struct keylist *l = ctx;

	if (l->n == l->cap) {
		struct needed *na = realloc(l->a, (l->cap = l->cap ? 2 * l->cap : 8) *
							  sizeof(*na));

		if (!na) {
			l->nomem = 1;
			return;
		}
		l->a = na;
	}
	snprintf(l->a[l->n].id, sizeof(l->a[l->n].id), "%s", id);
	snprintf(l->a[l->n].key, sizeof(l->a[l->n].key), "%s", key);
	l->n++;
}

static void keylist_free(struct keylist *l)
{
	free(l->a);
}

static char *workdir_of(struct tc_sched *s)
{
	struct tc_exp_info e;
	char *w;

	if (tc_experiment_load(s->j, s->name, &e, s->err))
		return NULL;
	w = tc_spec_workdir(s->spec, e.spec_dir);
	tc_exp_info_free(&e);
	return w;
}

/* A job that cannot start: failed for good, with why (it never ran). */
static int fail_unstarted(struct tc_sched *s, const struct tc_trial_row *row,
			  const char *why)
{
	struct tc_sched_end e = {0};
	struct tc_trial_outcome o = {0};
	char reason[512];
	int rc;

	snprintf(reason, sizeof(reason), "%s", why);
	e.id = row->id;
	e.attempt = row->attempt;
	e.params = row->params;
	e.state = TC_ST_FAILED;
	e.reason = reason;
	e.reason_len = sizeof(reason);
	e.no_retry = 1;
	o.ended_at = tc_now();
	rc = tc_sched_finish(s, &e, &o);
	if (!rc)
		tc_sched_ended(s, TC_ST_QUEUED, &e);
	return rc;
}

/* The declared outputs of the jobs a job needs that are not in their
 * directories here (gc'd, another machine's), from the artifact store:
 * 0, or 1 with why. */
static int fetch_needed(struct tc_sched *s, const struct keylist *nk,
			char *why, size_t len)
{
	for (size_t i = 0; i < nk->n; i++) {
		char stage[64], *dir;
		const struct tc_stage *st;
		struct tc_error e;
		int rc;

		if (tc_trials_stage_of(s->tr, nk->a[i].id, stage, sizeof(stage),
				       NULL) != 1 ||
		    !(st = tc_spec_stage(s->spec, stage)) || !st->noutputs)
			continue;
		if (!(dir = tc_trial_dir(s->j, nk->a[i].id)))
			return snprintf(why, len, "out of memory"), 1;
		tc_error_clear(&e);
		rc = tc_artifacts_fetch(s->s3, s->name, nk->a[i].id, dir, st, &e);
		free(dir);
		if (rc) {
			snprintf(why, len, "the outputs of %s job %s: %.400s",
				 stage, nk->a[i].id, e.msg);
			return 1;
		}
	}
	return 0;
}

int tc_pipe_next(struct tc_sched *s, double now, struct tc_trial_row *row)
{
	char *workdir = NULL;
	int rc;

	while ((rc = tc_trials_next_queued(s->tr, now, row, s->err)) == 1) {
		struct tc_job jb;
		struct keylist nk = {0};
		const struct tc_stage *st;
		char key[65], *missing = NULL, *src_exp = NULL, src[16];
		char missing_why[512];
		int forced = row->reason && !strcmp(row->reason, TC_PIPE_RERUN);

		if ((rc = tc_trials_job(s->tr, row->id, &jb, s->err)) <= 0) {
			if (rc == 0)
				rc = 1; /* not a job: run it */
			break;
		}
		st = tc_spec_stage(s->spec, jb.stage);
		if (!workdir && !(workdir = workdir_of(s)))
			rc = s->err->code ? s->err->code : TC_ERR_NOMEM;
		if (rc >= 0 && !(rc = tc_trials_needed_keys(s->tr, row->id, add_key,
							    &nk, s->err)) &&
		    nk.nomem)
			rc = tc_error_set(s->err, TC_ERR_NOMEM, "out of memory");
		if (rc < 0) {
			tc_job_free(&jb);
			keylist_free(&nk);
			break;
		}
		if (job_key(s, workdir, &jb, nk.a, nk.n, key, &missing)) {
			char reason[512];

			/* it cannot run: what it reads is not there */
			snprintf(reason, sizeof(reason), "input '%s' is missing",
				 missing);
			rc = fail_unstarted(s, row, reason);
		} else if (!forced && st &&
			   (rc = tc_trials_find_key(s->tr, row->id, key, &src_exp,
						    src, s->err)) == 1) {
			rc = 0; /* (found) */
			if ((s->trial_dir && s->trial_dir[0])
				    ? 0
				    : (rc = copy_outputs(s, st, row->id, src)) == 1) {
				rc = tc_trials_set_key(s->tr, row->id, key, s->err);
				if (!rc)
					rc = 1; /* its source's outputs are gone */
			} else if (!rc &&
				   !(rc = tc_trials_mark_cached(s->tr, row->id, key,
								src_exp, src, s->err))) {
				char why[128];

				snprintf(why, sizeof(why), "%s/%s", src_exp, src);
				tc_sched_count_move(s, TC_ST_QUEUED, TC_ST_SUCCEEDED);
				tc_sched_line(s, row->id, row->params, 0, 0,
					      "cached", 0, why);
			}
		} else if (rc >= 0 && s->s3 &&
			   fetch_needed(s, &nk, missing_why, sizeof(missing_why))) {
			/* what it reads is neither here nor in the store */
			rc = fail_unstarted(s, row, missing_why);
		} else if (rc >= 0) {
			rc = tc_trials_set_key(s->tr, row->id, key, s->err);
			if (!rc)
				rc = 1; /* this one runs */
		}
		free(missing);
		free(src_exp);
		tc_job_free(&jb);
		keylist_free(&nk);
		if (rc != 0)
			break;
		tc_trial_row_free(row);
	}
	free(workdir);
	if (rc < 0)
		tc_trial_row_free(row);
	return rc;
}

/* ---- when a run begins ---------------------------------------------------------- */

struct idmap {
	char id[16];
	size_t i;
};

static int idmap_cmp(const void *a, const void *b)
{
	return strcmp(((const struct idmap *)a)->id, ((const struct idmap *)b)->id);
}

struct graph {
	struct idmap *map;
	size_t n;
	size_t **needs; /* per job: the indexes it needs */
	size_t *nneeds, *capneeds;
	int nomem;
};

static long find_job(const struct graph *g, const char *id)
{
	struct idmap k, *hit;

	snprintf(k.id, sizeof(k.id), "%s", id);
	hit = bsearch(&k, g->map, g->n, sizeof(*g->map), idmap_cmp);
	return hit ? (long)hit->i : -1;
}

static void add_edge(void *ctx, const char *trial, const char *needed)
{
	struct graph *g = ctx;
	long a = find_job(g, trial), b = find_job(g, needed);

	if (a < 0 || b < 0)
		return;
	if (g->nneeds[a] == g->capneeds[a]) {
		size_t nc = g->capneeds[a] ? 2 * g->capneeds[a] : 4;
		size_t *nn = realloc(g->needs[a], nc * sizeof(*nn));

		if (!nn) {
			g->nomem = 1;
			return;
		}
		g->needs[a] = nn;
		g->capneeds[a] = nc;
	}
	g->needs[a][g->nneeds[a]++] = (size_t)b;
}

static int rerun_stages(struct tc_sched *s, long long *moved)
{
	const char *list = s->o->rerun;

	while (list && *list) {
		size_t len = strcspn(list, ",");
		char name[64];
		char (*ids)[16] = NULL;
		size_t n = 0;
		int rc, k;

		snprintf(name, sizeof(name), "%.*s", (int)len, list);
		list += len + (list[len] == ',');
		if (!tc_spec_stage(s->spec, name))
			return tc_error_set(s->err, TC_ERR_USAGE, "--rerun: no "
					    "stage named '%s' in %s", name,
					    s->spec->name);
		if ((rc = tc_trials_stage_ids(s->tr, name, &ids, &n, s->err))) {
			free(ids);
			return rc;
		}
		for (size_t i = 0; i < n; i++) {
			if ((rc = tc_trials_requeue_job(s->tr, ids[i], TC_PIPE_RERUN,
							&k, s->err))) {
				free(ids);
				return rc;
			}
			*moved += k;
		}
		free(ids);
	}
	return 0;
}

int tc_pipe_revalidate(struct tc_sched *s)
{
	struct tc_job *jobs = NULL;
	struct graph g = {0};
	char (*keys)[65] = NULL;
	unsigned char *valid = NULL;
	char *workdir = NULL;
	long long moved = 0;
	size_t n = 0;
	int rc;

	if ((rc = tc_journal_begin(s->j, s->err)))
		return rc;
	if ((rc = rerun_stages(s, &moved)) ||
	    (rc = tc_trials_jobs(s->tr, &jobs, &n, s->err)))
		goto out;
	g.n = n;
	g.map = calloc(n + 1, sizeof(*g.map));
	g.needs = calloc(n + 1, sizeof(*g.needs));
	g.nneeds = calloc(n + 1, sizeof(*g.nneeds));
	g.capneeds = calloc(n + 1, sizeof(*g.capneeds));
	keys = calloc(n + 1, sizeof(*keys));
	valid = calloc(n + 1, 1);
	if (!g.map || !g.needs || !g.nneeds || !g.capneeds || !keys || !valid ||
	    !(workdir = workdir_of(s))) {
		rc = s->err->code ? s->err->code
				  : tc_error_set(s->err, TC_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		memcpy(g.map[i].id, jobs[i].id, sizeof(g.map[i].id));
		g.map[i].i = i;
	}
	qsort(g.map, n, sizeof(*g.map), idmap_cmp);
	if ((rc = tc_trials_edges(s->tr, add_edge, &g, s->err)))
		goto out;
	if (g.nomem) {
		rc = tc_error_set(s->err, TC_ERR_NOMEM, "out of memory");
		goto out;
	}
	/* jobs come by index: what a job needs comes before it */
	for (size_t i = 0; i < n; i++) {
		struct tc_job *jb = &jobs[i];
		struct needed *nd = NULL;
		char *missing = NULL;
		size_t nn = g.nneeds[i];
		int ok = jb->state == TC_ST_SUCCEEDED, k;

		for (size_t q = 0; ok && q < nn; q++)
			ok = valid[g.needs[i][q]];
		if (!ok)
			continue; /* not succeeded, or what it needs runs again
				     (the journal moves it with them) */
		if (nn && !(nd = malloc(nn * sizeof(*nd)))) {
			rc = tc_error_set(s->err, TC_ERR_NOMEM, "out of memory");
			goto out;
		}
		/* the needed jobs in the order of their ids */
		{
			size_t m = 0;

			for (size_t q = 0; q < n && m < nn; q++) {
				size_t idx = g.map[q].i;

				for (size_t r = 0; r < nn; r++)
					if (g.needs[i][r] == idx) {
						memcpy(nd[m].id, jobs[idx].id,
						       sizeof(nd[m].id));
						memcpy(nd[m].key, keys[idx],
						       sizeof(nd[m].key));
						m++;
						break;
					}
			}
		}
		if (job_key(s, workdir, jb, nd, nn, keys[i], &missing) == 0 &&
		    jb->key && !strcmp(jb->key, keys[i])) {
			valid[i] = 1;
		} else {
			rc = tc_trials_requeue_job(s->tr, jb->id,
						   missing ? "an input is missing"
							   : "its inputs or command "
							     "changed",
						   &k, s->err);
			moved += k;
		}
		free(missing);
		free(nd);
		if (rc)
			goto out;
	}
out:
	if (!rc)
		rc = tc_journal_commit(s->j, s->err);
	else
		tc_journal_rollback(s->j);
	if (!rc && moved)
		tc_sched_note(s, 0, "%lld job%s to run again (changed inputs, "
			      "commands, or --rerun)", moved, moved == 1 ? "" : "s");
	for (size_t i = 0; i < n; i++) {
		tc_job_free(&jobs[i]);
		if (g.needs)
			free(g.needs[i]);
	}
	free(jobs);
	free(g.map);
	free(g.needs);
	free(g.nneeds);
	free(g.capneeds);
	free(keys);
	free(valid);
	free(workdir);
	return rc;
}
