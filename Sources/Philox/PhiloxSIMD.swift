/// Eight Philox blocks at a time, and the float maps on eight lanes: the same operations as
/// `philox4x32x10` and `PhiloxMaps`, lane by lane (SIMD arithmetic rounds every operation and
/// never fuses), so the values are bit for bit the scalar ones, several times faster on a CPU.
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

    /// `PhiloxStream.uniform` on eight words.
    @inlinable
    public static func uniform(_ w: Words) -> SIMD8<Float> {
        SIMD8<Float>(w &>> 8) * 0x1p-24 + 0x1p-25
    }

    /// `PhiloxMaps.log` on eight lanes.
    public static func log(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let bits = unsafeBitCast(x, to: Words.self)
        var mantissa = (bits & 0x007F_FFFF) | 0x3F80_0000
        // m > 0x1.6a09e6p+0 as an all-ones word (integer compare of positive floats' bits, an
        // arithmetic shift of the difference's sign): mask and integer ops vectorise on every
        // x86-64, where selects on SIMD masks do not. Halving m in [1, 2) is exactly one off its
        // exponent field.
        let large = (SIMD8<Int32>(repeating: 0x3FB5_04F3) &- SIMD8<Int32>(truncatingIfNeeded: mantissa)) &>> 31
        mantissa &-= 0x0080_0000 & Words(truncatingIfNeeded: large)
        let e = SIMD8<Int32>(truncatingIfNeeded: bits &>> 23) &- 127 &- large
        let m = unsafeBitCast(mantissa, to: SIMD8<Float>.self)
        let f = m - 1
        let s = f / (f + 2)
        let z = s * s
        var p = SIMD8<Float>(repeating: 0x1.3b13b2p-4)
        p = p * z + 0x1.745d18p-4
        p = p * z + 0x1.c71c72p-4
        p = p * z + 0x1.24924ap-3
        p = p * z + 0x1.99999ap-3
        p = p * z + 0x1.555556p-2
        p = p * z
        let twoS = s * 2
        let logM = twoS + twoS * p
        let fe = SIMD8<Float>(e)
        return fe * 0x1.62e4p-1 + (logM + fe * 0x1.7f7d1cp-20)
    }

    /// `PhiloxMaps.turn` on eight words.
    public static func turn(_ w: Words) -> (cos: SIMD8<Float>, sin: SIMD8<Float>) {
        let j = SIMD8<Int32>(truncatingIfNeeded: w &>> 8)
        let q = (j &+ 0x20_0000) &>> 22
        let rest = j &- (q &<< 22)
        let phi = (SIMD8<Float>(rest) + 0.5) * 0x1p-24
        let y = phi * 0x1.921fb6p+2
        let y2 = y * y
        var sp = SIMD8<Float>(repeating: 0x1.71de3ap-19)
        sp = sp * y2 - 0x1.a01a02p-13
        sp = sp * y2 + 0x1.111112p-7
        sp = sp * y2 - 0x1.555556p-3
        let sinY = y + (sp * y2) * y
        var cp = SIMD8<Float>(repeating: -0x1.27e4fcp-22)
        cp = cp * y2 + 0x1.a01a02p-16
        cp = cp * y2 - 0x1.6c16c2p-10
        cp = cp * y2 + 0x1.555556p-5
        cp = cp * y2 - 0.5
        let cosY = cp * y2 + 1
        // Quarter 0: (cos y, sin y); 1: (−sin y, cos y); 2: (−cos y, −sin y); 3: (sin y, −cos y):
        // odd quarters swap the two, and the cosine's sign flips in quarters 1 and 2, the sine's in
        // 2 and 3. Flipping the sign bit is exactly IEEE negation.
        // The swap as an all-ones mask and xors, for the same reason as in `log`.
        let quarter = SIMD8<UInt32>(truncatingIfNeeded: q & 3)
        let odd = Words(repeating: 0) &- (quarter & 1)
        let cosBits = unsafeBitCast(cosY, to: Words.self), sinBits = unsafeBitCast(sinY, to: Words.self)
        let swapped = (cosBits ^ sinBits) & odd
        let cosSign = ((quarter &+ 1) & 2) &<< 30, sinSign = (quarter & 2) &<< 30
        return (unsafeBitCast(cosBits ^ swapped ^ cosSign, to: SIMD8<Float>.self),
                unsafeBitCast(sinBits ^ swapped ^ sinSign, to: SIMD8<Float>.self))
    }

    /// `PhiloxMaps.radius` on eight words.
    public static func radius(_ w: Words) -> SIMD8<Float> {
        let u = SIMD8<Float>(w) * 0x1p-32 + 0x1p-33
        return (-2 * log(u)).squareRoot()
    }

    /// The four normals of eight blocks (`PhiloxMaps.normals` lane by lane).
    public static func normals(_ b: (Words, Words, Words, Words))
        -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>)
    {
        let r0 = radius(b.0), r1 = radius(b.2)
        let t0 = turn(b.1), t1 = turn(b.3)
        return (r0 * t0.cos, r0 * t0.sin, r1 * t1.cos, r1 * t1.sin)
    }
}
