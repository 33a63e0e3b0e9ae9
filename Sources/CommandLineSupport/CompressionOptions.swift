import ArgumentParser
import Compression
import Compute
import Distributed
import Training

extension TieRule: ExpressibleByArgument {
    public init?(argument: String) {
        guard let rule = TieRule.allCases.first(where: { $0.description == argument }) else { return nil }
        self = rule
    }
}

/// The options of `train signsgd`.
public struct CompressionOptions: ParsableArguments {
    /// How the workers' gradients are combined.
    public enum Vote: String, ExpressibleByArgument, CaseIterable, Sendable {
        /// The majority of 1-bit signs (signSGD-MV, noisy signSGD).
        case majority
        /// The coordinate-wise median (medianSGD, noisy medianSGD), full precision.
        case median
        /// The mean, full precision: synchronous SGD, the baseline.
        case mean
    }

    @Option(help: "How workers' gradients combine: majority (vote of 1-bit signs), median (coordinate-wise, full precision) or mean (fp32 average, the baseline).")
    public var vote: Vote = .majority

    /// b as typed: a number, `adaptive[:F]` or `none`.
    @Option(help: "Noise added to each worker's gradient before the sign or the median (Chen et al. 2020): a standard deviation b, adaptive[:F] (b = F·max over workers of max|g| per tensor, F = 0.1 by default, the paper's experiments), or none.")
    public var noise: String = "none"

    @Option(help: "A tied majority (even --workers): zero (no update, the default), random (shared ±1, unbiased) or plus (+1, the reference codes' convention; biased).")
    public var tie: TieRule = .zero

    /// Error feedback before the combination.
    @Flag(help: "Error feedback (EF-signSGD): each worker sends (‖p‖₁/d)·sign(p) of p = g + e and keeps the rest e for later steps; its memories are checkpointed.")
    public var errorFeedback = false

    /// β of Signum's momentum before the sign; nil for none.
    @Option(help: "Signum: each worker's momentum β·m + (1 − β)·g is compressed instead of its gradient (checkpointed), e.g. 0.9.")
    public var signum: Float?

    public init() {}

    /// The parsed `--noise`; nil when it does not parse.
    public var signNoise: SignNoise? {
        if noise == "none" { return .fixed(0) }
        if noise == "adaptive" { return .adaptive(factor: 0.1) }
        if noise.hasPrefix("adaptive:") {
            return Float(noise.dropFirst("adaptive:".count)).flatMap { $0 > 0 && $0.isFinite ? .adaptive(factor: $0) : nil }
        }
        return Float(noise).flatMap { $0 >= 0 && $0.isFinite ? .fixed($0) : nil }
    }

    public func validate() throws {
        guard let signNoise else {
            throw ValidationError("--noise must be a non-negative number, adaptive[:F] with F > 0, or none, not '\(noise)'")
        }
        if vote == .mean && !signNoise.isNone { throw ValidationError("--noise applies to --vote majority or median") }
        if let signum, !(signum >= 0 && signum < 1) { throw ValidationError("--signum must be in [0, 1)") }
    }

    /// The combining transform for these options among the workers of `group`, for a model
    /// whose parameter tensors have `tensorSizes` values (flat order; the adaptive noise works
    /// per tensor).
    public func transforms(device: any Device, seed: UInt64, tensorSizes: [Int], group: WorkerGroup? = nil)
        -> [any GradientTransform] {
        let noise = signNoise ?? .fixed(0)
        let feedback: [any GradientTransform] = (signum.map { [WorkerMomentum(device: device, beta: $0, group: group)] } ?? [])
            + (errorFeedback ? [ErrorFeedback(device: device, group: group)] : [])
        switch vote {
        case .majority:
            return feedback + [SignVote(device: device, noise: noise, tie: tie, seed: seed, tensorSizes: tensorSizes,
                                        group: group)]
        case .median:
            return feedback + [CoordinateMedian(device: device, noise: noise, seed: seed, tensorSizes: tensorSizes,
                                                group: group)]
        case .mean:
            // EF-signSGD's Δ are scaled signs: across ranks they travel as sign words and a scale.
            return feedback + [errorFeedback ? ScaledSignMean(device: device, group: group)
                                             : WorkerMean(device: device, group: group)]
        }
    }
}
