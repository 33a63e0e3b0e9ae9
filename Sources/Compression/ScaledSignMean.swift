import Compute
import Philox
import Distributed
import Training

/// EF-signSGD's combination (Karimireddy et al., ICML 2019): the mean of the workers' scaled
/// signs Δ_m = s_m·sign(p_m), which `ErrorFeedback` leaves in the slots; it must follow an
/// `ErrorFeedback` (every coordinate of a slot ±s_m), and in debug builds checks that it does.
/// In one process it is the mean of the slots; across ranks each worker's Δ travels as what it
/// is, ⌈P/32⌉ sign words and the scale s_m (an all-gather of (R − 1)·(d/8 + 4) bytes per rank
/// for one worker per rank, 32× less than an fp32 all-reduce with 2 ranks, 16× with 4), and
/// every rank rebuilds the mean in worker order: the one process's values (a zero scale's −0
/// arrives as +0).
public final class ScaledSignMean: ExchangingTransform {
    /// Where the workers live.
    public let group: WorkerGroup
    private let device: any Device
    private let mean: WorkerMean
    private var words: DeviceBuffer?, gathered: DeviceBuffer?, decoded: DeviceBuffer?
    public private(set) var bytesSent = 0

    /// The mean over the workers of `group` (this process's alone by default) of slots that hold
    /// ±s per coordinate, one s per worker.
    public init(device: any Device, group: WorkerGroup? = nil) {
        self.device = device
        let group = group ?? .local(workers: 1)
        self.group = group
        mean = WorkerMean(device: device, group: .local(workers: group.workersPerRank))
    }

    public var description: String { "mean of scaled signs" }

    public func apply(_ gradients: WorkerGradients, step: Int) throws {
        guard group.isDistributed else { return try mean.apply(gradients, step: step) }
        precondition(gradients.workers == group.workersPerRank, "one slot per worker of the rank")
        let n = gradients.parameterCount, perWorker = (n + 31) / 32, row = perWorker + 1
        let local = gradients.workers * row
        if words == nil {
            words = try device.makeBuffer(count: max(local, 1), of: .uint32, indexBound: nil)
            gathered = try device.makeBuffer(count: max(group.workers * row, 1), of: .uint32, indexBound: nil)
            decoded = try device.makeBuffer(count: max(n, 1))
        }
        guard let words, let gathered, let decoded else { preconditionFailure("staging buffers missing") }
        // Row m: worker m's sign words, then its scale's bits (|Δ| of any coordinate).
        var scales: [UInt32] = []
        for slot in 0..<gradients.workers {
            try device.signPack(gradients.slot(slot), into: words.slice(slot * row, perWorker), noise: 0,
                                key: PhiloxKey(seed: 0))
            let first = n > 0 ? try device.download(gradients.slot(slot).slice(0, 1))[0] : 0
            assert((try? device.download(gradients.slot(slot)))?.allSatisfy { abs($0) == abs(first) } ?? true,
                   "ScaledSignMean needs ErrorFeedback's ±s slots")
            scales.append(abs(first).bitPattern)
        }
        var host = try device.download(words.slice(0, local), as: UInt32.self)
        for slot in 0..<gradients.workers { host[slot * row + perWorker] = scales[slot] }
        let all = try group.communicator.allGather(host)
        bytesSent += (group.communicator.size - 1) * local * 4
        try device.write(all, to: gathered.slice(0, group.workers * row))
        let share = 1 / Float(group.workers)
        for worker in 0..<group.workers {
            let scale = Float(bitPattern: all[worker * row + perWorker])
            try device.signUnpack(gathered.slice(worker * row, perWorker), into: decoded.slice(0, n), scale: scale)
            try device.axpby(alpha: share, x: decoded.slice(0, n), beta: worker == 0 ? 0 : 1, y: gradients.result)
        }
    }
}
