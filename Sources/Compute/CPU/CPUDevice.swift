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
    /// "OpenBLAS (N threads)".
    public let name: String

    /// The CPU device; OpenBLAS uses its own thread count (`OPENBLAS_NUM_THREADS`).
    public init() {
        name = "OpenBLAS (\(openblas_get_num_threads()) threads)"
    }

    public func makeBuffer(count: Int) throws -> DeviceBuffer {
        precondition(count >= 0, "negative buffer size")
        guard count <= maxBufferElements else { throw ComputeError.bufferTooLarge(count: count) }
        // posix_memalign reports failure where Swift's allocator would abort; 64-byte alignment
        // keeps OpenBLAS and vector loops on whole cache lines.
        var memory: UnsafeMutableRawPointer?
        guard posix_memalign(&memory, 64, max(count, 1) * 4) == 0, let memory else {
            throw ComputeError.outOfMemory(bytes: count * 4)
        }
        return DeviceBuffer(count: count, storage: .host(memory.bindMemory(to: Float.self, capacity: max(count, 1))))
    }

    public func write(_ values: UnsafeBufferPointer<Float>, to slice: BufferSlice) throws {
        precondition(values.count == slice.count, "writing \(values.count) values into \(slice.count)")
        guard let base = values.baseAddress, slice.count > 0 else { return }
        slice.host.update(from: base, count: slice.count)
    }

    public func read(_ slice: BufferSlice, into destination: UnsafeMutableBufferPointer<Float>) throws {
        precondition(destination.count == slice.count, "reading \(slice.count) values into \(destination.count)")
        guard let base = destination.baseAddress, slice.count > 0 else { return }
        base.update(from: slice.host, count: slice.count)
    }

    public func copy(_ source: BufferSlice, to destination: BufferSlice) throws {
        precondition(source.count == destination.count, "copying \(source.count) values into \(destination.count)")
        guard source.count > 0 else { return }
        destination.host.update(from: source.host, count: source.count)
    }

    public func synchronize() throws {}
}
