import ArgumentParser
import Compute

extension DeviceKind: ExpressibleByArgument {}

/// `--device gpu|cuda|cpu|opencl|auto`, shared by every command.
public struct DeviceOptions: ParsableArguments {
    /// The backend to open; `auto` takes a GPU of either runtime when there is one, else the CPU.
    @Option(help: "Backend: gpu (an OpenCL GPU, else a CUDA device, else exit 69), cuda (a CUDA device through NVRTC, else exit 69), opencl (any OpenCL device, e.g. PoCL), cpu (OpenBLAS), or auto (a GPU of either runtime, else the CPU).")
    public var device: DeviceKind = .auto

    /// Options with their defaults, as the argument parser requires.
    public init() {}

    /// Opens the device; with `auto`, says on stderr which one it chose (rank 0 alone under MPI).
    /// Under an MPI launcher it joins the job's world first, so that ranks sharing a machine
    /// share its cores before the device starts, and each rank takes the machine's GPU of its
    /// local rank (modulo their count).
    /// - Throws: `ComputeError.noGPU`, `.noCUDADevice` or `.noOpenCLDevice` when the requested kind is missing,
    ///   or another `ComputeError` when it cannot be initialised; `CommandFailure` when MPI cannot start.
    public func open() throws -> any Device {
        let world = try ProcessWorld.communicator()
        let opened = try makeDevice(device, index: ProcessWorld.localRank)
        if device == .auto && world.rank == 0 { Console.error("device: auto chose \(opened.kind.rawValue): \(opened.name)") }
        return opened
    }
}
