import Compute
import Privacy
import Testing
import Training

@Suite("privacy: adaptive (quantile) clipping")
struct AdaptiveClippingTests {
    @Test("the gradient's noise share composes with the count's to exactly σ, and σ ≥ 2σ_b is refused")
    func noiseShare() throws {
        let rule = AdaptiveClipping(initialBound: 1, targetQuantile: 0.5, learningRate: 0.2, countNoise: 2,
                                    range: 0.01...100, seed: 1)
        let share = try #require(rule.gradientNoiseMultiplier(1))
        // Multipliers of the two Gaussians: σ' at sensitivity C, 2σ_b at sensitivity ½.
        #expect(abs(1 / (share * share) + 1 / 16.0 - 1) < 1e-12 && share > 1)
        #expect(rule.gradientNoiseMultiplier(4) == nil && rule.gradientNoiseMultiplier(3.99) != nil)
        #expect(rule.gradientNoiseMultiplier(0) == 0)
    }

    /// 200 fixed norms 0.1, 0.2, …, 20: the bound should settle where a fraction γ of them is
    /// unclipped, whatever it starts from.
    @Test("the bound settles at the target quantile of the norms", arguments: [(0.3, 0.5 as Float), (0.7, 40)])
    func settles(_ quantile: Double, _ start: Float) throws {
        let norms = (1...200).map { Float($0) / 10 }
        let rule = AdaptiveClipping(initialBound: start, targetQuantile: quantile, learningRate: 0.2, countNoise: 2,
                                    range: 0.01...100, seed: 3)
        let device = CPUDevice()
        let buffer = try device.makeBuffer(count: 1)
        let gradients = WorkerGradients(slots: buffer.whole, workers: 1, parameterCount: 1, result: buffer.whole,
                                        scale: 1 / 200)
        var late: [Float] = []
        for step in 0..<600 {
            rule.count(squaredNorms: norms.map { $0 * $0 })
            try rule.apply(gradients, step: step)
            if step >= 300 { late.append(rule.bound) }
        }
        let mean = late.reduce(0, +) / Float(late.count)
        let unclipped = Double(norms.filter { $0 + 1e-6 <= mean }.count) / Double(norms.count)
        #expect(abs(unclipped - quantile) < 0.03, "bound \(mean) leaves \(unclipped) unclipped")
        // Its state is the bound.
        let copy = AdaptiveClipping(initialBound: 1, targetQuantile: quantile, learningRate: 0.2, countNoise: 2,
                                    range: 0.01...100, seed: 3)
        try copy.restore(try rule.snapshot())
        #expect(copy.bound == rule.bound)
        #expect(throws: TrainingError.self) { try copy.restore([.nan]) }
    }

    @Test("the clipped source counts its samples against the bound it clips with")
    func sourceCounts() throws {
        let data = privacyData(count: 24, image: false, seed: 21)
        let train = try DeviceDataset(data, device: TestDevices.cpu)
        let model = try Model(layers: [Linear(outputs: 6, activation: .relu), Linear(outputs: 10)], input: train.shape,
                              device: TestDevices.cpu, maxBatch: 4, seed: 22)
        let rows: [Int32] = Array(0..<10)
        // Per-sample norms from unclipped, materialised sums one row at a time.
        let plain = try ClippedGradient(model: model, data: train, clipping: .flat(1e9), mode: .materialized)
        let statistics = try BatchStatistics(device: TestDevices.cpu, maxBatch: 4)
        var norms: [Double] = []
        for row in rows {
            try plain.computeGradient(rows: try TestDevices.cpu.uploadIndices([row], below: 24).whole, scale: 1,
                                      statistics: statistics, stepInEpoch: 1, step: 0)
            let g = try TestDevices.cpu.download(try #require(model.gradients).whole)
            norms.append(g.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot())
        }
        let sorted = norms.sorted()
        let bound = Float((sorted[6] + sorted[7]) / 2)   // 7 of 10 unclipped
        // η = 0 keeps the bound; σ_b tiny: the update reads the count almost exactly. With
        // 7 unclipped of 10 at expected batch 10, b̃ = 0.7: at γ = 0.7 the bound stays.
        for mode in [GradSampleMode.auto, .materialized] {
            let rule = AdaptiveClipping(initialBound: bound, targetQuantile: 0.6, learningRate: 1, countNoise: 1e-9,
                                        range: 1e-4...1e4, seed: 5)
            let source = try ClippedGradient(model: model, data: train, clipping: .flat(0.1), mode: mode, adaptive: rule)
            try source.computeGradient(rows: try TestDevices.cpu.uploadIndices(rows, below: 24).whole, scale: 0.1,
                                       statistics: statistics, stepInEpoch: 1, step: 0)
            let buffer = try TestDevices.cpu.makeBuffer(count: 1)
            try rule.apply(WorkerGradients(slots: buffer.whole, workers: 1, parameterCount: 1, result: buffer.whole,
                                           scale: 0.1), step: 0)
            // C·exp(−1·(0.7 − 0.6)).
            #expect(abs(Double(rule.bound) - Double(bound) * exp(-0.1)) < 1e-5 * Double(bound), "\(mode): \(rule.bound)")
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
