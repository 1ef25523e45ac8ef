/*
 * train.c — the training loop of fmnist-train (see train.h).
 *
 * Determinism: every random draw of epoch e comes from streams seeded by
 * (seed, e), and OpenBLAS with a fixed thread count is deterministic, so
 * a run is a pure function of its options and thread count.  A checkpoint
 * is taken after each whole epoch with the parameters, the optimizer
 * state and step count, and the history; resuming from it therefore
 * continues exactly where an uninterrupted run would be.
 */
#include "train.h"

#include <cblas.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "checkpoint.h"

#define EVAL_BATCH 256
#define STREAM_SHUFFLE 2
#define STREAM_DROPOUT 3

/* Everything that decides the trajectory of a run, except the epoch
 * count (a finished run may be extended) and the thread count. */
static uint64_t config_hash(const struct fm_train_opts *o,
			    const struct fm_model_config *m)
{
	char buf[512];
	int len;

	len = snprintf(buf, sizeof(buf),
		       "v1 data=%d train=%d test=%d model=%d in=%dx%dx%d "
		       "k=%d hidden=%d layers=%d c=%d,%d ks=%d drop=%a "
		       "opt=%d lr=%a wd=%a mom=%a batch=%d init=%d pre=%s "
		       "seed=%llu sched=%d",
		       (int)o->dataset, o->train_limit, o->test_limit,
		       (int)m->kind, m->in_c, m->in_h, m->in_w, m->classes,
		       m->hidden, m->layers, m->c1, m->c2, m->ksize,
		       (double)m->dropout, (int)o->optim, o->lr,
		       o->weight_decay, o->momentum,
		       /* the global batch decides the trajectory, however
			* many ranks share it */
		       o->batch * fm_ddp_world(o->ddp), (int)o->init,
		       o->pretrained ? o->pretrained : "-",
		       (unsigned long long)o->seed,
		       /* a cosine schedule spans the planned epochs */
		       o->cosine ? o->epochs : 0);
	return fm_fnv1a(FM_FNV_INIT, buf, (size_t)len);
}

static int best_index(const struct fm_epoch_rec *h, int n)
{
	int best = 0;

	for (int i = 1; i < n; i++)
		if (h[i].test_acc > h[best].test_acc)
			best = i;
	return best;
}

static int write_metrics(const char *path, const struct fm_train_opts *o,
			 const struct fm_epoch_rec *hist, int n,
			 struct fm_error *err)
{
	json_t *root = json_object(), *epochs = json_array(), *fin;
	char *text = NULL;
	int rc = FM_ENOMEM;

	if (!root || !epochs)
		goto out;
	json_object_set_new(root, "version", json_integer(1));
	json_object_set_new(root, "dataset",
			    json_string(o->dataset == FM_DATA_CIFAR10 ?
					"cifar10" : "fmnist"));
	json_object_set_new(root, "model",
			    json_string(fm_model_kind_name(o->model.kind)));
	json_object_set_new(root, "optimizer",
			    json_string(fm_optim_name(o->optim)));
	json_object_set_new(root, "lr", json_real(o->lr));
	json_object_set_new(root, "batch_size", json_integer(o->batch));
	json_object_set_new(root, "weight_decay", json_real(o->weight_decay));
	json_object_set_new(root, "seed", json_integer((json_int_t)o->seed));
	json_object_set_new(root, "threads", json_integer(o->threads));
	json_object_set_new(root, "world_size",
			    json_integer(fm_ddp_world(o->ddp)));
	for (int i = 0; i < n; i++) {
		json_t *e = json_pack("{s:i, s:f, s:f, s:f, s:f, s:f}",
				      "epoch", hist[i].epoch,
				      "train_loss", hist[i].train_loss,
				      "train_acc", hist[i].train_acc,
				      "test_loss", hist[i].test_loss,
				      "test_acc", hist[i].test_acc,
				      "seconds", hist[i].seconds);

		if (!e || json_array_append_new(epochs, e))
			goto out;
	}
	json_object_set(root, "epochs", epochs);
	if (n > 0) {
		int b = best_index(hist, n);

		fin = json_pack("{s:i, s:f, s:f, s:f, s:i}",
				"epoch", hist[n - 1].epoch,
				"test_acc", hist[n - 1].test_acc,
				"test_loss", hist[n - 1].test_loss,
				"best_test_acc", hist[b].test_acc,
				"best_epoch", hist[b].epoch);
		if (!fin)
			goto out;
		json_object_set_new(root, "final", fin);
	}
	text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (!text)
		goto out;
	rc = fm_write_atomic(path, text, strlen(text), err);
out:
	if (rc == FM_ENOMEM)
		fm_error_set(err, rc, "out of memory writing %s", path);
	free(text);
	json_decref(epochs);
	json_decref(root);
	return rc;
}

static void print_final(FILE *out, const struct fm_epoch_rec *hist, int n)
{
	double total = 0.0;
	int b;

	if (n == 0)
		return;
	b = best_index(hist, n);
	for (int i = 0; i < n; i++)
		total += hist[i].seconds;
	fprintf(out, "final test_acc=%.4f test_loss=%.6f best_test_acc=%.4f "
		"best_epoch=%d epochs=%d total_seconds=%.3f\n",
		hist[n - 1].test_acc, hist[n - 1].test_loss, hist[b].test_acc,
		hist[b].epoch, hist[n - 1].epoch, total);
	fflush(out);
}

struct run {
	const struct fm_train_opts *o;
	int rank, world;	/* 0 and 1 without data parallelism */
	struct fm_dataset train, test;
	struct fm_model *model;
	struct fm_optim opt;
	struct fm_epoch_rec *hist;
	int nhist;
	uint64_t hash;
	float *xb;		/* one gathered batch */
	uint8_t *yb;
	uint32_t *perm;
	char ckpt_path[4096], metrics_path[4096];
};

static void run_free(struct run *r)
{
	fm_dataset_free(&r->train);
	fm_dataset_free(&r->test);
	fm_model_free(r->model);
	fm_optim_free(&r->opt);
	free(r->hist);
	fm_free(r->xb);
	free(r->yb);
	free(r->perm);
}

/* Restore from out_dir/model.bin if present; 1 if restored, 0 if there
 * is none, negative on error. */
static int try_resume(struct run *r, FILE *info, struct fm_error *err)
{
	struct fm_ckpt ck;
	int rc;

	if (!r->o->out_dir)
		return 0;
	rc = fm_ckpt_read(r->ckpt_path, &ck, err);
	if (rc == FM_ENOENT)
		return 0;
	if (rc)
		return rc;
	rc = fm_ckpt_check_model(&ck, &r->model->cfg, r->ckpt_path, err);
	if (!rc && (ck.config_hash != r->hash ||
		    ck.optim_kind != (uint32_t)r->o->optim ||
		    ck.nparams != r->model->nparams ||
		    ck.nstate != fm_optim_state_len(&r->opt) ||
		    ck.nhist != ck.epoch))
		rc = fm_error_set(err, FM_EMISMATCH,
				  "%s was written by a run with other options "
				  "(data, model, optimizer, lr, batch size, "
				  "init or seed); use another --out or delete "
				  "it", r->ckpt_path);
	if (rc) {
		fm_ckpt_free(&ck);
		return rc;
	}
	memcpy(r->model->params, ck.params, ck.nparams * sizeof(float));
	memcpy(r->opt.state, ck.state, ck.nstate * sizeof(float));
	r->opt.t = ck.step;
	/* a run asked for fewer epochs than the checkpoint has reports the
	 * history up to its own --epochs */
	r->nhist = (int)ck.nhist < r->o->epochs ? (int)ck.nhist : r->o->epochs;
	memcpy(r->hist, ck.hist, (size_t)r->nhist * sizeof(*ck.hist));
	fprintf(info, "fmnist-train: resuming %s after epoch %u\n",
		r->ckpt_path, ck.epoch);
	fm_ckpt_free(&ck);
	return 1;
}

static int load_pretrained(struct run *r, struct fm_error *err)
{
	struct fm_ckpt ck;
	int rc;

	rc = fm_ckpt_read(r->o->pretrained, &ck, err);
	if (rc == FM_ENOENT)
		return fm_error_set(err, rc, "--init pretrained:%s: no such file",
				    r->o->pretrained);
	if (rc)
		return rc;
	rc = fm_ckpt_check_model(&ck, &r->model->cfg, r->o->pretrained, err);
	if (!rc && ck.nparams != r->model->nparams)
		rc = fm_error_set(err, FM_EMISMATCH,
				  "%s: parameter count differs",
				  r->o->pretrained);
	if (!rc)
		memcpy(r->model->params, ck.params,
		       ck.nparams * sizeof(float));
	fm_ckpt_free(&ck);
	return rc;
}

static int save(struct run *r, struct fm_error *err)
{
	struct fm_ckpt ck;
	int rc;

	if (!r->o->out_dir)
		return FM_OK;
	memset(&ck, 0, sizeof(ck));
	ck.model = r->model->cfg;
	ck.optim_kind = (uint32_t)r->o->optim;
	ck.epoch = (uint32_t)r->nhist;
	ck.step = r->opt.t;
	ck.config_hash = r->hash;
	ck.nparams = r->model->nparams;
	ck.nstate = fm_optim_state_len(&r->opt);
	ck.nhist = (uint32_t)r->nhist;
	ck.params = r->model->params;
	ck.state = r->opt.state;
	ck.hist = r->hist;
	rc = fm_ckpt_write(r->ckpt_path, &ck, err);
	if (rc)
		return rc;
	return write_metrics(r->metrics_path, r->o, r->hist, r->nhist, err);
}

/*
 * One epoch.  Every rank draws the same permutation and walks the same
 * global batches of world·batch images; rank k takes images
 * [k·batch, (k+1)·batch) of each (fewer, or none, in a last partial
 * batch).  Its gradient is the mean over its images, so scaled by
 * nb/global_nb the sum over ranks is the mean over the global batch: the
 * gradient one process would compute.  The batch's loss and correct
 * count ride along in the same all-reduce (m->grads has room for them).
 */
static int train_epoch(struct run *r, int epoch, double *loss, double *acc,
		       struct fm_error *err)
{
	const struct fm_train_opts *o = r->o;
	const int n = r->train.n, bs = o->batch, gbs = bs * r->world;
	const size_t img = (size_t)r->train.h * r->train.w * r->train.c;
	const size_t np = r->model->nparams;
	const size_t draws = fm_model_dropout_draws(r->model);
	const uint64_t total = (uint64_t)o->epochs *
			       (uint64_t)((n + gbs - 1) / gbs);
	float *g = r->model->grads;
	struct fm_rng shuf, drop;
	double sum = 0.0;
	long right = 0;
	int rc;

	fm_rng_seed(&shuf, o->seed, ((uint64_t)epoch << 8) | STREAM_SHUFFLE);
	fm_rng_seed(&drop, o->seed, ((uint64_t)epoch << 8) | STREAM_DROPOUT);
	for (int i = 0; i < n; i++)
		r->perm[i] = (uint32_t)i;
	for (int i = n - 1; i > 0; i--) {
		uint32_t j = fm_rng_below(&shuf, (uint32_t)i + 1), t;

		t = r->perm[i];
		r->perm[i] = r->perm[j];
		r->perm[j] = t;
	}
	for (int start = 0; start < n; start += gbs) {
		const int gnb = n - start < gbs ? n - start : gbs;
		const int lo = r->rank * bs < gnb ? r->rank * bs : gnb;
		const int nb = gnb - lo < bs ? gnb - lo : bs;
		struct fm_rng batch_drop = drop;
		double lsum = 0.0;
		int correct = 0;

		if (nb > 0) {
			for (int i = 0; i < nb; i++) {
				uint32_t k = r->perm[start + lo + i];

				memcpy(r->xb + i * img, r->train.x + k * img,
				       img * sizeof(float));
				r->yb[i] = r->train.y[k];
			}
			r->model->shard_before = lo;
			r->model->shard_after = gnb - lo - nb;
			lsum = fm_model_forward(r->model, nb, r->xb, r->yb,
						true, &drop, &correct) * nb;
			fm_model_backward(r->model, nb, r->xb);
		} else {
			memset(g, 0, np * sizeof(float));
		}
		/* the next batch's masks start after this whole batch's */
		drop = batch_drop;
		fm_rng_skip(&drop, (uint64_t)gnb * draws);
		if (r->world > 1) {
			if (nb > 0 && nb != gnb)
				cblas_sscal((int)np, (float)nb / (float)gnb,
					    g, 1);
			g[np] = (float)lsum;
			g[np + 1] = (float)correct;
			rc = fm_ddp_allreduce_f32(o->ddp, g,
						  np + FM_MODEL_GRAD_SPARE, err);
			if (rc)
				return rc;
			lsum = g[np];
			correct = (int)lrintf(g[np + 1]);
		}
		if (!isfinite(lsum))
			return fm_error_set(err, FM_ENAN,
					    "loss is NaN at epoch %d", epoch);
		if (o->cosine)
			r->opt.cfg.lr = (float)(o->lr * 0.5 *
				(1.0 + cos(3.141592653589793 *
					   (double)r->opt.t / (double)total)));
		fm_optim_step(&r->opt, r->model->tensors, r->model->ntensors,
			      r->model->params, g);
		sum += lsum;
		right += correct;
	}
	*loss = sum / n;
	*acc = (double)right / n;
	return FM_OK;
}

/* The test set, each rank a contiguous share, the sums all-reduced. */
static int evaluate(struct run *r, double *loss, double *acc,
		    struct fm_error *err)
{
	const int n = r->test.n;
	const size_t img = (size_t)r->test.h * r->test.w * r->test.c;
	const int eb = r->model->max_batch;
	const int lo = (int)((long long)n * r->rank / r->world);
	const int hi = (int)((long long)n * (r->rank + 1) / r->world);
	double s[2] = {0.0, 0.0};	/* loss sum, correct */
	int rc;

	for (int start = lo; start < hi; start += eb) {
		int nb = hi - start < eb ? hi - start : eb, correct;
		double l = fm_model_forward(r->model, nb,
					    r->test.x + (size_t)start * img,
					    r->test.y + start, false, NULL,
					    &correct);

		s[0] += l * nb;
		s[1] += correct;
	}
	rc = fm_ddp_allreduce_f64(r->o->ddp, s, 2, err);
	if (rc)
		return rc;
	*loss = s[0] / n;
	*acc = s[1] / n;
	return FM_OK;
}

/* Checksum of everything every rank must hold alike. */
static uint64_t state_sum(const struct run *r)
{
	uint64_t h = fm_fnv1a(FM_FNV_INIT, r->model->params,
			      r->model->nparams * sizeof(float));

	h = fm_fnv1a(h, r->opt.state,
		     fm_optim_state_len(&r->opt) * sizeof(float));
	return fm_fnv1a(h, &r->opt.t, sizeof(r->opt.t));
}

/*
 * Data parallel start: the ranks must run the same job (options, data
 * sizes), then take rank 0's starting point — its checkpoint, its
 * pretrained weights, or its fresh init — so a checkpoint or a
 * pretrained file need exist only where rank 0 runs.  start_rc is rank
 * 0's result of reading them; a failure there is every rank's failure.
 */
static int share_start(struct run *r, int start_rc, struct fm_error *err)
{
	const struct fm_train_opts *o = r->o;
	struct {
		int64_t code, nhist;
		uint64_t step;
		char msg[sizeof(err->msg)];
	} h;
	uint64_t agree;
	int rc;

	agree = fm_fnv1a(r->hash, &o->epochs, sizeof(o->epochs));
	agree = fm_fnv1a(agree, &o->ddp_check, sizeof(o->ddp_check));
	agree = fm_fnv1a(agree, &r->train.n, sizeof(r->train.n));
	agree = fm_fnv1a(agree, &r->test.n, sizeof(r->test.n));
	rc = fm_ddp_check_same(o->ddp, agree, "the options or the data (all "
			       "ranks need the same options and data)", err);
	if (rc)
		return rc;
	memset(&h, 0, sizeof(h));
	h.code = start_rc < 0 ? start_rc : 0;
	h.nhist = r->nhist;
	h.step = r->opt.t;
	if (start_rc < 0)
		snprintf(h.msg, sizeof(h.msg), "%s", err->msg);
	rc = fm_ddp_broadcast(o->ddp, &h, sizeof(h), err);
	if (rc)
		return rc;
	if (h.code)
		return r->rank == 0 ? (int)h.code :
			fm_error_set(err, (int)h.code, "rank 0: %s", h.msg);
	r->nhist = (int)h.nhist;
	r->opt.t = h.step;
	rc = fm_ddp_broadcast(o->ddp, r->model->params,
			      r->model->nparams * sizeof(float), err);
	if (!rc)
		rc = fm_ddp_broadcast(o->ddp, r->opt.state,
				      fm_optim_state_len(&r->opt) *
				      sizeof(float), err);
	if (!rc)
		rc = fm_ddp_broadcast(o->ddp, r->hist, (size_t)r->nhist *
				      sizeof(*r->hist), err);
	return rc;
}

int fm_train_eval_only(const struct fm_train_opts *o, FILE *out, FILE *info,
		       struct fm_error *err)
{
	struct run r;
	struct fm_ckpt ck;
	struct fm_model_config mc;
	struct stat st;
	char path[4096];
	double loss = 0.0, acc = 0.0;
	int rc, have_ck = 0;

	memset(&r, 0, sizeof(r));
	r.o = o;
	r.rank = fm_ddp_rank(o->ddp);
	r.world = fm_ddp_world(o->ddp);
	openblas_set_num_threads(o->threads);

	/* a trial's --out directory stands for the model.bin in it */
	if (stat(o->load, &st) == 0 && S_ISDIR(st.st_mode))
		snprintf(path, sizeof(path), "%s/model.bin", o->load);
	else
		snprintf(path, sizeof(path), "%s", o->load);
	rc = fm_ckpt_read(path, &ck, err);
	if (rc == FM_ENOENT)
		rc = fm_error_set(err, rc, "--load %s: no such file", path);
	if (rc)
		return rc;
	have_ck = 1;
	rc = fm_data_load(o->dataset, o->data_dir, o->train_limit,
			  o->test_limit, &r.train, &r.test, err);
	if (rc)
		goto out;
	mc = ck.model;
	mc.dropout = 0.0f;	/* not stored; evaluation applies none */
	if (mc.in_c != r.test.c || mc.in_h != r.test.h ||
	    mc.in_w != r.test.w || mc.classes != r.test.classes) {
		rc = fm_error_set(err, FM_EMISMATCH,
				  "%s: a model of %dx%dx%d images and %d "
				  "classes, but the %s data has %dx%dx%d and "
				  "%d", path, mc.in_c, mc.in_h, mc.in_w,
				  mc.classes, o->dataset == FM_DATA_CIFAR10 ?
				  "cifar10" : "fmnist", r.test.c, r.test.h,
				  r.test.w, r.test.classes);
		goto out;
	}
	rc = fm_model_new(&mc, EVAL_BATCH, &r.model, err);
	if (rc)
		goto out;
	if (ck.nparams != r.model->nparams) {
		rc = fm_error_set(err, FM_ECORRUPT, "%s: %zu parameters, but "
				  "its model has %zu", path, ck.nparams,
				  r.model->nparams);
		goto out;
	}
	memcpy(r.model->params, ck.params, ck.nparams * sizeof(float));
	if (r.rank == 0)
		fprintf(info, "fmnist-train: evaluating %s (%s after epoch "
			"%u) on %d test images\n", path,
			fm_model_kind_name(mc.kind), ck.epoch, r.test.n);
	rc = evaluate(&r, &loss, &acc, err);
	if (rc)
		goto out;
	if (!isfinite(loss)) {
		rc = fm_error_set(err, FM_ENAN, "test loss of %s is NaN",
				  path);
		goto out;
	}
	if (r.rank == 0) {
		fprintf(out, "final test_acc=%.4f test_loss=%.6f "
			"test_images=%d model_epochs=%u\n", acc, loss,
			r.test.n, ck.epoch);
		fflush(out);
	}
	rc = FM_OK;
out:
	if (have_ck)
		fm_ckpt_free(&ck);
	run_free(&r);
	return rc;
}

int fm_train_run(const struct fm_train_opts *o, FILE *out, FILE *info,
		 struct fm_error *err)
{
	struct run r;
	struct fm_model_config mc = o->model;
	struct fm_optim_config oc;
	int rc, start, maxb;
	size_t img;

	if (o->eval_only)
		return fm_train_eval_only(o, out, info, err);
	memset(&r, 0, sizeof(r));
	r.o = o;
	r.rank = fm_ddp_rank(o->ddp);
	r.world = fm_ddp_world(o->ddp);
	openblas_set_num_threads(o->threads);

	rc = fm_data_load(o->dataset, o->data_dir, o->train_limit,
			  o->test_limit, &r.train, &r.test, err);
	if (rc)
		goto out;
	mc.in_c = r.train.c;
	mc.in_h = r.train.h;
	mc.in_w = r.train.w;
	mc.classes = r.train.classes;
	if (mc.kind == FM_MODEL_MLP) {
		mc.c1 = mc.c2 = mc.ksize = 0;
	} else {
		mc.hidden = mc.layers = 0;
	}
	maxb = o->batch > EVAL_BATCH ? o->batch : EVAL_BATCH;
	rc = fm_model_new(&mc, maxb, &r.model, err);
	if (rc)
		goto out;
	fm_optim_defaults(&oc, o->optim, (float)o->lr, (float)o->weight_decay);
	oc.momentum = (float)o->momentum;
	rc = fm_optim_init(&r.opt, &oc, r.model->nparams, err);
	if (rc)
		goto out;
	img = (size_t)r.train.h * r.train.w * r.train.c;
	r.xb = fm_falloc((size_t)o->batch * img);
	r.yb = malloc((size_t)o->batch);
	r.perm = malloc((size_t)r.train.n * sizeof(*r.perm));
	r.hist = calloc((size_t)o->epochs, sizeof(*r.hist));
	if (!r.xb || !r.yb || !r.perm || !r.hist) {
		rc = fm_error_set(err, FM_ENOMEM, "out of memory");
		goto out;
	}
	r.hash = config_hash(o, &mc);
	if (o->out_dir && r.rank == 0) {
		rc = fm_mkdirs(o->out_dir, err);
		if (rc)
			goto out;
		snprintf(r.ckpt_path, sizeof(r.ckpt_path), "%s/model.bin",
			 o->out_dir);
		snprintf(r.metrics_path, sizeof(r.metrics_path),
			 "%s/metrics.json", o->out_dir);
	}

	/* only rank 0 reads the checkpoint and the pretrained weights */
	rc = r.rank == 0 ? try_resume(&r, info, err) : 0;
	if (rc == 0) {
		fm_model_init(r.model, o->init, o->seed);
		if (o->pretrained && r.rank == 0)
			rc = load_pretrained(&r, err);
	}
	if (r.world > 1)
		rc = share_start(&r, rc, err);
	if (rc < 0)
		goto out;
	start = r.nhist + 1;
	if (r.rank == 0)
		fprintf(info, "fmnist-train: %s on %s, %d training and %d "
			"test images, %zu parameters, %d thread(s)\n",
			fm_model_kind_name(mc.kind),
			o->dataset == FM_DATA_CIFAR10 ? "cifar10" : "fmnist",
			r.train.n, r.test.n, r.model->nparams, o->threads);
	if (r.rank == 0 && r.world > 1)
		fprintf(info, "fmnist-train: data parallel, %d ranks x batch "
			"%d = global batch %d\n", r.world, o->batch,
			r.world * o->batch);

	for (int e = start; e <= o->epochs; e++) {
		struct fm_epoch_rec *h = &r.hist[e - 1];
		double t0 = fm_now(), t1;

		rc = train_epoch(&r, e, &h->train_loss, &h->train_acc, err);
		if (rc)
			goto out;
		t1 = fm_now();
		rc = evaluate(&r, &h->test_loss, &h->test_acc, err);
		if (rc)
			goto out;
		if (!isfinite(h->test_loss)) {
			rc = fm_error_set(err, FM_ENAN,
					  "loss is NaN at epoch %d", e);
			goto out;
		}
		h->epoch = e;
		h->seconds = fm_now() - t0;
		r.nhist = e;
		if (o->ddp_check) {
			char what[64];

			snprintf(what, sizeof(what), "the weights after epoch "
				 "%d", e);
			rc = fm_ddp_check_same(o->ddp, state_sum(&r), what,
					       err);
			if (rc)
				goto out;
		}
		if (r.rank != 0)
			continue;	/* rank 0 prints and writes */
		fprintf(out, "epoch=%d train_loss=%.6f train_acc=%.4f "
			"test_loss=%.6f test_acc=%.4f seconds=%.3f "
			"train_seconds=%.3f\n", e, h->train_loss, h->train_acc,
			h->test_loss, h->test_acc, h->seconds, t1 - t0);
		fflush(out);
		rc = save(&r, err);
		if (rc)
			goto out;
	}
	if (r.rank != 0)
		goto done;
	if (start > o->epochs && o->out_dir) {
		/* nothing left to train: keep metrics.json complete anyway */
		rc = write_metrics(r.metrics_path, o, r.hist, r.nhist, err);
		if (rc)
			goto out;
	}
	print_final(out, r.hist, r.nhist);
done:
	rc = FM_OK;
out:
	run_free(&r);
	return rc;
}
