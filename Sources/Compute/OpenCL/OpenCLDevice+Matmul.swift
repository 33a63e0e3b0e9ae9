extension OpenCLDevice {
    /// The tile shape `Kernels/matmul.cl` is built with: its `#ifndef` defaults unless
    /// overridden through `kernelDefines["matmul"]`. The host needs it for the launch geometry.
    var matmulTiles: (m: Int, n: Int, threadsM: Int, threadsN: Int) { Self.matmulTiles(kernelDefines["matmul"] ?? [:]) }

    static func matmulTiles(_ defines: [String: String]) -> (m: Int, n: Int, threadsM: Int, threadsN: Int) {
        func value(_ name: String, _ fallback: Int) -> Int { defines[name].flatMap { Int($0) } ?? fallback }
        let tileM = value("TILE_M", 64), tileN = value("TILE_N", 64)
        return (tileM, tileN, tileM / max(value("WPT_M", 4), 1), tileN / max(value("WPT_N", 4), 1))
    }

    /// Tiles must split evenly into work-items, or the kernel would leave parts of C unwritten.
    static func checkMatmulTiles(_ defines: [String: String]) throws(ComputeError) {
        for name in ["TILE_M", "TILE_N", "TILE_K", "WPT_M", "WPT_N"] {
            if let text = defines[name], (Int(text) ?? 0) <= 0 {
                throw ComputeError.invalidTuning("matmul \(name)=\(text) must be a positive integer")
            }
        }
        let get = { (name: String, fallback: Int) in defines[name].flatMap { Int($0) } ?? fallback }
        guard get("TILE_M", 64) % get("WPT_M", 4) == 0, get("TILE_N", 64) % get("WPT_N", 4) == 0 else {
            throw ComputeError.invalidTuning("matmul TILE_M and TILE_N must be multiples of WPT_M and WPT_N")
        }
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
