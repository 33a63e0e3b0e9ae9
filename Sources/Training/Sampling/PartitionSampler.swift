/// A worker's sampler: another sampler run over the worker's partition (`rows`, indices into
/// the whole training set), its batches mapped back to rows of the whole set. With simulated
/// workers each has one of these over its part of a `Partitioning`.
public final class PartitionSampler: BatchSampler {
    /// The worker's rows of the training set.
    public let rows: [Int32]
    /// The sampler over `0 ..< rows.count`.
    public let inner: any BatchSampler

    /// `inner`, which must draw from `rows.count` rows, over `rows`.
    public init(rows: [Int], inner: any BatchSampler) {
        precondition(inner.population == rows.count, "the inner sampler must draw from the partition's rows")
        self.rows = rows.map { Int32($0) }
        self.inner = inner
    }

    public var population: Int { inner.population }
    public var stepsPerEpoch: Int { inner.stepsPerEpoch }
    public var maximumBatchSize: Int { inner.maximumBatchSize }
    public var description: String { "\(inner) over \(rows.count) rows" }

    public func batch(at step: Int) -> [Int32] { inner.batch(at: step).map { rows[Int($0)] } }

    public func normaliser(batchSize: Int) -> Float { inner.normaliser(batchSize: batchSize) }
}

/// Every row at every step: full-batch gradient descent, and "the worker's whole partition"
/// as one batch (signSGD's MNIST setting). One step is one epoch.
public final class FullBatchSampler: BatchSampler {
    public let population: Int

    /// All `count` rows as the one batch of every step.
    public init(count: Int) {
        precondition(count >= 0, "negative row count")
        population = count
    }

    public var stepsPerEpoch: Int { 1 }
    public var maximumBatchSize: Int { population }
    public var description: String { "full batch (\(population) rows)" }
    public func batch(at step: Int) -> [Int32] { (0..<population).map { Int32($0) } }
    public func normaliser(batchSize: Int) -> Float { Float(max(batchSize, 1)) }
}
