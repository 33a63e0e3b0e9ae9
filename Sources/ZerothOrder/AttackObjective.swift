import Compute
import Training

/// The untargeted black-box attack objective of a classifier that answers only with its
/// logits (the Carlini–Wagner form of the ZO-AdaMM paper's experiments): for a query x of the
/// problem with original image x₀ and true class t,
///
///     f(x) = c·max(z_t(x) − max_{j≠t} z_j(x), −κ) + ‖x − x₀‖²
///
/// (the logit margin equals the log-probability margin: the softmax normaliser cancels). The
/// model runs inference only, on chunks of whole problems of at most its `maxBatch` rows;
/// margins and distortions of every row stay on the device for success tracking.
public final class AttackObjective: ZOObjective {
    /// The attacked classifier, inference-only; `maxBatch` ≥ `rowsPerProblem`.
    public let model: Model
    /// The original images, problems × d.
    public let originals: DeviceBuffer
    /// The true classes, one per problem (an index buffer bounded by the classes).
    public let labels: DeviceBuffer
    /// Query rows per problem (the minimiser's).
    public let rowsPerProblem: Int
    /// c, the weight of the margin against the distortion.
    public let weight: Float
    /// κ, the confidence at which the margin term stops pulling.
    public let kappa: Float
    /// Per query row of the last evaluation: the margin (negative: misclassified) and ‖x − x₀‖².
    public let margins: DeviceBuffer
    public let distortions: DeviceBuffer

    /// An objective for `problems` images (`originals`, problems × d floats) of classes `labels`.
    /// - Throws: `ComputeError` when a buffer cannot be allocated or written.
    public init(model: Model, originals: [Float], labels: [Int32], rowsPerProblem: Int, weight: Float = 10,
                kappa: Float = 1e-10) throws {
        let d = model.inputShape.count, classes = model.outputShape.count
        precondition(originals.count == labels.count * d, "one original image per label")
        precondition(model.maxBatch >= rowsPerProblem, "the model's batch must hold one problem's \(rowsPerProblem) rows")
        self.model = model
        self.rowsPerProblem = rowsPerProblem
        self.weight = weight
        self.kappa = kappa
        let device = model.device
        self.originals = try device.upload(originals)
        self.labels = try device.uploadIndices(labels, below: classes)
        margins = try device.makeBuffer(count: max(labels.count * rowsPerProblem, 1))
        distortions = try device.makeBuffer(count: max(labels.count * rowsPerProblem, 1))
    }

    public func evaluate(points: BufferSlice, rows: Int, into values: BufferSlice) throws {
        let device = model.device, d = model.inputShape.count, classes = model.outputShape.count
        let chunkRows = model.maxBatch / rowsPerProblem * rowsPerProblem
        var first = 0
        while first < rows {
            let count = min(chunkRows, rows - first), problem = first / rowsPerProblem
            let problems = (count + rowsPerProblem - 1) / rowsPerProblem
            let chunk = points.buffer.slice(points.offset + first * d, count * d)
            try device.copy(chunk, to: model.inputSlice(batch: count))
            let logits = try model.forward(batch: count)
            try device.attackObjective(
                logits: logits, labels: labels.slice(problem, problems), points: chunk,
                originals: originals.slice(problem * d, problems * d), rows: count, dimension: d, classes: classes,
                rowsPerProblem: rowsPerProblem, weight: weight, kappa: kappa,
                values: values.buffer.slice(values.offset + first, count), margins: margins.slice(first, count),
                distortions: distortions.slice(first, count))
            first += count
        }
    }
}
