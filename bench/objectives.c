/*
 * objectives.c — the synthetic objectives of bench/search_quality.sh, as a
 * trial program both trainctl and Optuna run:
 *
 *   objectives NAME --key=value ...      prints "value=X"
 *
 *   branin     x1 in [-5, 10], x2 in [0, 15]; minimum 0.397887
 *   hartmann6  x1..x6 in [0, 1]; minimum -3.32237
 *   noisy10    x1..x6 in [0, 1], lr log in [1e-4, 1], layers int 1..8,
 *              opt in {sgd, adam, lamb}, momentum in [0, 1) only when
 *              opt is sgd: a sum of quadratic bowls and a categorical
 *              effect, plus noise (sd 0.05) drawn from the point itself,
 *              so the same point always scores the same; minimum near 0
 *   fmnist     the real trainer ($FMNIST_TRAINER, MLP): every --key=value
 *              is passed on with '_' in the key read as '-' (weight_decay
 *              becomes --weight-decay), after the fixed arguments in
 *              $FMNIST_ARGS (space-separated); the value is the test
 *              error, 1 - the last test_acc it printed
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *arg(int argc, char **argv, const char *name)
{
	size_t n = strlen(name);

	for (int i = 2; i < argc; i++)
		if (!strncmp(argv[i], "--", 2) && !strncmp(argv[i] + 2, name, n) &&
		    argv[i][2 + n] == '=')
			return argv[i] + 3 + n;
	return NULL;
}

static double num(int argc, char **argv, const char *name)
{
	const char *s = arg(argc, argv, name);

	if (!s) {
		fprintf(stderr, "objectives: --%s missing\n", name);
		exit(2);
	}
	return strtod(s, NULL);
}

static double branin(double x1, double x2)
{
	const double a = 1, b = 5.1 / (4 * M_PI * M_PI), c = 5 / M_PI, r = 6,
		     s = 10, t = 1 / (8 * M_PI);
	double q = x2 - b * x1 * x1 + c * x1 - r;

	return a * q * q + s * (1 - t) * cos(x1) + s;
}

static double hartmann6(const double *x)
{
	static const double alpha[4] = {1.0, 1.2, 3.0, 3.2};
	static const double A[4][6] = {{10, 3, 17, 3.5, 1.7, 8},
				       {0.05, 10, 17, 0.1, 8, 14},
				       {3, 3.5, 1.7, 10, 17, 8},
				       {17, 8, 0.05, 10, 0.1, 14}};
	static const double P[4][6] = {
		{0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886},
		{0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991},
		{0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650},
		{0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381}};
	double f = 0;

	for (int i = 0; i < 4; i++) {
		double e = 0;

		for (int j = 0; j < 6; j++)
			e += A[i][j] * (x[j] - P[i][j]) * (x[j] - P[i][j]);
		f -= alpha[i] * exp(-e);
	}
	return f;
}

/* A normal draw keyed by the arguments' text (FNV-1a, then Box-Muller). */
static double noise(int argc, char **argv)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	double u1, u2;

	for (int i = 2; i < argc; i++)
		for (const char *p = argv[i]; *p; p++)
			h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	u1 = ((double)(h >> 11) + 0.5) * 0x1.0p-53;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	u2 = (double)(h >> 11) * 0x1.0p-53;
	return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

static double noisy10(int argc, char **argv)
{
	static const double target[6] = {0.2, 0.8, 0.5, 0.35, 0.65, 0.1};
	const char *opt = arg(argc, argv, "opt");
	double f = 0, lr = num(argc, argv, "lr");
	int layers = (int)num(argc, argv, "layers");
	char name[8];

	for (int j = 0; j < 6; j++) {
		double x;

		snprintf(name, sizeof(name), "x%d", j + 1);
		x = num(argc, argv, name);
		f += (x - target[j]) * (x - target[j]);
	}
	f += 0.05 * (log10(lr) + 2.5) * (log10(lr) + 2.5);
	f += 0.01 * (layers - 3) * (layers - 3);
	if (!opt) {
		fprintf(stderr, "objectives: --opt missing\n");
		exit(2);
	}
	if (!strcmp(opt, "sgd")) {
		/* good only with its momentum near 0.9 */
		double m = num(argc, argv, "momentum");

		f += 0.5 * (m - 0.9) * (m - 0.9);
	} else if (!strcmp(opt, "adam")) {
		f += 0.02;
	} else {
		f += 0.1;
	}
	return f + 0.05 * noise(argc, argv);
}

/* Run the trainer with the trial's arguments (no shell) and read its last
 * test_acc= from its output. */
static double fmnist(int argc, char **argv)
{
	const char *trainer = getenv("FMNIST_TRAINER");
	char *fixed = strdup(getenv("FMNIST_ARGS") ? getenv("FMNIST_ARGS") : "");
	char **av = calloc((size_t)argc + 64, sizeof(*av));
	char line[4096];
	double acc = -1;
	int n = 0, fd[2], status;
	pid_t pid;
	FILE *out;

	if (!trainer || !fixed || !av) {
		fprintf(stderr, "objectives: set FMNIST_TRAINER\n");
		exit(2);
	}
	av[n++] = (char *)trainer;
	for (char *t = strtok(fixed, " "); t && n < 60; t = strtok(NULL, " "))
		av[n++] = t;
	for (int i = 2; i < argc; i++) {
		char *a = strdup(argv[i]);

		for (char *p = a + 2; *p && *p != '='; p++)
			if (*p == '_')
				*p = '-';
		av[n++] = a;
	}
	if (pipe(fd) || (pid = fork()) < 0) {
		perror("objectives");
		exit(1);
	}
	if (pid == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		execv(trainer, av);
		_exit(127);
	}
	close(fd[1]);
	out = fdopen(fd[0], "r");
	while (fgets(line, sizeof(line), out)) {
		const char *p = strstr(line, "test_acc=");

		if (p)
			acc = strtod(p + 9, NULL);
	}
	fclose(out);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) || acc < 0) {
		fprintf(stderr, "objectives: the trainer failed\n");
		exit(1);
	}
	return 1 - acc;
}

int main(int argc, char **argv)
{
	double v;

	if (argc < 2) {
		fprintf(stderr, "usage: objectives branin|hartmann6|noisy10|fmnist "
				"--key=value ...\n");
		return 2;
	}
	if (!strcmp(argv[1], "branin")) {
		v = branin(num(argc, argv, "x1"), num(argc, argv, "x2"));
	} else if (!strcmp(argv[1], "hartmann6")) {
		double x[6];
		char name[8];

		for (int j = 0; j < 6; j++) {
			snprintf(name, sizeof(name), "x%d", j + 1);
			x[j] = num(argc, argv, name);
		}
		v = hartmann6(x);
	} else if (!strcmp(argv[1], "noisy10")) {
		v = noisy10(argc, argv);
	} else if (!strcmp(argv[1], "fmnist")) {
		v = fmnist(argc, argv);
	} else {
		fprintf(stderr, "objectives: unknown objective '%s'\n", argv[1]);
		return 2;
	}
	printf("value=%.10g\n", v);
	return 0;
}
