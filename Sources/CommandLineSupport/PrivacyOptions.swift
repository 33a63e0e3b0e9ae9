import Artifacts
import SystemIO
import ArgumentParser
import Compute
import Privacy
import Training

extension GradSampleMode: ExpressibleByArgument {}
extension AccountantKind: ExpressibleByArgument {}

/// The options of `train dp-sgd`, named as Opacus names them.
public struct PrivacyOptions: ParsableArguments {
    /// σ; nil to calibrate it to `--target-epsilon`.
    @Option(help: "Noise multiplier σ: noise standard deviation / max grad norm. Give this or --target-epsilon.")
    public var noiseMultiplier: Double?

    /// ε to calibrate σ to over the whole run.
    @Option(help: "Calibrate σ so that the whole run spends this ε at --delta (Opacus's make_private_with_epsilon).")
    public var targetEpsilon: Double?

    /// δ of the guarantee.
    @Option(help: "δ of the (ε, δ) guarantee.")
    public var delta: Double = 1e-5

    /// C, or one bound per parametric layer.
    @Option(help: "Per-sample gradient norm bound C; with --clipping per-layer one value for every layer or a comma-separated bound per parametric layer, input side first.")
    public var maxGradNorm: String = "1.0"

    /// How norms are grouped.
    @Option(help: "flat (one norm over all parameters) or per-layer (each layer's gradient clipped to its own bound; the noise uses the norm of the bounds).")
    public var clipping: ClippingMode = .flat

    /// `--clipping`.
    public enum ClippingMode: String, ExpressibleByArgument, CaseIterable {
        case flat
        case perLayer = "per-layer"
    }

    /// The parsed bounds (validated).
    public var bounds: [Float] { maxGradNorm.split(separator: ",").compactMap { Float($0) } }

    /// The clipping for a model of `layers` parametric layers.
    /// - Throws: `ValidationError` when the number of bounds does not fit.
    public func clippingRule(layers: Int) throws -> Clipping {
        let bounds = self.bounds
        switch clipping {
        case .flat: return .flat(bounds[0])
        case .perLayer:
            if bounds.count == 1 { return .perLayer([Float](repeating: bounds[0], count: layers)) }
            guard bounds.count == layers else {
                throw CommandFailure("--max-grad-norm has \(bounds.count) bounds for \(layers) parametric layers", status: 64)
            }
            return .perLayer(bounds)
        }
    }

    /// How per-sample norms are formed.
    @Option(help: "Per-sample norms: auto (per layer the cheaper of the ghost norm and materialised per-sample gradients), ghost (Linear ‖a‖·‖b‖, convolutions through Gram matrices), or materialized.")
    public var gradSample: GradSampleMode = .auto

    /// K of perturbed clipping.
    @Option(help: "Perturbed clipping (Chen, Wu and Hong 2020): add K·N(0, I) to every per-sample gradient before clipping, which removes clipping bias at no privacy cost. Needs the per-sample gradients themselves: --grad-sample auto then materialises every layer (maxBatch × parameters floats); ghost is refused.")
    public var perturb: Double = 0

    /// How per-sample norms are formed once `--perturb` is taken into account.
    /// - Throws: `CommandFailure` (64) for `--perturb` with ghost norms.
    public func effectiveGradSample() throws -> GradSampleMode {
        guard perturb > 0 else { return gradSample }
        guard gradSample != .ghost else {
            throw CommandFailure("--perturb needs per-sample gradients: the perturbation goes in before the norm, which "
                                 + "ghost norms never form; use --grad-sample materialized or auto", status: 64)
        }
        return .materialized
    }

    /// γ of adaptive clipping; nil for a fixed bound.
    @Option(help: "Adaptive clipping (Andrew et al. 2021, Opacus's AdaClip): the flat bound, starting at --max-grad-norm, follows this quantile of the per-sample norms, learnt from a noisy count of unclipped samples; the gradient noise grows to σ' = (σ⁻² − (2σ_b)⁻²)^(−1/2) so that ε is that of σ.")
    public var adaptiveClip: Double?

    /// η of the bound's geometric update.
    @Option(help: "Learning rate η of the adaptive bound: C ← C·exp(−η(unclipped fraction − quantile)).")
    public var adaptiveClipLr: Double = 0.2

    /// σ_b; nil for the expected batch size / 20.
    @Option(help: "Standard deviation σ_b of the noise on the unclipped count (default: expected batch size / 20, Andrew et al.'s choice); needs σ < 2σ_b.")
    public var adaptiveClipStd: Double?

    /// The range the adaptive bound stays in.
    @Option(help: "MIN:MAX, the range the adaptive bound stays in.")
    public var adaptiveClipRange: String = "0.001:1000"

    /// `--adaptive-clip-range` parsed; nil when it does not parse.
    public var adaptiveRange: ClosedRange<Float>? {
        let parts = adaptiveClipRange.split(separator: ":").compactMap { Float($0) }
        guard parts.count == 2, parts[0] > 0, parts[0] <= parts[1], parts[1].isFinite else { return nil }
        return parts[0]...parts[1]
    }

    /// Which accountant reports ε, calibrates σ and holds --max-epsilon.
    @Option(help: "rdp (Rényi DP with Opacus's orders; instant) or prv (privacy loss random variable, Gopi et al.; tighter, reported as its upper bound at ε error 0.01; seconds per evaluation, so --target-epsilon and --max-epsilon take a minute).")
    public var accountant: AccountantKind = .rdp

    /// Noise from the OS entropy source.
    @Flag(help: "Key the DP noise, the Poisson sampling, the perturbations and the adaptive count from 64 bits of OS entropy each (getrandom), never stored, and harden each noise value as the halved sum of four draws (Opacus's secure_mode). --seed is refused: secure noise cannot be reproduced. Philox keyed by a secret is not a vetted cryptographic generator.")
    public var secureRng = false

    /// The budget the run stops at.
    @Option(help: "Stop before a step would spend more than this ε at --delta (exit 0, the reason in the final record); holds across --resume.")
    public var maxEpsilon: Double?

    public init() {}

    public func validate() throws {
        guard perturb >= 0 && perturb.isFinite else { throw ValidationError("--perturb must be a non-negative number") }
        if let adaptiveClip {
            guard adaptiveClip > 0 && adaptiveClip < 1 else { throw ValidationError("--adaptive-clip must be a quantile in (0, 1)") }
            guard clipping == .flat else { throw ValidationError("--adaptive-clip adapts one flat bound; it needs --clipping flat") }
            guard adaptiveClipLr >= 0 && adaptiveClipLr.isFinite else {
                throw ValidationError("--adaptive-clip-lr must be a non-negative number")
            }
            if let adaptiveClipStd, !(adaptiveClipStd > 0 && adaptiveClipStd.isFinite) {
                throw ValidationError("--adaptive-clip-std must be a positive number")
            }
            guard let range = adaptiveRange, range.contains(bounds.first ?? 0) else {
                throw ValidationError("--adaptive-clip-range must be MIN:MAX with 0 < MIN ≤ MAX around --max-grad-norm")
            }
        }
        if let maxEpsilon, !(maxEpsilon > 0 && maxEpsilon.isFinite) {
            throw ValidationError("--max-epsilon must be a positive number")
        }
        guard (noiseMultiplier == nil) != (targetEpsilon == nil) else {
            throw ValidationError("give exactly one of --noise-multiplier and --target-epsilon")
        }
        if let noiseMultiplier, !(noiseMultiplier >= 0 && noiseMultiplier.isFinite) {
            throw ValidationError("--noise-multiplier must be a non-negative number")
        }
        if let targetEpsilon, !(targetEpsilon > 0 && targetEpsilon.isFinite) {
            throw ValidationError("--target-epsilon must be a positive number")
        }
        guard delta > 0 && delta < 1 else { throw ValidationError("--delta must be in (0, 1)") }
        let parts = maxGradNorm.split(separator: ",")
        guard !parts.isEmpty, parts.count == bounds.count, bounds.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw ValidationError("--max-grad-norm must be a positive number (or, per layer, a comma-separated list)")
        }
        if clipping == .flat && bounds.count != 1 {
            throw ValidationError("several --max-grad-norm bounds need --clipping per-layer")
        }
    }
}

/// DP-SGD for the shared run loop: per-sample clipping as the gradient source, Gaussian noise as
/// the transform, Poisson sampling by default, and the RDP accountant's ε after every epoch. The
/// optimizer (SGD, momentum, Adam, …) runs on the noisy gradient: post-processing, so DP-Adam and
/// DP-RMSProp (Zhou, Chen, Hong, Wu and Banerjee) keep the same guarantee.
///
/// The accountant's history travels in checkpoints (`privacy_history`), so a resumed run
/// continues the same budget: `--target-epsilon` calibrates σ for the remaining steps on top of
/// what the checkpoint spent, and `--max-epsilon` counts the checkpoint's steps.
public final class DPSGDAlgorithm: RunObserver {
    /// The parsed options.
    public let options: PrivacyOptions
    /// σ in force, known once the run has sized its sampler.
    public private(set) var noiseMultiplier: Double = 0
    /// q the accountant uses.
    public private(set) var sampleRate: Double = 0
    /// C the noise is calibrated to (‖(C_1..C_k)‖₂ per layer).
    public private(set) var noiseNorm: Double = 0
    /// σ' of the gradient noise: σ, or with adaptive clipping the gradient's share of it.
    public private(set) var gradientNoiseMultiplier: Double = 0
    /// The adaptive bound, when `--adaptive-clip` is given.
    public private(set) var adaptive: AdaptiveClipping?
    /// The seeds of the noise, the perturbations and the adaptive count, and of the sampling:
    /// the run's seed, or with `--secure-rng` secret ones from the OS.
    private var noiseSeeds: (noise: UInt64, perturbation: UInt64, count: UInt64)?
    private var secretSamplingSeed: UInt64?
    /// What a resumed checkpoint had spent, and in how many steps.
    private var spent = RDPAccountant()
    private var spentSteps = 0

    /// Checkpoint metadata keys.
    static let historyKey = "privacy_history", accountantKey = "privacy_accountant"

    /// - Throws: `CommandFailure` (64) for `--secure-rng` with `--seed`, (71) when the OS
    ///   entropy source fails.
    public init(options: PrivacyOptions, training: TrainingOptions) throws {
        self.options = options
        guard options.secureRng else { return }
        guard training.seedOption == nil else {
            throw CommandFailure("--secure-rng draws the noise from the operating system; --seed would make it "
                                 + "reproducible, so the two do not go together", status: 64)
        }
        do {
            noiseSeeds = (try SecureRandom.uint64(), try SecureRandom.uint64(), try SecureRandom.uint64())
            secretSamplingSeed = try SecureRandom.uint64()
        } catch {
            throw CommandFailure("--secure-rng: \(error)", status: ExitStatus.osError)
        }
    }

    public var samplingSeed: UInt64? { secretSamplingSeed }

    /// The stages for `SupervisedRun`: calibrates σ when asked, then builds the clipped source and
    /// the noise.
    /// - Throws: `CommandFailure` (64) for simulated workers (client-level DP is DP-FedAvg's) or
    ///   a budget no σ reaches.
    public func stages(training: TrainingOptions) -> SupervisedRun.Stages {
        { [self] model, train, samplers, _ in
            guard samplers.count == 1 else {
                throw CommandFailure("dp-sgd trains one model on one data set; --workers is for sgd", status: 64)
            }
            let sampler = samplers[0]
            sampleRate = (sampler as? PoissonSampler)?.rate
                ?? min(Double(training.batchSize.rows(of: train.count)) / Double(max(train.count, 1)), 1)
            if let target = options.targetEpsilon {
                let remaining = training.epochCount(.firstOrder) * sampler.stepsPerEpoch - spentSteps
                do {
                    noiseMultiplier = remaining > 0
                        ? try spent.noiseMultiplier(targetEpsilon: target, delta: options.delta, sampleRate: sampleRate,
                                                    steps: remaining, accountant: options.accountant)
                        : spent.history.last?.noiseMultiplier ?? 0
                } catch {
                    throw CommandFailure("--target-epsilon \(target): \(error)", status: 64)
                }
            } else {
                noiseMultiplier = options.noiseMultiplier ?? 0
            }
            if !(sampler is PoissonSampler) {
                Console.error("dp-sgd: the accountant assumes Poisson sampling; with --sampling shuffle ε is an approximation")
            }
            if !options.secureRng {
                Console.error("dp-sgd: note: the noise is keyed by the run's seed (\(training.seed)), so anyone who knows it "
                              + "can remove the noise; train a model you publish with --secure-rng")
            }
            if train.count > 0 && options.delta > 1 / Double(train.count) {
                Console.error("dp-sgd: warning: δ = \(options.delta) is above 1/N = \(1 / Double(train.count)); "
                              + "such a guarantee allows publishing a few examples outright")
            }
            let clipping = try options.clippingRule(layers: model.parametricLayerCount)
            noiseNorm = Double(clipping.noiseNorm)
            gradientNoiseMultiplier = noiseMultiplier
            if let quantile = options.adaptiveClip, let range = options.adaptiveRange {
                let countNoise = options.adaptiveClipStd ?? sampleRate * Double(train.count) / 20
                let rule = AdaptiveClipping(initialBound: clipping.noiseNorm, targetQuantile: quantile,
                                            learningRate: options.adaptiveClipLr, countNoise: countNoise, range: range,
                                            seed: noiseSeeds?.count ?? training.seed, hardened: options.secureRng)
                guard let share = rule.gradientNoiseMultiplier(noiseMultiplier) else {
                    throw CommandFailure("--adaptive-clip: σ = \(noiseMultiplier) needs an unclipped-count noise σ_b above "
                                         + "σ/2, got --adaptive-clip-std \(countNoise)", status: 64)
                }
                gradientNoiseMultiplier = share
                adaptive = rule
            }
            let perturbation = options.perturb > 0 ? ClipPerturbation(scale: Float(options.perturb),
                                                                      seed: noiseSeeds?.perturbation ?? training.seed) : nil
            let source = try ClippedGradient(model: model, data: train, clipping: clipping,
                                             mode: try options.effectiveGradSample(), perturbation: perturbation,
                                             adaptive: adaptive)
            let noise = GaussianNoise(device: model.device, noiseMultiplier: Float(gradientNoiseMultiplier),
                                      maxGradNorm: clipping.noiseNorm, seed: noiseSeeds?.noise ?? training.seed,
                                      adaptive: adaptive, hardened: options.secureRng)
            // The bound's update comes last: the noise of a step uses the bound it was clipped to.
            return (source, [noise] + (adaptive.map { [$0] } ?? []))
        }
    }

    /// The whole history after the trainer's steps: the checkpoint's, then this run's at (σ, q).
    public func accountant(_ trainer: Trainer) -> RDPAccountant {
        var accountant = spent
        accountant.step(noiseMultiplier: noiseMultiplier, sampleRate: sampleRate, steps: trainer.step - spentSteps)
        return accountant
    }

    public func resume(from checkpoint: Checkpoint) throws {
        func refuse(_ what: String) -> TrainingError { .checkpointMismatch("checkpoint does not match this run: \(what)") }
        // The history is the same whichever accountant read it.
        guard let text = checkpoint.metadata[Self.historyKey],
              AccountantKind(rawValue: checkpoint.metadata[Self.accountantKey] ?? "") != nil else {
            throw refuse("it holds no accountant history (it was not written by train dp-sgd)")
        }
        do {
            spent = try RDPAccountant(historyText: text)
        } catch {
            throw refuse("\(error)")
        }
        guard spent.steps == checkpoint.step else {
            throw refuse("its accountant counts \(spent.steps) steps, the checkpoint \(checkpoint.step)")
        }
        spentSteps = checkpoint.step
    }

    public func stepLimit(_ trainer: Trainer, plannedSteps: Int) -> Int? {
        guard let maxEpsilon = options.maxEpsilon else { return nil }
        return spentSteps + spent.stepsAllowed(maxEpsilon: maxEpsilon, delta: options.delta,
                                               noiseMultiplier: noiseMultiplier, sampleRate: sampleRate,
                                               limit: max(plannedSteps - spentSteps, 0), accountant: options.accountant)
    }

    public func stopReason(_ trainer: Trainer) -> String {
        var next = accountant(trainer)
        next.step(noiseMultiplier: noiseMultiplier, sampleRate: sampleRate)
        return "--max-epsilon \(options.maxEpsilon ?? .infinity): the next step would spend ε = "
            + "\(format(options.accountant.epsilon(next, delta: options.delta).epsilon, 4)) at δ = \(options.delta)"
    }

    /// ε (and RDP's order) after the trainer's steps, computed once per step count: the final
    /// record asks again for the last epoch's, and a PRV evaluation takes seconds.
    private func spent(_ trainer: Trainer) -> (epsilon: Double, order: Double?) {
        if let cached = spentCache, cached.steps == trainer.step { return cached.value }
        let value = options.accountant.epsilon(accountant(trainer), delta: options.delta)
        spentCache = (trainer.step, value)
        return value
    }
    private var spentCache: (steps: Int, value: (epsilon: Double, order: Double?))?

    /// ε spent after the trainer's steps, and σ.
    public func epochMetrics(_ trainer: Trainer) -> [(String, Double)] {
        [("epsilon", spent(trainer).epsilon), ("noise_multiplier", noiseMultiplier)]
            + (adaptive.map { [("max_grad_norm", Double($0.bound))] } ?? [])
    }

    public func addFinalFields(_ trainer: Trainer, to record: inout JSONObject) {
        let order = spent(trainer).order
        record.add("delta", options.delta)
        record.add("accountant", options.accountant.rawValue)
        if let order { record.add("order", order) }
        if let adaptive {
            record.add("adaptive_clip_quantile", adaptive.targetQuantile)
            record.add("gradient_noise_multiplier", gradientNoiseMultiplier)
        } else {
            record.add("max_grad_norm", noiseNorm)
        }
        record.add("sample_rate", sampleRate)
        if let maxEpsilon = options.maxEpsilon { record.add("max_epsilon", maxEpsilon) }
        record.add("secure_rng", options.secureRng)
    }

    public func checkpointMetadata(_ trainer: Trainer) -> [String: String] {
        [Self.historyKey: accountant(trainer).historyText, Self.accountantKey: options.accountant.rawValue]
    }
}
