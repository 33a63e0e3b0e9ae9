import ArgumentParser
import CommandLineSupport
import Compute

/// `bench matmul`: our SGEMM on each device next to the library a user would otherwise call
/// (a direct `cblas_sgemm` on the CPU, CLBlast on OpenCL devices when it is installed, cuBLAS
/// FP32 on CUDA devices when it is present). Both sides of every ratio are timed by the same
/// clock: wall time around a synchronised run, the only clock the libraries share with us
/// (CLBlast's event covers only the last of the kernels its indirect GEMM launches).
struct MatmulBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "matmul", abstract: "Time SGEMM on each backend, validated first.")

    @Option(help: "Comma-separated backends to run side by side: gpu, cuda, cpu, opencl, auto.")
    var device = "cpu"

    @Option(help: "Comma-separated shapes MxNxK, each optionally with :nt, :tn or :tt (transposed A/B) and a batch count in front, B*MxNxK (B products with packed operands in one launch), e.g. 8*16x25x576:tn.")
    var shapes = MatmulBench.defaultShapes

    @Option(help: "Timed repeats per shape (after one warm-up).")
    var repeats = 10

    @Flag(help: "One JSON object per line.")
    var json = false

    @Flag(help: "On OpenCL and CUDA devices, time every candidate tile configuration (see matmulTuningCandidates).")
    var sweep = false

    @OptionGroup var tuning: TuningOptions

    /// The training products of mlp:512,256 at batch 256 (forward, weight- and input-gradient
    /// products of both large layers) and two square sizes.
    static let defaultShapes = "256x512x784:nt,512x784x256:tn,256x784x512,256x256x512:nt,256x512x256:tn,256x512x256,1024x1024x1024,2048x2048x2048"

    func validate() throws {
        guard repeats > 0 else { throw ValidationError("--repeats must be positive") }
        _ = try parsedShapes()
    }

    /// One entry of `--shapes`: a product and how many of it run as one batched launch.
    struct BenchShape {
        var shape: GemmShape
        var batch: Int
    }

    func parsedShapes() throws -> [BenchShape] {
        try shapes.split(separator: ",").map { entry in
            let batchAndShape = entry.split(separator: "*", maxSplits: 1)
            let text = batchAndShape.last ?? entry
            let batch = batchAndShape.count == 2 ? Int(batchAndShape[0]) : 1
            let parts = text.split(separator: ":")
            let dims = parts[0].split(separator: "x").compactMap { Int($0) }
            let flags = parts.count > 1 ? String(parts[1]) : "nn"
            guard let batch, batch >= 1, dims.count == 3, dims.allSatisfy({ $0 >= 0 }),
                  ["nn", "nt", "tn", "tt"].contains(flags) else {
                throw ValidationError("bad shape '\(entry)': expected [B*]MxNxK with an optional :nt, :tn or :tt")
            }
            let (mn, o1) = dims[0].multipliedReportingOverflow(by: dims[1])
            let (mk, o2) = dims[0].multipliedReportingOverflow(by: dims[2])
            let (kn, o3) = dims[2].multipliedReportingOverflow(by: dims[1])
            let (total, o4) = max(mn, mk, kn).multipliedReportingOverflow(by: batch)
            // Each operand must fit in host memory next to its reference copy: 2^28 floats (1 GiB).
            guard !(o1 || o2 || o3 || o4), total <= 1 << 28 else {
                throw ValidationError("shape '\(entry)' is too large: each operand may hold at most 2^28 floats")
            }
            return BenchShape(shape: GemmShape(m: dims[0], n: dims[1], k: dims[2], transposeA: flags.first == "t",
                                               transposeB: flags.last == "t"), batch: batch)
        }
    }

    func run() throws {
        runReportingFailures(command: "bench matmul") {
            let reporter = Reporter(json: json)
            let devices = try parseDevices(device, tuning: tuning)
            let clblast = CLBlast()
            if sweep {
                try runSweep(devices, reporter: reporter)
                return
            }
            for shape in try parsedShapes() {
                for device in devices {
                    for m in try measure(shape.shape, batch: shape.batch, on: device, clblast: clblast) { reporter.report(m) }
                }
            }
            if clblast == nil && devices.contains(where: { ($0 as? KernelDevice)?.runtime is OpenCLRuntime }) {
                reporter.note("(CLBlast not installed: apt-get install libclblast-dev to time it alongside)")
            }
        }
    }

    /// Every candidate tile configuration on every OpenCL device, each validated, so a new GPU
    /// can be tuned in one run; the fastest is then set with FATHOM_KERNEL_DEFINES. A candidate
    /// changes only the knobs it names, over the device's tuning in force (its measured table
    /// and the user's overrides), and is labelled with them, e.g.
    /// `matmul-short:SPLIT_K=8 matmul-narrow:SPLIT_K=8`.
    private func runSweep(_ devices: [any Device], reporter: Reporter) throws {
        for case let device as KernelDevice in devices {
            for candidate in matmulTuningCandidates {
                var defines = device.kernelDefines
                for (build, values) in candidate { defines[build, default: [:]].merge(values) { $1 } }
                let tuned = try device.retuned(defines)
                let config = candidate.sorted { $0.key < $1.key }.flatMap { build, values in
                    values.sorted { $0.key < $1.key }.map { "\(build):\($0.key)=\($0.value)" }
                }.joined(separator: " ")
                for shape in try parsedShapes() {
                    for var m in try measure(shape.shape, batch: shape.batch, on: tuned, clblast: nil) {
                        m.config = config
                        reporter.report(m)
                    }
                }
            }
        }
    }

    private func label(_ s: GemmShape, batch: Int) -> String {
        (batch > 1 ? "\(batch)*" : "") + "\(s.m)x\(s.n)x\(s.k)"
            + ((s.transposeA || s.transposeB) ? ":\(s.transposeA ? "t" : "n")\(s.transposeB ? "t" : "n")" : "")
    }

    /// Ours and the baseline, timed in alternation so drift hits both alike. A batch runs as
    /// one batched launch (ours, CLBlast's strided batched SGEMM, cuBLAS's) against a loop of
    /// `cblas_sgemm` on the CPU.
    private func measure(_ s: GemmShape, batch: Int, on device: any Device, clblast: CLBlast?) throws -> [Measurement] {
        let packed = GemmBatch(count: batch, packed: s)
        let a = randomFloats(max(batch * s.aCount, 1), seed: 1), b = randomFloats(max(batch * s.bCount, 1), seed: 2)
        var reference = [Float](repeating: 0, count: max(batch * s.cCount, 1))
        let referenceProducts = { (out: inout [Float]) in
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    out.withUnsafeMutableBufferPointer { pc in
                        guard let pa = pa.baseAddress, let pb = pb.baseAddress, let pc = pc.baseAddress else { return }
                        for item in 0..<batch {
                            BLASReference.sgemm(s, a: pa + item * s.aCount, b: pb + item * s.bCount, c: pc + item * s.cCount)
                        }
                    }
                }
            }
        }
        referenceProducts(&reference)
        let expected = Array(reference.prefix(batch * s.cCount))
        let tolerance = 1e-5 * Float(max(s.k, 1)).squareRoot() * 4
        let ba = try device.upload(a), bb = try device.upload(b), bc = try device.makeBuffer(count: max(batch * s.cCount, 1))
        let c = bc.slice(0, batch * s.cCount)
        let ours: () throws -> Void = batch == 1
            ? { try device.gemm(s, a: ba.whole, b: bb.whole, c: c) }
            : { try device.gemmBatched(s, batch: packed, alpha: 1, a: ba.whole, b: bb.whole, beta: 0, c: c) }

        // Validate: the CPU path against a naive double-precision check of sampled entries (the
        // full reference is the same BLAS call), kernel devices against the OpenBLAS result.
        try ours()
        let result = try device.download(c)
        let oursValid = device is CPUDevice
            ? sampledNaiveCheck(s, a: a, b: b, c: Array(result.prefix(s.cCount)), tolerance: tolerance)
                && agrees(result, expected, tolerance: tolerance)
            : agrees(result, expected, tolerance: tolerance)

        var baseline: (name: String, run: () throws -> Double)?
        var baselineValid = false
        if device is CPUDevice {
            var out = [Float](repeating: 0, count: max(batch * s.cCount, 1))
            baseline = ("cblas", { try wallSeconds(device) { referenceProducts(&out) } })
            baselineValid = true
        } else if let kernels = device as? KernelDevice, s.m > 0, s.n > 0, s.k > 0 {
            let cc = try device.makeBuffer(count: batch * s.cCount)
            if kernels.runtime is OpenCLRuntime, let clblast, batch == 1 || clblast.hasStridedBatched {
                baseline = ("clblast", {
                    try wallSeconds(device) {
                        if batch == 1 {
                            try clblast.gemm(s, a: ba.whole, b: bb.whole, c: cc.whole, on: kernels)
                        } else {
                            try clblast.gemmStridedBatched(s, batch: packed, a: ba.whole, b: bb.whole, c: cc.whole, on: kernels)
                        }
                    }
                })
            } else if let cublas = CUBLAS(on: kernels) {
                baseline = ("cublas", {
                    try wallSeconds(device) {
                        try cublas.gemmBatched(s, batch: packed, a: ba.whole, b: bb.whole, c: cc.whole)
                    }
                })
            }
            if let baseline {
                _ = try baseline.run()
                baselineValid = agrees(try device.download(cc.whole), expected, tolerance: tolerance)
            }
        }

        _ = try wallSeconds(device, ours)  // warm-up
        var oursTimes: [Double] = [], baselineTimes: [Double] = []
        for _ in 0..<repeats {
            oursTimes.append(try wallSeconds(device, ours))
            if let baseline { baselineTimes.append(try baseline.run()) }
        }
        let flops = s.flops * Double(batch)
        var measurements = [Measurement(kernel: "matmul", device: device.kind, backend: "fathom", deviceName: device.name,
                                        shape: label(s, batch: batch), seconds: oursTimes, flops: flops,
                                        validated: oursValid, timing: "wall")]
        if let baseline {
            let other = Measurement(kernel: "matmul", device: device.kind, backend: baseline.name, deviceName: device.name,
                                    shape: label(s, batch: batch), seconds: baselineTimes, flops: flops,
                                    validated: baselineValid, timing: "wall")
            measurements[0].extra = [("vs_\(baseline.name)", (other.gflops ?? 0) > 0 ? (measurements[0].gflops ?? 0) / (other.gflops ?? 1) : .nan)]
            measurements.append(other)
        }
        return measurements
    }

    /// Checks 64 sampled entries of C against a double-precision dot product.
    private func sampledNaiveCheck(_ s: GemmShape, a: [Float], b: [Float], c: [Float], tolerance: Float) -> Bool {
        guard s.m > 0, s.n > 0 else { return true }
        for sample in 0..<64 {
            let i = (sample * 7919) % s.m, j = (sample * 104_729) % s.n
            var sum = 0.0
            for p in 0..<s.k {
                let av = s.transposeA ? a[p * s.lda + i] : a[i * s.lda + p]
                let bv = s.transposeB ? b[j * s.ldb + p] : b[p * s.ldb + j]
                sum += Double(av) * Double(bv)
            }
            if !(abs(Float(sum) - c[i * s.ldc + j]) <= tolerance * max(1, abs(Float(sum)))) { return false }
        }
        return true
    }
}
