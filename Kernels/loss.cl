// Softmax cross-entropy, numerically stable (log-sum-exp with the row maximum subtracted).

#ifndef STATS_GROUP
#define STATS_GROUP 256 // work-items of the statistics reduction; a power of two
#endif

// For each row r of logits (rows × classes):
//   loss[r]    = logsumexp(z_r) − z_r[label_r]
//   correct[r] = 1 if the first arg-max of z_r is label_r, else 0
//   grad[r][:] = scale · (softmax(z_r) − onehot(label_r))      (only when hasGrad)
// Labels are class ids, range-checked against `classes` when the label buffer was written.
__kernel void softmax_xent(const int rows, const int classes,
                           __global const float *logits, const int offLogits,
                           __global const int *labels, const int offLabels,
                           __global float *loss, const int offLoss,
                           __global float *correct, const int offCorrect,
                           __global float *grad, const int offGrad,
                           const float scale, const int hasGrad) {
    const int r = get_global_id(0);
    if (r >= rows) return;
    __global const float *z = logits + offLogits + r * classes;
    const int y = labels[offLabels + r];
    float zmax = z[0];
    int best = 0;
    for (int c = 1; c < classes; c++)
        if (z[c] > zmax) { zmax = z[c]; best = c; }
    float sum = 0.0f;
    for (int c = 0; c < classes; c++) sum += exp(z[c] - zmax);
    const float lse = zmax + log(sum);
    loss[offLoss + r] = lse - z[y];
    correct[offCorrect + r] = (best == y) ? 1.0f : 0.0f;
    if (hasGrad) {
        __global float *g = grad + offGrad + r * classes;
        for (int c = 0; c < classes; c++) {
            const float p = exp(z[c] - lse);
            g[c] = scale * (p - (c == y ? 1.0f : 0.0f));
        }
    }
}

// Adds a batch's loss and accuracy to running totals kept on the device, so the training loop
// reads them back once per epoch instead of synchronising every step:
//   stats[0] += Σ loss,  stats[1] += Σ correct,  stats[2] += rows,
//   stats[3] = step if the batch loss is not finite and stats[3] < 0 (the first divergent step).
// Launched as a single work-group.
__kernel __attribute__((reqd_work_group_size(STATS_GROUP, 1, 1)))
void accumulate_stats(const int rows,
                      __global const float *loss, const int offLoss,
                      __global const float *correct, const int offCorrect,
                      __global float *stats, const int offStats, const float step) {
    const int t = get_local_id(0);
    __local float sumLoss[STATS_GROUP];
    __local float sumCorrect[STATS_GROUP];
    float l = 0.0f, c = 0.0f;
    for (int r = t; r < rows; r += STATS_GROUP) {
        l += loss[offLoss + r];
        c += correct[offCorrect + r];
    }
    sumLoss[t] = l;
    sumCorrect[t] = c;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int w = STATS_GROUP / 2; w > 0; w >>= 1) {
        if (t < w) {
            sumLoss[t] += sumLoss[t + w];
            sumCorrect[t] += sumCorrect[t + w];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (t == 0) {
        __global float *s = stats + offStats;
        s[0] += sumLoss[0];
        s[1] += sumCorrect[0];
        s[2] += (float)rows;
        if (!isfinite(sumLoss[0]) && s[3] < 0.0f) s[3] = step;
    }
}
