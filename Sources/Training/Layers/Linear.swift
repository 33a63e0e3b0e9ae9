import Compute
import Philox

/// Fully connected layer `y = act(x·Wᵀ + b)` with W (out, in) row-major and b (out), PyTorch's
/// layout, so weights carry over. The activation is fused into the product's epilogue.
public final class Linear: Layer {
    public let outputs: Int
    public let activation: Activation
    private var device: (any Device)?
    private var index = 0
    private var inputs = 0
    private var weight: BufferSlice?
    private var bias: BufferSlice?
    private var weightGradient: BufferSlice?
    private var biasGradient: BufferSlice?

    public init(outputs: Int, activation: Activation = .identity) {
        precondition(outputs > 0, "a linear layer needs at least one output")
        self.outputs = outputs
        self.activation = activation
    }

    public func summary(input: FeatureShape) -> String {
        "Linear(\(input.count) → \(outputs)\(activation == .identity ? "" : ", \(activation)"))"
    }

    public func outputShape(for input: FeatureShape) -> FeatureShape { FeatureShape(features: outputs) }

    public func parameterShapes(for input: FeatureShape) -> [(name: String, shape: [Int])] {
        [("weight", [outputs, input.count]), ("bias", [outputs])]
    }

    public func initialParameters(for input: FeatureShape, rng: inout PhiloxStream) -> [Float] {
        uniformFanIn(weights: outputs * input.count, biases: outputs, fanIn: input.count, rng: &rng)
    }

    public func bind(_ b: LayerBinding) throws {
        device = b.device
        index = b.index
        inputs = b.input.count
        let w = outputs * inputs
        weight = b.parameters.slice(0, w)
        bias = b.parameters.slice(w, outputs)
        weightGradient = b.gradients.slice(0, w)
        biasGradient = b.gradients.slice(w, outputs)
    }

    public func forward(x: BufferSlice, y: BufferSlice, batch: Int) throws {
        guard let device, let weight, let bias else { preconditionFailure("Linear used before bind") }
        try device.gemm(GemmShape(m: batch, n: outputs, k: inputs, transposeB: true), alpha: 1,
                        a: x, b: weight, beta: 0, c: y, bias: bias, activation: activation)
    }

    public func backward(x: BufferSlice, y: BufferSlice, dy: BufferSlice, dx: BufferSlice?, batch: Int,
                         observer: BackwardObserver?) throws {
        guard let device, let weight, let weightGradient, let biasGradient else {
            preconditionFailure("Linear used before bind")
        }
        try backwardThroughActivation(activation, device: device, y: y, dy: dy, count: batch * outputs)
        let action = try observer?(LayerGradientFactors(
            layerIndex: index, input: x, outputGradient: dy, batch: batch, rowsPerSample: 1,
            inputWidth: inputs, outputWidth: outputs, weightGradient: weightGradient,
            biasGradient: biasGradient)) ?? .accumulate
        if let dx {
            // dx (batch, in) = dz (batch, out) · W (out, in)
            try device.gemm(GemmShape(m: batch, n: inputs, k: outputs), a: dy, b: weight, c: dx)
        }
        if action == .accumulate {
            // dW (out, in) = dzᵀ · x ;  db = Σ_rows dz
            try device.gemm(GemmShape(m: outputs, n: inputs, k: batch, transposeA: true), a: dy, b: x,
                            c: weightGradient)
            try device.columnSum(dy, rows: batch, cols: outputs, beta: 0, into: biasGradient)
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
