import Compute
import Testing

/// The clip family on every kernel device against the CPU, and hand-computed values.
@Suite("clip: per-sample norms and clipping")
struct ClipTests {
    @Test("squared norms per sample, fresh and accumulated", arguments: [(0, 5), (1, 1), (3, 7), (17, 64), (5, 1031)])
    func squaredNorms(_ samples: Int, _ perSample: Int) throws {
        let x = randomValues(samples * perSample, seed: 51)
        let start = randomValues(samples, seed: 52).map(abs)
        let expected = (0..<samples).map { s in
            start[s] + x[(s * perSample)..<((s + 1) * perSample)].reduce(0) { $0 + $1 * $1 }
        }
        for device in Devices.all {
            let norms = try device.upload(start)
            try device.sampleSquaredNorms(try device.upload(x).whole, samples: samples, perSample: perSample,
                                          into: norms.whole, accumulate: true)
            expectClose(try device.download(norms.whole), expected, atol: 1e-4, rtol: 1e-5, "\(device.kind) norms")
            try device.sampleSquaredNorms(try device.upload(x).whole, samples: samples, perSample: perSample,
                                          into: norms.whole, accumulate: false)
            expectClose(try device.download(norms.whole), zip(expected, start).map { $0 - $1 }, atol: 1e-4, rtol: 1e-5,
                        "\(device.kind) fresh norms")
        }
    }

    @Test("per-sample dot products", arguments: [(0, 3), (1, 1), (4, 37), (3, 1500)])
    func dots(_ samples: Int, _ perSample: Int) throws {
        let x = randomValues(samples * perSample, seed: 53), y = randomValues(samples * perSample, seed: 54)
        let expected = (0..<samples).map { s in
            (0..<perSample).reduce(Float(0)) { $0 + x[s * perSample + $1] * y[s * perSample + $1] }
        }
        for device in Devices.all {
            let out = try device.upload([Float](repeating: 7, count: samples))
            try device.sampleDots(try device.upload(x).whole, try device.upload(y).whole, samples: samples,
                                  perSample: perSample, into: out.whole, accumulate: false)
            expectClose(try device.download(out.whole), expected, atol: 1e-4, rtol: 1e-5, "\(device.kind) dots")
        }
    }

    @Test("ghost norms, Opacus's clip factors and per-sample scaling by hand")
    func handComputed() throws {
        for device in Devices.all {
            let norms = try device.upload([1, 0, 2] as [Float])
            try device.linearGhostNorms(inputSq: try device.upload([4, 9, 1]).whole, outputSq: try device.upload([2, 3, 0]).whole,
                                        samples: 3, hasBias: true, into: norms.whole)
            // 1 + 4·2 + 2, 0 + 9·3 + 3, 2 + 0
            #expect(try device.download(norms.whole) == [11, 30, 2])
            let factors = try device.makeBuffer(count: 3)
            try device.clipFactors(try device.upload([0.25, 16, 0]).whole, samples: 3, maxNorm: 2, scale: 0.5,
                                   into: factors.whole)
            expectClose(try device.download(factors.whole), [0.5, 0.5 * 2 / (4 + 1e-6), 0.5], atol: 1e-7, "factors")
            let x = try device.upload([1, 2, 3, 4, 5, 6] as [Float])
            try device.scaleSamples(x.whole, samples: 3, perSample: 2, factors: try device.upload([2, 0, -1]).whole)
            #expect(try device.download(x.whole) == [2, 4, 0, 0, -5, -6])
        }
    }
}
