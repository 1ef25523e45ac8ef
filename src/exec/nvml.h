/*
 * nvml.h — GPU memory in use per process, from NVIDIA's management
 * library when the machine has it: libnvidia-ml.so.1 is loaded with
 * dlopen at run time (no build dependency; without it, nothing is
 * sampled).  The supervisor samples it for the local backend's trials.
 */
#ifndef TC_NVML_H
#define TC_NVML_H

#include <stddef.h>
#include <sys/types.h>

struct tc_nvml;

/* The library loaded and initialised, or NULL (no library, no driver, no
 * GPU). */
struct tc_nvml *tc_nvml_open(void);
void tc_nvml_close(struct tc_nvml *n);

/* A compute process on a GPU and the memory it uses there. */
struct tc_gpu_proc {
	pid_t pid;
	unsigned long long bytes;
};

/* The compute processes of every GPU: up to max of them in out.  Returns
 * how many, or -1 when NVML failed. */
int tc_nvml_processes(struct tc_nvml *n, struct tc_gpu_proc *out, size_t max);

#endif
