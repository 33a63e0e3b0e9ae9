/// A collective that could not complete.
public enum CommunicatorError: Error, CustomStringConvertible, Equatable, Sendable {
    /// MPI returned `code` from `function`; `message` is MPI's text for it.
    case mpi(function: String, code: Int32, message: String)
    /// A rank of an in-process group stopped taking part (it threw or returned early).
    case groupBroken(String)
    /// The ranks disagree about something that must be the same on all of them.
    case mismatch(String)
    /// A message of more elements than MPI's C int count holds.
    case messageTooLarge(elements: Int)

    public var description: String {
        switch self {
        case .mpi(let function, let code, let message): return "\(function) failed (MPI error \(code)): \(message)"
        case .groupBroken(let what): return "in-process group broken: \(what)"
        case .mismatch(let what): return what
        case .messageTooLarge(let elements):
            return "a message of \(elements) elements is larger than an MPI count (2³¹ − 1); use fewer workers per rank"
        }
    }
}
