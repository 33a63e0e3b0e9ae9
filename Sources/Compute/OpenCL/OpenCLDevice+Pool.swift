extension OpenCLDevice {
    private func geometryArguments(_ g: PoolGeometry) -> [KernelArgument] {
        [.int(g.batch), .int(g.height), .int(g.width), .int(g.channels), .int(g.kernel),
         .int(g.stride), .int(g.outHeight), .int(g.outWidth)]
    }

    public func maxPoolForward(_ g: PoolGeometry, x: BufferSlice, y: BufferSlice,
                               argmax: BufferSlice) throws {
        g.checkOperands(input: x, output: y, argmax: argmax)
        let (global, local) = linear(g.outputCount)
        try launch("pool", "maxpool_forward", global: global, local: local,
                   geometryArguments(g) + [.slice(x), .slice(y), .slice(argmax)])
    }

    public func maxPoolBackward(_ g: PoolGeometry, dy: BufferSlice, argmax: BufferSlice,
                                dx: BufferSlice) throws {
        g.checkOperands(input: dx, output: dy, argmax: argmax)
        let (global, local) = linear(g.inputCount)
        try launch("pool", "maxpool_backward", global: global, local: local,
                   geometryArguments(g) + [.slice(dy), .slice(argmax), .slice(dx)])
    }

    public func avgPoolForward(_ g: PoolGeometry, x: BufferSlice, y: BufferSlice) throws {
        g.checkOperands(input: x, output: y)
        let (global, local) = linear(g.outputCount)
        try launch("pool", "avgpool_forward", global: global, local: local,
                   geometryArguments(g) + [.slice(x), .slice(y)])
    }

    public func avgPoolBackward(_ g: PoolGeometry, dy: BufferSlice, dx: BufferSlice) throws {
        g.checkOperands(input: dx, output: dy)
        let (global, local) = linear(g.inputCount)
        try launch("pool", "avgpool_backward", global: global, local: local,
                   geometryArguments(g) + [.slice(dy), .slice(dx)])
    }
}
