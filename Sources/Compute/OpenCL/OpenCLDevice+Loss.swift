extension OpenCLDevice {
    public func softmaxCrossEntropy(logits: BufferSlice, labels: BufferSlice, rows: Int,
                                    classes: Int, loss: BufferSlice, correct: BufferSlice,
                                    gradient: BufferSlice?, scale: Float) throws {
        checkCrossEntropy(logits: logits, labels: labels, rows: rows, classes: classes, loss: loss,
                          correct: correct, gradient: gradient)
        let (global, local) = linear(rows)
        try launch("loss", "softmax_xent", global: global, local: local, [
            .int(rows), .int(classes), .slice(logits), .slice(labels), .slice(loss), .slice(correct),
            .slice(gradient ?? loss), .float(scale), .flag(gradient != nil),
        ])
    }

    public func accumulateStatistics(loss: BufferSlice, correct: BufferSlice, rows: Int,
                                     stats: BufferSlice, step: Int) throws {
        checkStatistics(loss: loss, correct: correct, rows: rows, stats: stats)
        let group = tuning("loss", "STATS_GROUP", default: 256)
        try launch("loss", "accumulate_stats", global: [group], local: [group], [
            .int(rows), .slice(loss), .slice(correct), .slice(stats), .float(Float(step)),
        ])
    }
}
