import Compute
import Philox

/// Shape of one sample's activations: NHWC images are (height, width, channels); flat feature
/// vectors are (1, 1, features).
public struct FeatureShape: Sendable, Hashable, CustomStringConvertible {
    /// Rows, columns and channels of an image sample; 1, 1 and the feature count for a flat vector.
    public var height: Int, width: Int, channels: Int

    /// An image sample of `height × width × channels` values, stored NHWC (channels fastest).
    /// Every dimension must be positive.
    public init(height: Int, width: Int, channels: Int) {
        precondition(height > 0 && width > 0 && channels > 0, "empty feature shape")
        self.height = height; self.width = width; self.channels = channels
    }

    /// A flat vector of `features` values.
    public init(features: Int) { self.init(height: 1, width: 1, channels: features) }

    /// Floats per sample.
    public var count: Int { height * width * channels }
    /// Whether the sample is a flat feature vector (height and width 1) rather than an image.
    public var isFlat: Bool { height == 1 && width == 1 }

    /// `28x28x1` for an image, the feature count alone for a flat vector.
    public var description: String { isFlat ? "\(channels)" : "\(height)x\(width)x\(channels)" }
}

/// What a layer's backward pass hands to an observer before it forms its weight gradients:
/// the two factors every per-sample weight gradient is made of.
///
/// For a linear layer the per-sample weight gradient of sample i is `outputGradient[i]ᵀ·input[i]`;
/// for a convolution it is `Σ_p outputGradient[i,p]ᵀ·input[i,p]` over the sample's
/// `rowsPerSample` output positions (input is then the im2col patch matrix).
///
/// `input` and `outputGradient` are the layer's own buffers, and the rest of the backward pass
/// does not write them: they keep these values until the model's next forward pass. Book-keeping
/// (DP-SGD's clipped sums formed after the whole backward pass, `ClippedGradient`) relies on it,
/// and a test holds it to it.
public struct LayerGradientFactors {
    /// Index of the layer in its model.
    public let layerIndex: Int
    /// (batch·rowsPerSample, inputWidth): the layer's input rows (patches for a convolution).
    public let input: BufferSlice
    /// (batch·rowsPerSample, outputWidth): gradient of the loss with respect to the layer's
    /// pre-activation output.
    public let outputGradient: BufferSlice
    /// Samples in the batch.
    public let batch: Int
    /// Rows of `input` and `outputGradient` per sample: 1 for a linear layer, the output positions
    /// (outHeight·outWidth) for a convolution.
    public let rowsPerSample: Int
    /// Columns of `input`: the layer's input features, or the patch size kh·kw·inChannels.
    public let inputWidth: Int
    /// Columns of `outputGradient`: the layer's outputs, or its output channels.
    public let outputWidth: Int
    /// The layer's weight gradient view in the model's flat gradient buffer, (outputWidth,
    /// inputWidth) row-major.
    public let weightGradient: BufferSlice
    /// The layer's bias gradient view in the flat gradient buffer, (outputWidth).
    public let biasGradient: BufferSlice
}

/// Whether the layer should still form its batch-summed weight gradients after the observer ran.
public enum WeightGradientAction: Sendable {
    /// Form `Σ_i` gradients as usual.
    case accumulate
    /// The observer wrote the weight and bias gradients itself (e.g. clipped per-sample sums).
    case skip
}

/// Called between the input-gradient and weight-gradient halves of a parametric layer's
/// backward pass.
public typealias BackwardObserver = (LayerGradientFactors) throws -> WeightGradientAction

/// Everything a layer needs to run: its device, shapes, the largest batch it will see, and its
/// views of the model's flat parameter and gradient buffers.
public struct LayerBinding {
    /// The device every pass of the layer runs on.
    public let device: any Device
    /// Position of the layer in its model, passed on as `LayerGradientFactors.layerIndex`.
    public let index: Int
    /// Shape of one input sample.
    public let input: FeatureShape
    /// The largest batch any pass will use; workspaces are sized for it.
    public let maxBatch: Int
    /// The layer's parameters in the model's flat buffer, concatenated in `parameterShapes` order
    /// (empty for a layer without parameters).
    public let parameters: BufferSlice
    /// The layer's gradients, laid out like `parameters`; nil for an inference-only model,
    /// which then allocates no backward workspace either.
    public let gradients: BufferSlice?
}

/// One layer of a feed-forward model. Activations are row-major (batch, features), NHWC for
/// images; a layer reads its input slice and writes its output slice, both sized for `batch`.
public protocol Layer: AnyObject {
    /// One-line description of the layer for `input`-shaped samples, e.g.
    /// "Linear(784 → 512, relu)".
    func summary(input: FeatureShape) -> String
    /// Shape of one output sample for `input`-shaped samples.
    func outputShape(for input: FeatureShape) -> FeatureShape
    /// Named parameter tensors with their shapes, in flat-buffer order.
    func parameterShapes(for input: FeatureShape) -> [(name: String, shape: [Int])]
    /// Initial values of all parameters, concatenated in flat-buffer order.
    func initialParameters(for input: FeatureShape, rng: inout PhiloxStream) -> [Float]
    /// A layer whose output is its input, unchanged (Flatten): the model aliases the buffers.
    var aliasesInput: Bool { get }
    /// Bytes of device memory the layer allocated for itself when bound (a convolution's patch
    /// matrices), for memory reports.
    var workspaceBytes: Int { get }
    /// The layer's matrix products for `batch` samples of shape `input`; nil for layers without
    /// a product (pooling, activations, Flatten).
    func products(input: FeatureShape, batch: Int) -> LayerProducts?
    /// Binds parameter views and allocates workspaces. Called once before any pass.
    /// - Throws: `ComputeError` when a workspace cannot be allocated.
    func bind(_ binding: LayerBinding) throws
    /// Forward pass of `batch` samples.
    /// - Parameters:
    ///   - x: the input, (batch, input count) row-major, NHWC for images.
    ///   - y: the output, (batch, output count) row-major, NHWC for images.
    ///   - batch: samples in this pass, at most the bound `maxBatch`.
    /// - Throws: `ComputeError` when a device call fails.
    func forward(x: BufferSlice, y: BufferSlice, batch: Int) throws
    /// Backward pass. May overwrite `dy`. Writes `dx` when given, and the weight gradients into
    /// the bound gradient view (after `observer`, if any, lets it).
    /// - Parameters:
    ///   - x: the input of the forward pass of the same batch.
    ///   - y: the output of that forward pass (activation derivatives are taken from it).
    ///   - dy: gradient of the loss with respect to `y`, same shape as `y`.
    ///   - dx: where to write the gradient with respect to `x`, or nil when nothing below needs it.
    ///   - batch: samples in this pass.
    ///   - accumulate: add the weight gradients to the gradient view (beta 1) instead of
    ///     overwriting it: the chunks of a logical batch sum their gradients this way.
    ///   - observer: called by parametric layers before they form their weight gradients.
    /// - Throws: `ComputeError` when a device call fails, or whatever `observer` throws.
    func backward(x: BufferSlice, y: BufferSlice, dy: BufferSlice, dx: BufferSlice?, batch: Int,
                  accumulate: Bool, observer: BackwardObserver?) throws
}

/// The three matrix products of a parametric layer's training step. The layer runs exactly
/// these, so benchmarks can time a step's products alone without restating its shapes.
public struct LayerProducts: Sendable, Hashable {
    /// Output from input and weights.
    public let forward: GemmShape
    /// Weight gradient from the output gradient and the input.
    public let weightGradient: GemmShape
    /// Input gradient from the output gradient and the weights.
    public let inputGradient: GemmShape
}

extension Layer {
    /// None, for layers without a matrix product.
    public func products(input: FeatureShape, batch: Int) -> LayerProducts? { nil }
    /// False: most layers write their own output buffer.
    public var aliasesInput: Bool { false }

    public var workspaceBytes: Int { 0 }
    /// None, for layers without parameters.
    public func parameterShapes(for input: FeatureShape) -> [(name: String, shape: [Int])] { [] }
    /// None, for layers without parameters.
    public func initialParameters(for input: FeatureShape, rng: inout PhiloxStream) -> [Float] { [] }
}

/// PyTorch's default initialisation for linear and convolution layers: weights and biases
/// uniform in ±1/√fan_in (kaiming_uniform with a = √5 reduces to exactly this bound).
func uniformFanIn(weights: Int, biases: Int, fanIn: Int, rng: inout PhiloxStream) -> [Float] {
    let bound = 1 / Float(fanIn).squareRoot()
    return (0..<(weights + biases)).map { _ in (rng.nextUniform() * 2 - 1) * bound }
}
