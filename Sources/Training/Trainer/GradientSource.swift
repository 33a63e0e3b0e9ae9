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
    func computeGradient(rows: BufferSlice, scale: Float, statistics: BatchStatistics, stepInEpoch: Int) throws
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
                                stepInEpoch: Int) throws {
        try pass.forEachMicroBatch(rows) { chunk, first in
            try pass.forwardAndLoss(rows: chunk, gradientScale: scale, statistics: statistics, stepInEpoch: stepInEpoch)
            try model.backward(batch: chunk.count, accumulate: !first, observer: observer)
        }
    }
}
