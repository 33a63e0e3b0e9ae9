import Compute

/// A stand-alone point-wise non-linearity (ReLU or tanh). Linear and Conv2d fuse their own
/// activation into the matrix product; this layer is for the places where nothing precedes it.
public final class ActivationLayer: Layer {
    public let activation: Activation
    private var device: (any Device)?

    public init(_ activation: Activation) {
        self.activation = activation
    }

    public func summary(input: FeatureShape) -> String { "\(activation)" }
    public func outputShape(for input: FeatureShape) -> FeatureShape { input }

    public func bind(_ b: LayerBinding) throws {
        device = b.device
    }

    public func forward(x: BufferSlice, y: BufferSlice, batch: Int) throws {
        guard let device else { preconditionFailure("activation used before bind") }
        try device.activationForward(activation, x: x, y: y)
    }

    public func backward(x: BufferSlice, y: BufferSlice, dy: BufferSlice, dx: BufferSlice?, batch: Int,
                         observer: BackwardObserver?) throws {
        guard let device else { preconditionFailure("activation used before bind") }
        guard let dx else { return }
        try device.activationBackward(activation, y: y, dy: dy, dx: dx)
    }
}

/// Flattens NHWC activations to (batch, height·width·channels). The memory layout is already
/// that, so the model aliases input and output and this layer does no work.
public final class Flatten: Layer {
    public init() {}
    public var aliasesInput: Bool { true }
    public func summary(input: FeatureShape) -> String { "Flatten(\(input) → \(input.count))" }
    public func outputShape(for input: FeatureShape) -> FeatureShape { FeatureShape(features: input.count) }
    public func bind(_ b: LayerBinding) throws {}
    public func forward(x: BufferSlice, y: BufferSlice, batch: Int) throws {}
    public func backward(x: BufferSlice, y: BufferSlice, dy: BufferSlice, dx: BufferSlice?, batch: Int,
                         observer: BackwardObserver?) throws {}
}
