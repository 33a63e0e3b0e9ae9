import Compute
import Testing
import Training

/// Small models covering every layer type, with awkward sizes.
struct ModelCase: CustomTestStringConvertible, Sendable {
    let name: String
    let input: FeatureShape
    let classes: Int
    let batch: Int
    let build: @Sendable () -> [any Layer]
    var testDescription: String { name }

    static let all: [ModelCase] = [
        ModelCase(name: "linear-tanh", input: FeatureShape(features: 7), classes: 3, batch: 5) {
            [Linear(outputs: 6, activation: .tanh), Linear(outputs: 3)]
        },
        ModelCase(name: "mlp-relu batch 1", input: FeatureShape(features: 13), classes: 4, batch: 1) {
            [Flatten(), Linear(outputs: 11, activation: .relu), Linear(outputs: 5, activation: .relu), Linear(outputs: 4)]
        },
        ModelCase(name: "standalone activations", input: FeatureShape(features: 9), classes: 2, batch: 3) {
            [Linear(outputs: 8), ActivationLayer(.tanh), Linear(outputs: 6), ActivationLayer(.relu), Linear(outputs: 2)]
        },
        ModelCase(name: "conv-maxpool", input: FeatureShape(height: 9, width: 7, channels: 2), classes: 3, batch: 2) {
            [Conv2d(outChannels: 3, kernel: 3, stride: 2, padding: 1, activation: .tanh), Pool2d(.max, kernel: 2, stride: 1),
             Flatten(), Linear(outputs: 3)]
        },
        ModelCase(name: "conv-avgpool", input: FeatureShape(height: 8, width: 8, channels: 1), classes: 4, batch: 3) {
            [Conv2d(outChannels: 4, kernel: 3, activation: .relu), Pool2d(.average, kernel: 2), Conv2d(outChannels: 2, kernel: 2),
             Flatten(), Linear(outputs: 4)]
        },
    ]
}

@Suite("layers: finite-difference gradient checks on the CPU")
struct GradientCheckTests {
    @Test(arguments: ModelCase.all)
    func parameterAndInputGradients(_ c: ModelCase) throws {
        let device = Devices.cpu
        let model = try Model(layers: c.build(), input: c.input, device: device, maxBatch: c.batch, seed: 3)
        let x = randomValues(c.batch * c.input.count, seed: 1)
        let labels = (0..<c.batch).map { Float($0 % c.classes) }
        let (_, gradients, inputGradient) = try evaluate(model, x: x, labels: labels, backward: true)
        let parameters = try device.download(model.parameters.whole)

        // Central differences in float: h = 1e-3 keeps rounding error (~1e-7/h) below the tolerance
        // and makes crossing a ReLU or max-pool kink unlikely.
        let h: Float = 1e-3
        var numeric: [Float] = []
        for i in 0..<parameters.count {
            var shifted = parameters
            shifted[i] += h
            try device.write(shifted, to: model.parameters.whole)
            let up = try evaluate(model, x: x, labels: labels, backward: false).loss
            shifted[i] -= 2 * h
            try device.write(shifted, to: model.parameters.whole)
            let down = try evaluate(model, x: x, labels: labels, backward: false).loss
            numeric.append(Float((up - down) / Double(2 * h)))
        }
        try device.write(parameters, to: model.parameters.whole)
        expectClose(gradients, numeric, atol: 2e-3, rtol: 3e-2, "\(c.name) parameter gradients")

        var numericInput: [Float] = []
        for i in 0..<x.count {
            var shifted = x
            shifted[i] += h
            let up = try evaluate(model, x: shifted, labels: labels, backward: false).loss
            shifted[i] -= 2 * h
            let down = try evaluate(model, x: shifted, labels: labels, backward: false).loss
            numericInput.append(Float((up - down) / Double(2 * h)))
        }
        expectClose(inputGradient, numericInput, atol: 2e-3, rtol: 3e-2, "\(c.name) input gradients")
    }

    @Test("OpenCL forward and backward match the CPU", arguments: ModelCase.all)
    func openCLMatchesCPU(_ c: ModelCase) throws {
        let x = randomValues(c.batch * c.input.count, seed: 2)
        let labels = (0..<c.batch).map { Float(($0 + 1) % c.classes) }
        var results: [(Double, [Float], [Float])] = []
        for device in [Devices.cpu, Devices.openCL] {
            let model = try Model(layers: c.build(), input: c.input, device: device, maxBatch: c.batch, seed: 4)
            results.append(try evaluate(model, x: x, labels: labels, backward: true))
        }
        #expect(abs(results[0].0 - results[1].0) < 1e-5)
        expectClose(results[1].1, results[0].1, atol: 1e-5, rtol: 1e-4, "\(c.name) gradients")
        expectClose(results[1].2, results[0].2, atol: 1e-5, rtol: 1e-4, "\(c.name) input gradients")
    }

    @Test("the observer sees each parametric layer's input and output gradient before its weight gradients")
    func backwardObserver() throws {
        let device = Devices.cpu
        let c = ModelCase.all[3]
        let model = try Model(layers: c.build(), input: c.input, device: device, maxBatch: c.batch, seed: 5)
        let x = randomValues(c.batch * c.input.count, seed: 6)
        let labels: [Float] = [0, 2]
        let (_, reference, _) = try evaluate(model, x: x, labels: labels, backward: true)

        var seen: [Int] = []
        try device.write(x, to: model.inputSlice(batch: c.batch))
        _ = try model.forward(batch: c.batch)
        // Rebuild the output gradient exactly as `evaluate` does, then recompute each layer's
        // weight gradient from the observed factors: Σ_rows dzᵀ·input.
        let loss = try device.makeBuffer(count: 2), correct = try device.makeBuffer(count: 2)
        try device.softmaxCrossEntropy(logits: model.outputSlice(batch: 2), labels: try device.uploadIndices(labels.map { Int32($0) }, below: model.outputShape.count).whole,
                                       rows: 2, classes: 3, loss: loss.whole, correct: correct.whole,
                                       gradient: model.outputGradientSlice(batch: 2), scale: 0.5)
        try model.backward(batch: c.batch) { factors in
            seen.append(factors.layerIndex)
            let rows = factors.batch * factors.rowsPerSample
            #expect(factors.input.count == rows * factors.inputWidth)
            #expect(factors.outputGradient.count == rows * factors.outputWidth)
            try device.gemm(GemmShape(m: factors.outputWidth, n: factors.inputWidth, k: rows, transposeA: true),
                            a: factors.outputGradient, b: factors.input, c: factors.weightGradient)
            try device.columnSum(factors.outputGradient, rows: rows, cols: factors.outputWidth, beta: 0,
                                 into: factors.biasGradient)
            return .skip
        }
        #expect(seen == [3, 0])
        expectClose(try device.download(try #require(model.gradients).whole), reference, atol: 1e-6, "observer-formed gradients")
    }

    @Test("training's backward pass stops at the first parametric layer with the same weight gradients")
    func trainingBackwardSkipsInputGradient() throws {
        let device = Devices.cpu
        let c = ModelCase.all[1]  // Flatten first, then three Linear layers
        let model = try Model(layers: c.build(), input: c.input, device: device, maxBatch: c.batch, seed: 7)
        let x = randomValues(c.batch * c.input.count, seed: 8)
        let (_, full, _) = try evaluate(model, x: x, labels: [1], backward: true)
        let sentinel = [Float](repeating: 42, count: c.batch * c.input.count)
        try device.write(sentinel, to: model.inputGradientSlice(batch: c.batch))
        try device.write(x, to: model.inputSlice(batch: c.batch))
        _ = try model.forward(batch: c.batch)
        try model.backward(batch: c.batch)
        #expect(try device.download(try #require(model.gradients).whole) == full)
        #expect(try device.download(model.inputGradientSlice(batch: c.batch)) == sentinel)
        // …and the products a step performs leave out the first layer's input gradient.
        #expect(model.trainingProducts(batch: 4).count == 3 * 3 - 1)
    }
}
