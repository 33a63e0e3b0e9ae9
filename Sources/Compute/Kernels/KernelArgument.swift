/// One argument of a kernel launch, as the family launch files write it. A buffer argument
/// expands to two kernel parameters, the memory and the element offset, which is how every
/// kernel in `Kernels/` takes its arrays; each case states the element type the kernel reads.
enum KernelArgument {
    /// A `float` array.
    case slice(BufferSlice)
    /// An `int` array.
    case int32s(BufferSlice)
    /// A `uint` array.
    case uint32s(BufferSlice)
    /// An array of 32-bit words of any element type (copies that do not look at the values).
    case words(BufferSlice)
    case int(Int)
    case uint(UInt32)
    case float(Float)
    case flag(Bool)

    /// The runtime's arguments, after checking the element type.
    var launchArguments: [LaunchArgument] {
        switch self {
        case .slice(let s): return Self.buffer(s, .float32)
        case .int32s(let s): return Self.buffer(s, .int32)
        case .uint32s(let s): return Self.buffer(s, .uint32)
        case .words(let s): return Self.buffer(s, nil)
        case .int(let value):
            precondition(value >= Int(Int32.min) && value <= Int(Int32.max), "kernel argument \(value) overflows int")
            return [.int32(Int32(value))]
        case .uint(let value): return [.uint32(value)]
        case .float(let value): return [.float(value)]
        case .flag(let value): return [.int32(value ? 1 : 0)]
        }
    }

    private static func buffer(_ slice: BufferSlice, _ type: ElementType?) -> [LaunchArgument] {
        if let type { slice.expect(type, "a kernel's \(type) array argument") }
        return [.memory(slice.buffer.deviceMemory), .int32(Int32(slice.offset))]
    }
}
