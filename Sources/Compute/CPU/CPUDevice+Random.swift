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
                let values: (Float, Float, Float, Float)
                switch distribution {
                case .uniform:
                    values = (PhiloxStream.uniform(words.0), PhiloxStream.uniform(words.1),
                              PhiloxStream.uniform(words.2), PhiloxStream.uniform(words.3))
                case .normal:
                    values = PhiloxMaps.normals(words)
                case .rademacher:
                    values = (PhiloxMaps.rademacher(words.0), PhiloxMaps.rademacher(words.1),
                              PhiloxMaps.rademacher(words.2), PhiloxMaps.rademacher(words.3))
                }
                for j in 0..<4 {
                    let p = g * 4 + j - start.word
                    guard p >= 0 && p < n else { continue }
                    out[p] = element(values, j) * scale
                }
            }
        }
    }

    public func fillRandomBits(_ x: BufferSlice, key: PhiloxKey, start: PhiloxPosition) throws {
        x.expect(.uint32, "random bits")
        let out = x.hostUInt32, n = x.count
        parallelChunks(start.blocks(for: n), minimumPerChunk: 4096, alignment: 1) { range in
            for g in range {
                let words = key.block(start.block &+ UInt64(g))
                for j in 0..<4 {
                    let p = g * 4 + j - start.word
                    if p >= 0 && p < n { out[p] = PhiloxMaps.word(words, j) }
                }
            }
        }
    }
}

/// Component `j` (0..3) of a block's four values.
private func element(_ values: (Float, Float, Float, Float), _ j: Int) -> Float {
    switch j {
    case 0: return values.0
    case 1: return values.1
    case 2: return values.2
    default: return values.3
    }
}
