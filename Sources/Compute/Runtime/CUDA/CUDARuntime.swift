import CCUDA

/// The CUDA runtime: the device's primary context and one stream, kernels compiled by NVRTC from
/// the same `Kernels/*.cl` files the OpenCL runtime builds (behind `Kernels/cuda_compat.cl`) to a
/// cubin for the device's exact compute capability, cached on disk like OpenCL programs.
///
/// Transfers are synchronous on the stream for host memory the caller may free at once; launches
/// are queued. `FATHOM_SYNC_EACH_KERNEL=1` synchronises and checks after every launch.
public final class CUDARuntime: KernelRuntime, @unchecked Sendable {
    /// Bump when the on-disk layout or the meaning of a key changes.
    static let formatVersion = 1

    public let runtimeName = "cuda"
    public let deviceName: String
    public let isGPU = true
    public let kind = DeviceKind.cuda
    public var totalMemoryBytes: Int { info.totalMemoryBytes }
    public var computeUnits: Int { info.multiprocessors }
    public let runtimePreludes = ["cuda_compat"]
    /// The device as enumerated.
    public let info: CUDADeviceInfo
    /// The compiler.
    public let nvrtc: NVRTC

    private let driver: CUDADriver
    private let context: CUcontext
    let stream: CUstream
    private let cache: KernelBinaryCache?
    private let lock = Lock()
    private var modules: [String: CUmodule] = [:]
    private var diskHits = 0
    /// (start, end) event pairs of the launches while profiling, nil otherwise.
    private var profiledEvents: [(CUevent, CUevent)]?
    private let syncEachKernel: Bool

    public var programCacheDiskHits: Int { lock.withLock { diskHits } }

    /// Opens `info`'s device with `nvrtc` as its compiler.
    /// - Parameter cacheDirectory: where cubins are kept; nil disables the disk cache.
    public init(_ info: CUDADeviceInfo, nvrtc: NVRTC,
                cacheDirectory: String? = KernelBinaryCache.defaultDirectory()) throws(ComputeError) {
        guard case .success(let driver) = CUDADriver.shared else {
            throw ComputeError.noCUDADevice(found: describeCUDADevices())
        }
        self.driver = driver
        self.info = info
        self.nvrtc = nvrtc
        deviceName = "\(info.name) (CUDA \(info.driverVersion), \(info.architecture), "
            + "NVRTC \(nvrtc.version.major).\(nvrtc.version.minor) from \(nvrtc.path))"
        var context: CUcontext?
        try driver.check(driver.primaryContextRetain(&context, info.device), "cuDevicePrimaryCtxRetain")
        guard let context else { throw ComputeError.cuda(call: "cuDevicePrimaryCtxRetain", code: 999, name: "no context") }
        self.context = context
        var stream: CUstream?
        do {
            try driver.check(driver.contextSetCurrent(context), "cuCtxSetCurrent")
            try driver.check(driver.streamCreate(&stream, UInt32(FATHOM_CU_STREAM_NON_BLOCKING)), "cuStreamCreate")
        } catch {
            _ = driver.primaryContextRelease(info.device)
            throw error
        }
        guard let stream else {
            _ = driver.primaryContextRelease(info.device)
            throw ComputeError.cuda(call: "cuStreamCreate", code: 999, name: "no stream")
        }
        self.stream = stream
        cache = cacheDirectory.map { KernelBinaryCache(directory: $0, magic: "FATHOMCU") }
        syncEachKernel = environment("FATHOM_SYNC_EACH_KERNEL") == "1"
    }

    deinit {
        _ = driver.contextSetCurrent(context)
        _ = driver.streamSynchronize(stream)
        for module in modules.values { _ = driver.moduleUnload(module) }
        for (start, end) in profiledEvents ?? [] {
            _ = driver.eventDestroy(start)
            _ = driver.eventDestroy(end)
        }
        _ = driver.streamDestroy(stream)
        _ = driver.primaryContextRelease(info.device)
    }

    /// Driver calls act on the calling thread's current context; threads come and go.
    func makeCurrent() throws(ComputeError) {
        try driver.check(driver.contextSetCurrent(context), "cuCtxSetCurrent")
    }

    // MARK: - Programs

    public func compile(_ program: ProgramText) throws -> RawModule {
        let source = program.source(runtimePreludes: runtimePreludes)
        let architecture = info.architecture
        let key = [String(Self.formatVersion), source, program.defineOptions.joined(separator: " "), architecture,
                   driver.versionText, "\(nvrtc.version.major).\(nvrtc.version.minor)"]
        return try lock.withLock {
            let memoryKey = key.joined(separator: "\u{1}")
            if let module = modules[memoryKey] { return RawModule(bits: UInt64(UInt(bitPattern: module))) }
            try makeCurrent()
            let path = cache?.path(name: program.buildName, key: key)
            var module: CUmodule?
            if let cache, let path, let cubin = cache.load(path) {
                module = try? load(cubin, name: program.buildName)
                if module == nil { cache.remove(path) } else { diskHits += 1 }
            }
            if module == nil {
                let output = try nvrtc.compile(source, name: program.buildName, architecture: architecture,
                                               defines: program.defines)
                module = try load(output.cubin, name: program.buildName)
                if let cache, let path { cache.store(output.cubin, at: path) }
            }
            guard let module else { preconditionFailure("a module was neither loaded nor compiled") }
            modules[memoryKey] = module
            return RawModule(bits: UInt64(UInt(bitPattern: module)))
        }
    }

    private func load(_ cubin: [UInt8], name: String) throws(ComputeError) -> CUmodule {
        var module: CUmodule?
        let status = cubin.withUnsafeBytes { driver.moduleLoadData(&module, $0.baseAddress) }
        guard status == 0, let module else {
            // A cubin for a newer toolkit than the driver, or for another architecture.
            throw ComputeError.cudaModule(build: name, code: status, name: driver.name(of: status),
                                          driver: driver.versionText,
                                          nvrtc: "\(nvrtc.version.major).\(nvrtc.version.minor)",
                                          architecture: info.architecture)
        }
        return module
    }

    public func function(_ name: String, in module: RawModule) throws -> RawFunction {
        guard let handle = CUmodule(bitPattern: UInt(module.bits)) else { preconditionFailure("a null CUDA module") }
        var function: CUfunction?
        try makeCurrent()
        try driver.check(driver.moduleGetFunction(&function, handle, name), "cuModuleGetFunction(\(name))")
        guard let function else { throw ComputeError.cuda(call: "cuModuleGetFunction(\(name))", code: 500, name: "not found") }
        return RawFunction(bits: UInt64(UInt(bitPattern: function)))
    }

    // MARK: - Memory

    public func allocate(bytes: Int) throws -> RawMemory {
        try makeCurrent()
        var pointer: CUdeviceptr = 0
        try driver.check(driver.memAlloc(&pointer, max(bytes, 4)), "cuMemAlloc(\(bytes) bytes)")
        return RawMemory(bits: pointer)
    }

    public func free(_ memory: RawMemory) {
        _ = driver.contextSetCurrent(context)
        _ = driver.memFree(memory.bits)
    }

    public func write(_ bytes: UnsafeRawBufferPointer, to memory: RawMemory, offset: Int) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        try makeCurrent()
        try driver.check(driver.memcpyHtoD(memory.bits + UInt64(offset), base, bytes.count, stream), "cuMemcpyHtoDAsync")
        // The caller's memory may be gone as soon as this returns.
        try driver.check(driver.streamSynchronize(stream), "cuStreamSynchronize")
    }

    public func read(_ memory: RawMemory, offset: Int, into bytes: UnsafeMutableRawBufferPointer) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        try makeCurrent()
        try driver.check(driver.memcpyDtoH(base, memory.bits + UInt64(offset), bytes.count, stream), "cuMemcpyDtoHAsync")
        try driver.check(driver.streamSynchronize(stream), "cuStreamSynchronize")
    }

    public func copy(_ source: RawMemory, offset sourceOffset: Int, to destination: RawMemory, offset: Int,
                     bytes: Int) throws {
        guard bytes > 0 else { return }
        try makeCurrent()
        try driver.check(driver.memcpyDtoD(destination.bits + UInt64(offset), source.bits + UInt64(sourceOffset),
                                           bytes, stream), "cuMemcpyDtoDAsync")
    }

    // MARK: - Launches

    public func launch(_ function: RawFunction, name: String, groups: [Int], groupSize: [Int],
                       arguments: [LaunchArgument]) throws {
        guard let handle = CUfunction(bitPattern: UInt(function.bits)) else { preconditionFailure("a null CUDA function") }
        precondition(groups.count <= 3, "at most three launch dimensions")
        let gridLimits = [Int(Int32.max), 65535, 65535]
        guard zip(groups, gridLimits).allSatisfy({ $0 <= $1 }), groupSize.reduce(1, *) <= 1024 else {
            throw ComputeError.launchTooLarge(kernel: name, shape: "\(groups) blocks of \(groupSize) threads")
        }
        func dimension(_ values: [Int], _ i: Int) -> UInt32 { i < values.count ? UInt32(values[i]) : 1 }
        // cuLaunchKernel takes a pointer to each argument's value.
        var storage = [UInt64](repeating: 0, count: arguments.count)
        for (i, argument) in arguments.enumerated() {
            switch argument {
            case .memory(let memory): storage[i] = memory.bits
            case .int32(let value): storage[i] = UInt64(UInt32(bitPattern: value))
            case .uint32(let value): storage[i] = UInt64(value)
            case .float(let value): storage[i] = UInt64(value.bitPattern)
            }
        }
        try makeCurrent()
        try lock.withLock {
            var events: (CUevent, CUevent)?
            if profiledEvents != nil {
                var start: CUevent?, end: CUevent?
                let first = driver.eventCreate(&start, UInt32(FATHOM_CU_EVENT_DEFAULT))
                let second = driver.eventCreate(&end, UInt32(FATHOM_CU_EVENT_DEFAULT))
                guard first == 0, second == 0, let start, let end else {
                    if let start { _ = driver.eventDestroy(start) }
                    if let end { _ = driver.eventDestroy(end) }
                    try driver.check(first != 0 ? first : second, "cuEventCreate")
                    return
                }
                // Owned by the profiling list from here on, so a failed launch cannot leak them.
                events = (start, end)
                profiledEvents?.append((start, end))
                try driver.check(driver.eventRecord(start, stream), "cuEventRecord")
            }
            // Little-endian: a 32-bit argument's value is the first four bytes of its slot.
            let status = storage.withUnsafeMutableBufferPointer { slots -> CUresult in
                guard let base = slots.baseAddress else { return 1 }
                var pointers: [UnsafeMutableRawPointer?] = (0..<slots.count).map { UnsafeMutableRawPointer(base + $0) }
                return pointers.withUnsafeMutableBufferPointer { list in
                    driver.launchKernel(handle, dimension(groups, 0), dimension(groups, 1), dimension(groups, 2),
                                        dimension(groupSize, 0), dimension(groupSize, 1), dimension(groupSize, 2),
                                        0, stream, list.baseAddress, nil)
                }
            }
            try driver.check(status, "cuLaunchKernel(\(name))")
            if let events { try driver.check(driver.eventRecord(events.1, stream), "cuEventRecord") }
            if syncEachKernel { try driver.check(driver.streamSynchronize(stream), "cuStreamSynchronize after \(name)") }
        }
    }

    public func beginProfiling() {
        _ = driver.contextSetCurrent(context)
        lock.withLock {
            for (start, end) in profiledEvents ?? [] {
                _ = driver.eventDestroy(start)
                _ = driver.eventDestroy(end)
            }
            profiledEvents = []
        }
    }

    public func endProfiling() throws -> Double {
        let events = lock.withLock { () -> [(CUevent, CUevent)] in
            defer { profiledEvents = nil }
            return profiledEvents ?? []
        }
        defer {
            for (start, end) in events {
                _ = driver.eventDestroy(start)
                _ = driver.eventDestroy(end)
            }
        }
        try makeCurrent()
        var seconds = 0.0
        for (start, end) in events {
            try driver.check(driver.eventSynchronize(end), "cuEventSynchronize")
            var milliseconds: Float = 0
            try driver.check(driver.eventElapsedTime(&milliseconds, start, end), "cuEventElapsedTime")
            seconds += Double(milliseconds) * 1e-3
        }
        return seconds
    }

    public func synchronize() throws {
        try makeCurrent()
        try driver.check(driver.streamSynchronize(stream), "cuStreamSynchronize")
    }
}
