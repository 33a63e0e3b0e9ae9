import Compute
import Privacy
import Testing
import Training

@Suite("privacy: perturbed clipping (Chen, Wu and Hong)")
struct PerturbedClippingTests {
    /// Example 2 of Chen, Wu and Hong (NeurIPS 2020): f(x) = ½Σ_{i=1,2} ½(x − a_i)², a = ±3,
    /// C = 1, so the per-sample gradients are x ∓ 3 and, for every x in [−2, 2], both clip to
    /// norm 1 with opposite signs: plain clipped gradient descent stalls where it starts. With
    /// each gradient perturbed by K·ζ before clipping, E[clipped sum] points to the optimum 0.
    /// The batch holds 64 copies of each sample (independent perturbations) so that the
    /// iterates' spread is small; the step is the same as for the two samples alone.
    @Test("plain clipping stalls at x = 1.5; perturbed clipping reaches the optimum 0", arguments: [false, true])
    func counterexample(_ openCL: Bool) throws {
        let device: any Device = openCL ? TestDevices.openCL : TestDevices.cpu
        let copies = 64, batch = 2 * copies
        let gradients = try device.makeBuffer(count: batch)
        let norms = try device.makeBuffer(count: batch), factors = try device.makeBuffer(count: batch)
        let sum = try device.makeBuffer(count: 1)
        for perturbation in [nil, ClipPerturbation(scale: 2, seed: 7)] {
            var x: Float = 1.5, late: [Float] = []
            for step in 0..<1500 {
                let perSample = (0..<batch).map { x - ($0 < copies ? 3 : -3) }
                try device.write(perSample, to: gradients.whole)
                try perturbation?.perturb(gradients.whole, samples: batch, width: 1, firstSample: 0, slot: 0, step: step,
                                          on: device)
                try device.sampleSquaredNorms(gradients.whole, samples: batch, perSample: 1, into: norms.whole,
                                              accumulate: false)
                try device.clipFactors(norms.whole, samples: batch, maxNorm: 1, scale: 1 / Float(batch), into: factors.whole)
                try device.gemm(GemmShape(m: 1, n: 1, k: batch), a: factors.whole, b: gradients.whole, c: sum.whole)
                x -= 0.1 * (try device.download(sum.whole))[0]
                if step >= 500 { late.append(x) }
            }
            let mean = late.reduce(0, +) / Float(late.count)
            if perturbation == nil {
                // Only Opacus's 1e-6 in the clip factor separates the two samples' weights.
                #expect(abs(x - 1.5) < 1e-3, "plain clipping moved to \(x)")
            } else {
                #expect(abs(mean) < 0.1, "perturbed clipping averages \(mean) over its last 1000 steps")
            }
        }
    }

    @Test("perturbed clipped sums equal perturbing and clipping each sample's own gradient, in micro-batches",
          arguments: [false, true])
    func perSample(_ openCL: Bool) throws {
        let device: any Device = openCL ? TestDevices.openCL : TestDevices.cpu
        let data = privacyData(count: 24, image: false, seed: 11)
        let rows: [Int32] = [4, 19, 7, 0, 13]
        let train = try DeviceDataset(data, device: device)
        // A micro-batch of 2: the second and third chunks start at samples 2 and 4.
        let model = try Model(layers: [Linear(outputs: 6, activation: .relu), Linear(outputs: 10)], input: train.shape,
                              device: device, maxBatch: 2, seed: 12)
        let perturbation = ClipPerturbation(scale: 0.05, seed: 13)
        let step = 3, bound: Float = 0.4, scale: Float = 1 / 5
        #expect(model.tensors.count == 4 && model.tensors.map(\.offset) == model.tensors.map(\.offset).sorted())

        let backprop = try BackpropGradient(model: model, data: train)
        let statistics = try BatchStatistics(device: device, maxBatch: model.maxBatch)
        let gradients = try #require(model.gradients)
        var expected = [Float](repeating: 0, count: model.parameterCount)
        for (sample, row) in rows.enumerated() {
            try backprop.computeGradient(rows: try device.uploadIndices([row], below: train.count).whole, scale: 1,
                                         statistics: statistics, stepInEpoch: 1, step: step)
            var g = try device.download(gradients.whole)
            // Tensors in the buffer's order, input side first, weights then bias: slots 0, 1, 2, 3.
            for (slot, tensor) in model.tensors.enumerated() {
                for j in 0..<tensor.count {
                    g[tensor.offset + j] += perturbation.value(slot: slot, sample: sample, element: j, width: tensor.count,
                                                               step: step)
                }
            }
            let norm = g.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
            let c = Float(min(1, Double(bound) / (norm + 1e-6)))
            for j in expected.indices { expected[j] += c * g[j] * scale }
        }
        let source = try ClippedGradient(model: model, data: train, clipping: .flat(bound), mode: .materialized,
                                         perturbation: perturbation)
        try source.computeGradient(rows: try device.uploadIndices(rows, below: train.count).whole, scale: scale,
                                   statistics: statistics, stepInEpoch: 1, step: step)
        let got = try device.download(gradients.whole)
        let worst = zip(got, expected).map { abs($0 - $1) }.max() ?? 0
        #expect(worst < 2e-5, "\(device.kind): largest difference \(worst)")
        // Another step draws other perturbations.
        try source.computeGradient(rows: try device.uploadIndices(rows, below: train.count).whole, scale: scale,
                                   statistics: statistics, stepInEpoch: 1, step: step + 1)
        #expect(try device.download(gradients.whole) != got)
    }
}
