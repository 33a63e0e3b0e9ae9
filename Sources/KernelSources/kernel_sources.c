// Every Kernels/*.cl file is embedded here with C23 #embed, so binaries carry their kernels with
// them (static builds, moved binaries) and editing a .cl file rebuilds this file. Which files are
// families and which are preludes is the Swift registry's business (Compute's KernelRegistry).
#include "kernel_sources.h"
#include <string.h>

#pragma clang diagnostic ignored "-Wc23-extensions"

static const char matmul_cl[] = {
#embed "../../Kernels/matmul.cl"
    , 0};
static const char elementwise_cl[] = {
#embed "../../Kernels/elementwise.cl"
    , 0};
static const char reduce_cl[] = {
#embed "../../Kernels/reduce.cl"
    , 0};
static const char loss_cl[] = {
#embed "../../Kernels/loss.cl"
    , 0};
static const char conv_cl[] = {
#embed "../../Kernels/conv.cl"
    , 0};
static const char pool_cl[] = {
#embed "../../Kernels/pool.cl"
    , 0};
static const char optim_cl[] = {
#embed "../../Kernels/optim.cl"
    , 0};
static const char random_cl[] = {
#embed "../../Kernels/random.cl"
    , 0};
static const char clip_cl[] = {
#embed "../../Kernels/clip.cl"
    , 0};
static const char sign_cl[] = {
#embed "../../Kernels/sign.cl"
    , 0};
static const char zo_cl[] = {
#embed "../../Kernels/zo.cl"
    , 0};
static const char philox_cl[] = {
#embed "../../Kernels/philox.cl"
    , 0};
static const char cuda_compat_cl[] = {
#embed "../../Kernels/cuda_compat.cl"
    , 0};

static const struct {
    const char *name;
    const char *source;
} files[] = {
    {"matmul", matmul_cl}, {"elementwise", elementwise_cl}, {"reduce", reduce_cl},
    {"loss", loss_cl},     {"conv", conv_cl},               {"pool", pool_cl},
    {"optim", optim_cl},   {"random", random_cl},           {"clip", clip_cl},
    {"sign", sign_cl},     {"zo", zo_cl},
    {"philox", philox_cl},
    {"cuda_compat", cuda_compat_cl},
};

static const int file_count = sizeof files / sizeof files[0];

const char *fathom_kernel_source(const char *name) {
    for (int i = 0; i < file_count; i++) {
        if (strcmp(files[i].name, name) == 0) return files[i].source;
    }
    return NULL;
}

int fathom_kernel_file_count(void) { return file_count; }

const char *fathom_kernel_file_name(int index) {
    return (index >= 0 && index < file_count) ? files[index].name : NULL;
}
