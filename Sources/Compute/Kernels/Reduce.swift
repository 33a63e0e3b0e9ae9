extension KernelFamily {
    /// `Kernels/reduce.cl`: column sums (bias gradients).
    public static let reduce = KernelFamily(
        name: "reduce", functions: ["column_sum"],
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
}
