// Every Kernels/*.cl file is embedded here with C23 #embed, so binaries carry their kernels with
// them (static builds, moved binaries) and editing a .cl file rebuilds this file.
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

static const struct {
    const char *name;
    const char *source;
} families[] = {
    {"matmul", matmul_cl}, {"elementwise", elementwise_cl}, {"reduce", reduce_cl},
    {"loss", loss_cl},     {"conv", conv_cl},               {"pool", pool_cl},
    {"optim", optim_cl},
};

static const int family_count = sizeof families / sizeof families[0];

const char *fathom_kernel_source(const char *name) {
    for (int i = 0; i < family_count; i++) {
        if (strcmp(families[i].name, name) == 0) return families[i].source;
    }
    return NULL;
}

int fathom_kernel_family_count(void) { return family_count; }

const char *fathom_kernel_family_name(int index) {
    return (index >= 0 && index < family_count) ? families[index].name : NULL;
}
