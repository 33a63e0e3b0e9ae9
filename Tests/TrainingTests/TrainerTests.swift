import Artifacts
import Compute
import Datasets
import Philox
import Testing
import Training

/// Three Gaussian blobs in 6 dimensions: linearly separable, so any optimizer must fit them.
func blobs(count: Int, seed: UInt64) -> Dataset {
    var rng = PhiloxStream(seed: seed, stream: 42)
    var features: [Float] = [], labels: [Int32] = []
    for i in 0..<count {
        let label = i % 3
        for j in 0..<6 { features.append((j % 3 == label ? 2 : 0) + 0.5 * rng.nextNormal()) }
        labels.append(Int32(label))
    }
    return Dataset(features: features, labels: labels, featureCount: 6, classes: ["a", "b", "c"])
}

func makeTrainer(device: any Device, optimizer: OptimizerConfig, epochs: Int = 4, seed: UInt64 = 1,
                 data: Dataset = blobs(count: 150, seed: 1)) throws -> Trainer {
    let train = try DeviceDataset(data, device: device)
    let model = try Model(layers: [Linear(outputs: 8, activation: .relu), Linear(outputs: 3)],
                          input: train.shape, device: device, maxBatch: 32, seed: seed)
    return try Trainer(model: model, config: TrainingConfig(epochs: epochs, batchSize: 32, seed: seed,
                                                            optimizer: optimizer),
                       train: train)
}

@Suite("trainer")
struct TrainerTests {
    @Test("every optimizer fits separable data", arguments: OptimizerKind.allCases)
    func optimizersConverge(_ kind: OptimizerKind) throws {
        let lr: Float = [.sgd, .momentum].contains(kind) ? 0.1 : 0.01
        let trainer = try makeTrainer(device: Devices.cpu, optimizer: OptimizerConfig(kind: kind, learningRate: lr), epochs: 15)
        var first = 0.0
        for epoch in 0..<15 {
            let (loss, _) = try trainer.trainEpoch()
            if epoch == 0 { first = loss }
        }
        let (loss, accuracy) = try trainer.evaluate(trainer.train)
        #expect(loss < first / 3, "\(kind): loss \(first) → \(loss)")
        #expect(accuracy > 0.95, "\(kind): accuracy \(accuracy)")
    }

    @Test("OpenCL training follows the CPU", arguments: [OptimizerKind.momentum, .adamw])
    func openCLFollowsCPU(_ kind: OptimizerKind) throws {
        var parameters: [[Float]] = []
        for device in [Devices.cpu, Devices.openCL] {
            let trainer = try makeTrainer(device: device, optimizer: OptimizerConfig(kind: kind, learningRate: 0.01))
            for _ in 0..<3 { _ = try trainer.trainEpoch() }
            parameters.append(try device.download(trainer.model.parameters.whole))
        }
        expectClose(parameters[1], parameters[0], atol: 1e-4, rtol: 1e-3, "\(kind) parameters after 3 epochs")
    }

    @Test("resuming from a checkpoint gives exactly the parameters of an uninterrupted run (CPU)")
    func resumeIsExact() throws {
        let config = OptimizerConfig(kind: .amsgrad, learningRate: 0.01)
        let straight = try makeTrainer(device: Devices.cpu, optimizer: config)
        for _ in 0..<4 { _ = try straight.trainEpoch() }

        let first = try makeTrainer(device: Devices.cpu, optimizer: config)
        for _ in 0..<2 { _ = try first.trainEpoch() }
        let bytes = try first.checkpoint(modelSpec: "test", history: [], metadata: [:]).serialized()
        let second = try makeTrainer(device: Devices.cpu, optimizer: config, seed: 1)
        try second.restore(try Checkpoint(bytes: bytes, name: "memory"), modelSpec: "test")
        #expect(second.epoch == 2 && second.step == first.step)
        for _ in 0..<2 { _ = try second.trainEpoch() }
        #expect(try Devices.cpu.download(second.model.parameters.whole)
                == Devices.cpu.download(straight.model.parameters.whole))
    }

    @Test("a checkpoint whose counters no run produces is refused (it passed its checksum)")
    func impossibleCounters() throws {
        let trainer = try makeTrainer(device: Devices.cpu, optimizer: OptimizerConfig(kind: .adam, learningRate: 0.01))
        _ = try trainer.trainEpoch()
        let good = try trainer.checkpoint(modelSpec: "m", history: [], metadata: [:])
        for tamper in [{ (c: inout Checkpoint) in c.epoch = -1_000_000 }, { $0.step += 1 },
                       { $0.metadata["optimizer_step"] = "-3" }, { $0.parameters[0] = .nan }] {
            var bad = good
            tamper(&bad)
            let fresh = try makeTrainer(device: Devices.cpu, optimizer: OptimizerConfig(kind: .adam, learningRate: 0.01))
            #expect(throws: TrainingError.self) { try fresh.restore(bad, modelSpec: "m") }
        }
        let fresh = try makeTrainer(device: Devices.cpu, optimizer: OptimizerConfig(kind: .adam, learningRate: 0.01))
        try fresh.restore(good, modelSpec: "m")
        #expect(fresh.epoch == 1)
    }

    @Test("a checkpoint of another model, optimizer or seed is refused")
    func mismatchedCheckpoints() throws {
        let trainer = try makeTrainer(device: Devices.cpu, optimizer: OptimizerConfig(kind: .adam, learningRate: 0.01))
        let checkpoint = try trainer.checkpoint(modelSpec: "mlp:8", history: [], metadata: [:])
        #expect(throws: TrainingError.self) { try trainer.restore(checkpoint, modelSpec: "mlp:9") }
        let other = try makeTrainer(device: Devices.cpu, optimizer: OptimizerConfig(kind: .sgd, learningRate: 0.01))
        #expect(throws: TrainingError.self) { try other.restore(checkpoint, modelSpec: "mlp:8") }
        let reseeded = try makeTrainer(device: Devices.cpu, optimizer: OptimizerConfig(kind: .adam, learningRate: 0.01), seed: 2)
        #expect(throws: TrainingError.self) { try reseeded.restore(checkpoint, modelSpec: "mlp:8") }
    }

    @Test("a diverging run stops with the epoch and step", arguments: [false, true])
    func divergence(_ onOpenCL: Bool) throws {
        var data = blobs(count: 96, seed: 3)
        data.features = data.features.map { $0 * 1e18 }
        let trainer = try makeTrainer(device: onOpenCL ? Devices.openCL : Devices.cpu,
                                      optimizer: OptimizerConfig(kind: .sgd, learningRate: 1e10), data: data)
        do {
            for _ in 0..<3 { _ = try trainer.trainEpoch() }
            Issue.record("training on 1e18-sized features with lr 1e10 did not diverge")
        } catch let error as TrainingError {
            guard case .diverged(let epoch, let step, _) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(epoch == 1 && step >= 1 && step <= 3)
            #expect(trainer.epoch == 0, "a diverged epoch must not count as completed")
        }
    }
}
