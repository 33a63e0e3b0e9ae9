import Philox

/// Poisson sampling: at every step each row joins the batch independently with probability
/// `rate` (q), so batch sizes vary (mean q·N, variance q(1−q)·N) and a batch may be empty, which
/// is still a step. This is the sampling DP-SGD's privacy analysis assumes (Opacus's
/// `UniformWithReplacementSampler`). An epoch is round(1/q) steps.
///
/// Row i joins at step t when uniform i of Philox stream (seed, t, `Streams.sampling`) is below
/// q: a pure function of the step, so resumed runs continue the same stream exactly.
public final class PoissonSampler: BatchSampler {
    public let population: Int
    /// q, the probability that a row joins a batch.
    public let rate: Double
    /// The seed of the sampling stream.
    public let seed: UInt64

    /// Batches of `count` rows sampled at `rate` (0 < rate ≤ 1).
    public init(count: Int, rate: Double, seed: UInt64) {
        precondition(count >= 0 && rate > 0 && rate <= 1, "Poisson sampling needs a rate in (0, 1]")
        population = count
        self.rate = rate
        self.seed = seed
    }

    /// The sampling rate that makes `batchSize` the expected batch of `count` rows.
    public convenience init(count: Int, expectedBatchSize: Int, seed: UInt64) {
        self.init(count: count, rate: min(Double(expectedBatchSize) / Double(max(count, 1)), 1), seed: seed)
    }

    public var stepsPerEpoch: Int { max(Int((1 / rate).rounded()), 1) }
    public var maximumBatchSize: Int { population }
    public var description: String { "poisson (q = \(rate))" }

    public func batch(at step: Int) -> [Int32] {
        precondition(step >= 0, "steps count from 0")
        let key = PhiloxKey(seed: seed, step: UInt32(truncatingIfNeeded: step), stream: PhiloxStream.Streams.sampling)
        let threshold = Float(rate)
        var rows: [Int32] = []
        rows.reserveCapacity(Int(Double(population) * rate * 1.5) + 16)
        var block = 0
        while block * 4 < population {
            let words = key.block(UInt64(block))
            for j in 0..<4 where block * 4 + j < population {
                // A uniform in (0, 1) below q; q = 1 takes every row.
                if rate >= 1 || PhiloxStream.uniform(PhiloxMaps.word(words, j)) < threshold {
                    rows.append(Int32(block * 4 + j))
                }
            }
            block += 1
        }
        return rows
    }

    /// q·N, whatever the batch drawn.
    public func normaliser(batchSize: Int) -> Float { Float(rate * Double(population)) }
}
