import Compression
import Compute
import Philox
import Testing
import Training

/// Adaptive sign noise (Chen et al. 2020's experiments): b_t = F·max over workers of max|g| per
/// tensor, the same noise stream as the fixed rule.
@Suite("compression: adaptive noise")
struct AdaptiveNoiseTests {
    /// Three workers' gradients over tensors of 37, 1 and 130 values, with known extremes.
    func slots(on device: any Device) throws -> (WorkerGradients, [Float]) {
        let sizes = [37, 1, 130], total = 168, workers = 3
        var values: [Float] = []
        var rng = PhiloxStream(seed: 61, stream: 3)
        for _ in 0..<(workers * total) { values.append(rng.nextUniform() * 2 - 1) }
        values[total + 5] = -4        // worker 1, tensor 0
        values[36] = 2.5              // worker 0, tensor 0 (smaller in magnitude)
        values[2 * total + 37] = 0.25 // worker 2, tensor 1 (the other workers' may be larger)
        values[2 * total + 100] = 3   // worker 2, tensor 2
        let slots = try device.upload(values), result = try device.makeBuffer(count: total)
        var expected: [Float] = []
        var offset = 0
        for size in sizes {
            var m: Float = 0
            for w in 0..<workers { for i in 0..<size { m = max(m, abs(values[w * total + offset + i])) } }
            expected.append(0.1 * m)
            offset += size
        }
        return (WorkerGradients(slots: slots.whole, workers: workers, parameterCount: total, result: result.whole, scale: 1),
                expected)
    }

    @Test("the scales are F·max|g| per tensor over workers, and the vote is the host's sign(g + b_t·ξ) majority",
          arguments: [false, true])
    func scalesAndVote(_ openCL: Bool) throws {
        let device: any Device = openCL ? TestDevices.openCL : TestDevices.cpu
        let (gradients, expectedScales) = try slots(on: device)
        let original = try device.download(gradients.slots)
        let vote = SignVote(device: device, noise: .adaptive(factor: 0.1), tie: .zero, seed: 9, tensorSizes: [37, 1, 130])
        try vote.apply(gradients, step: 4)
        #expect(vote.lastNoiseScales == expectedScales)
        let got = try device.download(gradients.result)
        var expected: [Float] = []
        for i in 0..<168 {
            let b = i < 37 ? expectedScales[0] : i < 38 ? expectedScales[1] : expectedScales[2]
            var sum = 0
            for w in 0..<3 {
                let key = PhiloxKey(seed: 9 &+ UInt64(w), step: 4, stream: PhiloxStream.Streams.compression)
                sum += original[w * 168 + i] + b * key.normal(UInt64(i)) < 0 ? -1 : 1
            }
            expected.append(Float(sum.signum()))
        }
        #expect(got == expected, "\(device.kind)")
    }

    @Test("with one tensor the adaptive rule is the fixed rule at b = F·max|g|, bit for bit, for votes and medians")
    func oneTensorIsFixed() throws {
        for device in [TestDevices.cpu, TestDevices.openCL] {
            for median in [false, true] {
                var results: [[Float]] = []
                var scale: Float = 0
                for adaptive in [true, false] {
                    let (gradients, _) = try slots(on: device)
                    let values = try device.download(gradients.slots)
                    scale = 0.1 * (values.map(abs).max() ?? 0)
                    let noise: SignNoise = adaptive ? .adaptive(factor: 0.1) : .fixed(scale)
                    let transform: any GradientTransform = median
                        ? CoordinateMedian(device: device, noise: noise, seed: 5, tensorSizes: [168])
                        : SignVote(device: device, noise: noise, tie: .zero, seed: 5, tensorSizes: [168])
                    try transform.apply(gradients, step: 2)
                    results.append(try device.download(gradients.result))
                }
                #expect(results[0] == results[1], "\(device.kind) median \(median) at b = \(scale)")
            }
        }
    }
}
