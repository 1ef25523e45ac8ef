/*
 * ddp_bench.c — bandwidth of fmnist-train's ring all-reduce (ddp.c) over
 * loopback against a plain TCP copy of the same bytes, measured in the
 * same run between the same two processes.
 *
 *   ddp-bench [REPS]
 *
 * Forks itself into rank 0 and rank 1.  For each size S it times REPS
 * (default 20) all-reduces of S/4 floats, and REPS plain copies of S
 * bytes from rank 0 to rank 1 on a fresh blocking TCP connection (write()
 * all of it, the receiver read()s all of it and answers one byte), and
 * REPS plain copies of S bytes both ways at once (each rank a thread
 * writing while it reads).  With two ranks the ring moves S bytes each
 * way per all-reduce (S/2 in the reduce-scatter, S/2 in the all-gather):
 * the bytes of the one-way copy, in both directions, which is what the
 * two-way copy moves.  ratio = copy time / all-reduce time (1.0: the
 * all-reduce moves its bytes as fast as plain copies; it also adds).
 * Each time is the fastest of the REPS (rank 0's clock), which keeps
 * other load on the machine from biasing one side.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ddp.h"

static int listener(int *port)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(fd, 8) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
		perror("ddp-bench: listen");
		exit(1);
	}
	*port = ntohs(a.sin_port);
	return fd;
}

static int full(int fd, void *buf, size_t len, int out)
{
	char *b = buf;

	while (len > 0) {
		ssize_t k = out ? send(fd, b, len, MSG_NOSIGNAL) :
				  recv(fd, b, len, 0);

		if (k <= 0)
			return -1;
		b += k;
		len -= (size_t)k;
	}
	return 0;
}

struct writer {
	int fd;
	const char *buf;
	size_t len;
	int rc;
};

static void *write_all(void *arg)
{
	struct writer *w = arg;

	w->rc = full(w->fd, (void *)w->buf, w->len, 1);
	return NULL;
}

/* Send len bytes of out while receiving len bytes into in. */
static int both_ways(int fd, const char *out, char *in, size_t len)
{
	struct writer w = {fd, out, len, 0};
	pthread_t t;
	int rc;

	if (pthread_create(&t, NULL, write_all, &w))
		return -1;
	rc = full(fd, in, len, 0);
	pthread_join(t, NULL);
	return rc || w.rc;
}

static void die(const char *what, const struct fm_error *err)
{
	fprintf(stderr, "ddp-bench: %s: %s\n", what, err->msg);
	exit(1);
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = {256u << 10, 4u << 20, 32u << 20};
	const size_t ns = sizeof(sizes) / sizeof(sizes[0]);
	int reps = argc > 1 ? atoi(argv[1]) : 20;
	int mport, cport, mfd = listener(&mport), cfd = listener(&cport);
	struct fm_ddp_config c;
	struct fm_ddp *d;
	struct fm_error err;
	double t_ar[3], t_cp[3], t_bi[3];
	char *buf, *in;
	pid_t pid;
	int rank, s, one = 1;

	if (reps < 1)
		reps = 1;
	buf = malloc(sizes[ns - 1]);
	in = malloc(sizes[ns - 1]);
	if (!buf || !in)
		return 1;
	memset(buf, 0, sizes[ns - 1]);
	memset(in, 0, sizes[ns - 1]);
	pid = fork();
	rank = pid == 0 ? 1 : 0;
	memset(&c, 0, sizeof(c));
	c.rank = rank;
	c.world = 2;
	c.master_port = mport;
	c.timeout = 60.0;
	c.listen_fd = rank == 0 ? mfd : -1;
	snprintf(c.master_addr, sizeof(c.master_addr), "127.0.0.1");
	if (fm_ddp_init(&c, &d, &err))
		die("rendezvous", &err);

	for (size_t i = 0; i < ns; i++) {
		size_t n = sizes[i] / sizeof(float);
		double t0;

		for (int w = 0; w < 2; w++)	/* warm up */
			if (fm_ddp_allreduce_f32(d, (float *)buf, n, &err))
				die("all-reduce", &err);
		if (fm_ddp_check_same(d, 0, "barrier", &err))
			die("barrier", &err);
		t_ar[i] = 1e30;
		for (int r = 0; r < reps; r++) {
			t0 = fm_now();
			if (fm_ddp_allreduce_f32(d, (float *)buf, n, &err))
				die("all-reduce", &err);
			t0 = fm_now() - t0;
			t_ar[i] = t0 < t_ar[i] ? t0 : t_ar[i];
		}
	}

	/* the plain copy, on its own connection */
	if (rank == 1) {
		struct sockaddr_in a;
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		memset(&a, 0, sizeof(a));
		a.sin_family = AF_INET;
		a.sin_port = htons((uint16_t)cport);
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
			return 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		for (size_t i = 0; i < ns; i++)
			for (int r = 0; r < reps + 2; r++)
				if (full(fd, buf, sizes[i], 0) ||
				    full(fd, buf, 1, 1))
					return 1;
		for (size_t i = 0; i < ns; i++)
			for (int r = 0; r < reps + 2; r++)
				if (both_ways(fd, buf, in, sizes[i]))
					return 1;
		close(fd);
		fm_ddp_close(d);
		return 0;
	}
	s = accept(cfd, NULL, NULL);
	if (s < 0)
		return 1;
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (size_t i = 0; i < ns; i++) {
		t_cp[i] = 1e30;
		for (int r = 0; r < reps + 2; r++) {
			double t0 = fm_now();

			if (full(s, buf, sizes[i], 1) || full(s, buf, 1, 0))
				return 1;
			t0 = fm_now() - t0;
			if (r >= 2 && t0 < t_cp[i])	/* after 2 warm-ups */
				t_cp[i] = t0;
		}
	}
	for (size_t i = 0; i < ns; i++) {
		t_bi[i] = 1e30;
		for (int r = 0; r < reps + 2; r++) {
			double t0 = fm_now();

			if (both_ways(s, buf, in, sizes[i]))
				return 1;
			t0 = fm_now() - t0;
			if (r >= 2 && t0 < t_bi[i])
				t_bi[i] = t0;
		}
	}
	close(s);
	waitpid(pid, &s, 0);
	fm_ddp_close(d);
	printf("bytes allreduce_ms copy1way_ms copy2way_ms allreduce_MBps "
	       "ratio_1way ratio_2way\n");
	for (size_t i = 0; i < ns; i++)
		printf("%zu %.3f %.3f %.3f %.0f %.2f %.2f\n", sizes[i],
		       t_ar[i] * 1e3, t_cp[i] * 1e3, t_bi[i] * 1e3,
		       sizes[i] / t_ar[i] / 1e6, t_cp[i] / t_ar[i],
		       t_bi[i] / t_ar[i]);
	free(buf);
	free(in);
	return 0;
}
