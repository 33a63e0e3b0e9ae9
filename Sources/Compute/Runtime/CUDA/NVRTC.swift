import CCUDA

#if canImport(Glibc)
import Glibc
#endif

/// NVIDIA's run-time compiler (`libnvrtc.so`), loaded with `dlopen`. It needs no GPU: CI compiles
/// every kernel family through it (`bench compile --runtime cuda`).
///
/// Which library: `$FATHOM_NVRTC` (a file) when set; else the machine's own (the dynamic
/// loader's path, then `$CUDA_HOME`/`/usr/local/cuda`, then PyTorch's and the `nvidia-*` Python
/// wheels beside it in any site-packages); else the wheel the test command installs under
/// `.nvrtc/` of the current directory.
public final class NVRTC: @unchecked Sendable {
    /// The library file that was loaded.
    public let path: String
    /// NVRTC's version, e.g. (12, 9).
    public let version: (major: Int, minor: Int)

    private let entries: Entries
    private let library: DynamicLibrary

    /// The entry points the package calls.
    private struct Entries {
        let create: fathom_nvrtcCreateProgram
        let destroy: fathom_nvrtcDestroyProgram
        let compileProgram: fathom_nvrtcCompileProgram
        let logSize: fathom_nvrtcGetProgramLogSize
        let getLog: fathom_nvrtcGetProgramLog
        let cubinSize: fathom_nvrtcGetCUBINSize
        let getCubin: fathom_nvrtcGetCUBIN
        let errorString: fathom_nvrtcGetErrorString
    }

    /// The libraries tried, in order.
    public static func candidates() -> [String] {
        var paths: [String] = []
        if let explicit = environment("FATHOM_NVRTC"), !explicit.isEmpty { return [explicit] }
        paths += ["libnvrtc.so", "libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2"]
        for home in [environment("CUDA_HOME"), environment("CUDA_PATH"), "/usr/local/cuda"].compactMap({ $0 }) {
            paths += globPaths(home + "/lib64/libnvrtc.so*").filter(isMainLibrary)
        }
        paths += pythonWheelLibraries(["nvidia/cuda_nvrtc/lib/libnvrtc.so*", "nvidia/cu13/lib/libnvrtc.so*",
                                       "torch/lib/libnvrtc*.so*"])
        paths += globPaths(".nvrtc/nvidia/cuda_nvrtc/lib/libnvrtc.so*").filter(isMainLibrary)
        return paths
    }

    /// The first NVRTC of `candidates` whose major version is at most `maximumMajor`
    /// (the driver's: a cubin of a newer major CUDA version does not load on an older driver;
    /// within one major version minor-version compatibility loads it).
    /// - Throws: `ComputeError.noNVRTC` listing what was tried.
    public static func load(candidates: [String] = NVRTC.candidates(), maximumMajor: Int? = nil)
        throws(ComputeError) -> NVRTC
    {
        var tried: [String] = []
        for candidate in candidates {
            guard let library = DynamicLibrary(firstOf: [candidate]) else {
                tried.append(candidate)
                continue
            }
            do throws(ComputeError) {
                let (entries, version) = try open(library, maximumMajor: maximumMajor)
                return NVRTC(library: library, entries: entries, version: version)
            } catch {
                tried.append("\(candidate) (\(error.description))")
            }
        }
        throw ComputeError.noNVRTC(tried: tried)
    }

    private init(library: DynamicLibrary, entries: Entries, version: (major: Int, minor: Int)) {
        self.library = library
        self.entries = entries
        self.version = version
        path = library.path
    }

    private static func open(_ library: DynamicLibrary, maximumMajor: Int?)
        throws(ComputeError) -> (Entries, (major: Int, minor: Int))
    {
        guard let versionFunction = library.symbol("nvrtcVersion", as: fathom_nvrtcVersion.self),
              let create = library.symbol("nvrtcCreateProgram", as: fathom_nvrtcCreateProgram.self),
              let destroy = library.symbol("nvrtcDestroyProgram", as: fathom_nvrtcDestroyProgram.self),
              let compileProgram = library.symbol("nvrtcCompileProgram", as: fathom_nvrtcCompileProgram.self),
              let logSize = library.symbol("nvrtcGetProgramLogSize", as: fathom_nvrtcGetProgramLogSize.self),
              let getLog = library.symbol("nvrtcGetProgramLog", as: fathom_nvrtcGetProgramLog.self),
              let cubinSize = library.symbol("nvrtcGetCUBINSize", as: fathom_nvrtcGetCUBINSize.self),
              let getCubin = library.symbol("nvrtcGetCUBIN", as: fathom_nvrtcGetCUBIN.self),
              let errorString = library.symbol("nvrtcGetErrorString", as: fathom_nvrtcGetErrorString.self)
        else {
            throw ComputeError.nvrtc(call: library.path, message: "lacks the NVRTC 11.2+ entry points")
        }
        var major: Int32 = 0, minor: Int32 = 0
        _ = versionFunction(&major, &minor)
        if let maximumMajor, Int(major) > maximumMajor {
            throw ComputeError.nvrtc(call: "NVRTC \(major).\(minor)", message: "newer than the driver's CUDA \(maximumMajor)")
        }
        let entries = Entries(create: create, destroy: destroy, compileProgram: compileProgram, logSize: logSize,
                              getLog: getLog, cubinSize: cubinSize, getCubin: getCubin, errorString: errorString)
        return (entries, (Int(major), Int(minor)))
    }

    /// "NVRTC 12.9 (path)".
    public var description: String { "NVRTC \(version.major).\(version.minor) (\(path))" }

    /// A compiled program: the cubin and the compiler's log (warnings, and ptxas's resource
    /// report when asked for).
    public struct Output: Sendable {
        public var cubin: [UInt8]
        public var log: String
    }

    /// Compiles `source` (CUDA C++ with the compatibility prelude already in it) to a cubin for
    /// `architecture` (e.g. "sm_90"), with `defines` and, when `resourceUsage`, ptxas's register
    /// and spill report in the log.
    /// - Throws: `ComputeError.build(family: name, log:)` with the whole log when it does not
    ///   compile; `ComputeError.nvrtc` when NVRTC itself fails.
    public func compile(_ source: String, name: String, architecture: String, defines: [String: String],
                        resourceUsage: Bool = false) throws(ComputeError) -> Output {
        var program: nvrtcProgram?
        let created = entries.create(&program, source, "Kernels/\(name).cu", 0, nil, nil)
        guard created == 0, let program else {
            throw ComputeError.nvrtc(call: "nvrtcCreateProgram(\(name))", message: message(created))
        }
        defer {
            var doomed: nvrtcProgram? = program
            _ = entries.destroy(&doomed)
        }
        // -default-device makes the OpenCL-style `static` helpers device functions; a cubin for
        // the exact architecture loads on drivers older than this NVRTC, where PTX would not.
        let options = ["--gpu-architecture=\(architecture)", "-default-device", "-std=c++17"]
            + (resourceUsage ? ["--ptxas-options=-v"] : [])
            + defines.sorted { $0.key < $1.key }.map { "--define-macro=\($0.key)=\($0.value)" }
        let status = withCStrings(options) { entries.compileProgram(program, Int32(options.count), $0) }
        var size = 0
        _ = entries.logSize(program, &size)
        var logBytes = [CChar](repeating: 0, count: size + 1)
        _ = entries.getLog(program, &logBytes)
        let log = logBytes.withUnsafeBufferPointer { $0.baseAddress.map { String(cString: $0) } ?? "" }
        // NVRTC_ERROR_COMPILATION (6): the source is at fault, and the log says where.
        if status == 6 { throw ComputeError.build(family: name, log: log) }
        guard status == 0 else { throw ComputeError.nvrtc(call: "nvrtcCompileProgram(\(name))", message: message(status)) }
        var cubinBytes = 0
        guard entries.cubinSize(program, &cubinBytes) == 0, cubinBytes > 0 else {
            throw ComputeError.nvrtc(call: "nvrtcGetCUBINSize(\(name))", message: "no cubin for \(architecture)")
        }
        var cubin = [UInt8](repeating: 0, count: cubinBytes)
        let got = cubin.withUnsafeMutableBufferPointer { pointer in
            entries.getCubin(program, UnsafeMutableRawPointer(pointer.baseAddress)?.assumingMemoryBound(to: CChar.self))
        }
        guard got == 0 else { throw ComputeError.nvrtc(call: "nvrtcGetCUBIN(\(name))", message: message(got)) }
        return Output(cubin: cubin, log: log)
    }

    private func message(_ result: nvrtcResult) -> String {
        entries.errorString(result).map { String(cString: $0) } ?? "NVRTC error \(result)"
    }
}

/// ptxas's resource report in a compile log, summed over a program's kernels as their maximum:
/// registers per thread and spill bytes (stores plus loads).
public struct RegisterUsage: Sendable, Hashable {
    public init(registers: Int, spillBytes: Int) {
        self.registers = registers
        self.spillBytes = spillBytes
    }

    public var registers: Int
    public var spillBytes: Int

    /// Parses lines such as `ptxas info    : Used 64 registers, ...` and
    /// `ptxas         .     0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads`.
    public init?(ptxasLog log: String) {
        var registers: Int?, spills = 0
        for line in log.split(separator: "\n") {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "," })
            var lineSpills = 0
            for (i, word) in words.enumerated() where i >= 2 {
                if word == "registers", let n = Int(words[i - 1]) { registers = max(registers ?? 0, n) }
                if word == "spill", words[i - 1] == "bytes", let n = Int(words[i - 2]) { lineSpills += n }
            }
            spills = max(spills, lineSpills)
        }
        guard let registers else { return nil }
        self.registers = registers
        self.spillBytes = spills
    }
}

/// Libraries matching `patterns` (relative to a site-packages folder) in every Python
/// installation we know where to look for: a virtual environment, the system's, the user's,
/// pyenv's and conda's. PyTorch's pip wheels bring NVRTC and cuBLAS this way.
func pythonWheelLibraries(_ patterns: [String]) -> [String] {
    let sitePackages = [environment("VIRTUAL_ENV").map { $0 + "/lib/python3*/site-packages" },
                        "/usr/local/lib/python3*/dist-packages", "/usr/local/lib/python3*/site-packages",
                        "/usr/lib/python3/dist-packages",
                        environment("HOME").map { $0 + "/.local/lib/python3*/site-packages" },
                        environment("HOME").map { $0 + "/.pyenv/versions/*/lib/python3*/site-packages" },
                        "/opt/conda/lib/python3*/site-packages"].compactMap { $0 }
    return sitePackages.flatMap { site in patterns.flatMap { globPaths(site + "/" + $0) } }.filter(isMainLibrary)
}

/// Leaves out NVRTC's builtins library and the wheels' alternative builds, which are not the
/// entry library.
private func isMainLibrary(_ path: String) -> Bool {
    !path.contains("builtins") && !path.contains(".alt.")
}

/// Calls `body` with `strings` as a C array of C strings.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
    let pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    defer { for pointer in pointers { free(pointer) } }
    let constant = pointers.map { $0.map { UnsafePointer($0) } }
    return constant.withUnsafeBufferPointer { body($0.baseAddress) }
}
