import Compute
import Philox

/// Shape of one sample's activations: NHWC images are (height, width, channels); flat feature
/// vectors are (1, 1, features).
public struct FeatureShape: Sendable, Hashable, CustomStringConvertible {
    public var height: Int, width: Int, channels: Int

    public init(height: Int, width: Int, channels: Int) {
        precondition(height > 0 && width > 0 && channels > 0, "empty feature shape")
        self.height = height; self.width = width; self.channels = channels
    }

    /// A flat vector of `features` values.
    public init(features: Int) { self.init(height: 1, width: 1, channels: features) }

    /// Floats per sample.
    public var count: Int { height * width * channels }
    public var isFlat: Bool { height == 1 && width == 1 }

    public var description: String { isFlat ? "\(channels)" : "\(height)x\(width)x\(channels)" }
}

/// What a layer's backward pass hands to an observer before it forms its weight gradients:
/// the two factors every per-sample weight gradient is made of.
///
/// For a linear layer the per-sample weight gradient of sample i is `outputGradient[i]ᵀ·input[i]`;
/// for a convolution it is `Σ_p outputGradient[i,p]ᵀ·input[i,p]` over the sample's
/// `rowsPerSample` output positions (input is then the im2col patch matrix).
public struct LayerGradientFactors {
    /// Index of the layer in its model.
    public let layerIndex: Int
    /// (batch·rowsPerSample, inputWidth): the layer's input rows (patches for a convolution).
    public let input: BufferSlice
    /// (batch·rowsPerSample, outputWidth): gradient of the loss with respect to the layer's
    /// pre-activation output.
    public let outputGradient: BufferSlice
    public let batch: Int
    public let rowsPerSample: Int
    public let inputWidth: Int
    public let outputWidth: Int
    /// The layer's weight and bias gradient views in the flat gradient buffer.
    public let weightGradient: BufferSlice
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
    public let device: any Device
    public let index: Int
    public let input: FeatureShape
    public let maxBatch: Int
    public let parameters: BufferSlice
    public let gradients: BufferSlice
}

/// One layer of a feed-forward model. Activations are row-major (batch, features), NHWC for
/// images; a layer reads its input slice and writes its output slice, both sized for `batch`.
public protocol Layer: AnyObject {
    /// e.g. "Linear(784 → 512, relu)".
    func summary(input: FeatureShape) -> String
    func outputShape(for input: FeatureShape) -> FeatureShape
    /// Named parameter tensors with their shapes, in flat-buffer order.
    func parameterShapes(for input: FeatureShape) -> [(name: String, shape: [Int])]
    /// Initial values of all parameters, concatenated in flat-buffer order.
    func initialParameters(for input: FeatureShape, rng: inout PhiloxStream) -> [Float]
    /// A layer whose output is its input, unchanged (Flatten): the model aliases the buffers.
    var aliasesInput: Bool { get }
    /// Binds parameter views and allocates workspaces. Called once before any pass.
    func bind(_ binding: LayerBinding) throws
    func forward(x: BufferSlice, y: BufferSlice, batch: Int) throws
    /// Backward pass. May overwrite `dy`. Writes `dx` when given, and the weight gradients into
    /// the bound gradient view (after `observer`, if any, lets it).
    func backward(x: BufferSlice, y: BufferSlice, dy: BufferSlice, dx: BufferSlice?, batch: Int,
                  observer: BackwardObserver?) throws
}

extension Layer {
    public var aliasesInput: Bool { false }
    public func parameterShapes(for input: FeatureShape) -> [(name: String, shape: [Int])] { [] }
    public func initialParameters(for input: FeatureShape, rng: inout PhiloxStream) -> [Float] { [] }
}

/// PyTorch's default initialisation for linear and convolution layers: weights and biases
/// uniform in ±1/√fan_in (kaiming_uniform with a = √5 reduces to exactly this bound).
func uniformFanIn(weights: Int, biases: Int, fanIn: Int, rng: inout PhiloxStream) -> [Float] {
    let bound = 1 / Float(fanIn).squareRoot()
    return (0..<(weights + biases)).map { _ in (rng.nextUniform() * 2 - 1) * bound }
}
