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

/// Words first_word ..< first_word + words_count of the sign packing of x[0 ..< n] (x is the
/// whole vector): bit j of word w set where x[32w + j] + noise·ξ < 0, ξ = normal 32w + j of
/// `key`'s stream, coordinates past n as + (the sign family's layout and noise, bit for bit).
/// words[0] is word first_word. `variant` −1 takes the widest unit, else as for the fill.
void fathom_sign_pack(int variant, const float *x, uint64_t n, uint64_t first_word, uint64_t words_count,
                      uint32_t *words, float noise, fathom_philox_key key);

/// Coordinates per partial sum of fathom_ef_accumulate.
#define FATHOM_EF_BLOCK 4096

/// Error feedback's first pass (EF-signSGD, p = γg + e) over blocks first_block ..<
/// first_block + blocks of FATHOM_EF_BLOCK coordinates (the last ends at n): memory[i] =
/// gamma·g[i] + memory[i], and sums[b − first_block] = Σ|p| over block b, the same on every
/// vector unit and for any split of the blocks.
void fathom_ef_accumulate(int variant, const float *g, float gamma, float *memory, uint64_t n, uint64_t first_block,
                          uint64_t blocks, float *sums);

/// Error feedback's second pass over [begin, end): out[i] = Δ = (p < 0 ? −scale : scale) with
/// p = memory[i], and memory[i] = p − Δ.
void fathom_ef_compress(int variant, float *memory, float scale, float *out, uint64_t begin, uint64_t end);

/// out[i] = −scale where bit i of `words` is set, else +scale (0 where bit i of `ties` is set;
/// ties may be NULL), for the coordinates of words
/// first_word ..< first_word + words_count (out is the whole vector of n values).
void fathom_sign_unpack(int variant, const uint32_t *words, const uint32_t *ties, uint64_t n, uint64_t first_word,
                        uint64_t words_count, float *out, float scale);

/// The vote of fathom_sign_vote as words (whole-vector indices, like `out` there): bit j of
/// signs[w] set where coordinate 32w + j votes −1; bit j of ties[w] (ties may be NULL) set where
/// it is a tie under tie 0, its sign bit clear; plus and random ties decided into the signs.
void fathom_sign_vote_bits(int variant, const uint32_t *words, int workers, uint64_t stride, uint64_t n,
                           uint64_t first_word, uint64_t words_count, uint32_t *signs, uint32_t *ties, int tie,
                           fathom_philox_key key, uint64_t tie_block);

/// out[i] for the coordinates of words first_word ..< first_word + words_count (out is the
/// whole vector of n values): the majority of `workers` packed vectors (worker m's words at
/// words + m·stride), ±1, a tie by `tie` (0: 0, 1: +1, 2: −1 where the top bit of word
/// 4·tie_block + i of `key`'s stream is set, else +1; tie_block is the block of out[0] when out
/// is a chunk of a longer vector).
void fathom_sign_vote(int variant, const uint32_t *words, int workers, uint64_t stride, uint64_t n,
                      uint64_t first_word, uint64_t words_count, float *out, int tie, fathom_philox_key key,
                      uint64_t tie_block);

#endif
