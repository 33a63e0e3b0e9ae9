/// Why training stopped early.
public enum TrainingError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The loss became NaN or infinite at `step` (1-based within `epoch`, also 1-based).
    case diverged(epoch: Int, step: Int, globalStep: Int)
    /// The training loss stayed finite but the test loss after `epoch` did not: the parameters
    /// have blown up, so they must not be checkpointed.
    case testLossDiverged(epoch: Int)
    /// A checkpoint that does not belong to this run.
    case checkpointMismatch(String)
    /// Input the engine cannot handle (the message says what and the limit).
    case unsupported(String)

    /// One line for a command-line error; for divergence, with a hint on what to change.
    public var description: String {
        switch self {
        case .diverged(let epoch, let step, let globalStep):
            return "training diverged: the loss became NaN or infinite in epoch \(epoch), step \(step) "
                + "(global step \(globalStep)); lower --lr or check the data scaling"
        case .testLossDiverged(let epoch):
            return "training diverged: the test loss became NaN or infinite after epoch \(epoch); "
                + "lower --lr or check the data scaling"
        case .checkpointMismatch(let message):
            return message
        case .unsupported(let message):
            return "unsupported: \(message)"
        }
    }
}
