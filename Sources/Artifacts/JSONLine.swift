#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A JSON object built field by field, keeping the order in which fields were added, for the
/// one-object-per-line `--json` and `--metrics` outputs.
///
/// Numbers use Swift's shortest round-tripping spelling (`0.1`, `1e-05`, `3.0`); NaN and
/// infinities, which JSON cannot express, are written as `null`. Strings are escaped as JSON
/// requires: `\"`, `\\`, the short forms `\b \f \n \r \t`, and `\u00XX` for the other control
/// characters; everything else, non-ASCII included, is written as UTF-8.
public struct JSONObject: Sendable, Equatable, CustomStringConvertible {
    private var keys: [String] = []
    /// Each value already encoded as JSON text, parallel to `keys`.
    private var values: [String] = []

    /// Creates an empty object.
    public init() {}

    /// Sets `key` to already-encoded JSON text. Adding a key again replaces its value in place,
    /// so the output never has duplicate keys.
    private mutating func set(_ key: String, json: String) {
        if let index = keys.firstIndex(of: key) {
            values[index] = json
        } else {
            keys.append(key)
            values.append(json)
        }
    }

    /// Adds a string field.
    /// - Parameters:
    ///   - key: the field name.
    ///   - value: the string, escaped as JSON requires.
    public mutating func add(_ key: String, _ value: String) {
        set(key, json: Self.quoted(value))
    }

    /// Adds an integer field.
    public mutating func add(_ key: String, _ value: Int) {
        set(key, json: String(value))
    }

    /// Adds an unsigned integer field (seeds). Values above 2^53 are exact in the text but some
    /// JSON readers (JavaScript) round them.
    public mutating func add(_ key: String, _ value: UInt64) {
        set(key, json: String(value))
    }

    /// Adds a number field; NaN and infinities become `null`.
    public mutating func add(_ key: String, _ value: Double) {
        set(key, json: Self.number(value))
    }

    /// Adds a number field in `Float`'s own shortest spelling (`0.1`, not `0.10000000149011612`);
    /// NaN and infinities become `null`.
    public mutating func add(_ key: String, _ value: Float) {
        set(key, json: value.isFinite ? value.description : "null")
    }

    /// Adds a `true` or `false` field.
    public mutating func add(_ key: String, _ value: Bool) {
        set(key, json: value ? "true" : "false")
    }

    /// Adds an array of numbers; non-finite elements become `null`.
    public mutating func add(_ key: String, _ value: [Double]) {
        set(key, json: "[" + value.map(Self.number).joined(separator: ",") + "]")
    }

    /// Adds an array of strings.
    public mutating func add(_ key: String, _ value: [String]) {
        set(key, json: "[" + value.map(Self.quoted).joined(separator: ",") + "]")
    }

    /// Adds a nested object.
    public mutating func add(_ key: String, _ value: JSONObject) {
        set(key, json: value.line)
    }

    /// Adds a `null` field.
    public mutating func addNull(_ key: String) {
        set(key, json: "null")
    }

    /// The object as compact JSON on one line, without a trailing newline.
    public var line: String {
        var text = "{"
        for index in keys.indices {
            if index > 0 { text += "," }
            text += Self.quoted(keys[index])
            text += ":"
            text += values[index]
        }
        return text + "}"
    }

    /// Same as `line`.
    public var description: String { line }

    static func number(_ value: Double) -> String {
        value.isFinite ? value.description : "null"
    }

    /// `value` as a JSON string literal, quotes included.
    static func quoted(_ value: String) -> String {
        var text = "\""
        text.reserveCapacity(value.utf8.count + 2)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\u{08}": text += "\\b"
            case "\u{0C}": text += "\\f"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case "\u{00}"..."\u{1F}":
                let hex = String(scalar.value, radix: 16, uppercase: false)
                text += "\\u00" + (hex.count < 2 ? "0" + hex : hex)
            default:
                text.unicodeScalars.append(scalar)
            }
        }
        return text + "\""
    }
}

/// An append-only file of JSON lines, one object per line, for per-epoch metrics.
///
/// The file is opened once. Each line goes to the operating system in a single `write` call
/// as soon as it is appended (there is no buffer in this process to lose), so a reader tailing
/// the file, or a crash, sees only complete lines; lines are not `fsync`ed, as that would cost
/// more than the metrics are worth. The file is closed when the value is released.
public final class MetricsFile: Sendable {
    /// The file being written.
    public let path: String
    private let descriptor: Int32

    /// Opens (creating if needed) the metrics file.
    /// - Parameters:
    ///   - path: the file to write.
    ///   - truncate: start the file empty; by default lines are appended after existing ones,
    ///     which is what a resumed run wants.
    /// - Throws: `ArtifactError` naming `path` if it cannot be opened.
    public init(path: String, truncate: Bool = false) throws(ArtifactError) {
        let flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0)
        let descriptor = open(path, flags, 0o644)
        if descriptor < 0 {
            let code = errno
            throw ArtifactError.io(path, "cannot open metrics file", errno: code)
        }
        self.path = path
        self.descriptor = descriptor
    }

    deinit {
        _ = close(descriptor)
    }

    /// Appends `object` as one line.
    /// - Parameter object: the record to write.
    /// - Throws: `ArtifactError` naming the file if the write fails.
    public func append(_ object: JSONObject) throws(ArtifactError) {
        try append(line: object.line)
    }

    /// Appends `line` followed by a newline. `line` should not itself contain a newline.
    /// - Parameter line: the text to write.
    /// - Throws: `ArtifactError` naming the file if the write fails.
    public func append(line: String) throws(ArtifactError) {
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        try AtomicFile.writeAll(bytes, to: descriptor, path: path)
    }
}
