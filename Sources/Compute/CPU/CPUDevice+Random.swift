import Philox

extension CPUDevice {
    public func fillRandom(_ x: BufferSlice, _ distribution: RandomDistribution, key: PhiloxKey,
                           start: PhiloxPosition, scale: Float) throws {
        randomValues(x, distribution, key: key, start: start, scale: scale, accumulate: false)
    }

    public func addRandom(_ x: BufferSlice, _ distribution: RandomDistribution, key: PhiloxKey,
                          start: PhiloxPosition, scale: Float) throws {
        randomValues(x, distribution, key: key, start: start, scale: scale, accumulate: true)
    }

    private func randomValues(_ x: BufferSlice, _ distribution: RandomDistribution, key: PhiloxKey,
                              start: PhiloxPosition, scale: Float, accumulate: Bool) {
        x.expect(.float32, "a random fill")
        let out = x.host, n = x.count
        // Blocks are independent, so the cores split them; each block is computed once, on vector
        // lanes where all its values land inside x (bit for bit the scalar maps).
        parallelChunks(start.blocks(for: n), minimumPerChunk: 4096, alignment: 8) { range in
            /// One block on the scalar path: the ragged first and last blocks, and short fills.
            func scalarBlock(_ g: Int) {
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
                    let scaled = element(values, j) * scale
                    out[p] = accumulate ? out[p] + scaled : scaled
                }
            }
            var g = range.lowerBound
            while g < range.upperBound && g * 4 - start.word < 0 {
                scalarBlock(g)
                g += 1
            }
            // Whole blocks inside x: uniforms and normals in one call to the vector fill, signs
            // eight blocks a pass on Swift's vector lanes.
            let end = min(range.upperBound, (n + start.word) / 4)
            if distribution != .rademacher && end > g {
                PhiloxLanes.fill(out + (g * 4 - start.word), first: start.block &+ UInt64(g), blocks: end - g, key: key,
                                 distribution, scale: scale, accumulate: accumulate)
                g = end
            }
            while distribution == .rademacher && g + 8 <= end {
                let words = PhiloxSIMD.blocks(key, first: start.block &+ UInt64(g))
                func signs(_ w: SIMD8<UInt32>) -> SIMD8<Float> {
                    SIMD8<Float>(repeating: scale).replacing(with: -scale, where: (w &>> 31) .== 1)
                }
                let scaled = (signs(words.0), signs(words.1), signs(words.2), signs(words.3))
                let base = out + (g * 4 - start.word)
                for lane in 0..<8 {
                    let values = SIMD4<Float>(scaled.0[lane], scaled.1[lane], scaled.2[lane], scaled.3[lane])
                    let block = base + lane * 4
                    for j in 0..<4 { block[j] = accumulate ? block[j] + values[j] : values[j] }
                }
                g += 8
            }
            while g < range.upperBound {
                scalarBlock(g)
                g += 1
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
