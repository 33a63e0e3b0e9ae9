#if canImport(Glibc)
import Glibc
#endif

/// A block of `count` 32-bit elements of one `ElementType`, owned by one device: host memory
/// for the CPU device, device memory of a kernel runtime (OpenCL, CUDA) otherwise. Freed, or
/// returned to the device's allocator cache, when the last reference goes away.
///
/// An *index buffer* (`indexBound` set) holds `Int32` values that are all in `0 ..< indexBound`:
/// every write to it is checked, and it starts zeroed, so kernels that index with it (gathers,
/// labels of a loss) never read outside the buffer they index.
public final class DeviceBuffer: @unchecked Sendable {
    /// Number of elements.
    public let count: Int
    /// What each element is.
    public let elementType: ElementType
    /// For an index buffer, the exclusive upper bound of every element; nil otherwise.
    public let indexBound: Int?
    let storage: Storage
    private let usage: MemoryUsage

    enum Storage {
        case host(UnsafeMutableRawPointer)
        case device(RawMemory, DeviceBufferPool)
    }

    init(count: Int, elementType: ElementType, indexBound: Int? = nil, storage: Storage, usage: MemoryUsage) {
        precondition(indexBound == nil || elementType == .int32, "index buffers hold Int32")
        self.count = count
        self.elementType = elementType
        self.indexBound = indexBound
        self.storage = storage
        self.usage = usage
        usage.allocated(max(count, 1) * elementType.byteWidth)
    }

    deinit {
        usage.released(max(count, 1) * elementType.byteWidth)
        switch storage {
        case .host(let pointer):
            free(pointer)
        case .device(let memory, let pool):
            pool.recycle(memory, bytes: max(count, 1) * elementType.byteWidth)
        }
    }

    /// Bytes of the elements (4 per element).
    public var byteCount: Int { count * elementType.byteWidth }

    /// The whole buffer as a slice.
    public var whole: BufferSlice { BufferSlice(buffer: self, offset: 0, count: count) }

    /// Elements `offset ..< offset + count`.
    public func slice(_ offset: Int, _ count: Int) -> BufferSlice {
        BufferSlice(buffer: self, offset: offset, count: count)
    }

    var hostPointer: UnsafeMutableRawPointer {
        guard case .host(let pointer) = storage else {
            preconditionFailure("a device buffer was passed to the CPU device")
        }
        return pointer
    }

    var deviceMemory: RawMemory {
        guard case .device(let memory, _) = storage else {
            preconditionFailure("a host buffer was passed to a kernel device")
        }
        return memory
    }
}

/// A contiguous range of a `DeviceBuffer`: the unit every device operation works on. Per-tensor
/// views of the one flat parameter buffer are slices of it. A slice has its buffer's element
/// type; operations state which type each operand must have and check it.
public struct BufferSlice: @unchecked Sendable {
    /// The buffer the range belongs to; the slice keeps it alive.
    public let buffer: DeviceBuffer
    /// Index of the first element, from the start of the buffer.
    public let offset: Int
    /// Number of elements.
    public let count: Int

    /// Elements `offset ..< offset + count` of `buffer`, which must lie inside it.
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

    /// The element type of the buffer.
    public var elementType: ElementType { buffer.elementType }

    /// Traps unless the slice holds `type` (a programmer error: the operation was handed the
    /// wrong kind of buffer).
    func expect(_ type: ElementType, _ operand: @autoclosure () -> String) {
        precondition(buffer.elementType == type,
                     "\(operand()) must be a \(type) buffer, not \(buffer.elementType)")
    }

    /// Byte offset of the first element.
    var byteOffset: Int { offset * buffer.elementType.byteWidth }
    /// Bytes of the range.
    var byteCount: Int { count * buffer.elementType.byteWidth }

    /// The CPU device's view of a float slice.
    var host: UnsafeMutablePointer<Float> { typedHost(Float.self) }
    /// The CPU device's view of an `Int32` slice.
    var hostInt32: UnsafeMutablePointer<Int32> { typedHost(Int32.self) }
    /// The CPU device's view of a `UInt32` slice.
    var hostUInt32: UnsafeMutablePointer<UInt32> { typedHost(UInt32.self) }
    /// The CPU device's view of the raw bytes.
    var hostBytes: UnsafeMutableRawPointer { buffer.hostPointer + byteOffset }

    private func typedHost<T: DeviceScalar>(_ type: T.Type) -> UnsafeMutablePointer<T> {
        expect(T.elementType, "this operand")
        return (buffer.hostPointer + byteOffset).assumingMemoryBound(to: T.self)
    }
}
