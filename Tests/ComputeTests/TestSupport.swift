import Compute
import Philox
import Testing

/// The devices every kernel test runs on: the CPU reference and the first OpenCL device (PoCL's
/// CPU device in CI), plus the first CUDA device where the machine has one. A missing OpenCL
/// device fails the tests: CI installs PoCL.
enum Devices {
    static let cpu = CPUDevice()
    /// The OpenCL runtime of `openCL`, opened before anything else touches the driver.
    static let openCLRuntime: OpenCLRuntime = {
        do {
            let devices = try openCLDevices()
            guard let info = devices.first(where: \.isGPU) ?? devices.first else {
                fatalError("no OpenCL device: install pocl-opencl-icd")
            }
            return try OpenCLRuntime(info)
        } catch {
            fatalError("opening the OpenCL device failed: \(error)")
        }
    }()
    static var openCLInfo: OpenCLDeviceInfo { openCLRuntime.info }
    static let openCL: KernelDevice = {
        do {
            return try KernelDevice(runtime: openCLRuntime)
        } catch {
            fatalError("opening the OpenCL device failed: \(error)")
        }
    }()
    /// The first CUDA device with NVRTC, when both exist (a GPU machine), else nil.
    static let cuda: KernelDevice? = {
        guard let info = (try? cudaDevices())?.first, let nvrtc = try? NVRTC.load(maximumMajor: info.driverMajor) else { return nil }
        return try? KernelDevice(runtime: CUDARuntime(info, nvrtc: nvrtc))
    }()
    /// The CPU first, then every kernel device.
    static var all: [any Device] { [cpu] + kernelDevices }
    /// Every kernel device to compare with the CPU.
    static var kernelDevices: [KernelDevice] { [openCL] + (cuda.map { [$0] } ?? []) }
}

/// Deterministic test data in [-1, 1).
func randomValues(_ count: Int, seed: UInt64, stream: UInt32 = 0) -> [Float] {
    var rng = PhiloxStream(seed: seed, stream: stream)
    return (0..<count).map { _ in rng.nextUniform() * 2 - 1 }
}

/// Uploads `values` to `device` and returns the buffer.
func upload(_ values: [Float], to device: any Device) throws -> DeviceBuffer {
    try device.upload(values)
}

/// Asserts |actual − expected| ≤ atol + rtol·|expected| everywhere, reporting the first mismatches.
func expectClose(_ actual: [Float], _ expected: [Float], atol: Float, rtol: Float = 0,
                 _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.count == expected.count, "\(what): \(actual.count) vs \(expected.count) values",
            sourceLocation: sourceLocation)
    var mismatches: [String] = []
    for (i, (a, e)) in zip(actual, expected).enumerated() {
        let bad = a.isNaN != e.isNaN || (!e.isNaN && !(abs(a - e) <= atol + rtol * abs(e)))
            || (e.isInfinite && a != e)
        if bad && mismatches.count < 5 { mismatches.append("[\(i)] \(a) vs \(e)") }
    }
    #expect(mismatches.isEmpty, "\(what): \(mismatches.joined(separator: ", "))", sourceLocation: sourceLocation)
}
