import Compute
import Training

/// How per-sample gradient norms are formed (`--grad-sample`).
public enum GradSampleMode: String, Sendable, CaseIterable {
    /// Per layer the cheaper of the ghost norm and materialisation (mixed ghost clipping): a
    /// layer with T rows per sample, p inputs and d outputs takes the ghost norm when
    /// 2T² < p·d (always for Linear layers, T = 1), else its per-sample gradients.
    case auto
    /// Ghost norms everywhere: ‖a_i‖²·‖b_i‖² for Linear layers, the Gram form
    /// ⟨A_iA_iᵀ, B_iB_iᵀ⟩ for convolutions.
    case ghost
    /// Every layer's per-sample gradients materialised as one batched product, then their norms.
    case materialized
}

/// How per-sample gradients are clipped (`--clipping`).
public enum Clipping: Sendable, Hashable {
    /// One bound C on the norm over all parameters (Opacus's default).
    case flat(Float)
    /// A bound per parametric layer, input side first (Opacus's `DPPerLayerOptimizer`); the
    /// noise then uses C = ‖(C_1, …, C_k)‖₂.
    case perLayer([Float])

    /// The C the noise is calibrated to.
    public var noiseNorm: Float {
        switch self {
        case .flat(let c): return c
        case .perLayer(let bounds): return bounds.reduce(0) { $0 + $1 * $1 }.squareRoot()
        }
    }
}

/// DP-SGD's gradient source: the sum of per-sample gradients, each clipped (flat: to norm C over
/// all parameters, c_i = min(1, C/(‖g_i‖ + 1e-6)), Opacus's rule; per layer: each layer's part
/// to its own C_l), times the step's scale (1 / the expected batch size under Poisson
/// sampling). Noise is the `GaussianNoise` transform's business.
///
/// One backward pass: the observer keeps each parametric layer's input A and output gradient B
/// (they stay valid until the next forward pass) and tells the layer not to form its weight
/// gradient; the per-sample norms come from A and B (ghost norms) or from per-sample gradients
/// formed by one batched product; then B is scaled per sample by c_i and one ordinary product
/// per layer gives Σ_i c_i g_i (book-keeping, Bu et al. 2023: no second backward pass). A batch
/// larger than the model's `maxBatch` runs in micro-batches whose clipped sums add up.
public final class ClippedGradient: GradientSource {
    /// The model whose gradients are formed.
    public let model: Model
    /// The training samples, on the model's device.
    public let data: DeviceDataset
    /// The per-sample norm bounds.
    public let clipping: Clipping
    /// How norms are formed.
    public let mode: GradSampleMode
    /// Chen–Wu–Hong perturbation of each per-sample gradient before clipping; nil for none.
    public let perturbation: ClipPerturbation?
    /// The adaptive bound that replaces the flat one, counted against every step's norms; nil
    /// for a fixed bound.
    public let adaptive: AdaptiveClipping?
    private let device: any Device
    private let pass: LossPass
    private let norms: DeviceBuffer, factors: DeviceBuffer, inputNorms: DeviceBuffer, outputNorms: DeviceBuffer
    private var workspace: DeviceBuffer?
    private var ones: DeviceBuffer?

    /// A source for `model` (a training model) over `data`, clipping to `maxGradNorm` over all
    /// parameters.
    public convenience init(model: Model, data: DeviceDataset, maxGradNorm: Float, mode: GradSampleMode = .auto) throws {
        try self.init(model: model, data: data, clipping: .flat(maxGradNorm), mode: mode)
    }

    /// A source for `model` (a training model) over `data` with `clipping`; per-layer bounds
    /// must number the model's parametric layers. A `perturbation` needs the per-sample
    /// gradients themselves (`mode` materialized): the noise goes in before the norm is taken,
    /// which ghost norms never see. Every layer's per-sample gradients are then held at once
    /// (maxBatch × parameters floats, reused from step to step), and the clipped sum is one
    /// weighted sum of them per tensor instead of book-keeping.
    public init(model: Model, data: DeviceDataset, clipping: Clipping, mode: GradSampleMode = .auto,
                perturbation: ClipPerturbation? = nil, adaptive: AdaptiveClipping? = nil) throws {
        precondition(model.isTrainable, "per-sample clipping needs a training model")
        precondition(perturbation == nil || mode == .materialized, "perturbed clipping needs materialised per-sample gradients")
        if adaptive != nil, case .perLayer = clipping { preconditionFailure("adaptive clipping adapts one flat bound") }
        switch clipping {
        case .flat(let c):
            precondition(c > 0 && c.isFinite, "the clipping norm must be positive")
        case .perLayer(let bounds):
            precondition(bounds.count == model.parametricLayerCount, "one clipping bound per parametric layer")
            precondition(bounds.allSatisfy { $0 > 0 && $0.isFinite }, "clipping norms must be positive")
        }
        self.model = model
        self.data = data
        self.clipping = clipping
        self.mode = mode
        self.perturbation = perturbation
        self.adaptive = adaptive
        device = model.device
        pass = try LossPass(model: model, data: data)
        norms = try device.makeBuffer(count: model.maxBatch)
        factors = try device.makeBuffer(count: model.maxBatch)
        inputNorms = try device.makeBuffer(count: model.maxBatch)
        outputNorms = try device.makeBuffer(count: model.maxBatch)
    }

    public func computeGradient(rows: BufferSlice, scale: Float, statistics: BatchStatistics, stepInEpoch: Int,
                                step: Int) throws {
        var firstSample = 0
        try pass.forEachMicroBatch(rows) { chunk, first in
            // Per-sample losses, summed (gradient scale 1): each sample's gradient is that of its
            // own loss; the step's scale goes into the clip factors.
            try pass.forwardAndLoss(rows: chunk, gradientScale: 1, statistics: statistics, stepInEpoch: stepInEpoch)
            var layers: [LayerGradientFactors] = []
            try model.backward(batch: chunk.count) { factors in
                layers.append(factors)
                return .skip
            }
            if let perturbation {
                try perturbedSum(layers, batch: chunk.count, scale: scale, accumulate: !first, perturbation: perturbation,
                                 firstSample: firstSample, step: step)
            } else {
                try clippedSum(layers, batch: chunk.count, scale: scale, accumulate: !first)
            }
            firstSample += chunk.count
        }
    }

    private func clippedSum(_ layers: [LayerGradientFactors], batch: Int, scale: Float, accumulate: Bool) throws {
        let norms = self.norms.slice(0, batch)
        let factors = self.factors.slice(0, batch)
        if case .flat = clipping {
            try device.fill(norms, with: 0)
            for layer in layers { try addSquaredNorms(layer, into: norms) }
            try flatFactors(norms: norms, batch: batch, scale: scale, into: factors)
        }
        // The backward pass meets the layers output side first; bounds are listed input side first.
        for (position, layer) in layers.enumerated() {
            let rowsPerSample = layer.rowsPerSample, outputs = layer.outputWidth
            if case .perLayer(let bounds) = clipping {
                try device.fill(norms, with: 0)
                try addSquaredNorms(layer, into: norms)
                try device.clipFactors(norms, samples: batch, maxNorm: bounds[layers.count - 1 - position], scale: scale,
                                       into: factors)
            }
            try device.scaleSamples(layer.outputGradient, samples: batch, perSample: rowsPerSample * outputs,
                                    factors: factors)
            // Σ_i c_i g_i = (diag(c) B)ᵀ A, and Σ_i c_i Σ_t b_i,t for the bias.
            let beta: Float = accumulate ? 1 : 0
            try device.gemm(GemmShape(m: outputs, n: layer.inputWidth, k: batch * rowsPerSample, transposeA: true),
                            a: layer.outputGradient, b: layer.input, beta: beta, c: layer.weightGradient)
            try device.columnSum(layer.outputGradient, rows: batch * rowsPerSample, cols: outputs, beta: beta,
                                 into: layer.biasGradient)
        }
    }

    /// Flat clip factors from the summed squared norms, at the adaptive bound when there is one
    /// (which then counts the unclipped samples: one read-back of the norms per micro-batch).
    private func flatFactors(norms: BufferSlice, batch: Int, scale: Float, into factors: BufferSlice) throws {
        guard case .flat(let fixed) = clipping else { preconditionFailure("flat clipping only") }
        if let adaptive { adaptive.count(squaredNorms: try device.download(norms)) }
        try device.clipFactors(norms, samples: batch, maxNorm: adaptive?.bound ?? fixed, scale: scale, into: factors)
    }

    /// Adds the layer's per-sample squared gradient norms (weights and bias) to `norms`.
    private func addSquaredNorms(_ layer: LayerGradientFactors, into norms: BufferSlice) throws {
        let batch = layer.batch, rowsPerSample = layer.rowsPerSample
        let inputs = layer.inputWidth, outputs = layer.outputWidth
        let ghost = mode == .ghost || (mode == .auto && 2 * rowsPerSample * rowsPerSample < inputs * outputs)
        if ghost && rowsPerSample > 1 {
            // ‖B_iᵀA_i‖² = ⟨A_iA_iᵀ, B_iB_iᵀ⟩: two batched T×T Gram matrices and their dot
            // product per sample (Li et al. 2021), then the bias as below.
            let gram = rowsPerSample * rowsPerSample
            let space = try scratch(count: try bufferSize(batch, 2 * gram + outputs))
            let inputGram = space.slice(0, batch * gram), outputGram = space.slice(batch * gram, batch * gram)
            try device.gemmBatched(GemmShape(m: rowsPerSample, n: rowsPerSample, k: inputs, transposeB: true),
                                   batch: GemmBatch(count: batch, strideA: rowsPerSample * inputs,
                                                    strideB: rowsPerSample * inputs, strideC: gram),
                                   alpha: 1, a: layer.input, b: layer.input, beta: 0, c: inputGram)
            try device.gemmBatched(GemmShape(m: rowsPerSample, n: rowsPerSample, k: outputs, transposeB: true),
                                   batch: GemmBatch(count: batch, strideA: rowsPerSample * outputs,
                                                    strideB: rowsPerSample * outputs, strideC: gram),
                                   alpha: 1, a: layer.outputGradient, b: layer.outputGradient, beta: 0, c: outputGram)
            try device.sampleDots(inputGram, outputGram, samples: batch, perSample: gram, into: norms, accumulate: true)
            try addBiasNorms(layer, biases: space.slice(2 * batch * gram, batch * outputs), into: norms)
            return
        }
        if rowsPerSample == 1 && mode != .materialized {
            try device.sampleSquaredNorms(layer.input, samples: batch, perSample: inputs,
                                          into: inputNorms.slice(0, batch), accumulate: false)
            try device.sampleSquaredNorms(layer.outputGradient, samples: batch, perSample: outputs,
                                          into: outputNorms.slice(0, batch), accumulate: false)
            try device.linearGhostNorms(inputSq: inputNorms.slice(0, batch), outputSq: outputNorms.slice(0, batch),
                                        samples: batch, hasBias: true, into: norms)
            return
        }
        let weights = outputs * inputs
        let space = try scratch(count: try bufferSize(batch, weights + outputs))
        let perSample = space.slice(0, batch * weights)
        try perSampleWeights(layer, into: perSample)
        try device.sampleSquaredNorms(perSample, samples: batch, perSample: weights, into: norms, accumulate: true)
        try addBiasNorms(layer, biases: space.slice(batch * weights, batch * outputs), into: norms)
    }

    /// G_i = B_iᵀ A_i (outputs × inputs) for every sample, in one batched product.
    private func perSampleWeights(_ layer: LayerGradientFactors, into perSample: BufferSlice) throws {
        let rowsPerSample = layer.rowsPerSample, inputs = layer.inputWidth, outputs = layer.outputWidth
        try device.gemmBatched(GemmShape(m: outputs, n: inputs, k: rowsPerSample, transposeA: true),
                               batch: GemmBatch(count: layer.batch, strideA: rowsPerSample * outputs,
                                                strideB: rowsPerSample * inputs, strideC: outputs * inputs),
                               alpha: 1, a: layer.outputGradient, b: layer.input, beta: 0, c: perSample)
    }

    /// The per-sample bias gradients 1ᵀ B_i (1 × outputs), in one batched product.
    private func perSampleBiases(_ layer: LayerGradientFactors, into biases: BufferSlice) throws {
        let rowsPerSample = layer.rowsPerSample, outputs = layer.outputWidth
        try device.gemmBatched(GemmShape(m: 1, n: outputs, k: rowsPerSample),
                               batch: GemmBatch(count: layer.batch, strideA: 0, strideB: rowsPerSample * outputs,
                                                strideC: outputs),
                               alpha: 1, a: try onesVector(rowsPerSample), b: layer.outputGradient, beta: 0, c: biases)
    }

    /// The per-sample bias gradients into `biases`, and their squared norms added to `norms`.
    private func addBiasNorms(_ layer: LayerGradientFactors, biases: BufferSlice, into norms: BufferSlice) throws {
        try perSampleBiases(layer, into: biases)
        try device.sampleSquaredNorms(biases, samples: layer.batch, perSample: layer.outputWidth, into: norms,
                                      accumulate: true)
    }

    /// The perturbed clipped sum: every layer's per-sample weight and bias gradients side by side
    /// in the workspace, each plus K·ζ (tensor slots numbered input side first, weights then
    /// bias), their norms and clip factors (flat or per layer), then Σ_i c_i (g_i + K·ζ_i) as
    /// one 1 × batch by batch × width product per tensor.
    private func perturbedSum(_ layers: [LayerGradientFactors], batch: Int, scale: Float, accumulate: Bool,
                              perturbation: ClipPerturbation, firstSample: Int, step: Int) throws {
        var total = 0
        for layer in layers { total += try bufferSize(batch, layer.outputWidth * (layer.inputWidth + 1)) }
        let space = try scratch(count: total)
        var blocks: [(weights: BufferSlice, biases: BufferSlice)] = []
        var offset = 0
        for (position, layer) in layers.enumerated() {
            let weights = layer.outputWidth * layer.inputWidth, outputs = layer.outputWidth
            let block = (weights: space.slice(offset, batch * weights), biases: space.slice(offset + batch * weights, batch * outputs))
            offset += batch * (weights + outputs)
            try perSampleWeights(layer, into: block.weights)
            try perSampleBiases(layer, into: block.biases)
            let slot = 2 * (layers.count - 1 - position)
            try perturbation.perturb(block.weights, samples: batch, width: weights, firstSample: firstSample, slot: slot,
                                     step: step, on: device)
            try perturbation.perturb(block.biases, samples: batch, width: outputs, firstSample: firstSample,
                                     slot: slot + 1, step: step, on: device)
            blocks.append(block)
        }
        let norms = self.norms.slice(0, batch), factors = self.factors.slice(0, batch)
        func addNorms(_ position: Int) throws {
            let layer = layers[position], block = blocks[position]
            try device.sampleSquaredNorms(block.weights, samples: batch, perSample: layer.outputWidth * layer.inputWidth,
                                          into: norms, accumulate: true)
            try device.sampleSquaredNorms(block.biases, samples: batch, perSample: layer.outputWidth, into: norms,
                                          accumulate: true)
        }
        if case .flat = clipping {
            try device.fill(norms, with: 0)
            for position in layers.indices { try addNorms(position) }
            try flatFactors(norms: norms, batch: batch, scale: scale, into: factors)
        }
        let beta: Float = accumulate ? 1 : 0
        for (position, layer) in layers.enumerated() {
            if case .perLayer(let bounds) = clipping {
                try device.fill(norms, with: 0)
                try addNorms(position)
                try device.clipFactors(norms, samples: batch, maxNorm: bounds[layers.count - 1 - position], scale: scale,
                                       into: factors)
            }
            let weights = layer.outputWidth * layer.inputWidth
            try device.gemm(GemmShape(m: 1, n: weights, k: batch), a: factors, b: blocks[position].weights, beta: beta,
                            c: layer.weightGradient)
            try device.gemm(GemmShape(m: 1, n: layer.outputWidth, k: batch), a: factors, b: blocks[position].biases,
                            beta: beta, c: layer.biasGradient)
        }
    }

    /// Per-sample gradients are reused from step to step: the workspace only grows.
    private func scratch(count: Int) throws -> BufferSlice {
        if let workspace, workspace.count >= count { return workspace.slice(0, count) }
        let buffer = try device.makeBuffer(count: count)
        workspace = buffer
        return buffer.slice(0, count)
    }

    private func onesVector(_ count: Int) throws -> BufferSlice {
        if let ones, ones.count >= count { return ones.slice(0, count) }
        let buffer = try device.upload([Float](repeating: 1, count: count))
        ones = buffer
        return buffer.slice(0, count)
    }
}
