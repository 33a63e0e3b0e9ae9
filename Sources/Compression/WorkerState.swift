import Compute
import Distributed

/// Per-worker state a transform keeps between steps on the device (this rank's workers ×
/// parameters floats: error-feedback memories, momenta): zero on first use, or the values a
/// checkpoint restored before it. Checkpoints hold every worker of the run, so under MPI
/// `snapshot` gathers the ranks' parts (a collective) and `restore` keeps this rank's.
final class WorkerState {
    private let device: any Device
    private let group: WorkerGroup
    private var memory: DeviceBuffer?
    private var pending: [Float]?

    init(device: any Device, group: WorkerGroup) {
        self.device = device
        self.group = group
    }

    /// The state for `count` floats (this rank's workers), allocated (zeroed or restored) when
    /// the size is new.
    func buffer(count: Int) throws -> DeviceBuffer {
        if let memory, memory.count == count { return memory }
        let values = pending ?? [Float](repeating: 0, count: count)
        precondition(values.count == count, "restored worker state of \(values.count) floats for \(count)")
        let buffer = try device.upload(values)
        memory = buffer
        pending = nil
        return buffer
    }

    /// Every worker's state, worker after worker (empty before the first step); collective
    /// under MPI.
    func snapshot() throws -> [Float] {
        let local = try memory.map { try device.download($0.whole) } ?? pending ?? []
        return group.isDistributed ? try group.communicator.allGather(local) : local
    }

    /// Takes this rank's workers' part of `state` (every worker's, as `snapshot` gives it) as
    /// the values to start from at the next step.
    func restore(_ state: [Float]) {
        memory = nil
        guard !state.isEmpty else {
            pending = nil
            return
        }
        precondition(state.count % group.workers == 0, "worker state of \(state.count) floats for \(group.workers) workers")
        let perWorker = state.count / group.workers
        pending = Array(state[(group.firstWorker * perWorker)..<((group.firstWorker + group.workersPerRank) * perWorker)])
    }
}
