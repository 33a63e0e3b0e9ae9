import Compute
import Distributed

extension WorkerGroup {
    /// A full-precision combination of a step's slots across the ranks (the mean, the median):
    /// `body(chunks, stride, out)` gets this rank's chunk of every worker's slot ((workers, c)
    /// floats `stride` = c apart) and writes this rank's coordinates of the result to `out`; the
    /// combined chunks of all ranks then land in `gradients.result` on every rank. `exchange`
    /// is the caller's staging, made on first use.
    public func combine(_ gradients: WorkerGradients, through exchange: inout ChunkExchange?, device: any Device,
                        _ body: (_ chunks: BufferSlice, _ stride: Int, _ out: BufferSlice) throws -> Void) throws {
        precondition(gradients.workers == workersPerRank, "one slot per worker of the rank")
        let staging = exchange ?? ChunkExchange(communicator: communicator, device: device)
        exchange = staging
        try staging.combine(gradients.slots, rows: gradients.workers, length: gradients.parameterCount,
                            into: gradients.result, body)
    }
}
