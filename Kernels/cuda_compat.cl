// CUDA compatibility prelude: maps the subset of OpenCL C that Kernels/*.cl use onto CUDA C++,
// so that NVRTC compiles the same files the OpenCL runtime does. Prepended to every family on the
// CUDA runtime only; compiled with -default-device, so file-scope helper functions (written
// `static` for OpenCL) become device functions.
//
// What each OpenCL construct becomes:
//   __kernel                       extern "C" __global__ (unmangled, so the host finds it by name)
//   __global / __local             nothing / __shared__ (local arrays are declared inside kernels)
//   reqd_work_group_size(x, y, z)  launch_bounds(x·y·z), the attribute __launch_bounds__ spells
//   get_global_id and friends      threadIdx, blockIdx, blockDim, gridDim
//   barrier(CLK_LOCAL_MEM_FENCE)   __syncthreads()
//   uint, ulong, as_uint, …        CUDA's types and bit casts

#define __kernel extern "C" __global__
#define __global
#define __local __shared__
#define __constant const
#define reqd_work_group_size(x, y, z) launch_bounds((x) * (y) * (z))

#define CLK_LOCAL_MEM_FENCE 1
#define CLK_GLOBAL_MEM_FENCE 2
#define barrier(flags) __syncthreads()

typedef unsigned char uchar;
typedef unsigned short ushort;
typedef unsigned int uint;
typedef unsigned long long ulong;

#define INFINITY __int_as_float(0x7f800000)
#define NAN __int_as_float(0x7fffffff)

static __device__ __forceinline__ uint fathom_dim(const uint3 v, const int d) {
    return d == 0 ? v.x : (d == 1 ? v.y : v.z);
}
static __device__ __forceinline__ uint fathom_dim(const dim3 v, const int d) {
    return d == 0 ? v.x : (d == 1 ? v.y : v.z);
}
static __device__ __forceinline__ size_t get_local_id(const int d) { return fathom_dim(threadIdx, d); }
static __device__ __forceinline__ size_t get_group_id(const int d) { return fathom_dim(blockIdx, d); }
static __device__ __forceinline__ size_t get_local_size(const int d) { return fathom_dim(blockDim, d); }
static __device__ __forceinline__ size_t get_num_groups(const int d) { return fathom_dim(gridDim, d); }
static __device__ __forceinline__ size_t get_global_id(const int d) {
    return (size_t)fathom_dim(blockIdx, d) * fathom_dim(blockDim, d) + fathom_dim(threadIdx, d);
}
static __device__ __forceinline__ size_t get_global_size(const int d) {
    return (size_t)fathom_dim(gridDim, d) * fathom_dim(blockDim, d);
}

static __device__ __forceinline__ uint as_uint(const float x) { return __float_as_uint(x); }
static __device__ __forceinline__ float as_float(const uint x) { return __uint_as_float(x); }
static __device__ __forceinline__ int as_int(const float x) { return __float_as_int(x); }
static __device__ __forceinline__ uint mul_hi(const uint a, const uint b) { return __umulhi(a, b); }
static __device__ __forceinline__ uint popcount(const uint x) { return (uint)__popc(x); }

// Individually rounded float operations, never contracted into an fma: the Philox prelude's
// float maps are bit-identical to the host's only when every operation rounds on its own.
#define FATHOM_MUL(a, b) __fmul_rn(a, b)
#define FATHOM_ADD(a, b) __fadd_rn(a, b)
#define FATHOM_SUB(a, b) __fsub_rn(a, b)
#define FATHOM_DIV(a, b) __fdiv_rn(a, b)
#define FATHOM_SQRT(a) __fsqrt_rn(a)
