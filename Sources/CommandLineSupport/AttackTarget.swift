import Artifacts
import Compute
import Datasets
import Philox
import Training

/// A model to attack, rebuilt from the checkpoint `train` wrote: its spec and parameters, and
/// the run's data (path, test file or split, seed, scaling) reloaded exactly as in training, so
/// the attack sees the run's test split scaled as the model saw it. The box is the valid input
/// range (the training data's raw minimum and maximum over all features) mapped through the
/// run's scaling, per feature.
public struct AttackTarget {
    public let checkpoint: Checkpoint
    public let spec: ModelSpec
    /// Inference-only, with the checkpoint's parameters.
    public let model: Model
    /// The run's test split, scaled.
    public let test: Dataset
    /// Per feature, the box every adversarial input stays in.
    public let lower: [Float]
    public let upper: [Float]

    /// Loads `path` and rebuilds its model on `device` for batches of `maxBatch` rows.
    /// - Parameter dataPath: the training data's path when it has moved since training (the
    ///   checkpoint records the original).
    /// - Throws: `CommandFailure` (66) for a checkpoint that cannot be opened, `ArtifactError` for a
    ///   corrupt one, `CommandFailure` (65) when the data no longer matches it, `DataError` and
    ///   `ComputeError` from loading.
    public static func load(path: String, dataPath: String?, device: any Device, maxBatch: Int) throws -> AttackTarget {
        let checkpoint: Checkpoint
        do {
            checkpoint = try Checkpoint.read(from: path)
        } catch {
            if error.kind.isIO { throw CommandFailure(error.description, status: ExitStatus.noInput) }
            throw error
        }
        let metadata = checkpoint.metadata
        func required(_ key: String) throws -> String {
            guard let value = metadata[key] else {
                throw CommandFailure("\(path): the checkpoint does not record its \(key) (not written by train)",
                                     status: ExitStatus.dataError)
            }
            return value
        }
        // The options as train parsed them (an options group must be parsed to be read).
        let source = try required("data"), test = try required("test")
        guard let fraction = Double(try required("test_fraction")), FeatureScaling(rawValue: try required("scale")) != nil else {
            throw CommandFailure("\(path): unreadable test fraction or scaling in the checkpoint", status: ExitStatus.dataError)
        }
        var arguments = ["--scale", try required("scale"), "--test-fraction", String(fraction)]
        if let path = dataPath ?? (source == DataLoader.embeddedName ? nil : source) { arguments += ["--data", path] }
        if !test.isEmpty { arguments += ["--test", test] }
        let data: DataOptions
        do { data = try DataOptions.parse(arguments) } catch {
            throw CommandFailure("\(path): the checkpoint's data options do not parse: \(arguments.joined(separator: " "))",
                                 status: ExitStatus.dataError)
        }
        let spec: ModelSpec
        do { spec = try ModelSpec(parsing: checkpoint.modelSpec) } catch {
            throw CommandFailure("\(path): model '\(checkpoint.modelSpec)': \(error)", status: ExitStatus.dataError)
        }
        let loaded = try data.loadScaled(
            seed: checkpoint.seed, imageShape: spec == .cnn ? ImageShape(channels: 1, height: 28, width: 28) : nil)
        guard loaded.train.classes.joined(separator: "\u{1F}") == (try required("classes")),
              String(loaded.train.featureCount) == (try required("features")) else {
            throw CommandFailure("\(path): the data \(data.data ?? DataLoader.embeddedName) has other classes or features "
                                 + "than the model was trained on (pass --data with the training data)",
                                 status: ExitStatus.dataError)
        }
        let input = spec.inputShape(for: FeatureShape(features: loaded.train.featureCount))
        let model = try Model(layers: try spec.layers(input: input, classes: loaded.train.classes.count), input: input,
                              device: device, maxBatch: maxBatch, seed: checkpoint.seed, training: false)
        guard checkpoint.parameters.count == model.parameterCount, checkpoint.parameters.allSatisfy(\.isFinite) else {
            throw CommandFailure("\(path): \(checkpoint.parameters.count) parameters for a model of \(model.parameterCount)",
                                 status: ExitStatus.dataError)
        }
        try device.write(checkpoint.parameters, to: model.parameters.whole)
        let raw = loaded.rawRange, scaler = loaded.scaler
        func mapped(_ value: Float, _ j: Int) -> Float {
            scaler.mode == .none ? value : Float((Double(value) - Double(scaler.offset[j])) * Double(scaler.scale[j]))
        }
        let features = loaded.train.featureCount
        return AttackTarget(checkpoint: checkpoint, spec: spec, model: model, test: loaded.test,
                            lower: (0..<features).map { mapped(raw.lowerBound, $0) },
                            upper: (0..<features).map { mapped(raw.upperBound, $0) })
    }

    /// Up to `count` test rows the model classifies correctly, in a seeded random order: their
    /// features (row-major) and labels.
    public func correctlyClassified(_ count: Int, seed: UInt64) throws -> (images: [Float], labels: [Int32]) {
        var order = Array(0..<test.count)
        var rng = PhiloxStream(seed: seed, stream: PhiloxStream.Streams.sampling)
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.nextUniform() * Float(i + 1)) % (i + 1)) }
        var images: [Float] = [], labels: [Int32] = []
        var start = 0
        while start < order.count && labels.count < count {
            let rows = Array(order[start..<min(start + model.maxBatch, order.count)])
            let predicted = try predictions(rows.flatMap { test.row($0) })
            for (row, prediction) in zip(rows, predicted) where labels.count < count && prediction == Int(test.labels[row]) {
                images += test.row(row)
                labels.append(test.labels[row])
            }
            start += rows.count
        }
        return (images, labels)
    }

    /// The model's class (first arg-max of the logits) for each row of `features` (rows × d,
    /// scaled as the model's input), in batches of its `maxBatch`.
    public func predictions(_ features: [Float]) throws -> [Int] {
        let d = model.inputShape.count, classes = model.outputShape.count, device = model.device
        precondition(d > 0 && features.count % d == 0, "rows of \(d) features")
        var result: [Int] = []
        var first = 0
        while first < features.count / d {
            let rows = min(model.maxBatch, features.count / d - first)
            try device.write(Array(features[first * d..<(first + rows) * d]), to: model.inputSlice(batch: rows))
            let logits = try device.download(try model.forward(batch: rows))
            for r in 0..<rows {
                let z = logits[r * classes..<(r + 1) * classes]
                result.append((z.indices.max { z[$0] < z[$1] } ?? r * classes) - r * classes)
            }
            first += rows
        }
        return result
    }
}
