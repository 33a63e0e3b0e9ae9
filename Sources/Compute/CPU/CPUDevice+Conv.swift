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
        let channels = g.channels, kernelWidth = g.kernelWidth, rowWidth = kernelWidth * channels
        let patch = g.patchSize, outWidth = g.outWidth, outHeight = g.outHeight
        // Per output column: the first input column of its window and the kernel columns inside
        // the image, computed once instead of per run.
        let windows = (0..<outWidth).map { ow -> (start: Int, lo: Int, hi: Int) in
            let w0 = ow * g.stride - g.padding
            return (w0, max(0, -w0), max(min(kernelWidth, g.width - w0), max(0, -w0)))
        }
        windows.withUnsafeBufferPointer { windows in
            parallelSamples(g.batch, floatsPerSample: outHeight * outWidth * patch) { samples in
                // Wrapping arithmetic: every offset is inside the checked operands, and overflow
                // checks on each index were most of this loop's time.
                for b in samples {
                    for oh in 0..<outHeight {
                        let rows = out + ((b &* outHeight &+ oh) &* outWidth) &* patch
                        for kh in 0..<g.kernelHeight {
                            let h = oh &* g.stride &- g.padding &+ kh
                            let inside = h >= 0 && h < g.height
                            let source = input + ((b &* g.height &+ h) &* g.width) &* channels
                            for ow in 0..<outWidth {
                                let target = rows + (ow &* patch &+ kh &* rowWidth)
                                let window = windows[ow]
                                guard inside else {
                                    zeroFloats(target, rowWidth)
                                    continue
                                }
                                zeroFloats(target, window.lo &* channels)
                                copyFloats(target + window.lo &* channels, source + (window.start &+ window.lo) &* channels,
                                           (window.hi &- window.lo) &* channels)
                                zeroFloats(target + window.hi &* channels, (kernelWidth &- window.hi) &* channels)
                            }
                        }
                    }
                }
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

/// `target[0..<count] = source[0..<count]` in 8-float vectors: the runs of an im2col are a few
/// dozen floats, where a call to memmove per run costs more than the copy.
@inline(__always)
private func copyFloats(_ target: UnsafeMutablePointer<Float>, _ source: UnsafeMutablePointer<Float>, _ count: Int) {
    var i = 0
    while i + 8 <= count {
        UnsafeMutableRawPointer(target + i).storeBytes(
            of: UnsafeRawPointer(source + i).loadUnaligned(as: SIMD8<Float>.self), as: SIMD8<Float>.self)
        i += 8
    }
    while i < count {
        target[i] = source[i]
        i += 1
    }
}

/// `target[0..<count] = 0` in 8-float vectors (see `copyFloats`).
@inline(__always)
private func zeroFloats(_ target: UnsafeMutablePointer<Float>, _ count: Int) {
    var i = 0
    while i + 8 <= count {
        UnsafeMutableRawPointer(target + i).storeBytes(of: SIMD8<Float>(), as: SIMD8<Float>.self)
        i += 8
    }
    while i < count {
        target[i] = 0
        i += 1
    }
}
