import Philox

extension CPUDevice {
    public func fillRandom(_ x: BufferSlice, _ distribution: RandomDistribution, key: PhiloxKey,
                           start: PhiloxPosition, scale: Float) throws {
        x.expect(.float32, "a random fill")
        let out = x.host, n = x.count
        // Blocks are independent, so the cores split them; each block is computed once.
        parallelChunks(start.blocks(for: n), minimumPerChunk: 4096, alignment: 1) { range in
            for g in range {
                let words = key.block(start.block &+ UInt64(g))
                for j in 0..<4 {
                    let p = g * 4 + j - start.word
                    guard p >= 0 && p < n else { continue }
                    let value: Float
                    switch distribution {
                    case .uniform: value = PhiloxStream.uniform(PhiloxMaps.word(words, j))
                    case .normal: value = PhiloxMaps.normal(words, j)
                    case .rademacher: value = PhiloxMaps.rademacher(PhiloxMaps.word(words, j))
                    }
                    out[p] = value * scale
                }
            }
        }
    }

    public func fillRandomBits(_ x: BufferSlice, key: PhiloxKey, start: PhiloxPosition) throws {
        x.expect(.uint32, "random bits")
        let out = x.hostUInt32, n = x.count
        for g in 0..<start.blocks(for: n) {
            let words = key.block(start.block &+ UInt64(g))
            for j in 0..<4 {
                let p = g * 4 + j - start.word
                if p >= 0 && p < n { out[p] = PhiloxMaps.word(words, j) }
            }
        }
    }
}
