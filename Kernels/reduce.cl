// Reductions over row-major matrices.

#ifndef REDUCE_GROUP
#define REDUCE_GROUP 256 // work-items per column group; a power of two
#endif

// out[c] = beta · out[c] + Σ_r x[r][c]  for a rows × cols matrix (bias gradients).
// One work-group per column: the work-items stride over rows and combine in local memory, so the
// sum stays parallel however few columns there are.
__kernel __attribute__((reqd_work_group_size(REDUCE_GROUP, 1, 1)))
void column_sum(const int rows, const int cols,
                __global const float *x, const int offX,
                const float beta, __global float *out, const int offOut) {
    const int c = get_group_id(0);
    const int t = get_local_id(0);
    __local float partial[REDUCE_GROUP];
    float s = 0.0f;
    if (c < cols)
        for (int r = t; r < rows; r += REDUCE_GROUP) s += x[offX + r * cols + c];
    partial[t] = s;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int w = REDUCE_GROUP / 2; w > 0; w >>= 1) {
        if (t < w) partial[t] += partial[t + w];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (t == 0 && c < cols) {
        const float prior = (beta == 0.0f) ? 0.0f : beta * out[offOut + c];
        out[offOut + c] = prior + partial[0];
    }
}

// out[s] = max_{bounds[s] ≤ i < bounds[s+1]} |x[i]| for segments s < segments (0 for an empty
// segment): per-tensor gradient maxima, e.g. adaptive sign noise. One work-group per segment, a
// strided pass and a tree in local memory; the maximum is exact, so every device and group size
// gives the same value. bounds is an index buffer (values checked ≤ the length of x on upload).
__kernel __attribute__((reqd_work_group_size(REDUCE_GROUP, 1, 1)))
void segment_max_abs(const int segments, __global const float *x, const int offX,
                     __global const int *bounds, const int offBounds, __global float *out, const int offOut) {
    const int s = get_group_id(0);
    const int t = get_local_id(0);
    __local float partial[REDUCE_GROUP];
    float m = 0.0f;
    if (s < segments) {
        const int begin = bounds[offBounds + s], end = bounds[offBounds + s + 1];
        // Not fmax: a NaN must survive into the maximum, so that a diverged worker shows.
        for (int i = begin + t; i < end; i += REDUCE_GROUP) {
            const float a = fabs(x[offX + i]);
            m = (a > m || a != a) ? a : m;
        }
    }
    partial[t] = m;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int w = REDUCE_GROUP / 2; w > 0; w >>= 1) {
        if (t < w) {
            const float o = partial[t + w];
            partial[t] = (o > partial[t] || o != o) ? o : partial[t];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (t == 0 && s < segments) out[offOut + s] = partial[0];
}
