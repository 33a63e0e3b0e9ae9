import ArgumentParser
import Artifacts
import CommandLineSupport
import Compute
import SystemIO
import Philox
import Training

/// One line of bench output: a validated measurement of one kernel on one backend.
struct Measurement {
    var kernel: String
    var device: DeviceKind
    var backend: String
    var deviceName: String
    var shape: String
    var seconds: [Double]
    var flops: Double? = nil
    var bytes: Double? = nil
    var validated: Bool
    /// "events" (OpenCL profiling or CUDA events, kernel time only) or "wall" (host clock around a
    /// synchronised run).
    var timing = "wall"
    /// Kernel tuning overrides in force, e.g. "TILE_M=128 WPT_M=8" (sweeps only).
    var config: String?
    var extra: [(String, Double)] = []

    var median: Double { seconds.sorted()[seconds.count / 2] }
    var minimum: Double { seconds.min() ?? .nan }
    var gflops: Double? { flops.map { $0 / median / 1e9 } }
    var gigabytesPerSecond: Double? { bytes.map { $0 / median / 1e9 } }

    var json: JSONObject {
        var o = JSONObject()
        o.add("kernel", kernel)
        o.add("device", device.rawValue)
        o.add("backend", backend)
        o.add("device_name", deviceName)
        o.add("shape", shape)
        o.add("ms_median", median * 1e3)
        o.add("ms_min", minimum * 1e3)
        o.add("repeats", seconds.count)
        if let gflops { o.add("gflops", gflops) }
        if let flops { o.add("gflops_best", flops / minimum / 1e9) }
        if let gigabytesPerSecond { o.add("gbps", gigabytesPerSecond) }
        o.add("validated", validated)
        o.add("timing", timing)
        if let config { o.add("config", config) }
        for (key, value) in extra { o.add(key, value) }
        return o
    }

    var text: String {
        var line = "\(pad(kernel, 8)) \(pad(device.rawValue, 6)) \(pad(backend, 8)) \(pad(shape, 20)) "
            + "median \(pad(format(median * 1e3, 3), 9)) ms  min \(pad(format(minimum * 1e3, 3), 9)) ms"
        if let gflops { line += "  \(pad(format(gflops, 1), 8)) GFLOPS" }
        if let gigabytesPerSecond { line += "  \(pad(format(gigabytesPerSecond, 2), 7)) GB/s" }
        for (key, value) in extra { line += "  \(key) \(format(value, 3))" }
        if let config { line += "  [\(config)]" }
        return line + (validated ? "" : "  NOT VALIDATED")
    }
}

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}

/// Prints measurements as text or JSON lines.
struct Reporter {
    let json: Bool
    func report(_ m: Measurement) { Console.line(json ? m.json.line : m.text) }
    func note(_ text: String) { if !json { Console.line(text) } }
}

/// Wall-clock seconds of `body` from an idle device until its work is done (it synchronises
/// before and after).
func wallSeconds(_ device: any Device, _ body: () throws -> Void) throws -> Double {
    try device.synchronize()
    let clock = ContinuousClock()
    let start = clock.now
    try body()
    try device.synchronize()
    return seconds(clock.now - start)
}

/// Seconds of one run of `body`: kernel time from profiling events on a kernel device (OpenCL,
/// CUDA), wall-clock time on the CPU (which runs synchronously).
func kernelSeconds(_ device: any Device, _ body: () throws -> Void) throws -> Double {
    if let kernels = device as? KernelDevice { return try kernels.deviceTime(body) }
    return try wallSeconds(device, body)
}

/// How `kernelSeconds` times `device`: "events" or "wall".
func kernelTiming(_ device: any Device) -> String {
    device is KernelDevice ? "events" : "wall"
}

/// `--kernel-define family:NAME=VALUE` (repeatable), merged over `FATHOM_KERNEL_DEFINES`.
struct TuningOptions: ParsableArguments {
    @Option(name: .customLong("kernel-define"),
            help: "Kernel tuning override build:NAME=VALUE, e.g. matmul:TILE_M=128 or matmul-narrow:TILE_N=16 (repeatable; also FATHOM_KERNEL_DEFINES; the knobs are listed by bench compile --knobs).")
    var kernelDefines: [String] = []

    func merged() throws -> KernelDefines {
        var defines = try environmentKernelDefines()
        for (family, values) in try parseKernelDefines(kernelDefines.joined(separator: ",")) {
            defines[family, default: [:]].merge(values) { $1 }
        }
        return defines
    }
}

/// `--device cpu,opencl,cuda`: the backends to run side by side; `auto` resolves once.
func parseDevices(_ text: String, tuning: TuningOptions) throws -> [any Device] {
    let defines = try tuning.merged()
    var devices: [any Device] = []
    for part in text.split(separator: ",") {
        guard let kind = DeviceKind(rawValue: String(part)) else {
            throw CommandFailure("unknown device '\(part)' (expected gpu, cuda, cpu, opencl or auto)", status: 64)
        }
        let device = try makeDevice(kind, kernelDefines: defines, index: ProcessWorld.localRank)
        if kind == .auto && !Console.isQuiet { Console.error("device: auto chose \(device.kind.rawValue): \(device.name)") }
        if let kernels = device as? KernelDevice { try kernels.compileAllKernels() }
        devices.append(device)
    }
    return devices
}

func randomFloats(_ count: Int, seed: UInt64) -> [Float] {
    var rng = PhiloxStream(seed: seed, stream: 77)
    return (0..<count).map { _ in rng.nextUniform() * 2 - 1 }
}

/// Whether `a` and `b` have the same length and every |a − b| is within `tolerance` relative to
/// max(1, |b|); a NaN never agrees.
func agrees(_ a: [Float], _ b: [Float], tolerance: Float) -> Bool {
    guard a.count == b.count else { return false }
    for (x, y) in zip(a, b) where !(abs(x - y) <= tolerance * max(1, abs(y))) { return false }
    return true
}

/// The model specs of `--model`, or a usage error naming the one that does not parse.
func parseModelSpecs(_ models: [String]) throws -> [ModelSpec] {
    try models.map { model in
        do { return try ModelSpec(parsing: model) } catch { throw ValidationError("\(error)") }
    }
}
