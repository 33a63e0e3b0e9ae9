/// Which backend runs the kernels, as chosen on the command line with `--device`.
///
/// - `gpu`: an OpenCL device of type GPU; there is never a silent fallback when none exists.
/// - `opencl`: any OpenCL device (a GPU when present, else e.g. PoCL's CPU device): how CI and
///   machines without a GPU exercise every OpenCL kernel.
/// - `cpu`: OpenBLAS and vectorised Swift loops.
/// - `auto`: a GPU when one is present, else the CPU.
public enum DeviceKind: String, CaseIterable, Sendable, Codable {
    case gpu, cpu, opencl, auto
}
