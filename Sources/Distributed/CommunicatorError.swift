/// A collective that could not complete.
public enum CommunicatorError: Error, CustomStringConvertible, Equatable {
    /// MPI returned `code` from `function`; `message` is MPI's text for it.
    case mpi(function: String, code: Int32, message: String)
    /// A rank of an in-process group stopped taking part (it threw or returned early).
    case groupBroken(String)
    /// The ranks disagree about something that must be the same on all of them.
    case mismatch(String)

    public var description: String {
        switch self {
        case .mpi(let function, let code, let message): return "\(function) failed (MPI error \(code)): \(message)"
        case .groupBroken(let what): return "in-process group broken: \(what)"
        case .mismatch(let what): return what
        }
    }
}
