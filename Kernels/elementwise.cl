// Element-wise kernels over flat float buffers. Every buffer argument comes with an element
// offset, so that one flat parameter buffer can be addressed tensor by tensor.

// x[i] = value
__kernel void fill(__global float *x, const int offX, const int n, const float value) {
    const int i = get_global_id(0);
    if (i < n) x[offX + i] = value;
}

// y = alpha · x + beta · y   (beta == 0 overwrites y without reading it)
__kernel void axpby(const int n, const float alpha, __global const float *x, const int offX,
                    const float beta, __global float *y, const int offY) {
    const int i = get_global_id(0);
    if (i >= n) return;
    const float v = alpha * x[offX + i];
    y[offY + i] = (beta == 0.0f) ? v : fma(beta, y[offY + i], v);
}

// y = act(x); activation 1 = ReLU, 2 = tanh (0 copies).
__kernel void activation_forward(const int n, const int activation,
                                 __global const float *x, const int offX,
                                 __global float *y, const int offY) {
    const int i = get_global_id(0);
    if (i >= n) return;
    const float v = x[offX + i];
    // (v < 0 ? 0 : v) rather than fmax, which would turn a NaN into 0 and hide a divergence.
    y[offY + i] = activation == 1 ? (v < 0.0f ? 0.0f : v) : (activation == 2 ? tanh(v) : v);
}

// dx = dy · act'(·), written in terms of the forward output y (ReLU: y > 0; tanh: 1 − y²).
__kernel void activation_backward(const int n, const int activation,
                                  __global const float *y, const int offY,
                                  __global const float *dy, const int offDy,
                                  __global float *dx, const int offDx) {
    const int i = get_global_id(0);
    if (i >= n) return;
    const float out = y[offY + i];
    const float g = dy[offDy + i];
    float d = g;
    // A product with the 0/1 mask, as on the CPU, so a NaN gradient stays NaN on both.
    if (activation == 1) d = g * (out > 0.0f ? 1.0f : 0.0f);
    else if (activation == 2) d = g * (1.0f - out * out);
    dx[offDx + i] = d;
}

// dst[r][:] = src[index[r]][:] for r < rows. Rows are copied as 32-bit words, so one kernel
// gathers float features and integer labels alike. The host guarantees every index is a row of
// src: index buffers are range-checked when they are written.
__kernel void gather_rows(const int rows, const int width,
                          __global const uint *src, const int offSrc,
                          __global const int *index, const int offIndex,
                          __global uint *dst, const int offDst) {
    const int e = get_global_id(0);
    if (e >= rows * width) return;
    const int r = e / width, c = e % width;
    const int s = index[offIndex + r];
    dst[offDst + e] = src[offSrc + s * width + c];
}
