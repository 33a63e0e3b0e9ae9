import Compute

/// The update rules `--optimizer` offers; they follow PyTorch's `torch.optim` semantics.
public enum OptimizerKind: String, CaseIterable, Sendable, Codable {
    /// SGD (with momentum when `momentum > 0`).
    case sgd
    /// SGD with momentum 0.9 unless `momentum` says otherwise.
    case momentum
    /// Adam; AdamW (decoupled weight decay, default 0.01); Adam with the AMSGrad maximum of the
    /// second moment; RMSprop (with momentum when `momentum > 0`).
    case adam, adamw, amsgrad, rmsprop
}

/// Hyper-parameters of an optimizer. Defaults are PyTorch's.
public struct OptimizerConfig: Sendable, Hashable {
    /// The update rule.
    public var kind: OptimizerKind
    /// The base learning rate, before the schedule; non-negative.
    public var learningRate: Float
    /// Momentum coefficient (SGD, RMSprop). `nil` means the kind's default (0.9 for `.momentum`).
    public var momentum: Float?
    /// Nesterov momentum; only meaningful for SGD with momentum.
    public var nesterov: Bool
    /// L2 penalty, or decoupled decay for AdamW. `nil` means the kind's default (0.01 for
    /// `.adamw`, PyTorch's, else 0).
    public var weightDecay: Float?
    /// Adam's decay rates of the first and second moment estimates, and the term added to the
    /// denominator for stability (Adam and RMSprop).
    public var beta1: Float, beta2: Float, epsilon: Float
    /// RMSprop smoothing constant.
    public var alpha: Float

    /// A configuration with PyTorch's defaults for everything not given.
    /// - Precondition: `learningRate >= 0`.
    public init(kind: OptimizerKind, learningRate: Float, momentum: Float? = nil, nesterov: Bool = false,
                weightDecay: Float? = nil, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
                alpha: Float = 0.99) {
        precondition(learningRate >= 0, "learning rate must be non-negative")
        self.kind = kind; self.learningRate = learningRate; self.momentum = momentum
        self.nesterov = nesterov; self.weightDecay = weightDecay; self.beta1 = beta1
        self.beta2 = beta2; self.epsilon = epsilon; self.alpha = alpha
    }

    /// The momentum coefficient in force: `momentum`, else 0.9 for `.momentum` and 0 otherwise.
    public var effectiveMomentum: Float { momentum ?? (kind == .momentum ? 0.9 : 0) }
    /// The weight decay in force: `weightDecay`, else 0.01 for `.adamw` and 0 otherwise.
    public var effectiveWeightDecay: Float { weightDecay ?? (kind == .adamw ? 0.01 : 0) }

    /// Per-parameter state vectors the rule keeps (momentum buffer, Adam moments, …).
    public var stateSlots: Int {
        switch kind {
        case .sgd, .momentum: return effectiveMomentum > 0 ? 1 : 0
        case .adam, .adamw: return 2
        case .amsgrad: return 3
        case .rmsprop: return effectiveMomentum > 0 ? 2 : 1
        }
    }

    /// e.g. "adamw(lr 0.001, wd 0.01)", for logs and checkpoints.
    public var description: String {
        var parts = ["lr \(learningRate)"]
        if effectiveMomentum > 0 { parts.append("momentum \(effectiveMomentum)" + (nesterov ? " nesterov" : "")) }
        if effectiveWeightDecay > 0 { parts.append("wd \(effectiveWeightDecay)") }
        return "\(kind.rawValue)(\(parts.joined(separator: ", ")))"
    }
}
