extension OpenCLDevice {
    public func fill(_ x: BufferSlice, with value: Float) throws {
        let (global, local) = linear(x.count)
        try launch("elementwise", "fill", global: global, local: local,
                   [.slice(x), .int(x.count), .float(value)])
    }

    public func axpby(alpha: Float, x: BufferSlice, beta: Float, y: BufferSlice) throws {
        checkSameCount(x, y, "axpby")
        let (global, local) = linear(x.count)
        try launch("elementwise", "axpby", global: global, local: local,
                   [.int(x.count), .float(alpha), .slice(x), .float(beta), .slice(y)])
    }

    public func activationForward(_ activation: Activation, x: BufferSlice, y: BufferSlice) throws {
        checkSameCount(x, y, "activation")
        let (global, local) = linear(x.count)
        try launch("elementwise", "activation_forward", global: global, local: local,
                   [.int(x.count), .int(Int(activation.rawValue)), .slice(x), .slice(y)])
    }

    public func activationBackward(_ activation: Activation, y: BufferSlice, dy: BufferSlice,
                                   dx: BufferSlice) throws {
        checkSameCount(y, dy, "activation gradient")
        checkSameCount(y, dx, "activation gradient")
        let (global, local) = linear(y.count)
        try launch("elementwise", "activation_backward", global: global, local: local,
                   [.int(y.count), .int(Int(activation.rawValue)), .slice(y), .slice(dy), .slice(dx)])
    }

    public func gatherRows(_ source: BufferSlice, width: Int, indices: BufferSlice,
                           into destination: BufferSlice) throws {
        checkGather(width: width, indices: indices, destination: destination)
        let (global, local) = linear(destination.count)
        try launch("elementwise", "gather_rows", global: global, local: local,
                   [.int(indices.count), .int(width), .slice(source), .slice(indices), .slice(destination)])
    }
}
