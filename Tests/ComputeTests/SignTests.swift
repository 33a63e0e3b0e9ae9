import Compute
import Philox
import Testing

/// Sign packing, the vote and the median on every device against the CPU and by hand.
@Suite("sign: 1-bit packing, majority vote, median")
struct SignTests {
    static let lengths = [0, 1, 31, 32, 33, 97, 1021, 4099]

    @Test("pack and unpack: LSB-first words, bit 1 for negative, zero as +, padding as +", arguments: lengths)
    func packUnpack(_ n: Int) throws {
        var x = randomValues(n, seed: 61)
        if n > 3 { x[2] = 0; x[3] = -0.0 }
        var expected = [UInt32](repeating: 0, count: (n + 31) / 32)
        for (i, v) in x.enumerated() where v < 0 { expected[i / 32] |= 1 << UInt32(i % 32) }
        for device in Devices.all {
            let words = try device.makeBuffer(count: max((n + 31) / 32, 1), of: .uint32, indexBound: nil)
            let slice = words.slice(0, (n + 31) / 32)
            try device.signPack(try device.upload(x).whole, into: slice, noise: 0, key: PhiloxKey(seed: 1))
            #expect(try device.download(slice, as: UInt32.self) == expected, "\(device.kind) bits")
            let back = try device.makeBuffer(count: n)
            try device.signUnpack(slice, into: back.whole, scale: 0.5)
            #expect(try device.download(back.whole) == x.map { $0 < 0 ? -0.5 : 0.5 }, "\(device.kind) unpack")
        }
    }

    @Test("noisy packing: sign(x + b·ξ) with ξ the stream's normals, bit for bit on every device", arguments: lengths)
    func noisyPack(_ n: Int) throws {
        let x = randomValues(n, seed: 62).map { $0 * 0.01 }
        let key = PhiloxKey(seed: 9, step: 4, stream: 33)
        var expected = [UInt32](repeating: 0, count: (n + 31) / 32)
        for i in 0..<n where x[i] + 0.5 * key.normal(UInt64(i)) < 0 { expected[i / 32] |= 1 << UInt32(i % 32) }
        for device in Devices.all {
            let words = try device.makeBuffer(count: max((n + 31) / 32, 1), of: .uint32, indexBound: nil)
            let slice = words.slice(0, (n + 31) / 32)
            try device.signPack(try device.upload(x).whole, into: slice, noise: 0.5, key: key)
            #expect(try device.download(slice, as: UInt32.self) == expected, "\(device.kind)")
        }
    }

    @Test("the vote counts signs, and ties follow the rule", arguments: [33, 100])
    func vote(_ n: Int) throws {
        // Four workers: worker m's element i is negative when (i >> m) & 1, so element i has
        // popcount(i & 15) negatives: a tie exactly when that is 2.
        let words = (n + 31) / 32
        var packed = [UInt32](repeating: 0, count: 4 * words)
        for m in 0..<4 {
            for i in 0..<n where (i >> m) & 1 == 1 { packed[m * words + i / 32] |= 1 << UInt32(i % 32) }
        }
        let key = PhiloxKey(seed: 3, step: 1, stream: 40)
        for tie in TieRule.allCases {
            let expected: [Float] = (0..<n).map { i in
                let negatives = (i & 15).nonzeroBitCount
                if negatives != 2 { return negatives > 2 ? -1 : 1 }
                switch tie {
                case .zero: return 0
                case .plus: return 1
                case .random: return key.rademacher(UInt64(i))
                }
            }
            for device in Devices.all {
                let out = try device.makeBuffer(count: n)
                try device.signVote(try device.upload(packed).whole, workers: 4, stride: words, into: out.whole, tie: tie,
                                    key: key)
                #expect(try device.download(out.whole) == expected, "\(device.kind) tie \(tie)")
                // A rank's chunk of the vector (from word 1 on) draws the same ties as the whole.
                let chunk = try device.makeBuffer(count: n - 32)
                try device.signVote(try device.upload(packed).slice(1, 4 * words - 1), workers: 4, stride: words,
                                    into: chunk.whole, tie: tie, key: key, tieOffset: 32)
                #expect(try device.download(chunk.whole) == Array(expected[32...]), "\(device.kind) chunk, tie \(tie)")
            }
        }
    }

    @Test("the vote as packed sign and tie words, decoded by the ternary unpack, is the float vote",
          arguments: [0, 1, 31, 32, 33, 97, 1021])
    func voteBits(_ n: Int) throws {
        let key = PhiloxKey(seed: 5, step: 2, stream: 41)
        for workers in [1, 2, 3, 4, 7] {
            let words = (n + 31) / 32
            var packed = [UInt32](repeating: 0, count: max(workers * words, 1))
            for m in 0..<workers {
                for i in 0..<n where key.rademacher(UInt64(1000 * m + i)) < 0 { packed[m * words + i / 32] |= 1 << UInt32(i % 32) }
            }
            for tie in TieRule.allCases {
                // The chunk from word 1 on, as a rank votes it, and the whole vector.
                for offset in n > 32 ? [0, 1] : [0] {
                    let count = n - 32 * offset, chunkWords = (count + 31) / 32
                    let expected = try Devices.cpu.makeBuffer(count: max(count, 1))
                    try Devices.cpu.signVote(try Devices.cpu.upload(packed).slice(offset, packed.count - offset),
                                             workers: workers, stride: words, into: expected.slice(0, count), tie: tie,
                                             key: key, tieOffset: 32 * offset)
                    let reference = try Devices.cpu.download(expected.slice(0, count))
                    let needsTies = tie == .zero && workers % 2 == 0
                    for device in Devices.all {
                        let signs = try device.makeBuffer(count: max(chunkWords, 1), of: .uint32, indexBound: nil)
                        let ties = try device.makeBuffer(count: max(chunkWords, 1), of: .uint32, indexBound: nil)
                        try device.signVoteBits(try device.upload(packed).slice(offset, packed.count - offset),
                                                workers: workers, stride: words, count: count,
                                                signs: signs.slice(0, chunkWords),
                                                ties: needsTies ? ties.slice(0, chunkWords) : nil, tie: tie, key: key,
                                                tieOffset: 32 * offset)
                        let out = try device.makeBuffer(count: max(count, 1))
                        try device.signUnpack(signs.slice(0, chunkWords), ties: needsTies ? ties.slice(0, chunkWords) : nil,
                                              into: out.slice(0, count), scale: 1)
                        #expect(try device.download(out.slice(0, count)) == reference,
                                "\(device.kind) n \(n) workers \(workers) tie \(tie) offset \(offset)")
                        // Bits past the coordinates stay clear: padding decodes as +.
                        if count % 32 != 0, count > 0 {
                            let last = try device.download(signs.slice(chunkWords - 1, 1), as: UInt32.self)[0]
                            #expect(last >> UInt32(count % 32) == 0, "\(device.kind) padding bits")
                        }
                    }
                }
            }
        }
    }

    @Test("coordinate-wise medians of odd and even worker counts", arguments: [1, 2, 5, 8])
    func median(_ workers: Int) throws {
        let n = 37, stride = 40
        let x = randomValues(workers * stride, seed: 63)
        let expected: [Float] = (0..<n).map { i in
            let column = (0..<workers).map { x[$0 * stride + i] }.sorted()
            return workers % 2 == 1 ? column[workers / 2] : 0.5 * (column[workers / 2 - 1] + column[workers / 2])
        }
        for device in Devices.all {
            let out = try device.makeBuffer(count: n)
            try device.coordinateMedian(try device.upload(x).whole, workers: workers, stride: stride, into: out.whole)
            #expect(try device.download(out.whole) == expected, "\(device.kind)")
        }
    }
}
