import Compute

/// Per-worker state a transform keeps between steps on the device (workers × parameters
/// floats: error-feedback memories, momenta): zero on first use, or the values a checkpoint
/// restored before it.
final class WorkerState {
    private let device: any Device
    private var memory: DeviceBuffer?
    private var pending: [Float]?

    init(device: any Device) {
        self.device = device
    }

    /// The state for `count` floats, allocated (zeroed or restored) when the size is new.
    func buffer(count: Int) throws -> DeviceBuffer {
        if let memory, memory.count == count { return memory }
        let values = pending ?? [Float](repeating: 0, count: count)
        precondition(values.count == count, "restored worker state of \(values.count) floats for \(count)")
        let buffer = try device.upload(values)
        memory = buffer
        pending = nil
        return buffer
    }

    /// Every worker's state, worker after worker (empty before the first step).
    func snapshot() throws -> [Float] {
        guard let memory else { return pending ?? [] }
        return try device.download(memory.whole)
    }

    /// Takes `state` as the values to start from at the next step.
    func restore(_ state: [Float]) {
        memory = nil
        pending = state.isEmpty ? nil : state
    }
}
