/// The build used for narrow products (M or N at most `narrowMatmulLimit`, such as a
/// convolution's few output channels or a classifier's ten logits): large tiles would leave most
/// of each work-group idle there, so it has its own tuning, `kernelDefines["matmul-narrow"]`.
public let narrowMatmulBuild = "matmul-narrow"

/// Products with M or N up to this size use `narrowMatmulBuild`.
public let narrowMatmulLimit = 32

/// The build used for products with very few rows (M at most `shortMatmulLimit`: the weight
/// gradient of a layer with few outputs, K often tens of thousands long, usually split along K),
/// tuned as `kernelDefines["matmul-short"]`.
public let shortMatmulBuild = "matmul-short"

/// Products with M up to this size use `shortMatmulBuild`.
public let shortMatmulLimit = 16

extension KernelFamily {
    /// `Kernels/matmul.cl`: SGEMM with a fused bias and activation epilogue.
    public static let matmul = KernelFamily(
        name: "matmul", functions: ["sgemm", "splitk_reduce"],
        knobs: [
            TuningKnob("TILE_M", 64, .positive, "rows of C per work-group"),
            TuningKnob("TILE_N", 64, .positive, "columns of C per work-group"),
            TuningKnob("TILE_K", 16, .positive, "depth of one local-memory stage"),
            TuningKnob("WPT_M", 4, .positive, "rows of C per work-item"),
            TuningKnob("WPT_N", 4, .positive, "columns of C per work-item"),
            TuningKnob("VW", 4, .powerOfTwo, "width of the vectors a work-item's columns are read and multiplied in (1, 2, 4 or 8)"),
            TuningKnob("K_UNROLL", 0, .nonNegative, "unroll factor of the loop over one stage's depth (0: the compiler's choice)"),
            TuningKnob("PREFETCH", 0, .nonNegative, "1: read the next stage into registers while this one is multiplied"),
            TuningKnob("GLOBAL_QUADS", 0, .nonNegative, "1: read interior stages of 16-byte-aligned operands as float4 (without PREFETCH)"),
            TuningKnob("SPLIT_K", 0, .nonNegative, "K slices of a product (0: chosen from the shape and the device)"),
        ],
        extraBuilds: [narrowMatmulBuild, shortMatmulBuild],
        specializations: GemmLayout.allCases.map(\.specialization),
        check: { v in
            let (tm, tn, tk, wm, wn) = (v["TILE_M", default: 0], v["TILE_N", default: 0], v["TILE_K", default: 0],
                                        v["WPT_M", default: 1], v["WPT_N", default: 1])
            if tm % wm != 0 || tn % wn != 0 { return "TILE_M and TILE_N must be multiples of WPT_M and WPT_N" }
            if v["PREFETCH", default: 0] > 1 { return "PREFETCH must be 0 or 1" }
            if v["GLOBAL_QUADS", default: 0] > 1 { return "GLOBAL_QUADS must be 0 or 1" }
            let vw = v["VW", default: 1]
            if vw > 8 || wn % vw != 0 { return "VW must be 1, 2, 4 or 8 and divide WPT_N" }
            // OpenCL guarantees 32 KiB of local memory per work-group (matmul.cl's #error says the same).
            if tk * (tm + tn + 2) * 4 > 32768 {
                return "TILE_K·(TILE_M + TILE_N + 2)·4 = \(tk * (tm + tn + 2) * 4) bytes of local memory exceed 32 KiB"
            }
            if (tm / wm) * (tn / wn) > 1024 { return "\((tm / wm) * (tn / wn)) work-items per group exceed 1024" }
            return nil
        })
}

/// The transpose layout of a product, `op(A)·op(B)`: matmul compiles one program per layout
/// (its specialisations), so that the loads have no layout branches.
enum GemmLayout: CaseIterable {
    case nn, nt, tn, tt

    init(transposeA: Bool, transposeB: Bool) {
        switch (transposeA, transposeB) {
        case (false, false): self = .nn
        case (false, true): self = .nt
        case (true, false): self = .tn
        case (true, true): self = .tt
        }
    }

    var specialization: KernelSpecialization {
        switch self {
        case .nn: KernelSpecialization(name: "nn", defines: ["TRANS_A": 0, "TRANS_B": 0])
        case .nt: KernelSpecialization(name: "nt", defines: ["TRANS_A": 0, "TRANS_B": 1])
        case .tn: KernelSpecialization(name: "tn", defines: ["TRANS_A": 1, "TRANS_B": 0])
        case .tt: KernelSpecialization(name: "tt", defines: ["TRANS_A": 1, "TRANS_B": 1])
        }
    }
}

extension KernelDevice {
    /// The build a product of this shape runs on: the short one when M is at most
    /// `shortMatmulLimit`, the narrow one when M or N is at most `narrowMatmulLimit`, else the
    /// wide one.
    func matmulBuild(for shape: GemmShape) -> String {
        if shape.m <= shortMatmulLimit { return shortMatmulBuild }
        return min(shape.m, shape.n) <= narrowMatmulLimit ? narrowMatmulBuild : "matmul"
    }

    public func gemm(_ shape: GemmShape, alpha: Float, a: BufferSlice, b: BufferSlice, beta: Float,
                     c: BufferSlice, bias: BufferSlice?, activation: Activation) throws {
        shape.checkOperands(a: a, b: b, c: c, bias: bias)
        try launchProduct(shape, batch: .single, alpha: alpha, a: a, b: b, beta: beta, c: c, bias: bias,
                          activation: activation)
    }

    public func gemmBatched(_ shape: GemmShape, batch: GemmBatch, alpha: Float, a: BufferSlice, b: BufferSlice,
                            beta: Float, c: BufferSlice) throws {
        batch.checkOperands(shape, a: a, b: b, c: c)
        try launchProduct(shape, batch: batch, alpha: alpha, a: a, b: b, beta: beta, c: c, bias: nil,
                          activation: .identity)
    }

    /// K slices for a product whose output tiles (`tiles`, all items together) cannot fill the
    /// device: enough slices for about four work-groups per compute unit, each slice at least
    /// four tile depths long, at most 64; `SPLIT_K` overrides.
    func splitCount(_ shape: GemmShape, tiles: Int, build: String) -> Int {
        let tileK = knob(build, "TILE_K")
        let longest = max(shape.k / (4 * tileK), 1)
        let forced = knob(build, "SPLIT_K")
        if forced > 0 { return min(forced, max(shape.k / tileK, 1)) }
        let target = 4 * runtime.computeUnits
        guard tiles < target else { return 1 }
        return max(1, min((target + tiles - 1) / tiles, longest, 64))
    }

    /// The one launch path of every product: items along the third grid dimension (in chunks
    /// CUDA's 65535 limit allows), and K split into slices reduced in a fixed order when the
    /// output is too small to fill the device.
    private func launchProduct(_ shape: GemmShape, batch: GemmBatch, alpha: Float, a: BufferSlice, b: BufferSlice,
                               beta: Float, c: BufferSlice, bias: BufferSlice?, activation: Activation) throws {
        guard batch.count > 0, shape.m > 0, shape.n > 0 else { return }
        let build = matmulBuild(for: shape)
        let tileM = knob(build, "TILE_M"), tileN = knob(build, "TILE_N"), tileK = knob(build, "TILE_K")
        let groups = ((shape.m + tileM - 1) / tileM, (shape.n + tileN - 1) / tileN)
        let groupSize = [tileN / knob(build, "WPT_N"), tileM / knob(build, "WPT_M")]
        let slices = shape.k == 0 ? 1 : splitCount(shape, tiles: groups.0 * groups.1 * batch.count, build: build)
        // Slices whole tile depths long, so only the last is ragged.
        let sliceK = slices == 1 ? max(shape.k, 1) : ((shape.k + slices - 1) / slices + tileK - 1) / tileK * tileK
        let strides: [KernelArgument] = [.int(shape.transposeA ? 1 : shape.lda), .int(shape.transposeA ? shape.lda : 1)]
        let bStrides: [KernelArgument] = [.int(shape.transposeB ? 1 : shape.ldb), .int(shape.transposeB ? shape.ldb : 1)]
        let layout = GemmLayout(transposeA: shape.transposeA, transposeB: shape.transposeB).specialization
        let itemsPerLaunch = max(65535 / slices, 1)
        var first = 0
        while first < batch.count {
            let items = min(itemsPerLaunch, batch.count - first)
            let a = a.slice(first * batch.strideA, a.count - first * batch.strideA)
            let b = b.slice(first * batch.strideB, b.count - first * batch.strideB)
            let c = c.slice(first * batch.strideC, c.count - first * batch.strideC)
            if slices == 1 {
                try launch(build, "sgemm", specialization: layout, groups: [groups.0, groups.1, items], groupSize: groupSize + [1],
                           [.int(shape.m), .int(shape.n), .int(shape.k), .float(alpha), .slice(a)] + strides
                            + [.slice(b)] + bStrides
                            + [.float(beta), .slice(c), .int(shape.ldc), .slice(bias ?? c), .flag(bias != nil),
                               .int(Int(activation.rawValue)), .int(batch.strideA), .int(batch.strideB),
                               .int(batch.strideC), .int(1), .int(sliceK)])
            } else {
                let plane = shape.m * shape.n
                try withScratch(count: try bufferSize(items * slices, plane)) { workspace in
                    try launch(build, "sgemm", specialization: layout, groups: [groups.0, groups.1, items * slices], groupSize: groupSize + [1],
                               [.int(shape.m), .int(shape.n), .int(shape.k), .float(1), .slice(a)] + strides
                                + [.slice(b)] + bStrides
                                + [.float(0), .slice(workspace), .int(shape.n), .slice(workspace), .flag(false), .int(0),
                                   .int(batch.strideA), .int(batch.strideB), .int(plane), .int(slices), .int(sliceK)])
                    try launchLinear(build, "splitk_reduce", specialization: layout, count: items * plane, [
                        .int(shape.m), .int(shape.n), .int(items), .int(slices), .slice(workspace), .float(alpha),
                        .float(beta), .slice(c), .int(shape.ldc), .int(batch.strideC), .slice(bias ?? c),
                        .flag(bias != nil), .int(Int(activation.rawValue)),
                    ])
                }
            }
            first += items
        }
    }
}
