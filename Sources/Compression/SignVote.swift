import Compute
import Philox
import Training

/// signSGD with majority vote (Bernstein et al. 2018/2019) and noisy signSGD (Chen, Chen, Sun,
/// Wu, Hong, NeurIPS 2020), as the transform that combines the workers' gradients: each worker
/// sends sign(g_m + b·ξ_m), 1 bit per coordinate (ξ_m ~ N(0, I) from Philox stream
/// (seed + m, step, `Streams.compression`); b = 0 is plain signSGD), and the result is the
/// per-coordinate majority, +1, −1, or on a tie the `TieRule`'s value. With the SGD optimizer at
/// learning rate δ the update is x ← x − δ·vote.
public final class SignVote: GradientTransform {
    /// b, the standard deviation of each worker's noise before the sign.
    public let noise: Float
    /// What a tied coordinate gets.
    public let tie: TieRule
    /// Keys every worker's noise and the shared tie-breaking stream.
    public let seed: UInt64
    private let device: any Device
    private var words: DeviceBuffer?

    public init(device: any Device, noise: Float, tie: TieRule, seed: UInt64) {
        precondition(noise >= 0 && noise.isFinite, "the noise must be a non-negative number")
        self.device = device
        self.noise = noise
        self.tie = tie
        self.seed = seed
    }

    public var description: String { "majority vote of signs" + (noise > 0 ? " with noise b = \(noise)" : "") + ", tie \(tie)" }

    /// The packed signs of the last step, (workers, ⌈P/32⌉) words: what would cross the wire.
    public var packedSigns: DeviceBuffer? { words }

    public func apply(_ gradients: WorkerGradients, step: Int) throws {
        let perWorker = (gradients.parameterCount + 31) / 32
        let count = gradients.workers * perWorker
        if (words?.count ?? -1) < count { words = try device.makeBuffer(count: max(count, 1), of: .uint32, indexBound: nil) }
        guard let words else { return }
        let stepWord = UInt32(truncatingIfNeeded: step)
        for worker in 0..<gradients.workers {
            try device.signPack(gradients.slot(worker), into: words.slice(worker * perWorker, perWorker), noise: noise,
                                key: PhiloxKey(seed: seed &+ UInt64(worker), step: stepWord,
                                               stream: PhiloxStream.Streams.compression))
        }
        try device.signVote(words.slice(0, count), workers: gradients.workers, stride: perWorker,
                            into: gradients.result, tie: tie,
                            key: PhiloxKey(seed: seed, step: stepWord, stream: PhiloxStream.Streams.tieBreaking))
    }
}

/// medianSGD and noisy medianSGD (Chen et al., NeurIPS 2020, Alg. 4): the coordinate-wise median
/// of the workers' gradients, each plus b·ξ_m first (b = 0: plain medianSGD), in full precision.
public final class CoordinateMedian: GradientTransform {
    /// b, the standard deviation of each worker's noise.
    public let noise: Float
    /// Keys every worker's noise.
    public let seed: UInt64
    private let device: any Device

    public init(device: any Device, noise: Float, seed: UInt64) {
        precondition(noise >= 0 && noise.isFinite, "the noise must be a non-negative number")
        self.device = device
        self.noise = noise
        self.seed = seed
    }

    public var description: String { "coordinate-wise median" + (noise > 0 ? " with noise b = \(noise)" : "") }

    public func apply(_ gradients: WorkerGradients, step: Int) throws {
        if noise > 0 {
            for worker in 0..<gradients.workers {
                try device.addRandom(gradients.slot(worker), .normal,
                                     key: PhiloxKey(seed: seed &+ UInt64(worker), step: UInt32(truncatingIfNeeded: step),
                                                    stream: PhiloxStream.Streams.compression),
                                     start: .start, scale: noise)
            }
        }
        // One worker: its (noisy) gradient is the median, and its slot is the result.
        guard gradients.workers > 1 else { return }
        try device.coordinateMedian(gradients.slots, workers: gradients.workers, stride: gradients.parameterCount,
                                    into: gradients.result)
    }
}
