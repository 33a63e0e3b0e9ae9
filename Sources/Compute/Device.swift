import Philox

/// A compute device: owns buffers and runs every kernel family on them.
///
/// Two implementations: `KernelDevice` (the hand-written kernels of `Kernels/` over a runtime,
/// OpenCL or CUDA) and `CPUDevice` (OpenBLAS and vectorised loops, which is also the reference
/// every kernel is tested against). Work is queued in order; reads are the only implicit
/// synchronisation points.
///
/// Tensors are row-major `Float` buffers addressed as `BufferSlice`s; images are NHWC. Labels and
/// gather indices live in `Int32` index buffers (`makeIndexBuffer`), whose values are checked on
/// every write, so no kernel reads outside the buffer they index; packed bits and raw random
/// words live in `UInt32` buffers.
///
/// ```swift
/// let device = try makeDevice(.auto)
/// let a = try device.upload([1, 2, 3, 4] as [Float])  // 2×2
/// let c = try device.makeBuffer(count: 4)
/// try device.gemm(GemmShape(m: 2, n: 2, k: 2), a: a.whole, b: a.whole, c: c.whole)
/// print(try device.download(c.whole))                 // [7, 10, 15, 22]
/// ```
public protocol Device: AnyObject, Sendable {
    /// The backend: `.cpu`, `.opencl`, `.gpu` or `.cuda` (never `.auto`).
    var kind: DeviceKind { get }
    /// Human-readable name, e.g. "OpenBLAS (2 threads)" or "NVIDIA H100 80GB HBM3 (OpenCL 3.0 CUDA)".
    var name: String { get }

    // MARK: Memory

    /// Bytes of this device's live buffers and their high-water mark.
    var memoryUsage: MemoryUsage { get }

    /// A new buffer of `count` elements of `type` with undefined contents, or, when `indexBound`
    /// is given, a zeroed `Int32` index buffer whose every value must stay in `0 ..< indexBound`.
    func makeBuffer(count: Int, of type: ElementType, indexBound: Int?) throws -> DeviceBuffer
    /// Copies `values` into `slice` (same count, `T` the slice's element type; for an index
    /// buffer every value in range, which `checkWrite` enforces).
    func write<T: DeviceScalar>(_ values: UnsafeBufferPointer<T>, to slice: BufferSlice) throws
    /// Copies `slice` into `destination`, waiting for queued work that writes it.
    func read<T: DeviceScalar>(_ slice: BufferSlice, into destination: UnsafeMutableBufferPointer<T>) throws
    /// Device-to-device copy of `source` into `destination` (same count and element type; into an
    /// index buffer only from one with the same or a smaller bound).
    func copy(_ source: BufferSlice, to destination: BufferSlice) throws
    /// Waits until all queued work is done.
    func synchronize() throws

    // MARK: matmul

    /// `C = act(alpha·op(A)·op(B) + beta·C + bias)`, bias (length n) added to every row.
    func gemm(_ shape: GemmShape, alpha: Float, a: BufferSlice, b: BufferSlice, beta: Float,
              c: BufferSlice, bias: BufferSlice?, activation: Activation) throws

    /// `C_i = alpha·op(A_i)·op(B_i) + beta·C_i` for the items of `batch` in one launch (per-sample
    /// gradients, Gram matrices): every item has `shape`; see `GemmBatch` for the strides.
    func gemmBatched(_ shape: GemmShape, batch: GemmBatch, alpha: Float, a: BufferSlice, b: BufferSlice,
                     beta: Float, c: BufferSlice) throws

    // MARK: elementwise

    /// `x[i] = value`.
    func fill(_ x: BufferSlice, with value: Float) throws
    /// `y = alpha·x + beta·y` (beta 0 overwrites y).
    func axpby(alpha: Float, x: BufferSlice, beta: Float, y: BufferSlice) throws
    /// `y = act(x)`.
    func activationForward(_ activation: Activation, x: BufferSlice, y: BufferSlice) throws
    /// `dx = dy · act'`, in terms of the forward output `y`.
    func activationBackward(_ activation: Activation, y: BufferSlice, dy: BufferSlice,
                            dx: BufferSlice) throws
    /// `destination[r] = source[indices[r]]` for rows of `width` elements of any one type;
    /// `indices` is an index buffer bounded by the rows of `source`.
    func gatherRows(_ source: BufferSlice, width: Int, indices: BufferSlice,
                    into destination: BufferSlice) throws

    // MARK: reduce

    /// `out[c] = beta·out[c] + Σ_r x[r][c]` over a rows×cols matrix.
    func columnSum(_ x: BufferSlice, rows: Int, cols: Int, beta: Float, into out: BufferSlice) throws
    /// `out[s]` = max |x[i]| over `bounds[s] ≤ i < bounds[s + 1]` for `s < segments` (0 for an
    /// empty segment, NaN if any value is NaN): per-tensor gradient maxima. `bounds` is an
    /// `Int32` index buffer with bound at most `x.count + 1` (so its values are checked on write),
    /// ascending; the maximum is exact on every device.
    func segmentMaxAbs(_ x: BufferSlice, bounds: BufferSlice, segments: Int, into out: BufferSlice) throws

    // MARK: loss

    /// Softmax cross-entropy of `logits` (rows×classes) against `labels` (rows, an index buffer
    /// bounded by `classes`): per-row `loss`
    /// and `correct` (0/1, first arg-max), and `gradient = scale·(softmax − onehot)` when given.
    func softmaxCrossEntropy(logits: BufferSlice, labels: BufferSlice, rows: Int, classes: Int,
                             loss: BufferSlice, correct: BufferSlice, gradient: BufferSlice?,
                             scale: Float) throws
    /// Adds Σloss, Σcorrect and rows to `stats[0...2]`, and records `step` in `stats[3]` if the
    /// batch loss is not finite and `stats[3] < 0`.
    func accumulateStatistics(loss: BufferSlice, correct: BufferSlice, rows: Int,
                              stats: BufferSlice, step: Int) throws

    // MARK: random

    /// `x[i] = scale · v(i)`, with `v(i)` the `i`-th value from `start` of the Philox stream
    /// `key` in `distribution`: the same numbers on every device, whatever the launch shape (see
    /// `PhiloxKey`). `x` holds floats.
    func fillRandom(_ x: BufferSlice, _ distribution: RandomDistribution, key: PhiloxKey, start: PhiloxPosition,
                    scale: Float) throws
    /// `x[i] += scale · v(i)` with the values of `fillRandom`: noise added where it is used,
    /// never stored on its own.
    func addRandom(_ x: BufferSlice, _ distribution: RandomDistribution, key: PhiloxKey, start: PhiloxPosition,
                   scale: Float) throws
    /// `x[i]` = the `i`-th 32-bit word from `start` of the Philox stream `key`. `x` holds `UInt32`.
    func fillRandomBits(_ x: BufferSlice, key: PhiloxKey, start: PhiloxPosition) throws

    // MARK: sign

    /// `words` (UInt32, ⌈n/32⌉) = the signs of `x` (n floats) plus `noise`·ξ, ξ normal i of
    /// stream `key` (no noise when 0): LSB-first, element i at bit i % 32 of word i / 32, bit 1
    /// for negative, zero and padding as +.
    func signPack(_ x: BufferSlice, into words: BufferSlice, noise: Float, key: PhiloxKey) throws
    /// `x[i] = bit i of words ? −scale : +scale` for the n = `x.count` elements, or 0 where bit
    /// i of `ties` (as many words) is set: a vote's ternary result.
    func signUnpack(_ words: BufferSlice, ties: BufferSlice?, into x: BufferSlice, scale: Float) throws
    /// The majority vote of `workers` packed sign vectors (worker m's ⌈n/32⌉ words at
    /// `m·stride`): `out[i]` (n = `out.count` floats) is +1, −1, or for a tie `tie`'s value
    /// (0, +1, or ±1 from word `tieOffset` + i of stream `key`: `out` may be the chunk of a
    /// longer vector that starts at coordinate `tieOffset`, a multiple of 32).
    func signVote(_ words: BufferSlice, workers: Int, stride: Int, into out: BufferSlice, tie: TieRule,
                  key: PhiloxKey, tieOffset: Int) throws
    /// `signVote` of `count` coordinates as packed words, what a rank sends of its chunk: bit i
    /// of `signs` (⌈count/32⌉ words) set where the vote is −1, and bit i of `ties` set where it
    /// is a tie under `.zero` (its sign bit clear; needed when `workers` is even). Ties under
    /// `.plus` and `.random` are decided into the sign bits, as `signVote` decides them.
    func signVoteBits(_ words: BufferSlice, workers: Int, stride: Int, count: Int, signs: BufferSlice,
                      ties: BufferSlice?, tie: TieRule, key: PhiloxKey, tieOffset: Int) throws
    /// `out[i]` = the median over m < `workers` of `x[m·stride + i]` (the mean of the middle two
    /// for an even count), n = `out.count`.
    func coordinateMedian(_ x: BufferSlice, workers: Int, stride: Int, into out: BufferSlice) throws

    /// Error feedback (EF-signSGD): with p = γ·g + e, writes Δ = (‖p‖₁/n)·sign(p) to `out` and
    /// leaves e ← p − Δ in `memory`; `norm` (one float) is workspace holding ‖p‖₁ afterwards.
    /// Nothing is read back to the host.
    func errorFeedback(_ g: BufferSlice, gamma: Float, memory e: BufferSlice, norm: BufferSlice,
                       into out: BufferSlice) throws

    // MARK: clip

    /// `out[s] = (accumulate ? out[s] : 0) + Σ_j x[s·perSample + j]·y[s·perSample + j]`.
    func sampleDots(_ x: BufferSlice, _ y: BufferSlice, samples: Int, perSample: Int, into out: BufferSlice,
                    accumulate: Bool) throws
    /// A Linear layer's ghost norm: `norms[i] += inputSq[i]·outputSq[i] (+ outputSq[i] with a bias)`.
    func linearGhostNorms(inputSq: BufferSlice, outputSq: BufferSlice, samples: Int, hasBias: Bool,
                          into norms: BufferSlice) throws
    /// `factors[i] = scale·min(1, maxNorm/(√norms[i] + 1e-6))`, Opacus's clip factor.
    func clipFactors(_ norms: BufferSlice, samples: Int, maxNorm: Float, scale: Float, into factors: BufferSlice) throws
    /// `x[s·perSample + j] *= factors[s]`.
    func scaleSamples(_ x: BufferSlice, samples: Int, perSample: Int, factors: BufferSlice) throws

    // MARK: zeroth order

    /// `out[b·q + j] = 1/‖z_{b,j}‖` for the Gaussian values of every direction of `set` (the
    /// normalisation of sphere directions), a fixed-order reduction: the same floats on every run
    /// and device.
    func zoInverseNorms(_ set: DirectionSet, into out: BufferSlice) throws
    /// Points around the problems' centres, one per (problem b, direction j):
    /// `destination[b·destinationProblemStride + j·destinationDirectionStride + i] =
    /// source[b·sourceProblemStride + i] + scale·c_{b,j}·z_{b,j}[i]`, c = `inverseNorms[b·q + j]`
    /// for sphere directions, else 1; `scale` 0 copies. `destination` may be `source` (an
    /// in-place perturbation, q = 1, strides 0). z is regenerated, never stored.
    func zoPerturb(_ set: DirectionSet, source: BufferSlice, sourceProblemStride: Int, destination: BufferSlice,
                   destinationProblemStride: Int, destinationDirectionStride: Int, inverseNorms: BufferSlice?,
                   scale: Float) throws
    /// `out[b·n + i] = (accumulate ? decay·out[b·n + i] : 0) + Σ_j (coefficients[b·q + j]·c_{b,j})·z_{b,j}[i]`:
    /// a gradient estimate, or the fused restore-and-update of in-place training.
    func zoCombine(_ set: DirectionSet, coefficients: BufferSlice, inverseNorms: BufferSlice?, decay: Float,
                   accumulate: Bool, into out: BufferSlice) throws
    /// Projected directional derivatives from function values (see `DifferenceLayout`):
    /// `g = factor·(f+ − f−)` into `gradients[b·q + j]`, and `coefficients[b·q + j] =
    /// (j = q − 1 ? restore : 0) + weight·(sign ? sign(g) : g)` for `zoCombine`.
    func zoCoefficients(_ values: BufferSlice, layout: DifferenceLayout, factor: Float, restore: Float, weight: Float,
                        sign: Bool, gradients: BufferSlice, coefficients: BufferSlice) throws
    /// `x ← Π(x − rate·step(g))` element-wise (see `ZOProjectedStep`), clipped to
    /// `[lower, upper]` when `bounds` are given; `m`, `v`, `vhat` are ZO-AdaMM's state (any
    /// slices for the other methods).
    func zoProjectedStep(_ step: ZOProjectedStep, x: BufferSlice, g: BufferSlice, m: BufferSlice, v: BufferSlice,
                         vhat: BufferSlice, bounds: (lower: BufferSlice, upper: BufferSlice)?) throws
    /// The untargeted attack objective of `rows` query rows, `rowsPerProblem` per problem:
    /// `margins[r] = z_t − max_{j≠t} z_j` from `logits` (rows×classes), `distortions[r] =
    /// ‖points[r] − originals[b]‖²` (points rows×d, originals problems×d), `values[r] =
    /// weight·max(margin, −kappa) + distortion`; `labels` (Int32, one per problem) are the true classes.
    func attackObjective(logits: BufferSlice, labels: BufferSlice, points: BufferSlice, originals: BufferSlice,
                         rows: Int, dimension: Int, classes: Int, rowsPerProblem: Int, weight: Float, kappa: Float,
                         values: BufferSlice, margins: BufferSlice, distortions: BufferSlice) throws
    /// For each problem whose row 0 has a negative margin and whose `firstIteration` is still
    /// negative: `firstIteration[b] = iteration`, `firstDistortion[b] = distortions[b·rowsPerProblem]`.
    func attackTrack(problems: Int, rowsPerProblem: Int, iteration: Int, margins: BufferSlice,
                     distortions: BufferSlice, firstIteration: BufferSlice, firstDistortion: BufferSlice) throws
    /// `out[(n·candidates + j)·d + i] = clip(images[n·d + i] + deltas[j·d + i], lower[i], upper[i])`.
    func attackBroadcast(images: BufferSlice, count: Int, deltas: BufferSlice, candidates: Int, dimension: Int,
                         lower: BufferSlice, upper: BufferSlice, into out: BufferSlice) throws

    // MARK: conv

    /// NHWC input → patch matrix (see `ConvGeometry`).
    func im2col(_ geometry: ConvGeometry, x: BufferSlice, cols: BufferSlice) throws
    /// Patch-matrix gradient → NHWC input gradient (sums overlapping patches).
    func col2im(_ geometry: ConvGeometry, cols: BufferSlice, dx: BufferSlice) throws

    // MARK: pool

    /// `y` = maximum of each window (the first NaN wins); `argmax` = its position in the window,
    /// `kh·kernel + kw`, which `maxPoolBackward` routes the gradient to.
    func maxPoolForward(_ geometry: PoolGeometry, x: BufferSlice, y: BufferSlice,
                        argmax: BufferSlice) throws
    /// `dx` = Σ `dy` over the windows whose recorded maximum each input element is.
    func maxPoolBackward(_ geometry: PoolGeometry, dy: BufferSlice, argmax: BufferSlice,
                         dx: BufferSlice) throws
    /// `y` = mean of each window.
    func avgPoolForward(_ geometry: PoolGeometry, x: BufferSlice, y: BufferSlice) throws
    /// `dx` = Σ `dy`/kernel² over the windows containing each input element.
    func avgPoolBackward(_ geometry: PoolGeometry, dy: BufferSlice, dx: BufferSlice) throws

    // MARK: optim

    /// In-place SGD update of `parameters` with `gradients`; `momentum` is used when μ > 0.
    func sgdUpdate(_ step: SGDStep, parameters: BufferSlice, gradients: BufferSlice,
                   momentum: BufferSlice) throws
    /// In-place Adam/AdamW/AMSGrad update; `maxSecondMoment` is used with AMSGrad.
    func adamUpdate(_ step: AdamStep, parameters: BufferSlice, gradients: BufferSlice,
                    firstMoment: BufferSlice, secondMoment: BufferSlice,
                    maxSecondMoment: BufferSlice) throws
    /// In-place RMSprop update; `momentum` is used when μ > 0.
    func rmspropUpdate(_ step: RMSPropStep, parameters: BufferSlice, gradients: BufferSlice,
                       squareAverage: BufferSlice, momentum: BufferSlice) throws
}

extension Device {
    /// A new float buffer of `count` elements with undefined contents.
    public func makeBuffer(count: Int) throws -> DeviceBuffer {
        try makeBuffer(count: count, of: .float32, indexBound: nil)
    }

    /// A new, zeroed index buffer of `count` `Int32` values, each of which must always lie in
    /// `0 ..< bound` (labels: the class count; gather indices: the rows gathered from).
    public func makeIndexBuffer(count: Int, bound: Int) throws -> DeviceBuffer {
        try makeBuffer(count: count, of: .int32, indexBound: bound)
    }

    /// A new float buffer holding `values` (what an untyped literal such as `[1, 2]` uploads).
    public func upload(_ values: [Float]) throws -> DeviceBuffer {
        try uploadValues(values)
    }

    /// A new buffer holding `values` (`Float`, `UInt32` or `Int32`).
    public func upload<T: DeviceScalar>(_ values: [T]) throws -> DeviceBuffer {
        try uploadValues(values)
    }

    private func uploadValues<T: DeviceScalar>(_ values: [T]) throws -> DeviceBuffer {
        let buffer = try makeBuffer(count: values.count, of: T.elementType, indexBound: nil)
        try values.withUnsafeBufferPointer { try write($0, to: buffer.whole) }
        return buffer
    }

    /// A new index buffer holding `values`, each of which must lie in `0 ..< bound`.
    public func uploadIndices(_ values: [Int32], below bound: Int) throws -> DeviceBuffer {
        let buffer = try makeIndexBuffer(count: values.count, bound: bound)
        try values.withUnsafeBufferPointer { try write($0, to: buffer.whole) }
        return buffer
    }

    /// Writes float `values` into `slice` (what an untyped literal writes).
    public func write(_ values: [Float], to slice: BufferSlice) throws {
        try values.withUnsafeBufferPointer { try write($0, to: slice) }
    }

    /// Writes `values` into `slice`.
    public func write<T: DeviceScalar>(_ values: [T], to slice: BufferSlice) throws {
        try values.withUnsafeBufferPointer { try write($0, to: slice) }
    }

    /// The contents of a float slice.
    public func download(_ slice: BufferSlice) throws -> [Float] {
        try download(slice, as: Float.self)
    }

    /// The contents of `slice` as `T`, its element type.
    public func download<T: DeviceScalar>(_ slice: BufferSlice, as type: T.Type) throws -> [T] {
        try [T](unsafeUninitializedCapacity: slice.count) { storage, initialized in
            try read(slice, into: storage)
            initialized = slice.count
        }
    }

    /// `norms[s] = (accumulate ? norms[s] : 0) + Σ_j x[s·perSample + j]²` for `samples` samples
    /// whose values are `perSample` consecutive floats each: `sampleDots` of x with itself.
    public func sampleSquaredNorms(_ x: BufferSlice, samples: Int, perSample: Int, into norms: BufferSlice,
                                   accumulate: Bool) throws {
        try sampleDots(x, x, samples: samples, perSample: perSample, into: norms, accumulate: accumulate)
    }

    /// `signUnpack` without ties: ±scale.
    public func signUnpack(_ words: BufferSlice, into x: BufferSlice, scale: Float) throws {
        try signUnpack(words, ties: nil, into: x, scale: scale)
    }

    /// `signVote` of a whole vector (ties draw from word i of `key`).
    public func signVote(_ words: BufferSlice, workers: Int, stride: Int, into out: BufferSlice, tie: TieRule,
                         key: PhiloxKey) throws {
        try signVote(words, workers: workers, stride: stride, into: out, tie: tie, key: key, tieOffset: 0)
    }

    /// `fillRandom` from the start of the stream, unscaled.
    public func fillRandom(_ x: BufferSlice, _ distribution: RandomDistribution, key: PhiloxKey) throws {
        try fillRandom(x, distribution, key: key, start: .start, scale: 1)
    }

    /// Matrix product without epilogue: `C = alpha·op(A)·op(B) + beta·C`.
    public func gemm(_ shape: GemmShape, alpha: Float = 1, a: BufferSlice, b: BufferSlice,
                     beta: Float = 0, c: BufferSlice) throws {
        try gemm(shape, alpha: alpha, a: a, b: b, beta: beta, c: c, bias: nil, activation: .identity)
    }
}

/// The checks every device makes before a host write: the count, the element type, and for an
/// index buffer the range of every value (so no kernel ever indexes outside a buffer).
func checkWrite<T: DeviceScalar>(_ values: UnsafeBufferPointer<T>, to slice: BufferSlice) {
    precondition(values.count == slice.count, "writing \(values.count) values into \(slice.count)")
    slice.expect(T.elementType, "the destination of \(T.self) values")
    guard let bound = slice.buffer.indexBound, let indices = values as? UnsafeBufferPointer<Int32> else { return }
    for (i, value) in indices.enumerated() {
        precondition(value >= 0 && Int(value) < bound,
                     "index \(value) at position \(i) is outside 0..<\(bound) of its index buffer")
    }
}

/// The checks every device makes before a device-to-device copy.
func checkCopy(_ source: BufferSlice, to destination: BufferSlice) {
    precondition(source.count == destination.count, "copying \(source.count) values into \(destination.count)")
    destination.expect(source.elementType, "the destination of a \(source.elementType) copy")
    if let bound = destination.buffer.indexBound {
        precondition((source.buffer.indexBound ?? Int.max) <= bound,
                     "copying indices bounded by \(source.buffer.indexBound.map(String.init) ?? "nothing") "
                        + "into an index buffer bounded by \(bound)")
    }
}

/// The checks every device makes before a host read.
func checkRead<T: DeviceScalar>(_ slice: BufferSlice, into destination: UnsafeMutableBufferPointer<T>) {
    precondition(destination.count == slice.count, "reading \(slice.count) values into \(destination.count)")
    slice.expect(T.elementType, "the source of \(T.self) values")
}
