/// Operand checks shared by both backends, so the CPU and OpenCL implementations of an operation
/// cannot disagree about what a valid call is. A failure is a programmer error: a precondition.

extension ConvGeometry {
    func checkOperands(input: BufferSlice, patches: BufferSlice) {
        precondition(input.count >= inputCount && patches.count >= patchRows * patchSize,
                     "conv operands too small for \(batch)x\(height)x\(width)x\(channels)")
    }
}

extension PoolGeometry {
    /// `argmax`, when given, must hold one entry per output.
    func checkOperands(input: BufferSlice, output: BufferSlice, argmax: BufferSlice? = nil) {
        precondition(input.count >= inputCount && output.count >= outputCount
                     && (argmax?.count ?? outputCount) >= outputCount,
                     "pool operands too small for \(batch)x\(height)x\(width)x\(channels)")
    }
}

extension SGDStep {
    func checkOperands(parameters: BufferSlice, gradients: BufferSlice, momentum buffer: BufferSlice) {
        precondition(gradients.count == parameters.count && (momentum == 0 || buffer.count == parameters.count),
                     "SGD buffers differ in size")
    }
}

extension AdamStep {
    func checkOperands(parameters: BufferSlice, gradients: BufferSlice, moments: [BufferSlice],
                       maxSecondMoment: BufferSlice) {
        let n = parameters.count
        precondition(gradients.count == n && moments.allSatisfy { $0.count == n }
                     && (!amsgrad || maxSecondMoment.count == n), "Adam buffers differ in size")
    }
}

extension RMSPropStep {
    func checkOperands(parameters: BufferSlice, gradients: BufferSlice, squareAverage: BufferSlice,
                       momentum buffer: BufferSlice) {
        let n = parameters.count
        precondition(gradients.count == n && squareAverage.count == n && (momentum == 0 || buffer.count == n),
                     "RMSprop buffers differ in size")
    }
}

func checkSameCount(_ a: BufferSlice, _ b: BufferSlice, _ operation: String) {
    precondition(a.count == b.count, "\(operation) of \(a.count) and \(b.count) elements")
}

func checkColumnSum(_ x: BufferSlice, rows: Int, cols: Int, out: BufferSlice) {
    precondition(rows >= 0 && cols >= 0 && x.count >= rows * cols && out.count >= cols, "column sum shape mismatch")
}

func checkSegments(_ x: BufferSlice, bounds: BufferSlice, segments: Int, out: BufferSlice) {
    x.expect(.float32, "segment values")
    bounds.expect(.int32, "segment bounds")
    out.expect(.float32, "segment maxima")
    // The bounds are an index buffer bounded by x's length + 1, so no value can leave x.
    precondition(segments >= 0 && bounds.count >= segments + 1 && out.count >= segments
                 && (bounds.buffer.indexBound ?? Int.max) <= x.count + 1, "segment shapes or bounds do not fit")
}

func checkGather(_ source: BufferSlice, width: Int, indices: BufferSlice, destination: BufferSlice) {
    indices.expect(.int32, "gather indices")
    destination.expect(source.elementType, "the gather destination")
    precondition(width >= 0 && destination.count == indices.count * width, "gather destination size mismatch")
    let rows = width == 0 ? Int.max : source.count / width
    precondition(indices.count == 0 || (indices.buffer.indexBound ?? Int.max) <= rows,
                 "gather indices bounded by \(indices.buffer.indexBound.map(String.init) ?? "nothing") "
                    + "for a source of \(rows) rows: use an index buffer (makeIndexBuffer) bounded by the rows")
    if let bound = destination.buffer.indexBound {
        precondition((source.buffer.indexBound ?? Int.max) <= bound,
                     "gathering rows that are not indices below \(bound) into an index buffer bounded by \(bound)")
    }
}

func checkCrossEntropy(logits: BufferSlice, labels: BufferSlice, rows: Int, classes: Int, loss: BufferSlice,
                       correct: BufferSlice, gradient: BufferSlice?) {
    labels.expect(.int32, "labels")
    precondition(classes > 0 && logits.count >= rows * classes && labels.count >= rows
                 && loss.count >= rows && correct.count >= rows && (gradient?.count ?? rows * classes) >= rows * classes,
                 "cross-entropy shape mismatch")
    precondition(rows == 0 || (labels.buffer.indexBound ?? Int.max) <= classes,
                 "labels bounded by \(labels.buffer.indexBound.map(String.init) ?? "nothing") for \(classes) "
                    + "classes: use an index buffer (makeIndexBuffer) bounded by the class count")
}

func checkStatistics(loss: BufferSlice, correct: BufferSlice, rows: Int, stats: BufferSlice) {
    precondition(stats.count >= 4 && loss.count >= rows && correct.count >= rows, "statistics shape mismatch")
}

func checkSamples(_ x: BufferSlice, samples: Int, perSample: Int, _ perSampleSlice: BufferSlice) {
    precondition(samples >= 0 && perSample >= 0 && x.count >= samples * perSample && perSampleSlice.count >= samples,
                 "per-sample operands too small for \(samples) samples of \(perSample)")
}

/// The operands of `signVote`: `workers` rows of packed signs `stride` words apart covering
/// `count` coordinates, and a chunk that starts at a word.
func checkVote(_ words: BufferSlice, workers: Int, stride: Int, count: Int, tieOffset: Int) {
    let perWorker = (count + 31) / 32
    precondition(count >= 0 && workers >= 1 && stride >= perWorker && words.count >= (workers - 1) * stride + perWorker,
                 "packed signs too small for \(workers) workers")
    words.expect(.uint32, "packed signs")
    precondition(tieOffset >= 0 && tieOffset % 32 == 0, "a vote chunk starts at a word")
}

/// The operands of `signVoteBits`: `workers` rows of packed signs `stride` words apart covering
/// `count` coordinates, sign (and tie) words for them, tie bits wherever a tie needs them (an
/// even count under `.zero`), and a chunk that starts at a word.
func checkVoteBits(_ words: BufferSlice, workers: Int, stride: Int, count: Int, signs: BufferSlice, ties: BufferSlice?,
                   tie: TieRule, tieOffset: Int) {
    checkVote(words, workers: workers, stride: stride, count: count, tieOffset: tieOffset)
    checkSignWords(signs, count: count)
    if let ties { checkSignWords(ties, count: count) }
    precondition(ties != nil || tie != .zero || workers % 2 == 1, "an even vote under tie zero needs tie words")
}
