import Philox

extension KernelFamily {
    /// `Kernels/sign.cl`: 1-bit sign packing (with noise), unpacking, the majority vote and the
    /// coordinate-wise median, for signSGD, noisy signSGD and medianSGD.
    public static let sign = KernelFamily(
        name: "sign", preludes: ["philox"], functions: ["sign_pack", "sign_unpack", "sign_vote", "sign_vote_bits", "coordinate_median", "ef_accumulate",
                                                   "ef_compress"],
        knobs: [TuningKnob("MEDIAN_MAX_WORKERS", 64, .positive, "the most worker vectors a median takes"),
                TuningKnob("EF_GROUP", 256, .powerOfTwo, "work-items of the error-feedback norm reduction")])
}

extension KernelDevice {
    /// The tie stream's first block (the chunk's first coordinate / 4) as the kernels take it.
    private func tieArguments(_ tieOffset: Int) -> [KernelArgument] {
        let block = UInt64(tieOffset / 4)
        return [.uint(UInt32(truncatingIfNeeded: block)), .uint(UInt32(truncatingIfNeeded: block >> 32))]
    }

    private func keyArguments(_ key: PhiloxKey) -> [KernelArgument] {
        let seed = key.seedWords
        return [.uint(seed.low), .uint(seed.high), .uint(key.step), .uint(key.stream)]
    }

    public func signPack(_ x: BufferSlice, into words: BufferSlice, noise: Float, key: PhiloxKey) throws {
        checkSignWords(words, count: x.count)
        try launchLinear("sign", "sign_pack", count: (x.count + 31) / 32,
                         [.int(x.count), .slice(x), .uint32s(words), .float(noise)] + keyArguments(key))
    }

    public func signUnpack(_ words: BufferSlice, ties: BufferSlice?, into x: BufferSlice, scale: Float) throws {
        checkSignWords(words, count: x.count)
        if let ties { checkSignWords(ties, count: x.count) }
        // Without ties the kernel reads none; the sign words stand in for the argument.
        try launchLinear("sign", "sign_unpack", count: x.count,
                         [.int(x.count), .uint32s(words), .uint32s(ties ?? words), .int(ties == nil ? 0 : 1), .slice(x),
                          .float(scale)])
    }

    public func signVoteBits(_ words: BufferSlice, workers: Int, stride: Int, count n: Int, signs: BufferSlice,
                             ties: BufferSlice?, tie: TieRule, key: PhiloxKey, tieOffset: Int) throws {
        checkVoteBits(words, workers: workers, stride: stride, count: n, signs: signs, ties: ties, tie: tie,
                      tieOffset: tieOffset)
        try launchLinear("sign", "sign_vote_bits", count: (n + 31) / 32,
                         [.int(n), .int(workers), .uint32s(words), .int(stride), .uint32s(signs),
                          .uint32s(ties ?? signs), .int(ties == nil ? 0 : 1), .int(Int(tie.rawValue))]
                             + keyArguments(key) + tieArguments(tieOffset))
    }

    public func signVote(_ words: BufferSlice, workers: Int, stride: Int, into out: BufferSlice, tie: TieRule,
                         key: PhiloxKey, tieOffset: Int) throws {
        checkVote(words, workers: workers, stride: stride, count: out.count, tieOffset: tieOffset)
        try launchLinear("sign", "sign_vote", count: (out.count + 31) / 32,
                         [.int(out.count), .int(workers), .uint32s(words), .int(stride), .slice(out),
                          .int(Int(tie.rawValue))] + keyArguments(key) + tieArguments(tieOffset))
    }

    public func errorFeedback(_ g: BufferSlice, gamma: Float, memory e: BufferSlice, norm: BufferSlice,
                              into out: BufferSlice) throws {
        checkSameCount(g, e, "error feedback")
        checkSameCount(g, out, "error feedback")
        precondition(norm.count >= 1, "error feedback needs one float of workspace")
        try launch("sign", "ef_accumulate", groups: [1], groupSize: [knob("sign", "EF_GROUP")],
                   [.int(g.count), .float(gamma), .slice(g), .slice(e), .slice(norm)])
        try launchLinear("sign", "ef_compress", count: g.count,
                         [.int(g.count), .slice(e), .slice(norm), .slice(out)])
    }

    public func coordinateMedian(_ x: BufferSlice, workers: Int, stride: Int, into out: BufferSlice) throws {
        precondition(workers >= 1 && workers <= knob("sign", "MEDIAN_MAX_WORKERS"),
                     "the median takes 1...\(knob("sign", "MEDIAN_MAX_WORKERS")) workers (sign:MEDIAN_MAX_WORKERS)")
        precondition(stride >= out.count && x.count >= (workers - 1) * stride + out.count, "median operands too small")
        try launchLinear("sign", "coordinate_median", count: out.count,
                         [.int(out.count), .int(workers), .slice(x), .int(stride), .slice(out)])
    }
}
