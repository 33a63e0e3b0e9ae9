import CBLAS

#if canImport(Glibc)
import Glibc
#endif

/// The CPU backend: OpenBLAS for matrix products, plain Swift loops (auto-vectorised) for the rest.
/// Every operation runs synchronously on the calling thread; it is also the reference that the
/// OpenCL kernels are tested against.
public final class CPUDevice: Device {
    /// Always `.cpu`.
    public let kind = DeviceKind.cpu
    /// "OpenBLAS Zen (N threads)": the kernel set OpenBLAS chose for this CPU, whose rounding
    /// the CPU results depend on, and its thread count.
    public let name: String
    public let memoryUsage = MemoryUsage()

    /// The CPU device; OpenBLAS uses its own thread count (`OPENBLAS_NUM_THREADS`).
    public init() {
        let core = openblas_get_corename().map { String(cString: $0) } ?? "unknown core"
        name = "OpenBLAS \(core) (\(openblas_get_num_threads()) threads)"
    }

    public func makeBuffer(count: Int, of type: ElementType, indexBound: Int?) throws -> DeviceBuffer {
        precondition(count >= 0, "negative buffer size")
        precondition(indexBound.map { $0 > 0 || count == 0 } ?? true, "an index buffer needs a bound of at least 1")
        guard count <= maxBufferElements else { throw ComputeError.bufferTooLarge(count: count) }
        // posix_memalign reports failure where Swift's allocator would abort; 64-byte alignment
        // keeps OpenBLAS and vector loops on whole cache lines.
        var memory: UnsafeMutableRawPointer?
        let bytes = max(count, 1) * type.byteWidth
        guard posix_memalign(&memory, 64, bytes) == 0, let memory else {
            throw ComputeError.outOfMemory(bytes: bytes)
        }
        if indexBound != nil { memory.initializeMemory(as: UInt8.self, repeating: 0, count: bytes) }
        return DeviceBuffer(count: count, elementType: type, indexBound: indexBound, storage: .host(memory),
                            usage: memoryUsage)
    }

    public func write<T: DeviceScalar>(_ values: UnsafeBufferPointer<T>, to slice: BufferSlice) throws {
        checkWrite(values, to: slice)
        guard let base = values.baseAddress, slice.count > 0 else { return }
        slice.hostBytes.copyMemory(from: base, byteCount: slice.byteCount)
    }

    public func read<T: DeviceScalar>(_ slice: BufferSlice, into destination: UnsafeMutableBufferPointer<T>) throws {
        checkRead(slice, into: destination)
        guard let base = destination.baseAddress, slice.count > 0 else { return }
        UnsafeMutableRawPointer(base).copyMemory(from: slice.hostBytes, byteCount: slice.byteCount)
    }

    public func copy(_ source: BufferSlice, to destination: BufferSlice) throws {
        checkCopy(source, to: destination)
        guard source.count > 0 else { return }
        destination.hostBytes.copyMemory(from: source.hostBytes, byteCount: source.byteCount)
    }

    public func synchronize() throws {}
}
