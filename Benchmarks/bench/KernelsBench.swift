import ArgumentParser
import CommandLineSupport
import Compute
import Philox

/// `bench kernels`: every kernel family of the registry but matmul (which `bench matmul` times)
/// at the sizes of an MNIST training step, validated against the CPU reference, with effective
/// memory bandwidth. A family without a case here is an error, so a new family cannot be left out.
struct KernelsBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels", abstract: "Time every kernel family at training sizes, validated first.")

    @Option(help: "Comma-separated backends: gpu, cuda, cpu, opencl, auto.")
    var device = "cpu"

    @Option(help: "Timed repeats per kernel (after one warm-up).")
    var repeats = 20

    @Flag(help: "One JSON object per line.")
    var json = false

    @OptionGroup var tuning: TuningOptions

    /// One kernel case: its outputs are compared with the CPU's after one run on fresh inputs.
    struct Case: Sendable {
        let family: String
        let name: String
        let shape: String
        let bytes: Double
        let inputs: [Int]
        let outputs: [Int]
        /// Output element types, float unless given.
        var outputTypes: [ElementType] = []
        /// Tolerance relative to max(1, |reference|); random fills must agree exactly.
        var tolerance: Float = 1e-4
        let run: @Sendable (any Device, [DeviceBuffer]) throws -> Void
    }

    static let cases: [Case] = signCases(length: 535_818) + otherCases

    /// The stream every randomised case draws from.
    static let benchKey = PhiloxKey(seed: 7, step: 3, stream: PhiloxStream.Streams.noise)

    /// The sign family at length n: pack, noisy pack and a vote of 8 workers.
    static func signCases(length n: Int) -> [Case] {
        let key = benchKey
        let words = (n + 31) / 32
        return [
            Case(family: "sign", name: "pack", shape: "\(n)", bytes: 4 * Double(n) + Double(n) / 8,
                 inputs: [n], outputs: [words], outputTypes: [.uint32], tolerance: 0) { d, b in
                try d.signPack(b[0].whole, into: b[1].whole, noise: 0, key: key)
            },
            Case(family: "sign", name: "noisy_pack", shape: "\(n)", bytes: 4 * Double(n) + Double(n) / 8,
                 inputs: [n], outputs: [words], outputTypes: [.uint32], tolerance: 0) { d, b in
                try d.signPack(b[0].whole, into: b[1].whole, noise: 0.1, key: key)
            },
            Case(family: "sign", name: "vote_of_8", shape: "8x\(n)", bytes: Double(8 * n) / 8 + 4 * Double(n),
                 inputs: [], outputs: [8 * words, n], outputTypes: [.uint32], tolerance: 0) { d, b in
                try d.signVote(b[0].whole, workers: 8, stride: words, into: b[1].whole, tie: .zero, key: key)
            },
            // What a rank of 8 sends of its chunk: sign and tie words, no floats.
            Case(family: "sign", name: "vote_bits_8", shape: "8x\(n)", bytes: Double(8 * n) / 8 + Double(n) / 4,
                 inputs: [], outputs: [8 * words, words, words], outputTypes: [.uint32, .uint32, .uint32],
                 tolerance: 0) { d, b in
                try d.signVoteBits(b[0].whole, workers: 8, stride: words, count: n, signs: b[1].whole, ties: b[2].whole,
                                   tie: .zero, key: key, tieOffset: 0)
            },
            // The voted words and tie words back to −1, 0, +1.
            Case(family: "sign", name: "unpack_ternary", shape: "\(n)", bytes: Double(n) / 4 + 4 * Double(n),
                 inputs: [], outputs: [words, words, n], outputTypes: [.uint32, .uint32], tolerance: 0) { d, b in
                try d.signUnpack(b[0].whole, ties: b[1].whole, into: b[2].whole, scale: 1)
            },
        ]
    }

    static let otherCases: [Case] = {
        let batch = 256
        let conv = ConvGeometry(batch: batch, height: 28, width: 28, channels: 1, kernelHeight: 8, kernelWidth: 8,
                                stride: 2, padding: 3)
        let pool = PoolGeometry(batch: batch, height: 14, width: 14, channels: 16, kernel: 2, stride: 1)
        let params = 535_818
        let noise = benchKey
        return [
            Case(family: "elementwise", name: "relu_backward", shape: "256x512", bytes: 3 * 4 * 131_072,
                 inputs: [131_072, 131_072], outputs: [131_072]) { d, b in
                try d.activationBackward(.relu, y: b[0].whole, dy: b[1].whole, dx: b[2].whole)
            },
            Case(family: "reduce", name: "column_sum", shape: "256x512", bytes: 4 * (131_072 + 512),
                 inputs: [131_072], outputs: [512]) { d, b in
                try d.columnSum(b[0].whole, rows: 256, cols: 512, beta: 0, into: b[1].whole)
            },
            Case(family: "reduce", name: "segment_max_abs", shape: "mlp:512,256 tensors", bytes: 4 * 535_818,
                 inputs: [535_818], outputs: [6]) { d, b in
                // The six parameter tensors of mlp:512,256 (the bounds' upload is in the time).
                let ends = [0, 401_408, 401_920, 533_000, 533_256, 535_816, 535_818].map(Int32.init)
                try d.segmentMaxAbs(b[0].whole, bounds: try d.uploadIndices(ends, below: 535_819).whole, segments: 6,
                                    into: b[1].whole)
            },
            Case(family: "loss", name: "softmax_xent", shape: "256x10", bytes: 4 * (2 * 2560 + 3 * 256),
                 inputs: [2560, 256], outputs: [256, 256, 2560]) { d, b in
                try d.softmaxCrossEntropy(logits: b[0].whole, labels: b[1].whole, rows: 256, classes: 10,
                                          loss: b[2].whole, correct: b[3].whole, gradient: b[4].whole, scale: 1 / 256)
            },
            Case(family: "conv", name: "im2col", shape: "256x28x28x1 k8 s2 p3",
                 bytes: 4 * Double(conv.inputCount + conv.patchRows * conv.patchSize),
                 inputs: [conv.inputCount], outputs: [conv.patchRows * conv.patchSize]) { d, b in
                try d.im2col(conv, x: b[0].whole, cols: b[1].whole)
            },
            Case(family: "conv", name: "col2im", shape: "256x28x28x1 k8 s2 p3",
                 bytes: 4 * Double(conv.inputCount + conv.patchRows * conv.patchSize),
                 inputs: [conv.patchRows * conv.patchSize], outputs: [conv.inputCount]) { d, b in
                try d.col2im(conv, cols: b[0].whole, dx: b[1].whole)
            },
            Case(family: "pool", name: "maxpool_forward", shape: "256x14x14x16 k2 s1",
                 bytes: 4 * Double(pool.inputCount + 2 * pool.outputCount),
                 inputs: [pool.inputCount], outputs: [pool.outputCount, pool.outputCount]) { d, b in
                try d.maxPoolForward(pool, x: b[0].whole, y: b[1].whole, argmax: b[2].whole)
            },
            Case(family: "pool", name: "maxpool_backward", shape: "256x14x14x16 k2 s1",
                 bytes: 4 * Double(pool.inputCount + 2 * pool.outputCount),
                 inputs: [pool.outputCount, pool.outputCount], outputs: [pool.inputCount]) { d, b in
                // Window positions 0..3 as the forward pass records them.
                try d.maxPoolBackward(pool, dy: b[0].whole, argmax: b[1].whole, dx: b[2].whole)
            },
            Case(family: "optim", name: "adam_update", shape: "535818", bytes: 4 * 7 * Double(params),
                 inputs: [params, params, params, params], outputs: []) { d, b in
                try d.adamUpdate(AdamStep(learningRate: 1e-3, step: 1), parameters: b[0].whole, gradients: b[1].whole,
                                 firstMoment: b[2].whole, secondMoment: b[3].whole, maxSecondMoment: b[3].slice(0, 0))
            },
            Case(family: "optim", name: "sgd_update", shape: "535818 momentum", bytes: 4 * 5 * Double(params),
                 inputs: [params, params, params], outputs: []) { d, b in
                try d.sgdUpdate(SGDStep(learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4), parameters: b[0].whole,
                                gradients: b[1].whole, momentum: b[2].whole)
            },
            Case(family: "clip", name: "sample_sq_norms", shape: "256x1024", bytes: 4 * Double(256 * 1024 + 256),
                 inputs: [256 * 1024], outputs: [256]) { d, b in
                try d.sampleSquaredNorms(b[0].whole, samples: 256, perSample: 1024, into: b[1].whole, accumulate: false)
            },
            Case(family: "clip", name: "clip_and_scale", shape: "256x512", bytes: 4 * Double(2 * 256 * 512 + 512),
                 inputs: [256, 256 * 512], outputs: [256]) { d, b in
                try d.clipFactors(b[0].whole, samples: 256, maxNorm: 0.5, scale: 1.0 / 256, into: b[2].whole)
                try d.scaleSamples(b[1].whole, samples: 256, perSample: 512, factors: b[2].whole)
            },
            Case(family: "zo", name: "perturb_gaussian", shape: "535818 in place", bytes: 8 * Double(params),
                 inputs: [params], outputs: [], tolerance: 0) { d, b in
                try d.zoPerturb(DirectionSet(.gaussian, stepSeed: 5, dimension: params), source: b[0].whole,
                                sourceProblemStride: 0, destination: b[0].whole, destinationProblemStride: 0,
                                destinationDirectionStride: 0, inverseNorms: nil, scale: 1e-3)
            },
            Case(family: "zo", name: "perturb_rademacher", shape: "535818 in place", bytes: 8 * Double(params),
                 inputs: [params], outputs: [], tolerance: 0) { d, b in
                try d.zoPerturb(DirectionSet(.rademacher, stepSeed: 5, dimension: params), source: b[0].whole,
                                sourceProblemStride: 0, destination: b[0].whole, destinationProblemStride: 0,
                                destinationDirectionStride: 0, inverseNorms: nil, scale: 1e-3)
            },
            Case(family: "zo", name: "restore_and_update", shape: "535818 q=1", bytes: 8 * Double(params),
                 inputs: [params, 1], outputs: [], tolerance: 0) { d, b in
                try d.zoCombine(DirectionSet(.gaussian, stepSeed: 5, dimension: params), coefficients: b[1].whole,
                                inverseNorms: nil, decay: 1, accumulate: true, into: b[0].whole)
            },
            Case(family: "zo", name: "inverse_norms", shape: "535818", bytes: 0,
                 inputs: [], outputs: [1], tolerance: 0) { d, b in
                try d.zoInverseNorms(DirectionSet(.sphere, stepSeed: 5, dimension: params), into: b[0].whole)
            },
            Case(family: "zo", name: "projected_adamm", shape: "50x784 box", bytes: 4 * 7 * 39_200,
                 inputs: [39_200, 39_200, 39_200, 39_200, 39_200, 39_200, 39_200], outputs: []) { d, b in
                try d.zoProjectedStep(ZOProjectedStep(.adamm, rate: 0.01), x: b[0].whole, g: b[1].whole, m: b[2].whole,
                                      v: b[3].whole, vhat: b[4].whole, bounds: (b[5].whole, b[6].whole))
            },
            Case(family: "random", name: "normal", shape: "535818", bytes: 4 * Double(params),
                 inputs: [], outputs: [params], tolerance: 0) { d, b in
                try d.fillRandom(b[0].whole, .normal, key: noise, start: .start, scale: 1)
            },
            Case(family: "random", name: "uniform", shape: "535818", bytes: 4 * Double(params),
                 inputs: [], outputs: [params], tolerance: 0) { d, b in
                try d.fillRandom(b[0].whole, .uniform, key: noise, start: .start, scale: 1)
            },
            Case(family: "random", name: "bits", shape: "535818", bytes: 4 * Double(params),
                 inputs: [], outputs: [params], outputTypes: [.uint32], tolerance: 0) { d, b in
                try d.fillRandomBits(b[0].whole, key: noise, start: .start)
            },
        ]
    }()

    func run() throws {
        runReportingFailures(command: "bench kernels") {
            let covered = Set(Self.cases.map(\.family))
            let missing = KernelRegistry.families.map(\.name).filter { $0 != "matmul" && !covered.contains($0) }
            guard missing.isEmpty else {
                throw CommandFailure("bench kernels has no case for kernel families \(missing.joined(separator: ", "))",
                                     status: 70)
            }
            let reporter = Reporter(json: json)
            for m in try Self.measure(Self.cases, on: try parseDevices(device, tuning: tuning), repeats: repeats) {
                reporter.report(m)
            }
        }
    }

    /// Every case on every device, validated against the CPU reference, then timed.
    static func measure(_ cases: [Case], on devices: [any Device], repeats: Int) throws -> [Measurement] {
        let reference = CPUDevice()
        var results: [Measurement] = []
        for c in cases {
            let expected = try outputs(of: c, on: reference)
            for device in devices {
                let got = try outputs(of: c, on: device)
                let validated = zip(got, expected).allSatisfy { agrees($0, $1, tolerance: c.tolerance) }
                let buffers = try makeBuffers(c, on: device)
                _ = try kernelSeconds(device) { try c.run(device, buffers) }
                var times: [Double] = []
                for _ in 0..<repeats { times.append(try kernelSeconds(device) { try c.run(device, buffers) }) }
                results.append(Measurement(kernel: c.family, device: device.kind, backend: c.name,
                                           deviceName: device.name, shape: c.shape, seconds: times,
                                           bytes: c.bytes, validated: validated, timing: kernelTiming(device)))
            }
        }
        return results
    }

    /// Inputs from a fixed seed (labels as an index buffer of valid class ids), outputs zeroed.
    private static func makeBuffers(_ c: Case, on device: any Device) throws -> [DeviceBuffer] {
        var buffers: [DeviceBuffer] = []
        for (i, count) in c.inputs.enumerated() {
            if c.family == "loss" && i == 1 {
                buffers.append(try device.uploadIndices((0..<count).map { Int32($0 % 10) }, below: 10))
                continue
            }
            var values = randomFloats(count, seed: UInt64(10 + i))
            if (c.family == "optim" && i >= 2) || (c.name == "clip_and_scale" && i == 0) { values = values.map { abs($0) } }
            // ZO-AdaMM's second moments are positive; the box is [−0.5, 0.5].
            if c.name == "projected_adamm" && (i == 3 || i == 4) { values = values.map { abs($0) + 1e-7 } }
            if c.name == "projected_adamm" && i >= 5 { values = [Float](repeating: i == 5 ? -0.5 : 0.5, count: count) }
            if c.name == "maxpool_backward" && i == 1 { values = values.indices.map { Float($0 * 7 % 4) } }
            buffers.append(try device.upload(values))
        }
        for (i, count) in c.outputs.enumerated() {
            switch i < c.outputTypes.count ? c.outputTypes[i] : .float32 {
            case .uint32: buffers.append(try device.upload([UInt32](repeating: 0, count: count)))
            case .int32: buffers.append(try device.upload([Int32](repeating: 0, count: count)))
            case .float32: buffers.append(try device.upload([Float](repeating: 0, count: count)))
            }
        }
        return buffers
    }

    /// Every buffer after one run (in-place kernels are validated through their inputs), as
    /// floats, which hold every integer value exactly.
    private static func outputs(of c: Case, on device: any Device) throws -> [[Float]] {
        let buffers = try makeBuffers(c, on: device)
        try c.run(device, buffers)
        return try buffers.map { buffer in
            switch buffer.elementType {
            case .float32: return try device.download(buffer.whole)
            case .uint32:
                // Both 16-bit halves, each exact as a float.
                return try device.download(buffer.whole, as: UInt32.self).flatMap { [Float($0 >> 16), Float($0 & 0xFFFF)] }
            case .int32: return try device.download(buffer.whole, as: Int32.self).map { Float($0) }
            }
        }
    }
}
