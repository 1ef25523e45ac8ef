/*
 * nvml.c — the few NVML calls trainctl needs, resolved with dlsym (see
 * nvml.h).  The declarations follow NVML's documented C API.
 */
#include "exec/nvml.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

typedef int nvml_ret;    /* nvmlReturn_t: 0 is NVML_SUCCESS */
typedef void *nvml_dev;  /* nvmlDevice_t */
#define NVML_INSUFFICIENT_SIZE 7

/* nvmlProcessInfo_t (the _v2/_v3 calls' layout) */
struct nvml_proc {
	unsigned int pid;
	unsigned long long used;
	unsigned int gpu_instance, compute_instance;
};

struct tc_nvml {
	void *lib;
	nvml_ret (*shutdown)(void);
	nvml_ret (*count)(unsigned int *);
	nvml_ret (*handle)(unsigned int, nvml_dev *);
	nvml_ret (*procs)(nvml_dev, unsigned int *, struct nvml_proc *);
};

struct tc_nvml *tc_nvml_open(void)
{
	struct tc_nvml *n = calloc(1, sizeof(*n));
	nvml_ret (*init)(void);

	if (!n)
		return NULL;
	if (!(n->lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL)))
		goto fail;
	*(void **)&init = dlsym(n->lib, "nvmlInit_v2");
	*(void **)&n->shutdown = dlsym(n->lib, "nvmlShutdown");
	*(void **)&n->count = dlsym(n->lib, "nvmlDeviceGetCount_v2");
	*(void **)&n->handle = dlsym(n->lib, "nvmlDeviceGetHandleByIndex_v2");
	*(void **)&n->procs = dlsym(n->lib, "nvmlDeviceGetComputeRunningProcesses_v3");
	if (!n->procs)
		*(void **)&n->procs =
			dlsym(n->lib, "nvmlDeviceGetComputeRunningProcesses_v2");
	if (!init || !n->shutdown || !n->count || !n->handle || !n->procs ||
	    init() != 0)
		goto fail;
	return n;
fail:
	if (n->lib)
		dlclose(n->lib);
	free(n);
	return NULL;
}

void tc_nvml_close(struct tc_nvml *n)
{
	if (!n)
		return;
	n->shutdown();
	dlclose(n->lib);
	free(n);
}

int tc_nvml_processes(struct tc_nvml *n, struct tc_gpu_proc *out, size_t max)
{
	unsigned int ndev = 0;
	size_t got = 0;

	if (n->count(&ndev) != 0)
		return -1;
	for (unsigned int d = 0; d < ndev && got < max; d++) {
		struct nvml_proc buf[64];
		unsigned int k = 64;
		nvml_dev dev;
		nvml_ret r;

		if (n->handle(d, &dev) != 0)
			continue;
		r = n->procs(dev, &k, buf);
		if (r != 0 && r != NVML_INSUFFICIENT_SIZE)
			continue;
		for (unsigned int i = 0; i < k && i < 64 && got < max; i++) {
			out[got].pid = (pid_t)buf[i].pid;
			out[got].bytes = buf[i].used;
			got++;
		}
	}
	return (int)got;
}
