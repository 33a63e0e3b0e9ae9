import CCUDA

/// CUDA's driver API (`libcuda.so.1`), loaded with `dlopen` once per process. A machine without
/// the library, or whose driver finds no device, simply has no CUDA devices.
final class CUDADriver: @unchecked Sendable {
    let library: DynamicLibrary
    /// The driver's CUDA version, e.g. 13000 for 13.0.
    let version: Int

    let deviceGetCount: fathom_cuDeviceGetCount
    let deviceGet: fathom_cuDeviceGet
    let deviceGetName: fathom_cuDeviceGetName
    let deviceGetAttribute: fathom_cuDeviceGetAttribute
    let deviceTotalMem: fathom_cuDeviceTotalMem
    let primaryContextRetain: fathom_cuDevicePrimaryCtxRetain
    let primaryContextRelease: fathom_cuDevicePrimaryCtxRelease
    let contextSetCurrent: fathom_cuCtxSetCurrent
    let streamCreate: fathom_cuStreamCreate
    let streamDestroy: fathom_cuStreamDestroy
    let streamSynchronize: fathom_cuStreamSynchronize
    let memAlloc: fathom_cuMemAlloc
    let memFree: fathom_cuMemFree
    let memcpyHtoD: fathom_cuMemcpyHtoDAsync
    let memcpyDtoH: fathom_cuMemcpyDtoHAsync
    let memcpyDtoD: fathom_cuMemcpyDtoDAsync
    let moduleLoadData: fathom_cuModuleLoadData
    let moduleUnload: fathom_cuModuleUnload
    let moduleGetFunction: fathom_cuModuleGetFunction
    let launchKernel: fathom_cuLaunchKernel
    let eventCreate: fathom_cuEventCreate
    let eventDestroy: fathom_cuEventDestroy
    let eventRecord: fathom_cuEventRecord
    let eventSynchronize: fathom_cuEventSynchronize
    let eventElapsedTime: fathom_cuEventElapsedTime
    let getErrorName: fathom_cuGetErrorName

    /// The process's driver, or why there is none.
    static let shared: Result<CUDADriver, CUDAUnavailable> = {
        do throws(CUDAUnavailable) { return .success(try CUDADriver()) } catch { return .failure(error) }
    }()

    private init() throws(CUDAUnavailable) {
        guard let library = DynamicLibrary(firstOf: ["libcuda.so.1", "libcuda.so"]) else {
            throw CUDAUnavailable(reason: "no CUDA driver (libcuda.so.1 not found)")
        }
        func load<T>(_ name: String, _ type: T.Type) throws(CUDAUnavailable) -> T {
            guard let symbol = library.symbol(name, as: type) else {
                throw CUDAUnavailable(reason: "\(library.path) lacks \(name)")
            }
            return symbol
        }
        let initialize = try load("cuInit", fathom_cuInit.self)
        let driverVersion = try load("cuDriverGetVersion", fathom_cuDriverGetVersion.self)
        self.library = library
        deviceGetCount = try load("cuDeviceGetCount", fathom_cuDeviceGetCount.self)
        deviceGet = try load("cuDeviceGet", fathom_cuDeviceGet.self)
        deviceGetName = try load("cuDeviceGetName", fathom_cuDeviceGetName.self)
        deviceGetAttribute = try load("cuDeviceGetAttribute", fathom_cuDeviceGetAttribute.self)
        deviceTotalMem = try load("cuDeviceTotalMem_v2", fathom_cuDeviceTotalMem.self)
        primaryContextRetain = try load("cuDevicePrimaryCtxRetain", fathom_cuDevicePrimaryCtxRetain.self)
        primaryContextRelease = try load("cuDevicePrimaryCtxRelease_v2", fathom_cuDevicePrimaryCtxRelease.self)
        contextSetCurrent = try load("cuCtxSetCurrent", fathom_cuCtxSetCurrent.self)
        streamCreate = try load("cuStreamCreate", fathom_cuStreamCreate.self)
        streamDestroy = try load("cuStreamDestroy_v2", fathom_cuStreamDestroy.self)
        streamSynchronize = try load("cuStreamSynchronize", fathom_cuStreamSynchronize.self)
        memAlloc = try load("cuMemAlloc_v2", fathom_cuMemAlloc.self)
        memFree = try load("cuMemFree_v2", fathom_cuMemFree.self)
        memcpyHtoD = try load("cuMemcpyHtoDAsync_v2", fathom_cuMemcpyHtoDAsync.self)
        memcpyDtoH = try load("cuMemcpyDtoHAsync_v2", fathom_cuMemcpyDtoHAsync.self)
        memcpyDtoD = try load("cuMemcpyDtoDAsync_v2", fathom_cuMemcpyDtoDAsync.self)
        moduleLoadData = try load("cuModuleLoadData", fathom_cuModuleLoadData.self)
        moduleUnload = try load("cuModuleUnload", fathom_cuModuleUnload.self)
        moduleGetFunction = try load("cuModuleGetFunction", fathom_cuModuleGetFunction.self)
        launchKernel = try load("cuLaunchKernel", fathom_cuLaunchKernel.self)
        eventCreate = try load("cuEventCreate", fathom_cuEventCreate.self)
        eventDestroy = try load("cuEventDestroy_v2", fathom_cuEventDestroy.self)
        eventRecord = try load("cuEventRecord", fathom_cuEventRecord.self)
        eventSynchronize = try load("cuEventSynchronize", fathom_cuEventSynchronize.self)
        eventElapsedTime = try load("cuEventElapsedTime", fathom_cuEventElapsedTime.self)
        getErrorName = try load("cuGetErrorName", fathom_cuGetErrorName.self)
        let status = initialize(0)
        guard status == 0 else {
            // CUDA_ERROR_NO_DEVICE (100) is the ordinary "driver installed, no GPU" case.
            throw CUDAUnavailable(reason: status == 100 ? "the CUDA driver found no device"
                                  : "cuInit failed with CUDA error \(status)")
        }
        var version: Int32 = 0
        _ = driverVersion(&version)
        self.version = Int(version)
    }

    /// "CUDA_ERROR_OUT_OF_MEMORY" for 2, as the driver names it.
    func name(of code: CUresult) -> String {
        var name: UnsafePointer<CChar>?
        guard getErrorName(code, &name) == 0, let name else { return "CUDA_ERROR_UNKNOWN" }
        return String(cString: name)
    }

    /// The one choke point where driver status codes become Swift errors.
    func check(_ code: CUresult, _ call: @autoclosure () -> String) throws(ComputeError) {
        if code != 0 { throw ComputeError.cuda(call: call(), code: code, name: name(of: code)) }
    }

    /// "13.0" for 13000.
    var versionText: String { "\(version / 1000).\(version % 1000 / 10)" }
}

/// Why CUDA cannot be used on this machine.
struct CUDAUnavailable: Error {
    let reason: String
}

/// One CUDA device as the driver enumerates it.
public struct CUDADeviceInfo: Sendable, CustomStringConvertible {
    /// The driver's ordinal.
    public let ordinal: Int
    /// E.g. "NVIDIA H200".
    public let name: String
    /// The compute capability, e.g. (9, 0), which cubins are compiled for.
    public let computeCapability: (major: Int, minor: Int)
    /// Streaming multiprocessors.
    public let multiprocessors: Int
    /// Device memory in bytes.
    public let totalMemoryBytes: Int
    /// The driver's CUDA version, e.g. "13.0".
    public let driverVersion: String
    let device: CUdevice

    /// The driver's major CUDA version (13 for 13.0): the newest NVRTC major it loads cubins of.
    public var driverMajor: Int { Int(driverVersion.split(separator: ".").first ?? "") ?? 0 }

    /// "sm_90".
    public var architecture: String { "sm_\(computeCapability.major)\(computeCapability.minor)" }

    /// "NVIDIA H200 [sm_90, 132 SMs, CUDA 13.0]".
    public var description: String { "\(name) [\(architecture), \(multiprocessors) SMs, CUDA \(driverVersion)]" }
}

/// Every CUDA device; empty when the driver is missing or finds none (`describeCUDADevices` says
/// which).
public func cudaDevices() throws(ComputeError) -> [CUDADeviceInfo] {
    guard case .success(let driver) = CUDADriver.shared else { return [] }
    var count: Int32 = 0
    try driver.check(driver.deviceGetCount(&count), "cuDeviceGetCount")
    var devices: [CUDADeviceInfo] = []
    for ordinal in 0..<Int(count) {
        var device: CUdevice = 0
        try driver.check(driver.deviceGet(&device, Int32(ordinal)), "cuDeviceGet")
        var name = [CChar](repeating: 0, count: 256)
        try driver.check(driver.deviceGetName(&name, Int32(name.count), device), "cuDeviceGetName")
        func attribute(_ which: Int32) throws(ComputeError) -> Int {
            var value: Int32 = 0
            try driver.check(driver.deviceGetAttribute(&value, which, device), "cuDeviceGetAttribute")
            return Int(value)
        }
        var memory = 0
        try driver.check(driver.deviceTotalMem(&memory, device), "cuDeviceTotalMem")
        devices.append(CUDADeviceInfo(
            ordinal: ordinal, name: cString(name),
            computeCapability: (try attribute(Int32(FATHOM_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)),
                                try attribute(Int32(FATHOM_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR))),
            multiprocessors: try attribute(Int32(FATHOM_CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)),
            totalMemoryBytes: memory, driverVersion: driver.versionText, device: device))
    }
    return devices
}

/// "no CUDA driver (…)" or "found: NVIDIA H200 [sm_90, …]", for error messages.
public func describeCUDADevices() -> String {
    switch CUDADriver.shared {
    case .failure(let unavailable):
        return unavailable.reason
    case .success:
        do {
            let devices = try cudaDevices()
            return devices.isEmpty ? "the CUDA driver lists no device"
                : "found: " + devices.map(\.description).joined(separator: "; ")
        } catch {
            return "enumerating CUDA devices failed: \(error)"
        }
    }
}
