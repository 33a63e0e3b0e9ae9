import Compute

/// The half of a gradient computation every gradient source shares: split a batch into
/// micro-batches of the model's `maxBatch`, gather each into the model's input, run the forward
/// pass and softmax cross-entropy, and add the rows' loss and correctness to the statistics. What
/// a source does with the loss gradient afterwards (back-propagate it, clip per sample) is its own.
public final class LossPass {
    /// The model the pass runs.
    public let model: Model
    /// The training samples, on the model's device.
    public let data: DeviceDataset
    private let batchLabels: DeviceBuffer

    /// A pass of `model` over `data`; an inference-only model gives losses without gradients.
    public init(model: Model, data: DeviceDataset) throws {
        precondition(data.shape.count == model.inputShape.count, "data and model input sizes differ")
        self.model = model
        self.data = data
        batchLabels = try model.device.makeIndexBuffer(count: model.maxBatch, bound: max(data.classCount, 1))
    }

    /// Calls `body(chunk, isFirst)` for consecutive micro-batches of `rows` of at most `maxBatch`
    /// rows; for an empty batch zeroes the model's gradients (if any) instead (a step with no rows).
    public func forEachMicroBatch(_ rows: BufferSlice, _ body: (BufferSlice, Bool) throws -> Void) throws {
        if rows.count == 0 {
            if let gradients = model.gradients { try model.device.fill(gradients.whole, with: 0) }
            return
        }
        var start = 0
        while start < rows.count {
            let chunk = min(model.maxBatch, rows.count - start)
            try body(rows.slice(start, chunk), start == 0)
            start += chunk
        }
    }

    /// Gathers `rows` (at most `maxBatch`) into the model's input, runs the forward pass and the
    /// loss, and leaves `gradientScale`·∂ℓ_i/∂logits in the model's output gradient (a training
    /// model's, when `gradient` is true). Per-row losses are in `statistics.sampleLoss` afterwards;
    /// `record` adds them to the totals.
    public func forwardAndLoss(rows: BufferSlice, gradientScale: Float, statistics: BatchStatistics,
                               stepInEpoch: Int, gradient: Bool = true, record: Bool = true) throws {
        let batch = rows.count, device = model.device
        try device.gatherRows(data.features.whole, width: model.inputShape.count, indices: rows,
                              into: model.inputSlice(batch: batch))
        try device.gatherRows(data.labels.whole, width: 1, indices: rows, into: batchLabels.slice(0, batch))
        let logits = try model.forward(batch: batch)
        try device.softmaxCrossEntropy(
            logits: logits, labels: batchLabels.slice(0, batch), rows: batch, classes: model.outputShape.count,
            loss: statistics.sampleLoss.slice(0, batch), correct: statistics.sampleCorrect.slice(0, batch),
            gradient: gradient && model.isTrainable ? model.outputGradientSlice(batch: batch) : nil, scale: gradientScale)
        if record { try statistics.accumulate(rows: batch, step: stepInEpoch) }
    }
}
