extension KernelFamily {
    /// `Kernels/reduce.cl`: column sums (bias gradients) and per-segment maxima of |x|.
    public static let reduce = KernelFamily(
        name: "reduce", functions: ["column_sum", "segment_max_abs"],
        knobs: [TuningKnob("REDUCE_GROUP", 256, .powerOfTwo, "work-items per column group")])
}

extension KernelDevice {
    public func columnSum(_ x: BufferSlice, rows: Int, cols: Int, beta: Float,
                          into out: BufferSlice) throws {
        checkColumnSum(x, rows: rows, cols: cols, out: out)
        let group = knob("reduce", "REDUCE_GROUP")
        try launch("reduce", "column_sum", groups: [cols], groupSize: [group],
                   [.int(rows), .int(cols), .slice(x), .float(beta), .slice(out)])
    }

    public func segmentMaxAbs(_ x: BufferSlice, bounds: BufferSlice, segments: Int, into out: BufferSlice) throws {
        checkSegments(x, bounds: bounds, segments: segments, out: out)
        guard segments > 0 else { return }
        try launch("reduce", "segment_max_abs", groups: [segments], groupSize: [knob("reduce", "REDUCE_GROUP")],
                   [.int(segments), .slice(x), .int32s(bounds), .slice(out)])
    }
}
