import Compute
import Distributed
import Training

/// Signum (Bernstein et al. 2018): each worker's momentum m ← β·m + (1 − β)·g replaces its
/// gradient before compression, so the sign (or the vote) is taken of the momentum. The
/// momenta (m₀ = 0) are the transform's checkpointed state.
public final class WorkerMomentum: GradientTransform {
    /// β.
    public let beta: Float
    private let device: any Device
    private let state: WorkerState

    /// Momentum β for the workers of `group` that live on this rank.
    public init(device: any Device, beta: Float, group: WorkerGroup? = nil) {
        precondition(beta >= 0 && beta < 1, "the momentum must be in [0, 1)")
        self.device = device
        state = WorkerState(device: device, group: group ?? .local(workers: 1))
        self.beta = beta
    }

    public var description: String { "Signum momentum β = \(beta)" }

    public func apply(_ gradients: WorkerGradients, step: Int) throws {
        let memory = try state.buffer(count: gradients.workers * gradients.parameterCount)
        for worker in 0..<gradients.workers {
            let momentum = memory.slice(worker * gradients.parameterCount, gradients.parameterCount)
            try device.axpby(alpha: 1 - beta, x: gradients.slot(worker), beta: beta, y: momentum)
            try device.copy(momentum, to: gradients.slot(worker))
        }
    }

    /// Every worker's momentum, worker after worker (empty before the first step); collective
    /// under MPI.
    public func snapshot() throws -> [Float] { try state.snapshot() }

    public func restore(_ state: [Float]) throws { self.state.restore(state) }
}
