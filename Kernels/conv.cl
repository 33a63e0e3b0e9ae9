// im2col / col2im for 2-D convolution in NHWC layout.
//
// x is (batch, height, width, channels); cols is (batch·outH·outW, kernelH·kernelW·channels),
// one row per output position with its receptive field in (kh, kw, c) order. A convolution is then
// one matrix product with the weights stored as (outChannels, kernelH·kernelW·channels), and its
// output rows are already NHWC.

// One work-item per element of cols.
__kernel void im2col(const int batch, const int height, const int width, const int channels,
                     const int kernelH, const int kernelW, const int stride, const int padding,
                     const int outH, const int outW,
                     __global const float *x, const int offX,
                     __global float *cols, const int offCols) {
    const int patch = kernelH * kernelW * channels;
    const long total = (long)batch * outH * outW * patch;
    const long e = get_global_id(0);
    if (e >= total) return;
    const int col = (int)(e % patch);
    const long row = e / patch;
    const int c = col % channels;
    const int kw = (col / channels) % kernelW;
    const int kh = col / (channels * kernelW);
    const int ow = (int)(row % outW);
    const int oh = (int)((row / outW) % outH);
    const int b = (int)(row / ((long)outW * outH));
    const int h = oh * stride - padding + kh;
    const int w = ow * stride - padding + kw;
    float v = 0.0f;
    if (h >= 0 && h < height && w >= 0 && w < width)
        v = x[offX + (((long)b * height + h) * width + w) * channels + c];
    cols[offCols + e] = v;
}

// dx = col2im(dcols): each input element sums the entries of every output position whose
// receptive field covers it. A gather (one work-item per element of dx) rather than a scatter,
// so no atomics are needed.
__kernel void col2im(const int batch, const int height, const int width, const int channels,
                     const int kernelH, const int kernelW, const int stride, const int padding,
                     const int outH, const int outW,
                     __global const float *cols, const int offCols,
                     __global float *dx, const int offDx) {
    const long total = (long)batch * height * width * channels;
    const long e = get_global_id(0);
    if (e >= total) return;
    const int c = (int)(e % channels);
    const int w = (int)((e / channels) % width);
    const int h = (int)((e / ((long)channels * width)) % height);
    const int b = (int)(e / ((long)channels * width * height));
    const int patch = kernelH * kernelW * channels;
    float s = 0.0f;
    for (int kh = 0; kh < kernelH; kh++) {
        const int hp = h + padding - kh;
        if (hp < 0 || hp % stride != 0) continue;
        const int oh = hp / stride;
        if (oh >= outH) continue;
        for (int kw = 0; kw < kernelW; kw++) {
            const int wp = w + padding - kw;
            if (wp < 0 || wp % stride != 0) continue;
            const int ow = wp / stride;
            if (ow >= outW) continue;
            const long row = ((long)b * outH + oh) * outW + ow;
            s += cols[offCols + row * patch + (kh * kernelW + kw) * channels + c];
        }
    }
    dx[offDx + e] = s;
}
