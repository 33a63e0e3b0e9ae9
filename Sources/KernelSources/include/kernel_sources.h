#ifndef FATHOM_KERNEL_SOURCES_H
#define FATHOM_KERNEL_SOURCES_H

/// The source of Kernels/<name>.cl ("matmul", "philox", "cuda_compat", ...), embedded at build
/// time, NUL-terminated; NULL for an unknown name.
const char *fathom_kernel_source(const char *name);

/// Number of embedded Kernels/*.cl files (families and preludes).
int fathom_kernel_file_count(void);

/// Name of embedded file `index` (0 ..< count), without the directory and the .cl suffix.
const char *fathom_kernel_file_name(int index);

#endif
