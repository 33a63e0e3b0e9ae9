#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The value of environment variable `name`, if set.
func environment(_ name: String) -> String? {
    getenv(name).map { String(cString: $0) }
}

/// The whole file, or nil when it cannot be read.
func readWholeFile(_ path: String) -> [UInt8]? {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var result: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 { return nil }
        if n == 0 { return result }
        result += chunk[0..<n]
    }
}

/// Writes `bytes` to `path` (created or truncated); false on any failure.
func writeWholeFile(_ path: String, _ bytes: [UInt8]) -> Bool {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var written = 0
    while written < bytes.count {
        let n = bytes.withUnsafeBytes { raw -> Int in
            guard let base = raw.baseAddress else { return -1 }
            return write(fd, base + written, raw.count - written)
        }
        if n <= 0 { return false }
        written += n
    }
    return true
}

/// `mkdir -p`, ignoring failures (the caller's next open reports them).
func makeDirectories(_ path: String) {
    var current = path.hasPrefix("/") ? "/" : ""
    for component in path.split(separator: "/") {
        if !current.isEmpty && !current.hasSuffix("/") { current += "/" }
        current += component
        mkdir(current, 0o755)
    }
}
