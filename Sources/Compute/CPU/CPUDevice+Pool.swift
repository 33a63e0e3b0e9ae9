extension CPUDevice {
    /// Calls `body(outputIndex, inputIndexOfWindowOrigin)` for every pooled output in NHWC order.
    private func forEachWindow(_ g: PoolGeometry, _ body: (Int, Int) -> Void) {
        var o = 0
        for b in 0..<g.batch {
            for oh in 0..<g.outHeight {
                for ow in 0..<g.outWidth {
                    let origin = ((b * g.height + oh * g.stride) * g.width + ow * g.stride) * g.channels
                    for c in 0..<g.channels {
                        body(o, origin + c)
                        o += 1
                    }
                }
            }
        }
    }

    public func maxPoolForward(_ g: PoolGeometry, x: BufferSlice, y: BufferSlice,
                               argmax: BufferSlice) throws {
        precondition(x.count >= g.inputCount && y.count >= g.outputCount
                     && argmax.count >= g.outputCount, "max-pool shape mismatch")
        let rowStride = g.width * g.channels
        forEachWindow(g) { o, origin in
            var best = -Float.infinity, bestIndex = origin
            search: for kh in 0..<g.kernel {
                for kw in 0..<g.kernel {
                    let i = origin + kh * rowStride + kw * g.channels
                    let v = x.host[i]
                    if v > best || v.isNaN {
                        best = v
                        bestIndex = i
                        if v.isNaN { break search }
                    }
                }
            }
            y.host[o] = best
            argmax.host[o] = Float(bestIndex)
        }
    }

    public func maxPoolBackward(_ g: PoolGeometry, dy: BufferSlice, argmax: BufferSlice,
                                dx: BufferSlice) throws {
        precondition(dx.count >= g.inputCount && dy.count >= g.outputCount
                     && argmax.count >= g.outputCount, "max-pool shape mismatch")
        dx.host.update(repeating: 0, count: g.inputCount)
        for o in 0..<g.outputCount { dx.host[Int(argmax.host[o])] += dy.host[o] }
    }

    public func avgPoolForward(_ g: PoolGeometry, x: BufferSlice, y: BufferSlice) throws {
        precondition(x.count >= g.inputCount && y.count >= g.outputCount, "avg-pool shape mismatch")
        let rowStride = g.width * g.channels
        let area = Float(g.kernel * g.kernel)
        forEachWindow(g) { o, origin in
            var s: Float = 0
            for kh in 0..<g.kernel {
                for kw in 0..<g.kernel { s += x.host[origin + kh * rowStride + kw * g.channels] }
            }
            y.host[o] = s / area
        }
    }

    public func avgPoolBackward(_ g: PoolGeometry, dy: BufferSlice, dx: BufferSlice) throws {
        precondition(dx.count >= g.inputCount && dy.count >= g.outputCount, "avg-pool shape mismatch")
        dx.host.update(repeating: 0, count: g.inputCount)
        let rowStride = g.width * g.channels
        let area = Float(g.kernel * g.kernel)
        forEachWindow(g) { o, origin in
            let share = dy.host[o] / area
            for kh in 0..<g.kernel {
                for kw in 0..<g.kernel { dx.host[origin + kh * rowStride + kw * g.channels] += share }
            }
        }
    }
}
