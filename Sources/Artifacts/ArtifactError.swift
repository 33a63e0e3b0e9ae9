#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failure to read or write a training artifact, naming the file and what is wrong with it.
///
/// `description` is a single line of the form `path: message`, suitable for a command-line
/// error report; `kind` lets callers tell a missing file apart from a corrupt one.
public struct ArtifactError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The broad category of a failure.
    public enum Kind: Sendable, Equatable {
        /// A system call failed; `errno` is the value it reported.
        case io(errno: Int32)
        /// The file does not start with the checkpoint magic bytes.
        case notACheckpoint
        /// The file is a checkpoint written in a format version this build cannot read.
        case unsupportedVersion(UInt32)
        /// The file ends before the length recorded in it.
        case truncated
        /// The stored CRC-32 does not match the contents.
        case checksumMismatch
        /// The file passed its checksum but its structure is invalid (a bad length, bad UTF-8...).
        case malformed
    }

    /// The file (or, for in-memory decoding, the name) the error is about.
    public var path: String
    /// The category of the failure.
    public var kind: Kind
    /// What is wrong, without the path.
    public var message: String

    /// Creates an error.
    /// - Parameters:
    ///   - path: the file the error is about.
    ///   - kind: the category of the failure.
    ///   - message: what is wrong, in a few words.
    public init(path: String, kind: Kind, message: String) {
        self.path = path
        self.kind = kind
        self.message = message
    }

    /// `path: message`, with any line breaks replaced by spaces so logs stay one line per error.
    public var description: String {
        String("\(path): \(message)".map { $0.isNewline ? " " : $0 })
    }

    /// An I/O failure with the system's text for `code` appended to `what`.
    static func io(_ path: String, _ what: String, errno code: Int32) -> ArtifactError {
        ArtifactError(path: path, kind: .io(errno: code), message: "\(what): \(systemMessage(code))")
    }
}

/// The C library's text for an `errno` value.
func systemMessage(_ code: Int32) -> String {
    guard let text = strerror(code) else { return "error \(code)" }
    return String(cString: text)
}

extension ArtifactError.Kind {
    /// Whether a system call failed (as opposed to a file that was read but is not valid).
    public var isIO: Bool {
        if case .io = self { return true }
        return false
    }
}
