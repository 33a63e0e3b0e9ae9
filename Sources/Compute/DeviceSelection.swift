/// Opens the device `kind` names.
///
/// - `.gpu` opens the first OpenCL GPU, else the first CUDA device, and throws
///   `ComputeError.noGPU` (listing what exists) when there is neither: never a silent fallback.
/// - `.cuda` opens the first CUDA device (`ComputeError.noCUDADevice` when there is none).
/// - `.opencl` opens the first OpenCL GPU, else the first OpenCL device of any type.
/// - `.cpu` opens the OpenBLAS device.
/// - `.auto` opens a GPU of either runtime when one exists, else the CPU device.
///
/// Kernel devices build their kernels with `kernelDefines`, by default those of the
/// `FATHOM_KERNEL_DEFINES` environment variable (see `parseKernelDefines`).
public func makeDevice(_ kind: DeviceKind, kernelDefines: KernelDefines? = nil) throws -> any Device {
    // Read lazily: a CPU run must not fail over kernel tuning it never uses.
    var defines: KernelDefines { get throws { try kernelDefines ?? environmentKernelDefines() } }
    switch kind {
    case .cpu:
        return CPUDevice()
    case .gpu:
        if let gpu = try openCLDevices().first(where: \.isGPU) {
            return try KernelDevice.openCL(gpu, kernelDefines: defines)
        }
        if let device = try cudaDevices().first {
            return try KernelDevice(runtime: CUDARuntime(device, nvrtc: NVRTC.load(maximumMajor: device.driverMajor)), kernelDefines: defines)
        }
        throw ComputeError.noGPU(found: "OpenCL: \(describeOpenCLDevices()); CUDA: \(describeCUDADevices())")
    case .cuda:
        guard let device = try cudaDevices().first else {
            throw ComputeError.noCUDADevice(found: describeCUDADevices())
        }
        return try KernelDevice(runtime: CUDARuntime(device, nvrtc: NVRTC.load(maximumMajor: device.driverMajor)), kernelDefines: defines)
    case .opencl:
        let devices = try openCLDevices()
        guard let chosen = devices.first(where: \.isGPU) ?? devices.first else {
            throw ComputeError.noOpenCLDevice(found: describeOpenCLDevices())
        }
        return try KernelDevice.openCL(chosen, kernelDefines: defines)
    case .auto:
        // A broken OpenCL or CUDA installation must not stop a CPU run that never asked for it.
        if let gpu = (try? openCLDevices())?.first(where: \.isGPU) {
            return try KernelDevice.openCL(gpu, kernelDefines: defines)
        }
        if let device = (try? cudaDevices())?.first {
            return try KernelDevice(runtime: CUDARuntime(device, nvrtc: NVRTC.load(maximumMajor: device.driverMajor)), kernelDefines: defines)
        }
        return CPUDevice()
    }
}
