/// The first stage of a training step: which rows of the training data a step uses.
///
/// A sampler is a pure function of the global step (0-based, counting every step of the run),
/// keyed by its seed: a resumed run asks for the same steps and gets the same batches, with no
/// sampler state in the checkpoint.
///
/// ```swift
/// let sampler = PoissonSampler(count: 4000, rate: 64.0 / 4000, seed: 1)
/// let rows = sampler.batch(at: 17)          // about 64 row indices, sometimes none
/// let divideBy = sampler.normaliser(batchSize: rows.count)   // 64: the expected size
/// ```
public protocol BatchSampler: AnyObject, CustomStringConvertible {
    /// Rows the sampler draws from (`0 ..< population` before any mapping to a partition).
    var population: Int { get }
    /// Steps that make one epoch.
    var stepsPerEpoch: Int { get }
    /// The largest batch `batch(at:)` can return; index buffers are sized for it.
    var maximumBatchSize: Int { get }
    /// Row indices of the batch of global step `step`, in `0 ..< population` unless the sampler
    /// maps them (a worker's partition).
    func batch(at step: Int) -> [Int32]
    /// What the summed loss of a batch of `batchSize` rows is divided by: the actual size for
    /// fixed-size batches, the expected size q·N under Poisson sampling (what its privacy
    /// analysis and Opacus use).
    func normaliser(batchSize: Int) -> Float
}
