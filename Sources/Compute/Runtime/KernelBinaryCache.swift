import SystemIO

#if canImport(Glibc)
import Glibc
#endif

/// Compiled kernel binaries on disk, shared by the runtimes (OpenCL program binaries, CUDA
/// cubins), so that a second run skips the compiler.
///
/// An entry is keyed by a 128-bit hash of everything that determines the binary (the runtime
/// passes source, options, device, driver and compiler versions, and its format version), so any
/// edit, tuning change or upgrade misses. Entries are written to a temporary file and renamed into
/// place (atomic for concurrent processes) and carry a checksum; a corrupt or stale entry is
/// removed and rebuilt from source without a word.
public struct KernelBinaryCache: Sendable {
    /// The folder holding the entries.
    public let directory: String
    /// The entry header: says which runtime wrote it.
    private let magic: [UInt8]

    /// A cache in `directory` for entries tagged `magic` (8 ASCII bytes, e.g. "FATHOMCL").
    public init(directory: String, magic: String) {
        self.directory = directory
        self.magic = Array(magic.utf8)
    }

    /// The cache directory: `$FATHOM_KERNEL_CACHE` when set (`off`, `0` or empty disables the
    /// cache), else `$XDG_CACHE_HOME/fathom/kernels`, else `~/.cache/fathom/kernels`.
    public static func defaultDirectory() -> String? {
        if let value = environment("FATHOM_KERNEL_CACHE") {
            return value.isEmpty || value == "off" || value == "0" ? nil : value
        }
        if let xdg = environment("XDG_CACHE_HOME"), !xdg.isEmpty { return xdg + "/fathom/kernels" }
        if let home = environment("HOME"), !home.isEmpty { return home + "/.cache/fathom/kernels" }
        return nil
    }

    /// The path of entry `name` (a build name) for key material `key`.
    public func path(name: String, key: [String]) -> String {
        "\(directory)/\(name)-\(Self.hashHex(key.joined(separator: "\u{1}"))).bin"
    }

    // MARK: - Entries: magic, 8-byte checksum, 8-byte length, binary

    /// The binary stored at `path`, or nil (a damaged entry is removed).
    public func load(_ path: String) -> [UInt8]? {
        guard let bytes = try? FileIO.read(path) else { return nil }
        let header = magic.count + 16
        guard bytes.count > header, Array(bytes[0..<magic.count]) == magic else {
            unlink(path)
            return nil
        }
        let checksum = littleEndian(bytes[magic.count..<magic.count + 8])
        let length = littleEndian(bytes[magic.count + 8..<header])
        let binary = Array(bytes[header...])
        guard UInt64(binary.count) == length, FNV1a.hash(binary) == checksum else {
            unlink(path)
            return nil
        }
        return binary
    }

    /// Removes an entry the runtime could not load.
    public func remove(_ path: String) {
        unlink(path)
    }

    /// Best effort: a cache that cannot be written only costs a compile next time.
    public func store(_ binary: [UInt8], at path: String) {
        var bytes = magic
        let checksum = FNV1a.hash(binary)
        for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: checksum >> (8 * i))) }
        for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: UInt64(binary.count) >> (8 * i))) }
        bytes += binary
        makeDirectories(directory)
        let temporary = "\(path).\(getpid()).tmp"
        do {
            try FileIO.write(bytes, to: temporary)
            if rename(temporary, path) != 0 { unlink(temporary) }
        } catch {
            unlink(temporary)
        }
    }

    private func littleEndian(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        bytes.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * $1.offset) }
    }

    // MARK: - Hashing

    /// 128 bits from two FNV-1a passes with different offset bases, as 32 hex digits.
    static func hashHex(_ text: String) -> String {
        let bytes = Array(text.utf8)
        let high = FNV1a.hash(bytes)
        let low = FNV1a.hash(bytes.reversed(), basis: 0x6c62_272e_07bb_0142)
        func hex(_ v: UInt64) -> String {
            let digits = String(v, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }
        return hex(high) + hex(low)
    }
}
