import Artifacts
import Compute
import Philox

/// Settings of a training run that the trainer itself needs.
public struct TrainingConfig: Sendable, Hashable {
    /// Epochs of the whole run, counting those before a resume.
    public var epochs: Int
    /// Samples per optimizer step; the last batch of an epoch may be smaller.
    public var batchSize: Int
    /// Seed of the per-epoch shuffles; checkpoints record it and `restore` requires it to match.
    public var seed: UInt64
    /// The update rule and its hyper-parameters.
    public var optimizer: OptimizerConfig
    /// How the learning rate changes over the run's `epochs × stepsPerEpoch` steps.
    public var schedule: LearningRateSchedule

    /// A configuration; `epochs` must be at least 0 and `batchSize` positive.
    public init(epochs: Int, batchSize: Int, seed: UInt64, optimizer: OptimizerConfig,
                schedule: LearningRateSchedule = .constant) {
        precondition(epochs >= 0 && batchSize > 0, "epochs must be ≥ 0 and the batch size positive")
        self.epochs = epochs; self.batchSize = batchSize; self.seed = seed
        self.optimizer = optimizer; self.schedule = schedule
    }
}

/// Mini-batch training of a model with softmax cross-entropy: per epoch a seeded shuffle
/// (Philox stream (seed, epoch, shuffle)), batches gathered on the device, forward, loss,
/// backward and an optimizer update, with loss and accuracy summed on the device and read back
/// once per epoch. The whole state (parameters, optimizer state, epoch, step) is in checkpoints,
/// so a resumed run continues exactly where it stopped.
public final class Trainer {
    /// The model being trained, in place.
    public let model: Model
    /// Built from `config.optimizer` for every parameter of `model`.
    public let optimizer: Optimizer
    /// Epochs, batch size, seed, optimizer and schedule of the run.
    public let config: TrainingConfig
    /// The training samples, resident on the model's device.
    public let train: DeviceDataset
    /// Completed epochs.
    public private(set) var epoch = 0
    /// Optimizer steps taken.
    public private(set) var step = 0

    private let device: any Device
    private let permutation: DeviceBuffer
    private let batchLabels: DeviceBuffer
    private let sampleLoss: DeviceBuffer
    private let sampleCorrect: DeviceBuffer
    private let statistics: DeviceBuffer

    /// A trainer at epoch 0 with a fresh optimizer; `restore` continues a checkpointed run instead.
    /// - Parameters:
    ///   - model: its input size must match `train`'s samples, and its `maxBatch` must hold a
    ///     batch.
    ///   - config: the run's settings.
    ///   - train: the training samples, on the model's device.
    /// - Throws: `ComputeError` when a buffer cannot be allocated.
    public init(model: Model, config: TrainingConfig, train: DeviceDataset) throws {
        precondition(train.shape.count == model.inputShape.count, "data and model input sizes differ")
        precondition(min(config.batchSize, train.count) <= model.maxBatch, "batch size exceeds the model's maximum batch")
        self.model = model
        self.config = config
        self.train = train
        device = model.device
        optimizer = try Optimizer(config.optimizer, parameterCount: model.parameterCount, device: device)
        permutation = try device.makeIndexBuffer(count: train.count, bound: max(train.count, 1))
        batchLabels = try device.makeIndexBuffer(count: model.maxBatch, bound: max(train.classCount, 1))
        sampleLoss = try device.makeBuffer(count: model.maxBatch)
        sampleCorrect = try device.makeBuffer(count: model.maxBatch)
        statistics = try device.makeBuffer(count: 4)
    }

    /// Optimizer steps per epoch: batches of `config.batchSize`, the last one possibly partial.
    public var stepsPerEpoch: Int { (train.count + config.batchSize - 1) / config.batchSize }

    /// Trains one epoch; `progress(done, total)` is called after every step.
    /// - Parameter progress: called with the steps done and `stepsPerEpoch`, on the calling
    ///   thread; nil for none.
    /// - Returns: mean training loss and accuracy (fraction) over the epoch's samples, as
    ///   measured during the epoch.
    /// - Throws: `TrainingError.diverged` when a batch loss was not finite; `ComputeError` when a
    ///   device call fails.
    public func trainEpoch(progress: ((Int, Int) -> Void)? = nil) throws -> (loss: Double, accuracy: Double) {
        var order = (0..<train.count).map { Int32($0) }
        var rng = PhiloxStream(seed: config.seed, step: UInt32(truncatingIfNeeded: epoch),
                               stream: PhiloxStream.Streams.shuffle)
        philoxShuffle(&order, using: &rng)
        try device.write(order, to: permutation.whole)
        try resetStatistics()

        for batchIndex in 0..<stepsPerEpoch {
            let start = batchIndex * config.batchSize
            let batch = min(config.batchSize, train.count - start)
            try step(indices: permutation.slice(start, batch), stepInEpoch: batchIndex + 1)
            progress?(batchIndex + 1, stepsPerEpoch)
        }
        let totals = try device.download(statistics.whole)
        if totals[3] >= 0 {
            let badStep = Int(totals[3])
            throw TrainingError.diverged(epoch: epoch + 1, step: badStep,
                                         globalStep: step - stepsPerEpoch + badStep)
        }
        epoch += 1
        let samples = Double(max(totals[2], 1))
        return (Double(totals[0]) / samples, Double(totals[1]) / samples)
    }

    /// Zero loss and accuracy totals and "no divergent step yet" (-1), the layout
    /// `accumulateStatistics` keeps.
    private func resetStatistics() throws {
        try device.write([0, 0, 0, -1] as [Float], to: statistics.whole)
    }

    /// One optimizer step on the training samples whose row indices are in `indices`:
    /// gather, forward, loss, backward, update. Loss and accuracy are added to the epoch totals;
    /// `stepInEpoch` is what a divergence report names.
    /// - Parameters:
    ///   - indices: row indices into `train`, a slice of an index buffer bounded by its rows;
    ///     1...`model.maxBatch` of them.
    ///   - stepInEpoch: the 1-based step within the epoch, recorded if this batch's loss is the
    ///     epoch's first that is not finite.
    /// - Throws: `ComputeError` when a device call fails (divergence is reported by `trainEpoch`).
    public func step(indices: BufferSlice, stepInEpoch: Int) throws {
        let batch = indices.count
        precondition(batch > 0 && batch <= model.maxBatch, "batch of \(batch) for a model of at most \(model.maxBatch)")
        try device.gatherRows(train.features.whole, width: model.inputShape.count, indices: indices,
                              into: model.inputSlice(batch: batch))
        try device.gatherRows(train.labels.whole, width: 1, indices: indices, into: batchLabels.slice(0, batch))
        let logits = try model.forward(batch: batch)
        try device.softmaxCrossEntropy(
            logits: logits, labels: batchLabels.slice(0, batch), rows: batch, classes: model.outputShape.count,
            loss: sampleLoss.slice(0, batch), correct: sampleCorrect.slice(0, batch),
            gradient: model.outputGradientSlice(batch: batch), scale: 1 / Float(batch))
        try device.accumulateStatistics(loss: sampleLoss.slice(0, batch), correct: sampleCorrect.slice(0, batch),
                                        rows: batch, stats: statistics.whole, step: stepInEpoch)
        try model.backward(batch: batch)
        let rate = config.schedule.rate(base: config.optimizer.learningRate, step: step,
                                        stepsPerEpoch: stepsPerEpoch, totalSteps: stepsPerEpoch * config.epochs)
        try optimizer.update(parameters: model.parameters.whole, gradients: model.gradients.whole, learningRate: rate)
        step += 1
    }

    /// Mean loss and accuracy (fraction) of the model on `data`, in batches of the model's
    /// maximum size.
    /// - Parameter data: samples of the model's input size, on the model's device.
    /// - Returns: NaN for both when `data` is empty.
    /// - Throws: `ComputeError` when a device call fails.
    public func evaluate(_ data: DeviceDataset) throws -> (loss: Double, accuracy: Double) {
        precondition(data.shape.count == model.inputShape.count, "data and model input sizes differ")
        guard data.count > 0 else { return (.nan, .nan) }
        try resetStatistics()
        let width = model.inputShape.count
        var start = 0
        while start < data.count {
            let batch = min(model.maxBatch, data.count - start)
            try device.copy(data.features.slice(start * width, batch * width), to: model.inputSlice(batch: batch))
            let logits = try model.forward(batch: batch)
            try device.softmaxCrossEntropy(
                logits: logits, labels: data.labels.slice(start, batch), rows: batch,
                classes: model.outputShape.count, loss: sampleLoss.slice(0, batch),
                correct: sampleCorrect.slice(0, batch), gradient: nil, scale: 0)
            try device.accumulateStatistics(loss: sampleLoss.slice(0, batch), correct: sampleCorrect.slice(0, batch),
                                            rows: batch, stats: statistics.whole, step: 0)
            start += batch
        }
        let totals = try device.download(statistics.whole)
        return (Double(totals[0]) / Double(data.count), Double(totals[1]) / Double(data.count))
    }

    // MARK: - Checkpoints

    /// The complete training state after the epochs completed so far.
    /// - Parameters:
    ///   - modelSpec: the spec string the model was built from; `restore` compares it.
    ///   - history: metrics of every completed epoch, for plots of a resumed run.
    ///   - metadata: facts about the run to keep with it; the optimizer step is added as
    ///     `optimizer_step`.
    /// - Throws: `ComputeError` when the parameters or optimizer state cannot be downloaded.
    public func checkpoint(modelSpec: String, history: [EpochRecord], metadata: [String: String]) throws -> Checkpoint {
        let (state, optimizerStep) = try optimizer.snapshot()
        var metadata = metadata
        metadata["optimizer_step"] = String(optimizerStep)
        return Checkpoint(modelSpec: modelSpec, optimizer: config.optimizer.kind.rawValue, epoch: epoch, step: step,
                          seed: config.seed, parameters: try device.download(model.parameters.whole),
                          optimizerState: state, metadata: metadata, history: history)
    }

    /// Restores a checkpoint of the same model spec, optimizer and seed.
    /// - Parameters:
    ///   - checkpoint: a checkpoint written by `checkpoint(modelSpec:history:metadata:)`.
    ///   - modelSpec: the spec string of this run's model.
    /// - Throws: `TrainingError.checkpointMismatch` when the spec, parameter count, optimizer
    ///   or seed differ (nothing is restored then); `ComputeError` when an upload fails.
    public func restore(_ checkpoint: Checkpoint, modelSpec: String) throws {
        func refuse(_ what: String) -> TrainingError { .checkpointMismatch("checkpoint does not match this run: \(what)") }
        guard checkpoint.modelSpec == modelSpec else {
            throw refuse("it is for model '\(checkpoint.modelSpec)', this run trains '\(modelSpec)'")
        }
        guard checkpoint.parameters.count == model.parameterCount else {
            throw refuse("it holds \(checkpoint.parameters.count) parameters, the model has \(model.parameterCount)")
        }
        guard checkpoint.optimizer == config.optimizer.kind.rawValue,
              checkpoint.optimizerState.count == optimizer.state.count else {
            throw refuse("it was written by optimizer '\(checkpoint.optimizer)', this run uses '\(config.optimizer.kind.rawValue)'")
        }
        guard checkpoint.seed == config.seed else {
            throw refuse("it was written with seed \(checkpoint.seed), this run uses \(config.seed)")
        }
        let optimizerStep = checkpoint.metadata["optimizer_step"].flatMap { Int($0) } ?? checkpoint.step
        // A checkpoint that passed its checksum can still carry counters no run produces.
        guard checkpoint.epoch >= 0, checkpoint.step == checkpoint.epoch * stepsPerEpoch,
              optimizerStep == checkpoint.step else {
            throw refuse("its counters (epoch \(checkpoint.epoch), step \(checkpoint.step), optimizer step "
                         + "\(optimizerStep)) do not fit \(stepsPerEpoch) steps per epoch")
        }
        guard checkpoint.parameters.allSatisfy(\.isFinite) else { throw refuse("its parameters are not all finite") }
        try device.write(checkpoint.parameters, to: model.parameters.whole)
        try optimizer.restore(state: checkpoint.optimizerState, step: optimizerStep)
        epoch = checkpoint.epoch
        step = checkpoint.step
    }
}
