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
    public let model: Model
    /// The training samples, on the model's device.
    public let data: DeviceDataset
    /// Called by each parametric layer of every micro-batch (per-sample hooks).
    public var observer: BackwardObserver?
    private let batchLabels: DeviceBuffer

    /// A source for `model` (a training model) over `data`.
    public init(model: Model, data: DeviceDataset) throws {
        precondition(model.isTrainable, "back-propagation needs a training model")
        precondition(data.shape.count == model.inputShape.count, "data and model input sizes differ")
        self.model = model
        self.data = data
        batchLabels = try model.device.makeIndexBuffer(count: model.maxBatch, bound: max(data.classCount, 1))
    }

    public func computeGradient(rows: BufferSlice, scale: Float, statistics: BatchStatistics,
                                stepInEpoch: Int) throws {
        guard let gradients = model.gradients else { preconditionFailure("back-propagation needs a training model") }
        let device = model.device
        if rows.count == 0 {
            try device.fill(gradients.whole, with: 0)
            return
        }
        var start = 0
        while start < rows.count {
            let chunk = min(model.maxBatch, rows.count - start)
            let indices = rows.slice(start, chunk)
            try device.gatherRows(data.features.whole, width: model.inputShape.count, indices: indices,
                                  into: model.inputSlice(batch: chunk))
            try device.gatherRows(data.labels.whole, width: 1, indices: indices, into: batchLabels.slice(0, chunk))
            let logits = try model.forward(batch: chunk)
            try device.softmaxCrossEntropy(
                logits: logits, labels: batchLabels.slice(0, chunk), rows: chunk, classes: model.outputShape.count,
                loss: statistics.sampleLoss.slice(0, chunk), correct: statistics.sampleCorrect.slice(0, chunk),
                gradient: model.outputGradientSlice(batch: chunk), scale: scale)
            try statistics.accumulate(rows: chunk, step: stepInEpoch)
            try model.backward(batch: chunk, accumulate: start > 0, observer: observer)
            start += chunk
        }
    }
}
