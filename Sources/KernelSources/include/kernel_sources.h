#ifndef FATHOM_KERNEL_SOURCES_H
#define FATHOM_KERNEL_SOURCES_H

/// The OpenCL C source of kernel family `name` ("matmul", "elementwise", ...), embedded from
/// Kernels/<name>.cl at build time, NUL-terminated; NULL for an unknown name.
const char *fathom_kernel_source(const char *name);

/// Number of embedded kernel families.
int fathom_kernel_family_count(void);

/// Name of embedded kernel family `index` (0 ..< count).
const char *fathom_kernel_family_name(int index);

#endif
