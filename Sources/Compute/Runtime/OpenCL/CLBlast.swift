import COpenCL

/// CLBlast's SGEMM, loaded with `dlopen` when the library is installed (Debian's
/// `libclblast-dev`), so the package never requires it: `bench matmul` times it beside ours.
public struct CLBlast: @unchecked Sendable {
    private typealias SgemmFunction = @convention(c) (
        Int32, Int32, Int32, Int, Int, Int, Float, cl_mem?, Int, Int, cl_mem?, Int, Int, Float, cl_mem?, Int, Int,
        UnsafeMutablePointer<cl_command_queue?>?, UnsafeMutablePointer<cl_event?>?) -> Int32

    private typealias StridedBatchedFunction = @convention(c) (
        Int32, Int32, Int32, Int, Int, Int, Float, cl_mem?, Int, Int, Int, cl_mem?, Int, Int, Int, Float, cl_mem?, Int,
        Int, Int, Int, UnsafeMutablePointer<cl_command_queue?>?, UnsafeMutablePointer<cl_event?>?) -> Int32

    private let sgemm: SgemmFunction
    private let stridedBatched: StridedBatchedFunction?
    /// The library file that was loaded.
    public let library: String
    /// Whether this CLBlast has `CLBlastSgemmStridedBatched` (1.4 and later).
    public var hasStridedBatched: Bool { stridedBatched != nil }

    /// Loads CLBlast, or returns nil when it is not installed.
    public init?() {
        guard let loaded = DynamicLibrary(firstOf: ["libclblast.so.1", "libclblast.so"]),
              let sgemm = loaded.symbol("CLBlastSgemm", as: SgemmFunction.self) else { return nil }
        self.sgemm = sgemm
        stridedBatched = loaded.symbol("CLBlastSgemmStridedBatched", as: StridedBatchedFunction.self)
        library = loaded.path
    }

    /// `C_i = op(A_i)·op(B_i)` for the items of `batch` with CLBlast's strided batched SGEMM on
    /// the queue of `device` (OpenCL only; `hasStridedBatched` must hold).
    public func gemmStridedBatched(_ s: GemmShape, batch: GemmBatch, a: BufferSlice, b: BufferSlice, c: BufferSlice,
                                   on device: KernelDevice) throws {
        guard let runtime = device.runtime as? OpenCLRuntime, let stridedBatched else {
            preconditionFailure("CLBlast's strided batched SGEMM runs on OpenCL devices that have it")
        }
        batch.checkOperands(s, a: a, b: b, c: c)
        var queue: cl_command_queue? = runtime.queue
        var event: cl_event?
        let rowMajor: Int32 = 101, no: Int32 = 111, yes: Int32 = 112
        let status = stridedBatched(
            rowMajor, s.transposeA ? yes : no, s.transposeB ? yes : no, s.m, s.n, s.k, 1,
            OpenCLRuntime.memory(a.buffer.deviceMemory), a.offset, s.lda, batch.strideA,
            OpenCLRuntime.memory(b.buffer.deviceMemory), b.offset, s.ldb, batch.strideB, 0,
            OpenCLRuntime.memory(c.buffer.deviceMemory), c.offset, s.ldc, batch.strideC, batch.count, &queue, &event)
        if let event { clReleaseEvent(event) }
        try check(status, "CLBlastSgemmStridedBatched")
    }

    /// Runs `C = alpha·op(A)·op(B) + beta·C` with CLBlast on the queue of `device`, which must
    /// run on OpenCL, and returns when it is queued.
    public func gemm(_ s: GemmShape, alpha: Float = 1, a: BufferSlice, b: BufferSlice, beta: Float = 0,
                     c: BufferSlice, on device: KernelDevice) throws {
        guard let runtime = device.runtime as? OpenCLRuntime else {
            preconditionFailure("CLBlast runs on OpenCL devices only")
        }
        s.checkOperands(a: a, b: b, c: c, bias: nil)
        for operand in [a, b, c] { operand.expect(.float32, "a CLBlast operand") }
        var queue: cl_command_queue? = runtime.queue
        var event: cl_event?
        let rowMajor: Int32 = 101, no: Int32 = 111, yes: Int32 = 112
        let status = sgemm(rowMajor, s.transposeA ? yes : no, s.transposeB ? yes : no, s.m, s.n, s.k, alpha,
                           OpenCLRuntime.memory(a.buffer.deviceMemory), a.offset, s.lda,
                           OpenCLRuntime.memory(b.buffer.deviceMemory), b.offset, s.ldb, beta,
                           OpenCLRuntime.memory(c.buffer.deviceMemory), c.offset, s.ldc, &queue, &event)
        if let event { clReleaseEvent(event) }
        // CLBlast returns OpenCL codes as they are and its own below -1000.
        try check(status, "CLBlastSgemm")
    }
}
