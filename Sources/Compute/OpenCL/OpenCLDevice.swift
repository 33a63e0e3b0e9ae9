import COpenCL
import KernelSources

#if canImport(Glibc)
import Glibc
#endif

/// The OpenCL backend: one context and one in-order, profiling-enabled queue on one device.
///
/// Kernels are compiled per family on first use (and cached in memory and on disk, see
/// `OpenCLProgramCache`); launches are queued without a `clFinish`, so the host only waits when it
/// reads a result. Set `FATHOM_SYNC_EACH_KERNEL=1` to finish and check after every launch, which
/// makes an asynchronous failure point at the kernel that caused it.
public final class OpenCLDevice: Device, @unchecked Sendable {
    /// `.gpu` for a GPU, `.opencl` for any other OpenCL device (PoCL's CPU device).
    public let kind: DeviceKind
    /// Device name, OpenCL version and driver version.
    public let name: String
    /// The device as enumerated, for opening another context on it (e.g. with other tuning).
    public let info: OpenCLDeviceInfo
    /// Tuning knobs prepended as `-D NAME=VALUE` per kernel family (e.g. `["matmul": ["TILE_M": "32"]]`),
    /// including the measured defaults for this device (`defaultTuning(for:)`).
    public let kernelDefines: KernelDefines

    let context: cl_context
    let queue: cl_command_queue
    let pool: OpenCLBufferPool
    private let programs: OpenCLProgramCache
    let lock = Lock()
    private var kernels: [String: cl_kernel] = [:]
    /// Events of the launches inside `deviceTime`, nil outside it (then launches ask for none).
    var profiledEvents: [cl_event]?
    private let syncEachKernel: Bool

    /// Opens `info`'s device.
    /// - Parameters:
    ///   - kernelDefines: per-family tuning overrides.
    ///   - cacheDirectory: where compiled programs are kept; `nil` disables the disk cache.
    ///     Defaults to `OpenCLProgramCache.defaultDirectory()` (`FATHOM_KERNEL_CACHE`).
    public init(_ info: OpenCLDeviceInfo, kernelDefines: KernelDefines = [:],
                cacheDirectory: String? = OpenCLProgramCache.defaultDirectory()) throws(ComputeError) {
        var kernelDefines = kernelDefines
        for (family, values) in defaultTuning(for: info) where kernelDefines[family] == nil {
            kernelDefines[family] = values
        }
        try Self.checkTuning(kernelDefines)
        self.info = info
        self.kind = info.isGPU ? .gpu : .opencl
        self.name = "\(info.name) (\(info.deviceVersion), driver \(info.driverVersion))"
        self.kernelDefines = kernelDefines
        var status: cl_int = 0
        var device: cl_device_id? = info.id
        guard let context = clCreateContext(nil, 1, &device, nil, nil, &status) else {
            throw ComputeError.openCL(call: "clCreateContext", code: status)
        }
        try check(status, "clCreateContext")
        self.context = context
        guard let queue = clCreateCommandQueue(
            context, info.id, cl_command_queue_properties(CL_QUEUE_PROFILING_ENABLE), &status)
        else {
            clReleaseContext(context)
            throw ComputeError.openCL(call: "clCreateCommandQueue", code: status)
        }
        self.queue = queue
        var globalBytes: cl_ulong = 0
        clGetDeviceInfo(info.id, cl_device_info(CL_DEVICE_GLOBAL_MEM_SIZE), 8, &globalBytes, nil)
        pool = OpenCLBufferPool(limitBytes: max(Int(globalBytes / 4), 64 << 20))
        programs = OpenCLProgramCache(context: context, device: info, directory: cacheDirectory)
        syncEachKernel = getenv("FATHOM_SYNC_EACH_KERNEL").map { String(cString: $0) == "1" } ?? false
    }

    deinit {
        clFinish(queue)
        for kernel in kernels.values { clReleaseKernel(kernel) }
        pool.drain()
        clReleaseCommandQueue(queue)
        clReleaseContext(context)
    }

    // MARK: - Memory

    public func makeBuffer(count: Int) throws -> DeviceBuffer {
        precondition(count >= 0, "negative buffer size")
        guard count <= maxBufferElements else { throw ComputeError.bufferTooLarge(count: count) }
        if let memory = pool.take(count: count) {
            return DeviceBuffer(count: count, storage: .openCL(memory, pool))
        }
        do {
            return try allocate(count: count)
        } catch {
            // Cached buffers may be what fills the device: give them back and try once more.
            pool.drain()
            return try allocate(count: count)
        }
    }

    private func allocate(count: Int) throws(ComputeError) -> DeviceBuffer {
        var status: cl_int = 0
        guard let memory = clCreateBuffer(context, cl_mem_flags(CL_MEM_READ_WRITE), max(count, 1) * 4,
                                          nil, &status), status == CL_SUCCESS
        else { throw ComputeError.openCL(call: "clCreateBuffer(\(count * 4) bytes)", code: status) }
        return DeviceBuffer(count: count, storage: .openCL(memory, pool))
    }

    public func write(_ values: UnsafeBufferPointer<Float>, to slice: BufferSlice) throws {
        precondition(values.count == slice.count, "writing \(values.count) values into \(slice.count)")
        guard let base = values.baseAddress, slice.count > 0 else { return }
        // Blocking, because the caller's memory may be gone as soon as this returns.
        try check(clEnqueueWriteBuffer(queue, slice.buffer.openCLMemory, cl_bool(CL_TRUE), slice.offset * 4,
                                       slice.count * 4, base, 0, nil, nil), "clEnqueueWriteBuffer")
    }

    public func read(_ slice: BufferSlice, into destination: UnsafeMutableBufferPointer<Float>) throws {
        precondition(destination.count == slice.count, "reading \(slice.count) values into \(destination.count)")
        guard let base = destination.baseAddress, slice.count > 0 else { return }
        try check(clEnqueueReadBuffer(queue, slice.buffer.openCLMemory, cl_bool(CL_TRUE), slice.offset * 4,
                                      slice.count * 4, base, 0, nil, nil), "clEnqueueReadBuffer")
    }

    public func copy(_ source: BufferSlice, to destination: BufferSlice) throws {
        precondition(source.count == destination.count, "copying \(source.count) values into \(destination.count)")
        guard source.count > 0 else { return }
        try check(clEnqueueCopyBuffer(queue, source.buffer.openCLMemory, destination.buffer.openCLMemory,
                                      source.offset * 4, destination.offset * 4, source.count * 4,
                                      0, nil, nil), "clEnqueueCopyBuffer")
    }

    public func synchronize() throws {
        try check(clFinish(queue), "clFinish")
    }

    // MARK: - Kernels

    /// Programs loaded from the disk cache rather than compiled, since this device was opened.
    public var programCacheDiskHits: Int { programs.diskHits }

    /// Builds every embedded kernel family now, so that compile time stays out of later timings
    /// and a broken kernel is reported at start-up.
    public func compileAllKernels() throws {
        var variants = (0..<fathom_kernel_family_count()).compactMap { fathom_kernel_family_name($0).map { String(cString: $0) } }
        variants.append(narrowMatmulVariant)
        for variant in variants {
            _ = try programs.program(family: sourceFamily(of: variant), defines: kernelDefines[variant] ?? [:])
        }
    }

    /// `kernel` of `variant`: a kernel family ("matmul") or a differently tuned build of one
    /// ("matmul-narrow"), whose tuning is `kernelDefines[variant]`.
    func kernel(_ variant: String, _ function: String) throws -> cl_kernel {
        try lock.withLock {
            let key = variant + "/" + function
            if let kernel = kernels[key] { return kernel }
            let program = try programs.program(family: sourceFamily(of: variant), defines: kernelDefines[variant] ?? [:])
            var status: cl_int = 0
            guard let kernel = clCreateKernel(program, function, &status), status == CL_SUCCESS else {
                throw ComputeError.openCL(call: "clCreateKernel(\(function))", code: status)
            }
            kernels[key] = kernel
            return kernel
        }
    }

    /// Queues `function` of `variant` (a kernel family or a tuned build of one) over `global`
    /// work-items (rounded up to whole work-groups of `local`; kernels check bounds). Nothing is
    /// launched when any global size is 0.
    func launch(_ variant: String, _ function: String, global: [Int], local: [Int],
                _ arguments: [KernelArgument]) throws {
        precondition(global.count == local.count && !global.isEmpty, "work size dimensions differ")
        if global.contains(0) { return }
        let kernel = try kernel(variant, function)
        try lock.withLock {
            var index: cl_uint = 0
            func set<T: BitwiseCopyable>(_ value: T) throws(ComputeError) {
                let status = withUnsafeBytes(of: value) { clSetKernelArg(kernel, index, $0.count, $0.baseAddress) }
                try check(status, "clSetKernelArg(\(function), \(index))")
                index += 1
            }
            for argument in arguments {
                switch argument {
                case .slice(let slice):
                    try set(slice.buffer.openCLMemory as cl_mem?)
                    try set(cl_int(slice.offset))
                case .int(let value):
                    precondition(value >= Int(Int32.min) && value <= Int(Int32.max), "kernel argument \(value) overflows int")
                    try set(cl_int(value))
                case .float(let value):
                    try set(value)
                case .flag(let value):
                    try set(cl_int(value ? 1 : 0))
                }
            }
            let rounded = zip(global, local).map { g, l in (g + l - 1) / l * l }
            var event: cl_event?
            let status: cl_int
            if profiledEvents != nil {
                status = clEnqueueNDRangeKernel(queue, kernel, cl_uint(global.count), nil, rounded, local,
                                                0, nil, &event)
            } else {
                status = clEnqueueNDRangeKernel(queue, kernel, cl_uint(global.count), nil, rounded, local,
                                                0, nil, nil)
            }
            try check(status, "clEnqueueNDRangeKernel(\(function))")
            if let event { profiledEvents?.append(event) }
            if syncEachKernel { try check(clFinish(queue), "clFinish after \(function)") }
        }
    }
}

/// Work-group size for one-dimensional element-wise kernels.
let elementwiseGroup = 64

/// Global/local sizes for `n` independent work-items.
func linear(_ n: Int) -> (global: [Int], local: [Int]) { ([n], [elementwiseGroup]) }
