#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file that could not be read or written: the path, the `errno` and what was being done.
/// Each module turns it into its own error (a data error, an artifact error).
public struct FileIOError: Error, Sendable, Equatable, CustomStringConvertible {
    public let path: String
    public let errno: Int32
    /// What failed, e.g. "cannot open" or "is a directory".
    public let message: String

    public init(path: String, errno: Int32, message: String) {
        self.path = path
        self.errno = errno
        self.message = message
    }

    /// "PATH: message: strerror".
    public var description: String { "\(path): \(message): \(FileIO.errorText(errno))" }
}

/// Whole-file reads and writes through the system calls, with the retries (EINTR, short writes)
/// and checks (directories, sizes) that every caller needs and is easy to forget.
public enum FileIO {
    /// The whole file at `path`.
    /// - Throws: `FileIOError` when it cannot be opened or read, or is a directory.
    public static func read(_ path: String) throws(FileIOError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        if descriptor < 0 { throw FileIOError(path: path, errno: errno, message: "cannot open") }
        defer { _ = close(descriptor) }
        var info = stat()
        var bytes: [UInt8] = []
        if fstat(descriptor, &info) == 0 {
            if (info.st_mode & S_IFMT) == S_IFDIR {
                throw FileIOError(path: path, errno: EISDIR, message: "is a directory")
            }
            if info.st_size > 0 { bytes.reserveCapacity(Int(info.st_size)) }
        }
        let chunkSize = 1 << 20
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        while true {
            let count = chunk.withUnsafeMutableBytes { systemRead(descriptor, $0.baseAddress, chunkSize) }
            if count < 0 {
                let code = errno
                if code == EINTR { continue }
                throw FileIOError(path: path, errno: code, message: "cannot read")
            }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<count])
        }
    }

    /// Writes all of `bytes` to `descriptor`, retrying short writes and interruptions.
    /// - Throws: `FileIOError` naming `path`.
    public static func writeAll(_ bytes: [UInt8], to descriptor: Int32, path: String) throws(FileIOError) {
        var failure: Int32 = 0
        bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            var offset = 0
            while offset < buffer.count {
                let written = systemWrite(descriptor, base + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                offset += written
            }
        }
        if failure != 0 { throw FileIOError(path: path, errno: failure, message: "cannot write") }
    }

    /// Creates or truncates `path` and writes `bytes` to it (not atomically: for caches and
    /// temporary files that are renamed into place by the caller).
    /// - Throws: `FileIOError` naming `path`.
    public static func write(_ bytes: [UInt8], to path: String) throws(FileIOError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if descriptor < 0 { throw FileIOError(path: path, errno: errno, message: "cannot create") }
        defer { _ = close(descriptor) }
        try writeAll(bytes, to: descriptor, path: path)
    }

    /// The directory part of `path`: "." for a bare file name, "/" for a file in the root.
    public static func directoryName(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[path.startIndex..<slash])
    }

    /// `strerror(code)`, or "error N".
    public static func errorText(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "error \(code)" }
        return String(cString: text)
    }
}

// Free functions, so that the system calls stay unambiguous inside types that have their own
// `read` and `write` members.
@inline(__always)
func systemRead(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(descriptor, buffer, count)
}

@inline(__always)
func systemWrite(_ descriptor: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
    write(descriptor, buffer, count)
}
