#ifndef FATHOM_CUDA_API_H
#define FATHOM_CUDA_API_H

// The few entry points of CUDA's driver API (libcuda.so.1) and of NVRTC (libnvrtc.so) that the
// CUDA runtime uses, declared here as function-pointer types: both libraries are loaded with
// dlopen at run time, so nothing links against them and a machine without CUDA builds and runs
// the package. Signatures follow cuda.h and nvrtc.h (CUDA 12/13); the _v2 entry points are the
// ones cuda.h's macros select.

#include <stddef.h>

typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
typedef struct CUctx_st *CUcontext;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;
typedef struct CUstream_st *CUstream;
typedef struct CUevent_st *CUevent;

enum {
    FATHOM_CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16,
    FATHOM_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75,
    FATHOM_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76,
    FATHOM_CU_STREAM_NON_BLOCKING = 1,
    FATHOM_CU_EVENT_DEFAULT = 0,
};

typedef CUresult (*fathom_cuInit)(unsigned int flags);
typedef CUresult (*fathom_cuDriverGetVersion)(int *version);
typedef CUresult (*fathom_cuDeviceGetCount)(int *count);
typedef CUresult (*fathom_cuDeviceGet)(CUdevice *device, int ordinal);
typedef CUresult (*fathom_cuDeviceGetName)(char *name, int length, CUdevice device);
typedef CUresult (*fathom_cuDeviceGetAttribute)(int *value, int attribute, CUdevice device);
typedef CUresult (*fathom_cuDeviceTotalMem)(size_t *bytes, CUdevice device);
typedef CUresult (*fathom_cuDevicePrimaryCtxRetain)(CUcontext *context, CUdevice device);
typedef CUresult (*fathom_cuDevicePrimaryCtxRelease)(CUdevice device);
typedef CUresult (*fathom_cuCtxSetCurrent)(CUcontext context);
typedef CUresult (*fathom_cuStreamCreate)(CUstream *stream, unsigned int flags);
typedef CUresult (*fathom_cuStreamDestroy)(CUstream stream);
typedef CUresult (*fathom_cuStreamSynchronize)(CUstream stream);
typedef CUresult (*fathom_cuMemAlloc)(CUdeviceptr *pointer, size_t bytes);
typedef CUresult (*fathom_cuMemFree)(CUdeviceptr pointer);
typedef CUresult (*fathom_cuMemcpyHtoDAsync)(CUdeviceptr destination, const void *source, size_t bytes,
                                             CUstream stream);
typedef CUresult (*fathom_cuMemcpyDtoHAsync)(void *destination, CUdeviceptr source, size_t bytes,
                                             CUstream stream);
typedef CUresult (*fathom_cuMemcpyDtoDAsync)(CUdeviceptr destination, CUdeviceptr source, size_t bytes,
                                             CUstream stream);
typedef CUresult (*fathom_cuModuleLoadData)(CUmodule *module, const void *image);
typedef CUresult (*fathom_cuModuleUnload)(CUmodule module);
typedef CUresult (*fathom_cuModuleGetFunction)(CUfunction *function, CUmodule module, const char *name);
typedef CUresult (*fathom_cuLaunchKernel)(CUfunction function, unsigned int gridX, unsigned int gridY,
                                          unsigned int gridZ, unsigned int blockX, unsigned int blockY,
                                          unsigned int blockZ, unsigned int sharedBytes, CUstream stream,
                                          void **parameters, void **extra);
typedef CUresult (*fathom_cuEventCreate)(CUevent *event, unsigned int flags);
typedef CUresult (*fathom_cuEventDestroy)(CUevent event);
typedef CUresult (*fathom_cuEventRecord)(CUevent event, CUstream stream);
typedef CUresult (*fathom_cuEventSynchronize)(CUevent event);
typedef CUresult (*fathom_cuEventElapsedTime)(float *milliseconds, CUevent start, CUevent end);
typedef CUresult (*fathom_cuGetErrorName)(CUresult error, const char **name);

typedef int nvrtcResult;
typedef struct _nvrtcProgram *nvrtcProgram;

typedef nvrtcResult (*fathom_nvrtcVersion)(int *major, int *minor);
typedef nvrtcResult (*fathom_nvrtcCreateProgram)(nvrtcProgram *program, const char *source, const char *name,
                                                 int headers, const char *const *headerSources,
                                                 const char *const *headerNames);
typedef nvrtcResult (*fathom_nvrtcDestroyProgram)(nvrtcProgram *program);
typedef nvrtcResult (*fathom_nvrtcCompileProgram)(nvrtcProgram program, int optionCount,
                                                  const char *const *options);
typedef nvrtcResult (*fathom_nvrtcGetProgramLogSize)(nvrtcProgram program, size_t *size);
typedef nvrtcResult (*fathom_nvrtcGetProgramLog)(nvrtcProgram program, char *log);
typedef nvrtcResult (*fathom_nvrtcGetCUBINSize)(nvrtcProgram program, size_t *size);
typedef nvrtcResult (*fathom_nvrtcGetCUBIN)(nvrtcProgram program, char *cubin);
typedef const char *(*fathom_nvrtcGetErrorString)(nvrtcResult result);

#endif
