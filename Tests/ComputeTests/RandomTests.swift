import Compute
import Philox
import Testing

/// The Philox prelude on every device against the host implementation and Random123's
/// known-answer vectors, bit for bit, whatever the length and start of a fill.
@Suite("random: Philox on the device")
struct RandomTests {
    /// Random123's kat_vectors for philox4x32_10: (counter, key) → block. Counter words 0 and 1
    /// are our block index, 2 the step, 3 the stream; the key is the seed.
    static let knownAnswers: [(counter: [UInt32], key: [UInt32], words: [UInt32])] = [
        ([0, 0, 0, 0], [0, 0], [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8]),
        ([.max, .max, .max, .max], [.max, .max], [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd]),
        ([0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344], [0xa409_3822, 0x299f_31d0],
         [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1]),
    ]

    @Test("words match Random123's known answers on every device")
    func knownAnswerWords() throws {
        for vector in Self.knownAnswers {
            let key = PhiloxKey(seed: UInt64(vector.key[0]) | UInt64(vector.key[1]) << 32,
                                step: vector.counter[2], stream: vector.counter[3])
            let block = UInt64(vector.counter[0]) | UInt64(vector.counter[1]) << 32
            for device in Devices.all {
                let out = try device.makeBuffer(count: 4, of: .uint32, indexBound: nil)
                try device.fillRandomBits(out.whole, key: key, start: PhiloxPosition(block: block))
                #expect(try device.download(out.whole, as: UInt32.self) == vector.words, "\(device.name)")
            }
        }
    }

    /// Lengths 0, 1, primes and non-multiples of the work-group and of a block; starts that are
    /// not block-aligned.
    @Test("words, uniforms, normals and signs are bit-identical to the host", arguments: [
        (0, UInt64(0)), (1, 0), (1, 3), (7, 5), (31, 1), (64, 0), (257, 2), (1021, 6), (4099, 4097),
    ])
    func identity(_ count: Int, _ start: UInt64) throws {
        let key = PhiloxKey(seed: 0xDEAD_BEEF_0123_4567, step: 42, stream: PhiloxStream.Streams.noise)
        let position = PhiloxPosition(start)
        let words = (0..<UInt64(count)).map { key.word(start + $0) }
        var stream = PhiloxStream(seed: key.seed, step: key.step, stream: key.stream, position: start)
        #expect(words == (0..<count).map { _ in stream.nextUInt32() }, "PhiloxKey and PhiloxStream agree")
        for device in Devices.all {
            let bits = try device.makeBuffer(count: count, of: .uint32, indexBound: nil)
            try device.fillRandomBits(bits.whole, key: key, start: position)
            #expect(try device.download(bits.whole, as: UInt32.self) == words, "\(device.name) words")
            for distribution in RandomDistribution.allCases {
                let expected = (0..<UInt64(count)).map { distribution.value(key, start + $0) * 2.5 }
                let out = try device.makeBuffer(count: count)
                try device.fillRandom(out.whole, distribution, key: key, start: position, scale: 2.5)
                let got = try device.download(out.whole)
                let mismatches = zip(got, expected).enumerated().filter { $0.element.0.bitPattern != $0.element.1.bitPattern }
                #expect(mismatches.isEmpty, "\(device.name) \(distribution): first mismatches \(mismatches.prefix(3))")
            }
        }
    }

    @Test("adding random values rounds each product and sum once, the same on every device")
    func addRandom() throws {
        let key = PhiloxKey(seed: 12, step: 2, stream: PhiloxStream.Streams.noise)
        let base = randomValues(1037, seed: 4)
        let expected = (0..<base.count).map { base[$0] + key.normal(UInt64($0) + 5) * 0.3 }
        for device in Devices.all {
            let x = try device.upload(base)
            try device.addRandom(x.whole, .normal, key: key, start: PhiloxPosition(5), scale: 0.3)
            let got = try device.download(x.whole)
            #expect(zip(got, expected).allSatisfy { $0.bitPattern == $1.bitPattern }, "\(device.name)")
        }
    }

    @Test("a fill into the middle of a buffer leaves the rest alone")
    func offsets() throws {
        let key = PhiloxKey(seed: 3)
        for device in Devices.all {
            let buffer = try device.upload([Float](repeating: -7, count: 20))
            try device.fillRandom(buffer.slice(5, 9), .uniform, key: key, start: PhiloxPosition(2), scale: 1)
            let values = try device.download(buffer.whole)
            #expect(Array(values[0..<5]) == [Float](repeating: -7, count: 5))
            #expect(Array(values[14...]) == [Float](repeating: -7, count: 6))
            #expect(Array(values[5..<14]) == (2..<11).map { key.uniform(UInt64($0)) })
        }
    }

    /// Moments and the tail under a fixed seed; one million draws give standard errors of 1e-3
    /// for the mean and 1.4e-3 for the variance.
    @Test("normals have mean 0, variance 1, normal tails and the documented maximum")
    func normalStatistics() throws {
        let n = 1 << 20
        let out = try Devices.openCL.makeBuffer(count: n)
        try Devices.openCL.fillRandom(out.whole, .normal, key: PhiloxKey(seed: 2024, stream: 9))
        let z = try Devices.openCL.download(out.whole).map(Double.init)
        let mean = z.reduce(0, +) / Double(n)
        let variance = z.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n)
        #expect(abs(mean) < 5e-3)
        #expect(abs(variance - 1) < 7e-3)
        // P(|Z| > 2) = 0.0455, P(|Z| > 3) = 0.0027: counts within five standard errors.
        let beyond2 = Double(z.filter { abs($0) > 2 }.count) / Double(n)
        let beyond3 = Double(z.filter { abs($0) > 3 }.count) / Double(n)
        #expect(abs(beyond2 - 0.0455) < 5 * (0.0455 * 0.9545 / Double(n)).squareRoot())
        #expect(abs(beyond3 - 0.0027) < 5 * (0.0027 * 0.9973 / Double(n)).squareRoot())
        // The largest radius: u = 2^-33 from a zero word.
        #expect(abs(Double(PhiloxMaps.radius(0)) - (66 * 0.6931471805599453).squareRoot()) < 1e-5)
        #expect(z.allSatisfy { abs($0) <= 6.7636 })
    }

    @Test("the float maps' log, sine and cosine are within a few ulp of libm")
    func mapAccuracy() {
        var worstLog = 0.0, worstTurn = 0.0
        for i in stride(from: UInt32(1), to: UInt32.max - 65_537, by: 65_537) {
            let u = PhiloxMaps.uniform32(i)
            let exact = libmLog(Double(u))
            worstLog = max(worstLog, abs(Double(PhiloxMaps.log(u)) - exact) / max(1, abs(exact)))
            let turn = PhiloxMaps.turn(i)
            let angle = 2 * Double.pi * Double(PhiloxStream.uniform(i))
            worstTurn = max(worstTurn, abs(Double(turn.cos) - libmCos(angle)), abs(Double(turn.sin) - libmSin(angle)))
        }
        #expect(worstLog < 3e-7, "log error relative to max(1, |log|): \(worstLog)")
        #expect(worstTurn < 4e-7, "sincos error \(worstTurn)")
    }

    @Test("Rademacher signs are balanced and uniforms fill (0, 1)")
    func otherDistributions() throws {
        let n = 100_000
        for device in Devices.all {
            let out = try device.makeBuffer(count: n)
            try device.fillRandom(out.whole, .rademacher, key: PhiloxKey(seed: 5))
            let signs = try device.download(out.whole)
            #expect(signs.allSatisfy { $0 == 1 || $0 == -1 })
            // Standard error of the mean: 1/√n ≈ 3.2e-3.
            #expect(abs(signs.reduce(0, +) / Float(n)) < 1.6e-2)
            try device.fillRandom(out.whole, .uniform, key: PhiloxKey(seed: 5))
            let u = try device.download(out.whole)
            #expect(u.allSatisfy { $0 > 0 && $0 < 1 })
            #expect(abs(u.reduce(0, +) / Float(n) - 0.5) < 5e-3)
        }
    }
}

#if canImport(Glibc)
import Glibc
private func libmLog(_ x: Double) -> Double { Glibc.log(x) }
private func libmCos(_ x: Double) -> Double { Glibc.cos(x) }
private func libmSin(_ x: Double) -> Double { Glibc.sin(x) }
#endif
