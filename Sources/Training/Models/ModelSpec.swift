import Compute

/// A model described by a short string, as `--model` takes it:
/// - `logreg`: multinomial logistic regression (one linear layer);
/// - `mlp:512,256`: ReLU multilayer perceptron with those hidden widths;
/// - `cnn`: the MNIST convnet of TF Privacy and Opacus (Conv 16 8×8 stride 2 padding 3, ReLU,
///   MaxPool 2 stride 1, Conv 32 4×4 stride 2, ReLU, MaxPool 2 stride 1, Linear 32, ReLU,
///   Linear 10), for 28×28 single-channel images.
public enum ModelSpec: Sendable, Hashable, CustomStringConvertible {
    /// `logreg`: Flatten, then one linear layer to the class logits.
    case logisticRegression
    /// `mlp:W1,W2,...`: Flatten, a ReLU linear layer per hidden width, then the logits layer.
    case mlp(hidden: [Int])
    /// `cnn`: the TF Privacy / Opacus MNIST convnet, for 28×28×1 inputs.
    case cnn

    /// Parses a spec string; the error message says what is wrong.
    /// - Parameter text: `logreg`, `mlp`, `mlp:W1,W2,...` (each width in 1...2^20) or `cnn`;
    ///   surrounding spaces are ignored.
    /// - Throws: `ModelSpecError` for an unknown model or a bad hidden width.
    public init(parsing text: String) throws(ModelSpecError) {
        let trimmed = text.trimmingSpaces()
        if trimmed == "logreg" {
            self = .logisticRegression
        } else if trimmed == "cnn" {
            self = .cnn
        } else if trimmed == "mlp" {
            self = .mlp(hidden: [])
        } else if trimmed.hasPrefix("mlp:") {
            var widths: [Int] = []
            for part in trimmed.dropFirst(4).split(separator: ",", omittingEmptySubsequences: false) {
                guard let width = Int(part.trimmingSpaces()), width > 0, width <= 1 << 20 else {
                    throw ModelSpecError(message: "model '\(text)': hidden width '\(part)' is not an integer in 1...\(1 << 20)")
                }
                widths.append(width)
            }
            self = .mlp(hidden: widths)
        } else {
            throw ModelSpecError(message: "unknown model '\(text)' (expected logreg, mlp:W1,W2,... or cnn)")
        }
    }

    /// The spec string it parses from (`logreg`, `mlp:512,256`, `cnn`), as checkpoints record it.
    public var description: String {
        switch self {
        case .logisticRegression: return "logreg"
        case .mlp(let hidden): return hidden.isEmpty ? "mlp" : "mlp:" + hidden.map(String.init).joined(separator: ",")
        case .cnn: return "cnn"
        }
    }

    /// The sample shape the model reads: the cnn takes flat 784-feature rows (MNIST as CSV or
    /// LIBSVM) as the 28×28 single-channel images they are; other data keeps its shape.
    public func inputShape(for data: FeatureShape) -> FeatureShape {
        if self == .cnn && data.isFlat && data.count == 28 * 28 { return FeatureShape(height: 28, width: 28, channels: 1) }
        return data
    }

    /// The layers for `input` samples and `classes` outputs, or an error when the spec does not
    /// fit the data (the cnn needs 28×28×1 images).
    /// - Parameters:
    ///   - input: shape of one sample, as `inputShape(for:)` returns it.
    ///   - classes: outputs of the last layer (logits).
    /// - Returns: new, unbound layers for a `Model`.
    /// - Throws: `ModelSpecError` when the cnn gets samples that are not 28×28×1.
    public func layers(input: FeatureShape, classes: Int) throws(ModelSpecError) -> [any Layer] {
        switch self {
        case .logisticRegression:
            return [Flatten(), Linear(outputs: classes)]
        case .mlp(let hidden):
            return [Flatten()] + hidden.map { Linear(outputs: $0, activation: .relu) } + [Linear(outputs: classes)]
        case .cnn:
            guard input.height == 28 && input.width == 28 && input.channels == 1 else {
                throw ModelSpecError(message: "model 'cnn' needs 28x28 single-channel images (784 features), the data has \(input)")
            }
            return [
                Conv2d(outChannels: 16, kernel: 8, stride: 2, padding: 3, activation: .relu),
                Pool2d(.max, kernel: 2, stride: 1),
                Conv2d(outChannels: 32, kernel: 4, stride: 2, activation: .relu),
                Pool2d(.max, kernel: 2, stride: 1),
                Flatten(),
                Linear(outputs: 32, activation: .relu),
                Linear(outputs: classes),
            ]
        }
    }
}

/// A model spec that cannot be parsed or does not fit the data.
public struct ModelSpecError: Error, Sendable, CustomStringConvertible {
    /// What is wrong, in one line, for a command-line error.
    public let message: String
    /// Same as `message`.
    public var description: String { message }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
