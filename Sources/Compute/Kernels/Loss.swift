extension KernelFamily {
    /// `Kernels/loss.cl`: softmax cross-entropy and the on-device running statistics.
    public static let loss = KernelFamily(
        name: "loss", functions: ["softmax_xent", "accumulate_stats"],
        knobs: [TuningKnob("STATS_GROUP", 256, .powerOfTwo, "work-items of the statistics reduction")])
}

extension KernelDevice {
    public func softmaxCrossEntropy(logits: BufferSlice, labels: BufferSlice, rows: Int,
                                    classes: Int, loss: BufferSlice, correct: BufferSlice,
                                    gradient: BufferSlice?, scale: Float) throws {
        checkCrossEntropy(logits: logits, labels: labels, rows: rows, classes: classes, loss: loss,
                          correct: correct, gradient: gradient)
        try launchLinear("loss", "softmax_xent", count: rows, [
            .int(rows), .int(classes), .slice(logits), .int32s(labels), .slice(loss), .slice(correct),
            .slice(gradient ?? loss), .float(scale), .flag(gradient != nil),
        ])
    }

    public func accumulateStatistics(loss: BufferSlice, correct: BufferSlice, rows: Int,
                                     stats: BufferSlice, step: Int) throws {
        checkStatistics(loss: loss, correct: correct, rows: rows, stats: stats)
        try launch("loss", "accumulate_stats", groups: [1], groupSize: [knob("loss", "STATS_GROUP")], [
            .int(rows), .slice(loss), .slice(correct), .slice(stats), .float(Float(step)),
        ])
    }
}
