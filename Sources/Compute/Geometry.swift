/// Shape of a row-major matrix product `C (m×n) = op(A) (m×k) · op(B) (k×n)`.
///
/// `lda`, `ldb`, `ldc` are the row strides of A, B and C as stored: A is m×k (or k×m when
/// `transposeA`), B is k×n (or n×k when `transposeB`).
public struct GemmShape: Sendable, Hashable, CustomStringConvertible {
    /// Rows of C and op(A), columns of C and op(B), and the shared inner dimension.
    public var m: Int, n: Int, k: Int
    /// Whether A is stored k×m (and B n×k), so that op(A) = Aᵀ (op(B) = Bᵀ).
    public var transposeA: Bool, transposeB: Bool
    /// Row strides of A, B and C as stored, in elements (at least the stored row length).
    public var lda: Int, ldb: Int, ldc: Int

    /// Densely packed operands: the leading dimensions follow from the shape.
    public init(m: Int, n: Int, k: Int, transposeA: Bool = false, transposeB: Bool = false) {
        precondition(m >= 0 && n >= 0 && k >= 0, "negative matrix dimension \(m)x\(n)x\(k)")
        self.m = m; self.n = n; self.k = k
        self.transposeA = transposeA; self.transposeB = transposeB
        lda = max(transposeA ? m : k, 1)
        ldb = max(transposeB ? k : n, 1)
        ldc = max(n, 1)
    }

    /// Elements of A the product reads: the span from A's first to its last used element.
    public var aCount: Int { m == 0 || k == 0 ? 0 : (transposeA ? (k - 1) * lda + m : (m - 1) * lda + k) }
    /// Elements of B the product reads.
    public var bCount: Int { k == 0 || n == 0 ? 0 : (transposeB ? (n - 1) * ldb + k : (k - 1) * ldb + n) }
    /// Elements of C the product writes (and reads when beta ≠ 0).
    public var cCount: Int { m == 0 || n == 0 ? 0 : (m - 1) * ldc + n }

    /// Floating-point operations of the product (2·m·n·k).
    public var flops: Double { 2 * Double(m) * Double(n) * Double(k) }

    /// "M×N×K" with the transposes, e.g. "256x512x784 Bᵀ".
    public var description: String {
        "\(m)x\(n)x\(k)" + (transposeA ? " Aᵀ" : "") + (transposeB ? " Bᵀ" : "")
    }

    func checkOperands(a: BufferSlice, b: BufferSlice, c: BufferSlice, bias: BufferSlice?) {
        precondition(a.count >= aCount, "A holds \(a.count) elements, \(description) needs \(aCount)")
        precondition(b.count >= bCount, "B holds \(b.count) elements, \(description) needs \(bCount)")
        precondition(c.count >= cCount, "C holds \(c.count) elements, \(description) needs \(cCount)")
        if let bias { precondition(bias.count >= n, "bias holds \(bias.count) elements, needs \(n)") }
    }
}

/// The items of a batched product `C_i = alpha·op(A_i)·op(B_i) + beta·C_i`, i in 0..<count:
/// item i's operands start `i·strideA`, `i·strideB` and `i·strideC` elements after the first
/// item's. A stride of 0 broadcasts that operand to every item (A or B only: items must not
/// write the same C).
public struct GemmBatch: Sendable, Hashable, CustomStringConvertible {
    /// Products in the batch.
    public var count: Int
    /// Elements between consecutive items of A, B and C.
    public var strideA: Int, strideB: Int, strideC: Int

    /// `count` items with the given element strides.
    public init(count: Int, strideA: Int, strideB: Int, strideC: Int) {
        precondition(count >= 0 && strideA >= 0 && strideB >= 0 && strideC >= 0, "negative batch count or stride")
        self.count = count
        self.strideA = strideA; self.strideB = strideB; self.strideC = strideC
    }

    /// `count` densely packed items of `shape` (each operand right after the previous item's).
    public init(count: Int, packed shape: GemmShape) {
        self.init(count: count, strideA: shape.aCount, strideB: shape.bCount, strideC: shape.cCount)
    }

    /// One product.
    public static let single = GemmBatch(count: 1, strideA: 0, strideB: 0, strideC: 0)

    /// "8×(A+120, B+0, C+64)".
    public var description: String { "\(count)×(A+\(strideA), B+\(strideB), C+\(strideC))" }

    func checkOperands(_ s: GemmShape, a: BufferSlice, b: BufferSlice, c: BufferSlice) {
        guard count > 0 else { return }
        precondition(count == 1 || s.cCount == 0 || strideC >= s.cCount,
                     "batched products must not write overlapping C (strideC \(strideC) < \(s.cCount))")
        precondition(a.count >= (count - 1) * strideA + s.aCount, "A too small for the batch \(self)")
        precondition(b.count >= (count - 1) * strideB + s.bCount, "B too small for the batch \(self)")
        precondition(c.count >= (count - 1) * strideC + s.cCount, "C too small for the batch \(self)")
    }
}

/// Geometry of a 2-D convolution over NHWC tensors, lowered to a matrix product by im2col:
/// input (batch, height, width, channels) → patches (batch·outHeight·outWidth,
/// kernelHeight·kernelWidth·channels).
public struct ConvGeometry: Sendable, Hashable {
    /// The NHWC input: samples, rows, columns, channels.
    public var batch: Int, height: Int, width: Int, channels: Int
    /// Kernel size, the step between output positions, and zero padding on every side.
    public var kernelHeight: Int, kernelWidth: Int, stride: Int, padding: Int

    /// Input shape and kernel; the kernel must fit the padded input.
    public init(batch: Int, height: Int, width: Int, channels: Int,
                kernelHeight: Int, kernelWidth: Int, stride: Int = 1, padding: Int = 0) {
        precondition(batch >= 0 && height > 0 && width > 0 && channels > 0, "bad conv input shape")
        precondition(kernelHeight > 0 && kernelWidth > 0 && stride > 0 && padding >= 0,
                     "bad conv kernel, stride or padding")
        precondition(height + 2 * padding >= kernelHeight && width + 2 * padding >= kernelWidth,
                     "conv kernel \(kernelHeight)x\(kernelWidth) larger than padded input")
        self.batch = batch; self.height = height; self.width = width; self.channels = channels
        self.kernelHeight = kernelHeight; self.kernelWidth = kernelWidth
        self.stride = stride; self.padding = padding
    }

    /// Output rows: ⌊(height + 2·padding − kernelHeight) / stride⌋ + 1.
    public var outHeight: Int { (height + 2 * padding - kernelHeight) / stride + 1 }
    /// Output columns: ⌊(width + 2·padding − kernelWidth) / stride⌋ + 1.
    public var outWidth: Int { (width + 2 * padding - kernelWidth) / stride + 1 }
    /// Columns of the patch matrix: kernelHeight·kernelWidth·channels.
    public var patchSize: Int { kernelHeight * kernelWidth * channels }
    /// Rows of the patch matrix: batch·outHeight·outWidth.
    public var patchRows: Int { batch * outHeight * outWidth }
    /// Floats of the NHWC input.
    public var inputCount: Int { batch * height * width * channels }
}

/// Geometry of 2-D pooling without padding over NHWC tensors.
public struct PoolGeometry: Sendable, Hashable {
    /// The NHWC input: samples, rows, columns, channels.
    public var batch: Int, height: Int, width: Int, channels: Int
    /// Square window size and the step between windows.
    public var kernel: Int, stride: Int

    /// Input shape and window; the window must fit the input.
    public init(batch: Int, height: Int, width: Int, channels: Int, kernel: Int, stride: Int) {
        precondition(batch >= 0 && height > 0 && width > 0 && channels > 0, "bad pool input shape")
        precondition(kernel > 0 && stride > 0 && kernel <= height && kernel <= width,
                     "bad pool kernel \(kernel) or stride \(stride)")
        self.batch = batch; self.height = height; self.width = width; self.channels = channels
        self.kernel = kernel; self.stride = stride
    }

    /// Output rows: ⌊(height − kernel) / stride⌋ + 1.
    public var outHeight: Int { (height - kernel) / stride + 1 }
    /// Output columns: ⌊(width − kernel) / stride⌋ + 1.
    public var outWidth: Int { (width - kernel) / stride + 1 }
    /// Floats of the NHWC input.
    public var inputCount: Int { batch * height * width * channels }
    /// Floats of the NHWC output.
    public var outputCount: Int { batch * outHeight * outWidth * channels }
}
