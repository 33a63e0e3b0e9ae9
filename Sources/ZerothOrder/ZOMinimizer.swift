import Compute

/// A black-box objective evaluated on the device, a batch of points at a time.
public protocol ZOObjective: AnyObject {
    /// Writes f(points[r]) into `values[r]` for r < `rows`; `points` holds `rows` points of the
    /// minimiser's dimension, row-major.
    func evaluate(points: BufferSlice, rows: Int, into values: BufferSlice) throws
}

/// Projected zeroth-order minimisation of `problems` independent vectors of `dimension`
/// elements at once (one adversarial image per problem, or one universal perturbation): each
/// iteration builds every problem's query points on the device, the objective evaluates them in
/// one batch, and the estimate and the projected step (ZO-SGD, ZO-signSGD, ZO-AdaMM, clipped to a
/// box) follow on the device without a read-back.
///
/// Query rows, `rowsPerProblem` per problem: row 0 is the current point x_b, then x_b + μu_j
/// (forward differences) or x_b + μu_j, x_b − μu_j (central). Row 0 doubles as f(x) for forward
/// differences and as the point a caller tracks (an attack's success).
public final class ZOMinimizer {
    public let device: any Device
    public let dimension: Int
    public let problems: Int
    public let estimator: ZOEstimator
    public let optimizer: ZOOptimizer
    /// The seed of every iteration's directions.
    public let seed: UInt64
    /// The current points, problems × dimension.
    public let x: DeviceBuffer
    /// Per-element bounds of x (problems × dimension each), when constrained.
    public let bounds: (lower: DeviceBuffer, upper: DeviceBuffer)?
    /// An ℓ2 ball each problem's x must stay in (centres problems × dimension), when constrained;
    /// ZO-AdaMM projects in its √v̂ metric, the other rules in the Euclidean one (`BallProjection`).
    /// The projection runs on the host (one read-back and write per iteration), then the box.
    public let ball: (centres: [Float], radius: Float)?
    /// This iteration's query points, (problems · rowsPerProblem) × dimension.
    public let points: DeviceBuffer
    /// Their function values, problems · rowsPerProblem.
    public let values: DeviceBuffer
    /// Iterations stepped so far.
    public private(set) var iteration = 0

    private let inverseNorms: DeviceBuffer
    private let derivatives: DeviceBuffer
    private let coefficients: DeviceBuffer
    private let estimate: DeviceBuffer
    private let update: ProjectedUpdate

    /// A minimiser starting at `start` (problems × dimension floats).
    /// - Parameters:
    ///   - bounds: per-element lower and upper bounds of x, problems × dimension each; the start
    ///     must lie inside.
    /// - Throws: `ComputeError` when a buffer cannot be allocated or written.
    public init(device: any Device, start: [Float], problems: Int, dimension: Int, estimator: ZOEstimator,
                optimizer: ZOOptimizer, bounds: (lower: [Float], upper: [Float])? = nil,
                ball: (centres: [Float], radius: Float)? = nil, seed: UInt64) throws {
        precondition(problems >= 1 && dimension >= 1 && start.count == problems * dimension,
                     "a start point of problems × dimension floats")
        precondition(problems <= 65_535, "at most 65,535 problems")
        self.device = device
        self.dimension = dimension
        self.problems = problems
        self.estimator = estimator
        self.optimizer = optimizer
        self.seed = seed
        let n = problems * dimension, total = problems * estimator.directions
        x = try device.upload(start)
        if let bounds {
            precondition(bounds.lower.count == n && bounds.upper.count == n, "bounds of problems × dimension floats")
            self.bounds = (try device.upload(bounds.lower), try device.upload(bounds.upper))
        } else {
            self.bounds = nil
        }
        precondition(ball.map { $0.centres.count == n && $0.radius >= 0 } ?? true, "ball centres of problems × dimension floats")
        self.ball = ball
        let rows = problems * estimator.queryRows
        points = try device.makeBuffer(count: bufferSize(rows, dimension))
        values = try device.makeBuffer(count: rows)
        inverseNorms = try device.makeBuffer(count: total)
        derivatives = try device.makeBuffer(count: total)
        coefficients = try device.makeBuffer(count: total)
        estimate = try device.makeBuffer(count: n)
        update = try ProjectedUpdate(device: device, optimizer: optimizer, count: n)
    }

    /// Query rows per problem: q + 1 (forward) or 2q + 1 (central, with the current point).
    public var rowsPerProblem: Int { estimator.queryRows }
    /// Query rows of an iteration.
    public var rows: Int { problems * rowsPerProblem }

    /// The directions of the current iteration (cyclic coordinates advance by q each iteration).
    public var directions: DirectionSet {
        let first = estimator.distribution == .cyclicCoordinate
            ? UInt32(truncatingIfNeeded: iteration &* estimator.directions % dimension) : 0
        return DirectionSet(estimator.distribution, stepSeed: DirectionSet.stepSeed(run: seed, step: iteration),
                            dimension: dimension, problems: problems, directions: estimator.directions,
                            firstDirection: first)
    }

    /// Writes this iteration's query points into `points`.
    public func preparePoints() throws {
        let set = directions, d = dimension, stride = rowsPerProblem * d
        var centre = set
        centre.directions = 1
        let norms = set.distribution.isNormalised ? inverseNorms.whole : nil
        if let norms { try device.zoInverseNorms(set, into: norms) }
        try device.zoPerturb(centre, source: x.whole, sourceProblemStride: d, destination: points.whole,
                             destinationProblemStride: stride, destinationDirectionStride: 0, inverseNorms: norms,
                             scale: 0)
        let mu = estimator.smoothing
        let after = points.slice(d, points.count - d)
        if estimator.central {
            try device.zoPerturb(set, source: x.whole, sourceProblemStride: d, destination: after,
                                 destinationProblemStride: stride, destinationDirectionStride: 2 * d,
                                 inverseNorms: norms, scale: mu)
            try device.zoPerturb(set, source: x.whole, sourceProblemStride: d, destination: points.slice(2 * d, points.count - 2 * d),
                                 destinationProblemStride: stride, destinationDirectionStride: 2 * d,
                                 inverseNorms: norms, scale: -mu)
        } else {
            try device.zoPerturb(set, source: x.whole, sourceProblemStride: d, destination: after,
                                 destinationProblemStride: stride, destinationDirectionStride: d,
                                 inverseNorms: norms, scale: mu)
        }
    }

    /// Estimates the gradients from `values` (filled by the objective for the prepared points)
    /// and takes one projected step at `rate`.
    public func step(rate: Float) throws {
        let set = directions, q = estimator.directions
        // Central values skip each problem's row 0, the current point.
        let layout = DifferenceLayout(directions: q, problems: problems, central: estimator.central,
                                      stride: rowsPerProblem)
        let first = estimator.central ? values.slice(1, values.count - 1) : values.whole
        try device.zoCoefficients(first, layout: layout,
                                  factor: estimator.factor(dimension: dimension, scale: 1, totalDirections: q),
                                  restore: 0, weight: 1, sign: false, gradients: derivatives.whole,
                                  coefficients: coefficients.whole)
        try device.zoCombine(set, coefficients: coefficients.whole,
                             inverseNorms: set.distribution.isNormalised ? inverseNorms.whole : nil, decay: 0,
                             accumulate: false, into: estimate.whole)
        // With a ball the box comes after the ball's projection, on the host.
        try update.apply(x: x.whole, g: estimate.whole, rate: rate,
                         bounds: ball == nil ? bounds.map { ($0.lower.whole, $0.upper.whole) } : nil)
        if let ball { try projectOntoBall(ball) }
        iteration += 1
    }

    /// Each problem's x onto its ball (ZO-AdaMM: in the √v̂ metric), then onto the box.
    private func projectOntoBall(_ ball: (centres: [Float], radius: Float)) throws {
        var points = try device.download(x.whole)
        let metric = try update.maxSecondMoment.map { try device.download($0).map { $0.squareRoot() } }
        let lower = try bounds.map { try device.download($0.lower.whole) }
        let upper = try bounds.map { try device.download($0.upper.whole) }
        for b in 0..<problems {
            let range = b * dimension..<(b + 1) * dimension
            var projected = BallProjection.project(Array(points[range]), centre: Array(ball.centres[range]),
                                                   radius: ball.radius, weights: metric.map { Array($0[range]) })
            if let lower, let upper {
                for i in 0..<dimension { projected[i] = min(max(projected[i], lower[b * dimension + i]), upper[b * dimension + i]) }
            }
            points.replaceSubrange(range, with: projected)
        }
        try device.write(points, to: x.whole)
    }

    /// One iteration: the points, their values from `objective`, the step at `rate`.
    public func iterate(_ objective: any ZOObjective, rate: Float) throws {
        try preparePoints()
        try objective.evaluate(points: points.whole, rows: rows, into: values.whole)
        try step(rate: rate)
    }
}

/// A host function as a device objective: the points are read back, `function` runs on each,
/// the values are written back (a sync per batch; for small problems and tests).
public final class HostFunctionObjective: ZOObjective {
    public let device: any Device
    public let dimension: Int
    public let function: ([Float]) -> Float

    public init(device: any Device, dimension: Int, function: @escaping ([Float]) -> Float) {
        self.device = device
        self.dimension = dimension
        self.function = function
    }

    public func evaluate(points: BufferSlice, rows: Int, into values: BufferSlice) throws {
        let all = try device.download(points.buffer.slice(points.offset, rows * dimension))
        let results = (0..<rows).map { r in function(Array(all[r * dimension..<(r + 1) * dimension])) }
        try device.write(results, to: values.buffer.slice(values.offset, rows))
    }
}
