import Compute
import Philox
import Privacy
import Testing
import Training

/// One DP-SGD step against Opacus's order of operations written out by hand (dp.md §1.4, §8):
/// clip each sample's own gradient, sum, add N(0, σ²C²) to the sum, divide by the expected
/// batch size q·N (not the realised one), step; an empty Poisson batch is a noise-only step;
/// physical micro-batches change nothing but memory.
@Suite("privacy: Opacus parity of a DP-SGD step")
struct OpacusParityTests {
    let data = privacyData(count: 20, image: false, seed: 31)
    let sigma: Float = 0.7, bound: Float = 0.5, lr: Float = 0.3

    func model(on device: any Device, maxBatch: Int) throws -> (Model, DeviceDataset) {
        let train = try DeviceDataset(data, device: device)
        let model = try Model(layers: [Linear(outputs: 8, activation: .relu), Linear(outputs: 10)], input: train.shape,
                              device: device, maxBatch: maxBatch, seed: 32)
        return (model, train)
    }

    /// The parameters after one step from `sampler` at step 0, through the library's stages.
    func step(sampler: PoissonSampler, maxBatch: Int, device: any Device) throws -> [Float] {
        let (model, train) = try model(on: device, maxBatch: maxBatch)
        let config = TrainingConfig(epochs: 1, batchSize: 4, seed: 33,
                                    optimizer: OptimizerConfig(kind: .sgd, learningRate: lr, weightDecay: 0))
        let trainer = try Trainer(model: model, config: config, train: train, samplers: [sampler],
                                  source: ClippedGradient(model: model, data: train, maxGradNorm: bound),
                                  transforms: [GaussianNoise(device: device, noiseMultiplier: sigma, maxGradNorm: bound,
                                                             seed: 34)])
        try trainer.trainStep(stepInEpoch: 1)
        return try device.download(model.parameters.whole)
    }

    /// Opacus's step by hand: θ − lr·(Σ_i clip(g_i) + σC·ξ)/(qN).
    func reference(rows: [Int32], rate: Double, device: any Device) throws -> [Float] {
        let (model, train) = try model(on: device, maxBatch: 8)
        let initial = try device.download(model.parameters.whole)
        let source = try BackpropGradient(model: model, data: train)
        let statistics = try BatchStatistics(device: device, maxBatch: 8)
        var sum = [Double](repeating: 0, count: model.parameterCount)
        for row in rows {
            try source.computeGradient(rows: try device.uploadIndices([row], below: train.count).whole, scale: 1,
                                       statistics: statistics, stepInEpoch: 1, step: 0)
            let g = try device.download(try #require(model.gradients).whole)
            let norm = g.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
            let c = min(1, Double(bound) / (norm + 1e-6))
            for j in sum.indices { sum[j] += c * Double(g[j]) }
        }
        let key = PhiloxKey(seed: 34, step: 0, stream: PhiloxStream.Streams.noise)
        let expected = rate * Double(data.count)
        return initial.indices.map { j in
            let noisy = sum[j] + Double(sigma * bound) * Double(key.normal(UInt64(j)))
            return Float(Double(initial[j]) - Double(lr) * noisy / expected)
        }
    }

    @Test("a step is clip, sum, noise on the sum, divide by q·N, update", arguments: [false, true])
    func step(_ openCL: Bool) throws {
        let device: any Device = openCL ? TestDevices.openCL : TestDevices.cpu
        let sampler = PoissonSampler(count: data.count, rate: 0.3, seed: 35)
        let rows = sampler.batch(at: 0)
        #expect(rows.count > 1 && rows.count != 6, "the realised batch should differ from q·N = 6: \(rows.count)")
        let got = try step(sampler: sampler, maxBatch: 8, device: device)
        let expected = try reference(rows: rows, rate: 0.3, device: device)
        let worst = zip(got, expected).map { abs($0 - $1) }.max() ?? 0
        #expect(worst < 2e-5, "\(device.kind): largest difference \(worst)")
        // Micro-batches of 2: the same step (one noise draw, one update per logical batch).
        let chunked = try step(sampler: sampler, maxBatch: 2, device: device)
        #expect((zip(chunked, got).map { abs($0 - $1) }.max() ?? 0) < 2e-6)
    }

    @Test("an empty Poisson batch is a noise-only step, finite")
    func emptyBatch() throws {
        let seed = try #require((1...200).map(UInt64.init).first {
            PoissonSampler(count: 20, rate: 0.05, seed: $0).batch(at: 0).isEmpty
        })
        let sampler = PoissonSampler(count: 20, rate: 0.05, seed: seed)
        let got = try step(sampler: sampler, maxBatch: 8, device: TestDevices.cpu)
        let expected = try reference(rows: [], rate: 0.05, device: TestDevices.cpu)
        #expect(got.allSatisfy { $0.isFinite })
        let worst = zip(got, expected).map { abs($0 - $1) }.max() ?? 0
        #expect(worst < 1e-5, "largest difference \(worst)")
        let (model, _) = try model(on: TestDevices.cpu, maxBatch: 8)
        let initial = try TestDevices.cpu.download(model.parameters.whole)
        #expect(got != initial, "the noise moved the parameters")
    }
}
