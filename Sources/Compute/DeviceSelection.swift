/// Opens the device `kind` names.
///
/// - `.gpu` opens the first OpenCL GPU and throws `ComputeError.noGPU` (listing what exists)
///   when there is none: never a silent fallback.
/// - `.opencl` opens the first OpenCL GPU, else the first OpenCL device of any type.
/// - `.cpu` opens the OpenBLAS device.
/// - `.auto` opens a GPU when one exists, else the CPU device.
public func makeDevice(_ kind: DeviceKind) throws -> any Device {
    switch kind {
    case .cpu:
        return CPUDevice()
    case .gpu:
        guard let gpu = try openCLDevices().first(where: \.isGPU) else {
            throw ComputeError.noGPU(found: describeOpenCLDevices())
        }
        return try OpenCLDevice(gpu)
    case .opencl:
        let devices = try openCLDevices()
        guard let chosen = devices.first(where: \.isGPU) ?? devices.first else {
            throw ComputeError.noOpenCLDevice(found: describeOpenCLDevices())
        }
        return try OpenCLDevice(chosen)
    case .auto:
        // A broken OpenCL installation must not stop a CPU run that never asked for OpenCL.
        if let gpu = (try? openCLDevices())?.first(where: \.isGPU) {
            return try OpenCLDevice(gpu)
        }
        return CPUDevice()
    }
}
