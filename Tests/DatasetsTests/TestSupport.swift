#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Datasets
import Testing

func utf8(_ text: String) -> [UInt8] { Array(text.utf8) }

/// Parses `text` as file `name`; the error when it fails, else nil.
func parseError(
    _ text: String, name: String = "t.csv", options: LoadOptions = LoadOptions()
) -> DataError? {
    parseError(bytes: utf8(text), name: name, options: options)
}

func parseError(bytes: [UInt8], name: String, options: LoadOptions = LoadOptions()) -> DataError? {
    do {
        _ = try DataLoader.parse(bytes: bytes, name: name, options: options)
        return nil
    } catch {
        return error
    }
}

/// Checks that parsing fails at `line` with a message containing `fragment`.
func expectFailure(
    _ text: String, name: String = "t.csv", options: LoadOptions = LoadOptions(), line: Int?,
    _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation
) {
    guard let error = parseError(text, name: name, options: options) else {
        Issue.record("expected a DataError containing \"\(fragment)\"", sourceLocation: sourceLocation)
        return
    }
    #expect(error.file == name, sourceLocation: sourceLocation)
    #expect(error.line == line, "\(error)", sourceLocation: sourceLocation)
    #expect(error.message.contains(fragment), "\(error)", sourceLocation: sourceLocation)
}

func gzip(_ bytes: [UInt8]) throws -> [UInt8] { try Gzip.compress(bytes) }

/// An IDX file: magic `00 00 type dims.count`, big-endian sizes, then `payload`.
func idxFile(type: UInt8, dimensions: [Int], payload: [UInt8]) -> [UInt8] {
    var bytes: [UInt8] = [0, 0, type, UInt8(dimensions.count)]
    for d in dimensions {
        bytes += [UInt8(truncatingIfNeeded: d >> 24), UInt8(truncatingIfNeeded: d >> 16),
                  UInt8(truncatingIfNeeded: d >> 8), UInt8(truncatingIfNeeded: d)]
    }
    return bytes + payload
}

func bigEndian(_ value: UInt32) -> [UInt8] {
    [UInt8(truncatingIfNeeded: value >> 24), UInt8(truncatingIfNeeded: value >> 16),
     UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)]
}

func bigEndian(_ value: UInt64) -> [UInt8] {
    bigEndian(UInt32(truncatingIfNeeded: value >> 32)) + bigEndian(UInt32(truncatingIfNeeded: value))
}

/// A fresh directory under /tmp, removed (with its plain files) after `body`.
func withTemporaryDirectory<T>(_ body: (String) throws -> T) throws -> T {
    var template = Array("/tmp/fathom-datasets-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { buffer -> Bool in
        guard let base = buffer.baseAddress else { return false }
        return mkdtemp(base) != nil
    }
    guard made else { throw TestFailure("mkdtemp failed") }
    let path = template.withUnsafeBufferPointer { buffer in
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
    defer {
        if let dir = opendir(path) {
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                if name != "." && name != ".." { unlink(path + "/" + name) }
            }
            closedir(dir)
        }
        rmdir(path)
    }
    return try body(path)
}

func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else { throw TestFailure("cannot create \(path)") }
    defer { close(fd) }
    var written = 0
    while written < bytes.count {
        let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { throw TestFailure("cannot write \(path)") }
        written += n
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Everything a loader promises about a data set it returns.
func expectValid(_ data: Dataset, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(data.validationProblem() == nil, "\(data.validationProblem() ?? "")",
            sourceLocation: sourceLocation)
    #expect(data.count > 0, sourceLocation: sourceLocation)
    #expect(data.features.count == data.count * data.featureCount, sourceLocation: sourceLocation)
    #expect(data.features.allSatisfy { $0.isFinite }, sourceLocation: sourceLocation)
    #expect(data.labels.allSatisfy { $0 >= 0 && Int($0) < data.classes.count },
            sourceLocation: sourceLocation)
}
