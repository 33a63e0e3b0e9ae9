import COpenCL

#if canImport(Glibc)
import Glibc
#endif

/// The OpenCL runtime: one context and one in-order, profiling-enabled queue on one device.
///
/// Programs are compiled on first use and cached in memory and on disk (`KernelBinaryCache`,
/// keyed by source, options, platform, device and driver). Launches are queued without a
/// `clFinish`, so the host only waits when it reads a result. Set `FATHOM_SYNC_EACH_KERNEL=1` to
/// finish and check after every launch, which makes an asynchronous failure point at the kernel
/// that caused it.
public final class OpenCLRuntime: KernelRuntime, @unchecked Sendable {
    /// Bump when the on-disk layout or the meaning of a key changes.
    static let formatVersion = 2

    public let runtimeName = "opencl"
    public let deviceName: String
    public var isGPU: Bool { info.isGPU }
    public var kind: DeviceKind { info.isGPU ? .gpu : .opencl }
    public let totalMemoryBytes: Int
    public var computeUnits: Int { info.computeUnits }
    public let runtimePreludes: [String] = []
    /// The device as enumerated.
    public let info: OpenCLDeviceInfo

    let context: cl_context
    let queue: cl_command_queue
    private let cache: KernelBinaryCache?
    private let lock = Lock()
    private var programs: [String: cl_program] = [:]
    private var kernels: [String: cl_kernel] = [:]
    private var diskHits = 0
    /// Events of the launches while profiling, nil otherwise (then launches ask for none).
    private var profiledEvents: [cl_event]?
    private let syncEachKernel: Bool

    public var programCacheDiskHits: Int { lock.withLock { diskHits } }

    /// Opens `info`'s device.
    /// - Parameter cacheDirectory: where compiled programs are kept; nil disables the disk cache.
    public init(_ info: OpenCLDeviceInfo,
                cacheDirectory: String? = KernelBinaryCache.defaultDirectory()) throws(ComputeError) {
        self.info = info
        deviceName = "\(info.name) (\(info.deviceVersion), driver \(info.driverVersion))"
        var status: cl_int = 0
        var device: cl_device_id? = info.id
        // Some drivers (PoCL) initialise themselves on the first context and are not safe to
        // enter from two threads at once while they do.
        let created = Self.creationLock.withLock { clCreateContext(nil, 1, &device, nil, nil, &status) }
        guard let context = created else {
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
        totalMemoryBytes = Int(clamping: globalBytes)
        cache = cacheDirectory.map { KernelBinaryCache(directory: $0, magic: "FATHOMCL") }
        syncEachKernel = environment("FATHOM_SYNC_EACH_KERNEL") == "1"
    }

    private static let creationLock = Lock()

    deinit {
        clFinish(queue)
        for kernel in kernels.values { clReleaseKernel(kernel) }
        for program in programs.values { clReleaseProgram(program) }
        clReleaseCommandQueue(queue)
        clReleaseContext(context)
    }

    // MARK: - Programs

    public func compile(_ program: ProgramText) throws -> RawModule {
        let source = program.source(runtimePreludes: runtimePreludes)
        let options = (["-cl-std=CL1.2"] + (program.exactFloatMath ? ["-cl-fp32-correctly-rounded-divide-sqrt"] : [])
            + program.defineOptions).joined(separator: " ")
        let memoryKey = source + "\u{1}" + options
        return try lock.withLock {
            if let built = programs[memoryKey] { return RawModule(bits: UInt64(UInt(bitPattern: built))) }
            let path = cache?.path(name: program.buildName, key: [
                String(Self.formatVersion), source, options, info.platformName, info.name,
                info.driverVersion, info.deviceVersion])
            let built: cl_program
            if let cache, let path, let binary = cache.load(path), let loaded = loadBinary(binary, options: options) {
                diskHits += 1
                built = loaded
            } else {
                if let cache, let path { cache.remove(path) }
                built = try build(source: source, options: options, name: program.buildName)
                if let cache, let path, let binary = programBinary(built) { cache.store(binary, at: path) }
            }
            programs[memoryKey] = built
            return RawModule(bits: UInt64(UInt(bitPattern: built)))
        }
    }

    public func function(_ name: String, in module: RawModule) throws -> RawFunction {
        try lock.withLock {
            let key = "\(module.bits)/\(name)"
            if let kernel = kernels[key] { return RawFunction(bits: UInt64(UInt(bitPattern: kernel))) }
            guard let program = cl_program(bitPattern: UInt(module.bits)) else {
                preconditionFailure("a null OpenCL program")
            }
            var status: cl_int = 0
            guard let kernel = clCreateKernel(program, name, &status), status == CL_SUCCESS else {
                throw ComputeError.openCL(call: "clCreateKernel(\(name))", code: status)
            }
            kernels[key] = kernel
            return RawFunction(bits: UInt64(UInt(bitPattern: kernel)))
        }
    }

    private func build(source: String, options: String, name: String) throws -> cl_program {
        var status: cl_int = 0
        let created = source.withCString { pointer -> cl_program? in
            var strings: UnsafePointer<CChar>? = pointer
            return clCreateProgramWithSource(context, 1, &strings, nil, &status)
        }
        guard let program = created, status == CL_SUCCESS else {
            throw ComputeError.openCL(call: "clCreateProgramWithSource(\(name))", code: status)
        }
        var deviceID: cl_device_id? = info.id
        let built = clBuildProgram(program, 1, &deviceID, options, nil, nil)
        if built != CL_SUCCESS {
            let log = buildLog(program)
            clReleaseProgram(program)
            if built == CL_BUILD_PROGRAM_FAILURE { throw ComputeError.build(family: name, log: log) }
            throw ComputeError.openCL(call: "clBuildProgram(\(name))", code: built)
        }
        return program
    }

    private func buildLog(_ program: cl_program) -> String {
        var size = 0
        clGetProgramBuildInfo(program, info.id, cl_program_build_info(CL_PROGRAM_BUILD_LOG), 0, nil, &size)
        var bytes = [CChar](repeating: 0, count: size + 1)
        clGetProgramBuildInfo(program, info.id, cl_program_build_info(CL_PROGRAM_BUILD_LOG), size, &bytes, nil)
        return cString(bytes)
    }

    private func loadBinary(_ binary: [UInt8], options: String) -> cl_program? {
        var status: cl_int = 0, binaryStatus: cl_int = 0
        var deviceID: cl_device_id? = info.id
        let program = binary.withUnsafeBufferPointer { pointer -> cl_program? in
            var size = pointer.count
            var base: UnsafePointer<UInt8>? = pointer.baseAddress
            return clCreateProgramWithBinary(context, 1, &deviceID, &size, &base, &binaryStatus, &status)
        }
        guard let program, status == CL_SUCCESS, binaryStatus == CL_SUCCESS else {
            if let program { clReleaseProgram(program) }
            return nil
        }
        guard clBuildProgram(program, 1, &deviceID, options, nil, nil) == CL_SUCCESS else {
            clReleaseProgram(program)
            return nil
        }
        return program
    }

    private func programBinary(_ program: cl_program) -> [UInt8]? {
        var size = 0
        guard clGetProgramInfo(program, cl_program_info(CL_PROGRAM_BINARY_SIZES), MemoryLayout<Int>.size,
                               &size, nil) == CL_SUCCESS, size > 0 else { return nil }
        var binary = [UInt8](repeating: 0, count: size)
        let status = binary.withUnsafeMutableBufferPointer { pointer -> cl_int in
            var base: UnsafeMutablePointer<UInt8>? = pointer.baseAddress
            return clGetProgramInfo(program, cl_program_info(CL_PROGRAM_BINARIES),
                                    MemoryLayout<UnsafeMutablePointer<UInt8>?>.size, &base, nil)
        }
        return status == CL_SUCCESS ? binary : nil
    }

    // MARK: - Memory

    static func memory(_ raw: RawMemory) -> cl_mem? { cl_mem(bitPattern: UInt(raw.bits)) }

    public func allocate(bytes: Int) throws -> RawMemory {
        var status: cl_int = 0
        guard let memory = clCreateBuffer(context, cl_mem_flags(CL_MEM_READ_WRITE), max(bytes, 4), nil, &status),
              status == CL_SUCCESS
        else { throw ComputeError.openCL(call: "clCreateBuffer(\(bytes) bytes)", code: status) }
        return RawMemory(bits: UInt64(UInt(bitPattern: memory)))
    }

    public func free(_ memory: RawMemory) {
        if let memory = Self.memory(memory) { clReleaseMemObject(memory) }
    }

    public func write(_ bytes: UnsafeRawBufferPointer, to memory: RawMemory, offset: Int) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        // Blocking, because the caller's memory may be gone as soon as this returns.
        try check(clEnqueueWriteBuffer(queue, Self.memory(memory), cl_bool(CL_TRUE), offset, bytes.count, base,
                                       0, nil, nil), "clEnqueueWriteBuffer")
    }

    public func read(_ memory: RawMemory, offset: Int, into bytes: UnsafeMutableRawBufferPointer) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        try check(clEnqueueReadBuffer(queue, Self.memory(memory), cl_bool(CL_TRUE), offset, bytes.count, base,
                                      0, nil, nil), "clEnqueueReadBuffer")
    }

    public func copy(_ source: RawMemory, offset sourceOffset: Int, to destination: RawMemory, offset: Int,
                     bytes: Int) throws {
        guard bytes > 0 else { return }
        try check(clEnqueueCopyBuffer(queue, Self.memory(source), Self.memory(destination), sourceOffset, offset,
                                      bytes, 0, nil, nil), "clEnqueueCopyBuffer")
    }

    // MARK: - Launches

    public func launch(_ function: RawFunction, name: String, groups: [Int], groupSize: [Int],
                       arguments: [LaunchArgument]) throws {
        guard let kernel = cl_kernel(bitPattern: UInt(function.bits)) else { preconditionFailure("a null kernel") }
        // Arguments are state of the cl_kernel: setting them and enqueueing must not interleave.
        try lock.withLock {
            var index: cl_uint = 0
            func set<T: BitwiseCopyable>(_ value: T) throws(ComputeError) {
                let status = withUnsafeBytes(of: value) { clSetKernelArg(kernel, index, $0.count, $0.baseAddress) }
                try check(status, "clSetKernelArg(\(name), \(index))")
                index += 1
            }
            for argument in arguments {
                switch argument {
                case .memory(let memory): try set(Self.memory(memory))
                case .int32(let value): try set(value)
                case .uint32(let value): try set(value)
                case .float(let value): try set(value)
                }
            }
            let global = zip(groups, groupSize).map { $0 * $1 }
            var event: cl_event?
            let status = profiledEvents != nil
                ? clEnqueueNDRangeKernel(queue, kernel, cl_uint(global.count), nil, global, groupSize, 0, nil, &event)
                : clEnqueueNDRangeKernel(queue, kernel, cl_uint(global.count), nil, global, groupSize, 0, nil, nil)
            try check(status, "clEnqueueNDRangeKernel(\(name))")
            if let event { profiledEvents?.append(event) }
            if syncEachKernel { try check(clFinish(queue), "clFinish after \(name)") }
        }
    }

    public func beginProfiling() {
        lock.withLock {
            for event in profiledEvents ?? [] { clReleaseEvent(event) }
            profiledEvents = []
        }
    }

    public func endProfiling() throws -> Double {
        let events = lock.withLock { () -> [cl_event] in
            defer { profiledEvents = nil }
            return profiledEvents ?? []
        }
        defer { for event in events { clReleaseEvent(event) } }
        var seconds = 0.0
        for event in events { seconds += try eventSeconds(event) }
        return seconds
    }

    public func synchronize() throws {
        try check(clFinish(queue), "clFinish")
    }
}

/// Device time of a finished-or-pending event, waiting for it.
func eventSeconds(_ event: cl_event) throws(ComputeError) -> Double {
    var list: cl_event? = event
    try check(clWaitForEvents(1, &list), "clWaitForEvents")
    var start: cl_ulong = 0, end: cl_ulong = 0
    try check(clGetEventProfilingInfo(event, cl_profiling_info(CL_PROFILING_COMMAND_START), 8, &start, nil),
              "clGetEventProfilingInfo")
    try check(clGetEventProfilingInfo(event, cl_profiling_info(CL_PROFILING_COMMAND_END), 8, &end, nil),
              "clGetEventProfilingInfo")
    return Double(end &- start) * 1e-9
}
