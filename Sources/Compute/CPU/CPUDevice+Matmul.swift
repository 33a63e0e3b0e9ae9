import CBLAS

extension CPUDevice {
    public func gemm(_ shape: GemmShape, alpha: Float, a: BufferSlice, b: BufferSlice, beta: Float,
                     c: BufferSlice, bias: BufferSlice?, activation: Activation) throws {
        shape.checkOperands(a: a, b: b, c: c, bias: bias)
        guard shape.m > 0, shape.n > 0 else { return }
        if shape.k > 0 {
            cblas_sgemm(CblasRowMajor, shape.transposeA ? CblasTrans : CblasNoTrans,
                        shape.transposeB ? CblasTrans : CblasNoTrans,
                        Int32(shape.m), Int32(shape.n), Int32(shape.k), alpha,
                        a.host, Int32(shape.lda), b.host, Int32(shape.ldb),
                        beta, c.host, Int32(shape.ldc))
        } else {
            // An empty sum: BLAS rejects k = 0 leading dimensions, and the result is just beta·C.
            for row in 0..<shape.m {
                let out = c.host + row * shape.ldc
                for col in 0..<shape.n { out[col] = beta == 0 ? 0 : beta * out[col] }
            }
        }
        try applyEpilogue(rows: shape.m, cols: shape.n, ld: shape.ldc, c: c, bias: bias,
                          activation: activation)
    }

    /// One `cblas_sgemm` per item (OpenBLAS spreads each over its threads).
    public func gemmBatched(_ shape: GemmShape, batch: GemmBatch, alpha: Float, a: BufferSlice, b: BufferSlice,
                            beta: Float, c: BufferSlice) throws {
        batch.checkOperands(shape, a: a, b: b, c: c)
        for item in 0..<batch.count {
            try gemm(shape, alpha: alpha, a: a.slice(item * batch.strideA, shape.aCount),
                     b: b.slice(item * batch.strideB, shape.bCount), beta: beta,
                     c: c.slice(item * batch.strideC, shape.cCount), bias: nil, activation: .identity)
        }
    }

    /// Bias and activation after the product, row by row while the row is in cache.
    private func applyEpilogue(rows: Int, cols: Int, ld: Int, c: BufferSlice, bias: BufferSlice?,
                               activation: Activation) throws {
        guard bias != nil || activation != .identity else { return }
        for row in 0..<rows {
            let out = c.host + row * ld
            if let bias {
                let b = bias.host
                for col in 0..<cols { out[col] += b[col] }
            }
            applyActivation(activation, UnsafeMutablePointer(out), UnsafeMutablePointer(out), cols)
        }
    }
}
