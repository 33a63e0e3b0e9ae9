import Compute
import Datasets
import Philox
import Privacy
import Testing
import Training

enum TestDevices {
    static let cpu = CPUDevice()
    static let openCL: any Device = {
        do { return try makeDevice(.opencl) } catch { fatalError("no OpenCL device (install pocl-opencl-icd): \(error)") }
    }()
}

/// Deterministic rows: noise images with a label-dependent bright patch (28×28×1) or flat rows.
func privacyData(count: Int, image: Bool, seed: UInt64) -> Dataset {
    var rng = PhiloxStream(seed: seed, stream: 44)
    let width = image ? 784 : 20
    var features: [Float] = [], labels: [Int32] = []
    for i in 0..<count {
        let label = i % 10
        for p in 0..<width { features.append((p % 10 == label ? 1 : 0) + 0.3 * (rng.nextUniform() - 0.5)) }
        labels.append(Int32(label))
    }
    return Dataset(features: features, labels: labels, featureCount: width, classes: (0..<10).map(String.init),
                   imageShape: image ? ImageShape(channels: 1, height: 28, width: 28) : nil)
}

/// A training model of `spec` (10 classes) for `train`'s rows, on `train`'s device.
func specModel(_ spec: String, train: DeviceDataset, maxBatch: Int, seed: UInt64) throws -> Model {
    let parsed = try ModelSpec(parsing: spec)
    let input = parsed.inputShape(for: train.shape)
    return try Model(layers: try parsed.layers(input: input, classes: 10), input: input, device: train.device,
                     maxBatch: maxBatch, seed: seed)
}

@Suite("privacy: clipped per-sample gradients and noise")
struct ClippedGradientTests {
    /// Σ_i min(1, C/(‖g_i‖ + 1e-6))·g_i · scale, from one back-propagation per sample.
    func reference(model: Model, data: DeviceDataset, rows: [Int32], maxNorm: Float, scale: Float) throws -> [Float] {
        let device = model.device
        let source = try BackpropGradient(model: model, data: data)
        let statistics = try BatchStatistics(device: device, maxBatch: model.maxBatch)
        guard let gradients = model.gradients else { preconditionFailure("a training model") }
        var sum = [Float](repeating: 0, count: model.parameterCount)
        for row in rows {
            try source.computeGradient(rows: try device.uploadIndices([row], below: data.count).whole, scale: 1,
                                       statistics: statistics, stepInEpoch: 1, step: 0)
            let g = try device.download(gradients.whole)
            let norm = g.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
            let c = min(1, Double(maxNorm) / (norm + 1e-6))
            for j in sum.indices { sum[j] += Float(c) * g[j] }
        }
        return sum.map { $0 * scale }
    }

    @Test("the clipped sum equals clipping each sample's own gradient", arguments: ["mlp:32", "cnn"],
          [GradSampleMode.auto, .ghost, .materialized])
    func clippedSum(_ spec: String, _ mode: GradSampleMode) throws {
        let image = spec == "cnn"
        let data = privacyData(count: 24, image: image, seed: 3)
        let rows: [Int32] = [3, 17, 5, 0, 22, 9, 11]
        for device in [TestDevices.cpu, TestDevices.openCL] {
            let train = try DeviceDataset(data, device: device)
            // A micro-batch of 4 for the 7 rows: the clipped sums of two chunks must add up.
            let model = try specModel(spec, train: train, maxBatch: 4, seed: 8)
            let expected = try reference(model: model, data: train, rows: rows, maxNorm: 0.5, scale: 1.0 / 7)
            let source = try ClippedGradient(model: model, data: train, maxGradNorm: 0.5, mode: mode)
            let statistics = try BatchStatistics(device: device, maxBatch: model.maxBatch)
            try source.computeGradient(rows: try device.uploadIndices(rows, below: train.count).whole, scale: 1.0 / 7,
                                       statistics: statistics, stepInEpoch: 1, step: 0)
            let got = try device.download(try #require(model.gradients).whole)
            let worst = zip(got, expected).map { abs($0 - $1) }.max() ?? 0
            #expect(worst < 2e-5, "\(spec) \(mode) on \(device.kind): largest difference \(worst)")
            // Clipping bounds the norm of the sum: at most C per sample times the scale.
            let total = got.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
            #expect(total <= 0.5 * 7 / 7 + 1e-4)
        }
    }

    @Test("the factors a layer hands the observer keep their values until the next forward pass", arguments: ["mlp:16,8", "cnn"])
    func factorsStayValid(_ spec: String) throws {
        let data = privacyData(count: 12, image: spec == "cnn", seed: 41)
        for device in [TestDevices.cpu, TestDevices.openCL] {
            let train = try DeviceDataset(data, device: device)
            let model = try specModel(spec, train: train, maxBatch: 6, seed: 42)
            let pass = try LossPass(model: model, data: train)
            let statistics = try BatchStatistics(device: device, maxBatch: 6)
            try pass.forwardAndLoss(rows: try device.uploadIndices([0, 3, 5, 7, 9, 11], below: 12).whole,
                                    gradientScale: 1, statistics: statistics, stepInEpoch: 1)
            var seen: [(LayerGradientFactors, [Float], [Float])] = []
            try model.backward(batch: 6) { factors in
                seen.append((factors, try device.download(factors.input), try device.download(factors.outputGradient)))
                return .skip
            }
            #expect(seen.count == model.parametricLayerCount)
            for (factors, input, outputGradient) in seen {
                #expect(try device.download(factors.input) == input, "\(spec) layer \(factors.layerIndex) input on \(device.kind)")
                #expect(try device.download(factors.outputGradient) == outputGradient,
                        "\(spec) layer \(factors.layerIndex) output gradient on \(device.kind)")
            }
        }
    }

    @Test("with clipping inactive and no noise, DP-SGD is SGD on the same Poisson batches divided by q·N")
    func reducesToSGD() throws {
        let data = privacyData(count: 40, image: false, seed: 6)
        var parameters: [[Float]] = []
        for dp in [false, true] {
            let train = try DeviceDataset(data, device: TestDevices.cpu)
            let model = try Model(layers: [Linear(outputs: 16, activation: .relu), Linear(outputs: 10)],
                                  input: train.shape, device: TestDevices.cpu, maxBatch: 8, seed: 2)
            let config = TrainingConfig(epochs: 2, batchSize: 8, seed: 3,
                                        optimizer: OptimizerConfig(kind: .sgd, learningRate: 0.3, weightDecay: 0))
            let sampler = PoissonSampler(count: 40, expectedBatchSize: 8, seed: 3)
            let trainer = dp
                ? try Trainer(model: model, config: config, train: train, samplers: [sampler],
                              source: ClippedGradient(model: model, data: train, maxGradNorm: 1e9),
                              transforms: [GaussianNoise(device: TestDevices.cpu, noiseMultiplier: 0, maxGradNorm: 1e9, seed: 3)])
                : try Trainer(model: model, config: config, train: train, samplers: [sampler])
            for _ in 0..<2 { _ = try trainer.trainEpoch() }
            parameters.append(try TestDevices.cpu.download(model.parameters.whole))
        }
        let worst = zip(parameters[0], parameters[1]).map { abs($0 - $1) }.max() ?? 0
        #expect(worst < 1e-5, "largest difference \(worst)")
    }

    @Test("per-layer clipping clips each layer's part of every sample's gradient to its own bound")
    func perLayer() throws {
        let data = privacyData(count: 24, image: true, seed: 4)
        let rows: [Int32] = [1, 8, 15, 22, 3]
        for device in [TestDevices.cpu, TestDevices.openCL] {
            let train = try DeviceDataset(data, device: device)
            let model = try specModel("cnn", train: train, maxBatch: 8, seed: 9)
            let bounds: [Float] = [0.3, 0.2, 0.5, 0.1]
            #expect(model.parametricLayerCount == bounds.count)
            // Each parametric layer's range of the flat buffer, input side first.
            var ranges: [Range<Int>] = []
            for tensor in model.tensors {
                let layer = tensor.name.split(separator: ".").first.map(String.init) ?? ""
                if let last = ranges.last, model.tensors.first(where: { $0.offset == last.lowerBound })?.name
                    .hasPrefix(layer + ".") == true {
                    ranges[ranges.count - 1] = last.lowerBound..<(tensor.offset + tensor.count)
                } else {
                    ranges.append(tensor.offset..<(tensor.offset + tensor.count))
                }
            }
            #expect(ranges.count == bounds.count)
            let source = try BackpropGradient(model: model, data: train)
            let statistics = try BatchStatistics(device: device, maxBatch: model.maxBatch)
            let gradients = try #require(model.gradients)
            var expected = [Float](repeating: 0, count: model.parameterCount)
            for row in rows {
                try source.computeGradient(rows: try device.uploadIndices([row], below: train.count).whole, scale: 1,
                                           statistics: statistics, stepInEpoch: 1, step: 0)
                let g = try device.download(gradients.whole)
                for (range, bound) in zip(ranges, bounds) {
                    let norm = g[range].reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
                    let c = Float(min(1, Double(bound) / (norm + 1e-6)))
                    for j in range { expected[j] += c * g[j] / Float(rows.count) }
                }
            }
            let clipped = try ClippedGradient(model: model, data: train, clipping: .perLayer(bounds))
            try clipped.computeGradient(rows: try device.uploadIndices(rows, below: train.count).whole,
                                        scale: 1 / Float(rows.count), statistics: statistics, stepInEpoch: 1, step: 0)
            let got = try device.download(gradients.whole)
            let worst = zip(got, expected).map { abs($0 - $1) }.max() ?? 0
            #expect(worst < 2e-5, "\(device.kind): largest difference \(worst)")
            #expect(abs(Clipping.perLayer(bounds).noiseNorm - (0.09 + 0.04 + 0.25 + 0.01 as Float).squareRoot()) < 1e-6)
        }
    }

    @Test("noise has standard deviation σ·C·scale, the same draw on every device, and keys by the step")
    func noise() throws {
        var draws: [[Float]] = []
        for device in [TestDevices.cpu, TestDevices.openCL] {
            let count = 100_000
            let result = try device.upload([Float](repeating: 0, count: count))
            let transform = GaussianNoise(device: device, noiseMultiplier: 1.1, maxGradNorm: 2, seed: 5)
            let gradients = WorkerGradients(slots: result.whole, workers: 1, parameterCount: count, result: result.whole,
                                            scale: 0.25)
            try transform.apply(gradients, step: 3)
            let values = try device.download(result.whole)
            let std = (values.reduce(0) { $0 + Double($1) * Double($1) } / Double(count)).squareRoot()
            // σ·C·scale = 0.55; the standard error of the estimate is about 0.55/√(2n) ≈ 0.0012.
            #expect(abs(std - 0.55) < 0.006, "std \(std)")
            // Mean within 4 standard errors (0.55/√n ≈ 0.0017); the CDF at ±0.5σ, ±1.5σ and 0
            // within 0.005 of Φ (standard error ≤ 0.0016).
            let mean = values.reduce(0) { $0 + Double($1) } / Double(count)
            #expect(abs(mean) < 0.007, "mean \(mean)")
            for (z, phi) in [(-1.5, 0.0668072), (-0.5, 0.3085375), (0.0, 0.5), (0.5, 0.6914625), (1.5, 0.9331928)] {
                let below = Double(values.filter { Double($0) < z * 0.55 }.count) / Double(count)
                #expect(abs(below - phi) < 0.005, "P(X < \(z)σ) = \(below), Φ = \(phi)")
            }
            draws.append(values)
            try transform.apply(gradients, step: 4)
            #expect(try device.download(result.whole) != values.map { $0 * 2 })
        }
        #expect(draws[0] == draws[1], "the noise of step 3 is bit for bit the same on the CPU and OpenCL")
    }

    @Test("hardened noise (the halved sum of four draws) keeps the standard deviation and its first draw's stream")
    func hardenedNoise() throws {
        let count = 100_000, device = TestDevices.cpu
        var values: [[Float]] = []
        for hardened in [false, true] {
            let result = try device.upload([Float](repeating: 0, count: count))
            let transform = GaussianNoise(device: device, noiseMultiplier: 1.1, maxGradNorm: 2, seed: 5, hardened: hardened)
            try transform.apply(WorkerGradients(slots: result.whole, workers: 1, parameterCount: count,
                                                result: result.whole, scale: 0.25), step: 3)
            let drawn = try device.download(result.whole)
            let std = (drawn.reduce(0) { $0 + Double($1) * Double($1) } / Double(count)).squareRoot()
            #expect(abs(std - 0.55) < 0.006, "hardened \(hardened): std \(std)")
            values.append(drawn)
        }
        // Not the plain draw halved: three more draws went in.
        let halved = values[0].map { $0 / 2 }
        #expect(values[1] != halved)
        let correlation = zip(values[0], values[1]).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            / (Double(count) * 0.55 * 0.55)
        #expect(abs(correlation - 0.5) < 0.02, "the first of the four draws is the plain one: correlation \(correlation)")
    }
}
