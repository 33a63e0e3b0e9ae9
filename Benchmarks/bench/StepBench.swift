import ArgumentParser
import CommandLineSupport
import Compute
import Datasets
import Training

/// `bench step`: one training step (gather, forward, loss, backward, update) next to the time of
/// that step's matrix products alone, in the same run, so the ratio shows the step's overhead.
struct StepBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "step", abstract: "Time a training step against its matrix products.")

    @Option(help: "Comma-separated backends: gpu, cuda, cpu, opencl, auto.")
    var device = "cpu"

    @Option(name: .customLong("model"), help: "Model spec to time (repeatable).")
    var models: [String] = ["mlp:512,256", "cnn"]

    @Option(help: "Batch size.")
    var batchSize = 256

    @Option(help: "Update rule of the step.")
    var optimizer: OptimizerKind = .momentum

    @Option(help: "Timed repeats (after two warm-up steps).")
    var repeats = 20

    @Flag(help: "One JSON object per line.")
    var json = false

    @OptionGroup var tuning: TuningOptions

    func validate() throws {
        guard batchSize > 0, batchSize <= 65536, repeats > 0 else {
            throw ValidationError("--batch-size must be in 1...65536 and --repeats positive")
        }
        _ = try parseModelSpecs(models)
    }

    func run() throws {
        runReportingFailures(command: "bench step") {
            let reporter = Reporter(json: json)
            for device in try parseDevices(device, tuning: tuning) {
                for spec in try parseModelSpecs(models) {
                    for measurement in try measure(spec, on: device) { reporter.report(measurement) }
                }
            }
        }
    }

    private func measure(_ spec: ModelSpec, on device: any Device) throws -> [Measurement] {
        // Synthetic MNIST-shaped data: the step's cost does not depend on the values.
        let batch = batchSize
        let data = Dataset(features: randomFloats(batch * 784, seed: 3), labels: (0..<batch).map { Int32($0 % 10) },
                           featureCount: 784, classes: (0..<10).map(String.init),
                           imageShape: ImageShape(channels: 1, height: 28, width: 28))
        let train = try DeviceDataset(data, device: device)
        let model = try Model(layers: try spec.layers(input: train.shape, classes: 10), input: train.shape,
                              device: device, maxBatch: batch, seed: 1)
        let trainer = try Trainer(model: model, config: TrainingConfig(
            epochs: 1, batchSize: batch, seed: 1,
            optimizer: OptimizerConfig(kind: optimizer, learningRate: 0.01, weightDecay: 5e-4)), train: train)
        let indices = try device.uploadIndices((0..<batch).map { Int32($0) }, below: batch)

        // The step's products alone, on random operands of the same sizes: their time depends
        // only on the shapes.
        let products = model.trainingProducts(batch: batch)
        let operands = try products.map { s in
            (try device.upload(randomFloats(max(s.aCount, 1), seed: 4)), try device.upload(randomFloats(max(s.bCount, 1), seed: 5)),
             try device.makeBuffer(count: max(s.cCount, 1)))
        }
        let runProducts = {
            for (s, (a, b, c)) in zip(products, operands) { try device.gemm(s, a: a.whole, b: b.whole, c: c.whole) }
        }
        let runStep = { try trainer.step(indices: indices.whole, stepInEpoch: 1) }

        for _ in 0..<2 {
            _ = try wallSeconds(device, runStep)
            _ = try wallSeconds(device, runProducts)
        }
        var stepTimes: [Double] = [], productTimes: [Double] = []
        for _ in 0..<repeats {
            stepTimes.append(try wallSeconds(device, runStep))
            productTimes.append(try wallSeconds(device, runProducts))
        }
        let productMedian = productTimes.sorted()[productTimes.count / 2]
        let flops = products.reduce(0) { $0 + $1.flops }
        var m = Measurement(kernel: "step", device: device.kind, backend: "fathom", deviceName: device.name,
                            shape: "\(spec)@\(batch)", seconds: stepTimes, flops: flops,
                            validated: try parametersAreFinite(model))
        let stepMedian = m.median
        // Parameters, activations and layer workspaces (with their gradients) of this model, and of the same
        // model built for inference only (what zeroth-order training and attacks allocate).
        let inference = try Model(layers: try spec.layers(input: train.shape, classes: 10), input: train.shape,
                                  device: device, maxBatch: batch, seed: 1, training: false)
        func megabytes(_ m: (parameters: Int, gradients: Int, activations: Int, activationGradients: Int,
                             workspaces: Int)) -> Double {
            Double(m.parameters + m.gradients + m.activations + m.activationGradients + m.workspaces) / 1_048_576
        }
        m.extra = [("products_ms", productMedian * 1e3), ("step_over_products", stepMedian / productMedian),
                   ("train_memory_mb", megabytes(model.memory)), ("inference_memory_mb", megabytes(inference.memory))]
        return [m]
    }

    /// A step that produced NaN parameters measured nothing worth reporting.
    private func parametersAreFinite(_ model: Model) throws -> Bool {
        try model.device.download(model.parameters.whole).allSatisfy(\.isFinite)
    }
}
