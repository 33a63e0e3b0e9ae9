/// Point-wise non-linearities that kernels apply (matmul epilogue, element-wise kernels).
/// The raw values are the codes the OpenCL kernels take.
public enum Activation: Int32, Sendable, CaseIterable, Codable {
    case identity = 0
    case relu = 1
    case tanh = 2
}
