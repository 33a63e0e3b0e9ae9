/// Opens the device `kind` names.
///
/// - `.gpu` opens the first OpenCL GPU and throws `ComputeError.noGPU` (listing what exists)
///   when there is none: never a silent fallback.
/// - `.opencl` opens the first OpenCL GPU, else the first OpenCL device of any type.
/// - `.cpu` opens the OpenBLAS device.
/// - `.auto` opens a GPU when one exists, else the CPU device.
///
/// OpenCL devices build their kernels with `kernelDefines`, by default those of the
/// `FATHOM_KERNEL_DEFINES` environment variable (see `parseKernelDefines`).
public func makeDevice(_ kind: DeviceKind, kernelDefines: KernelDefines? = nil) throws -> any Device {
    // Read lazily: a CPU run must not fail over OpenCL tuning it never uses.
    var defines: KernelDefines { get throws { try kernelDefines ?? environmentKernelDefines() } }
    switch kind {
    case .cpu:
        return CPUDevice()
    case .gpu:
        guard let gpu = try openCLDevices().first(where: \.isGPU) else {
            throw ComputeError.noGPU(found: describeOpenCLDevices())
        }
        return try OpenCLDevice(gpu, kernelDefines: defines)
    case .opencl:
        let devices = try openCLDevices()
        guard let chosen = devices.first(where: \.isGPU) ?? devices.first else {
            throw ComputeError.noOpenCLDevice(found: describeOpenCLDevices())
        }
        return try OpenCLDevice(chosen, kernelDefines: defines)
    case .auto:
        // A broken OpenCL installation must not stop a CPU run that never asked for OpenCL.
        if let gpu = (try? openCLDevices())?.first(where: \.isGPU) {
            return try OpenCLDevice(gpu, kernelDefines: defines)
        }
        return CPUDevice()
    }
}
