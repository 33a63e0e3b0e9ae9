#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Output for the commands. Lines go straight to the file descriptor (no stdio buffering), so a
/// piped `--json` stream is readable line by line while training runs.
public enum Console {
    /// Whether standard output is a terminal (progress bars only then).
    public static var stdoutIsTerminal: Bool { isatty(1) == 1 }

    /// Whether standard output stays silent: the ranks of an MPI job other than rank 0, which
    /// reports for all. Set once, before the command's output begins; errors still print.
    nonisolated(unsafe) public static var isQuiet = false

    /// Writes `text` and a newline to standard output.
    public static func line(_ text: String) {
        if !isQuiet { emit(text + "\n", to: 1) }
    }
    /// Writes `text` and a newline to standard error.
    public static func error(_ text: String) { emit(text + "\n", to: 2) }

    /// Redraws a one-line progress bar in place: `label [=====>      ] done/total`.
    ///
    /// It writes no newline (each call starts with a carriage return), so call it only when
    /// `stdoutIsTerminal`, and call `clearProgress()` before printing the next line.
    public static func progress(_ label: String, done: Int, total: Int) {
        let width = 30
        let filled = total > 0 ? width * done / total : width
        let bar = String(repeating: "=", count: filled) + (filled < width ? ">" : "")
            + String(repeating: " ", count: max(width - filled - 1, 0))
        if !isQuiet { emit("\r\(label) [\(bar)] \(done)/\(total)", to: 1) }
    }

    /// Erases the progress bar line.
    public static func clearProgress() { emit("\r\u{1B}[2K", to: 1) }

    /// Writes all of `text`, retrying interrupted and short writes. Output that cannot be
    /// written (a full disk, a closed file) ends the command with exit 73 rather than letting it
    /// report success with its results lost.
    private static func emit(_ text: String, to fd: Int32) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw -> Int in
                guard let base = raw.baseAddress else { return -1 }
                return write(fd, base + offset, raw.count - offset)
            }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                if fd != 2 {
                    let message = "error: cannot write the output: \(String(cString: strerror(errno)))\n"
                    _ = message.withCString { write(2, $0, strlen($0)) }
                    exit(ExitStatus.cannotCreate)
                }
                return
            }
            offset += n
        }
    }
}
