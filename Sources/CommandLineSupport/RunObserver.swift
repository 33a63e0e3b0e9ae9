import Artifacts
import Training

/// What an algorithm adds to the shared run loop (`SupervisedRun`) besides its stages: figures
/// for every epoch line and the final record, facts it keeps in checkpoints and reads back on
/// resume, and a step limit (a privacy budget). Every requirement has a default that adds
/// nothing.
public protocol RunObserver: AnyObject {
    /// Called with the checkpoint a run resumes from, before the stages are built (so that they
    /// can account for what the checkpoint already spent).
    /// - Throws: `CommandFailure` or `TrainingError.checkpointMismatch` when the checkpoint's
    ///   facts do not fit this run.
    func resume(from checkpoint: Checkpoint) throws
    /// The total step count the run must not pass, asked once the stages are built and the
    /// checkpoint restored; nil for none. `plannedSteps` is the step count `--epochs` asks for.
    func stepLimit(_ trainer: Trainer, plannedSteps: Int) -> Int?
    /// Why the run stopped at its step limit, for the final record and the last text line.
    func stopReason(_ trainer: Trainer) -> String
    /// Figures added to every epoch line and to the final record.
    func epochMetrics(_ trainer: Trainer) -> [(String, Double)]
    /// Further fields of the final record (after the epoch metrics).
    func addFinalFields(_ trainer: Trainer, to record: inout JSONObject)
    /// Facts written into every checkpoint's metadata beside the run's own.
    func checkpointMetadata(_ trainer: Trainer) -> [String: String]
    /// The seed of the batch samplers instead of the run's (a secret one under DP's secure
    /// randomness); nil for the run's.
    var samplingSeed: UInt64? { get }
}

extension RunObserver {
    public func resume(from checkpoint: Checkpoint) throws {}
    public func stepLimit(_ trainer: Trainer, plannedSteps: Int) -> Int? { nil }
    public func stopReason(_ trainer: Trainer) -> String { "step limit" }
    public func epochMetrics(_ trainer: Trainer) -> [(String, Double)] { [] }
    public func addFinalFields(_ trainer: Trainer, to record: inout JSONObject) {}
    public func checkpointMetadata(_ trainer: Trainer) -> [String: String] { [:] }
    public var samplingSeed: UInt64? { nil }
}

/// An observer that only adds figures to the epoch lines, from a closure.
public final class EpochMetrics: RunObserver {
    private let metrics: (Trainer) -> [(String, Double)]

    public init(_ metrics: @escaping (Trainer) -> [(String, Double)]) {
        self.metrics = metrics
    }

    public func epochMetrics(_ trainer: Trainer) -> [(String, Double)] { metrics(trainer) }
}
