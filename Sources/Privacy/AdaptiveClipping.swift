import Compute
import Philox
import Training

/// Quantile-based adaptive clipping (Andrew, Thakkar, McMahan and Ramaswamy, NeurIPS 2021;
/// Opacus's `AdaClipDPOptimizer`, TF Privacy's `QuantileAdaptiveClipSumQuery`): the flat bound C
/// follows the γ-quantile of the per-sample gradient norms. After each step,
///
///   b̃ = (Σ_i (b_i − ½) + N(0, σ_b²)) / (qN) + ½,   b_i = 1 when ‖g_i‖ + 1e-6 ≤ C (unclipped),
///   C ← clamp(C · exp(−η (b̃ − γ)), C_min, C_max).
///
/// Centring b_i at ½ makes the count's add/remove sensitivity ½, so the count (noise σ_b at
/// sensitivity ½, multiplier 2σ_b) and the gradient sum (noise σ'·C at sensitivity C) compose
/// to exactly one Gaussian mechanism of multiplier σ when σ' = (σ⁻² − (2σ_b)⁻²)^(−½): the
/// accountant keeps recording σ, and the gradient is noised with the larger σ'. The expected
/// batch size qN is public, so b̃ leaks nothing more. ξ for the count is Philox (seed, step,
/// `Streams.adaptiveClipping`), drawn on the host.
///
/// The same object is the clipped source's bound (`bound`, read when it clips), the noise's
/// (C and σ' of the step) and, as the last transform of the step, the update of C; its state
/// in checkpoints is C.
public final class AdaptiveClipping: GradientTransform {
    /// γ, the fraction of per-sample norms meant to stay unclipped.
    public let targetQuantile: Double
    /// η of the geometric update.
    public let learningRate: Double
    /// σ_b, the standard deviation of the noise on the unclipped count.
    public let countNoise: Double
    /// The range C stays in.
    public let range: ClosedRange<Float>
    /// The seed of the count's noise.
    public let seed: UInt64
    /// The count's noise as the halved sum of four draws (`--secure-rng`, as `GaussianNoise`).
    public let hardened: Bool
    /// C in force for the current step.
    public private(set) var bound: Float
    private var unclipped = 0, samples = 0

    /// - Precondition: 0 < γ < 1, η ≥ 0, σ_b > 0, the initial bound inside `range`.
    public init(initialBound: Float, targetQuantile: Double, learningRate: Double, countNoise: Double,
                range: ClosedRange<Float>, seed: UInt64, hardened: Bool = false) {
        precondition(targetQuantile > 0 && targetQuantile < 1, "the target quantile must be in (0, 1)")
        precondition(learningRate >= 0 && countNoise > 0 && range.lowerBound > 0, "bad adaptive clipping parameters")
        precondition(range.contains(initialBound), "the initial bound must lie in the range")
        self.targetQuantile = targetQuantile
        self.learningRate = learningRate
        self.countNoise = countNoise
        self.range = range
        self.seed = seed
        self.hardened = hardened
        bound = initialBound
    }

    /// σ' of the gradient noise for an overall noise multiplier σ, or nil when σ ≥ 2σ_b (the
    /// count alone would spend the whole budget). σ = 0 (no privacy) stays 0.
    public func gradientNoiseMultiplier(_ sigma: Double) -> Double? {
        guard sigma > 0 else { return 0 }
        let rest = 1 / (sigma * sigma) - 1 / (4 * countNoise * countNoise)
        return rest > 0 ? 1 / rest.squareRoot() : nil
    }

    /// Counts the samples of a (micro-)batch whose squared norms are `squaredNorms` against the
    /// bound in force; the clipped source calls it with every chunk of the step.
    public func count(squaredNorms: [Float]) {
        for norm in squaredNorms where Double(norm).squareRoot() + 1e-6 <= Double(bound) { unclipped += 1 }
        samples += squaredNorms.count
    }

    public var description: String {
        "adaptive clipping to the \(targetQuantile) quantile (η \(learningRate), σ_b \(countNoise))"
    }

    /// The update of C from this step's noisy count (the transform's place is after the noise).
    public func apply(_ gradients: WorkerGradients, step: Int) throws {
        let expected = 1 / Double(gradients.scale)
        let key = PhiloxKey(seed: seed, step: UInt32(truncatingIfNeeded: step), stream: PhiloxStream.Streams.adaptiveClipping)
        let draws = hardened
            ? (0..<GaussianNoise.hardenedDraws).reduce(0.0) { $0 + Double(key.normal(GaussianNoise.drawStart($1).index)) } / 2
            : Double(key.normal(0))
        let centred = Double(unclipped) - Double(samples) / 2 + countNoise * draws
        let fraction = centred / expected + 0.5
        let next = Double(bound) * exp(-learningRate * (fraction - targetQuantile))
        bound = min(max(Float(next), range.lowerBound), range.upperBound)
        unclipped = 0
        samples = 0
    }

    public func snapshot() throws -> [Float] { [bound] }

    public func restore(_ state: [Float]) throws {
        guard state.count == 1, state[0] > 0, state[0].isFinite else {
            throw TrainingError.checkpointMismatch("checkpoint does not match this run: its adaptive clipping bound is \(state)")
        }
        bound = min(max(state[0], range.lowerBound), range.upperBound)
    }
}

#if canImport(Glibc)
import Glibc
#endif
