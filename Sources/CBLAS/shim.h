#ifndef FATHOM_CBLAS_SHIM_H
#define FATHOM_CBLAS_SHIM_H
#include <cblas.h>
#endif
