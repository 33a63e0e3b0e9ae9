import Compute

/// A random gradient estimator (zo.md §2): q directions of a distribution, smoothing μ, forward
/// or central differences,
///
///     ĝ = (1/Q)·Σ_j s·(f(x + μu_j) − f(x))/μ · u_j          (forward)
///     ĝ = (1/Q)·Σ_j s·(f(x + μu_j) − f(x − μu_j))/(2μ) · u_j  (central)
///
/// with the scaling s = 1 for Gaussian and Rademacher directions (E[uuᵀ] = I) and s = d for
/// sphere and random-coordinate directions (E[uuᵀ] = I/d); Q is the number of directions over
/// all workers. With cyclic coordinate directions and Q = d the estimate is the deterministic
/// coordinate-wise one, Σ_i (f(x + μe_i) − f(x − μe_i))/(2μ)·e_i.
public struct ZOEstimator: Sendable, Hashable, CustomStringConvertible {
    public var distribution: DirectionDistribution
    /// Directions per worker and step (q).
    public var directions: Int
    /// The smoothing step μ.
    public var smoothing: Float
    /// Central differences (2 evaluations a direction) rather than forward ones (1, plus f(x)).
    public var central: Bool

    public init(_ distribution: DirectionDistribution = .gaussian, directions: Int = 1, smoothing: Float = 1e-3,
                central: Bool = false) {
        precondition(directions >= 1 && smoothing > 0 && smoothing.isFinite, "an estimator needs directions and μ > 0")
        self.distribution = distribution
        self.directions = directions
        self.smoothing = smoothing
        self.central = central
    }

    /// s: 1 for Gaussian and Rademacher directions, d for unit-norm ones.
    public func scaling(dimension: Int) -> Float {
        switch distribution {
        case .gaussian, .rademacher: return 1
        case .sphere, .randomCoordinate, .cyclicCoordinate: return Float(dimension)
        }
    }

    /// The factor `zoCoefficients` multiplies a loss difference by: s/(μ or 2μ), the loss
    /// normaliser `scale` and 1/Q for `totalDirections` = Q.
    public func factor(dimension: Int, scale: Float, totalDirections: Int) -> Float {
        scaling(dimension: dimension) / (central ? 2 * smoothing : smoothing) * scale / Float(totalDirections)
    }

    /// Function evaluations per direction set of one problem: q + 1 (forward) or 2q (central).
    public var evaluations: Int { central ? 2 * directions : directions + 1 }
    /// Query rows of one problem in `ZOMinimizer`, which also evaluates the current point:
    /// q + 1 (forward) or 2q + 1 (central).
    public var queryRows: Int { central ? 2 * directions + 1 : directions + 1 }

    /// The layout of one problem's function values.
    public func layout(problems: Int = 1) -> DifferenceLayout {
        DifferenceLayout(directions: directions, problems: problems, central: central)
    }

    public var description: String {
        "\(distribution) q=\(directions) μ=\(smoothing) \(central ? "central" : "forward")"
    }
}

/// The zeroth-order update rules.
public enum ZOOptimizerKind: String, Sendable, CaseIterable {
    /// θ ← θ − η·ĝ (MeZO's ZO-SGD; in place, the estimate is never stored).
    case sgd = "zo-sgd"
    /// θ ← θ − η·sign(ĝ) per coordinate (ZO-signSGD, Liu, Chen, Chen and Hong, ICLR 2019).
    case sign = "zo-sign"
    /// ZO-AdaMM (Chen et al., NeurIPS 2019): AMSGrad moments of ĝ without bias correction, v̂
    /// from 1e-7, θ ← Π(θ − η·m/√v̂).
    case adamm = "zo-adamm"

    /// The device step that applies it to a stored estimate.
    var method: ZOProjectedStep.Method {
        switch self {
        case .sgd: return .sgd
        case .sign: return .sign
        case .adamm: return .adamm
        }
    }
}

/// A zeroth-order update rule and its hyper-parameters (the learning rate comes from the
/// schedule at each step).
public struct ZOOptimizer: Sendable, Hashable, CustomStringConvertible {
    public var kind: ZOOptimizerKind
    /// ZO-AdaMM's moment decays (the reference code's per-image attack uses 0.9 and 0.9).
    public var beta1: Float
    public var beta2: Float
    /// θ ← (1 − η·λ)·θ before the step (MeZO's weight decay).
    public var weightDecay: Float

    public init(_ kind: ZOOptimizerKind, beta1: Float = 0.9, beta2: Float = 0.9, weightDecay: Float = 0) {
        self.kind = kind
        self.beta1 = beta1
        self.beta2 = beta2
        self.weightDecay = weightDecay
    }

    /// Parameter-sized state vectors: m, v, v̂ for ZO-AdaMM.
    public var stateSlots: Int { kind == .adamm ? 3 : 0 }

    public var description: String {
        var parts: [String] = []
        if kind == .adamm { parts.append("β1 \(beta1), β2 \(beta2)") }
        if weightDecay > 0 { parts.append("wd \(weightDecay)") }
        return kind.rawValue + (parts.isEmpty ? "" : "(\(parts.joined(separator: ", ")))")
    }
}

/// Where a zeroth-order step keeps what it perturbs.
public enum ZOMemoryMode: String, Sendable, CaseIterable {
    /// Perturb and restore the parameters in place, directions regenerated every time: inference
    /// memory. Restoring by −μz does not give back the exact floats; the drift is rounding
    /// (measured in the tests and in Benchmarks/README.md).
    case inPlace = "in-place"
    /// Keep a copy of the parameters and perturb from it, so every restore is exact (+P floats).
    case exact
    /// Store the q·M directions of the step (+q·M·P floats) and perturb with stored vectors: one
    /// Philox pass a direction instead of three or four, for small models and q > 1.
    case materialized
}
