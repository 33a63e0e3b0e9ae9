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
// WPT_M × WPT_N register block: rows strided by the work-group's height (the A values it reads
// are broadcasts), columns in runs of VW consecutive ones strided by VW times the group's width,
// so that B is read from local memory and multiplied as VW-wide vectors (consecutive work-items
// read consecutive vectors) and C is stored in coalesced runs.
//
// TRANS_A and TRANS_B are not tuning: the host compiles one program per layout (the matmul
// family's specialisations) so that the load loops have no layout branches and unit strides are
// constants. The #ifndef guards only let the file compile alone.

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
#ifndef VW
#define VW 4 // width of the vectors a work-item's columns are read and multiplied in (1, 2, 4 or 8)
#endif
#ifndef K_UNROLL
#define K_UNROLL 0 // unroll factor of the loop over one stage's depth (0: the compiler's choice)
#endif
#ifndef PREFETCH
#define PREFETCH 0 // 1: read the next stage from global memory into registers while this one is multiplied
#endif
#ifndef GLOBAL_QUADS
#define GLOBAL_QUADS 0 // 1: interior stages read from global memory in aligned runs of 4 (float4)
#endif
#ifndef SPLIT_K
#define SPLIT_K 0 // K slices of a product (host-side: 0 chooses them from the shape and the device)
#endif
#ifndef TRANS_A
#define TRANS_A 0 // op(A) = Aᵀ
#endif
#ifndef TRANS_B
#define TRANS_B 0 // op(B) = Bᵀ
#endif

// OpenCL guarantees 32 KiB of local memory per work-group; stay within it on every device.
#if TILE_K * (TILE_M + TILE_N + 2) * 4 > 32768
#error "matmul tiles need more than 32 KiB of local memory: lower TILE_K, TILE_M or TILE_N"
#endif
#if WPT_N % VW != 0 || (VW != 1 && VW != 2 && VW != 4 && VW != 8)
#error "VW must be 1, 2, 4 or 8 and divide WPT_N"
#endif

#define THREADS_M (TILE_M / WPT_M)
#define THREADS_N (TILE_N / WPT_N)
#define THREADS (THREADS_M * THREADS_N)
#define VECTORS_N (WPT_N / VW)

// VW-wide vectors: OpenCL's own types; in CUDA C++, which has no vector arithmetic, a struct
// with the three operations the product needs. Each lane is one fma in either, so the result
// does not depend on VW.
#ifdef __CUDACC__
struct __align__(4 * VW) vecN { float s[VW]; };
static __device__ __forceinline__ vecN vec_zero() {
    vecN v;
    for (int w = 0; w < VW; w++) v.s[w] = 0.0f;
    return v;
}
#define VEC_ZERO() vec_zero()
#define VEC_LOAD_LOCAL(p) (*(const vecN *)(p))
#define VEC_FMA(acc, a, b) \
    do { for (int w_ = 0; w_ < VW; w_++) (acc).s[w_] = fma((a), (b).s[w_], (acc).s[w_]); } while (0)
#define VEC_TO_ARRAY(v, out) \
    do { for (int w_ = 0; w_ < VW; w_++) (out)[w_] = (v).s[w_]; } while (0)
#define LOCAL_ALIGN __align__(4 * VW)
#define STAGE_INLINE __forceinline__
#else
#if VW == 1
#define vecN float
#define VEC_LOAD_LOCAL(p) (*(p))
#define VEC_TO_ARRAY(v, out) ((out)[0] = (v))
#elif VW == 2
#define vecN float2
#define VEC_LOAD_LOCAL(p) vload2(0, p)
#define VEC_TO_ARRAY(v, out) vstore2(v, 0, out)
#elif VW == 4
#define vecN float4
#define VEC_LOAD_LOCAL(p) vload4(0, p)
#define VEC_TO_ARRAY(v, out) vstore4(v, 0, out)
#else
#define vecN float8
#define VEC_LOAD_LOCAL(p) vload8(0, p)
#define VEC_TO_ARRAY(v, out) vstore8(v, 0, out)
#endif
#define VEC_ZERO() ((vecN)(0.0f))
#define VEC_FMA(acc, a, b) ((acc) = fma((vecN)(a), (b), (acc)))
#define LOCAL_ALIGN __attribute__((aligned(4 * VW)))
#define STAGE_INLINE inline
#endif

// Both operands are staged by the same code. A stage of op(X) is TILE_K × `width` (X = A: width
// TILE_M; X = B: TILE_N), stored at S[kk·stride + xx]. `kc` says consecutive k are adjacent in
// memory (A row-major, Bᵀ): element e of a stage then runs along k, otherwise along x, so that
// consecutive work-items take consecutive addresses whichever way the operand is stored. Width and
// kc are constants at every call, so the divisions and the layout choice fold away.
#define STAGE_KK(e, width, kc) ((kc) ? (e) % TILE_K : (e) / (width))
#define STAGE_XX(e, width, kc) ((kc) ? (e) / TILE_K : (e) % (width))
#define STAGE_LOADS(width) ((TILE_K * (width) + THREADS - 1) / THREADS)
#define STAGE_QUADS(width) ((TILE_K * (width) / 4 + THREADS - 1) / THREADS)

// The loads of work-item `tid`: r-th load is element e = tid + r·THREADS of the stage.
#define EACH_LOAD(r, e, loads, total) \
    for (int r = 0, e = tid; r < (loads); r++, e += THREADS) if ((loads) * THREADS == (total) || e < (total))

// Element e of the stage at depth k0 of op(X), extent × kEnd starting at row x0 (0 outside the
// product); `interior` says the whole output tile lies inside M×N, so only the depth needs checking.
static STAGE_INLINE float stage_element(__global const float *X, const int ld, const int extent, const int x0, const int k0,
                           const int kEnd, const bool interior, const int e, const int width, const bool kc) {
    const int gx = x0 + STAGE_XX(e, width, kc), gk = k0 + STAGE_KK(e, width, kc);
    const bool inside = (interior && k0 + TILE_K <= kEnd) || (gx < extent && gk < kEnd);
    // A select rather than an early return: PoCL keeps interior loads branch-free that way.
    return inside ? (kc ? X[gx * ld + gk] : X[gk * ld + gx]) : 0.0f;
}

// Four consecutive floats at p (16-byte aligned) into q[0..3] with one vector load.
#ifdef __CUDACC__
#define LOAD_QUAD(p, q) \
    do { const float4 v_ = *(const float4 *)(p); (q)[0] = v_.x; (q)[1] = v_.y; (q)[2] = v_.z; (q)[3] = v_.w; } while (0)
#else
#define LOAD_QUAD(p, q) vstore4(vload4(0, p), 0, q)
#endif

// The stage at depth k0 of op(X) into the local array S[TILE_K][·]. With GLOBAL_QUADS, whole
// interior stages of an operand whose runs of four along its contiguous dimension are 16-byte
// aligned (`quads`) are read as float4: quad q starts at (kk, xx) and runs along k (kc) or x.
// A macro, not a function, so that S stays a named local array: through a generic pointer NVRTC
// spills registers in the tn layout.
#if GLOBAL_QUADS
#define STAGE_QUADS_OR(X, ld, x0, k0, quads, S, width, kc) \
    if ((kc ? TILE_K % 4 == 0 : (width) % 4 == 0) && (quads) && interior && (k0) + TILE_K <= kEnd) { \
        EACH_LOAD(r, q, STAGE_QUADS(width), TILE_K * (width) / 4) { \
            const int kk = (kc) ? (q % (TILE_K / 4)) * 4 : q / ((width) / 4); \
            const int xx = (kc) ? q / (TILE_K / 4) : (q % ((width) / 4)) * 4; \
            float v[4]; \
            LOAD_QUAD((kc) ? &X[((x0) + xx) * (ld) + (k0) + kk] : &X[((k0) + kk) * (ld) + (x0) + xx], v); \
            for (int w = 0; w < 4; w++) S[kk + ((kc) ? w : 0)][xx + ((kc) ? 0 : w)] = v[w]; \
        } \
    } else
#else
#define STAGE_QUADS_OR(X, ld, x0, k0, quads, S, width, kc)
#endif
#define STAGE_OPERAND(X, ld, extent, x0, k0, quads, S, width, kc) \
    STAGE_QUADS_OR(X, ld, x0, k0, quads, S, width, kc) \
    EACH_LOAD(r, e, STAGE_LOADS(width), TILE_K * (width)) \
        S[STAGE_KK(e, width, kc)][STAGE_XX(e, width, kc)] = \
            stage_element(X, ld, extent, x0, k0, kEnd, interior, e, width, kc)

// The two operands' staging arguments, named once.
#define A_KC (!TRANS_A)
#define B_KC (TRANS_B)
#define LOADS_A STAGE_LOADS(TILE_M)
#define LOADS_B STAGE_LOADS(TILE_N)
#define A_ELEMENT(e, k0) stage_element(At, lda, M, m0, k0, kEnd, interior, e, TILE_M, A_KC)
#define B_ELEMENT(e, k0) stage_element(Bt, ldb, N, n0, k0, kEnd, interior, e, TILE_N, B_KC)

#define MATMUL_STRINGIFY(x) #x
#define MATMUL_PRAGMA(x) _Pragma(MATMUL_STRINGIFY(x))

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
    // The unit stride of each operand is the constant 1 of its layout.
#if TRANS_A
    const int lda = sAk;
#else
    const int lda = sAm;
#endif
#if TRANS_B
    const int ldb = sBn;
#else
    const int ldb = sBk;
#endif
    __global const float *At = A + offA;
    __global const float *Bt = B + offB;

    // +1 column of padding so that the column-wise stores of a row-major A miss no banks; B's
    // rows stay unpadded (and aligned) for the vector reads.
    __local float As[TILE_K][TILE_M + 1];
    __local float Bs[TILE_K][TILE_N] LOCAL_ALIGN;

    vecN acc[WPT_M][VECTORS_N];
    for (int i = 0; i < WPT_M; i++)
        for (int v = 0; v < VECTORS_N; v++) acc[i][v] = VEC_ZERO();
    // Interior tiles skip the bounds checks of the loads.
    const bool interior = m0 + TILE_M <= M && n0 + TILE_N <= N;
#if GLOBAL_QUADS
    // The stage origins are multiples of 4 along each contiguous dimension, so offset and leading
    // dimension decide the alignment.
    const bool quadsA = offA % 4 == 0 && lda % 4 == 0, quadsB = offB % 4 == 0 && ldb % 4 == 0;
#else
    const bool quadsA = false, quadsB = false;
#endif
#if PREFETCH
    float nextA[LOADS_A], nextB[LOADS_B];
    EACH_LOAD(r, e, LOADS_A, TILE_K * TILE_M) nextA[r] = A_ELEMENT(e, kBegin);
    EACH_LOAD(r, e, LOADS_B, TILE_K * TILE_N) nextB[r] = B_ELEMENT(e, kBegin);
#endif

    for (int k0 = kBegin; k0 < kEnd; k0 += TILE_K) {
#if PREFETCH
        EACH_LOAD(r, e, LOADS_A, TILE_K * TILE_M)
            As[STAGE_KK(e, TILE_M, A_KC)][STAGE_XX(e, TILE_M, A_KC)] = nextA[r];
        EACH_LOAD(r, e, LOADS_B, TILE_K * TILE_N)
            Bs[STAGE_KK(e, TILE_N, B_KC)][STAGE_XX(e, TILE_N, B_KC)] = nextB[r];
#else
        STAGE_OPERAND(At, lda, M, m0, k0, quadsA, As, TILE_M, A_KC);
        STAGE_OPERAND(Bt, ldb, N, n0, k0, quadsB, Bs, TILE_N, B_KC);
#endif
        barrier(CLK_LOCAL_MEM_FENCE);
#if PREFETCH
        // Issued before the multiplication so that their latency hides behind it.
        if (k0 + TILE_K < kEnd) {
            EACH_LOAD(r, e, LOADS_A, TILE_K * TILE_M) nextA[r] = A_ELEMENT(e, k0 + TILE_K);
            EACH_LOAD(r, e, LOADS_B, TILE_K * TILE_N) nextB[r] = B_ELEMENT(e, k0 + TILE_K);
        }
#endif

#if K_UNROLL > 0
        MATMUL_PRAGMA(unroll K_UNROLL)
#endif
        for (int kk = 0; kk < TILE_K; kk++) {
            vecN b[VECTORS_N];
            for (int v = 0; v < VECTORS_N; v++) b[v] = VEC_LOAD_LOCAL(&Bs[kk][(tn + v * THREADS_N) * VW]);
            for (int i = 0; i < WPT_M; i++) {
                const float a = As[kk][tm + i * THREADS_M];
                for (int v = 0; v < VECTORS_N; v++) VEC_FMA(acc[i][v], a, b[v]);
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    for (int i = 0; i < WPT_M; i++) {
        const int gm = m0 + tm + i * THREADS_M;
        if (gm >= M) continue;
        for (int v = 0; v < VECTORS_N; v++) {
            float lanes[VW];
            VEC_TO_ARRAY(acc[i][v], lanes);
            for (int w = 0; w < VW; w++) {
                const int gn = n0 + (tn + v * THREADS_N) * VW + w;
                if (gn >= N) continue;
                const int idx = offC + gm * ldc + gn;
                float x = alpha * lanes[w];
                // beta == 0 must not read C: fresh buffers hold garbage (PoCL does not zero them).
                if (beta != 0.0f) x = fma(beta, C[idx], x);
                if (hasBias) x += bias[offBias + gn];
                // Not fmax: a NaN must survive ReLU, or divergence would go unnoticed.
                if (activation == 1) x = (x < 0.0f) ? 0.0f : x;
                else if (activation == 2) x = tanh(x);
                C[idx] = x;
            }
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
