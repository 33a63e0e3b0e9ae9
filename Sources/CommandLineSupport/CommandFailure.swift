import Artifacts
import Compute
import Datasets
import Distributed
import Training

#if canImport(Glibc)
import Glibc
#endif

/// Exit statuses of the commands (BSD sysexits where one fits).
public enum ExitStatus {
    /// Bad input data, a corrupt or mismatched checkpoint.
    public static let dataError: Int32 = 65
    /// `--device gpu` without a GPU, or no OpenCL device for `--device opencl`.
    public static let unavailable: Int32 = 69
    /// Training diverged (NaN or infinite loss).
    public static let software: Int32 = 70
    /// The operating system failed a request (its entropy source could not be read).
    public static let osError: Int32 = 71
    /// An input file (a checkpoint to resume) could not be opened.
    public static let noInput: Int32 = 66
    /// A file could not be written.
    public static let cannotCreate: Int32 = 73
}

/// A failure that ends a command with one line on stderr and a specific exit status.
public struct CommandFailure: Error, CustomStringConvertible {
    /// What went wrong, printed after `<command>: `.
    public let message: String
    /// The process exit status, usually one of `ExitStatus`.
    public let status: Int32

    /// A failure with `message` that exits with `status`.
    public init(_ message: String, status: Int32) {
        self.message = message
        self.status = status
    }

    /// Same as `message`.
    public var description: String { message }

    /// The exit status and message for any error the library throws.
    ///
    /// Bad data, unsupported input and corrupt or mismatched checkpoints exit 65; a data file
    /// that cannot be opened 66; a missing device 69; divergence and other compute failures 70; artifact I/O failures 73; a bad
    /// model spec, kernel tuning or buffer size 64 (usage); anything else 1.
    /// - Parameter error: any error; a `CommandFailure` is returned unchanged.
    public static func from(_ error: any Error) -> CommandFailure {
        switch error {
        case let failure as CommandFailure:
            return failure
        case let error as DataError:
            return CommandFailure(error.description, status: error.cannotOpen ? ExitStatus.noInput : ExitStatus.dataError)
        case let error as ComputeError:
            switch error {
            case .noGPU, .noOpenCLDevice, .noCUDADevice: return CommandFailure(error.description, status: ExitStatus.unavailable)
            case .invalidTuning, .bufferTooLarge: return CommandFailure(error.description, status: 64)
            default: return CommandFailure(error.description, status: ExitStatus.software)
            }
        case let error as TrainingError:
            switch error {
            case .diverged, .testLossDiverged: return CommandFailure(error.description, status: ExitStatus.software)
            case .checkpointMismatch, .unsupported: return CommandFailure(error.description, status: ExitStatus.dataError)
            }
        case let error as ArtifactError:
            // Artifacts are written; the one artifact read (a checkpoint to resume) is mapped to
            // noInput where it is read.
            if error.kind.isIO { return CommandFailure(error.description, status: ExitStatus.cannotCreate) }
            return CommandFailure(error.description, status: ExitStatus.dataError)
        case let error as ModelSpecError:
            return CommandFailure(error.description, status: 64)
        case let error as CommunicatorError:
            if case .mismatch = error { return CommandFailure(error.description, status: 64) }
            return CommandFailure(error.description, status: ExitStatus.unavailable)
        default:
            return CommandFailure("\(error)", status: 1)
        }
    }
}

/// Runs `body`; on failure prints `<command>: <message>` on stderr and exits with the failure's
/// status, so every error is one clear line and never a crash dump. Under MPI the line names the
/// rank, and the failure ends every rank of the job (no rank waits for one that is gone).
/// - Parameters:
///   - command: the name that prefixes the error line, e.g. `bench matmul`.
///   - body: the command's work; it returns normally on success.
public func runReportingFailures(command: String, _ body: () throws -> Void) {
    do {
        try body()
        ProcessWorld.finish()
    } catch {
        let failure = CommandFailure.from(error)
        let rank = ProcessWorld.isDistributed ? (try? ProcessWorld.communicator().rank).map { "rank \($0): " } ?? "" : ""
        Console.error("\(command): \(rank)\(failure.message)")
        ProcessWorld.abortJob(status: failure.status)
        exit(failure.status)
    }
}
