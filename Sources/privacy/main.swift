import ArgumentParser
import Artifacts
import CommandLineSupport
import Privacy

/// `privacy`: the RDP accountant of DP-SGD with Poisson sampling, as Opacus computes it.
struct PrivacyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "privacy",
        abstract: "Privacy accounting for DP-SGD with Poisson sampling: Rényi DP (Opacus's orders and conversion) or the PRV accountant.",
        subcommands: [Epsilon.self, Sigma.self])
}

/// The sampling and length of a run: q directly or from the batch size and data set size,
/// and the steps directly or from epochs (Opacus: steps = int(epochs / q)).
struct RunShape: ParsableArguments {
    @Option(help: "Sampling rate q (each example joins a batch with this probability).")
    var sampleRate: Double?

    @Option(help: "Expected batch size; with --samples gives q = batch size / samples.")
    var batchSize: Int?

    @Option(help: "Training examples N; with --batch-size gives q.")
    var samples: Int?

    @Option(help: "Steps taken.")
    var steps: Int?

    @Option(help: "Epochs; steps = int(epochs / q), as Opacus counts them.")
    var epochs: Double?

    @Option(help: "δ of the (ε, δ) guarantee.")
    var delta: Double = 1e-5

    @Option(help: "rdp (Rényi DP, Opacus's orders) or prv (the privacy loss random variable, Gopi et al.; its upper bound at ε error 0.01, as Opacus reports it).")
    var accountant: AccountantKind = .rdp

    @Flag(help: "One JSON object instead of text.")
    var json = false

    func validate() throws {
        let rate = try self.rate()
        guard rate > 0 && rate <= 1 else { throw ValidationError("the sampling rate must be in (0, 1], not \(rate)") }
        guard (steps == nil) != (epochs == nil) else { throw ValidationError("give exactly one of --steps and --epochs") }
        if let steps, steps < 0 || steps > 1 << 40 { throw ValidationError("--steps must be in 0...2^40") }
        if let epochs, !(epochs >= 0 && epochs.isFinite) { throw ValidationError("--epochs must be a non-negative number") }
        guard delta > 0 && delta < 1 else { throw ValidationError("--delta must be in (0, 1)") }
    }

    func rate() throws -> Double {
        if let sampleRate {
            guard batchSize == nil && samples == nil else {
                throw ValidationError("give either --sample-rate or --batch-size with --samples, not both")
            }
            return sampleRate
        }
        guard let batchSize, let samples, batchSize > 0, samples > 0 else {
            throw ValidationError("give --sample-rate, or --batch-size and --samples")
        }
        return min(Double(batchSize) / Double(samples), 1)
    }

    func stepCount(rate: Double) -> Int {
        if let steps { return steps }
        return Int((epochs ?? 0) / rate)
    }
}

extension PrivacyCommand {
    /// `privacy epsilon`: ε spent by a run.
    struct Epsilon: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The ε a DP-SGD run spends at δ.")

        @Option(help: "Noise multiplier σ (noise standard deviation / clipping norm).")
        var noiseMultiplier: Double

        @OptionGroup var shape: RunShape

        func validate() throws {
            guard noiseMultiplier >= 0 && noiseMultiplier.isFinite else {
                throw ValidationError("--noise-multiplier must be a non-negative number")
            }
        }

        func run() throws {
            runReportingFailures(command: "privacy epsilon") {
                let rate = try shape.rate(), steps = shape.stepCount(rate: rate)
                var accountant = RDPAccountant()
                accountant.step(noiseMultiplier: noiseMultiplier, sampleRate: rate, steps: steps)
                let (epsilon, order) = shape.accountant.epsilon(accountant, delta: shape.delta)
                if shape.json {
                    var o = JSONObject()
                    o.add("epsilon", epsilon)
                    o.add("delta", shape.delta)
                    if shape.accountant == .rdp { o.add("order", order ?? .nan) }
                    o.add("noise_multiplier", noiseMultiplier)
                    o.add("sample_rate", rate)
                    o.add("steps", steps)
                    o.add("accountant", shape.accountant.rawValue)
                    Console.line(o.line)
                } else {
                    let how = shape.accountant == .rdp
                        ? "RDP, best order α = \(order.map { format($0, 1) } ?? "none")" : "PRV upper bound, ε error 0.01"
                    Console.line("ε = \(format(epsilon, 4)) at δ = \(shape.delta) (\(how)) after \(steps) steps at q = \(rate), "
                                 + "σ = \(noiseMultiplier)")
                }
            }
        }
    }

    /// `privacy sigma`: the noise multiplier that spends a target ε.
    struct Sigma: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The smallest noise multiplier whose ε at δ is at most the target (Opacus's get_noise_multiplier).",
            aliases: ["noise"])

        @Option(name: [.customLong("target-epsilon"), .customLong("epsilon")], help: "Target ε.")
        var epsilon: Double

        @Option(help: "How far below the target the returned σ's ε may be.")
        var tolerance: Double = 0.01

        @OptionGroup var shape: RunShape

        func validate() throws {
            guard epsilon > 0 && epsilon.isFinite else { throw ValidationError("--target-epsilon must be a positive number") }
            guard tolerance > 0 && tolerance.isFinite else { throw ValidationError("--tolerance must be positive") }
        }

        func run() throws {
            runReportingFailures(command: "privacy sigma") {
                let rate = try shape.rate(), steps = shape.stepCount(rate: rate)
                let sigma: Double
                do {
                    sigma = try RDPAccountant.noiseMultiplier(targetEpsilon: epsilon, delta: shape.delta, sampleRate: rate,
                                                              steps: steps, tolerance: tolerance, accountant: shape.accountant)
                } catch {
                    throw CommandFailure("\(error)", status: 64)
                }
                var accountant = RDPAccountant()
                accountant.step(noiseMultiplier: sigma, sampleRate: rate, steps: steps)
                let spent = shape.accountant.epsilon(accountant, delta: shape.delta).epsilon
                if shape.json {
                    var o = JSONObject()
                    o.add("noise_multiplier", sigma)
                    o.add("epsilon", spent)
                    o.add("target_epsilon", epsilon)
                    o.add("delta", shape.delta)
                    o.add("sample_rate", rate)
                    o.add("steps", steps)
                    o.add("accountant", shape.accountant.rawValue)
                    Console.line(o.line)
                } else {
                    Console.line("σ = \(format(sigma, 4)) spends ε = \(format(spent, 4)) (target \(epsilon)) at δ = "
                                 + "\(shape.delta) over \(steps) steps at q = \(rate)")
                }
            }
        }
    }
}

PrivacyCommand.main()
