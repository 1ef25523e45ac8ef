/*
 * spawn_floor.c — the floor a process pool can reach on this machine: run
 * N copies of a command, P at a time, with posix_spawn and wait and nothing
 * else (no journal, no files, no supervisor).  A baseline for the
 * scheduler benchmarks beside xargs.
 *
 *   spawn_floor N P COMMAND [ARG...]     prints the wall time in seconds
 */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	long n, p, started = 0, running = 0;
	double t0;

	if (argc < 4 || (n = strtol(argv[1], NULL, 10)) <= 0 ||
	    (p = strtol(argv[2], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: spawn_floor N P COMMAND [ARG...]\n");
		return 2;
	}
	t0 = now();
	while (started < n || running > 0) {
		int status;

		while (running < p && started < n) {
			pid_t pid;

			if (posix_spawnp(&pid, argv[3], NULL, NULL, argv + 3,
					 environ) != 0) {
				perror("posix_spawnp");
				return 1;
			}
			started++;
			running++;
		}
		if (wait(&status) > 0)
			running--;
	}
	printf("%.4f\n", now() - t0);
	return 0;
}
