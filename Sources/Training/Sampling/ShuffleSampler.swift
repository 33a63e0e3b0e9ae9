import Philox

/// Fixed-size batches from one seeded shuffle per epoch: epoch e is the permutation of Philox
/// stream (seed, e, `Streams.shuffle`), cut into `stepsPerEpoch` consecutive batches of
/// `batchSize` rows, the last one possibly smaller. Each row is used once per epoch.
public final class ShuffleSampler: BatchSampler {
    public let population: Int
    /// Rows per batch (the last batch of an epoch may have fewer).
    public let batchSize: Int
    /// The seed of the per-epoch shuffles.
    public let seed: UInt64
    private var cached: (epoch: Int, order: [Int32])?

    /// Batches of `batchSize` rows from `count` rows.
    public init(count: Int, batchSize: Int, seed: UInt64) {
        precondition(count >= 0 && batchSize > 0, "a shuffle sampler needs rows and a positive batch size")
        population = count
        self.batchSize = batchSize
        self.seed = seed
    }

    public var stepsPerEpoch: Int { max((population + batchSize - 1) / batchSize, 1) }
    public var maximumBatchSize: Int { min(batchSize, population) }
    public var description: String { "shuffle (batch \(batchSize))" }

    public func batch(at step: Int) -> [Int32] {
        precondition(step >= 0, "steps count from 0")
        let epoch = step / stepsPerEpoch, position = step % stepsPerEpoch
        let order = order(epoch: epoch)
        let start = min(position * batchSize, population)
        return Array(order[start..<min(start + batchSize, population)])
    }

    public func normaliser(batchSize: Int) -> Float { Float(max(batchSize, 1)) }

    private func order(epoch: Int) -> [Int32] {
        if let cached, cached.epoch == epoch { return cached.order }
        var order = (0..<population).map { Int32($0) }
        var rng = PhiloxStream(seed: seed, step: UInt32(truncatingIfNeeded: epoch), stream: PhiloxStream.Streams.shuffle)
        philoxShuffle(&order, using: &rng)
        cached = (epoch, order)
        return order
    }
}
