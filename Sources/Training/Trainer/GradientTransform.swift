import Compute
import Distributed

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

/// A transform that exchanges data with other ranks, and counts what it sends.
public protocol ExchangingTransform: GradientTransform {
    /// Bytes this rank has sent to the others since the transform was made (0 in one process).
    var bytesSent: Int { get }
}

/// The mean of the workers' gradients: synchronous data-parallel SGD with full participation
/// (an fp32 all-reduce, divided by the worker count). Under MPI every rank sums its chunk of
/// every worker's gradient in worker order (a reduce-scatter and an all-gather), so the result
/// is the one process's, bit for bit.
public final class WorkerMean: ExchangingTransform {
    /// The device the gradients live on.
    public let device: any Device
    /// Where the workers live.
    public let group: WorkerGroup
    private var exchange: ChunkExchange?

    /// The mean over the workers of `group` (this process's alone by default).
    public init(device: any Device, group: WorkerGroup? = nil) {
        self.device = device
        self.group = group ?? .local(workers: 1)
    }

    public var description: String { "mean over workers" }

    public var bytesSent: Int { exchange?.bytesSent ?? 0 }

    public func apply(_ gradients: WorkerGradients, step: Int) throws {
        guard group.isDistributed else {
            // One worker: its slot is the result already.
            guard gradients.workers > 1 else { return }
            try average(gradients.slots, workers: gradients.workers, stride: gradients.parameterCount,
                        into: gradients.result)
            return
        }
        try group.combine(gradients, through: &exchange, device: device) { chunks, stride, out in
            try average(chunks, workers: group.workers, stride: stride, into: out)
        }
    }

    /// `out` = the mean of `workers` rows `stride` apart, summed in row order.
    private func average(_ rows: BufferSlice, workers: Int, stride: Int, into out: BufferSlice) throws {
        let share = 1 / Float(workers)
        for w in 0..<workers {
            try device.axpby(alpha: share, x: rows.slice(w * stride, out.count), beta: w == 0 ? 0 : 1, y: out)
        }
    }
}
