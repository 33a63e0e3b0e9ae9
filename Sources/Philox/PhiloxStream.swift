/// Philox4x32-10, the counter-based generator of Salmon et al., "Parallel random numbers: as easy
/// as 1, 2, 3" (SC 2011), as used by cuRAND, JAX and PyTorch on the GPU.
///
/// Every random number in the project is a pure function of `(seed, step, stream, index)`:
/// the 64-bit seed is the Philox key, and the 128-bit counter holds the block index (64 bits),
/// the step and the stream. The same four values give the same numbers on the CPU, in an
/// OpenCL kernel and after a checkpoint resume, with no generator state to carry around.
///
/// ```swift
/// var rng = PhiloxStream(seed: 42, step: 3, stream: PhiloxStream.Streams.shuffle)
/// let u = rng.nextUniform()   // in (0, 1)
/// ```
public struct PhiloxStream: RandomNumberGenerator, Sendable, Hashable {
    /// Well-known stream numbers, so that unrelated consumers never share numbers.
    public enum Streams {
        /// Initial parameter values.
        public static let initialization: UInt32 = 1
        /// The per-epoch order of training samples (step = epoch).
        public static let shuffle: UInt32 = 2
        /// The train/test split.
        public static let split: UInt32 = 3
        /// Partitions across workers or clients.
        public static let partition: UInt32 = 4
        /// Dropout masks.
        public static let dropout: UInt32 = 5
        /// Differential-privacy noise.
        public static let noise: UInt32 = 6
        /// Zeroth-order perturbation directions.
        public static let perturbation: UInt32 = 7
        /// Which examples a Poisson-sampled batch takes (step = the training step).
        public static let sampling: UInt32 = 8
        /// Each worker's noise before sign compression or the median (seed + worker).
        public static let compression: UInt32 = 9
        /// Shared randomness that breaks tied votes.
        public static let tieBreaking: UInt32 = 10
        /// Perturbations of per-sample gradients before clipping (Chen, Wu and Hong).
        public static let clipPerturbation: UInt32 = 11
        /// The noise on adaptive clipping's unclipped count.
        public static let adaptiveClipping: UInt32 = 12
    }

    /// The Philox key: the run's seed.
    public let seed: UInt64
    /// Counter word 2: the training step (or epoch) the numbers belong to.
    public let step: UInt32
    /// Counter word 3: which consumer the numbers are for (`Streams`).
    public let stream: UInt32
    /// Position in 32-bit words from the start of the stream.
    public private(set) var position: UInt64

    /// The stream `(seed, step, stream)`, starting `position` 32-bit words in.
    public init(seed: UInt64, step: UInt32 = 0, stream: UInt32 = 0, position: UInt64 = 0) {
        self.seed = seed
        self.step = step
        self.stream = stream
        self.position = position
    }

    /// The four 32-bit words of block `index` of the stream `(seed, step, stream)`.
    @inlinable
    public static func block(seed: UInt64, step: UInt32, stream: UInt32, index: UInt64)
        -> (UInt32, UInt32, UInt32, UInt32)
    {
        philox4x32x10(
            counter: (UInt32(truncatingIfNeeded: index), UInt32(truncatingIfNeeded: index >> 32),
                      step, stream),
            key: (UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32)))
    }

    /// Next 32 random bits.
    public mutating func nextUInt32() -> UInt32 {
        let words = Self.block(seed: seed, step: step, stream: stream, index: position >> 2)
        let word: UInt32
        switch position & 3 {
        case 0: word = words.0
        case 1: word = words.1
        case 2: word = words.2
        default: word = words.3
        }
        position &+= 1
        return word
    }

    /// Next 64 random bits (two words, low first), for `RandomNumberGenerator`.
    public mutating func next() -> UInt64 {
        UInt64(nextUInt32()) | (UInt64(nextUInt32()) << 32)
    }

    /// A uniform `Float` in the open interval (0, 1), from the top 24 bits of one word.
    public mutating func nextUniform() -> Float {
        Self.uniform(nextUInt32())
    }

    /// A uniform `Double` in the open interval (0, 1), from 53 bits of two words.
    public mutating func nextDouble() -> Double {
        (Double(next() >> 11) + 0.5) * 0x1p-53
    }

    /// A standard normal `Float`: Box–Muller on the next two words, the cosine half of
    /// `PhiloxMaps.normal` (the device's map, bit for bit).
    public mutating func nextNormal() -> Float {
        Self.normal(nextUInt32(), nextUInt32())
    }

    /// A uniform integer in `0..<bound` (Lemire's multiply-shift with rejection, so unbiased).
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0 && bound <= Int(UInt32.max), "bound must be in 1...UInt32.max")
        let b = UInt32(bound)
        // Products whose low word falls below 2^32 mod b would over-represent some results.
        let threshold = (0 &- b) % b
        while true {
            let product = UInt64(nextUInt32()) * UInt64(b)
            if UInt32(truncatingIfNeeded: product) >= threshold { return Int(product >> 32) }
        }
    }

    /// Maps 32 random bits to a uniform `Float` in (0, 1) from the top 24: `Kernels/philox.cl`'s
    /// `philox_uniform`, exact.
    @inlinable
    public static func uniform(_ word: UInt32) -> Float {
        Float(word >> 8) * 0x1p-24 + 0x1p-25
    }

    /// Maps two words to one standard normal: radius from `a`, angle from `b`, the cosine of
    /// Box–Muller, as `PhiloxMaps.normal` computes normal 0 of a block whose first words they are.
    public static func normal(_ a: UInt32, _ b: UInt32) -> Float {
        PhiloxMaps.radius(a) * PhiloxMaps.turn(b).cos
    }
}

/// Seeded in-place Fisher–Yates shuffle. The standard library's `shuffle(using:)` may change its
/// algorithm between releases; checkpoints and resumed runs need the same order forever.
public func philoxShuffle<T>(_ values: inout [T], using rng: inout PhiloxStream) {
    guard values.count > 1 else { return }
    for i in stride(from: values.count - 1, to: 0, by: -1) {
        let j = rng.nextInt(below: i + 1)
        if i != j { values.swapAt(i, j) }
    }
}
