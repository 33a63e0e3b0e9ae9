import Compute
import Distributed
import Philox

/// The majority vote across ranks (compression.md §5.2): an all-to-all gives every rank its
/// chunk of every worker's packed signs (whole words), the rank votes its chunk into packed
/// words (the sign, and a tie bit when ties give 0), and an all-gather of those assembles the
/// vote on every rank: about 2(R − 1)/R · d/8 bytes per rank (3(R − 1)/R · d/8 with tie bits).
/// The values are those of one process voting all workers, bit for bit.
final class VoteWire {
    let exchange: ChunkExchange
    private let device: any Device
    private let group: WorkerGroup
    private let parameterCount: Int
    private let sendsTies: Bool
    /// The rank's voted chunk as sign and tie words (c each), and the whole vector's (⌈P/32⌉ each).
    private let chunkSigns: DeviceBuffer, chunkTies: DeviceBuffer, signs: DeviceBuffer, ties: DeviceBuffer

    init(device: any Device, group: WorkerGroup, parameterCount: Int, sendsTies: Bool) throws {
        self.device = device
        self.group = group
        self.parameterCount = parameterCount
        self.sendsTies = sendsTies
        exchange = ChunkExchange(communicator: group.communicator, device: device)
        let words = (parameterCount + 31) / 32, c = exchange.chunkLength(words)
        // Words past the rank's coordinates are never written: zero, so padding decodes as +.
        chunkSigns = try device.upload([UInt32](repeating: 0, count: max(c, 1)))
        chunkTies = try device.upload([UInt32](repeating: 0, count: max(c, 1)))
        signs = try device.makeBuffer(count: max(words, 1), of: .uint32, indexBound: nil)
        ties = try device.makeBuffer(count: max(words, 1), of: .uint32, indexBound: nil)
    }

    /// Votes this rank's packed workers (`words`, one ⌈P/32⌉-word row each) with every other
    /// rank's into `result` (P floats, the same on every rank).
    func vote(_ words: BufferSlice, into result: BufferSlice, tie: TieRule, key: PhiloxKey) throws {
        let perWorker = (parameterCount + 31) / 32, c = exchange.chunkLength(perWorker)
        let received = try exchange.scatter(words, rows: group.workersPerRank, length: perWorker, stride: perWorker,
                                            as: UInt32.self)
        let first = group.communicator.rank * c * 32
        let coordinates = max(0, min(32 * c, parameterCount - first)), used = (coordinates + 31) / 32
        try device.signVoteBits(received, workers: group.workers, stride: c, count: coordinates,
                                signs: chunkSigns.slice(0, used), ties: sendsTies ? chunkTies.slice(0, used) : nil,
                                tie: tie, key: key, tieOffset: first)
        try exchange.gather(chunkSigns.slice(0, c), into: signs.slice(0, perWorker), as: UInt32.self)
        if sendsTies { try exchange.gather(chunkTies.slice(0, c), into: ties.slice(0, perWorker), as: UInt32.self) }
        try device.signUnpack(signs.slice(0, perWorker), ties: sendsTies ? ties.slice(0, perWorker) : nil, into: result,
                              scale: 1)
    }
}
