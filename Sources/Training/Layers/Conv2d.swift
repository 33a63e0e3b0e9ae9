import Compute
import Philox

/// 2-D convolution over NHWC input, `y = act(conv(x, W) + b)`, lowered to one matrix product
/// through im2col. W is (outChannels, kernel, kernel, inChannels) row-major, i.e.
/// (outChannels, patch) with patch in (kh, kw, c) order; b is (outChannels). The output is NHWC.
public final class Conv2d: Layer {
    /// Output channels, the side of the square kernel, the step between windows and the zeros
    /// added on every edge, in pixels.
    public let outChannels: Int, kernel: Int, stride: Int, padding: Int
    /// Applied to the convolution output in the product's epilogue.
    public let activation: Activation
    private var device: (any Device)?
    private var index = 0
    private var input = FeatureShape(features: 1)
    private var patches: DeviceBuffer?
    private var patchGradient: DeviceBuffer?
    private var weight: BufferSlice?, bias: BufferSlice?
    private var weightGradient: BufferSlice?, biasGradient: BufferSlice?

    /// A convolution with a square `kernel × kernel` window; each output side is
    /// `(input side + 2·padding − kernel) / stride + 1`. The input channels are fixed when the
    /// model binds the layer.
    /// - Parameters:
    ///   - outChannels: output channels (filters), at least 1.
    ///   - kernel: window side, at least 1.
    ///   - stride: step between windows, at least 1.
    ///   - padding: zero padding on each edge, at least 0.
    ///   - activation: applied to the output; `.identity` (the default) for none.
    public init(outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                activation: Activation = .identity) {
        precondition(outChannels > 0 && kernel > 0 && stride > 0 && padding >= 0, "bad Conv2d configuration")
        self.outChannels = outChannels; self.kernel = kernel; self.stride = stride
        self.padding = padding; self.activation = activation
    }

    private func geometry(_ input: FeatureShape, batch: Int) -> ConvGeometry {
        ConvGeometry(batch: batch, height: input.height, width: input.width, channels: input.channels,
                     kernelHeight: kernel, kernelWidth: kernel, stride: stride, padding: padding)
    }

    /// e.g. "Conv2d(1 → 16, 8x8, stride 2, padding 3, relu)".
    public func summary(input: FeatureShape) -> String {
        "Conv2d(\(input.channels) → \(outChannels), \(kernel)x\(kernel), stride \(stride), padding \(padding)"
            + (activation == .identity ? ")" : ", \(activation))")
    }

    /// (outHeight, outWidth, outChannels) for an NHWC `input`.
    public func outputShape(for input: FeatureShape) -> FeatureShape {
        let g = geometry(input, batch: 1)
        return FeatureShape(height: g.outHeight, width: g.outWidth, channels: outChannels)
    }

    /// `weight` (outChannels, kernel, kernel, inChannels) then `bias` (outChannels).
    public func parameterShapes(for input: FeatureShape) -> [(name: String, shape: [Int])] {
        [("weight", [outChannels, kernel, kernel, input.channels]), ("bias", [outChannels])]
    }

    /// Weights and biases uniform in ±1/√(kernel²·inChannels), PyTorch's default.
    public func initialParameters(for input: FeatureShape, rng: inout PhiloxStream) -> [Float] {
        let fanIn = kernel * kernel * input.channels
        return uniformFanIn(weights: outChannels * fanIn, biases: outChannels, fanIn: fanIn, rng: &rng)
    }

    /// patches·Wᵀ, dzᵀ·patches and dz·W, with (batch·outHeight·outWidth, kernel²·inChannels)
    /// patches and (outChannels, kernel²·inChannels) weights.
    public func products(input: FeatureShape, batch: Int) -> LayerProducts? {
        products(geometry(input, batch: batch))
    }

    private func products(_ g: ConvGeometry) -> LayerProducts {
        LayerProducts(forward: GemmShape(m: g.patchRows, n: outChannels, k: g.patchSize, transposeB: true),
                      weightGradient: GemmShape(m: outChannels, n: g.patchSize, k: g.patchRows, transposeA: true),
                      inputGradient: GemmShape(m: g.patchRows, n: g.patchSize, k: outChannels))
    }

    /// The patch matrix and, in a training model, its gradient.
    public var workspaceBytes: Int { (patches?.byteCount ?? 0) + (patchGradient?.byteCount ?? 0) }

    /// Takes the weight and bias views and allocates the im2col patch matrix and its gradient,
    /// each (maxBatch·outHeight·outWidth, kernel²·inChannels).
    /// - Throws: `ComputeError` when the patch buffers cannot be allocated.
    public func bind(_ b: LayerBinding) throws {
        device = b.device
        index = b.index
        input = b.input
        let g = geometry(b.input, batch: b.maxBatch)
        patches = try b.device.makeBuffer(count: g.patchRows * g.patchSize)
        // Only a model that trains back-propagates into patches.
        patchGradient = b.gradients == nil ? nil : try b.device.makeBuffer(count: g.patchRows * g.patchSize)
        let w = outChannels * g.patchSize
        weight = b.parameters.slice(0, w)
        bias = b.parameters.slice(w, outChannels)
        weightGradient = b.gradients?.slice(0, w)
        biasGradient = b.gradients?.slice(w, outChannels)
    }

    /// im2col of the NHWC input `x`, then `y = act(patches · Wᵀ + b)`: (batch·outHeight·outWidth,
    /// outChannels) rows, which is `y` in NHWC.
    public func forward(x: BufferSlice, y: BufferSlice, batch: Int) throws {
        guard let device, let patches, let weight, let bias else { preconditionFailure("Conv2d used before bind") }
        let g = geometry(input, batch: batch)
        let cols = patches.slice(0, g.patchRows * g.patchSize)
        try device.im2col(g, x: x, cols: cols)
        // y (rows, out) = cols (rows, patch) · Wᵀ — the rows are NHWC output positions.
        try device.gemm(products(g).forward, alpha: 1, a: cols, b: weight, beta: 0, c: y, bias: bias,
                        activation: activation)
    }

    /// Turns `dy` into the pre-activation gradient in place, offers it and the patch matrix to
    /// `observer`, then forms `dx` (through col2im) when asked and, unless the observer says
    /// `.skip`, the weight and bias gradients, overwriting the layer's gradient view (adding to
    /// it with `accumulate`). Reuses the
    /// patches of the forward pass, so it must follow the forward pass of the same batch.
    public func backward(x: BufferSlice, y: BufferSlice, dy: BufferSlice, dx: BufferSlice?, batch: Int,
                         accumulate: Bool, observer: BackwardObserver?) throws {
        guard let device, let patches, let patchGradient, let weight, let weightGradient, let biasGradient else {
            preconditionFailure("Conv2d used before bind")
        }
        let g = geometry(input, batch: batch)
        let cols = patches.slice(0, g.patchRows * g.patchSize)
        try backwardThroughActivation(activation, device: device, y: y, dy: dy, count: g.patchRows * outChannels)
        let action = try observer?(LayerGradientFactors(
            layerIndex: index, input: cols, outputGradient: dy.slice(0, g.patchRows * outChannels), batch: batch,
            rowsPerSample: g.outHeight * g.outWidth, inputWidth: g.patchSize, outputWidth: outChannels,
            weightGradient: weightGradient, biasGradient: biasGradient)) ?? .accumulate
        if let dx {
            // dcols (rows, patch) = dz (rows, out) · W (out, patch), then fold the patches back.
            let dcols = patchGradient.slice(0, g.patchRows * g.patchSize)
            try device.gemm(products(g).inputGradient, a: dy, b: weight, c: dcols)
            try device.col2im(g, cols: dcols, dx: dx)
        }
        if action == .accumulate {
            let beta: Float = accumulate ? 1 : 0
            try device.gemm(products(g).weightGradient, a: dy, b: cols, beta: beta, c: weightGradient)
            try device.columnSum(dy, rows: g.patchRows, cols: outChannels, beta: beta, into: biasGradient)
        }
    }
}
