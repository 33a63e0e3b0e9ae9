#if canImport(Glibc)
import Glibc
#endif

/// The result of running one of the package's executables.
struct CommandResult {
    let status: Int32
    let stdout: String
    let stderr: String
}

/// Directory of the built executables: the test runner sits beside them.
let buildDirectory: String = {
    var buffer = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    let path = n > 0 ? String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
    // .build/<triple>/debug/FathomPackageTests.xctest
    return String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)])
}()

/// Runs `.build/…/<tool> arguments` with extra environment variables, capturing both streams
/// through temporary files (no pipe can fill up and block the child).
func run(_ tool: String, _ arguments: [String], environment: [String: String] = [:]) -> CommandResult {
    let stamp = "\(getpid())-\(UInt64.random(in: 0..<UInt64.max))"
    let outPath = "/tmp/fathom-test-\(stamp).out", errPath = "/tmp/fathom-test-\(stamp).err"
    defer { unlink(outPath); unlink(errPath) }
    var env = environment
    env["FATHOM_KERNEL_CACHE"] = env["FATHOM_KERNEL_CACHE"] ?? "/tmp/fathom-test-kernel-cache"
    let assignments = env.map { "\($0.key)='\($0.value)'" }.joined(separator: " ")
    let quoted = ([buildDirectory + "/" + tool] + arguments).map { "'\($0)'" }.joined(separator: " ")
    let status = system("env \(assignments) \(quoted) </dev/null >\(outPath) 2>\(errPath)")
    let exitStatus = (status >> 8) & 0xFF
    return CommandResult(status: Int32(exitStatus), stdout: readText(outPath), stderr: readText(errPath))
}

func readText(_ path: String) -> String {
    guard let file = fopen(path, "r") else { return "" }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&chunk, 1, chunk.count, file)
        if n <= 0 { break }
        bytes += chunk[0..<n]
    }
    return String(decoding: bytes, as: UTF8.self)
}

func writeText(_ path: String, _ text: String) {
    guard let file = fopen(path, "w") else { return }
    fputs(text, file)
    fclose(file)
}

func temporaryDirectory() -> String {
    var template = Array("/tmp/fathom-cli-XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else { return "/tmp" }
    return String(cString: made)
}

/// The `{"event":"final",…}` line's numeric field `key`.
func finalValue(_ stdout: String, _ key: String) -> Double? {
    guard let line = stdout.split(separator: "\n").last(where: { $0.contains("\"event\":\"final\"") }),
          let range = line.firstRange(of: "\"\(key)\":") else { return nil }
    let rest = line[range.upperBound...].prefix { $0 != "," && $0 != "}" }
    return Double(rest)
}

/// NVRTC as the test command installs it (the wheel under `.nvrtc/` of the package), for
/// `bench compile --runtime cuda`; nil when it is not there (then the machine's own is used).
let nvrtcForTests: String? = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    let path = parts.joined(separator: "/") + "/.nvrtc/nvidia/cuda_nvrtc/lib/libnvrtc.so.12"
    return access(path, R_OK) == 0 ? path : nil
}()
