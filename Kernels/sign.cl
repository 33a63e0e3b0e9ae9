// 1-bit sign compression for signSGD, majority vote and medianSGD. Packed signs are LSB-first
// uint32 words: element i is bit i % 32 of word i / 32, bit 1 means negative, so zero (and the
// padding past the last element) packs as +. Noise for noisy signSGD (Chen et al., NeurIPS
// 2020) comes from the Philox prelude: normal i of the worker's stream (seed, step, stream).

// words[w] = the signs of x[32w … 32w + 31] + noise · ξ (noise 0: the plain signs). One
// work-item per word; the word's 32 normals are Philox blocks 8w … 8w + 7.
__kernel void sign_pack(const int n, __global const float *x, const int offX,
                        __global uint *words, const int offWords, const float noise,
                        const uint seedLo, const uint seedHi, const uint step, const uint stream) {
    const int w = get_global_id(0);
    if ((long)w * 32 >= n) return;
    uint bits = 0;
    for (int b = 0; b < 8; b++) {
        philox_normals z;
        z.z0 = 0.0f; z.z1 = 0.0f; z.z2 = 0.0f; z.z3 = 0.0f;
        if (noise != 0.0f)
            z = philox_block_normals(philox_stream_block(seedLo, seedHi, step, stream, (ulong)w * 8 + b));
        for (int j = 0; j < 4; j++) {
            const int i = w * 32 + b * 4 + j;
            if (i >= n) break;
            const float v = noise != 0.0f ? FATHOM_ADD(x[offX + i], FATHOM_MUL(noise, philox_normal(z, j))) : x[offX + i];
            if (v < 0.0f) bits |= 1u << (b * 4 + j);
        }
    }
    words[offWords + w] = bits;
}

// x[i] = bit i ? −scale : +scale, or 0 where bit i of the tie words is set (hasTies): the
// ternary result of a vote whose ties give no update.
__kernel void sign_unpack(const int n, __global const uint *words, const int offWords,
                          __global const uint *ties, const int offTies, const int hasTies,
                          __global float *x, const int offX, const float scale) {
    const int i = get_global_id(0);
    if (i >= n) return;
    const float v = ((words[offWords + i / 32] >> (i % 32)) & 1u) ? -scale : scale;
    x[offX + i] = hasTies && ((ties[offTies + i / 32] >> (i % 32)) & 1u) ? 0.0f : v;
}

// The vote of word w of M packed sign vectors (worker m's words at offWords + m·stride): bit b
// of the result's `negative` set where coordinate 32w + b has more − than + signs, of `tied`
// where the two are equal; each worker's word is read once. Ties under tie 1 (+1) are left
// positive; under tie 2 they are drawn from the shared stream (coordinate i takes word
// 4·tieBlock + i: a chunk of a longer vector draws the whole vector's words) into `negative`;
// under tie 0 they stay in `tied`. Bits past n are clear.
typedef struct { uint negative, tied; } vote_bits;

static vote_bits vote_word(const int n, const int workers, __global const uint *words, const int offWords,
                           const int stride, const int w, const int tie, const uint seedLo, const uint seedHi,
                           const uint step, const uint stream, const ulong tieBlock) {
    int counts[32];
    for (int b = 0; b < 32; b++) counts[b] = 0;
    for (int m = 0; m < workers; m++) {
        const uint word = words[offWords + (long)m * stride + w];
        for (int b = 0; b < 32; b++) counts[b] += (word >> b) & 1u;
    }
    vote_bits r;
    r.negative = 0;
    r.tied = 0;
    for (int b = 0; b < 32; b++) {
        const int i = w * 32 + b;
        if (i >= n) break;
        const int negative = counts[b], positive = workers - negative;
        if (negative > positive) r.negative |= 1u << b;
        if (negative != positive) continue;
        if (tie == 0) r.tied |= 1u << b;
        else if (tie == 2) {
            const philox_block draw = philox_stream_block(seedLo, seedHi, step, stream, tieBlock + (ulong)i / 4);
            if (philox_rademacher(philox_word(draw, i % 4)) < 0.0f) r.negative |= 1u << b;
        }
    }
    return r;
}

// The majority vote: out[i] = +1 when more workers sent + than −, −1 for the reverse, and for a
// tie (even M) 0 (tie 0: no update), +1 (tie 1, the reference codes' convention) or ±1 from the
// shared Philox stream (tie 2: unbiased). One work-item per word of 32 coordinates.
__kernel void sign_vote(const int n, const int workers, __global const uint *words, const int offWords,
                        const int stride, __global float *out, const int offOut, const int tie,
                        const uint seedLo, const uint seedHi, const uint step, const uint stream,
                        const uint tieBlockLo, const uint tieBlockHi) {
    const int w = get_global_id(0);
    if ((long)w * 32 >= n) return;
    const vote_bits v = vote_word(n, workers, words, offWords, stride, w, tie, seedLo, seedHi, step, stream,
                                  ((ulong)tieBlockHi << 32) | tieBlockLo);
    for (int b = 0; b < 32; b++) {
        const int i = w * 32 + b;
        if (i >= n) break;
        out[offOut + i] = ((v.tied >> b) & 1u) ? 0.0f : (((v.negative >> b) & 1u) ? -1.0f : 1.0f);
    }
}

// The vote as packed words, what a rank sends of its chunk: signs[w] = the negative bits,
// and (hasTies) ties[w] = the ties that give 0 (tie 0; their sign bits clear). One work-item
// per word.
__kernel void sign_vote_bits(const int n, const int workers, __global const uint *words, const int offWords,
                             const int stride, __global uint *signs, const int offSigns,
                             __global uint *ties, const int offTies, const int hasTies, const int tie,
                             const uint seedLo, const uint seedHi, const uint step, const uint stream,
                             const uint tieBlockLo, const uint tieBlockHi) {
    const int w = get_global_id(0);
    if ((long)w * 32 >= n) return;
    const vote_bits v = vote_word(n, workers, words, offWords, stride, w, tie, seedLo, seedHi, step, stream,
                                  ((ulong)tieBlockHi << 32) | tieBlockLo);
    signs[offSigns + w] = v.negative;
    if (hasTies) ties[offTies + w] = v.tied;
}

#ifndef MEDIAN_MAX_WORKERS
#define MEDIAN_MAX_WORKERS 64 // the most worker vectors coordinate_median takes
#endif

// out[i] = the median of x[m·stride + i] over m < workers (the mean of the two middle values
// for an even count), by insertion sort of the coordinate's values.
__kernel void coordinate_median(const int n, const int workers, __global const float *x, const int offX,
                                const int stride, __global float *out, const int offOut) {
    const int i = get_global_id(0);
    if (i >= n) return;
    float v[MEDIAN_MAX_WORKERS];
    for (int m = 0; m < workers; m++) {
        const float value = x[offX + m * stride + i];
        int k = m;
        while (k > 0 && v[k - 1] > value) {
            v[k] = v[k - 1];
            k--;
        }
        v[k] = value;
    }
    out[offOut + i] = (workers & 1) ? v[workers / 2] : 0.5f * (v[workers / 2 - 1] + v[workers / 2]);
}

#ifndef EF_GROUP
#define EF_GROUP 256 // work-items of the error-feedback norm reduction; a power of two
#endif

// Error feedback, step 1 (Karimireddy et al. 2019): p = γ·g + e into e, and ‖p‖₁ into
// norm[0], one work-group in a fixed tree (the same sum every run).
__kernel __attribute__((reqd_work_group_size(EF_GROUP, 1, 1)))
void ef_accumulate(const int n, const float gamma, __global const float *g, const int offG,
                   __global float *e, const int offE, __global float *norm, const int offNorm) {
    const int t = get_local_id(0);
    __local float partial[EF_GROUP];
    float sum = 0.0f;
    for (int i = t; i < n; i += EF_GROUP) {
        const float p = FATHOM_ADD(FATHOM_MUL(gamma, g[offG + i]), e[offE + i]);
        e[offE + i] = p;
        sum += fabs(p);
    }
    partial[t] = sum;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int w = EF_GROUP / 2; w > 0; w >>= 1) {
        if (t < w) partial[t] += partial[t + w];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (t == 0) norm[offNorm] = partial[0];
}

// Error feedback, step 2: Δ = (‖p‖₁/n)·sign(p) into out (sign(0) = +), and e ← p − Δ. p is in e.
__kernel void ef_compress(const int n, __global float *e, const int offE, __global const float *norm,
                          const int offNorm, __global float *out, const int offOut) {
    const int i = get_global_id(0);
    if (i >= n) return;
    const float scale = norm[offNorm] / (float)n;
    const float p = e[offE + i];
    const float delta = p < 0.0f ? -scale : scale;
    out[offOut + i] = delta;
    e[offE + i] = FATHOM_SUB(p, delta);
}
