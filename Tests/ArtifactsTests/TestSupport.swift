#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct TestFailure: Error, CustomStringConvertible {
    var description: String
}

/// A fresh directory under /tmp, removed (with its files) when released.
final class TemporaryDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/fathom-artifacts-test-XXXXXX".utf8CString)
        guard let result = template.withUnsafeMutableBufferPointer({ buffer in
            buffer.baseAddress.flatMap { mkdtemp($0) }
        }) else {
            throw TestFailure(description: "mkdtemp failed: errno \(errno)")
        }
        path = String(cString: result)
    }

    func file(_ name: String) -> String { "\(path)/\(name)" }

    /// Names in the directory, sorted, without "." and "..".
    func entries() -> [String] { listDirectory(path) }

    deinit {
        removeTree(path)
    }
}

func listDirectory(_ path: String) -> [String] {
    guard let directory = opendir(path) else { return [] }
    defer { closedir(directory) }
    var names: [String] = []
    while let entry = readdir(directory) {
        let name = withUnsafePointer(to: &entry.pointee.d_name) {
            String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names.sorted()
}

func removeTree(_ path: String) {
    for name in listDirectory(path) {
        let child = "\(path)/\(name)"
        if unlink(child) != 0 { removeTree(child) }
    }
    rmdir(path)
}

/// Writes `bytes` to `path` directly (not atomically), to plant corrupt or leftover files.
func plantFile(_ path: String, _ bytes: [UInt8]) throws {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard descriptor >= 0 else { throw TestFailure(description: "cannot create \(path)") }
    defer { close(descriptor) }
    let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    guard written == bytes.count else { throw TestFailure(description: "short write to \(path)") }
}

func occurrences(of needle: String, in haystack: String) -> Int {
    var count = 0
    var rest = haystack[...]
    while let range = rest.firstRange(of: needle) {
        count += 1
        rest = rest[range.upperBound...]
    }
    return count
}
