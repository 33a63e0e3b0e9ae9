// Random fills from the Philox prelude (Kernels/philox.cl): the values of the stream
// (seed, step, stream) from word `skip` of block `startBlock` on, written to x[0 … n − 1]. One
// work-item per Philox block, so each block is computed once; which work-item computes a value
// never changes the value. Block indices wrap at 2^64, as the counter does.

// The block work-item g computes: block startBlock + g of the stream (wrapping like the counter).
static philox_block random_block(const int g, const uint seedLo, const uint seedHi, const uint step,
                                 const uint stream, const uint startBlockLo, const uint startBlockHi) {
    const ulong start = ((ulong)startBlockHi << 32) | startBlockLo;
    return philox_stream_block(seedLo, seedHi, step, stream, start + (ulong)g);
}

// distribution: 0 = uniform in (0, 1), 1 = standard normal, 2 = Rademacher ±1; then · scale.
// accumulate = 1 adds the values to x instead (DP noise straight into the gradient, never
// written on its own), each product and sum rounded once on every device.
__kernel void random_fill(__global float *x, const int offX, const int n, const int distribution,
                          const uint seedLo, const uint seedHi, const uint step, const uint stream,
                          const uint startBlockLo, const uint startBlockHi, const int skip,
                          const float scale, const int accumulate) {
    const int g = get_global_id(0);
    if ((long)g * 4 - skip >= n) return;
    const philox_block b = random_block(g, seedLo, seedHi, step, stream, startBlockLo, startBlockHi);
    philox_normals normals;
    if (distribution == 1) normals = philox_block_normals(b);
    for (int j = 0; j < 4; j++) {
        const int p = g * 4 + j - skip;
        if (p < 0 || p >= n) continue;
        float v;
        if (distribution == 0) v = philox_uniform(philox_word(b, j));
        else if (distribution == 1) v = philox_normal(normals, j);
        else v = philox_rademacher(philox_word(b, j));
        const float scaled = FATHOM_MUL(v, scale);
        x[offX + p] = accumulate ? FATHOM_ADD(x[offX + p], scaled) : scaled;
    }
}

// The raw 32-bit words, for known-answer tests and for kernels that want bits.
__kernel void random_bits(__global uint *x, const int offX, const int n,
                          const uint seedLo, const uint seedHi, const uint step, const uint stream,
                          const uint startBlockLo, const uint startBlockHi, const int skip) {
    const int g = get_global_id(0);
    if ((long)g * 4 - skip >= n) return;
    const philox_block b = random_block(g, seedLo, seedHi, step, stream, startBlockLo, startBlockHi);
    for (int j = 0; j < 4; j++) {
        const int p = g * 4 + j - skip;
        if (p >= 0 && p < n) x[offX + p] = philox_word(b, j);
    }
}
