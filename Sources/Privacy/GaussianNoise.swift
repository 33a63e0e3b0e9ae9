import Compute
import Philox
import Training

/// DP-SGD's noise: adds N(0, (σC)²) per parameter to the clipped sum, scaled like the sum
/// (`WorkerGradients.scale`, 1 / the expected batch size), so the result is
/// (Σ_i c_i g_i + σC·ξ) / (qN), Opacus's order. ξ comes from Philox stream (seed, step,
/// `Streams.noise`), the same numbers on every device, a pure function of the step (a resumed
/// run draws the same noise).
public final class GaussianNoise: GradientTransform {
    /// σ, the noise multiplier.
    public let noiseMultiplier: Float
    /// C, the clipping norm.
    public let maxGradNorm: Float
    /// The seed of the noise stream.
    public let seed: UInt64
    /// With adaptive clipping, the bound of each step replaces `maxGradNorm`.
    public let adaptive: AdaptiveClipping?
    /// Each value the sum of four draws, halved (Holohan and Braghin 2021, Opacus's secure
    /// mode): the same variance, without the gaps in the low bits that floating-point attacks
    /// on a single Box–Muller draw exploit (Jin et al. 2022). Four times the generation cost.
    public let hardened: Bool
    private let device: any Device

    /// Noise σ·C for a fixed bound C = `maxGradNorm`, or, with `adaptive`, σ·C_t at the step's
    /// adaptive bound C_t (`noiseMultiplier` is then the gradient's share σ', see
    /// `AdaptiveClipping.gradientNoiseMultiplier`).
    public init(device: any Device, noiseMultiplier: Float, maxGradNorm: Float, seed: UInt64,
                adaptive: AdaptiveClipping? = nil, hardened: Bool = false) {
        precondition(noiseMultiplier >= 0 && maxGradNorm > 0, "bad noise parameters")
        self.device = device
        self.noiseMultiplier = noiseMultiplier
        self.maxGradNorm = maxGradNorm
        self.seed = seed
        self.adaptive = adaptive
        self.hardened = hardened
    }

    /// Hardened noise is the sum of this many draws, halved.
    static let hardenedDraws = 4

    /// Where draw k of a hardened value starts in its stream: normal k·2⁴⁰, past any vector.
    static func drawStart(_ draw: Int) -> PhiloxPosition { PhiloxPosition(UInt64(draw) << 40) }

    public var description: String {
        "Gaussian noise σ = \(noiseMultiplier), C = " + (adaptive.map { "adaptive from \($0.bound)" } ?? "\(maxGradNorm)")
    }

    public func apply(_ gradients: WorkerGradients, step: Int) throws {
        guard noiseMultiplier > 0 else { return }
        let key = PhiloxKey(seed: seed, step: UInt32(truncatingIfNeeded: step), stream: PhiloxStream.Streams.noise)
        let scale = noiseMultiplier * (adaptive?.bound ?? maxGradNorm) * gradients.scale
        // Drawn straight into the gradient: the noise is never written to memory on its own.
        for draw in 0..<(hardened ? Self.hardenedDraws : 1) {
            try device.addRandom(gradients.result, .normal, key: key, start: Self.drawStart(draw),
                                 scale: hardened ? scale / 2 : scale)
        }
    }
}
