extension CPUDevice {
    /// Calls `body(row, kh, w0, lo, hi)` for the patch-matrix rows of `samples` and every kernel row `kh` whose input
    /// row `h` lies inside the image: kernel columns `lo..<hi` read input columns
    /// `w0 + lo ..< w0 + hi`, which are contiguous in NHWC, so each call moves one run of
    /// `(hi − lo)·channels` floats. Rows outside the image and columns `[0, lo)`, `[hi, kw)` are padding.
    private func forEachPatchRun(_ g: ConvGeometry, samples: Range<Int>,
                                 _ body: (_ row: Int, _ kh: Int, _ inputOffset: Int?, _ lo: Int, _ hi: Int) -> Void) {
        var row = samples.lowerBound * g.outHeight * g.outWidth
        for b in samples {
            for oh in 0..<g.outHeight {
                for ow in 0..<g.outWidth {
                    let w0 = ow * g.stride - g.padding
                    let lo = max(0, -w0), hi = min(g.kernelWidth, g.width - w0)
                    for kh in 0..<g.kernelHeight {
                        let h = oh * g.stride - g.padding + kh
                        if h >= 0 && h < g.height && lo < hi {
                            body(row, kh, ((b * g.height + h) * g.width + w0 + lo) * g.channels, lo, hi)
                        } else {
                            body(row, kh, nil, 0, 0)
                        }
                    }
                    row += 1
                }
            }
        }
    }

    public func im2col(_ g: ConvGeometry, x: BufferSlice, cols: BufferSlice) throws {
        g.checkOperands(input: x, patches: cols)
        let input = x.host, out = cols.host
        let rowWidth = g.kernelWidth * g.channels
        parallelSamples(g.batch, floatsPerSample: g.outHeight * g.outWidth * g.patchSize) { samples in
            forEachPatchRun(g, samples: samples) { row, kh, inputOffset, lo, hi in
                let target = out + row * g.patchSize + kh * rowWidth
                guard let inputOffset else {
                    target.update(repeating: 0, count: rowWidth)
                    return
                }
                target.update(repeating: 0, count: lo * g.channels)
                (target + lo * g.channels).update(from: input + inputOffset, count: (hi - lo) * g.channels)
                (target + hi * g.channels).update(repeating: 0, count: (g.kernelWidth - hi) * g.channels)
            }
        }
    }

    public func col2im(_ g: ConvGeometry, cols: BufferSlice, dx: BufferSlice) throws {
        g.checkOperands(input: dx, patches: cols)
        let patches = cols.host, out = dx.host
        let rowWidth = g.kernelWidth * g.channels
        let sampleSize = g.height * g.width * g.channels
        // Patches of one sample only touch that sample's input, so samples split cleanly.
        parallelSamples(g.batch, floatsPerSample: g.outHeight * g.outWidth * g.patchSize) { samples in
            (out + samples.lowerBound * sampleSize).update(repeating: 0, count: samples.count * sampleSize)
            forEachPatchRun(g, samples: samples) { row, kh, inputOffset, lo, hi in
                guard let inputOffset else { return }
                let source = patches + row * g.patchSize + kh * rowWidth + lo * g.channels
                let target = out + inputOffset
                for i in 0..<(hi - lo) * g.channels { target[i] += source[i] }
            }
        }
    }
}
