import Philox
import Testing

@Suite("Philox4x32-10")
struct PhiloxTests {
    /// Known-answer vectors from Random123's kat_vectors (philox4x32_10).
    @Test func knownAnswers() {
        let zero = philox4x32x10(counter: (0, 0, 0, 0), key: (0, 0))
        #expect([zero.0, zero.1, zero.2, zero.3] == [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8])
        let ones = philox4x32x10(counter: (.max, .max, .max, .max), key: (.max, .max))
        #expect([ones.0, ones.1, ones.2, ones.3] == [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd])
        let pi = philox4x32x10(counter: (0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344),
                               key: (0xa409_3822, 0x299f_31d0))
        #expect([pi.0, pi.1, pi.2, pi.3] == [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1])
    }

    @Test("a stream is a pure function of (seed, step, stream, position)")
    func addressable() {
        var a = PhiloxStream(seed: 7, step: 3, stream: 2)
        let first = (0..<10).map { _ in a.nextUInt32() }
        var b = PhiloxStream(seed: 7, step: 3, stream: 2, position: 5)
        #expect((0..<5).map { _ in b.nextUInt32() } == Array(first[5...]))
        var other = PhiloxStream(seed: 7, step: 4, stream: 2)
        #expect((0..<10).map { _ in other.nextUInt32() } != first)
    }

    @Test("uniforms lie in (0, 1) with mean 1/2; normals have mean 0 and variance 1")
    func distributions() {
        var rng = PhiloxStream(seed: 11)
        let n = 200_000
        var sum = 0.0, normalSum = 0.0, normalSquares = 0.0
        for _ in 0..<n {
            let u = rng.nextUniform()
            #expect(u > 0 && u < 1)
            sum += Double(u)
            let z = Double(rng.nextNormal())
            normalSum += z
            normalSquares += z * z
        }
        // Standard errors: 0.29/√n ≈ 6.5e-4 for the uniform mean, 1/√n ≈ 2.2e-3 for the normal.
        #expect(abs(sum / Double(n) - 0.5) < 4e-3)
        #expect(abs(normalSum / Double(n)) < 1.2e-2)
        #expect(abs(normalSquares / Double(n) - 1) < 2e-2)
    }

    @Test("nextInt(below:) is uniform: chi-square over 7 bins")
    func boundedIntegers() {
        var rng = PhiloxStream(seed: 5)
        var counts = [Int](repeating: 0, count: 7)
        let n = 70_000
        for _ in 0..<n { counts[rng.nextInt(below: 7)] += 1 }
        let expected = Double(n) / 7
        let chiSquare = counts.reduce(0.0) { $0 + (Double($1) - expected) * (Double($1) - expected) / expected }
        // 6 degrees of freedom: P(χ² > 22.46) = 0.001.
        #expect(chiSquare < 22.46)
    }

    @Test("the seeded shuffle is a permutation and depends on the seed")
    func shuffle() {
        var values = Array(0..<100)
        var rng = PhiloxStream(seed: 1, stream: PhiloxStream.Streams.shuffle)
        philoxShuffle(&values, using: &rng)
        #expect(values.sorted() == Array(0..<100))
        #expect(values != Array(0..<100))
        var again = Array(0..<100)
        var same = PhiloxStream(seed: 1, stream: PhiloxStream.Streams.shuffle)
        philoxShuffle(&again, using: &same)
        #expect(again == values)
    }

    /// Every vector variant the CPU runs (SSE2 always; AVX2, AVX-512 where present) against the
    /// scalar maps, bit for bit: 16-block passes, a partial last pass, scale and accumulation,
    /// with counters that carry into the high word.
    @Test("the vector fills give the scalar maps' bits on every variant this CPU runs")
    func vectorFills() {
        let key = PhiloxKey(seed: 0x1234_5678_9ABC_DEF0, step: 7, stream: PhiloxStream.Streams.noise)
        let first: UInt64 = 0xFFFF_FFF0, blocks = 37   // crosses 2^32
        #expect(PhiloxLanes.variants.contains(0))
        for (distribution, sineFirst) in [(RandomDistribution.uniform, false), (.normal, false), (.normal, true)] {
            for accumulate in [false, true] {
                let base = (0..<(4 * blocks)).map { Float($0) * 0.25 - 3 }
                let expected = (0..<(4 * blocks)).map { i -> Float in
                    // Sine first: values 0 ↔ 1 and 2 ↔ 3 of every block trade places.
                    let index = sineFirst ? i ^ 1 : i
                    let scaled = distribution.value(key, first * 4 + UInt64(index)) * 1.7
                    return accumulate ? base[i] + scaled : scaled
                }
                for variant in PhiloxLanes.variants {
                    var out = base
                    out.withUnsafeMutableBufferPointer {
                        PhiloxLanes.fill($0.baseAddress!, first: first, blocks: blocks, key: key, distribution, scale: 1.7,
                                         accumulate: accumulate, sineFirst: sineFirst, variant: variant)
                    }
                    #expect(out.map(\.bitPattern) == expected.map(\.bitPattern),
                            "variant \(variant) \(distribution) sine first \(sineFirst) accumulate \(accumulate)")
                }
            }
        }
    }

    @Test("the vector sign pack and vote give the scalar bits on every variant this CPU runs", arguments: [1, 33, 97, 1021])
    func vectorSignKernels(_ n: Int) {
        let key = PhiloxKey(seed: 11, step: 2, stream: 9)
        var rng = PhiloxStream(seed: 12, stream: 1)
        var x = (0..<n).map { _ in (rng.nextUniform() - 0.5) * 0.1 }
        if n > 3 { x[1] = 0; x[2] = -0.0; x[3] = .nan }
        let words = (n + 31) / 32
        for noise: Float in [0, 0.3] {
            var expected = [UInt32](repeating: 0, count: words)
            for i in 0..<n where (noise == 0 ? x[i] : x[i] + noise * key.normal(UInt64(i))) < 0 {
                expected[i / 32] |= 1 << UInt32(i % 32)
            }
            for variant in PhiloxLanes.variants {
                var got = [UInt32](repeating: 0xFFFF_FFFF, count: words)
                // In two calls, the second starting at an odd word.
                let split = words / 2 | 1
                x.withUnsafeBufferPointer { values in
                    got.withUnsafeMutableBufferPointer { out in
                        guard let v = values.baseAddress, let o = out.baseAddress else { return }
                        let first = min(split, words)
                        PhiloxLanes.signPack(v, count: n, firstWord: 0, words: first, into: o, noise: noise, key: key,
                                             variant: variant)
                        PhiloxLanes.signPack(v, count: n, firstWord: first, words: words - first, into: o + first,
                                             noise: noise, key: key, variant: variant)
                    }
                }
                #expect(got == expected, "variant \(variant) noise \(noise) n \(n)")
            }
        }
        // Four workers: element i has popcount(i & 15) negatives, a tie at exactly two.
        var packed = [UInt32](repeating: 0, count: 4 * words)
        for m in 0..<4 { for i in 0..<n where (i >> m) & 1 == 1 { packed[m * words + i / 32] |= 1 << UInt32(i % 32) } }
        for tie: Int32 in [0, 1, 2] {
            let expected: [Float] = (0..<n).map { i in
                let negatives = (i & 15).nonzeroBitCount
                if negatives != 2 { return negatives > 2 ? -1 : 1 }
                return tie == 0 ? 0 : tie == 1 ? 1 : key.rademacher(UInt64(i))
            }
            for variant in PhiloxLanes.variants {
                var out = [Float](repeating: 9, count: n)
                packed.withUnsafeBufferPointer { p in
                    out.withUnsafeMutableBufferPointer { o in
                        guard let p = p.baseAddress, let o = o.baseAddress else { return }
                        PhiloxLanes.signVote(p, workers: 4, stride: words, count: n, firstWord: 0, words: words, into: o,
                                             tie: tie, key: key, variant: variant)
                    }
                }
                #expect(out == expected, "variant \(variant) tie \(tie) n \(n)")
            }
        }
        // Unpacking worker 0's signs: bit i of it is set for odd i.
        let unpacked: [Float] = (0..<n).map { $0 % 2 == 1 ? -0.25 : 0.25 }
        for variant in PhiloxLanes.variants {
            var out = [Float](repeating: 9, count: n)
            packed.withUnsafeBufferPointer { p in
                out.withUnsafeMutableBufferPointer { o in
                    guard let p = p.baseAddress, let o = o.baseAddress else { return }
                    PhiloxLanes.signUnpack(p, count: n, firstWord: 0, words: words, into: o, scale: 0.25, variant: variant)
                }
            }
            #expect(out == unpacked, "unpack variant \(variant) n \(n)")
        }
        // The vote as words, decoded with its ties, against the float vote; every variant.
        for tie: Int32 in [0, 1, 2] {
            var reference = [Float](repeating: 9, count: n)
            var signs = [UInt32](repeating: 7, count: words), ties = [UInt32](repeating: 7, count: words)
            packed.withUnsafeBufferPointer { p in
                guard let p = p.baseAddress else { return }
                reference.withUnsafeMutableBufferPointer { o in
                    guard let o = o.baseAddress else { return }
                    PhiloxLanes.signVote(p, workers: 4, stride: words, count: n, firstWord: 0, words: words, into: o,
                                         tie: tie, key: key)
                }
            }
            for variant in PhiloxLanes.variants {
                var out = [Float](repeating: 9, count: n)
                packed.withUnsafeBufferPointer { p in
                    signs.withUnsafeMutableBufferPointer { s in
                        ties.withUnsafeMutableBufferPointer { t in
                            out.withUnsafeMutableBufferPointer { o in
                                guard let p = p.baseAddress, let s = s.baseAddress, let t = t.baseAddress,
                                      let o = o.baseAddress else { return }
                                PhiloxLanes.signVoteBits(p, workers: 4, stride: words, count: n, firstWord: 0,
                                                         words: words, signs: s, ties: t, tie: tie, key: key,
                                                         variant: variant)
                                PhiloxLanes.signUnpack(s, ties: t, count: n, firstWord: 0, words: words, into: o,
                                                       scale: 1, variant: variant)
                            }
                        }
                    }
                }
                #expect(out == reference, "vote bits variant \(variant) tie \(tie) n \(n)")
            }
        }
    }

    @Test("error feedback's passes: the scalar definition's bits on every variant, for any split of the blocks",
          arguments: [1, 17, 4096, 4097, 10_000])
    func errorFeedback(_ n: Int) {
        var stream = PhiloxStream(seed: 91, stream: 3)
        let g = (0..<n).map { _ in stream.nextUniform() - 0.5 }
        let start = (0..<n).map { _ in stream.nextUniform() - 0.5 }
        let block = PhiloxLanes.errorFeedbackBlock, blocks = (n + block - 1) / block
        // The definition: p = 0.5·g + e; each block's |p| on 16 lanes (i % 16), lanes summed in order.
        let p = zip(g, start).map { 0.5 * $0 + $1 }
        let sums: [Float] = (0..<blocks).map { b in
            var lanes = [Float](repeating: 0, count: 16)
            for i in (b * block)..<min((b + 1) * block, n) { lanes[(i - b * block) % 16] += abs(p[i]) }
            return lanes.reduce(0, +)
        }
        for variant in PhiloxLanes.variants {
            for split in [blocks, 1] {
                var memory = start, got = [Float](repeating: 0, count: blocks)
                var out = [Float](repeating: 0, count: n)
                memory.withUnsafeMutableBufferPointer { m in
                    got.withUnsafeMutableBufferPointer { s in
                        out.withUnsafeMutableBufferPointer { o in
                            g.withUnsafeBufferPointer { x in
                                guard let m = m.baseAddress, let s = s.baseAddress, let o = o.baseAddress,
                                      let x = x.baseAddress else { return }
                                var first = 0
                                while first < blocks {
                                    let count = min(split, blocks - first)
                                    PhiloxLanes.errorFeedbackAccumulate(x, gamma: 0.5, memory: m, count: n,
                                                                        firstBlock: first, blocks: count, sums: s + first,
                                                                        variant: variant)
                                    first += count
                                }
                                PhiloxLanes.errorFeedbackCompress(m, scale: 0.25, into: o, range: 0..<n, variant: variant)
                            }
                        }
                    }
                }
                #expect(got == sums, "variant \(variant) split \(split) sums")
                #expect(out == p.map { $0 < 0 ? -0.25 : 0.25 }, "variant \(variant) deltas")
                #expect(memory == p.map { $0 - ($0 < 0 ? -0.25 : 0.25) }, "variant \(variant) memory")
            }
        }
    }
}
