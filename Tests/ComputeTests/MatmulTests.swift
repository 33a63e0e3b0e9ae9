@testable import Compute
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Naive double-precision reference for C = act(alpha·op(A)·op(B) + beta·C + bias).
func referenceGemm(_ s: GemmShape, alpha: Float, a: [Float], b: [Float], beta: Float, c: [Float],
                   bias: [Float]?, activation: Activation) -> [Float] {
    var out = c
    for i in 0..<s.m {
        for j in 0..<s.n {
            var sum = 0.0
            for p in 0..<s.k {
                let av = s.transposeA ? a[p * s.lda + i] : a[i * s.lda + p]
                let bv = s.transposeB ? b[j * s.ldb + p] : b[p * s.ldb + j]
                sum += Double(av) * Double(bv)
            }
            var v = Double(alpha) * sum + (beta == 0 ? 0 : Double(beta) * Double(c[i * s.ldc + j]))
            if let bias { v += Double(bias[j]) }
            switch activation {
            case .identity: break
            case .relu: v = max(v, 0)
            case .tanh: v = tanh(v)
            }
            out[i * s.ldc + j] = Float(v)
        }
    }
    return out
}

struct MatmulCase: CustomTestStringConvertible, Sendable {
    let m: Int, n: Int, k: Int
    var testDescription: String { "\(m)x\(n)x\(k)" }
}

/// Runs `C = op(A)·op(B)` for `s` on `device` with seeded operands and compares it with the
/// naive reference.
func expectProduct(_ s: GemmShape, on device: any Device, seeds: (UInt64, UInt64), _ what: String,
                   sourceLocation: SourceLocation = #_sourceLocation) throws {
    let a = randomValues(s.aCount, seed: seeds.0), b = randomValues(s.bCount, seed: seeds.1)
    let expected = referenceGemm(s, alpha: 1, a: a, b: b, beta: 0, c: [Float](repeating: 0, count: s.cCount),
                                 bias: nil, activation: .identity)
    let c = try device.makeBuffer(count: s.cCount)
    try device.gemm(s, a: try device.upload(a).whole, b: try device.upload(b).whole, c: c.whole)
    expectClose(try device.download(c.whole), expected, atol: 1e-4, what, sourceLocation: sourceLocation)
}

@Suite("matmul: OpenCL and OpenBLAS against a naive reference")
struct MatmulTests {
    static let shapes: [MatmulCase] = [
        .init(m: 0, n: 5, k: 7), .init(m: 5, n: 0, k: 7), .init(m: 5, n: 7, k: 0),
        .init(m: 1, n: 1, k: 1), .init(m: 17, n: 33, k: 65), .init(m: 4096, n: 3, k: 5),
        .init(m: 3, n: 5, k: 4096), .init(m: 65, n: 63, k: 17), .init(m: 512, n: 512, k: 512),
    ]

    @Test(arguments: shapes, [(false, false), (false, true), (true, false), (true, true)])
    func product(_ shape: MatmulCase, _ transposes: (Bool, Bool)) throws {
        let s = GemmShape(m: shape.m, n: shape.n, k: shape.k, transposeA: transposes.0, transposeB: transposes.1)
        let a = randomValues(max(s.aCount, 1), seed: 1)
        let b = randomValues(max(s.bCount, 1), seed: 2)
        let c = randomValues(max(s.cCount, 1), seed: 3)
        let expected = referenceGemm(s, alpha: 1, a: a, b: b, beta: 0, c: c, bias: nil, activation: .identity)
        // Float accumulation error grows with K; entries are sums of K products of values in [-1, 1).
        let atol = Float(1e-5) * Float(max(shape.k, 1)).squareRoot() * 4 + 1e-6
        for device in Devices.all {
            let (ba, bb, bc) = (try upload(a, to: device), try upload(b, to: device), try upload(c, to: device))
            try device.gemm(s, a: ba.whole, b: bb.whole, c: bc.whole)
            expectClose(try device.download(bc.whole), expected, atol: atol, "\(device.kind) \(s)")
        }
    }

    @Test("alpha, beta, bias and activation epilogue", arguments: Activation.allCases)
    func epilogue(_ activation: Activation) throws {
        let s = GemmShape(m: 31, n: 37, k: 41)
        let a = randomValues(s.aCount, seed: 4), b = randomValues(s.bCount, seed: 5)
        let c = randomValues(s.cCount, seed: 6), bias = randomValues(s.n, seed: 7)
        let expected = referenceGemm(s, alpha: 0.5, a: a, b: b, beta: -1.5, c: c, bias: bias, activation: activation)
        for device in Devices.all {
            let bc = try upload(c, to: device)
            try device.gemm(s, alpha: 0.5, a: try upload(a, to: device).whole, b: try upload(b, to: device).whole,
                            beta: -1.5, c: bc.whole, bias: try upload(bias, to: device).whole, activation: activation)
            expectClose(try device.download(bc.whole), expected, atol: 1e-4, "\(device.kind) \(activation)")
        }
    }

    @Test("operands at offsets inside larger buffers, with padded leading dimensions")
    func offsetsAndStrides() throws {
        var s = GemmShape(m: 13, n: 11, k: 7, transposeA: true)
        s.lda = 20; s.ldb = 15; s.ldc = 12
        let a = randomValues(s.aCount + 9, seed: 8), b = randomValues(s.bCount + 5, seed: 9)
        let c = randomValues(s.cCount + 3, seed: 10)
        let expectedC = referenceGemm(s, alpha: 1, a: Array(a[9...]), b: Array(b[5...]), beta: 1,
                                      c: Array(c[3...]), bias: nil, activation: .identity)
        for device in Devices.all {
            let ba = try upload(a, to: device), bb = try upload(b, to: device), bc = try upload(c, to: device)
            try device.gemm(s, a: ba.slice(9, s.aCount), b: bb.slice(5, s.bCount), beta: 1, c: bc.slice(3, s.cCount))
            let out = try device.download(bc.whole)
            expectClose(Array(out[0..<3]), Array(c[0..<3]), atol: 0, "\(device.kind) prefix untouched")
            // Padding columns between rows of C must be left alone too.
            expectClose(Array(out[3...]), expectedC, atol: 1e-5, "\(device.kind) strided product")
        }
    }

    @Test("tuning overrides through build options give the same product")
    func tuningOverrides() throws {
        let device = try KernelDevice.openCL(Devices.openCLInfo, kernelDefines: [
            "matmul": ["TILE_M": "32", "TILE_N": "16", "TILE_K": "8", "WPT_M": "2", "WPT_N": "2", "VW": "2"],
        ], cacheDirectory: nil)
        let s = GemmShape(m: 45, n: 29, k: 77, transposeB: true)
        try expectProduct(s, on: device, seeds: (11, 12), "retuned OpenCL matmul")
    }

    /// Each lane of a vector is one fma in k order, so the vector width, the unroll factor,
    /// prefetching and float4 loads may not change a single bit; every layout is its own program.
    @Test("every vector width, K unroll, prefetch and float4 load gives the same bits on every layout and awkward shape",
          arguments: [(false, false), (false, true), (true, false), (true, true)])
    func vectorWidths(_ transposes: (Bool, Bool)) throws {
        // 64³ and 96×128×72 have interior tiles whose rows are 16-byte aligned (the float4 path);
        // a padded leading dimension of 66 is not aligned, so it takes the scalar path.
        var padded = GemmShape(m: 96, n: 128, k: 72, transposeA: transposes.0, transposeB: transposes.1)
        padded.lda += 2; padded.ldb += 2
        let shapes = [(37, 29, 19), (1, 1, 1), (1, 17, 3), (64, 64, 64), (5, 131, 67), (96, 128, 72)].map { m, n, k in
            GemmShape(m: m, n: n, k: k, transposeA: transposes.0, transposeB: transposes.1)
        } + [padded]
        var first: [[Float]]?
        for (vw, unroll, prefetch, quads) in [(1, 0, 0, 0), (2, 3, 1, 0), (4, 0, 0, 1), (8, 8, 0, 0), (8, 0, 1, 0), (8, 0, 0, 1)] {
            let tiles = ["TILE_M": "32", "TILE_N": "64", "TILE_K": "8", "WPT_M": "4", "WPT_N": "8",
                         "VW": "\(vw)", "K_UNROLL": "\(unroll)", "PREFETCH": "\(prefetch)", "GLOBAL_QUADS": "\(quads)",
                         "SPLIT_K": "1"]
            let device = try KernelDevice.openCL(Devices.openCLInfo, kernelDefines: [
                "matmul": tiles, narrowMatmulBuild: tiles, shortMatmulBuild: tiles,
            ], cacheDirectory: nil)
            var outputs: [[Float]] = []
            for s in shapes {
                try expectProduct(s, on: device, seeds: (21, 22), "VW \(vw) unroll \(unroll) prefetch \(prefetch) quads \(quads) \(s)")
                let a = randomValues(s.aCount, seed: 23), b = randomValues(s.bCount, seed: 24)
                let c = try device.makeBuffer(count: s.cCount)
                try device.gemm(s, a: try device.upload(a).whole, b: try device.upload(b).whole, c: c.whole)
                outputs.append(try device.download(c.whole))
            }
            if let first { #expect(outputs == first, "VW \(vw) unroll \(unroll) prefetch \(prefetch) quads \(quads) changed bits") } else { first = outputs }
        }
    }

    @Test("every tuning candidate computes the same product", arguments: matmulTuningCandidates.indices)
    func tuningCandidates(_ index: Int) throws {
        let device = try KernelDevice.openCL(Devices.openCLInfo, kernelDefines: matmulTuningCandidates[index], cacheDirectory: nil)
        for s in [GemmShape(m: 131, n: 67, k: 45, transposeA: true), GemmShape(m: 5, n: 129, k: 17, transposeB: true)] {
            try expectProduct(s, on: device, seeds: (13, 14), "candidate \(index) \(s)")
        }
    }

    @Test("narrow products run on their own build, tuned independently")
    func narrowVariant() throws {
        let device = try KernelDevice.openCL(Devices.openCLInfo, kernelDefines: [
            "matmul": ["TILE_M": "128", "TILE_N": "128", "WPT_M": "8", "WPT_N": "8"],
            "matmul-narrow": ["TILE_M": "64", "TILE_N": "16", "TILE_K": "8", "WPT_M": "4", "WPT_N": "1", "VW": "1"],
        ], cacheDirectory: nil)
        let narrow = GemmShape(m: 300, n: 7, k: 45, transposeB: true), wide = GemmShape(m: 70, n: 33, k: 20)
        #expect(device.matmulBuild(for: narrow) == "matmul-narrow")
        #expect(device.matmulBuild(for: wide) == "matmul")
        #expect(device.matmulBuild(for: GemmShape(m: 32, n: 4096, k: 3)) == "matmul-narrow")
        #expect(device.matmulBuild(for: GemmShape(m: 16, n: 4096, k: 3)) == "matmul-short")
        for s in [narrow, wide] {
            try expectProduct(s, on: device, seeds: (15, 16), "\(s)")
        }
        #expect(throws: ComputeError.self) {
            try KernelDevice.openCL(Devices.openCLInfo, kernelDefines: ["matmul-narrow": ["TILE_N": "20", "WPT_N": "3"]],
                             cacheDirectory: nil)
        }
    }

    @Test("devices start from their measured tuning; a caller's family overrides it")
    func defaultTuningPerDevice() throws {
        let info = Devices.openCLInfo
        let plain = try KernelDevice.openCL(info, cacheDirectory: nil)
        let expected = info.isGPU ? (gpuTuning.first { info.name.contains($0.deviceName) }?.defines ?? [:]) : cpuDeviceTuning
        #expect(defaultTuning(isGPU: info.isGPU, deviceName: info.name) == expected)
        for (family, values) in expected { #expect(plain.kernelDefines[family] == values) }
        let overridden = try KernelDevice.openCL(info, kernelDefines: ["matmul": ["TILE_M": "32", "WPT_M": "2"]],
                                          cacheDirectory: nil)
        #expect(overridden.kernelDefines["matmul"] == ["TILE_M": "32", "WPT_M": "2"])
        #expect(overridden.kernelDefines["reduce"] == expected["reduce"])
    }

    @Test("tuning overrides are parsed, and inconsistent tiles are refused")
    func tuningParsing() throws {
        #expect(try parseKernelDefines("matmul:TILE_M=128,matmul:WPT_M=8,reduce:REDUCE_GROUP=128")
                == ["matmul": ["TILE_M": "128", "WPT_M": "8"], "reduce": ["REDUCE_GROUP": "128"]])
        for bad in ["TILE_M=128", "matmul:TILE_M", "matmul:TILE M=3", "matmul:X=1;rm"] {
            #expect(throws: ComputeError.self) { try parseKernelDefines(bad) }
        }
        #expect(throws: ComputeError.invalidTuning("matmul: TILE_M and TILE_N must be multiples of WPT_M and WPT_N")) {
            try KernelDevice.openCL(Devices.openCLInfo, kernelDefines: ["matmul": ["TILE_M": "30", "WPT_M": "4"]],
                             cacheDirectory: nil)
        }
        #expect(throws: ComputeError.self) {
            try KernelDevice.openCL(Devices.openCLInfo, kernelDefines: ["matmul": ["WPT_N": "0"]], cacheDirectory: nil)
        }
        #expect(throws: ComputeError.invalidTuning("matmul: VW must be 1, 2, 4 or 8 and divide WPT_N")) {
            try KernelDevice.openCL(Devices.openCLInfo, kernelDefines: ["matmul": ["WPT_N": "4", "VW": "8"]],
                                    cacheDirectory: nil)
        }
        #expect(throws: ComputeError.invalidTuning("matmul: VW must be 1, 2, 4 or 8 and divide WPT_N")) {
            try KernelDevice.openCL(Devices.openCLInfo, kernelDefines: ["matmul": ["WPT_N": "16", "VW": "16"]],
                                    cacheDirectory: nil)
        }
        #expect(throws: ComputeError.invalidTuning("matmul VW=3 must be a power of two")) {
            try KernelDevice.openCL(Devices.openCLInfo, kernelDefines: ["matmul": ["VW": "3"]], cacheDirectory: nil)
        }
        #expect(throws: ComputeError.invalidTuning("reduce REDUCE_GROUP=96 must be a power of two")) {
            try KernelDevice.openCL(Devices.openCLInfo, kernelDefines: ["reduce": ["REDUCE_GROUP": "96"]], cacheDirectory: nil)
        }
    }
}

/// Batched and split-K products (issue 9): every layout, awkward sizes, broadcast operands,
/// batch 0 and 1, K not divisible by the slices, on every device.
@Suite("matmul: batched and split-K")
struct BatchedMatmulTests {
    static let layouts = [(false, false), (false, true), (true, false), (true, true)]

    @Test("batched products with packed and broadcast operands match item-by-item references",
          arguments: [(0, 3, 5, 7), (1, 17, 9, 33), (5, 7, 13, 31), (3, 1, 1, 1), (4, 33, 2, 65)], layouts)
    func batched(_ dims: (Int, Int, Int, Int), _ layout: (Bool, Bool)) throws {
        let (count, m, n, k) = dims
        let s = GemmShape(m: m, n: n, k: k, transposeA: layout.0, transposeB: layout.1)
        for broadcastB in [false, true] {
            let batch = GemmBatch(count: count, strideA: s.aCount + 3, strideB: broadcastB ? 0 : s.bCount,
                                  strideC: s.cCount + 1)
            let a = randomValues(max(count, 1) * (s.aCount + 3), seed: 21)
            let b = randomValues(max(count, 1) * s.bCount, seed: 22)
            let c0 = randomValues(max(count, 1) * (s.cCount + 1), seed: 23)
            var expected = c0
            for item in 0..<count {
                let itemA = Array(a[(item * batch.strideA)...].prefix(s.aCount))
                let itemB = Array(b[(item * batch.strideB)...].prefix(s.bCount))
                let itemC = Array(c0[(item * batch.strideC)...].prefix(s.cCount))
                let out = referenceGemm(s, alpha: 0.5, a: itemA, b: itemB, beta: 2, c: itemC, bias: nil,
                                        activation: .identity)
                expected.replaceSubrange(item * batch.strideC..<item * batch.strideC + s.cCount, with: out)
            }
            for device in Devices.all {
                let c = try device.upload(c0)
                try device.gemmBatched(s, batch: batch, alpha: 0.5, a: try device.upload(a).whole,
                                       b: try device.upload(b).whole, beta: 2, c: c.whole)
                expectClose(try device.download(c.whole), expected, atol: 2e-4, rtol: 1e-5,
                            "\(device.kind) \(count)×\(s) broadcast B \(broadcastB)")
            }
        }
    }

    @Test("split-K products, K not divisible by the slices, with the epilogue", arguments: [1, 2, 3, 7, 64], layouts)
    func splitK(_ slices: Int, _ layout: (Bool, Bool)) throws {
        let s = GemmShape(m: 19, n: 11, k: 1100, transposeA: layout.0, transposeB: layout.1)
        let a = randomValues(s.aCount, seed: 31), b = randomValues(s.bCount, seed: 32)
        let c0 = randomValues(s.cCount, seed: 33), bias = randomValues(s.n, seed: 34)
        let expected = referenceGemm(s, alpha: 1.5, a: a, b: b, beta: -1, c: c0, bias: bias, activation: .relu)
        let device = try KernelDevice.openCL(Devices.openCLInfo,
                                             kernelDefines: ["matmul-narrow": ["SPLIT_K": "\(slices)"]],
                                             cacheDirectory: nil)
        #expect(device.splitCount(s, tiles: 1, build: "matmul-narrow") == slices)
        let c = try device.upload(c0)
        try device.gemm(s, alpha: 1.5, a: try device.upload(a).whole, b: try device.upload(b).whole, beta: -1,
                        c: c.whole, bias: try device.upload(bias).whole, activation: .relu)
        let first = try device.download(c.whole)
        expectClose(first, expected, atol: 1e-3, rtol: 1e-5, "\(slices) slices of \(s)")
        // The slices add up in a fixed order: the same bits every run.
        try device.write(c0, to: c.whole)
        try device.gemm(s, alpha: 1.5, a: try device.upload(a).whole, b: try device.upload(b).whole, beta: -1,
                        c: c.whole, bias: try device.upload(bias).whole, activation: .relu)
        #expect(try device.download(c.whole) == first)
    }

    @Test("the automatic split fills the device only where the output cannot")
    func automaticSplit() throws {
        let device = Devices.openCL
        let units = device.runtime.computeUnits
        let narrow = GemmShape(m: 16, n: 64, k: 50176, transposeA: true)
        #expect(device.matmulBuild(for: narrow) == "matmul-short")
        #expect(device.splitCount(narrow, tiles: 1, build: "matmul-short") == min(4 * units, 64))
        #expect(device.splitCount(GemmShape(m: 4096, n: 4096, k: 64), tiles: 4096, build: "matmul") == 1)
        // Short K is never split below four tile depths per slice.
        #expect(device.splitCount(GemmShape(m: 8, n: 8, k: 64), tiles: 1, build: "matmul-narrow") == 1)
        #expect(device.splitCount(GemmShape(m: 8, n: 8, k: 64 * 4 * 16), tiles: 1, build: "matmul-narrow") > 1)
        let a = randomValues(narrow.aCount, seed: 41), b = randomValues(narrow.bCount, seed: 42)
        let expected = referenceGemm(narrow, alpha: 1, a: a, b: b, beta: 0, c: [Float](repeating: 0, count: narrow.cCount),
                                     bias: nil, activation: .identity)
        let c = try device.makeBuffer(count: narrow.cCount)
        try device.gemm(narrow, a: try device.upload(a).whole, b: try device.upload(b).whole, c: c.whole)
        // Sums of 50,176 products of magnitude ≤ 1: float rounding reaches about 1e-5 relative.
        expectClose(try device.download(c.whole), expected, atol: 1e-3, rtol: 1e-4, "conv1's weight gradient shape")
    }
}
