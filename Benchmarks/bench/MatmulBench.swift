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

    @Option(help: "Comma-separated MxNxK shapes, each optionally with :nt, :tn or :tt (transposed A/B).")
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

    func parsedShapes() throws -> [GemmShape] {
        try shapes.split(separator: ",").map { text in
            let parts = text.split(separator: ":")
            let dims = parts[0].split(separator: "x").compactMap { Int($0) }
            let flags = parts.count > 1 ? String(parts[1]) : "nn"
            guard dims.count == 3, dims.allSatisfy({ $0 >= 0 }), ["nn", "nt", "tn", "tt"].contains(flags) else {
                throw ValidationError("bad shape '\(text)': expected MxNxK with an optional :nt, :tn or :tt")
            }
            let (mn, o1) = dims[0].multipliedReportingOverflow(by: dims[1])
            let (mk, o2) = dims[0].multipliedReportingOverflow(by: dims[2])
            let (kn, o3) = dims[2].multipliedReportingOverflow(by: dims[1])
            // Each operand must fit in host memory next to its reference copy: 2^28 floats (1 GiB).
            guard !(o1 || o2 || o3), max(mn, mk, kn) <= 1 << 28 else {
                throw ValidationError("shape '\(text)' is too large: each matrix may hold at most 2^28 floats")
            }
            return GemmShape(m: dims[0], n: dims[1], k: dims[2], transposeA: flags.first == "t",
                             transposeB: flags.last == "t")
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
                    for m in try measure(shape, on: device, clblast: clblast) { reporter.report(m) }
                }
            }
            if clblast == nil && devices.contains(where: { ($0 as? KernelDevice)?.runtime is OpenCLRuntime }) {
                reporter.note("(CLBlast not installed: apt-get install libclblast-dev to time it alongside)")
            }
        }
    }

    /// Every candidate tile configuration on every OpenCL device, each validated, so a new GPU
    /// can be tuned in one run; the fastest is then set with FATHOM_KERNEL_DEFINES.
    private func runSweep(_ devices: [any Device], reporter: Reporter) throws {
        let user = try tuning.merged()
        for case let device as KernelDevice in devices {
            for candidate in matmulTuningCandidates {
                var defines = user
                for (family, values) in candidate { defines[family, default: [:]].merge(values) { $1 } }
                let tuned = try device.retuned(defines)
                let config = (defines["matmul"] ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                    .joined(separator: " ")
                for shape in try parsedShapes() {
                    for var m in try measure(shape, on: tuned, clblast: nil) {
                        m.config = config
                        reporter.report(m)
                    }
                }
            }
        }
    }

    private func label(_ s: GemmShape) -> String {
        "\(s.m)x\(s.n)x\(s.k)" + ((s.transposeA || s.transposeB) ? ":\(s.transposeA ? "t" : "n")\(s.transposeB ? "t" : "n")" : "")
    }

    /// Ours and the baseline, timed in alternation so drift hits both alike.
    private func measure(_ s: GemmShape, on device: any Device, clblast: CLBlast?) throws -> [Measurement] {
        let a = randomFloats(max(s.aCount, 1), seed: 1), b = randomFloats(max(s.bCount, 1), seed: 2)
        var reference = [Float](repeating: 0, count: max(s.cCount, 1))
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                reference.withUnsafeMutableBufferPointer { pc in
                    if let pa = pa.baseAddress, let pb = pb.baseAddress, let pc = pc.baseAddress {
                        BLASReference.sgemm(s, a: pa, b: pb, c: pc)
                    }
                }
            }
        }
        let tolerance = 1e-5 * Float(max(s.k, 1)).squareRoot() * 4
        let ba = try device.upload(a), bb = try device.upload(b), bc = try device.makeBuffer(count: max(s.cCount, 1))
        let c = bc.slice(0, s.cCount)
        let ours: () throws -> Void = { try device.gemm(s, a: ba.whole, b: bb.whole, c: c) }

        // Validate: the CPU path against a naive double-precision check of sampled entries (the
        // full reference is the same BLAS call), OpenCL against the OpenBLAS result.
        try ours()
        let result = try device.download(c)
        let oursValid = device is CPUDevice ? sampledNaiveCheck(s, a: a, b: b, c: result, tolerance: tolerance)
            : agrees(result, Array(reference.prefix(s.cCount)), tolerance: tolerance)

        var baseline: (name: String, run: () throws -> Double)?
        var baselineValid = false
        if device is CPUDevice {
            var out = [Float](repeating: 0, count: max(s.cCount, 1))
            baseline = ("cblas", {
                try wallSeconds(device) {
                    a.withUnsafeBufferPointer { pa in
                        b.withUnsafeBufferPointer { pb in
                            out.withUnsafeMutableBufferPointer { pc in
                                if let pa = pa.baseAddress, let pb = pb.baseAddress, let pc = pc.baseAddress {
                                    BLASReference.sgemm(s, a: pa, b: pb, c: pc)
                                }
                            }
                        }
                    }
                }
            })
            baselineValid = true
        } else if let kernels = device as? KernelDevice, s.m > 0, s.n > 0, s.k > 0 {
            let cc = try device.makeBuffer(count: s.cCount)
            if kernels.runtime is OpenCLRuntime, let clblast {
                baseline = ("clblast", {
                    try wallSeconds(device) { try clblast.gemm(s, a: ba.whole, b: bb.whole, c: cc.whole, on: kernels) }
                })
            } else if let cublas = CUBLAS(on: kernels) {
                baseline = ("cublas", {
                    try wallSeconds(device) { try cublas.gemm(s, a: ba.whole, b: bb.whole, c: cc.whole) }
                })
            }
            if let baseline {
                _ = try baseline.run()
                baselineValid = agrees(try device.download(cc.whole), Array(reference.prefix(s.cCount)),
                                       tolerance: tolerance)
            }
        }

        _ = try wallSeconds(device, ours)  // warm-up
        var oursTimes: [Double] = [], baselineTimes: [Double] = []
        for _ in 0..<repeats {
            oursTimes.append(try wallSeconds(device, ours))
            if let baseline { baselineTimes.append(try baseline.run()) }
        }
        var measurements = [Measurement(kernel: "matmul", device: device.kind, backend: "fathom", deviceName: device.name,
                                        shape: label(s), seconds: oursTimes, flops: s.flops, validated: oursValid,
                                        timing: "wall")]
        if let baseline {
            let other = Measurement(kernel: "matmul", device: device.kind, backend: baseline.name, deviceName: device.name,
                                    shape: label(s), seconds: baselineTimes, flops: s.flops, validated: baselineValid,
                                    timing: "wall")
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
