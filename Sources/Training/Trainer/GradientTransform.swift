import Compute

/// The gradients of one step as the transforms see them: one row of `parameterCount` floats per
/// worker (`slots`, row w is worker w's gradient, in the model's flat layout) and the combined
/// gradient the update uses (`result`). With one worker the slot is the result.
public struct WorkerGradients {
    /// (workers, parameterCount) row-major.
    public let slots: BufferSlice
    /// Workers in the step.
    public let workers: Int
    /// Floats per gradient.
    public let parameterCount: Int
    /// (parameterCount): what the update applies.
    public let result: BufferSlice
    /// What the gradient sources multiplied their sums by (1 / the normaliser, worker 0's), so a
    /// transform that adds to a sum (DP noise) can scale what it adds the same way.
    public let scale: Float

    /// The gradients of `workers` slots of `parameterCount` floats each, combined into `result`.
    public init(slots: BufferSlice, workers: Int, parameterCount: Int, result: BufferSlice, scale: Float) {
        precondition(workers >= 1 && slots.count >= workers * parameterCount && result.count == parameterCount,
                     "worker gradients of the wrong size")
        self.slots = slots
        self.workers = workers
        self.parameterCount = parameterCount
        self.result = result
        self.scale = scale
    }

    /// Worker `w`'s gradient.
    public func slot(_ w: Int) -> BufferSlice {
        precondition(w >= 0 && w < workers, "worker \(w) of \(workers)")
        return slots.slice(w * parameterCount, parameterCount)
    }
}

/// The third stage of a training step: what happens between the gradients and the update, in
/// order. A transform works on the workers' slots (compression, error feedback), combines them
/// into the result (the mean; later the sign vote, the median, an MPI all-reduce), or changes
/// the result (noise). With several workers exactly one transform of the chain combines.
///
/// A transform with state (error-feedback memories, momentum) exposes it for checkpoints.
public protocol GradientTransform: AnyObject, CustomStringConvertible {
    /// Applies the transform for global step `step`.
    func apply(_ gradients: WorkerGradients, step: Int) throws
    /// The state a checkpoint must hold to resume exactly (empty for none).
    func snapshot() throws -> [Float]
    /// Restores `snapshot()`'s values.
    func restore(_ state: [Float]) throws
}

extension GradientTransform {
    public func snapshot() throws -> [Float] { [] }
    public func restore(_ state: [Float]) throws {
        precondition(state.isEmpty, "\(self) keeps no state")
    }
}

/// The mean of the workers' gradients: synchronous data-parallel SGD with full participation
/// (all-reduce of fp32 gradients, divided by the worker count).
public final class WorkerMean: GradientTransform {
    /// The device the gradients live on.
    public let device: any Device

    public init(device: any Device) {
        self.device = device
    }

    public var description: String { "mean over workers" }

    public func apply(_ gradients: WorkerGradients, step: Int) throws {
        // One worker: its slot is the result already.
        guard gradients.workers > 1 else { return }
        let share = 1 / Float(gradients.workers)
        for w in 0..<gradients.workers {
            try device.axpby(alpha: share, x: gradients.slot(w), beta: w == 0 ? 0 : 1, y: gradients.result)
        }
    }
}
