#ifndef FATHOM_CZLIB_SHIM_H
#define FATHOM_CZLIB_SHIM_H
#include <zlib.h>
#endif
