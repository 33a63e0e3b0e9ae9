#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How the learning rate changes over training, evaluated once per optimizer step.
public enum LearningRateSchedule: Sendable, Hashable, CustomStringConvertible {
    /// The base rate throughout.
    case constant
    /// Multiplied by `gamma` every `epochs` epochs (PyTorch's StepLR).
    case step(epochs: Int, gamma: Double)
    /// Cosine annealing from the base rate to 0 over the whole run (CosineAnnealingLR).
    case cosine
    /// Linear decay from the base rate to 0 over the whole run.
    case linear

    /// Parses `constant`, `step:EPOCHS:GAMMA`, `cosine` or `linear`; nil for anything else, and for
    /// a step schedule whose EPOCHS is not positive or whose GAMMA is not positive and finite.
    public init?(argument: String) {
        switch argument {
        case "constant": self = .constant
        case "cosine": self = .cosine
        case "linear": self = .linear
        default:
            let parts = argument.split(separator: ":")
            guard parts.count == 3, parts[0] == "step", let epochs = Int(parts[1]), epochs > 0,
                  let gamma = Double(parts[2]), gamma > 0, gamma.isFinite else { return nil }
            self = .step(epochs: epochs, gamma: gamma)
        }
    }

    /// The argument form, e.g. `step:10:0.5`.
    public var description: String {
        switch self {
        case .constant: return "constant"
        case .step(let epochs, let gamma): return "step:\(epochs):\(gamma)"
        case .cosine: return "cosine"
        case .linear: return "linear"
        }
    }

    /// The rate for 0-based optimizer step `step` of `totalSteps`, with `stepsPerEpoch` steps a
    /// full epoch.
    /// - Parameters:
    ///   - base: the configured learning rate.
    ///   - step: optimizer steps taken so far in the whole run.
    ///   - stepsPerEpoch: steps of one epoch (used by `step` schedules).
    ///   - totalSteps: steps of the whole run (used by `cosine` and `linear`; 0 gives `base`).
    public func rate(base: Float, step: Int, stepsPerEpoch: Int, totalSteps: Int) -> Float {
        let progress = totalSteps > 0 ? min(Double(step) / Double(totalSteps), 1) : 0
        switch self {
        case .constant:
            return base
        case .step(let epochs, let gamma):
            let epoch = step / max(stepsPerEpoch, 1)
            return Float(Double(base) * pow(gamma, Double(epoch / epochs)))
        case .cosine:
            return Float(Double(base) * (1 + cos(Double.pi * progress)) / 2)
        case .linear:
            return Float(Double(base) * (1 - progress))
        }
    }
}
