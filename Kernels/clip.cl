// Per-sample gradient norms and clipping for DP-SGD. A batch's per-sample quantities are laid
// out sample after sample: `perSample` consecutive floats belong to one sample (a row of a
// Linear layer's input or output gradient, a convolution's rows of patches, a materialised
// per-sample gradient).

#ifndef CLIP_GROUP
#define CLIP_GROUP 64 // work-items per sample in the norm reduction; a power of two
#endif

// Ghost norm of a Linear layer (Li et al. 2021): the per-sample weight gradient is the outer
// product b_i a_iᵀ, so ‖g_i‖² = ‖a_i‖²·‖b_i‖², and the bias gradient b_i adds ‖b_i‖².
//   norms[i] += inputSq[i] · outputSq[i] + (hasBias ? outputSq[i] : 0)
__kernel void linear_ghost_norms(const int samples,
                                 __global const float *inputSq, const int offInput,
                                 __global const float *outputSq, const int offOutput,
                                 __global float *norms, const int offNorms, const int hasBias) {
    const int i = get_global_id(0);
    if (i >= samples) return;
    const float b = outputSq[offOutput + i];
    norms[offNorms + i] += inputSq[offInput + i] * b + (hasBias ? b : 0.0f);
}

// Opacus's clip factor from a squared norm: c_i = scale · min(1, C / (‖g_i‖ + 1e-6)), where
// `scale` folds in the step's 1 / normaliser.
__kernel void clip_factors(const int samples, __global const float *norms, const int offNorms,
                           const float maxNorm, const float scale,
                           __global float *factors, const int offFactors) {
    const int i = get_global_id(0);
    if (i >= samples) return;
    const float c = maxNorm / (sqrt(norms[offNorms + i]) + 1e-6f);
    factors[offFactors + i] = scale * (c < 1.0f ? c : 1.0f);
}

// x[s·perSample + j] *= factors[s]: the output gradients of a layer scaled per sample, after
// which one ordinary weight-gradient product forms Σ_i c_i g_i (book-keeping, Bu et al. 2023).
__kernel void scale_samples(const int samples, const int perSample,
                            __global float *x, const int offX,
                            __global const float *factors, const int offFactors) {
    const long e = get_global_id(0);
    if (e >= (long)samples * perSample) return;
    x[offX + e] *= factors[offFactors + (int)(e / perSample)];
}

// out[s] = (accumulate ? out[s] : 0) + Σ_j x[s·perSample + j]·y[s·perSample + j], one work-group
// per sample, the partial sums combined in a fixed tree (the same result on every run). With
// y = x it gives squared norms; the ghost norm of a layer with T rows per sample is
// ⟨A_iA_iᵀ, B_iB_iᵀ⟩ over the two T×T Gram matrices.
__kernel __attribute__((reqd_work_group_size(CLIP_GROUP, 1, 1)))
void sample_dots(const int samples, const int perSample,
                 __global const float *x, const int offX, __global const float *y, const int offY,
                 __global float *out, const int offOut, const int accumulate) {
    const int s = get_group_id(0);
    const int t = get_local_id(0);
    __local float partial[CLIP_GROUP];
    float sum = 0.0f;
    if (s < samples) {
        __global const float *a = x + offX + (long)s * perSample;
        __global const float *b = y + offY + (long)s * perSample;
        for (int j = t; j < perSample; j += CLIP_GROUP) sum = fma(a[j], b[j], sum);
    }
    partial[t] = sum;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int w = CLIP_GROUP / 2; w > 0; w >>= 1) {
        if (t < w) partial[t] += partial[t + w];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (t == 0 && s < samples) out[offOut + s] = (accumulate ? out[offOut + s] : 0.0f) + partial[0];
}
