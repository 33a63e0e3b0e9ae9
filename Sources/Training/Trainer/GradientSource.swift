import Compute

/// The second stage of a training step: the gradient of the loss over a batch.
///
/// A source writes `scale · Σ_{i ∈ rows} ∇ℓ_i` into the model's gradient buffer: the summed
/// loss, divided by the normaliser the step states (`scale = 1 / normaliser`), so ordinary
/// training is the batch mean and DP-SGD divides by the expected batch size. An empty batch
/// gives a zero gradient. Sources add each row's loss and correctness to the step's statistics.
/// Later issues add clipped per-sample gradients (DP-SGD) and zeroth-order estimates here.
public protocol GradientSource: AnyObject {
    /// Writes the scaled gradient of the batch `rows` (row indices into the training data, an
    /// index buffer bounded by its rows) into the model's gradients.
    /// - Parameters:
    ///   - rows: the batch; empty for an empty Poisson batch.
    ///   - scale: 1 / the normaliser.
    ///   - statistics: where each row's loss and correctness go.
    ///   - stepInEpoch: the 1-based step within the epoch, recorded on divergence.
    ///   - step: the global step, which keys any randomness the source draws.
    func computeGradient(rows: BufferSlice, scale: Float, statistics: BatchStatistics, stepInEpoch: Int,
                         step: Int) throws
}

/// Back-propagation of softmax cross-entropy, the gradient source of ordinary training. A batch
/// larger than the model's `maxBatch` runs as physical micro-batches whose gradients add up
/// (layers accumulate with beta 1 after the first), so memory is sized by `maxBatch` however
/// large the logical (e.g. Poisson) batch. `observer` sees each layer's per-sample factors.
public final class BackpropGradient: GradientSource {
    /// The model whose gradients are formed.
    public var model: Model { pass.model }
    /// The training samples, on the model's device.
    public var data: DeviceDataset { pass.data }
    /// Called by each parametric layer of every micro-batch (per-sample hooks).
    public var observer: BackwardObserver?
    private let pass: LossPass

    /// A source for `model` (a training model) over `data`.
    public init(model: Model, data: DeviceDataset) throws {
        pass = try LossPass(model: model, data: data)
    }

    public func computeGradient(rows: BufferSlice, scale: Float, statistics: BatchStatistics,
                                stepInEpoch: Int, step: Int) throws {
        try pass.forEachMicroBatch(rows) { chunk, first in
            try pass.forwardAndLoss(rows: chunk, gradientScale: scale, statistics: statistics, stepInEpoch: stepInEpoch)
            try model.backward(batch: chunk.count, accumulate: !first, observer: observer)
        }
    }
}

/// A gradient source whose estimate never becomes a gradient buffer, so the model can be
/// inference-only: zeroth-order training in place (MeZO-style), where a step's estimate is a
/// step seed and a few scalars on the device, and the source applies the update itself
/// (θ ← θ + Σ_j (restore_j − η·g_j)·u_j in one pass). The trainer calls `evaluate` for every
/// worker's batch, then `applyUpdate` once; there are no gradient transforms and no
/// first-order optimizer in such a step.
public protocol SelfUpdatingGradientSource: AnyObject, CustomStringConvertible {
    /// The update rule's name, recorded in checkpoints (e.g. "zo-adamm").
    var optimizerName: String { get }
    /// Evaluates worker `worker`'s part of global step `step` on `rows` (its batch), adding the
    /// loss at the current parameters (with central differences: at the first perturbed point)
    /// to `statistics`.
    /// - Parameters:
    ///   - rows: the batch, an index-buffer slice bounded by the training rows.
    ///   - worker: 0 ..< the worker count the source was built for.
    ///   - scale: 1 / the batch's normaliser (the loss is a sum times it).
    ///   - stepInEpoch: recorded when the loss is the epoch's first that is not finite.
    ///   - step: the global step, which keys the directions.
    func evaluate(rows: BufferSlice, worker: Int, scale: Float, statistics: BatchStatistics, stepInEpoch: Int,
                  step: Int) throws
    /// Applies global step `step` at `learningRate` once every worker has evaluated.
    func applyUpdate(learningRate: Float, step: Int) throws
    /// Floats `snapshot()` returns (known without reading them back).
    var stateCount: Int { get }
    /// The state a checkpoint must hold to resume exactly (optimizer moments; empty for none).
    func snapshot() throws -> [Float]
    /// Restores `snapshot()`'s values; called after the trainer has restored the parameters.
    func restore(_ state: [Float]) throws
}
