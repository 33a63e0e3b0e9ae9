import Artifacts
import Compute
import Distributed
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

/// The training step as a pipeline, and the epoch loop around it:
///
/// ```
///  batch sampler ──▶ gradient source ──▶ gradient transforms ──▶ update
///  (per worker)      (per worker: its      (on the workers'        (optimizer and
///   rows of step t)   slot of [M × P])      slots, then the result)  learning-rate schedule)
/// ```
///
/// 1. each worker's `BatchSampler` gives the rows of the step (shuffled fixed-size batches,
///    Poisson sampling, a partition, the whole partition);
/// 2. the `GradientSource` writes the scaled gradient of those rows (back-propagation, in
///    micro-batches of the model's `maxBatch`), the summed loss divided by the sampler's
///    normaliser, into the worker's slot;
/// 3. the `GradientTransform`s run in order (with several workers one of them combines the
///    slots: `WorkerMean` by default);
/// 4. the optimizer updates the parameters with the result at the scheduled learning rate.
///
/// Loss and accuracy are summed on the device and read back once per epoch. The whole state
/// (parameters, optimizer and transform state, epoch, step) is in checkpoints; samplers are
/// functions of the step, so a resumed run continues exactly where it stopped. Later algorithms
/// replace a stage: DP-SGD the source and a noise transform, signSGD the transforms,
/// zeroth-order training the source.
public final class Trainer {
    /// The model being trained, in place.
    public let model: Model
    /// Built from `config.optimizer` for every parameter of `model`.
    public let optimizer: Optimizer
    /// Epochs, batch size, seed, optimizer and schedule of the run.
    public let config: TrainingConfig
    /// The training samples, resident on the model's device.
    public let train: DeviceDataset
    /// One sampler per worker of this rank; the run's worker 0's sets the epoch length.
    public let samplers: [any BatchSampler]
    /// Where the workers live: this process alone, or ranks of an MPI job that train one model
    /// in lockstep (the transforms exchange the gradients; the trainer sums the epoch's
    /// statistics over the ranks).
    public let group: WorkerGroup
    /// The gradient source of every worker (nil when `selfUpdating` runs the step).
    public let source: (any GradientSource)?
    /// A source that applies its own update (zeroth-order training in place), instead of
    /// `source`, the transforms and the optimizer.
    public let selfUpdating: (any SelfUpdatingGradientSource)?
    /// Applied in order between the gradients and the update.
    public let transforms: [any GradientTransform]
    /// Completed epochs.
    public private(set) var epoch = 0
    /// Optimizer steps taken.
    public private(set) var step = 0

    private let device: any Device
    private let rows: DeviceBuffer
    /// (workers, parameters) when there are several workers; nil for one (its slot is the
    /// model's gradient buffer).
    private let slots: DeviceBuffer?
    private let statistics: BatchStatistics

    /// A trainer at epoch 0 with a fresh optimizer; `restore` continues a checkpointed run instead.
    /// - Parameters:
    ///   - model: a training model whose input size matches `train`'s samples.
    ///   - config: the run's settings.
    ///   - train: the training samples, on the model's device.
    ///   - samplers: one per simulated worker; by default one `ShuffleSampler` of
    ///     `config.batchSize` over all of `train`.
    ///   - source: by default back-propagation (`BackpropGradient`).
    ///   - transforms: by default `WorkerMean` (which does nothing for one worker).
    /// - Throws: `ComputeError` when a buffer cannot be allocated.
    ///   - selfUpdating: a source that updates the parameters itself (zeroth-order training in
    ///     place); then `source` and `transforms` must be nil and `model` may be inference-only.
    ///   - group: the ranks of the run, holding `samplers.count` workers each; by default this
    ///     process alone. Under MPI the constructor is collective (rank 0's epoch length).
    public init(model: Model, config: TrainingConfig, train: DeviceDataset, samplers: [any BatchSampler]? = nil,
                source: (any GradientSource)? = nil, transforms: [any GradientTransform]? = nil,
                selfUpdating: (any SelfUpdatingGradientSource)? = nil, group: WorkerGroup? = nil) throws {
        precondition(train.shape.count == model.inputShape.count, "data and model input sizes differ")
        precondition(selfUpdating == nil || (source == nil && transforms == nil),
                     "a self-updating source replaces the gradient source, the transforms and the optimizer")
        precondition(model.isTrainable || selfUpdating != nil, "a trainer needs a training model")
        let samplers = samplers ?? [ShuffleSampler(count: train.count, batchSize: config.batchSize, seed: config.seed)]
        precondition(!samplers.isEmpty, "a trainer needs at least one sampler")
        let group = group ?? .local(workers: samplers.count)
        precondition(group.workersPerRank == samplers.count, "one sampler per worker of the rank")
        self.group = group
        // Every rank steps as often as the run's worker 0, whose sampler is on rank 0.
        stepsPerEpoch = group.isDistributed
            ? Int(try group.communicator.allReduce([group.isLeader ? Double(samplers[0].stepsPerEpoch) : 0], .sum)[0])
            : samplers[0].stepsPerEpoch
        self.model = model
        self.config = config
        self.train = train
        self.samplers = samplers
        device = model.device
        self.selfUpdating = selfUpdating
        self.source = selfUpdating != nil ? nil : try source ?? BackpropGradient(model: model, data: train)
        self.transforms = selfUpdating != nil ? [] : transforms ?? [WorkerMean(device: model.device, group: group)]
        optimizer = try Optimizer(config.optimizer, parameterCount: model.parameterCount, device: device)
        let largest = samplers.map(\.maximumBatchSize).max() ?? 0
        rows = try device.makeIndexBuffer(count: max(largest, 1), bound: max(train.count, 1))
        slots = samplers.count > 1 && selfUpdating == nil
            ? try device.makeBuffer(count: bufferSize(samplers.count, model.parameterCount)) : nil
        statistics = try BatchStatistics(device: device, maxBatch: model.maxBatch)
    }

    /// Optimizer steps per epoch: the run's worker 0's sampler's.
    public let stepsPerEpoch: Int

    /// The total step count the trainer stops at (nil: none), e.g. the last step a privacy
    /// budget allows; `trainEpoch` then ends mid-epoch, and `isMidEpoch` says so.
    public var stepLimit: Int?

    /// Whether the last epoch ended early at `stepLimit` (or a checkpoint was written there).
    public var isMidEpoch: Bool { step != epoch * stepsPerEpoch }

    /// Trains one epoch, or its remaining steps after a stop at `stepLimit`; `progress(done,
    /// total)` is called after every step.
    /// - Parameter progress: called with the steps done and `stepsPerEpoch`, on the calling
    ///   thread; nil for none.
    /// - Returns: mean training loss and accuracy (fraction) over the samples of the steps run,
    ///   as measured during the epoch (NaN when every batch was empty or no step ran). The epoch
    ///   counts as done only when its last step ran (`isMidEpoch` is false).
    /// - Throws: `TrainingError.diverged` when a batch loss was not finite; `ComputeError` when a
    ///   device call fails.
    public func trainEpoch(progress: ((Int, Int) -> Void)? = nil) throws -> (loss: Double, accuracy: Double) {
        try statistics.reset()
        let steps = stepsPerEpoch
        let first = step - epoch * steps + 1
        let end = min(steps, (stepLimit ?? Int.max) - epoch * steps)
        if first <= end {
            for stepInEpoch in first...end {
                try trainStep(stepInEpoch: stepInEpoch)
                progress?(stepInEpoch, steps)
            }
        }
        let totals = try epochTotals()
        if let badStep = totals.divergentStep {
            throw TrainingError.diverged(epoch: epoch + 1, step: badStep, globalStep: epoch * steps + badStep)
        }
        if end == steps { epoch += 1 }
        guard totals.rows > 0 else { return (.nan, .nan) }
        return (totals.loss / totals.rows, totals.correct / totals.rows)
    }

    /// One step of the pipeline at the current global step: every worker's batch and gradient,
    /// the transforms, the update.
    /// - Parameter stepInEpoch: the 1-based step within the epoch, recorded if a batch's loss is
    ///   the epoch's first that is not finite.
    /// - Throws: `ComputeError` when a device call fails (divergence is reported by `trainEpoch`).
    public func trainStep(stepInEpoch: Int) throws {
        var scale: Float = 1
        for (worker, sampler) in samplers.enumerated() {
            let batch = sampler.batch(at: step)
            try device.write(batch, to: rows.slice(0, batch.count))
            let workerRows = rows.slice(0, batch.count), workerScale = 1 / sampler.normaliser(batchSize: batch.count)
            if worker == 0 { scale = workerScale }
            if let selfUpdating {
                try selfUpdating.evaluate(rows: workerRows, worker: worker, scale: workerScale, statistics: statistics,
                                          stepInEpoch: stepInEpoch, step: step)
                continue
            }
            guard let source, let gradients = model.gradients else { preconditionFailure("a trainer needs a training model") }
            try source.computeGradient(rows: workerRows, scale: workerScale, statistics: statistics,
                                       stepInEpoch: stepInEpoch, step: step)
            if let slots {
                try device.copy(gradients.whole, to: slots.slice(worker * model.parameterCount, model.parameterCount))
            }
        }
        if let selfUpdating {
            try selfUpdating.applyUpdate(learningRate: learningRate, step: step)
            step += 1
            return
        }
        guard let gradients = model.gradients else { preconditionFailure("a trainer needs a training model") }
        try update(workerGradients: WorkerGradients(
            slots: slots?.whole ?? gradients.whole, workers: samplers.count, parameterCount: model.parameterCount,
            result: gradients.whole, scale: scale))
    }

    /// One optimizer step on the training rows in `indices` alone (one worker, no sampler):
    /// gradient, transforms, update. For benchmarks and callers that choose their own batches.
    /// - Parameters:
    ///   - indices: row indices into `train`, a slice of an index buffer bounded by its rows.
    ///   - stepInEpoch: recorded if this batch's loss is the epoch's first that is not finite.
    /// - Throws: `ComputeError` when a device call fails.
    public func step(indices: BufferSlice, stepInEpoch: Int) throws {
        let scale = 1 / Float(max(indices.count, 1))
        if let selfUpdating {
            try selfUpdating.evaluate(rows: indices, worker: 0, scale: scale, statistics: statistics,
                                      stepInEpoch: stepInEpoch, step: step)
            try selfUpdating.applyUpdate(learningRate: learningRate, step: step)
            step += 1
            return
        }
        guard let source, let gradients = model.gradients else { preconditionFailure("a trainer needs a training model") }
        try source.computeGradient(rows: indices, scale: scale, statistics: statistics, stepInEpoch: stepInEpoch,
                                   step: step)
        try update(workerGradients: WorkerGradients(slots: gradients.whole, workers: 1,
                                                    parameterCount: model.parameterCount, result: gradients.whole,
                                                    scale: scale))
    }

    /// The epoch's statistics of every worker of the run: under MPI summed over the ranks (the
    /// earliest divergent step of any), so every rank reports and stops alike.
    private func epochTotals() throws -> (loss: Double, correct: Double, rows: Double, divergentStep: Int?) {
        let local = try statistics.read()
        guard group.isDistributed else { return local }
        let sums = try group.communicator.allReduce([local.loss, local.correct, local.rows], .sum)
        let first = try group.communicator.allReduce([Double(local.divergentStep ?? Int(Int32.max))], .minimum)[0]
        return (sums[0], sums[1], sums[2], first < Double(Int32.max) ? Int(first) : nil)
    }

    /// The scheduled learning rate of the current step.
    private var learningRate: Float {
        config.schedule.rate(base: config.optimizer.learningRate, step: step, stepsPerEpoch: stepsPerEpoch,
                             totalSteps: stepsPerEpoch * config.epochs)
    }

    private func update(workerGradients: WorkerGradients) throws {
        for transform in transforms { try transform.apply(workerGradients, step: step) }
        try optimizer.update(parameters: model.parameters.whole, gradients: workerGradients.result,
                             learningRate: learningRate)
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
        try statistics.reset()
        let width = model.inputShape.count
        var start = 0
        while start < data.count {
            let batch = min(model.maxBatch, data.count - start)
            try device.copy(data.features.slice(start * width, batch * width), to: model.inputSlice(batch: batch))
            let logits = try model.forward(batch: batch)
            try device.softmaxCrossEntropy(
                logits: logits, labels: data.labels.slice(start, batch), rows: batch,
                classes: model.outputShape.count, loss: statistics.sampleLoss.slice(0, batch),
                correct: statistics.sampleCorrect.slice(0, batch), gradient: nil, scale: 0)
            try statistics.accumulate(rows: batch, step: 0)
            start += batch
        }
        let totals = try statistics.read()
        return (totals.loss / Double(data.count), totals.correct / Double(data.count))
    }

    // MARK: - Checkpoints

    /// The update rule's name as checkpoints record it.
    private var optimizerName: String { selfUpdating?.optimizerName ?? config.optimizer.kind.rawValue }

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
        // A self-updating source's steps are the trainer's (the unused optimizer never stepped).
        metadata["optimizer_step"] = String(selfUpdating == nil ? optimizerStep : step)
        // Transform state travels after the optimizer's, each transform's length in the metadata.
        var transformState: [Float] = [], lengths: [String] = []
        for transform in transforms {
            let state = try transform.snapshot()
            transformState += state
            lengths.append(String(state.count))
        }
        if !transformState.isEmpty { metadata["transform_state"] = lengths.joined(separator: ",") }
        if let selfUpdating { transformState += try selfUpdating.snapshot() }
        return Checkpoint(modelSpec: modelSpec, optimizer: optimizerName, epoch: epoch, step: step,
                          seed: config.seed, parameters: try device.download(model.parameters.whole),
                          optimizerState: state + transformState, metadata: metadata, history: history)
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
        let transformLengths = (checkpoint.metadata["transform_state"] ?? "").split(separator: ",").map { Int($0) ?? -1 }
        let sourceState = selfUpdating?.stateCount ?? 0
        guard checkpoint.optimizer == optimizerName,
              transformLengths.allSatisfy({ $0 >= 0 }), transformLengths.isEmpty || transformLengths.count == transforms.count,
              checkpoint.optimizerState.count == optimizer.state.count + transformLengths.reduce(0, +) + sourceState else {
            throw refuse("it was written by optimizer '\(checkpoint.optimizer)', this run uses '\(optimizerName)'")
        }
        guard checkpoint.seed == config.seed else {
            throw refuse("it was written with seed \(checkpoint.seed), this run uses \(config.seed)")
        }
        let optimizerStep = checkpoint.metadata["optimizer_step"].flatMap { Int($0) } ?? checkpoint.step
        // A checkpoint that passed its checksum can still carry counters no run produces.
        // A run stopped by its step limit leaves a checkpoint inside an epoch.
        guard checkpoint.epoch >= 0, checkpoint.step >= checkpoint.epoch * stepsPerEpoch,
              checkpoint.step < (checkpoint.epoch + 1) * stepsPerEpoch, optimizerStep == checkpoint.step else {
            throw refuse("its counters (epoch \(checkpoint.epoch), step \(checkpoint.step), optimizer step "
                         + "\(optimizerStep)) do not fit \(stepsPerEpoch) steps per epoch")
        }
        guard checkpoint.parameters.allSatisfy(\.isFinite) else { throw refuse("its parameters are not all finite") }
        try device.write(checkpoint.parameters, to: model.parameters.whole)
        try optimizer.restore(state: Array(checkpoint.optimizerState.prefix(optimizer.state.count)),
                              step: selfUpdating == nil ? optimizerStep : 0)
        var transformState = Array(checkpoint.optimizerState.dropFirst(optimizer.state.count))
        for (index, transform) in transforms.enumerated() {
            let count = index < transformLengths.count ? transformLengths[index] : 0
            try transform.restore(Array(transformState.prefix(count)))
            transformState.removeFirst(count)
        }
        try selfUpdating?.restore(transformState)
        epoch = checkpoint.epoch
        step = checkpoint.step
    }
}
