/// The device that runs the hand-written kernels of `Kernels/` over a `KernelRuntime` (OpenCL or
/// CUDA): memory with a reuse cache, the per-build knob values, compiled modules and functions,
/// and launches. Written once for every runtime; each kernel family's launches (operand checks,
/// work sizes, argument lists) are extensions in `Sources/Compute/Kernels/<Family>.swift`.
///
/// ```swift
/// let device = try KernelDevice.openCL(openCLDevices()[0])
/// let x = try device.upload([1, 2, 3] as [Float])
/// try device.axpby(alpha: 2, x: x.whole, beta: 0, y: x.whole)   // x = [2, 4, 6]
/// ```
public final class KernelDevice: Device, @unchecked Sendable {
    /// The runtime the kernels run on.
    public let runtime: any KernelRuntime
    /// `.gpu` (an OpenCL GPU), `.opencl` (another OpenCL device) or `.cuda`.
    public var kind: DeviceKind { runtime.kind }
    /// The runtime's device name.
    public var name: String { runtime.deviceName }
    /// The tuning overrides in force (build → knob → value), this device's defaults
    /// (`defaultTuning`) included; every other knob has its registry default.
    public let kernelDefines: KernelDefines
    /// Every knob of every build (`KernelRegistry.resolve`).
    public let knobs: [String: [String: Int]]

    let pool: DeviceBufferPool
    public let memoryUsage = MemoryUsage()
    private let lock = Lock()
    /// Workspace of split-K products, grown on demand; the in-order queue makes reuse safe.
    private var scratchBuffer: DeviceBuffer?
    /// Held while work on `scratchBuffer` is queued.
    private let scratchLock = Lock()
    private var modules: [String: RawModule] = [:]
    private var functions: [String: RawFunction] = [:]

    /// A device over `runtime` with `kernelDefines` over the device's default tuning.
    /// - Throws: `ComputeError.invalidTuning` when the overrides do not fit the registry.
    public init(runtime: any KernelRuntime, kernelDefines: KernelDefines = [:]) throws(ComputeError) {
        var defines = kernelDefines
        for (build, values) in defaultTuning(isGPU: runtime.isGPU, deviceName: runtime.deviceName)
        where defines[build] == nil {
            defines[build] = values
        }
        knobs = try KernelRegistry.resolve(defines)
        self.kernelDefines = defines
        self.runtime = runtime
        pool = DeviceBufferPool(limitBytes: max(runtime.totalMemoryBytes / 4, 64 << 20)) { [runtime] in
            runtime.free($0)
        }
    }

    /// The first or given OpenCL device, with its program cache in `cacheDirectory`.
    public static func openCL(_ info: OpenCLDeviceInfo, kernelDefines: KernelDefines = [:],
                              cacheDirectory: String? = KernelBinaryCache.defaultDirectory()) throws -> KernelDevice {
        try KernelDevice(runtime: OpenCLRuntime(info, cacheDirectory: cacheDirectory), kernelDefines: kernelDefines)
    }

    /// A device over the same runtime (queue, memory, compiled programs) with other tuning, for
    /// sweeps; its buffers may be used with this device.
    public func retuned(_ kernelDefines: KernelDefines) throws -> KernelDevice {
        try KernelDevice(runtime: runtime, kernelDefines: kernelDefines)
    }

    /// The value of knob `name` of `build`, as compiled.
    public func knob(_ build: String, _ name: String) -> Int {
        guard let value = knobs[build]?[name] else { preconditionFailure("no knob \(build):\(name) in the registry") }
        return value
    }

    /// Programs loaded from the disk cache rather than compiled, since the runtime opened.
    public var programCacheDiskHits: Int { runtime.programCacheDiskHits }

    // MARK: - Memory

    public func makeBuffer(count: Int, of type: ElementType, indexBound: Int?) throws -> DeviceBuffer {
        precondition(count >= 0, "negative buffer size")
        precondition(indexBound.map { $0 > 0 || count == 0 } ?? true, "an index buffer needs a bound of at least 1")
        guard count <= maxBufferElements else { throw ComputeError.bufferTooLarge(count: count) }
        let bytes = max(count, 1) * type.byteWidth
        let memory: RawMemory
        if let cached = pool.take(bytes: bytes) {
            memory = cached
        } else {
            do {
                memory = try runtime.allocate(bytes: bytes)
            } catch {
                // Cached buffers may be what fills the device: give them back and try once more.
                pool.drain()
                memory = try runtime.allocate(bytes: bytes)
            }
        }
        let buffer = DeviceBuffer(count: count, elementType: type, indexBound: indexBound,
                                  storage: .device(memory, pool), usage: memoryUsage)
        if indexBound != nil {
            // Fresh device memory holds garbage; an index buffer must start in range.
            try [Int32](repeating: 0, count: count).withUnsafeBytes {
                try runtime.write($0, to: memory, offset: 0)
            }
        }
        return buffer
    }

    public func write<T: DeviceScalar>(_ values: UnsafeBufferPointer<T>, to slice: BufferSlice) throws {
        checkWrite(values, to: slice)
        guard slice.count > 0 else { return }
        try runtime.write(UnsafeRawBufferPointer(values), to: slice.buffer.deviceMemory, offset: slice.byteOffset)
    }

    public func read<T: DeviceScalar>(_ slice: BufferSlice, into destination: UnsafeMutableBufferPointer<T>) throws {
        checkRead(slice, into: destination)
        guard slice.count > 0 else { return }
        try runtime.read(slice.buffer.deviceMemory, offset: slice.byteOffset,
                         into: UnsafeMutableRawBufferPointer(destination))
    }

    public func copy(_ source: BufferSlice, to destination: BufferSlice) throws {
        checkCopy(source, to: destination)
        guard source.count > 0 else { return }
        try runtime.copy(source.buffer.deviceMemory, offset: source.byteOffset, to: destination.buffer.deviceMemory,
                         offset: destination.byteOffset, bytes: source.byteCount)
    }

    public func synchronize() throws {
        try runtime.synchronize()
    }

    // MARK: - Kernels

    /// The program text of `build` as this device compiles it for `specialization` (nil: the
    /// family's first).
    public func program(_ build: String, specialization: KernelSpecialization? = nil) -> ProgramText {
        Self.program(build, values: knobs[build] ?? [:], specialization: specialization)
    }

    /// The program text of `build` with knob `values` (missing knobs take their defaults),
    /// compiled for `specialization` (nil: the family's first).
    public static func program(_ build: String, values: [String: Int],
                               specialization: KernelSpecialization? = nil) -> ProgramText {
        guard let entry = KernelRegistry.build(named: build) else {
            preconditionFailure("no kernel build \(build) in the registry")
        }
        return entry.family.program(build: build, values: entry.family.defaults.merging(values) { $1 },
                                    specialization: specialization)
    }

    /// Compiles every build of the registry, each for every specialisation of its family, now,
    /// so that compile time stays out of later timings and a broken kernel is reported at start-up.
    public func compileAllKernels() throws {
        for build in KernelRegistry.builds {
            for specialization in build.family.specializations { _ = try module(build.name, specialization) }
        }
    }

    private func module(_ build: String, _ specialization: KernelSpecialization) throws -> RawModule {
        let key = build + "/" + specialization.name
        if let module = lock.withLock({ modules[key] }) { return module }
        let module = try runtime.compile(program(build, specialization: specialization))
        lock.withLock { modules[key] = module }
        return module
    }

    func function(_ build: String, _ name: String, specialization: KernelSpecialization = .none) throws -> RawFunction {
        let key = build + "/" + specialization.name + "/" + name
        if let function = lock.withLock({ functions[key] }) { return function }
        let function = try runtime.function(name, in: try module(build, specialization))
        lock.withLock { functions[key] = function }
        return function
    }

    /// Queues `function` of `build` (compiled for `specialization`) over `groups` work-groups of
    /// `groupSize` work-items each. Nothing is launched when any count is 0.
    func launch(_ build: String, _ function: String, specialization: KernelSpecialization = .none, groups: [Int],
                groupSize: [Int], _ arguments: [KernelArgument]) throws {
        precondition(groups.count == groupSize.count && !groups.isEmpty, "work size dimensions differ")
        if groups.contains(0) { return }
        try runtime.launch(try self.function(build, function, specialization: specialization), name: function,
                           groups: groups, groupSize: groupSize, arguments: arguments.flatMap(\.launchArguments))
    }

    /// Runs `body` with the first `count` floats of the device's workspace, which nobody else
    /// queues work on until `body` returns: the launches it queues (a split-K product and its
    /// reduction) reach the in-order queue before any other thread's, so they read what they
    /// wrote. (Threads sharing one device, as parallel tests do, once raced here.)
    func withScratch<T>(count: Int, _ body: (BufferSlice) throws -> T) throws -> T {
        try scratchLock.withLock {
            if let buffer = scratchBuffer, buffer.count >= count { return try body(buffer.slice(0, count)) }
            let buffer = try makeBuffer(count: max(count, 1 << 16))
            scratchBuffer = buffer
            return try body(buffer.slice(0, count))
        }
    }

    /// Queues `function` of `build` over `count` independent work-items in groups of
    /// `elementwiseGroup` (kernels check bounds against their own counts).
    func launchLinear(_ build: String, _ function: String, specialization: KernelSpecialization = .none, count: Int,
                      _ arguments: [KernelArgument]) throws {
        try launch(build, function, specialization: specialization, groups: [(count + elementwiseGroup - 1) / elementwiseGroup],
                   groupSize: [elementwiseGroup], arguments)
    }
}

/// Work-group size for one-dimensional element-wise kernels.
let elementwiseGroup = 64
