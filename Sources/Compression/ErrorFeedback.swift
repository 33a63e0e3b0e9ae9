import Compute
import Distributed
import Training

/// Error feedback for 1-bit compression (EF-signSGD, Karimireddy et al., ICML 2019), per worker:
/// p = g + e, the worker sends Δ = (‖p‖₁/d)·sign(p) (1 bit per coordinate and one scale) and
/// keeps e ← p − Δ, so what compression drops comes back in later steps. It replaces each
/// worker's slot by Δ; a combining transform follows (the mean: EF-signSGD and 1-bit SGD; the
/// majority vote sees sign(p)). The learning rate is applied by the optimizer afterwards (the
/// paper's γ = 1 here), and the memories are the transform's checkpointed state.
public final class ErrorFeedback: GradientTransform {
    private let device: any Device
    private let state: WorkerState
    private var norm: DeviceBuffer?

    /// Error feedback for the workers of `group` that live on this rank.
    public init(device: any Device, group: WorkerGroup? = nil) {
        self.device = device
        state = WorkerState(device: device, group: group ?? .local(workers: 1))
    }

    public var description: String { "error feedback" }

    public func apply(_ gradients: WorkerGradients, step: Int) throws {
        let memory = try state.buffer(count: gradients.workers * gradients.parameterCount)
        if norm == nil { norm = try device.makeBuffer(count: 1) }
        guard let norm else { return }
        for worker in 0..<gradients.workers {
            let slot = gradients.slot(worker)
            try device.errorFeedback(slot, gamma: 1,
                                     memory: memory.slice(worker * gradients.parameterCount, gradients.parameterCount),
                                     norm: norm.whole, into: slot)
        }
    }

    /// Every worker's memory e, worker after worker (empty before the first step); collective
    /// under MPI.
    public func snapshot() throws -> [Float] { try state.snapshot() }

    public func restore(_ state: [Float]) throws { self.state.restore(state) }
}
