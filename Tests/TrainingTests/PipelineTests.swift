import Artifacts
import Compute
import Datasets
import Philox
import Testing
import Training

/// Images for the cnn: 28×28×1 digits-like noise with a label-dependent bright square.
func squares(count: Int, seed: UInt64) -> Dataset {
    var rng = PhiloxStream(seed: seed, stream: 43)
    var features: [Float] = [], labels: [Int32] = []
    for i in 0..<count {
        let label = i % 10
        for p in 0..<784 {
            let (row, column) = (p / 28, p % 28)
            let inSquare = row / 7 == label % 4 && column / 7 == label / 4
            features.append((inSquare ? 0.8 : 0) + 0.2 * rng.nextUniform())
        }
        labels.append(Int32(label))
    }
    return Dataset(features: features, labels: labels, featureCount: 784, classes: (0..<10).map(String.init),
                   imageShape: ImageShape(channels: 1, height: 28, width: 28))
}

/// The gradient that `source` forms for `rows` of `data` with the model's parameters as they are.
func gradient(of rows: [Int32], model: Model, data: DeviceDataset) throws -> [Float] {
    let device = model.device
    let source = try BackpropGradient(model: model, data: data)
    let statistics = try BatchStatistics(device: device, maxBatch: model.maxBatch)
    let index = try device.uploadIndices(rows, below: data.count)
    try source.computeGradient(rows: index.whole, scale: 1 / Float(max(rows.count, 1)), statistics: statistics,
                               stepInEpoch: 1, step: 0)
    guard let gradients = model.gradients else { preconditionFailure("a training model") }
    return try device.download(gradients.whole)
}

@Suite("the training step as a pipeline")
struct PipelineTests {
    @Test("Poisson batches: mean q·N and variance q(1−q)·N over many steps, empty batches, a pure function of the step")
    func poissonSizes() {
        let n = 1000, q = 0.05
        let sampler = PoissonSampler(count: n, rate: q, seed: 3)
        let sizes = (0..<2000).map { Double(sampler.batch(at: $0).count) }
        let mean = sizes.reduce(0, +) / Double(sizes.count)
        let variance = sizes.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(sizes.count - 1)
        // Standard errors over 2000 steps: √(47.5/2000) ≈ 0.15 for the mean, ≈ 1.5 for the variance.
        #expect(abs(mean - q * Double(n)) < 0.6, "mean \(mean)")
        #expect(abs(variance - q * (1 - q) * Double(n)) < 7, "variance \(variance)")
        #expect(sampler.stepsPerEpoch == 20)
        #expect(sampler.normaliser(batchSize: 3) == 50)
        let again = PoissonSampler(count: n, rate: q, seed: 3)
        #expect(again.batch(at: 1234) == sampler.batch(at: 1234))
        #expect(PoissonSampler(count: n, rate: q, seed: 4).batch(at: 1234) != sampler.batch(at: 1234))
        let batch = sampler.batch(at: 7)
        #expect(batch == batch.sorted() && Set(batch).count == batch.count && batch.allSatisfy { $0 >= 0 && $0 < 1000 })
        // q = 0.002 on 100 rows: P(empty) = 0.998^100 ≈ 0.82.
        let sparse = PoissonSampler(count: 100, rate: 0.002, seed: 1)
        let empties = (0..<500).filter { sparse.batch(at: $0).isEmpty }.count
        #expect(empties > 350 && empties < 460, "\(empties) empty batches of 500")
    }

    @Test("the shuffle sampler visits every row once per epoch, in the trainer's historical order")
    func shuffleEpochs() {
        let sampler = ShuffleSampler(count: 103, batchSize: 10, seed: 9)
        #expect(sampler.stepsPerEpoch == 11)
        for epoch in 0..<2 {
            let rows = (0..<11).flatMap { sampler.batch(at: epoch * 11 + $0) }
            #expect(rows.sorted() == (0..<103).map { Int32($0) })
            var order = (0..<103).map { Int32($0) }
            var rng = PhiloxStream(seed: 9, step: UInt32(epoch), stream: PhiloxStream.Streams.shuffle)
            philoxShuffle(&order, using: &rng)
            #expect(rows == order)
        }
        #expect(sampler.batch(at: 10).count == 3)
        let partition = PartitionSampler(rows: [5, 7, 9], inner: FullBatchSampler(count: 3))
        #expect(partition.batch(at: 4) == [5, 7, 9] && partition.stepsPerEpoch == 1)
    }

    @Test("micro-batches add up to the gradient of the whole logical batch", arguments: ["mlp", "cnn"])
    func microBatches(_ kind: String) throws {
        let data = kind == "cnn" ? squares(count: 40, seed: 2) : blobs(count: 90, seed: 2)
        let rows: [Int32] = (0..<37).map { Int32(($0 * 7) % data.count) }
        for device in [Devices.cpu, Devices.openCL] {
            let train = try DeviceDataset(data, device: device)
            func model(maxBatch: Int) throws -> Model {
                let spec = try ModelSpec(parsing: kind == "cnn" ? "cnn" : "mlp:16")
                let input = spec.inputShape(for: train.shape)
                return try Model(layers: try spec.layers(input: input, classes: 10), input: input, device: device,
                                 maxBatch: maxBatch, seed: 5)
            }
            let whole = try gradient(of: rows, model: try model(maxBatch: 64), data: train)
            let chunked = try gradient(of: rows, model: try model(maxBatch: 8), data: train)
            expectClose(chunked, whole, atol: 1e-6, rtol: 1e-4, "\(kind) on \(device.kind): chunks of 8 vs one pass")
        }
    }

    @Test("M workers averaging iid halves equal one worker on the union batch")
    func workersMean() throws {
        let data = blobs(count: 120, seed: 4)
        for device in [Devices.cpu, Devices.openCL] {
            let train = try DeviceDataset(data, device: device)
            let config = TrainingConfig(epochs: 1, batchSize: 120, seed: 1,
                                        optimizer: OptimizerConfig(kind: .sgd, learningRate: 0.5, weightDecay: 0))
            func trainer(_ samplers: [any BatchSampler]) throws -> Trainer {
                let model = try Model(layers: [Linear(outputs: 8, activation: .relu), Linear(outputs: 3)],
                                      input: train.shape, device: device, maxBatch: 120, seed: 2)
                return try Trainer(model: model, config: config, train: train, samplers: samplers)
            }
            let parts = Partitioning.iid.partition(labels: data.labels, classCount: 3, parts: 3, seed: 1)
            #expect(parts.map(\.count) == [40, 40, 40])
            let workers = try trainer(parts.map { PartitionSampler(rows: $0, inner: FullBatchSampler(count: $0.count)) })
            let single = try trainer([FullBatchSampler(count: 120)])
            for _ in 0..<3 {
                _ = try workers.trainEpoch()
                _ = try single.trainEpoch()
            }
            expectClose(try device.download(workers.model.parameters.whole),
                        try device.download(single.model.parameters.whole), atol: 1e-5, rtol: 1e-4,
                        "\(device.kind): 3 workers vs the union")
        }
    }

    @Test("an empty Poisson batch is a real step: zero gradient, weight decay still applied")
    func emptyBatch() throws {
        let data = blobs(count: 30, seed: 5)
        let train = try DeviceDataset(data, device: Devices.cpu)
        let model = try Model(layers: [Linear(outputs: 3)], input: train.shape, device: Devices.cpu, maxBatch: 8, seed: 3)
        let before = try Devices.cpu.download(model.parameters.whole)
        let config = TrainingConfig(epochs: 1, batchSize: 1, seed: 1,
                                    optimizer: OptimizerConfig(kind: .sgd, learningRate: 0.1, weightDecay: 0.5))
        // q = 1e-6: every batch of 30 rows is empty (P(any row) ≈ 3e-5 per step).
        let trainer = try Trainer(model: model, config: config, train: train,
                                  samplers: [PoissonSampler(count: 30, rate: 1e-6, seed: 1)])
        try trainer.trainStep(stepInEpoch: 1)
        #expect(trainer.step == 1)
        let after = try Devices.cpu.download(model.parameters.whole)
        // p ← p − lr·wd·p with a zero gradient.
        expectClose(after, before.map { $0 - 0.1 * 0.5 * $0 }, atol: 1e-7, "decay only")
    }

    @Test("a Poisson run resumed from a checkpoint continues the same sampler stream exactly")
    func poissonResume() throws {
        let data = blobs(count: 60, seed: 6)
        func trainer() throws -> Trainer {
            let train = try DeviceDataset(data, device: Devices.cpu)
            let model = try Model(layers: [Linear(outputs: 8, activation: .relu), Linear(outputs: 3)],
                                  input: train.shape, device: Devices.cpu, maxBatch: 8, seed: 7)
            let config = TrainingConfig(epochs: 3, batchSize: 12, seed: 7,
                                        optimizer: OptimizerConfig(kind: .adam, learningRate: 0.01))
            return try Trainer(model: model, config: config, train: train,
                               samplers: [PoissonSampler(count: 60, expectedBatchSize: 12, seed: 7)])
        }
        let straight = try trainer()
        for _ in 0..<3 { _ = try straight.trainEpoch() }
        let first = try trainer()
        _ = try first.trainEpoch()
        let checkpoint = try first.checkpoint(modelSpec: "test", history: [], metadata: [:])
        let resumed = try trainer()
        try resumed.restore(checkpoint, modelSpec: "test")
        for _ in 0..<2 { _ = try resumed.trainEpoch() }
        #expect(resumed.step == 15 && straight.step == 15)
        #expect(try Devices.cpu.download(resumed.model.parameters.whole)
                == Devices.cpu.download(straight.model.parameters.whole))
    }

    @Test("an inference-only model computes the training model's forward pass without gradient buffers",
          arguments: ["mlp:512,256", "cnn"])
    func inferenceOnly(_ spec: String) throws {
        let parsed = try ModelSpec(parsing: spec)
        let input = parsed.inputShape(for: FeatureShape(height: 28, width: 28, channels: 1))
        var outputs: [[Float]] = []
        var memory: [(parameters: Int, gradients: Int, activations: Int, activationGradients: Int, workspaces: Int)] = []
        for training in [true, false] {
            let model = try Model(layers: try parsed.layers(input: input, classes: 10), input: input,
                                  device: Devices.cpu, maxBatch: 16, seed: 11, training: training)
            #expect(model.isTrainable == training)
            try Devices.cpu.write(randomValues(16 * 784, seed: 3), to: model.inputSlice(batch: 16))
            outputs.append(try Devices.cpu.download(try model.forward(batch: 16)))
            memory.append(model.memory)
        }
        #expect(outputs[0] == outputs[1])
        #expect(memory[1].gradients == 0 && memory[1].activationGradients == 0)
        #expect(memory[0].gradients == memory[0].parameters && memory[0].activationGradients == memory[0].activations)
        #expect(memory[1].parameters == memory[0].parameters && memory[1].activations == memory[0].activations)
        // A convolution keeps its patch matrix for the forward pass but no patch gradient.
        #expect(memory[1].workspaces * (spec == "cnn" ? 2 : 1) == memory[0].workspaces)
    }
}
