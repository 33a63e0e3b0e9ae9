extension OpenCLDevice {
    private func geometryArguments(_ g: ConvGeometry) -> [KernelArgument] {
        [.int(g.batch), .int(g.height), .int(g.width), .int(g.channels), .int(g.kernelHeight),
         .int(g.kernelWidth), .int(g.stride), .int(g.padding), .int(g.outHeight), .int(g.outWidth)]
    }

    public func im2col(_ g: ConvGeometry, x: BufferSlice, cols: BufferSlice) throws {
        precondition(x.count >= g.inputCount && cols.count >= g.patchRows * g.patchSize,
                     "im2col shape mismatch")
        let (global, local) = linear(g.patchRows * g.patchSize)
        try launch("conv", "im2col", global: global, local: local,
                   geometryArguments(g) + [.slice(x), .slice(cols)])
    }

    public func col2im(_ g: ConvGeometry, cols: BufferSlice, dx: BufferSlice) throws {
        precondition(dx.count >= g.inputCount && cols.count >= g.patchRows * g.patchSize,
                     "col2im shape mismatch")
        let (global, local) = linear(g.inputCount)
        try launch("conv", "col2im", global: global, local: local,
                   geometryArguments(g) + [.slice(cols), .slice(dx)])
    }
}
