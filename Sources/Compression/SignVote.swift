import Compute
import Distributed
import Philox
import Training

/// signSGD with majority vote (Bernstein et al. 2018/2019) and noisy signSGD (Chen, Chen, Sun,
/// Wu, Hong, NeurIPS 2020), as the transform that combines the workers' gradients: each worker
/// sends sign(g_m + b·ξ_m), 1 bit per coordinate (ξ_m ~ N(0, I) from Philox stream
/// (seed + m, step, `Streams.compression`); b = 0 is plain signSGD), and the result is the
/// per-coordinate majority, +1, −1, or on a tie the `TieRule`'s value. With the SGD optimizer at
/// learning rate δ the update is x ← x − δ·vote.
public final class SignVote: ExchangingTransform {
    /// b·ξ before the sign: fixed, or adaptive per tensor.
    public var noise: SignNoise { workerNoise.noise }
    /// What a tied coordinate gets.
    public let tie: TieRule
    /// Keys every worker's noise and the shared tie-breaking stream.
    public let seed: UInt64
    /// Where the workers live; under MPI the vote is the two-phase exchange below.
    public let group: WorkerGroup
    private let device: any Device
    private let workerNoise: WorkerNoise
    private var words: DeviceBuffer?
    private var wire: VoteWire?

    /// A vote with noise b (0: plain signSGD) fused into the packing.
    public convenience init(device: any Device, noise: Float, tie: TieRule, seed: UInt64) {
        precondition(noise >= 0 && noise.isFinite, "the noise must be a non-negative number")
        self.init(device: device, noise: .fixed(noise), tie: tie, seed: seed, tensorSizes: [])
    }

    /// A vote with `noise` among the workers of `group` (this process's alone by default); the
    /// adaptive rule needs the parameter tensors' lengths (flat order).
    public init(device: any Device, noise: SignNoise, tie: TieRule, seed: UInt64, tensorSizes: [Int],
                group: WorkerGroup? = nil) {
        if case .fixed(let b) = noise { precondition(b >= 0 && b.isFinite, "the noise must be a non-negative number") }
        self.device = device
        self.tie = tie
        self.seed = seed
        let group = group ?? .local(workers: 1)
        self.group = group
        workerNoise = WorkerNoise(device: device, noise: noise, seed: seed, tensorSizes: tensorSizes, group: group)
    }

    public var description: String { "majority vote of signs" + (noise.isNone ? "" : " with \(noise)") + ", tie \(tie)" }

    /// This rank's packed signs of the last step, (workers, ⌈P/32⌉) words: what it sends.
    public var packedSigns: DeviceBuffer? { words }

    /// b of every tensor at the last step (adaptive noise only).
    public var lastNoiseScales: [Float] { workerNoise.lastScales }

    public var bytesSent: Int { wire?.exchange.bytesSent ?? 0 }
    /// Seconds this rank has spent in the collectives (0 in one process).
    public var secondsInCollectives: Double { wire?.exchange.secondsInCollectives ?? 0 }

    public func apply(_ gradients: WorkerGradients, step: Int) throws {
        let perWorker = (gradients.parameterCount + 31) / 32
        let count = gradients.workers * perWorker
        if (words?.count ?? -1) < count { words = try device.makeBuffer(count: max(count, 1), of: .uint32, indexBound: nil) }
        guard let words else { preconditionFailure("packed signs missing") }
        // A fixed b is fused into the packing; adaptive scales go into the slots first (the same
        // numbers: sign(g + b·ξ) either way).
        var fused: Float = 0
        switch noise {
        case .fixed(let b): fused = b
        case .adaptive: try workerNoise.add(to: gradients, step: step)
        }
        for slot in 0..<gradients.workers {
            try device.signPack(gradients.slot(slot), into: words.slice(slot * perWorker, perWorker), noise: fused,
                                key: workerNoise.key(slot: slot, step: step))
        }
        let tieKey = PhiloxKey(seed: seed, step: UInt32(truncatingIfNeeded: step), stream: PhiloxStream.Streams.tieBreaking)
        guard group.isDistributed else {
            try device.signVote(words.slice(0, count), workers: gradients.workers, stride: perWorker,
                                into: gradients.result, tie: tie, key: tieKey)
            return
        }
        precondition(gradients.workers == group.workersPerRank, "one slot per worker of the rank")
        let wire = try self.wire ?? VoteWire(device: device, group: group, parameterCount: gradients.parameterCount,
                                             // A tie (0) needs a second bit; the voter decides plus and random ties.
                                             sendsTies: tie == .zero && group.workers % 2 == 0)
        self.wire = wire
        try wire.vote(words.slice(0, count), into: gradients.result, tie: tie, key: tieKey)
    }
}

/// medianSGD and noisy medianSGD (Chen et al., NeurIPS 2020, Alg. 4): the coordinate-wise median
/// of the workers' gradients, each plus b·ξ_m first (b = 0: plain medianSGD), in full precision.
public final class CoordinateMedian: ExchangingTransform {
    /// b·ξ before the median: fixed, or adaptive per tensor.
    public var noise: SignNoise { workerNoise.noise }
    /// Keys every worker's noise.
    public let seed: UInt64
    /// Where the workers live; under MPI every rank takes the median of its chunk.
    public let group: WorkerGroup
    private let device: any Device
    private let workerNoise: WorkerNoise
    private var exchange: ChunkExchange?

    /// The median with noise b (0: plain medianSGD).
    public convenience init(device: any Device, noise: Float, seed: UInt64) {
        precondition(noise >= 0 && noise.isFinite, "the noise must be a non-negative number")
        self.init(device: device, noise: .fixed(noise), seed: seed, tensorSizes: [])
    }

    /// The median with `noise` among the workers of `group` (this process's alone by default);
    /// the adaptive rule needs the parameter tensors' lengths.
    public init(device: any Device, noise: SignNoise, seed: UInt64, tensorSizes: [Int], group: WorkerGroup? = nil) {
        self.device = device
        self.seed = seed
        let group = group ?? .local(workers: 1)
        self.group = group
        workerNoise = WorkerNoise(device: device, noise: noise, seed: seed, tensorSizes: tensorSizes, group: group)
    }

    public var description: String { "coordinate-wise median" + (noise.isNone ? "" : " with \(noise)") }

    public var bytesSent: Int { exchange?.bytesSent ?? 0 }

    public func apply(_ gradients: WorkerGradients, step: Int) throws {
        try workerNoise.add(to: gradients, step: step)
        guard group.isDistributed else {
            // One worker: its (noisy) gradient is the median, and its slot is the result.
            guard gradients.workers > 1 else { return }
            try device.coordinateMedian(gradients.slots, workers: gradients.workers, stride: gradients.parameterCount,
                                        into: gradients.result)
            return
        }
        // Full precision crosses the wire: 2(R − 1)/R · 4d bytes per rank, as an fp32 all-reduce.
        try group.combine(gradients, through: &exchange, device: device) { chunks, stride, out in
            try device.coordinateMedian(chunks, workers: group.workers, stride: stride, into: out)
        }
    }
}
