import ArgumentParser
import CommandLineSupport
import Compute
import SystemIO
import Datasets
import Training
import ZerothOrder

/// `bench zo`: the zeroth-order kernels beside a device copy of the same vector, a whole ZO step
/// beside one forward pass of the same batch, the memory of a ZO step against a back-propagation
/// step, and the drift of in-place restores — all in one run on each device.
struct ZOBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zo", abstract: "Time zeroth-order perturbations and steps against copies and forward passes.")

    @Option(help: "Comma-separated backends: gpu, cuda, cpu, opencl, auto.")
    var device = "cpu"

    @Option(help: "Model spec of the step.")
    var model = "mlp:512,256"

    @Option(help: "Batch size of the step.")
    var batchSize = 256

    @Option(help: "Timed repeats (after two warm-ups).")
    var repeats = 20

    @Option(help: "Perturb/restore round trips (+μ, −2μ, +μ) whose accumulated drift is measured, on 16,384 parameters.")
    var driftSteps = 10_000

    @Flag(help: "One JSON object per line.")
    var json = false

    @OptionGroup var tuning: TuningOptions

    func validate() throws {
        guard batchSize > 0 && batchSize <= 65_536 && repeats > 0 && driftSteps >= 0 else {
            throw ValidationError("--batch-size must be in 1...65536, --repeats positive, --drift-steps non-negative")
        }
        _ = try parseModelSpecs([model])
    }

    func run() throws {
        runReportingFailures(command: "bench zo") {
            let reporter = Reporter(json: json)
            for device in try parseDevices(device, tuning: tuning) {
                for measurement in try measure(on: device) { reporter.report(measurement) }
            }
        }
    }

    private func measure(on device: any Device) throws -> [Measurement] {
        let spec = try ModelSpec(parsing: model), batch = batchSize
        let data = Dataset(features: randomFloats(batch * 784, seed: 3), labels: (0..<batch).map { Int32($0 % 10) },
                           featureCount: 784, classes: (0..<10).map(String.init),
                           imageShape: ImageShape(channels: 1, height: 28, width: 28))
        let train = try DeviceDataset(data, device: device)
        let inference = try Model(layers: try spec.layers(input: train.shape, classes: 10), input: train.shape,
                                  device: device, maxBatch: batch, seed: 1, training: false)
        let p = inference.parameterCount
        var results: [Measurement] = []
        func timed(_ body: () throws -> Void) throws -> [Double] {
            for _ in 0..<2 { _ = try wallSeconds(device, body) }
            return try (0..<repeats).map { _ in try wallSeconds(device, body) }
        }
        func median(_ times: [Double]) -> Double { times.sorted()[times.count / 2] }

        // Kernels over the parameter vector, each beside a copy of it timed in the same loop.
        let theta = try device.upload(randomFloats(p, seed: 4)), other = try device.makeBuffer(count: p)
        let copyTimes = try timed { try device.copy(theta.whole, to: other.whole) }
        var copy = Measurement(kernel: "zo", device: device.kind, backend: "copy", deviceName: device.name,
                               shape: "\(p)", seconds: copyTimes, bytes: 8 * Double(p), validated: true)
        copy.extra = [("of_copy", 1)]
        results.append(copy)
        let one = try device.upload([Float(-1e-3)])
        let kernels: [(String, DirectionDistribution, Bool)] = [
            ("perturb_gaussian", .gaussian, false), ("perturb_rademacher", .rademacher, false),
            ("update_gaussian", .gaussian, true), ("update_rademacher", .rademacher, true),
        ]
        for (name, distribution, update) in kernels {
            let set = DirectionSet(distribution, stepSeed: 5, dimension: p)
            let times = try timed {
                if update {
                    try device.zoCombine(set, coefficients: one.whole, inverseNorms: nil, decay: 1, accumulate: true,
                                         into: theta.whole)
                } else {
                    try device.zoPerturb(set, source: theta.whole, sourceProblemStride: 0, destination: theta.whole,
                                         destinationProblemStride: 0, destinationDirectionStride: 0, inverseNorms: nil,
                                         scale: 1e-3)
                }
            }
            var m = Measurement(kernel: "zo", device: device.kind, backend: name, deviceName: device.name,
                                shape: "\(p)", seconds: times, bytes: 8 * Double(p),
                                validated: try device.download(theta.whole).allSatisfy(\.isFinite))
            m.extra = [("of_copy", median(copyTimes) / median(times))]
            results.append(m)
        }

        // A ZO step (q = 1, forward differences, in place) beside one forward pass and loss.
        let statistics = try BatchStatistics(device: device, maxBatch: batch)
        let rows = try device.uploadIndices((0..<batch).map { Int32($0) }, below: batch)
        let pass = try LossPass(model: inference, data: train)
        let forward = try timed {
            try pass.forwardAndLoss(rows: rows.whole, gradientScale: 0, statistics: statistics, stepInEpoch: 1,
                                    gradient: false, record: false)
        }
        for distribution in [DirectionDistribution.gaussian, .rademacher] {
            let source = try ZerothOrderGradient(model: inference, data: train,
                                                 estimator: ZOEstimator(distribution, directions: 1, smoothing: 1e-3),
                                                 optimizer: ZOOptimizer(.sgd), seed: 1)
            let trainer = try Trainer(model: inference, config: TrainingConfig(
                epochs: 1, batchSize: batch, seed: 1, optimizer: OptimizerConfig(kind: .sgd, learningRate: 1e-4)),
                train: train, selfUpdating: source)
            let steps = try timed { try trainer.step(indices: rows.whole, stepInEpoch: 1) }
            var m = Measurement(kernel: "zo-step", device: device.kind, backend: "\(distribution)", deviceName: device.name,
                                shape: "\(spec)@\(batch)", seconds: steps,
                                validated: try device.download(inference.parameters.whole).allSatisfy(\.isFinite))
            m.extra = [("forward_ms", median(forward) * 1e3), ("step_over_forward", median(steps) / median(forward))]
            results.append(m)
        }

        // Memory: a ZO-SGD step keeps the inference model and a few scalars; back-propagation
        // with momentum keeps the training model (gradients, activation gradients, backward
        // workspaces) and a momentum buffer.
        let training = try Model(layers: try spec.layers(input: train.shape, classes: 10), input: train.shape,
                                 device: device, maxBatch: batch, seed: 1)
        func bytes(_ m: (parameters: Int, gradients: Int, activations: Int, activationGradients: Int, workspaces: Int)) -> Int {
            m.parameters + m.gradients + m.activations + m.activationGradients + m.workspaces
        }
        let zoSource = try ZerothOrderGradient(model: inference, data: train, estimator: ZOEstimator(),
                                               optimizer: ZOOptimizer(.sgd), seed: 1)
        let adamm = try ZerothOrderGradient(model: inference, data: train, estimator: ZOEstimator(),
                                            optimizer: ZOOptimizer(.adamm), seed: 1)
        let zoBytes = bytes(inference.memory) + zoSource.memoryBytes
        let backpropBytes = bytes(training.memory) + 4 * p
        var memory = Measurement(kernel: "zo-memory", device: device.kind, backend: "zo-sgd", deviceName: device.name,
                                 shape: "\(spec)@\(batch)", seconds: [0], validated: true)
        memory.extra = [("zo_mb", Double(zoBytes) / 1_048_576), ("zo_adamm_mb", Double(bytes(inference.memory) + adamm.memoryBytes) / 1_048_576),
                        ("backprop_momentum_mb", Double(backpropBytes) / 1_048_576),
                        ("backprop_over_zo", Double(backpropBytes) / Double(zoBytes))]
        results.append(memory)

        // Drift of in-place restores: round trips +μ, −2μ, +μ with fresh directions each time.
        if driftSteps > 0 {
            let n = min(16_384, p)
            let start = try device.download(inference.parameters.slice(0, n))
            let x = try device.upload(start)
            let mu: Float = 1e-3
            let clock = ContinuousClock(), began = clock.now
            for step in 0..<driftSteps {
                let set = DirectionSet(.gaussian, stepSeed: DirectionSet.stepSeed(run: 7, step: step), dimension: n)
                for scale in [mu, -2 * mu, mu] {
                    try device.zoPerturb(set, source: x.whole, sourceProblemStride: 0, destination: x.whole,
                                         destinationProblemStride: 0, destinationDirectionStride: 0, inverseNorms: nil,
                                         scale: scale)
                }
            }
            let end = try device.download(x.whole)
            let elapsed = seconds(clock.now - began)
            var worst = 0.0, squares = 0.0, norm = 0.0
            for (a, b) in zip(start, end) {
                worst = max(worst, Double(abs(a - b)))
                squares += Double(a - b) * Double(a - b)
                norm += Double(a) * Double(a)
            }
            var drift = Measurement(kernel: "zo-drift", device: device.kind, backend: "in-place", deviceName: device.name,
                                    shape: "\(n)x\(driftSteps)", seconds: [elapsed], validated: end.allSatisfy(\.isFinite))
            drift.extra = [("max_abs", worst), ("rms", (squares / Double(n)).squareRoot()),
                           ("rms_relative", (squares / max(norm, .leastNonzeroMagnitude)).squareRoot()),
                           ("max_over_mu", worst / Double(mu))]
            results.append(drift)
        }
        return results
    }
}
