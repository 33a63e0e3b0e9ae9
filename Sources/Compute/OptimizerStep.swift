/// Scalars of one SGD step (PyTorch's `torch.optim.SGD` semantics).
public struct SGDStep: Sendable, Hashable {
    /// The step size of this step (after the schedule).
    public var learningRate: Float
    /// μ; 0 is plain SGD and leaves the momentum buffer unused.
    public var momentum: Float = 0
    /// Fraction of the gradient left out of the momentum buffer.
    public var dampening: Float = 0
    /// L2 penalty added to the gradient as `weightDecay·p`.
    public var weightDecay: Float = 0
    /// Step along `g + μ·buf` instead of `buf`.
    public var nesterov = false
    /// The first step initialises the momentum buffer with the gradient.
    public var isFirstStep = false

    /// Validates the scalars (non-negative rate, Nesterov only with momentum and no dampening).
    public init(learningRate: Float, momentum: Float = 0, dampening: Float = 0,
                weightDecay: Float = 0, nesterov: Bool = false, isFirstStep: Bool = false) {
        precondition(learningRate >= 0, "learning rate must be non-negative")
        precondition(momentum >= 0 && weightDecay >= 0, "momentum and weight decay must be non-negative")
        precondition(!nesterov || (momentum > 0 && dampening == 0),
                     "Nesterov momentum needs momentum > 0 and zero dampening")
        self.learningRate = learningRate; self.momentum = momentum; self.dampening = dampening
        self.weightDecay = weightDecay; self.nesterov = nesterov; self.isFirstStep = isFirstStep
    }
}

/// Scalars of one Adam, AdamW or AMSGrad step at step number `t` (1-based).
public struct AdamStep: Sendable, Hashable {
    /// The step size of this step (after the schedule).
    public var learningRate: Float
    /// Decay rates of the first and second moment estimates, and the denominator's ε.
    public var beta1: Float, beta2: Float, epsilon: Float
    /// L2 penalty (Adam) or decoupled decay rate (AdamW).
    public var weightDecay: Float
    /// AdamW: decay the weights directly instead of adding `weightDecay·p` to the gradient.
    public var decoupledWeightDecay: Bool
    /// Divide by the running maximum of the second moment (AMSGrad).
    public var amsgrad: Bool
    /// t, the 1-based number of this update, for the bias corrections.
    public var step: Int

    /// Validates the scalars (non-negative rate, betas in [0, 1), t ≥ 1).
    public init(learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
                weightDecay: Float = 0, decoupledWeightDecay: Bool = false, amsgrad: Bool = false,
                step: Int) {
        precondition(learningRate >= 0, "learning rate must be non-negative")
        precondition((0..<1).contains(beta1) && (0..<1).contains(beta2), "betas must be in [0, 1)")
        precondition(step >= 1, "Adam steps count from 1")
        self.learningRate = learningRate; self.beta1 = beta1; self.beta2 = beta2
        self.epsilon = epsilon; self.weightDecay = weightDecay
        self.decoupledWeightDecay = decoupledWeightDecay; self.amsgrad = amsgrad; self.step = step
    }

    /// 1 − β1^t
    public var biasCorrection1: Float { Float(1 - Double(beta1).power(step)) }
    /// √(1 − β2^t)
    public var biasCorrection2Sqrt: Float { Float((1 - Double(beta2).power(step)).squareRoot()) }
}

/// Scalars of one RMSprop step (not centred).
public struct RMSPropStep: Sendable, Hashable {
    /// The step size of this step (after the schedule).
    public var learningRate: Float
    /// Smoothing of the squared-gradient average, the denominator's ε, the L2 penalty, and the
    /// momentum coefficient (0: none).
    public var alpha: Float, epsilon: Float, weightDecay: Float, momentum: Float

    /// Validates the scalars (non-negative rate, alpha in [0, 1)).
    public init(learningRate: Float, alpha: Float = 0.99, epsilon: Float = 1e-8,
                weightDecay: Float = 0, momentum: Float = 0) {
        precondition(learningRate >= 0, "learning rate must be non-negative")
        precondition((0..<1).contains(alpha), "alpha must be in [0, 1)")
        self.learningRate = learningRate; self.alpha = alpha; self.epsilon = epsilon
        self.weightDecay = weightDecay; self.momentum = momentum
    }
}

extension Double {
    /// Integer power by repeated squaring (no libm needed).
    func power(_ exponent: Int) -> Double {
        var result = 1.0, base = self, e = exponent
        while e > 0 {
            if e & 1 == 1 { result *= base }
            base *= base
            e >>= 1
        }
        return result
    }
}
