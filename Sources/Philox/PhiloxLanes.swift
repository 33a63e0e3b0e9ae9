import CPhiloxLanes

/// Whole Philox blocks of uniforms or normals written (or added) straight into memory by the C
/// fill on the CPU's widest vector unit (AVX-512, AVX2 or SSE2, chosen at run time; Swift's
/// SIMD types compile for the baseline x86-64 only): bit for bit `PhiloxMaps`, several times
/// faster than `PhiloxSIMD` where the wider units exist.
public enum PhiloxLanes {
    /// out[i] = scale·v(i), or out[i] += scale·v(i) when `accumulate`, for the 4·blocks values of
    /// blocks `first ..< first + blocks` of `key` (`.uniform` or `.normal`; with `sineFirst`,
    /// normals with each Box–Muller pair's sine first, cuRAND's order).
    /// `variant` forces one vector unit (0 SSE2, 1 AVX2, 2 AVX-512; `variants` says which this
    /// CPU runs); nil takes the widest.
    public static func fill(_ out: UnsafeMutablePointer<Float>, first: UInt64, blocks: Int, key: PhiloxKey,
                            _ distribution: RandomDistribution, scale: Float, accumulate: Bool, sineFirst: Bool = false,
                            variant: Int? = nil) {
        precondition(blocks >= 0 && distribution != .rademacher, "fills of uniforms or normals")
        let seed = key.seedWords
        let cKey = fathom_philox_key(seed_low: seed.low, seed_high: seed.high, step: key.step, stream: key.stream)
        let kind = distribution == .uniform ? FATHOM_PHILOX_UNIFORM
            : sineFirst ? FATHOM_PHILOX_NORMAL_SINE_FIRST : FATHOM_PHILOX_NORMAL
        if let variant {
            precondition(variants.contains(variant), "this CPU does not run fill variant \(variant)")
            fathom_philox_fill_with(Int32(variant), out, first, UInt64(blocks), cKey, kind, scale, accumulate ? 1 : 0)
        } else {
            fathom_philox_fill(out, first, UInt64(blocks), cKey, kind, scale, accumulate ? 1 : 0)
        }
    }

    /// The fill variants this CPU runs: 0 (SSE2) always, 1 with AVX2, 2 with AVX-512.
    public static var variants: [Int] {
        let supported = fathom_philox_fill_variants()
        return (0..<3).filter { supported & (1 << $0) != 0 }
    }
}
