/// The collectives the ranks of a training job use to talk to each other, and the only way they
/// do: MPI between processes (`MPICommunicator`), shared memory between threads of one process
/// (`InProcessCommunicator`), or one rank alone (`InProcessCommunicator.single`), so one training
/// code path serves a laptop and a cluster.
///
/// Every call is collective: every rank of the group makes the same calls in the same order with
/// the same sizes (a programmer error otherwise). Buffers are host memory; device data is staged
/// through it (`ChunkExchange`). A failure (a rank that died, a broken link) throws
/// `CommunicatorError`.
public protocol Communicator: AnyObject {
    /// This rank, in 0 ..< `size`.
    var rank: Int { get }
    /// Ranks in the group.
    var size: Int { get }
    /// What carries the messages, for reports ("MPICH 4.0.2", "in-process").
    var transport: String { get }

    /// Returns when every rank has called it.
    func barrier() throws
    /// Every rank's `values` become the element-wise reduction over the ranks (the same count on
    /// every rank).
    func allReduce(_ values: UnsafeMutableBufferPointer<Float>, _ op: ReductionOperator) throws
    /// As the `Float` form, in double precision.
    func allReduce(_ values: UnsafeMutableBufferPointer<Double>, _ op: ReductionOperator) throws
    /// `receive` (size × `send.count` bytes) gets rank r's `send` at byte r × `send.count`.
    func allGather(_ send: UnsafeRawBufferPointer, into receive: UnsafeMutableRawBufferPointer) throws
    /// `send` holds `size` equal blocks, block q for rank q; `receive` (as large) gets rank q's
    /// block for this rank at block q.
    func allToAll(_ send: UnsafeRawBufferPointer, into receive: UnsafeMutableRawBufferPointer) throws
    /// Every rank's `buffer` becomes rank `root`'s (the same byte count on every rank).
    func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws
}

extension Communicator {
    /// The element-wise reduction of `values` over the ranks.
    public func allReduce(_ values: [Float], _ op: ReductionOperator) throws -> [Float] {
        var result = values
        try result.withUnsafeMutableBufferPointer { try allReduce($0, op) }
        return result
    }

    /// The element-wise reduction of `values` over the ranks, in double precision.
    public func allReduce(_ values: [Double], _ op: ReductionOperator) throws -> [Double] {
        var result = values
        try result.withUnsafeMutableBufferPointer { try allReduce($0, op) }
        return result
    }

    /// Every rank's `values` (the same count on every rank), rank after rank.
    public func allGather<T: BitwiseCopyable>(_ values: [T]) throws -> [T] {
        guard !values.isEmpty else { return [] }
        // Trivial elements: every byte is written by the gather before it is read.
        let total = values.count * size
        var result = [T](unsafeUninitializedCapacity: total) { _, count in count = total }
        try values.withUnsafeBytes { send in
            try result.withUnsafeMutableBytes { try allGather(send, into: $0) }
        }
        return result
    }

    /// `values` as `size` equal blocks, block q for rank q; returns the blocks the ranks sent
    /// this one, rank after rank.
    public func allToAll<T: BitwiseCopyable>(_ values: [T]) throws -> [T] {
        precondition(values.count % size == 0, "\(values.count) values do not split into \(size) blocks")
        guard !values.isEmpty else { return [] }
        var result = [T](unsafeUninitializedCapacity: values.count) { _, count in count = values.count }
        try values.withUnsafeBytes { send in
            try result.withUnsafeMutableBytes { try allToAll(send, into: $0) }
        }
        return result
    }

    /// Rank `root`'s bytes on every rank, of a length only the root knows beforehand.
    public func broadcast(_ bytes: [UInt8], root: Int) throws -> [UInt8] {
        var length = [Double(bytes.count)]
        try length.withUnsafeMutableBytes { try broadcast($0, root: root) }
        var result = rank == root ? bytes : [UInt8](repeating: 0, count: Int(length[0]))
        if !result.isEmpty { try result.withUnsafeMutableBytes { try broadcast($0, root: root) } }
        return result
    }
}
