import ArgumentParser
import Datasets

extension FeatureScaling: ExpressibleByArgument {}
extension DataFormat: ExpressibleByArgument {}
extension HeaderMode: ExpressibleByArgument {}

/// Where the data comes from and how it is split and scaled, shared by the training commands.
public struct DataOptions: ParsableArguments {
    @Option(help: "Training data: CSV, LIBSVM/svmlight or MNIST IDX images, optionally gzip-compressed. Default: the embedded MNIST-5k.")
    public var data: String?

    @Option(help: "Data format when the file name does not say: csv, libsvm or idx.")
    public var format: DataFormat?

    @Option(help: "IDX labels file (default: derived from the images file name).")
    public var labels: String?

    @Option(help: "CSV label column: first, last or a 0-based index.")
    public var labelColumn: String = "last"

    @Option(help: "CSV header line: auto, present or absent.")
    public var header: HeaderMode = .auto

    @Option(help: "LIBSVM: number of features (indices past it are errors).")
    public var features: Int?

    @Option(help: "Separate test file (same format); otherwise --test-fraction of the data is held out.")
    public var test: String?

    @Option(help: "Fraction of the data held out for testing when --test is not given.")
    public var testFraction: Double = 0.2

    @Option(help: "Feature scaling fitted on the training split: none, unit (min-max to [0, 1]) or standardize.")
    public var scale: FeatureScaling = .unit

    public init() {}

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
    public func load(seed: UInt64) throws -> (train: Dataset, test: Dataset, source: String) {
        let options = LoadOptions(format: format, labelColumn: LabelColumn(argument: labelColumn) ?? .last,
                                  header: header, featureCount: features, labelsPath: labels)
        let all: Dataset
        let source: String
        if let data {
            all = try DataLoader.load(path: data, options: options)
            source = data
        } else {
            all = try DataLoader.embeddedMNIST5k()
            source = DataLoader.embeddedName
        }
        var train = all, test: Dataset
        if let testPath = self.test {
            var testOptions = options
            testOptions.labelsPath = nil
            test = try DataLoader.load(path: testPath, options: testOptions).aligned(to: all.classes, file: testPath)
            guard test.featureCount == all.featureCount else {
                throw DataError(file: testPath, message: "has \(test.featureCount) features, the training data \(all.featureCount)")
            }
        } else {
            (train, test) = DataSplit.split(all, testFraction: testFraction, seed: seed)
        }
        let scaler = FeatureScaler(fitting: train, mode: scale)
        return (scaler.apply(to: train), scaler.apply(to: test), source)
    }
}
