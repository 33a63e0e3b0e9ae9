/// cuBLAS's SGEMM in FP32 (TF32 off), loaded with `dlopen` when a cuBLAS library is present
/// (a CUDA toolkit, or the `nvidia-cublas` wheel beside PyTorch), so `bench matmul --device cuda`
/// can time it beside our kernel on the same stream. Nothing else uses it.
public final class CUBLAS: @unchecked Sendable {
    private typealias Create = @convention(c) (UnsafeMutablePointer<OpaquePointer?>) -> Int32
    private typealias Destroy = @convention(c) (OpaquePointer?) -> Int32
    private typealias SetStream = @convention(c) (OpaquePointer?, OpaquePointer?) -> Int32
    private typealias SetMathMode = @convention(c) (OpaquePointer?, Int32) -> Int32
    // Device pointers pass as 64-bit integers, which the C calling convention treats alike.
    private typealias Sgemm = @convention(c) (
        OpaquePointer?, Int32, Int32, Int32, Int32, Int32, UnsafePointer<Float>, UInt64, Int32, UInt64, Int32,
        UnsafePointer<Float>, UInt64, Int32) -> Int32

    private typealias StridedBatched = @convention(c) (
        OpaquePointer?, Int32, Int32, Int32, Int32, Int32, UnsafePointer<Float>, UInt64, Int32, Int64, UInt64, Int32,
        Int64, UnsafePointer<Float>, UInt64, Int32, Int64, Int32) -> Int32

    /// The library file that was loaded.
    public let library: String
    private let handle: OpaquePointer
    private let stridedBatched: StridedBatched?
    private let destroy: Destroy
    private let sgemm: Sgemm
    private let runtime: CUDARuntime

    /// cuBLAS on `device`'s stream, or nil when the device is not CUDA or no cuBLAS loads.
    public init?(on device: KernelDevice) {
        guard let runtime = device.runtime as? CUDARuntime else { return nil }
        let candidates = ["libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so"]
            + pythonWheelLibraries(["nvidia/cublas/lib/libcublas.so*", "nvidia/cu13/lib/libcublas.so*"])
                .filter { !$0.contains("Lt") }
        guard let loaded = DynamicLibrary(firstOf: candidates),
              let create = loaded.symbol("cublasCreate_v2", as: Create.self),
              let destroy = loaded.symbol("cublasDestroy_v2", as: Destroy.self),
              let setStream = loaded.symbol("cublasSetStream_v2", as: SetStream.self),
              let setMathMode = loaded.symbol("cublasSetMathMode", as: SetMathMode.self),
              let sgemm = loaded.symbol("cublasSgemm_v2", as: Sgemm.self),
              (try? runtime.makeCurrent()) != nil
        else { return nil }
        var handle: OpaquePointer?
        guard create(&handle) == 0, let handle else { return nil }
        // CUBLAS_DEFAULT_MATH (0): plain FP32, no TF32 tensor cores, as our kernel computes.
        guard setStream(handle, runtime.stream) == 0, setMathMode(handle, 0) == 0 else {
            _ = destroy(handle)
            return nil
        }
        library = loaded.path
        self.handle = handle
        self.destroy = destroy
        self.sgemm = sgemm
        stridedBatched = loaded.symbol("cublasSgemmStridedBatched", as: StridedBatched.self)
        self.runtime = runtime
    }

    deinit {
        _ = try? runtime.makeCurrent()
        _ = destroy(handle)
    }

    /// Queues `C = alpha·op(A)·op(B) + beta·C` (row-major, as `GemmShape` says) on the stream.
    public func gemm(_ s: GemmShape, alpha: Float = 1, a: BufferSlice, b: BufferSlice, beta: Float = 0,
                     c: BufferSlice) throws {
        s.checkOperands(a: a, b: b, c: c, bias: nil)
        for operand in [a, b, c] { operand.expect(.float32, "a cuBLAS operand") }
        try runtime.makeCurrent()
        // Row-major C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ: swap the operands.
        let noTranspose: Int32 = 0, transpose: Int32 = 1
        var alpha = alpha, beta = beta
        let status = sgemm(handle, s.transposeB ? transpose : noTranspose, s.transposeA ? transpose : noTranspose,
                           Int32(s.n), Int32(s.m), Int32(s.k), &alpha,
                           b.buffer.deviceMemory.bits + UInt64(b.byteOffset), Int32(s.ldb),
                           a.buffer.deviceMemory.bits + UInt64(a.byteOffset), Int32(s.lda), &beta,
                           c.buffer.deviceMemory.bits + UInt64(c.byteOffset), Int32(s.ldc))
        guard status == 0 else { throw ComputeError.cuda(call: "cublasSgemm_v2", code: status, name: "CUBLAS_STATUS \(status)") }
    }

    /// Queues `C_i = op(A_i)·op(B_i)` for the items of `batch` (one `cublasSgemmStridedBatched`;
    /// a loop of `gemm` when the library lacks it).
    public func gemmBatched(_ s: GemmShape, batch: GemmBatch, a: BufferSlice, b: BufferSlice, c: BufferSlice) throws {
        batch.checkOperands(s, a: a, b: b, c: c)
        guard batch.count > 1, let stridedBatched else {
            for item in 0..<batch.count {
                try gemm(s, a: a.slice(item * batch.strideA, s.aCount), b: b.slice(item * batch.strideB, s.bCount),
                         c: c.slice(item * batch.strideC, s.cCount))
            }
            return
        }
        try runtime.makeCurrent()
        var alpha: Float = 1, beta: Float = 0
        let noTranspose: Int32 = 0, transpose: Int32 = 1
        let status = stridedBatched(handle, s.transposeB ? transpose : noTranspose, s.transposeA ? transpose : noTranspose,
                                    Int32(s.n), Int32(s.m), Int32(s.k), &alpha,
                                    b.buffer.deviceMemory.bits + UInt64(b.byteOffset), Int32(s.ldb), Int64(batch.strideB),
                                    a.buffer.deviceMemory.bits + UInt64(a.byteOffset), Int32(s.lda), Int64(batch.strideA),
                                    &beta, c.buffer.deviceMemory.bits + UInt64(c.byteOffset), Int32(s.ldc),
                                    Int64(batch.strideC), Int32(batch.count))
        guard status == 0 else {
            throw ComputeError.cuda(call: "cublasSgemmStridedBatched", code: status, name: "CUBLAS_STATUS \(status)")
        }
    }
}
