import COpenCL
import KernelSources
import SystemIO

#if canImport(Glibc)
import Glibc
#endif

/// Compiled kernel programs, kept in memory for the life of a device and on disk across runs.
///
/// A disk entry is keyed by a 128-bit hash of the kernel source, the build options, the device
/// name, the driver version and `formatVersion`, so any edit, tuning change or driver upgrade
/// misses. Entries are written to a temporary file and renamed into place (atomic for concurrent
/// processes) and carry a checksum of the binary; a corrupt, stale or unloadable entry is removed
/// and rebuilt from source without a word.
public final class OpenCLProgramCache: @unchecked Sendable {
    /// Bump when the on-disk layout or the meaning of a key changes.
    static let formatVersion = 1
    private static let magic: [UInt8] = Array("FATHOMCL".utf8)

    let directory: String?
    private let context: cl_context
    private let device: OpenCLDeviceInfo
    private let lock = Lock()
    private var programs: [String: cl_program] = [:]
    /// Disk-cache hits since creation (for tests).
    public private(set) var diskHits = 0

    init(context: cl_context, device: OpenCLDeviceInfo, directory: String?) {
        self.context = context
        self.device = device
        self.directory = directory
    }

    deinit {
        for program in programs.values { clReleaseProgram(program) }
    }

    /// The cache directory: `$FATHOM_KERNEL_CACHE` when set (`off` or empty disables the cache),
    /// else `$XDG_CACHE_HOME/fathom/kernels`, else `~/.cache/fathom/kernels`.
    public static func defaultDirectory() -> String? {
        if let value = environment("FATHOM_KERNEL_CACHE") {
            return value.isEmpty || value == "off" || value == "0" ? nil : value
        }
        if let xdg = environment("XDG_CACHE_HOME"), !xdg.isEmpty { return xdg + "/fathom/kernels" }
        if let home = environment("HOME"), !home.isEmpty { return home + "/.cache/fathom/kernels" }
        return nil
    }

    /// The built program of kernel family `family` (`Kernels/<family>.cl`) with `defines`.
    func program(family: String, defines: [String: String]) throws -> cl_program {
        guard let text = fathom_kernel_source(family) else {
            preconditionFailure("no embedded kernel family \(family)")
        }
        // The #line directive makes build errors name the kernel file instead of a temp file.
        let source = "#line 1 \"Kernels/\(family).cl\"\n" + String(cString: text)
        let options = (["-cl-std=CL1.2"] + defines.sorted { $0.key < $1.key }.map { "-D \($0.key)=\($0.value)" })
            .joined(separator: " ")
        let memoryKey = family + "|" + options
        return try lock.withLock {
            if let program = programs[memoryKey] { return program }
            let key = Self.hashHex([String(Self.formatVersion), source, options, device.platformName,
                                    device.name, device.driverVersion, device.deviceVersion].joined(separator: "\u{1}"))
            let path = directory.map { "\($0)/\(family)-\(key).bin" }
            if let path, let program = loadBinary(path: path, options: options) {
                diskHits += 1
                programs[memoryKey] = program
                return program
            }
            let program = try build(source: source, options: options, family: family)
            if let path { storeBinary(program, path: path) }
            programs[memoryKey] = program
            return program
        }
    }

    private func build(source: String, options: String, family: String) throws -> cl_program {
        var status: cl_int = 0
        let created = source.withCString { pointer -> cl_program? in
            var strings: UnsafePointer<CChar>? = pointer
            return clCreateProgramWithSource(context, 1, &strings, nil, &status)
        }
        guard let program = created, status == CL_SUCCESS else {
            throw ComputeError.openCL(call: "clCreateProgramWithSource(\(family))", code: status)
        }
        var deviceID: cl_device_id? = device.id
        let built = clBuildProgram(program, 1, &deviceID, options, nil, nil)
        if built != CL_SUCCESS {
            let log = buildLog(program)
            clReleaseProgram(program)
            if built == CL_BUILD_PROGRAM_FAILURE { throw ComputeError.build(family: family, log: log) }
            throw ComputeError.openCL(call: "clBuildProgram(\(family))", code: built)
        }
        return program
    }

    private func buildLog(_ program: cl_program) -> String {
        var size = 0
        clGetProgramBuildInfo(program, device.id, cl_program_build_info(CL_PROGRAM_BUILD_LOG), 0, nil, &size)
        var bytes = [CChar](repeating: 0, count: size + 1)
        clGetProgramBuildInfo(program, device.id, cl_program_build_info(CL_PROGRAM_BUILD_LOG), size, &bytes, nil)
        return cString(bytes)
    }

    // MARK: - Disk entries: magic, 8-byte checksum, 8-byte length, binary

    private func loadBinary(path: String, options: String) -> cl_program? {
        guard let bytes = try? FileIO.read(path) else { return nil }
        let header = Self.magic.count + 16
        guard bytes.count > header, Array(bytes[0..<Self.magic.count]) == Self.magic else {
            unlink(path)
            return nil
        }
        let checksum = bytes[Self.magic.count..<Self.magic.count + 8].enumerated()
            .reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * $1.offset) }
        let length = bytes[Self.magic.count + 8..<header].enumerated()
            .reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * $1.offset) }
        let binary = Array(bytes[header...])
        guard UInt64(binary.count) == length, Self.fnv1a(binary, basis: 0xcbf2_9ce4_8422_2325) == checksum else {
            unlink(path)
            return nil
        }
        var status: cl_int = 0, binaryStatus: cl_int = 0
        var deviceID: cl_device_id? = device.id
        let program = binary.withUnsafeBufferPointer { pointer -> cl_program? in
            var size = pointer.count
            var base: UnsafePointer<UInt8>? = pointer.baseAddress
            return clCreateProgramWithBinary(context, 1, &deviceID, &size, &base, &binaryStatus, &status)
        }
        guard let program, status == CL_SUCCESS, binaryStatus == CL_SUCCESS else {
            if let program { clReleaseProgram(program) }
            unlink(path)
            return nil
        }
        guard clBuildProgram(program, 1, &deviceID, options, nil, nil) == CL_SUCCESS else {
            clReleaseProgram(program)
            unlink(path)
            return nil
        }
        return program
    }

    /// Best effort: a cache that cannot be written only costs a compile next time.
    private func storeBinary(_ program: cl_program, path: String) {
        guard let directory else { return }
        var size = 0
        guard clGetProgramInfo(program, cl_program_info(CL_PROGRAM_BINARY_SIZES), MemoryLayout<Int>.size,
                               &size, nil) == CL_SUCCESS, size > 0 else { return }
        var binary = [UInt8](repeating: 0, count: size)
        let status = binary.withUnsafeMutableBufferPointer { pointer -> cl_int in
            var base: UnsafeMutablePointer<UInt8>? = pointer.baseAddress
            return clGetProgramInfo(program, cl_program_info(CL_PROGRAM_BINARIES),
                                    MemoryLayout<UnsafeMutablePointer<UInt8>?>.size, &base, nil)
        }
        guard status == CL_SUCCESS else { return }
        var bytes = Self.magic
        let checksum = Self.fnv1a(binary, basis: 0xcbf2_9ce4_8422_2325)
        for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: checksum >> (8 * i))) }
        for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: UInt64(size) >> (8 * i))) }
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

    // MARK: - Hashing

    static func fnv1a<S: Sequence<UInt8>>(_ bytes: S, basis: UInt64) -> UInt64 {
        var hash = basis
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return hash
    }

    /// 128 bits from two FNV-1a passes with different offset bases, as 32 hex digits.
    static func hashHex(_ text: String) -> String {
        let bytes = Array(text.utf8)
        let high = fnv1a(bytes, basis: 0xcbf2_9ce4_8422_2325)
        let low = fnv1a(bytes.reversed(), basis: 0x6c62_272e_07bb_0142)
        func hex(_ v: UInt64) -> String {
            let digits = String(v, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }
        return hex(high) + hex(low)
    }
}
