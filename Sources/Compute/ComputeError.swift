/// Failures of the environment: missing drivers, kernel builds, out-of-memory, failed calls.
///
/// Programmer errors (mismatched shapes, slices out of range) are preconditions instead.
public enum ComputeError: Error, Sendable, CustomStringConvertible, Equatable {
    /// An OpenCL call returned an error code, e.g. `clEnqueueNDRangeKernel: CL_OUT_OF_RESOURCES (-5)`.
    case openCL(call: String, code: Int32)
    /// A kernel family failed to compile; `log` is the driver's whole build log.
    case build(family: String, log: String)
    /// A CUDA driver call failed, e.g. `cuMemAlloc: CUDA_ERROR_OUT_OF_MEMORY (2)`.
    case cuda(call: String, code: Int32, name: String)
    /// The driver refused a compiled module: names both versions, since a cubin from an NVRTC
    /// newer than the driver is the usual cause.
    case cudaModule(build: String, code: Int32, name: String, driver: String, nvrtc: String, architecture: String)
    /// A launch larger than the runtime allows (CUDA: 2^31 − 1 blocks in x, 65535 in y and z,
    /// 1024 threads per block).
    case launchTooLarge(kernel: String, shape: String)
    /// NVRTC failed for a reason other than the source (which is `build`).
    case nvrtc(call: String, message: String)
    /// No NVRTC library could be loaded; `tried` lists the candidates.
    case noNVRTC(tried: [String])
    /// `--device gpu` was asked for but no GPU exists on either runtime; `found` lists what does.
    case noGPU(found: String)
    /// `--device cuda` was asked for but there is no CUDA device.
    case noCUDADevice(found: String)
    /// `--device opencl` was asked for but no OpenCL device exists at all.
    case noOpenCLDevice(found: String)
    /// Kernel tuning overrides that cannot be parsed or that no launch geometry fits.
    case invalidTuning(String)
    /// A buffer of more elements than kernels can address with 32-bit offsets.
    case bufferTooLarge(count: Int)
    /// The host could not allocate a buffer.
    case outOfMemory(bytes: Int)

    /// One line for the user (a build failure adds the build log below it).
    public var description: String {
        switch self {
        case .openCL(let call, let code):
            return "\(call): \(openCLErrorName(code)) (\(code))"
        case .build(let family, let log):
            return "building Kernels/\(family).cl failed:\n\(log)"
        case .cuda(let call, let code, let name):
            return "\(call): \(name) (\(code))"
        case .cudaModule(let build, let code, let name, let driver, let nvrtc, let architecture):
            return "loading the \(architecture) cubin of Kernels/\(build).cl failed: \(name) (\(code)); "
                + "the driver supports CUDA \(driver), NVRTC is \(nvrtc): use an NVRTC no newer than the driver "
                + "(FATHOM_NVRTC=/path/to/libnvrtc.so)"
        case .launchTooLarge(let kernel, let shape):
            return "\(kernel): a launch of \(shape) exceeds the device's grid limits"
        case .nvrtc(let call, let message):
            return "\(call): \(message)"
        case .noNVRTC(let tried):
            return "no NVRTC library (tried \(tried.joined(separator: ", "))); install the nvidia-cuda-nvrtc wheel "
                + "or a CUDA toolkit, or set FATHOM_NVRTC"
        case .noGPU(let found):
            return "--device gpu: no GPU found (\(found)); use --device cpu or --device opencl"
        case .noCUDADevice(let found):
            return "--device cuda: no CUDA device (\(found)); use --device cpu, or --device gpu for an OpenCL GPU"
        case .noOpenCLDevice(let found):
            return "--device opencl: no OpenCL device found (\(found)); install an OpenCL driver "
                + "(for example pocl-opencl-icd) or use --device cpu"
        case .invalidTuning(let message):
            return "kernel tuning: \(message)"
        case .bufferTooLarge(let count):
            return "a buffer of \(count) floats exceeds the \(maxBufferElements) elements kernels can address"
        case .outOfMemory(let bytes):
            return "out of memory allocating \(bytes) bytes"
        }
    }
}

/// The most floats one buffer may hold: kernels address elements with 32-bit `int` offsets.
public let maxBufferElements = Int(Int32.max)

/// `a · b` for sizing a buffer, or `ComputeError.bufferTooLarge` when it overflows or exceeds
/// `maxBufferElements`.
public func bufferSize(_ a: Int, _ b: Int) throws(ComputeError) -> Int {
    let (product, overflow) = a.multipliedReportingOverflow(by: b)
    guard !overflow, product <= maxBufferElements else { throw ComputeError.bufferTooLarge(count: overflow ? Int.max : product) }
    return product
}
