import CBLAS

/// A direct `cblas_sgemm` on host arrays, bypassing the device layer: the baseline the CPU
/// device's overhead is measured against in `bench matmul`.
public enum BLASReference {
    /// `C = alpha·op(A)·op(B) + beta·C`, row-major, with the leading dimensions of `shape`.
    public static func sgemm(_ s: GemmShape, alpha: Float = 1, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                             beta: Float = 0, c: UnsafeMutablePointer<Float>) {
        guard s.m > 0, s.n > 0, s.k > 0 else { return }
        cblas_sgemm(CblasRowMajor, s.transposeA ? CblasTrans : CblasNoTrans, s.transposeB ? CblasTrans : CblasNoTrans,
                    Int32(s.m), Int32(s.n), Int32(s.k), alpha, a, Int32(s.lda), b, Int32(s.ldb), beta, c, Int32(s.ldc))
    }

    /// OpenBLAS's thread count.
    public static var threads: Int { Int(openblas_get_num_threads()) }
}
