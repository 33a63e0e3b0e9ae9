import ArgumentParser
import Compute

extension DeviceKind: ExpressibleByArgument {}

/// `--device gpu|cpu|opencl|auto`, shared by every command.
public struct DeviceOptions: ParsableArguments {
    @Option(help: "Backend: gpu (an OpenCL GPU, else exit 69), opencl (any OpenCL device, e.g. PoCL), cpu (OpenBLAS), or auto.")
    public var device: DeviceKind = .auto

    public init() {}

    /// Opens the device; with `auto`, says on stderr which one it chose.
    public func open() throws -> any Device {
        let opened = try makeDevice(device)
        if device == .auto { Console.error("device: auto chose \(opened.kind.rawValue): \(opened.name)") }
        return opened
    }
}
