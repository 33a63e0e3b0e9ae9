import Compute
import SystemIO
import Training

/// The loss of an ensemble on images under candidate universal perturbations: row (n, j) of
/// each model's input is clip(image n + δ_j) to the box, and
///
///     F_i(δ_j) = (1/N)·Σ_n max(z_t(x) − max_{k≠t} z_k(x), −κ)   for model i,
///
/// combined as Σ_i w_i·F_i(δ_j) with the current `weights` (the ZO-Min-Max ensemble attack's
/// inner objective, without the regulariser on w, which only the ascent step sees).
public final class EnsembleObjective: ZOObjective {
    public let models: [Model]
    /// The images, N × d, and their classes (every model classifies them correctly at the start).
    public let images: DeviceBuffer
    public let count: Int
    /// The box of every perturbed image, d each.
    public let lower: DeviceBuffer
    public let upper: DeviceBuffer
    public let kappa: Float
    /// The ensemble weights Σ_i w_i F_i uses (on the simplex).
    public var weights: [Float]
    /// F_i at every candidate of the last evaluation, one buffer per model (candidates floats).
    public let losses: [DeviceBuffer]
    /// Per model, the margins of the last evaluation's rows (N · candidates, row n·C + j).
    public let margins: [DeviceBuffer]

    private let device: any Device
    private let inputs: DeviceBuffer
    private let rowLabels: DeviceBuffer
    private let values: DeviceBuffer
    private let distortions: DeviceBuffer
    private let candidates: Int
    /// Images a forward pass takes (each with all its candidates).
    private let imagesPerChunk: Int

    /// An objective over `images` (N × d) of classes `labels` for up to `candidates` candidate
    /// perturbations an evaluation.
    /// - Throws: `ComputeError` when a buffer cannot be allocated or written.
    public init(models: [Model], images: [Float], labels: [Int32], lower: [Float], upper: [Float], candidates: Int,
                kappa: Float = 1e-10) throws {
        precondition(!models.isEmpty, "an ensemble of at least one model")
        let device = models[0].device, d = models[0].inputShape.count, classes = models[0].outputShape.count
        precondition(models.allSatisfy { $0.inputShape.count == d && $0.outputShape.count == classes && $0.device === device },
                     "the ensemble's models share their device, input and classes")
        precondition(images.count == labels.count * d && lower.count == d && upper.count == d, "images, labels and box disagree")
        let maxBatch = models.map(\.maxBatch).min() ?? 1
        precondition(maxBatch >= candidates, "each model's batch must hold one image's \(candidates) candidates")
        self.models = models
        self.device = device
        self.count = labels.count
        self.candidates = candidates
        self.kappa = kappa
        weights = [Float](repeating: 1 / Float(models.count), count: models.count)
        imagesPerChunk = min(maxBatch / candidates, max(labels.count, 1))
        self.images = try device.upload(images)
        self.lower = try device.upload(lower)
        self.upper = try device.upload(upper)
        let rows = max(labels.count * candidates, 1)
        inputs = try device.makeBuffer(count: bufferSize(imagesPerChunk * candidates, d))
        rowLabels = try device.uploadIndices(labels.flatMap { Array(repeating: $0, count: candidates) }, below: classes)
        values = try device.makeBuffer(count: rows)
        distortions = try device.makeBuffer(count: rows)
        losses = try models.map { _ in try device.makeBuffer(count: candidates) }
        margins = try models.map { _ in try device.makeBuffer(count: rows) }
    }

    /// Evaluates every model at `rows` candidates (`points`, rows × d) into `losses`, then
    /// combines them with `weights` into `values`.
    public func evaluate(points: BufferSlice, rows: Int, into values: BufferSlice) throws {
        try evaluateModels(points: points, rows: rows)
        try combine(rows: rows, into: values)
    }

    /// F_i(δ_j) of every model at `rows` candidates into `losses`.
    public func evaluateModels(points: BufferSlice, rows: Int) throws {
        precondition(rows == candidates, "built for \(candidates) candidates an evaluation")
        let d = models[0].inputShape.count, classes = models[0].outputShape.count
        var first = 0
        while first < count {
            let n = min(imagesPerChunk, count - first), chunkRows = n * candidates
            let chunkInputs = inputs.slice(0, chunkRows * d)
            try device.attackBroadcast(images: images.slice(first * d, n * d), count: n, deltas: points, candidates: candidates,
                                       dimension: d, lower: lower.whole, upper: upper.whole, into: chunkInputs)
            for (i, model) in models.enumerated() {
                try device.copy(chunkInputs, to: model.inputSlice(batch: chunkRows))
                let logits = try model.forward(batch: chunkRows)
                // The inputs as their own originals: no distortion term, only the margins.
                let rowValues = values.slice(first * candidates, chunkRows)
                try device.attackObjective(
                    logits: logits, labels: rowLabels.slice(first * candidates, chunkRows), points: chunkInputs,
                    originals: chunkInputs, rows: chunkRows, dimension: d, classes: classes, rowsPerProblem: 1,
                    weight: 1, kappa: kappa, values: rowValues, margins: margins[i].slice(first * candidates, chunkRows),
                    distortions: distortions.slice(first * candidates, chunkRows))
                // Σ over the chunk's images of each candidate's value: the values are n × C.
                try device.columnSum(rowValues, rows: n, cols: candidates, beta: first == 0 ? 0 : 1, into: losses[i].whole)
            }
            first += n
        }
    }

    /// `values[j] = Σ_i weights_i · F_i(δ_j) / N`.
    public func combine(rows: Int, into values: BufferSlice) throws {
        let out = values.buffer.slice(values.offset, rows)
        for (i, loss) in losses.enumerated() {
            try device.axpby(alpha: weights[i] / Float(max(count, 1)), x: loss.slice(0, rows), beta: i == 0 ? 0 : 1, y: out)
        }
    }

    /// F_i at candidate 0 (the current perturbation) of every model: one read-back of K floats.
    public func currentLosses() throws -> [Float] {
        try losses.map { try device.download($0.slice(0, 1))[0] / Float(max(count, 1)) }
    }

    /// The fraction of images each model misclassifies under candidate 0.
    public func currentSuccessRates() throws -> [Double] {
        try margins.map { buffer in
            let all = try device.download(buffer.slice(0, max(count * candidates, 1)))
            let fooled = (0..<count).filter { all[$0 * candidates] < 0 }.count
            return count > 0 ? Double(fooled) / Double(count) : .nan
        }
    }
}

/// Settings of the universal ensemble attack (ZO-Min-Max, Liu et al., ICML 2020; reference
/// settings on ImageNet: q = 10, μ = 0.005, α = 0.05/√t, β = 0.01, λ = 5).
public struct UniversalAttackSettings: Sendable, Hashable {
    public var estimator: ZOEstimator
    public var iterations: Int
    /// α of the projected ZO descent on δ, decayed as α/√(t + 1).
    public var learningRate: Float
    /// β of the projected ascent on the weights.
    public var ascentRate: Float
    /// λ of the regulariser −λ‖w − 1/K‖².
    public var lambda: Float
    /// The ℓ∞ radius ε of δ.
    public var epsilon: Float
    public var kappa: Float

    public init(estimator: ZOEstimator = ZOEstimator(.sphere, directions: 10, smoothing: 0.005), iterations: Int = 500,
                learningRate: Float = 1, ascentRate: Float = 0.01, lambda: Float = 5, epsilon: Float = 0.3,
                kappa: Float = 1e-10) {
        self.estimator = estimator
        self.iterations = iterations
        self.learningRate = learningRate
        self.ascentRate = ascentRate
        self.lambda = lambda
        self.epsilon = epsilon
        self.kappa = kappa
    }
}

/// What a universal perturbation achieved against each model of the ensemble.
public struct UniversalAttackReport: Sendable, Hashable {
    /// ZO-Min-Max (weights learnt) or the ZO-Finite-Sum baseline (uniform weights).
    public var minMax: Bool
    public var images: Int
    /// Per model, the fraction of images misclassified under the final perturbation.
    public var successRates: [Double]
    /// The final ensemble weights.
    public var weights: [Float]
    /// ‖δ‖∞ and ‖δ‖₂ of the final perturbation.
    public var linf: Double
    public var l2: Double
    public var seconds: Double
}

/// One universal ℓ∞-bounded perturbation against an ensemble by ZO-Min-Max:
///
///     min_{δ ∈ [−ε, ε]^d}  max_{w ∈ simplex}  Σ_i w_i·F_i(δ) − λ‖w − 1/K‖²
///
/// alternating a projected ZO-SGD step on δ (sphere estimates of the ensemble loss at the
/// current weights) with a projected ascent step on w from the exact gradient F(δ) − 2λ(w − 1/K)
/// at the fresh δ, projected onto the simplex by bisection. With `minMax` false the weights stay
/// uniform: the ZO-Finite-Sum baseline of the paper.
public enum UniversalAttack {
    public static func run(models: [Model], images: [Float], labels: [Int32], lower: [Float], upper: [Float],
                           settings: UniversalAttackSettings, minMax: Bool, seed: UInt64) throws -> UniversalAttackReport {
        let clock = ContinuousClock(), started = clock.now
        let d = models[0].inputShape.count, k = models.count
        let eps = settings.epsilon
        guard !labels.isEmpty else {
            return UniversalAttackReport(minMax: minMax, images: 0, successRates: [Double](repeating: .nan, count: k),
                                         weights: [Float](repeating: 1 / Float(k), count: k), linf: 0, l2: 0, seconds: 0)
        }
        let minimizer = try ZOMinimizer(
            device: models[0].device, start: [Float](repeating: 0, count: d), problems: 1, dimension: d,
            estimator: settings.estimator, optimizer: ZOOptimizer(.sgd),
            bounds: ([Float](repeating: -eps, count: d), [Float](repeating: eps, count: d)), seed: seed)
        let objective = try EnsembleObjective(models: models, images: images, labels: labels, lower: lower, upper: upper,
                                              candidates: minimizer.rows, kappa: settings.kappa)
        for t in 0...settings.iterations {
            try minimizer.preparePoints()
            try objective.evaluateModels(points: minimizer.points.whole, rows: minimizer.rows)
            guard t < settings.iterations else { break }
            if minMax {
                // Ascent on w at the fresh δ: w ← Π(w + β(F(δ) − 2λ(w − 1/K))).
                let f = try objective.currentLosses()
                let ascent = (0..<k).map { i in
                    Double(objective.weights[i])
                        + Double(settings.ascentRate) * (Double(f[i]) - 2 * Double(settings.lambda)
                            * (Double(objective.weights[i]) - 1 / Double(k)))
                }
                objective.weights = SimplexProjection.project(ascent).map { Float($0) }
            }
            try objective.combine(rows: minimizer.rows, into: minimizer.values.whole)
            try minimizer.step(rate: settings.learningRate / Float(t + 1).squareRoot())
        }
        let delta = try models[0].device.download(minimizer.x.whole)
        return UniversalAttackReport(
            minMax: minMax, images: labels.count, successRates: try objective.currentSuccessRates(),
            weights: objective.weights, linf: Double(delta.map { abs($0) }.max() ?? 0),
            l2: delta.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot(), seconds: seconds(clock.now - started))
    }
}
