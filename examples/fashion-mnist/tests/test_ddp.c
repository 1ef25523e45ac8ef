/*
 * test_ddp.c — the ring all-reduce and its neighbours (ddp.h) with real
 * processes over loopback: 3 and 4 ranks summing vectors whose lengths
 * are no multiple of the rank count (also shorter than it, and empty),
 * in float, double and u64, exactly and bit-identically on every rank;
 * broadcast; check_same agreeing and naming the rank that differs; a
 * rank that never comes; a rank that dies between collectives.
 *
 * Each test forks one child per rank.  Rank 0 gets a listening socket
 * the parent bound to port 0 before forking, so no port is guessed.  A
 * child exits 0 when every check passed, else the line that failed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ddp.h"

#define CHECK(c) do { if (!(c)) { \
	fprintf(stderr, "rank check failed at line %d: %s\n", __LINE__, #c); \
	return __LINE__; } } while (0)

typedef int (*rank_fn)(struct fm_ddp_config *cfg);

static int listener(int *port)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 64), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* Run fn as ranks `start` (a bit set) of a world of n; returns the
 * children's exit statuses in st. */
static void run_world(int n, unsigned start, double timeout, rank_fn fn,
		      int *st)
{
	pid_t pid[16];
	int port, lfd = listener(&port);

	for (int r = 0; r < n; r++) {
		pid[r] = -1;
		if (!(start & (1u << r)))
			continue;
		pid[r] = fork();
		assert_true(pid[r] >= 0);
		if (pid[r] == 0) {
			struct fm_ddp_config c;

			memset(&c, 0, sizeof(c));
			c.rank = r;
			c.world = n;
			c.master_port = port;
			c.timeout = timeout;
			snprintf(c.master_addr, sizeof(c.master_addr),
				 "127.0.0.1");
			c.listen_fd = r == 0 ? lfd : -1;
			if (r != 0)
				close(lfd);
			_exit(fn(&c));
		}
	}
	close(lfd);
	for (int r = 0; r < n; r++) {
		int s = 0;

		st[r] = -1;
		if (pid[r] < 0)
			continue;
		assert_int_equal(waitpid(pid[r], &s, 0), pid[r]);
		st[r] = WIFEXITED(s) ? WEXITSTATUS(s) : 128 + WTERMSIG(s);
	}
}

static void expect_all_ok(int n, const int *st)
{
	for (int r = 0; r < n; r++) {
		if (st[r] != 0)
			fprintf(stderr, "rank %d exited %d\n", r, st[r]);
		assert_int_equal(st[r], 0);
	}
}

/* Sums of every length that matters for a ring of N: 0, below N, a
 * multiple plus a remainder, and large enough to need many send calls. */
static int sums(struct fm_ddp_config *cfg)
{
	static const size_t lens[] = {0, 1, 2, 3, 5, 1001, 300007};
	struct fm_error err;
	struct fm_ddp *d;
	const int N = cfg->world, r = cfg->rank;
	const double tri = N * (N - 1) / 2.0;	/* Σ ranks */

	CHECK(fm_ddp_init(cfg, &d, &err) == 0);
	CHECK(fm_ddp_rank(d) == r && fm_ddp_world(d) == N);
	for (size_t t = 0; t < sizeof(lens) / sizeof(lens[0]); t++) {
		size_t n = lens[t];
		float *f = malloc((n + 1) * sizeof(float));
		double *g = malloc((n + 1) * sizeof(double));
		uint64_t *u = malloc((n + 1) * sizeof(uint64_t));
		uint64_t h = FM_FNV_INIT;

		CHECK(f && g && u);
		for (size_t i = 0; i < n; i++) {
			/* small integers: float sums are exact */
			f[i] = (float)(r * 1000 + (int)(i % 997));
			g[i] = 0.5 * r + (double)i;
			u[i] = ((uint64_t)r << 40) + i;
		}
		CHECK(fm_ddp_allreduce_f32(d, f, n, &err) == 0);
		CHECK(fm_ddp_allreduce_f64(d, g, n, &err) == 0);
		CHECK(fm_ddp_allreduce_u64(d, u, n, &err) == 0);
		for (size_t i = 0; i < n; i++) {
			CHECK(f[i] == (float)(1000.0 * tri +
					      N * (double)(i % 997)));
			CHECK(g[i] == 0.5 * tri + N * (double)i);
			CHECK(u[i] == ((uint64_t)tri << 40) + N * i);
		}
		/* and the very same bits everywhere */
		h = fm_fnv1a(h, f, n * sizeof(float));
		CHECK(fm_ddp_check_same(d, h, "the sums", &err) == 0);
		free(f);
		free(g);
		free(u);
	}
	fm_ddp_close(d);
	return 0;
}

static void test_allreduce_3(void **state)
{
	int st[3];

	(void)state;
	run_world(3, 0x7, 20.0, sums, st);
	expect_all_ok(3, st);
}

static void test_allreduce_4(void **state)
{
	int st[4];

	(void)state;
	run_world(4, 0xf, 20.0, sums, st);
	expect_all_ok(4, st);
}

/* Non-integral values: the sums differ from any one order of addition in
 * the last bits, but every rank must hold the same bits. */
static int same_bits(struct fm_ddp_config *cfg)
{
	const size_t n = 77777;
	struct fm_error err;
	struct fm_ddp *d;
	float *f = malloc(n * sizeof(float));
	struct fm_rng rng;

	CHECK(f);
	CHECK(fm_ddp_init(cfg, &d, &err) == 0);
	fm_rng_seed(&rng, 42, (uint64_t)cfg->rank);
	for (size_t i = 0; i < n; i++)
		f[i] = (float)fm_rng_normal(&rng);
	CHECK(fm_ddp_allreduce_f32(d, f, n, &err) == 0);
	CHECK(fm_ddp_check_same(d, fm_fnv1a(FM_FNV_INIT, f, n * sizeof(*f)),
				"the sums", &err) == 0);
	free(f);
	fm_ddp_close(d);
	return 0;
}

static void test_identical_bits(void **state)
{
	int st[4];

	(void)state;
	run_world(4, 0xf, 20.0, same_bits, st);
	expect_all_ok(4, st);
}

static int bcast(struct fm_ddp_config *cfg)
{
	const size_t n = (1u << 20) + 3;
	unsigned char *b = malloc(n);
	struct fm_error err;
	struct fm_ddp *d;

	CHECK(b);
	CHECK(fm_ddp_init(cfg, &d, &err) == 0);
	for (size_t i = 0; i < n; i++)
		b[i] = cfg->rank == 0 ? (unsigned char)(i * 7 + 1) : 0;
	CHECK(fm_ddp_broadcast(d, b, n, &err) == 0);
	for (size_t i = 0; i < n; i++)
		CHECK(b[i] == (unsigned char)(i * 7 + 1));
	CHECK(fm_ddp_broadcast(d, b, 0, &err) == 0);
	free(b);
	fm_ddp_close(d);
	return 0;
}

static void test_broadcast(void **state)
{
	int st[3];

	(void)state;
	run_world(3, 0x7, 20.0, bcast, st);
	expect_all_ok(3, st);
}

/* Rank 2 holds another value: every rank is told, naming rank 2. */
static int disagree(struct fm_ddp_config *cfg)
{
	struct fm_error err;
	struct fm_ddp *d;

	CHECK(fm_ddp_init(cfg, &d, &err) == 0);
	CHECK(fm_ddp_check_same(d, 7, "x", &err) == 0);
	CHECK(fm_ddp_check_same(d, cfg->rank == 2 ? 8 : 7, "the weights",
				&err) == FM_ENET);
	CHECK(strstr(err.msg, "the weights differs between ranks: rank 2 "
		     "disagrees with rank 0") != NULL);
	fm_ddp_close(d);
	return 0;
}

static void test_check_same(void **state)
{
	int st[4];

	(void)state;
	run_world(4, 0xf, 20.0, disagree, st);
	expect_all_ok(4, st);
}

/* World of 4 with ranks 1 and 3 never started. */
static int lonely(struct fm_ddp_config *cfg)
{
	struct fm_error err;
	struct fm_ddp *d;
	double t0 = fm_now();

	CHECK(fm_ddp_init(cfg, &d, &err) == FM_ENET);
	CHECK(fm_now() - t0 < 5.0);
	if (cfg->rank == 0)
		CHECK(strstr(err.msg, "rendezvous timeout after 0.5 s: ranks "
			     "1, 3 of 4 never connected") != NULL);
	return 0;
}

static void test_missing_ranks(void **state)
{
	int st[4];

	(void)state;
	run_world(4, 0x5, 0.5, lonely, st);
	assert_int_equal(st[0], 0);
	assert_int_equal(st[2], 0);
}

/* Rank 1 dies after the rendezvous; the others' next all-reduce fails
 * promptly (well within the 30 s timeout) instead of hanging. */
static int dies(struct fm_ddp_config *cfg)
{
	const size_t n = 1 << 20;
	float *f = calloc(n, sizeof(float));
	struct fm_error err;
	struct fm_ddp *d;
	double t0;

	CHECK(f);
	CHECK(fm_ddp_init(cfg, &d, &err) == 0);
	CHECK(fm_ddp_allreduce_f32(d, f, n, &err) == 0);
	if (cfg->rank == 1)
		raise(SIGKILL);
	t0 = fm_now();
	CHECK(fm_ddp_allreduce_f32(d, f, n, &err) == FM_ENET);
	CHECK(fm_now() - t0 < 10.0);
	CHECK(strstr(err.msg, "rank") != NULL);
	free(f);
	fm_ddp_close(d);
	return 0;
}

static void test_peer_dies(void **state)
{
	int st[3];

	(void)state;
	signal(SIGPIPE, SIG_DFL);	/* a SIGPIPE would kill a rank */
	run_world(3, 0x7, 30.0, dies, st);
	assert_int_equal(st[0], 0);
	assert_int_equal(st[1], 128 + SIGKILL);
	assert_int_equal(st[2], 0);
}

static void test_config_from_env(void **state)
{
	struct fm_ddp_config c;
	struct fm_error err;

	(void)state;
	unsetenv("WORLD_SIZE");
	assert_int_equal(fm_ddp_config_from_env(&c, &err), 0);
	assert_int_equal(c.world, 1);
	setenv("WORLD_SIZE", "4", 1);
	setenv("RANK", "3", 1);
	setenv("MASTER_ADDR", "10.0.0.1", 1);
	setenv("MASTER_PORT", "29500", 1);
	assert_int_equal(fm_ddp_config_from_env(&c, &err), 0);
	assert_int_equal(c.world, 4);
	assert_int_equal(c.rank, 3);
	assert_int_equal(c.master_port, 29500);
	assert_string_equal(c.master_addr, "10.0.0.1");
	setenv("RANK", "4", 1);
	assert_int_equal(fm_ddp_config_from_env(&c, &err), FM_EINVAL);
	assert_non_null(strstr(err.msg, "RANK='4'"));
	setenv("RANK", "1", 1);
	setenv("MASTER_PORT", "0", 1);
	assert_int_equal(fm_ddp_config_from_env(&c, &err), FM_EINVAL);
	assert_non_null(strstr(err.msg, "MASTER_PORT"));
	unsetenv("WORLD_SIZE");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allreduce_3),
		cmocka_unit_test(test_allreduce_4),
		cmocka_unit_test(test_identical_bits),
		cmocka_unit_test(test_broadcast),
		cmocka_unit_test(test_check_same),
		cmocka_unit_test(test_missing_ranks),
		cmocka_unit_test(test_peer_dies),
		cmocka_unit_test(test_config_from_env),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
