extension OpenCLDevice {
    /// The tile shape `Kernels/matmul.cl` is built with: its `#ifndef` defaults unless
    /// overridden through `kernelDefines["matmul"]`. The host needs it for the launch geometry.
    var matmulTiles: (m: Int, n: Int, threadsM: Int, threadsN: Int) {
        let tileM = tuning("matmul", "TILE_M", default: 64), tileN = tuning("matmul", "TILE_N", default: 64)
        return (tileM, tileN, tileM / tuning("matmul", "WPT_M", default: 4), tileN / tuning("matmul", "WPT_N", default: 4))
    }

    public func gemm(_ shape: GemmShape, alpha: Float, a: BufferSlice, b: BufferSlice, beta: Float,
                     c: BufferSlice, bias: BufferSlice?, activation: Activation) throws {
        shape.checkOperands(a: a, b: b, c: c, bias: bias)
        let tiles = matmulTiles
        let groupsM = (shape.m + tiles.m - 1) / tiles.m
        let groupsN = (shape.n + tiles.n - 1) / tiles.n
        try launch("matmul", "sgemm",
                   global: [groupsN * tiles.threadsN, groupsM * tiles.threadsM],
                   local: [tiles.threadsN, tiles.threadsM], [
                       .int(shape.m), .int(shape.n), .int(shape.k), .float(alpha),
                       .slice(a), .int(shape.transposeA ? 1 : shape.lda), .int(shape.transposeA ? shape.lda : 1),
                       .slice(b), .int(shape.transposeB ? 1 : shape.ldb), .int(shape.transposeB ? shape.ldb : 1),
                       .float(beta), .slice(c), .int(shape.ldc),
                       .slice(bias ?? c), .flag(bias != nil), .int(Int(activation.rawValue)),
                   ])
    }
}
