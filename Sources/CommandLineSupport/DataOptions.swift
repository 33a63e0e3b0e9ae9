import ArgumentParser
import Datasets

extension FeatureScaling: ExpressibleByArgument {}
extension DataFormat: ExpressibleByArgument {}
extension HeaderMode: ExpressibleByArgument {}

/// Where the data comes from and how it is split and scaled, shared by the training commands.
public struct DataOptions: ParsableArguments {
    /// The training data file; nil for the embedded MNIST-5k.
    @Option(help: "Training data: CSV, LIBSVM/svmlight or MNIST IDX images, optionally gzip-compressed. Default: the embedded MNIST-5k.")
    public var data: String?

    /// The data format; nil to infer it from the file name, else from the content.
    @Option(help: "Data format when the file name does not say: csv, libsvm or idx.")
    public var format: DataFormat?

    /// The IDX labels file of `--data`; nil to derive it from the images file name.
    @Option(help: "IDX labels file (default: derived from the images file name).")
    public var labels: String?

    /// The CSV label column as typed; `validate()` checks it parses as a `LabelColumn`.
    @Option(help: "CSV label column: first, last or a 0-based index.")
    public var labelColumn: String = "last"

    /// Whether the first CSV line is a header.
    @Option(help: "CSV header line: auto, present or absent.")
    public var header: HeaderMode = .auto

    /// The LIBSVM feature count, or the count CSV and IDX data must have; nil to take the data's.
    @Option(help: "LIBSVM: number of features (indices past it are errors).")
    public var features: Int?

    /// A separate test file; nil to hold out `testFraction` of `--data`.
    @Option(help: "Separate test file (same format); otherwise --test-fraction of the data is held out.")
    public var test: String?

    /// Fraction (not percent) of the rows held out for testing, in [0, 1).
    @Option(help: "Fraction of the data held out for testing when --test is not given.")
    public var testFraction: Double = 0.2

    /// Feature scaling, fitted on the training split and applied to both splits.
    @Option(help: "Feature scaling fitted on the training split: none, unit (min-max to [0, 1]) or standardize.")
    public var scale: FeatureScaling = .unit

    /// Options with their defaults, as the argument parser requires.
    public init() {}

    /// Checks the values the parser cannot: label column, test fraction and feature count.
    /// - Throws: `ValidationError` naming the bad option.
    public func validate() throws {
        guard LabelColumn(argument: labelColumn) != nil else {
            throw ValidationError("--label-column must be first, last or a non-negative index, not '\(labelColumn)'")
        }
        guard testFraction >= 0 && testFraction < 1 else {
            throw ValidationError("--test-fraction must be in [0, 1), not \(testFraction)")
        }
        if let features, features <= 0 { throw ValidationError("--features must be positive") }
    }

    /// Loads, splits (seeded) and scales the data.
    /// - Parameter seed: the seed of the train/test split (unused with `--test`).
    /// - Returns: the scaled training and test sets, and the data's name for reports (the path,
    ///   or the embedded data set's name).
    /// - Throws: `DataError` when a file cannot be read or parsed, or when the test file's
    ///   classes or feature count do not match the training data.
    public func load(seed: UInt64, imageShape: ImageShape? = nil) throws -> (train: Dataset, test: Dataset, source: String) {
        let loaded = try loadScaled(seed: seed, imageShape: imageShape)
        return (loaded.train, loaded.test, loaded.source)
    }

    /// `load`, with what the scaling did: the fitted scaler, and the range of the raw training
    /// values over all features (an attack's valid pixel range, mapped through the scaler).
    public func loadScaled(seed: UInt64, imageShape: ImageShape? = nil) throws
        -> (train: Dataset, test: Dataset, source: String, scaler: FeatureScaler, rawRange: ClosedRange<Float>) {
        let options = LoadOptions(format: format, labelColumn: LabelColumn(argument: labelColumn) ?? .last,
                                  header: header, featureCount: features, labelsPath: labels)
        var all: Dataset
        let source: String
        if let data {
            all = try DataLoader.load(path: data, options: options)
            source = data
        } else {
            all = try DataLoader.embeddedMNIST5k()
            source = DataLoader.embeddedName
        }
        // Flat rows that a model reads as images (the cnn on 784-column MNIST) are images for
        // scaling too: one range per channel rather than per pixel.
        if all.imageShape == nil, let imageShape, imageShape.elementCount == all.featureCount {
            all.imageShape = imageShape
        }
        var train = all, test: Dataset
        if let testPath = self.test {
            var testOptions = options
            testOptions.labelsPath = nil
            // A LIBSVM test file's largest index may be below the training file's: same width.
            testOptions.featureCount = options.featureCount ?? all.featureCount
            test = try DataLoader.load(path: testPath, options: testOptions).aligned(to: all.classes, file: testPath)
            test.imageShape = all.imageShape
            guard test.featureCount == all.featureCount else {
                throw DataError(file: testPath, message: "has \(test.featureCount) features, the training data \(all.featureCount)")
            }
        } else {
            (train, test) = DataSplit.split(all, testFraction: testFraction, seed: seed)
        }
        let scaler = FeatureScaler(fitting: train, mode: scale)
        let low = train.features.min() ?? 0, high = train.features.max() ?? 0
        return (scaler.apply(to: train), scaler.apply(to: test), source, scaler, low...high)
    }
}
