#ifndef FATHOM_PHILOX_LANES_H
#define FATHOM_PHILOX_LANES_H

#include <stdint.h>

/// The key of a Philox stream: counter words 2 and 3 (step, stream) and the 64-bit seed.
typedef struct {
    uint32_t seed_low, seed_high, step, stream;
} fathom_philox_key;

/// What a fill draws: the values of `PhiloxMaps` (Swift) and `Kernels/philox.cl`. Normals come
/// four a block as (r₀cos θ₀, r₀sin θ₀, r₁cos θ₁, r₁sin θ₁), or with each pair's sine first
/// (cuRAND's order, the zeroth-order directions').
typedef enum {
    FATHOM_PHILOX_UNIFORM = 0,
    FATHOM_PHILOX_NORMAL = 1,
    FATHOM_PHILOX_NORMAL_SINE_FIRST = 2
} fathom_philox_distribution;

/// out[i] = scale · v(i) (accumulate 0) or out[i] += scale · v(i) (accumulate 1) for the
/// 4·blocks values of blocks first ..< first + blocks of stream `key` (value 4b + j is word j of
/// block b), bit for bit the scalar maps: IEEE operations only, never contracted into fmas. Runs
/// 16 blocks per vector pass on the widest vector unit the CPU has (AVX-512, AVX2, else SSE2),
/// chosen at load time.
void fathom_philox_fill(float *out, uint64_t first, uint64_t blocks, fathom_philox_key key,
                        fathom_philox_distribution distribution, float scale, int accumulate);

/// The variants this CPU runs, a bit each: 1 SSE2 (always), 2 AVX2, 4 AVX-512.
int fathom_philox_fill_variants(void);

/// `fathom_philox_fill` on variant 0 (SSE2), 1 (AVX2) or 2 (AVX-512), which the CPU must run:
/// for tests that every variant gives the same bits.
void fathom_philox_fill_with(int variant, float *out, uint64_t first, uint64_t blocks, fathom_philox_key key,
                             fathom_philox_distribution distribution, float scale, int accumulate);

#endif
