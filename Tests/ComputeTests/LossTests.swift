import Compute
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("loss: softmax cross-entropy")
struct LossTests {
    @Test("hand-computed values")
    func handComputed() throws {
        // logits (1, 2, 3), label 2: loss = log(e¹ + e² + e³) − 3 = 0.40760596
        // softmax = (0.09003057, 0.24472847, 0.66524096)
        for device in Devices.all {
            let logits = try device.upload([1, 2, 3, 1000, 0, -1000])
            let labels = try device.uploadIndices([2, 1], below: 3)
            let loss = try device.makeBuffer(count: 2), correct = try device.makeBuffer(count: 2)
            let grad = try device.makeBuffer(count: 6)
            try device.softmaxCrossEntropy(logits: logits.whole, labels: labels.whole, rows: 2, classes: 3,
                                           loss: loss.whole, correct: correct.whole, gradient: grad.whole, scale: 0.5)
            // The second row is extreme: a naive exp would overflow to inf/NaN.
            expectClose(try device.download(loss.whole), [0.40760596, 1000], atol: 1e-4, "\(device.kind) loss")
            #expect(try device.download(correct.whole) == [1, 0])
            expectClose(try device.download(grad.whole),
                        [0.5 * 0.09003057, 0.5 * 0.24472847, 0.5 * (0.66524096 - 1), 0.5, -0.5, 0],
                        atol: 1e-6, "\(device.kind) gradient")
        }
    }

    @Test(arguments: [(1, 1), (1, 10), (17, 3), (256, 10), (33, 1000)])
    func openCLMatchesCPU(_ rows: Int, _ classes: Int) throws {
        let logits = randomValues(rows * classes, seed: 40).map { $0 * 10 }
        let labels = (0..<rows).map { Int32(($0 * 5 + 1) % classes) }
        var results: [[Float]] = []
        for device in Devices.all {
            let loss = try device.makeBuffer(count: rows), correct = try device.makeBuffer(count: rows)
            let grad = try device.makeBuffer(count: rows * classes)
            try device.softmaxCrossEntropy(logits: try device.upload(logits).whole, labels: try device.uploadIndices(labels, below: classes).whole,
                                           rows: rows, classes: classes, loss: loss.whole, correct: correct.whole,
                                           gradient: grad.whole, scale: 1 / Float(rows))
            results.append(try device.download(loss.whole) + device.download(correct.whole) + device.download(grad.whole))
        }
        expectClose(results[1], results[0], atol: 1e-5, rtol: 1e-5, "OpenCL vs CPU")
    }

    @Test("statistics accumulate and record the first non-finite step")
    func statistics() throws {
        for device in Devices.all {
            let stats = try device.upload([0, 0, 0, -1])
            let loss = try device.upload((0..<300).map { Float($0) / 100 })
            let correct = try device.upload((0..<300).map { Float($0 % 2) })
            try device.accumulateStatistics(loss: loss.whole, correct: correct.whole, rows: 300, stats: stats.whole, step: 1)
            try device.accumulateStatistics(loss: loss.slice(0, 10), correct: correct.slice(0, 10), rows: 10,
                                            stats: stats.whole, step: 2)
            expectClose(try device.download(stats.whole), [448.5 + 0.45, 155, 310, -1], atol: 1e-3, "\(device.kind)")
            let bad = try device.upload([1, .nan, 2])
            try device.accumulateStatistics(loss: bad.whole, correct: correct.slice(0, 3), rows: 3, stats: stats.whole, step: 7)
            try device.accumulateStatistics(loss: bad.whole, correct: correct.slice(0, 3), rows: 3, stats: stats.whole, step: 8)
            #expect(try device.download(stats.whole)[3] == 7, "\(device.kind) first bad step")
        }
    }
}
