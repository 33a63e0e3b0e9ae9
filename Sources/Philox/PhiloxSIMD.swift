/// Eight Philox blocks at a time on Swift's vector lanes: the same operations as
/// `philox4x32x10`, lane by lane, for the CPU's Rademacher signs. The float maps (uniforms,
/// normals) run in `PhiloxLanes`, the C fill on the CPU's widest vector unit.
public enum PhiloxSIMD {
    public typealias Words = SIMD8<UInt32>

    /// Ten rounds on eight counters under one key.
    @inlinable
    public static func philox4x32x10(_ c: (Words, Words, Words, Words), key: (UInt32, UInt32))
        -> (Words, Words, Words, Words)
    {
        var (c0, c1, c2, c3) = c
        var k0 = key.0, k1 = key.1
        let m0 = SIMD8<UInt64>(repeating: UInt64(philoxM0)), m1 = SIMD8<UInt64>(repeating: UInt64(philoxM1))
        for round in 0..<10 {
            if round > 0 {
                k0 &+= philoxW0
                k1 &+= philoxW1
            }
            let p0 = m0 &* SIMD8<UInt64>(truncatingIfNeeded: c0)
            let p1 = m1 &* SIMD8<UInt64>(truncatingIfNeeded: c2)
            let n0 = Words(truncatingIfNeeded: p1 &>> 32) ^ c1 ^ Words(repeating: k0)
            let n1 = Words(truncatingIfNeeded: p1)
            let n2 = Words(truncatingIfNeeded: p0 &>> 32) ^ c3 ^ Words(repeating: k1)
            let n3 = Words(truncatingIfNeeded: p0)
            (c0, c1, c2, c3) = (n0, n1, n2, n3)
        }
        return (c0, c1, c2, c3)
    }

    /// Blocks `first ..< first + 8` of stream `key`, as four lanes of words.
    @inlinable
    public static func blocks(_ key: PhiloxKey, first: UInt64) -> (Words, Words, Words, Words) {
        var low = Words(), high = Words()
        for lane in 0..<8 {
            let index = first &+ UInt64(lane)
            low[lane] = UInt32(truncatingIfNeeded: index)
            high[lane] = UInt32(truncatingIfNeeded: index >> 32)
        }
        let seed = key.seedWords
        return philox4x32x10((low, high, Words(repeating: key.step), Words(repeating: key.stream)),
                             key: (seed.low, seed.high))
    }
}
