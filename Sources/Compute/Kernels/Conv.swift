extension KernelFamily {
    /// `Kernels/conv.cl`: im2col and col2im for NHWC convolutions.
    public static let conv = KernelFamily(name: "conv", functions: ["im2col", "col2im"])
}

extension KernelDevice {
    private func geometryArguments(_ g: ConvGeometry) -> [KernelArgument] {
        [.int(g.batch), .int(g.height), .int(g.width), .int(g.channels), .int(g.kernelHeight),
         .int(g.kernelWidth), .int(g.stride), .int(g.padding), .int(g.outHeight), .int(g.outWidth)]
    }

    public func im2col(_ g: ConvGeometry, x: BufferSlice, cols: BufferSlice) throws {
        g.checkOperands(input: x, patches: cols)
        try launchLinear("conv", "im2col", count: g.patchRows * g.patchSize,
                         geometryArguments(g) + [.slice(x), .slice(cols)])
    }

    public func col2im(_ g: ConvGeometry, cols: BufferSlice, dx: BufferSlice) throws {
        g.checkOperands(input: dx, patches: cols)
        try launchLinear("conv", "col2im", count: g.inputCount, geometryArguments(g) + [.slice(cols), .slice(dx)])
    }
}
