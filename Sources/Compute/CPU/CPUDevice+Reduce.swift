extension CPUDevice {
    public func columnSum(_ x: BufferSlice, rows: Int, cols: Int, beta: Float,
                          into out: BufferSlice) throws {
        checkColumnSum(x, rows: rows, cols: cols, out: out)
        let o = out.host
        // Row-wise accumulation streams x once, contiguously, and vectorises over columns.
        for c in 0..<cols { o[c] = beta == 0 ? 0 : beta * o[c] }
        for r in 0..<rows {
            let row = x.host + r * cols
            for c in 0..<cols { o[c] += row[c] }
        }
    }
}
