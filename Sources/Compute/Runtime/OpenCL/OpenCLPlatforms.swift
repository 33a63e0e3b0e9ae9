import COpenCL

/// One OpenCL device as enumerated through the ICD loader.
/// Device ids are process-wide handles that never change, so sharing them across threads is safe.
public struct OpenCLDeviceInfo: @unchecked Sendable, CustomStringConvertible {
    /// CL_PLATFORM_NAME, e.g. "Portable Computing Language" or "NVIDIA CUDA".
    public let platformName: String
    /// CL_DEVICE_NAME.
    public let name: String
    /// Whether CL_DEVICE_TYPE includes GPU: what `--device gpu` asks for.
    public let isGPU: Bool
    /// CL_DRIVER_VERSION, part of the program-cache key.
    public let driverVersion: String
    /// CL_DEVICE_VERSION, e.g. "OpenCL 3.0 CUDA".
    public let deviceVersion: String
    /// The largest single buffer the driver allows (CL_DEVICE_MAX_MEM_ALLOC_SIZE).
    public let maxAllocationBytes: Int
    /// CL_DEVICE_MAX_COMPUTE_UNITS: work-groups that run at once (cores of a CPU device, SMs).
    public let computeUnits: Int
    let id: cl_device_id

    /// "name [GPU|non-GPU, platform]", as listed when `--device gpu` finds no GPU.
    public var description: String { "\(name) [\(isGPU ? "GPU" : "non-GPU"), \(platformName)]" }
}

/// Every OpenCL device of every platform. No ICD, or an ICD with no platform
/// (`CL_PLATFORM_NOT_FOUND_KHR`, -1001), is the ordinary "no OpenCL" case: an empty list.
public func openCLDevices() throws(ComputeError) -> [OpenCLDeviceInfo] {
    // The ICD loader reads its vendor files on the first call, and two threads making that
    // first call at once can see no platforms at all (seen with parallel tests): one at a time.
    let result = openCLEnumerationLock.withLock {
        Result { () throws(ComputeError) -> [OpenCLDeviceInfo] in try enumerateOpenCLDevices() }
    }
    return try result.get()
}

private let openCLEnumerationLock = Lock()

private func enumerateOpenCLDevices() throws(ComputeError) -> [OpenCLDeviceInfo] {
    var platformCount: cl_uint = 0
    let status = clGetPlatformIDs(0, nil, &platformCount)
    if status == CL_PLATFORM_NOT_FOUND_KHR || platformCount == 0 { return [] }
    try check(status, "clGetPlatformIDs")
    var platforms = [cl_platform_id?](repeating: nil, count: Int(platformCount))
    try check(clGetPlatformIDs(platformCount, &platforms, nil), "clGetPlatformIDs")

    var result: [OpenCLDeviceInfo] = []
    for case let platform? in platforms {
        let platformName = try platformString(platform, cl_platform_info(CL_PLATFORM_NAME))
        var deviceCount: cl_uint = 0
        let listed = clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), 0, nil, &deviceCount)
        if listed == CL_DEVICE_NOT_FOUND || deviceCount == 0 { continue }
        try check(listed, "clGetDeviceIDs")
        var devices = [cl_device_id?](repeating: nil, count: Int(deviceCount))
        try check(clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), deviceCount, &devices, nil),
                  "clGetDeviceIDs")
        for case let device? in devices {
            var type: cl_device_type = 0
            try check(clGetDeviceInfo(device, cl_device_info(CL_DEVICE_TYPE),
                                      MemoryLayout<cl_device_type>.size, &type, nil), "clGetDeviceInfo")
            var units: cl_uint = 0
            try check(clGetDeviceInfo(device, cl_device_info(CL_DEVICE_MAX_COMPUTE_UNITS),
                                      MemoryLayout<cl_uint>.size, &units, nil), "clGetDeviceInfo")
            var maxAllocation: cl_ulong = 0
            try check(clGetDeviceInfo(device, cl_device_info(CL_DEVICE_MAX_MEM_ALLOC_SIZE),
                                      MemoryLayout<cl_ulong>.size, &maxAllocation, nil), "clGetDeviceInfo")
            result.append(OpenCLDeviceInfo(
                platformName: platformName,
                name: try deviceString(device, cl_device_info(CL_DEVICE_NAME)),
                isGPU: type & cl_device_type(CL_DEVICE_TYPE_GPU) != 0,
                driverVersion: try deviceString(device, cl_device_info(CL_DRIVER_VERSION)),
                deviceVersion: try deviceString(device, cl_device_info(CL_DEVICE_VERSION)),
                maxAllocationBytes: Int(clamping: maxAllocation),
                computeUnits: max(Int(units), 1),
                id: device))
        }
    }
    return result
}

/// "no OpenCL platform" or "found: A [non-GPU, PoCL]; B [...]", for error messages.
public func describeOpenCLDevices() -> String {
    do {
        let devices = try openCLDevices()
        return devices.isEmpty ? "no OpenCL platform or device"
            : "found: " + devices.map(\.description).joined(separator: "; ")
    } catch {
        return "enumerating OpenCL devices failed: \(error)"
    }
}

private func platformString(_ platform: cl_platform_id, _ param: cl_platform_info) throws(ComputeError) -> String {
    var size = 0
    try check(clGetPlatformInfo(platform, param, 0, nil, &size), "clGetPlatformInfo")
    var bytes = [CChar](repeating: 0, count: size + 1)
    try check(clGetPlatformInfo(platform, param, size, &bytes, nil), "clGetPlatformInfo")
    return cString(bytes)
}

func deviceString(_ device: cl_device_id, _ param: cl_device_info) throws(ComputeError) -> String {
    var size = 0
    try check(clGetDeviceInfo(device, param, 0, nil, &size), "clGetDeviceInfo")
    var bytes = [CChar](repeating: 0, count: size + 1)
    try check(clGetDeviceInfo(device, param, size, &bytes, nil), "clGetDeviceInfo")
    return cString(bytes)
}

/// Decodes a NUL-terminated C string held in an array, trimming trailing blanks some drivers add.
func cString(_ bytes: [CChar]) -> String {
    let text = bytes.withUnsafeBufferPointer { pointer -> String in
        guard let base = pointer.baseAddress else { return "" }
        return String(cString: base)
    }
    var trimmed = Substring(text)
    while let last = trimmed.last, last == " " || last == "\n" { trimmed.removeLast() }
    return String(trimmed)
}
