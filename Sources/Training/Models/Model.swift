import Compute
import Philox

/// A named parameter tensor: a view of the model's flat parameter buffer.
public struct ParameterTensor: Sendable, Hashable {
    /// e.g. "0.weight" (layer index, tensor name).
    public let name: String
    /// Shape, row-major (Linear weights are (out, in), Conv2d weights (out, kh, kw, in)).
    public let shape: [Int]
    /// Offset of the tensor's first element in the flat buffer.
    public let offset: Int
    /// Elements in the tensor: the product of `shape`.
    public var count: Int { shape.reduce(1, *) }
}

/// A feed-forward stack of layers with all parameters in one contiguous device buffer and all
/// gradients in another of the same layout, so optimizers, clipping, compression and
/// all-reduce act on every parameter at once.
///
/// ```swift
/// let model = try Model(layers: [Linear(outputs: 128, activation: .relu), Linear(outputs: 10)],
///                       input: FeatureShape(features: 784), device: device, maxBatch: 256, seed: 1)
/// let logits = try model.forward(batchInput, batch: 256)   // (256, 10)
/// ```
public final class Model {
    /// The layers, input side first.
    public let layers: [any Layer]
    /// The device holding every buffer of the model and running its passes.
    public let device: any Device
    /// Shape of one input sample (NHWC for images).
    public let inputShape: FeatureShape
    /// Shapes of each layer's output, `shapes[i]` for layer i.
    public let shapes: [FeatureShape]
    /// The largest batch a pass may use; activation buffers are sized for it.
    public let maxBatch: Int
    /// Every trainable parameter, concatenated in `tensors` order.
    public let parameters: DeviceBuffer
    /// Gradients, in the same layout as `parameters`; nil for an inference-only model.
    public let gradients: DeviceBuffer?
    /// Whether the model was built for training (gradient and activation-gradient buffers).
    public var isTrainable: Bool { gradients != nil }
    /// Every parameter tensor with its name, shape and offset in `parameters`, in layer order.
    public let tensors: [ParameterTensor]
    /// activations[0] is the input; activations[i + 1] the output of layer i (maxBatch rows).
    private let activations: [DeviceBuffer]
    /// activationGradients[i] is the gradient of the loss with respect to activations[i]
    /// (empty for an inference-only model).
    private let activationGradients: [DeviceBuffer]
    private let parameterRanges: [Range<Int>]
    /// Index of the first layer with parameters: in training nothing below it needs a gradient.
    private let firstParametric: Int

    /// Builds the model, allocates every buffer for batches up to `maxBatch`, and initialises
    /// the parameters from Philox stream (seed, step 0, `Streams.initialization`), so a given
    /// seed gives the same initial weights on every device.
    /// - Parameters:
    ///   - layers: at least one layer, input side first.
    ///   - input: shape of one input sample.
    ///   - device: where the buffers live and the passes run.
    ///   - maxBatch: the largest batch any pass will use, at least 1.
    ///   - seed: seed of the initial parameters.
    ///   - training: false builds a model for forward passes only (evaluation, zeroth-order
    ///     training, black-box attacks): no gradient, activation-gradient or backward workspace
    ///     buffers are allocated.
    /// - Throws: `ComputeError.bufferTooLarge` when a parameter or activation buffer would be too
    ///   large, or another `ComputeError` when an allocation or upload fails.
    public init(layers: [any Layer], input: FeatureShape, device: any Device, maxBatch: Int,
                seed: UInt64, training: Bool = true) throws {
        precondition(!layers.isEmpty && maxBatch > 0, "a model needs layers and a positive batch size")
        self.layers = layers
        self.device = device
        self.inputShape = input
        self.maxBatch = maxBatch

        var shapes: [FeatureShape] = []
        var tensors: [ParameterTensor] = []
        var ranges: [Range<Int>] = []
        var initial: [Float] = []
        var rng = PhiloxStream(seed: seed, stream: PhiloxStream.Streams.initialization)
        // Sizes first, with overflow checks, so an absurd spec is an error rather than a crash
        // while allocating its initial values.
        var shape = input
        var total = 0
        for layer in layers {
            for (_, tensorShape) in layer.parameterShapes(for: shape) {
                total = try bufferSize(1, total + (try tensorShape.reduce(1) { try bufferSize($0, $1) }))
            }
            _ = try bufferSize(maxBatch, shape.count)
            shape = layer.outputShape(for: shape)
        }
        shape = input
        for (index, layer) in layers.enumerated() {
            let start = initial.count
            var offset = start
            for (name, tensorShape) in layer.parameterShapes(for: shape) {
                let tensor = ParameterTensor(name: "\(index).\(name)", shape: tensorShape, offset: offset)
                tensors.append(tensor)
                offset += tensor.count
            }
            let values = layer.initialParameters(for: shape, rng: &rng)
            precondition(values.count == offset - start, "layer \(index) initialised the wrong number of values")
            initial += values
            ranges.append(start..<offset)
            shape = layer.outputShape(for: shape)
            shapes.append(shape)
        }
        self.shapes = shapes
        self.tensors = tensors
        self.parameterRanges = ranges
        firstParametric = ranges.firstIndex { !$0.isEmpty } ?? layers.count
        parameters = try device.upload(initial)
        let gradients = training ? try device.makeBuffer(count: initial.count) : nil
        if let gradients { try device.fill(gradients.whole, with: 0) }
        self.gradients = gradients

        // Aliasing layers (Flatten) share their input's buffers instead of owning new ones.
        var activations = [try device.makeBuffer(count: maxBatch * input.count)]
        var activationGradients = training ? [try device.makeBuffer(count: maxBatch * input.count)] : []
        for (index, layer) in layers.enumerated() {
            if layer.aliasesInput {
                activations.append(activations[index])
                if training { activationGradients.append(activationGradients[index]) }
            } else {
                activations.append(try device.makeBuffer(count: maxBatch * shapes[index].count))
                if training { activationGradients.append(try device.makeBuffer(count: maxBatch * shapes[index].count)) }
            }
        }
        self.activations = activations
        self.activationGradients = activationGradients

        shape = input
        for (index, layer) in layers.enumerated() {
            try layer.bind(LayerBinding(
                device: device, index: index, input: shape, maxBatch: maxBatch,
                parameters: parameters.slice(ranges[index].lowerBound, ranges[index].count),
                gradients: gradients?.slice(ranges[index].lowerBound, ranges[index].count)))
            shape = shapes[index]
        }
    }

    /// Layers with parameters (those a per-layer clipping bound applies to).
    public var parametricLayerCount: Int { parameterRanges.filter { !$0.isEmpty }.count }

    /// Trainable parameters of all layers together: the length of `parameters` and `gradients`.
    public var parameterCount: Int { parameters.count }
    /// Shape of one output sample, the last layer's (the class logits of a classifier).
    public var outputShape: FeatureShape { shapes[shapes.count - 1] }

    /// The input buffer of the model: write (or gather) a batch here before `forward`.
    /// - Parameter batch: samples, at most `maxBatch`.
    /// - Returns: the first `batch` rows, (batch, inputShape.count) row-major, NHWC for images.
    public func inputSlice(batch: Int) -> BufferSlice {
        precondition(batch >= 0 && batch <= maxBatch, "batch \(batch) exceeds the model's maximum \(maxBatch)")
        return activations[0].slice(0, batch * inputShape.count)
    }

    /// Runs the layers on the batch in `inputSlice(batch:)` and returns the output (batch, classes).
    /// - Parameter batch: samples, at most `maxBatch`.
    /// - Returns: the same slice as `outputSlice(batch:)`.
    /// - Throws: `ComputeError` when a device call fails.
    @discardableResult
    public func forward(batch: Int) throws -> BufferSlice {
        precondition(batch >= 0 && batch <= maxBatch, "batch \(batch) exceeds the model's maximum \(maxBatch)")
        var inShape = inputShape
        for (index, layer) in layers.enumerated() {
            try layer.forward(x: activations[index].slice(0, batch * inShape.count),
                              y: activations[index + 1].slice(0, batch * shapes[index].count), batch: batch)
            inShape = shapes[index]
        }
        return outputSlice(batch: batch)
    }

    /// The model output of the last forward pass: (batch, outputShape.count) row-major.
    public func outputSlice(batch: Int) -> BufferSlice {
        activations[layers.count].slice(0, batch * outputShape.count)
    }

    /// The buffer `backward` reads the loss gradient from: (batch, classes). `backward` may
    /// overwrite it. A training model's only.
    public func outputGradientSlice(batch: Int) -> BufferSlice {
        precondition(isTrainable, "an inference-only model has no gradient buffers")
        return activationGradients[layers.count].slice(0, batch * outputShape.count)
    }

    /// The gradient with respect to the input after `backward(batch:inputGradient: true)`, laid
    /// out like `inputSlice(batch:)`. A training model's only.
    public func inputGradientSlice(batch: Int) -> BufferSlice {
        precondition(isTrainable, "an inference-only model has no gradient buffers")
        return activationGradients[0].slice(0, batch * inputShape.count)
    }

    /// Bytes of device memory the model holds, by purpose, for comparing a training model with
    /// an inference-only one. Buffers shared by aliasing layers count once; `workspaces` are the
    /// layers' own (a convolution's patch matrix, and its gradient when training).
    public var memory: (parameters: Int, gradients: Int, activations: Int, activationGradients: Int, workspaces: Int) {
        func distinct(_ buffers: [DeviceBuffer]) -> Int {
            var seen = Set<ObjectIdentifier>()
            return buffers.filter { seen.insert(ObjectIdentifier($0)).inserted }.reduce(0) { $0 + $1.byteCount }
        }
        return (parameters.byteCount, gradients?.byteCount ?? 0, distinct(activations), distinct(activationGradients),
                layers.reduce(0) { $0 + $1.workspaceBytes })
    }

    /// Back-propagates the gradient in `outputGradientSlice(batch:)` through every layer, after
    /// the forward pass of the same batch, overwriting `gradients` or, with `accumulate`, adding
    /// to them (the chunks of a logical batch that is larger than `maxBatch`).
    ///
    /// - Parameters:
    ///   - batch: samples, the same as in the forward pass, at most `maxBatch`.
    ///   - inputGradient: also form the gradient with respect to the input (attacks need it;
    ///     training does not: then the pass stops at the first layer with parameters, which
    ///     saves that layer's input-gradient product, the largest of an MLP step).
    ///   - accumulate: add this batch's weight gradients to `gradients` instead of overwriting.
    ///   - observer: called by each parametric layer with its input and pre-activation output
    ///     gradient before it forms its weight gradients (per-sample gradient methods need them).
    /// - Throws: `ComputeError` when a device call fails, or whatever `observer` throws.
    public func backward(batch: Int, inputGradient: Bool = false, accumulate: Bool = false,
                         observer: BackwardObserver? = nil) throws {
        precondition(isTrainable, "backward on an inference-only model")
        precondition(batch >= 0 && batch <= maxBatch, "batch \(batch) exceeds the model's maximum \(maxBatch)")
        let lowest = inputGradient ? 0 : min(firstParametric, layers.count - 1)
        for index in stride(from: layers.count - 1, through: lowest, by: -1) {
            let inShape = index == 0 ? inputShape : shapes[index - 1]
            let needsInputGradient = index > lowest || inputGradient
            try layers[index].backward(
                x: activations[index].slice(0, batch * inShape.count),
                y: activations[index + 1].slice(0, batch * shapes[index].count),
                dy: activationGradients[index + 1].slice(0, batch * shapes[index].count),
                dx: needsInputGradient ? activationGradients[index].slice(0, batch * inShape.count) : nil,
                batch: batch, accumulate: accumulate, observer: observer)
        }
    }

    /// Matrix products of one training step (forward, input gradients except the first layer's,
    /// weight gradients), for comparing a step's time with its products' time.
    public func trainingProducts(batch: Int) -> [GemmShape] {
        var products: [GemmShape] = []
        var shape = inputShape
        for (index, layer) in layers.enumerated() {
            if let layerProducts = layer.products(input: shape, batch: batch) {
                products += [layerProducts.forward, layerProducts.weightGradient]
                if index > firstParametric { products.append(layerProducts.inputGradient) }
            }
            shape = shapes[index]
        }
        return products
    }

    /// One line per layer: "0  Linear(784 → 512, relu)  401,920 parameters".
    public func summary() -> String {
        var lines: [String] = []
        var shape = inputShape
        for (index, layer) in layers.enumerated() {
            lines.append("\(index)  \(layer.summary(input: shape))  \(parameterRanges[index].count) parameters")
            shape = shapes[index]
        }
        lines.append("total \(parameterCount) parameters")
        return lines.joined(separator: "\n")
    }
}
