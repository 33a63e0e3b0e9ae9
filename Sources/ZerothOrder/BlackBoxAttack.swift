import Compute
import SystemIO
import Training

/// Settings of a per-image black-box attack (the ZO-AdaMM paper's comparison: sphere
/// directions, forward differences, q = 10, learning rate α/√(t + 1)).
public struct AttackSettings: Sendable, Hashable {
    public var estimator: ZOEstimator
    /// Iterations T; the point after the last step is evaluated too.
    public var iterations: Int
    /// α of each rule, decayed as α/√(t + 1).
    public var learningRates: [ZOOptimizerKind: Float]
    /// c of the objective (`AttackObjective`).
    public var weight: Float
    /// κ of the objective.
    public var kappa: Float
    /// ZO-AdaMM's moment decays.
    public var beta1: Float
    public var beta2: Float

    public init(estimator: ZOEstimator = ZOEstimator(.sphere, directions: 10, smoothing: 0.005),
                iterations: Int = 1000,
                learningRates: [ZOOptimizerKind: Float] = [.sgd: 0.01, .sign: 0.01, .adamm: 0.01],
                weight: Float = 10, kappa: Float = 1e-10, beta1: Float = 0.9, beta2: Float = 0.9) {
        precondition(iterations >= 0, "a non-negative number of iterations")
        self.estimator = estimator
        self.iterations = iterations
        self.learningRates = learningRates
        self.weight = weight
        self.kappa = kappa
        self.beta1 = beta1
        self.beta2 = beta2
    }
}

/// What a per-image attack achieved, the columns of the ZO-AdaMM paper's table.
public struct AttackReport: Sendable, Hashable {
    public var method: ZOOptimizerKind
    /// Images attacked (all correctly classified at the start).
    public var images: Int
    /// Images misclassified at some iteration.
    public var successes: Int
    /// ℓ2 distortion ‖x − x₀‖ at each success's first misclassified iterate, averaged over successes.
    public var meanL2: Double
    /// Model queries spent up to and including the first misclassified iterate, averaged over
    /// successes (each iteration queries the current point and its q or 2q neighbours).
    public var meanQueries: Double
    /// Queries an iteration costs per image.
    public var queriesPerIteration: Int
    /// Per image, the iteration of its first success (−1: none).
    public var firstSuccess: [Int]
    /// The final iterates, n × d: inside the box, and after the first success the objective keeps
    /// trading margin for less distortion.
    public var final: [Float]
    public var seconds: Double

    /// successes / images (NaN for no images).
    public var successRate: Double { images > 0 ? Double(successes) / Double(images) : .nan }
}

/// Untargeted black-box attacks on a classifier by projected zeroth-order minimisation of
/// `AttackObjective`, every image a problem of one `ZOMinimizer`: one batched forward pass an
/// iteration for all images' queries, first successes tracked on the device, one read-back at
/// the end.
public enum BlackBoxAttack {
    /// Attacks `images` (n × d, each correctly classified as `labels`) with `method`.
    /// - Parameters:
    ///   - model: the classifier, inference-only, with `maxBatch` ≥ the query rows of one image.
    ///   - lower, upper: the box every adversarial image must stay in, per feature (d each).
    ///   - seed: the directions' seed.
    /// - Throws: `ComputeError` when a device call fails.
    public static func run(model: Model, images: [Float], labels: [Int32], lower: [Float], upper: [Float],
                           method: ZOOptimizerKind, settings: AttackSettings, seed: UInt64) throws -> AttackReport {
        let clock = ContinuousClock(), started = clock.now
        let d = model.inputShape.count, n = labels.count, device = model.device
        precondition(images.count == n * d && lower.count == d && upper.count == d, "images, labels and box disagree")
        guard n > 0 else {
            return AttackReport(method: method, images: 0, successes: 0, meanL2: .nan, meanQueries: .nan,
                                queriesPerIteration: 0, firstSuccess: [], final: [], seconds: 0)
        }
        let minimizer = try ZOMinimizer(
            device: device, start: images, problems: n, dimension: d, estimator: settings.estimator,
            optimizer: ZOOptimizer(method, beta1: settings.beta1, beta2: settings.beta2),
            bounds: (Array(repeating: lower, count: n).flatMap { $0 }, Array(repeating: upper, count: n).flatMap { $0 }),
            seed: seed)
        let rows = minimizer.rowsPerProblem
        let objective = try AttackObjective(model: model, originals: images, labels: labels, rowsPerProblem: rows,
                                            weight: settings.weight, kappa: settings.kappa)
        let firstIteration = try device.upload([Float](repeating: -1, count: n))
        let firstDistortion = try device.upload([Float](repeating: 0, count: n))
        let rate = settings.learningRates[method] ?? 0.01
        for t in 0...settings.iterations {
            try minimizer.preparePoints()
            try objective.evaluate(points: minimizer.points.whole, rows: minimizer.rows, into: minimizer.values.whole)
            try device.attackTrack(problems: n, rowsPerProblem: rows, iteration: t, margins: objective.margins.whole,
                                   distortions: objective.distortions.whole, firstIteration: firstIteration.whole,
                                   firstDistortion: firstDistortion.whole)
            if t < settings.iterations { try minimizer.step(rate: rate / Float(t + 1).squareRoot()) }
        }
        let iterations = try device.download(firstIteration.whole), distortions = try device.download(firstDistortion.whole)
        var successes = 0, l2 = 0.0, queries = 0.0
        for b in 0..<n where iterations[b] >= 0 {
            successes += 1
            l2 += Double(distortions[b]).squareRoot()
            queries += Double(iterations[b]) * Double(rows) + 1
        }
        return AttackReport(method: method, images: n, successes: successes,
                            meanL2: successes > 0 ? l2 / Double(successes) : .nan,
                            meanQueries: successes > 0 ? queries / Double(successes) : .nan,
                            queriesPerIteration: rows, firstSuccess: iterations.map { Int($0) },
                            final: try device.download(minimizer.x.whole), seconds: seconds(clock.now - started))
    }
}
