/// What one element of a `DeviceBuffer` is. Every type is 32 bits wide, so offsets and sizes are
/// counted in elements the same way for all of them.
public enum ElementType: String, Sendable, Hashable, CustomStringConvertible {
    /// IEEE single precision: activations, parameters, gradients.
    case float32
    /// Unsigned words: packed sign bits, raw random words.
    case uint32
    /// Signed integers: class labels, gather indices.
    case int32

    /// Bytes per element (4 for every type).
    public var byteWidth: Int { 4 }

    public var description: String { rawValue }
}

/// A Swift type that a device buffer can hold: `Float`, `UInt32` or `Int32`.
public protocol DeviceScalar: BitwiseCopyable, Sendable {
    /// The buffer element type that stores values of this type.
    static var elementType: ElementType { get }
}

extension Float: DeviceScalar {
    public static var elementType: ElementType { .float32 }
}

extension UInt32: DeviceScalar {
    public static var elementType: ElementType { .uint32 }
}

extension Int32: DeviceScalar {
    public static var elementType: ElementType { .int32 }
}
