import COpenCL

#if canImport(Glibc)
import Glibc
#endif

/// CLBlast's SGEMM, loaded with `dlopen` when the library is installed (Debian's
/// `libclblast-dev`), so the package never requires it: `bench matmul` times it beside ours.
public struct CLBlast: @unchecked Sendable {
    private typealias SgemmFunction = @convention(c) (
        Int32, Int32, Int32, Int, Int, Int, Float, cl_mem?, Int, Int, cl_mem?, Int, Int, Float, cl_mem?, Int, Int,
        UnsafeMutablePointer<cl_command_queue?>?, UnsafeMutablePointer<cl_event?>?) -> Int32

    private let sgemm: SgemmFunction
    /// The library file that was loaded.
    public let library: String

    /// Loads CLBlast, or returns nil when it is not installed.
    public init?() {
        for name in ["libclblast.so.1", "libclblast.so"] {
            guard let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) else { continue }
            guard let symbol = dlsym(handle, "CLBlastSgemm") else {
                dlclose(handle)
                continue
            }
            sgemm = unsafeBitCast(symbol, to: SgemmFunction.self)
            library = name
            return
        }
        return nil
    }

    /// Runs `C = alpha·op(A)·op(B) + beta·C` with CLBlast on `device`'s queue and returns the
    /// device time in seconds (from the profiling event CLBlast returns).
    public func gemm(_ s: GemmShape, alpha: Float = 1, a: BufferSlice, b: BufferSlice, beta: Float = 0,
                     c: BufferSlice, on device: OpenCLDevice) throws -> Double {
        s.checkOperands(a: a, b: b, c: c, bias: nil)
        var queue: cl_command_queue? = device.queue
        var event: cl_event?
        let rowMajor: Int32 = 101, no: Int32 = 111, yes: Int32 = 112
        let status = sgemm(rowMajor, s.transposeA ? yes : no, s.transposeB ? yes : no, s.m, s.n, s.k, alpha,
                           a.buffer.openCLMemory, a.offset, s.lda, b.buffer.openCLMemory, b.offset, s.ldb, beta,
                           c.buffer.openCLMemory, c.offset, s.ldc, &queue, &event)
        // CLBlast returns OpenCL codes as they are and its own below -1000.
        try check(status, "CLBlastSgemm")
        guard let event else { return 0 }
        defer { clReleaseEvent(event) }
        return try eventSeconds(event)
    }
}
