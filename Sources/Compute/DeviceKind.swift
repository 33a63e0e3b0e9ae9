/// Which backend runs the kernels, as chosen on the command line with `--device`.
///
/// - `gpu`: a GPU: an OpenCL GPU, or a CUDA device when there is no OpenCL GPU; never a silent
///   fallback when neither exists.
/// - `cuda`: a CUDA device (the driver loaded with dlopen, kernels compiled by NVRTC).
/// - `opencl`: any OpenCL device (a GPU when present, else e.g. PoCL's CPU device): how CI and
///   machines without a GPU exercise every kernel.
/// - `cpu`: OpenBLAS and vectorised Swift loops.
/// - `auto`: a GPU of either runtime when one is present, else the CPU.
public enum DeviceKind: String, CaseIterable, Sendable, Codable {
    case gpu, cuda, cpu, opencl, auto
}
