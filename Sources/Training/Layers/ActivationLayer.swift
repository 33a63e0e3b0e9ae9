import Compute

/// A stand-alone point-wise non-linearity (ReLU or tanh). Linear and Conv2d fuse their own
/// activation into the matrix product; this layer is for the places where nothing precedes it.
public final class ActivationLayer: Layer {
    /// The function applied to every element.
    public let activation: Activation
    private var device: (any Device)?

    /// A layer that applies `activation` element-wise and keeps the shape.
    public init(_ activation: Activation) {
        self.activation = activation
    }

    /// The activation's name, e.g. "relu".
    public func summary(input: FeatureShape) -> String { "\(activation)" }
    /// `input`: an element-wise function keeps the shape.
    public func outputShape(for input: FeatureShape) -> FeatureShape { input }

    /// Keeps the device; the layer has no parameters and no workspace.
    public func bind(_ b: LayerBinding) throws {
        device = b.device
    }

    /// `y = act(x)` element-wise over the (batch, features) input.
    public func forward(x: BufferSlice, y: BufferSlice, batch: Int) throws {
        guard let device else { preconditionFailure("activation used before bind") }
        try device.activationForward(activation, x: x, y: y)
    }

    /// `dx = dy · act′`, the derivative taken from `y`; nothing to do without `dx`, as the layer
    /// has no parameters (so `observer` is never called).
    public func backward(x: BufferSlice, y: BufferSlice, dy: BufferSlice, dx: BufferSlice?, batch: Int,
                         accumulate: Bool, observer: BackwardObserver?) throws {
        guard let device else { preconditionFailure("activation used before bind") }
        guard let dx else { return }
        try device.activationBackward(activation, y: y, dy: dy, dx: dx)
    }
}

/// Flattens NHWC activations to (batch, height·width·channels). The memory layout is already
/// that, so the model aliases input and output and this layer does no work.
public final class Flatten: Layer {
    /// A flatten layer; it has no configuration.
    public init() {}
    /// True: the output is the input buffer, unchanged.
    public var aliasesInput: Bool { true }
    /// e.g. "Flatten(28x28x1 → 784)".
    public func summary(input: FeatureShape) -> String { "Flatten(\(input) → \(input.count))" }
    /// A flat vector of `input.count` features.
    public func outputShape(for input: FeatureShape) -> FeatureShape { FeatureShape(features: input.count) }
    /// Nothing to bind: no parameters and no workspace.
    public func bind(_ b: LayerBinding) throws {}
    /// No work: the model gives `y` the same buffer as `x`.
    public func forward(x: BufferSlice, y: BufferSlice, batch: Int) throws {}
    /// No work: the model gives `dx` the same buffer as `dy`.
    public func backward(x: BufferSlice, y: BufferSlice, dy: BufferSlice, dx: BufferSlice?, batch: Int,
                         accumulate: Bool, observer: BackwardObserver?) throws {}
}
