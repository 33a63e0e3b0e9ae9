import Philox

/// How zeroth-order directions are drawn (`Kernels/zo.cl`).
public enum DirectionDistribution: Int32, Sendable, CaseIterable, CustomStringConvertible {
    /// z ~ N(0, I): normal i of the direction's Philox stream.
    case gaussian = 0
    /// u = z/‖z‖, uniform on the unit sphere: the Gaussian values scaled by an inverse norm that
    /// a device reduction computes (`Device.zoInverseNorms`).
    case sphere = 1
    /// ±1 per coordinate, 32 coordinates per Philox word.
    case rademacher = 2
    /// A unit vector e_c with c uniform in 0..<n (sampled with replacement across directions).
    case randomCoordinate = 3
    /// The unit vector e_(j mod n) for direction j: all coordinates in turn (full coordinate-wise
    /// estimates take n directions).
    case cyclicCoordinate = 4

    public var description: String {
        switch self {
        case .gaussian: return "gaussian"
        case .sphere: return "sphere"
        case .rademacher: return "rademacher"
        case .randomCoordinate: return "coordinate"
        case .cyclicCoordinate: return "cyclic-coordinate"
        }
    }

    /// Whether the device must normalise the directions (a norm per direction).
    public var isNormalised: Bool { self == .sphere }
}

/// The directions of one zeroth-order step: `directions` directions (j) for each of `problems`
/// independent vectors (b) of `dimension` elements (n), all regenerated from Philox whenever a
/// kernel needs them, never stored.
///
/// Direction j of problem b is the Philox stream with key `stepSeed` and counter words
/// (block, block, `tensorBase + b`, `firstDirection + j`) (zo.md §13); Gaussian element i is
/// Box–Muller lane i % 4 of block i / 4 in cuRAND's order (sine first). With `stepSeed` 0 the
/// first four values of direction 0 of problem 0 are Philox4x32-10 of counter 0 and key 0 under
/// Box–Muller (cuRAND's `curand_normal4` of `curand_init(0, 0, 0)` to within its fast-math
/// error). Training a model perturbs one problem, its flat parameter buffer (tensor 0); an
/// attack perturbs one image per problem.
public struct DirectionSet: Sendable, Hashable {
    public var distribution: DirectionDistribution
    /// The Philox key of the step: a function of the run's seed and the step (`stepSeed(run:step:)`),
    /// the one number workers must share to regenerate each other's directions.
    public var stepSeed: UInt64
    /// Elements per direction.
    public var dimension: Int
    /// Independent vectors, each with its own directions.
    public var problems: Int
    /// Directions per problem.
    public var directions: Int
    /// The tensor id of problem 0.
    public var tensorBase: UInt32
    /// The direction id of direction 0 (workers take consecutive ranges).
    public var firstDirection: UInt32

    public init(_ distribution: DirectionDistribution, stepSeed: UInt64, dimension: Int, problems: Int = 1,
                directions: Int = 1, tensorBase: UInt32 = 0, firstDirection: UInt32 = 0) {
        precondition(dimension >= 0 && problems >= 0 && directions >= 0, "negative direction counts")
        precondition(problems <= 65_535 && directions <= 65_535, "at most 65,535 problems and directions a launch")
        self.distribution = distribution
        self.stepSeed = stepSeed
        self.dimension = dimension
        self.problems = problems
        self.directions = directions
        self.tensorBase = tensorBase
        self.firstDirection = firstDirection
    }

    /// The step seed of global step `step` of a run seeded `run`: the first two words of Philox
    /// stream (run, step, `Streams.perturbation`).
    public static func stepSeed(run: UInt64, step: Int) -> UInt64 {
        let words = PhiloxKey(seed: run, step: UInt32(truncatingIfNeeded: step),
                              stream: PhiloxStream.Streams.perturbation).block(0)
        return UInt64(words.0) | UInt64(words.1) << 32
    }

    /// The Philox stream of direction `direction` of problem `problem`.
    public func key(problem: Int, direction: Int) -> PhiloxKey {
        PhiloxKey(seed: stepSeed, step: tensorBase &+ UInt32(problem), stream: firstDirection &+ UInt32(direction))
    }

    /// The coordinate of a coordinate direction.
    func coordinate(problem: Int, direction: Int) -> Int {
        precondition(dimension > 0, "a coordinate direction needs at least one element")
        if distribution == .randomCoordinate {
            return Int(key(problem: problem, direction: direction).block(0).0 % UInt32(dimension))
        }
        return Int((firstDirection &+ UInt32(direction)) % UInt32(dimension))
    }

    /// Element `index` of direction `direction` of problem `problem`, before any normalisation:
    /// the host reference every device is tested against.
    public func value(problem: Int, direction: Int, index: Int) -> Float {
        let key = key(problem: problem, direction: direction)
        switch distribution {
        case .gaussian, .sphere:
            // cuRAND's order within each Box–Muller pair (sine first): normal i ^ 1 of the
            // stream in the prelude's cosine-first order.
            return key.normal(UInt64(index ^ 1))
        case .rademacher:
            let word = PhiloxMaps.word(key.block(UInt64(index / 128)), (index / 32) % 4)
            return (word >> UInt32(index % 32)) & 1 == 1 ? -1 : 1
        case .randomCoordinate, .cyclicCoordinate:
            return coordinate(problem: problem, direction: direction) == index ? 1 : 0
        }
    }

    /// Values `128·tile ..< 128·tile + count` of a direction (count ≤ 128) into `out[0 ..< count]`
    /// (the Gaussian ones a whole block at a time, so up to the next multiple of 4, on the CPU's
    /// vector lanes: bit for bit `value`).
    func fillTile(problem: Int, direction: Int, tile: Int, count: Int, into out: UnsafeMutableBufferPointer<Float>) {
        precondition(out.count >= 128 && count <= 128, "a direction tile holds 128 values")
        let key = key(problem: problem, direction: direction)
        switch distribution {
        case .gaussian, .sphere:
            // cuRAND's order within each Box–Muller pair (sine first), as `value`.
            guard let base = out.baseAddress else { preconditionFailure("a direction tile holds 128 values") }
            PhiloxLanes.fill(base, first: UInt64(tile * 32), blocks: (count + 3) / 4, key: key, .normal,
                             scale: 1, accumulate: false, sineFirst: true)
        case .rademacher:
            let block = key.block(UInt64(tile))
            for e in 0..<count {
                let word = PhiloxMaps.word(block, e / 32)
                out[e] = (word >> UInt32(e % 32)) & 1 == 1 ? -1 : 1
            }
        case .randomCoordinate, .cyclicCoordinate:
            for e in 0..<count { out[e] = 0 }
            let c = coordinate(problem: problem, direction: direction) - tile * 128
            if c >= 0 && c < count { out[c] = 1 }
        }
    }

    /// Tiles of 128 elements per direction.
    var tiles: Int { (dimension + 127) / 128 }

    /// Preconditions on the per-direction scalars a kernel reads (inverse norms, coefficients).
    func checkScalars(_ slice: BufferSlice?, _ what: String) {
        guard let slice else {
            precondition(!distribution.isNormalised, "sphere directions need their inverse norms")
            return
        }
        precondition(slice.count >= problems * directions, "\(what): \(slice.count) floats for \(problems * directions) directions")
    }
}

/// The roles of the function values a zeroth-order estimate reads, per problem: forward
/// differences `[f(x), f(x + μu_1), …, f(x + μu_q)]` (q + 1 values), central differences
/// `[f(x + μu_1), f(x − μu_1), …]` (2q values), the problems `stride` values apart.
public struct DifferenceLayout: Sendable, Hashable {
    public var directions: Int
    public var problems: Int
    public var central: Bool
    /// Values from one problem's first to the next's (at least `valuesPerProblem`).
    public var stride: Int

    public init(directions: Int, problems: Int = 1, central: Bool, stride: Int? = nil) {
        self.directions = directions
        self.problems = problems
        self.central = central
        self.stride = stride ?? (central ? 2 * directions : directions + 1)
        precondition(self.stride >= valuesPerProblem, "value stride below the values of a problem")
    }

    /// q + 1 (forward) or 2q (central).
    public var valuesPerProblem: Int { central ? 2 * directions : directions + 1 }
}

/// One projected step of a zeroth-order optimizer (`Device.zoProjectedStep`).
public struct ZOProjectedStep: Sendable, Hashable {
    public enum Method: Int32, Sendable {
        /// x − rate·ĝ.
        case sgd = 0
        /// x − rate·sign(ĝ) (ZO-signSGD, Liu et al., ICLR 2019).
        case sign = 1
        /// ZO-AdaMM (Chen et al., NeurIPS 2019): AMSGrad moments without bias correction and
        /// without ε (v̂ starts at 1e-7), x − rate·m/√v̂.
        case adamm = 2
    }

    public var method: Method
    public var rate: Float
    public var beta1: Float
    public var beta2: Float

    public init(_ method: Method, rate: Float, beta1: Float = 0.9, beta2: Float = 0.9) {
        self.method = method
        self.rate = rate
        self.beta1 = beta1
        self.beta2 = beta2
    }
}

extension DirectionSet {
    /// The operand checks of `zoPerturb`, shared by every device.
    func checkPerturb(source: BufferSlice, sourceProblemStride: Int, destination: BufferSlice,
                      destinationProblemStride: Int, destinationDirectionStride: Int, inverseNorms: BufferSlice?) {
        checkScalars(inverseNorms, "inverse norms")
        guard problems > 0 && directions > 0 && dimension > 0 else { return }
        precondition(source.count >= (problems - 1) * sourceProblemStride + dimension,
                     "perturbation source too small for \(problems) problems of \(dimension)")
        precondition(destination.count >= (problems - 1) * destinationProblemStride
                        + (directions - 1) * destinationDirectionStride + dimension,
                     "perturbation destination too small for \(problems)×\(directions) points of \(dimension)")
    }

    /// The operand checks of `zoCombine`.
    func checkCombine(coefficients: BufferSlice, inverseNorms: BufferSlice?, out: BufferSlice) {
        checkScalars(inverseNorms, "inverse norms")
        checkScalars(coefficients, "coefficients")
        precondition(out.count >= problems * dimension, "combination output too small for \(problems)×\(dimension)")
    }
}

extension DifferenceLayout {
    /// The operand checks of `zoCoefficients`.
    func checkOperands(values: BufferSlice, gradients: BufferSlice, coefficients: BufferSlice) {
        guard problems > 0 && directions > 0 else { return }
        precondition(values.count >= (problems - 1) * stride + valuesPerProblem, "too few function values")
        precondition(gradients.count >= problems * directions && coefficients.count >= problems * directions,
                     "too few directional-derivative slots")
    }
}

/// The operand checks of `zoProjectedStep`.
func checkProjectedStep(_ step: ZOProjectedStep, x: BufferSlice, g: BufferSlice, m: BufferSlice, v: BufferSlice,
                        vhat: BufferSlice, bounds: (lower: BufferSlice, upper: BufferSlice)?) {
    precondition(g.count == x.count, "estimate and point differ in size")
    if step.method == .adamm {
        precondition(m.count == x.count && v.count == x.count && vhat.count == x.count, "ZO-AdaMM state differs in size")
    }
    if let bounds { precondition(bounds.lower.count == x.count && bounds.upper.count == x.count, "bounds differ in size") }
}

/// The operand checks of `attackObjective`.
func checkAttackObjective(logits: BufferSlice, labels: BufferSlice, points: BufferSlice, originals: BufferSlice,
                          rows: Int, dimension: Int, classes: Int, rowsPerProblem: Int, values: BufferSlice,
                          margins: BufferSlice, distortions: BufferSlice) {
    precondition(rowsPerProblem >= 1 && classes >= 2, "an attack needs rows and at least two classes")
    let problems = (rows + rowsPerProblem - 1) / rowsPerProblem
    precondition(logits.count >= rows * classes && points.count >= rows * dimension
                    && originals.count >= problems * dimension && labels.count >= problems,
                 "attack operands too small for \(rows) rows")
    precondition(values.count >= rows && margins.count >= rows && distortions.count >= rows, "too few attack outputs")
    labels.expect(.int32, "attack labels")
    precondition((labels.buffer.indexBound ?? Int.max) <= classes, "attack labels may exceed the classes")
}

/// The operand checks of `attackTrack`.
func checkAttackTrack(problems: Int, rowsPerProblem: Int, margins: BufferSlice, distortions: BufferSlice,
                      firstIteration: BufferSlice, firstDistortion: BufferSlice) {
    precondition(margins.count >= problems * rowsPerProblem && distortions.count >= problems * rowsPerProblem
                    && firstIteration.count >= problems && firstDistortion.count >= problems,
                 "attack tracking operands too small")
}

/// The operand checks of `attackBroadcast`.
func checkBroadcast(images: BufferSlice, count: Int, deltas: BufferSlice, candidates: Int, dimension: Int,
                    lower: BufferSlice, upper: BufferSlice, out: BufferSlice) {
    precondition(count <= 65_535 && candidates <= 65_535, "at most 65,535 images and candidates a launch")
    precondition(images.count >= count * dimension && deltas.count >= candidates * dimension
                    && lower.count >= dimension && upper.count >= dimension
                    && out.count >= count * candidates * dimension, "universal attack operands too small")
}
