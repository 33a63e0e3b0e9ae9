import Compute
import Testing
import Training

@Suite("models from spec strings")
struct ModelSpecTests {
    @Test func parsing() throws {
        #expect(try ModelSpec(parsing: "logreg") == .logisticRegression)
        #expect(try ModelSpec(parsing: "mlp:512,256") == .mlp(hidden: [512, 256]))
        #expect(try ModelSpec(parsing: "cnn") == .cnn)
        #expect(try ModelSpec(parsing: "mlp:512,256").description == "mlp:512,256")
        for bad in ["mlp:0", "mlp:a,3", "resnet", "mlp:5,", ""] {
            #expect(throws: ModelSpecError.self) { try ModelSpec(parsing: bad) }
        }
    }

    @Test("the cnn has the Opacus MNIST architecture: 26,010 parameters, 28x28x1 → 10")
    func cnnShape() throws {
        let layers = try ModelSpec.cnn.layers(input: FeatureShape(height: 28, width: 28, channels: 1), classes: 10)
        let model = try Model(layers: layers, input: FeatureShape(height: 28, width: 28, channels: 1),
                              device: Devices.cpu, maxBatch: 2, seed: 1)
        // conv1 16·8·8·1 + 16, conv2 32·4·4·16 + 32, fc1 32·512 + 32, fc2 10·32 + 10
        #expect(model.parameterCount == 1040 + 8224 + 16416 + 330)
        #expect(model.shapes.map(\.description) == ["14x14x16", "13x13x16", "5x5x32", "4x4x32", "512", "32", "10"])
        #expect(throws: ModelSpecError.self) {
            try ModelSpec.cnn.layers(input: FeatureShape(features: 784), classes: 10)
        }
    }

    @Test("mlp:512,256 on MNIST has 535,818 parameters in one flat buffer with per-tensor views")
    func flatParameters() throws {
        let layers = try ModelSpec.mlp(hidden: [512, 256]).layers(input: FeatureShape(features: 784), classes: 10)
        let model = try Model(layers: layers, input: FeatureShape(features: 784), device: Devices.cpu, maxBatch: 1, seed: 1)
        #expect(model.parameterCount == 784 * 512 + 512 + 512 * 256 + 256 + 256 * 10 + 10)
        #expect(model.tensors.map(\.name) == ["1.weight", "1.bias", "2.weight", "2.bias", "3.weight", "3.bias"])
        var offset = 0
        for tensor in model.tensors {
            #expect(tensor.offset == offset)
            offset += tensor.count
        }
        #expect(offset == model.parameterCount)
        // PyTorch's default init: every weight within ±1/√fan_in, and not all equal.
        let values = try Devices.cpu.download(model.parameters.whole)
        let first = values[0..<(784 * 512)]
        #expect(first.allSatisfy { abs($0) <= 1 / Float(784).squareRoot() })
        #expect(Set(first.prefix(100)).count > 90)
    }

    @Test("a seed gives the same initial parameters on every device")
    func initialisationIsDeviceIndependent() throws {
        let shape = FeatureShape(features: 20)
        let a = try Model(layers: [Linear(outputs: 7)], input: shape, device: Devices.cpu, maxBatch: 1, seed: 9)
        let b = try Model(layers: [Linear(outputs: 7)], input: shape, device: Devices.openCL, maxBatch: 1, seed: 9)
        #expect(try Devices.cpu.download(a.parameters.whole) == Devices.openCL.download(b.parameters.whole))
    }
}

@Suite("learning-rate schedules")
struct ScheduleTests {
    @Test func values() {
        #expect(LearningRateSchedule(argument: "step:2:0.5") == .step(epochs: 2, gamma: 0.5))
        #expect(LearningRateSchedule(argument: "step:0:0.5") == nil)
        #expect(LearningRateSchedule(argument: "warm") == nil)
        let step = LearningRateSchedule.step(epochs: 2, gamma: 0.5)
        #expect(step.rate(base: 1, step: 9, stepsPerEpoch: 10, totalSteps: 100) == 1)
        #expect(step.rate(base: 1, step: 20, stepsPerEpoch: 10, totalSteps: 100) == 0.5)
        #expect(step.rate(base: 1, step: 45, stepsPerEpoch: 10, totalSteps: 100) == 0.25)
        let cosine = LearningRateSchedule.cosine
        #expect(cosine.rate(base: 2, step: 0, stepsPerEpoch: 10, totalSteps: 100) == 2)
        #expect(abs(cosine.rate(base: 2, step: 50, stepsPerEpoch: 10, totalSteps: 100) - 1) < 1e-6)
        #expect(abs(cosine.rate(base: 2, step: 100, stepsPerEpoch: 10, totalSteps: 100)) < 1e-6)
        #expect(LearningRateSchedule.linear.rate(base: 2, step: 25, stepsPerEpoch: 10, totalSteps: 100) == 1.5)
    }
}
