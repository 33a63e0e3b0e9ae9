extension CPUDevice {
    /// Calls `body(output, origin)` for every output pixel, the samples split across the cores
    /// (each writes only its own outputs, and in the backward pass only its own input
    /// gradient): `output` is the NHWC index of the pixel's first channel, `origin` the NHWC
    /// index of its window's top-left input pixel. `prepare(samples)` runs first in each chunk.
    private func forEachWindow(_ g: PoolGeometry, prepare: (Range<Int>) -> Void = { _ in },
                               _ body: (Int, Int) -> Void) {
        parallelSamples(g.batch, floatsPerSample: g.height * g.width * g.channels) { samples in
            prepare(samples)
            var o = samples.lowerBound * g.outHeight * g.outWidth * g.channels
            for b in samples {
                for oh in 0..<g.outHeight {
                    for ow in 0..<g.outWidth {
                        body(o, ((b * g.height + oh * g.stride) * g.width + ow * g.stride) * g.channels)
                        o += g.channels
                    }
                }
            }
        }
    }

    /// Calls `body(output, origin)` for every output row (b, oh): `output` is the NHWC index of
    /// its first element, `origin` that of its first window's top-left input pixel; the samples
    /// are split across the cores as in `forEachWindow`.
    private func forEachOutputRow(_ g: PoolGeometry, prepare: (Range<Int>) -> Void = { _ in },
                                  _ body: (Int, Int) -> Void) {
        parallelSamples(g.batch, floatsPerSample: g.height * g.width * g.channels) { samples in
            prepare(samples)
            for b in samples {
                for oh in 0..<g.outHeight {
                    body(((b * g.outHeight + oh) * g.outWidth) * g.channels,
                         ((b * g.height + oh * g.stride) * g.width) * g.channels)
                }
            }
        }
    }

    /// `target[i] += gradient[i]` where `indices[i] == position`, eight at a time; other
    /// elements are left exactly as they are.
    private func routeGradient(_ gradient: UnsafeMutablePointer<Float>, indices: UnsafeMutablePointer<Float>,
                               position: Float, into target: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + 8 <= count {
            let g = UnsafeRawPointer(gradient + i).loadUnaligned(as: SIMD8<Float>.self)
            let p = UnsafeRawPointer(indices + i).loadUnaligned(as: SIMD8<Float>.self)
            let t = UnsafeRawPointer(target + i).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(target + i).storeBytes(of: t.replacing(with: t + g, where: p .== position),
                                                           as: SIMD8<Float>.self)
            i += 8
        }
        while i < count {
            if indices[i] == position { target[i] += gradient[i] }
            i += 1
        }
    }

    /// Zeroes the input-gradient rows of `samples`, before a backward pass accumulates into them.
    private func zeroSamples(_ dx: UnsafeMutablePointer<Float>, _ g: PoolGeometry, _ samples: Range<Int>) {
        let size = g.height * g.width * g.channels
        (dx + samples.lowerBound * size).update(repeating: 0, count: samples.count * size)
    }

    public func maxPoolForward(_ g: PoolGeometry, x: BufferSlice, y: BufferSlice,
                               argmax: BufferSlice) throws {
        g.checkOperands(input: x, output: y, argmax: argmax)
        let input = x.host, out = y.host, index = argmax.host
        let rowStride = g.width * g.channels
        if g.stride == 1 {
            // Overlapping windows: a whole output row (outWidth·channels contiguous floats) at a
            // time, one long vector merge per window position, the same order as below.
            let rowLength = g.outWidth * g.channels
            forEachOutputRow(g) { o, origin in
                out.advanced(by: o).update(from: input + origin, count: rowLength)
                index.advanced(by: o).update(repeating: 0, count: rowLength)
                for kh in 0..<g.kernel {
                    for kw in 0..<g.kernel where kh > 0 || kw > 0 {
                        mergeMaximum(input + origin + kh * rowStride + kw * g.channels,
                                     position: Float(kh * g.kernel + kw), into: out + o, indices: index + o,
                                     count: rowLength)
                    }
                }
            }
            return
        }
        forEachWindow(g) { o, origin in
            // Pointers to the window's first pixel and the output pixel, so the channel loops
            // index with the loop counter alone (no overflow-checked sums) and vectorise.
            let best = out + o, bestIndex = index + o, first = input + origin
            for c in 0..<g.channels {
                best[c] = first[c]
                bestIndex[c] = 0
            }
            // The first maximum wins ties; the first NaN wins over everything (PyTorch propagates NaN).
            for kh in 0..<g.kernel {
                for kw in 0..<g.kernel where kh > 0 || kw > 0 {
                    let pixel = input + origin + kh * rowStride + kw * g.channels
                    mergeMaximum(pixel, position: Float(kh * g.kernel + kw), into: best, indices: bestIndex,
                                 count: g.channels)
                }
            }
        }
    }

    /// `best = max(best, pixel)` over `count` channels, recording `position` (the pixel's place in
    /// its window) where the pixel wins, eight channels at a time with vector selects:
    /// unpredictable comparisons as branches would stall the loop (4.5× slower at 16 channels).
    /// The first NaN wins over everything.
    private func mergeMaximum(_ pixel: UnsafeMutablePointer<Float>, position: Float,
                              into best: UnsafeMutablePointer<Float>, indices: UnsafeMutablePointer<Float>,
                              count: Int) {
        var c = 0
        while c + 8 <= count {
            let v = UnsafeRawPointer(pixel + c).loadUnaligned(as: SIMD8<Float>.self)
            let current = UnsafeRawPointer(best + c).loadUnaligned(as: SIMD8<Float>.self)
            let index = UnsafeRawPointer(indices + c).loadUnaligned(as: SIMD8<Float>.self)
            let better = (v .> current) .| ((v .!= v) .& (current .== current))
            UnsafeMutableRawPointer(best + c).storeBytes(of: current.replacing(with: v, where: better),
                                                         as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(indices + c).storeBytes(of: index.replacing(with: position, where: better),
                                                            as: SIMD8<Float>.self)
            c += 8
        }
        while c < count {
            let v = pixel[c], current = best[c]
            if v > current || (v.isNaN && !current.isNaN) {
                best[c] = v
                indices[c] = position
            }
            c += 1
        }
    }

    public func maxPoolBackward(_ g: PoolGeometry, dy: BufferSlice, argmax: BufferSlice,
                                dx: BufferSlice) throws {
        g.checkOperands(input: dx, output: dy, argmax: argmax)
        let out = dx.host, gradient = dy.host, index = argmax.host
        let rowStride = g.width * g.channels
        if g.stride == 1 {
            // Row at a time, window positions in the order the per-window loop below adds them
            // (later windows first within a row pair), so the sums are the same, bit for bit.
            let rowLength = g.outWidth * g.channels
            forEachOutputRow(g, prepare: { zeroSamples(out, g, $0) }) { o, origin in
                for kh in stride(from: g.kernel - 1, through: 0, by: -1) {
                    for kw in stride(from: g.kernel - 1, through: 0, by: -1) {
                        routeGradient(gradient + o, indices: index + o, position: Float(kh * g.kernel + kw),
                                      into: out + origin + kh * rowStride + kw * g.channels, count: rowLength)
                    }
                }
            }
            return
        }
        // Input offset of each window position, so the loop needs no integer division.
        let offsets = (0..<g.kernel * g.kernel).map { ($0 / g.kernel) * rowStride + ($0 % g.kernel) * g.channels }
        offsets.withUnsafeBufferPointer { offset in
            forEachWindow(g, prepare: { zeroSamples(out, g, $0) }) { o, origin in
                let target = out + origin, source = gradient + o, position = index + o
                for c in 0..<g.channels { target[offset[Int(position[c])] + c] += source[c] }
            }
        }
    }

    public func avgPoolForward(_ g: PoolGeometry, x: BufferSlice, y: BufferSlice) throws {
        g.checkOperands(input: x, output: y)
        let input = x.host, out = y.host
        let rowStride = g.width * g.channels
        let scale = 1 / Float(g.kernel * g.kernel)
        forEachWindow(g) { o, origin in
            for c in 0..<g.channels { out[o + c] = 0 }
            for kh in 0..<g.kernel {
                for kw in 0..<g.kernel {
                    let base = origin + kh * rowStride + kw * g.channels
                    for c in 0..<g.channels { out[o + c] += input[base + c] }
                }
            }
            for c in 0..<g.channels { out[o + c] *= scale }
        }
    }

    public func avgPoolBackward(_ g: PoolGeometry, dy: BufferSlice, dx: BufferSlice) throws {
        g.checkOperands(input: dx, output: dy)
        let out = dx.host, gradient = dy.host
        let rowStride = g.width * g.channels
        let scale = 1 / Float(g.kernel * g.kernel)
        forEachWindow(g, prepare: { zeroSamples(out, g, $0) }) { o, origin in
            for kh in 0..<g.kernel {
                for kw in 0..<g.kernel {
                    let base = origin + kh * rowStride + kw * g.channels
                    for c in 0..<g.channels { out[base + c] += gradient[o + c] * scale }
                }
            }
        }
    }
}
