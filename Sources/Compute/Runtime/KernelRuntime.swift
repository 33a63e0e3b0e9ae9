/// A handle to device memory of a kernel runtime: a `cl_mem` for OpenCL, a `CUdeviceptr` for
/// CUDA, as 64 bits.
public struct RawMemory: Hashable, Sendable {
    let bits: UInt64
}

/// A compiled program (`cl_program`, `CUmodule`) of a kernel runtime.
public struct RawModule: Hashable, Sendable {
    let bits: UInt64
}

/// One kernel entry point (`cl_kernel`, `CUfunction`) of a kernel runtime.
public struct RawFunction: Hashable, Sendable {
    let bits: UInt64
}

/// One argument of a launch as the runtime passes it: device memory or a 32-bit scalar.
public enum LaunchArgument: Sendable {
    case memory(RawMemory)
    case int32(Int32)
    case uint32(UInt32)
    case float(Float)
}

/// What a kernel-backed device needs from a GPU programming interface: compile program text,
/// find functions, move memory, launch, time and synchronise. Two implementations,
/// `OpenCLRuntime` and `CUDARuntime`; everything family-specific (operand checks, work sizes,
/// argument lists) lives once above them, in `KernelDevice` and `Sources/Compute/Kernels/`.
///
/// Work is queued in order on one queue (stream). A launch may return before it runs; reads
/// wait for the work queued before them.
public protocol KernelRuntime: AnyObject, Sendable {
    /// "opencl" or "cuda".
    var runtimeName: String { get }
    /// The device as the user sees it, e.g. "NVIDIA H200 (CUDA 13.0, NVRTC 12.9 from …)".
    var deviceName: String { get }
    /// Whether the device is a GPU (CUDA devices always are).
    var isGPU: Bool { get }
    /// The kind `--device` reports for this runtime's device.
    var kind: DeviceKind { get }
    /// Memory the device has, in bytes (sizes the buffer cache).
    var totalMemoryBytes: Int { get }
    /// Compute units (OpenCL) or multiprocessors (CUDA): how many work-groups run at once, which
    /// decides when a product is split along K.
    var computeUnits: Int { get }
    /// Options this runtime adds for `ProgramText.compileOptions` (what the text asks for) and
    /// the preludes it prepends (`cuda_compat` on CUDA).
    var runtimePreludes: [String] { get }
    /// Programs loaded from the disk cache rather than compiled, since this runtime opened.
    var programCacheDiskHits: Int { get }

    /// Compiles `program` (cached in memory and on disk by the runtime).
    /// - Throws: `ComputeError.build` with the compiler's whole log, naming `Kernels/<file>.cl`
    ///   and its lines; a runtime error for anything else.
    func compile(_ program: ProgramText) throws -> RawModule
    /// Entry point `name` of a compiled module.
    func function(_ name: String, in module: RawModule) throws -> RawFunction

    /// `bytes` of uninitialised device memory.
    func allocate(bytes: Int) throws -> RawMemory
    /// Gives memory back to the driver.
    func free(_ memory: RawMemory)
    /// Copies host bytes to `memory + offset`; returns when `bytes` may be reused.
    func write(_ bytes: UnsafeRawBufferPointer, to memory: RawMemory, offset: Int) throws
    /// Copies `memory + offset` to host bytes, after the work queued before it.
    func read(_ memory: RawMemory, offset: Int, into bytes: UnsafeMutableRawBufferPointer) throws
    /// Device-to-device copy, queued.
    func copy(_ source: RawMemory, offset: Int, to destination: RawMemory, offset: Int, bytes: Int) throws

    /// Queues `function` over `groups` work-groups (blocks) of `groupSize` work-items (threads)
    /// each, per dimension (1 to 3 dimensions, x first).
    func launch(_ function: RawFunction, name: String, groups: [Int], groupSize: [Int],
                arguments: [LaunchArgument]) throws

    /// Starts recording the device time of each launch that follows.
    func beginProfiling()
    /// Stops recording and returns the summed device time, in seconds, of the launches since
    /// `beginProfiling`, waiting for them.
    func endProfiling() throws -> Double
    /// Waits until all queued work is done.
    func synchronize() throws
}
