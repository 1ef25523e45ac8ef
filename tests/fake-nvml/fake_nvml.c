/*
 * fake_nvml.c — a stand-in for libnvidia-ml.so.1 on machines without an
 * NVIDIA GPU (CI has none), so the supervisor's sampling can be tested:
 * one device, whose compute processes are the processes that have
 * TC_FAKE_GPU_MIB=N in their environment, each using N MiB.  Loaded only
 * by tests, through LD_LIBRARY_PATH.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct proc_info {
	unsigned int pid;
	unsigned long long used;
	unsigned int gpu_instance, compute_instance;
};

/* what NVML exports (the calls trainctl resolves) */
int nvmlInit_v2(void);
int nvmlShutdown(void);
int nvmlDeviceGetCount_v2(unsigned int *n);
int nvmlDeviceGetHandleByIndex_v2(unsigned int i, void **dev);
int nvmlDeviceGetComputeRunningProcesses_v3(void *dev, unsigned int *count,
					    struct proc_info *out);

int nvmlInit_v2(void) { return 0; }
int nvmlShutdown(void) { return 0; }

int nvmlDeviceGetCount_v2(unsigned int *n)
{
	*n = 1;
	return 0;
}

int nvmlDeviceGetHandleByIndex_v2(unsigned int i, void **dev)
{
	*dev = (void *)(unsigned long)(i + 1);
	return 0;
}

static unsigned long long env_mib(const char *pid)
{
	char path[64], buf[65536];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%s/environ", pid);
	if (!(f = fopen(path, "r")))
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	for (size_t k = 0; k < n; k += strlen(buf + k) + 1)
		if (!strncmp(buf + k, "TC_FAKE_GPU_MIB=", 16))
			return strtoull(buf + k + 16, NULL, 10);
	return 0;
}

int nvmlDeviceGetComputeRunningProcesses_v3(void *dev, unsigned int *count,
					    struct proc_info *out)
{
	unsigned int got = 0;
	struct dirent *e;
	DIR *d = opendir("/proc");

	(void)dev;
	while (d && (e = readdir(d)) && got < *count) {
		unsigned long long mib;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		if ((mib = env_mib(e->d_name)) == 0)
			continue;
		out[got].pid = (unsigned int)atoi(e->d_name);
		out[got].used = mib << 20;
		got++;
	}
	if (d)
		closedir(d);
	*count = got;
	return 0;
}
