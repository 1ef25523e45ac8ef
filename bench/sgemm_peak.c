/*
 * sgemm_peak.c — measure this machine's single-precision GEMM throughput
 * through OpenBLAS, the ceiling against which bench/fmnist_vs_torch.sh
 * reports how close fmnist-train's MLP loop comes.
 *
 * usage: sgemm-peak [THREADS]   (default: OpenBLAS's own thread count)
 * Prints one name=value line per size and a final peak_gflops=… line:
 * the best of square sizes 512..2048, each timed over repeated calls
 * after a warm-up.
 */
#include <cblas.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double measure(int n)
{
	size_t len = (size_t)n * n;
	float *a = malloc(len * sizeof(float));
	float *b = malloc(len * sizeof(float));
	float *c = malloc(len * sizeof(float));
	double t0, t, flops = 2.0 * n * n * n, best = 0.0;
	int reps;

	if (!a || !b || !c) {
		fprintf(stderr, "sgemm-peak: out of memory\n");
		exit(1);
	}
	for (size_t i = 0; i < len; i++) {
		a[i] = (float)(i % 7) * 0.25f;
		b[i] = (float)(i % 5) * 0.5f;
	}
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f,
		    a, n, b, n, 0.0f, c, n);
	/* about 0.3 s per try, best of 3 tries */
	for (int tries = 0; tries < 3; tries++) {
		reps = 0;
		t0 = now();
		do {
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
				    n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
			reps++;
			t = now() - t0;
		} while (t < 0.3);
		if (flops * reps / t > best)
			best = flops * reps / t;
	}
	free(a);
	free(b);
	free(c);
	return best / 1e9;
}

int main(int argc, char **argv)
{
	static const int sizes[] = {512, 1024, 2048};
	double peak = 0.0;

	if (argc > 1) {
		char *end;
		long t;

		errno = 0;
		t = strtol(argv[1], &end, 10);
		if (end == argv[1] || *end || errno || t < 1 || t > 256) {
			fprintf(stderr, "usage: sgemm-peak [THREADS]\n");
			return 2;
		}
		openblas_set_num_threads((int)t);
	}
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		double g = measure(sizes[i]);

		printf("n=%d gflops=%.1f\n", sizes[i], g);
		if (g > peak)
			peak = g;
	}
	printf("peak_gflops=%.1f threads=%d core=%s\n", peak,
	       openblas_get_num_threads(), openblas_get_corename());
	return fflush(stdout) == 0 ? 0 : 1;
}
