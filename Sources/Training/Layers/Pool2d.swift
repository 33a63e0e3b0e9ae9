import Compute

/// Max pooling over NHWC input (no padding); the gradient goes to the first maximum of each window.
public final class MaxPool2d: Layer {
    public let kernel: Int, stride: Int
    private var device: (any Device)?
    private var input = FeatureShape(features: 1)
    private var argmax: DeviceBuffer?

    public init(kernel: Int, stride: Int? = nil) {
        precondition(kernel > 0 && (stride ?? kernel) > 0, "bad MaxPool2d configuration")
        self.kernel = kernel
        self.stride = stride ?? kernel
    }

    func geometry(_ input: FeatureShape, batch: Int) -> PoolGeometry {
        PoolGeometry(batch: batch, height: input.height, width: input.width, channels: input.channels,
                     kernel: kernel, stride: stride)
    }

    public func summary(input: FeatureShape) -> String { "MaxPool2d(\(kernel)x\(kernel), stride \(stride))" }

    public func outputShape(for input: FeatureShape) -> FeatureShape {
        let g = geometry(input, batch: 1)
        return FeatureShape(height: g.outHeight, width: g.outWidth, channels: input.channels)
    }

    public func bind(_ b: LayerBinding) throws {
        device = b.device
        input = b.input
        argmax = try b.device.makeBuffer(count: geometry(b.input, batch: b.maxBatch).outputCount)
    }

    public func forward(x: BufferSlice, y: BufferSlice, batch: Int) throws {
        guard let device, let argmax else { preconditionFailure("MaxPool2d used before bind") }
        try device.maxPoolForward(geometry(input, batch: batch), x: x, y: y, argmax: argmax.whole)
    }

    public func backward(x: BufferSlice, y: BufferSlice, dy: BufferSlice, dx: BufferSlice?, batch: Int,
                         observer: BackwardObserver?) throws {
        guard let device, let argmax else { preconditionFailure("MaxPool2d used before bind") }
        guard let dx else { return }
        try device.maxPoolBackward(geometry(input, batch: batch), dy: dy, argmax: argmax.whole, dx: dx)
    }
}

/// Average pooling over NHWC input (no padding).
public final class AvgPool2d: Layer {
    public let kernel: Int, stride: Int
    private var device: (any Device)?
    private var input = FeatureShape(features: 1)

    public init(kernel: Int, stride: Int? = nil) {
        precondition(kernel > 0 && (stride ?? kernel) > 0, "bad AvgPool2d configuration")
        self.kernel = kernel
        self.stride = stride ?? kernel
    }

    func geometry(_ input: FeatureShape, batch: Int) -> PoolGeometry {
        PoolGeometry(batch: batch, height: input.height, width: input.width, channels: input.channels,
                     kernel: kernel, stride: stride)
    }

    public func summary(input: FeatureShape) -> String { "AvgPool2d(\(kernel)x\(kernel), stride \(stride))" }

    public func outputShape(for input: FeatureShape) -> FeatureShape {
        let g = geometry(input, batch: 1)
        return FeatureShape(height: g.outHeight, width: g.outWidth, channels: input.channels)
    }

    public func bind(_ b: LayerBinding) throws {
        device = b.device
        input = b.input
    }

    public func forward(x: BufferSlice, y: BufferSlice, batch: Int) throws {
        guard let device else { preconditionFailure("AvgPool2d used before bind") }
        try device.avgPoolForward(geometry(input, batch: batch), x: x, y: y)
    }

    public func backward(x: BufferSlice, y: BufferSlice, dy: BufferSlice, dx: BufferSlice?, batch: Int,
                         observer: BackwardObserver?) throws {
        guard let device else { preconditionFailure("AvgPool2d used before bind") }
        guard let dx else { return }
        try device.avgPoolBackward(geometry(input, batch: batch), dy: dy, dx: dx)
    }
}
