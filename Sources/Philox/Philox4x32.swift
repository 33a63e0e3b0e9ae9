
@usableFromInline let philoxM0: UInt32 = 0xD251_1F53
@usableFromInline let philoxM1: UInt32 = 0xCD9E_8D57
@usableFromInline let philoxW0: UInt32 = 0x9E37_79B9
@usableFromInline let philoxW1: UInt32 = 0xBB67_AE85

/// Ten rounds of Philox4x32 on one 128-bit counter under one 64-bit key.
@inlinable
public func philox4x32x10(
    counter: (UInt32, UInt32, UInt32, UInt32), key: (UInt32, UInt32)
) -> (UInt32, UInt32, UInt32, UInt32) {
    var c = counter
    var k = key
    for round in 0..<10 {
        if round > 0 {
            k.0 &+= philoxW0
            k.1 &+= philoxW1
        }
        let p0 = UInt64(philoxM0) * UInt64(c.0)
        let p1 = UInt64(philoxM1) * UInt64(c.2)
        c = (UInt32(truncatingIfNeeded: p1 >> 32) ^ c.1 ^ k.0, UInt32(truncatingIfNeeded: p1),
             UInt32(truncatingIfNeeded: p0 >> 32) ^ c.3 ^ k.1, UInt32(truncatingIfNeeded: p0))
    }
    return c
}

