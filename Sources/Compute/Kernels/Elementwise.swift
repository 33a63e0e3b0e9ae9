extension KernelFamily {
    /// `Kernels/elementwise.cl`: fill, axpby, activations and row gathers.
    public static let elementwise = KernelFamily(
        name: "elementwise", functions: ["fill", "axpby", "activation_forward", "activation_backward", "gather_rows"])
}

extension KernelDevice {
    public func fill(_ x: BufferSlice, with value: Float) throws {
        try launchLinear("elementwise", "fill", count: x.count, [.slice(x), .int(x.count), .float(value)])
    }

    public func axpby(alpha: Float, x: BufferSlice, beta: Float, y: BufferSlice) throws {
        checkSameCount(x, y, "axpby")
        try launchLinear("elementwise", "axpby", count: x.count,
                         [.int(x.count), .float(alpha), .slice(x), .float(beta), .slice(y)])
    }

    public func activationForward(_ activation: Activation, x: BufferSlice, y: BufferSlice) throws {
        checkSameCount(x, y, "activation")
        try launchLinear("elementwise", "activation_forward", count: x.count,
                         [.int(x.count), .int(Int(activation.rawValue)), .slice(x), .slice(y)])
    }

    public func activationBackward(_ activation: Activation, y: BufferSlice, dy: BufferSlice,
                                   dx: BufferSlice) throws {
        checkSameCount(y, dy, "activation gradient")
        checkSameCount(y, dx, "activation gradient")
        try launchLinear("elementwise", "activation_backward", count: y.count,
                         [.int(y.count), .int(Int(activation.rawValue)), .slice(y), .slice(dy), .slice(dx)])
    }

    public func gatherRows(_ source: BufferSlice, width: Int, indices: BufferSlice,
                           into destination: BufferSlice) throws {
        checkGather(source, width: width, indices: indices, destination: destination)
        try launchLinear("elementwise", "gather_rows", count: destination.count,
                         [.int(indices.count), .int(width), .words(source), .int32s(indices), .words(destination)])
    }
}
