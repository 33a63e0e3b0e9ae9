/// One addressable Philox stream `(seed, step, stream)`: value `i` of the stream is a pure
/// function of the key and `i`, computed the same way here and by the device prelude
/// `Kernels/philox.cl`, so the CPU, OpenCL and CUDA agree bit for bit.
///
/// Word `i` is word `i % 4` of block `i / 4` (`PhiloxStream.block`). The float maps:
/// - `uniform(i)`: the top 24 bits of word `i`, `(w >> 8 + ½)·2⁻²⁴`, in (0, 1), exact;
/// - `normal(i)`: Box–Muller on the pair of words `(4b, 4b+1)` for normals `4b` (cosine) and
///   `4b+1` (sine), `(4b+2, 4b+3)` for `4b+2` and `4b+3`: radius √(−2·log u) from a 32-bit
///   uniform `u = w·2⁻³² + 2⁻³³` of the first word, angle 2π·(24-bit uniform) of the second. The
///   log and the sine and cosine are our own polynomials in individually rounded float
///   operations, so the device computes the same floats. The largest normal the map can produce
///   is √(66·ln 2) ≈ 6.7635, from u = 2⁻³³ (probability 2⁻³² per radius); one in 10⁹ standard
///   normals lies beyond 6.1, so the tail is cut far out;
/// - `rademacher(i)`: −1 when the top bit of word `i` is set, else +1.
///
/// ```swift
/// let key = PhiloxKey(seed: 42, step: 3, stream: PhiloxStream.Streams.noise)
/// let z = key.normal(17)   // the same Float on every device
/// ```
public struct PhiloxKey: Sendable, Hashable {
    /// The Philox key: the run's seed.
    public var seed: UInt64
    /// Counter word 2: the training step the numbers belong to.
    public var step: UInt32
    /// Counter word 3: which consumer the numbers are for (`PhiloxStream.Streams`).
    public var stream: UInt32

    public init(seed: UInt64, step: UInt32 = 0, stream: UInt32 = 0) {
        self.seed = seed
        self.step = step
        self.stream = stream
    }

    /// The low and high 32 bits of the seed, as kernels take them.
    public var seedWords: (low: UInt32, high: UInt32) {
        (UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32))
    }

    /// Block `index` of the stream: words `4·index ..< 4·index + 4`.
    @inlinable
    public func block(_ index: UInt64) -> (UInt32, UInt32, UInt32, UInt32) {
        PhiloxStream.block(seed: seed, step: step, stream: stream, index: index)
    }

    /// Word `index` of the stream.
    public func word(_ index: UInt64) -> UInt32 {
        PhiloxMaps.word(block(index >> 2), Int(index & 3))
    }

    /// Uniform `index` of the stream, in (0, 1).
    public func uniform(_ index: UInt64) -> Float {
        PhiloxStream.uniform(word(index))
    }

    /// Standard normal `index` of the stream.
    public func normal(_ index: UInt64) -> Float {
        PhiloxMaps.normal(block(index >> 2), Int(index & 3))
    }

    /// Rademacher ±1 `index` of the stream.
    public func rademacher(_ index: UInt64) -> Float {
        PhiloxMaps.rademacher(word(index))
    }
}

/// Where in a Philox stream a fill starts: word `word` (0..3) of block `block`. Blocks are the
/// counter's full 64 bits, so every block of the published known-answer vectors is reachable;
/// a word position (`init(_:)`) addresses the first 2^64 words.
public struct PhiloxPosition: Sendable, Hashable {
    /// The block index (counter words 0 and 1).
    public var block: UInt64
    /// The first word used of that block, 0..3.
    public var word: Int

    /// Word `index` of the stream: block `index / 4`, word `index % 4`.
    public init(_ index: UInt64) {
        block = index >> 2
        word = Int(index & 3)
    }

    /// Word `word` of block `block`.
    public init(block: UInt64, word: Int = 0) {
        precondition((0..<4).contains(word), "a block has words 0..3")
        self.block = block
        self.word = word
    }

    /// The word index of the position (`init(_:)`'s argument; blocks past 2⁶² wrap).
    public var index: UInt64 { block &<< 2 | UInt64(word) }

    /// The first position of a stream.
    public static let start = PhiloxPosition(0)

    /// Philox blocks that values `0 ..< count` from here touch.
    public func blocks(for count: Int) -> Int {
        count == 0 ? 0 : (word + count + 3) / 4
    }
}

/// The maps from Philox words to floats, operation for operation as in `Kernels/philox.cl`.
/// Swift never contracts a multiply and an add into an fma and rounds every operation, as the
/// device builds are told to; the constants are exact float values written in hex.
public enum PhiloxMaps {
    /// Word `j` (0..3) of a block.
    @inlinable
    public static func word(_ b: (UInt32, UInt32, UInt32, UInt32), _ j: Int) -> UInt32 {
        switch j {
        case 0: return b.0
        case 1: return b.1
        case 2: return b.2
        default: return b.3
        }
    }

    /// A uniform in (0, 1] from all 32 bits: `w·2⁻³² + 2⁻³³` (the product is exact).
    public static func uniform32(_ w: UInt32) -> Float {
        Float(w) * 0x1p-32 + 0x1p-33
    }

    /// Natural log for x in (0, 1]: the prelude's `philox_log`.
    public static func log(_ x: Float) -> Float {
        let bits = x.bitPattern
        var e = Int32(bits >> 23) - 127
        var m = Float(bitPattern: (bits & 0x007F_FFFF) | 0x3F80_0000)
        if m > 0x1.6a09e6p+0 {
            m = m * 0.5
            e += 1
        }
        let f = m - 1
        let s = f / (f + 2)
        let z = s * s
        var p: Float = 0x1.3b13b2p-4
        p = p * z + 0x1.745d18p-4
        p = p * z + 0x1.c71c72p-4
        p = p * z + 0x1.24924ap-3
        p = p * z + 0x1.99999ap-3
        p = p * z + 0x1.555556p-2
        p = p * z
        let twoS = s * 2
        let logM = twoS + twoS * p
        let fe = Float(e)
        return fe * 0x1.62e4p-1 + (logM + fe * 0x1.7f7d1cp-20)
    }

    /// cos and sin of 2π·(24-bit uniform of w): the prelude's `philox_turn`.
    public static func turn(_ w: UInt32) -> (cos: Float, sin: Float) {
        let j = Int32(w >> 8)
        let q = (j + 0x20_0000) >> 22
        let rest = j - q * 0x40_0000
        let phi = (Float(rest) + 0.5) * 0x1p-24
        let y = phi * 0x1.921fb6p+2
        let y2 = y * y
        var sp: Float = 0x1.71de3ap-19
        sp = sp * y2 - 0x1.a01a02p-13
        sp = sp * y2 + 0x1.111112p-7
        sp = sp * y2 - 0x1.555556p-3
        let sinY = y + (sp * y2) * y
        var cp: Float = -0x1.27e4fcp-22
        cp = cp * y2 + 0x1.a01a02p-16
        cp = cp * y2 - 0x1.6c16c2p-10
        cp = cp * y2 + 0x1.555556p-5
        cp = cp * y2 - 0.5
        let cosY = cp * y2 + 1
        switch q & 3 {
        case 0: return (cosY, sinY)
        case 1: return (-sinY, cosY)
        case 2: return (-cosY, -sinY)
        default: return (sinY, -cosY)
        }
    }

    /// Box–Muller radius √(−2·log u) of the 32-bit uniform of `w`.
    public static func radius(_ w: UInt32) -> Float {
        (-2 * log(uniform32(w))).squareRoot()
    }

    /// The four normals of a block (see `PhiloxKey`), each radius and angle computed once: the
    /// prelude's `philox_block_normals`.
    public static func normals(_ b: (UInt32, UInt32, UInt32, UInt32)) -> (Float, Float, Float, Float) {
        let r0 = radius(b.0), r1 = radius(b.2)
        let t0 = turn(b.1), t1 = turn(b.3)
        return (r0 * t0.cos, r0 * t0.sin, r1 * t1.cos, r1 * t1.sin)
    }

    /// Normal `j` (0..3) of a block.
    public static func normal(_ b: (UInt32, UInt32, UInt32, UInt32), _ j: Int) -> Float {
        let turn = turn(j < 2 ? b.1 : b.3)
        return radius(j < 2 ? b.0 : b.2) * (j & 1 == 1 ? turn.sin : turn.cos)
    }

    /// ±1 from the top bit of `w` (set: −1).
    public static func rademacher(_ w: UInt32) -> Float {
        w >> 31 == 1 ? -1 : 1
    }
}

/// What `fillRandom` draws; the raw values match `Kernels/random.cl`'s `distribution` argument.
public enum RandomDistribution: Int32, Sendable, CaseIterable {
    /// Uniform in (0, 1) (`PhiloxKey.uniform`).
    case uniform = 0
    /// Standard normal (`PhiloxKey.normal`).
    case normal = 1
    /// ±1 with equal probability (`PhiloxKey.rademacher`).
    case rademacher = 2

    /// Value `index` of stream `key`.
    public func value(_ key: PhiloxKey, _ index: UInt64) -> Float {
        switch self {
        case .uniform: return key.uniform(index)
        case .normal: return key.normal(index)
        case .rademacher: return key.rademacher(index)
        }
    }
}
