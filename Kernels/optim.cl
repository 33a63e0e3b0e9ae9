// Optimizer updates over the flat parameter buffer, one work-item per parameter. The update rules
// follow PyTorch's torch.optim (SGD, Adam/AdamW with AMSGrad, RMSprop) so that hyper-parameters
// carry over unchanged. Step-dependent scalars (learning rate from the schedule, bias corrections)
// are computed on the host once per step.

// SGD with momentum, dampening, Nesterov and L2 weight decay:
//   g ← g + wd·p;  buf ← first ? g : μ·buf + (1 − dampening)·g;  d ← nesterov ? g + μ·buf : buf
//   p ← p − lr·d    (μ = 0: plain SGD, buf untouched)
__kernel void sgd_update(const int n, __global float *p, const int offP,
                         __global const float *g, const int offG,
                         __global float *buf, const int offBuf,
                         const float lr, const float momentum, const float dampening,
                         const float weightDecay, const int nesterov, const int first) {
    const int i = get_global_id(0);
    if (i >= n) return;
    const float w = p[offP + i];
    float d = g[offG + i];
    if (weightDecay != 0.0f) d = fma(weightDecay, w, d);
    if (momentum != 0.0f) {
        const float b = first ? d : fma(momentum, buf[offBuf + i], (1.0f - dampening) * d);
        buf[offBuf + i] = b;
        d = nesterov ? fma(momentum, b, d) : b;
    }
    p[offP + i] = w - lr * d;
}

// Adam (decoupled = 0: L2 decay added to g) and AdamW (decoupled = 1: p ← p·(1 − lr·wd)),
// with AMSGrad's running maximum of v when amsgrad = 1.
//   m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²;  v̂ = amsgrad ? max(v̂, v) : v
//   p ← p − (lr / bc1) · m / (sqrt(v̂) / sqrt(bc2) + ε),   bc_i = 1 − β_i^t
__kernel void adam_update(const int n, __global float *p, const int offP,
                          __global const float *g, const int offG,
                          __global float *m, const int offM,
                          __global float *v, const int offV,
                          __global float *vmax, const int offVmax,
                          const float lr, const float beta1, const float beta2, const float eps,
                          const float weightDecay, const int decoupled, const int amsgrad,
                          const float biasCorrection1, const float biasCorrection2Sqrt) {
    const int i = get_global_id(0);
    if (i >= n) return;
    float w = p[offP + i];
    float d = g[offG + i];
    if (weightDecay != 0.0f) {
        if (decoupled) w *= 1.0f - lr * weightDecay;
        else d = fma(weightDecay, w, d);
    }
    const float mi = fma(beta1, m[offM + i], (1.0f - beta1) * d);
    const float vi = fma(beta2, v[offV + i], (1.0f - beta2) * d * d);
    m[offM + i] = mi;
    v[offV + i] = vi;
    float vhat = vi;
    if (amsgrad) {
        vhat = fmax(vmax[offVmax + i], vi);
        vmax[offVmax + i] = vhat;
    }
    const float denom = sqrt(vhat) / biasCorrection2Sqrt + eps;
    p[offP + i] = w - (lr / biasCorrection1) * mi / denom;
}

// RMSprop (not centred): g ← g + wd·p;  s ← α·s + (1 − α)·g²;
//   μ > 0: buf ← μ·buf + g / (sqrt(s) + ε), p ← p − lr·buf;   μ = 0: p ← p − lr·g / (sqrt(s) + ε)
__kernel void rmsprop_update(const int n, __global float *p, const int offP,
                             __global const float *g, const int offG,
                             __global float *sq, const int offSq,
                             __global float *buf, const int offBuf,
                             const float lr, const float alpha, const float eps,
                             const float weightDecay, const float momentum) {
    const int i = get_global_id(0);
    if (i >= n) return;
    const float w = p[offP + i];
    float d = g[offG + i];
    if (weightDecay != 0.0f) d = fma(weightDecay, w, d);
    const float s = fma(alpha, sq[offSq + i], (1.0f - alpha) * d * d);
    sq[offSq + i] = s;
    float step = d / (sqrt(s) + eps);
    if (momentum > 0.0f) {
        step = fma(momentum, buf[offBuf + i], step);
        buf[offBuf + i] = step;
    }
    p[offP + i] = w - lr * step;
}
