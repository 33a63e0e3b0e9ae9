import Compute
import Philox

/// Fully connected layer `y = act(x·Wᵀ + b)` with W (out, in) row-major and b (out), PyTorch's
/// layout, so weights carry over. The activation is fused into the product's epilogue.
public final class Linear: Layer {
    /// Output features per sample (rows of W).
    public let outputs: Int
    /// Applied to `x·Wᵀ + b` in the product's epilogue; `.identity` for logits.
    public let activation: Activation
    private var device: (any Device)?
    private var index = 0
    private var inputs = 0
    private var weight: BufferSlice?
    private var bias: BufferSlice?
    private var weightGradient: BufferSlice?
    private var biasGradient: BufferSlice?

    /// A layer of `outputs` units; the input width is fixed when the model binds it.
    /// - Parameters:
    ///   - outputs: output features per sample, at least 1.
    ///   - activation: applied to the affine output; `.identity` (the default) for none.
    public init(outputs: Int, activation: Activation = .identity) {
        precondition(outputs > 0, "a linear layer needs at least one output")
        self.outputs = outputs
        self.activation = activation
    }

    /// e.g. "Linear(784 → 512, relu)"; the activation is left out when it is `.identity`.
    public func summary(input: FeatureShape) -> String {
        "Linear(\(input.count) → \(outputs)\(activation == .identity ? "" : ", \(activation)"))"
    }

    /// A flat vector of `outputs` features, whatever the input shape.
    public func outputShape(for input: FeatureShape) -> FeatureShape { FeatureShape(features: outputs) }

    /// `weight` (outputs, input.count) then `bias` (outputs).
    public func parameterShapes(for input: FeatureShape) -> [(name: String, shape: [Int])] {
        [("weight", [outputs, input.count]), ("bias", [outputs])]
    }

    /// Weights and biases uniform in ±1/√(input.count), PyTorch's default.
    public func initialParameters(for input: FeatureShape, rng: inout PhiloxStream) -> [Float] {
        uniformFanIn(weights: outputs * input.count, biases: outputs, fanIn: input.count, rng: &rng)
    }

    /// Takes the weight and bias views (weight first) of the parameter and gradient buffers.
    /// X·Wᵀ, dzᵀ·X and dz·W for (batch, in) inputs and (out, in) weights.
    public func products(input: FeatureShape, batch: Int) -> LayerProducts? { products(inputs: input.count, batch: batch) }

    private func products(inputs: Int, batch: Int) -> LayerProducts {
        LayerProducts(forward: GemmShape(m: batch, n: outputs, k: inputs, transposeB: true),
                      weightGradient: GemmShape(m: outputs, n: inputs, k: batch, transposeA: true),
                      inputGradient: GemmShape(m: batch, n: inputs, k: outputs))
    }

    public func bind(_ b: LayerBinding) throws {
        device = b.device
        index = b.index
        inputs = b.input.count
        let w = outputs * inputs
        weight = b.parameters.slice(0, w)
        bias = b.parameters.slice(w, outputs)
        weightGradient = b.gradients?.slice(0, w)
        biasGradient = b.gradients?.slice(w, outputs)
    }

    /// `y (batch, outputs) = act(x (batch, in) · Wᵀ + b)` in one matrix product.
    public func forward(x: BufferSlice, y: BufferSlice, batch: Int) throws {
        guard let device, let weight, let bias else { preconditionFailure("Linear used before bind") }
        try device.gemm(products(inputs: inputs, batch: batch).forward, alpha: 1,
                        a: x, b: weight, beta: 0, c: y, bias: bias, activation: activation)
    }

    /// Turns `dy` into the pre-activation gradient in place, offers it and `x` to `observer`, then
    /// forms `dx = dz · W` when asked and, unless the observer says `.skip`, `dW = dzᵀ · x` and
    /// `db = Σ_rows dz`, overwriting the layer's gradient view or, with `accumulate`, adding to it.
    public func backward(x: BufferSlice, y: BufferSlice, dy: BufferSlice, dx: BufferSlice?, batch: Int,
                         accumulate: Bool, observer: BackwardObserver?) throws {
        guard let device, let weight, let weightGradient, let biasGradient else {
            preconditionFailure("Linear used before bind")
        }
        try backwardThroughActivation(activation, device: device, y: y, dy: dy, count: batch * outputs)
        let action = try observer?(LayerGradientFactors(
            layerIndex: index, input: x, outputGradient: dy, batch: batch, rowsPerSample: 1,
            inputWidth: inputs, outputWidth: outputs, weightGradient: weightGradient,
            biasGradient: biasGradient)) ?? .accumulate
        let shapes = products(inputs: inputs, batch: batch)
        if let dx {
            // dx (batch, in) = dz (batch, out) · W (out, in)
            try device.gemm(shapes.inputGradient, a: dy, b: weight, c: dx)
        }
        if action == .accumulate {
            // dW (out, in) = dzᵀ · x ;  db = Σ_rows dz
            let beta: Float = accumulate ? 1 : 0
            try device.gemm(shapes.weightGradient, a: dy, b: x, beta: beta, c: weightGradient)
            try device.columnSum(dy, rows: batch, cols: outputs, beta: beta, into: biasGradient)
        }
    }
}

/// Turns the gradient with respect to an activation's output into the gradient with respect to
/// its input, in place.
func backwardThroughActivation(_ activation: Activation, device: any Device, y: BufferSlice,
                               dy: BufferSlice, count: Int) throws {
    guard activation != .identity else { return }
    try device.activationBackward(activation, y: y.slice(0, count), dy: dy.slice(0, count), dx: dy.slice(0, count))
}
