// Philox4x32-10 and its float maps on 16 lanes, for the CPU device's random fills. Every
// operation is one IEEE operation in the order of PhiloxMaps (Swift) and Kernels/philox.cl, so
// the values are the devices' to the bit; no operation may be fused into an fma.
#pragma clang fp contract(off)

#include "philox_lanes.h"

typedef uint32_t u32x16 __attribute__((vector_size(64)));
typedef int32_t i32x16 __attribute__((vector_size(64)));
typedef uint64_t u64x16 __attribute__((vector_size(128)));
typedef float f32x16 __attribute__((vector_size(64)));

#define LANES 16
#define INLINE static inline __attribute__((always_inline))

typedef struct { u32x16 w0, w1, w2, w3; } blocks16;

INLINE u32x16 splat_u(uint32_t x) { return (u32x16){0} + x; }
INLINE f32x16 splat_f(float x) { return (f32x16){0} + x; }

INLINE blocks16 philox16(uint64_t first, fathom_philox_key key) {
    u32x16 c0, c1;
    for (int lane = 0; lane < LANES; lane++) {
        uint64_t index = first + (uint64_t)lane;
        c0[lane] = (uint32_t)index;
        c1[lane] = (uint32_t)(index >> 32);
    }
    u32x16 c2 = splat_u(key.step), c3 = splat_u(key.stream);
    uint32_t k0 = key.seed_low, k1 = key.seed_high;
    const u64x16 m0 = (u64x16){0} + 0xD2511F53u, m1 = (u64x16){0} + 0xCD9E8D57u;
    for (int round = 0; round < 10; round++) {
        if (round > 0) {
            k0 += 0x9E3779B9u;
            k1 += 0xBB67AE85u;
        }
        u64x16 p0 = m0 * __builtin_convertvector(c0, u64x16);
        u64x16 p1 = m1 * __builtin_convertvector(c2, u64x16);
        u32x16 n0 = __builtin_convertvector(p1 >> 32, u32x16) ^ c1 ^ k0;
        u32x16 n1 = __builtin_convertvector(p1, u32x16);
        u32x16 n2 = __builtin_convertvector(p0 >> 32, u32x16) ^ c3 ^ k1;
        u32x16 n3 = __builtin_convertvector(p0, u32x16);
        c0 = n0; c1 = n1; c2 = n2; c3 = n3;
    }
    return (blocks16){c0, c1, c2, c3};
}

// PhiloxStream.uniform: the top 24 bits, w·2⁻²⁴ + 2⁻²⁵.
INLINE f32x16 uniform24(u32x16 w) {
    return __builtin_convertvector((i32x16)(w >> 8), f32x16) * 0x1p-24f + 0x1p-25f;
}

// PhiloxMaps.log for x in (0, 1].
INLINE f32x16 log16(f32x16 x) {
    u32x16 bits = (u32x16)x;
    u32x16 mantissa = (bits & 0x007FFFFFu) | 0x3F800000u;
    i32x16 large = ((i32x16){0} + 0x3FB504F3 - (i32x16)mantissa) >> 31;
    mantissa -= 0x00800000u & (u32x16)large;
    i32x16 e = (i32x16)(bits >> 23) - 127 - large;
    f32x16 m = (f32x16)mantissa;
    f32x16 f = m - 1.0f;
    f32x16 s = f / (f + 2.0f);
    f32x16 z = s * s;
    f32x16 p = splat_f(0x1.3b13b2p-4f);
    p = p * z + 0x1.745d18p-4f;
    p = p * z + 0x1.c71c72p-4f;
    p = p * z + 0x1.24924ap-3f;
    p = p * z + 0x1.99999ap-3f;
    p = p * z + 0x1.555556p-2f;
    p = p * z;
    f32x16 twoS = s * 2.0f;
    f32x16 logM = twoS + twoS * p;
    f32x16 fe = __builtin_convertvector(e, f32x16);
    return fe * 0x1.62e4p-1f + (logM + fe * 0x1.7f7d1cp-20f);
}

// PhiloxMaps.radius: √(−2·log u), u = w·2⁻³² + 2⁻³³.
INLINE f32x16 radius16(u32x16 w) {
    f32x16 u = __builtin_convertvector(w, f32x16) * 0x1p-32f + 0x1p-33f;
    f32x16 t = -2.0f * log16(u);
    return __builtin_elementwise_sqrt(t);
}

// PhiloxMaps.turn: cos and sin of 2π·(24-bit uniform of w).
INLINE void turn16(u32x16 w, f32x16 *cosine, f32x16 *sine) {
    i32x16 j = (i32x16)(w >> 8);
    i32x16 q = (j + 0x200000) >> 22;
    i32x16 rest = j - (q << 22);
    f32x16 phi = (__builtin_convertvector(rest, f32x16) + 0.5f) * 0x1p-24f;
    f32x16 y = phi * 0x1.921fb6p+2f;
    f32x16 y2 = y * y;
    f32x16 sp = splat_f(0x1.71de3ap-19f);
    sp = sp * y2 - 0x1.a01a02p-13f;
    sp = sp * y2 + 0x1.111112p-7f;
    sp = sp * y2 - 0x1.555556p-3f;
    f32x16 sinY = y + (sp * y2) * y;
    f32x16 cp = splat_f(-0x1.27e4fcp-22f);
    cp = cp * y2 + 0x1.a01a02p-16f;
    cp = cp * y2 - 0x1.6c16c2p-10f;
    cp = cp * y2 + 0x1.555556p-5f;
    cp = cp * y2 - 0.5f;
    f32x16 cosY = cp * y2 + 1.0f;
    u32x16 quarter = (u32x16)q & 3u;
    u32x16 odd = (u32x16){0} - (quarter & 1u);
    u32x16 cosBits = (u32x16)cosY, sinBits = (u32x16)sinY;
    u32x16 swapped = (cosBits ^ sinBits) & odd;
    u32x16 cosSign = ((quarter + 1u) & 2u) << 30, sinSign = (quarter & 2u) << 30;
    *cosine = (f32x16)(cosBits ^ swapped ^ cosSign);
    *sine = (f32x16)(sinBits ^ swapped ^ sinSign);
}

typedef float f32x32 __attribute__((vector_size(128)));
typedef float f32x64 __attribute__((vector_size(256)));

// Values j of 16 blocks as memory holds them, block after block: v0[0], v1[0], v2[0], v3[0],
// v0[1], … (two interleaving shuffles), then scaled and written or added.
INLINE void store(float *out, const f32x16 v[4], float scale, int accumulate) {
    f32x32 a = __builtin_shufflevector(v[0], v[1], 0, 16,1, 17,2, 18,3, 19,4, 20,5, 21,6, 22,7, 23,8, 24,9, 25,10, 26,11, 27,12, 28,13, 29,14, 30,15, 31);
    f32x32 b = __builtin_shufflevector(v[2], v[3], 0, 16,1, 17,2, 18,3, 19,4, 20,5, 21,6, 22,7, 23,8, 24,9, 25,10, 26,11, 27,12, 28,13, 29,14, 30,15, 31);
    f32x64 values = __builtin_shufflevector(a, b, 0, 1, 32, 33,2, 3, 34, 35,4, 5, 36, 37,6, 7, 38, 39,8, 9, 40, 41,10, 11, 42, 43,12, 13, 44, 45,14, 15, 46, 47,16, 17, 48, 49,18, 19, 50, 51,20, 21, 52, 53,22, 23, 54, 55,24, 25, 56, 57,26, 27, 58, 59,28, 29, 60, 61,30, 31, 62, 63);
    values = values * scale;
    f32x64 current;
    __builtin_memcpy(&current, out, sizeof current);
    if (accumulate) values = current + values;
    __builtin_memcpy(out, &values, sizeof values);
}

INLINE void values(blocks16 w, fathom_philox_distribution distribution, f32x16 v[4]) {
    if (distribution == FATHOM_PHILOX_UNIFORM) {
        v[0] = uniform24(w.w0); v[1] = uniform24(w.w1); v[2] = uniform24(w.w2); v[3] = uniform24(w.w3);
        return;
    }
    f32x16 r0 = radius16(w.w0), r1 = radius16(w.w2), c0, s0, c1, s1;
    turn16(w.w1, &c0, &s0);
    turn16(w.w3, &c1, &s1);
    int sineFirst = distribution == FATHOM_PHILOX_NORMAL_SINE_FIRST;
    v[sineFirst] = r0 * c0; v[1 - sineFirst] = r0 * s0; v[2 + sineFirst] = r1 * c1; v[3 - sineFirst] = r1 * s1;
}

INLINE void fill_body(float *out, uint64_t first, uint64_t blocks, fathom_philox_key key,
                      fathom_philox_distribution distribution, float scale, int accumulate) {
    uint64_t b = 0;
    for (; b + LANES <= blocks; b += LANES) {
        blocks16 w = philox16(first + b, key);
        f32x16 v[4];
        values(w, distribution, v);
        store(out + 4 * b, v, scale, accumulate);
    }
    if (b < blocks) {
        // The last partial pass computes 16 blocks and keeps those asked for.
        float tail[4 * LANES] = {0};
        for (uint64_t i = 0; i < 4 * (blocks - b); i++) tail[i] = out[4 * b + i];
        blocks16 w = philox16(first + b, key);
        f32x16 v[4];
        values(w, distribution, v);
        store(tail, v, scale, accumulate);
        for (uint64_t i = 0; i < 4 * (blocks - b); i++) out[4 * b + i] = tail[i];
    }
}

typedef _Bool bool16 __attribute__((ext_vector_type(16)));

// Bit j of the result set where v[j] < 0 (NaN and −0 compare false: they pack as +).
INLINE uint32_t negative_bits(const float *v) {
    f32x16 lo, hi;
    __builtin_memcpy(&lo, v, sizeof lo);
    __builtin_memcpy(&hi, v + 16, sizeof hi);
    bool16 a = __builtin_convertvector(lo < 0.0f, bool16), b = __builtin_convertvector(hi < 0.0f, bool16);
    uint16_t low, high;
    __builtin_memcpy(&low, &a, sizeof low);
    __builtin_memcpy(&high, &b, sizeof high);
    return (uint32_t)low | (uint32_t)high << 16;
}

// Words w0 ..< w0 + count of sign(x + noise·ξ), ξ value i = normal i of the stream (blocks 8w ..
// 8w + 7 for word w): two words per 16-block pass. Values past n pack as + (bit 0).
INLINE void sign_pack_body(const float *x, uint64_t n, uint64_t w0, uint64_t count, uint32_t *words, float noise,
                           fathom_philox_key key) {
    float tile[64];
    for (uint64_t w = w0; w < w0 + count; w += 2) {
        uint64_t begin = 32 * w, available = begin < n ? n - begin : 0;
        uint64_t take = available < 64 ? available : 64;
        for (uint64_t i = 0; i < take; i++) tile[i] = x[begin + i];
        for (uint64_t i = take; i < 64; i++) tile[i] = 0.0f;
        if (noise != 0.0f) {
            f32x16 v[4];
            values(philox16(8 * w, key), FATHOM_PHILOX_NORMAL, v);
            store(tile, v, noise, 1);
            // Coordinates past n stay + whatever the noise.
            for (uint64_t i = take; i < 64; i++) tile[i] = 0.0f;
        }
        words[w - w0] = negative_bits(tile);
        if (w + 1 < w0 + count) words[w + 1 - w0] = negative_bits(tile + 32);
    }
}

// The 16-lane masks of a word's tally: bit j set where lane j of `condition` is true (−1).
INLINE uint32_t lane_bits(i32x16 condition) {
    uint32_t bits = 0;
    for (int j = 0; j < 16; j++) bits |= (uint32_t)(condition[j] & 1) << j;
    return bits;
}

// Bits 0..7 of x moved to bits 0, 4, …, 28.
INLINE uint32_t spread4(uint32_t x) {
    x &= 0xFFu;
    x = (x | x << 12) & 0x000F000Fu;
    x = (x | x << 6) & 0x03030303u;
    return (x | x << 3) & 0x11111111u;
}

// The tie draws of vote word w: bit j set where the top bit of stream word 32w + j (block
// 8w + j/4, word j % 4) is set, from `pair`, the 16 blocks of words w & ~1 and (w & ~1) + 1.
INLINE uint32_t tie_draws(blocks16 pair, uint64_t w) {
    int shift = (int)(w & 1) * 8;
    return spread4(lane_bits((i32x16)pair.w0 < 0) >> shift) | spread4(lane_bits((i32x16)pair.w1 < 0) >> shift) << 1
        | spread4(lane_bits((i32x16)pair.w2 < 0) >> shift) << 2 | spread4(lane_bits((i32x16)pair.w3 < 0) >> shift) << 3;
}

// The votes of 16 consecutive words w ..< w + 16 (fewer at the end: `lanes`), lane l for word
// w + l, counted bit-sliced: plane k holds bit k of every coordinate's count of negative signs,
// and a ripple of ANDs and XORs adds a worker's words to all 512 counts at once. Then
// `negative` has bit j of lane l set where coordinate 32(w + l) + j has more negative than
// positive signs, and `tied` where the two counts are equal.
INLINE void count_votes(const uint32_t *words, int workers, uint64_t stride, uint64_t w, int lanes, u32x16 *negative,
                        u32x16 *tied) {
    u32x16 planes[32];
    int depth = 1;
    while (depth < 31 && (1 << depth) <= workers) depth++;
    for (int k = 0; k < depth; k++) planes[k] = (u32x16){0};
    for (int m = 0; m < workers; m++) {
        u32x16 carry = {0};
        const uint32_t *row = words + (uint64_t)m * stride + w;
        if (lanes == LANES) __builtin_memcpy(&carry, row, sizeof carry);
        else for (int l = 0; l < lanes; l++) carry[l] = row[l];
        for (int k = 0; k < depth; k++) {
            u32x16 next = planes[k] & carry;
            planes[k] ^= carry;
            carry = next;
        }
    }
    // count > ⌊M/2⌋ and count == ⌊M/2⌋ (a tie only for even M), compared plane by plane from the top.
    uint32_t half = (uint32_t)workers / 2;
    u32x16 greater = {0}, equal = (u32x16){0} + 0xFFFFFFFFu;
    for (int k = depth - 1; k >= 0; k--) {
        if (half >> k & 1u) equal &= planes[k];
        else {
            greater |= equal & planes[k];
            equal &= ~planes[k];
        }
    }
    *negative = greater;
    *tied = workers % 2 == 0 ? equal : (u32x16){0};
}

// The sign and tie words of the vote for words w0 ..< w0 + count (whole-vector indices): a
// random tie (tie 2) is decided into the sign from the top bit of stream word 32w + j (blocks
// tie_block + 8w + j/4, one Philox pass for two words), a plus tie (1) stays +; `emit(w,
// negative, zero)` receives each word's bits, zero holding the ties that remain (tie 0).
#define VOTE_WORDS(emit)                                                                                              \
    blocks16 pair = {{0}, {0}, {0}, {0}};                                                                              \
    uint64_t pairWord = UINT64_MAX;                                                                                    \
    for (uint64_t start = w0; start < w0 + count; start += LANES) {                                                    \
        int lanes = w0 + count - start < LANES ? (int)(w0 + count - start) : LANES;                                    \
        u32x16 negative, tied;                                                                                         \
        count_votes(words, workers, stride, start, lanes, &negative, &tied);                                           \
        for (int l = 0; l < lanes; l++) {                                                                              \
            uint64_t w = start + (uint64_t)l, begin = 32 * w, take = n - begin < 32 ? n - begin : 32;                 \
            uint32_t valid = take == 32 ? 0xFFFFFFFFu : (1u << take) - 1u;                                            \
            uint32_t minus = negative[l] & valid, zero = tied[l] & valid;                                              \
            if (tie == 2 && zero) {                                                                                    \
                uint64_t base = w & ~(uint64_t)1;                                                                      \
                if (base != pairWord) {                                                                                \
                    pair = philox16(tie_block + 8 * base, key);                                                        \
                    pairWord = base;                                                                                   \
                }                                                                                                      \
                minus |= tie_draws(pair, w) & zero;                                                                    \
            }                                                                                                          \
            if (tie != 0) zero = 0;                                                                                    \
            emit(w, minus, zero, take);                                                                                \
        }                                                                                                              \
    }

// 32 floats of word w: −scale where `minus` has the bit, 0 where `zero` has it, else +scale.
INLINE void unpack_word(uint32_t minus, uint32_t zero, float scale, float *out, uint64_t take) {
    const u32x16 shifts = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    const f32x16 plus = splat_f(scale), negative = splat_f(-scale);
    u32x16 plusBits, minusBits;
    __builtin_memcpy(&plusBits, &plus, sizeof plusBits);
    __builtin_memcpy(&minusBits, &negative, sizeof minusBits);
    float tile[32];
    for (int half = 0; half < 2; half++) {
        // All ones where the bit is set: selects without branches.
        u32x16 set = (u32x16)(((splat_u(minus >> (16 * half)) >> shifts) & 1u) != 0);
        u32x16 keep = (u32x16)(((splat_u(zero >> (16 * half)) >> shifts) & 1u) == 0);
        u32x16 v = ((minusBits & set) | (plusBits & ~set)) & keep;
        __builtin_memcpy(tile + 16 * half, &v, sizeof v);
    }
    if (take == 32) __builtin_memcpy(out, tile, sizeof tile);
    else for (uint64_t j = 0; j < take; j++) out[j] = tile[j];
}

// out[i] for coordinates of words w0 ..< w0 + count: the majority of the workers' signs, +1 or
// −1, a tie by `tie` (0 zero, 1 plus, 2 ±1 from the top bit of word tie_block·4 + i of `key`'s
// stream: a chunk of a longer vector draws the whole vector's words).
INLINE void sign_vote_body(const uint32_t *words, int workers, uint64_t stride, uint64_t n, uint64_t w0,
                           uint64_t count, float *out, int tie, fathom_philox_key key, uint64_t tie_block) {
#define EMIT_FLOATS(w, minus, zero, take) unpack_word(minus, zero, 1.0f, out + 32 * (w), take)
    VOTE_WORDS(EMIT_FLOATS)
#undef EMIT_FLOATS
}

// out[i] = −scale where bit i of the words is set, else +scale, and 0 where bit i of `ties` is
// set (ties may be NULL), for the coordinates of words w0 ..< w0 + count (out is the whole
// vector of n values).
INLINE void sign_unpack_body(const uint32_t *words, const uint32_t *ties, uint64_t n, uint64_t w0, uint64_t count,
                             float *out, float scale) {
    for (uint64_t w = w0; w < w0 + count; w++) {
        uint64_t begin = 32 * w, take = n - begin < 32 ? n - begin : 32;
        unpack_word(words[w], ties ? ties[w] : 0, scale, out + begin, take);
    }
}

// sign_vote_body's vote as packed words: bit j of signs[w] set where coordinate 32w + j votes
// −1, bit j of ties[w] (ties may be NULL) where it is a tie under tie 0 (sign bit clear); plus
// and random ties go into the sign bits, random ones drawn as sign_vote_body draws them.
INLINE void sign_vote_bits_body(const uint32_t *words, int workers, uint64_t stride, uint64_t n, uint64_t w0,
                                uint64_t count, uint32_t *signs, uint32_t *ties, int tie, fathom_philox_key key,
                                uint64_t tie_block) {
#define EMIT_BITS(w, minus, zero, take)                                                                               \
    do {                                                                                                               \
        signs[w] = minus;                                                                                              \
        if (ties) ties[w] = zero;                                                                                      \
    } while (0)
    VOTE_WORDS(EMIT_BITS)
#undef EMIT_BITS
}

// Error feedback's first pass over blocks first ..< first + count of FATHOM_EF_BLOCK
// coordinates (the last one ends at n): memory[i] = gamma·g[i] + memory[i] = p, and sums[b −
// first] = Σ|p| over block b, added on 16 lanes (coordinate i on lane i % 16) and the lanes in
// order, so the sums do not depend on the vector unit or on how blocks are split among threads.
INLINE void ef_accumulate_body(const float *g, float gamma, float *memory, uint64_t n, uint64_t first, uint64_t count,
                               float *sums) {
    const u32x16 magnitude = splat_u(0x7FFFFFFFu);
    for (uint64_t b = first; b < first + count; b++) {
        uint64_t begin = b * FATHOM_EF_BLOCK, end = begin + FATHOM_EF_BLOCK < n ? begin + FATHOM_EF_BLOCK : n;
        f32x16 total = {0};
        uint64_t i = begin;
        for (; i + LANES <= end; i += LANES) {
            f32x16 x, e;
            __builtin_memcpy(&x, g + i, sizeof x);
            __builtin_memcpy(&e, memory + i, sizeof e);
            f32x16 p = splat_f(gamma) * x + e;
            __builtin_memcpy(memory + i, &p, sizeof p);
            u32x16 bits;
            __builtin_memcpy(&bits, &p, sizeof bits);
            bits &= magnitude;
            f32x16 absolute;
            __builtin_memcpy(&absolute, &bits, sizeof absolute);
            total += absolute;
        }
        for (; i < end; i++) {
            float p = gamma * g[i] + memory[i];
            memory[i] = p;
            total[(i - begin) % LANES] += p < 0 ? -p : p;
        }
        float sum = 0.0f;
        for (int lane = 0; lane < LANES; lane++) sum += total[lane];
        sums[b - first] = sum;
    }
}

// Error feedback's second pass over [begin, end): Δ = p < 0 ? −scale : scale into out, and
// memory ← p − Δ.
INLINE void ef_compress_body(float *memory, float scale, float *out, uint64_t begin, uint64_t end) {
    const f32x16 plus = splat_f(scale), minus = splat_f(-scale);
    uint64_t i = begin;
    for (; i + LANES <= end; i += LANES) {
        f32x16 p;
        __builtin_memcpy(&p, memory + i, sizeof p);
        u32x16 negative = (u32x16)(p < 0), plusBits, minusBits, deltaBits;
        __builtin_memcpy(&plusBits, &plus, sizeof plusBits);
        __builtin_memcpy(&minusBits, &minus, sizeof minusBits);
        deltaBits = (minusBits & negative) | (plusBits & ~negative);
        f32x16 delta;
        __builtin_memcpy(&delta, &deltaBits, sizeof delta);
        f32x16 rest = p - delta;
        __builtin_memcpy(out + i, &delta, sizeof delta);
        __builtin_memcpy(memory + i, &rest, sizeof rest);
    }
    for (; i < end; i++) {
        float p = memory[i], delta = p < 0 ? -scale : scale;
        out[i] = delta;
        memory[i] = p - delta;
    }
}

// Each body compiled for AVX-512, AVX2 and the target's baseline vector unit (SSE2 on x86-64,
// NEON on arm64) by function target attributes, and a table of the three by variant number
// (0 baseline, 1 AVX2, 2 AVX-512; the baseline everywhere off x86).
#if defined(__x86_64__) || defined(__i386__)
#define VARIANTS(name, body, parameters, arguments)                                                                   \
    __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw"))) static void name##_avx512 parameters {               \
        body arguments;                                                                                                \
    }                                                                                                                  \
    __attribute__((target("avx2"))) static void name##_avx2 parameters { body arguments; }                             \
    static void name##_baseline parameters { body arguments; }                                                         \
    static void (*const name##_variants[3]) parameters = {name##_baseline, name##_avx2, name##_avx512};

int fathom_philox_fill_variants(void) {
    __builtin_cpu_init();
    int supported = 1;
    if (__builtin_cpu_supports("avx2")) supported |= 2;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw"))
        supported |= 4;
    return supported;
}
#else
#define VARIANTS(name, body, parameters, arguments)                                                                   \
    static void name##_baseline parameters { body arguments; }                                                         \
    static void (*const name##_variants[3]) parameters = {name##_baseline, name##_baseline, name##_baseline};

int fathom_philox_fill_variants(void) { return 1; }
#endif

VARIANTS(fill, fill_body,
         (float *out, uint64_t first, uint64_t blocks, fathom_philox_key key, fathom_philox_distribution distribution,
          float scale, int accumulate),
         (out, first, blocks, key, distribution, scale, accumulate))
VARIANTS(pack, sign_pack_body,
         (const float *x, uint64_t n, uint64_t w0, uint64_t count, uint32_t *words, float noise, fathom_philox_key key),
         (x, n, w0, count, words, noise, key))
VARIANTS(vote, sign_vote_body,
         (const uint32_t *words, int workers, uint64_t stride, uint64_t n, uint64_t w0, uint64_t count, float *out,
          int tie, fathom_philox_key key, uint64_t tie_block),
         (words, workers, stride, n, w0, count, out, tie, key, tie_block))
VARIANTS(vote_bits, sign_vote_bits_body,
         (const uint32_t *words, int workers, uint64_t stride, uint64_t n, uint64_t w0, uint64_t count, uint32_t *signs,
          uint32_t *ties, int tie, fathom_philox_key key, uint64_t tie_block),
         (words, workers, stride, n, w0, count, signs, ties, tie, key, tie_block))
VARIANTS(unpack, sign_unpack_body,
         (const uint32_t *words, const uint32_t *ties, uint64_t n, uint64_t w0, uint64_t count, float *out, float scale),
         (words, ties, n, w0, count, out, scale))
VARIANTS(ef_accumulate, ef_accumulate_body,
         (const float *g, float gamma, float *memory, uint64_t n, uint64_t first, uint64_t count, float *sums),
         (g, gamma, memory, n, first, count, sums))
VARIANTS(ef_compress, ef_compress_body, (float *memory, float scale, float *out, uint64_t begin, uint64_t end),
         (memory, scale, out, begin, end))

typedef void (*fill_function)(float *, uint64_t, uint64_t, fathom_philox_key, fathom_philox_distribution, float, int);

static int widest(void) {
    static int chosen = -1;
    int variant = __atomic_load_n(&chosen, __ATOMIC_ACQUIRE);
    if (variant < 0) {
        int supported = fathom_philox_fill_variants();
        variant = supported & 4 ? 2 : supported & 2 ? 1 : 0;
        __atomic_store_n(&chosen, variant, __ATOMIC_RELEASE);
    }
    return variant;
}

void fathom_sign_pack(int variant, const float *x, uint64_t n, uint64_t first_word, uint64_t words_count,
                      uint32_t *words, float noise, fathom_philox_key key) {
    pack_variants[variant < 0 ? widest() : variant](x, n, first_word, words_count, words, noise, key);
}

void fathom_sign_unpack(int variant, const uint32_t *words, const uint32_t *ties, uint64_t n, uint64_t first_word,
                        uint64_t words_count, float *out, float scale) {
    unpack_variants[variant < 0 ? widest() : variant](words, ties, n, first_word, words_count, out, scale);
}

void fathom_ef_accumulate(int variant, const float *g, float gamma, float *memory, uint64_t n, uint64_t first_block,
                          uint64_t blocks, float *sums) {
    ef_accumulate_variants[variant < 0 ? widest() : variant](g, gamma, memory, n, first_block, blocks, sums);
}

void fathom_ef_compress(int variant, float *memory, float scale, float *out, uint64_t begin, uint64_t end) {
    ef_compress_variants[variant < 0 ? widest() : variant](memory, scale, out, begin, end);
}

void fathom_sign_vote_bits(int variant, const uint32_t *words, int workers, uint64_t stride, uint64_t n,
                           uint64_t first_word, uint64_t words_count, uint32_t *signs, uint32_t *ties, int tie,
                           fathom_philox_key key, uint64_t tie_block) {
    vote_bits_variants[variant < 0 ? widest() : variant](words, workers, stride, n, first_word, words_count, signs, ties, tie,
                                                key, tie_block);
}

void fathom_sign_vote(int variant, const uint32_t *words, int workers, uint64_t stride, uint64_t n,
                      uint64_t first_word, uint64_t words_count, float *out, int tie, fathom_philox_key key,
                      uint64_t tie_block) {
    vote_variants[variant < 0 ? widest() : variant](words, workers, stride, n, first_word, words_count, out, tie, key,
                                            tie_block);
}

void fathom_philox_fill_with(int variant, float *out, uint64_t first, uint64_t blocks, fathom_philox_key key,
                             fathom_philox_distribution distribution, float scale, int accumulate) {
    fill_variants[variant](out, first, blocks, key, distribution, scale, accumulate);
}

void fathom_philox_fill(float *out, uint64_t first, uint64_t blocks, fathom_philox_key key,
                        fathom_philox_distribution distribution, float scale, int accumulate) {
    static fill_function fill;
    fill_function chosen = __atomic_load_n(&fill, __ATOMIC_ACQUIRE);
    if (!chosen) {
        int supported = fathom_philox_fill_variants();
        chosen = fill_variants[supported & 4 ? 2 : supported & 2 ? 1 : 0];
        __atomic_store_n(&fill, chosen, __ATOMIC_RELEASE);
    }
    chosen(out, first, blocks, key, distribution, scale, accumulate);
}
