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

    public func segmentMaxAbs(_ x: BufferSlice, bounds: BufferSlice, segments: Int, into out: BufferSlice) throws {
        checkSegments(x, bounds: bounds, segments: segments, out: out)
        let values = x.host, edges = bounds.hostInt32, result = out.host
        for s in 0..<segments {
            var m: Float = 0
            for i in Int(edges[s])..<Int(edges[s + 1]) {
                let a = abs(values[i])
                if a > m || a.isNaN { m = a }
            }
            result[s] = m
        }
    }
}
