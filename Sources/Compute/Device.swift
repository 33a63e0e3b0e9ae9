/// A compute device: owns buffers and runs every kernel family on them.
///
/// Two implementations: `OpenCLDevice` (hand-written kernels from `Kernels/`) and `CPUDevice`
/// (OpenBLAS and vectorised loops, which is also the reference every kernel is tested against).
/// Work is queued in order; reads are the only implicit synchronisation points.
///
/// All tensors are row-major `Float` and addressed as `BufferSlice`s. Images are NHWC. Labels and
/// indices are stored as floats (exact below 2^24), so every buffer has one element type.
///
/// ```swift
/// let device = try makeDevice(.auto)
/// let a = try device.upload([1, 2, 3, 4])            // 2×2
/// let c = try device.makeBuffer(count: 4)
/// try device.gemm(GemmShape(m: 2, n: 2, k: 2), a: a.whole, b: a.whole, c: c.whole)
/// print(try device.download(c.whole))                 // [7, 10, 15, 22]
/// ```
public protocol Device: AnyObject, Sendable {
    /// The backend: `.cpu`, `.opencl` or `.gpu` (never `.auto`).
    var kind: DeviceKind { get }
    /// Human-readable name, e.g. "OpenBLAS (2 threads)" or "NVIDIA H100 80GB HBM3 (OpenCL 3.0 CUDA)".
    var name: String { get }

    // MARK: Memory

    /// A new buffer of `count` floats with undefined contents.
    func makeBuffer(count: Int) throws -> DeviceBuffer
    /// Copies `values` into `slice` (`values.count == slice.count`).
    func write(_ values: UnsafeBufferPointer<Float>, to slice: BufferSlice) throws
    /// Copies `slice` into `destination`, waiting for queued work that writes it.
    func read(_ slice: BufferSlice, into destination: UnsafeMutableBufferPointer<Float>) throws
    /// Device-to-device copy of `source` into `destination` (same count).
    func copy(_ source: BufferSlice, to destination: BufferSlice) throws
    /// Waits until all queued work is done.
    func synchronize() throws

    // MARK: matmul

    /// `C = act(alpha·op(A)·op(B) + beta·C + bias)`, bias (length n) added to every row.
    func gemm(_ shape: GemmShape, alpha: Float, a: BufferSlice, b: BufferSlice, beta: Float,
              c: BufferSlice, bias: BufferSlice?, activation: Activation) throws

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
    /// `destination[r] = source[indices[r]]` for rows of `width` floats.
    func gatherRows(_ source: BufferSlice, width: Int, indices: BufferSlice,
                    into destination: BufferSlice) throws

    // MARK: reduce

    /// `out[c] = beta·out[c] + Σ_r x[r][c]` over a rows×cols matrix.
    func columnSum(_ x: BufferSlice, rows: Int, cols: Int, beta: Float, into out: BufferSlice) throws

    // MARK: loss

    /// Softmax cross-entropy of `logits` (rows×classes) against `labels` (rows): per-row `loss`
    /// and `correct` (0/1, first arg-max), and `gradient = scale·(softmax − onehot)` when given.
    func softmaxCrossEntropy(logits: BufferSlice, labels: BufferSlice, rows: Int, classes: Int,
                             loss: BufferSlice, correct: BufferSlice, gradient: BufferSlice?,
                             scale: Float) throws
    /// Adds Σloss, Σcorrect and rows to `stats[0...2]`, and records `step` in `stats[3]` if the
    /// batch loss is not finite and `stats[3] < 0`.
    func accumulateStatistics(loss: BufferSlice, correct: BufferSlice, rows: Int,
                              stats: BufferSlice, step: Int) throws

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
    /// A new buffer holding `values`.
    public func upload(_ values: [Float]) throws -> DeviceBuffer {
        let buffer = try makeBuffer(count: values.count)
        try values.withUnsafeBufferPointer { try write($0, to: buffer.whole) }
        return buffer
    }

    /// Writes `values` into `slice`.
    public func write(_ values: [Float], to slice: BufferSlice) throws {
        precondition(values.count == slice.count, "writing \(values.count) values into \(slice.count)")
        try values.withUnsafeBufferPointer { try write($0, to: slice) }
    }

    /// The contents of `slice`.
    public func download(_ slice: BufferSlice) throws -> [Float] {
        try [Float](unsafeUninitializedCapacity: slice.count) { storage, initialized in
            try read(slice, into: storage)
            initialized = slice.count
        }
    }

    /// Matrix product without epilogue: `C = alpha·op(A)·op(B) + beta·C`.
    public func gemm(_ shape: GemmShape, alpha: Float = 1, a: BufferSlice, b: BufferSlice,
                     beta: Float = 0, c: BufferSlice) throws {
        try gemm(shape, alpha: alpha, a: a, b: b, beta: beta, c: c, bias: nil, activation: .identity)
    }
}
