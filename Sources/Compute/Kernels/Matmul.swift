/// The build used for narrow products (M or N at most `narrowMatmulLimit`, such as a
/// convolution's few output channels or a classifier's ten logits): large tiles would leave most
/// of each work-group idle there, so it has its own tuning, `kernelDefines["matmul-narrow"]`.
public let narrowMatmulBuild = "matmul-narrow"

/// Products with M or N up to this size use `narrowMatmulBuild`.
public let narrowMatmulLimit = 32

extension KernelFamily {
    /// `Kernels/matmul.cl`: SGEMM with a fused bias and activation epilogue.
    public static let matmul = KernelFamily(
        name: "matmul", functions: ["sgemm"],
        knobs: [
            TuningKnob("TILE_M", 64, .positive, "rows of C per work-group"),
            TuningKnob("TILE_N", 64, .positive, "columns of C per work-group"),
            TuningKnob("TILE_K", 16, .positive, "depth of one local-memory stage"),
            TuningKnob("WPT_M", 4, .positive, "rows of C per work-item"),
            TuningKnob("WPT_N", 4, .positive, "columns of C per work-item"),
        ],
        extraBuilds: [narrowMatmulBuild],
        check: { v in
            let (tm, tn, tk, wm, wn) = (v["TILE_M", default: 0], v["TILE_N", default: 0], v["TILE_K", default: 0],
                                        v["WPT_M", default: 1], v["WPT_N", default: 1])
            if tm % wm != 0 || tn % wn != 0 { return "TILE_M and TILE_N must be multiples of WPT_M and WPT_N" }
            // OpenCL guarantees 32 KiB of local memory per work-group (matmul.cl's #error says the same).
            if tk * (tm + tn + 2) * 4 > 32768 {
                return "TILE_K·(TILE_M + TILE_N + 2)·4 = \(tk * (tm + tn + 2) * 4) bytes of local memory exceed 32 KiB"
            }
            if (tm / wm) * (tn / wn) > 1024 { return "\((tm / wm) * (tn / wn)) work-items per group exceed 1024" }
            return nil
        })
}

extension KernelDevice {
    /// The build a product of this shape runs on: the narrow one when M or N is at most
    /// `narrowMatmulLimit`, else the wide one.
    func matmulBuild(for shape: GemmShape) -> String {
        min(shape.m, shape.n) <= narrowMatmulLimit ? narrowMatmulBuild : "matmul"
    }

    public func gemm(_ shape: GemmShape, alpha: Float, a: BufferSlice, b: BufferSlice, beta: Float,
                     c: BufferSlice, bias: BufferSlice?, activation: Activation) throws {
        shape.checkOperands(a: a, b: b, c: c, bias: bias)
        let build = matmulBuild(for: shape)
        let tileM = knob(build, "TILE_M"), tileN = knob(build, "TILE_N")
        try launch(build, "sgemm",
                   groups: [(shape.m + tileM - 1) / tileM, (shape.n + tileN - 1) / tileN],
                   groupSize: [tileN / knob(build, "WPT_N"), tileM / knob(build, "WPT_M")], [
                       .int(shape.m), .int(shape.n), .int(shape.k), .float(alpha),
                       .slice(a), .int(shape.transposeA ? 1 : shape.lda), .int(shape.transposeA ? shape.lda : 1),
                       .slice(b), .int(shape.transposeB ? 1 : shape.ldb), .int(shape.transposeB ? shape.ldb : 1),
                       .float(beta), .slice(c), .int(shape.ldc),
                       .slice(bias ?? c), .flag(bias != nil), .int(Int(activation.rawValue)),
                   ])
    }
}
