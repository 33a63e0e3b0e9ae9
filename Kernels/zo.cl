// Zeroth-order optimisation: random directions, perturbations, the fused restore-and-update,
// and the projected steps and objectives of black-box attacks.
//
// Directions follow one contract on every device (../shared/reference/zo.md §13): direction j of
// problem b at a step is the Philox stream with key = the step seed and counter words
// (block, block, tensor, direction) = (…, …, tensorBase + b, firstDirection + j). Element i of a
// Gaussian (or sphere) direction is normal i of that stream (block i / 4, lane i % 4: radius from
// word 0, angle from word 1, the sine's normal first, as cuRAND's curand_normal4; that is normal
// i ^ 1 of the stream in the prelude's cosine-first order); a Rademacher element is bit i % 32 of
// word (i / 32) % 4 of block i / 128 (set: −1), 32 coordinates per word; a coordinate direction
// is the unit vector e_c, c = word 0 of block 0 mod n (random) or the direction index mod n
// (cyclic). A value depends on (seed, tensor, direction, i) alone, never on the launch shape.
//
// Work-items handle quads: elements 4k … 4k + 3 of one direction, one Philox block for Gaussian
// directions. Arithmetic is written with FATHOM_MUL/ADD so that every device, the CPU included,
// rounds the same operations in the same order.

#ifndef ZO_GROUP
#define ZO_GROUP 256 // work-items of a direction-norm reduction; a power of two
#endif

// distribution: 0 Gaussian, 1 sphere (Gaussian, normalised by the caller), 2 Rademacher,
// 3 random coordinate, 4 cyclic coordinate.
static philox_normals zo_quad(const int distribution, const uint seedLo, const uint seedHi, const uint tensor,
                              const uint direction, const long k, const int n) {
    philox_normals z;
    if (distribution <= 1) {
        // cuRAND's order within each pair: the sine's normal first.
        const philox_normals p = philox_block_normals(philox_stream_block(seedLo, seedHi, tensor, direction, (ulong)k));
        z.z0 = p.z1; z.z1 = p.z0; z.z2 = p.z3; z.z3 = p.z2;
        return z;
    }
    if (distribution == 2) {
        const philox_block b = philox_stream_block(seedLo, seedHi, tensor, direction, (ulong)(k / 32));
        const uint w = philox_word(b, (int)((k / 8) % 4)) >> ((k % 8) * 4);
        z.z0 = (w & 1u) ? -1.0f : 1.0f;
        z.z1 = (w & 2u) ? -1.0f : 1.0f;
        z.z2 = (w & 4u) ? -1.0f : 1.0f;
        z.z3 = (w & 8u) ? -1.0f : 1.0f;
        return z;
    }
    const long c = distribution == 3
        ? (long)(philox_stream_block(seedLo, seedHi, tensor, direction, 0).x % (uint)n)
        : (long)(direction % (uint)n);
    z.z0 = c == 4 * k ? 1.0f : 0.0f;
    z.z1 = c == 4 * k + 1 ? 1.0f : 0.0f;
    z.z2 = c == 4 * k + 2 ? 1.0f : 0.0f;
    z.z3 = c == 4 * k + 3 ? 1.0f : 0.0f;
    return z;
}

// out[b·q + j] = 1 / ‖z_{b,j}‖ over the n elements of a Gaussian direction: one work-group per
// (problem, direction), item t summing quads t, t + ZO_GROUP, … (lanes in order), then a fixed
// tree, so every run and every device gives the same float.
__kernel __attribute__((reqd_work_group_size(ZO_GROUP, 1, 1)))
void zo_inverse_norms(const int n, const int q, const uint seedLo, const uint seedHi, const uint tensorBase,
                      const uint firstDirection, __global float *out, const int offOut) {
    FATHOM_NO_CONTRACTION
    const int g = get_group_id(0);
    const int t = get_local_id(0);
    const int b = g / q, j = g % q;
    __local float partial[ZO_GROUP];
    float sum = 0.0f;
    const long quads = ((long)n + 3) / 4;
    for (long k = t; k < quads; k += ZO_GROUP) {
        const philox_normals z = zo_quad(0, seedLo, seedHi, tensorBase + b, firstDirection + j, k, n);
        for (int e = 0; e < 4; e++) {
            if (4 * k + e >= n) break;
            const float v = philox_normal(z, e);
            sum = FATHOM_ADD(sum, FATHOM_MUL(v, v));
        }
    }
    partial[t] = sum;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int w = ZO_GROUP / 2; w > 0; w >>= 1) {
        if (t < w) partial[t] = FATHOM_ADD(partial[t], partial[t + w]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (t == 0) out[offOut + g] = FATHOM_DIV(1.0f, FATHOM_SQRT(partial[0]));
}

// Points around problems' centres, one per (problem b, direction j):
//   dst[b·dstProblem + j·dstDirection + i] = src[b·srcProblem + i] + scale·c_{b,j}·z_{b,j}[i]
// with c = invNorms[b·q + j] for normalised (sphere) directions, else 1; scale 0 copies. dst may
// be src (an in-place perturbation of one vector: q = 1, strides 0). Grid: (quads, q, problems).
__kernel void zo_perturb(const int n, const int q, const int problems,
                         __global float *dst, const int offDst, const int dstProblem, const int dstDirection,
                         __global const float *src, const int offSrc, const int srcProblem,
                         const int distribution, const uint seedLo, const uint seedHi, const uint tensorBase,
                         const uint firstDirection, __global const float *invNorms, const int offInv,
                         const int normalised, const float scale) {
    FATHOM_NO_CONTRACTION
    const long k = get_global_id(0);
    const int j = get_global_id(1), b = get_global_id(2);
    if (4 * k >= n || j >= q || b >= problems) return;
    const long to = offDst + (long)b * dstProblem + (long)j * dstDirection;
    const long from = offSrc + (long)b * srcProblem;
    if (scale == 0.0f) {
        for (int e = 0; e < 4 && 4 * k + e < n; e++) dst[to + 4 * k + e] = src[from + 4 * k + e];
        return;
    }
    const float c = normalised ? FATHOM_MUL(scale, invNorms[offInv + b * q + j]) : scale;
    const philox_normals z = zo_quad(distribution, seedLo, seedHi, tensorBase + b, firstDirection + j, k, n);
    for (int e = 0; e < 4 && 4 * k + e < n; e++) {
        const long i = 4 * k + e;
        dst[to + i] = FATHOM_ADD(src[from + i], FATHOM_MUL(c, philox_normal(z, e)));
    }
}

// A combination of a problem's q directions, z regenerated, never stored:
//   out[b·n + i] = (accumulate ? decay·out[b·n + i] : 0) + Σ_j (coef[b·q + j]·c_{b,j})·z_{b,j}[i]
// The gradient estimate ĝ (accumulate 0), or the fused restore-and-update of MeZO-style training
// θ ← (1 − η·λ)·θ + Σ_j (restore_j − η·g_j/Q)·u_j (accumulate 1), one pass over the parameters.
__kernel void zo_combine(const int n, const int q, const int problems,
                         __global float *out, const int offOut,
                         const int distribution, const uint seedLo, const uint seedHi, const uint tensorBase,
                         const uint firstDirection, __global const float *invNorms, const int offInv,
                         const int normalised, __global const float *coef, const int offCoef,
                         const float decay, const int accumulate) {
    FATHOM_NO_CONTRACTION
    const long k = get_global_id(0);
    const int b = get_global_id(1);
    if (4 * k >= n || b >= problems) return;
    float acc[4];
    for (int e = 0; e < 4; e++)
        acc[e] = accumulate && 4 * k + e < n ? FATHOM_MUL(decay, out[offOut + (long)b * n + 4 * k + e]) : 0.0f;
    for (int j = 0; j < q; j++) {
        const float a = coef[offCoef + b * q + j];
        const float c = normalised ? FATHOM_MUL(a, invNorms[offInv + b * q + j]) : a;
        const philox_normals z = zo_quad(distribution, seedLo, seedHi, tensorBase + b, firstDirection + j, k, n);
        for (int e = 0; e < 4; e++) acc[e] = FATHOM_ADD(acc[e], FATHOM_MUL(c, philox_normal(z, e)));
    }
    for (int e = 0; e < 4 && 4 * k + e < n; e++) out[offOut + (long)b * n + 4 * k + e] = acc[e];
}

// Projected directional derivatives from function values, on the device (no read-back). The q
// values of problem b start at b·valueStride: forward differences [f0, f1, …, fq], central
// [f+1, f−1, f+2, f−2, …]. g = factor·(f+ − f−), factor folding in the scaling (1/μ, 1/(2μ),
// d/μ), the loss normaliser and 1/Q;
//   gradients[b·q + j] = g,  coefficients[b·q + j] = (j = q − 1 ? restore : 0) + weight·(sign ? sign(g) : g)
__kernel void zo_coefficients(const int q, const int problems, __global const float *values, const int offValues,
                              const int valueStride, const int central, const float factor, const float restore,
                              const float weight, const int useSign, __global float *gradients, const int offG,
                              __global float *coefficients, const int offC) {
    FATHOM_NO_CONTRACTION
    const int j = get_global_id(0), b = get_global_id(1);
    if (j >= q || b >= problems) return;
    const long base = offValues + (long)b * valueStride;
    const float plus = central ? values[base + 2 * j] : values[base + 1 + j];
    const float minus = central ? values[base + 2 * j + 1] : values[base];
    const float g = FATHOM_MUL(factor, FATHOM_SUB(plus, minus));
    const float h = useSign ? (g > 0.0f ? 1.0f : (g < 0.0f ? -1.0f : 0.0f)) : g;
    gradients[offG + b * q + j] = g;
    coefficients[offC + b * q + j] = FATHOM_ADD(j == q - 1 ? restore : 0.0f, FATHOM_MUL(weight, h));
}

// One projected step of x with the estimate g, element-wise:
//   method 0 (ZO-SGD):     x − rate·g
//   method 1 (ZO-signSGD): x − rate·sign(g)
//   method 2 (ZO-AdaMM, Chen et al. 2019): m = β1·m + (1 − β1)·g, v = β2·v + (1 − β2)·g²,
//             v̂ = max(v̂, v), x − rate·m/√v̂ (no ε: v̂ starts at 1e-7)
// then, when bounded, clipped to [lower, upper]: the Euclidean projection onto a box, and the
// Mahalanobis one too, since a box is separable (zo.md §6).
__kernel void zo_projected_step(const int n, const int method, const float rate, const float beta1, const float beta2,
                                __global float *x, const int offX, __global const float *g, const int offG,
                                __global float *m, const int offM, __global float *v, const int offV,
                                __global float *vhat, const int offVhat, const int bounded,
                                __global const float *lower, const int offLower,
                                __global const float *upper, const int offUpper) {
    FATHOM_NO_CONTRACTION
    const int i = get_global_id(0);
    if (i >= n) return;
    const float gi = g[offG + i];
    float step;
    if (method == 0) {
        step = gi;
    } else if (method == 1) {
        step = gi > 0.0f ? 1.0f : (gi < 0.0f ? -1.0f : 0.0f);
    } else {
        const float mi = FATHOM_ADD(FATHOM_MUL(beta1, m[offM + i]), FATHOM_MUL(FATHOM_SUB(1.0f, beta1), gi));
        const float vi = FATHOM_ADD(FATHOM_MUL(beta2, v[offV + i]),
                                    FATHOM_MUL(FATHOM_SUB(1.0f, beta2), FATHOM_MUL(gi, gi)));
        const float hi = vhat[offVhat + i] > vi ? vhat[offVhat + i] : vi;
        m[offM + i] = mi;
        v[offV + i] = vi;
        vhat[offVhat + i] = hi;
        step = FATHOM_DIV(mi, FATHOM_SQRT(hi));
    }
    float xi = FATHOM_SUB(x[offX + i], FATHOM_MUL(rate, step));
    if (bounded) {
        const float lo = lower[offLower + i], up = upper[offUpper + i];
        xi = xi < lo ? lo : (xi > up ? up : xi);
    }
    x[offX + i] = xi;
}

// The untargeted black-box attack objective (Carlini–Wagner margin, as in the ZO-AdaMM code) of
// query rows: row r belongs to problem b = r / rowsPerProblem, whose original image and true
// class are originals[b] and labels[b];
//   margin[r] = z_t − max_{j≠t} z_j   (= log p_t − max_{j≠t} log p_j: the normaliser cancels)
//   distortion[r] = ‖points[r] − originals[b]‖²
//   values[r] = weight·max(margin, −κ) + distortion
// (a negative margin means the row is misclassified).
__kernel void attack_objective(const int rows, const int d, const int classes, const int rowsPerProblem,
                               __global const float *logits, const int offLogits,
                               __global const int *labels, const int offLabels,
                               __global const float *points, const int offPoints,
                               __global const float *originals, const int offOriginals,
                               const float weight, const float kappa,
                               __global float *values, const int offValues, __global float *margins, const int offMargins,
                               __global float *distortions, const int offDistortions) {
    FATHOM_NO_CONTRACTION
    const int r = get_global_id(0);
    if (r >= rows) return;
    const int b = r / rowsPerProblem;
    const int t = labels[offLabels + b];
    __global const float *z = logits + offLogits + (long)r * classes;
    float other = -INFINITY;
    for (int c = 0; c < classes; c++)
        if (c != t && z[c] > other) other = z[c];
    const float margin = FATHOM_SUB(z[t], other);
    float sum = 0.0f;
    __global const float *p = points + offPoints + (long)r * d;
    __global const float *o = originals + offOriginals + (long)b * d;
    for (int i = 0; i < d; i++) {
        const float e = FATHOM_SUB(p[i], o[i]);
        sum = FATHOM_ADD(sum, FATHOM_MUL(e, e));
    }
    margins[offMargins + r] = margin;
    distortions[offDistortions + r] = sum;
    values[offValues + r] = FATHOM_ADD(FATHOM_MUL(weight, margin > -kappa ? margin : -kappa), sum);
}

// First success of each problem, kept on the device over the iterations: when problem b's
// current point (its row 0) is misclassified for the first time, record the iteration and the
// distortion ‖x − x0‖² there.
__kernel void attack_track(const int problems, const int rowsPerProblem, const int iteration,
                           __global const float *margins, const int offMargins,
                           __global const float *distortions, const int offDistortions,
                           __global float *firstIteration, const int offFirst,
                           __global float *firstDistortion, const int offFirstDistortion) {
    const int b = get_global_id(0);
    if (b >= problems) return;
    const long r = (long)b * rowsPerProblem;
    if (firstIteration[offFirst + b] < 0.0f && margins[offMargins + r] < 0.0f) {
        firstIteration[offFirst + b] = (float)iteration;
        firstDistortion[offFirstDistortion + b] = distortions[offDistortions + r];
    }
}

// Universal perturbations: row (n, j) of the model input is image n plus candidate perturbation
// j, clipped to the box: out[(n·candidates + j)·d + i] = clip(images[n·d + i] + deltas[j·d + i],
// lower[i], upper[i]). Grid: (d, candidates, images).
__kernel void attack_broadcast(const int d, const int candidates, const int images,
                               __global const float *imagesIn, const int offImages,
                               __global const float *deltas, const int offDeltas,
                               __global const float *lower, const int offLower,
                               __global const float *upper, const int offUpper,
                               __global float *out, const int offOut) {
    FATHOM_NO_CONTRACTION
    const int i = get_global_id(0), j = get_global_id(1), n = get_global_id(2);
    if (i >= d || j >= candidates || n >= images) return;
    const float v = FATHOM_ADD(imagesIn[offImages + (long)n * d + i], deltas[offDeltas + (long)j * d + i]);
    const float lo = lower[offLower + i], up = upper[offUpper + i];
    out[offOut + ((long)n * candidates + j) * d + i] = v < lo ? lo : (v > up ? up : v);
}
