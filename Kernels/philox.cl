// Philox4x32-10 on the device (Salmon et al., SC 2011), keyed exactly like the host's
// PhiloxStream: key = the 64-bit seed, counter = (block index low, block index high, step,
// stream). Word i of a stream is word i % 4 of block i / 4, so a value depends on its index alone,
// never on the launch shape, and is the same on the CPU, on OpenCL and on CUDA.
//
// The maps from words to floats are written as separate, individually rounded operations
// (FATHOM_MUL and friends: __fmul_rn and friends on CUDA; plain operations with contraction off on
// OpenCL, built with -cl-fp32-correctly-rounded-divide-sqrt), with our own log and sincos
// polynomials, so that uniforms and normals are bit-identical to Sources/Philox on every device.

#ifndef FATHOM_MUL
#define FATHOM_MUL(a, b) ((a) * (b))
#define FATHOM_ADD(a, b) ((a) + (b))
#define FATHOM_SUB(a, b) ((a) - (b))
#define FATHOM_DIV(a, b) ((a) / (b))
#define FATHOM_SQRT(a) sqrt(a)
#endif

#ifdef __OPENCL_VERSION__
#define FATHOM_NO_CONTRACTION _Pragma("OPENCL FP_CONTRACT OFF")
#else
#define FATHOM_NO_CONTRACTION
#endif

typedef struct { uint x, y, z, w; } philox_block;

// Ten rounds on counter (c0, c1, c2, c3) under key (k0, k1).
static philox_block philox4x32_10(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1) {
    for (int round = 0; round < 10; round++) {
        if (round > 0) {
            k0 += 0x9E3779B9u;
            k1 += 0xBB67AE85u;
        }
        const ulong p0 = (ulong)0xD2511F53u * c0;
        const ulong p1 = (ulong)0xCD9E8D57u * c2;
        const uint n0 = (uint)(p1 >> 32) ^ c1 ^ k0;
        const uint n1 = (uint)p1;
        const uint n2 = (uint)(p0 >> 32) ^ c3 ^ k1;
        const uint n3 = (uint)p0;
        c0 = n0; c1 = n1; c2 = n2; c3 = n3;
    }
    philox_block r;
    r.x = c0; r.y = c1; r.z = c2; r.w = c3;
    return r;
}

// Block `index` of stream (seed, step, stream); the seed arrives as two 32-bit halves.
static philox_block philox_stream_block(const uint seedLo, const uint seedHi, const uint step,
                                        const uint stream, const ulong index) {
    return philox4x32_10((uint)index, (uint)(index >> 32), step, stream, seedLo, seedHi);
}

// Word j (0..3) of a block.
static uint philox_word(const philox_block b, const int j) {
    return j == 0 ? b.x : (j == 1 ? b.y : (j == 2 ? b.z : b.w));
}

// Uniform in (0, 1) from the top 24 bits: (w >> 8 + 1/2) · 2^-24, exact.
static float philox_uniform(const uint w) {
    return (float)(w >> 8) * 0x1p-24f + 0x1p-25f;
}

// Uniform in (0, 1] from all 32 bits, for Box–Muller's radius, where the tail near 0 sets the
// largest normal: w · 2^-32 + 2^-33 (the product is exact, so the sum is one rounding).
static float philox_uniform32(const uint w) {
    return (float)w * 0x1p-32f + 0x1p-33f;
}

// Natural log for x in (0, 1]: x = m · 2^e with m in (√½, √2], log m = 2·atanh(s),
// s = (m − 1)/(m + 1), by its odd series to s^13 (|s| ≤ 0.172, truncation below 1e-11).
static float philox_log(const float x) {
    FATHOM_NO_CONTRACTION
    const uint bits = as_uint(x);
    int e = (int)(bits >> 23) - 127;
    float m = as_float((bits & 0x007FFFFFu) | 0x3F800000u);
    if (m > 0x1.6a09e6p+0f) {
        m = FATHOM_MUL(m, 0.5f);
        e += 1;
    }
    const float f = FATHOM_SUB(m, 1.0f);
    const float s = FATHOM_DIV(f, FATHOM_ADD(f, 2.0f));
    const float z = FATHOM_MUL(s, s);
    float p = 0x1.3b13b2p-4f; // 1/13
    p = FATHOM_ADD(FATHOM_MUL(p, z), 0x1.745d18p-4f); // 1/11
    p = FATHOM_ADD(FATHOM_MUL(p, z), 0x1.c71c72p-4f); // 1/9
    p = FATHOM_ADD(FATHOM_MUL(p, z), 0x1.24924ap-3f); // 1/7
    p = FATHOM_ADD(FATHOM_MUL(p, z), 0x1.99999ap-3f); // 1/5
    p = FATHOM_ADD(FATHOM_MUL(p, z), 0x1.555556p-2f); // 1/3
    p = FATHOM_MUL(p, z);
    const float twoS = FATHOM_MUL(s, 2.0f);
    const float logM = FATHOM_ADD(twoS, FATHOM_MUL(twoS, p));
    const float fe = (float)e;
    // ln 2 split so that e · hi is exact for |e| < 2^8.
    return FATHOM_ADD(FATHOM_MUL(fe, 0x1.62e4p-1f),
                      FATHOM_ADD(logM, FATHOM_MUL(fe, 0x1.7f7d1cp-20f)));
}

typedef struct { float c, s; } philox_sincos;

// cos and sin of 2π·u for the 24-bit uniform of word w, reduced exactly in integers: the
// nearest quarter turn q and the rest y in [−π/4, π/4], where short Taylor polynomials reach
// float precision.
static philox_sincos philox_turn(const uint w) {
    FATHOM_NO_CONTRACTION
    const int j = (int)(w >> 8);
    const int q = (j + 0x200000) >> 22;
    const int rest = j - q * 0x400000;
    const float phi = FATHOM_MUL(FATHOM_ADD((float)rest, 0.5f), 0x1p-24f);
    const float y = FATHOM_MUL(phi, 0x1.921fb6p+2f);
    const float y2 = FATHOM_MUL(y, y);
    float sp = 0x1.71de3ap-19f; // 1/9!
    sp = FATHOM_SUB(FATHOM_MUL(sp, y2), 0x1.a01a02p-13f); // 1/7!
    sp = FATHOM_ADD(FATHOM_MUL(sp, y2), 0x1.111112p-7f); // 1/5!
    sp = FATHOM_SUB(FATHOM_MUL(sp, y2), 0x1.555556p-3f); // 1/3!
    const float sinY = FATHOM_ADD(y, FATHOM_MUL(FATHOM_MUL(sp, y2), y));
    float cp = -0x1.27e4fcp-22f; // −1/10!
    cp = FATHOM_ADD(FATHOM_MUL(cp, y2), 0x1.a01a02p-16f); // 1/8!
    cp = FATHOM_SUB(FATHOM_MUL(cp, y2), 0x1.6c16c2p-10f); // 1/6!
    cp = FATHOM_ADD(FATHOM_MUL(cp, y2), 0x1.555556p-5f); // 1/4!
    cp = FATHOM_SUB(FATHOM_MUL(cp, y2), 0.5f);                    // 1/2!
    const float cosY = FATHOM_ADD(FATHOM_MUL(cp, y2), 1.0f);
    philox_sincos r;
    const int quarter = q & 3;
    r.c = quarter == 0 ? cosY : (quarter == 1 ? -sinY : (quarter == 2 ? -cosY : sinY));
    r.s = quarter == 0 ? sinY : (quarter == 1 ? cosY : (quarter == 2 ? -sinY : -cosY));
    return r;
}

// Box–Muller radius √(−2·log u) for the 32-bit uniform of word w; at most √(66·ln 2) ≈ 6.7635.
static float philox_radius(const uint w) {
    FATHOM_NO_CONTRACTION
    return FATHOM_SQRT(FATHOM_MUL(-2.0f, philox_log(philox_uniform32(w))));
}

typedef struct { float z0, z1, z2, z3; } philox_normals;

// The four normals of a block: words (x, y) give normals 0 and 1 (radius from x, angle from y,
// cosine then sine), words (z, w) normals 2 and 3. Each radius and angle is computed once.
static philox_normals philox_block_normals(const philox_block b) {
    FATHOM_NO_CONTRACTION
    const float r0 = philox_radius(b.x), r1 = philox_radius(b.z);
    const philox_sincos t0 = philox_turn(b.y), t1 = philox_turn(b.w);
    philox_normals n;
    n.z0 = FATHOM_MUL(r0, t0.c);
    n.z1 = FATHOM_MUL(r0, t0.s);
    n.z2 = FATHOM_MUL(r1, t1.c);
    n.z3 = FATHOM_MUL(r1, t1.s);
    return n;
}

// Normal j (0..3) of a block's normals.
static float philox_normal(const philox_normals n, const int j) {
    return j == 0 ? n.z0 : (j == 1 ? n.z1 : (j == 2 ? n.z2 : n.z3));
}

// ±1 from the top bit of a word (bit set: −1).
static float philox_rademacher(const uint w) {
    return (w >> 31) ? -1.0f : 1.0f;
}
