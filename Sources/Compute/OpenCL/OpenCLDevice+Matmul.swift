extension OpenCLDevice {
    /// The build of `Kernels/matmul.cl` a product of this shape runs on: the narrow variant when
    /// M or N is at most `narrowMatmulLimit`, else the wide one.
    func matmulVariant(for shape: GemmShape) -> String {
        min(shape.m, shape.n) <= narrowMatmulLimit ? narrowMatmulVariant : "matmul"
    }

    /// The tile shape `variant` is built with: the kernel's `#ifndef` defaults unless overridden
    /// through `kernelDefines[variant]`. The host needs it for the launch geometry.
    func matmulTiles(_ variant: String) -> (m: Int, n: Int, threadsM: Int, threadsN: Int) {
        let tileM = tuning(variant, "TILE_M", default: 64), tileN = tuning(variant, "TILE_N", default: 64)
        return (tileM, tileN, tileM / tuning(variant, "WPT_M", default: 4), tileN / tuning(variant, "WPT_N", default: 4))
    }

    public func gemm(_ shape: GemmShape, alpha: Float, a: BufferSlice, b: BufferSlice, beta: Float,
                     c: BufferSlice, bias: BufferSlice?, activation: Activation) throws {
        shape.checkOperands(a: a, b: b, c: c, bias: bias)
        let variant = matmulVariant(for: shape)
        let tiles = matmulTiles(variant)
        let groupsM = (shape.m + tiles.m - 1) / tiles.m
        let groupsN = (shape.n + tiles.n - 1) / tiles.n
        try launch(variant, "sgemm",
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
