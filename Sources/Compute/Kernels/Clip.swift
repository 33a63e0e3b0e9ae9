extension KernelFamily {
    /// `Kernels/clip.cl`: per-sample squared norms, Linear ghost norms, clip factors and
    /// per-sample scaling, the device half of DP-SGD's clipping.
    public static let clip = KernelFamily(
        name: "clip", functions: ["sample_dots", "linear_ghost_norms", "clip_factors", "scale_samples"],
        knobs: [TuningKnob("CLIP_GROUP", 64, .powerOfTwo, "work-items per sample in the norm reduction")])
}

extension KernelDevice {
    public func sampleDots(_ x: BufferSlice, _ y: BufferSlice, samples: Int, perSample: Int, into out: BufferSlice,
                           accumulate: Bool) throws {
        checkSamples(x, samples: samples, perSample: perSample, out)
        checkSamples(y, samples: samples, perSample: perSample, out)
        try launch("clip", "sample_dots", groups: [samples], groupSize: [knob("clip", "CLIP_GROUP")], [
            .int(samples), .int(perSample), .slice(x), .slice(y), .slice(out), .flag(accumulate),
        ])
    }

    public func linearGhostNorms(inputSq: BufferSlice, outputSq: BufferSlice, samples: Int, hasBias: Bool,
                                 into norms: BufferSlice) throws {
        checkSamples(inputSq, samples: samples, perSample: 1, norms)
        checkSamples(outputSq, samples: samples, perSample: 1, norms)
        try launchLinear("clip", "linear_ghost_norms", count: samples,
                         [.int(samples), .slice(inputSq), .slice(outputSq), .slice(norms), .flag(hasBias)])
    }

    public func clipFactors(_ norms: BufferSlice, samples: Int, maxNorm: Float, scale: Float,
                            into factors: BufferSlice) throws {
        checkSamples(norms, samples: samples, perSample: 1, factors)
        try launchLinear("clip", "clip_factors", count: samples,
                         [.int(samples), .slice(norms), .float(maxNorm), .float(scale), .slice(factors)])
    }

    public func scaleSamples(_ x: BufferSlice, samples: Int, perSample: Int, factors: BufferSlice) throws {
        checkSamples(x, samples: samples, perSample: perSample, factors)
        try launchLinear("clip", "scale_samples", count: samples * perSample,
                         [.int(samples), .int(perSample), .slice(x), .slice(factors)])
    }
}
