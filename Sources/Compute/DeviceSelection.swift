/// Opens the device `kind` names.
///
/// - `.gpu` opens the first OpenCL GPU, else the first CUDA device, and throws
///   `ComputeError.noGPU` (listing what exists) when there is neither: never a silent fallback.
/// - `.cuda` opens the first CUDA device (`ComputeError.noCUDADevice` when there is none).
/// - `.opencl` opens the first OpenCL GPU, else the first OpenCL device of any type.
/// - `.cpu` opens the OpenBLAS device.
/// - `.auto` opens a GPU of either runtime when one exists, else the CPU device.
///
/// "First" is `index` modulo the number of candidates: MPI ranks on one machine pass their local
/// rank, so each takes its own GPU when there are enough.
///
/// Kernel devices build their kernels with `kernelDefines`, by default those of the
/// `FATHOM_KERNEL_DEFINES` environment variable (see `parseKernelDefines`).
public func makeDevice(_ kind: DeviceKind, kernelDefines: KernelDefines? = nil, index: Int = 0) throws -> any Device {
    precondition(index >= 0, "a device index is not negative")
    func pick<T>(_ candidates: [T]) -> T? { candidates.isEmpty ? nil : candidates[index % candidates.count] }
    // Read lazily: a CPU run must not fail over kernel tuning it never uses.
    var defines: KernelDefines { get throws { try kernelDefines ?? environmentKernelDefines() } }
    switch kind {
    case .cpu:
        return CPUDevice()
    case .gpu:
        if let gpu = pick(try openCLDevices().filter(\.isGPU)) {
            return try KernelDevice.openCL(gpu, kernelDefines: defines)
        }
        if let device = pick(try cudaDevices()) {
            return try KernelDevice(runtime: CUDARuntime(device, nvrtc: NVRTC.load(maximumMajor: device.driverMajor)), kernelDefines: defines)
        }
        throw ComputeError.noGPU(found: "OpenCL: \(describeOpenCLDevices()); CUDA: \(describeCUDADevices())")
    case .cuda:
        guard let device = pick(try cudaDevices()) else {
            throw ComputeError.noCUDADevice(found: describeCUDADevices())
        }
        return try KernelDevice(runtime: CUDARuntime(device, nvrtc: NVRTC.load(maximumMajor: device.driverMajor)), kernelDefines: defines)
    case .opencl:
        let devices = try openCLDevices(), gpus = devices.filter(\.isGPU)
        guard let chosen = pick(gpus.isEmpty ? devices : gpus) else {
            throw ComputeError.noOpenCLDevice(found: describeOpenCLDevices())
        }
        return try KernelDevice.openCL(chosen, kernelDefines: defines)
    case .auto:
        // A broken OpenCL or CUDA installation must not stop a CPU run that never asked for it.
        if let gpu = pick((try? openCLDevices())?.filter(\.isGPU) ?? []) {
            return try KernelDevice.openCL(gpu, kernelDefines: defines)
        }
        if let device = pick((try? cudaDevices()) ?? []) {
            return try KernelDevice(runtime: CUDARuntime(device, nvrtc: NVRTC.load(maximumMajor: device.driverMajor)), kernelDefines: defines)
        }
        return CPUDevice()
    }
}
