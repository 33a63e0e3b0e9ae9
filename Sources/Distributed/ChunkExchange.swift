import Compute

/// Device vectors split between the ranks the way a reduce-scatter and an all-gather split
/// them, staged through host memory (OpenCL buffers cannot go to MPI directly; what crosses is
/// what the caller packed, so for signs d/8 bytes, not 4d).
///
/// A vector of `length` elements is cut into `ranks` chunks of c = ⌈length / ranks⌉ elements,
/// chunk q for rank q (the last ones zero-padded). `scatter` gives this rank its chunk of every
/// worker's vector (an all-to-all); the rank combines them (a vote, a median, a mean) and
/// `gather` assembles the combined chunks of all ranks into the whole vector on every rank (an
/// all-gather). Per rank about 2(ranks − 1)/ranks × the vector's bytes cross the network.
public final class ChunkExchange {
    /// The ranks.
    public let communicator: any Communicator
    /// Where the vectors live.
    public let device: any Device
    /// Bytes this rank has sent through `scatter` and `gather` so far.
    public private(set) var bytesSent = 0
    /// Seconds this rank has spent inside the collectives (waiting and moving bytes), the rest
    /// of an exchange being device work and staging.
    public private(set) var secondsInCollectives = 0.0

    // Host staging in 32-bit words (every device scalar is 32 bits wide), one pair per phase so
    // alternating calls reuse their buffers.
    private var send: [UInt32] = [], receive: [UInt32] = [], chunkOut: [UInt32] = [], chunksIn: [UInt32] = []
    private var received: DeviceBuffer?, combined: DeviceBuffer?

    /// An exchange among `communicator`'s ranks of vectors on `device`.
    public init(communicator: any Communicator, device: any Device) {
        self.communicator = communicator
        self.device = device
    }

    /// Elements in each rank's chunk of a vector of `length`.
    public func chunkLength(_ length: Int) -> Int { (length + communicator.size - 1) / communicator.size }

    /// Elements of rank `rank`'s chunk that lie inside the vector (the rest is padding).
    public func chunkCount(_ length: Int, rank: Int) -> Int {
        let c = chunkLength(length)
        return max(0, min(c, length - rank * c))
    }

    /// This rank's chunk of every worker's vector: (ranks × `rows`, c) on the device, worker
    /// order (rank q's rows after rank q − 1's), padding zero.
    /// - Parameters:
    ///   - source: this rank's `rows` vectors of `length` elements of `T`, row l at `l·stride`.
    /// - Throws: `ComputeError` from the device, `CommunicatorError` from the all-to-all.
    public func scatter<T: DeviceScalar>(_ source: BufferSlice, rows: Int, length: Int, stride: Int,
                                         as type: T.Type) throws -> BufferSlice {
        precondition(MemoryLayout<T>.stride == 4, "device scalars are 32 bits wide")
        precondition(source.elementType == T.elementType, "scatter of \(source.elementType) as \(T.elementType)")
        precondition(rows >= 1 && stride >= length && source.count >= (rows - 1) * stride + length,
                     "scatter source too small")
        let ranks = communicator.size, c = chunkLength(length), total = ranks * rows * c
        resize(&send, total)
        resize(&receive, total)
        try send.withUnsafeMutableBufferPointer { words in
            try words.withMemoryRebound(to: T.self) { values in
                for q in 0..<ranks {
                    let count = chunkCount(length, rank: q)
                    for l in 0..<rows {
                        let at = (q * rows + l) * c
                        if count > 0 {
                            try device.read(source.slice(l * stride + q * c, count),
                                            into: UnsafeMutableBufferPointer(rebasing: values[at..<(at + count)]))
                        }
                    }
                }
            }
            // Zero words are zero for every device scalar (+0.0, 0): the padding.
            for q in 0..<ranks {
                let count = chunkCount(length, rank: q)
                for l in 0..<rows where count < c {
                    let at = (q * rows + l) * c
                    for i in (at + count)..<(at + c) { words[i] = 0 }
                }
            }
        }
        try timed {
            try send.withUnsafeBytes { out in try receive.withUnsafeMutableBytes { try communicator.allToAll(out, into: $0) } }
        }
        bytesSent += (ranks - 1) * rows * c * 4
        if (received?.count ?? -1) < total || received?.elementType != T.elementType {
            received = try device.makeBuffer(count: max(total, 1), of: T.elementType, indexBound: nil)
        }
        guard let received else { preconditionFailure("staging buffer missing") }
        let slice = received.slice(0, total)
        if total > 0 {
            try receive.withUnsafeBufferPointer { words in
                try words.withMemoryRebound(to: T.self) { try device.write($0, to: slice) }
            }
        }
        return slice
    }

    /// Every rank's combined chunk (`chunk`, c elements of `T` on the device) assembled in
    /// `destination` (the whole vector's `destination.count` elements, rank order, padding
    /// dropped) on every rank.
    /// - Throws: `ComputeError` from the device, `CommunicatorError` from the all-gather.
    public func gather<T: DeviceScalar>(_ chunk: BufferSlice, into destination: BufferSlice, as type: T.Type) throws {
        precondition(MemoryLayout<T>.stride == 4, "device scalars are 32 bits wide")
        let c = chunkLength(destination.count), ranks = communicator.size
        precondition(chunk.count == c && chunk.elementType == T.elementType && destination.elementType == T.elementType,
                     "gather of a chunk of \(chunk.count) \(chunk.elementType) for \(c)")
        resize(&chunkOut, c)
        resize(&chunksIn, ranks * c)
        if c > 0 {
            try chunkOut.withUnsafeMutableBufferPointer { words in
                try words.withMemoryRebound(to: T.self) { try device.read(chunk, into: $0) }
            }
        }
        try timed {
            try chunkOut.withUnsafeBytes { out in try chunksIn.withUnsafeMutableBytes { try communicator.allGather(out, into: $0) } }
        }
        bytesSent += (ranks - 1) * c * 4
        if destination.count > 0 {
            try chunksIn.withUnsafeBufferPointer { words in
                try words.withMemoryRebound(to: T.self) { values in
                    try device.write(UnsafeBufferPointer(rebasing: values[0..<destination.count]), to: destination)
                }
            }
        }
    }

    /// A full-precision combination across ranks: this rank's chunk of every worker's row of
    /// `slots` (`rows` rows of `length` floats, `length` apart) goes to `combine(chunks, stride,
    /// out)` (chunks: (workers, c) floats `stride` = c apart; out: this rank's coordinates of
    /// the chunk), and the combined chunks of all ranks land in `result` (`length` floats) on
    /// every rank.
    public func combine(_ slots: BufferSlice, rows: Int, length: Int, into result: BufferSlice,
                        _ body: (_ chunks: BufferSlice, _ stride: Int, _ out: BufferSlice) throws -> Void) throws {
        precondition(result.count == length, "the result holds the whole vector")
        let c = chunkLength(length)
        if (combined?.count ?? -1) < max(c, 1) { combined = try device.makeBuffer(count: max(c, 1)) }
        guard let combined else { preconditionFailure("staging buffer missing") }
        let chunks = try scatter(slots, rows: rows, length: length, stride: length, as: Float.self)
        try body(chunks, c, combined.slice(0, chunkCount(length, rank: communicator.rank)))
        try gather(combined.slice(0, c), into: result, as: Float.self)
    }

    private func timed(_ body: () throws -> Void) throws {
        let clock = ContinuousClock(), start = clock.now
        defer {
            let elapsed = (clock.now - start).components
            secondsInCollectives += Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18
        }
        try body()
    }

    private func resize(_ words: inout [UInt32], _ count: Int) {
        if words.count != count { words = [UInt32](repeating: 0, count: count) }
    }
}
