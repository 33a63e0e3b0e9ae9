#ifndef FATHOM_COPENCL_SHIM_H
#define FATHOM_COPENCL_SHIM_H
// OpenCL 1.2 is the feature set both PoCL and NVIDIA's driver implement fully.
#define CL_TARGET_OPENCL_VERSION 120
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>
#include <CL/cl_ext.h>
#endif
