import COpenCL

#if canImport(Glibc)
import Glibc
#endif

/// A block of `count` 32-bit floats owned by one device: host memory for the CPU device, a
/// `cl_mem` for an OpenCL device. Freed (or returned to the device's allocator cache) when the
/// last reference goes away.
public final class DeviceBuffer: @unchecked Sendable {
    /// Number of floats.
    public let count: Int
    let storage: Storage

    enum Storage {
        case host(UnsafeMutablePointer<Float>)
        case openCL(cl_mem, OpenCLBufferPool)
    }

    init(count: Int, storage: Storage) {
        self.count = count
        self.storage = storage
    }

    deinit {
        switch storage {
        case .host(let pointer):
            free(pointer)
        case .openCL(let memory, let pool):
            pool.recycle(memory, count: count)
        }
    }

    /// The whole buffer as a slice.
    public var whole: BufferSlice { BufferSlice(buffer: self, offset: 0, count: count) }

    /// Elements `offset ..< offset + count`.
    public func slice(_ offset: Int, _ count: Int) -> BufferSlice {
        BufferSlice(buffer: self, offset: offset, count: count)
    }

    var hostPointer: UnsafeMutablePointer<Float> {
        guard case .host(let pointer) = storage else {
            preconditionFailure("an OpenCL buffer was passed to the CPU device")
        }
        return pointer
    }

    var openCLMemory: cl_mem {
        guard case .openCL(let memory, _) = storage else {
            preconditionFailure("a host buffer was passed to an OpenCL device")
        }
        return memory
    }
}

/// A contiguous range of a `DeviceBuffer`: the unit every device operation works on. Per-tensor
/// views of the one flat parameter buffer are slices of it.
public struct BufferSlice: @unchecked Sendable {
    /// The buffer the range belongs to; the slice keeps it alive.
    public let buffer: DeviceBuffer
    /// Index of the first float, from the start of the buffer.
    public let offset: Int
    /// Number of floats.
    public let count: Int

    /// Floats `offset ..< offset + count` of `buffer`, which must lie inside it.
    public init(buffer: DeviceBuffer, offset: Int, count: Int) {
        precondition(offset >= 0 && count >= 0 && offset + count <= buffer.count,
                     "slice \(offset)..<\(offset + count) outside a buffer of \(buffer.count)")
        self.buffer = buffer
        self.offset = offset
        self.count = count
    }

    /// A sub-range of this slice, relative to its start.
    public func slice(_ offset: Int, _ count: Int) -> BufferSlice {
        precondition(offset >= 0 && count >= 0 && offset + count <= self.count,
                     "slice \(offset)..<\(offset + count) outside a slice of \(self.count)")
        return BufferSlice(buffer: buffer, offset: self.offset + offset, count: count)
    }

    var host: UnsafeMutablePointer<Float> { buffer.hostPointer + offset }
}
