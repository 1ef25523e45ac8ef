/*
 * main.c — fmnist-train's command line: parse and check the options,
 * run the training (train.c), and turn errors into a message on stderr
 * and an exit code: 0 done, 1 I/O or memory failure, 2 bad options or
 * bad data (missing, corrupt, mismatched checkpoint), 3 the loss became
 * NaN.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "ddp.h"
#include "train.h"

enum exit_code {
	EXIT_DONE = 0,
	EXIT_FAILED = 1,
	EXIT_USAGE = 2,
	EXIT_NAN = 3,
};

static const char usage[] =
"usage: fmnist-train [options]\n"
"       fmnist-train --eval-only --load MODEL [data options]\n"
"       fmnist-train --make-cifar-sample DIR\n"
"\n"
"Train an image classifier on Fashion-MNIST (or CIFAR-10-format data) on\n"
"the CPU. Prints one name=value line per epoch and a final line; with\n"
"--out DIR keeps DIR/model.bin and DIR/metrics.json current after every\n"
"epoch and resumes from DIR/model.bin when run again.\n"
"\n"
"data\n"
"  --dataset fmnist|cifar10   data format (default fmnist)\n"
"  --data DIR                 data directory (default: $FMNIST_DATA, or\n"
"                             " FM_FMNIST_DEFAULT_DIR " for fmnist,\n"
"                             $FMNIST_CIFAR_DIR for cifar10)\n"
"  --train-limit N            use the first N training images (0: all)\n"
"  --test-limit N             use the first N test images (0: all)\n"
"model\n"
"  --model mlp|cnn            (default mlp)\n"
"  --hidden N                 mlp hidden width (default 256)\n"
"  --layers N                 mlp hidden layers, 1..8 (default 1)\n"
"  --channels C1,C2           cnn channels (default 32,64)\n"
"  --kernel K                 cnn kernel size, odd (default 3)\n"
"  --dropout P                dropout before the last layer, [0,1) (default 0)\n"
"  --init he|xavier|pretrained:FILE   (default he)\n"
"training\n"
"  --optimizer sgd|momentum|adam|lamb (default adam)\n"
"  --lr X                     learning rate (default 0.001)\n"
"  --momentum X               for momentum (default 0.9)\n"
"  --weight-decay X           (default 0)\n"
"  --schedule constant|cosine learning rate schedule; cosine anneals it to 0\n"
"                             over --epochs (default constant)\n"
"  --batch-size N             (default 64)\n"
"  --epochs N                 (default 5)\n"
"  --seed N                   (default 1)\n"
"  --threads N                OpenBLAS threads (default $OPENBLAS_NUM_THREADS,\n"
"                             else $OMP_NUM_THREADS, else 1)\n"
"  --out DIR                  checkpoint and metrics directory\n"
"data parallel (when WORLD_SIZE > 1; RANK, MASTER_ADDR, MASTER_PORT as\n"
"torchrun sets them; each rank takes --batch-size of every global batch)\n"
"  --rendezvous-timeout SEC   give up waiting for a peer after SEC seconds\n"
"                             (default 120)\n"
"  --ddp-check                compare a checksum of every rank's weights\n"
"                             after each epoch (also FMNIST_DDP_CHECK=1)\n"
"evaluation\n"
"  --eval-only                train nothing: evaluate the model of --load on\n"
"                             the test set and print one final line\n"
"                             (test_acc=, test_loss=); the model's shape comes\n"
"                             from the file, the model options are ignored\n"
"  --load MODEL               a model.bin (or a --out DIR holding one); pass\n"
"                             the --dataset, --data and --train-limit it was\n"
"                             trained with: the inputs are normalised by the\n"
"                             training images' statistics\n"
"other\n"
"  --make-cifar-sample DIR    write a small synthetic data set in the\n"
"                             CIFAR-10 binary format (2000 training and\n"
"                             500 test images) to DIR and exit\n"
"  --help, --version\n"
"\n"
"Exit status: 0 done, 1 I/O failure or a lost peer, 2 bad options or data,\n"
"3 loss is NaN.\n";

static int bad(const char *fmt, const char *opt, const char *val)
{
	fprintf(stderr, "fmnist-train: error: ");
	fprintf(stderr, fmt, opt, val);
	fprintf(stderr, "\nTry 'fmnist-train --help'.\n");
	return EXIT_USAGE;
}

static int parse_long(const char *opt, const char *s, long min, long max,
		      long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || *end != '\0' || errno == ERANGE)
		return bad("%s: '%s' is not an integer", opt, s);
	if (v < min || v > max) {
		fprintf(stderr, "fmnist-train: error: %s: %ld is out of range "
			"%ld..%ld\nTry 'fmnist-train --help'.\n", opt, v, min,
			max);
		return EXIT_USAGE;
	}
	*out = v;
	return 0;
}

static int parse_int(const char *opt, const char *s, int min, int max,
		     int *out)
{
	long v;
	int rc = parse_long(opt, s, min, max, &v);

	if (!rc)
		*out = (int)v;
	return rc;
}

/* A finite double in [min, max] (max_open: strictly below max). */
static int parse_double(const char *opt, const char *s, double min,
			double max, int max_open, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end != '\0' || errno == ERANGE || !isfinite(v))
		return bad("%s: '%s' is not a finite number", opt, s);
	if (v < min || v > max || (max_open && v == max)) {
		fprintf(stderr, "fmnist-train: error: %s: %s is out of range "
			"[%g, %g%s\nTry 'fmnist-train --help'.\n", opt, s, min,
			max, max_open ? ")" : "]");
		return EXIT_USAGE;
	}
	*out = v;
	return 0;
}

/* Threads from the environment, as OpenBLAS and OpenMP read them. */
static int env_threads(void)
{
	static const char *vars[] = {"OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"};

	for (size_t i = 0; i < 2; i++) {
		const char *s = getenv(vars[i]);
		char *end;
		long v;

		if (!s || !*s)
			continue;
		errno = 0;
		v = strtol(s, &end, 10);
		if (*end == '\0' && errno == 0 && v >= 1 && v <= 256)
			return (int)v;
	}
	return 1;
}

static int exit_for(int status)
{
	switch (status) {
	case FM_OK:
		return EXIT_DONE;
	case FM_EINVAL:
	case FM_ENOENT:
	case FM_ECORRUPT:
	case FM_EMISMATCH:
		return EXIT_USAGE;
	case FM_ENAN:
		return EXIT_NAN;
	case FM_ENOMEM:
	case FM_EIO:
	case FM_ENET:
		return EXIT_FAILED;
	}
	return EXIT_FAILED;
}

enum {
	OPT_DATASET = 256, OPT_DATA, OPT_TRAIN_LIMIT, OPT_TEST_LIMIT,
	OPT_MODEL, OPT_HIDDEN, OPT_LAYERS, OPT_CHANNELS, OPT_KERNEL,
	OPT_DROPOUT, OPT_INIT, OPT_OPTIMIZER, OPT_LR, OPT_MOMENTUM, OPT_WD,
	OPT_BATCH, OPT_SCHEDULE, OPT_EPOCHS, OPT_SEED, OPT_THREADS, OPT_OUT, OPT_SAMPLE,
	OPT_RDV_TIMEOUT, OPT_DDP_CHECK, OPT_EVAL_ONLY, OPT_LOAD, OPT_HELP,
	OPT_VERSION,
};

static const struct option longopts[] = {
	{"dataset", required_argument, NULL, OPT_DATASET},
	{"data", required_argument, NULL, OPT_DATA},
	{"train-limit", required_argument, NULL, OPT_TRAIN_LIMIT},
	{"test-limit", required_argument, NULL, OPT_TEST_LIMIT},
	{"model", required_argument, NULL, OPT_MODEL},
	{"hidden", required_argument, NULL, OPT_HIDDEN},
	{"layers", required_argument, NULL, OPT_LAYERS},
	{"channels", required_argument, NULL, OPT_CHANNELS},
	{"kernel", required_argument, NULL, OPT_KERNEL},
	{"dropout", required_argument, NULL, OPT_DROPOUT},
	{"init", required_argument, NULL, OPT_INIT},
	{"optimizer", required_argument, NULL, OPT_OPTIMIZER},
	{"lr", required_argument, NULL, OPT_LR},
	{"momentum", required_argument, NULL, OPT_MOMENTUM},
	{"weight-decay", required_argument, NULL, OPT_WD},
	{"batch-size", required_argument, NULL, OPT_BATCH},
	{"schedule", required_argument, NULL, OPT_SCHEDULE},
	{"epochs", required_argument, NULL, OPT_EPOCHS},
	{"seed", required_argument, NULL, OPT_SEED},
	{"threads", required_argument, NULL, OPT_THREADS},
	{"out", required_argument, NULL, OPT_OUT},
	{"make-cifar-sample", required_argument, NULL, OPT_SAMPLE},
	{"rendezvous-timeout", required_argument, NULL, OPT_RDV_TIMEOUT},
	{"ddp-check", no_argument, NULL, OPT_DDP_CHECK},
	{"eval-only", no_argument, NULL, OPT_EVAL_ONLY},
	{"load", required_argument, NULL, OPT_LOAD},
	{"help", no_argument, NULL, OPT_HELP},
	{"version", no_argument, NULL, OPT_VERSION},
	{NULL, 0, NULL, 0},
};

static int parse_channels(const char *s, struct fm_model_config *m)
{
	char *end;
	long a, b;

	errno = 0;
	a = strtol(s, &end, 10);
	if (end == s || *end != ',' || errno)
		return bad("%s: '%s' is not two integers C1,C2", "--channels",
			   s);
	s = end + 1;
	b = strtol(s, &end, 10);
	if (end == s || *end != '\0' || errno)
		return bad("%s: '%s' is not two integers C1,C2", "--channels",
			   s);
	if (a < 1 || a > 1024 || b < 1 || b > 1024)
		return bad("%s: %s: each must be in 1..1024", "--channels", s);
	m->c1 = (int)a;
	m->c2 = (int)b;
	return 0;
}

static int parse_args(int argc, char **argv, struct fm_train_opts *o,
		      const char **sample_dir, double *rdv_timeout)
{
	double d;
	long l;
	int c, rc = 0;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		const char *name = optind > 0 && optind <= argc ?
					   argv[optind - 1] : "?";

		switch (c) {
		case OPT_DATASET:
			if (strcmp(optarg, "fmnist") == 0)
				o->dataset = FM_DATA_FMNIST;
			else if (strcmp(optarg, "cifar10") == 0)
				o->dataset = FM_DATA_CIFAR10;
			else
				rc = bad("%s: '%s' is not fmnist or cifar10",
					 "--dataset", optarg);
			break;
		case OPT_DATA:
			o->data_dir = optarg;
			break;
		case OPT_TRAIN_LIMIT:
			rc = parse_int("--train-limit", optarg, 0, INT_MAX,
				       &o->train_limit);
			break;
		case OPT_TEST_LIMIT:
			rc = parse_int("--test-limit", optarg, 0, INT_MAX,
				       &o->test_limit);
			break;
		case OPT_MODEL:
			if (strcmp(optarg, "mlp") == 0)
				o->model.kind = FM_MODEL_MLP;
			else if (strcmp(optarg, "cnn") == 0)
				o->model.kind = FM_MODEL_CNN;
			else
				rc = bad("%s: '%s' is not mlp or cnn",
					 "--model", optarg);
			break;
		case OPT_HIDDEN:
			rc = parse_int("--hidden", optarg, 1, 65536,
				       &o->model.hidden);
			break;
		case OPT_LAYERS:
			rc = parse_int("--layers", optarg, 1,
				       FM_MAX_HIDDEN_LAYERS, &o->model.layers);
			break;
		case OPT_CHANNELS:
			rc = parse_channels(optarg, &o->model);
			break;
		case OPT_KERNEL:
			rc = parse_int("--kernel", optarg, 1, 9,
				       &o->model.ksize);
			if (!rc && o->model.ksize % 2 == 0)
				rc = bad("%s: '%s' is not odd", "--kernel",
					 optarg);
			break;
		case OPT_DROPOUT:
			rc = parse_double("--dropout", optarg, 0.0, 1.0, 1, &d);
			o->model.dropout = (float)d;
			break;
		case OPT_INIT:
			if (strcmp(optarg, "he") == 0) {
				o->init = FM_INIT_HE;
			} else if (strcmp(optarg, "xavier") == 0) {
				o->init = FM_INIT_XAVIER;
			} else if (strncmp(optarg, "pretrained:", 11) == 0 &&
				   optarg[11]) {
				o->init = FM_INIT_HE;
				o->pretrained = optarg + 11;
			} else {
				rc = bad("%s: '%s' is not he, xavier or "
					 "pretrained:FILE", "--init", optarg);
			}
			break;
		case OPT_OPTIMIZER:
			if (fm_optim_parse(optarg, &o->optim))
				rc = bad("%s: '%s' is not sgd, momentum, adam "
					 "or lamb", "--optimizer", optarg);
			break;
		case OPT_LR:
			rc = parse_double("--lr", optarg, 0.0, 100.0, 0, &o->lr);
			if (!rc && o->lr <= 0.0)
				rc = bad("%s: '%s' must be positive", "--lr",
					 optarg);
			break;
		case OPT_MOMENTUM:
			rc = parse_double("--momentum", optarg, 0.0, 1.0, 1,
					  &o->momentum);
			break;
		case OPT_WD:
			rc = parse_double("--weight-decay", optarg, 0.0, 10.0,
					  0, &o->weight_decay);
			break;
		case OPT_BATCH:
			rc = parse_int("--batch-size", optarg, 1, 65536,
				       &o->batch);
			break;
		case OPT_SCHEDULE:
			if (strcmp(optarg, "constant") == 0)
				o->cosine = 0;
			else if (strcmp(optarg, "cosine") == 0)
				o->cosine = 1;
			else
				rc = bad("%s: '%s' is not constant or cosine",
					 "--schedule", optarg);
			break;
		case OPT_EPOCHS:
			rc = parse_int("--epochs", optarg, 1, 100000,
				       &o->epochs);
			break;
		case OPT_SEED:
			rc = parse_long("--seed", optarg, 0, LONG_MAX, &l);
			o->seed = (uint64_t)l;
			break;
		case OPT_THREADS:
			rc = parse_int("--threads", optarg, 1, 256,
				       &o->threads);
			break;
		case OPT_OUT:
			o->out_dir = optarg;
			break;
		case OPT_SAMPLE:
			*sample_dir = optarg;
			break;
		case OPT_RDV_TIMEOUT:
			rc = parse_double("--rendezvous-timeout", optarg, 0.0,
					  86400.0, 0, rdv_timeout);
			if (!rc && *rdv_timeout <= 0.0)
				rc = bad("%s: '%s' must be positive",
					 "--rendezvous-timeout", optarg);
			break;
		case OPT_DDP_CHECK:
			o->ddp_check = 1;
			break;
		case OPT_EVAL_ONLY:
			o->eval_only = 1;
			break;
		case OPT_LOAD:
			o->load = optarg;
			break;
		case OPT_HELP:
			fputs(usage, stdout);
			return -1;
		case OPT_VERSION:
			puts("fmnist-train 1.0");
			return -1;
		case ':':
			rc = bad("%s%s: needs a value", name, "");
			break;
		default:
			if (optopt)
				rc = bad("%s%s: needs a value", name, "");
			else
				rc = bad("unknown option '%s'%s", name, "");
			break;
		}
		if (rc)
			return rc;
	}
	if (optind < argc)
		return bad("unexpected argument '%s'%s", argv[optind], "");
	if (o->eval_only && !o->load)
		return bad("%s%s: needs --load MODEL", "--eval-only", "");
	if (o->load && !o->eval_only)
		return bad("%s%s: only with --eval-only (to train from saved "
			   "weights use --init pretrained:FILE)", "--load", "");
	if (o->eval_only && o->out_dir)
		return bad("%s%s: not with --eval-only (an evaluation writes "
			   "no files)", "--out", "");
	return 0;
}

int main(int argc, char **argv)
{
	struct fm_train_opts o;
	struct fm_error err = {0, ""};
	const char *sample_dir = NULL, *check;
	struct fm_ddp_config dc;
	double rdv_timeout = FM_DDP_DEFAULT_TIMEOUT;
	char who[32] = "fmnist-train";
	int rc, code;

	memset(&o, 0, sizeof(o));
	o.dataset = FM_DATA_FMNIST;
	o.model.kind = FM_MODEL_MLP;
	o.model.hidden = 256;
	o.model.layers = 1;
	o.model.c1 = 32;
	o.model.c2 = 64;
	o.model.ksize = 3;
	o.optim = FM_OPT_ADAM;
	o.lr = 1e-3;
	o.momentum = 0.9;
	o.batch = 64;
	o.epochs = 5;
	o.init = FM_INIT_HE;
	o.seed = 1;
	o.threads = env_threads();

	rc = parse_args(argc, argv, &o, &sample_dir, &rdv_timeout);
	if (rc < 0)
		return fflush(stdout) == 0 && !ferror(stdout) ? EXIT_DONE :
								EXIT_FAILED;
	if (rc)
		return rc;

	if (sample_dir) {
		rc = fm_data_write_cifar_sample(sample_dir, 2000, 500, o.seed,
						&err);
		if (rc) {
			fprintf(stderr, "fmnist-train: error: %s\n", err.msg);
			return exit_for(rc);
		}
		printf("wrote a CIFAR-10-format sample to %s\n", sample_dir);
		return fflush(stdout) == 0 ? EXIT_DONE : EXIT_FAILED;
	}
	if (!o.data_dir) {
		if (o.dataset == FM_DATA_CIFAR10) {
			o.data_dir = getenv("FMNIST_CIFAR_DIR");
			if (!o.data_dir || !*o.data_dir) {
				fprintf(stderr, "fmnist-train: error: no "
					"CIFAR-10 data: pass --data DIR or set "
					"FMNIST_CIFAR_DIR (make a small sample "
					"with fmnist-train --make-cifar-sample "
					"DIR)\n");
				return EXIT_USAGE;
			}
		} else {
			o.data_dir = getenv("FMNIST_DATA");
			if (!o.data_dir || !*o.data_dir)
				o.data_dir = FM_FMNIST_DEFAULT_DIR;
		}
	}

	check = getenv("FMNIST_DDP_CHECK");
	if (check && strcmp(check, "1") == 0)
		o.ddp_check = 1;
	/* data parallel: rendezvous before loading anything, so a rank that
	 * fails later is seen by the others as a lost peer at once */
	rc = fm_ddp_config_from_env(&dc, &err);
	if (!rc && dc.world > 1) {
		snprintf(who, sizeof(who), "fmnist-train[rank %d]", dc.rank);
		dc.timeout = rdv_timeout;
		rc = fm_ddp_init(&dc, &o.ddp, &err);
	}
	if (!rc)
		rc = fm_train_run(&o, stdout, stderr, &err);
	fm_ddp_close(o.ddp);
	code = exit_for(rc);
	if (rc == FM_ENAN)
		fprintf(stderr, "error: %s\n", err.msg);
	else if (rc)
		fprintf(stderr, "%s: error: %s\n", who, err.msg);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "fmnist-train: error: cannot write the output\n");
		if (code == EXIT_DONE)
			code = EXIT_FAILED;
	}
	return code;
}
