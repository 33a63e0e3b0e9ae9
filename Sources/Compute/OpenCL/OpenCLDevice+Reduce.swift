extension OpenCLDevice {

    public func columnSum(_ x: BufferSlice, rows: Int, cols: Int, beta: Float,
                          into out: BufferSlice) throws {
        checkColumnSum(x, rows: rows, cols: cols, out: out)
        let group = tuning("reduce", "REDUCE_GROUP", default: 256)
        try launch("reduce", "column_sum", global: [cols * group], local: [group],
                   [.int(rows), .int(cols), .slice(x), .float(beta), .slice(out)])
    }
}
