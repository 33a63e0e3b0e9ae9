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
        forEachWindow(g, prepare: { zeroSamples(out, g, $0) }) { o, origin in
            for c in 0..<g.channels {
                let position = Int(index[o + c])
                out[origin + (position / g.kernel) * rowStride + (position % g.kernel) * g.channels + c] += gradient[o + c]
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
