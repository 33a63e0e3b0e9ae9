import ArgumentParser
import Compute
import Privacy
import Training

extension GradSampleMode: ExpressibleByArgument {}

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

    public init() {}

    public func validate() throws {
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
public final class DPSGDAlgorithm {
    /// The parsed options.
    public let options: PrivacyOptions
    /// σ in force, known once the run has sized its sampler.
    public private(set) var noiseMultiplier: Double = 0
    /// q the accountant uses.
    public private(set) var sampleRate: Double = 0

    public init(options: PrivacyOptions) {
        self.options = options
    }

    /// The stages for `SupervisedRun`: calibrates σ when asked, then builds the clipped source and
    /// the noise.
    /// - Throws: `CommandFailure` (64) for simulated workers (client-level DP is DP-FedAvg's) or
    ///   a budget no σ reaches.
    public func stages(training: TrainingOptions) -> SupervisedRun.Stages {
        { [self] model, train, samplers in
            guard samplers.count == 1 else {
                throw CommandFailure("dp-sgd trains one model on one data set; --workers is for sgd", status: 64)
            }
            let sampler = samplers[0]
            sampleRate = (sampler as? PoissonSampler)?.rate
                ?? min(Double(training.batchSize.rows(of: train.count)) / Double(max(train.count, 1)), 1)
            if let target = options.targetEpsilon {
                let steps = training.epochCount(.firstOrder) * sampler.stepsPerEpoch
                do {
                    noiseMultiplier = try RDPAccountant.noiseMultiplier(targetEpsilon: target, delta: options.delta,
                                                                        sampleRate: sampleRate, steps: steps)
                } catch {
                    throw CommandFailure("--target-epsilon \(target): \(error)", status: 64)
                }
            } else {
                noiseMultiplier = options.noiseMultiplier ?? 0
            }
            if !(sampler is PoissonSampler) {
                Console.error("dp-sgd: the accountant assumes Poisson sampling; with --sampling shuffle ε is an approximation")
            }
            let clipping = try options.clippingRule(layers: model.parametricLayerCount)
            let source = try ClippedGradient(model: model, data: train, clipping: clipping, mode: options.gradSample)
            let noise = GaussianNoise(device: model.device, noiseMultiplier: Float(noiseMultiplier),
                                      maxGradNorm: clipping.noiseNorm, seed: training.seed)
            return (source, [noise])
        }
    }

    /// ε spent after the trainer's steps, and σ.
    public func epochMetrics(_ trainer: Trainer) -> [(String, Double)] {
        var accountant = RDPAccountant()
        accountant.step(noiseMultiplier: noiseMultiplier, sampleRate: sampleRate, steps: trainer.step)
        return [("epsilon", accountant.epsilon(delta: options.delta).epsilon), ("noise_multiplier", noiseMultiplier)]
    }
}
