extension OpenCLDevice {
    private func geometryArguments(_ g: ConvGeometry) -> [KernelArgument] {
        [.int(g.batch), .int(g.height), .int(g.width), .int(g.channels), .int(g.kernelHeight),
         .int(g.kernelWidth), .int(g.stride), .int(g.padding), .int(g.outHeight), .int(g.outWidth)]
    }

    public func im2col(_ g: ConvGeometry, x: BufferSlice, cols: BufferSlice) throws {
        g.checkOperands(input: x, patches: cols)
        let (global, local) = linear(g.patchRows * g.patchSize)
        try launch("conv", "im2col", global: global, local: local,
                   geometryArguments(g) + [.slice(x), .slice(cols)])
    }

    public func col2im(_ g: ConvGeometry, cols: BufferSlice, dx: BufferSlice) throws {
        g.checkOperands(input: dx, patches: cols)
        let (global, local) = linear(g.inputCount)
        try launch("conv", "col2im", global: global, local: local,
                   geometryArguments(g) + [.slice(cols), .slice(dx)])
    }
}
