// SGEMM with a fused epilogue:  C = act(alpha · op(A) · op(B) + beta · C + bias)
//
// Row-major throughout. op(A) is M×K and op(B) is K×N; they are addressed through strides so one
// kernel serves A·B, A·Bᵀ and Aᵀ·B (backprop needs all three):
//   op(A)[m][k] = A[offA + m·sAm + k·sAk]      (A: sAm = lda, sAk = 1;  Aᵀ: sAm = 1, sAk = lda)
//   op(B)[k][n] = B[offB + k·sBk + n·sBn]      (B: sBk = ldb, sBn = 1;  Bᵀ: sBk = 1, sBn = ldb)
// bias (length N) is added to every row; activation 0 = identity, 1 = ReLU, 2 = tanh.
//
// A direct kernel in the sense of CLBlast's xgemm_direct: tiles are staged in local memory with
// bounds checks, so any M, N, K works without padding copies. Each work-item accumulates a
// WPT_M × WPT_N register block whose rows and columns are strided by the work-group shape, which
// keeps local-memory reads conflict-free and global stores coalesced.

#ifndef TILE_M
#define TILE_M 64 // rows of C per work-group
#endif
#ifndef TILE_N
#define TILE_N 64 // columns of C per work-group
#endif
#ifndef TILE_K
#define TILE_K 16 // depth of one local-memory stage
#endif
#ifndef WPT_M
#define WPT_M 4 // rows of C per work-item
#endif
#ifndef WPT_N
#define WPT_N 4 // columns of C per work-item
#endif
#ifndef SPLIT_K
#define SPLIT_K 0 // K slices of a product (host-side: 0 chooses them from the shape and the device)
#endif

// OpenCL guarantees 32 KiB of local memory per work-group; stay within it on every device.
#if TILE_K * (TILE_M + TILE_N + 2) * 4 > 32768
#error "matmul tiles need more than 32 KiB of local memory: lower TILE_K, TILE_M or TILE_N"
#endif

#define THREADS_M (TILE_M / WPT_M)
#define THREADS_N (TILE_N / WPT_N)
#define THREADS (THREADS_M * THREADS_N)

// Batched and split-K: the third grid dimension z counts (item, slice) pairs, z = item·slices +
// slice. Item i reads A + i·batchA and B + i·batchB (0 broadcasts an operand). Slice s sums
// k in [s·sliceK, min(K, (s + 1)·sliceK)). With one slice the kernel writes C + i·batchC with
// the epilogue; with several it writes its partial product to C + z·batchC (the host passes a
// workspace, ldc = N, and no epilogue) and splitk_reduce adds the slices in a fixed order.
__kernel __attribute__((reqd_work_group_size(THREADS_N, THREADS_M, 1)))
void sgemm(const int M, const int N, const int K, const float alpha,
           __global const float *A, int offA, const int sAm, const int sAk,
           __global const float *B, int offB, const int sBk, const int sBn,
           const float beta, __global float *C, int offC, const int ldc,
           __global const float *bias, const int offBias, const int hasBias,
           const int activation, const int batchA, const int batchB, const int batchC,
           const int slices, const int sliceK) {
    const int z = get_group_id(2);
    const int item = z / slices, slice = z % slices;
    offA += item * batchA;
    offB += item * batchB;
    offC += (slices > 1 ? z : item) * batchC;
    const int kBegin = slice * sliceK;
    const int kEnd = min(K, kBegin + sliceK);
    const int tn = get_local_id(0);
    const int tm = get_local_id(1);
    const int tid = tm * THREADS_N + tn;
    // Row tiles along the first grid dimension: CUDA caps the second and third at 65535 blocks,
    // and M (im2col rows of a convolution) is the dimension that grows with the batch.
    const int m0 = get_group_id(0) * TILE_M;
    const int n0 = get_group_id(1) * TILE_N;

    // +1 column of padding so that the column-wise stores of a transposed load miss no banks.
    __local float As[TILE_K][TILE_M + 1];
    __local float Bs[TILE_K][TILE_N + 1];

    float acc[WPT_M][WPT_N];
    for (int i = 0; i < WPT_M; i++)
        for (int j = 0; j < WPT_N; j++) acc[i][j] = 0.0f;

    for (int k0 = kBegin; k0 < kEnd; k0 += TILE_K) {
        // Consecutive work-items read consecutive addresses whichever way A is stored.
        for (int e = tid; e < TILE_K * TILE_M; e += THREADS) {
            int kk, mm;
            if (sAk == 1) { kk = e % TILE_K; mm = e / TILE_K; }
            else          { mm = e % TILE_M; kk = e / TILE_M; }
            const int gm = m0 + mm, gk = k0 + kk;
            As[kk][mm] = (gm < M && gk < kEnd) ? A[offA + gm * sAm + gk * sAk] : 0.0f;
        }
        for (int e = tid; e < TILE_K * TILE_N; e += THREADS) {
            int kk, nn;
            if (sBn == 1) { nn = e % TILE_N; kk = e / TILE_N; }
            else          { kk = e % TILE_K; nn = e / TILE_K; }
            const int gk = k0 + kk, gn = n0 + nn;
            Bs[kk][nn] = (gk < kEnd && gn < N) ? B[offB + gk * sBk + gn * sBn] : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);

        for (int kk = 0; kk < TILE_K; kk++) {
            float a[WPT_M], b[WPT_N];
            for (int i = 0; i < WPT_M; i++) a[i] = As[kk][tm + i * THREADS_M];
            for (int j = 0; j < WPT_N; j++) b[j] = Bs[kk][tn + j * THREADS_N];
            for (int i = 0; i < WPT_M; i++)
                for (int j = 0; j < WPT_N; j++) acc[i][j] = fma(a[i], b[j], acc[i][j]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    for (int i = 0; i < WPT_M; i++) {
        const int gm = m0 + tm + i * THREADS_M;
        if (gm >= M) continue;
        for (int j = 0; j < WPT_N; j++) {
            const int gn = n0 + tn + j * THREADS_N;
            if (gn >= N) continue;
            const int idx = offC + gm * ldc + gn;
            float v = alpha * acc[i][j];
            // beta == 0 must not read C: fresh buffers hold garbage (PoCL does not zero them).
            if (beta != 0.0f) v = fma(beta, C[idx], v);
            if (hasBias) v += bias[offBias + gn];
            // Not fmax: a NaN must survive ReLU, or divergence would go unnoticed.
            if (activation == 1) v = (v < 0.0f) ? 0.0f : v;
            else if (activation == 2) v = tanh(v);
            C[idx] = v;
        }
    }
}

// C_i = act(alpha · Σ_s W_(i·slices + s) + beta · C_i + bias) for items i: the slices of a split-K
// product added in order 0, 1, …, so the result is the same on every run (no atomics). W holds
// slices · items dense M×N partial products; one work-item per element of the items' C.
__kernel void splitk_reduce(const int M, const int N, const int items, const int slices,
                            __global const float *W, const int offW, const float alpha, const float beta,
                            __global float *C, const int offC, const int ldc, const int batchC,
                            __global const float *bias, const int offBias, const int hasBias,
                            const int activation) {
    const long e = get_global_id(0);
    if (e >= (long)items * M * N) return;
    const int n = (int)(e % N);
    const int m = (int)((e / N) % M);
    const int item = (int)(e / ((long)M * N));
    float sum = 0.0f;
    for (int s = 0; s < slices; s++)
        sum += W[offW + ((long)(item * slices + s) * M + m) * N + n];
    const int idx = offC + item * batchC + m * ldc + n;
    float v = alpha * sum;
    if (beta != 0.0f) v = fma(beta, C[idx], v);
    if (hasBias) v += bias[offBias + n];
    if (activation == 1) v = (v < 0.0f) ? 0.0f : v;
    else if (activation == 2) v = tanh(v);
    C[idx] = v;
}
