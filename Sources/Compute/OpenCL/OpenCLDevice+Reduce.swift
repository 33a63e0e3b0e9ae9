extension OpenCLDevice {
    /// Work-items per column group of `column_sum` (its REDUCE_GROUP).
    var reduceGroup: Int { kernelDefines["reduce"]?["REDUCE_GROUP"].flatMap { Int($0) } ?? 256 }

    public func columnSum(_ x: BufferSlice, rows: Int, cols: Int, beta: Float,
                          into out: BufferSlice) throws {
        checkColumnSum(x, rows: rows, cols: cols, out: out)
        try launch("reduce", "column_sum", global: [cols * reduceGroup], local: [reduceGroup],
                   [.int(rows), .int(cols), .slice(x), .float(beta), .slice(out)])
    }
}
