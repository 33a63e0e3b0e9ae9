extension CPUDevice {
    public func im2col(_ g: ConvGeometry, x: BufferSlice, cols: BufferSlice) throws {
        precondition(x.count >= g.inputCount && cols.count >= g.patchRows * g.patchSize,
                     "im2col shape mismatch")
        var out = cols.host
        for b in 0..<g.batch {
            for oh in 0..<g.outHeight {
                for ow in 0..<g.outWidth {
                    for kh in 0..<g.kernelHeight {
                        let h = oh * g.stride - g.padding + kh
                        for kw in 0..<g.kernelWidth {
                            let w = ow * g.stride - g.padding + kw
                            if h >= 0 && h < g.height && w >= 0 && w < g.width {
                                out.update(from: x.host + ((b * g.height + h) * g.width + w) * g.channels,
                                           count: g.channels)
                            } else {
                                out.update(repeating: 0, count: g.channels)
                            }
                            out += g.channels
                        }
                    }
                }
            }
        }
    }

    public func col2im(_ g: ConvGeometry, cols: BufferSlice, dx: BufferSlice) throws {
        precondition(dx.count >= g.inputCount && cols.count >= g.patchRows * g.patchSize,
                     "col2im shape mismatch")
        dx.host.update(repeating: 0, count: g.inputCount)
        var patch = cols.host
        for b in 0..<g.batch {
            for oh in 0..<g.outHeight {
                for ow in 0..<g.outWidth {
                    for kh in 0..<g.kernelHeight {
                        let h = oh * g.stride - g.padding + kh
                        for kw in 0..<g.kernelWidth {
                            let w = ow * g.stride - g.padding + kw
                            if h >= 0 && h < g.height && w >= 0 && w < g.width {
                                let target = dx.host + ((b * g.height + h) * g.width + w) * g.channels
                                for c in 0..<g.channels { target[c] += patch[c] }
                            }
                            patch += g.channels
                        }
                    }
                }
            }
        }
    }
}
