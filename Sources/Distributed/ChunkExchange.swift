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

    // Host staging, one pair per phase so alternating calls reuse their buffers.
    private var send: [UInt8] = [], receive: [UInt8] = [], chunkOut: [UInt8] = [], chunksIn: [UInt8] = []
    private var received: DeviceBuffer?

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
        precondition(source.elementType == T.elementType, "scatter of \(source.elementType) as \(T.elementType)")
        precondition(rows >= 1 && stride >= length && source.count >= (rows - 1) * stride + length,
                     "scatter source too small")
        let ranks = communicator.size, c = chunkLength(length), width = MemoryLayout<T>.stride
        let total = ranks * rows * c
        resize(&send, total * width)
        resize(&receive, total * width)
        try send.withUnsafeMutableBytes { raw in
            let values = raw.bindMemory(to: T.self)
            for q in 0..<ranks {
                let count = chunkCount(length, rank: q)
                for l in 0..<rows {
                    let at = (q * rows + l) * c
                    if count > 0 {
                        try device.read(source.slice(l * stride + q * c, count),
                                        into: UnsafeMutableBufferPointer(rebasing: values[at..<(at + count)]))
                    }
                    // Zero bytes are zero for every device scalar: +0.0, word 0.
                    if count < c { UnsafeMutableRawBufferPointer(rebasing: raw[((at + count) * width)..<((at + c) * width)]).initializeMemory(as: UInt8.self, repeating: 0) }
                }
            }
        }
        try timed {
            try send.withUnsafeBytes { out in try receive.withUnsafeMutableBytes { try communicator.allToAll(out, into: $0) } }
        }
        bytesSent += (ranks - 1) * rows * c * width
        if (received?.count ?? -1) < total || received?.elementType != T.elementType {
            received = try device.makeBuffer(count: max(total, 1), of: T.elementType, indexBound: nil)
        }
        guard let received else { preconditionFailure("staging buffer missing") }
        let slice = received.slice(0, total)
        if total > 0 {
            try receive.withUnsafeBytes { raw in try device.write(raw.bindMemory(to: T.self), to: slice) }
        }
        return slice
    }

    /// Every rank's combined chunk (`chunk`, c elements of `T` on the device) assembled in
    /// `destination` (the whole vector's `destination.count` elements, rank order, padding
    /// dropped) on every rank.
    /// - Throws: `ComputeError` from the device, `CommunicatorError` from the all-gather.
    public func gather<T: DeviceScalar>(_ chunk: BufferSlice, into destination: BufferSlice, as type: T.Type) throws {
        let c = chunkLength(destination.count), ranks = communicator.size, width = MemoryLayout<T>.stride
        precondition(chunk.count == c && chunk.elementType == T.elementType && destination.elementType == T.elementType,
                     "gather of a chunk of \(chunk.count) \(chunk.elementType) for \(c)")
        resize(&chunkOut, c * width)
        resize(&chunksIn, ranks * c * width)
        if c > 0 {
            try chunkOut.withUnsafeMutableBytes { try device.read(chunk, into: $0.bindMemory(to: T.self)) }
        }
        try timed {
            try chunkOut.withUnsafeBytes { out in try chunksIn.withUnsafeMutableBytes { try communicator.allGather(out, into: $0) } }
        }
        bytesSent += (ranks - 1) * c * width
        if destination.count > 0 {
            try chunksIn.withUnsafeBytes { raw in
                try device.write(UnsafeBufferPointer(rebasing: raw.bindMemory(to: T.self)[0..<destination.count]),
                                 to: destination)
            }
        }
    }

    private func timed(_ body: () throws -> Void) throws {
        let clock = ContinuousClock(), start = clock.now
        defer {
            let elapsed = (clock.now - start).components
            secondsInCollectives += Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18
        }
        try body()
    }

    private func resize(_ bytes: inout [UInt8], _ count: Int) {
        if bytes.count != count { bytes = [UInt8](repeating: 0, count: count) }
    }
}
