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

// out[i] for coordinates of words w0 ..< w0 + count: the majority of the workers' signs, +1 or
// −1, a tie by `tie` (0 zero, 1 plus, 2 ±1 from the top bit of word tie_block·4 + i of `key`'s
// stream: a chunk of a longer vector draws the whole vector's words).
INLINE void sign_vote_body(const uint32_t *words, int workers, uint64_t stride, uint64_t n, uint64_t w0,
                           uint64_t count, float *out, int tie, fathom_philox_key key, uint64_t tie_block) {
    const u32x16 shifts = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    for (uint64_t w = w0; w < w0 + count; w++) {
        u32x16 low = {0}, high = {0};
        for (int m = 0; m < workers; m++) {
            uint32_t word = words[(uint64_t)m * stride + w];
            low += ((u32x16){0} + word >> shifts) & 1u;
            high += ((u32x16){0} + (word >> 16) >> shifts) & 1u;
        }
        // d = in favour − against = workers − 2·against: +1 above 0, −1 below, a tie at 0 (+1
        // under the plus rule). Comparisons give −1 for true.
        float votes[32];
        i32x16 plusTie = (i32x16){0} - (tie == 1 ? 1 : 0);
        for (int half = 0; half < 2; half++) {
            i32x16 d = (i32x16){0} + workers - 2 * (i32x16)(half ? high : low);
            i32x16 r = (d < 0) - (d > 0) - ((d == 0) & plusTie);
            f32x16 v = __builtin_convertvector(r, f32x16);
            __builtin_memcpy(votes + 16 * half, &v, sizeof v);
        }
        uint64_t begin = 32 * w, take = n - begin < 32 ? n - begin : 32;
        if (tie == 2) {
            // Words 32w ..< 32w + 32 of the stream are blocks 8w ..< 8w + 8: half a pass.
            blocks16 b = philox16(tie_block + 8 * w, key);
            for (uint64_t j = 0; j < take; j++) {
                int against = (int)(j < 16 ? low[j] : high[j - 16]), inFavour = workers - against;
                if (inFavour != against) continue;
                uint32_t r = j % 4 == 0 ? b.w0[j / 4] : j % 4 == 1 ? b.w1[j / 4] : j % 4 == 2 ? b.w2[j / 4] : b.w3[j / 4];
                votes[j] = r >> 31 ? -1.0f : 1.0f;
            }
        }
        for (uint64_t j = 0; j < take; j++) out[begin + j] = votes[j];
    }
}

// out[i] = −scale where bit i of the words is set, else +scale, for the coordinates of words
// w0 ..< w0 + count (out is the whole vector of n values).
INLINE void sign_unpack_body(const uint32_t *words, uint64_t n, uint64_t w0, uint64_t count, float *out,
                             float scale) {
    const u32x16 shifts = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    const f32x16 plus = splat_f(scale), minus = splat_f(-scale);
    u32x16 plusBits, minusBits;
    __builtin_memcpy(&plusBits, &plus, sizeof plusBits);
    __builtin_memcpy(&minusBits, &minus, sizeof minusBits);
    for (uint64_t w = w0; w < w0 + count; w++) {
        float tile[32];
        for (int half = 0; half < 2; half++) {
            // All ones where the bit is set: a select without branches.
            u32x16 set = (u32x16)(((splat_u(words[w] >> (16 * half)) >> shifts) & 1u) != 0);
            u32x16 v = (minusBits & set) | (plusBits & ~set);
            __builtin_memcpy(tile + 16 * half, &v, sizeof v);
        }
        uint64_t begin = 32 * w, take = n - begin < 32 ? n - begin : 32;
        if (take == 32) __builtin_memcpy(out + begin, tile, sizeof tile);
        else for (uint64_t j = 0; j < take; j++) out[begin + j] = tile[j];
    }
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx512f,avx512dq,avx512vl,avx512bw")))
static void fill_avx512(float *out, uint64_t first, uint64_t blocks, fathom_philox_key key,
                        fathom_philox_distribution distribution, float scale, int accumulate) {
    fill_body(out, first, blocks, key, distribution, scale, accumulate);
}

__attribute__((target("avx2")))
static void fill_avx2(float *out, uint64_t first, uint64_t blocks, fathom_philox_key key,
                      fathom_philox_distribution distribution, float scale, int accumulate) {
    fill_body(out, first, blocks, key, distribution, scale, accumulate);
}
#endif

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx512f,avx512dq,avx512vl,avx512bw")))
static void pack_avx512(const float *x, uint64_t n, uint64_t w0, uint64_t count, uint32_t *words, float noise,
                        fathom_philox_key key) {
    sign_pack_body(x, n, w0, count, words, noise, key);
}

__attribute__((target("avx2")))
static void pack_avx2(const float *x, uint64_t n, uint64_t w0, uint64_t count, uint32_t *words, float noise,
                      fathom_philox_key key) {
    sign_pack_body(x, n, w0, count, words, noise, key);
}

__attribute__((target("avx512f,avx512dq,avx512vl,avx512bw")))
static void vote_avx512(const uint32_t *words, int workers, uint64_t stride, uint64_t n, uint64_t w0, uint64_t count,
                        float *out, int tie, fathom_philox_key key, uint64_t tie_block) {
    sign_vote_body(words, workers, stride, n, w0, count, out, tie, key, tie_block);
}

__attribute__((target("avx2")))
static void vote_avx2(const uint32_t *words, int workers, uint64_t stride, uint64_t n, uint64_t w0, uint64_t count,
                      float *out, int tie, fathom_philox_key key, uint64_t tie_block) {
    sign_vote_body(words, workers, stride, n, w0, count, out, tie, key, tie_block);
}
#endif

static void pack_baseline(const float *x, uint64_t n, uint64_t w0, uint64_t count, uint32_t *words, float noise,
                          fathom_philox_key key) {
    sign_pack_body(x, n, w0, count, words, noise, key);
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx512f,avx512dq,avx512vl,avx512bw")))
static void unpack_avx512(const uint32_t *words, uint64_t n, uint64_t w0, uint64_t count, float *out, float scale) {
    sign_unpack_body(words, n, w0, count, out, scale);
}

__attribute__((target("avx2")))
static void unpack_avx2(const uint32_t *words, uint64_t n, uint64_t w0, uint64_t count, float *out, float scale) {
    sign_unpack_body(words, n, w0, count, out, scale);
}
#endif

static void unpack_baseline(const uint32_t *words, uint64_t n, uint64_t w0, uint64_t count, float *out, float scale) {
    sign_unpack_body(words, n, w0, count, out, scale);
}

static void vote_baseline(const uint32_t *words, int workers, uint64_t stride, uint64_t n, uint64_t w0, uint64_t count,
                          float *out, int tie, fathom_philox_key key, uint64_t tie_block) {
    sign_vote_body(words, workers, stride, n, w0, count, out, tie, key, tie_block);
}

// The target's baseline vector unit (SSE2 on x86-64, NEON on arm64).
static void fill_baseline(float *out, uint64_t first, uint64_t blocks, fathom_philox_key key,
                          fathom_philox_distribution distribution, float scale, int accumulate) {
    fill_body(out, first, blocks, key, distribution, scale, accumulate);
}

typedef void (*fill_function)(float *, uint64_t, uint64_t, fathom_philox_key, fathom_philox_distribution, float, int);

#if defined(__x86_64__) || defined(__i386__)
static const fill_function variants[3] = {fill_baseline, fill_avx2, fill_avx512};

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
static const fill_function variants[3] = {fill_baseline, fill_baseline, fill_baseline};

int fathom_philox_fill_variants(void) { return 1; }
#endif

typedef void (*pack_function)(const float *, uint64_t, uint64_t, uint64_t, uint32_t *, float, fathom_philox_key);
typedef void (*vote_function)(const uint32_t *, int, uint64_t, uint64_t, uint64_t, uint64_t, float *, int,
                              fathom_philox_key, uint64_t);
typedef void (*unpack_function)(const uint32_t *, uint64_t, uint64_t, uint64_t, float *, float);
#if defined(__x86_64__) || defined(__i386__)
static const pack_function packs[3] = {pack_baseline, pack_avx2, pack_avx512};
static const vote_function votes[3] = {vote_baseline, vote_avx2, vote_avx512};
static const unpack_function unpacks[3] = {unpack_baseline, unpack_avx2, unpack_avx512};
#else
static const pack_function packs[3] = {pack_baseline, pack_baseline, pack_baseline};
static const vote_function votes[3] = {vote_baseline, vote_baseline, vote_baseline};
static const unpack_function unpacks[3] = {unpack_baseline, unpack_baseline, unpack_baseline};
#endif

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
    packs[variant < 0 ? widest() : variant](x, n, first_word, words_count, words, noise, key);
}

void fathom_sign_unpack(int variant, const uint32_t *words, uint64_t n, uint64_t first_word, uint64_t words_count,
                        float *out, float scale) {
    unpacks[variant < 0 ? widest() : variant](words, n, first_word, words_count, out, scale);
}

void fathom_sign_vote(int variant, const uint32_t *words, int workers, uint64_t stride, uint64_t n,
                      uint64_t first_word, uint64_t words_count, float *out, int tie, fathom_philox_key key,
                      uint64_t tie_block) {
    votes[variant < 0 ? widest() : variant](words, workers, stride, n, first_word, words_count, out, tie, key,
                                            tie_block);
}

void fathom_philox_fill_with(int variant, float *out, uint64_t first, uint64_t blocks, fathom_philox_key key,
                             fathom_philox_distribution distribution, float scale, int accumulate) {
    variants[variant](out, first, blocks, key, distribution, scale, accumulate);
}

void fathom_philox_fill(float *out, uint64_t first, uint64_t blocks, fathom_philox_key key,
                        fathom_philox_distribution distribution, float scale, int accumulate) {
    static fill_function fill;
    fill_function chosen = __atomic_load_n(&fill, __ATOMIC_ACQUIRE);
    if (!chosen) {
        int supported = fathom_philox_fill_variants();
        chosen = variants[supported & 4 ? 2 : supported & 2 ? 1 : 0];
        __atomic_store_n(&fill, chosen, __ATOMIC_RELEASE);
    }
    chosen(out, first, blocks, key, distribution, scale, accumulate);
}
