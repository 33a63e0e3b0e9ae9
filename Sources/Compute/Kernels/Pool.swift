extension KernelFamily {
    /// `Kernels/pool.cl`: max and average pooling, forward and backward.
    public static let pool = KernelFamily(
        name: "pool", functions: ["maxpool_forward", "maxpool_backward", "avgpool_forward", "avgpool_backward"])
}

extension KernelDevice {
    private func geometryArguments(_ g: PoolGeometry) -> [KernelArgument] {
        [.int(g.batch), .int(g.height), .int(g.width), .int(g.channels), .int(g.kernel),
         .int(g.stride), .int(g.outHeight), .int(g.outWidth)]
    }

    public func maxPoolForward(_ g: PoolGeometry, x: BufferSlice, y: BufferSlice,
                               argmax: BufferSlice) throws {
        g.checkOperands(input: x, output: y, argmax: argmax)
        try launchLinear("pool", "maxpool_forward", count: g.outputCount,
                         geometryArguments(g) + [.slice(x), .slice(y), .slice(argmax)])
    }

    public func maxPoolBackward(_ g: PoolGeometry, dy: BufferSlice, argmax: BufferSlice,
                                dx: BufferSlice) throws {
        g.checkOperands(input: dx, output: dy, argmax: argmax)
        try launchLinear("pool", "maxpool_backward", count: g.inputCount,
                         geometryArguments(g) + [.slice(dy), .slice(argmax), .slice(dx)])
    }

    public func avgPoolForward(_ g: PoolGeometry, x: BufferSlice, y: BufferSlice) throws {
        g.checkOperands(input: x, output: y)
        try launchLinear("pool", "avgpool_forward", count: g.outputCount,
                         geometryArguments(g) + [.slice(x), .slice(y)])
    }

    public func avgPoolBackward(_ g: PoolGeometry, dy: BufferSlice, dx: BufferSlice) throws {
        g.checkOperands(input: dx, output: dy)
        try launchLinear("pool", "avgpool_backward", count: g.inputCount,
                         geometryArguments(g) + [.slice(dy), .slice(dx)])
    }
}
