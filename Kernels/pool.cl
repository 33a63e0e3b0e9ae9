// 2-D max and average pooling in NHWC layout, no padding:
// x is (batch, height, width, channels), y is (batch, outH, outW, channels) with
// outH = (height − window) / stride + 1 (likewise outW).

// y = window maximum; argmax holds the position of the first maximum inside its window,
// kh·window + kw (a small integer, exact as a float whatever the tensor size), which the
// backward pass routes the gradient to.
__kernel void maxpool_forward(const int batch, const int height, const int width,
                              const int channels, const int window, const int stride,
                              const int outH, const int outW,
                              __global const float *x, const int offX,
                              __global float *y, const int offY,
                              __global float *argmax, const int offArgmax) {
    const int total = batch * outH * outW * channels;
    const int e = get_global_id(0);
    if (e >= total) return;
    const int c = e % channels;
    const int ow = (e / channels) % outW;
    const int oh = (e / (channels * outW)) % outH;
    const int b = e / (channels * outW * outH);
    float best = -INFINITY;
    int bestPosition = 0;
    for (int kh = 0; kh < window; kh++)
        for (int kw = 0; kw < window; kw++) {
            const int i = ((b * height + oh * stride + kh) * width + ow * stride + kw) * channels + c;
            const float v = x[offX + i];
            // NaN propagates, as in PyTorch: the first NaN input wins the window.
            if (v > best || (isnan(v) && !isnan(best))) { best = v; bestPosition = kh * window + kw; }
        }
    y[offY + e] = best;
    argmax[offArgmax + e] = (float)bestPosition;
}

// Σ over the windows that contain input element e (NHWC index) of dy, taking only the windows
// whose recorded maximum sits where e does when argmax is given. A gather over the (at most
// window²) windows that contain e, so overlapping windows (stride < window) need no atomics:
// e sits at position (kh, kw) of the window whose origin is (h − kh, w − kw).
static float window_gradient_sum(const int e, const int height, const int width, const int channels,
                                 const int window, const int stride, const int outH, const int outW,
                                 __global const float *dy, __global const float *argmax) {
    const int c = e % channels;
    const int w = (e / channels) % width;
    const int h = (e / (channels * width)) % height;
    const int b = e / (channels * width * height);
    float s = 0.0f;
    for (int kh = 0; kh < window; kh++) {
        const int hp = h - kh;
        if (hp < 0 || hp % stride != 0 || hp / stride >= outH) continue;
        for (int kw = 0; kw < window; kw++) {
            const int wp = w - kw;
            if (wp < 0 || wp % stride != 0 || wp / stride >= outW) continue;
            const int o = ((b * outH + hp / stride) * outW + wp / stride) * channels + c;
            if (!argmax || (int)argmax[o] == kh * window + kw) s += dy[o];
        }
    }
    return s;
}

// dx[i] = Σ dy over the windows whose recorded maximum is i.
__kernel void maxpool_backward(const int batch, const int height, const int width,
                               const int channels, const int window, const int stride,
                               const int outH, const int outW,
                               __global const float *dy, const int offDy,
                               __global const float *argmax, const int offArgmax,
                               __global float *dx, const int offDx) {
    const int e = get_global_id(0);
    if (e >= batch * height * width * channels) return;
    dx[offDx + e] = window_gradient_sum(e, height, width, channels, window, stride, outH, outW,
                                        dy + offDy, argmax + offArgmax);
}

// y = window mean.
__kernel void avgpool_forward(const int batch, const int height, const int width,
                              const int channels, const int window, const int stride,
                              const int outH, const int outW,
                              __global const float *x, const int offX,
                              __global float *y, const int offY) {
    const int total = batch * outH * outW * channels;
    const int e = get_global_id(0);
    if (e >= total) return;
    const int c = e % channels;
    const int ow = (e / channels) % outW;
    const int oh = (e / (channels * outW)) % outH;
    const int b = e / (channels * outW * outH);
    float s = 0.0f;
    for (int kh = 0; kh < window; kh++)
        for (int kw = 0; kw < window; kw++)
            s += x[offX + ((b * height + oh * stride + kh) * width + ow * stride + kw) * channels + c];
    y[offY + e] = s / (float)(window * window);
}

// dx[i] = Σ dy / window² over the windows that contain i.
__kernel void avgpool_backward(const int batch, const int height, const int width,
                               const int channels, const int window, const int stride,
                               const int outH, const int outW,
                               __global const float *dy, const int offDy,
                               __global float *dx, const int offDx) {
    const int e = get_global_id(0);
    if (e >= batch * height * width * channels) return;
    dx[offDx + e] = window_gradient_sum(e, height, width, channels, window, stride, outH, outW,
                                        dy + offDy, 0) / (float)(window * window);
}
