#if canImport(Glibc)
import Glibc
#endif

/// `y = act(x)` over `n` floats; `x` and `y` may be the same memory.
func applyActivation(_ activation: Activation, _ x: UnsafeMutablePointer<Float>,
                     _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    switch activation {
    case .identity:
        if x != y { y.update(from: x, count: n) }
    case .relu:
        for i in 0..<n { y[i] = max(x[i], 0) }
    case .tanh:
        for i in 0..<n { y[i] = tanhf(x[i]) }
    }
}

extension CPUDevice {
    public func fill(_ x: BufferSlice, with value: Float) throws {
        x.host.update(repeating: value, count: x.count)
    }

    public func axpby(alpha: Float, x: BufferSlice, beta: Float, y: BufferSlice) throws {
        checkSameCount(x, y, "axpby")
        let xs = x.host, ys = y.host
        if beta == 0 {
            for i in 0..<x.count { ys[i] = alpha * xs[i] }
        } else {
            for i in 0..<x.count { ys[i] = alpha * xs[i] + beta * ys[i] }
        }
    }

    public func activationForward(_ activation: Activation, x: BufferSlice, y: BufferSlice) throws {
        checkSameCount(x, y, "activation")
        applyActivation(activation, x.host, y.host, x.count)
    }

    public func activationBackward(_ activation: Activation, y: BufferSlice, dy: BufferSlice,
                                   dx: BufferSlice) throws {
        checkSameCount(y, dy, "activation gradient")
        checkSameCount(y, dx, "activation gradient")
        let out = y.host, g = dy.host, d = dx.host
        switch activation {
        case .identity:
            if g != d { d.update(from: g, count: y.count) }
        case .relu:
            // A multiply by the 0/1 mask instead of a branch: the sign of random activations is
            // unpredictable, and a mispredicted branch per element costs more than the loop.
            for i in 0..<y.count { d[i] = g[i] * Float(out[i] > 0 ? 1 : 0) }
        case .tanh:
            for i in 0..<y.count { d[i] = g[i] * (1 - out[i] * out[i]) }
        }
    }

    public func gatherRows(_ source: BufferSlice, width: Int, indices: BufferSlice,
                           into destination: BufferSlice) throws {
        checkGather(source, width: width, indices: indices, destination: destination)
        let index = indices.hostInt32
        let wordBytes = source.elementType.byteWidth
        for r in 0..<indices.count {
            (destination.hostBytes + r * width * wordBytes)
                .copyMemory(from: source.hostBytes + Int(index[r]) * width * wordBytes, byteCount: width * wordBytes)
        }
    }
}
