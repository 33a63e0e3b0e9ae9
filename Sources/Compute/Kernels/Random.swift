import Philox

extension KernelFamily {
    /// `Kernels/random.cl`: fills from the Philox prelude (uniform, normal, Rademacher, raw
    /// words), the reference every later family that draws random numbers is tested against.
    public static let random = KernelFamily(
        name: "random", preludes: ["philox"], functions: ["random_fill", "random_bits"])
}

extension KernelDevice {
    /// The key and start position as the kernels take them.
    private func streamArguments(_ key: PhiloxKey, start: PhiloxPosition) -> [KernelArgument] {
        let seed = key.seedWords
        return [.uint(seed.low), .uint(seed.high), .uint(key.step), .uint(key.stream),
                .uint(UInt32(truncatingIfNeeded: start.block)), .uint(UInt32(truncatingIfNeeded: start.block >> 32)),
                .int(start.word)]
    }

    public func fillRandom(_ x: BufferSlice, _ distribution: RandomDistribution, key: PhiloxKey,
                           start: PhiloxPosition, scale: Float) throws {
        try launchRandom(x, distribution, key: key, start: start, scale: scale, accumulate: false)
    }

    public func addRandom(_ x: BufferSlice, _ distribution: RandomDistribution, key: PhiloxKey,
                          start: PhiloxPosition, scale: Float) throws {
        try launchRandom(x, distribution, key: key, start: start, scale: scale, accumulate: true)
    }

    private func launchRandom(_ x: BufferSlice, _ distribution: RandomDistribution, key: PhiloxKey,
                              start: PhiloxPosition, scale: Float, accumulate: Bool) throws {
        try launchLinear("random", "random_fill", count: start.blocks(for: x.count),
                         [.slice(x), .int(x.count), .int(Int(distribution.rawValue))]
                            + streamArguments(key, start: start) + [.float(scale), .flag(accumulate)])
    }

    public func fillRandomBits(_ x: BufferSlice, key: PhiloxKey, start: PhiloxPosition) throws {
        try launchLinear("random", "random_bits", count: start.blocks(for: x.count),
                         [.uint32s(x), .int(x.count)] + streamArguments(key, start: start))
    }
}
