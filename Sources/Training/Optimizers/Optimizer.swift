import Compute

/// Applies an update rule to a model's flat parameter buffer, keeping its per-parameter state in
/// one device buffer of `stateSlots × parameterCount` floats (slot-major).
public final class Optimizer {
    /// The update rule and its hyper-parameters.
    public let config: OptimizerConfig
    /// The device holding `state` and running the updates.
    public let device: any Device
    /// Length of the parameter and gradient slices `update` accepts.
    public let parameterCount: Int
    /// Slot-major optimizer state: momentum buffers, Adam moments, ….
    public let state: DeviceBuffer
    /// Updates applied so far (Adam's t is `step + 1` during the next update).
    public private(set) var step = 0

    /// An optimizer for `parameterCount` parameters, its state zeroed.
    /// - Throws: `ComputeError` when the state buffer cannot be allocated.
    public init(_ config: OptimizerConfig, parameterCount: Int, device: any Device) throws {
        self.config = config
        self.device = device
        self.parameterCount = parameterCount
        state = try device.makeBuffer(count: config.stateSlots * parameterCount)
        try device.fill(state.whole, with: 0)
    }

    private func slot(_ index: Int) -> BufferSlice { state.slice(index * parameterCount, parameterCount) }

    /// One update of `parameters` along `gradients` at `learningRate` (the schedule's value).
    /// - Parameters:
    ///   - parameters: the flat parameter buffer, `parameterCount` values, updated in place.
    ///   - gradients: the gradients, in the same layout.
    ///   - learningRate: the rate for this step.
    /// - Throws: `ComputeError` when a device call fails.
    public func update(parameters: BufferSlice, gradients: BufferSlice, learningRate: Float) throws {
        precondition(parameters.count == parameterCount && gradients.count == parameterCount,
                     "optimizer built for \(parameterCount) parameters")
        let c = config
        let empty = state.slice(0, 0)
        switch c.kind {
        case .sgd, .momentum:
            try device.sgdUpdate(
                SGDStep(learningRate: learningRate, momentum: c.effectiveMomentum, weightDecay: c.effectiveWeightDecay,
                        nesterov: c.nesterov, isFirstStep: step == 0),
                parameters: parameters, gradients: gradients, momentum: c.stateSlots > 0 ? slot(0) : empty)
        case .adam, .adamw, .amsgrad:
            try device.adamUpdate(
                AdamStep(learningRate: learningRate, beta1: c.beta1, beta2: c.beta2, epsilon: c.epsilon,
                         weightDecay: c.effectiveWeightDecay, decoupledWeightDecay: c.kind == .adamw,
                         amsgrad: c.kind == .amsgrad, step: step + 1),
                parameters: parameters, gradients: gradients, firstMoment: slot(0), secondMoment: slot(1),
                maxSecondMoment: c.kind == .amsgrad ? slot(2) : empty)
        case .rmsprop:
            try device.rmspropUpdate(
                RMSPropStep(learningRate: learningRate, alpha: c.alpha, epsilon: c.epsilon,
                            weightDecay: c.effectiveWeightDecay, momentum: c.effectiveMomentum),
                parameters: parameters, gradients: gradients, squareAverage: slot(0),
                momentum: c.stateSlots > 1 ? slot(1) : empty)
        }
        step += 1
    }

    /// The state and step count, for a checkpoint.
    /// - Returns: `state` downloaded (`stateSlots × parameterCount` floats, slot-major) and `step`.
    /// - Throws: `ComputeError` when the download fails.
    public func snapshot() throws -> (state: [Float], step: Int) {
        (try device.download(state.whole), step)
    }

    /// Restores a snapshot taken from an optimizer with the same configuration and size.
    /// - Parameters:
    ///   - values: the state of `snapshot()`, exactly `state.count` floats.
    ///   - step: the step count of `snapshot()`.
    /// - Throws: `ComputeError` when the upload fails.
    public func restore(state values: [Float], step: Int) throws {
        precondition(values.count == state.count, "optimizer state of \(values.count) values, expected \(state.count)")
        try device.write(values, to: state.whole)
        self.step = step
    }
}
