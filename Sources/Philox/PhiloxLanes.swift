import CPhiloxLanes

/// Whole Philox blocks of uniforms or normals written (or added) straight into memory by the C
/// fill on the CPU's widest vector unit (AVX-512, AVX2 or SSE2, chosen at run time; Swift's
/// SIMD types compile for the baseline x86-64 only, where their mask selects turn scalar): bit for
/// bit `PhiloxMaps`. Also the CPU's sign pack and vote, which share its dispatch.
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
        let cKey = cKey(key)
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

    /// Words `firstWord ..< firstWord + count` of the sign packing of `x[0 ..< n]` into
    /// `words[0 ..< count]`: bit j of word w set where x[32w + j] + noise·ξ < 0 (ξ normal 32w + j
    /// of `key`), coordinates past n as +. `variant` as for `fill`.
    public static func signPack(_ x: UnsafePointer<Float>, count n: Int, firstWord: Int, words count: Int,
                                into words: UnsafeMutablePointer<UInt32>, noise: Float, key: PhiloxKey,
                                variant: Int? = nil) {
        precondition(firstWord >= 0 && count >= 0 && (firstWord + count) * 32 < n + 32, "words outside the vector")
        if let variant { precondition(variants.contains(variant), "this CPU does not run variant \(variant)") }
        fathom_sign_pack(Int32(variant ?? -1), x, UInt64(n), UInt64(firstWord), UInt64(count), words, noise, cKey(key))
    }

    /// `out[i]` = −scale where bit i of `words` is set, else +scale, and 0 where bit i of `ties`
    /// (when given, as many words) is set, for the coordinates of words `firstWord ..< firstWord +
    /// count` (`out` holds all n). `variant` as for `fill`.
    public static func signUnpack(_ words: UnsafePointer<UInt32>, ties: UnsafePointer<UInt32>? = nil, count n: Int,
                                  firstWord: Int, words count: Int, into out: UnsafeMutablePointer<Float>, scale: Float,
                                  variant: Int? = nil) {
        precondition(firstWord >= 0 && count >= 0 && (firstWord + count) * 32 < n + 32, "words outside the vector")
        if let variant { precondition(variants.contains(variant), "this CPU does not run variant \(variant)") }
        fathom_sign_unpack(Int32(variant ?? -1), words, ties, UInt64(n), UInt64(firstWord), UInt64(count), out, scale)
    }

    /// Coordinates per partial sum of `errorFeedbackAccumulate`.
    public static let errorFeedbackBlock = Int(FATHOM_EF_BLOCK)

    /// Error feedback's first pass over blocks `first ..< first + count` of
    /// `errorFeedbackBlock` coordinates of the n: `memory[i] = gamma·g[i] + memory[i]` (p) and
    /// `sums[b − first]` = Σ|p| over block b, the same on every vector unit and for any split.
    public static func errorFeedbackAccumulate(_ g: UnsafePointer<Float>, gamma: Float,
                                               memory: UnsafeMutablePointer<Float>, count n: Int, firstBlock first: Int,
                                               blocks count: Int, sums: UnsafeMutablePointer<Float>, variant: Int? = nil) {
        precondition(first >= 0 && count >= 0 && (first + count - 1) * errorFeedbackBlock < max(n, 1), "blocks outside")
        if let variant { precondition(variants.contains(variant), "this CPU does not run variant \(variant)") }
        fathom_ef_accumulate(Int32(variant ?? -1), g, gamma, memory, UInt64(n), UInt64(first), UInt64(count), sums)
    }

    /// Error feedback's second pass over `range`: `out[i]` = Δ = (p < 0 ? −scale : scale) with
    /// p = `memory[i]`, and `memory[i]` = p − Δ.
    public static func errorFeedbackCompress(_ memory: UnsafeMutablePointer<Float>, scale: Float,
                                             into out: UnsafeMutablePointer<Float>, range: Range<Int>,
                                             variant: Int? = nil) {
        if let variant { precondition(variants.contains(variant), "this CPU does not run variant \(variant)") }
        fathom_ef_compress(Int32(variant ?? -1), memory, scale, out, UInt64(range.lowerBound), UInt64(range.upperBound))
    }

    /// `signVote` as words (whole-vector indices): bit j of `signs[w]` set where coordinate
    /// 32w + j votes −1, bit j of `ties[w]` (when given) where it ties under tie 0 (0), its sign
    /// bit clear; plus (1) and random (2) ties go into the sign bits.
    public static func signVoteBits(_ words: UnsafePointer<UInt32>, workers: Int, stride: Int, count n: Int,
                                    firstWord: Int, words count: Int, signs: UnsafeMutablePointer<UInt32>,
                                    ties: UnsafeMutablePointer<UInt32>?, tie: Int32, key: PhiloxKey, tieOffset: Int = 0,
                                    variant: Int? = nil) {
        precondition(workers >= 1 && workers < 1 << 31 && firstWord >= 0 && (firstWord + count) * 32 < n + 32,
                     "bad vote")
        precondition(tieOffset >= 0 && tieOffset % 32 == 0, "a vote chunk starts at a word")
        if let variant { precondition(variants.contains(variant), "this CPU does not run variant \(variant)") }
        fathom_sign_vote_bits(Int32(variant ?? -1), words, Int32(workers), UInt64(stride), UInt64(n), UInt64(firstWord),
                              UInt64(count), signs, ties, tie, cKey(key), UInt64(tieOffset / 4))
    }

    /// `out[i]` for the coordinates of words `firstWord ..< firstWord + count` (out holds all n):
    /// the majority of `workers` packed vectors `stride` words apart, ±1, ties by `tie` (0 zero,
    /// 1 plus, 2 ±1 from the top bit of word `tieOffset` + i of `key`; `tieOffset`, a multiple
    /// of 32, is out[0]'s coordinate when out is a chunk of a longer vector).
    public static func signVote(_ words: UnsafePointer<UInt32>, workers: Int, stride: Int, count n: Int,
                                firstWord: Int, words count: Int, into out: UnsafeMutablePointer<Float>, tie: Int32,
                                key: PhiloxKey, tieOffset: Int = 0, variant: Int? = nil) {
        precondition(tieOffset >= 0 && tieOffset % 32 == 0, "a vote chunk starts at a word")
        precondition(workers >= 1 && workers < 1 << 31 && firstWord >= 0 && (firstWord + count) * 32 < n + 32,
                     "bad vote")
        if let variant { precondition(variants.contains(variant), "this CPU does not run variant \(variant)") }
        fathom_sign_vote(Int32(variant ?? -1), words, Int32(workers), UInt64(stride), UInt64(n), UInt64(firstWord),
                         UInt64(count), out, tie, cKey(key), UInt64(tieOffset / 4))
    }

    private static func cKey(_ key: PhiloxKey) -> fathom_philox_key {
        let seed = key.seedWords
        return fathom_philox_key(seed_low: seed.low, seed_high: seed.high, step: key.step, stream: key.stream)
    }
}
