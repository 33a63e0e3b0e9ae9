import Compute
import Testing

@Suite("optim: update kernels")
struct OptimTests {
    @Test("SGD with momentum, Nesterov and weight decay: two hand-computed steps")
    func sgdByHand() throws {
        for device in Devices.all {
            // p = 1, g = 0.5, lr 0.1, μ 0.9, wd 0.1 → d = 0.6
            // step 1: buf = 0.6, p = 1 − 0.1·0.6 = 0.94
            // step 2: d = 0.5 + 0.094 = 0.594, buf = 0.9·0.6 + 0.594 = 1.134, p = 0.94 − 0.1134 = 0.8266
            let p = try device.upload([1]), g = try device.upload([0.5]), buf = try device.makeBuffer(count: 1)
            try device.sgdUpdate(SGDStep(learningRate: 0.1, momentum: 0.9, weightDecay: 0.1, isFirstStep: true),
                                 parameters: p.whole, gradients: g.whole, momentum: buf.whole)
            expectClose(try device.download(p.whole), [0.94], atol: 1e-6, "\(device.kind) step 1")
            try device.sgdUpdate(SGDStep(learningRate: 0.1, momentum: 0.9, weightDecay: 0.1),
                                 parameters: p.whole, gradients: g.whole, momentum: buf.whole)
            expectClose(try device.download(p.whole), [0.8266], atol: 1e-6, "\(device.kind) step 2")
            // Nesterov from a fresh buffer: d = 0.5, buf = 0.5, p = 1 − 0.1·(0.5 + 0.45) = 0.905
            let q = try device.upload([1])
            try device.sgdUpdate(SGDStep(learningRate: 0.1, momentum: 0.9, nesterov: true, isFirstStep: true),
                                 parameters: q.whole, gradients: g.whole, momentum: buf.whole)
            expectClose(try device.download(q.whole), [0.905], atol: 1e-6, "\(device.kind) Nesterov")
        }
    }

    @Test("Adam's first step moves every weight by about lr·sign(g); AdamW decays first")
    func adamByHand() throws {
        for device in Devices.all {
            let p = try device.upload([1, 1, -2]), g = try device.upload([0.5, -3, 1e-3])
            let m = try device.upload([0, 0, 0]), v = try device.upload([0, 0, 0]), vmax = try device.upload([0, 0, 0])
            try device.adamUpdate(AdamStep(learningRate: 0.1, step: 1), parameters: p.whole, gradients: g.whole,
                                  firstMoment: m.whole, secondMoment: v.whole, maxSecondMoment: vmax.whole)
            expectClose(try device.download(p.whole), [0.9, 1.1, -2.1], atol: 1e-5, "\(device.kind) Adam")
            // AdamW, wd 0.5: p ← 1·(1 − 0.05) = 0.95, then − 0.1·sign(0.5)
            let q = try device.upload([1]), zeros = { try device.upload([0]) }
            try device.adamUpdate(AdamStep(learningRate: 0.1, weightDecay: 0.5, decoupledWeightDecay: true, step: 1),
                                  parameters: q.whole, gradients: try device.upload([0.5]).whole,
                                  firstMoment: try zeros().whole, secondMoment: try zeros().whole,
                                  maxSecondMoment: try zeros().whole)
            expectClose(try device.download(q.whole), [0.85], atol: 1e-5, "\(device.kind) AdamW")
        }
    }

    @Test("Adam's L2 decay and RMSprop's weight decay and ε placement, by hand")
    func decayByHand() throws {
        for device in Devices.all {
            // Adam, wd 0.5: d = g + wd·p = 0.5 + 0.5 = 1; m = 0.1, v = 0.001; p = 1 − 0.1·1/(1 + 1e-8·…) ≈ 0.9.
            // With ε = 0.1 the ε shows: p = 1 − 0.1 · 1 / (1 + 0.1) = 0.909090…
            let p = try device.upload([1]), zeros = { try device.upload([0]) }
            try device.adamUpdate(AdamStep(learningRate: 0.1, epsilon: 0.1, weightDecay: 0.5, step: 1),
                                  parameters: p.whole, gradients: try device.upload([0.5]).whole,
                                  firstMoment: try zeros().whole, secondMoment: try zeros().whole,
                                  maxSecondMoment: try zeros().whole)
            expectClose(try device.download(p.whole), [1 - 0.1 / 1.1], atol: 1e-6, "\(device.kind) Adam L2")
            // RMSprop, wd 1, α 0.5, ε 1: d = 1 + 1 = 2; s = 0.5·4 = 2; p = 1 − 0.1·2/(√2 + 1).
            let q = try device.upload([1])
            try device.rmspropUpdate(RMSPropStep(learningRate: 0.1, alpha: 0.5, epsilon: 1, weightDecay: 1),
                                     parameters: q.whole, gradients: try device.upload([1]).whole,
                                     squareAverage: try zeros().whole, momentum: try zeros().whole)
            expectClose(try device.download(q.whole), [1 - 0.2 / (Float(2).squareRoot() + 1)], atol: 1e-6,
                        "\(device.kind) RMSprop decay")
        }
    }

    @Test("AMSGrad keeps the running maximum of the second moment")
    func amsgrad() throws {
        for device in Devices.all {
            let p = try device.upload([0]), m = try device.upload([0]), v = try device.upload([0])
            let vmax = try device.upload([0])
            for (t, gradient) in [Float(1), 0.01].enumerated() {
                try device.adamUpdate(AdamStep(learningRate: 0.01, amsgrad: true, step: t + 1),
                                      parameters: p.whole, gradients: try device.upload([gradient]).whole,
                                      firstMoment: m.whole, secondMoment: v.whole, maxSecondMoment: vmax.whole)
            }
            // v after two steps: 0.999·0.001 + 0.001·1e-4 < vmax = 0.001 from the first step.
            expectClose(try device.download(vmax.whole), [0.001], atol: 0, rtol: 1e-4, "\(device.kind) vmax")
            expectClose(try device.download(v.whole), [0.000999 + 1e-7], atol: 0, rtol: 1e-4, "\(device.kind) v")
        }
    }

    @Test("RMSprop's first step is lr·g/(sqrt(1−α)|g|)")
    func rmspropByHand() throws {
        for device in Devices.all {
            let p = try device.upload([1, 1]), sq = try device.upload([0, 0]), buf = try device.upload([0, 0])
            try device.rmspropUpdate(RMSPropStep(learningRate: 0.01, momentum: 0.5), parameters: p.whole,
                                     gradients: try device.upload([2, -0.5]).whole, squareAverage: sq.whole,
                                     momentum: buf.whole)
            expectClose(try device.download(p.whole), [0.9, 1.1], atol: 1e-5, "\(device.kind) RMSprop")
        }
    }

    /// 2·65,536 + 1 crosses the CPU's multi-threading threshold with a ragged last chunk.
    @Test("OpenCL matches the CPU over many steps", arguments: [1, 97, 4099, 131_073])
    func manySteps(_ n: Int) throws {
        var results: [[Float]] = []
        for device in Devices.all {
            let p = try device.upload(randomValues(n, seed: 70))
            let slots = try (0..<5).map { _ in try device.upload([Float](repeating: 0, count: n)) }
            for t in 1...5 {
                let g = try device.upload(randomValues(n, seed: 71, stream: UInt32(t)))
                try device.sgdUpdate(SGDStep(learningRate: 0.05, momentum: 0.9, weightDecay: 1e-3, nesterov: true,
                                             isFirstStep: t == 1), parameters: p.whole, gradients: g.whole,
                                     momentum: slots[0].whole)
                try device.adamUpdate(AdamStep(learningRate: 1e-3, weightDecay: 0.01, amsgrad: true, step: t),
                                      parameters: p.whole, gradients: g.whole, firstMoment: slots[1].whole,
                                      secondMoment: slots[2].whole, maxSecondMoment: slots[3].whole)
                try device.rmspropUpdate(RMSPropStep(learningRate: 1e-3, weightDecay: 0.01, momentum: 0.9),
                                         parameters: p.whole, gradients: g.whole, squareAverage: slots[4].whole,
                                         momentum: slots[0].whole)
            }
            results.append(try device.download(p.whole))
        }
        expectClose(results[1], results[0], atol: 1e-5, rtol: 1e-5, "OpenCL vs CPU")
    }
}
