import ArgumentParser
import CommandLineSupport
import Compute
import Datasets
import Privacy
import Training

/// `bench dp`: the DP-SGD step for each `--grad-sample` mode beside the non-private step of the
/// same model and batch, in one run (steps interleaved round-robin, so both sides see the same
/// clock), with each configuration's peak device memory (every buffer it allocates: model,
/// activations, gradients, optimizer state, per-sample workspaces). Workspaces the device keeps
/// for all callers (the kernel devices' split-K scratch, grown to the largest product any
/// configuration runs) are made by a first pass and charged to none, so on OpenCL and CUDA the
/// figure is a lower bound; the CPU device keeps none.
struct DPBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dp",
        abstract: "Time DP-SGD steps (per --grad-sample mode) against the non-private step, with peak device memory.")

    @Option(help: "Comma-separated backends: gpu, cuda, cpu, opencl, auto.")
    var device = "cpu"

    @Option(name: .customLong("model"), help: "Model spec to time (repeatable).")
    var models: [String] = ["mlp:512,256", "cnn"]

    @Option(help: "Comma-separated batch sizes.")
    var batchSizes = "64,256,1024"

    @Option(help: "Comma-separated --grad-sample modes to time: auto, ghost, materialized.")
    var modes = "auto,ghost,materialized"

    @Option(help: "Timed repeats of every configuration (after two warm-up steps).")
    var repeats = 10

    @Flag(help: "One JSON object per line.")
    var json = false

    @OptionGroup var tuning: TuningOptions

    var batches: [Int] { batchSizes.split(separator: ",").compactMap { Int($0) } }
    var gradSampleModes: [GradSampleMode] { modes.split(separator: ",").compactMap { GradSampleMode(rawValue: String($0)) } }

    func validate() throws {
        guard !batches.isEmpty, batches.allSatisfy({ $0 > 0 && $0 <= 65536 }),
              batches.count == batchSizes.split(separator: ",").count else {
            throw ValidationError("--batch-sizes must be comma-separated sizes in 1...65536")
        }
        guard !gradSampleModes.isEmpty, gradSampleModes.count == modes.split(separator: ",").count else {
            throw ValidationError("--modes must be comma-separated from auto, ghost, materialized")
        }
        guard repeats > 0 else { throw ValidationError("--repeats must be positive") }
        _ = try parseModelSpecs(models)
    }

    func run() throws {
        runReportingFailures(command: "bench dp") {
            let reporter = Reporter(json: json)
            for device in try parseDevices(device, tuning: tuning) {
                for spec in try parseModelSpecs(models) {
                    for batch in batches {
                        for m in try measure(spec, batch: batch, on: device) { reporter.report(m) }
                    }
                }
            }
        }
    }

    /// One configuration: nil mode is the non-private step (back-propagation, momentum).
    private struct Configuration {
        let mode: GradSampleMode?
        let model: Model
        let trainer: Trainer
    }

    private func configuration(_ mode: GradSampleMode?, spec: ModelSpec, train: DeviceDataset, batch: Int,
                               device: any Device) throws -> Configuration {
        let model = try Model(layers: try spec.layers(input: train.shape, classes: 10), input: train.shape,
                              device: device, maxBatch: batch, seed: 1)
        let config = TrainingConfig(epochs: 1, batchSize: batch, seed: 1,
                                    optimizer: OptimizerConfig(kind: .momentum, learningRate: 0.01, weightDecay: 5e-4))
        guard let mode else { return Configuration(mode: nil, model: model, trainer: try Trainer(model: model, config: config, train: train)) }
        let trainer = try Trainer(model: model, config: config, train: train,
                                  source: ClippedGradient(model: model, data: train, maxGradNorm: 1, mode: mode),
                                  transforms: [GaussianNoise(device: device, noiseMultiplier: 1, maxGradNorm: 1, seed: 1)])
        return Configuration(mode: mode, model: model, trainer: trainer)
    }

    private func measure(_ spec: ModelSpec, batch: Int, on device: any Device) throws -> [Measurement] {
        // Synthetic MNIST-shaped data: the step's cost does not depend on the values.
        let data = Dataset(features: randomFloats(batch * 784, seed: 3), labels: (0..<batch).map { Int32($0 % 10) },
                           featureCount: 784, classes: (0..<10).map(String.init),
                           imageShape: ImageShape(channels: 1, height: 28, width: 28))
        let train = try DeviceDataset(data, device: device)
        let indices = try device.uploadIndices((0..<batch).map { Int32($0) }, below: batch)
        let modes: [GradSampleMode?] = [nil] + gradSampleModes.map { $0 }

        // Peak memory, one configuration alive at a time: what it allocates from its model's
        // construction through two steps (later steps reuse the same buffers).
        // A first pass of every configuration makes the device's own lazily kept buffers (split-K
        // workspaces and the like) before any configuration is charged for them.
        for mode in modes {
            let c = try configuration(mode, spec: spec, train: train, batch: batch, device: device)
            _ = try wallSeconds(device) { try c.trainer.step(indices: indices.whole, stepInEpoch: 1) }
        }
        var peaks: [Double] = []
        for mode in modes {
            let before = device.memoryUsage.liveBytes
            device.memoryUsage.resetPeak()
            let c = try configuration(mode, spec: spec, train: train, batch: batch, device: device)
            for _ in 0..<2 { _ = try wallSeconds(device) { try c.trainer.step(indices: indices.whole, stepInEpoch: 1) } }
            peaks.append(Double(device.memoryUsage.peakBytes - before) / 1_048_576)
        }

        let configurations = try modes.map { try configuration($0, spec: spec, train: train, batch: batch, device: device) }
        var times = [[Double]](repeating: [], count: configurations.count)
        for round in 0..<(repeats + 2) {
            for (i, c) in configurations.enumerated() {
                let t = try wallSeconds(device) { try c.trainer.step(indices: indices.whole, stepInEpoch: 1) }
                if round >= 2 { times[i].append(t) }
            }
        }
        let plainMedian = times[0].sorted()[times[0].count / 2]
        var results: [Measurement] = []
        for (i, c) in configurations.enumerated() {
            var m = Measurement(kernel: c.mode == nil ? "sgd-step" : "dp-step", device: device.kind, backend: "fathom",
                                deviceName: device.name, shape: "\(spec)@\(batch)" + (c.mode.map { " \($0.rawValue)" } ?? ""),
                                seconds: times[i], validated: try c.model.device.download(c.model.parameters.whole).allSatisfy(\.isFinite))
            m.extra = [("peak_mb", peaks[i]), ("memory_over_sgd", peaks[i] / peaks[0])]
            if c.mode != nil { m.extra = [("sgd_step_ms", plainMedian * 1e3), ("dp_over_sgd", m.median / plainMedian)] + m.extra }
            results.append(m)
        }
        return results
    }
}
