import ArgumentParser
import Compute
import ZerothOrder

extension ZOMemoryMode: ExpressibleByArgument {}

/// `--estimator` of `train zo` and `attack`.
public enum EstimatorName: String, CaseIterable, Sendable, ExpressibleByArgument {
    case gaussian, sphere, rademacher
    /// Random coordinates (sampled with replacement), scaled by d.
    case coordinate
    /// Every coordinate in turn, q per step (a full coordinate-wise estimate every d/q steps).
    case cyclic

    public var distribution: DirectionDistribution {
        switch self {
        case .gaussian: return .gaussian
        case .sphere: return .sphere
        case .rademacher: return .rademacher
        case .coordinate: return .randomCoordinate
        case .cyclic: return .cyclicCoordinate
        }
    }
}

/// `--difference forward|central`.
public enum DifferenceName: String, CaseIterable, Sendable, ExpressibleByArgument {
    case forward, central
}

/// The estimator options of `train zo` (the update rule is `--optimizer zo-sgd|zo-sign|zo-adamm`).
public struct ZOOptions: ParsableArguments {
    @Option(help: "Directions: gaussian (N(0, I), scaled 1/μ), sphere (uniform on the unit sphere, scaled d/μ), rademacher (±1, 1/μ), coordinate (random unit vectors, d/μ) or cyclic (every coordinate in turn).")
    public var estimator: EstimatorName = .gaussian

    @Option(help: "Directions per worker and step (q): 2q forwards a step with central differences, q + 1 with forward ones.")
    public var directions: Int = 1

    @Option(help: "Smoothing step μ of the finite differences.")
    public var mu: Float = 1e-3

    @Option(help: "Finite differences: forward (f(θ + μu) − f(θ)) or central (f(θ + μu) − f(θ − μu), MeZO's).")
    public var difference: DifferenceName = .central

    @Option(help: "Memory: in-place (perturb and restore the parameters, directions regenerated: inference memory), exact (a copy of the parameters, exact restores), materialized (the step's directions stored: fewer random-number passes for q > 1 on small models).")
    public var memory: ZOMemoryMode = .inPlace

    @Option(help: "ZO-AdaMM's first-moment decay.")
    public var beta1: Float = 0.9

    @Option(help: "ZO-AdaMM's second-moment decay (the reference attack code uses 0.9; small values such as 0.3–0.9 suit ZO estimates).")
    public var beta2: Float = 0.9

    public init() {}

    public func validate() throws {
        guard directions >= 1 && directions <= 4096 else { throw ValidationError("--directions must be in 1...4096") }
        guard mu > 0 && mu.isFinite else { throw ValidationError("--mu must be a positive number") }
        guard beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1 else {
            throw ValidationError("--beta1 and --beta2 must be in [0, 1)")
        }
    }

    /// The estimator these options describe.
    public var zoEstimator: ZOEstimator {
        ZOEstimator(estimator.distribution, directions: directions, smoothing: mu, central: difference == .central)
    }

    /// The update rule `name` (one of `AlgorithmDefaults.zerothOrderRules`) with these options' betas.
    public func zoOptimizer(_ name: String, weightDecay: Float) -> ZOOptimizer {
        ZOOptimizer(ZOOptimizerKind(rawValue: name) ?? .sgd, beta1: beta1, beta2: beta2, weightDecay: weightDecay)
    }
}
