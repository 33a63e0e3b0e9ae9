import Compute

/// 2-D pooling over NHWC input without padding: the window maximum (the gradient goes to the
/// first maximum of each window) or the window mean.
public final class Pool2d: Layer {
    /// The statistic taken over each window.
    public enum Mode: Sendable {
        /// `max` takes the window maximum, `average` the mean of the window.
        case max, average
    }

    /// Maximum or mean pooling.
    public let mode: Mode
    /// Side of the square window and the step between windows, in pixels.
    public let kernel: Int, stride: Int
    private var device: (any Device)?
    private var input = FeatureShape(features: 1)
    /// Position of each output's maximum in its window, `kh·kernel + kw` (max pooling only).
    private var argmax: DeviceBuffer?

    /// A pooling layer with a square `kernel × kernel` window; each output side is
    /// `(input side − kernel) / stride + 1`, and channels are kept.
    /// - Parameters:
    ///   - mode: maximum or mean.
    ///   - kernel: window side, at least 1.
    ///   - stride: defaults to the kernel size (non-overlapping windows), as in PyTorch.
    public init(_ mode: Mode, kernel: Int, stride: Int? = nil) {
        precondition(kernel > 0 && (stride ?? kernel) > 0, "bad Pool2d configuration")
        self.mode = mode
        self.kernel = kernel
        self.stride = stride ?? kernel
    }

    private func geometry(_ input: FeatureShape, batch: Int) -> PoolGeometry {
        PoolGeometry(batch: batch, height: input.height, width: input.width, channels: input.channels,
                     kernel: kernel, stride: stride)
    }

    /// e.g. "MaxPool2d(2x2, stride 1)".
    public func summary(input: FeatureShape) -> String {
        "\(mode == .max ? "MaxPool2d" : "AvgPool2d")(\(kernel)x\(kernel), stride \(stride))"
    }

    /// (outHeight, outWidth, channels) for an NHWC `input`.
    public func outputShape(for input: FeatureShape) -> FeatureShape {
        let g = geometry(input, batch: 1)
        return FeatureShape(height: g.outHeight, width: g.outWidth, channels: input.channels)
    }

    /// Allocates, for max pooling, the arg-max buffer of every output of a `maxBatch` batch.
    /// - Throws: `ComputeError` when the buffer cannot be allocated.
    public func bind(_ b: LayerBinding) throws {
        device = b.device
        input = b.input
        if mode == .max { argmax = try b.device.makeBuffer(count: geometry(b.input, batch: b.maxBatch).outputCount) }
    }

    /// Pools the NHWC input `x` into the NHWC output `y`; max pooling also records each window's
    /// arg-max for the backward pass.
    public func forward(x: BufferSlice, y: BufferSlice, batch: Int) throws {
        guard let device else { preconditionFailure("Pool2d used before bind") }
        let g = geometry(input, batch: batch)
        switch mode {
        case .max:
            guard let argmax else { preconditionFailure("Pool2d used before bind") }
            try device.maxPoolForward(g, x: x, y: y, argmax: argmax.whole)
        case .average:
            try device.avgPoolForward(g, x: x, y: y)
        }
    }

    /// Routes `dy` to the recorded arg-max (max) or spreads it evenly over the window (average)
    /// into `dx`; nothing to do without `dx`, as the layer has no parameters.
    public func backward(x: BufferSlice, y: BufferSlice, dy: BufferSlice, dx: BufferSlice?, batch: Int,
                         accumulate: Bool, observer: BackwardObserver?) throws {
        guard let device else { preconditionFailure("Pool2d used before bind") }
        guard let dx else { return }
        let g = geometry(input, batch: batch)
        switch mode {
        case .max:
            guard let argmax else { preconditionFailure("Pool2d used before bind") }
            try device.maxPoolBackward(g, dy: dy, argmax: argmax.whole, dx: dx)
        case .average:
            try device.avgPoolBackward(g, dy: dy, dx: dx)
        }
    }
}
