import Compute

/// 2-D pooling over NHWC input without padding: the window maximum (the gradient goes to the
/// first maximum of each window) or the window mean.
public final class Pool2d: Layer {
    public enum Mode: Sendable {
        case max, average
    }

    public let mode: Mode
    public let kernel: Int, stride: Int
    private var device: (any Device)?
    private var input = FeatureShape(features: 1)
    /// Flat input index of each output's maximum (max pooling only).
    private var argmax: DeviceBuffer?

    /// - Parameter stride: defaults to the kernel size (non-overlapping windows), as in PyTorch.
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

    public func summary(input: FeatureShape) -> String {
        "\(mode == .max ? "MaxPool2d" : "AvgPool2d")(\(kernel)x\(kernel), stride \(stride))"
    }

    public func outputShape(for input: FeatureShape) -> FeatureShape {
        let g = geometry(input, batch: 1)
        return FeatureShape(height: g.outHeight, width: g.outWidth, channels: input.channels)
    }

    public func bind(_ b: LayerBinding) throws {
        device = b.device
        input = b.input
        if mode == .max { argmax = try b.device.makeBuffer(count: geometry(b.input, batch: b.maxBatch).outputCount) }
    }

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

    public func backward(x: BufferSlice, y: BufferSlice, dy: BufferSlice, dx: BufferSlice?, batch: Int,
                         observer: BackwardObserver?) throws {
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
